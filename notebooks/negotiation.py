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
# # Choosing between contract designs for one ACO
#
# An ACO of 10,000 Medicare beneficiaries is choosing, or negotiating, its risk
# arrangement for the coming performance year. Four designs are on the table:
#
# * `upside_only`: MSSP BASIC level B (template `mssp_basic_b`). 40% of savings, from the
#   first dollar, once savings pass the size-based minimum savings rate (MSR; 3.0% at 10,000
#   beneficiaries); capped at 10% of the benchmark; 2% sequestration; never pays losses.
# * `two_sided`: a symmetric corridor. No sharing within ±2% of the benchmark, then 50% of
#   savings or losses from the first dollar; savings capped at 10% and losses at 5% of the
#   benchmark.
# * `reach_global`: ACO REACH Global (template `reach_global`, PY2026 rules). A 4% discount
#   off the benchmark, then 100% of savings and losses up to 10% of the benchmark and less
#   beyond; a 5% quality withhold earned back by the quality score (85% here).
# * `two_sided_stop_loss`: `two_sided` plus individual stop-loss. 90% of each beneficiary's
#   annual cost above $150,000 is taken out of the spend the settlement is computed on, for
#   a premium of 120% of the expected recovery.
#
# The ACO runs a care-management programme that is expected to take about 2% off its
# spending, so it expects modest true savings against a benchmark built from its own
# history. The question for the negotiating actuary: what does each design pay on average,
# how bad can a year get, for whom, and what do corridors, discounts and stop-loss buy?
#
# **Sign convention: settlement > 0 means the payer pays the provider.** All amounts are
# per performance year, in US dollars.

# %% tags=["parameters"]
TRIALS = 2000  # simulated performance years
MEMBERS = 10_000  # attributed beneficiaries
CARE_EFFECT = 0.15  # share of the high-risk members' cost the care programme avoids
ATTACHMENT = 150_000.0  # stop-loss attachment point, USD per member per year
LOADING = 0.20  # stop-loss premium loading over the expected recovery

# %%
# ruff: noqa: E402, T201 - a notebook: imports follow the parameter cell, results are printed
import io
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

import simsettle
import simsettle.stats
from simsettle.plot import fig_compare, fig_exceedance, fig_payoff, format_money
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
pd.set_option("display.width", 180)
pd.set_option("display.max_columns", None)


def show(fig: Figure, name: str) -> None:
    """Display ``fig`` as a PNG (and write it to FIG_DIR when that is set)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    if FIG_DIR:
        Path(FIG_DIR).mkdir(parents=True, exist_ok=True)
        (Path(FIG_DIR) / name).write_bytes(buf.getvalue())
    display(Image(data=buf.getvalue(), format="png") if Image else f"[figure {name}]")


def k(x: float) -> str:
    """USD in thousands, for tables (round() first: no "-0")."""
    return f"{round(x / 1e3):,}"


# %% [markdown]
# ## 1. The scenario
#
# The population, cost and benchmark are those of `scenarios/examples/mssp_style.yaml`
# (about $1,100 per member per month, 16% annual turnover, a risk-adjusted benchmark from
# three base years weighted 10/30/60 and trended at the expected 4%, with 2% systemic trend
# volatility). The scenario is written out here as YAML text and validated exactly as a
# file would be; every parameter above is in it.

# %%
SCENARIO = f"""
schema_version: 1
name: One ACO, four designs
seed: 20260315
trials: {TRIALS}
first_performance_year: 2026
performance_years: 1
population:
  members: {MEMBERS}
  turnover: 0.16
  replacement: 1.0
  risk_sigma: 0.5
  risk_persistence: 0.75
cost:
  pmpm: 1100.0
  zero_cost_share: 0.15
  body_sigma: 1.2
  tail_probability: 0.04
  tail_threshold: 60000.0
  tail_shape: 4.0
trend: {{mean: 0.04, sd: 0.02}}
benchmark:
  weights: [0.1, 0.3, 0.6]
  trend_rate: 0.04
  risk_adjustment: true
care_management:
  high_risk_share: 0.05     # the 5% of members with the highest risk are enrolled ...
  effect: {CARE_EFFECT}            # ... and the programme avoids this share of their cost
designs:
  - name: upside_only
    template: mssp_basic_b
    quality: {{score: 0.85}}
  - name: two_sided
    kind: two_sided
    min_savings_rate: 0.02  # the minimum loss rate is the same when omitted: symmetric
    shared_savings_rate: 0.50
    shared_loss_rate: 0.50
    savings_cap: 0.10
    loss_cap: 0.05
  - name: reach_global
    template: reach_global
    quality: {{score: 0.85}}
  - name: two_sided_stop_loss
    kind: two_sided
    min_savings_rate: 0.02
    shared_savings_rate: 0.50
    shared_loss_rate: 0.50
    savings_cap: 0.10
    loss_cap: 0.05
    stop_loss: {{attachment: {ATTACHMENT}, coinsurance: 0.10, premium_loading: {LOADING}}}
"""
loaded = parse_scenario(SCENARIO, source="<negotiation>")
sc = loaded.scenario
reach = next(d for d in sc.designs if d.name == "reach_global")
print(f"{sc.name}: {sc.population.members:,} members, {len(sc.designs)} designs")
print(
    f"reach_global as expanded from its template: discount {reach.discount:.1%}, "
    f"bands {[(b.up_to, b.share) for b in reach.savings_bands]}, "
    f"quality withhold {reach.quality.withhold:.0%} of the benchmark"
)

# %% [markdown]
# ## 2. One simulation, every design: common random numbers
#
# simsettle simulates each performance year once (who is attributed, their risk, their
# claims, the cost trend, the benchmark) and settles **that same year under every design**.
# The designs are therefore compared on identical years: when `two_sided` pays more than
# `upside_only` in a trial, it is because of the contract terms, not because the two happened
# to draw different years. The differences between designs are not noise, and they are
# estimated far more precisely than either design's own average (section 6 measures by how
# much).

# %%
t0 = time.perf_counter()
ds = simsettle.simulate(loaded, progress=False)
sim_seconds = time.perf_counter() - t0
benchmark = float(ds.benchmark.mean())
true_rate = float(ds.care_management_savings.mean() / ds.benchmark.mean())
measured = (ds.benchmark - ds.actual_spend) / ds.benchmark
print(f"{TRIALS:,} trials in {sim_seconds:.1f} s; mean benchmark {format_money(benchmark)}")
print(
    f"care programme's true savings: {true_rate:.2%} of the benchmark; measured savings rate "
    f"(benchmark - spend) / benchmark: mean {float(measured.mean()):.2%}, "
    f"SD {float(measured.std()):.2%} from year to year"
)
print("dims of actual_spend (no design: one spend per simulated year):", ds.actual_spend.dims)

# %% [markdown]
# The SD of the measured savings rate is the point of the whole exercise: the programme's
# true effect is small next to the year-to-year noise of a 10,000-life population, so the
# settlement in any one year is largely luck. The designs differ in how much of that luck
# each party carries.

# %% [markdown]
# ## 3. The comparison table
#
# Per design, in thousands of dollars, each with ± one Monte Carlo standard error:
#
# * **expected settlement**: the average payment to the provider (negative: the provider
#   expects to pay);
# * **P(provider pays)**: the chance of owing shared losses in a year;
# * **provider VaR 95% / TVaR 95%**: what the provider pays back in a 1-in-20 bad year, and
#   the average over its worst 5% of years (0 when it pays in fewer than 5% of years);
# * **payer VaR 95% / TVaR 95%**: the same for the payer, whose bad year is a large payment
#   to the provider;
# * **payer keeps**: benchmark − spend − settlement, the payer's expected saving against the
#   benchmark after paying the provider (the stop-loss here is provided inside the
#   settlement, as CMS does in ACO REACH, so its premium and recoveries are part of it);
# * **stop-loss net cost**: expected premium − expected recovery, the price of the
#   protection at the level of spend (0 without stop-loss).

# %%
stats = ds.settle.describe(levels=(0.95,))
payer = ds.assign(payer_keeps=(ds.benchmark - ds.actual_spend) - ds.settlement)
payer_keeps = payer.settle.statistic("mean", var="payer_keeps")
COLUMNS = {
    "expected settlement": "mean",
    "P(provider pays)": "prob_loss",
    "provider VaR 95%": "var_provider_95",
    "provider TVaR 95%": "tvar_provider_95",
    "payer VaR 95%": "var_payer_95",
    "payer TVaR 95%": "tvar_payer_95",
}


def cell(value: float, se: float, prob: bool = False) -> str:
    return f"{value:.1%} ± {se:.1%}" if prob else f"{k(value)} ± {k(se)}"


names = [str(d) for d in ds.design.values]
table = pd.DataFrame(
    {
        label: [
            cell(
                float(stats[var].sel(design=d)),
                float(stats[f"{var}_se"].sel(design=d)),
                prob=var.startswith("prob_"),
            )
            for d in names
        ]
        for label, var in COLUMNS.items()
    },
    index=pd.Index(names, name="design ($K, ± 1 SE)"),
)
table["payer keeps"] = [
    cell(float(payer_keeps["value"].sel(design=d)), float(payer_keeps["se"].sel(design=d)))
    for d in names
]
table["stop-loss net cost"] = [
    cell(
        -float(stats["stop_loss_net"].sel(design=d)), float(stats["stop_loss_net_se"].sel(design=d))
    )
    for d in names
]
display(table)

# %% [markdown]
# How to read it. The provider's columns (expected settlement, P(provider pays), provider
# VaR and TVaR) are the provider's side of the deal; the payer's columns are the mirror
# image. For the same care programme and the same simulated years, a design moves money
# between the parties in expectation (the expected settlement and what the payer keeps
# add up to the same measured savings, benchmark − spend, under every design) and moves
# risk (the VaR and TVaR columns).
#
# A caution on `reach_global`. Here it is settled against the same benchmark as the other
# designs, less its discount, so that the comparison isolates what the discount and the
# 100% sharing do. A real ACO REACH benchmark is built differently (a blend of the ACO's
# history and regional spending, REACH's own trend and risk-score caps) and can sit above or
# below an MSSP benchmark for the same ACO; before deciding, model it (for instance with
# `benchmark.regional_cost_ratio`). Note also how little the payer's result varies under
# Global: with 100% sharing in the first band, the payer's result is essentially the discount
# and the unearned quality withhold, whatever the year brings; the provider carries the rest.

# %% [markdown]
# ## 4. The contract terms at a glance: payoff diagram
#
# `simsettle.payoff` evaluates each design's rules on a grid of savings rates, with no
# simulation: the settlement as a share of the benchmark. The flat stretch around zero is
# the corridor (MSR/MLR); the jump at its edge is first-dollar sharing (once past the
# corridor, the whole saving is shared, not just the part above it); slopes are sharing
# rates; flat ends are caps.
#
# Two designs need a word. Stop-loss acts on the spend, not on the sharing formula, so
# `two_sided_stop_loss` has the same payoff as `two_sided` (its line lies under it). And each
# curve is drawn against the design's **own** benchmark: for REACH Global that is the
# benchmark after the 4% discount. The dotted line redraws REACH Global against the
# undiscounted benchmark the other designs use: the ACO has to save 4% before it sees a
# dollar, and it owes money at zero savings.

# %%
curves = simsettle.payoff(loaded, members=MEMBERS)
fig = fig_payoff(curves, savings_range=(-0.15, 0.15))
ax = fig.axes[0]
DISCOUNT = float(ds.discount.sel(design="reach_global"))
r_common = curves.payoff_savings_rate.values
# Savings rate against the discounted benchmark (1 - d) B, and the settlement as a share of B.
r_own = (r_common - DISCOUNT) / (1.0 - DISCOUNT)
global_curve = curves.payoff.sel(design="reach_global")
y_common = np.interp(r_own, global_curve.payoff_savings_rate.values, global_curve.values) * (
    1 - DISCOUNT
)
ax.plot(
    r_common,
    y_common,
    ":",
    color="0.25",
    lw=1.6,
    label="reach_global, on the undiscounted benchmark",
)
ax.legend(loc="upper left", fontsize=8)
show(fig, "negotiation_payoff.png")

# %% [markdown]
# ## 5. The distributions side by side
#
# **Violins.** One row per design on a common dollar axis: the shape of the non-zero
# outcomes, a bar at zero whose height is the chance of landing inside the corridor, the
# 5th-95th percentile whisker, the median (white dot) and the mean (black diamond).

# %%
show(fig_compare(ds), "negotiation_compare.png")

# %% [markdown]
# **Exceedance curves.** Left: the chance that the provider pays back at least a given
# amount in a year; right: the chance that it receives at least a given amount. A curve
# further right on the left panel is a heavier downside for the provider; on the right
# panel, a heavier upside for the provider, which is the payer's tail.

# %%
show(fig_exceedance(ds), "negotiation_exceedance.png")

# %% [markdown]
# ## 6. Paired differences: what common random numbers buy
#
# The question in a negotiation is rarely "what does design A pay?" but "how much more
# does A pay than B?". Because both designs settle the same simulated years, the difference
# is computed **trial by trial**, and its standard error comes from the spread of those
# differences, which is much smaller than the spread of either design's settlement: most
# of the year-to-year luck is common to both and cancels.
#
# For each pair below: the mean difference and its standard error from the paired trials;
# each design's own standard error; and the standard error the difference would have if the
# two designs had been simulated in separate, independent runs, √(SE_A² + SE_B²).

# %%
PAIRS = [
    ("two_sided", "upside_only"),
    ("two_sided_stop_loss", "two_sided"),
    ("reach_global", "two_sided"),
]


def paired(a: str, b: str) -> xr.Dataset:
    """Mean and SE of the per-trial difference settlement(a) - settlement(b)."""
    diff = ds.settlement.sel(design=a, drop=True) - ds.settlement.sel(design=b, drop=True)
    one = xr.Dataset({"settlement": diff.expand_dims(design=[f"{a} − {b}"])})
    return simsettle.stats.statistic(one, "mean")


diff_rows = []
for a, b in PAIRS:
    p = paired(a, b)
    se_a, se_b = (float(stats["mean_se"].sel(design=x)) for x in (a, b))
    independent = float(np.hypot(se_a, se_b))
    se_diff = float(p["se"][0])
    corr = float(xr.corr(ds.settlement.sel(design=a), ds.settlement.sel(design=b)))
    diff_rows.append(
        {
            "A − B": f"{a} − {b}",
            "mean difference": float(p["value"][0]),
            "SE (paired)": se_diff,
            "SE of A": se_a,
            "SE of B": se_b,
            "SE if independent runs": independent,
            "variance ratio": (independent / se_diff) ** 2 if se_diff > 0 else np.inf,
            "correlation of A and B": corr,
        }
    )
differences = pd.DataFrame(diff_rows).set_index("A − B")
fmt = {c: k for c in differences.columns if c.startswith(("mean", "SE"))}
fmt |= {"variance ratio": "{:,.0f}x".format, "correlation of A and B": "{:.3f}".format}
display(differences.transform(fmt))
print("money columns in $K")

# %% [markdown]
# The variance ratio is how many more trials two independent runs would need to
# estimate the difference as precisely as one paired run does. For two designs that differ
# only in stop-loss the settlements are highly correlated, so the cost of the stop-loss in
# settlement terms is known several times more precisely than either design's own average.
# The same holds for any pair: quote differences between designs from the paired column.

# %% [markdown]
# ## 7. Conclusion
#
# The cell below states the findings of this run in plain words; every number is computed
# from the simulation above (re-run with more trials before quoting them).

# %%
mean = {d: float(stats["mean"].sel(design=d)) for d in names}
se = {d: float(stats["mean_se"].sel(design=d)) for d in names}
ploss = {d: float(stats["prob_loss"].sel(design=d)) for d in names}
tvar = {d: float(stats["tvar_provider_95"].sel(design=d)) for d in names}
keeps = {d: float(payer_keeps["value"].sel(design=d)) for d in names}
diff = {(a, b): paired(a, b) for a, b in PAIRS}


def money(x: float) -> str:
    return format_money(x)


def pm(a: str, b: str) -> str:
    p = diff[a, b]
    return f"{money(float(p['value'][0]))} ± {money(float(p['se'][0]))}"


best, runner_up = sorted(names, key=mean.get, reverse=True)[:2]
lead = paired(best, runner_up)
lead_value, lead_se = float(lead["value"][0]), float(lead["se"][0])
sl_cost = -float(stats["stop_loss_net"].sel(design="two_sided_stop_loss"))
tvar_cut = tvar["two_sided"] - tvar["two_sided_stop_loss"]
sd = {d: float(stats["std"].sel(design=d)) for d in names}
recovery = float(ds.stop_loss_recovery.sel(design="two_sided_stop_loss").mean())
lines = [
    f"* With true savings of about {true_rate:.1%} of a {money(benchmark)} benchmark, the "
    f"provider's expected settlement is highest under {best} ({money(mean[best])} a year), "
    f"{money(lead_value)} ± {money(lead_se)} above {runner_up} (paired)"
    + (
        "; the lead is within two standard errors, so more trials are needed to rank them."
        if abs(lead_value) < 2 * lead_se
        else "."
    )
    + " By design: "
    + ", ".join(f"{d} {money(mean[d])} (± {money(se[d])})" for d in names)
    + ".",
    f"* Moving from upside-only to the symmetric two-sided corridor changes the provider's "
    f"expected settlement by {pm('two_sided', 'upside_only')} (paired difference, ± 1 SE), but "
    f"the provider now pays back losses in {ploss['two_sided']:.0%} of years, and "
    f"{money(tvar['two_sided'])} on average in its worst 5% of years.",
    f"* REACH Global's {DISCOUNT:.0%} discount comes before any sharing: against the same years it "
    f"changes the provider's expected result by {pm('reach_global', 'two_sided')} relative to "
    f"two_sided, the provider pays in {ploss['reach_global']:.0%} of years, and its worst-5% "
    f"average loss is {money(tvar['reach_global'])}. "
    + (
        "The expected true savings do not clear the discount: Global is a bet that the ACO "
        "saves well beyond its current programme."
        if true_rate < DISCOUNT
        else "The expected true savings clear the discount."
    ),
    f"* Stop-loss at {money(ATTACHMENT)} costs {money(sl_cost)} a year at the level of spend "
    f"(the {LOADING:.0%} loading on an expected recovery of {money(recovery)}); in settlement "
    f"terms it changes the provider's expected result by "
    f"{pm('two_sided_stop_loss', 'two_sided')}. It narrows the spread of the settlement (SD "
    f"{money(sd['two_sided'])} without, {money(sd['two_sided_stop_loss'])} with), but the "
    f"premium lowers every year's result, so the provider pays in "
    f"{ploss['two_sided_stop_loss']:.0%} of years instead of {ploss['two_sided']:.0%}, and its "
    f"worst-5% average loss "
    + (
        f"falls by {money(tvar_cut)} ({tvar_cut / tvar['two_sided']:.0%})."
        if tvar_cut > 0
        else f"does not fall ({money(tvar['two_sided_stop_loss'])} against "
        f"{money(tvar['two_sided'])})."
    )
    + " What the provider buys is a narrower range of outcomes, paid for by a lower average.",
    "* The payer keeps "
    + ", ".join(f"{money(keeps[x])} ({x})" for x in names)
    + " in expectation: what the provider gains in expected settlement, the payer gives up.",
]
print("\n".join(lines))
run_seconds = time.perf_counter() - T_START
print(f"\nnotebook run time: {run_seconds:.1f} s (simulation {sim_seconds:.1f} s, {TRIALS} trials)")
