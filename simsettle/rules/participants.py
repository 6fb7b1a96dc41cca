"""Distribution of the entity's settlement among its participant practices, and the restated
aggregates of a participant list.

Restatement: where practices join or leave, the kernels sum every member field per practice
(``records``: field ``f`` of practice ``p`` at ``N_BASE_FIELDS + n_attachments + f x P + p``).
The entity of a participant list is then, in every simulated year, the sum of its practices'
fields (:func:`restated_aggregates`), as CMS restates the benchmark of a performance year for
that year's participant list: the base years' spend, member months and risk of the members of
today's practices, as if the list had always been today's.

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

from simsettle._kernels import records as R
from simsettle.errors import SimulationError
from simsettle.rules._checks import EPS, TINY, first_bad, require_finite
from simsettle.scenario.schema import Participants

__all__ = ["distribute", "participant_lists", "payout_bound", "restated_aggregates"]

F8 = npt.NDArray[np.float64]
B1 = npt.NDArray[np.bool_]


def participant_lists(terms: Participants, first_year: int, n_performance_years: int) -> B1:
    """(performance year, practice): whether each practice is a participant that year."""
    years = range(first_year, first_year + n_performance_years)
    return np.array([[p.participates(y) for p in terms.practices] for y in years], dtype=bool)


def restated_aggregates(aggregates: F8, n_attachments: int, members: B1) -> F8:
    """The aggregates of the entity whose participant list is ``members`` (practice,), in every
    simulated year: each member field (spend, member months, risk and demographic risk months,
    members, care-management months, avoided cost, the excess over each attachment) is the sum
    over those practices of their own, in practice order, and the other practices' fields are
    zero. The trial-level fields (indices, quality, completion) are kept.

    ``aggregates`` is (trial, year, field) with every member field per practice (the kernels'
    ``practice_detail`` layout).
    """
    n_practices = int(members.shape[0])
    width = R.N_LANE_FIELDS + n_attachments
    first = R.N_BASE_FIELDS + n_attachments
    if aggregates.shape[-1] != first + width * n_practices:
        raise ValueError(
            f"aggregates have {aggregates.shape[-1]} fields; every member field of "
            f"{n_practices} practices needs {first + width * n_practices}"
        )
    if not members.any():
        raise ValueError("a participant list needs at least one practice")
    lead = aggregates.shape[:-1]
    per = aggregates[..., first:].reshape(*lead, width, n_practices).copy()
    per[..., ~members] = 0.0
    out = aggregates.copy()
    out[..., first:] = per.reshape(*lead, width * n_practices)
    # (trial, year, field): the list's sums, over its practices in practice order.
    out[..., [*R.LANE_FIELDS, *range(R.N_BASE_FIELDS, first)]] = per.sum(axis=-1)
    return out


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
    base_share : (trial, practice) or (trial, year, practice)
        Each practice's share of the (weighted) base-year spend: its share of the target (by
        performance year where the participant list changes).
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
        share = base_share[:, None, :] if base_share.ndim == 2 else base_share
        target = benchmark[..., None] * share
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
