"""Slow, obviously correct twins of every rule, for tests and documentation only.

Each follows the contract's words one case at a time in plain Python; the fast paths in
:mod:`simsettle.rules` and :mod:`simsettle._kernels` are compared against these on random inputs.
:func:`settle_one_reference` reads the same compiled :class:`~simsettle.rules.terms.Terms` as
the settlement gate, one year at a time; a design kind's own twin (below) computes its
settlement from the model's fields in the program's words, so that a wrong compilation shows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from simsettle.rules.terms import Terms, as_terms, corridor_in_force
from simsettle.scenario.contracts import AnyDesign, EpisodeReconciliation, StopLoss
from simsettle.scenario.schema import Benchmark

__all__ = [
    "benchmark_parts_reference",
    "benchmark_reference",
    "episode_reconciliation_reference",
    "msr_reference",
    "settle_one_reference",
    "settle_reference",
    "stop_loss_premium_reference",
    "stop_loss_recovery_reference",
]


def msr_reference(members: float) -> float:
    """MSSP variable MSR, written out from SPEC-v11 Table 5 band by band."""
    table = [
        (500, 999, 12.2, 8.7),
        (1000, 2999, 8.7, 5.0),
        (3000, 4999, 5.0, 3.9),
        (5000, 5999, 3.9, 3.6),
        (6000, 6999, 3.6, 3.4),
        (7000, 7999, 3.4, 3.2),
        (8000, 8999, 3.2, 3.1),
        (9000, 9999, 3.1, 3.0),
        (10000, 14999, 3.0, 2.7),
        (15000, 19999, 2.7, 2.5),
        (20000, 49999, 2.5, 2.2),
        (50000, 59999, 2.2, 2.0),
    ]
    if members < 500:
        return 0.122
    if members >= 60000:
        return 0.02
    for low, up, at_low, at_up in table:
        if low <= members <= up:
            return (
                at_low * (up - members) / (up - low) + at_up * (members - low) / (up - low)
            ) / 100
        if up < members < up + 1:
            return at_up / 100
    raise AssertionError("unreachable")


def _shared_by_bands(bands: list[tuple[float, float]], start: float, rate: float) -> float:
    """Share of the rate range [start, rate] under bands [(up_to, share), ...]."""
    total = 0.0
    lower = 0.0
    for up_to, share in bands:
        covered_from = max(lower, start)
        covered_to = min(up_to, rate)
        if covered_to > covered_from:
            total += share * (covered_to - covered_from)
        lower = up_to
    return total


def _bands(lo: Any, hi: Any, share: Any) -> list[tuple[float, float]]:
    """Compiled bands as [(up_to, share), ...] (they start at 0 and follow on)."""
    return [(float(h), float(sh)) for h, sh in zip(hi, share, strict=True)]


def _cap(
    fraction: float | None, revenue_fraction: float | None, benchmark: float, revenue: float | None
) -> float:
    """The lower of a cap on the benchmark and a cap on revenue (inf when neither is set)."""
    caps = [math.inf]
    if fraction is not None:
        caps.append(fraction * benchmark)
    if revenue_fraction is not None:
        assert revenue is not None
        caps.append(revenue_fraction * revenue)
    return min(caps)


def settle_one_reference(
    contract: Terms | AnyDesign,
    benchmark: float,
    savings: float,
    *,
    members: float | None = None,
    revenue: float | None = None,
    quality_score: float | None = None,
    met_standard: bool | None = None,
    met_alternative: bool | None = None,
    loss_relief: float | None = None,
) -> float:
    """Settlement of one year (positive = the payer pays the provider), step by step, from the
    design's compiled terms (a design is compiled first)."""
    terms = as_terms(contract)
    # The corridor in force (its one definition; the MSSP table itself is checked against
    # msr_reference separately).
    corridor = terms.corridor
    msr_in_force, mlr_in_force = corridor_in_force(corridor, members)
    msr = float(msr_in_force)
    mlr = float(mlr_in_force)

    # Quality: full rate if the standard is met, else the sliding scale or nothing.
    score = 1.0
    savings_quality = 1.0
    loss_rate_factor = 1.0
    q = terms.quality
    if q is not None:
        score = q.score if quality_score is None else quality_score
        met = score >= q.standard if met_standard is None else met_standard
        alternative = q.scale_below
        if met_alternative is not None:
            alternative = alternative and met_alternative
        if met:
            savings_quality = 1.0
        elif alternative:
            savings_quality = score
        else:
            savings_quality = 0.0
        if q.score_weight != 0.0:
            savings_quality *= (1.0 - q.score_weight) + q.score_weight * score
        if q.loss_rate is not None:
            if met or alternative:
                loss_rate_factor = min(
                    max(1.0 - q.loss_rate.slope * score, q.loss_rate.floor), q.loss_rate.ceiling
                )
            else:
                loss_rate_factor = q.loss_rate.failed

    withheld = 0.0
    if q is not None and q.withhold > 0:
        withheld = q.withhold * benchmark * (1.0 - score)

    rate = savings / benchmark
    result = 0.0
    if savings > 0:
        bands = _bands(terms.sav_lo, terms.sav_hi, terms.sav_share)
        if savings >= msr * benchmark:
            start = 0.0 if terms.first_dollar else msr
            shared = benchmark * _shared_by_bands(bands, start, rate) * savings_quality
        elif (
            corridor.below_msr_share > 0
            and members is not None
            and members >= corridor.below_msr_min_members
        ):
            shared = (
                benchmark
                * _shared_by_bands(bands, 0.0, rate)
                * savings_quality
                * corridor.below_msr_share
            )
        else:
            shared = 0.0
        shared = shared * (1.0 - terms.sequestration)
        cap = _cap(terms.savings_cap, terms.savings_cap_revenue, benchmark, revenue)
        result = min(shared, cap)
    elif savings < 0 and terms.shares_losses:
        loss_rate = -rate
        if -savings >= mlr * benchmark:
            start = 0.0 if terms.first_dollar else mlr
            loss_bands = _bands(terms.loss_lo, terms.loss_hi, terms.loss_share)
            owed = benchmark * _shared_by_bands(loss_bands, start, loss_rate) * loss_rate_factor
            owed = min(owed, _cap(terms.loss_cap, terms.loss_cap_revenue, benchmark, revenue))
            relief = terms.loss_relief if loss_relief is None else loss_relief
            owed = owed * (1.0 - relief)
            result = -owed
    return result - withheld


def settle_reference(
    contract: Terms | AnyDesign, benchmark: npt.ArrayLike, savings: npt.ArrayLike, **facts: Any
) -> npt.NDArray[np.float64]:
    """:func:`settle_one_reference` element by element; ``facts`` broadcast like the inputs."""
    b = np.asarray(benchmark, dtype=np.float64)
    s = np.asarray(savings, dtype=np.float64)
    arrays = {k: np.broadcast_to(np.asarray(v), b.shape) for k, v in facts.items() if v is not None}
    terms = as_terms(contract)
    out = np.empty(b.shape, dtype=np.float64)
    for idx in np.ndindex(b.shape):
        kw = {k: v[idx].item() for k, v in arrays.items()}
        out[idx] = settle_one_reference(terms, float(b[idx]), float(s[idx]), **kw)
    return out


def episode_reconciliation_reference(
    design: EpisodeReconciliation,
    target_price: float,
    spending: float,
    *,
    quality_score: float | None = None,
) -> float:
    """Episode reconciliation of one year in the program's words (positive: CMS pays).

    ``target_price`` is the year's total target before the CMS discount (USD), ``spending``
    the year's episode spending (USD), ``quality_score`` the CQS (0 to 1) when it replaces the
    design's. Written from the model's fields, not from its compiled terms.
    """
    cqs = design.quality_score if quality_score is None else quality_score
    reconciliation_target = target_price * (1.0 - design.discount)
    amount = reconciliation_target - spending
    if amount > 0:
        reduction = design.quality_reduction_gain * (1.0 - cqs)
        adjusted = amount * (1.0 - reduction)
        return min(adjusted, design.stop_gain * reconciliation_target)
    if amount < 0 and design.stop_loss_limit is not None:
        reduction = design.quality_reduction_loss * cqs
        adjusted = amount * (1.0 - reduction)
        return max(adjusted, -design.stop_loss_limit * reconciliation_target)
    return 0.0


def stop_loss_recovery_reference(terms: StopLoss, member_costs: list[float]) -> float:
    """Recovery from a list of member annual costs: (1 - coinsurance) of each excess (up to the
    upper attachment, and (1 - upper_coinsurance) beyond it), summed, times the
    budget-neutrality factor."""
    total = 0.0
    top = terms.upper_attachment
    for cost in member_costs:
        if cost > terms.attachment:
            middle = min(cost, top) if top is not None else cost
            total += (1.0 - terms.coinsurance) * (middle - terms.attachment)
        if top is not None and cost > top:
            total += (1.0 - terms.upper_coinsurance) * (cost - top)
    return total * terms.budget_neutrality_factor


def stop_loss_premium_reference(terms: StopLoss, recoveries: list[float]) -> float:
    """Premium: expected recovery (the average over trials) plus the loading."""
    return (1.0 + terms.premium_loading) * (sum(recoveries) / len(recoveries))


def benchmark_reference(terms: Benchmark, inputs: Any, n_base: int) -> npt.NDArray[np.float64]:
    """Benchmark per trial and performance year, one trial and one year at a time."""
    return benchmark_parts_reference(terms, inputs, n_base)["total"]


def benchmark_parts_reference(
    terms: Benchmark, inputs: Any, n_base: int
) -> dict[str, npt.NDArray[np.float64]]:
    """The benchmark and its adjustments (``total``, ``two_way``, ``regional``,
    ``prior_savings``, ``applied``, and ``by_type`` with enrolment types; see
    :class:`simsettle.rules.benchmark.BenchmarkParts`), one trial, year and type at a time.
    Without types the inputs are one type."""
    s = np.asarray(inputs.spend, dtype=np.float64)
    typed = s.ndim == 3
    mm = np.asarray(inputs.member_months, dtype=np.float64)
    rm = np.asarray(inputs.risk_months, dtype=np.float64)
    dm = None if inputs.demo_risk_months is None else np.asarray(inputs.demo_risk_months)
    if not typed:
        s, mm, rm = s[None], mm[None], rm[None]
        dm = None if dm is None else dm[None]
    n_types, n_trials, n_years = s.shape
    base_pmpm = np.broadcast_to(
        np.asarray(inputs.base_pmpm if inputs.base_pmpm is not None else np.nan, dtype=float),
        (n_types, 1),
    )
    ratios = (
        np.full((n_types, 1), terms.regional_cost_ratio or np.nan)
        if inputs.regional_cost_ratio is None
        else np.broadcast_to(np.asarray(inputs.regional_cost_ratio, dtype=float), (n_types, 1))
    )
    n_perf = n_years - n_base
    length = terms.agreement_years or n_perf
    rebase = list(terms.rebase_weights or terms.weights)
    names = ("total", "two_way", "regional", "prior_savings", "applied")
    out = {name: np.full((n_trials, n_perf), np.nan) for name in names}
    by_type = np.full((n_types, n_trials, n_perf), np.nan)
    g = 1.0 + terms.trend_rate
    mssp_acpt = terms.trend_method == "blend" and terms.acpt_basis == "national"

    for t in range(n_trials):

        def realized(j: int, k: int, t: int = t) -> float:
            r = inputs.reference_index[t, k] / inputs.reference_index[t, j]
            if terms.national_weight > 0:
                national = inputs.national_index[t, k] / inputs.national_index[t, j]
                r = terms.national_weight * national + (1 - terms.national_weight) * r
            return float(r)

        def two_way(j: int, k: int, t: int = t) -> float:
            """The two-way update, its regional part raised past the regional risk cap."""
            r = realized(j, k)
            if terms.regional_risk_growth is None:
                return r
            hcc = (1.0 + terms.regional_risk_growth) ** (k - j)
            demo_growth = (1.0 + terms.regional_demographic_growth) ** (k - j)
            cap = demo_growth + 0.03
            cap += terms.national_weight * max(0.0, hcc - cap)
            if hcc > cap:
                regional_growth = inputs.reference_index[t, k] / inputs.reference_index[t, j]
                r += (1.0 - terms.national_weight) * regional_growth * (hcc / cap - 1.0)
            return float(r)

        def trend(j: int, k: int) -> float:
            negotiated = g ** (k - j)
            if terms.trend_method == "negotiated":
                return negotiated
            if terms.trend_method == "realized" or mssp_acpt:
                return realized(j, k)
            if terms.trend_method == "retrospective":
                r = realized(j, k)
                return (
                    r if abs(r / negotiated - 1.0) > terms.retrospective_threshold else negotiated
                )
            return terms.acpt_weight * negotiated + (1 - terms.acpt_weight) * realized(j, k)

        def national_year(c: int, y: int, t: int = t) -> float:
            """Type ``c``'s national per-capita expenditure, USD per person-year."""
            return float(
                12.0 * terms.national_cost_ratio * base_pmpm[c, 0] * inputs.national_index[t, y]
            )

        risk = [[1.0] * n_years for _ in range(n_types)]
        demo = [[1.0] * n_years for _ in range(n_types)]
        for c in range(n_types):
            for y in range(n_years):
                if dm is not None:
                    demo[c][y] = dm[c, t, y] / mm[c, t, y]
                if not terms.risk_adjustment:
                    risk[c][y] = 1.0
                elif terms.risk_model == "demographic":
                    risk[c][y] = demo[c][y]
                else:
                    coded = (1 + terms.coding_intensity) ** y / (1 + terms.normalization) ** y
                    if terms.v28_change is not None and not terms.rescore_base_years:
                        year = inputs.first_year + y
                        v28 = 0.0 if year < 2024 else {2024: 1 / 3, 2025: 2 / 3}.get(year, 1.0)
                        coded *= 1.0 + terms.v28_change * v28
                    risk[c][y] = rm[c, t, y] / mm[c, t, y] * coded
        for p in range(n_perf):
            period = p // length
            if period == 0:
                start = n_base
                years = list(range(n_base))
                weights = list(terms.weights)
            else:
                start = n_base + period * length
                years = list(range(start - len(rebase), start))
                weights = rebase
            last = years[-1]
            months_last = sum(mm[c, t, last] for c in range(n_types))
            share = [mm[c, t, last] / months_last for c in range(n_types)]
            hist = []
            for c in range(n_types):
                h = 0.0
                for b, w in zip(years, weights, strict=True):
                    pmpm = s[c, t, b] / mm[c, t, b] * risk[c][last] / risk[c][b]
                    h += w * pmpm * trend(b, last)
                hist.append(h)
            # The regional adjustment of each type (USD per person-year), and its single value.
            regional_t = [math.nan] * n_types
            regional = math.nan
            if terms.regional_cost_ratio is not None:
                costs = [
                    ratios[c, 0] * base_pmpm[c, 0] * inputs.reference_index[t, last] * risk[c][last]
                    for c in range(n_types)
                ]
                # The ACO is lower- or higher-spending on its types' gaps, weighted by their
                # months; its risk score for the offset is weighted by benchmark dollars.
                gap = sum(share[c] * (costs[c] - hist[c]) for c in range(n_types))
                dollars = [hist[c] * mm[c, t, last] for c in range(n_types)]
                aco_risk = sum(dollars[c] * risk[c][last] for c in range(n_types)) / sum(dollars)
                lower, higher = terms.regional_weight_lower, terms.regional_weight_higher
                if terms.regional_agreement is not None:
                    n = min(terms.regional_agreement + period, 4)
                    lower, higher = {1: (0.35, 0.15), 2: (0.5, 0.25), 3: (0.5, 0.35)}.get(
                        n, (0.5, 0.5)
                    )
                weight = lower if gap > 0 else higher
                for c in range(n_types):
                    basis = 12.0 * costs[c]
                    if terms.regional_cap_basis == "national":
                        basis = national_year(c, last)
                    up = terms.regional_cap * basis
                    down = terms.regional_cap * basis
                    if terms.regional_negative_cap is not None:
                        down = terms.regional_negative_cap * basis
                    r = min(max(12.0 * weight * (costs[c] - hist[c]), -down), up)
                    if r < 0 and terms.regional_offset_dual_share is not None:
                        offset = terms.regional_offset_dual_share + aco_risk - 1.0
                        r *= 1.0 - min(max(offset, 0.0), 1.0)
                    regional_t[c] = r
                regional = sum(share[c] * regional_t[c] for c in range(n_types))
            # The prior savings adjustment (USD per person-year): the ACO's.
            prior = math.nan
            ps = terms.prior_savings
            if ps is not None:
                history = list(ps.savings or ())
                yearly = []
                for j in (start - 3, start - 2, start - 1):
                    if j >= n_base:
                        saved = sum(by_type[c, t, j - n_base] - s[c, t, j] for c in range(n_types))
                        months = sum(mm[c, t, j] for c in range(n_types))
                        yearly.append(saved / (months / 12.0))
                    elif len(history) - (n_base - j) >= 0:
                        yearly.append(ps.proration * history[len(history) - (n_base - j)])
                    else:
                        yearly.append(0.0)
                first_without = start == n_base and not history
                average = sum(yearly) / 3.0
                national = sum(share[c] * national_year(c, last) for c in range(n_types))
                if not first_without and average > 0:
                    prior = min(ps.scaling * average, ps.cap * national)
            # The choice (42 CFR 425.652(a)(8)), then each type's amount.
            tie = 1e-9 * max(abs(regional), 1.0) if not math.isnan(regional) else 0.0
            if not math.isnan(prior) and (math.isnan(regional) or prior > regional + tie):
                per_type = [prior] * n_types
            elif math.isnan(regional) or (terms.regional_negative == "dropped" and regional <= 0):
                per_type = [0.0] * n_types
            else:
                per_type = list(regional_t)
            applied = sum(share[c] * per_type[c] for c in range(n_types))
            hist = [hist[c] + per_type[c] / 12.0 for c in range(n_types)]
            y = n_base + p
            ratio = [risk[c][y] / risk[c][last] for c in range(n_types)]
            if terms.risk_cap_demographic and terms.risk_adjustment:
                weight_y = [hist[c] * mm[c, t, y] for c in range(n_types)]
                total_w = sum(weight_y)
                cap = (
                    terms.risk_ratio_cap_up
                    + sum(weight_y[c] * demo[c][y] / demo[c][last] for c in range(n_types))
                    / total_w
                )
                aggregate = sum(weight_y[c] * ratio[c] for c in range(n_types)) / total_w
                if aggregate > cap:
                    ratio = [min(r, cap) for r in ratio]
            elif terms.risk_ratio_cap_up is not None:
                ratio = [min(r, 1 + terms.risk_ratio_cap_up) for r in ratio]
            if terms.risk_ratio_cap_down is not None:
                ratio = [max(r, 1 - terms.risk_ratio_cap_down) for r in ratio]
            if terms.coding_intensity_cap is not None and terms.risk_model == "hcc":
                coding = (1 + terms.coding_intensity) ** (y - last) / (1 + terms.normalization) ** (
                    y - last
                )
                factor = min(max(coding, 1.0), 1.0 + terms.coding_intensity_cap)
                ratio = [r / factor for r in ratio]
            total = two_way_total = 0.0
            for c in range(n_types):
                if mssp_acpt:
                    rate = terms.trend_rate
                    if terms.acpt_band is not None:
                        k = y - last
                        nat_rate = (
                            inputs.national_index[t, y] / inputs.national_index[t, last]
                        ) ** (1.0 / k) - 1.0
                        low, high = nat_rate - terms.acpt_band[0], nat_rate + terms.acpt_band[1]
                        rate = min(max(rate, low), high)
                    growth = (1.0 + rate) ** (y - last) - 1.0
                    flat = national_year(c, last) / 12.0 * risk[c][last] * growth
                    acpt = 1.0 + flat / hist[c] if hist[c] > 0 else 1.0
                    update = terms.acpt_weight * acpt + (1 - terms.acpt_weight) * two_way(last, y)
                else:
                    update = trend(last, y)
                by_type[c, t, p] = hist[c] * update * ratio[c] * mm[c, t, y]
                total += by_type[c, t, p]
                if terms.acpt_guardrail:
                    two_way_total += hist[c] * two_way(last, y) * ratio[c] * mm[c, t, y]
            out["total"][t, p] = total
            if terms.acpt_guardrail:
                out["two_way"][t, p] = two_way_total
            out["regional"][t, p] = regional
            out["prior_savings"][t, p] = prior
            out["applied"][t, p] = applied
    if typed:
        out["by_type"] = by_type
    return out
