"""The scenario file: what to simulate and which contract designs to settle it under.

Units: money in USD, rates and shares as fractions (0.04 means 4%), counts as integers, time in
years. Every field's description states its unit; the descriptions flow into the JSON Schema that
``simsettle schema`` prints, so editors show them as hover text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, model_validator

from simsettle.scenario._base import (
    FieldError,
    Fraction,
    Label,
    Money,
    SettleModel,
    field_bounds,
)
from simsettle.scenario.contracts import Design
from simsettle.scenario.costs import (
    CostShape,
    body_mean,
    compound_cv,
    default_tail_threshold,
    episodic_share,
    solve_body_sigma,
    solve_cost,
    tail_mean,
)
from simsettle.scenario.frequency import CountLaw, count_law, count_law_error, gamma_exceeds
from simsettle.scenario.paths import Overrides
from simsettle.scenario.presets import PRESETS, PresetName
from simsettle.scenario.severity import (
    FAMILIES,
    SHAPE_MEANING,
    BodyFamily,
    Family,
    SeverityLaw,
    plain_law,
    shape_error,
    shape_from_cv,
    splice_error,
    spliced_law,
)
from simsettle.scenario.templates import TEMPLATES, expand_template, template_names

__all__ = [
    "BENCHMARK_TEMPLATES",
    "MSSP_REGIONAL_WEIGHTS",
    "SCHEMA_VERSION",
    "Attribution",
    "Benchmark",
    "CareManagement",
    "Cost",
    "EnrollmentType",
    "HealthEquity",
    "Line",
    "Participants",
    "Population",
    "Portfolio",
    "Practice",
    "PriorSavings",
    "Provider",
    "QualityModel",
    "Scenario",
    "SweepAxis",
    "Timing",
    "Trend",
    "Truncation",
]

SCHEMA_VERSION = 1

#: A yearly growth or discount rate (fraction per year, -50% to +100%).
AnnualRate = Annotated[float, Field(ge=-0.5, le=1.0, allow_inf_nan=False)]
#: A correlation coefficient (dimensionless, -1 to 1).
Correlation = Annotated[float, Field(ge=-1.0, le=1.0, allow_inf_nan=False)]
#: A cost or risk relative to a reference (ratio, dimensionless; above 0, at most 5).
Ratio = Annotated[float, Field(gt=0.0, le=5.0, allow_inf_nan=False)]


class Attribution(SettleModel):
    """Who counts in the settlement: the payer's attribution against the provider's roster."""

    method: Literal["prospective", "retrospective", "blended"] = Field(
        default="prospective",
        description="`prospective`: the list fixed at the start of the year counts whole; "
        "`retrospective`: members are assigned after the year by their care, so a member with no "
        "care that year drops out; `blended`: such a member stays with probability "
        "`no_care_retention`.",
    )
    no_care_retention: Fraction = Field(
        default=0.5,
        description="Probability that a member with no care in the year stays attributed under "
        "`blended` attribution (fraction).",
    )
    payer_only_share: Fraction = Field(
        default=0.0,
        description="Share of the payer's attributed members the provider does not know and "
        "cannot manage, e.g. by care management (fraction; up to 0.4 in practice). A member's "
        "status is drawn when it arrives and kept for its stay.",
    )
    provider_only_share: Fraction = Field(
        default=0.0,
        description="Share of the provider's members the payer does not attribute to it: they "
        "are outside the settlement (fraction). Kept for the member's stay.",
    )
    payer_only_correlation: Correlation = Field(
        default=0.0,
        description="Correlation of a member's being payer-only with its latent log risk when "
        "it arrives, on the normal scale (dimensionless, -1 to 1): above 0 the members the "
        "provider does not know are the costlier ones, and a programme aimed at high risk "
        "reaches less than 1 - payer_only_share of it.",
    )
    provider_only_correlation: Correlation = Field(
        default=0.0,
        description="Correlation of a member's being provider-only (outside the settlement) "
        "with its latent log risk when it arrives, on the normal scale (dimensionless, -1 to "
        "1): above 0 the payer's list leaves out the provider's costlier members.",
    )
    leakage_share: Fraction = Field(
        default=0.0,
        description="Share of a known member's spend that falls outside the provider's reach "
        "(care from providers outside its network), which its programmes cannot lower "
        "(fraction): care management avoids effect x (1 - leakage_share) of a managed "
        "member's cost.",
    )

    @property
    def retention(self) -> float:
        """Probability that a member with no care stays attributed."""
        return {"prospective": 1.0, "retrospective": 0.0}.get(self.method, self.no_care_retention)


#: Medicare FFS: annual probability of death of a beneficiary (see Population.mortality).
MEDICARE_MORTALITY = 0.045


class EnrollmentType(SettleModel):
    """A Medicare enrolment type of the attributed population (ESRD, disabled, aged dual, aged
    non-dual): a fixed share of the member slots with its own cost level, benchmark and
    truncation threshold. CMS builds the benchmark per enrolment type and combines the types
    (docs/methodology.md, 5.8); risk scores are the type's own, normalised to 1 within it, as
    CMS renormalises each type's scores. Turnover, deaths and the cost shape are the
    population's."""

    name: Label = Field(description="The type's name, e.g. `esrd` (a label of the results).")
    share: float = Field(
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Share of the member slots of this type (fraction; the shares sum to 1).",
    )
    cost_ratio: float = Field(
        default=1.0,
        gt=0.0,
        le=50.0,
        allow_inf_nan=False,
        description="The type's cost level relative to `cost.pmpm` (ratio, dimensionless; "
        "Medicare FFS about 1 for aged non-dual, 1.8 aged dual, 1.1 disabled, 7 ESRD [S: CMS "
        "rate books, illustrative]); a percentile truncation threshold scales with it.",
    )
    regional_cost_ratio: float | None = Field(
        default=None,
        gt=0.0,
        le=5.0,
        allow_inf_nan=False,
        description="The type's risk-adjusted regional cost relative to its own expected cost "
        "(ratio, dimensionless); omit for `benchmark.regional_cost_ratio`.",
    )


class Population(SettleModel):
    """The attributed population: its size, churn and risk-score distribution.

    A member leaves during a year with probability ``turnover``, by one of three modes: death
    (``mortality``), loss of attribution (``attribution_loss``) or, the rest, loss of
    eligibility or a move. The modes differ in what the settlement sees. A decedent's months up
    to death count and its cost in the year of death is ``decedent_cost_ratio`` times a full
    year's (an end-of-life episode on top of its ordinary cost); a member who loses attribution
    is outside that year's settlement altogether, as MSSP drops a beneficiary who no longer
    meets the assignment criteria at reconciliation; a member who moves or loses eligibility
    counts for the months enrolled.
    """

    members: int = Field(
        ge=1,
        le=5_000_000,
        description="Attributed members at the start of every year (count).",
    )
    turnover: Fraction = Field(
        default=0.15,
        description="Probability that a member leaves during a year, by any mode (fraction per "
        "year); the departure month is uniform over the year, so leavers contribute partial "
        "member months.",
    )
    mortality: Fraction | None = Field(
        default=None,
        description="Probability that a member dies during a year (fraction per year; part of "
        "`turnover`). Omit for 0.045, or `turnover` where that is smaller (`Population."
        "death_rate` gives the value in force): with the defaults "
        "about 4% of the year's members die, as in traditional Medicare (KFF 2016, 2014 data; "
        "docs/methodology.md section 2.3). Under 65: about 0.002 (commercial) to 0.01.",
    )
    attribution_loss: Fraction = Field(
        default=0.0,
        description="Probability that a member loses attribution during a year while still "
        "enrolled, e.g. by moving their care to a physician outside the provider (fraction per "
        "year; part of `turnover`): the member is outside that year's settlement.",
    )
    decedent_cost_ratio: float = Field(
        default=3.4,
        ge=0.5,
        le=20.0,
        allow_inf_nan=False,
        description="A decedent's expected cost in the calendar year of death over a full year "
        "of a survivor with the same risk score (ratio, dimensionless; at least 1/2, the "
        "ordinary cost of the mean half year a decedent is enrolled). The default 3.4 gives "
        "3.8 against the average survivor, with the default turnover, as in traditional "
        "Medicare ($34,529 against $9,121 in 2014, KFF), and decedents about 13.5% of spend. "
        "Death is independent of the risk score: the prospective score does not foresee it.",
    )
    terminal_cost_sigma: float = Field(
        default=0.6,
        ge=0.0,
        le=3.0,
        allow_inf_nan=False,
        description="Standard deviation of the log end-of-life episode that a decedent adds "
        "to its ordinary cost (dimensionless): lognormal, with the mean that makes "
        "`decedent_cost_ratio` hold.",
    )
    entrant_cost_ratio: Ratio = Field(
        default=1.0,
        description="Cost of a member new to the population in its year of entry (a joiner, or "
        "a new start-of-year member after the first year) relative to a continuing member "
        "with the same risk score (ratio, dimensionless): a cost level the risk score does not "
        "see, e.g. for new Medicare enrollees ageing in. Their risk mix is "
        "`entrant_risk_ratio`.",
    )
    replacement: Fraction = Field(
        default=1.0,
        description="Share of leavers replaced by a new member for the rest of the year "
        "(fraction); the roster is refilled to `members` at the start of each year.",
    )
    risk_sigma: float = Field(
        default=0.5,
        ge=0.0,
        le=3.0,
        allow_inf_nan=False,
        description="Dispersion of members' true risk, the multiplier of their expected cost: "
        "standard deviation of its log (dimensionless); lognormal with mean 1. The risk score "
        "the program uses predicts it (`risk_score_accuracy`); at accuracy 1 the two are the "
        "same.",
    )
    risk_persistence: Fraction = Field(
        default=0.75,
        description="Year-to-year correlation of a continuing member's log risk, and of its "
        "log risk score (dimensionless, 0 to 1).",
    )
    risk_score_accuracy: Fraction = Field(
        default=1.0,
        description="Share of the variance of a member's log true risk that the program's risk "
        "score captures (fraction; 1: the score is the member's expected-cost multiplier, 0: "
        "every score is 1). The score is the calibrated, regression-to-the-mean prediction of "
        "the true risk from a noisy signal (E[risk | score] = score): its log-sd is "
        "`risk_sigma` x sqrt(accuracy), so it explains a share (exp(risk_sigma^2 accuracy) - "
        "1) / CV^2 of the variance of members' annual cost (the individual R-squared the run "
        "summary prints; prospective CMS-HCC about 0.12, RTI's 2011 evaluation). Risk "
        "adjustment then offsets only `accuracy` of a difference in log risk, such as an "
        "adverse entrant mix (`entrant_risk_ratio`); coding intensity, normalization, caps and "
        "the demographic model act on the score. Care management selects on the true risk.",
    )
    ageing: float = Field(
        default=0.0,
        ge=-0.2,
        le=0.2,
        allow_inf_nan=False,
        description="Growth of a member's risk score (and cost) per year of attribution, from "
        "ageing (fraction per year); new members start at their drawn score.",
    )
    entrant_risk_ratio: Ratio = Field(
        default=1.0,
        description="Median true risk of members joining after the first year relative to "
        "the population's (ratio, dimensionless; below 1: healthier entrants); their median "
        "risk score is this ratio to the power `risk_score_accuracy`.",
    )
    attribution: Attribution = Field(
        default_factory=Attribution, description="How members are attributed."
    )
    demographic_signal: Fraction = Field(
        default=0.4,
        description="Share of the risk score's log signal a demographic-only risk model "
        "captures: its log-sd is this times the risk score's (fraction; used when "
        "benchmark.risk_model is demographic) [U: a stand-in, about the square root of the "
        "demographic model's R-squared relative to CMS-HCC].",
    )
    enrollment_types: (
        Annotated[tuple[EnrollmentType, ...], Strict(False), Field(min_length=2, max_length=8)]
        | None
    ) = Field(
        default=None,
        description="Medicare enrolment types, each a share of the members with its own cost "
        "level (see EnrollmentType): the benchmark, its adjustments and caps and the "
        "truncation are then per type and combined as CMS does. `cost.pmpm` is then the cost "
        "level of a type with cost_ratio 1. Omit for one type.",
    )

    @model_validator(mode="after")
    def _types(self) -> Population:
        types = self.enrollment_types
        if types is None:
            return self
        total = math.fsum(t.share for t in types)
        if abs(total - 1.0) > 1e-9:
            raise FieldError(
                "enrollment_types", f"the shares must sum to 1; they sum to {total:.6g}"
            )
        names = [t.name for t in types]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldError(("enrollment_types", i, "name"), f"duplicate type {name!r}")
        # The member slots each type gets, as the kernels' lanes are cut (round half to even).
        bound = 0
        cumulative = 0.0
        for i, t in enumerate(types):
            cumulative += t.share
            upper = self.members if i == len(types) - 1 else round(cumulative * self.members)
            if upper - bound < 1:
                raise FieldError(
                    ("enrollment_types", i, "share"),
                    f"{t.share} of {self.members} members is no member slot; give a larger share",
                )
            bound = upper
        return self

    @property
    def death_rate(self) -> float:
        """The annual probability of death in force: ``mortality``, or when omitted Medicare's
        0.045 or ``turnover`` where that is smaller (a death is a departure)."""
        if self.mortality is not None:
            return self.mortality
        return min(MEDICARE_MORTALITY, self.turnover)

    @property
    def departure_load(self) -> float:
        """Expected cost per member-month of the settled population, decedents and partial years
        included, over a full-year survivor's (at risk 1, index 1, in a stationary year).

        Per slot-year: the occupant stays (``1 - T``: cost 1, 12 months), leaves by a move
        (``T - d - a``: mean share and months 1/2), dies (``d``: cost ``decedent_cost_ratio``,
        6 months on average) or loses attribution (``a``: outside the settlement); a joiner
        follows a leaver with probability ``replacement`` (cost and months 1/2). The engine
        scales every member's cost by ``1 / departure_load`` so that ``cost.pmpm`` is the
        all-in PMPM (1.13 with the defaults).
        """
        t, d, a, rho = self.turnover, self.death_rate, self.attribution_loss, self.replacement
        cost = (1.0 - t) + 0.5 * (t - d - a) + d * self.decedent_cost_ratio + 0.5 * t * rho
        months = (1.0 - t) + 0.5 * (t - a) + 0.5 * t * rho
        return cost / months if months > 0.0 else 1.0

    @model_validator(mode="after")
    def _modes_within_turnover(self) -> Population:
        modes = self.death_rate + self.attribution_loss
        if modes > self.turnover + 1e-12:
            field = "mortality" if self.mortality is not None else "attribution_loss"
            raise FieldError(
                field,
                f"mortality + attribution_loss = {self.death_rate} + {self.attribution_loss} "
                f"exceeds turnover {self.turnover}: deaths and losses of attribution are "
                f"departures, part of turnover",
            )
        return self


class SeverityTail(SettleModel):
    """The tail of a spliced severity: the threshold plus a generalised Pareto excess."""

    family: Literal["pareto", "gpd"] = Field(
        default="pareto",
        description="`pareto`: a single-parameter Pareto from the threshold, of shape alpha "
        "(`shape` > 1); `gpd`: a generalised Pareto excess over the threshold, of shape xi "
        "(`shape` < 1; 0 an exponential excess) and scale `scale`.",
    )
    shape: float = Field(
        allow_inf_nan=False,
        description="The tail's shape: alpha (pareto, > 1 so that the mean exists; smaller is "
        "heavier) or xi (gpd, -1 to 1; larger is heavier) (dimensionless).",
    )
    scale: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e9,
        allow_inf_nan=False,
        description="Scale sigma of a gpd excess (USD, at risk 1 and cost index 1; gpd only, "
        "and required there).",
    )

    @model_validator(mode="after")
    def _shape(self) -> SeverityTail:
        why = shape_error(self.family, self.shape)
        if why is not None:
            raise FieldError("shape", why)
        if self.family == "gpd" and self.scale is None:
            raise FieldError("scale", "a gpd tail needs its scale (USD)")
        if self.family == "pareto" and self.scale is not None:
            raise FieldError("scale", "a pareto tail's scale is the threshold: remove scale")
        return self


class SeverityBody(SettleModel):
    """The body of a spliced severity: a family conditioned to lie below the threshold."""

    family: BodyFamily = Field(
        description="Family of the body: `lognormal`, `weibull` or `lomax` (as in "
        "`cost.severity.family`).",
    )
    shape: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The body family's shape before it is cut at the threshold "
        "(dimensionless; as `cost.severity.shape`); give it or `cv`. The scale is solved so "
        "that the mean claim is 12 x pmpm / claims_per_year.",
    )
    cv: float | None = Field(
        default=None,
        gt=0.0,
        le=1000.0,
        allow_inf_nan=False,
        description="The body family's coefficient of variation before it is cut at the "
        "threshold (dimensionless), which fixes its shape; give it or `shape`.",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> SeverityBody:
        self_shape(self)
        return self

    @property
    def resolved_shape(self) -> float:
        return resolved_shape(self)


class Severity(SettleModel):
    """Claim severity of the frequency-severity model: a family whose scale makes the mean
    claim ``12 x pmpm / claims_per_year`` (before risk and trend), with its shape given or
    solved from a coefficient of variation, or a splice of a body and a tail at a threshold.
    See :mod:`simsettle.scenario.severity` for each family's parameters."""

    family: Family | Literal["spliced"] = Field(
        description="`lognormal` (shape: log-sd sigma), `gamma` (shape a), `weibull` (shape "
        "k), `lomax` (Pareto type II, shape alpha > 1), `pareto` (single-parameter, shape "
        "alpha > 1, scale the least claim), `gpd` (generalised Pareto, shape xi < 1), "
        "`inverse_gaussian` (shape lambda / mu), `loglogistic` (shape beta > 1), or `spliced` "
        "(`body` below `threshold`, `tail` above it with probability `tail_probability`).",
    )
    shape: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="The family's shape parameter (dimensionless; see `family`); give it or "
        "`cv` (not for spliced).",
    )
    cv: float | None = Field(
        default=None,
        gt=0.0,
        le=1000.0,
        allow_inf_nan=False,
        description="Coefficient of variation of a claim (dimensionless), which fixes the "
        "family's shape; give it or `shape` (not for spliced). Within the shape limits: lomax "
        "from 1.01 up, pareto from 0.010, gpd from 0.58, loglogistic from 0.018 (each without "
        "an upper end); gamma and inverse Gaussian 0.001 to 100, lognormal up to about 2981, "
        "weibull 0.013 to 430.",
    )
    threshold: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e9,
        allow_inf_nan=False,
        description="Where the body ends and the tail begins (USD per claim, at risk 1 and "
        "cost index 1; spliced only).",
    )
    tail_probability: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description="Probability that a claim lies in the tail, above the threshold "
        "(fraction; spliced only).",
    )
    body: SeverityBody | None = Field(
        default=None, description="The body below the threshold (spliced only)."
    )
    tail: SeverityTail | None = Field(
        default=None, description="The tail above the threshold (spliced only)."
    )

    @model_validator(mode="after")
    def _complete(self) -> Severity:
        spliced = ("threshold", "tail_probability", "body", "tail")
        if self.family == "spliced":
            for name in spliced:
                if getattr(self, name) is None:
                    raise FieldError(name, f"a spliced severity needs {name}")
            for name in ("shape", "cv"):
                if getattr(self, name) is not None:
                    raise FieldError(
                        name, f"a spliced severity takes its body's {name}: move it to body"
                    )
            return self
        for name in spliced:
            if getattr(self, name) is not None:
                raise FieldError(name, f"{name} belongs to a spliced severity (family: spliced)")
        self_shape(self)
        return self

    @property
    def resolved_shape(self) -> float:
        """The family's shape, given or solved from ``cv`` (not for spliced)."""
        return resolved_shape(self)

    def _splice(self) -> tuple[float, float, BodyFamily, float, str, float, float | None]:
        """A splice's threshold, tail probability, body family and shape, tail family, shape
        and scale, as :func:`~simsettle.scenario.severity.spliced_law` takes them after the
        mean."""
        body, tail = self.body, self.tail
        assert body is not None
        assert tail is not None
        assert self.threshold is not None
        assert self.tail_probability is not None
        return (
            self.threshold,
            self.tail_probability,
            body.family,
            body.resolved_shape,
            tail.family,
            tail.shape,
            tail.scale,
        )

    def law(self, mean: float) -> SeverityLaw:
        """The resolved law whose mean claim is ``mean`` (USD)."""
        if self.family != "spliced":
            return plain_law(self.family, self.resolved_shape, mean)
        return spliced_law(mean, *self._splice())

    def splice_error(self, mean: float) -> str | None:
        """Why no body scale gives this splice the mean claim ``mean``, or None."""
        return None if self.family != "spliced" else splice_error(mean, *self._splice())


def self_shape(m: Severity | SeverityBody) -> None:
    """Check that ``m`` gives exactly one of shape and cv, and that it is admissible."""
    if (m.shape is None) == (m.cv is None):
        raise FieldError(
            "cv" if m.shape is not None else "shape",
            f"give exactly one of shape ({SHAPE_MEANING[m.family]}) and cv for a {m.family} "
            "severity",
        )
    if m.shape is not None:
        why = shape_error(m.family, m.shape)
        if why is not None:
            raise FieldError("shape", why)
        return
    try:
        shape = resolved_shape(m)
    except ValueError as exc:
        raise FieldError("cv", str(exc)) from None
    why = shape_error(m.family, shape)
    if why is not None:
        raise FieldError("cv", f"cv {m.cv:g} needs a shape outside the limits: {why}")


def resolved_shape(m: Severity | SeverityBody) -> float:
    """The shape ``m`` gives, or the one its ``cv`` needs."""
    if m.shape is not None:
        return m.shape
    assert m.cv is not None
    return shape_from_cv(m.family, m.cv)


def _default_tail_threshold(data: dict[str, Any]) -> float:
    """``tail_threshold`` when omitted: 60 x pmpm (five times the mean annual cost). Where pmpm
    itself failed validation any number does: the pmpm error is reported."""
    pmpm = data.get("pmpm")
    return default_tail_threshold(pmpm if isinstance(pmpm, float) else 1000.0)


class Cost(SettleModel):
    """Annual allowed cost of a member with risk score 1 in the first simulated year.

    A member-year costs nothing with probability ``zero_cost_share``; is a high-cost claimant with
    probability ``tail_probability``, with cost ``tail_threshold`` times a Pareto(``tail_shape``)
    variate; and otherwise draws from a lognormal body with log-sd ``body_sigma`` whose mean is
    solved so that the mean cost is ``12 x pmpm``. Cost scales with the member's risk score, the
    systemic trend index and the share of the year enrolled.

    The defaults, with the default population (its risk spread and its deaths: decedents carry
    an end-of-life episode, population.decedent_cost_ratio), put 15.1% of spend on the top 1% of
    the members enrolled all year or until death, 41.6% on the top 5% and 60.0% on the top 10%,
    against 14.9%, 41.5% and 60.0% in Medicare FFS (Wallis et al. 2021, EClinicalMedicine,
    doi 10.1016/j.eclinm.2021.100873; docs/methodology.md section 2.3), with a coefficient of
    variation of annual cost near 2.2. They were fitted to those figures with the deaths on
    (issue 14); the full-year survivors alone give 16.4% / 44.4% / 62.6%.

    A continuing member's cost persists from year to year beyond its risk score
    (``persistence``), each year's distribution unchanged.
    """

    pmpm: Money = Field(
        gt=0.0,
        le=1e6,
        allow_inf_nan=False,
        description="Mean allowed cost per member per month in the first simulated year (the "
        "first base year; the first performance year under a fixed benchmark, unless another "
        "line of a portfolio simulates base years), "
        "for a risk score of 1, all members included: decedents (whose year of death costs "
        "`population.decedent_cost_ratio` full years) and partial years (USD per member per "
        "month). A full-year survivor's cost is pmpm / `Population.departure_load` (about "
        "0.885 pmpm with the default population); `tail_threshold` scales with it.",
    )
    zero_cost_share: Fraction = Field(
        default=0.15,
        description="Probability that a member-year has no cost at all (fraction).",
    )
    body_sigma: float = Field(
        default=1.3,
        gt=0.0,
        le=4.0,
        allow_inf_nan=False,
        description="Standard deviation of log annual cost in the lognormal body (dimensionless; "
        "body_family: lognormal only, where body_shape means the same and body_cv gives it "
        "as sqrt(log(1 + body_cv^2)): give one of the three).",
    )
    body_family: Family = Field(
        default="lognormal",
        description="Family of the body's annual cost (mixture only): `lognormal` (log-sd "
        "body_sigma, or body_shape, or body_cv), or `gamma`, `weibull`, `lomax`, `pareto`, "
        "`gpd`, `inverse_gaussian` or `loglogistic`, with its shape given by body_shape or "
        "body_cv (as cost.severity.family's). Its scale always makes the body's mean the one "
        "that gives the mixture the mean 12 x pmpm. With cost.persistence the body is the "
        "family's quantile of the latent body normal's probability (a Gaussian copula).",
    )
    body_shape: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Shape parameter of a body of another family than the lognormal "
        "(dimensionless; as cost.severity.shape: gamma a, weibull k, lomax and pareto alpha "
        "> 1, gpd xi < 1, inverse Gaussian lambda / mu, loglogistic beta > 1); give it or "
        "body_cv, or let cost.cv solve it.",
    )
    body_cv: float | None = Field(
        default=None,
        gt=0.0,
        le=1000.0,
        allow_inf_nan=False,
        description="Coefficient of variation of a body member-year's cost (before risk), "
        "which fixes the shape of a body of another family than the lognormal "
        "(dimensionless); give it or body_shape.",
    )
    tail_probability: Fraction = Field(
        default=0.056,
        description="Probability that a member-year is a high-cost claimant drawn from the "
        "Pareto tail (fraction).",
    )
    tail_threshold: Money = Field(
        default_factory=_default_tail_threshold,
        gt=0.0,
        le=1e9,
        allow_inf_nan=False,
        description="Scale (minimum) of the high-cost-claimant Pareto tail, before risk and "
        "trend (USD per member per year). Omit for 60 x pmpm (five times the mean annual "
        "cost; 60,000 at a PMPM of 1,000), so that the cost shape (CV, concentration) does not "
        "change with pmpm; a fixed amount makes a lower pmpm more concentrated.",
    )
    tail_shape: float = Field(
        default=5.0,
        ge=-1.0,
        le=100.0,
        allow_inf_nan=False,
        description="Pareto shape (alpha) of the high-cost tail (dimensionless, > 1 so that the "
        "mean exists; smaller is heavier); with tail_family: gpd, the generalised Pareto xi "
        "(-1 to 1, larger is heavier; 0 an exponential excess; required there).",
    )
    tail_family: Literal["pareto", "gpd"] = Field(
        default="pareto",
        description="Law of a high-cost member-year's cost above tail_threshold (mixture "
        "only): `pareto`, tail_threshold times a Pareto(tail_shape) variate; `gpd`, "
        "tail_threshold plus a generalised Pareto excess of shape xi (tail_shape) and scale "
        "tail_scale, which holds the Lomax (xi > 0), exponential (0) and bounded (xi < 0) "
        "excesses (the peaks-over-threshold law).",
    )
    tail_scale: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e9,
        allow_inf_nan=False,
        description="Scale sigma of a gpd tail's excess over tail_threshold (USD per member "
        "per year, before risk and trend; tail_family: gpd only, and required there).",
    )
    model: Literal["mixture", "frequency_severity"] = Field(
        default="mixture",
        description="`mixture`: zero mass, lognormal body and Pareto tail (the fields above); "
        "`frequency_severity`: a yearly number of claims, Poisson with an over-dispersing "
        "frailty, each of a claim severity (claims_per_year, claim_dispersion, "
        "severity_sigma for a lognormal one, or `severity` for another family); both have "
        "mean 12 x pmpm. The frequency-severity defaults, with the "
        "default risk spread, put about 42% of spend on the top 5% of member-years (CV 2.4).",
    )
    claims_per_year: float = Field(
        default=12.0,
        gt=0.0,
        le=200.0,
        allow_inf_nan=False,
        description="Mean number of claims a year of a risk-1 member (count per year; "
        "frequency_severity only).",
    )
    claim_dispersion: float = Field(
        default=1.2,
        ge=0.0,
        le=3.0,
        allow_inf_nan=False,
        description="Spread of the frailty multiplying a member's claim rate (dimensionless; "
        "0 for a Poisson count; frequency_severity only): the log-sd of a lognormal frailty, "
        "or the standard deviation of a gamma one (`claim_frailty`).",
    )
    claim_frailty: Literal["lognormal", "gamma"] = Field(
        default="lognormal",
        description="Distribution of a member's claim-rate frailty (mean 1): `lognormal` "
        "(a Poisson-lognormal count; with cost.persistence the frailty persists), or `gamma` "
        "of variance claim_dispersion^2, which makes the count negative binomial with size "
        "1 / claim_dispersion^2 (drawn afresh each year: cost.persistence does not apply, "
        "and is refused if given); frequency_severity only.",
    )
    severity_sigma: float = Field(
        default=1.6,
        gt=0.0,
        le=4.0,
        allow_inf_nan=False,
        description="Standard deviation of log claim severity (dimensionless; "
        "frequency_severity only; for another family use `severity`); the mean severity is "
        "12 x pmpm / claims_per_year.",
    )
    claim_count: Literal["poisson", "binomial"] = Field(
        default="poisson",
        description="A member-year's claim count given its rate: `poisson` (mixed over the "
        "claim frailty: Poisson-lognormal, or negative binomial with claim_frailty: gamma) or "
        "`binomial` (at most claim_trials claims, each with probability claims_per_year / "
        "claim_trials; less dispersed than the Poisson; no claim frailty, and "
        "claim_dispersion defaults to 0 with it); frequency_severity only.",
    )
    claim_trials: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="The most claims a risk-1 member-year can have: the binomial count's "
        "number of trials (count per year; claim_count: binomial only, and required there).",
    )
    claim_zero_probability: float | None = Field(
        default=None,
        ge=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description="Probability that a member-year has no claims at all (fraction; "
        "frequency_severity only): the zero-modified form of the Poisson, negative-binomial "
        "(claim_frailty: gamma) or binomial count, which has at least one claim otherwise, "
        "from the base count conditioned on one at least. Above the base count's own "
        "probability of none it adds non-users; below it, it takes them away. The base count's "
        "mean is solved so that the mean count stays claims_per_year (which must exceed 1 - "
        "claim_zero_probability). Not with contagion or a lognormal claim frailty; "
        "claim_dispersion defaults to 0 with it.",
    )
    severity: Severity | None = Field(
        default=None,
        description="Claim severity of another family, or a splice of a body and a tail "
        "(frequency_severity only; see cost.severity.family); omit for a lognormal severity of "
        "log-sd severity_sigma. Its scale always makes the mean claim 12 x pmpm / "
        "claims_per_year.",
    )
    contagion: float = Field(
        default=0.0,
        ge=0.0,
        le=10.0,
        allow_inf_nan=False,
        description="Variance of the claim contagion: a gamma factor of mean 1, one per trial "
        "and year, that multiplies every member's claim rate, so that claim counts move "
        "together (dimensionless; 0 for none; frequency_severity only). With Poisson members "
        "(claim_dispersion 0) the year's total claim count is negative binomial; the "
        "per-member dispersion is claim_dispersion, apart from it.",
    )
    cv: float | None = Field(
        default=None,
        gt=0.0,
        le=50.0,
        allow_inf_nan=False,
        description="Target coefficient of variation of a member's annual cost, risk included "
        "(dimensionless; mixture only). With `top5_share`, the engine solves body_sigma and "
        "tail_probability (which must then be omitted) for these moments. Alone, it keeps the "
        "default shape (zero_cost_share 0.15, tail_probability 0.056, tail_shape 5, "
        "tail_threshold 60 x pmpm, or those given) and solves body_sigma (which must then be "
        "omitted); with the default risk spread that reaches CVs from about 1.64 up (CV 2.2: "
        "body_sigma 1.19, top 5% share 42%).",
    )
    top5_share: float | None = Field(
        default=None,
        gt=0.05,
        lt=1.0,
        allow_inf_nan=False,
        description="Target share of spend carried by the costliest 5% of member-years "
        "(fraction; Medicare FFS: 0.415; mixture only). Given with `cv`.",
    )
    preset: PresetName | None = Field(
        default=None,
        description="The spend concentration of a published population (simsettle.scenario."
        "presets): `medicare_ffs` (top 1/5/10% of member-years = 14.9/41.5/60.0% of spend), "
        "`us_population` (MEPS, all payers: 21.7% / 50%), `commercial` (employer claims: "
        "28/56/70%) or `medicaid` (Medicaid-only enrollees: top 5% 48%). Sets cv, top5_share, "
        "zero_cost_share and tail_shape (fields given beside it win); the engine solves "
        "body_sigma and tail_probability at the scenario's risk_sigma.",
    )
    persistence: float = Field(
        default=0.6,
        ge=0.0,
        le=0.99,
        allow_inf_nan=False,
        description="Year-to-year persistence of a continuing member's cost beyond its risk "
        "score: the correlation of the two latent normals behind its annual cost (one decides "
        "the class, zero, body or tail, and the place in the Pareto tail; the other the body's "
        "lognormal draw; under frequency_severity the claim frailty's) from one year to the "
        "next, each an AR(1) (a Gaussian copula), so that the distribution of a year's cost is "
        "unchanged (dimensionless, in [0, 0.99]; 0: each year drawn afresh). The default 0.6 "
        "with the default risk model keeps 17.5% of the costliest 1% of members there the next "
        "year and 68% of the cheaper half in it, against 14.0% to 20.0% and about 75% in the "
        "US population (MEPS Statistical Briefs #309, #354 and #481, 2007 to 2013).",
    )
    partial_year: Literal["exposure", "pro_rata"] = Field(
        default="exposure",
        description="Cost of a stay shorter than a year. `exposure`: mean and variance both in "
        "proportion to the months enrolled, as for cost that accrues with independent "
        "increments (the stay carries the year's whole cost as one episode with probability "
        "CV^2 / (1 + CV^2) times its share of the year, none of it with CV^2 / (1 + CV^2) times "
        "the rest, and otherwise its share pro rata); `pro_rata`: the annual draw times the "
        "share of the year, whose variance falls with the square of the months (simsettle's "
        "earlier model, kept for comparison). A full year is the same under both.",
    )

    @property
    def annual_mean(self) -> float:
        """Mean annual cost of a risk-1 member in the first year (USD)."""
        return 12.0 * self.pmpm

    @property
    def body_mean(self) -> float:
        """Mean of the lognormal body (USD per year) that makes the overall mean ``12 x pmpm``."""
        return body_mean(self.annual_mean, self)

    @property
    def episodic_share(self) -> float:
        """Probability that a partial-year stay's cost is one episode (``partial_year:
        exposure``; 0 for ``pro_rata``): :func:`~simsettle.scenario.costs.episodic_share` of the
        coefficient of variation of a risk-1 member-year's cost (the risk score is the member's
        and does not scale with the months)."""
        if self.partial_year == "pro_rata":
            return 0.0
        if self.model == "frequency_severity":
            # The contagion is systemic, like the cost index: not part of a member's own spread.
            cv = self.compound_cv
        else:
            cv = self.shape(0.0).mixture.cv
        return episodic_share(cv)

    @model_validator(mode="before")
    @classmethod
    def _count_defaults(cls, data: Any) -> Any:
        """A binomial or zero-modified count has no frailty unless one is asked for."""
        if isinstance(data, Mapping) and (
            data.get("claim_count") == "binomial" or data.get("claim_zero_probability") is not None
        ):
            data = {"claim_dispersion": 0.0, **data}
        return data

    @property
    def count_law(self) -> CountLaw | None:
        """The claim count of a risk-1 member-year when it is drawn by inversion (binomial, or
        zero-modified), else None (the Poisson mixed over the claim frailty)."""
        zero = self.claim_zero_probability
        if self.claim_count == "poisson" and zero is None:
            return None
        if self.claim_count == "binomial":
            assert self.claim_trials is not None
            return count_law("binomial", self.claims_per_year, float(self.claim_trials), zero)
        if self.claim_frailty == "gamma" and self.claim_dispersion > 0.0:
            size = 1.0 / self.claim_dispersion**2
            return count_law("negative_binomial", self.claims_per_year, size, zero)
        return count_law("poisson", self.claims_per_year, 0.0, zero)

    @property
    def compound_cv(self) -> float:
        """Coefficient of variation of a risk-1 member-year's cost under frequency_severity
        (:func:`~simsettle.scenario.costs.compound_cv`; ``inf`` for a severity without a
        variance). With a count drawn by inversion, ``CV^2 = CV_s^2 / E[N] + Var(N) /
        E[N]^2``."""
        count = self.count_law
        if count is not None:
            cv_s2 = self.severity_law.cv**2
            return math.sqrt(cv_s2 / count.mean + count.variance / count.mean**2)
        return compound_cv(
            self.claims_per_year,
            self.claim_dispersion,
            self.severity_sigma,
            self.claim_frailty,
            severity_cv=None if self.severity is None else self.severity_law.cv,
        )

    def _count_rules(self) -> None:
        """The claim count's rules under frequency_severity (FieldError naming the field)."""
        zero = self.claim_zero_probability
        binomial = self.claim_count == "binomial"
        if binomial and self.claim_trials is None:
            raise FieldError("claim_trials", "a binomial claim count needs claim_trials")
        if not binomial and self.claim_trials is not None:
            raise FieldError(
                "claim_trials", "claim_trials is the binomial count's: claim_count: binomial"
            )
        if binomial and self.claim_dispersion > 0.0:
            raise FieldError(
                "claim_dispersion",
                "a binomial claim count has no claim frailty here (a beta-binomial is not "
                "built): claim_dispersion must be 0",
            )
        if zero is not None and self.contagion > 0.0:
            raise FieldError(
                "contagion",
                "a zero-modified count fixes its probability of no claims, which a common "
                "factor on its rate would move: not with contagion",
            )
        if zero is not None and self.claim_frailty == "lognormal" and self.claim_dispersion > 0.0:
            raise FieldError(
                "claim_zero_probability",
                "a zero-modified count is built on the Poisson, the negative binomial "
                "(claim_frailty: gamma) or the binomial, not on a lognormal frailty: "
                "claim_dispersion: 0 or claim_frailty: gamma",
            )
        if not binomial and zero is None:
            return  # the Poisson mixed over the claim frailty
        family = "binomial" if binomial else "poisson"
        size = float(self.claim_trials or 0)
        if not binomial and self.claim_frailty == "gamma" and self.claim_dispersion > 0.0:
            family, size = "negative_binomial", 1.0 / self.claim_dispersion**2
        why = count_law_error(family, self.claims_per_year, size, zero)
        if why is not None:
            raise FieldError("claims_per_year", why)
        if binomial and self.contagion > 0.0:
            # The year's factor scales q: it must stay below 1 in all but a negligible share.
            assert self.count_law is not None
            base = self.count_law.base_mean
            bound = gamma_exceeds(self.contagion, size / base)
            if bound > 1e-9:
                raise FieldError(
                    "contagion",
                    f"the contagion would take the binomial's claim probability q = "
                    f"{base / size:.3g} above 1 in up to {bound:.2g} of years (the bound on "
                    "P(q G > 1)); lower contagion or raise claim_trials",
                )

    @property
    def severity_law(self) -> SeverityLaw:
        """The claim severity at risk 1 and cost index 1, its mean ``12 x pmpm /
        claims_per_year`` (frequency_severity): ``severity``'s law, or the lognormal of log-sd
        ``severity_sigma``."""
        mean = 12.0 * self.pmpm / self.claims_per_year
        if self.severity is None:
            return plain_law("lognormal", self.severity_sigma, mean)
        return self.severity.law(mean)

    @property
    def resolved_body_shape(self) -> float:
        """The body family's shape: body_sigma for the lognormal, else body_shape or the shape
        whose CV is body_cv."""
        if self.body_family == "lognormal" and self.body_cv is not None:
            return math.sqrt(math.log1p(self.body_cv**2))
        if self.body_family == "lognormal" and self.body_shape is None:
            return self.body_sigma
        if self.body_shape is not None:
            return self.body_shape
        assert self.body_cv is not None
        return shape_from_cv(self.body_family, self.body_cv)

    def shape(self, risk_sigma: float) -> CostShape:
        """The mixture's parameters with the population's ``risk_sigma``, for
        :func:`~simsettle.scenario.costs.cost_moments` (the frequency-severity fields aside)."""
        skip = {"risk_sigma", "body_sigma", "tail_scale"}
        own = {f.name: getattr(self, f.name) for f in fields(CostShape) if f.name not in skip}
        return CostShape(
            risk_sigma=risk_sigma,
            body_sigma=self.resolved_body_shape,
            tail_scale=self.tail_scale or 0.0,
            **own,
        )

    def _mixture_families(self) -> None:
        """The body's and the tail's family rules (FieldError naming the field)."""
        given = self.model_fields_set
        if self.body_family == "lognormal":
            # body_shape means body_sigma; body_cv gives it as sqrt(log(1 + cv^2)); one of the
            # three (so that a sweep over body_family at one body_cv includes the lognormal).
            named = [k for k in ("body_sigma", "body_shape", "body_cv") if k in given]
            named = [k for k in named if k == "body_sigma" or getattr(self, k) is not None]
            if len(named) > 1:
                raise FieldError(
                    named[1], f"the lognormal body's log-sd is given once: {' or '.join(named)}"
                )
            if named and not 0.0 < self.resolved_body_shape <= 4.0:
                raise FieldError(
                    named[0],
                    f"the lognormal body's log-sd must lie in (0, 4]; {named[0]} "
                    f"{getattr(self, named[0]):g} gives {self.resolved_body_shape:.4g}",
                )
        else:
            if "body_sigma" in given:
                raise FieldError(
                    "body_sigma",
                    f"body_sigma is the lognormal body's log-sd: a {self.body_family} body "
                    "takes body_shape or body_cv",
                )
            if (self.body_shape is None) == (self.body_cv is None):
                raise FieldError(
                    "body_shape",
                    f"a {self.body_family} body needs exactly one of body_shape and body_cv "
                    "(or cost.cv to solve it)",
                )
            if self.body_shape is not None:
                why = shape_error(self.body_family, self.body_shape)
                if why is not None:
                    raise FieldError("body_shape", why)
            else:
                assert self.body_cv is not None
                try:
                    shape_from_cv(self.body_family, self.body_cv)
                except ValueError as exc:
                    raise FieldError("body_cv", str(exc)) from None
        if self.tail_family == "pareto":
            if not self.tail_shape > 1.0:
                raise FieldError(
                    "tail_shape",
                    f"the Pareto tail's shape alpha must be above 1 (so that its mean exists); "
                    f"got {self.tail_shape:g}",
                )
            if self.tail_scale is not None:
                raise FieldError(
                    "tail_scale", "a Pareto tail's scale is tail_threshold: remove tail_scale"
                )
            return
        if "tail_shape" not in given:
            raise FieldError("tail_shape", "a gpd tail needs its shape xi as tail_shape")
        why = shape_error("gpd", self.tail_shape)
        if why is not None:
            raise FieldError("tail_shape", why)
        if self.tail_scale is None:
            raise FieldError("tail_scale", "a gpd tail needs its scale tail_scale (USD)")

    @model_validator(mode="after")
    def _solvable(self) -> Cost:
        targets = (self.cv is not None, self.top5_share is not None)
        if any(targets) and self.model == "frequency_severity":
            raise FieldError("cv", "cv and top5_share targets solve the mixture model only")
        if targets[1] and not targets[0]:
            raise FieldError("cv", "top5_share is a target beside cv: give cv too")
        body = "body_sigma" if self.body_family == "lognormal" else "body_shape"
        solved = {body, "tail_probability"} if targets[1] else {body}
        if targets[0] and not solved <= self.model_fields_set:
            raise FieldError(
                "cv",
                "cost targets are solved against the population's risk spread: use them in a "
                f"scenario, or give {' and '.join(sorted(solved))}",
            )
        if self.severity is not None and self.model != "frequency_severity":
            raise FieldError("severity", "a claim severity needs model: frequency_severity")
        if self.severity is not None and "severity_sigma" in self.model_fields_set:
            raise FieldError(
                "severity_sigma",
                "give the severity once: severity_sigma is the lognormal's log-sd when severity "
                "is omitted (or write severity: {family: lognormal, shape: ...})",
            )
        if self.severity is not None:
            why = self.severity.splice_error(12.0 * self.pmpm / self.claims_per_year)
            if why is not None:
                raise FieldError(("severity", "threshold"), why)
        if self.model == "frequency_severity":
            for name in ("body_family", "body_shape", "body_cv", "tail_family", "tail_scale"):
                if name in self.model_fields_set:
                    raise FieldError(
                        name,
                        f"{name} shapes the mixture model; under frequency_severity a claim's "
                        "family is cost.severity",
                    )
            self._count_rules()
            given = "persistence" in self.model_fields_set and self.persistence > 0.0
            if self.claim_frailty == "gamma" and given:
                raise FieldError(
                    "persistence",
                    "a gamma claim frailty is drawn afresh each year: remove persistence, or "
                    "use claim_frailty: lognormal",
                )
            return self  # the mixture's fields are not used: nothing to check them against
        if self.claim_frailty != "lognormal":
            raise FieldError("claim_frailty", "the claim frailty needs model: frequency_severity")
        for name in ("claim_count", "claim_trials", "claim_zero_probability"):
            if name in self.model_fields_set and getattr(self, name) not in (None, "poisson"):
                raise FieldError(name, f"{name} needs model: frequency_severity")
        if self.contagion > 0.0:
            raise FieldError(
                "contagion",
                "claim contagion multiplies claim counts: it needs model: frequency_severity",
            )
        self._mixture_families()
        if not self.zero_cost_share + self.tail_probability < 1.0:  # as CostShape checks it
            raise FieldError(
                "tail_probability",
                f"zero_cost_share + tail_probability must be below 1 so that some members fall "
                f"in the body; got {self.zero_cost_share} + {self.tail_probability}",
            )
        if self.body_mean <= 0.0:
            tail = self.tail_probability * tail_mean(
                self.tail_threshold, self.tail_shape, self.tail_family, self.tail_scale
            )
            raise FieldError(
                "tail_threshold",
                f"the high-cost tail alone carries a mean of "
                f"{tail:,.0f} USD per member-year, at least the "
                f"target 12 x pmpm = {self.annual_mean:,.0f}; lower tail_probability or "
                f"tail_threshold, or raise pmpm",
            )
        return self


class Trend(SettleModel):
    """Systemic cost trend: one draw per trial and year, shared by every member."""

    mean: AnnualRate = Field(
        default=0.04,
        description="Expected annual growth of cost per member (fraction per year).",
    )
    sd: Fraction = Field(
        default=0.02,
        description="Standard deviation of the annual log growth factor (fraction per year); the "
        "growth factor is lognormal with mean 1 + `mean`.",
    )
    reference_mean: AnnualRate | None = Field(
        default=None,
        description="Expected annual cost growth of the reference (regional/national) "
        "population whose realized trend can update the benchmark (fraction per year); omit "
        "for the provider's `mean`.",
    )
    reference_sd: Fraction | None = Field(
        default=None,
        description="Standard deviation of the reference population's annual log growth "
        "(fraction per year); omit for the provider's `sd`.",
    )
    correlation: Correlation = Field(
        default=0.9,
        description="Correlation of the provider's and the reference population's annual log "
        "growth (dimensionless) [U: a stand-in; regional trends move closely together].",
    )
    national_mean: AnnualRate | None = Field(
        default=None,
        description="Expected annual cost growth of the national population, blended with the "
        "regional reference by benchmark.national_weight (fraction per year); omit for "
        "reference_mean.",
    )
    national_sd: Fraction | None = Field(
        default=None,
        description="Standard deviation of the national annual log growth (fraction per year); "
        "omit for reference_sd.",
    )
    national_correlation: Correlation = Field(
        default=0.8,
        description="Correlation of the provider's and the national annual log growth "
        "(dimensionless) [U: a stand-in].",
    )
    shock_probability: Fraction = Field(
        default=0.0,
        description="Probability that a year has a systemic utilization shock, hitting the "
        "provider and the reference alike (fraction per year; 2020 and 2022 are examples).",
    )
    shock_size: float = Field(
        default=0.0,
        gt=-0.9,
        le=2.0,
        allow_inf_nan=False,
        description="Size of a shock: that year's cost level changes by this fraction and "
        "returns to trend the next year (fraction; -0.1 for depressed utilization).",
    )


class CareManagement(SettleModel):
    """A care-management programme: true savings on the high-risk group, at a cost.

    The programme acts on the members the provider knows when it acts: its own roster, that is
    every member but the payer-only ones (``population.attribution.payer_only_share``), whether
    or not the payer attributes them at the end. Under prospective attribution those are the
    members of the payer's list the provider knows; under retrospective attribution the
    provider cannot know the final list during the year, so it manages its own roster and pays
    for members who then drop out. Of a managed member's cost it avoids ``effect x (1 -
    leakage_share)``: spend with providers outside the network is out of its reach.
    """

    high_risk_share: Fraction = Field(
        default=0.05,
        description="Share of members enrolled: those with the highest latent risk (fraction).",
    )
    effect: Fraction = Field(
        description="Share of an enrolled member's cost the programme avoids (fraction)."
    )
    cost_pmpm: Money = Field(
        default=0.0,
        ge=0.0,
        le=1e5,
        allow_inf_nan=False,
        description="Programme cost per enrolled member per month, borne by the provider "
        "outside the settled spend (USD per member per month).",
    )
    start: Literal["performance_years", "all_years"] = Field(
        default="performance_years",
        description="When the programme runs: from the first performance year (its savings are "
        "not in the benchmark) or in every simulated year.",
    )


class QualityModel(SettleModel):
    """The quality score of each performance year: logit-normal with year-to-year persistence.

    When given, every design's quality terms use the simulated score of each trial-year instead
    of the fixed ``quality.score`` of the design.
    """

    mean: float = Field(
        gt=0.0,
        lt=1.0,
        allow_inf_nan=False,
        description="Median quality score (fraction, 0 to 1).",
    )
    sd: float = Field(
        default=0.3,
        ge=0.0,
        le=5.0,
        allow_inf_nan=False,
        description="Standard deviation of the score on the logit scale (dimensionless).",
    )
    persistence: Fraction = Field(
        default=0.7,
        description="Year-to-year correlation of the score's logit (dimensionless).",
    )


class Truncation(SettleModel):
    """Truncation of each member's annual cost for the settlement, with no premium.

    A member-year's allowed cost above the year's threshold is left out of the spend the
    benchmark is built from (its base years) and of the spend every design settles on, as CMS
    truncates each beneficiary's expenditure at the 99th percentile of national FFS expenditure
    (by enrolment type) and as commercial contracts exclude catastrophic claims. The amount
    left out is the results' ``truncated_spend``; individual stop-loss then responds to the
    truncated cost (between its attachment and the threshold).

    The threshold of simulated year ``y`` (0: the first simulated year) is ``threshold x (1 +
    trend_rate)^y``, or the ``percentile`` of the first simulated year's member-year cost (the
    members enrolled all year or until death, risk and decedents included) grown likewise.
    """

    threshold: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e9,
        allow_inf_nan=False,
        description="Annual cost per member above which spend is left out, in the first "
        "simulated year (USD per member per year); give it or `percentile`.",
    )
    percentile: float | None = Field(
        default=None,
        ge=0.5,
        le=0.9999,
        allow_inf_nan=False,
        description="The threshold as a percentile of the simulated member-year cost "
        "distribution of the first simulated year (fraction, 0.5 to 0.9999; CMS: 0.99); the "
        "mixture cost model only; give it or `threshold`.",
    )
    trend_rate: AnnualRate | None = Field(
        default=None,
        description="Annual growth of the threshold (fraction per year); omit for none with a "
        "`threshold` (a fixed dollar amount) and for `trend.mean` with a `percentile` (the "
        "distribution's expected growth; CMS recomputes it each year from national claims).",
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> Truncation:
        if (self.threshold is None) == (self.percentile is None):
            raise FieldError(
                "percentile" if self.threshold is not None else "threshold",
                "give exactly one of threshold (USD per member per year) and percentile",
            )
        return self


class Timing(SettleModel):
    """When settlement money moves and how accurate the first settlement is.

    The first (estimated) settlement is computed on claims after a run-out, completed with a
    completion factor whose relative error is normal with sd ``completion_factor_sd``; the final
    settlement uses the complete claims and trues the difference up later. An ``interim_share``
    of the expected settlement is paid in advance in mid-year. Present values discount every
    payment to the start of the first performance year.
    """

    completion_factor_sd: float = Field(
        default=0.005,
        ge=0.0,
        le=0.5,
        allow_inf_nan=False,
        description="Standard deviation of the relative error of the completed spend at the "
        "first settlement (fraction; MSSP completes 3 months of run-out with a factor of about "
        "1.013).",
    )
    completion_bias: float = Field(
        default=0.0,
        ge=-0.5,
        le=0.5,
        allow_inf_nan=False,
        description="Mean relative error of the completed spend (fraction; > 0 overstates spend).",
    )
    interim_share: Fraction = Field(
        default=0.0,
        description="Share of the expected settlement paid in advance at mid-year and "
        "reconciled later (fraction).",
    )
    payment_lag_months: float = Field(
        default=9.0,
        ge=0.0,
        le=120.0,
        allow_inf_nan=False,
        description="Months after the performance year's end when the first settlement is paid "
        "(months).",
    )
    true_up_lag_months: float = Field(
        default=12.0,
        ge=0.0,
        le=120.0,
        allow_inf_nan=False,
        description="Months after the first settlement when the final true-up is paid (months).",
    )
    discount_rate: AnnualRate = Field(
        default=0.0,
        description="Annual discount rate for present values (fraction per year).",
    )


#: Benchmark fields that only the historical method reads (refused under ``method: fixed``).
HISTORICAL_ONLY = (
    "weights",
    "trend_method",
    "national_weight",
    "acpt_weight",
    "regional_cost_ratio",
    "regional_weight_lower",
    "regional_weight_higher",
    "regional_cap",
    "agreement_years",
    "rebase_weights",
    "regional_agreement",
    "regional_cap_basis",
    "regional_negative_cap",
    "regional_offset_dual_share",
    "regional_negative",
    "national_cost_ratio",
    "prior_savings",
    "acpt_basis",
    "acpt_band",
    "acpt_guardrail",
    "risk_cap_demographic",
    "coding_intensity_cap",
    "v28_change",
    "rescore_base_years",
    "regional_risk_growth",
    "regional_demographic_growth",
    "retrospective_threshold",
    "health_equity",
)
#: Benchmark fields that only the fixed method reads (refused under ``method: historical``).
FIXED_ONLY = ("pmpm", "total", "target_risk_score")
#: Fields a fixed target reads only with ``risk_adjustment`` (refused without it).
RISK_ONLY = (
    "target_risk_score",
    "risk_model",
    "risk_ratio_cap_up",
    "risk_ratio_cap_down",
    "coding_intensity",
    "normalization",
)


class PriorSavings(SettleModel):
    """MSSP's prior savings adjustment (42 CFR 425.658, agreement periods from 2024) for an ACO
    that renews or re-enters: half its average per-capita savings (losses negative, savings
    below the MSR included) in the three performance years before the agreement, capped at 5%
    of national per-capita expenditure in the last base year; an ACO whose average is not
    positive is not eligible. An eligible ACO gets the higher of it and the regional
    adjustment (the prior savings adjustment where the regional one is negative or zero,
    425.652(a)(8)(iv)-(v)).

    At each simulated renewal the three years are the simulated performance years before it
    (their benchmark less their spend, per person-year); before the first simulated agreement
    they are ``savings``, the ACO's own history (a year not given was not reconciled: zero).
    """

    savings: Annotated[tuple[Annotated[float, Strict()], ...], Strict(False)] | None = Field(
        default=None,
        min_length=1,
        max_length=3,
        description="Per-capita savings of the ACO's last performance years before the first "
        "simulated agreement, oldest first, losses negative (USD per person-year: updated "
        "benchmark less expenditure over assigned person-years); up to three, the missing "
        "earlier years count as zero (not reconciled). Omit for an ACO in its first agreement "
        "(no adjustment until a simulated renewal).",
    )
    scaling: Fraction = Field(
        default=0.5,
        description="Share of the average per-capita savings the adjustment gives (fraction; "
        "42 CFR 425.658(c)(1)(i): 0.5).",
    )
    cap: Fraction = Field(
        default=0.05,
        description="Cap as a share of national per-capita expenditure in the last base year "
        "(fraction of `national_cost_ratio` x cost, per person-year; 425.658(c)(1)(ii): 0.05).",
    )
    proration: Fraction = Field(
        default=1.0,
        description="Proration factor of the given `savings`: the average person-years of those "
        "performance years over the average person-years of the benchmark years, capped at 1 "
        "(fraction; 425.658(b)(3)(ii)); simulated renewals use 1 (same population).",
    )

    @model_validator(mode="after")
    def _finite(self) -> PriorSavings:
        for i, v in enumerate(self.savings or ()):
            if not (math.isfinite(v) and abs(v) <= 1e6):
                raise FieldError(("savings", i), f"must be a finite USD amount, got {v}")
        return self


#: The regional adjustment's weights by agreement period subject to it (lower-spending than
#: the region, higher-spending): 42 CFR 425.656(e), SPEC-v11 Table 4 [V]; the fourth and later
#: agreements use the last.
MSSP_REGIONAL_WEIGHTS: tuple[tuple[float, float], ...] = (
    (0.35, 0.15),
    (0.50, 0.25),
    (0.50, 0.35),
    (0.50, 0.50),
)


class HealthEquity(SettleModel):
    """ACO REACH's Health Equity Benchmark Adjustment (HEBA): an amount per beneficiary per
    month added to the benchmark (after the discount) for the aligned beneficiaries in the top
    decile of the health equity score, and one taken off for those in its lower deciles.
    Sources: the REACH financial methodology as summarised by Pelica and VBC Exhibit Hall [S];
    the CMS table itself was not found, so the amounts and which deciles lose are assumptions
    the report lists.
    """

    up_share: Fraction = Field(
        description="Share of the aligned beneficiaries in the top decile of the health equity "
        "score (fraction): they add `up_pbpm` each."
    )
    up_pbpm: Money = Field(
        default=30.0,
        ge=0.0,
        le=1e4,
        allow_inf_nan=False,
        description="Amount added per top-decile beneficiary per month (USD per beneficiary per "
        "month; REACH: $30 [S]).",
    )
    down_share: Fraction = Field(
        default=0.0,
        description="Share of the aligned beneficiaries in the deciles that lose `down_pbpm` "
        "(fraction; REACH: the lower half of the score [U]).",
    )
    down_pbpm: Money = Field(
        default=6.0,
        ge=0.0,
        le=1e4,
        allow_inf_nan=False,
        description="Amount taken off per such beneficiary per month (USD per beneficiary per "
        "month; REACH: $6 [S: VBC Exhibit Hall; another secondary source says $10, U]).",
    )

    @model_validator(mode="after")
    def _shares(self) -> HealthEquity:
        if self.up_share + self.down_share > 1.0 + 1e-12:
            raise FieldError(
                "down_share",
                f"up_share + down_share = {self.up_share + self.down_share:.4g} exceeds 1",
            )
        return self

    @property
    def net_pbpm(self) -> float:
        """The adjustment per aligned beneficiary per month, on average (USD)."""
        return self.up_share * self.up_pbpm - self.down_share * self.down_pbpm


def _reach_benchmark(regional_weight: float, ceiling: float) -> dict[str, Any]:
    """ACO REACH's benchmark rules for Standard ACOs: base years weighted 10/30/60, a
    prospective trend corrected retrospectively beyond 1%, the historical benchmark blended
    with the regional rate book (``regional_weight``), the upward blend capped at ``ceiling`` of
    national per-capita expenditure, risk scores within +/-3% of the reference year."""
    return {
        "method": "historical",
        "weights": (0.1, 0.3, 0.6),
        "trend_method": "retrospective",
        "retrospective_threshold": 0.01,
        "risk_ratio_cap_up": 0.03,
        "risk_ratio_cap_down": 0.03,
        "coding_intensity_cap": 0.01,
        "regional_weight_lower": regional_weight,
        "regional_weight_higher": regional_weight,
        "regional_cap": ceiling,
        "regional_cap_basis": "national",
        "regional_negative_cap": 1.0,
    }


#: Benchmark rules of Medicare programs (``benchmark.template``); fields given beside the
#: template override it. Sources in docs/methodology.md, section 2.4: 42 CFR 425.601, 425.605,
#: 425.652-425.660 as amended by the CY2023 and CY2024 PFS final rules [V]; the ACPT's values
#: are not in these rules and are the scenario's `trend_rate` [S: 4.9% for 2024 starters].
BENCHMARK_TEMPLATES: Mapping[str, tuple[Mapping[str, Any], str]] = {
    "mssp_2019_2023": (
        {
            "method": "historical",
            "weights": (0.1, 0.3, 0.6),
            "rebase_weights": (1 / 3, 1 / 3, 1 / 3),
            "agreement_years": 5,
            "trend_method": "realized",
            "risk_ratio_cap_up": 0.03,
            "regional_agreement": 1,
            "regional_cap": 0.05,
            "regional_cap_basis": "national",
        },
        "MSSP agreement periods from 1 July 2019 to 2023: two-way national-regional trend, +3% "
        "risk cap, regional adjustment by agreement period within +/-5% of national spend",
    ),
    "mssp_from_2024": (
        {
            "method": "historical",
            "weights": (0.1, 0.3, 0.6),
            "rebase_weights": (1 / 3, 1 / 3, 1 / 3),
            "agreement_years": 5,
            "trend_method": "blend",
            "acpt_basis": "national",
            "acpt_weight": 1 / 3,
            "acpt_guardrail": True,
            "risk_ratio_cap_up": 0.03,
            "risk_cap_demographic": True,
            "rescore_base_years": True,
            "regional_agreement": 1,
            "regional_cap": 0.05,
            "regional_cap_basis": "national",
            "regional_negative_cap": 0.015,
            "regional_negative": "dropped",
        },
        "MSSP agreement periods from 2024: ACPT three-way update with its loss guardrail, "
        "demographic +3% risk cap, base years rescored on each performance year's CMS-HCC "
        "model, regional adjustment capped at +5%/-1.5% of national spend and dropped when "
        "negative, prior savings adjustment (benchmark.prior_savings)",
    ),
    # ACO REACH Standard ACOs [S]: blend 55/45 in PY2024-25 (the move to 50/50 cancelled), 60/40
    # in PY2026 (laraco, CMS PY2025 quick reference); the regional blend's ceiling 5% of the
    # adjusted FFS USPCC, 3% from PY2025 (PolicyMed restating the PY2025 quick reference).
    "reach_py2024": (
        _reach_benchmark(0.45, 0.05),
        "ACO REACH PY2024, Standard ACO: 10/30/60 base years, retrospective trend adjustment "
        "beyond 1%, 55/45 historical/regional blend within 5% of national spend, +/-3% risk cap",
    ),
    "reach_py2025": (
        _reach_benchmark(0.45, 0.03),
        "ACO REACH PY2025, Standard ACO: as PY2024 with the regional ceiling at 3%",
    ),
    "reach_py2026": (
        _reach_benchmark(0.40, 0.03),
        "ACO REACH PY2026, Standard ACO: 60/40 historical/regional blend, ceiling 3%",
    ),
}


class Benchmark(SettleModel):
    """The benchmark: built from simulated base years (``historical``, CMS's way), or a fixed
    target agreed in the contract (``fixed``, as in most commercial deals).

    A fixed target is ``pmpm`` x the performance year's member months, or a ``total``, in the
    first performance year, grown at ``trend_rate`` a year after it, and, with
    ``risk_adjustment``, times the year's reported mean risk score over ``target_risk_score``.
    No base year is simulated for it: ``cost.pmpm`` is then the cost level of the first
    performance year (the first simulated year).
    """

    template: (
        Literal["mssp_2019_2023", "mssp_from_2024", "reach_py2024", "reach_py2025", "reach_py2026"]
        | None
    ) = Field(
        default=None,
        description="Medicare benchmark rules to start from: `mssp_2019_2023` or "
        "`mssp_from_2024` (MSSP agreement periods starting in those years), `reach_py2024` to "
        "`reach_py2026` (ACO REACH Standard ACOs); any field given beside "
        "it overrides the template's. The ACPT rate (`trend_rate`), regional cost, national "
        "cost and the ACO's prior savings remain the scenario's.",
    )
    method: Literal["historical", "fixed"] = Field(
        default="historical",
        description="`historical`: built from simulated base years (weights, trend, risk "
        "restatement, regional adjustment, rebasing: MSSP and REACH); `fixed`: a target agreed "
        "in the contract (`pmpm` or `total`, with an optional agreed `trend_rate` and risk "
        "adjustment); no base year is simulated. The fields of the other method are refused.",
    )
    pmpm: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e6,
        allow_inf_nan=False,
        description="Fixed target per member per month in the first performance year (USD per "
        "member per month), times each year's attributed member months; `method: fixed` only, "
        "give it or `total`.",
    )
    total: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e13,
        allow_inf_nan=False,
        description="Fixed total target of the first performance year, whatever the enrolment "
        "(USD per year); `method: fixed` only, give it or `pmpm`.",
    )
    target_risk_score: Ratio = Field(
        default=1.0,
        description="Mean risk score the fixed target is priced at (ratio, dimensionless): with "
        "`risk_adjustment`, the target moves by the year's reported mean score over this one "
        "(within the risk-ratio caps); `method: fixed` only.",
    )
    # YAML sequences arrive as lists: accept a list for the tuple, but keep items strict.
    weights: Annotated[tuple[Annotated[float, Strict()], ...], Strict(False)] = Field(
        default=(0.1, 0.3, 0.6),
        min_length=1,
        max_length=10,
        description="Weights of the base years, oldest first (fractions summing to 1); their "
        "number is the number of simulated base years. MSSP: 0.1, 0.3, 0.6 for a first agreement.",
    )
    trend_rate: AnnualRate = Field(
        default=0.04,
        description="Negotiated annual trend applied to each base year's cost to bring it to the "
        "performance year (fraction per year). Under `method: fixed`: the agreed growth of the "
        "target a year after the first performance year (default 0 there: a flat target).",
    )
    risk_adjustment: bool = Field(
        default=True,
        description="Restate each base year to the last base year's mean risk score and move the "
        "benchmark by the performance year's risk ratio (member-month weighted mean risk scores). "
        "Under `method: fixed` (default false there): move the target by the year's mean risk "
        "score over `target_risk_score`.",
    )
    trend_method: Literal["negotiated", "realized", "blend", "retrospective"] = Field(
        default="negotiated",
        description="How base years are trended to the performance year: `negotiated` at "
        "`trend_rate`; `realized` by the reference population's realized trend (known only "
        "after the year); `blend`: `acpt_weight` of the negotiated (prospective, MSSP's ACPT) "
        "and the rest realized; `retrospective`: the negotiated (prospective) trend, replaced "
        "by the realized one where the two differ by more than `retrospective_threshold` "
        "(ACO REACH's retrospective trend adjustment).",
    )
    retrospective_threshold: Fraction = Field(
        default=0.01,
        description="How far the realized trend factor may stray from the prospective one "
        "before the retrospective trend adjustment replaces it (fraction of the prospective "
        "factor; ACO REACH: 0.01 [S: Milliman]; the symmetric corridors reported from PY2024 "
        "are not modelled [U]).",
    )
    health_equity: HealthEquity | None = Field(
        default=None,
        description="ACO REACH's Health Equity Benchmark Adjustment, added to each design's "
        "benchmark after its discount (see HealthEquity); omit for none.",
    )
    national_weight: Fraction = Field(
        default=0.0,
        description="Weight of the national trend in the realized reference trend; the rest is "
        "the regional reference (fraction; MSSP: the ACO's share of assignable beneficiaries in "
        "its regional service area, typically 0.03 to 0.4).",
    )
    acpt_weight: Fraction = Field(
        default=1.0 / 3.0,
        description="Weight of the prospective (negotiated) trend in a `blend` (fraction; "
        "MSSP agreements from 2024: one third).",
    )
    risk_model: Literal["hcc", "demographic"] = Field(
        default="hcc",
        description="Risk scores the benchmark uses: full (CMS-HCC-like) scores, or a "
        "demographic-only model capturing `population.demographic_signal` of them.",
    )
    risk_ratio_cap_up: Fraction | None = Field(
        default=None,
        description="Cap on the growth of the risk ratio from the last base year (fraction; "
        "MSSP: 0.03, upward only); omit for none.",
    )
    risk_ratio_cap_down: Fraction | None = Field(
        default=None,
        description="Cap on the fall of the risk ratio (fraction; REACH: 0.03 with the upward "
        "cap for a symmetric +/-3%); omit for none.",
    )
    coding_intensity: float = Field(
        default=0.0,
        ge=-0.1,
        le=0.2,
        allow_inf_nan=False,
        description="Growth of the provider's reported risk scores beyond true risk, per year "
        "from the first base year (under `method: fixed`, the first performance year) "
        "(fraction per year).",
    )
    normalization: float = Field(
        default=0.0,
        ge=-0.1,
        le=0.2,
        allow_inf_nan=False,
        description="Program-wide coding growth that normalization divides out of reported "
        "scores, per year (fraction per year).",
    )
    regional_cost_ratio: Ratio | None = Field(
        default=None,
        description="Risk-adjusted regional cost per member relative to the provider's own "
        "expected cost (ratio, dimensionless); enables the regional efficiency adjustment. "
        "Omit for none.",
    )
    regional_weight_lower: Fraction = Field(
        default=0.35,
        description="Weight of the regional adjustment when the provider spends less than its "
        "region (fraction; MSSP first agreement: 0.35).",
    )
    regional_weight_higher: Fraction = Field(
        default=0.15,
        description="Weight when it spends more (fraction; MSSP first agreement: 0.15).",
    )
    regional_cap: Fraction = Field(
        default=0.05,
        description="Cap on the regional adjustment as a fraction of regional cost per member "
        "(fraction; MSSP: 5% of national per-capita expenditure).",
    )
    agreement_years: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="Performance years per agreement period (count); at each renewal the "
        "benchmark is rebased on the last base_years years, so savings lower the next "
        "period's benchmark (the ratchet). Omit for one agreement covering every year.",
    )
    rebase_weights: Annotated[tuple[Annotated[float, Strict()], ...], Strict(False)] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Weights of the base years at a renewal, oldest first (fractions "
        "summing to 1; MSSP renewals: equal thirds); omit to reuse `weights`.",
    )
    regional_agreement: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="Which agreement period subject to the regional adjustment the first "
        "simulated agreement is (count: 1 for the first); with it the weights follow 42 CFR "
        "425.656(e) (35/15%, 50/25%, 50/35%, then 50/50% for an ACO below / above its "
        "region), rising at each simulated renewal, in place of `regional_weight_lower` and "
        "`regional_weight_higher`. Omit for those fixed weights.",
    )
    regional_cap_basis: Literal["regional", "national"] = Field(
        default="regional",
        description="What `regional_cap` (and `regional_negative_cap`) are shares of: the "
        "risk-adjusted `regional` cost, or `national` per-capita expenditure (`national_cost_"
        "ratio` x cost at the national index; 42 CFR 425.656(c)(3)).",
    )
    regional_negative_cap: Fraction | None = Field(
        default=None,
        description="Cap on a negative regional adjustment, as a share of the cap basis "
        "(fraction; agreements from 2024: 0.015 of national per-capita expenditure, 425.656"
        "(c)(3)(ii)); omit for `regional_cap` both ways.",
    )
    regional_offset_dual_share: Fraction | None = Field(
        default=None,
        description="Share of the population dually eligible for Medicare and Medicaid in the "
        "last base year (fraction); with it a negative regional adjustment is multiplied by 1 "
        "minus the offset factor, this share plus the last base year's reported mean risk score "
        "less 1, within 0 and 1 (42 CFR 425.656(c)(4)-(5), agreements from 2024). Omit for no "
        "offset.",
    )
    regional_negative: Literal["applied", "dropped"] = Field(
        default="applied",
        description="A negative overall regional adjustment is `applied`, or `dropped` (no "
        "adjustment, unless a prior savings adjustment applies: the CY2024 PFS rule, 425.652"
        "(a)(8)(iii), agreements from 2024).",
    )
    national_cost_ratio: Ratio = Field(
        default=1.0,
        description="National per-capita expenditure of assignable beneficiaries relative to "
        "the provider's expected cost of a risk-1 member (`cost.pmpm`), at the national "
        "index (ratio, dimensionless); the basis of the national caps, the prior savings cap "
        "and a national ACPT.",
    )
    prior_savings: PriorSavings | None = Field(
        default=None,
        description="MSSP's prior savings adjustment for a renewing or re-entering ACO (see "
        "PriorSavings); omit for none.",
    )
    acpt_basis: Literal["benchmark", "national"] = Field(
        default="benchmark",
        description="The prospective part of a `blend` trend: the negotiated `trend_rate` "
        "compounded on the provider's own benchmark (`benchmark`), or MSSP's ACPT (`national`: "
        "a flat dollar amount, national per-capita expenditure x ((1 + trend_rate)^k - 1) x "
        "the last base year's risk score, over the historical benchmark; 42 CFR 425.652(b)(3)). "
        "With `national` the base years are trended by the realized (national-regional) trend "
        "alone, as MSSP does.",
    )
    acpt_band: (
        Annotated[
            tuple[Annotated[float, Field(ge=0.0, le=0.2)], Annotated[float, Field(ge=0.0, le=0.2)]],
            Strict(False),
        ]
        | None
    ) = Field(
        default=None,
        description="Bounds on the ACPT's annual rate relative to the realized national growth "
        "rate over the same years: no more than the first below it nor the second above it "
        "(fractions per year; the CY2027 PFS proposed rule, CMS-1848-P: 0.01 and 0.015 [S: "
        "proposed, not law]). Needs `acpt_basis: national`; omit for none (current law).",
    )
    regional_risk_growth: float | None = Field(
        default=None,
        ge=-0.2,
        le=0.5,
        allow_inf_nan=False,
        description="Annual growth of the region's mean prospective CMS-HCC risk score "
        "(fraction per year); with it the regional part of the two-way update is raised where "
        "that growth exceeds its cap (regional demographic growth plus 3 points, plus the ACO's "
        "market share, `national_weight`, of the excess; 42 CFR 425.655, agreements from "
        "2024). Needs `acpt_basis: national`. Omit for no cap.",
    )
    regional_demographic_growth: float = Field(
        default=0.0,
        ge=-0.2,
        le=0.5,
        allow_inf_nan=False,
        description="Annual growth of the region's mean demographic risk score (fraction per "
        "year), for the regional risk-score cap.",
    )
    acpt_guardrail: bool = Field(
        default=False,
        description="MSSP's loss guardrail (42 CFR 425.652(b)(5)): where a two-sided design "
        "owes shared losses against the benchmark with the ACPT, it is settled again against "
        "the benchmark updated by the realized trend alone; the smaller loss is owed, and "
        "nothing if that shows savings or falls within the corridor. Needs `trend_method: "
        "blend`.",
    )
    coding_intensity_cap: Fraction | None = Field(
        default=None,
        description="ACO REACH's coding intensity factor: after the risk caps, the growth of "
        "the provider's reported scores from coding since the last base year (`coding_"
        "intensity` beyond `normalization`) is taken out of the risk ratio, up to this share "
        "(fraction; REACH: 0.01, 0.02 for High Needs ACOs in PY2026 [V: CMS PY2026 quick "
        "reference; the factor's exact formula is not verified, U]). Omit for none.",
    )
    v28_change: float | None = Field(
        default=None,
        ge=-0.2,
        le=0.2,
        allow_inf_nan=False,
        description="Relative change of the provider's mean CMS-HCC risk score under the V28 "
        "model against V24 (fraction; e.g. -0.03 [U: ACO-specific; CMS's MA impact estimate was "
        "about -3%]). Each year's scores are on that year's blend (V28 a third in 2024, two "
        "thirds in 2025, all from 2026; none before), so without `rescore_base_years` the "
        "model change moves the risk ratio. Omit for no model change.",
    )
    rescore_base_years: bool = Field(
        default=False,
        description="Score the base years with each performance year's CMS-HCC model (MSSP "
        "agreement periods from 2024, 42 CFR 425.659): a model change then cancels out of the "
        "risk ratio.",
    )
    risk_cap_demographic: bool = Field(
        default=False,
        description="Cap the risk ratio's growth at the demographic risk ratio's growth plus "
        "`risk_ratio_cap_up` (MSSP agreements from 2024: demographic growth plus 3 percentage "
        "points, 42 CFR 425.605(a)(1)(ii)); needs `risk_ratio_cap_up`.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fixed_defaults(cls, data: Any) -> Any:
        """A template's rules under the fields given; a fixed target is flat and not
        risk-adjusted unless the contract says so."""
        if isinstance(data, Mapping) and data.get("template") is not None:
            name = data["template"]
            if not isinstance(name, str) or name not in BENCHMARK_TEMPLATES:
                raise FieldError(
                    "template",
                    f"unknown benchmark template {name!r}; known: "
                    f"{', '.join(sorted(BENCHMARK_TEMPLATES))}",
                )
            data = {**BENCHMARK_TEMPLATES[name][0], **data}
        if isinstance(data, Mapping) and data.get("method") == "fixed":
            data = {"trend_rate": 0.0, "risk_adjustment": False, **data}
        return data

    @model_validator(mode="after")
    def _method_fields(self) -> Benchmark:
        # Given with a value other than its default (a full dump of the model, which writes
        # every field, reads back).
        fields = type(self).model_fields
        given = {
            name
            for name in self.model_fields_set
            if getattr(self, name) != fields[name].get_default(call_default_factory=True)
        }
        if self.method == "fixed":
            for name in HISTORICAL_ONLY:
                if name in given:
                    raise FieldError(
                        name,
                        "is not used by a fixed target (method: fixed has no base years); "
                        "remove it, or use method: historical",
                    )
            if not self.risk_adjustment:
                for name in RISK_ONLY:
                    if name in given:
                        raise FieldError(
                            name,
                            "a fixed target uses it only with risk_adjustment: true; add that, "
                            "or remove it",
                        )
            if (self.pmpm is None) == (self.total is None):
                raise FieldError(
                    "total" if self.pmpm is not None else "method",
                    "a fixed target needs exactly one of pmpm (USD per member per month) and "
                    "total (USD per year)",
                )
        else:
            for name in FIXED_ONLY:
                if name in given:
                    raise FieldError(
                        name, "is used only by a fixed target; add method: fixed, or remove it"
                    )
        return self

    @model_validator(mode="after")
    def _rule_needs(self) -> Benchmark:
        if self.acpt_guardrail and self.trend_method != "blend":
            raise FieldError("acpt_guardrail", "the ACPT guardrail needs trend_method: blend")
        if self.acpt_basis == "national" and self.trend_method != "blend":
            raise FieldError("acpt_basis", "a national ACPT needs trend_method: blend")
        if self.acpt_band is not None and self.acpt_basis != "national":
            raise FieldError("acpt_band", "the ACPT's bounds need acpt_basis: national")
        if self.regional_risk_growth is not None and self.acpt_basis != "national":
            raise FieldError(
                "regional_risk_growth",
                "the regional risk-score cap is a rule of the update with the ACPT: it needs "
                "acpt_basis: national",
            )
        if self.risk_cap_demographic and self.risk_ratio_cap_up is None:
            raise FieldError(
                "risk_cap_demographic",
                "the demographic cap adds risk_ratio_cap_up (MSSP: 0.03) to demographic growth; "
                "give it",
            )
        return self

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Benchmark:
        for i, w in enumerate(self.weights):
            if not (math.isfinite(w) and 0.0 <= w <= 1.0):
                raise FieldError(("weights", i), f"must be a fraction between 0 and 1, got {w}")
        total = math.fsum(self.weights)
        if abs(total - 1.0) > 1e-9:
            raise FieldError("weights", f"must sum to 1; they sum to {total:.12g}")
        if self.rebase_weights is not None:
            for i, w in enumerate(self.rebase_weights):
                if not (math.isfinite(w) and 0.0 <= w <= 1.0):
                    raise FieldError(("rebase_weights", i), f"must be a fraction, got {w}")
            total = math.fsum(self.rebase_weights)
            if abs(total - 1.0) > 1e-9:
                raise FieldError("rebase_weights", f"must sum to 1; they sum to {total:.12g}")
        return self

    def describe(self, first_year: int) -> str:
        """The benchmark rule in one sentence, for the run summary and the report."""
        if self.method == "fixed":
            if self.pmpm is not None:
                target = f"${self.pmpm:,.2f} PMPM times each year's member months"
            else:
                target = f"${self.total:,.0f} a year whatever the enrolment"
            text = f"a fixed target of {target} in {first_year}"
            text += f", grown {self.trend_rate:.2%} a year" if self.trend_rate else ", not trended"
            if self.risk_adjustment:
                text += (
                    f", moved by the year's mean {self.risk_model.upper()} risk score over "
                    f"{self.target_risk_score:.3g}"
                )
                bounds = (("-", self.risk_ratio_cap_down), ("+", self.risk_ratio_cap_up))
                caps = [f"{sign}{cap:.0%}" for sign, cap in bounds if cap is not None]
                if caps:
                    text += f" (within {' / '.join(caps)})"
            return text + "; no base year simulated"
        weights = "/".join(f"{w:.0%}" for w in self.weights)
        trend = {
            "negotiated": f"trended at {self.trend_rate:.2%} a year",
            "realized": "trended at the reference population's realized trend",
            "blend": f"trended at a {self.acpt_weight:.0%} negotiated ({self.trend_rate:.2%}) "
            "and realized blend",
            "retrospective": f"trended at {self.trend_rate:.2%} a year, corrected to the "
            f"realized trend beyond {self.retrospective_threshold:.0%}",
        }[self.trend_method]
        if self.trend_method == "blend" and self.acpt_basis == "national":
            trend = (
                "trended by the realized national-regional blend and updated "
                f"{self.acpt_weight:.0%} by the ACPT ({self.trend_rate:.2%} a year of national "
                "per-capita expenditure, a flat amount)"
            )
        text = f"built from {self.base_years} simulated base years weighted {weights}, {trend}"
        if self.risk_adjustment:
            text += f", {self.risk_model.upper()} risk-adjusted"
        if self.regional_cost_ratio is not None:
            text += ", with a regional adjustment"
        if self.agreement_years is not None:
            text += f", rebased every {self.agreement_years} years"
        if self.prior_savings is not None:
            text += ", with MSSP's prior savings adjustment"
        if self.acpt_guardrail:
            text += ", with the ACPT's loss guardrail"
        if self.health_equity is not None:
            text += (
                f", a health equity adjustment of ${self.health_equity.net_pbpm:,.2f} per "
                "beneficiary per month"
            )
        if self.template is not None:
            text += f" ({self.template} rules)"
        return text

    @property
    def uses_demographic_scores(self) -> bool:
        """Whether the benchmark reads demographic risk scores (the demographic risk model,
        or the demographic risk cap), so that the simulation must draw them."""
        return self.risk_model == "demographic" or (
            self.risk_adjustment and self.risk_cap_demographic
        )

    @property
    def base_years(self) -> int:
        """Number of base years the benchmark reads: none for a fixed target."""
        return 0 if self.method == "fixed" else len(self.weights)


class Practice(SettleModel):
    """One participant practice of the entity."""

    name: Label = Field(description="Unique name; becomes a label of the `participant` dimension.")
    share: float = Field(
        gt=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Share of the attributed lives (fraction; the shares sum to 1).",
    )
    cost_ratio: Ratio = Field(
        default=1.0,
        description="Cost of the practice's members relative to the entity's average member "
        "of the same risk (ratio, dimensionless; below 1: more efficient).",
    )
    quality_factor: float = Field(
        default=1.0,
        ge=0.0,
        le=2.0,
        allow_inf_nan=False,
        description="The practice's quality relative to the entity's score, for a "
        "quality-weighted pool (ratio, dimensionless).",
    )
    joins: int | None = Field(
        default=None,
        ge=1900,
        le=2200,
        description="First performance year (calendar year) in which the practice is a "
        "participant; omit for a participant from the first performance year. Its members "
        "move into the settlement with it, as a block.",
    )
    leaves: int | None = Field(
        default=None,
        ge=1900,
        le=2200,
        description="First performance year (calendar year) in which the practice is no longer "
        "a participant; omit for one that stays. Its members leave the settlement with it.",
    )

    def participates(self, year: int) -> bool:
        """Whether the practice is a participant in performance year ``year`` (calendar)."""
        return (self.joins is None or year >= self.joins) and (
            self.leaves is None or year < self.leaves
        )


class Participants(SettleModel):
    """How the entity's earned savings or owed losses are distributed among its practices,
    and which practices take part in each performance year.

    A practice that joins or leaves between performance years moves its attributed members in
    or out of the settlement as a block. The benchmark of every performance year is restated
    for that year's participant list, as CMS restates it: its base years are the base-year
    spend, member months and risk of the members of the practices taking part that year, as if
    the list had always been the current one. A list that drops its costliest practice so
    lowers its benchmark with its spend; the entity gains only where the benchmark does not
    follow its own history (a regional adjustment moves it towards the region's cost). Without
    restatement (``restate: false``) the benchmark stays that of the first list.
    """

    practices: Annotated[tuple[Practice, ...], Strict(False)] = Field(
        min_length=1, max_length=50, description="The participant practices."
    )
    method: Literal["lives", "performance", "quality_pool"] = Field(
        default="lives",
        description="`lives`: in proportion to attributed member months; `performance`: to "
        "each practice's own savings against its share of the target (its share of base-year "
        "spend times the benchmark; under a fixed target, its share of the year's member "
        "months), losses to its own losses; `quality_pool`: to member "
        "months times the practice's quality factor.",
    )
    restate: bool = Field(
        default=True,
        description="`true` (CMS): each performance year's benchmark is built from the base "
        "years of that year's participant list, as if it had always been the list. `false` "
        "(a benchmark fixed when the contract starts, as in many commercial contracts): every "
        "year's per-capita benchmark comes from the base years of the first performance "
        "year's list, applied to the current list's member months and risk, so an entity that "
        "drops a costly practice keeps the whole drop in its spend as savings.",
    )

    @model_validator(mode="after")
    def _shares(self) -> Participants:
        total = math.fsum(p.share for p in self.practices)
        if abs(total - 1.0) > 1e-9:
            raise FieldError("practices", f"shares must sum to 1; they sum to {total:.12g}")
        names = [p.name for p in self.practices]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldError(("practices", i, "name"), f"duplicate practice name {name!r}")
        return self

    @property
    def churns(self) -> bool:
        """Whether any practice joins or leaves during the performance years."""
        return any(p.joins is not None or p.leaves is not None for p in self.practices)


class Provider(SettleModel):
    """The provider entity: facts that some contract terms refer to, and its own economics.

    The economics give the provider's net financial result of each design, trial and year
    (``provider_net`` in the results): the settlement, plus the recovery less the premium of
    any stop-loss it buys for itself (``stop_loss.borne_by: provider``), less the
    care-management programme's cost, less ``infrastructure_pmpm`` and
    ``infrastructure_annual``, less the fee-for-service margin it forgoes on the spend it
    avoids: ``ffs_revenue_share x ffs_margin x`` the cost the care-management programme
    avoided. (Other savings, a benchmark above the spend by trend or chance, are not the
    provider's own services forgone.)
    """

    revenue_ratio: float | None = Field(
        default=None,
        gt=0.0,
        le=10.0,
        allow_inf_nan=False,
        description="Participants' fee-for-service revenue from the attributed population as a "
        "fraction of the benchmark (fraction); needed by revenue-based caps (MSSP BASIC loss "
        "limits). MSSP 'low revenue' ACOs are below about 0.35.",
    )
    ffs_revenue_share: Fraction = Field(
        default=0.0,
        description="Share of each dollar of avoided spend that was the provider's own "
        "fee-for-service revenue (fraction, 0 to 1; 0: the avoided care was billed by others).",
    )
    ffs_margin: Fraction = Field(
        default=0.0,
        description="Contribution margin on that revenue: what the provider keeps of a dollar "
        "billed, after the variable cost of the service (fraction, 0 to 1).",
    )
    infrastructure_pmpm: Money = Field(
        default=0.0,
        ge=0.0,
        le=1e5,
        allow_inf_nan=False,
        description="The provider's running cost of the contract (analytics, staff, "
        "reporting) per attributed member per month (USD per member per month).",
    )
    infrastructure_annual: Money = Field(
        default=0.0,
        ge=0.0,
        le=1e12,
        allow_inf_nan=False,
        description="The provider's fixed cost of the contract per performance year (USD per "
        "year).",
    )

    @property
    def has_economics(self) -> bool:
        """Whether any cost of the provider's own is given."""
        return (
            self.ffs_revenue_share * self.ffs_margin > 0.0
            or self.infrastructure_pmpm > 0.0
            or self.infrastructure_annual > 0.0
        )


def _valid_number(model: type[SettleModel], name: str, value: Any) -> float | None:
    """``value`` as a float if it is a number that ``model.name`` accepts, else None."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except OverflowError:
        return None
    if not math.isfinite(x):
        return None
    return x if field_bounds(model, name).admits(x) else None


def _preset_mortality(data: Mapping[str, Any], mortality: float) -> Mapping[str, Any]:
    """``data`` with ``population.mortality`` set to a preset's, where not given (at most
    ``turnover``, where that is a valid number)."""
    population = data.get("population")
    if not isinstance(population, Mapping) or "mortality" in population:
        return data
    turnover = _valid_number(Population, "turnover", population.get("turnover", 0.15))
    value = mortality if turnover is None else min(mortality, float(turnover))
    return {**data, "population": {**population, "mortality": value}}


def _unsolved(data: Any) -> Any:
    """A dumped scenario (plain data) without the cost fields solved from ``cv`` and
    ``top5_share`` targets, so that it validates again (:meth:`Scenario.to_text`)."""
    if isinstance(data, list):
        return [_unsolved(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if key == "cost" and isinstance(value, dict) and value.get("cv") is not None:
            solved = {"body_sigma", "body_shape", "body_cv"}
            if value.get("top5_share") is not None:
                solved.add("tail_probability")
            value = {k: v for k, v in value.items() if k not in solved}
        out[key] = _unsolved(value)
    return out


def _solve_cost_targets(data: Mapping[str, Any], where: tuple[str | int, ...]) -> Mapping[str, Any]:
    """``data`` (a mapping with ``cost`` and ``population``) with a cost given by its moments
    (``cv``, ``top5_share``) completed by the body_sigma and tail_probability that meet them.

    Only values the fields accept are solved with; any other (mistyped, non-finite, out of
    range) is left for field validation to report at its own place."""
    cost = data.get("cost")
    if not isinstance(cost, Mapping):
        return data
    preset = PRESETS.get(cost["preset"]) if isinstance(cost.get("preset"), str) else None
    if preset is not None:  # the preset's targets and fixed fields, under the ones given
        fixed = {"zero_cost_share": preset.zero_cost_share, "tail_shape": preset.tail_shape}
        cost = {"cv": preset.cv, "top5_share": preset.shape_top5_share, **fixed, **cost}
        data = _preset_mortality(data, preset.mortality)
    if cost.get("cv") is None and cost.get("top5_share") is None:
        return data
    if cost.get("model", "mixture") != "mixture":
        return data  # the Cost block says that targets solve the mixture only
    cv_alone = cost.get("top5_share") is None
    targets = ("pmpm", "cv") if cv_alone else ("pmpm", "cv", "top5_share")
    if any(not isinstance(cost.get(k), int | float) for k in targets):
        return data  # field validation reports the missing or mistyped value
    families = {
        "body_family": cost.get("body_family", "lognormal"),
        "tail_family": cost.get("tail_family", "pareto"),
    }
    if families["body_family"] not in FAMILIES or families["tail_family"] not in ("pareto", "gpd"):
        return data  # field validation reports the unknown family
    lognormal = families["body_family"] == "lognormal"
    body_keys = ("body_sigma", "body_shape", "body_cv")
    for key in body_keys if cv_alone else (*body_keys, "tail_probability"):
        if key in cost:
            wanted = "the cv target" if cv_alone else "the cv and top5_share targets (or a preset)"
            raise FieldError((*where, "cost", key), f"give either {key} or {wanted}")
    gpd = families["tail_family"] == "gpd"
    if gpd and not ("tail_shape" in cost and "tail_scale" in cost):
        return data  # the Cost block asks for the gpd tail's xi and scale
    population = data.get("population")
    default = {k: Cost.model_fields[k].default for k in ("zero_cost_share", "tail_shape")}
    given: dict[str, Any] = {
        "pmpm": cost.get("pmpm"),
        "cv": cost.get("cv"),
        "zero_cost_share": cost.get("zero_cost_share", default["zero_cost_share"]),
        "tail_shape": cost.get("tail_shape", default["tail_shape"]),
        "tail_threshold": cost.get("tail_threshold"),
    }
    if gpd:
        given["tail_scale"] = cost.get("tail_scale")
    if cv_alone:
        held = cost.get("tail_probability", Cost.model_fields["tail_probability"].default)
        given["tail_probability"] = held
    else:
        given["top5_share"] = cost.get("top5_share")
    numbers = {k: _valid_number(Cost, k, v) for k, v in given.items()}
    pmpm = numbers["pmpm"]
    if given["tail_threshold"] is None and pmpm is not None:
        numbers["tail_threshold"] = default_tail_threshold(float(pmpm))  # the field's default
    risk = population.get("risk_sigma", 0.5) if isinstance(population, Mapping) else 0.5
    risk_sigma = _valid_number(Population, "risk_sigma", risk)
    if risk_sigma is None or any(v is None for v in numbers.values()):
        return data
    x = {k: float(v) for k, v in numbers.items() if v is not None}
    tail_scale = x.pop("tail_scale", 0.0)
    # The solved shape goes where the body family reads it.
    body_key = "body_sigma" if lognormal else "body_shape"
    if cv_alone:
        try:
            shape = solve_body_sigma(
                x["pmpm"],
                x["cv"],
                risk_sigma=risk_sigma,
                zero_cost_share=x["zero_cost_share"],
                tail_probability=x["tail_probability"],
                tail_shape=x["tail_shape"],
                tail_threshold=x["tail_threshold"],
                tail_scale=tail_scale,
                **families,
            )
        except (ValueError, ArithmeticError) as exc:
            raise FieldError((*where, "cost", "cv"), str(exc)) from None
        return {**data, "cost": {**cost, body_key: shape.body_sigma}}
    try:
        shape = solve_cost(
            x["pmpm"],
            x["cv"],
            x["top5_share"],
            risk_sigma=risk_sigma,
            zero_cost_share=x["zero_cost_share"],
            tail_shape=x["tail_shape"],
            tail_threshold=x["tail_threshold"],
            tail_scale=tail_scale,
            **families,
        )
    except (ValueError, TypeError, ArithmeticError) as exc:
        message = str(exc) or "no cost shape of the model meets these targets"
        raise FieldError((*where, "cost", "top5_share"), message) from None
    solved = {**cost, body_key: shape.body_sigma, "tail_probability": shape.tail_probability}
    return {**data, "cost": solved}


def _expand_designs(
    designs: Any, where: tuple[str | int, ...], year: int, ratio: float | None
) -> list[Any]:
    """Each design that names a ``template``, expanded (see :func:`expand_template`)."""
    out: list[Any] = []
    for i, design in enumerate(designs):
        if isinstance(design, Mapping) and isinstance(design.get("by_year"), list | tuple):
            design = _expand_by_year(design, (*where, i), year, ratio)
        else:
            design = _expand_one(design, (*where, i), year, ratio)
        out.append(design)
    return out


def _expand_one(design: Any, where: tuple[str | int, ...], year: int, ratio: float | None) -> Any:
    """``design`` with its template's fields filled in (unchanged without a template)."""
    if not (isinstance(design, Mapping) and design.get("template") is not None):
        return design
    name = design["template"]
    if not isinstance(name, str) or name not in TEMPLATES:
        raise FieldError(
            (*where, "template"),
            f"unknown template {name!r}; known templates: {', '.join(template_names())}",
        )
    try:
        return expand_template(design, year, revenue_ratio=ratio)
    except ValueError as exc:
        raise FieldError((*where, "performance_year"), str(exc)) from None


def _expand_by_year(
    design: Mapping[str, Any], where: tuple[str | int, ...], year: int, ratio: float | None
) -> dict[str, Any]:
    """A design whose terms change by performance year: each entry of ``by_year`` is the
    design's own fields with the entry's on top, its template expanded with the rules of its
    year (the design's ``performance_year``, else the scenario's first, plus the entry's
    index); the design itself is the first year's. An entry that names the design is a whole
    design, not changes (the form :meth:`Scenario.to_text` writes)."""
    if not design["by_year"]:
        raise FieldError(
            (*where, "by_year"), "give at least one year's terms (omit by_year for none)"
        )
    base = {k: v for k, v in design.items() if k != "by_year"}
    first = base.get("performance_year", year)
    if not isinstance(first, int) or isinstance(first, bool):
        first = year
    years = []
    for p, entry in enumerate(design["by_year"]):
        if not isinstance(entry, Mapping):
            raise FieldError(
                (*where, "by_year", p),
                "must be a mapping: the fields of the design that differ in that year ({} for "
                "none)",
            )
        if entry.get("by_year") is not None:
            raise FieldError(
                (*where, "by_year", p, "by_year"), "a year's terms cannot change by year"
            )
        if "name" in entry and entry["name"] != base.get("name"):
            raise FieldError(
                (*where, "by_year", p, "name"),
                f"a year's terms belong to design {base.get('name')!r}; remove the name",
            )
        # An entry that names the design is complete in itself (what ``to_text`` writes).
        inherited = {} if "name" in entry else base
        merged = {**inherited, "name": base.get("name"), "performance_year": first + p, **entry}
        years.append(_expand_one(merged, (*where, "by_year", p), first + p, ratio))
    return {**years[0], "by_year": years}


class Line(SettleModel):
    """Another contract of the same provider over its own population (a line of business).

    It shares the scenario's seed, trials, years, trend (and its shocks), quality model and
    timing: the systemic draws are common to all lines, so their settlements are correlated.
    The scenario's care-management programme applies to the primary line only.
    """

    name: Label = Field(
        description="Name of the line (e.g. medicare_advantage); labels its designs' `line`."
    )
    population: Population = Field(description="The line's attributed population.")
    cost: Cost = Field(description="The line's member cost model.")
    benchmark: Benchmark = Field(
        default_factory=Benchmark,
        description="The line's benchmark; a historical one must have as many base years as "
        "the scenario's (the lines share the simulated years; a fixed target reads none, but "
        "where another line simulates base years its cost.pmpm is that of the first of them).",
    )
    provider: Provider = Field(default_factory=Provider, description="Revenue for the line.")
    designs: Annotated[tuple[Design, ...], Strict(False)] = Field(
        min_length=1, max_length=100, description="The line's contract designs."
    )


class Portfolio(SettleModel):
    """Several contracts of one provider over one systemic trend."""

    primary_name: Label = Field(
        default="primary", description="Line name of the scenario's own population and designs."
    )
    lines: Annotated[tuple[Line, ...], Strict(False)] = Field(
        min_length=1, max_length=20, description="The other contracts."
    )


#: A swept value: a finite number, a flag or a name (a template, a method).
SweepValue = Annotated[float, Field(allow_inf_nan=False)] | int | bool | str
#: Dimension names the results already use; a sweep may not take them.
RESERVED_DIMS = frozenset(
    {"design", "trial", "year", "payoff_savings_rate", "participant", "line", "quantile"}
)
#: Fields a sweep may not change: they fix the run's identity or the results' shape.
UNSWEEPABLE = (
    "schema_version",
    "name",
    "description",
    "seed",
    "trials",
    "first_performance_year",
    "performance_years",
    "sweep",
)


class SweepAxis(SettleModel):
    """One swept parameter: its values become a dimension of the results, on the same draws."""

    path: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\s=]+$",
        description="Field path, dotted: `designs.two_sided.min_savings_rate`, "
        "`designs.*.shared_savings_rate` (every design), `designs[0].stop_loss.attachment`, "
        "`population.turnover`. A design field is settled again on the same simulated years; "
        "any other field is simulated again with the same seed (common random numbers).",
    )
    values: Annotated[tuple[SweepValue, ...], Strict(False)] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="The values, in the swept field's own units (USD, fraction, count, ...); "
        "give these or start/stop/step.",
    )
    start: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="First value of an even grid (the field's units: USD, fraction...).",
    )
    stop: float | None = Field(
        default=None,
        allow_inf_nan=False,
        description="Last value of an even grid, included (in the field's units: USD, "
        "fraction, count, ...).",
    )
    step: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="Spacing of an even grid (in the field's units: USD, fraction, count, ...).",
    )
    name: Label | None = Field(
        default=None, description="Name of the dimension (default: the path's last key)."
    )
    base: SweepValue | None = Field(
        default=None,
        description="The base case among the values (in the field's units: USD, fraction, "
        "count, ...), for tornado charts and held dimensions (default: the first value).",
    )

    @model_validator(mode="after")
    def _grid(self) -> SweepAxis:
        ranged = (self.start, self.stop, self.step)
        if self.values is not None and any(v is not None for v in ranged):
            raise FieldError("values", "give values or start/stop/step, not both")
        if self.values is None:
            if any(v is None for v in ranged):
                raise FieldError("values", "give values, or all of start, stop and step")
            start, stop, step = (float(v) for v in ranged)  # type: ignore[arg-type]
            span = (stop - start) / step  # may overflow to inf: 1e308 / 1e-308
            if math.isfinite(span) and span < -0.5:
                raise FieldError("stop", "stop must be start plus a whole number of steps")
            if not math.isfinite(span) or span + 1 > 1000.5:
                count = f"{span + 1:,.0f}" if span < 1e9 else "over a billion"
                raise FieldError("step", f"{count} values; a sweep axis takes at most 1000")
            n = round(span)
            if n < 0 or abs(start + n * step - stop) > 1e-9 * max(1.0, abs(stop)):
                raise FieldError("stop", "stop must be start plus a whole number of steps")
        grid = self.grid
        if len(set(map(repr, grid))) != len(grid):
            raise FieldError("values", "values must be distinct")
        if self.base is not None and self.base not in grid:
            raise FieldError("base", f"base {self.base!r} is not among the values")
        first = self.path.split(".")[0].split("[")[0]
        if first in UNSWEEPABLE:
            raise FieldError("path", f"{first} cannot be swept (it fixes the run or its shape)")
        if self.dim in RESERVED_DIMS:
            raise FieldError("name", f"{self.dim!r} is a dimension of the results; give a name")
        return self

    @property
    def grid(self) -> tuple[SweepValue, ...]:
        """The swept values, in order (an even grid rounded to 12 decimals)."""
        if self.values is not None:
            return self.values
        start, step = float(self.start or 0.0), float(self.step or 1.0)
        n = round((float(self.stop or 0.0) - start) / step)
        return tuple(round(start + k * step, 12) for k in range(n + 1))

    @property
    def dim(self) -> str:
        """Name of the results' dimension."""
        if self.name is not None:
            return self.name
        return self.path.split(".")[-1].split("[")[0]

    @property
    def base_value(self) -> SweepValue:
        """The base case."""
        return self.grid[0] if self.base is None else self.base

    @property
    def is_design(self) -> bool:
        """Whether the path is a design field (settled again, not simulated again)."""
        return self.path.split(".")[0].split("[")[0] == "designs"


class Scenario(SettleModel):
    """A simsettle scenario: population, cost, trend, benchmark and the designs to compare."""

    schema_version: int = Field(
        ge=SCHEMA_VERSION,
        le=SCHEMA_VERSION,
        description="Version of the scenario file format (integer, dimensionless); this release "
        "reads version 1.",
    )
    name: str = Field(default="", max_length=200, description="Short title of the scenario.")
    description: str = Field(default="", max_length=10_000, description="Free text.")
    seed: int = Field(
        ge=0,
        lt=2**63,
        description="Root seed (non-negative integer, dimensionless); with the same simsettle "
        "version the same seed gives bit-identical results.",
    )
    trials: int = Field(
        ge=1,
        le=100_000_000,
        description="Number of Monte Carlo trials (count); each trial simulates every base and "
        "performance year.",
    )
    first_performance_year: int = Field(
        default=2026,
        ge=1900,
        le=2200,
        description="Calendar year of the first performance year (year).",
    )
    performance_years: int = Field(
        default=1,
        ge=1,
        le=50,
        description="Number of consecutive performance years settled (count).",
    )
    population: Population = Field(description="The attributed population.")
    cost: Cost = Field(description="Member cost model.")
    trend: Trend = Field(default_factory=Trend, description="Systemic cost trend.")
    benchmark: Benchmark = Field(default_factory=Benchmark, description="Benchmark construction.")
    care_management: CareManagement | None = Field(
        default=None, description="A care-management programme (omit for none)."
    )
    quality_model: QualityModel | None = Field(
        default=None,
        description="Simulated quality score of each performance year (omit to use each "
        "design's fixed `quality.score`).",
    )
    timing: Timing | None = Field(
        default=None,
        description="Payment timing and accuracy; gives the estimated settlement, interim "
        "payments and present values (omit for the final settlement only).",
    )
    truncation: Truncation | None = Field(
        default=None,
        description="Truncation of each member's annual cost in the spend the benchmark and "
        "every design see, with no premium (omit for none); it applies to every line of a "
        "portfolio, a percentile by each line's own cost model.",
    )
    portfolio: Portfolio | None = Field(
        default=None,
        description="Other contracts of the same provider simulated on the same systemic draws "
        "(omit for one contract).",
    )
    participants: Participants | None = Field(
        default=None,
        description="Participant practices among which earnings are distributed (omit for none).",
    )
    provider: Provider = Field(default_factory=Provider, description="The provider entity.")
    designs: Annotated[tuple[Design, ...], Strict(False)] = Field(
        min_length=1,
        max_length=500,
        description="Contract designs to settle; each is settled on the same simulated years.",
    )
    sweep: Annotated[tuple[SweepAxis, ...], Strict(False)] = Field(
        default=(),
        max_length=6,
        description="Parameters to sweep: each becomes a dimension of the results, every "
        "combination on the same random numbers (omit for a single run).",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_templates(cls, data: Any) -> Any:
        """Complete costs given by their moments, and replace each design that names a
        ``template`` by the template's fields plus its own (in the portfolio's lines too)."""
        if not isinstance(data, Mapping):
            return data
        data = _solve_cost_targets(data, ())
        if not isinstance(data.get("designs"), list | tuple):
            return data
        year = data.get("first_performance_year", 2026)
        if not isinstance(year, int) or isinstance(year, bool):
            year = 2026
        provider = data.get("provider")
        ratio = provider.get("revenue_ratio") if isinstance(provider, Mapping) else None
        if not isinstance(ratio, int | float) or isinstance(ratio, bool):
            ratio = None
        out = {**data, "designs": _expand_designs(data["designs"], ("designs",), year, ratio)}
        portfolio = data.get("portfolio")
        if isinstance(portfolio, Mapping) and isinstance(portfolio.get("lines"), list | tuple):
            lines = []
            for j, line in enumerate(portfolio["lines"]):
                if isinstance(line, Mapping) and isinstance(line.get("designs"), list | tuple):
                    provider = line.get("provider")
                    line_ratio = (
                        provider.get("revenue_ratio") if isinstance(provider, Mapping) else None
                    )
                    if not isinstance(line_ratio, int | float) or isinstance(line_ratio, bool):
                        line_ratio = None
                    where = ("portfolio", "lines", j, "designs")
                    line = {
                        **line,
                        "designs": _expand_designs(line["designs"], where, year, line_ratio),
                    }
                lines.append(line)
            out["portfolio"] = {**portfolio, "lines": lines}
        return out

    @model_validator(mode="after")
    def _portfolio_consistent(self) -> Scenario:
        if self.portfolio is None:
            return self
        if self.participants is not None:
            raise FieldError("participants", "participants cannot be combined with a portfolio")
        names = {self.portfolio.primary_name}
        designs = {d.name for d in self.designs}
        for j, line in enumerate(self.portfolio.lines):
            where: tuple[str | int, ...] = ("portfolio", "lines", j)
            if line.name in names:
                raise FieldError((*where, "name"), f"duplicate line name {line.name!r}")
            names.add(line.name)
            historical = [
                b.base_years for b in (self.benchmark, line.benchmark) if b.method == "historical"
            ]
            if len(set(historical)) > 1:
                raise FieldError(
                    (*where, "benchmark", "weights"),
                    f"every historical benchmark needs {self.benchmark.base_years} base years, "
                    "as the scenario's: the lines share the simulated years",
                )
            for i, d in enumerate(line.designs):
                caps = [
                    getattr(d, "savings_cap_revenue", None),
                    getattr(d, "loss_cap_revenue", None),
                ]
                if line.provider.revenue_ratio is None and any(c is not None for c in caps):
                    raise FieldError(
                        (*where, "designs", i, "name"),
                        "a revenue-based cap needs the line's provider.revenue_ratio",
                    )
                if d.name in designs:
                    raise FieldError(
                        (*where, "designs", i, "name"),
                        f"duplicate design name {d.name!r}: names are shared by all lines",
                    )
                designs.add(d.name)
        return self

    @model_validator(mode="after")
    def _participant_years(self) -> Scenario:
        part = self.participants
        if part is None:
            return self
        first = self.first_performance_year
        last = first + self.performance_years - 1
        for i, pr in enumerate(part.practices):
            where: tuple[str | int, ...] = ("participants", "practices", i)
            if pr.joins is not None and not first <= pr.joins <= last:
                raise FieldError(
                    (*where, "joins"),
                    f"joins must be a performance year, {first} to {last}; got {pr.joins}",
                )
            if pr.leaves is not None and not first < pr.leaves <= last:
                raise FieldError(
                    (*where, "leaves"),
                    f"leaves must be a performance year after the first, {first + 1} to {last}; "
                    f"got {pr.leaves}",
                )
            if pr.joins is not None and pr.leaves is not None and pr.leaves <= pr.joins:
                raise FieldError(
                    (*where, "leaves"),
                    f"leaves ({pr.leaves}) must come after joins ({pr.joins})",
                )
        for year in range(first, last + 1):
            if not any(pr.participates(year) for pr in part.practices):
                raise FieldError(
                    ("participants", "practices"),
                    f"no practice is a participant in performance year {year}",
                )
        return self

    @model_validator(mode="after")
    def _sweep_axes(self) -> Scenario:
        dims: dict[str, int] = {}
        for i, axis in enumerate(self.sweep):
            if axis.dim in dims:
                raise FieldError(
                    ("sweep", i, "name"),
                    f"dimension {axis.dim!r} is already swept by sweep.{dims[axis.dim]}; "
                    "give each axis its own name",
                )
            dims[axis.dim] = i
            if axis.is_design and self.portfolio is not None:
                raise FieldError(
                    ("sweep", i, "path"),
                    "design sweeps are not supported with a portfolio; sweep a line's field "
                    "(portfolio.lines...) instead, which simulates each value again",
                )
        return self

    @model_validator(mode="after")
    def _types_alone(self) -> Scenario:
        if self.population.enrollment_types is None:
            return self
        for name in ("participants", "portfolio"):
            if getattr(self, name) is not None:
                raise FieldError(
                    ("population", "enrollment_types"),
                    f"enrolment types are not supported with {name} (both use the member "
                    "lanes); remove one",
                )
        return self

    @model_validator(mode="after")
    def _truncation_model(self) -> Scenario:
        t = self.truncation
        if t is None or t.percentile is None:
            return self
        for where, cost in [((), self.cost)] + [
            (("portfolio", "lines", j), line.cost)
            for j, line in enumerate(() if self.portfolio is None else self.portfolio.lines)
        ]:
            if cost.model != "mixture":
                raise FieldError(
                    ("truncation", "percentile"),
                    "a percentile threshold needs the mixture cost model (the "
                    "frequency-severity total has no closed-form quantile here); "
                    f"{'.'.join(map(str, (*where, 'cost', 'model')))} is {cost.model!r}: give "
                    "truncation.threshold in USD",
                )
            if t.percentile <= cost.zero_cost_share:
                raise FieldError(
                    ("truncation", "percentile"),
                    f"the {t.percentile} percentile falls among the member-years with no cost "
                    f"({'.'.join(map(str, (*where, 'cost', 'zero_cost_share')))} is "
                    f"{cost.zero_cost_share}): give a higher percentile",
                )
        return self

    @model_validator(mode="after")
    def _rebase_window(self) -> Scenario:
        b = self.benchmark
        if b.agreement_years is not None and b.agreement_years < self.performance_years:
            window = len(b.rebase_weights if b.rebase_weights is not None else b.weights)
            available = b.base_years + b.agreement_years
            if window > available:
                raise FieldError(
                    ("benchmark", "rebase_weights"),
                    f"a renewal after {b.agreement_years} performance year(s) can rebase on "
                    f"at most {available} years; {window} weights given",
                )
        return self

    @model_validator(mode="after")
    def _unique_design_names(self) -> Scenario:
        seen: dict[str, int] = {}
        for i, d in enumerate(self.designs):
            if d.name in seen:
                raise FieldError(
                    ("designs", i, "name"),
                    f"duplicate design name {d.name!r} (first used by designs.{seen[d.name]})",
                )
            seen[d.name] = i
            revenue_caps = [
                getattr(d, "savings_cap_revenue", None),
                getattr(d, "loss_cap_revenue", None),
            ]
            if self.provider.revenue_ratio is None and any(c is not None for c in revenue_caps):
                field = (
                    "savings_cap_revenue" if revenue_caps[0] is not None else ("loss_cap_revenue")
                )
                raise FieldError(
                    ("designs", i, field),
                    "a revenue-based cap needs provider.revenue_ratio (participant revenue as a "
                    "fraction of the benchmark)",
                )
        return self

    @property
    def all_designs(self) -> tuple[Design, ...]:
        """The scenario's designs, then each portfolio line's, in order."""
        if self.portfolio is None:
            return self.designs
        return self.designs + tuple(d for line in self.portfolio.lines for d in line.designs)

    def line_views(self) -> list[tuple[str, Scenario]]:
        """(line name, a scenario of that line alone) for the primary line and each other line.

        A line's view keeps the scenario's seed, trials, years, trend, quality model and timing,
        with the line's population, cost, benchmark, provider and designs.
        """
        if self.portfolio is None:
            return [("primary", self)]
        views: list[tuple[str, Scenario]] = [(self.portfolio.primary_name, self)]
        for line in self.portfolio.lines:
            view = self.model_copy(
                update={
                    "population": line.population,
                    "cost": line.cost,
                    "benchmark": line.benchmark,
                    "provider": line.provider,
                    "designs": line.designs,
                    "portfolio": None,
                    "care_management": None,
                }
            )
            views.append((line.name, view))
        return views

    def to_text(self) -> str:
        """The scenario as a text that validates back to an equal scenario (JSON, which is
        YAML): the fields that were given, with those solved from targets left out (a cost
        given by ``cv`` and ``top5_share`` or a preset is solved again).

        :attr:`LoadedScenario.text <simsettle.scenario.io.LoadedScenario>` keeps a file's own
        text and comments; this is for a scenario built or changed in Python.
        """
        data = self.model_dump(mode="json", exclude_unset=True)
        return json.dumps(_unsolved(data), indent=2)

    def with_changes(self, changes: Overrides = (), /, **fields: Any) -> Scenario:
        """A copy with fields changed and validated as a scenario file is (pydantic's
        ``model_copy(update=...)`` validates nothing); the changes are written as for
        :meth:`LoadedScenario.with_changes <simsettle.scenario.io.LoadedScenario.with_changes>`.

        Examples
        --------
        >>> import simsettle
        >>> sc = simsettle.load_scenario("scenarios/examples/mssp_style.yaml").scenario
        >>> sc.with_changes({"population.turnover": 0.25}, trials=300).population.turnover
        0.25
        """
        from simsettle.scenario.io import parse_scenario

        loaded = parse_scenario(self.to_text(), "<Scenario object>")
        return loaded.with_changes(changes, **fields).scenario

    @property
    def simulated_base_years(self) -> int:
        """Base years simulated before the first performance year: those of the historical
        benchmarks (every line's has as many), none when every benchmark is a fixed target."""
        lines = () if self.portfolio is None else self.portfolio.lines
        return max([self.benchmark.base_years, *(line.benchmark.base_years for line in lines)])

    @property
    def years(self) -> tuple[int, ...]:
        """Calendar labels of the performance years."""
        return tuple(
            range(self.first_performance_year, self.first_performance_year + self.performance_years)
        )
