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
# # Quickstart: from a scenario file to settlement risk
#
# This notebook walks through one simsettle run from end to end, the way an actuary would
# read it before a contract meeting:
#
# 1. load a **scenario file**: the population, its cost, the benchmark and the contract
#    designs under discussion;
# 2. **simulate** many possible performance years and settle each one under every design;
# 3. look at what comes back: one table of outcomes per design, trial and year, with the
#    units and the provenance (seed, the scenario's fingerprint) that make it reproducible;
# 4. turn it into the numbers a committee asks for (expected settlement, chance of paying
#    losses, a bad year's loss) **with their Monte Carlo standard errors**, and check that
#    enough years were simulated;
# 5. draw the distribution, the exceedance curve and a side-by-side comparison;
# 6. save the results and open them again.
#
# **Sign convention throughout: settlement > 0 means the payer pays the provider** (shared
# savings); settlement < 0 means the provider pays the payer back (shared losses).
#
# The scenario is `scenarios/examples/mssp_style.yaml`: an ACO of 10,000 Medicare
# beneficiaries (about $1,100 per member per month), one performance year, three MSSP-like
# designs: one-sided (BASIC A/B-like), two-sided BASIC level E-like, and ENHANCED-like.

# %% tags=["parameters"]
TRIALS = 2000  # simulated performance years per design
DESIGN = "enhanced"  # the design looked at in detail

# %%
# ruff: noqa: E402, T201 - a notebook: imports follow the parameter cell, results are printed
import hashlib
import io
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

import simsettle
import simsettle.stats  # registers the ds.settle accessor
from simsettle.plot import (
    fig_compare,
    fig_distribution,
    fig_exceedance,
    format_money,
)

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
pd.set_option("display.max_colwidth", 90)


def find_root(start: Path) -> Path:
    """The repository root: the first folder at or above ``start`` with a pyproject.toml."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "simsettle").is_dir():
            return folder
    raise FileNotFoundError(f"no simsettle pyproject.toml at or above {start}")


def show(fig: Figure, name: str) -> None:
    """Display ``fig`` as a PNG (and write it to FIG_DIR when that is set)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    if FIG_DIR:
        Path(FIG_DIR).mkdir(parents=True, exist_ok=True)
        (Path(FIG_DIR) / name).write_bytes(buf.getvalue())
    display(Image(data=buf.getvalue(), format="png") if Image else f"[figure {name}]")


ROOT = find_root(Path.cwd().resolve())
SCENARIO = ROOT / "scenarios" / "examples" / "mssp_style.yaml"
print(f"simsettle {simsettle.__version__}; scenario {SCENARIO.relative_to(ROOT)}; {TRIALS} trials")

# %% [markdown]
# ## 1. Load the scenario
#
# `simsettle.load_scenario` reads the YAML file and checks every field strictly: a typo, an
# unknown key or a rate outside 0-1 is an error that names the file, line and column, before
# anything is simulated. The result holds the validated scenario; its designs are the
# contracts being compared.

# %%
loaded = simsettle.load_scenario(SCENARIO)
sc = loaded.scenario
print(f"{sc.name}: {sc.population.members:,} members, ${sc.cost.pmpm:,.0f} PMPM")
print(f"first performance year {sc.first_performance_year}, {sc.performance_years} year(s)")
# The terms that differ between the three designs (the rest are at their defaults).
FIELDS = ["kind", "min_savings_rate", "shared_savings_rate", "shared_loss_rate"]
FIELDS += ["savings_cap", "loss_cap"]
designs = pd.DataFrame(
    {f: [getattr(d, f, None) for d in sc.designs] for f in FIELDS},
    index=pd.Index([d.name for d in sc.designs], name="design"),
)
display(designs)

# %% [markdown]
# ## 2. Simulate
#
# Each **trial** is one possible history: the members attributed in the base years and the
# performance year, their risk and their claims, the cost trend. The benchmark is built from
# the simulated base years, exactly as the program would build it, and the performance year
# is then settled under **every design on the same simulated years**. The scenario asks for
# 10,000 trials; here `trials=` overrides it so the notebook runs quickly.

# %%
t0 = time.perf_counter()
ds = simsettle.simulate(loaded, trials=TRIALS, progress=False)
sim_seconds = time.perf_counter() - t0
print(f"simulated {TRIALS:,} trials x {ds.sizes['design']} designs in {sim_seconds:.1f} s")

# %% [markdown]
# ## 3. What came back: an xarray Dataset
#
# Every result is labelled. The **dimensions** are `design` (one per contract), `trial`
# (one simulated history) and `year` (performance years). Variables with `design` in their
# dimensions differ by contract (the settlement and its parts); variables without it, such
# as `benchmark` and `actual_spend`, are the same simulated years that every design is
# settled on. Every variable carries a `long_name`, `units` (`USD` for money, `1` for rates
# and counts) and a description.

# %%
print(dict(ds.sizes))
variables = pd.DataFrame(
    [
        {
            "variable": name,
            "dims": ", ".join(map(str, var.dims)),
            "long_name": var.attrs.get("long_name", ""),
            "units": var.attrs.get("units", ""),
        }
        for name, var in ds.data_vars.items()
    ]
).set_index("variable")
display(variables)

# %% [markdown]
# The design's terms travel with the results as coordinates on `design`, so one can select
# by them (`ds.where(ds.shared_savings_rate > 0.5)`), and the global attributes record how
# the results were made: the seed, the random number generator, the full scenario text and
# its SHA-256 fingerprint. The same scenario, seed and simsettle version give the same
# numbers to the bit, so the fingerprint identifies exactly which assumptions a result
# came from. Below it is checked against the scenario file itself.

# %%
display(ds.reset_coords()[FIELDS].to_dataframe())
for key in ("title", "seed", "rng", "trials", "sign_convention", "source", "scenario_sha256"):
    print(f"{key:>16}: {ds.attrs[key]}")
file_sha = hashlib.sha256(SCENARIO.read_bytes()).hexdigest()
print(f"scenario file SHA-256 matches the results: {file_sha == ds.attrs['scenario_sha256']}")

# %% [markdown]
# ## 4. One design, one year
#
# Selecting is plain xarray: `ds.sel(design=..., year=...)`. The settlement of one design
# in one performance year is a sample of `TRIALS` outcomes; its benchmark and spend are the
# simulated ones. The savings rate is (benchmark − spend) / benchmark. Below, the first five
# trials, then the quantiles of the settlement over all trials. A run of zeros in the middle
# is the corridor: years whose savings or losses stay within ±2% of the benchmark settle at
# nothing.

# %%
year = int(ds.year[0])
one = ds.sel(design=DESIGN, year=year)
sample = pd.DataFrame(
    {
        "benchmark": one.benchmark.to_series(),
        "actual_spend": one.actual_spend.to_series(),
        "savings_rate": one.savings_rate.to_series(),
        "settlement": one.settlement.to_series(),
    }
)
print(f"design {DESIGN!r}, performance year {year}: the first five trials")


def money(x: float) -> str:
    """Whole dollars with the sign in front: -$1,234."""
    return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"


display(
    sample.head().style.format(
        {"benchmark": money, "actual_spend": money, "settlement": money, "savings_rate": "{:.2%}"}
    )
)
quantiles = one.settlement.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_series()
quantiles.index = [f"{q:.0%}" for q in quantiles.index]
display(quantiles.rename_axis("quantile").to_frame("settlement").style.format(money))

# %% [markdown]
# ## 5. Statistics with standard errors
#
# A simulated statistic is an estimate: run again with another seed and it moves. Every
# statistic from `ds.settle` comes with its **Monte Carlo standard error** (trials are the
# independent units). `describe()` computes them all at once per design; the table below
# keeps the ones a committee reads first, in thousands of dollars:
#
# * `mean`: the expected settlement (> 0: expected payment to the provider);
# * `P(provider pays)`: the chance of owing shared losses in a year;
# * `provider VaR 95%`: the provider's loss in a 1-in-20 bad year (the amount it pays back
#   that is exceeded 5% of the time); `provider TVaR 95%`: the average loss over those worst
#   5% of years;
# * `payer VaR 95%`, `payer TVaR 95%`: the same for the payer, whose "loss" is the payment
#   to the provider.

# %%
stats = ds.settle.describe(levels=(0.95,))
rows = {
    "mean": "mean",
    "P(provider pays)": "prob_loss",
    "provider VaR 95%": "var_provider_95",
    "provider TVaR 95%": "tvar_provider_95",
    "payer VaR 95%": "var_payer_95",
    "payer TVaR 95%": "tvar_payer_95",
}


def with_se(name: str, design: str) -> str:
    value = float(stats[name].sel(design=design))
    se = float(stats[f"{name}_se"].sel(design=design))
    if name.startswith("prob_"):
        return f"{value:.1%} ± {se:.1%}"
    return f"{value / 1e3:,.0f} ± {se / 1e3:,.0f}"


table = pd.DataFrame(
    {label: [with_se(name, d) for d in stats.design.values] for label, name in rows.items()},
    index=pd.Index(stats.design.values, name="design ($K; ± 1 SE)"),
)
display(table)

# %% [markdown]
# One statistic at a time, with its method recorded, is `ds.settle.statistic`:

# %%
var95 = ds.settle.statistic("var_provider", level=0.95)
print(var95.attrs["se_method"])
display(var95[["value", "se"]].to_dataframe()[["value", "se"]].style.format(money))

# %% [markdown]
# **Were enough years simulated?** `convergence` compares the 95% confidence half-width of
# a statistic with the precision asked for and, if it falls short, says how many trials
# would be needed (standard errors shrink as 1/√trials). Ask in dollars for an expected
# settlement near zero (a relative target of a number near zero is not meaningful), and
# relative for a tail measure.

# %%
benchmark_mean = float(ds.benchmark.mean())
target = round(0.001 * benchmark_mean, -3)  # 0.1% of the benchmark
print(f"target for the mean: ± {format_money(target)}, 0.1% of the mean benchmark")
for message in ds.settle.convergence("mean", abs_precision=target).message.values:
    print(" ", message)
print("target for the provider's VaR 95%: ± 10%")
for message in ds.settle.convergence("var_provider", level=0.95, rel_precision=0.10).message.values:
    print(" ", message)

# %% [markdown]
# ## 6. Figures
#
# Every `simsettle.plot.fig_*` function returns a matplotlib Figure (object API, nothing
# drawn on a global state), to display, save, or place in a report.
#
# **Distribution.** The settlement of one design per performance year. Years that fall
# inside the minimum savings/loss corridor settle at exactly zero; that spike is left out of
# the bars and reported in the box, with the chances of receiving savings, paying losses and
# hitting a cap.

# %%
show(fig_distribution(ds, design=DESIGN), "quickstart_distribution.png")

# %% [markdown]
# **Exceedance curves.** Left: the chance that the provider pays *at least* a given amount
# in a year; right: the chance that it receives at least a given amount. The dotted guides
# mark 1-in-10, 1-in-20 and 1-in-100 years. The one-sided design has no left-hand curve: it
# never pays.

# %%
show(fig_exceedance(ds), "quickstart_exceedance.png")

# %% [markdown]
# **Side by side.** One violin per design on a common dollar axis: the shape of the
# non-zero outcomes, the bar at zero for the corridor, the 5th and 95th percentiles, the
# median (white dot) and the mean (black diamond).

# %%
show(fig_compare(ds), "quickstart_compare.png")

# %% [markdown]
# ## 7. Save and reopen
#
# `simsettle.write_results` writes NetCDF (or Zarr for a `.zarr` path) atomically: a failed
# write never leaves a partial file. `simsettle.open_results` reads it back, with the
# attributes (seed, scenario text and fingerprint) intact, so a result file is a complete
# record of how it was made.

# %%
with tempfile.TemporaryDirectory() as tmp:
    path = simsettle.write_results(ds, Path(tmp) / "results.nc")
    size_kb = path.stat().st_size / 1024
    back = simsettle.open_results(path)
xr.testing.assert_allclose(back.settlement, ds.settlement)
print(f"wrote and reopened {path.name} ({size_kb:,.0f} KiB)")
same_scenario = back.attrs["scenario_sha256"] == ds.attrs["scenario_sha256"]
print(f"same settlements: True; same scenario fingerprint: {same_scenario}")
mean_back = float(back.settlement.sel(design=DESIGN).mean())
print(f"mean settlement of {DESIGN!r} read from the file: {format_money(mean_back)}")

# %% [markdown]
# ## What to take from this
#
# The printout below summarises the run in words, with the numbers of this run. Read every
# figure with its standard error: the expected settlement of a two-sided design is a small
# difference between large shared savings and large shared losses, so it takes thousands of
# trials to pin down, and the tail measures need more trials for the same relative
# precision (`convergence` says how many). Choosing between designs is the subject of
# `negotiation.py`; `mssp_replay.py` checks the settlement arithmetic against CMS's
# published results.

# %%
for d in stats.design.values:
    s = stats.sel(design=d)
    downside = (
        "it never pays back losses"
        if float(s["prob_loss"]) == 0
        else f"it pays back losses in {float(s['prob_loss']):.0%} of years, "
        f"{format_money(float(s['var_provider_95']))} or more in a 1-in-20 bad year"
    )
    print(
        f"* {d}: expected settlement {format_money(float(s['mean']))} "
        f"(± {format_money(float(s['mean_se']))}, 1 SE); the provider receives savings in "
        f"{float(s['prob_savings']):.0%} of years, and {downside}."
    )
rate = round(float(ds.savings_rate.sel(design=DESIGN).mean()), 4) + 0.0  # + 0.0: no "-0.00%"
rate_se = float(ds.settle.statistic("mean", var="savings_rate")["se"].sel(design=DESIGN))
print(
    f"\nThe mean measured savings rate is {rate:.2%} (± {rate_se:.2%}): the example's "
    "benchmark is the ACO's own expected cost, so it has no true savings. "
    + (
        "Every design still expects to pay the provider: the one-sided design pays for good "
        "luck and never charges for bad luck, and the two-sided designs share savings at a "
        "higher rate than losses. That asymmetry is what the payer is offering."
        if bool((stats["mean"] > 0).all()) and abs(rate) < 2 * rate_se + 0.002
        else "Compare each design's expected settlement with that rate."
    )
)
run_seconds = time.perf_counter() - T_START
print(f"\nnotebook run time: {run_seconds:.1f} s (simulation {sim_seconds:.1f} s, {TRIALS} trials)")
