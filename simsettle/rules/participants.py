"""Distribution of the entity's settlement among its participant practices.

Conservation: each trial-year's payouts are the settlement times weights normalised to sum to
1, so they add up to the settlement. In float64, with ``P`` practices, the normalising sum, the
division and the product give ``|sum_p payout_p - settlement| <= (P + 1) x eps/2 x
|settlement|`` (payouts summed exactly, e.g. by ``math.fsum``); :func:`distribute` checks the
looser :data:`payout_bound` -- a ``numpy`` sum adds up to ``P - 1`` more roundings -- and raises
:class:`~simsettle.errors.SimulationError` if it fails. Inputs are checked finite first, and a
bad one is named with its first bad element.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle.errors import SimulationError
from simsettle.rules._checks import EPS, TINY, first_bad, require_finite
from simsettle.scenario.schema import Participants

__all__ = ["distribute", "payout_bound"]

F8 = npt.NDArray[np.float64]


def payout_bound(n_practices: int, settlement: npt.ArrayLike) -> F8:
    """Largest ``|sum_p payout_p - settlement|`` :func:`distribute` allows (USD): ``(2 P + 2) x
    eps x |settlement|`` for ``P`` practices, plus ``P`` times the smallest normal float64 for
    amounts so small (below 1e-300 USD) that their roundings are absolute, not relative."""
    s = np.abs(np.asarray(settlement, dtype=np.float64))
    bound: F8 = (2.0 * n_practices + 2.0) * EPS * s + n_practices * TINY
    return bound


def _normalise(weights: F8, fallback: F8) -> F8:
    """Weights summing to 1 along the last axis; ``fallback`` where they are all zero."""
    total = weights.sum(axis=-1, keepdims=True)
    use = total > 0.0
    safe = np.where(use, total, 1.0)
    out: F8 = np.where(use, weights / safe, fallback)
    return out


def distribute(
    terms: Participants,
    settlement: F8,
    benchmark: F8,
    practice_spend: F8,
    practice_months: F8,
    base_share: F8,
    *,
    design: str | None = None,
) -> F8:
    """Each practice's payout (USD, > 0 received), (trial, year, practice); they add up to
    ``settlement`` (trial, year).

    Parameters
    ----------
    settlement, benchmark : (trial, year)
        The entity's settlement and the benchmark it was measured against.
    practice_spend, practice_months : (trial, year, practice)
        Each practice's attributed spend and member months.
    base_share : (trial, practice)
        Each practice's share of the (weighted) base-year spend: its share of the target.
    design : str, optional
        The design's name, for error messages.
    """
    label = f" of design {design!r}" if design is not None else ""
    require_finite(settlement, "participants: settlement")
    require_finite(benchmark, "participants: benchmark")
    require_finite(practice_spend, "participants: practice spend")
    require_finite(practice_months, "participants: practice member months")
    require_finite(base_share, "participants: base-year share")
    for what, a in (("practice member months", practice_months), ("base-year share", base_share)):
        if np.any(a < 0):
            raise ValueError(f"participants: {what} must be >= 0; {first_bad(a, a < 0)}")
    lives = _normalise(
        practice_months, np.full(practice_months.shape, 1.0 / practice_months.shape[-1])
    )
    if terms.method == "lives":
        weights = lives
    elif terms.method == "quality_pool":
        factor = np.array([p.quality_factor for p in terms.practices])
        pool = _normalise(practice_months * factor, lives)
        weights = np.where(settlement[..., None] > 0.0, pool, lives)
    else:
        target = benchmark[..., None] * base_share[:, None, :]
        own = target - practice_spend
        gains = _normalise(np.maximum(own, 0.0), lives)
        losses = _normalise(np.maximum(-own, 0.0), lives)
        weights = np.where(settlement[..., None] >= 0.0, gains, losses)
    payout: F8 = weights * settlement[..., None]
    gap = np.abs(payout.sum(axis=-1) - settlement)
    broken = ~(gap <= payout_bound(payout.shape[-1], settlement))
    if np.any(broken):
        raise SimulationError(
            f"participant payouts do not add up to the settlement{label}; "
            f"{first_bad(gap, broken)} USD apart (method {terms.method!r})"
        )
    return payout
