"""Every design of a scenario settled on the same simulated years (common random numbers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simsettle._kernels import records as R
from simsettle.models.population import ModelInputs
from simsettle.rules.benchmark import build_benchmark
from simsettle.rules.settle import settle_design
from simsettle.rules.stop_loss import stop_loss_premium, stop_loss_recovery
from simsettle.scenario.schema import Scenario

__all__ = ["Settled", "settle_designs"]

F8 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Settled:
    """Per-(trial, year) outcomes, design-independent ones 2-d and per-design ones 3-d."""

    benchmark: F8  # (trial, year) USD
    actual_spend: F8  # (trial, year) USD
    member_months: F8  # (trial, year)
    attributed_members: F8  # (trial, year)
    risk_score: F8  # (trial, year) member-month weighted mean
    trend_index: F8  # (trial, year)
    stop_loss_recovery: F8  # (design, trial, year) USD
    stop_loss_premium: F8  # (design, trial, year) USD
    savings: F8  # (design, trial, year) USD
    settlement: F8  # (design, trial, year) USD, > 0 payer pays provider


def settle_designs(scenario: Scenario, inputs: ModelInputs, aggregates: F8) -> Settled:
    """Benchmark, stop-loss and settlement of every design from the kernel's aggregates.

    ``aggregates`` is (trial, simulated year, field) as returned by
    :func:`simsettle.models.simulate_aggregates` for all trials.
    """
    nb = inputs.n_base_years
    if aggregates.ndim != 3 or aggregates.shape[1:] != (inputs.n_years, inputs.n_fields):
        raise ValueError(
            f"aggregates must be (trial, {inputs.n_years}, {inputs.n_fields}); "
            f"got {aggregates.shape}"
        )
    spend_all = aggregates[:, :, R.F_SPEND]
    mm_all = aggregates[:, :, R.F_MEMBER_MONTHS]
    benchmark = build_benchmark(
        scenario.benchmark, spend_all, mm_all, aggregates[:, :, R.F_RISK_MONTHS]
    )
    py = slice(nb, None)
    spend = np.ascontiguousarray(spend_all[:, py])
    mm = np.ascontiguousarray(mm_all[:, py])
    n_designs = len(scenario.designs)
    shape = (n_designs, *spend.shape)
    recovery = np.zeros(shape)
    premium = np.zeros(shape)
    savings = np.empty(shape)
    settlement = np.empty(shape)
    attachments = list(inputs.attachments)
    for d, design in enumerate(scenario.designs):
        if design.stop_loss is not None:
            k = attachments.index(design.stop_loss.attachment)
            excess = aggregates[:, py, R.N_BASE_FIELDS + k]
            recovery[d] = stop_loss_recovery(design.stop_loss, excess)
            premium[d] = stop_loss_premium(design.stop_loss, recovery[d], axis=0)
        # Stop-loss recoveries leave the settled spend; the premium is added to it.
        savings[d] = benchmark - (spend - recovery[d] + premium[d])
        settlement[d] = settle_design(design, benchmark, savings[d])
    return Settled(
        benchmark=benchmark,
        actual_spend=spend,
        member_months=mm,
        attributed_members=np.ascontiguousarray(aggregates[:, py, R.F_MEMBERS]),
        risk_score=aggregates[:, py, R.F_RISK_MONTHS] / mm,
        trend_index=np.ascontiguousarray(aggregates[:, py, R.F_TREND_INDEX]),
        stop_loss_recovery=recovery,
        stop_loss_premium=premium,
        savings=savings,
        settlement=settlement,
    )
