"""Contract designs: how a simulated performance year is settled.

A design is a tagged union on ``kind``: ``upside_only`` shares savings only, ``two_sided`` also
shares losses. Both are built from the same blocks, applied in CMS's order (SPEC-v11 section
4.3):

1. the benchmark, less any ``discount`` (or a fixed ``capitation_pmpm`` budget instead);
2. spend, less individual and aggregate stop-loss recoveries, plus their premiums;
3. savings = benchmark - spend; the minimum savings (loss) rate test: fixed, or MSSP's
   size-based table (``msr_table``);
4. sharing: a flat rate, or banded corridors (``savings_bands`` / ``loss_bands``), first-dollar
   or above the threshold; the quality score gates or scales the savings rate, sets the loss
   rate (ENHANCED) or earns back a withhold;
5. sequestration on savings, then the caps (a share of the benchmark or of participant revenue,
   whichever binds); losses: the cap, then the extreme-and-uncontrollable-circumstance reduction.

Every rate is a fraction (0.02 means 2%); money is in USD. Templates (``template:``) fill these
blocks with a program's published parameters; see :mod:`simsettle.scenario.templates`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, Strict, model_validator

from simsettle.scenario._base import FieldError, Fraction, Label, Money, SettleModel

__all__ = [
    "DESIGN_KINDS",
    "AggregateStopLoss",
    "AnyDesign",
    "Band",
    "CapitationAdvance",
    "Design",
    "EpisodeReconciliation",
    "LossRateFromQuality",
    "Quality",
    "StopLoss",
    "TwoSided",
    "UpsideOnly",
    "design_in_year",
]

#: A rate or share of the benchmark, savings or losses (fraction, 0 to 1).
Rate = Fraction
#: A premium loading over expected recoveries (fraction).
Loading = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]
#: A positive multiple of the benchmark (fraction; 1.10 is 110% of the benchmark).
OfBenchmark = Annotated[float, Field(gt=0.0, le=10.0, allow_inf_nan=False)]
#: A share of participant revenue (fraction, up to 10 times the revenue).
OfRevenue = Annotated[float, Field(ge=0.0, le=10.0, allow_inf_nan=False)]
#: A discount taken off the benchmark (fraction, below 1).
Discount = Annotated[float, Field(ge=0.0, lt=1.0, allow_inf_nan=False)]
#: Banded sharing: up to 16 bands, written as a YAML list.
Bands = Annotated[tuple["Band", ...], Strict(False), Field(min_length=1, max_length=16)]
DesignName = Annotated[
    Label,
    Field(description="Unique name of the design; becomes a label of the `design` dimension."),
]


class _Price(SettleModel):
    """How a stop-loss layer is priced and who carries it (shared by both layers)."""

    premium_pmpm: Money | None = Field(
        default=None,
        ge=0.0,
        le=1e5,
        allow_inf_nan=False,
        description="A quoted premium per attributed member per month instead of a loading: "
        "premium = premium_pmpm x the year's attributed member months (USD per member per "
        "month).",
    )
    premium_annual: Money | None = Field(
        default=None,
        ge=0.0,
        le=1e12,
        allow_inf_nan=False,
        description="A quoted premium per performance year instead of a loading (USD per year).",
    )
    borne_by: Literal["settlement", "provider"] = Field(
        default="settlement",
        description="Who carries the stop-loss. 'settlement' (as ACO REACH's): the recovery is "
        "taken off and the premium added to the spend the design settles on, so the payer "
        "shares its cost through the sharing rate. 'provider': reinsurance the provider buys "
        "for itself: recovery and premium are the provider's alone, leave the settlement as it "
        "is, and enter provider_net.",
    )

    @model_validator(mode="after")
    def _one_price(self) -> Self:
        quoted = [n for n in ("premium_pmpm", "premium_annual") if getattr(self, n) is not None]
        if len(quoted) > 1 or (quoted and "premium_loading" in self.model_fields_set):
            given = [*(["premium_loading"] if "premium_loading" in self.model_fields_set else []),
                     *quoted]  # fmt: skip
            raise FieldError(
                quoted[-1],
                f"give the premium once: {' or '.join(given)} (a loading over expected "
                "recoveries, a quoted price per member month, or a quoted price per year)",
            )
        return self


class StopLoss(_Price):
    """Individual (specific) stop-loss built into the contract.

    For every member and year, cost above ``attachment`` is the excess; the stop-loss reimburses
    ``(1 - coinsurance)`` of it, and that recovery is removed from the spend the design settles on.
    The premium, ``(1 + premium_loading)`` times the expected recovery of the year (the Monte Carlo
    mean over all trials), or a quoted price (``premium_pmpm`` or ``premium_annual``), is added
    to it. With ``borne_by: provider`` the stop-loss is the provider's own reinsurance instead:
    recovery and premium leave the settlement as it is and go to the provider's net result.
    """

    attachment: Money = Field(
        gt=0.0,
        allow_inf_nan=False,
        description="Attachment point: annual allowed cost per member above which the stop-loss "
        "responds, in USD per member per year.",
    )
    coinsurance: Rate = Field(
        default=0.0,
        description="Share of the excess above the attachment that the provider still pays "
        "(fraction, 0 to 1); the stop-loss reimburses the rest.",
    )
    premium_loading: Loading = Field(
        default=0.0,
        description="Premium loading over expected recoveries (fraction): premium = "
        "(1 + premium_loading) x expected recovery, in USD per year.",
    )
    upper_attachment: Money | None = Field(
        default=None,
        gt=0.0,
        allow_inf_nan=False,
        description="A second attachment point above `attachment` (USD per member per year): "
        "the excess above it is reimbursed at 1 - `upper_coinsurance` instead (ACO REACH's "
        "CMS-run stop-loss has bands of this kind; its attachment points and rates were not "
        "found in a primary source [U]). Omit for one band.",
    )
    upper_coinsurance: Rate = Field(
        default=0.0,
        description="Share of the excess above `upper_attachment` the provider still pays "
        "(fraction).",
    )
    charged_to: Literal["spend", "benchmark"] = Field(
        default="spend",
        description="Where a settlement-borne premium goes: added to the `spend` settled on, or "
        "taken off the `benchmark` (ACO REACH's stop-loss charge, a PBPM deducted from the "
        "benchmark [S]), so that the corridors and bands are measured on the reduced benchmark.",
    )
    budget_neutrality_factor: float = Field(
        default=1.0,
        gt=0.0,
        le=5.0,
        allow_inf_nan=False,
        description="Factor applied to the recoveries after the year (ratio; ACO REACH from "
        "PY2025: total charges over total payouts, pooled over the ACOs that elect the "
        "stop-loss [S/U], so exogenous to one ACO; 1 for none).",
    )

    @model_validator(mode="after")
    def _bands(self) -> StopLoss:
        if self.upper_attachment is not None and self.upper_attachment <= self.attachment:
            raise FieldError(
                "upper_attachment",
                f"must be above attachment ({self.attachment:,.0f}); got "
                f"{self.upper_attachment:,.0f}",
            )
        if self.upper_attachment is None and "upper_coinsurance" in self.model_fields_set:
            raise FieldError("upper_coinsurance", "is used only with an upper_attachment")
        for field, coinsurance in (
            ("coinsurance", self.coinsurance),
            ("upper_coinsurance", self.upper_coinsurance),
        ):
            if (1.0 - coinsurance) * self.budget_neutrality_factor > 1.0 + 1e-12:
                raise FieldError(
                    "budget_neutrality_factor",
                    f"{self.budget_neutrality_factor} x (1 - {field} {coinsurance}) would "
                    "reimburse more than the excess; give a larger coinsurance or a smaller factor",
                )
        if self.charged_to == "benchmark" and self.borne_by != "settlement":
            raise FieldError(
                "charged_to",
                "a charge taken off the benchmark is the settlement's: borne_by must be settlement",
            )
        return self


class AggregateStopLoss(_Price):
    """Aggregate stop-loss: claims above a share of the benchmark are reimbursed.

    Where it attaches: on the year's claims net of any individual (specific) stop-loss
    recoveries -- the spend after any truncation, less the individual recovery; the individual
    layer's premium is not a claim and does not count -- above ``attachment`` times the design's
    settlement benchmark (after its discount). The recovery is ``(1 - coinsurance) x max(0,
    net claims - attachment x benchmark)``; the premium is ``(1 + premium_loading)`` times the
    year's expected recovery (Monte Carlo mean over trials). Recovery and premium enter the
    settled spend like individual stop-loss: settled spend = spend - individual recovery +
    individual premium - aggregate recovery + aggregate premium. A layer ``borne_by:
    provider`` leaves the settled spend as it is; the aggregate layer attaches on claims net of
    the individual recoveries in every case but one: an aggregate layer charged through the
    settlement does not see the recoveries of an individual layer the provider bears. The
    results keep each layer apart (``specific_stop_loss_recovery``,
    ``aggregate_stop_loss_recovery`` and their premiums) as well as their sums.
    """

    attachment: OfBenchmark = Field(
        description="Attachment point as a fraction of the settlement benchmark (fraction, e.g. "
        "1.10 for 110% of the benchmark), on claims net of individual stop-loss recoveries "
        "(premiums excluded).",
    )
    coinsurance: Rate = Field(
        default=0.0,
        description="Share of spend above the attachment the provider still pays (fraction).",
    )
    premium_loading: Loading = Field(
        default=0.0,
        description="Premium loading over expected recoveries (fraction).",
    )


class Band(SettleModel):
    """One band of a banded corridor: the share applied to the part of the savings (or loss)
    rate between the previous band's ``up_to`` (0 for the first) and this band's ``up_to``."""

    up_to: OfBenchmark | None = Field(
        default=None,
        description="Upper end of the band as a fraction of the benchmark (fraction); omit on "
        "the last band for no upper end.",
    )
    share: Rate = Field(
        description="Provider's share of savings (or losses) within the band (fraction, 0 to 1)."
    )


def _check_bands(bands: tuple[Band, ...] | None, field: str) -> None:
    if bands is None:
        return
    previous = 0.0
    for i, band in enumerate(bands):
        last = i == len(bands) - 1
        if band.up_to is None and not last:
            raise FieldError((field, i, "up_to"), "only the last band may omit up_to")
        if band.up_to is not None and band.up_to <= previous:
            raise FieldError(
                (field, i, "up_to"),
                f"bands must be in increasing order without gaps or overlaps: up_to "
                f"{band.up_to} does not exceed the previous band's {previous}",
            )
        if band.up_to is not None:
            previous = band.up_to


class LossRateFromQuality(SettleModel):
    """Shared loss rate set by the quality score: ``1 - slope x score`` within [floor, ceiling],
    and ``failed`` when the quality standard is not met (MSSP ENHANCED, 42 CFR 425.610(f))."""

    slope: float = Field(
        default=0.75, ge=0.0, le=1.0, description="Slope on the quality score (fraction)."
    )
    floor: Rate = Field(default=0.40, description="Lowest shared loss rate (fraction).")
    ceiling: Rate = Field(default=0.75, description="Highest shared loss rate (fraction).")
    failed: Rate = Field(
        default=0.75,
        description="Shared loss rate when neither the quality standard nor the alternative "
        "standard is met (fraction).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> LossRateFromQuality:
        if self.floor > self.ceiling:
            raise FieldError("floor", f"floor {self.floor} is above ceiling {self.ceiling}")
        return self


class Quality(SettleModel):
    """The quality score and how it acts on the settlement.

    Meeting the ``standard`` earns the full savings rate. Below it, savings are forfeited, or,
    with ``below_standard: scale_by_score`` (MSSP's alternative quality performance standard from
    PY2023), the rate is multiplied by the score. ``scale_savings_rate`` multiplies the rate by
    the score in any case (MSSP before PY2021). A ``withhold`` share of the benchmark is withheld
    and earned back in proportion to the score (ACO REACH).
    """

    score: Rate = Field(
        default=1.0, description="Quality score of every performance year (fraction, 0 to 1)."
    )
    standard: Rate = Field(
        default=0.0,
        description="Score needed for the full savings rate (fraction, 0 to 1); 0 for none.",
    )
    below_standard: Literal["no_savings", "scale_by_score"] = Field(
        default="no_savings",
        description="What a score below the standard does to savings: `no_savings` forfeits "
        "them; `scale_by_score` shares them at the rate times the score.",
    )
    scale_savings_rate: bool = Field(
        default=False,
        description="Multiply the savings rate by the score even when the standard is met.",
    )
    loss_rate: LossRateFromQuality | None = Field(
        default=None,
        description="Set the shared loss rate from the score (two-sided designs only).",
    )
    withhold: float = Field(
        default=0.0,
        ge=0.0,
        le=0.5,
        allow_inf_nan=False,
        description="Quality withhold as a fraction of the benchmark, earned back in proportion "
        "to the score (fraction).",
    )


class CapitationAdvance(SettleModel):
    """Capitation paid as an advance during the year and reconciled at settlement (ACO REACH's
    Primary Care and Total Care Capitation): CMS pays ``share`` of the design's benchmark in
    monthly installments and stops paying the capitated providers' claims (``claims_share``
    of the year's spend); the settlement is still measured on all spend against the
    benchmark, and what the advance paid beyond the claims it replaced is netted at settlement:
    ``reconciliation = settlement - (advance - capitated claims)``. The provider's total is the
    settlement; what moves is when it is paid (and ``settlement_pv`` with payment timing).
    """

    kind: Literal["primary_care", "total_care"] = Field(
        default="total_care",
        description="Primary Care Capitation (Professional and Global) or Total Care "
        "Capitation (Global); a label, the amounts are `share` and `claims_share`.",
    )
    share: Fraction = Field(
        description="The advance as a share of the design's benchmark (fraction; REACH PCC: "
        "about 0.07, base plus enhanced [S: LEAD workbook]; TCC: the capitated providers' "
        "expected share of spend)."
    )
    claims_share: Fraction | None = Field(
        default=None,
        description="Share of the year's spend that is capitated claims, which CMS no longer "
        "pays (fraction); omit for `share` (an advance priced at expected claims).",
    )

    @property
    def claims(self) -> float:
        """The capitated share of spend in force."""
        return self.share if self.claims_share is None else self.claims_share


class _Named(SettleModel):
    """What every design kind has: its name and the template and rules year it came from."""

    name: DesignName
    template: str | None = Field(
        default=None,
        description="Name of the template this design was expanded from (see `simsettle "
        "schema` and the templates table in the README); its parameters can be overridden.",
    )
    performance_year: int | None = Field(
        default=None,
        ge=2012,
        le=2100,
        description="Program rules year a template used (year); informational otherwise.",
    )


class _DesignBase(_Named):
    discount: Discount = Field(
        default=0.0,
        description="Discount taken off the benchmark before savings are measured (fraction; "
        "ACO REACH Global).",
    )
    min_savings_rate: Rate = Field(
        default=0.0,
        description="Minimum savings rate (MSR): savings below this fraction of the benchmark are "
        "not shared (fraction of benchmark, 0 to 1).",
    )
    msr_table: Literal["mssp"] | None = Field(
        default=None,
        description="Use MSSP's size-based MSR table (linear within each band of assigned "
        "beneficiaries, 2% floor at 60,000; CMS's Shared Savings and Losses Methodology "
        "Specifications v11, Table 5, cited as SPEC-v11 in docs/methodology.md) on each year's "
        "attributed members instead of `min_savings_rate` (and, two-sided, of `min_loss_rate`).",
    )
    variable_msr_below: int | None = Field(
        default=None,
        ge=1,
        le=100_000_000,
        description="Use the MSSP table for any year in which fewer members than this are "
        "attributed (count; MSSP two-sided fixed MSR/MLR: 5000).",
    )
    shared_savings_rate: Rate | None = Field(
        default=None,
        description="Share of savings paid to the provider once the MSR is met (fraction, 0 to "
        "1); give this or `savings_bands`.",
    )
    savings_bands: Bands | None = Field(
        default=None,
        description="Banded sharing of savings: a list of bands by savings rate, each with the "
        "provider's share, applied piecewise (instead of `shared_savings_rate`).",
    )
    savings_cap: Rate | None = Field(
        default=None,
        description="Cap on shared savings as a fraction of the benchmark (fraction, 0 to 1); "
        "omit for no cap.",
    )
    savings_cap_revenue: OfRevenue | None = Field(
        default=None,
        description="Cap on shared savings as a fraction of participant revenue (fraction); the "
        "lower of the two caps binds. Needs `provider.revenue_ratio`.",
    )
    sharing_basis: Literal["first_dollar", "above_threshold"] = Field(
        default="first_dollar",
        description="`first_dollar`: once the MSR (MLR) is met the sharing rate applies to all "
        "savings (losses), as in MSSP; `above_threshold`: only to the part beyond the MSR (MLR).",
    )
    sequestration: Rate = Field(
        default=0.0,
        description="Share of shared savings withheld by sequestration, before the cap "
        "(fraction; MSSP: 0.02 in most years).",
    )
    below_msr_share: Rate = Field(
        default=0.0,
        description="Factor on the sharing rate for savings that are positive but below the MSR "
        "(fraction; MSSP low-revenue ACOs from agreement periods starting 2024: 0.5).",
    )
    below_msr_min_members: int = Field(
        default=0,
        ge=0,
        le=100_000_000,
        description="Attributed members needed for `below_msr_share` to apply (count; MSSP: 5000).",
    )
    quality: Quality | None = Field(
        default=None, description="Quality score and its effect on the settlement."
    )
    stop_loss: StopLoss | None = Field(
        default=None, description="Optional individual stop-loss (see StopLoss)."
    )
    aggregate_stop_loss: AggregateStopLoss | None = Field(
        default=None, description="Optional aggregate stop-loss (see AggregateStopLoss)."
    )
    capitation_advance: CapitationAdvance | None = Field(
        default=None,
        description="Capitation paid during the year as an advance reconciled at settlement "
        "(see CapitationAdvance); omit for none.",
    )
    by_year: Annotated[tuple[Design, ...], Strict(False)] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Terms that change by performance year (MSSP's BASIC glide path, a "
        "commercial corridor that narrows): entry p is performance year p + 1's design, written "
        "as the fields that differ from this one (a `template` named there, or inherited, is "
        "expanded with that year's rules: the design's `performance_year` plus p). Years after "
        "the last entry keep its terms; an entry with the design's `name` is a whole design, "
        "not changes. Each year is settled on its own terms; the design's coordinates show the "
        "first year's. Omit for the same terms every year.",
    )

    def in_year(self, p: int) -> AnyDesign:
        """The design in force in performance year ``p`` (0-based): ``by_year[p]`` (the last
        entry after the list), or this design when its terms do not change by year."""
        if self.by_year is None:
            return self  # type: ignore[return-value]
        return self.by_year[min(p, len(self.by_year) - 1)]

    @property
    def savings_bands_effective(self) -> tuple[Band, ...]:
        """Savings bands in force: ``savings_bands``, or one band at ``shared_savings_rate``."""
        if self.savings_bands is not None:
            return self.savings_bands
        return (Band(share=self.shared_savings_rate or 0.0),)

    def _check_common(self) -> None:
        for p, year in enumerate(self.by_year or ()):
            if getattr(year, "by_year", None) is not None:
                raise FieldError(("by_year", p, "by_year"), "a year's terms cannot change by year")
            if year.name != self.name:
                raise FieldError(
                    ("by_year", p, "name"),
                    f"a year's terms belong to design {self.name!r}; remove the name",
                )
        if (self.shared_savings_rate is None) == (self.savings_bands is None):
            raise FieldError(
                "shared_savings_rate",
                "give exactly one of shared_savings_rate and savings_bands",
            )
        _check_bands(self.savings_bands, "savings_bands")
        if self.below_msr_share > 0 and self.sharing_basis != "first_dollar":
            raise FieldError(
                "below_msr_share",
                "sharing below the MSR needs sharing_basis: first_dollar (above the threshold "
                "nothing below the MSR is shared)",
            )


class UpsideOnly(_DesignBase):
    """One-sided shared savings: the provider never pays losses."""

    kind: Literal["upside_only"] = Field(description="Design type tag: `upside_only`.")

    @model_validator(mode="after")
    def _consistent(self) -> UpsideOnly:
        self._check_common()
        if self.quality is not None and self.quality.loss_rate is not None:
            raise FieldError(("quality", "loss_rate"), "an upside_only design has no losses")
        return self


class TwoSided(_DesignBase):
    """Two-sided shared savings and losses, each behind its own corridor and cap."""

    kind: Literal["two_sided"] = Field(description="Design type tag: `two_sided`.")
    min_loss_rate: Rate | None = Field(
        default=None,
        description="Minimum loss rate (MLR): losses below this fraction of the benchmark are not "
        "shared (fraction, 0 to 1); omit for the same value as `min_savings_rate` (symmetric).",
    )
    shared_loss_rate: Rate | None = Field(
        default=None,
        description="Share of losses the provider pays back once the MLR is met (fraction, 0 to "
        "1); give this, `loss_bands`, or `quality.loss_rate`.",
    )
    loss_bands: Bands | None = Field(
        default=None,
        description="Banded sharing of losses by loss rate, each band with the provider's share.",
    )
    loss_cap: Rate | None = Field(
        default=None,
        description="Cap on shared losses as a fraction of the benchmark (fraction, 0 to 1); "
        "omit for no cap.",
    )
    loss_cap_revenue: OfRevenue | None = Field(
        default=None,
        description="Cap on shared losses as a fraction of participant revenue (fraction); the "
        "lower of the two caps binds (MSSP BASIC). Needs `provider.revenue_ratio`.",
    )
    loss_reduction: Rate = Field(
        default=0.0,
        description="Share of shared losses forgiven for extreme and uncontrollable "
        "circumstances, after the loss cap (fraction; MSSP PY2020-2022: 1.0, PY2023: 5/12).",
    )
    capitation_pmpm: Money | None = Field(
        default=None,
        gt=0.0,
        le=1e6,
        allow_inf_nan=False,
        description="Fixed capitation budget replacing the benchmark (USD per member per month "
        "in the first performance year, trended at the benchmark's trend_rate); the provider "
        "carries spend against it within the corridors and bands. It settles one design on a "
        "budget beside the simulated historical benchmark, on the same draws; for a target "
        "every design settles on, with no base year simulated, use `benchmark.method: fixed`.",
    )

    @property
    def effective_min_loss_rate(self) -> float:
        """The MLR in force: ``min_loss_rate``, or ``min_savings_rate`` when it was omitted."""
        return self.min_savings_rate if self.min_loss_rate is None else self.min_loss_rate

    @property
    def loss_bands_effective(self) -> tuple[Band, ...]:
        """Loss bands in force: ``loss_bands``, one band at ``shared_loss_rate``, or one band at
        100% to be scaled by the quality-based loss rate."""
        if self.loss_bands is not None:
            return self.loss_bands
        if self.shared_loss_rate is not None:
            return (Band(share=self.shared_loss_rate),)
        return (Band(share=1.0),)

    @model_validator(mode="after")
    def _consistent(self) -> TwoSided:
        self._check_common()
        quality_rate = self.quality is not None and self.quality.loss_rate is not None
        given = sum(
            x
            for x in (self.shared_loss_rate is not None, self.loss_bands is not None, quality_rate)
        )
        if given != 1:
            raise FieldError(
                "shared_loss_rate",
                "give exactly one of shared_loss_rate, loss_bands and quality.loss_rate",
            )
        _check_bands(self.loss_bands, "loss_bands")
        return self


class EpisodeReconciliation(_Named):
    """Episode-based reconciliation against a target price, with stop-gain and stop-loss limits.

    The design of CMS's episode models -- BPCI Advanced (2018-2025) and the Transforming Episode
    Accountability Model (TEAM, from 2026) -- settled on the year's total: the benchmark plays
    the target price summed over the year's episodes, and

    1. the reconciliation target is the benchmark less the CMS ``discount``;
    2. the reconciliation amount is that target less the year's spend (first dollar, no
       minimum savings rate, 100% of savings and losses);
    3. the composite quality score (CQS, 0 to 1) adjusts it: a positive amount is reduced by up
       to ``quality_reduction_gain`` (the whole of it at a CQS of 0, nothing at 1), a repayment
       by up to ``quality_reduction_loss`` (the whole of it at a CQS of 1);
    4. the quality-adjusted amount is limited to ``stop_gain`` times the target above and
       ``stop_loss_limit`` times the target below (no repayment when ``stop_loss_limit`` is
       null: TEAM Track 1; it is 20% when not given).

    Sources: 42 CFR 512.550 (TEAM reconciliation: reconciliation amount, CQS adjustment, then the
    stop-gain and stop-loss limits; final rule CMS-1808-F, 89 FR 68986, Aug. 28, 2024); CMS,
    *BPCI Advanced Clinical Episode Reconciliation Specifications, Model Years 1 and 2* (July
    2019), "Calculate Reconciliation Amounts" (CQS adjustment of at most 10%; stop-loss and
    stop-gain at 20% of the total target amount); 42 CFR 510.305 (CJR, the first CMS episode
    model with stop-gain/stop-loss limits on the net payment reconciliation amount). The limits
    by track (TEAM: Track 1 10% stop-gain, no downside; Track 2 10%/10%; Track 3 20%/20%) and the
    CQS adjustment's caps (10% on gains; 15% on repayments in Track 2) are read from the final
    rule's summary and were not checked against the CFR text here; the linear CQS mapping is
    this model's simplification of the programs' scaled CQS adjustment percentage.
    """

    kind: Literal["episode_reconciliation"] = Field(
        description="Design type tag: `episode_reconciliation`."
    )
    discount: Discount = Field(
        default=0.03,
        description="CMS discount taken off the target price before reconciliation (fraction; "
        "BPCI Advanced: 0.03; TEAM: 0.015 to 0.03 by episode category).",
    )
    stop_gain: Rate = Field(
        default=0.20,
        description="Stop-gain limit: the most CMS pays, as a fraction of the reconciliation "
        "target (fraction; TEAM Tracks 1-2: 0.10, Track 3 and BPCI Advanced: 0.20).",
    )
    stop_loss_limit: Rate | None = Field(
        default=0.20,
        description="Stop-loss limit: the most the provider repays, as a fraction of the "
        "reconciliation target (fraction; TEAM Track 2: 0.10, Track 3 and BPCI Advanced: 0.20); "
        "`null` for no repayment at all (TEAM Track 1).",
    )
    quality_score: Rate = Field(
        default=1.0,
        description="Composite quality score (CQS) of every performance year, scaled to 0-1 "
        "(fraction); a simulated quality score replaces it.",
    )
    quality_reduction_gain: Rate = Field(
        default=0.10,
        description="Largest CQS reduction of a positive reconciliation amount, taken in full "
        "at a CQS of 0 and not at all at 1 (fraction; TEAM and BPCI Advanced: 0.10).",
    )
    quality_reduction_loss: Rate = Field(
        default=0.0,
        description="Largest CQS reduction of a repayment, taken in full at a CQS of 1 "
        "(fraction; TEAM Track 2: 0.15, BPCI Advanced: 0.10).",
    )


#: Every design kind, as a type: a new kind adds its model here and to :data:`DESIGN_KINDS`.
AnyDesign = UpsideOnly | TwoSided | EpisodeReconciliation

#: The design models by their ``kind`` tag; the scenario format's tagged union, the loader's
#: messages, sweeps and the JSON Schema are all built from it.
DESIGN_KINDS: dict[str, type[AnyDesign]] = {
    "upside_only": UpsideOnly,
    "two_sided": TwoSided,
    "episode_reconciliation": EpisodeReconciliation,
}

#: A design of any kind, told apart by its ``kind`` tag.
Design = Annotated[AnyDesign, Field(discriminator="kind")]

UpsideOnly.model_rebuild()
TwoSided.model_rebuild()


def design_in_year(design: AnyDesign, p: int) -> AnyDesign:
    """The terms of ``design`` in force in performance year ``p`` (0-based); see ``by_year``."""
    if isinstance(design, UpsideOnly | TwoSided):
        return design.in_year(p)
    return design
