"""``calibrate``: member-level claims in, a fitted scenario and a goodness-of-fit report out.

Order of the fit (each step is documented in its module):

1. Read the member-years (:mod:`simsettle.calibrate.data`) and give each its role: held a
   place at the start of the year, arrived or departed during it, new member
   (:class:`simsettle.calibrate.panel.Panel`).
2. Trend: cost per member month by year (per unit of risk score where there are scores)
   (:func:`simsettle.calibrate.panel.fit_trend`).
3. Risk spread and persistence, from the scores or from the panel of costs
   (:func:`simsettle.calibrate.panel.fit_risk`). From costs, the spread is capped where a
   lognormal risk score that wide would by itself concentrate spend beyond the data's
   (:func:`simsettle.calibrate.mixture.largest_risk_sigma`,
   :func:`simsettle.calibrate.panel.cap_risk`; the cost mixture is then fitted again).
4. The cost mixture by maximum likelihood on the annualised costs, divided by the normalised
   risk score where there are scores (:func:`simsettle.calibrate.mixture.fit_mixture`): each
   year is first divided by its PMPM relative to the first year, the mixture fitted, each
   year's level then re-estimated by likelihood (:func:`simsettle.calibrate.mixture.fit_scales`)
   and the mixture fitted again. The mean (``pmpm``) is the first data year's. With
   ``method="auto"`` (the default) the shape is re-solved to the data's spend shares of the
   costliest 1%, 5% and 10% where the likelihood fit misses one by more than
   ``share_tolerance`` (:func:`simsettle.calibrate.mixture.fit_concentration`).
5. Turnover, replacement, the partial-year pattern and the entrants' risk
   (:func:`simsettle.calibrate.panel.fit_population`,
   :func:`simsettle.calibrate.panel.fit_entrants`); the persistence of members' cost beyond
   the risk score, from the correlation of their cost a year apart
   (:func:`simsettle.calibrate.persistence.fit_persistence`).
6. The scenario (:mod:`simsettle.calibrate.scenario_text`), validated by
   :func:`simsettle.scenario.parse_scenario`, and the goodness of fit
   (:mod:`simsettle.calibrate.gof`).

What is not fitted: ``ageing`` (0), attribution (prospective), care management, quality, the
benchmark and the contract designs (one placeholder design: replace it with the contract's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from simsettle._arrays import F8
from simsettle.calibrate.data import MemberYears, read_claims
from simsettle.calibrate.gof import (
    TOP,
    GoodnessOfFit,
    concentration,
    goodness_of_fit,
    model_top,
    top_interval,
)
from simsettle.calibrate.mixture import (
    CostModel,
    Interval,
    MixtureFit,
    fit_concentration,
    fit_mixture,
    fit_scales,
    largest_risk_sigma,
    share_threshold,
)
from simsettle.calibrate.panel import (
    Panel,
    PopulationFit,
    RiskFit,
    TrendFit,
    _lag_pairs,
    cap_risk,
    fit_entrants,
    fit_population,
    fit_risk,
    fit_trend,
    risk_scale,
)
from simsettle.calibrate.persistence import fit_persistence
from simsettle.calibrate.synthetic import SyntheticClaims

if TYPE_CHECKING:
    from simsettle.scenario.schema import Scenario

__all__ = ["Calibration", "Estimate", "calibrate"]

#: Schema defaults used where the data cannot tell a value.
DEFAULT_TREND_MEAN = 0.04


@dataclass(frozen=True)
class Estimate:
    """One fitted scenario field: its value, confidence interval and where it came from.

    ``field`` is the dotted scenario path (``cost.body_sigma``); ``assumed`` marks values the
    data could not tell (a default or a value given to :func:`calibrate`), whose interval is nan.
    """

    field: str
    value: float
    lower: float
    upper: float
    source: str
    assumed: bool = False

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in the interval (always False for an assumed value)."""
        return self.lower <= x <= self.upper

    @classmethod
    def of(cls, field: str, iv: Interval, source: str, assumed: bool = False) -> Estimate:
        return cls(field, iv.value, iv.lower, iv.upper, source, assumed)


#: Fewer full-year member-years than this and the cost shape is fitted on every member-year.
MIN_FULL_YEARS = 500


def _full_years(data: MemberYears, notes: list[str]) -> npt.NDArray[np.bool_]:
    """The member-years the cost shape is fitted on: the full years.

    Under the engine's exposure model (``cost.partial_year: exposure``) a stay of ``p`` of the
    year costs ``X B``: the year's cost ``X`` as one episode, nothing, or ``p X``, so its
    annualised cost is not a draw of ``X``; a full year is. Partial years still inform the
    PMPM (their mean is in proportion to their months), the population and the data's spend
    shares (against the model's own, drawn at the data's months). With fewer than
    :data:`MIN_FULL_YEARS` full years every member-year is used, as if pro rata, and a note
    says so.
    """
    full = data.months >= 12.0 - 1e-9
    if int(np.count_nonzero(full)) >= MIN_FULL_YEARS:
        return np.asarray(full)
    notes.append(
        f"only {int(np.count_nonzero(full)):,} member-years are full years: the cost shape was "
        "fitted on every member-year, taking a partial year's cost as the year's pro rata "
        "(the engine's partial_year: pro_rata); its exposure model makes partial years lumpier"
    )
    return np.ones(data.n, dtype=bool)


@dataclass(frozen=True)
class Calibration:
    """The result of :func:`calibrate`.

    ``estimates`` maps each fitted scenario field (dotted path) to its :class:`Estimate`;
    ``pmpm`` there is the level of the first data year, the scenario's ``cost.pmpm`` (and
    ``cost.tail_threshold``) are moved to its first base year with the fitted trend.
    ``scenario_yaml`` is the scenario file's text (comments say where each number came from),
    ``scenario`` the validated scenario; ``gof`` the goodness of fit.
    """

    data: MemberYears
    panel: Panel
    estimates: dict[str, Estimate]
    cost: MixtureFit
    risk: RiskFit
    population: PopulationFit
    trend: TrendFit
    gof: GoodnessOfFit
    scenario_yaml: str
    scenario: Scenario
    model: CostModel  # the whole annual cost model R X at the first data year's level
    confidence: float
    notes: tuple[str, ...]
    first_performance_year: int
    level_factor: float  # scenario money amounts = first-data-year amounts x this
    year_levels: dict[int, float]  # each year's fitted cost level relative to the first

    def write_scenario(self, path: str | Path) -> Path:
        """Write the scenario YAML (atomically)."""
        from simsettle.calibrate.scenario_text import write_text

        return write_text(path, self.scenario_yaml)

    def write_report(self, path: str | Path, *, scenario_path: str | None = None) -> Path:
        """Write the goodness-of-fit report as one self-contained HTML file."""
        from simsettle.calibrate.report import write_report

        return write_report(self, path, scenario_path=scenario_path)

    def summary(self) -> str:
        """A plain-text table of the estimates and the concentration check."""
        from simsettle.calibrate.scenario_text import summary_text

        return summary_text(self)


def _widen(fit: MixtureFit, rel_se: float, names: tuple[str, ...]) -> MixtureFit:
    """``fit`` with the intervals of ``names`` widened, in quadrature on the log scale, by a
    relative standard error ``rel_se`` of the money unit."""
    from dataclasses import replace

    from scipy import stats

    zc = float(stats.norm.ppf(0.5 + 0.5 * fit.confidence))
    out = dict(fit.intervals)
    for name in names:
        iv = out.get(name)
        if iv is None or not (iv.value > 0 and iv.lower > 0 and math.isfinite(iv.upper)):
            continue
        lo = math.hypot(math.log(iv.value / iv.lower), zc * rel_se)
        hi = math.hypot(math.log(iv.upper / iv.value), zc * rel_se)
        se = math.hypot(iv.se, iv.value * rel_se) if math.isfinite(iv.se) else iv.se
        out[name] = Interval(iv.value, iv.value * math.exp(-lo), iv.value * math.exp(hi), se)
    return replace(fit, intervals=out)


def _all_in(
    fit: MixtureFit,
    data: MemberYears,
    panel: Panel,
    first: npt.NDArray[np.bool_],
    full: npt.NDArray[np.bool_],
    year_index: F8,
    norm_risk: F8 | None,
    notes: list[str],
) -> MixtureFit:
    """``fit`` with its money amounts moved from the full years' level to the all-in PMPM of
    the first data year's members who held a place on 1 January, departures included.

    The shape is fitted on full years, so its level is a survivor's; a member who leaves in the
    year costs in proportion to its months under the engine's exposure model unless the
    departure costs more, as a death does. The data do not say who died, so the scenario is
    written with ``population.mortality: 0`` and this level: ``cost.pmpm`` is then the all-in
    PMPM the engine reproduces (``simsettle.scenario.schema.Cost.pmpm``), with the decedents'
    excess spread over every member. Arrivals are left out of both sides (their risk mix is
    the entrants', handled apart). Where the first year has no departures the fit is returned.
    """
    r = np.ones(data.n) if norm_risk is None else norm_risk
    cost = data.cost / year_index

    def pmpm(mask: npt.NDArray[np.bool_]) -> float:
        return float(cost[mask].sum() / (data.months[mask] * r[mask]).sum())

    stayed = first & ~panel.arrival
    if not np.any(stayed & ~full) or not np.any(stayed & full):
        return fit
    factor = pmpm(stayed) / pmpm(stayed & full)
    if not math.isfinite(factor) or factor <= 0.0:
        return fit
    if abs(factor - 1.0) > 0.02:
        notes.append(
            f"the members who left during {panel.first_year} cost {factor:.3f} times the "
            "full years' PMPM over the whole first year (deaths cost more than their months): "
            "cost.pmpm is written at that all-in level with population.mortality 0, so the "
            "decedents' excess is spread over every member; give mortality and "
            "decedent_cost_ratio to model the deaths themselves"
        )
    # A change of scale: every money amount, the model's and the intervals', times factor.
    from dataclasses import replace

    scaled = _scale(fit, factor, ("pmpm", "body_mean", "tail_threshold"))
    model = replace(
        fit.model,
        body_mean=fit.model.body_mean * factor,
        tail_threshold=fit.model.tail_threshold * factor,
    )
    return replace(scaled, model=model)


def _scale(fit: MixtureFit, factor: float, names: tuple[str, ...]) -> MixtureFit:
    """``fit`` with the intervals of ``names`` multiplied by ``factor`` (and its model's money
    amounts, where ``pmpm`` is among them, through its mean)."""
    from dataclasses import replace

    out = dict(fit.intervals)
    for name in names:
        iv = out.get(name)
        if iv is not None:
            out[name] = Interval(
                iv.value * factor, iv.lower * factor, iv.upper * factor, iv.se * factor
            )
    model = fit.model
    if "pmpm" in names:
        model = model.with_mean(model.mean * factor)
    return replace(fit, intervals=out, model=model)


def _as_member_years(
    claims: str | Path | MemberYears | SyntheticClaims,
    enrollment: str | Path | None,
    columns: Mapping[str, str] | None,
    enrollment_columns: Mapping[str, str] | None,
) -> MemberYears:
    if isinstance(claims, MemberYears):
        return claims
    if isinstance(claims, SyntheticClaims):
        return claims.member_years()
    return read_claims(
        claims, enrollment=enrollment, columns=columns, enrollment_columns=enrollment_columns
    )


def calibrate(
    claims: str | Path | MemberYears | SyntheticClaims,
    *,
    enrollment: str | Path | None = None,
    columns: Mapping[str, str] | None = None,
    enrollment_columns: Mapping[str, str] | None = None,
    risk_sigma: float | None = None,
    risk_persistence: float | None = None,
    trend_sd: float | None = None,
    tail_threshold: float | None = None,
    method: Literal["auto", "likelihood", "concentration"] = "auto",
    share_tolerance: float = 0.01,
    confidence: float = 0.95,
    bootstrap: int = 200,
    name: str | None = None,
    seed: int = 20260101,
    trials: int = 10_000,
    output: str | Path | None = None,
    report: str | Path | None = None,
) -> Calibration:
    """Fit the engine's population, cost and trend model to member-level claims.

    Parameters
    ----------
    claims
        A claims file (CSV, or Parquet with pyarrow installed; columns in
        :mod:`simsettle.calibrate.data`), :class:`~simsettle.calibrate.data.MemberYears`, or
        :class:`~simsettle.calibrate.synthetic.SyntheticClaims`.
    enrollment
        An enrolment file: gives member months, when members joined and left, and member-years
        without claims (zero cost).
    columns, enrollment_columns
        Column names of the files, ``{"allowed": "paid_amount"}``; ``"A+B"`` adds columns.
    risk_sigma, risk_persistence, trend_sd
        Hold these at the values given instead of fitting them. Where the data cannot tell
        them (no scores and two years: the persistence; fewer than three years: the trend's
        volatility) the value given, else the schema's default, is used and marked assumed.
    tail_threshold
        Hold the Pareto threshold (USD a year at the first data year's level).
    method
        ``likelihood``: the cost mixture by maximum likelihood (the engine's model, efficient
        when it holds). ``concentration``: then re-solve the body's spread and the tail so that
        the model's spend shares of the costliest 1%, 5% and 10% of member-years equal the
        data's, for data whose shape the mixture cannot follow everywhere (often: an upper
        tail lighter than a lognormal) when the spend concentration matters most. ``auto``
        (the default): the likelihood fit, re-solved as ``concentration`` does only where its
        share of one of the three misses the data's by more than ``share_tolerance`` (the
        reason is added to the notes).
    share_tolerance
        The largest miss of a spend share (fraction; 0.01 is one percentage point) that
        ``auto`` accepts from the likelihood fit.
    confidence
        Level of every confidence interval.
    bootstrap
        Replicates of the member-level bootstrap of the population and trend estimates.
    name, seed, trials
        The scenario's name, seed and trial count.
    output, report
        Write the scenario YAML and the HTML report there.

    Raises
    ------
    CalibrationDataError
        For unreadable files, with the file, row and column of each problem.
    ValueError
        For too little data to fit.
    """
    if not 0.5 <= confidence < 1.0:
        raise ValueError(f"confidence must be in [0.5, 1); got {confidence}")
    if not 0.0 < share_tolerance < 1.0:
        raise ValueError(f"share_tolerance must be in (0, 1); got {share_tolerance}")
    if method not in ("auto", "likelihood", "concentration"):
        raise ValueError(f"method must be 'auto', 'likelihood' or 'concentration'; got {method!r}")
    data = _as_member_years(claims, enrollment, columns, enrollment_columns)
    if data.n < 20 or np.count_nonzero(data.cost > 0) < 20:
        raise ValueError(
            f"need at least 20 member-years, 20 of them with a cost, to calibrate; got {data.n} "
            f"member-years, {np.count_nonzero(data.cost > 0)} with a cost"
        )
    notes = list(data.notes)
    panel = Panel.of(data)
    trend = fit_trend(panel, trend_sd=trend_sd, reps=bootstrap, confidence=confidence)
    level = trend.index()
    year_index = np.array([level.get(int(y), 1.0) for y in data.year])
    annualised = data.cost * 12.0 / data.months / year_index
    full = _full_years(data, notes)
    scores = data.risk is not None
    norm_risk = data.risk / risk_scale(panel) if data.risk is not None else None
    log_cost = np.where(annualised > 0, np.log(np.maximum(annualised, 1e-300)), np.nan)
    risk = fit_risk(
        panel,
        None if scores else log_cost,
        risk_sigma=risk_sigma,
        risk_persistence=risk_persistence,
        reps=bootstrap,
        confidence=confidence,
    )
    # The mean (pmpm) is the first data year's: later years only tell it through their
    # (noisy) cost level, so they get no weight in it.
    first = data.year == panel.first_year
    weights = data.months * first * (1.0 if norm_risk is None else norm_risk)
    entrant_iv, entrant_method = fit_entrants(panel, reps=bootstrap, confidence=confidence)

    def fit_costs(risk: RiskFit) -> tuple[MixtureFit, F8, dict[int, float], float]:
        """The cost mixture at ``risk``'s spread: the fit, the values it was fitted to, each
        year's level and the risk mix its pmpm was divided by."""
        if norm_risk is not None:
            fitted, fit_sigma, fit_sigma_se = annualised / norm_risk, 0.0, 0.0
        else:
            fitted, fit_sigma = annualised, risk.risk_sigma.value
            se = risk.risk_sigma.se if math.isfinite(risk.risk_sigma.se) else 0.0
            fit_sigma_se = 0.0 if risk.sigma_method == "given" or risk.capped else se

        def fit_cost(values: F8, floor: float | None, start: MixtureFit | None) -> MixtureFit:
            return fit_mixture(
                values[full],
                weights=weights[full],
                clusters=data.member[full],
                risk_sigma=fit_sigma,
                risk_sigma_se=fit_sigma_se,
                threshold=tail_threshold,
                confidence=confidence,
                censor_below=floor,
                start=start,
            )

        cost_fit = fit_cost(fitted, None, None)
        levels = dict(level)
        if len(trend.years) > 1:
            # Bring every year to the first year's level by the year's likelihood-fitted
            # scale (far more precise than the ratio of mean costs), then fit again.
            scales = fit_scales(
                cost_fit.model,
                fitted[full],
                data.year[full],
                censor_below=cost_fit.censor_floor,
                reference=panel.first_year,
            )
            factor = np.array([scales.get(int(y), 1.0) for y in data.year])
            fitted = fitted / factor
            levels = {y: level[y] * scales.get(y, 1.0) for y in level}
            cost_fit = fit_cost(fitted, cost_fit.censor_floor, cost_fit)
        # ``annualised`` and ``year_index`` stay at the observed PMPM ratios: the goodness of
        # fit and the concentration targets compare shapes, each year at its own level.
        if norm_risk is not None and data.risk is not None:
            # The unit of risk is estimated too (the mean score of the first year's members):
            # widen the money amounts' intervals by its relative standard error.
            ref = first & panel.initial
            r = data.risk[ref] if np.any(ref) else data.risk
            rel = float(np.std(r) / np.mean(r) / math.sqrt(max(r.size, 1)))
            cost_fit = _widen(cost_fit, rel, ("tail_threshold", "pmpm", "body_mean"))
        mix = 1.0
        if norm_risk is None and math.isfinite(entrant_iv.lower):
            # Without scores the first year's PMPM is that of its mix of members: the joiners
            # of that year have the entrants' risk. The scenario's pmpm is for a risk score
            # of 1.
            y0_months = float(data.months[first].sum())
            joiner_share = float(data.months[first & panel.arrival].sum()) / y0_months
            mix = 1.0 + joiner_share * (entrant_iv.value - 1.0)
            cost_fit = _scale(cost_fit, 1.0 / mix, ("pmpm", "body_mean"))
        return cost_fit, fitted, levels, mix

    cost_fit, fitted, level, risk_mix = fit_costs(risk)
    cost_fit = _all_in(cost_fit, data, panel, first, full, year_index, norm_risk, notes)
    targets = concentration(annualised[full])
    if norm_risk is None and risk_sigma is None and risk.risk_sigma.value > 0:
        # A lognormal risk score concentrates spend by itself: a spread carrying all of the
        # members' cost covariance can leave the mixture unable to reproduce the data's
        # spend shares. Cap it at the largest spread that still can (``largest_risk_sigma``).
        cap = largest_risk_sigma(
            targets,
            zero_cost_share=cost_fit.model.zero_cost_share,
            mean=cost_fit.model.mean,
            tail_threshold=share_threshold(cost_fit, tail_threshold),
            upto=risk.risk_sigma.value,
        )
        if cap < risk.risk_sigma.value:
            risk = cap_risk(panel, log_cost, risk, cap)
            cost_fit, fitted, level, risk_mix = fit_costs(risk)
            cost_fit = _all_in(cost_fit, data, panel, first, full, year_index, norm_risk, [])
            c1 = {k: c for k, c, _ in risk.lag_covariances}.get(1, math.nan)
            notes.append(
                f"the risk spread was capped at {cap:.2f} (the members' cost covariance called "
                "for more, but a lognormal risk score that wide concentrates spend beyond the "
                "data's by itself): the model carries "
                f"{risk.risk_persistence.value * cap * cap:.3g} of the {c1:.3g} covariance of "
                "members' log cost a year apart, so it understates how much a member's cost "
                "persists from year to year (the report compares the correlation of members' "
                "costs a year apart)"
            )
    sigma = risk.risk_sigma.value
    top_data = top_interval(data.cost, data.member, reps=200, seed=12, confidence=confidence)
    method_note = None
    if method == "auto":
        top_ml = model_top(cost_fit.model.with_risk_sigma(sigma), year_index, data.months)
        missed = [q for q in TOP if abs(top_ml[q] - top_data[q].value) > share_tolerance]
        if missed:
            method_note = (
                "the likelihood fit misses the data's spend share of the costliest "
                + ", ".join(
                    f"{q:.0%} ({top_ml[q]:.1%} against {top_data[q].value:.1%})" for q in missed
                )
                + f" by more than {100 * share_tolerance:.3g} percentage point"
                + ("" if share_tolerance == 0.01 else "s")
                + ": the body's "
                "spread and the tail were re-solved to the data's spend shares (method='auto'; "
                "method='likelihood' keeps the likelihood fit)"
            )
            notes.append(method_note)
    if method == "concentration" or method_note is not None:
        cost_fit = fit_concentration(
            cost_fit,
            annualised[full],
            clusters=data.member[full],
            risk_sigma=sigma,
            threshold=tail_threshold,
            reps=bootstrap,
        )
    model = cost_fit.model.with_risk_sigma(sigma)
    population = fit_population(panel, reps=bootstrap, confidence=confidence)
    persistence = fit_persistence(
        panel,
        np.where(full, annualised, np.nan),
        full,
        risk,
        model.shape(),
        reps=bootstrap,
        confidence=confidence,
    )

    trend_mean = trend.mean
    trend_assumed = not math.isfinite(trend_mean.value)
    if trend_assumed:
        trend_mean = Interval(DEFAULT_TREND_MEAN, math.nan, math.nan)
    first_performance_year = panel.last_year + 1 if panel.last_year > 0 else 2026
    base_years = 3
    first_base = first_performance_year - base_years
    level_factor = (
        (1.0 + trend_mean.value) ** (first_base - panel.first_year) if panel.first_year > 0 else 1.0
    )

    est: dict[str, Estimate] = {}
    ci = cost_fit.intervals
    what = (
        "member-year costs (annualised, per unit of normalised risk score)"
        if scores
        else "member-year costs (annualised)"
    )
    first_label = str(panel.first_year) if panel.first_year > 0 else "the data's year"
    est["cost.pmpm"] = Estimate.of(
        "cost.pmpm",
        ci["pmpm"],
        f"cost per member month in {first_label}"
        + (" per unit of risk score" if scores else "")
        + " (the later years, each brought to that year's cost level by its own fitted scale, "
        "inform the shape of the distribution only)"
        + (
            f"; divided by {risk_mix:.4g}, the mean risk of that year's members with its "
            "joiners at the entrants' risk, for a risk score of 1"
            if risk_mix != 1.0
            else ""
        ),
    )
    est["cost.zero_cost_share"] = Estimate.of(
        "cost.zero_cost_share", ci["zero_cost_share"], "share of member-years with no cost"
    )
    ml = (
        f"maximum likelihood of the engine's mixture on {cost_fit.n_positive:,} positive "
        f"{what}, with the mean held at the data's"
        + (
            f" ({cost_fit.n_censored:,} at or below {cost_fit.censor_floor:,.0f} USD censored)"
            if cost_fit.n_censored
            else ""
        )
    )
    if cost_fit.shape_method != "maximum likelihood":
        ml = cost_fit.shape_method
    est["cost.body_sigma"] = Estimate.of("cost.body_sigma", ci["body_sigma"], ml)
    if cost_fit.has_tail:
        est["cost.tail_probability"] = Estimate.of(
            "cost.tail_probability", ci["tail_probability"], ml
        )
        est["cost.tail_threshold"] = Estimate.of(
            "cost.tail_threshold",
            ci["tail_threshold"],
            cost_fit.threshold_method
            if math.isfinite(ci["tail_threshold"].lower)
            else "five times the mean annual cost (the likelihood fit kept no tail), or as given",
            assumed=not math.isfinite(ci["tail_threshold"].lower),
        )
        est["cost.tail_shape"] = Estimate.of("cost.tail_shape", ci["tail_shape"], ml)
    else:
        est["cost.tail_probability"] = Estimate(
            "cost.tail_probability", 0.0, 0.0, 0.0, cost_fit.threshold_method
        )
    est["population.risk_sigma"] = Estimate.of(
        "population.risk_sigma",
        risk.risk_sigma,
        risk.sigma_method,
        assumed=not math.isfinite(risk.risk_sigma.lower) or risk_sigma is not None,
    )
    est["cost.persistence"] = Estimate.of(
        "cost.persistence",
        persistence.persistence,
        persistence.method,
        assumed=persistence.assumed,
    )
    est["population.risk_persistence"] = Estimate.of(
        "population.risk_persistence",
        risk.risk_persistence,
        risk.persistence_method,
        assumed=risk.persistence_assumed,
    )
    pf = population
    multi = panel.last_year > panel.first_year
    turnover_seen = math.isfinite(pf.turnover.lower)
    est["population.turnover"] = Estimate.of(
        "population.turnover",
        pf.turnover,
        (
            f"{pf.departures:,} departures of {pf.places:,} members present at the start of a "
            "year"
            + (" (years followed by another data year)" if multi else " (part-year leavers only)")
        )
        if turnover_seen
        else "assumed (the schema default): one year of whole-year members shows no departures",
        assumed=not turnover_seen,
    )
    est["population.replacement"] = Estimate.of(
        "population.replacement",
        pf.replacement,
        f"{pf.arrivals:,} mid-year arrivals per {pf.departures:,} departures"
        if math.isfinite(pf.replacement.lower)
        else "assumed (the schema default 1): no departures seen to be replaced",
        assumed=not math.isfinite(pf.replacement.lower),
    )
    est["population.entrant_risk_ratio"] = Estimate.of(
        "population.entrant_risk_ratio",
        entrant_iv,
        entrant_method,
        assumed=not math.isfinite(entrant_iv.lower),
    )
    est["trend.mean"] = Estimate.of(
        "trend.mean",
        trend_mean,
        trend.method if not trend_assumed else "assumed (the schema default): one year of data",
        assumed=trend_assumed,
    )
    est["trend.sd"] = Estimate.of(
        "trend.sd", trend.sd, trend.sd_method or trend.method, assumed=trend.sd_assumed
    )
    members = pf.members_at_start.get(panel.last_year) or max(
        1, int(np.count_nonzero(data.year == panel.last_year))
    )
    if cost_fit.has_tail and cost_fit.model.tail_shape >= 99.0:
        notes.append(
            "the tail's shape reached its upper bound (100): the costliest member-years look "
            "like a narrow bump rather than a Pareto tail; consider holding tail_threshold or "
            "supplying risk scores"
        )
    gap_note = (
        "the fitted model misses the data's spend concentration by more than 2 percentage "
        "points (see the report); "
        + (
            "consider method='concentration'"
            if cost_fit.shape_method == "maximum likelihood"
            else "the cost mixture cannot reproduce it at this risk spread: consider a smaller "
            "risk_sigma"
        )
    )
    pairs = _lag_pairs(panel, full, 1)
    gof = goodness_of_fit(
        cost=data.cost,
        months=data.months,
        year_index=year_index,
        annualised=np.where(full, annualised, np.nan),
        fitted=np.where(full, fitted, np.nan),
        fitted_model=cost_fit.model,
        full_model=model,
        risk_persistence=risk.risk_persistence.value,
        cost_persistence=persistence.persistence.value,
        pairs=pairs,
        clusters=data.member,
        log_risk=None if norm_risk is None else np.log(norm_risk),
        confidence=confidence,
        top_data=top_data,
    )
    if gof.max_concentration_gap() > 0.02:
        notes.append(gap_note)
    from simsettle.calibrate.scenario_text import scenario_text
    from simsettle.scenario import parse_scenario

    text = scenario_text(
        data=data,
        estimates=est,
        cost_fit=cost_fit,
        model=model,
        members=members,
        first_performance_year=first_performance_year,
        first_base=first_base,
        level_factor=level_factor,
        confidence=confidence,
        name=name,
        seed=seed,
        trials=trials,
        notes=notes,
        gof=gof,
    )
    scenario = parse_scenario(text, source="<calibrated scenario>").scenario
    result = Calibration(
        data=data,
        panel=panel,
        estimates=est,
        cost=cost_fit,
        risk=risk,
        population=population,
        trend=trend,
        gof=gof,
        scenario_yaml=text,
        scenario=scenario,
        model=model,
        confidence=confidence,
        notes=tuple(notes),
        first_performance_year=first_performance_year,
        level_factor=level_factor,
        year_levels=dict(level),
    )
    if output is not None:
        result.write_scenario(output)
    if report is not None:
        result.write_report(report, scenario_path=None if output is None else str(output))
    return result
