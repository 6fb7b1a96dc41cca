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
N_PARAMS = 13

# Fields of the per-(trial, year) aggregate array; the excess over attachment k is field
# N_BASE_FIELDS + k.
F_SPEND = 0  # allowed cost, USD
F_MEMBER_MONTHS = 1  # member months
F_RISK_MONTHS = 2  # sum of risk score x member months
F_MEMBERS = 3  # members attributed at any time in the year (count)
F_TREND_INDEX = 4  # systemic cost index relative to the first simulated year
N_BASE_FIELDS = 5
FIELD_NAMES = ("spend", "member_months", "risk_months", "members", "trend_index")

# Counter word 3 (stream) values; word 2 (member) of the trial-level stream.
STREAM_MEMBER = 0  # leave decision, leave month, two normals for risk
STREAM_COST = 1  # cost class of occupant and joiner, two normals for the body
STREAM_TREND = 2  # systemic trend (member word = SYSTEM_MEMBER)
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
