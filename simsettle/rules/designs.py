"""Every design of a scenario settled on the same simulated years (common random numbers)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simsettle._kernels import records as R
from simsettle.models.population import ModelInputs
from simsettle.rules.benchmark import BenchmarkInputs, build_benchmark
from simsettle.rules.payoff import DEFAULT_PAYOFF_RATES, payoff_table
from simsettle.rules.settle import YearFacts, settle
from simsettle.rules.stop_loss import (
    aggregate_stop_loss_recovery,
    stop_loss_premium,
    stop_loss_recovery,
)
from simsettle.scenario.contracts import TwoSided
from simsettle.scenario.schema import Scenario

__all__ = ["Settled", "settle_designs"]

F8 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Settled:
    """Per-(trial, year) outcomes, design-independent ones 2-d and per-design ones 3-d."""

    benchmark: F8  # (trial, year) USD: the program benchmark
    actual_spend: F8  # (trial, year) USD
    member_months: F8  # (trial, year)
    attributed_members: F8  # (trial, year)
    risk_score: F8  # (trial, year) member-month weighted mean
    trend_index: F8  # (trial, year)
    reference_index: F8  # (trial, year)
    quality_score: F8 | None  # (trial, year) when the scenario simulates quality
    care_management_cost: F8 | None  # (trial, year) USD, when there is a programme
    care_management_savings: F8 | None  # (trial, year) USD: cost the programme avoided
    settlement_benchmark: F8  # (design, trial, year) USD: after discount, or the capitation budget
    stop_loss_recovery: F8  # (design, trial, year) USD, individual plus aggregate
    stop_loss_premium: F8  # (design, trial, year) USD
    savings: F8  # (design, trial, year) USD
    steps: F8  # (design, trial, year, step) USD; step 0 is the settlement
    payoff_rates: F8  # (rate,) savings rates of the payoff grid
    payoff: F8  # (design, rate) settlement as a fraction of the benchmark


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
        scenario.benchmark,
        BenchmarkInputs(
            spend=spend_all,
            member_months=mm_all,
            risk_months=aggregates[:, :, R.F_RISK_MONTHS],
            demo_risk_months=aggregates[:, :, R.F_DEMO_RISK_MONTHS],
            reference_index=aggregates[:, :, R.F_REF_INDEX],
            base_pmpm=scenario.cost.pmpm,
        ),
        nb,
    )
    py = slice(nb, None)
    spend = np.ascontiguousarray(spend_all[:, py])
    mm = np.ascontiguousarray(mm_all[:, py])
    members = np.ascontiguousarray(aggregates[:, py, R.F_MEMBERS])
    ratio = scenario.provider.revenue_ratio
    quality = (
        np.ascontiguousarray(aggregates[:, py, R.F_QUALITY])
        if scenario.quality_model is not None
        else None
    )
    facts = YearFacts(
        members=members,
        revenue=None if ratio is None else ratio * benchmark,
        quality_score=quality,
    )
    years_in = np.arange(spend.shape[1], dtype=np.float64)
    n_designs = len(scenario.designs)
    shape = (n_designs, *spend.shape)
    design_benchmark = np.empty(shape)
    recovery = np.zeros(shape)
    premium = np.zeros(shape)
    savings = np.empty(shape)
    steps = np.empty((*shape, R.N_STEPS))
    attachments = list(inputs.attachments)
    for d, design in enumerate(scenario.designs):
        base = benchmark
        if isinstance(design, TwoSided) and design.capitation_pmpm is not None:
            # A fixed budget per member month, trended at the negotiated rate after year one.
            growth = (1.0 + scenario.benchmark.trend_rate) ** years_in
            base = design.capitation_pmpm * mm * growth
        b = base * (1.0 - design.discount)
        design_benchmark[d] = b
        settled_spend = spend.copy()
        if design.stop_loss is not None:
            k = attachments.index(design.stop_loss.attachment)
            rec = stop_loss_recovery(design.stop_loss, aggregates[:, py, R.N_BASE_FIELDS + k])
            prem = stop_loss_premium(design.stop_loss, rec, axis=0)
            recovery[d] += rec
            premium[d] += prem
            settled_spend = settled_spend - rec + prem
        if design.aggregate_stop_loss is not None:
            rec = aggregate_stop_loss_recovery(design.aggregate_stop_loss, settled_spend, b)
            prem = stop_loss_premium(design.aggregate_stop_loss, rec, axis=0)
            recovery[d] += rec
            premium[d] += prem
            settled_spend = settled_spend - rec + prem
        savings[d] = b - settled_spend
        steps[d] = settle(design, b, savings[d], facts)
    cm = scenario.care_management
    cm_cost = cm_saved = None
    if cm is not None:
        cm_cost = cm.cost_pmpm * aggregates[:, py, R.F_CM_MONTHS]
        cm_saved = np.ascontiguousarray(aggregates[:, py, R.F_CM_AVOIDED])
    payoff = payoff_table(
        scenario.designs,
        DEFAULT_PAYOFF_RATES,
        members=float(members[:, 0].mean()),
        revenue_ratio=ratio,
    )
    return Settled(
        benchmark=benchmark,
        actual_spend=spend,
        member_months=mm,
        attributed_members=members,
        risk_score=aggregates[:, py, R.F_RISK_MONTHS] / mm,
        trend_index=np.ascontiguousarray(aggregates[:, py, R.F_TREND_INDEX]),
        reference_index=np.ascontiguousarray(aggregates[:, py, R.F_REF_INDEX]),
        quality_score=quality,
        care_management_cost=cm_cost,
        care_management_savings=cm_saved,
        settlement_benchmark=design_benchmark,
        stop_loss_recovery=recovery,
        stop_loss_premium=premium,
        savings=savings,
        steps=steps,
        payoff_rates=DEFAULT_PAYOFF_RATES,
        payoff=payoff,
    )
