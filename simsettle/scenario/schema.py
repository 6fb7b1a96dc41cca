"""The scenario file: what to simulate and which contract designs to settle it under.

Units: money in USD, rates and shares as fractions (0.04 means 4%), counts as integers, time in
years. Every field's description states its unit; the descriptions flow into the JSON Schema that
``simsettle schema`` prints, so editors show them as hover text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, Strict, model_validator

from simsettle.scenario._base import FieldError, SettleModel
from simsettle.scenario.contracts import Design
from simsettle.scenario.templates import TEMPLATES, expand_template, template_names

__all__ = [
    "SCHEMA_VERSION",
    "Benchmark",
    "Cost",
    "Population",
    "Provider",
    "Scenario",
    "Trend",
]

SCHEMA_VERSION = 1

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class Population(SettleModel):
    """The attributed population: its size, churn and risk-score distribution."""

    members: int = Field(
        ge=1,
        le=5_000_000,
        description="Attributed members at the start of every year (count).",
    )
    turnover: Fraction = Field(
        default=0.15,
        description="Probability that a member leaves during a year (fraction per year); the "
        "departure month is uniform over the year, so leavers contribute partial member months.",
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
        description="Dispersion of member risk scores: standard deviation of the log risk score "
        "(dimensionless); scores are lognormal with mean 1.",
    )
    risk_persistence: Fraction = Field(
        default=0.75,
        description="Year-to-year correlation of a continuing member's log risk score "
        "(dimensionless, 0 to 1).",
    )


class Cost(SettleModel):
    """Annual allowed cost of a member with risk score 1 in the first simulated year.

    A member-year costs nothing with probability ``zero_cost_share``; is a high-cost claimant with
    probability ``tail_probability``, with cost ``tail_threshold`` times a Pareto(``tail_shape``)
    variate; and otherwise draws from a lognormal body with log-sd ``body_sigma`` whose mean is
    solved so that the mean cost is ``12 x pmpm``. Cost scales with the member's risk score, the
    systemic trend index and the share of the year enrolled.

    The defaults (with the default population risk spread) put about 16% of spend on the top 1% of
    member-years, 42% on the top 5% and 59% on the top 10%, against 14.9%, 41.5% and 60.0% in
    Medicare FFS (Wallis et al. 2021; cms_methodology.md section 4.3), with a coefficient of
    variation of annual cost near 2.3.
    """

    pmpm: float = Field(
        gt=0.0,
        le=1e6,
        allow_inf_nan=False,
        description="Mean allowed cost per member per month in the first simulated base year, "
        "for a risk score of 1 (USD per member per month).",
    )
    zero_cost_share: Fraction = Field(
        default=0.15,
        description="Probability that a member-year has no cost at all (fraction).",
    )
    body_sigma: float = Field(
        default=1.2,
        gt=0.0,
        le=4.0,
        allow_inf_nan=False,
        description="Standard deviation of log annual cost in the lognormal body (dimensionless).",
    )
    tail_probability: Fraction = Field(
        default=0.04,
        description="Probability that a member-year is a high-cost claimant drawn from the "
        "Pareto tail (fraction).",
    )
    tail_threshold: float = Field(
        default=60_000.0,
        gt=0.0,
        le=1e9,
        allow_inf_nan=False,
        description="Scale (minimum) of the high-cost-claimant Pareto tail, before risk and "
        "trend (USD per member per year).",
    )
    tail_shape: float = Field(
        default=4.0,
        gt=1.0,
        le=100.0,
        allow_inf_nan=False,
        description="Pareto shape (alpha) of the high-cost tail (dimensionless, > 1 so that the "
        "mean exists; smaller is heavier).",
    )

    @property
    def annual_mean(self) -> float:
        """Mean annual cost of a risk-1 member in the first year (USD)."""
        return 12.0 * self.pmpm

    @property
    def body_mean(self) -> float:
        """Mean of the lognormal body (USD per year) that makes the overall mean ``12 x pmpm``."""
        tail_mean = self.tail_threshold * self.tail_shape / (self.tail_shape - 1.0)
        body_p = 1.0 - self.zero_cost_share - self.tail_probability
        return (self.annual_mean - self.tail_probability * tail_mean) / body_p

    @model_validator(mode="after")
    def _solvable(self) -> Cost:
        body_p = 1.0 - self.zero_cost_share - self.tail_probability
        if body_p <= 0.0:
            raise FieldError(
                "tail_probability",
                f"zero_cost_share + tail_probability must be below 1 so that some members fall "
                f"in the body; got {self.zero_cost_share} + {self.tail_probability}",
            )
        if self.body_mean <= 0.0:
            tail_mean = self.tail_threshold * self.tail_shape / (self.tail_shape - 1.0)
            raise FieldError(
                "tail_threshold",
                f"the high-cost tail alone carries a mean of "
                f"{self.tail_probability * tail_mean:,.0f} USD per member-year, at least the "
                f"target 12 x pmpm = {self.annual_mean:,.0f}; lower tail_probability or "
                f"tail_threshold, or raise pmpm",
            )
        return self


class Trend(SettleModel):
    """Systemic cost trend: one draw per trial and year, shared by every member."""

    mean: float = Field(
        default=0.04,
        ge=-0.5,
        le=1.0,
        allow_inf_nan=False,
        description="Expected annual growth of cost per member (fraction per year).",
    )
    sd: float = Field(
        default=0.02,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Standard deviation of the annual log growth factor (fraction per year); the "
        "growth factor is lognormal with mean 1 + `mean`.",
    )


class Benchmark(SettleModel):
    """How the benchmark is built from simulated base years."""

    # YAML sequences arrive as lists: accept a list for the tuple, but keep items strict.
    weights: Annotated[tuple[Annotated[float, Strict()], ...], Strict(False)] = Field(
        default=(0.1, 0.3, 0.6),
        min_length=1,
        max_length=10,
        description="Weights of the base years, oldest first (fractions summing to 1); their "
        "number is the number of simulated base years. MSSP: 0.1, 0.3, 0.6 for a first agreement.",
    )
    trend_rate: float = Field(
        default=0.04,
        ge=-0.5,
        le=1.0,
        allow_inf_nan=False,
        description="Negotiated annual trend applied to each base year's cost to bring it to the "
        "performance year (fraction per year).",
    )
    risk_adjustment: bool = Field(
        default=True,
        description="Restate each base year to the last base year's mean risk score and move the "
        "benchmark by the performance year's risk ratio (member-month weighted mean risk scores).",
    )

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> Benchmark:
        for i, w in enumerate(self.weights):
            if not (math.isfinite(w) and 0.0 <= w <= 1.0):
                raise FieldError(("weights", i), f"must be a fraction between 0 and 1, got {w}")
        total = math.fsum(self.weights)
        if abs(total - 1.0) > 1e-9:
            raise FieldError("weights", f"must sum to 1; they sum to {total:.12g}")
        return self

    @property
    def base_years(self) -> int:
        """Number of simulated base years."""
        return len(self.weights)


class Provider(SettleModel):
    """Facts about the provider entity that some contract terms refer to."""

    revenue_ratio: float | None = Field(
        default=None,
        gt=0.0,
        le=10.0,
        allow_inf_nan=False,
        description="Participants' fee-for-service revenue from the attributed population as a "
        "fraction of the benchmark (fraction); needed by revenue-based caps (MSSP BASIC loss "
        "limits). MSSP 'low revenue' ACOs are below about 0.35.",
    )


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
    provider: Provider = Field(default_factory=Provider, description="The provider entity.")
    designs: Annotated[tuple[Design, ...], Strict(False)] = Field(
        min_length=1,
        max_length=500,
        description="Contract designs to settle; each is settled on the same simulated years.",
    )

    @model_validator(mode="before")
    @classmethod
    def _expand_templates(cls, data: Any) -> Any:
        """Replace each design that names a ``template`` by the template's fields plus its own."""
        if not isinstance(data, Mapping) or not isinstance(data.get("designs"), list | tuple):
            return data
        year = data.get("first_performance_year", 2026)
        if not isinstance(year, int) or isinstance(year, bool):
            year = 2026
        provider = data.get("provider")
        ratio = provider.get("revenue_ratio") if isinstance(provider, Mapping) else None
        if not isinstance(ratio, int | float) or isinstance(ratio, bool):
            ratio = None
        designs: list[Any] = []
        for i, design in enumerate(data["designs"]):
            if isinstance(design, Mapping) and design.get("template") is not None:
                name = design["template"]
                if not isinstance(name, str) or name not in TEMPLATES:
                    raise FieldError(
                        ("designs", i, "template"),
                        f"unknown template {name!r}; known templates: "
                        f"{', '.join(template_names())}",
                    )
                try:
                    design = expand_template(design, year, revenue_ratio=ratio)
                except ValueError as exc:
                    raise FieldError(("designs", i, "performance_year"), str(exc)) from None
            designs.append(design)
        return {**data, "designs": designs}

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
            revenue_caps = [d.savings_cap_revenue, getattr(d, "loss_cap_revenue", None)]
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
    def years(self) -> tuple[int, ...]:
        """Calendar labels of the performance years."""
        return tuple(
            range(self.first_performance_year, self.first_performance_year + self.performance_years)
        )
