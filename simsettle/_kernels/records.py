"""Layouts shared by Python gates and kernels: parameter slots, output fields, rule kinds.

The kernels receive plain float64 arrays; these integer constants name their slots (numba
freezes module-level integers as compile-time constants).
"""

from __future__ import annotations

__all__ = ["FIELD_NAMES", "N_BASE_FIELDS", "N_PARAMS", "N_STEPS", "STEP_NAMES"]

# Slots of the model parameter vector (float64), filled by simsettle.models.population.
P_MEMBERS = 0  # attributed members at the start of each year (count, stored as float)
P_TURNOVER = 1  # probability a member leaves during the year
P_REPLACEMENT = 2  # probability a leaver is replaced for the rest of the year
P_RISK_SIGMA = 3  # sd of log risk score
P_RISK_RHO = 4  # year-to-year correlation of log risk score
P_ZERO = 5  # probability of a zero-cost member-year
P_TAIL_P = 6  # probability of a high-cost claimant
P_TAIL_SCALE = 7  # Pareto scale (USD per year)
P_TAIL_INV_SHAPE = 8  # 1 / Pareto shape
P_BODY_MU = 9  # mean of log cost in the lognormal body
P_BODY_SIGMA = 10  # sd of log cost in the lognormal body
P_TREND_MU = 11  # mean of the annual log growth factor
P_TREND_SD = 12  # sd of the annual log growth factor
P_REF_TREND_MU = 13  # mean of the reference population's annual log growth factor
P_REF_TREND_SD = 14  # its sd
P_TREND_CORR = 15  # correlation of provider and reference annual log growth
P_SHOCK_P = 16  # probability of a systemic one-year utilization shock in a year
P_SHOCK_LOG = 17  # log(1 + shock size), applied to provider and reference that year
P_AGEING = 18  # log(1 + risk drift) per year a member has been attributed
P_CM_Z = 19  # latent risk z above which a member is in care management (inf: nobody)
P_CM_EFFECT = 20  # share of a managed member's cost avoided
P_CM_FROM = 21  # first simulated year (index) the programme runs
P_DEMO_LAMBDA = 22  # demographic score = risk score's latent z shrunk by this factor (< 0: off)
P_QUAL_MU = 23  # mean of the quality score on the logit scale
P_QUAL_SD = 24  # sd of the quality score on the logit scale
P_QUAL_RHO = 25  # year-to-year correlation of the quality score's logit
P_ENTRANT_SHIFT = 26  # shift of new members' latent risk z (0: entrants like everyone)
P_NOCARE_RETAIN = 27  # probability a member with no care that year stays attributed
P_PAYER_ONLY = 28  # share of attributed members the provider does not know (not managed)
P_PROVIDER_ONLY = 29  # share of the provider's members the payer does not attribute
P_MEMBER_OFFSET = 30  # first member counter word of this line of business (portfolios)
P_FS_ON = 31  # 1: annual cost is a frequency-severity compound; 0: the mixture model
P_FS_LAMBDA = 32  # mean claims per year of a risk-1 member
P_FS_FRAILTY = 33  # sd of the log frailty multiplying the claim rate (over-dispersion)
P_FS_SEV_MU = 34  # mean of log claim severity
P_FS_SEV_SIGMA = 35  # sd of log claim severity
P_NAT_TREND_MU = 36  # mean of the national population's annual log growth factor
P_NAT_TREND_SD = 37  # its sd
P_NAT_CORR = 38  # correlation of the provider's and the national annual log growth
N_PARAMS = 39

# Fields of the per-(trial, year) aggregate array; the excess over attachment k is field
# N_BASE_FIELDS + k.
F_SPEND = 0  # allowed cost, USD
F_MEMBER_MONTHS = 1  # member months
F_RISK_MONTHS = 2  # sum of risk score x member months
F_MEMBERS = 3  # members attributed at any time in the year (count)
F_TREND_INDEX = 4  # systemic cost index relative to the first simulated year
F_REF_INDEX = 5  # the reference (regional/national) population's cost index
F_DEMO_RISK_MONTHS = 6  # sum of demographic risk score x member months
F_CM_MONTHS = 7  # member months in the care-management programme
F_QUALITY = 8  # the trial-year's quality score
F_CM_AVOIDED = 9  # cost avoided by care management (the true savings it produced), USD
F_COMPLETION_Z = 10  # standard normal draw of the trial-year's completion-factor error
F_NAT_INDEX = 11  # the national population's cost index
N_BASE_FIELDS = 12
FIELD_NAMES = (
    "spend",
    "member_months",
    "risk_months",
    "members",
    "trend_index",
    "reference_index",
    "demographic_risk_months",
    "care_management_months",
    "quality_score",
    "care_management_avoided",
    "completion_z",
    "national_index",
)

# The member kernel simulates LANES member slots side by side (one vector loop per step).
LANES = 16
# Rows of a lane block's scratch, each LANES wide: the occupant's state carried to next year
# (R_Z, R_TENURE, R_NEW), the practice of each lane, then this year's values per lane.
R_Z = 0  # latent log risk of next year's occupant
R_TENURE = 1  # years of tenure of next year's occupant
R_NEW = 2  # 1 if next year's occupant is a new member (stationary or entrant draw)
R_RATIO = 3  # the lane's practice cost ratio (1 without practices)
R_PRACTICE = 4  # the lane's practice index (-1 without practices)
R_ZO = 5  # this year's occupant's latent log risk
R_ZJ = 6  # the joiner's latent log risk
R_MONTHS = 7  # the occupant's months this year (the joiner has the rest)
R_JOINER = 8  # 1 if a joiner takes the slot for the rest of the year
R_RISK = 9  # occupant's risk score
R_RISK_J = 10  # joiner's risk score
R_DEMO = 11  # occupant's demographic score (0 when unused)
R_DEMO_J = 12  # joiner's demographic score
R_X = 13  # occupant's annualised cost at risk 1 and index 1
R_X_J = 14  # joiner's
R_COST = 15  # occupant's cost in the settlement (-1 when not attributed)
R_COST_J = 16  # joiner's
N_ROWS = 17
# Member fields summed per lane, in this order, then one per stop-loss attachment.
LF_SPEND, LF_MONTHS, LF_RISK, LF_DEMO, LF_MEMBERS, LF_CM_MONTHS, LF_CM_AVOIDED = range(7)
N_LANE_FIELDS = 7
LANE_FIELDS = (
    F_SPEND,
    F_MEMBER_MONTHS,
    F_RISK_MONTHS,
    F_DEMO_RISK_MONTHS,
    F_MEMBERS,
    F_CM_MONTHS,
    F_CM_AVOIDED,
)

# Counter word 3 (stream) values; word 2 (member) of the trial-level stream.
STREAM_MEMBER = 0  # every member-year: leave decision, cost class, normals for risk and cost
STREAM_TURNOVER = 1  # a leaver's year only: leave month, joiner's cost class and two normals
STREAM_TREND = 2  # systemic trend, reference trend, shock (member word = SYSTEM_MEMBER)
STREAM_QUALITY = 3  # quality score (member word = SYSTEM_MEMBER)
STREAM_NATIONAL = 6  # national trend (member word = SYSTEM_MEMBER)
STREAM_ATTRIBUTION = 4  # occupant's attribution draws (retention, payer-only, provider-only)
STREAM_JOINER_ATTRIBUTION = 5  # the same for a joiner
STREAM_CLAIMS = 16  # frequency-severity draws: 16 + 2 x block (occupant), 17 + 2 x block (joiner)
SYSTEM_MEMBER = 0xFFFFFFFF


# Columns of the settlement kernel's output (signed USD, > 0 = payer pays provider).
S_SETTLEMENT = 0  # the settlement: the sum of the contributions below
S_SHARED = 1  # shared savings (> 0) or losses (< 0) before sequestration, caps and relief
S_SEQUESTRATION = 2  # minus the sequestered share of shared savings (<= 0)
S_CAP = 3  # adjustment by the savings cap (<= 0) or the loss cap (>= 0)
S_LOSS_RELIEF = 4  # shared losses forgiven for extreme and uncontrollable circumstances (>= 0)
S_WITHHOLD = 5  # quality withhold not earned back (<= 0)
N_STEPS = 6
STEP_NAMES = ("settlement", "shared", "sequestration", "cap", "loss_relief", "withhold")
