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
# # Spread of the MSSP savings rate by ACO size: engine vs. observed
#
# How widely does an ACO's savings rate, (benchmark − expenditure) / benchmark, scatter, and
# how does that depend on the number of assigned beneficiaries? This notebook sets two answers
# side by side:
#
# * **Observed**: the spread *across ACOs* in CMS's MSSP "ACO results" public use files for
#   performance years 2022 and 2023 (`../shared/data/mssp`, read with
#   `simsettle.replay.read_puf`).
# * **Simulated**: the spread simsettle produces for *one* ACO of a given size over many
#   simulated performance years, starting from `scenarios/examples/mssp_style.yaml`, under
#   (a) member-level noise only and (b) member noise plus systemic trend noise with a
#   benchmark updated by the realized (reference-population) trend.
#
# The two are different quantities, and the point of the notebook is to show by how much and
# why. All numbers in the text below are computed by the cells, not typed in.

# %% tags=["parameters"]
TRIALS = 2000  # simulated performance years per ACO size and case
MAX_MEMBERS = 60_000  # cap on the simulated ACO size (the largest bin's median is larger)
N_BOOT = 2000  # bootstrap resamples for the confidence intervals of the observed SDs
CV_TRIALS = 400_000  # one-member trials used to measure the engine's CV of member cost
YEARS = (2022, 2023)  # PUF performance years to read

# %%
# ruff: noqa: E402, T201 - a notebook: imports follow the parameter cell, results are printed
import io
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from ruamel.yaml import YAML

import simsettle
from simsettle.plot import format_percent, percent_formatter
from simsettle.plot._style import PALETTE
from simsettle.replay import read_puf
from simsettle.scenario import parse_scenario

try:
    from IPython.display import Image, display
except ImportError:  # run as a plain script
    Image = None
    display = print

# CI runs the notebook small: SIMSETTLE_NOTEBOOK_TRIALS overrides the parameter cell.
TRIALS = int(os.environ.get("SIMSETTLE_NOTEBOOK_TRIALS", TRIALS))
# Optional: a folder where the figures are also written as PNG.
FIG_DIR = os.environ.get("SIMSETTLE_NOTEBOOK_FIGDIR")
T_START = time.perf_counter()
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", None)


def find_root(start: Path) -> Path:
    """The repository root: the first folder at or above ``start`` with a pyproject.toml."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "simsettle").is_dir():
            return folder
    raise FileNotFoundError(f"no simsettle pyproject.toml at or above {start}")


ROOT = find_root(Path.cwd().resolve())
MSSP_DIR = Path(os.environ.get("SIMSETTLE_MSSP_DIR", ROOT / ".." / "shared" / "data" / "mssp"))
BASE_SCENARIO = ROOT / "scenarios" / "examples" / "mssp_style.yaml"
if not MSSP_DIR.is_dir():
    raise FileNotFoundError(f"MSSP PUF folder not found: {MSSP_DIR}")
print(f"repository root: {ROOT}\nPUF folder: {MSSP_DIR.resolve()}\ntrials per run: {TRIALS}")

# %% [markdown]
# ## 1. Observed: savings rate across ACOs, by size
#
# One row per ACO and performance year. The savings rate is computed from the file's inputs
# (`ABtotBnchmk`, `ABtotExp`) and checked against the published `Sav_rate`. ACOs are binned by
# assigned beneficiaries (`N_AB`) with the bins of the calibration notes
# (`cms_methodology.md` §4.1).

# %%
EDGES = [0, 7_500, 10_000, 15_000, 25_000, 50_000, math.inf]
LABELS = ["<7.5k", "7.5-10k", "10-15k", "15-25k", "25-50k", ">50k"]

records = []
for year in YEARS:
    path = MSSP_DIR / f"py{year}_aco_results_puf.csv"
    for row in read_puf(path, year):
        records.append(
            {
                "aco_id": row.aco_id,
                "year": year,
                "track": row.track,
                "n_ab": row.n_ab,
                "savings_rate": (row.benchmark - row.expenditure) / row.benchmark,
                "published": row.published.sav_rate,
            }
        )
aco = pd.DataFrame.from_records(records)
aco["bin"] = pd.cut(aco["n_ab"], EDGES, labels=LABELS, right=False)
gap = (aco["savings_rate"] - aco["published"]).abs().max()
print(
    f"{len(aco)} ACO-years; largest gap to the published Sav_rate: {gap:.1e} "
    "(the published rate is rounded to 0.01 points)"
)


def table(df: pd.DataFrame, fmt: dict[str, str]) -> pd.DataFrame:
    """``df`` with the columns named in ``fmt`` formatted as text, for display."""
    out = df.copy()
    for col, spec in fmt.items():
        out[col] = [spec.format(v) for v in df[col]]
    return out


def sd_interval(x: np.ndarray, rng: np.random.Generator, n_boot: int) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the sample SD of ``x``."""
    x = np.asarray(x, dtype=float)
    sds = np.empty(n_boot)
    for start in range(0, n_boot, 250):  # in blocks, to bound memory for long x
        stop = min(start + 250, n_boot)
        idx = rng.integers(0, len(x), size=(stop - start, len(x)))
        sds[start:stop] = x[idx].std(axis=1, ddof=1)
    lo, hi = np.percentile(sds, [2.5, 97.5])
    return float(lo), float(hi)


rng = np.random.default_rng(20260101)
rows = []
for (label, year), g in aco.groupby(["bin", "year"], observed=True, sort=True):
    x = g["savings_rate"].to_numpy()
    q1, q3 = np.percentile(x, [25, 75])
    lo, hi = sd_interval(x, rng, N_BOOT)
    rows.append(
        {
            "bin": label,
            "year": year,
            "ACOs": len(x),
            "median N": float(np.median(g["n_ab"])),
            "mean": x.mean(),
            "SD": x.std(ddof=1),
            "SD lo95": lo,
            "SD hi95": hi,
            "robust SD": (q3 - q1) / 1.349,  # IQR / 1.349: the SD if the spread were normal
        }
    )
observed = pd.DataFrame(rows).set_index(["bin", "year"])
overall = aco.groupby("year")["savings_rate"].agg(["count", "mean", "std"])
pct = dict.fromkeys(["mean", "SD", "SD lo95", "SD hi95", "robust SD"], "{:.2%}")
display(table(observed, {**pct, "median N": "{:,.0f}"}))
print("All ACOs:")
display(table(overall, {"mean": "{:.2%}", "std": "{:.2%}"}))

# %% [markdown]
# `robust SD` (the interquartile range over 1.349) is what the SD would be if the spread were
# normal; when the two are close, the spread is not the work of a few outliers:

# %%
robust_ratio = observed["robust SD"] / observed["SD"]
print(
    f"robust SD / SD by bin and year: {robust_ratio.min():.2f} to {robust_ratio.max():.2f}; "
    + (
        "the spread is broad-based, not a few outliers."
        if robust_ratio.min() > 0.8
        else "in some bins a few outlying ACOs inflate the SD."
    )
)

# %% [markdown]
# ## 2. Simulated: the savings rate of one ACO of each bin's median size
#
# The base is the MSSP-style example (Medicare FFS cost of about $1,100 PMPM, 16% annual
# turnover, risk-adjusted benchmark from three base years weighted 10/30/60). For each bin the
# population is set to the bin's median number of assigned beneficiaries over both years,
# capped at `MAX_MEMBERS` to bound the run time (a bin whose median is above the cap is
# simulated at the cap, which overstates its member noise a little; the `size mix` factor of
# section 3 corrects for it).
#
# * **(a) member noise only**: `trend.sd: 0`, benchmark trended at the expected 4% (the
#   example's `trend_rate`, equal to `trend.mean`). What remains is the randomness of who is
#   attributed, their risk and their claims, in the base years and in the performance year.
# * **(b) plus systemic trend noise**: `trend.sd: 0.02`, `benchmark.trend_method: realized`,
#   `trend.correlation: 0.9`: the ACO's cost trend varies from year to year, and the benchmark
#   follows the realized trend of a reference (regional/national) population that moves with
#   it at correlation 0.9, as MSSP's update factor did in PY2022-23.
#
# Each scenario runs two performance years (`performance_years: 2`) in the same agreement,
# so that the engine also says how strongly one ACO's savings rate persists from one year
# to the next when only noise is at work (section 4). The spread is measured in the first
# performance year. The example's three designs do not change the savings rate (none has a
# discount), so the first design is used.

# %%
BASE_TEXT = BASE_SCENARIO.read_text(encoding="utf-8")
base = parse_scenario(BASE_TEXT, source=str(BASE_SCENARIO)).scenario
assert base.trend.mean == base.benchmark.trend_rate, "(a) needs the benchmark at the mean trend"

bins = aco.groupby("bin", observed=True)["n_ab"].median().rename("median N").to_frame()
bins["simulated N"] = np.minimum(bins["median N"], MAX_MEMBERS).round().astype(int)

CASES = {
    "a": {"label": "(a) member noise only", "trend_sd": 0.0, "method": "negotiated"},
    "b": {
        "label": "(b) + trend noise, realized-trend benchmark",
        "trend_sd": 0.02,
        "method": "realized",
    },
}


def scenario_text(members: int, case: str) -> str:
    """The example's YAML with the population size, trend and benchmark of ``case``."""
    yaml = YAML()  # round trip: keeps the example's comments and layout
    data = yaml.load(BASE_TEXT)
    spec = CASES[case]
    data["name"] = f"MSSP-style ACO, {members:,} beneficiaries, case {spec['label']}"
    data["performance_years"] = 2
    data["population"]["members"] = int(members)
    data["trend"]["sd"] = float(spec["trend_sd"])
    data["trend"]["correlation"] = 0.9
    data["benchmark"]["trend_method"] = spec["method"]
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


sim_rates = {}  # (case, bin) -> array (trial, performance year) of savings rates
t0 = time.perf_counter()
for label, n in bins["simulated N"].items():
    for case in CASES:
        loaded = parse_scenario(scenario_text(n, case), source=f"<{label}, case {case}>")
        ds = simsettle.simulate(loaded, trials=TRIALS, progress=False)
        rate = ds.savings_rate
        # No design has a discount, so every design sees the same savings rate.
        np.testing.assert_allclose(rate, rate.isel(design=[0] * rate.sizes["design"]))
        sim_rates[case, label] = rate.isel(design=0).transpose("trial", "year").values
sim_seconds = time.perf_counter() - t0
print(f"{len(sim_rates)} simulations of {TRIALS} trials in {sim_seconds:.1f} s")

# %% [markdown]
# ### The engine's CV of member cost and the CV/√N reference curve
#
# If the benchmark were a fixed budget and every member stayed the whole year, the savings
# rate's SD would be the coefficient of variation (CV) of one member-year's cost over √N.
# The CV is measured from the engine itself (one member, no turnover, no trend, many trials)
# and checked against the closed form implied by the cost model (lognormal risk score with
# mean 1 times a mixture of zero cost, lognormal body and Pareto tail).

# %%
cv_data = {
    "schema_version": 1,
    "seed": base.seed,
    "trials": CV_TRIALS,
    "population": {
        **base.population.model_dump(mode="json", exclude_none=True),
        "members": 1,
        "turnover": 0.0,
    },
    # The cost model's own parameters (solved ones included when the example gives moments).
    "cost": {
        key: getattr(base.cost, key)
        for key in (
            "pmpm",
            "zero_cost_share",
            "body_sigma",
            "tail_probability",
            "tail_threshold",
            "tail_shape",
        )
    },
    "trend": {"mean": 0.0, "sd": 0.0},
    "benchmark": {"weights": [1.0], "trend_rate": 0.0, "risk_adjustment": False},
    "designs": [
        {
            "name": "budget",
            "kind": "two_sided",
            "shared_savings_rate": 1.0,
            "shared_loss_rate": 1.0,
            "capitation_pmpm": base.cost.pmpm,
        }
    ],
}
one = simsettle.simulate(parse_scenario(json.dumps(cv_data), source="<one member>"), progress=False)
member_cost = one.actual_spend.values.ravel()
CV = float(member_cost.std() / member_cost.mean())

c, p = base.cost, base.population
body_p = 1.0 - c.zero_cost_share - c.tail_probability
second_moment = body_p * c.body_mean**2 * math.exp(c.body_sigma**2) + (
    c.tail_probability * c.tail_shape * c.tail_threshold**2 / (c.tail_shape - 2.0)
    if c.tail_shape > 2.0
    else math.inf
)
CV_CLOSED = math.sqrt(math.exp(p.risk_sigma**2) * second_moment / c.annual_mean**2 - 1.0)
print(
    f"CV of one member-year's cost: engine {CV:.3f} ({CV_TRIALS:,} trials), "
    f"closed form {CV_CLOSED:.3f}"
)

# %% [markdown]
# ## 3. Observed vs. simulated spread
#
# * `obs SD` pools the two years (square root of the mean of the two years' variances).
# * `sim SD (a)`, `sim SD (b)`: the engine's SD at the simulated size; `CV/sqrt(N)` the
#   reference curve at that size.
# * `size mix`: the bins are wide, and member noise variance goes as 1/N, so the ACOs of a bin
#   are on average noisier than one ACO of the simulated size by the factor mean(N_sim / N_i)
#   over the bin's ACO-years (above 1 in the small bins; below 1 in the largest, where the
#   simulated size is capped). `sim SD (b), mix` applies it to the member-noise part:
#   √(sim SD (b)² + (size mix − 1) × sim SD (a)²).
# * `noise share` = (sim SD (b), mix / obs SD)² is the share of the observed variance the
#   engine's noise accounts for, and `residual SD` = √(obs SD² − sim SD (b), mix²) what is left
#   for real differences between ACOs, if the two add up independently.


# %%
def sim_sd(case: str, label: str) -> float:
    return float(sim_rates[case, label][:, 0].std(ddof=1))


def sim_mean(case: str, label: str) -> float:
    return float(sim_rates[case, label][:, 0].mean())


comparison = bins.copy()
for year in YEARS:
    comparison[f"obs SD {year}"] = observed["SD"].xs(year, level="year")
comparison["obs SD"] = np.sqrt((observed["SD"] ** 2).groupby(level="bin", observed=True).mean())
for case in CASES:
    comparison[f"sim SD ({case})"] = [sim_sd(case, b) for b in comparison.index]
comparison["CV/sqrt(N)"] = CV / np.sqrt(comparison["simulated N"])
n_sim = aco["bin"].map(comparison["simulated N"]).astype(float)
comparison["size mix"] = (n_sim / aco["n_ab"]).groupby(aco["bin"], observed=True).mean()
comparison["sim SD (b), mix"] = np.sqrt(
    comparison["sim SD (b)"] ** 2 + (comparison["size mix"] - 1.0) * comparison["sim SD (a)"] ** 2
)
comparison["noise share"] = (comparison["sim SD (b), mix"] / comparison["obs SD"]) ** 2
comparison["residual SD"] = np.sqrt(
    np.clip(comparison["obs SD"] ** 2 - comparison["sim SD (b), mix"] ** 2, 0.0, None)
)
fmt = dict.fromkeys(comparison.columns, "{:.2%}")
fmt.update(
    {"median N": "{:,.0f}", "simulated N": "{:,}", "size mix": "{:.2f}", "noise share": "{:.0%}"}
)
display(table(comparison, fmt))

means = pd.DataFrame(
    {
        "obs mean": aco.groupby("bin", observed=True)["savings_rate"].mean(),
        "obs share below benchmark": aco.assign(below=aco["savings_rate"] > 0)
        .groupby("bin", observed=True)["below"]
        .mean(),
        **{f"sim mean ({case})": [sim_mean(case, b) for b in bins.index] for case in CASES},
        # Monte Carlo standard errors, for reading the simulated columns.
        "MC SE of sim mean": comparison["sim SD (b)"] / math.sqrt(TRIALS),
    }
)
mean_fmt = dict.fromkeys(means.columns, "{:+.2%}")
mean_fmt.update({"obs share below benchmark": "{:.0%}", "MC SE of sim mean": "{:.2%}"})
display(table(means, mean_fmt))
mc_se_sd = comparison["sim SD (b)"] / math.sqrt(2 * (TRIALS - 1))
print(
    f"Monte Carlo SE of the simulated SDs: at most about {mc_se_sd.max():.2%} (normal theory; "
    "the heavy member-cost tail makes it somewhat larger)"
)


# %%
def sim_interval(case: str, label: str) -> tuple[float, float]:
    return sd_interval(sim_rates[case, label][:, 0], rng, 500)


colors = {"obs": PALETTE[9], "a": PALETTE[0], "b": PALETTE[1], "cv": PALETTE[2]}
markers = dict(zip(YEARS, ["o", "s"], strict=False))
fig = Figure(figsize=(8.0, 6.2), layout="constrained")
ax = fig.add_subplot()
for i, year in enumerate(YEARS):
    sub = observed.xs(year, level="year")
    # Nudge the two years apart so their error bars do not overlap.
    x = sub["median N"] * (1.0 + 0.04 * (2 * i - 1))
    ax.errorbar(
        x,
        sub["SD"],
        yerr=[sub["SD"] - sub["SD lo95"], sub["SD hi95"] - sub["SD"]],
        fmt=markers[year],
        color=colors["obs"],
        mfc="white" if i else colors["obs"],
        capsize=3,
        lw=1.2,
        label=f"observed across ACOs, PY{year} (bin median N, bootstrap 95% CI)",
    )
xs = comparison["simulated N"].to_numpy()
for case in CASES:
    lo_hi = np.array([sim_interval(case, b) for b in comparison.index])
    ax.plot(
        xs,
        comparison[f"sim SD ({case})"],
        "-",
        marker="D",
        ms=4,
        color=colors[case],
        label=f"simsettle {CASES[case]['label']}",
    )
    ax.fill_between(xs, lo_hi[:, 0], lo_hi[:, 1], color=colors[case], alpha=0.15, lw=0)
grid = np.geomspace(2_000, 300_000, 200)
ax.plot(
    grid,
    CV / np.sqrt(grid),
    ":",
    color=colors["cv"],
    lw=1.6,
    label=f"CV/√N, CV = {CV:.2f} (engine's member cost)",
)
ax.axvline(
    MAX_MEMBERS,
    color="0.6",
    lw=0.8,
    ls="--",
    label=f"simulated N capped at {MAX_MEMBERS / 1000:g}k (largest bin's median is above)",
)
ax.set_xscale("log")
ax.set_xlim(2_000, 300_000)
ax.set_ylim(0, None)
TICKS = [2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000]
ax.set_xticks(TICKS, minor=False)
ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
ax.yaxis.set_major_formatter(percent_formatter())
ax.set_xlabel("assigned beneficiaries N (log scale)")
ax.set_ylabel("SD of the savings rate")
ax.set_title(
    "MSSP savings rate: spread across ACOs (PUF) vs. noise for one ACO (simsettle)", fontsize=10.5
)
ax.spines[["top", "right"]].set_visible(False)
ax.grid(True, which="both", alpha=0.3, lw=0.6)
fig.legend(fontsize=8, frameon=False, loc="outside lower center", ncols=2)


def show(fig: Figure, name: str) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    if FIG_DIR:
        Path(FIG_DIR).mkdir(parents=True, exist_ok=True)
        (Path(FIG_DIR) / name).write_bytes(buf.getvalue())
    display(Image(data=buf.getvalue(), format="png") if Image else f"[figure {name}]")


show(fig, "mssp_spread_by_size.png")

# %% [markdown]
# ## 4. Is the observed spread noise? The same ACOs one year later
#
# If the spread across ACOs were mostly noise, an ACO's savings rate in PY2023 would say
# little about its rate in PY2022. Real differences (efficiency, benchmark terms, patient mix)
# persist instead. For the ACOs in both files (binned by their PY2022 size) the table gives
# the correlation of the two years' savings rates and the **transient SD**, SD(PY2023 −
# PY2022) / √2: the part of the spread that changes from year to year. The engine gives the
# same two statistics for its two simulated performance years under pure noise (noise has a
# persistent part too: the benchmark's base years and most members are shared by both years).

# %%
wide = aco.pivot(index="aco_id", columns="year", values="savings_rate").dropna()
size = aco[aco["year"] == YEARS[0]].set_index("aco_id")["bin"].reindex(wide.index)
persist_rows = []
for label in LABELS:
    w = wide[size == label]
    row = {
        "bin": label,
        "ACOs in both years": len(w),
        "obs corr": float(np.corrcoef(w[YEARS[0]], w[YEARS[1]])[0, 1]),
        "obs transient SD": float((w[YEARS[1]] - w[YEARS[0]]).std(ddof=1) / math.sqrt(2)),
    }
    for case in CASES:
        r = sim_rates[case, label]
        row[f"sim corr ({case})"] = float(np.corrcoef(r[:, 0], r[:, 1])[0, 1])
        row[f"sim transient SD ({case})"] = float((r[:, 1] - r[:, 0]).std(ddof=1) / math.sqrt(2))
    persist_rows.append(row)
persistence = pd.DataFrame(persist_rows).set_index("bin")
transient_ratio_b = persistence["obs transient SD"] / persistence["sim transient SD (b)"]
all_corr = float(np.corrcoef(wide[YEARS[0]], wide[YEARS[1]])[0, 1])
pfmt = {c: "{:.2%}" for c in persistence.columns if "SD" in c}
pfmt.update({c: "{:.2f}" for c in persistence.columns if "corr" in c})
display(table(persistence, pfmt))
print(f"{len(wide)} ACOs in both years; correlation of their savings rates: {all_corr:.2f}")

# %%
fig2 = Figure(figsize=(8.0, 5.2), layout="constrained")
ax2 = fig2.add_subplot()
x_obs = comparison["median N"]
ax2.plot(
    x_obs,
    comparison["obs SD"],
    "o",
    color=colors["obs"],
    label="observed: SD across ACOs (both years)",
)
ax2.plot(
    x_obs,
    persistence["obs transient SD"],
    "o",
    mfc="white",
    color=colors["obs"],
    label="observed: transient SD, same ACOs PY2022 → PY2023",
)
for case in CASES:
    ax2.plot(
        xs, comparison[f"sim SD ({case})"], "-", color=colors[case], label=f"simsettle {case}: SD"
    )
    ax2.plot(
        xs,
        persistence[f"sim transient SD ({case})"],
        "--",
        color=colors[case],
        label=f"simsettle {case}: transient SD",
    )
ax2.set_xscale("log")
ax2.set_xlim(2_000, 300_000)
ax2.set_ylim(0, None)
ax2.set_xticks(TICKS, minor=False)
ax2.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
ax2.yaxis.set_major_formatter(percent_formatter())
ax2.set_xlabel("assigned beneficiaries N (log scale)")
ax2.set_ylabel("SD of the savings rate")
ax2.set_title("Total and year-to-year (transient) spread", fontsize=10.5)
ax2.spines[["top", "right"]].set_visible(False)
ax2.grid(True, which="both", alpha=0.3, lw=0.6)
fig2.legend(fontsize=8, frameon=False, loc="outside lower center", ncols=3)
show(fig2, "mssp_transient_spread.png")

# %% [markdown]
# ## 5. The year-to-year change, each band's ACO as the PUF describes it
#
# Sections 2 to 4 start from the MSSP-style example, whose population replaces every leaver
# for the rest of the year (`replacement: 1`): 1.16 people per roster place and 0.86
# person-years per beneficiary. The PUF says otherwise: person-years (`N_AB_Year_PY`) are
# 0.97 to 0.98 of the assigned beneficiaries (`N_AB`) in every band, so partial years are
# mostly decedents', and the 16% of beneficiaries who change from one year to the next do so
# between years. Case **(c)** sets each band's ACO up from the file:
#
# * its beneficiaries' **cost**: the band's median `Per_Capita_Exp_TOTAL_PY` over both years,
#   divided by 12, as `cost.pmpm` (the shape scales with it);
# * its **exposure**: turnover 0.16, of which deaths are the default 4.5% and the rest is loss
#   of attribution (`attribution_loss`: out of that year's list), with no replacement during
#   the year; the roster is sized so that the attributed beneficiaries are the band's median
#   `N_AB`. The engine's person-years per beneficiary are printed beside the file's;
# * its **size mix**: the member-noise variance of the year-to-year change goes as 1/N and a
#   floor, `var(N) = floor + c / N`, fitted by least squares to the six simulated sizes; a
#   band's variance is then the mean of `var(N_i)` over its ACOs in both years, each at its
#   own PY2022 size, as the observed statistic averages over them;
# * trend noise and the realized-trend benchmark of case (b).
#
# The transient SD of the observed change has a bootstrap interval (the bands have 36 to 95
# ACOs, so the observed SD itself is uncertain by 7 to 12%).

# %%
PUF_COLUMNS = ["ACO_ID", "N_AB", "N_AB_Year_PY", "Per_Capita_Exp_TOTAL_PY"]


def read_columns(year: int) -> pd.DataFrame:
    """The PUF columns behind case (c), as numbers, with the year and the size band."""
    raw = pd.read_csv(
        MSSP_DIR / f"py{year}_aco_results_puf.csv",
        encoding="utf-8-sig",
        usecols=PUF_COLUMNS,
        dtype=str,
    )
    out = raw[["ACO_ID"]].rename(columns={"ACO_ID": "aco_id"})
    for col in PUF_COLUMNS[1:]:
        out[col] = pd.to_numeric(raw[col].str.replace(r"[,$]", "", regex=True), errors="raise")
    out["year"] = year
    return out


puf = pd.concat([read_columns(y) for y in YEARS], ignore_index=True)
puf["bin"] = pd.cut(puf["N_AB"], EDGES, labels=LABELS, right=False)
puf["exposure"] = puf["N_AB_Year_PY"] / puf["N_AB"]
described = puf.groupby("bin", observed=True).agg(
    **{
        "median N": ("N_AB", "median"),
        "PUF person-years / N_AB": ("exposure", "median"),
        "per-capita spend": ("Per_Capita_Exp_TOTAL_PY", "median"),
    }
)
TURNOVER, MORTALITY = 0.16, 0.045
LOSS = TURNOVER - MORTALITY


def described_text(members: int, pmpm: float) -> str:
    """Case (c): the example with the band's cost and the PUF's exposure."""
    yaml = YAML()
    data = yaml.load(BASE_TEXT)
    data["name"] = f"MSSP ACO as the PUF describes it, {members:,} beneficiaries"
    data["performance_years"] = 2
    # The roster is sized for the attributed beneficiaries: LOSS of its places are out of
    # each year's list.
    data["population"]["members"] = round(members / (1.0 - LOSS))
    data["population"]["turnover"] = TURNOVER
    data["population"]["mortality"] = MORTALITY
    data["population"]["attribution_loss"] = LOSS
    data["population"]["replacement"] = 0.0
    data["cost"] = {"pmpm": round(float(pmpm), 2)}  # the default shape, scaled to the PMPM
    data["trend"]["sd"] = float(CASES["b"]["trend_sd"])
    data["trend"]["correlation"] = 0.9
    data["benchmark"]["trend_method"] = CASES["b"]["method"]
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


t0 = time.perf_counter()
rows_c = []
for label, row in described.iterrows():
    n = int(min(row["median N"], MAX_MEMBERS))
    text = described_text(n, row["per-capita spend"] / 12.0)
    ds = simsettle.simulate(
        parse_scenario(text, source=f"<{label}, case c>"), trials=TRIALS, progress=False
    )
    r = ds.savings_rate.isel(design=0).transpose("trial", "year").values
    rows_c.append(
        {
            "bin": label,
            "simulated N": float(ds.attributed_members.isel(year=0).mean()),
            "engine person-years / N": float(
                (ds.member_months / 12.0 / ds.attributed_members).mean()
            ),
            "sim transient var": float(np.var(r[:, 1] - r[:, 0], ddof=1) / 2.0),
        }
    )
sim_c = pd.DataFrame(rows_c).set_index("bin")
described = described.join(sim_c)
seconds_c = time.perf_counter() - t0

# var(N) = floor + c / N, least squares on the simulated sizes.
design_matrix = np.column_stack([np.ones(len(sim_c)), 1.0 / sim_c["simulated N"]])
(floor_var, c_var), *_ = np.linalg.lstsq(design_matrix, sim_c["sim transient var"], rcond=None)
fit_var = design_matrix @ np.array([floor_var, c_var])
fit_gap = float(np.max(np.abs(np.sqrt(fit_var / sim_c["sim transient var"]) - 1.0)))

n_2022 = aco[aco["year"] == YEARS[0]].set_index("aco_id")["n_ab"].reindex(wide.index)
change = wide[YEARS[1]] - wide[YEARS[0]]
transient_rows = []
for label in LABELS:
    in_band = size == label
    d = change[in_band].to_numpy()
    obs = float(d.std(ddof=1) / math.sqrt(2.0))
    lo, hi = (v / math.sqrt(2.0) for v in sd_interval(d, rng, N_BOOT))
    model = math.sqrt(float(np.mean(floor_var + c_var / n_2022[in_band].to_numpy())))
    transient_rows.append(
        {
            "bin": label,
            "ACOs": int(in_band.sum()),
            "obs transient SD": obs,
            "obs lo95": lo,
            "obs hi95": hi,
            "sim transient SD (c), size mix": model,
            "obs / sim (c)": obs / model,
            "obs / sim (b), section 4": float(transient_ratio_b[label]),
        }
    )
transient = pd.DataFrame(transient_rows).set_index("bin")
display(
    table(
        described,
        {
            "median N": "{:,.0f}",
            "PUF person-years / N_AB": "{:.3f}",
            "per-capita spend": "${:,.0f}",
            "simulated N": "{:,.0f}",
            "engine person-years / N": "{:.3f}",
            "sim transient var": "{:.2e}",
        },
    )
)
tfmt = {c: "{:.2%}" for c in transient.columns if "SD" in c or "lo95" in c or "hi95" in c}
tfmt.update({c: "{:.2f}" for c in transient.columns if "/" in c})
display(table(transient, tfmt))
ratio_c = transient["obs / sim (c)"]
within = ratio_c.between(0.85, 1.15)
inside = (transient["sim transient SD (c), size mix"] >= transient["obs lo95"]) & (
    transient["sim transient SD (c), size mix"] <= transient["obs hi95"]
)
print(
    f"case (c): {len(sim_c)} simulations of {TRIALS} trials in {seconds_c:.1f} s; fit "
    f"floor + c/N: floor SD {math.sqrt(max(floor_var, 0.0)):.2%}, "
    f"c = {c_var:.3g}, worst gap to a simulated size {fit_gap:.1%}\n"
    f"observed over engine (c), by band: {', '.join(f'{v:.2f}' for v in ratio_c)} "
    f"(section 4's (b): {', '.join(f'{v:.2f}' for v in transient['obs / sim (b), section 4'])}); "
    f"within 15%: {int(within.sum())} of {len(within)} bands"
    + ("" if within.all() else f" (not: {', '.join(ratio_c.index[~within])})")
    + f"; the engine inside the observed 95% interval: {int(inside.sum())} of {len(inside)}"
)

# %% [markdown]
# **Reading the ratios.** A ratio above 1 is expected where real year-to-year changes add to
# noise: an ACO's participant list changes between years (its benchmark is then restated, the
# selection of section 6), the benchmark's regional blend and trend update change, and quality
# scores and coding move; none of these is noise the engine of one fixed ACO simulates. A ratio
# below 1 is within sampling error only where the engine lies inside the observed interval:
# with 36 to 95 ACOs a band's observed transient SD is known to about ±20% (95%), so a band
# outside 15% need not be a misfit, and the interval column says which are. What remains
# outside both is for the Medicare program rules of the current agreement periods, which
# change the member noise itself: per-beneficiary truncation at the 99th percentile (lower
# noise at every size) and the enrollment types with their own cost levels (ESRD members cost
# about eight times an aged member), the next step in the engine's plan.

# %% [markdown]
# ## 6. Why the two differ
#
# **They measure different things.** The observed SD is the spread *across* the different
# ACOs of a bin in one year. Each ACO's savings rate is its own expected savings plus noise,
# so the cross-sectional variance is (variance of the expected savings across ACOs) + (noise
# variance). The first term contains everything that really differs between ACOs:
# true savings from care management and referral patterns; selection into the program (ACOs
# that expect to beat their benchmark join and stay, those that expect losses leave or never
# sign; Lyu, Chernew and McWilliams 2023); regional benchmarks and the regional efficiency
# adjustment, which pay ACOs that spend less than their region; the prior-savings adjustment;
# differences in the base years, coding intensity and risk-score caps. **The observed spread is
# therefore an upper bound on the noise, not an estimate of it.** The engine's spread is the
# second term only: the noise one ACO faces around its own expected savings, which is what
# a contract's MSR, corridors and risk of undeserved payments are about (DeLia et al. 2012).
#
# **Where they meet and where they part**, from the tables above:


# %%
def pct_(x: float) -> str:
    return format_percent(float(x), decimals=1)


def more_less(x: float, y: float, tol: float = 0.05) -> str:
    """'above', 'below' or 'about equal to' for x against y, with a relative tolerance."""
    if abs(x - y) <= tol * abs(y):
        return "about equal to"
    return "above" if x > y else "below"


first, last = comparison.index[0], comparison.index[-1]
small, large = comparison.loc[first], comparison.loc[last]
small_p, large_p = persistence.loc[first], persistence.loc[last]
n_small, n_large = int(small["simulated N"]), int(large["simulated N"])
obs_factor = small["obs SD"] / large["obs SD"]
root_factor = math.sqrt(large["median N"] / small["median N"])
floor = math.sqrt(max(large["sim SD (b)"] ** 2 - large["sim SD (a)"] ** 2, 0.0))
top2 = comparison["noise share"].nlargest(2).index
transient_ratio = persistence["obs transient SD"] / persistence["sim transient SD (b)"]
transient_spread = float(np.exp(np.abs(np.log(transient_ratio)).max()))
total_spread = float(
    np.exp(np.abs(np.log(comparison["obs SD"] / comparison["sim SD (b), mix"])).max())
)
lines = [
    f"* Size. The observed SD falls from {pct_(small['obs SD'])} ({first}, median N "
    f"{small['median N']:,.0f}) to {pct_(large['obs SD'])} ({last}, median N "
    f"{large['median N']:,.0f}), a factor {obs_factor:.1f}; 1/√N over the same sizes predicts "
    f"{root_factor:.1f}. "
    + (
        "The observed spread falls more slowly than 1/√N: part of it does not shrink with size."
        if obs_factor < 0.8 * root_factor
        else "It falls about as fast as 1/√N."
    ),
    f"* Member noise (a) gives {pct_(small['sim SD (a)'])} at N = {n_small:,} and "
    f"{pct_(large['sim SD (a)'])} at N = {n_large:,}, "
    f"{small['sim SD (a)'] / small['CV/sqrt(N)']:.2f} and "
    f"{large['sim SD (a)'] / large['CV/sqrt(N)']:.2f} times CV/√N "
    f"(CV = {CV:.2f}). Unlike a fixed budget, the benchmark is itself estimated from the same "
    "population's base years, with turnover and risk adjustment; that "
    + ("adds a little noise." if small["sim SD (a)"] > small["CV/sqrt(N)"] else "removes some."),
    f"* Trend noise with a realized-trend benchmark (b) gives {pct_(small['sim SD (b)'])} and "
    f"{pct_(large['sim SD (b)'])}; the part that does not depend on size is "
    f"√(b² − a²) = {pct_(floor)} at N = {n_large:,}: the provider's 2% trend SD that a "
    f"reference trend correlated at 0.9 leaves behind (2% × √(2 × (1 − 0.9)) = "
    f"{pct_(0.02 * math.sqrt(0.2))} a year).",
    "* With the bins' size mix, the engine's noise (b) accounts for "
    + ", ".join(f"{r['noise share']:.0%} ({b})" for b, r in comparison.iterrows())
    + f" of the observed variance, most in the {top2[0]} and {top2[1]} bins. The residual SD, "
    + ", ".join(pct_(v) for v in comparison["residual SD"])
    + ", is what remains for real differences between ACOs.",
    f"* Persistence. The same ACOs' savings rates correlate at {all_corr:.2f} from PY{YEARS[0]} "
    f"to PY{YEARS[1]} (by bin: {', '.join(f'{v:.2f}' for v in persistence['obs corr'])}); pure "
    f"noise in case (b) gives {', '.join(f'{v:.2f}' for v in persistence['sim corr (b)'])}. "
    + (
        "Most of the observed spread persists from one year to the next, beyond what noise "
        "alone would carry over, so most of it is not noise."
        if (persistence["obs corr"] > persistence["sim corr (b)"]).all()
        else "In some bins the observed persistence is no higher than noise alone gives."
    ),
    "* Transient part. The year-to-year part of the observed spread is "
    + ", ".join(pct_(v) for v in persistence["obs transient SD"])
    + " by bin, against the engine's (b) "
    + ", ".join(pct_(v) for v in persistence["sim transient SD (b)"])
    + ": the observed value is "
    + more_less(small_p["obs transient SD"], small_p["sim transient SD (b)"], 0.15)
    + " the engine's in the smallest bin (whose ACOs are smaller than its median: size mix "
    + f"{small['size mix']:.2f}) and "
    + more_less(large_p["obs transient SD"], large_p["sim transient SD (b)"], 0.15)
    + " it in the largest. Observed over engine, by bin: "
    + ", ".join(f"{v:.2f}" for v in transient_ratio)
    + f"; the two agree within a factor {transient_spread:.2f} in every bin, against up to "
    + f"a factor {total_spread:.2f} between the observed total SD and the engine's.",
    f"* Means. Observed {pct_(aco['savings_rate'].mean())} over all ACO-years "
    f"({', '.join(f'PY{y} {pct_(m)}' for y, m in overall['mean'].items())}), with "
    f"{(aco['savings_rate'] > 0).mean():.0%} of ACO-years below benchmark; the engine gives "
    f"{format_percent(means['sim mean (a)'].mean(), 2)} in (a) and "
    f"{format_percent(means['sim mean (b)'].mean(), 2)} in "
    f"(b) averaged over the sizes (Monte Carlo SE of each size's mean "
    f"{means['MC SE of sim mean'].min():.2%} to {means['MC SE of sim mean'].max():.2%}).",
]
print("\n".join(lines))

# %% [markdown]
# **Small ACOs.** Noise is a larger share of the observed spread in small ACOs than in large
# ones (the `noise share` column), as the 1/√N law says it should be. The comparison is rough
# here for three reasons. MSSP truncates each beneficiary's expenditure
# at the 99th percentile before computing the savings rate, which lowers the effective CV
# (the MSR table implies about 1.7, `cms_methodology.md` §4.3), while the example's cost model
# is untruncated: at a given N the engine, if anything, overstates member noise. The smallest
# bin is wide and reaches far below its median, which the `size mix` factor only
# approximates. And small ACOs are the most varied group (new entrants, physician-led
# practices, low-revenue ACOs), so the residual SD need not be the same at every size.
#
# **Large ACOs.** CV/√N puts the member noise of the largest simulated ACO far below the
# observed spread of its bin. Case (b) shows why noise has a floor at all:
# systemic trend noise that the benchmark update does not fully remove (a negotiated or partly
# prospective trend, as MSSP's ACPT blend from 2024, leaves more of it). The rest of the
# large ACOs' spread is real, persistent dispersion of their expected savings, which no model
# of one ACO's noise produces (compare the year-to-year correlations of section 4).
#
# **Means.** The engine's mean savings rate is close to zero by construction (the last bullet;
# what remains is Monte Carlo error and second-order terms such as the mean of a ratio not
# being the ratio of the means): the
# benchmark is the ACO's own base-year cost trended at the rate its cost is expected to grow
# (case a) or at the realized trend of a population that moves with it (case b), and the
# example has no true savings. The observed mean, with most ACO-years below benchmark, is not
# noise either: it is true savings, the program's benchmark terms (regional
# adjustment, prior-savings adjustment, trend updates that need not equal each ACO's own cost
# growth) and selection (ACOs with poor prospects leave). In a scenario these belong in the
# expected savings, e.g. a `care_management` programme for true savings or
# `benchmark.regional_cost_ratio` for the regional adjustment; they shift the mean and leave
# the noise, the engine's spread, essentially unchanged.
#
# **Conclusion.** The engine's spread is the risk one ACO carries around its own expected
# result, the quantity that matters for setting or judging an MSR or a corridor. The spread
# across ACOs is an upper bound on it, and a loose one: much of the observed dispersion is
# persistent differences between ACOs, not random variation (the noise shares and the
# year-to-year correlations above). The like-for-like check is the part of the observed
# spread that changes from one year to the next in the same ACOs; the last bullets compare it
# with the engine's noise bin by bin. Both the data and the engine show a spread that falls
# with size but not to zero.

# %%
run_seconds = time.perf_counter() - T_START
print(f"notebook run time: {run_seconds:.1f} s (simulations {sim_seconds:.1f} s, {TRIALS} trials)")
