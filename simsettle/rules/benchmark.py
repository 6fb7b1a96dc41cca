"""The benchmark: weighted, risk-restated base years trended to each performance year."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle.scenario.schema import Benchmark

__all__ = ["build_benchmark"]

F8 = npt.NDArray[np.float64]


def build_benchmark(
    terms: Benchmark, spend: npt.ArrayLike, member_months: npt.ArrayLike, risk_months: npt.ArrayLike
) -> F8:
    """Total benchmark (USD) per trial and performance year.

    Parameters
    ----------
    terms : Benchmark
        Base-year weights, negotiated trend and whether to risk-adjust.
    spend, member_months, risk_months : array_like (trial, year)
        Per simulated year, base years first: allowed cost (USD), member months, and the sum of
        risk score x member months.

    Returns
    -------
    float64 (trial, performance year)
        For performance year p (0-based) and base year b of B::

            pmpm_b     = spend_b / mm_b                    (cost per member month)
            restated_b = pmpm_b x risk_{B-1} / risk_b       (to the last base year's risk)
            hist       = sum_b w_b x restated_b x (1 + g) ** (B - 1 - b)
            benchmark  = hist x (1 + g) ** (p + 1) x risk_{B+p} / risk_{B-1} x mm_{B+p}

        where risk_y = risk_months_y / mm_y; without risk adjustment every risk ratio is 1.
    """
    s = np.asarray(spend, dtype=np.float64)
    mm = np.asarray(member_months, dtype=np.float64)
    rm = np.asarray(risk_months, dtype=np.float64)
    n_base = terms.base_years
    if s.ndim != 2 or s.shape != mm.shape or s.shape != rm.shape:
        raise ValueError(
            f"spend, member_months, risk_months must be equal 2-d arrays; got "
            f"{s.shape}, {mm.shape}, {rm.shape}"
        )
    if s.shape[1] <= n_base:
        raise ValueError(
            f"need {n_base} base years and at least one performance year; got {s.shape[1]} years"
        )
    if not np.all(mm > 0):
        raise ValueError("every simulated year needs positive member months")
    w = np.asarray(terms.weights, dtype=np.float64)
    g = 1.0 + terms.trend_rate
    pmpm = s / mm
    risk = rm / mm
    last = n_base - 1
    restated = pmpm[:, :n_base]
    if terms.risk_adjustment:
        restated = restated * (risk[:, last : last + 1] / risk[:, :n_base])
    to_last = g ** (last - np.arange(n_base, dtype=np.float64))
    hist = (restated * (w * to_last)).sum(axis=1, keepdims=True)
    n_perf = s.shape[1] - n_base
    to_py = g ** np.arange(1, n_perf + 1, dtype=np.float64)
    pmpm_py = hist * to_py
    if terms.risk_adjustment:
        pmpm_py = pmpm_py * (risk[:, n_base:] / risk[:, last : last + 1])
    out: F8 = pmpm_py * mm[:, n_base:]
    return out
