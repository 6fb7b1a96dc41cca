"""Distribution of the entity's settlement among its participant practices."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle.scenario.schema import Participants

__all__ = ["distribute"]

F8 = npt.NDArray[np.float64]


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
    """
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
    return payout
