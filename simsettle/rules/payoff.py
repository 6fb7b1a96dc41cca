"""Payoff curves: each design's settlement as a function of the savings rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from simsettle.rules.settle import YearFacts, settlement
from simsettle.scenario.contracts import AnyDesign

__all__ = ["DEFAULT_PAYOFF_RATES", "payoff_table"]

F8 = npt.NDArray[np.float64]

#: Savings rates of the payoff grid: -60% to +60% of the benchmark in steps of 0.25%.
DEFAULT_PAYOFF_RATES: F8 = np.round(np.linspace(-0.6, 0.6, 481), 6)


def payoff_table(
    designs: Sequence[AnyDesign],
    rates: npt.ArrayLike = DEFAULT_PAYOFF_RATES,
    *,
    members: float = 10_000.0,
    revenue_ratio: float | None = None,
) -> F8:
    """Settlement as a fraction of the benchmark, (design, rate), for savings ``rates``.

    Computed on a benchmark of $100M with ``members`` attributed members (for size-based MSRs),
    participant revenue ``revenue_ratio`` x benchmark, and each design's own quality score.
    """
    r = np.asarray(rates, dtype=np.float64)
    if r.ndim != 1 or not np.all(np.isfinite(r)):
        raise ValueError("rates must be a 1-d array of finite savings rates")
    b = 1e8
    facts = YearFacts(members=members, revenue=None if revenue_ratio is None else revenue_ratio * b)
    out = np.empty((len(designs), r.size))
    for i, design in enumerate(designs):
        out[i] = settlement(design, np.full(r.shape, b), r * b, facts) / b
    return out
