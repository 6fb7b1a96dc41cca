"""Every design of a scenario settled on the same simulated years (common random numbers).

Numerical safety. The kernel's aggregates are float64 sums of non-negative member-year values
(spend, member months, risk x months, excess over an attachment): ``n`` additions in any order
have a relative error of at most ``(n - 1) x eps/2`` -- below 1e-9 for the schema's largest
population of 5 million members over a year, with partial years counted twice. They are
checked finite here (naming the field, trial and year of the first bad value) before any rule
runs, and every gate below checks its own inputs and outputs: no NaN or infinity reaches a
result. Totals are conserved and checked at run time: the settlement is the sum of its steps
(:func:`simsettle.rules.settle.check_steps`), participant payouts add up to the settlement
(:func:`simsettle.rules.participants.distribute`), and settled spend is ``spend - recovery +
premium`` with ``0 <= recovery <= spend``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from simsettle._kernels import records as R
from simsettle.errors import SimulationError
from simsettle.models.population import ModelInputs, expected_indices
from simsettle.rules._checks import first_bad, show
from simsettle.rules.benchmark import BenchmarkInputs, benchmark_parts, build_benchmark
from simsettle.rules.participants import distribute, participant_lists, restated_aggregates
from simsettle.rules.payoff import DEFAULT_PAYOFF_RATES, payoff_table
from simsettle.rules.settle import YearFacts, loss_guardrail, settle
from simsettle.rules.stop_loss import (
    aggregate_stop_loss_recovery,
    stop_loss_premium,
    stop_loss_recovery,
)
from simsettle.rules.terms import compile_terms
from simsettle.rules.truncation import truncate
from simsettle.scenario.contracts import AnyDesign, design_in_year
from simsettle.scenario.schema import Scenario, Timing
from simsettle.scenario.sweep import Variant

__all__ = ["Settled", "combine_lines", "present_value", "settle_designs"]

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
    truncated_spend: F8 | None  # (trial, year) USD taken off the spend by truncation
    # The benchmark's adjustments (trial, year), USD per person-year, where the benchmark has
    # a regional or prior savings adjustment (BenchmarkParts; 0 where not eligible).
    regional_adjustment: F8 | None
    prior_savings_adjustment: F8 | None
    benchmark_adjustment: F8 | None
    # By enrolment type (type, trial, year), with types: benchmark, settled spend, member months.
    type_benchmark: F8 | None
    type_spend: F8 | None
    type_member_months: F8 | None
    claim_contagion: F8 | None  # (trial, year): the claim-rate factor, with a contagion
    settlement_benchmark: F8  # (design, trial, year) USD: after discount, or the capitation budget
    stop_loss_recovery: F8  # (design, trial, year) USD, individual plus aggregate
    stop_loss_premium: F8  # (design, trial, year) USD
    # Each layer apart, where some design has an aggregate layer: (design, trial, year) USD.
    specific_stop_loss_recovery: F8 | None
    specific_stop_loss_premium: F8 | None
    aggregate_stop_loss_recovery: F8 | None
    aggregate_stop_loss_premium: F8 | None
    savings: F8  # (design, trial, year) USD
    steps: F8  # (design, trial, year, step) USD; step 0 is the settlement
    settlement_estimated: F8 | None  # (design, trial, year) USD on completed run-out claims
    interim_payment: F8 | None  # (design, trial, year) USD paid in advance
    settlement_pv: F8 | None  # (design, trial, year) USD, present value of the year's payments
    # Capitation paid as an advance (design, trial, year) USD, where some design has one: the
    # advance, the capitated claims it replaced, and what is netted at settlement.
    capitation_advance: F8 | None
    capitated_claims: F8 | None
    capitation_reconciliation: F8 | None
    # The provider's own economics (design, trial, year) USD, where the scenario gives them
    # (Provider.has_economics, or a stop-loss borne by the provider).
    provider_net: F8 | None
    provider_costs: F8 | None  # care management, infrastructure and margin forgone
    forgone_margin: F8 | None
    provider_stop_loss_net: F8 | None  # recovery less premium of its own stop-loss
    participant_spend: F8 | None  # (participant, trial, year) USD
    participant_member_months: F8 | None  # (participant, trial, year)
    participant_payout: F8 | None  # (design, participant, trial, year) USD
    payoff_rates: F8  # (rate,) savings rates of the payoff grid
    payoff: F8  # (design, rate) settlement as a fraction of the benchmark
    lines: tuple[str, ...] = ()  # portfolio line names (empty for one contract)
    design_line: tuple[str, ...] = ()  # the line of each design
    line_benchmark: F8 | None = None  # (line, trial, year) USD
    line_actual_spend: F8 | None = None  # (line, trial, year) USD
    line_member_months: F8 | None = None  # (line, trial, year)
    line_truncated_spend: F8 | None = None  # (line, trial, year) USD, with a truncation
    portfolio_settlement: F8 | None = None  # (trial, year) USD: each line's first design
    # The exact expectations (year,) of trend_index and reference_index: known means, for
    # control variates (simsettle.models.population.expected_indices).
    expected_trend_index: F8 | None = None
    expected_reference_index: F8 | None = None
    # The same in the simulated base years: (trial, base year) and their expectations.
    base_trend_index: F8 | None = None
    base_reference_index: F8 | None = None
    expected_base_trend_index: F8 | None = None
    expected_base_reference_index: F8 | None = None


#: Per-design arrays that only some lines may have (zeros for the others' designs).
_PER_DESIGN_OPTIONAL = (
    "specific_stop_loss_recovery",
    "specific_stop_loss_premium",
    "aggregate_stop_loss_recovery",
    "aggregate_stop_loss_premium",
    "capitation_advance",
    "capitated_claims",
    "capitation_reconciliation",
)
#: The provider's economics: a line without them has no costs and a net result equal to its
#: settlement (filled in by :func:`combine_lines`).
_PROVIDER = ("provider_net", "provider_costs", "forgone_margin", "provider_stop_loss_net")
_PER_DESIGN = (
    "settlement_benchmark",
    "stop_loss_recovery",
    "stop_loss_premium",
    *_PER_DESIGN_OPTIONAL,
    "savings",
    "steps",
    "settlement_estimated",
    "interim_payment",
    "settlement_pv",
    "payoff",
)


def combine_lines(lines: list[tuple[str, Settled]]) -> Settled:
    """One :class:`Settled` for a portfolio: the primary line's population variables, every
    line's designs, per-line benchmark, spend and member months, and the portfolio settlement
    (the sum over lines of each line's first design)."""
    primary = lines[0][1]
    per_design: dict[str, F8 | None] = {}
    for name in _PER_DESIGN:
        parts = [getattr(s, name) for _, s in lines]
        if name in _PER_DESIGN_OPTIONAL and any(p is not None for p in parts):
            parts = [
                np.zeros_like(s.savings) if p is None else p
                for p, (_, s) in zip(parts, lines, strict=True)
            ]
        per_design[name] = None if parts[0] is None else np.concatenate(parts, axis=0)
    if any(s.provider_net is not None for _, s in lines):
        for name in _PROVIDER:
            own = []
            for _, s in lines:
                part = getattr(s, name)
                if part is None:  # no costs of its own: the net result is the settlement
                    settled = s.steps[..., R.S_SETTLEMENT]
                    part = settled.copy() if name == "provider_net" else np.zeros_like(settled)
                own.append(part)
            per_design[name] = np.concatenate(own, axis=0)
    return replace(
        primary,
        **per_design,  # type: ignore[arg-type]
        lines=tuple(n for n, _ in lines),
        design_line=tuple(n for n, s in lines for _ in range(s.savings.shape[0])),
        line_benchmark=np.stack([s.benchmark for _, s in lines]),
        line_actual_spend=np.stack([s.actual_spend for _, s in lines]),
        line_member_months=np.stack([s.member_months for _, s in lines]),
        line_truncated_spend=(
            None
            if primary.truncated_spend is None
            else np.stack([s.truncated_spend for _, s in lines])  # type: ignore[misc]
        ),
        portfolio_settlement=np.sum([s.steps[0, ..., R.S_SETTLEMENT] for _, s in lines], axis=0),
    )


def _provider_economics(
    scenario: Scenario,
    borne: bool,
    steps: F8,
    own_stop_loss: F8,
    member_months: F8,
    cm_cost: F8 | None,
    cm_saved: F8 | None,
) -> dict[str, F8 | None]:
    """The provider's net result and its parts (:class:`~simsettle.scenario.schema.Provider`),
    each (design, trial, year) USD; all None when the scenario gives no economics of the
    provider's own (no costs of its own, and ``borne`` False: no stop-loss it bears)."""
    provider = scenario.provider
    if not borne and not provider.has_economics:
        return dict.fromkeys(_PROVIDER)
    settlement = steps[..., R.S_SETTLEMENT]
    zero = np.zeros(settlement.shape[1:])
    infrastructure = provider.infrastructure_pmpm * member_months + provider.infrastructure_annual
    forgone = zero
    if cm_saved is not None:
        forgone = provider.ffs_revenue_share * provider.ffs_margin * cm_saved
    costs = (zero if cm_cost is None else cm_cost) + infrastructure + forgone
    shape = settlement.shape
    return {
        "provider_net": settlement + own_stop_loss - costs,
        "provider_costs": np.broadcast_to(costs, shape).copy(),
        "forgone_margin": np.broadcast_to(forgone, shape).copy(),
        "provider_stop_loss_net": own_stop_loss,
    }


def present_value(
    timing: Timing, interim: F8, estimated: F8, final: F8, years: F8 | None = None
) -> F8:
    """Present value at the start of the first performance year of each year's payments.

    Performance year ``p`` (0-based) pays the interim at ``p + 0.5`` years, the first settlement
    less the interim ``payment_lag_months`` after the year's end, and the true-up (final less
    estimated) ``true_up_lag_months`` later. ``years`` are the performance years of the last
    axis (default: 0, 1, ...).
    """
    p = np.arange(final.shape[-1], dtype=np.float64) if years is None else years
    v = 1.0 / (1.0 + timing.discount_rate)
    t_first = p + 1.0 + timing.payment_lag_months / 12.0
    t_final = t_first + timing.true_up_lag_months / 12.0
    pv: F8 = (
        interim * v ** (p + 0.5)
        + (estimated - interim) * v**t_first
        + (final - estimated) * v**t_final
    )
    return pv


def _year_groups(
    design: AnyDesign, n_perf: int
) -> list[tuple[AnyDesign, slice | npt.NDArray[np.intp]]]:
    """The terms of ``design`` and the performance years (columns) they settle: one group of
    every year (a slice) unless its terms change by year (``by_year``)."""
    by_year = getattr(design, "by_year", None)
    if by_year is None:
        return [(design, slice(None))]
    index: dict[int, list[int]] = {}
    for p in range(n_perf):
        index.setdefault(min(p, len(by_year) - 1), []).append(p)
    return [
        (design_in_year(design, k), np.asarray(cols, dtype=np.intp)) for k, cols in index.items()
    ]


def _check_aggregates(aggregates: F8, n_base: int) -> None:
    """Raise ``SimulationError`` naming the field, trial and simulated year of the first
    non-finite or negative aggregate (the kernel's sums are of non-negative values, except
    the completion-factor draw)."""
    for f in range(aggregates.shape[2]):
        name = (
            R.FIELD_NAMES[f]
            if f < len(R.FIELD_NAMES)
            else f"field {f} (a stop-loss excess or a practice's total)"
        )
        a = aggregates[:, :, f]
        bad = ~np.isfinite(a)
        if f != R.F_COMPLETION_Z:
            bad |= a < 0.0
        if np.any(bad):
            trial, year = np.unravel_index(int(np.argmax(bad)), bad.shape)
            kind = "base year" if year < n_base else "performance year"
            raise SimulationError(
                f"the simulation gave {name} = {show(a[trial, year])} in trial {int(trial)}, "
                f"simulated year {int(year)} ({kind}); please report this scenario"
            )


def _benchmark(scenario: Scenario, aggregates: F8, nb: int) -> F8:
    """The benchmark of every performance year from the entity's aggregates."""
    return _benchmark_parts(scenario, aggregates, nb)[0]


#: The benchmark, its two-way update (ACPT guardrail) and its adjustments, each (trial, year),
#: and the benchmark by enrolment type (type, trial, year), with types.
_Parts = tuple[F8, F8 | None, F8 | None, F8 | None, F8 | None, F8 | None]


def _type_inputs(scenario: Scenario, model: ModelInputs, aggregates: F8) -> BenchmarkInputs:
    """The benchmark's inputs by enrolment type, (type, trial, year), from the types' lanes."""
    types = scenario.population.enrollment_types
    assert types is not None
    n = len(types)
    first = R.N_BASE_FIELDS + int(model.attachments.shape[0])

    def lanes(field: int) -> F8:
        at = first + field * n
        return np.ascontiguousarray(np.moveaxis(aggregates[:, :, at : at + n], -1, 0))

    pmpm = scenario.cost.pmpm
    ratio = scenario.benchmark.regional_cost_ratio
    return BenchmarkInputs(
        spend=lanes(R.LF_SPEND),
        member_months=lanes(R.LF_MONTHS),
        risk_months=lanes(R.LF_RISK),
        demo_risk_months=lanes(R.LF_DEMO),
        reference_index=aggregates[:, :, R.F_REF_INDEX],
        base_pmpm=np.array([[pmpm * t.cost_ratio] for t in types]),
        national_index=aggregates[:, :, R.F_NAT_INDEX],
        first_year=scenario.first_performance_year - model.n_base_years,
        regional_cost_ratio=(
            None
            if ratio is None
            else np.array(
                [[ratio if t.regional_cost_ratio is None else t.regional_cost_ratio] for t in types]
            )
        ),
    )


def _benchmark_parts(
    scenario: Scenario, aggregates: F8, nb: int, model: ModelInputs | None = None
) -> _Parts:
    """The benchmark of every performance year from the entity's aggregates (from its
    enrolment types', with types: ``model`` gives their layout), the benchmark updated by the
    realized trend alone (with the ACPT guardrail), and the regional, prior savings and applied
    adjustments (USD per person-year, where the benchmark has them)."""
    terms = scenario.benchmark
    inputs = BenchmarkInputs(
        spend=aggregates[:, :, R.F_SPEND],
        member_months=aggregates[:, :, R.F_MEMBER_MONTHS],
        risk_months=aggregates[:, :, R.F_RISK_MONTHS],
        demo_risk_months=aggregates[:, :, R.F_DEMO_RISK_MONTHS],
        reference_index=aggregates[:, :, R.F_REF_INDEX],
        base_pmpm=scenario.cost.pmpm,
        national_index=aggregates[:, :, R.F_NAT_INDEX],
        first_year=scenario.first_performance_year - nb,
    )
    if terms.method == "fixed":
        return build_benchmark(terms, inputs, nb), None, None, None, None, None
    if scenario.population.enrollment_types is not None:
        assert model is not None
        inputs = _type_inputs(scenario, model, aggregates)
    parts = benchmark_parts(terms, inputs, nb)
    regional = parts.regional if terms.regional_cost_ratio is not None else None
    prior = None
    applied = None
    if terms.prior_savings is not None:
        prior = np.nan_to_num(parts.prior_savings, nan=0.0)
    if regional is not None or prior is not None:
        applied = parts.applied
    return parts.total, parts.two_way, regional, prior, applied, parts.by_type


def _restated(
    scenario: Scenario, inputs: ModelInputs, aggregates: F8, lists: npt.NDArray[np.bool_]
) -> tuple[_Parts, F8]:
    """The benchmark (and its parts, as :func:`_benchmark_parts`) of each performance year
    restated for its participant list ``lists`` (performance year, practice), and the
    aggregates with each performance year's member fields those of its list (the base years'
    are the whole population's, unused).

    Each distinct list is restated once (:func:`restated_aggregates`): its benchmark is built
    from its own history in every base year, as if the list had always been today's, so a
    rebased period's base years (earlier performance years) are restated too. Without
    restatement (``participants.restate`` false) the simulated base years are those of the
    first performance year's list, whatever the current list.
    """
    nb = inputs.n_base_years
    n_att = int(inputs.attachments.shape[0])
    shape = (aggregates.shape[0], lists.shape[0])
    benchmark = np.empty(shape)
    current = aggregates.copy()
    extra: list[F8 | None] = [None] * 5
    part = scenario.participants
    first = (
        None if part is None or part.restate else restated_aggregates(aggregates, n_att, lists[0])
    )
    for members in np.unique(lists, axis=0):
        years = np.flatnonzero((lists == members).all(axis=1))
        restated = restated_aggregates(aggregates, n_att, members)
        if first is not None:
            restated[:, :nb] = first[:, :nb]
        parts = _benchmark_parts(scenario, restated, nb)
        benchmark[:, years] = parts[0][:, years]
        for i, piece in enumerate(parts[1:]):
            if piece is not None:
                into = extra[i]
                if into is None:
                    into = extra[i] = np.empty(shape)
                into[:, years] = piece[:, years]
        current[:, nb + years] = restated[:, nb + years]
    return (benchmark, extra[0], extra[1], extra[2], extra[3], extra[4]), current


def settle_designs(
    scenario: Scenario,
    inputs: ModelInputs,
    aggregates: F8,
    variants: Sequence[Variant] | None = None,
) -> Settled:
    """Benchmark, stop-loss and settlement of every design from the kernel's aggregates.

    ``aggregates`` is (trial, simulated year, field) as returned by
    :func:`simsettle.models.simulate_aggregates` for all trials. ``variants`` are the designs
    to settle, in order (a sweep's :attr:`~simsettle.scenario.sweep.DesignGrid.flat`); messages
    name each by its label. Default: the scenario's designs.
    """
    if variants is None:
        variants = [Variant(d) for d in scenario.designs]
    designs = [v.design for v in variants]
    nb = inputs.n_base_years
    if aggregates.ndim != 3 or aggregates.shape[1:] != (inputs.n_years, inputs.n_fields):
        raise ValueError(
            f"aggregates must be (trial, {inputs.n_years}, {inputs.n_fields}); "
            f"got {aggregates.shape}"
        )
    _check_aggregates(aggregates, nb)
    # Every member's cost truncated at its year's threshold, in the base years the benchmark
    # reads and the performance years settled (``removed``: what it took off, per practice).
    aggregates, removed = truncate(inputs, aggregates)
    part = scenario.participants
    lists = None
    py = slice(nb, None)
    if part is not None and part.churns:
        # Each performance year is settled for its participant list, its benchmark restated
        # for that list: from here on ``aggregates`` are those of each year's list.
        lists = participant_lists(part, scenario.first_performance_year, inputs.n_years - nb)
        bench_parts, aggregates = _restated(scenario, inputs, aggregates, lists)
        if inputs.truncation:
            removed = np.sum(removed[:, py, 1:] * lists[None], axis=-1, keepdims=True)
            removed = np.concatenate([np.zeros((removed.shape[0], nb, 1)), removed], axis=1)
    else:
        bench_parts = _benchmark_parts(scenario, aggregates, nb, inputs)
    benchmark, two_way = bench_parts[0], bench_parts[1]
    truncated = np.ascontiguousarray(removed[:, py, 0]) if inputs.truncation else None
    type_fields: tuple[F8 | None, F8 | None] = (None, None)
    if scenario.population.enrollment_types is not None:
        by_type = _type_inputs(scenario, inputs, aggregates)
        type_fields = (
            np.ascontiguousarray(by_type.spend[:, :, nb:]),
            np.ascontiguousarray(by_type.member_months[:, :, nb:]),
        )
    spend = np.ascontiguousarray(aggregates[:, py, R.F_SPEND])
    mm = np.ascontiguousarray(aggregates[:, py, R.F_MEMBER_MONTHS])
    members = np.ascontiguousarray(aggregates[:, py, R.F_MEMBERS])
    ratio = scenario.provider.revenue_ratio
    quality = (
        np.ascontiguousarray(aggregates[:, py, R.F_QUALITY])
        if scenario.quality_model is not None
        else None
    )
    revenue = None if ratio is None else ratio * benchmark
    years_in = np.arange(spend.shape[1], dtype=np.float64)
    n_designs = len(designs)
    shape = (n_designs, *spend.shape)
    design_benchmark = np.empty(shape)
    recovery = np.zeros(shape)
    premium = np.zeros(shape)
    savings = np.empty(shape)
    steps = np.empty((*shape, R.N_STEPS))
    timing = scenario.timing
    # Payment timing's arrays, allocated only when the scenario has timing.
    timed_shape = shape if timing is not None else (0, *spend.shape)
    estimated, interim, present = (np.zeros(timed_shape) for _ in range(3))
    spend_estimated = spend
    if timing is not None:
        # Completed spend at the first settlement: the actual spend times (1 + relative error).
        error = (
            timing.completion_bias
            + timing.completion_factor_sd * aggregates[:, py, R.F_COMPLETION_Z]
        )
        spend_estimated = spend * (1.0 + error)
    attachments = list(inputs.attachments)
    # Each layer's recovery and premium apart (specific, then aggregate), where a design has an
    # aggregate layer; recovery and premium above are their sums.
    n_perf = spend.shape[1]
    equity = scenario.benchmark.health_equity
    # Each design's terms by performance year, and the years that share them.
    groups = [_year_groups(v.design, n_perf) for v in variants]
    has_aggregate = any(
        compile_terms(y).aggregate_stop_loss is not None for g in groups for y, _ in g
    )
    layers = tuple(np.zeros(shape) for _ in range(4)) if has_aggregate else None
    advanced = any(getattr(y, "capitation_advance", None) for g in groups for y, _ in g)
    capitation = tuple(np.zeros(shape) for _ in range(3)) if advanced else None
    # The provider's own stop-loss (recovery less premium), outside the settlement.
    own_stop_loss = np.zeros(shape)
    borne = False  # some design has a layer the provider bears
    for d, variant in enumerate(variants):
        for year_design, cols in groups[d]:
            # Named by its label: the gate's messages say which variant of a swept design failed.
            terms = replace(compile_terms(year_design), name=variant.label)
            base = benchmark[:, cols]
            mm_c, spend_c = mm[:, cols], spend[:, cols]
            if terms.capitation_pmpm is not None:
                # A fixed budget per member month, trended at the negotiated rate after year one.
                growth = (1.0 + scenario.benchmark.trend_rate) ** years_in[cols]
                base = terms.capitation_pmpm * mm_c * growth
            b = base * (1.0 - terms.discount)
            if equity is not None and terms.capitation_pmpm is None:
                # ACO REACH's health equity adjustment, after the discount.
                b = b + equity.net_pbpm * mm_c
            settled_spend = spend_c.copy()
            # Claims net of the individual recoveries: what the aggregate layer attaches on (the
            # individual layer's premium is not a claim).
            net_claims = spend_c
            rec_d = np.zeros_like(b)
            if terms.stop_loss is not None:
                sl = terms.stop_loss
                k = attachments.index(sl.attachment)
                excess = aggregates[:, py, R.N_BASE_FIELDS + k][:, cols]
                upper = None
                if sl.upper_attachment is not None:
                    ku = attachments.index(sl.upper_attachment)
                    upper = aggregates[:, py, R.N_BASE_FIELDS + ku][:, cols]
                # The premium is priced on the recoveries before the budget-neutrality factor
                # (REACH's charge is set before the year; the factor corrects the payouts).
                raw = stop_loss_recovery(sl, excess, upper, neutrality=False)
                prem = stop_loss_premium(sl, raw, axis=0, member_months=mm_c)
                rec = (
                    raw * sl.budget_neutrality_factor if sl.budget_neutrality_factor != 1.0 else raw
                )
                design_gross = b
                rec_d += rec
                recovery[d][:, cols] += rec
                premium[d][:, cols] += prem
                if layers is not None:
                    layers[0][d][:, cols], layers[1][d][:, cols] = rec, prem
                if sl.borne_by == "settlement" and sl.charged_to == "benchmark":
                    # ACO REACH's stop-loss charge: taken off the benchmark.
                    settled_spend = settled_spend - rec
                    b = b - prem
                elif sl.borne_by == "settlement":
                    settled_spend = settled_spend - rec + prem
                else:  # the provider's own reinsurance: outside the settlement
                    own_stop_loss[d][:, cols] += rec - prem
                    borne = True
                agg = terms.aggregate_stop_loss
                # The aggregate layer attaches on claims net of the specific recoveries, except
                # that a layer charged through the settlement cannot see the provider's own.
                if not (
                    agg is not None
                    and agg.borne_by == "settlement"
                    and terms.stop_loss.borne_by == "provider"
                ):
                    net_claims = spend_c - rec
            if terms.aggregate_stop_loss is not None:
                # Attached on the benchmark before any stop-loss charge.
                b_gross = b if terms.stop_loss is None else design_gross
                rec = aggregate_stop_loss_recovery(terms.aggregate_stop_loss, net_claims, b_gross)
                prem = stop_loss_premium(terms.aggregate_stop_loss, rec, axis=0, member_months=mm_c)
                rec_d += rec
                recovery[d][:, cols] += rec
                premium[d][:, cols] += prem
                assert layers is not None
                layers[2][d][:, cols], layers[3][d][:, cols] = rec, prem
                if terms.aggregate_stop_loss.borne_by == "settlement":
                    settled_spend = settled_spend - rec + prem
                else:
                    own_stop_loss[d][:, cols] += rec - prem
                    borne = True
            design_benchmark[d][:, cols] = b
            over = rec_d > spend_c * (1.0 + 4.0 * np.finfo(np.float64).eps)
            if np.any(over):
                raise SimulationError(
                    f"design {terms.name!r}: the stop-loss recovers more than the spend "
                    f"({first_bad(rec_d, over)}); please report this scenario"
                )
            savings[d][:, cols] = b - settled_spend
            facts_c = YearFacts(
                members=members[:, cols],
                revenue=None if revenue is None else revenue[:, cols],
                quality_score=None if quality is None else quality[:, cols],
            )
            steps[d][:, cols] = settle(terms, b, savings[d][:, cols], facts_c)
            # The ACPT's loss guardrail: losses owed are settled again on the two-way benchmark
            # (with the same discount, equity adjustment and charge); the smaller is owed,
            # nothing where that shows none.
            guarded = two_way is not None and terms.shares_losses and terms.capitation_pmpm is None
            b2 = b
            if guarded:
                assert two_way is not None
                b2 = b + (two_way[:, cols] - benchmark[:, cols]) * (1.0 - terms.discount)
                fallback = settle(terms, b2, b2 - settled_spend, facts_c)
                steps[d][:, cols] = loss_guardrail(steps[d][:, cols], fallback)
            advance = getattr(year_design, "capitation_advance", None)
            if advance is not None:
                assert capitation is not None
                paid = advance.share * b
                claims = advance.claims * spend_c
                capitation[0][d][:, cols] = paid
                capitation[1][d][:, cols] = claims
                capitation[2][d][:, cols] = steps[d][:, cols][..., R.S_SETTLEMENT] - (paid - claims)
            if timing is not None:
                # Stop-loss recoveries are settled on complete claims; only the spend is
                # estimated.
                estimated_spend = settled_spend + (spend_estimated[:, cols] - spend_c)
                est_steps = settle(terms, b, b - estimated_spend, facts_c)
                if guarded:
                    est_fallback = settle(terms, b2, b2 - estimated_spend, facts_c)
                    est_steps = loss_guardrail(est_steps, est_fallback)
                est = est_steps[..., R.S_SETTLEMENT]
                estimated[d][:, cols] = est
                interim[d][:, cols] = timing.interim_share * est.mean(axis=0, keepdims=True)
                present[d][:, cols] = present_value(
                    timing,
                    interim[d][:, cols],
                    est,
                    steps[d][:, cols][..., R.S_SETTLEMENT],
                    years=years_in[cols],
                )
                if advance is not None:
                    # The advance less the claims it replaced is paid during the year (at
                    # mid-year on average) instead of at the first settlement.
                    assert capitation is not None
                    early = capitation[0][d][:, cols] - capitation[1][d][:, cols]
                    p = years_in[cols]
                    v = 1.0 / (1.0 + timing.discount_rate)
                    t_first = p + 1.0 + timing.payment_lag_months / 12.0
                    present[d][:, cols] += early * (v ** (p + 0.5) - v**t_first)
    cm = scenario.care_management
    cm_cost = cm_saved = None
    if cm is not None:
        cm_cost = cm.cost_pmpm * aggregates[:, py, R.F_CM_MONTHS]
        cm_saved = np.ascontiguousarray(aggregates[:, py, R.F_CM_AVOIDED])
    economics = _provider_economics(scenario, borne, steps, own_stop_loss, mm, cm_cost, cm_saved)
    p_spend = p_months = payout = None
    if part is not None:
        spend_fields, month_fields = inputs.practice_fields
        p_spend_all = aggregates[:, :, spend_fields]
        p_spend = p_spend_all[:, py, :]
        p_months = aggregates[:, py, month_fields]
        declared = np.array([pr.share for pr in part.practices])
        if scenario.benchmark.method == "fixed":
            # A fixed target is priced per member month (or is a total): each practice's share
            # of it is its share of the year's member months.
            base = p_months
        else:
            # The practice's share of the weighted first-agreement base years' spend.
            w = np.asarray(scenario.benchmark.weights)
            base = np.einsum("b,tbp->tp", w, p_spend_all[:, :nb, :])
        total = base.sum(axis=-1, keepdims=True)
        # A trial whose practices spent nothing in the base years (a tiny population) has no
        # spend shares: the targets are split by the practices' declared shares instead.
        base_share = np.where(total > 0.0, base / np.where(total > 0.0, total, 1.0), declared)
        if lists is not None:
            # By performance year, among that year's participants (the others' spend is zero).
            per_year = base_share if base_share.ndim == 3 else base_share[:, None, :]
            listed = per_year * lists[None, :, :]
            base_share = listed / listed.sum(axis=-1, keepdims=True)
        payout = np.stack(
            [
                distribute(
                    part,
                    steps[d][..., R.S_SETTLEMENT],
                    design_benchmark[d],
                    p_spend,
                    p_months,
                    base_share,
                    design=variants[d].label,
                )
                for d in range(n_designs)
            ]
        )
        # (design, trial, year, practice) -> (design, practice, trial, year)
        payout = np.moveaxis(payout, -1, 1)
        p_spend = np.moveaxis(p_spend, -1, 0)
        p_months = np.moveaxis(p_months, -1, 0)
    payoff = payoff_table(
        designs,
        DEFAULT_PAYOFF_RATES,
        members=float(members[:, 0].mean()),
        revenue_ratio=ratio,
    )
    expected = expected_indices(inputs)
    return Settled(
        benchmark=benchmark,
        # The spend before truncation: what the settlement saw plus what truncation took off.
        actual_spend=spend if truncated is None else spend + truncated,
        truncated_spend=truncated,
        regional_adjustment=bench_parts[2],
        prior_savings_adjustment=bench_parts[3],
        benchmark_adjustment=bench_parts[4],
        type_benchmark=bench_parts[5],
        type_spend=type_fields[0],
        type_member_months=type_fields[1],
        member_months=mm,
        attributed_members=members,
        risk_score=aggregates[:, py, R.F_RISK_MONTHS] / mm,
        trend_index=np.ascontiguousarray(aggregates[:, py, R.F_TREND_INDEX]),
        # Under the frequency-severity model (1 without contagion), so that a sweep over the
        # contagion has the variable at every point.
        claim_contagion=(
            np.ascontiguousarray(aggregates[:, py, R.F_CONTAGION])
            if scenario.cost.model == "frequency_severity"
            else None
        ),
        reference_index=np.ascontiguousarray(aggregates[:, py, R.F_REF_INDEX]),
        expected_trend_index=expected[0][py],
        expected_reference_index=expected[1][py],
        base_trend_index=np.ascontiguousarray(aggregates[:, :nb, R.F_TREND_INDEX]),
        base_reference_index=np.ascontiguousarray(aggregates[:, :nb, R.F_REF_INDEX]),
        expected_base_trend_index=expected[0][:nb],
        expected_base_reference_index=expected[1][:nb],
        quality_score=quality,
        care_management_cost=cm_cost,
        care_management_savings=cm_saved,
        settlement_benchmark=design_benchmark,
        stop_loss_recovery=recovery,
        stop_loss_premium=premium,
        specific_stop_loss_recovery=None if layers is None else layers[0],
        specific_stop_loss_premium=None if layers is None else layers[1],
        aggregate_stop_loss_recovery=None if layers is None else layers[2],
        aggregate_stop_loss_premium=None if layers is None else layers[3],
        savings=savings,
        steps=steps,
        settlement_estimated=None if timing is None else estimated,
        interim_payment=None if timing is None else interim,
        settlement_pv=None if timing is None else present,
        capitation_advance=None if capitation is None else capitation[0],
        capitated_claims=None if capitation is None else capitation[1],
        capitation_reconciliation=None if capitation is None else capitation[2],
        provider_net=economics["provider_net"],
        provider_costs=economics["provider_costs"],
        forgone_margin=economics["forgone_margin"],
        provider_stop_loss_net=economics["provider_stop_loss_net"],
        participant_spend=p_spend,
        participant_member_months=p_months,
        participant_payout=payout,
        payoff_rates=DEFAULT_PAYOFF_RATES,
        payoff=payoff,
    )
