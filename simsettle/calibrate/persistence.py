"""Persistence of a member's cost beyond the risk score (``cost.persistence``), from member-years.

The data's statistic is the correlation of members' annualised cost (at the first year's cost
level) in two full years a year apart, among the first year's members (the goodness-of-fit
report's persistence). The model's is
:attr:`simsettle.models.persistence.PersistenceMoments.corr`: the risk score's part
(``(exp(risk_persistence risk_sigma**2) - 1) / CV**2``) plus the cost mixture's, which rises with
the persistence from 0. The estimate is the persistence at which the two agree (0 where the risk
score already carries the data's correlation, 0.99 where even that is short), with a percentile
interval from the member-level Poisson bootstrap of the correlation (the fitted risk and cost
model held).

The correlation of cost in dollars is the statistic because the settlement is a sum of dollars:
the covariance of a member's cost in the base years and in the performance year is what ties the
benchmark to the spend it is compared with. The Gaussian copula then fixes how persistent the
logs and ranks are; where the data's differ, the fit says so (DE-SynPUF: covariance of log cost
a year apart 1.19 in the data, 0.84 in the fitted model).

With two years of data and no risk scores the risk spread is itself taken from the covariance of
log cost at an assumed risk persistence, so nothing is left to tell the cost's persistence apart:
it is set to 0 and marked assumed, unless the spread was capped (then the rest is the cost's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simsettle._arrays import F8
from simsettle.calibrate.mixture import Interval
from simsettle.calibrate.panel import Panel, RiskFit, _lag_pairs, _percentile
from simsettle.models.persistence import cost_correlation, persistence_moments
from simsettle.scenario.costs import CostShape

__all__ = ["PersistenceFit", "fit_persistence"]

_GRID = np.linspace(0.0, 0.99, 34)


@dataclass(frozen=True)
class PersistenceFit:
    """``cost.persistence`` with how it was found."""

    persistence: Interval
    method: str
    assumed: bool
    data_corr: float  # the data's correlation of annualised cost a year apart
    pairs: int


def _invert(curve: F8, value: float) -> float:
    if not math.isfinite(value):
        return math.nan
    return float(np.interp(value, curve, _GRID, left=0.0, right=_GRID[-1]))


def _corr(a: F8, b: F8, w: F8) -> float:
    tot = float(w.sum())
    if tot <= 2.0:
        return math.nan
    ma, mb = float(w @ a) / tot, float(w @ b) / tot
    va, vb = float(w @ (a - ma) ** 2), float(w @ (b - mb) ** 2)
    return float(w @ ((a - ma) * (b - mb))) / math.sqrt(va * vb) if va > 0 and vb > 0 else math.nan


def fit_persistence(
    panel: Panel,
    annualised: F8,
    full: npt.NDArray[np.bool_],
    risk: RiskFit,
    shape: CostShape,
    *,
    reps: int = 200,
    seed: int = 14,
    confidence: float = 0.95,
) -> PersistenceFit:
    """``cost.persistence`` (module docstring). ``annualised``: each member-year's cost x 12 /
    months at the first year's level; ``full``: the full years; ``shape``: the fitted cost
    model at ``risk``'s spread."""
    d = panel.data
    i, j = _lag_pairs(panel, full, 1)
    if i.size < 10:
        return PersistenceFit(
            Interval(0.0, math.nan, math.nan),
            "assumed 0: fewer than 10 members with two consecutive full years",
            True,
            math.nan,
            int(i.size),
        )
    a, b = annualised[i], annualised[j]
    data_corr = _corr(a, b, np.ones(i.size))
    if d.risk is None and not risk.capped and risk.persistence_assumed:
        return PersistenceFit(
            Interval(0.0, math.nan, math.nan),
            "assumed 0: two years without risk scores give one covariance of members' log "
            "cost a year apart, and the risk spread at the assumed risk persistence carries "
            "all of it; the cost's own persistence cannot be told apart",
            True,
            data_corr,
            int(i.size),
        )
    rho_r = risk.risk_persistence.value
    curve = np.maximum.accumulate(
        np.array([cost_correlation(shape, float(r), rho_r) for r in _GRID])
    )
    value = _invert(curve, data_corr)
    rng = np.random.default_rng(seed)
    m = d.member
    boots = np.array(
        [
            _invert(curve, _corr(a, b, rng.poisson(1.0, d.n_members)[m[i]].astype(np.float64)))
            for _ in range(reps)
        ]
    )
    lo, hi = _percentile(boots, confidence)
    finite = boots[np.isfinite(boots)]
    se = float(np.std(finite)) if finite.size > 1 else math.nan
    fitted = persistence_moments(shape, value, rho_r)
    method = (
        f"the correlation of members' annualised cost in two full years a year apart "
        f"({data_corr:.3f}, {i.size:,} pairs of the first year's members) against the "
        f"model's: {curve[0]:.3f} from the risk score alone"
        + (
            ", which already carries it (0)"
            if value == 0.0
            else (
                f", the rest from the cost's persistence (the model's correlation at 0.99 is "
                f"{curve[-1]:.3f}, short of the data's)"
                if value >= _GRID[-1]
                else ", the rest from the cost's persistence"
            )
        )
        + f"; the model's covariance of log cost a year apart is then {fitted.log_cov:.3f}"
    )
    return PersistenceFit(
        Interval(value, min(lo, value), max(hi, value), se), method, False, data_corr, int(i.size)
    )
