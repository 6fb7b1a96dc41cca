# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Calibrating a scenario from member-level claims
#
# An actuary does not invent a cost distribution: she fits it to her population's history.
# `simsettle.calibrate` reads member-level annual (or monthly) allowed cost with member months,
# optional risk scores and years, fits the engine's own model (a zero-cost mass, a lognormal
# body and a Pareto tail, times a lognormal risk score that persists from year to year; turnover
# with replacement; a systemic trend) and writes a scenario file whose comments say where each
# number came from, with a goodness-of-fit report.
#
# This notebook:
#
# 1. calibrates from the CMS DE-SynPUF beneficiary sample (500 synthetic Medicare
#    beneficiaries, 2008-2009, `../shared/data`), and shows where the engine's model and this
#    sample disagree and what to do about it;
# 2. runs the calibrated scenario;
# 3. checks the method by a round trip: claims simulated from known parameters are calibrated
#    back to them;
# 4. calibrates the cost model to Medicare's published spend concentration.
#
# The command line does the same: `simsettle calibrate CLAIMS.csv [--enrollment FILE] -o
# scenario.yaml`.

# %% tags=["parameters"]
TRIALS = 2000  # trials of the run of the calibrated scenario
BOOTSTRAP = 200  # member-level bootstrap replicates of the population and trend estimates
ROUND_TRIP_MEMBERS = 5000  # roster places of the simulated population in the round trip

# %%
# ruff: noqa: E402, T201 - a notebook: imports follow the parameter cell, results are printed
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import simsettle
from simsettle.calibrate import (
    calibrate,
    fit_shares,
    read_claims,
    synthetic_claims,
)
from simsettle.calibrate.report import figures
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import cost_moments
from simsettle.stats import summary

try:
    from IPython.display import Image, display
except ImportError:  # run as a plain script
    Image = None
    display = print

# CI runs the notebook small: SIMSETTLE_NOTEBOOK_TRIALS overrides the parameter cell.
TRIALS = int(os.environ.get("SIMSETTLE_NOTEBOOK_TRIALS", TRIALS))
FIG_DIR = os.environ.get("SIMSETTLE_NOTEBOOK_FIGDIR")
T_START = time.perf_counter()
pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 100)


def find_root(start: Path) -> Path:
    """The repository root: the first folder at or above ``start`` with a pyproject.toml."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "simsettle").is_dir():
            return folder
    raise FileNotFoundError(f"no simsettle pyproject.toml at or above {start}")


def show(fig: Figure, name: str) -> None:
    """Display ``fig`` as a PNG (and write it to FIG_DIR when that is set)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    if FIG_DIR:
        Path(FIG_DIR).mkdir(parents=True, exist_ok=True)
        (Path(FIG_DIR) / name).write_bytes(buf.getvalue())
    display(Image(data=buf.getvalue(), format="png") if Image else f"[figure {name}]")


def estimates(cal, truth=None) -> pd.DataFrame:
    """The fitted fields as a table (with the true values of a round trip)."""
    rows = []
    for field, e in cal.estimates.items():
        row = {
            "field": field,
            "value": e.value,
            "lower": np.nan if e.assumed else e.lower,
            "upper": np.nan if e.assumed else e.upper,
        }
        if truth is not None:
            row["true"] = truth.get(field, np.nan)
            row["inside"] = "assumed" if e.assumed else ("yes" if e.contains(row["true"]) else "NO")
        rows.append(row)
    return pd.DataFrame(rows).set_index("field")


def concentration_table(cals: dict) -> pd.DataFrame:
    """Spend shares of the costliest member-years: data against each calibration's model."""
    first = next(iter(cals.values()))
    out = {"data": {f"top {q:.0%}": first.gof.top_data[q].value for q in (0.01, 0.05, 0.10)}}
    for name, cal in cals.items():
        out[name] = {f"top {q:.0%}": cal.gof.top_model[q] for q in (0.01, 0.05, 0.10)}
    return pd.DataFrame(out).map(lambda v: f"{v:.1%}")


ROOT = find_root(Path.cwd().resolve())
DESYNPUF = ROOT.parent / "shared" / "data" / "desynpuf_beneficiary_sample_2008_2009.csv"
OUT = Path(tempfile.mkdtemp(prefix="simsettle-calibration-"))
print(f"repository root: {ROOT}\nDE-SynPUF sample present: {DESYNPUF.is_file()}\noutput: {OUT}")

# %% [markdown]
# ## 1. The DE-SynPUF beneficiary sample
#
# The beneficiary summary file has one row per beneficiary and year. Its columns are not
# simsettle's names, so they are mapped: the allowed cost is the sum of the inpatient,
# outpatient and carrier reimbursements, and the member months are the Part A coverage months
# (member-years with none are left out; they carry $21,080 of the sample's $4.1 million). The
# same mapping works on the command line with `--column member_id=DESYNPUF_ID --column
# allowed=MEDREIMB_IP+MEDREIMB_OP+MEDREIMB_CAR ...`.
#
# Where the sample is absent (it lives beside the repository, in `../shared/data`), the
# notebook uses simulated claims in its place.

# %%
COLUMNS = {
    "member_id": "DESYNPUF_ID",
    "year": "BENE_YEAR",
    "allowed": "MEDREIMB_IP+MEDREIMB_OP+MEDREIMB_CAR",
    "member_months": "BENE_HI_CVRAGE_TOT_MONS",
}
if DESYNPUF.is_file():
    data = read_claims(DESYNPUF, columns=COLUMNS)
else:
    print("DE-SynPUF sample absent: simulated claims stand in for it")
    stand_in = parse_scenario((ROOT / "scenarios/examples/mssp_style.yaml").read_text()).scenario
    data = synthetic_claims(stand_in, years=2, seed=1, members=500).member_years(
        risk_scores=False, enrollment=False
    )
by_year = pd.DataFrame(
    {
        "member-years": pd.Series(data.year).value_counts().sort_index(),
        "PMPM": [
            data.cost[data.year == y].sum() / data.months[data.year == y].sum() for y in data.years
        ],
        "no cost": [np.mean(data.cost[data.year == y] == 0) for y in data.years],
    },
    index=list(data.years),
)
display(by_year.style.format({"PMPM": "${:,.0f}", "no cost": "{:.1%}"}))
print("\n".join(data.notes))

# %% [markdown]
# ### The fit, with every default
#
# Two years without risk scores tell the risk score's spread and its persistence only through
# their product: the covariance of a member's log cost a year apart is `risk_sigma^2 x
# risk_persistence`. The persistence is then taken as the schema's default, 0.75, and the spread
# follows. Two safeguards act on this sample, and the summary's notes say so:
#
# * **the risk spread is capped.** The sample's members are very persistent: the covariance is
#   about 1.2 (a rank correlation of 0.82 between a member's 2008 and 2009 cost), which at a
#   persistence of 0.75 calls for a log-sd of 1.26. A lognormal risk score that wide puts more
#   spend on the costliest members than the sample does, whatever the cost mixture does. The
#   spread is therefore capped at the largest (in steps of 0.05) at which the mixture can still
#   reproduce the sample's spend shares of the costliest 1%, 5% and 10%, here 0.60, with
#   persistence 1. The model then understates how much a member's cost persists (the report's
#   persistence row); for a settlement the concentration (the spend at risk) comes first.
# * **`method="auto"` re-solves the shape.** The likelihood fit at that spread misses the
#   sample's top-1% share by about 1.8 points, more than the default tolerance of one point, so
#   the body's spread and the tail are re-solved to match the three shares.

# %%
matched = calibrate(data, bootstrap=BOOTSTRAP)
print(matched.summary())

# %% [markdown]
# The alternatives, side by side: the likelihood fit alone (`method="likelihood"`, still at the
# capped spread), and the risk spread given as the schema's default 0.5 (the persistence then
# follows from the covariance, capped at 1).

# %%
likelihood = calibrate(data, method="likelihood", bootstrap=BOOTSTRAP)
given = calibrate(data, risk_sigma=0.5, bootstrap=BOOTSTRAP)
display(
    concentration_table(
        {
            "defaults (auto)": matched,
            "likelihood only": likelihood,
            "risk_sigma 0.5 (auto)": given,
        }
    )
)

# %% [markdown]
# The data's own 95% interval for the top 1% is about 12% to 18% (a member bootstrap: 500
# beneficiaries give only 9 member-years in their top 1%), so the likelihood fit's miss is
# within the sample's noise;
# the default matches the shares to within half a point all the same, because they are what a
# settlement's spread depends on. The fitted parameters of the default fit:

# %%
display(estimates(matched).style.format("{:.4g}", na_rep=""))

# %% [markdown]
# The scenario file: every number has a comment above it saying how it was found (and with
# which interval), and the notes at the end record what was left out or assumed.

# %%
scenario_path = matched.write_scenario(OUT / "desynpuf.yaml")
report_path = matched.write_report(OUT / "desynpuf.report.html", scenario_path=str(scenario_path))
print(matched.scenario_yaml)

# %% [markdown]
# The goodness-of-fit report (`desynpuf.report.html`, one self-contained HTML file) has these
# figures: the QQ plot and the upper tail of the costs the mixture was fitted to, and the
# concentration curve of spend.

# %%
figs = figures(matched)
for name in ("qq", "tail", "concentration"):
    show(figs[name], f"calibration_desynpuf_{name}.png")

# %% [markdown]
# ## 2. Running the calibrated scenario
#
# The scenario is complete and valid (the calibration parses it before returning), so it runs
# as it is; its design is a placeholder for the contract's terms.

# %%
ds = simsettle.simulate(simsettle.load_scenario(scenario_path), trials=TRIALS)
display(summary(ds).to_dataframe())

# %% [markdown]
# ## 3. A round trip
#
# Claims simulated member by member from known parameters
# (`simsettle.calibrate.synthetic_claims`: one history of the scenario's population, drawn by
# the engine's own member-year rule) are calibrated back. With risk scores and enrolment every field
# is estimated; each should lie in its 95% interval (the test suite checks three parameter sets
# and measures the intervals' coverage).

# %%
TRUE = """\
schema_version: 1
seed: 1
trials: 10
population:
  members: {members}
  turnover: 0.2
  replacement: 0.8
  risk_sigma: 0.6
  risk_persistence: 0.7
  entrant_risk_ratio: 0.9
cost:
  pmpm: 800.0
  zero_cost_share: 0.2
  body_sigma: 1.1
  tail_probability: 0.03
  tail_threshold: 50000.0
  tail_shape: 3.5
trend:
  mean: 0.05
  sd: 0.02
designs:
  - name: d
    kind: upside_only
    shared_savings_rate: 0.5
"""
true_scenario = parse_scenario(TRUE.format(members=ROUND_TRIP_MEMBERS)).scenario
claims = synthetic_claims(true_scenario, years=4, seed=2026)
claims.write_claims(OUT / "claims.csv")
claims.write_enrollment(OUT / "enrollment.csv")
round_trip = calibrate(OUT / "claims.csv", enrollment=OUT / "enrollment.csv", bootstrap=BOOTSTRAP)
truth = {
    "cost.pmpm": 800.0,
    "cost.zero_cost_share": 0.2,
    "cost.body_sigma": 1.1,
    "cost.tail_probability": 0.03,
    "cost.tail_threshold": 50000.0,
    "cost.tail_shape": 3.5,
    "population.risk_sigma": 0.6,
    "population.risk_persistence": 0.7,
    "population.turnover": 0.2,
    "population.replacement": 0.8,
    "population.entrant_risk_ratio": 0.9,
    "trend.mean": 0.05,
    "trend.sd": 0.02,
}
table = estimates(round_trip, truth)
display(table.style.format(dict.fromkeys(("value", "lower", "upper", "true"), "{:.4g}")))
print(f"{(table['inside'] == 'yes').sum()} of {(table['inside'] != 'assumed').sum()} inside")

# %% [markdown]
# The trend has wide intervals: four years give three growths, and the systemic trend moves all
# members together, so more members do not help. The money amounts (`pmpm`, the threshold) are
# at the first data year's level here; the scenario moves them to its first base year.

# %% [markdown]
# ## 4. Medicare's published concentration
#
# Without member-level data, the cost model can be fitted to published figures: Medicare FFS
# spending (beneficiaries 65 and over, 2007-2018) has 14.9%, 41.5% and 60.0% of spend on the
# costliest 1%, 5% and 10% (Wallis et al. 2021; `cms_methodology.md` section 4.3).
# `fit_shares` solves the body's spread, the tail probability and the tail's shape for them
# (holding the zero share, the risk spread and the threshold at 60 x PMPM).

# %%
MEDICARE = {0.01: 0.149, 0.05: 0.415, 0.10: 0.600}
shape = fit_shares(1000.0, MEDICARE, risk_sigma=0.5)
m = cost_moments(shape)
display(
    pd.DataFrame(
        {
            "published": MEDICARE.values(),
            "fitted model": [m.top1_share, m.top5_share, m.top10_share],
        },
        index=["top 1%", "top 5%", "top 10%"],
    ).map(lambda v: f"{v:.1%}")
)
print(
    f"body_sigma {shape.body_sigma:.3f}, tail_probability {shape.tail_probability:.4f}, "
    f"tail_shape {shape.tail_shape:.2f}, CV {m.cv:.2f}"
)

# %%
print(f"notebook ran in {time.perf_counter() - T_START:.0f} s")
