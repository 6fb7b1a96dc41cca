"""The results' variable schema: dimension names, variable and coordinate attributes.

Layout: dims ``(design, trial, year)``; per-design variables carry all three, design-independent
ones ``(trial, year)``. Design parameters are non-dimension coordinates on ``design``. Every
variable has ``long_name``, ``units`` ("USD" for money, "1" for fractions) and ``description``
(:data:`VAR_ATTRS`; the design coordinates' in ``_COORD_ATTRS``). Sign convention: settlement > 0
means the payer pays the provider (:data:`SIGN_CONVENTION`).

The names with a leading underscore are the dimension names as plain strings and the design
coordinates' attributes, shared by the modules of :mod:`simsettle.results` only.
"""

from __future__ import annotations

from simsettle.dims import Dim
from simsettle.scenario.contracts import DESIGN_KINDS

__all__ = ["RESULTS_FORMAT", "SIGN_CONVENTION", "VAR_ATTRS"]

#: Version of the results layout; :func:`open_results` refuses files of another version.
RESULTS_FORMAT = 1
SIGN_CONVENTION = "positive = payment from the payer to the provider"

# Plain strings (not the StrEnum members) so that dims print and serialise as plain names.
_D, _T, _Y = Dim.DESIGN.value, Dim.TRIAL.value, Dim.YEAR.value
_DPT = (_D, _T, _Y)
_PAYOFF = Dim.PAYOFF_SAVINGS_RATE.value
_P = Dim.PARTICIPANT.value
_E = Dim.ENROLLMENT_TYPE.value
_L = Dim.LINE.value
_B = Dim.BASE_YEAR.value
_TY = (_T, _Y)

VAR_ATTRS: dict[str, dict[str, str]] = {
    "settlement_estimated": {
        "long_name": "estimated settlement",
        "units": "USD",
        "description": "First settlement, on spend completed from run-out claims with a "
        "random completion-factor error; the final settlement (settlement) trues it up.",
    },
    "interim_payment": {
        "long_name": "interim payment",
        "units": "USD",
        "description": "Advance paid at mid-year: interim_share of the expected estimated "
        "settlement; reconciled at the first settlement.",
    },
    "settlement_pv": {
        "long_name": "present value of the settlement",
        "units": "USD",
        "description": "Interim payment, first settlement and true-up discounted to the start of "
        "the first performance year at the scenario's discount rate.",
    },
    "participant_payout": {
        "long_name": "participant payout",
        "units": "USD",
        "description": "The practice's part of the entity's settlement under the scenario's "
        "distribution method; the payouts of a trial-year add up to the settlement.",
    },
    "participant_spend": {
        "long_name": "participant spend",
        "units": "USD",
        "description": "Allowed cost of the practice's attributed members.",
    },
    "participant_member_months": {
        "long_name": "participant member months",
        "units": "1",
        "description": "Attributed member months of the practice.",
    },
    "participant_active": {
        "long_name": "participating practice",
        "units": "1",
        "description": "Whether the practice is a participant in the performance year "
        "(participants.practices[].joins and leaves): its members are in that year's "
        "settlement, and the year's benchmark is built for the participants that year.",
    },
    "line_benchmark": {
        "long_name": "benchmark of the line",
        "units": "USD",
        "description": "Program benchmark of each portfolio line (the primary line first).",
    },
    "line_actual_spend": {
        "long_name": "actual spend of the line",
        "units": "USD",
        "description": "Allowed cost of each portfolio line's attributed population.",
    },
    "line_truncated_spend": {
        "long_name": "line truncated spend",
        "units": "USD",
        "description": "Spend of each line of business left out of its settlement by "
        "truncation (present with a truncation).",
    },
    "line_member_months": {
        "long_name": "member months of the line",
        "units": "1",
        "description": "Attributed member months of each portfolio line.",
    },
    "portfolio_settlement": {
        "long_name": "portfolio settlement",
        "units": "USD",
        "description": "Sum over the portfolio's lines of the settlement of each line's first "
        "design: the provider's combined result, with the lines' correlation through the shared "
        "trend and shocks.",
    },
    "payoff": {
        "long_name": "payoff",
        "units": "1",
        "description": "Settlement as a fraction of the benchmark at each savings rate of "
        "payoff_savings_rate: the design's terms as a curve, computed with the mean attributed "
        "members of the first performance year and the design's quality score.",
    },
    "benchmark": {
        "long_name": "benchmark",
        "units": "USD",
        "description": "Benchmark of the performance year, before any design's discount: under "
        "benchmark.method historical, the weighted base-year cost per member month, "
        "risk-restated and trended, times the year's risk ratio and member months; under "
        "fixed, the negotiated target (pmpm x member months, or the total) at the agreed trend.",
    },
    "actual_spend": {
        "long_name": "actual spend",
        "units": "USD",
        "description": "Total allowed cost of the attributed population in the performance year, "
        "before any truncation and stop-loss (the settlement sees it less truncated_spend).",
    },
    "member_months": {
        "long_name": "member months",
        "units": "1",
        "description": "Attributed member months in the performance year (partial months of "
        "leavers and joiners included).",
    },
    "attributed_members": {
        "long_name": "attributed members",
        "units": "1",
        "description": "Members attributed at any time in the performance year (count).",
    },
    "risk_score": {
        "long_name": "mean risk score",
        "units": "1",
        "description": "Member-month weighted mean risk score of the attributed population.",
    },
    "reference_index": {
        "long_name": "reference cost index",
        "units": "1",
        "description": "Cost level of the reference (regional/national) population relative "
        "to the first simulated base year; its realized trend can update the benchmark.",
    },
    "expected_trend_index": {
        "long_name": "expected systemic cost index",
        "units": "1",
        "description": "Exact expectation of trend_index in the year, from the trend's "
        "parameters: (1 + trend.mean)^k (1 + shock_probability x shock_size) in the k-th year "
        "after the first simulated one (1 in that first year, which has no growth or shock). "
        "A known mean: the control variate of simsettle.stats.controlled.",
    },
    "base_trend_index": {
        "long_name": "systemic cost index of the base years",
        "units": "1",
        "description": "trend_index in each simulated base year (1 in the first): the cost "
        "level the benchmark was built from.",
    },
    "base_reference_index": {
        "long_name": "reference cost index of the base years",
        "units": "1",
        "description": "reference_index in each simulated base year (1 in the first).",
    },
    "expected_base_trend_index": {
        "long_name": "expected systemic cost index of the base years",
        "units": "1",
        "description": "Exact expectation of base_trend_index, as expected_trend_index.",
    },
    "expected_base_reference_index": {
        "long_name": "expected reference cost index of the base years",
        "units": "1",
        "description": "Exact expectation of base_reference_index, as expected_trend_index.",
    },
    "expected_reference_index": {
        "long_name": "expected reference cost index",
        "units": "1",
        "description": "Exact expectation of reference_index in the year, from the reference "
        "trend's parameters, as expected_trend_index.",
    },
    "quality_score": {
        "long_name": "quality score",
        "units": "1",
        "description": "Simulated quality score of the performance year, used by every "
        "design's quality terms (present when the scenario has a quality_model).",
    },
    "care_management_cost": {
        "long_name": "care-management programme cost",
        "units": "USD",
        "description": "Programme cost (cost_pmpm x enrolled member months), borne by the "
        "provider outside the settled spend.",
    },
    "care_management_savings": {
        "long_name": "care-management true savings",
        "units": "USD",
        "description": "Cost the programme avoided: the true savings behind the measured "
        "ones (already out of actual_spend).",
    },
    "claim_contagion": {
        "long_name": "claim contagion",
        "units": "1",
        "description": "The trial-year's gamma factor (mean 1, variance cost.contagion) that "
        "multiplied every member's claim rate; 1 without contagion (present under the "
        "frequency-severity model; a portfolio's: the primary line's).",
    },
    "trend_index": {
        "long_name": "systemic cost index",
        "units": "1",
        "description": "Cost level of the trial-year relative to the first simulated base year "
        "(product of the stochastic annual growth factors).",
    },
    "settlement_benchmark": {
        "long_name": "settlement benchmark",
        "units": "USD",
        "description": "Benchmark the design settles against: the benchmark less the design's "
        "discount, or its capitation budget.",
    },
    "sequestered": {
        "long_name": "sequestered savings",
        "units": "USD",
        "description": "Shared savings withheld by sequestration (positive amount).",
    },
    "cap_adjustment": {
        "long_name": "cap adjustment",
        "units": "USD",
        "description": "Change made by the savings cap (negative) or the loss cap (positive); "
        "non-zero exactly when a cap binds.",
    },
    "loss_relief": {
        "long_name": "loss relief",
        "units": "USD",
        "description": "Shared losses forgiven for extreme and uncontrollable circumstances "
        "(positive amount).",
    },
    "quality_withhold": {
        "long_name": "quality withhold retained",
        "units": "USD",
        "description": "Quality withhold not earned back (positive amount, already subtracted "
        "from the settlement).",
    },
    "savings": {
        "long_name": "savings",
        "units": "USD",
        "description": "Settlement benchmark minus settled spend; settled spend is actual spend "
        "minus stop-loss recoveries plus stop-loss premiums. Negative values are losses.",
    },
    "savings_rate": {
        "long_name": "savings rate",
        "units": "1",
        "description": "Savings as a fraction of the settlement benchmark.",
    },
    "settlement": {
        "long_name": "settlement",
        "units": "USD",
        "description": "Amount settled for the performance year: shared savings or losses after "
        "sequestration, caps, loss relief and any quality withhold; under a capitation budget, "
        f"the provider's gain against the budget; {SIGN_CONVENTION}.",
    },
    "shared_savings": {
        "long_name": "shared savings",
        "units": "USD",
        "description": "Shared savings paid to the provider (positive part of settlement).",
    },
    "shared_losses": {
        "long_name": "shared losses",
        "units": "USD",
        "description": "Shared losses paid back by the provider (negative part of settlement, "
        "as a positive amount).",
    },
    "stop_loss_recovery": {
        "long_name": "stop-loss recovery",
        "units": "USD",
        "description": "Individual stop-loss recovery ((1 - coinsurance) of member cost above "
        "the attachment, summed over members) plus any aggregate stop-loss recovery; 0 for "
        "designs without stop-loss.",
    },
    "specific_stop_loss_recovery": {
        "long_name": "individual stop-loss recovery",
        "units": "USD",
        "description": "Individual (specific) stop-loss recovery alone: (1 - coinsurance) of "
        "member cost above the attachment (after any truncation), summed over members (present "
        "when some design has an aggregate layer).",
    },
    "specific_stop_loss_premium": {
        "long_name": "individual stop-loss premium",
        "units": "USD",
        "description": "Individual stop-loss premium alone: (1 + loading) x the year's expected "
        "individual recovery (present when some design has an aggregate layer).",
    },
    "aggregate_stop_loss_recovery": {
        "long_name": "aggregate stop-loss recovery",
        "units": "USD",
        "description": "Aggregate stop-loss recovery alone: (1 - coinsurance) of the claims net "
        "of individual recoveries above attachment x the settlement benchmark (present when "
        "some design has an aggregate layer).",
    },
    "aggregate_stop_loss_premium": {
        "long_name": "aggregate stop-loss premium",
        "units": "USD",
        "description": "Aggregate stop-loss premium alone: (1 + loading) x the year's expected "
        "aggregate recovery (present when some design has an aggregate layer).",
    },
    "capitation_advance": {
        "long_name": "capitation advance",
        "units": "USD",
        "description": "Capitation paid during the year as an advance: the design's share of "
        "its benchmark (0 for designs without one; present when some design has one).",
    },
    "capitated_claims": {
        "long_name": "capitated claims",
        "units": "USD",
        "description": "The claims the capitation replaced (its share of the year's spend), "
        "which the payer no longer pays fee-for-service.",
    },
    "capitation_reconciliation": {
        "long_name": "capitation reconciliation",
        "units": "USD",
        "description": "What is paid at settlement for a design with a capitation advance: "
        "the settlement less (advance - capitated claims); > 0 the payer pays. The advance less "
        "the claims plus this is the settlement.",
    },
    "type_benchmark": {
        "long_name": "benchmark by enrolment type",
        "units": "USD",
        "description": "Each enrolment type's benchmark: its historical benchmark with its "
        "adjustments, update and risk ratio, times its member months; they sum to benchmark "
        "(present with enrolment types).",
    },
    "type_spend": {
        "long_name": "spend by enrolment type",
        "units": "USD",
        "description": "Each enrolment type's spend as settled (after its own truncation), "
        "before stop-loss.",
    },
    "type_member_months": {
        "long_name": "member months by enrolment type",
        "units": "1",
        "description": "Each enrolment type's attributed member months.",
    },
    "regional_adjustment": {
        "long_name": "regional adjustment",
        "units": "USD per person-year",
        "description": "The regional adjustment as computed for the benchmark: weight x "
        "(risk-adjusted regional cost - historical benchmark), capped, a negative one offset; "
        "applied or not as benchmark_adjustment says (present with a regional adjustment).",
    },
    "prior_savings_adjustment": {
        "long_name": "prior savings adjustment",
        "units": "USD per person-year",
        "description": "MSSP's prior savings adjustment (42 CFR 425.658): half the average "
        "per-capita savings of the three performance years before the agreement, within 5% "
        "of national per-capita expenditure; 0 where the ACO is not eligible (present with "
        "benchmark.prior_savings).",
    },
    "benchmark_adjustment": {
        "long_name": "benchmark adjustment applied",
        "units": "USD per person-year",
        "description": "The adjustment added to the historical benchmark: the regional "
        "adjustment, or the higher of it and an eligible prior savings adjustment, none for a "
        "dropped negative one (present with a regional or prior savings adjustment).",
    },
    "truncated_spend": {
        "long_name": "truncated spend",
        "units": "USD",
        "description": "Spend left out of the settlement by truncation: the attributed members' "
        "cost above the year's truncation threshold, summed (present with a truncation).",
    },
    "stop_loss_premium": {
        "long_name": "stop-loss premium",
        "units": "USD",
        "description": "Stop-loss premiums: (1 + loading) x the year's expected recovery (mean "
        "over all trials), or the quoted price (premium_pmpm x member months, or "
        "premium_annual), individual plus aggregate; 0 for designs without stop-loss. A layer "
        "borne by the provider is counted here but not in the settlement (see "
        "provider_stop_loss_net).",
    },
    "provider_net": {
        "long_name": "provider's net financial result",
        "units": "USD",
        "description": "What the contract leaves the provider in the year: settlement + "
        "provider_stop_loss_net - provider_costs (present when the scenario gives the "
        "provider's own economics or a stop-loss borne by the provider).",
    },
    "provider_costs": {
        "long_name": "provider's own costs",
        "units": "USD",
        "description": "Care-management programme cost + infrastructure (infrastructure_pmpm x "
        "member months + infrastructure_annual) + forgone_margin, borne by the provider "
        "outside the settlement.",
    },
    "forgone_margin": {
        "long_name": "fee-for-service margin forgone",
        "units": "USD",
        "description": "ffs_revenue_share x ffs_margin x the cost the care-management programme "
        "avoided: the provider's own margin on the services it no longer bills.",
    },
    "provider_stop_loss_net": {
        "long_name": "provider's own stop-loss: recovery less premium",
        "units": "USD",
        "description": "Recovery less premium of the stop-loss layers borne by the provider "
        "(borne_by: provider), which leave the settlement as it is; 0 for other designs.",
    },
}


def _coord(long_name: str, units: str | None, description: str) -> dict[str, str]:
    attrs = {"long_name": long_name, "description": description}
    if units is not None:
        attrs["units"] = units
    return attrs


_COORD_ATTRS: dict[str, dict[str, str]] = {
    "kind": _coord("design kind", None, "The design's kind: " + ", ".join(DESIGN_KINDS) + "."),
    "template": _coord("template", None, "Template the design was expanded from; '' if none."),
    "sharing": _coord("sharing form", None, "flat (one sharing rate) or banded corridors."),
    "min_savings_rate": _coord(
        "minimum savings rate",
        "1",
        "Fraction of benchmark savings must "
        "reach to be shared; NaN when set by the MSSP size table.",
    ),
    "min_loss_rate": _coord(
        "minimum loss rate",
        "1",
        "Fraction of benchmark losses must reach "
        "to be shared; NaN for upside-only designs or the MSSP table.",
    ),
    "shared_savings_rate": _coord(
        "shared savings rate",
        "1",
        "Provider's share of savings (the first band's share for banded designs).",
    ),
    "shared_loss_rate": _coord(
        "shared loss rate",
        "1",
        "Provider's share of losses (first "
        "band for banded designs); 0 for upside-only designs; NaN when "
        "set by the quality score.",
    ),
    "savings_cap": _coord(
        "savings cap", "1", "Cap on shared savings, fraction of benchmark; NaN = no cap."
    ),
    "loss_cap": _coord(
        "loss cap",
        "1",
        "Cap on shared losses, fraction of benchmark; NaN = no cap (0 for upside-only designs).",
    ),
    "savings_cap_revenue": _coord(
        "savings cap on revenue",
        "1",
        "Cap on shared savings, fraction of participant revenue; NaN = none.",
    ),
    "loss_cap_revenue": _coord(
        "loss cap on revenue",
        "1",
        "Cap on shared losses, fraction of participant revenue; NaN = none.",
    ),
    "sharing_basis": _coord("sharing basis", None, "first_dollar or above_threshold."),
    "sequestration": _coord("sequestration", "1", "Share of shared savings sequestered."),
    "discount": _coord("benchmark discount", "1", "Discount taken off the benchmark."),
    "assumed_quality_score": _coord(
        "assumed quality score",
        "1",
        "The design's fixed quality score (quality_score replaces it when the scenario "
        "simulates quality); NaN = no quality terms.",
    ),
    "stop_loss_attachment": _coord(
        "stop-loss attachment point", "USD", "Per member per year; NaN = no stop-loss."
    ),
    "stop_loss_coinsurance": _coord(
        "stop-loss coinsurance", "1", "Provider's retained share of the excess; NaN = no stop-loss."
    ),
    "stop_loss_premium_loading": _coord(
        "stop-loss premium loading",
        "1",
        "Premium over expected recovery; NaN = no stop-loss, or a quoted premium "
        "(stop_loss_pricing).",
    ),
    "stop_loss_pricing": _coord(
        "stop-loss pricing",
        None,
        "How the individual layer's premium is set: loading (over the expected recovery), pmpm "
        "or annual (a quoted price); '' = no individual stop-loss.",
    ),
    "stop_loss_borne_by": _coord(
        "individual stop-loss borne by",
        None,
        "settlement (charged through the settled spend) or provider (its own reinsurance, "
        "outside the settlement); '' = no individual stop-loss.",
    ),
    "aggregate_stop_loss_attachment": _coord(
        "aggregate stop-loss attachment", "1", "Fraction of benchmark; NaN = none."
    ),
    "aggregate_stop_loss_pricing": _coord(
        "aggregate stop-loss pricing",
        None,
        "loading, pmpm or annual, as stop_loss_pricing; '' = no aggregate layer.",
    ),
    "aggregate_stop_loss_borne_by": _coord(
        "aggregate stop-loss borne by",
        None,
        "settlement or provider, as stop_loss_borne_by; '' = no aggregate layer.",
    ),
}
