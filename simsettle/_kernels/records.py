"""Layouts shared by Python gates and kernels: the model parameter record, output fields, rule
kinds.

The member kernels receive the model's parameters as one named record (:data:`MODEL_DTYPE`) and
write float64 arrays whose slots these integer constants name (numba freezes module-level
integers as compile-time constants).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "FIELD_NAMES",
    "MODEL_DTYPE",
    "MODEL_FIELDS",
    "N_BASE_FIELDS",
    "N_STEPS",
    "STEP_NAMES",
]

# The model parameter record, built once per run by simsettle.models.population from the
# scenario and passed to the kernels as one numpy record of MODEL_DTYPE (numba reads a field by
# name, ``p.turnover``, at a fixed offset). The order of the fields is the record's memory
# layout, so it is part of a checkpoint's identity: append new fields, never reorder.
MODEL_FIELDS: tuple[tuple[str, str, str], ...] = (
    # (name, units, description)
    ("members", "1", "member slots on the roster at the start of each year"),
    ("turnover", "1", "probability that a member leaves during the year"),
    ("replacement", "1", "probability that a leaver is replaced for the rest of the year"),
    ("risk_sigma", "1", "standard deviation of the log risk score"),
    ("risk_rho", "1", "year-to-year correlation of a continuing member's log risk score"),
    ("zero_share", "1", "probability of a zero-cost member-year"),
    ("tail_probability", "1", "probability that a member-year is a high-cost claimant"),
    ("tail_scale", "USD", "Pareto scale of the high-cost tail, per member-year"),
    ("tail_inv_shape", "1", "1 / Pareto shape of the high-cost tail"),
    ("body_mu", "1", "mean of log annual cost in the lognormal body (log USD)"),
    ("body_sigma", "1", "standard deviation of log annual cost in the lognormal body"),
    ("trend_mu", "1", "mean of the provider population's annual log growth factor"),
    ("trend_sd", "1", "standard deviation of that log growth factor"),
    ("reference_trend_mu", "1", "mean of the reference population's annual log growth factor"),
    ("reference_trend_sd", "1", "standard deviation of that log growth factor"),
    ("trend_correlation", "1", "correlation of provider and reference annual log growth"),
    ("shock_probability", "1", "probability of a systemic one-year utilization shock in a year"),
    ("shock_log", "1", "log(1 + shock size), applied to every cost index that year"),
    ("ageing_log", "1", "log(1 + risk drift) per year a member has been attributed"),
    (
        "care_management_z",
        "1",
        "latent risk z above which a member is in care management (+inf: nobody)",
    ),
    ("care_management_effect", "1", "share of a managed member's cost avoided"),
    ("care_management_from", "1", "first simulated year (index) in which the programme runs"),
    (
        "demographic_signal",
        "1",
        "demographic score's latent z = risk z times this factor (< 0: not accumulated)",
    ),
    ("quality_mu", "1", "mean of the quality score on the logit scale"),
    ("quality_sd", "1", "standard deviation of the quality score on the logit scale"),
    ("quality_rho", "1", "year-to-year correlation of the quality score's logit"),
    ("entrant_shift", "1", "shift of new members' latent risk z (0: entrants like everyone)"),
    ("no_care_retention", "1", "probability that a member with no care stays attributed"),
    ("payer_only_share", "1", "share of attributed members the provider does not know"),
    ("provider_only_share", "1", "share of the provider's members the payer does not attribute"),
    ("member_offset", "1", "first member counter word of this line of business (portfolios)"),
    ("frequency_severity", "1", "1: annual cost is a frequency-severity compound; 0: mixture"),
    ("claims_per_year", "1", "mean claims per year of a risk-1 member (frequency-severity)"),
    ("claim_frailty", "1", "standard deviation of the log frailty multiplying the claim rate"),
    ("severity_mu", "1", "mean of log claim severity (log USD)"),
    ("severity_sigma", "1", "standard deviation of log claim severity"),
    ("national_trend_mu", "1", "mean of the national population's annual log growth factor"),
    ("national_trend_sd", "1", "standard deviation of that log growth factor"),
    ("national_correlation", "1", "correlation of provider and national annual log growth"),
    ("episodic_share", "1", "probability that a partial year's cost is one episode (0: pro rata)"),
    ("death_rate", "1", "probability that a member dies during the year (part of turnover)"),
    ("attribution_loss_rate", "1", "probability of losing attribution in the year (of turnover)"),
    ("terminal_mean", "USD", "mean end-of-life episode of a decedent, per risk unit"),
    ("terminal_sigma", "1", "standard deviation of the log end-of-life episode"),
    ("entrant_cost_ratio", "1", "an entrant's cost in the year of entry over a continuing one's"),
    ("cost_persistence", "1", "AR(1) correlation of a continuing member's latent cost normals"),
    ("cost_zero_z", "1", "standard normal quantile of zero_share (-40: no zero class)"),
    ("cost_tail_z", "1", "standard normal quantile of 1 - tail_probability (40: no tail)"),
    (
        "score_loading",
        "1",
        "correlation of the risk score's signal with the member's latent log risk (1: exact)",
    ),
    (
        "payer_only_correlation",
        "1",
        "correlation of a member's payer-only normal with its latent log risk at entry",
    ),
    (
        "payer_only_z",
        "1",
        "a member is payer-only when its payer-only normal is above this (+inf: nobody)",
    ),
    (
        "provider_only_correlation",
        "1",
        "correlation of a member's provider-only normal with its latent log risk at entry",
    ),
    (
        "provider_only_z",
        "1",
        "a member is provider-only when its provider-only normal is above this (+inf: nobody)",
    ),
    (
        "claim_contagion",
        "1",
        "variance of the gamma factor (mean 1) shared by every member's claim rate in a "
        "trial-year (0: none)",
    ),
    (
        "claim_frailty_gamma",
        "1",
        "1: the claim frailty is gamma with variance claim_frailty^2 (a negative-binomial "
        "count); 0: lognormal with log-sd claim_frailty",
    ),
    (
        "severity_family",
        "1",
        "claim severity family: a SEV_* code (0: lognormal, severity_mu/sigma)",
    ),
    ("severity_a", "1", "first severity parameter (SEV_* codes; a spliced body's)"),
    ("severity_b", "1", "second severity parameter (SEV_* codes; a spliced body's)"),
    ("severity_loc", "USD", "location of a generalised Pareto severity (pareto: its minimum)"),
    ("severity_body_family", "1", "a spliced severity's body family (SEV_* code)"),
    ("severity_body_cdf", "1", "P(body <= threshold) of a spliced severity's uncut body"),
    ("severity_threshold", "USD", "where a spliced severity's tail begins"),
    (
        "severity_tail_probability",
        "1",
        "probability that a spliced severity's claim is in the tail",
    ),
    ("severity_tail_xi", "1", "shape xi of a spliced severity's generalised Pareto excess"),
    ("severity_tail_sigma", "USD", "scale of a spliced severity's generalised Pareto excess"),
    (
        "claim_count_form",
        "1",
        "0: a Poisson count mixed over the claim frailty; else a CNT_* code, drawn by inversion",
    ),
    ("claim_count_mean", "1", "the base count's mean (CNT_* forms; before zero modification)"),
    ("claim_count_size", "1", "negative-binomial size r, or the binomial's trials m"),
    ("claim_zero_probability", "1", "P(no claims) of a zero-modified count (-1: not modified)"),
    (
        "cost_general",
        "1",
        "1: the mixture's body is not lognormal or its tail is a gpd, and a member-year's "
        "cost is drawn by the families' quantiles (member.general_cost); 0: body_mu/sigma and "
        "the Pareto tail",
    ),
    ("body_family", "1", "the mixture body's family (a SEV_* code; cost_general only)"),
    ("body_a", "1", "first parameter of the mixture body's family (SEV_* codes)"),
    ("body_b", "1", "second parameter of the mixture body's family (SEV_* codes)"),
    ("body_loc", "USD", "location of a generalised Pareto body (pareto: its minimum)"),
    ("tail_xi", "1", "shape xi of the mixture tail's generalised Pareto excess over tail_scale"),
    ("tail_sigma", "USD", "scale of the mixture tail's generalised Pareto excess"),
    (
        "static_roster",
        "1",
        "1: frequency_severity on a roster that never changes, whose members all have the same "
        "expected cost, score and care (no turnover, risk spread, care management or "
        "attribution rule): the CPU's trial loop skips the member draws, which cannot change "
        "a result (population.simulate_trials_compound)",
    ),
)
#: The parameter record's numpy type: one float64 field per entry of MODEL_FIELDS.
MODEL_DTYPE = np.dtype([(name, np.float64) for name, _, _ in MODEL_FIELDS])

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
F_CONTAGION = 12  # the trial-year's common factor of every member's claim rate (1: none)
N_BASE_FIELDS = 13
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
    "claim_contagion",
)

# The member kernel simulates LANES member slots side by side (one vector loop per step).
LANES = 16
# Rows of a lane block's scratch, each LANES wide: the occupant's state carried to next year
# (R_Z, R_TENURE, R_NEW, and R_CLASS_Z to R_FRAILTY_Z), the practice of each lane, then this
# year's values per lane.
R_Z = 0  # latent log risk of next year's occupant
R_TENURE = 1  # years of tenure of next year's occupant
R_NEW = 2  # 1 if next year's occupant is a new member (stationary or entrant draw)
R_RATIO = 3  # the lane's practice cost ratio (1 without practices)
R_PRACTICE = 4  # the lane's practice index (-1 without practices)
R_ZO = 5  # this year's occupant's latent log risk
R_ZJ = 6  # the joiner's latent log risk
R_MONTHS = 7  # the occupant's months this year (the joiner has the rest)
R_JOINER = 8  # 1 if a joiner takes the slot for the rest of the year
R_RISK = 9  # occupant's risk score (the program's)
R_RISK_J = 10  # joiner's risk score
R_DEMO = 11  # occupant's demographic score (0 when unused)
R_DEMO_J = 12  # joiner's demographic score
R_X = 13  # occupant's annualised cost at risk 1 and index 1
R_X_J = 14  # joiner's
R_COST = 15  # occupant's cost in the settlement (-1 when not attributed)
R_COST_J = 16  # joiner's
R_SHARE = 17  # occupant's exposure share of the annualised cost (1 for a full year)
R_SHARE_J = 18  # joiner's
R_LOAD = 19  # the occupant's entrant cost ratio (1 unless new after the first year)
R_DEATH = 20  # 1 if the occupant dies this year
R_EXCLUDED = 21  # 1 if the occupant loses attribution this year (outside the settlement)
R_TERMINAL = 22  # the occupant's end-of-life episode at risk 1 and index 1 (0: survives)
R_CLASS_Z = 23  # next year's occupant's latent cost-class normal (cost_persistence)
R_COST_Z = 24  # next year's occupant's latent body normal
R_FRAILTY_Z = 25  # next year's occupant's latent claim-frailty normal (frequency_severity)
R_FRESH = 26  # 1 if this year's occupant is a new member (its latent normals are its own draws)
R_CLASS_U_J = 27  # the joiner's class uniform
R_CLASS_PREV = 28  # this year's occupant's latent class normal of last year
R_BODY_Z = 29  # this year's occupant's latent body normal
R_SCORE_E = 30  # next year's occupant's risk-score noise normal (risk_score_accuracy < 1)
R_MU = 31  # occupant's expected-cost multiplier (its true risk; the score predicts it)
R_MU_J = 32  # joiner's
R_PAYER_ONLY = 33  # 1 if next year's occupant is payer-only (for its stay: drawn at entry)
R_PROVIDER_ONLY = 34  # 1 if next year's occupant is provider-only
R_MANAGED = 35  # 1 if this year's occupant is care-managed (read with practice detail)
R_MANAGED_J = 36  # the joiner's
R_AVOIDED = 37  # the occupant's cost avoided by care management in the settlement (else 0)
R_AVOIDED_J = 38  # the joiner's
R_PAYER_J = 39  # 1 if the joiner is payer-only (drawn where there is a joiner)
R_PROVIDER_J = 40  # 1 if the joiner is provider-only
R_RETAIN_J = 41  # the joiner's retention uniform (its first attribution draw)
R_RETAIN = 42  # the occupant's retention uniform (read by retrospective attribution only)
R_LIST = 43  # scratch: the lanes of this year's arriving members (see population._arrivals)
# The claims of frequency_severity, lane by lane (population._compound_lanes).
R_CLAIM_MU = 44  # the occupant's Poisson mean this year
R_CLAIM_U = 45  # the uniform its count is found from
R_CLAIM_G = 46  # the normal of its first lognormal claim
R_CLAIM_N = 47  # its claim count
R_CLAIM_P = 48  # the Poisson probability of the count so far (the walk's last term)
R_CLAIM_F = 49  # the distribution function at the count so far
R_CLAIM_LIMIT = 50  # the walk's most steps (0: a lane the walk skips)
N_ROWS = 51
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
# Per-practice fields follow the attachments' excess: field f of practice p is at
# N_BASE_FIELDS + n_attachments + f x n_practices + p. Without practice churn f is 0 (spend) or
# 1 (member months); with it (ModelInputs.practice_detail) every lane field, in LANE_FIELDS'
# order, then the excess over each attachment: N_LANE_FIELDS + n_attachments fields.

# Columns of a member stay, one row per slot-year and party (occupant, then joiner), written by
# simsettle._kernels.population.simulate_stays for member-level claims (calibration round trips).
ST_SLOT = 0  # roster slot
ST_YEAR = 1  # simulated year (index)
ST_JOINER = 2  # 1: the joiner who took the slot for the rest of the year; 0: the occupant
ST_NEW = 3  # 1: a member new to the roster this year (every joiner; year 0's whole roster)
ST_ENTRY = 4  # months from 1 January at which the stay starts
ST_EXIT = 5  # months from 1 January at which it ends
ST_RISK = 6  # the member's risk score (the program's, risk_score_accuracy)
ST_COST = 7  # the stay's cost (USD): risk x index x annualised cost x exposure share
ST_ATTRIBUTED = 8  # 1: in the settlement (attributed to the provider by the payer)
ST_PRESENT = 9  # 1: the stay exists (a joiner's row is empty where no joiner took the slot)
ST_DEPARTURE = 10  # how the stay ended: a DEPART_* value (a joiner's: DEPART_NONE)
N_STAY_COLUMNS = 11

# How a member's stay ends (the occupant's; a joiner stays to the end of the year).
DEPART_NONE = 0  # stays to the end of the year
DEPART_DEATH = 1  # dies: months to death count, plus an end-of-life episode
DEPART_ELIGIBILITY = 2  # loses eligibility or moves: a partial year with exposure
DEPART_ATTRIBUTION = 3  # loses attribution: outside the year's settlement

# Counter word 3 (stream) values; word 2 (member) of the trial-level stream.
STREAM_MEMBER = 0  # every member-year: leave decision, cost class, normals for risk and cost
STREAM_TURNOVER = 1  # a leaver's year only: leave month, joiner's cost class and two normals
STREAM_TREND = 2  # systemic trend, reference trend, shock (member word = SYSTEM_MEMBER)
STREAM_QUALITY = 3  # quality score (member word = SYSTEM_MEMBER)
STREAM_NATIONAL = 6  # national trend (member word = SYSTEM_MEMBER)
STREAM_ATTRIBUTION = 4  # occupant's retention every year; its roster status in its first year
STREAM_JOINER_ATTRIBUTION = 5  # the same for a joiner
STREAM_EXPOSURE = (
    7  # a leaver's year only: where the two episodes fall; a decedent's end-of-life normal
)
STREAM_SCORE = 8  # every member-year: the risk score's noise normals (occupant, joiner)
STREAM_CONTAGION = 1024  # claim contagion, attempt k at 1024 + k (member word = SYSTEM_MEMBER)
# A member-year's gamma claim frailty, attempt k at STREAM_FRAILTY + k (occupant) or
# STREAM_FRAILTY + 256 + k (joiner): far above any claim block (16 + 2 x block).
STREAM_FRAILTY = 0x40000000
# A member-year's gamma severity total, attempt k at STREAM_SEVERITY + k (occupant) or
# STREAM_SEVERITY + 256 + k (joiner): beyond the frailty's streams.
STREAM_SEVERITY = 0x50000000
STREAM_CLAIMS = 16  # frequency-severity draws: 16 + 2 x block (occupant), 17 + 2 x block (joiner)
SYSTEM_MEMBER = 0xFFFFFFFF


# Claim severity families of the frequency-severity compound (the model record's
# severity_family; severity_a and severity_b as listed; simsettle.models.population maps the
# scenario's families onto them: lomax and pareto are generalised Pareto laws).
SEV_LOGNORMAL = (
    0  # the normals of the claim blocks (severity_mu, severity_sigma); a body: mu, sigma
)
SEV_GAMMA = 1  # a = shape, b = mean claim; a member-year's n claims are one gamma of shape n a
SEV_WEIBULL = 2  # a = 1 / k, b = scale
SEV_GPD = 3  # a = xi, b = sigma, severity_loc = location
SEV_INVERSE_GAUSSIAN = 4  # a = mu, b = lambda; n claims are one IG(n mu, n^2 lambda)
SEV_LOGLOGISTIC = 5  # a = 1 / beta, b = scale
SEV_SPLICED = 6  # body (severity_body_family, a, b) below the threshold, GPD excess above

# Claim-count forms drawn by inversion along the (a, b) recursion (the model record's
# claim_count_form; 0 is the Poisson count mixed over the claim frailty).
CNT_POISSON = 1  # a Poisson of mean claim_count_mean (zero-modified)
CNT_NEGATIVE_BINOMIAL = 2  # size claim_count_size (zero-modified; the gamma frailty's count)
CNT_BINOMIAL = 3  # claim_count_size trials (zero-modified or not; contagion scales q)


# Columns of the settlement kernel's output (signed USD, > 0 = payer pays provider).
S_SETTLEMENT = 0  # the settlement: the sum of the contributions below
S_SHARED = 1  # shared savings (> 0) or losses (< 0) before sequestration, caps and relief
S_SEQUESTRATION = 2  # minus the sequestered share of shared savings (<= 0)
S_CAP = 3  # adjustment by the savings cap (<= 0) or the loss cap (>= 0)
S_LOSS_RELIEF = 4  # shared losses forgiven for extreme and uncontrollable circumstances (>= 0)
S_WITHHOLD = 5  # quality withhold not earned back (<= 0)
N_STEPS = 6
STEP_NAMES = ("settlement", "shared", "sequestration", "cap", "loss_relief", "withhold")
