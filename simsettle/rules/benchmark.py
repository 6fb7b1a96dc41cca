"""The benchmark: risk-restated base years, weighted, trended, risk-adjusted, and rebased.

For performance year ``p`` of agreement period ``k`` (``k = p // agreement_years``), the base
years are the first ``len(weights)`` simulated years for ``k = 0`` and, at each renewal, the
``len(rebase_weights)`` years just before the period starts -- performance years of the previous
period, so savings earned there lower the rebased benchmark (the ratchet). Then::

    risk_y      = reported mean risk score of year y (member-month weighted): the HCC-like or the
                  demographic score, times (1 + coding)^y / (1 + normalization)^y
    restated_b  = (spend_b / mm_b) x risk_L / risk_b           (L: the last base year)
    hist        = sum_b w_b x restated_b x T(b -> L)
    hist       += regional adjustment (optional; see below)
    ratio       = risk_y / risk_L, capped at 1 + cap_up and 1 - cap_down
    benchmark_y = hist x T(L -> y) x ratio x mm_y

``T(j -> t)`` is the trend factor: ``(1 + trend_rate)^(t - j)`` (negotiated), the reference
population's ``index_t / index_j`` blended with the national population's by ``national_weight``
(realized), ``acpt_weight`` of the first plus the rest of the second (blend), or the first
replaced by the second where they differ by more than ``retrospective_threshold`` of the first
(retrospective: ACO REACH's retrospective trend adjustment). MSSP's rules for agreement periods
from 2024 (the prior savings adjustment, the caps and offset of the regional adjustment, the
flat-dollar ACPT and its guardrail, the demographic risk cap) are in :func:`benchmark_parts`.
The regional efficiency adjustment moves ``hist`` towards the risk-adjusted regional cost
``regional_cost_ratio x pmpm_0 x index_L x risk_L`` by ``regional_weight_lower`` (provider below
its region) or ``regional_weight_higher``, capped at ``regional_cap`` of the regional cost (or of
national per-capita expenditure). ACO REACH's historical/regional blend is the same adjustment
with equal weights and an upward ceiling. Without risk adjustment every risk ratio is 1.

A fixed target (``method: fixed``) reads no base year. For performance year ``p`` (0-based)::

    benchmark_y = pmpm x mm_y x (1 + trend_rate)^p x ratio      (or total x (1 + trend_rate)^p)
    ratio       = risk_y / target_risk_score, within the caps   (1 without risk adjustment)

Numerical safety: spend must be finite and non-negative, member months and risk positive
(a year without attributed members has no cost per member month), the indices positive; the
first bad element is named. The historical cost is a weighted sum of at most 10 base years, so
its float64 rounding is below ``11 x eps`` relative; a benchmark that is negative or not
finite is refused naming the trial and year (zero, from base years without spend, is kept: the
settlement gate refuses it for a design that settles on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simsettle.rules._checks import first_bad, require_finite, show
from simsettle.scenario.schema import MSSP_REGIONAL_WEIGHTS, Benchmark

__all__ = [
    "ADJUSTMENT_KINDS",
    "CMS_HCC_V28_SHARE",
    "BenchmarkInputs",
    "BenchmarkParts",
    "benchmark_parts",
    "build_benchmark",
    "choose_adjustment",
    "fixed_benchmark",
    "trend_factor",
    "v28_share",
]

F8 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class BenchmarkInputs:
    """Per (trial, simulated year) arrays, base years first, and the cost level of year 0.

    ``risk_months`` holds the full (HCC-like) risk score x member months, ``demo_risk_months``
    the demographic score's; ``reference_index`` is the reference population's cost index;
    ``base_pmpm`` the expected cost per member month of a risk-1 member in year 0 (USD).

    With enrolment types the member fields are (type, trial, year), each type's benchmark is
    built on its own and the types are combined as CMS does (:func:`benchmark_parts`); the
    indices stay (trial, year), ``base_pmpm`` is then each type's cost level, shape (type, 1),
    and ``regional_cost_ratio`` (type, 1) may give each type its own regional cost.
    """

    spend: F8
    member_months: F8
    risk_months: F8
    demo_risk_months: F8 | None = None
    reference_index: F8 | None = None
    base_pmpm: float | F8 | None = None
    national_index: F8 | None = None
    regional_cost_ratio: F8 | None = None
    #: The calendar year of simulated year 0 (for the CMS-HCC blend by year).
    first_year: int | None = None


def trend_factor(
    terms: Benchmark, reference: F8 | None, j: int, t: int, national: F8 | None = None
) -> F8 | float:
    """Trend from simulated year ``j`` to year ``t`` (per trial when realized).

    The realized trend is the regional reference's, blended with the national population's by
    ``national_weight``.
    """
    negotiated = (1.0 + terms.trend_rate) ** (t - j)
    if terms.trend_method == "negotiated":
        return negotiated
    if reference is None:
        raise ValueError(f"trend_method {terms.trend_method!r} needs the reference index")
    realized: F8 = reference[:, t] / reference[:, j]
    if terms.national_weight > 0.0:
        if national is None:
            raise ValueError("a national_weight needs the national index")
        w_nat = terms.national_weight
        realized = w_nat * (national[:, t] / national[:, j]) + (1.0 - w_nat) * realized
    if terms.trend_method == "realized":
        return realized
    if terms.trend_method == "retrospective":
        # The prospective trend, replaced by the realized one beyond the threshold.
        beyond = np.abs(realized / negotiated - 1.0) > terms.retrospective_threshold
        corrected: F8 = np.where(beyond, realized, negotiated)
        return corrected
    w = terms.acpt_weight
    blended: F8 = w * negotiated + (1.0 - w) * realized
    return blended


def _reported_risk(terms: Benchmark, inputs: BenchmarkInputs) -> F8:
    mm = inputs.member_months
    if terms.risk_model == "demographic":
        if inputs.demo_risk_months is None:
            raise ValueError("risk_model 'demographic' needs demographic risk months")
        return inputs.demo_risk_months / mm
    years = np.arange(mm.shape[-1], dtype=np.float64)
    drift = (1.0 + terms.coding_intensity) ** years / (1.0 + terms.normalization) ** years
    if terms.v28_change is not None and not terms.rescore_base_years:
        # Each year's scores on that year's CMS-HCC blend: V28's share of the change.
        if inputs.first_year is None:
            raise ValueError("the CMS-HCC blend by year needs the calendar year of year 0")
        drift = drift * np.array(
            [1.0 + terms.v28_change * v28_share(inputs.first_year + y) for y in range(len(years))]
        )
    reported: F8 = inputs.risk_months / mm * drift
    return reported


#: V28's share of the CMS-HCC model blend by payment year (CY2024 MA rate announcement, as the
#: CY2024 PFS final rule quotes it for MSSP: 33% in 2024, 67% in 2025, all from 2026) [V].
CMS_HCC_V28_SHARE: dict[int, float] = {2024: 1.0 / 3.0, 2025: 2.0 / 3.0}


def v28_share(year: int) -> float:
    """V28's share of the CMS-HCC blend in calendar year ``year`` (0 before 2024, 1 from
    2026)."""
    if year < 2024:
        return 0.0
    return CMS_HCC_V28_SHARE.get(year, 1.0)


def _periods(terms: Benchmark, n_base: int, n_perf: int) -> list[tuple[list[int], list[float]]]:
    """Base years and weights of each performance year, by its agreement period."""
    length = terms.agreement_years or n_perf
    rebase = terms.rebase_weights if terms.rebase_weights is not None else terms.weights
    out = []
    for p in range(n_perf):
        k = p // length
        if k == 0:
            out.append((list(range(n_base)), list(terms.weights)))
        else:
            start = n_base + k * length
            years = list(range(start - len(rebase), start))
            if years[0] < 0:
                raise ValueError(
                    f"rebasing needs {len(rebase)} years before year {start}; only {start} exist"
                )
            out.append((years, list(rebase)))
    return out


def _capped(terms: Benchmark, ratio: F8) -> F8:
    """The risk ratio within the benchmark's caps."""
    if terms.risk_ratio_cap_up is not None:
        ratio = np.minimum(ratio, 1.0 + terms.risk_ratio_cap_up)
    if terms.risk_ratio_cap_down is not None:
        ratio = np.maximum(ratio, 1.0 - terms.risk_ratio_cap_down)
    return ratio


def fixed_benchmark(terms: Benchmark, inputs: BenchmarkInputs, n_base: int) -> F8:
    """A fixed, negotiated target (USD) per trial and performance year: the simulated years
    after the first ``n_base`` (unused base years, simulated for another line of a portfolio)."""
    if terms.method != "fixed":
        raise ValueError(f"a fixed target needs method 'fixed', got {terms.method!r}")
    mm = np.asarray(inputs.member_months, dtype=np.float64)
    if mm.ndim != 2 or not 0 <= n_base < mm.shape[1]:
        raise ValueError(
            f"member_months must be 2-d with a performance year after {n_base} base years; "
            f"got {mm.shape}"
        )
    require_finite(mm, "member months")
    if np.any(mm < 0):
        raise ValueError(f"member months must be >= 0; {first_bad(mm, mm < 0)}")
    n_perf = mm.shape[1] - n_base
    growth = (1.0 + terms.trend_rate) ** np.arange(n_perf, dtype=np.float64)
    if terms.pmpm is not None:
        out: F8 = terms.pmpm * mm[:, n_base:] * growth
    else:
        assert terms.total is not None
        out = np.broadcast_to(terms.total * growth, (mm.shape[0], n_perf)).copy()
    if terms.risk_adjustment:
        py = mm[:, n_base:]
        if not np.all(py > 0):
            trial, year = np.unravel_index(int(np.argmax(~(py > 0))), py.shape)
            raise ValueError(
                f"a risk-adjusted target needs positive member months; trial {int(trial)}, "
                f"performance year {int(year)} has {show(py[trial, year])}"
            )
        # Coding drifts from the first performance year: sliced before the reported score.
        sliced = BenchmarkInputs(
            spend=inputs.spend[:, n_base:],
            member_months=py,
            risk_months=inputs.risk_months[:, n_base:],
            demo_risk_months=(
                None if inputs.demo_risk_months is None else inputs.demo_risk_months[:, n_base:]
            ),
        )
        risk = _reported_risk(terms, sliced)
        require_finite(risk, "reported risk score", positive=True)
        out = out * _capped(terms, risk / terms.target_risk_score)
    return out


def build_benchmark(terms: Benchmark, inputs: BenchmarkInputs, n_base: int) -> F8:
    """Total benchmark (USD) per trial and performance year; see the module docstring."""
    if terms.method == "fixed":
        return fixed_benchmark(terms, inputs, n_base)
    return benchmark_parts(terms, inputs, n_base).total


@dataclass(frozen=True)
class BenchmarkParts:
    """The benchmark and how it was adjusted, per trial and performance year.

    ``total`` and ``two_way`` are USD (``two_way``: updated by the realized trend alone, for the
    ACPT guardrail; None without it). The adjustments are USD per person-year (12 member
    months) of the last base year's cost level: ``regional`` the regional adjustment as
    computed (NaN without one), ``prior_savings`` the prior savings adjustment (NaN where the
    ACO is not eligible or none is defined), ``applied`` the one added to the historical
    benchmark.
    """

    total: F8
    two_way: F8 | None
    regional: F8
    prior_savings: F8
    applied: F8
    by_type: F8 | None = None
    """Each enrolment type's benchmark (type, trial, performance year) USD, with types."""


def benchmark_parts(terms: Benchmark, inputs: BenchmarkInputs, n_base: int) -> BenchmarkParts:
    """The historical benchmark and its parts (see :class:`BenchmarkParts`).

    With enrolment types (member fields of shape (type, trial, year)) each type's historical
    benchmark, regional adjustment, update and risk ratio are its own; across types, as CMS
    combines them (42 CFR 425.652(a)(8), 425.656(d), 425.605(a)(1)(ii)):

    * the regional adjustment is chosen on its single value, the types' weighted by their
      member months in the last base year; chosen, each type gets its own amount;
    * the prior savings adjustment is the ACO's (its total savings per person-year), its cap the
      types' national expenditure weighted alike, and it is added to every type alike;
    * the demographic risk cap compares the types' risk ratios weighted by each type's
      historical benchmark times its performance-year member months; past the cap, each type's
      ratio is cut to it;
    * the benchmark is the sum of the types'.

    ``total`` and ``two_way`` are then the ACO's; the adjustments the single values.
    """
    s = np.asarray(inputs.spend, dtype=np.float64)
    mm = np.asarray(inputs.member_months, dtype=np.float64)
    if s.ndim not in (2, 3) or s.shape != mm.shape or s.shape != inputs.risk_months.shape:
        raise ValueError(
            f"spend, member_months and risk_months must be equal 2-d (trial, year) or 3-d "
            f"(type, trial, year) arrays; got {s.shape}, {mm.shape}, {inputs.risk_months.shape}"
        )
    if n_base != terms.base_years or s.shape[-1] <= n_base:
        raise ValueError(
            f"need {terms.base_years} base years and at least one performance year; got "
            f"{s.shape[-1]} years with {n_base} base years"
        )

    def at(index: tuple[Any, ...], year: str) -> str:
        """'trial 1, simulated year 2', with its enrolment type first where there are types."""
        names = ("enrolment type", "trial", year)[-len(index) :]
        return ", ".join(f"{n} {int(i)}" for n, i in zip(names, index, strict=True))

    if not np.all(mm > 0):
        bad = np.unravel_index(int(np.argmax(~(mm > 0))), mm.shape)
        raise ValueError(
            f"every simulated year needs positive member months; {at(bad, 'simulated year')} "
            f"has {show(mm[bad])} (no member attributed: a population too small for its "
            "attribution?)"
        )
    require_finite(mm, "member months")
    good = np.isfinite(s) & (s >= 0)
    if not np.all(good):
        raise ValueError(f"spend must be finite and non-negative; {first_bad(s, ~good)}")
    # Each input this benchmark divides by must be positive; the others finite.
    adjusted = terms.risk_adjustment
    national = _uses_national(terms)
    realized = terms.trend_method != "negotiated" or terms.regional_cost_ratio is not None
    demographic = adjusted and (terms.risk_model == "demographic" or terms.risk_cap_demographic)
    for what, extra, divides in (
        ("risk months", inputs.risk_months, adjusted and terms.risk_model == "hcc"),
        ("demographic risk months", inputs.demo_risk_months, demographic),
        ("reference index", inputs.reference_index, realized),
        (
            "national index",
            inputs.national_index,
            (realized and terms.national_weight > 0) or national,
        ),
    ):
        if extra is not None:
            require_finite(np.asarray(extra, dtype=np.float64), what, positive=divides)
    if demographic and inputs.demo_risk_months is None:
        raise ValueError("the demographic risk cap needs demographic risk months")
    if national and (inputs.base_pmpm is None or inputs.national_index is None):
        raise ValueError(
            "national per-capita expenditure (national caps, prior savings, a national ACPT) "
            "needs base_pmpm and the national index"
        )
    ref = inputs.reference_index
    nat = inputs.national_index
    risk = _reported_risk(terms, inputs) if terms.risk_adjustment else np.ones_like(s)
    demo = None if not demographic else np.asarray(inputs.demo_risk_months) / mm
    pmpm = s / mm
    lead = s.shape[:-1]  # (trial,) or (type, trial)
    n_trials = s.shape[-2]
    n_perf = s.shape[-1] - n_base
    out = np.empty((*lead, n_perf))
    two_way = np.empty((*lead, n_perf)) if terms.acpt_guardrail else None
    parts = [np.full((n_trials, n_perf), np.nan) for _ in range(3)]
    length = terms.agreement_years or n_perf
    cache: dict[tuple[int, ...], tuple[F8, F8, F8, F8]] = {}
    for p, (years, weights) in enumerate(_periods(terms, n_base, n_perf)):
        last = years[-1]
        key = tuple(years)
        if key not in cache:
            hist = np.zeros(lead)
            for b, w in zip(years, weights, strict=True):
                restated = pmpm[..., b] * (risk[..., last] / risk[..., b])
                hist = hist + restated * (w * _base_trend(terms, ref, b, last, nat))
            cache[key] = _adjusted(
                terms, inputs, hist, risk[..., last], last, p // length, out, s, mm, n_base
            )
        hist, regional, prior, applied = cache[key]
        parts[0][:, p], parts[1][:, p], parts[2][:, p] = regional, prior, applied
        y = n_base + p
        ratio = _risk_ratio(terms, risk, demo, last, y, hist * mm[..., y])
        update = _update(terms, inputs, hist, risk[..., last], last, y)
        out[..., p] = hist * update * ratio * mm[..., y]
        if two_way is not None:
            two_way[..., p] = hist * _two_way(ref, nat, terms, last, y) * ratio * mm[..., y]
    # Zero is a benchmark (a population with no spend in any base year); a design settles on it
    # only through the settlement gate, which needs it positive (a capitation budget does not).
    good = np.isfinite(out) & (out >= 0)
    if not np.all(good):
        bad = np.unravel_index(int(np.argmax(~good)), out.shape)
        raise ValueError(
            f"the benchmark of {at(bad, 'performance year')} is {show(out[bad])}; it must be "
            "finite and not negative (a negative spend or index in the base years?)"
        )
    if s.ndim == 3:
        total = out.sum(axis=0)
        summed = None if two_way is None else two_way.sum(axis=0)
        return BenchmarkParts(total, summed, parts[0], parts[1], parts[2], by_type=out)
    return BenchmarkParts(out, two_way, parts[0], parts[1], parts[2])


def _uses_national(terms: Benchmark) -> bool:
    """Whether the benchmark reads national per-capita expenditure."""
    regional = terms.regional_cost_ratio is not None and terms.regional_cap_basis == "national"
    return regional or terms.prior_savings is not None or terms.acpt_basis == "national"


def _national_pmpm(inputs: BenchmarkInputs, terms: Benchmark, year: int) -> F8:
    """National per-capita expenditure of year ``year`` (USD per member per month)."""
    assert inputs.base_pmpm is not None
    assert inputs.national_index is not None
    out: F8 = terms.national_cost_ratio * inputs.base_pmpm * inputs.national_index[:, year]
    return out


def _realized(ref: F8 | None, nat: F8 | None, terms: Benchmark, j: int, t: int) -> F8 | float:
    """The realized (national-regional) trend from year ``j`` to ``t``."""
    realized = replace_trend(terms, "realized")
    return trend_factor(realized, ref, j, t, nat)


#: The allowance over regional demographic growth before regional risk-score growth is capped
#: (42 CFR 425.655(e)(1): 3 percentage points).
REGIONAL_RISK_ALLOWANCE = 0.03


def _two_way(ref: F8 | None, nat: F8 | None, terms: Benchmark, j: int, t: int) -> F8 | float:
    """The two-way (national-regional) update from year ``j`` to ``t``, its regional part
    raised where regional risk-score growth exceeds its cap (42 CFR 425.655): the cap is
    regional demographic growth plus 3 points, plus the ACO's market share (``national_weight``)
    of the growth beyond that; past it, the regional growth is multiplied by risk growth over
    the cap."""
    base = _realized(ref, nat, terms, j, t)
    if terms.regional_risk_growth is None:
        return base
    assert ref is not None
    k = t - j
    hcc = (1.0 + terms.regional_risk_growth) ** k
    demo = (1.0 + terms.regional_demographic_growth) ** k
    share = terms.national_weight
    cap = demo + REGIONAL_RISK_ALLOWANCE
    cap += share * max(0.0, hcc - cap)
    if hcc <= cap:
        return base
    raised: F8 = base + (1.0 - share) * (ref[:, t] / ref[:, j]) * (hcc / cap - 1.0)
    return raised


def replace_trend(terms: Benchmark, method: str) -> Benchmark:
    """``terms`` with another ``trend_method`` (validation skipped: only the trend is read)."""
    return terms.model_copy(update={"trend_method": method})


def _base_trend(terms: Benchmark, ref: F8 | None, j: int, t: int, nat: F8 | None) -> F8 | float:
    """Trend of base year ``j`` to the last base year ``t``: with MSSP's national ACPT the
    realized trend alone (the ACPT updates the benchmark after the last base year)."""
    if terms.trend_method == "blend" and terms.acpt_basis == "national":
        return _realized(ref, nat, terms, j, t)
    return trend_factor(terms, ref, j, t, nat)


def _update(
    terms: Benchmark, inputs: BenchmarkInputs, hist: F8, risk_last: F8, last: int, y: int
) -> F8 | float:
    """The update from the last base year to performance year ``y``."""
    ref, nat = inputs.reference_index, inputs.national_index
    if not (terms.trend_method == "blend" and terms.acpt_basis == "national"):
        return trend_factor(terms, ref, last, y, nat)
    # The ACPT: a flat, risk-adjusted dollar amount of national growth, as a ratio to the
    # historical benchmark (42 CFR 425.652(b)(3)); a zero benchmark gets none.
    k = y - last
    growth: F8 | float = (1.0 + terms.trend_rate) ** k - 1.0
    if terms.acpt_band is not None:
        # The CY2027 proposal: the ACPT's annual rate within the realized national growth
        # less `below` and plus `above` (percentage points).
        assert nat is not None
        below, above = terms.acpt_band
        national_rate = (nat[:, y] / nat[:, last]) ** (1.0 / k) - 1.0
        rate = np.clip(terms.trend_rate, national_rate - below, national_rate + above)
        growth = (1.0 + rate) ** k - 1.0
    flat = _national_pmpm(inputs, terms, last) * risk_last * growth
    acpt = 1.0 + np.divide(flat, hist, out=np.zeros_like(hist), where=hist > 0.0)
    w = terms.acpt_weight
    blended: F8 = w * acpt + (1.0 - w) * _two_way(ref, nat, terms, last, y)
    return blended


def _risk_ratio(terms: Benchmark, risk: F8, demo: F8 | None, last: int, y: int, weight: F8) -> F8:
    """The risk ratio of performance year ``y`` within its caps: with the demographic cap,
    growth beyond the demographic ratio plus ``risk_ratio_cap_up`` is cut (425.605(a)(1)(ii)).
    With enrolment types the cap is the types' demographic ratios, weighted by ``weight`` (each
    type's historical benchmark times its member months), plus the allowance, and applies only
    where the types' weighted risk ratio exceeds it. After the caps, ACO REACH's coding
    intensity factor (``coding_intensity_cap``)."""
    ratio = _caps(terms, risk, demo, last, y, weight)
    if terms.coding_intensity_cap is not None and terms.risk_model == "hcc":
        # ACO REACH's coding intensity factor: the reported scores' coding growth since the
        # last base year (beyond normalization) is taken out, up to the cap.
        coding = ((1.0 + terms.coding_intensity) / (1.0 + terms.normalization)) ** (y - last)
        ratio = ratio / min(max(coding, 1.0), 1.0 + terms.coding_intensity_cap)
    return ratio


def _caps(terms: Benchmark, risk: F8, demo: F8 | None, last: int, y: int, weight: F8) -> F8:
    """The risk ratio of performance year ``y`` within its caps (see :func:`_risk_ratio`)."""
    ratio = risk[..., y] / risk[..., last]
    if terms.risk_cap_demographic and terms.risk_adjustment:
        assert demo is not None
        assert terms.risk_ratio_cap_up is not None
        demo_ratio = demo[..., y] / demo[..., last]
        if ratio.ndim == 2:  # (type, trial): the ACO's aggregate growth decides
            total = weight.sum(axis=0)
            cap = (weight * demo_ratio).sum(axis=0) / total + terms.risk_ratio_cap_up
            over = (weight * ratio).sum(axis=0) / total > cap
            ratio = np.where(over, np.minimum(ratio, cap), ratio)
        else:
            ratio = np.minimum(ratio, demo_ratio + terms.risk_ratio_cap_up)
        if terms.risk_ratio_cap_down is not None:
            ratio = np.maximum(ratio, 1.0 - terms.risk_ratio_cap_down)
        return ratio
    return _capped(terms, ratio)


def _adjusted(
    terms: Benchmark,
    inputs: BenchmarkInputs,
    hist: F8,
    risk_last: F8,
    last: int,
    period: int,
    out: F8,
    spend: F8,
    mm: F8,
    n_base: int,
) -> tuple[F8, F8, F8, F8]:
    """The historical benchmark (PMPM, per type with types) with its regional or prior savings
    adjustment, and the regional adjustment, the prior savings adjustment and the one applied
    (USD per person-year, single values across types; NaN: none defined, or not eligible)."""
    n = hist.shape[-1]
    typed = hist.ndim == 2
    # The types' weights for the single values: their member months in the last base year.
    w = mm[..., last] / mm[..., last].sum(axis=0) if typed else None
    regional_t: F8 = np.full(hist.shape, np.nan)
    regional: F8 = np.full(n, np.nan)
    if terms.regional_cost_ratio is not None:
        regional_t = 12.0 * _regional_adjustment(
            terms, inputs, hist, risk_last, last, period, mm[..., last] if typed else None
        )
        regional = np.asarray((w * regional_t).sum(axis=0)) if w is not None else regional_t
    prior = np.full(n, np.nan)
    if terms.prior_savings is not None:
        prior = _prior_savings(terms, inputs, last, period, out, spend, mm, n_base, w)
    applied, kind = choose_adjustment(
        regional, prior, drop_negative=terms.regional_negative == "dropped"
    )
    if typed:
        # Chosen, the regional adjustment is each type's own (a negative one included); the
        # prior savings adjustment is the same for every type.
        per_type = np.where(kind == 1, regional_t, np.where(kind == 2, prior, 0.0))
        applied = (w * per_type).sum(axis=0)
        return hist + per_type / 12.0, regional, prior, applied
    return hist + applied / 12.0, regional, prior, applied


#: The kinds of benchmark adjustment :func:`choose_adjustment` tells apart, by code.
ADJUSTMENT_KINDS: tuple[str, ...] = ("none", "regional", "prior_savings")


def choose_adjustment(
    regional: npt.ArrayLike, prior: npt.ArrayLike, *, drop_negative: bool
) -> tuple[F8, npt.NDArray[np.int8]]:
    """The adjustment added to the historical benchmark and its kind (a code into
    :data:`ADJUSTMENT_KINDS`), elementwise.

    ``regional`` is the regional adjustment (NaN: none), ``prior`` the prior savings adjustment
    (NaN: the ACO is not eligible). An eligible ACO gets the higher of the two, the prior
    savings adjustment where the regional one is negative, zero or absent (42 CFR 425.652(a)(8)
    (iv)-(v)), the regional one at a tie; otherwise the regional adjustment, or none where it
    is not positive and ``drop_negative`` (425.652(a)(8)(iii), agreement periods from 2024).
    """
    r = np.asarray(regional, dtype=np.float64)
    p = np.asarray(prior, dtype=np.float64)
    has_regional = ~np.isnan(r)
    base = np.where(has_regional, r, 0.0)
    kind = np.where(has_regional, 1, 0).astype(np.int8)
    if drop_negative:
        kind = np.where(base > 0.0, kind, 0).astype(np.int8)
        base = np.maximum(base, 0.0)
    # A tie (within rounding: both capped at 5% of national expenditure, say) keeps the
    # regional adjustment, whose amounts differ by enrolment type.
    tie = 1e-9 * np.maximum(np.abs(np.nan_to_num(r)), 1.0)
    prior_wins = ~np.isnan(p) & (~has_regional | (p > r + tie))
    applied: F8 = np.where(prior_wins, p, base)
    return applied, np.where(prior_wins, 2, kind).astype(np.int8)


def _prior_savings(
    terms: Benchmark,
    inputs: BenchmarkInputs,
    last: int,
    period: int,
    out: F8,
    spend: F8,
    mm: F8,
    n_base: int,
    weights: F8 | None = None,
) -> F8:
    """The prior savings adjustment (USD per person-year), NaN where the ACO is not eligible:
    the three years before the agreement, simulated performance years where there are, else
    the given history (or zero: not reconciled). With enrolment types the savings are the
    ACO's (the types summed) and the cap's national expenditure is the types' weighted by
    ``weights``."""
    ps = terms.prior_savings
    assert ps is not None
    start = n_base if period == 0 else n_base + period * (terms.agreement_years or 0)
    history = list(ps.savings or ())
    typed = out.ndim == 3
    n = out.shape[-2]
    total = np.zeros(n)
    given = False
    for j in range(start - 3, start):
        if j >= n_base:
            p = j - n_base
            saved, months = out[..., p] - spend[..., j], mm[..., j]
            if typed:
                saved, months = saved.sum(axis=0), months.sum(axis=0)
            total = total + saved / (months / 12.0)
        else:
            k = len(history) - (n_base - j)
            if k >= 0:
                total = total + ps.proration * history[k]
                given = True
    if start == n_base and not given:
        return np.full(n, np.nan)  # a first agreement: no prior performance years
    average = total / 3.0
    national: F8 = _national_pmpm(inputs, terms, last)
    if weights is not None:
        national = np.asarray((weights * national).sum(axis=0), dtype=np.float64)
    cap = ps.cap * 12.0 * national
    psa: F8 = np.where(average > 0.0, np.minimum(ps.scaling * average, cap), np.nan)
    return psa


def _regional_adjustment(
    terms: Benchmark,
    inputs: BenchmarkInputs,
    hist: F8,
    risk_last: F8,
    last: int,
    period: int = 0,
    months: F8 | None = None,
) -> F8:
    """The regional adjustment (USD per member per month) of agreement ``period`` (0: the first
    simulated): weighted towards the risk-adjusted regional cost, capped, a negative one offset
    for dual eligibility and risk (42 CFR 425.656(c)).

    With enrolment types (``hist`` (type, trial); ``months`` each type's member months in the
    last base year) the ACO is lower- or higher-spending than its region on the types' gaps
    weighted by their months, one weight for every type, and the offset reads the ACO's risk
    score, the types' weighted by historical benchmark times months (425.656(c)(4), (e))."""
    if inputs.base_pmpm is None or inputs.reference_index is None:
        raise ValueError("the regional adjustment needs base_pmpm and the reference index")
    assert terms.regional_cost_ratio is not None
    ratio = (
        terms.regional_cost_ratio
        if inputs.regional_cost_ratio is None
        else inputs.regional_cost_ratio
    )
    regional = ratio * inputs.base_pmpm * inputs.reference_index[:, last] * risk_last
    lower, higher = terms.regional_weight_lower, terms.regional_weight_higher
    if terms.regional_agreement is not None:
        table = MSSP_REGIONAL_WEIGHTS
        lower, higher = table[min(terms.regional_agreement + period, len(table)) - 1]
    gap = regional - hist
    risk = risk_last
    if hist.ndim == 2:
        assert months is not None
        share = months / months.sum(axis=0)
        gap = (share * gap).sum(axis=0)
        dollars = hist * months
        risk = (dollars * risk_last).sum(axis=0) / dollars.sum(axis=0)
    weight = np.where(gap > 0.0, lower, higher)
    basis = (
        regional if terms.regional_cap_basis == "regional" else _national_pmpm(inputs, terms, last)
    )
    down = (
        terms.regional_cap if terms.regional_negative_cap is None else terms.regional_negative_cap
    )
    adjustment: F8 = np.clip(weight * (regional - hist), -down * basis, terms.regional_cap * basis)
    if terms.regional_offset_dual_share is not None:
        offset = np.clip(terms.regional_offset_dual_share + (risk - 1.0), 0.0, 1.0)
        adjustment = np.where(adjustment < 0.0, adjustment * (1.0 - offset), adjustment)
    return adjustment
