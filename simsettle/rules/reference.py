"""Slow, obviously correct twins of every rule, for tests and documentation only.

Each follows the contract's words one case at a time in plain Python; the fast paths in
:mod:`simsettle.rules` and :mod:`simsettle._kernels` are compared against these on random inputs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle.scenario.contracts import StopLoss, TwoSided, UpsideOnly
from simsettle.scenario.schema import Benchmark

__all__ = [
    "benchmark_reference",
    "settle_one_reference",
    "settle_reference",
    "stop_loss_premium_reference",
    "stop_loss_recovery_reference",
]


def settle_one_reference(design: UpsideOnly | TwoSided, benchmark: float, savings: float) -> float:
    """Settlement of one year: positive = the payer pays the provider."""
    if savings > 0:
        # Savings are shared only if they reach the minimum savings rate.
        if savings < design.min_savings_rate * benchmark:
            return 0.0
        if design.sharing_basis == "first_dollar":
            shared = design.shared_savings_rate * savings
        else:
            shared = design.shared_savings_rate * (savings - design.min_savings_rate * benchmark)
        if design.savings_cap is not None:
            shared = min(shared, design.savings_cap * benchmark)
        return shared
    if savings < 0:
        if isinstance(design, UpsideOnly):
            return 0.0  # the provider never pays losses
        losses = -savings
        mlr = design.effective_min_loss_rate
        if losses < mlr * benchmark:
            return 0.0
        if design.sharing_basis == "first_dollar":
            owed = design.shared_loss_rate * losses
        else:
            owed = design.shared_loss_rate * (losses - mlr * benchmark)
        if design.loss_cap is not None:
            owed = min(owed, design.loss_cap * benchmark)
        return -owed
    return 0.0


def settle_reference(
    design: UpsideOnly | TwoSided, benchmark: npt.ArrayLike, savings: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """:func:`settle_one_reference` element by element."""
    b = np.asarray(benchmark, dtype=np.float64)
    s = np.asarray(savings, dtype=np.float64)
    out = np.empty(b.shape, dtype=np.float64)
    for idx in np.ndindex(b.shape):
        out[idx] = settle_one_reference(design, float(b[idx]), float(s[idx]))
    return out


def stop_loss_recovery_reference(terms: StopLoss, member_costs: list[float]) -> float:
    """Recovery from a list of member annual costs: (1 - coinsurance) of each excess, summed."""
    total = 0.0
    for cost in member_costs:
        if cost > terms.attachment:
            total += (1.0 - terms.coinsurance) * (cost - terms.attachment)
    return total


def stop_loss_premium_reference(terms: StopLoss, recoveries: list[float]) -> float:
    """Premium: expected recovery (the average over trials) plus the loading."""
    return (1.0 + terms.premium_loading) * (sum(recoveries) / len(recoveries))


def benchmark_reference(
    terms: Benchmark, spend: npt.ArrayLike, member_months: npt.ArrayLike, risk_months: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Benchmark per trial and performance year, one trial and one year at a time."""
    s = np.asarray(spend, dtype=np.float64)
    mm = np.asarray(member_months, dtype=np.float64)
    rm = np.asarray(risk_months, dtype=np.float64)
    n_base = len(terms.weights)
    n_trials, n_years = s.shape
    out = np.empty((n_trials, n_years - n_base), dtype=np.float64)
    g = 1.0 + terms.trend_rate
    for t in range(n_trials):
        risk = [rm[t, y] / mm[t, y] for y in range(n_years)]
        last_base_risk = risk[n_base - 1]
        historical_pmpm = 0.0
        for b in range(n_base):
            pmpm = s[t, b] / mm[t, b]
            if terms.risk_adjustment:
                pmpm = pmpm * last_base_risk / risk[b]
            years_to_last_base = n_base - 1 - b
            historical_pmpm += terms.weights[b] * pmpm * g**years_to_last_base
        for p in range(n_years - n_base):
            y = n_base + p
            pmpm_py = historical_pmpm * g ** (p + 1)
            if terms.risk_adjustment:
                pmpm_py = pmpm_py * risk[y] / last_base_risk
            out[t, p] = pmpm_py * mm[t, y]
    return out
