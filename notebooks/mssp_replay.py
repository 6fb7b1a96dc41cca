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
# # Replaying CMS's MSSP settlements
#
# Before trusting a model's distribution of settlements, an actuary wants to know that its
# settlement arithmetic is right: that for a given benchmark, spend, size, track and quality
# result it pays what the program would pay. CMS publishes exactly that test material. The
# Medicare Shared Savings Program "ACO results" public use files (PUFs) list, for every ACO
# and performance year, the inputs of the settlement (track, assigned beneficiaries,
# benchmark, expenditure, the minimum savings rate in force, the quality score and whether
# the quality standard was met, the disaster adjustment) and the outcome, the earned shared
# savings or owed shared losses (`EarnSaveLoss`).
#
# This notebook settles every ACO of performance years 2022 and 2023 with simsettle's own
# MSSP templates (BASIC levels A-E, ENHANCED), from the published **inputs only**, and
# compares the result with what CMS published. The published outcomes are never used as
# inputs. The same settlement code and templates are used when simsettle simulates a
# contract, so a replay that agrees is a check on the rules every simulation applies.
#
# **Sign convention: settlement > 0 means CMS pays the ACO** (earned shared savings);
# negative amounts are shared losses owed to CMS. Agreement means within max($2, 0.1%) of
# the published whole-dollar amount.

# %% tags=["parameters"]
YEARS = (2022, 2023)  # PUF performance years to replay

# %%
# ruff: noqa: E402, T201 - a notebook: imports follow the parameter cell, results are printed
import io
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from simsettle.plot import format_money, percent_formatter
from simsettle.replay import FIXED_MSR_OPTIONS, read_puf, replay_rows, summarize

try:
    from IPython.display import Image, display
except ImportError:  # run as a plain script
    Image = None
    display = print

# Optional: a folder where the figures are also written as PNG.
FIG_DIR = os.environ.get("SIMSETTLE_NOTEBOOK_FIGDIR")
T_START = time.perf_counter()
pd.set_option("display.width", 180)
pd.set_option("display.max_columns", None)
pd.set_option("display.max_colwidth", 120)


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
MSSP_DIR = Path(os.environ.get("SIMSETTLE_MSSP_DIR", ROOT / ".." / "shared" / "data" / "mssp"))
if not MSSP_DIR.is_dir():
    raise FileNotFoundError(f"MSSP PUF folder not found: {MSSP_DIR}")
print(f"PUF folder: {MSSP_DIR.resolve()}")

# %% [markdown]
# ## 1. Read the files and replay every ACO
#
# `simsettle.replay.read_puf` reads a PUF into typed rows: inputs converted to engine units
# (fractions and dollars) and the published outcomes kept apart. `replay_rows` settles each
# row under its track's template and sets the result beside `EarnSaveLoss`; `summarize`
# counts the agreements. (`simsettle mssp-replay FILE --performance-year YEAR` does the same
# from the command line and writes a CSV.)

# %%
inputs, replays = {}, {}
t0 = time.perf_counter()
for year in YEARS:
    inputs[year] = read_puf(MSSP_DIR / f"py{year}_aco_results_puf.csv", year)
    replays[year] = replay_rows(inputs[year], year)
replay_seconds = time.perf_counter() - t0

records = []
for year in YEARS:
    for row, r in zip(inputs[year], replays[year], strict=True):
        assert row.aco_id == r.aco_id
        records.append(
            {
                "year": year,
                "ACO": r.aco_id,
                "track": r.track,
                "N_AB": r.n_ab,
                "benchmark": row.benchmark,
                "savings_rate": (row.benchmark - row.expenditure) / row.benchmark,
                "published": r.published,
                "computed": r.computed,
                "difference": r.difference,
                "agree": r.agree,
                "comparable": r.comparable,
                "reason": r.reason,
                "published_msr": row.msr,
                "computed_msr": r.computed_msr,
                "two_sided": row.risk_model == "Two-Sided",
            }
        )
aco = pd.DataFrame.from_records(records)
print(f"{len(aco)} ACO-years replayed in {replay_seconds:.1f} s")

# %% [markdown]
# ## 2. How many agree
#
# *Comparable* rows are those whose published result follows from published inputs alone.
# Two kinds are not: BASIC levels C-E cap losses at the lower of a share of the ACO
# participants' fee-for-service revenue and a share of the benchmark, and the PUF does not
# publish that revenue, so where an ACO owes losses the replay cannot know whether the
# revenue limit bound; and ACOs whose result was affected by a mid-year termination, which
# CMS pro-rates or forfeits.

# %%
rows = []
for year in YEARS:
    s = summarize(replays[year])
    rows.append(
        {
            "performance year": year,
            "ACOs": s.total,
            "agree": s.agree,
            "agreement rate": f"{s.match_rate:.1%}",
            "comparable": s.comparable,
            "comparable that agree": s.agree_comparable,
            "rate among comparable": f"{s.match_rate_comparable:.1%}",
        }
    )
agreement = pd.DataFrame(rows).set_index("performance year")
display(agreement)

# %% [markdown]
# The same by track and by kind of outcome: earned savings, nothing (inside the minimum
# savings/loss rate, on a one-sided track with losses, or losses forgiven: in PY2022 every
# ACO was affected by the COVID-19 public health emergency for the whole year and no
# shared losses were owed), or owed losses (PY2023, reduced by 5/12 for the months of the
# emergency). Every kind of
# outcome is represented, so the test exercises the corridor, the sharing rates, the
# quality rules, sequestration, the caps and the loss-side arithmetic.

# %%
aco["outcome"] = np.select(
    [aco["published"] > 0, aco["published"] < 0], ["savings earned", "losses owed"], "zero"
)
by = (
    aco.groupby(["year", "track", "outcome"])
    .agg(ACOs=("agree", "size"), agree=("agree", "sum"))
    .unstack("outcome", fill_value=0)
)
by.columns = [f"{outcome}: {what}" for what, outcome in by.columns]
display(by[sorted(by.columns)])

# %% [markdown]
# ## 3. The disagreements, with their reasons
#
# Every row that does not agree, with the replay's own explanation. A disagreement with a
# reason is a limit of the published data, not an error in the rules; a disagreement
# *without* a reason would be a finding to investigate.

# %%
disagree = aco.loc[~aco["agree"], ["year", "ACO", "track", "N_AB", "published", "computed"]]
disagree = disagree.assign(
    difference=aco["difference"], reason=aco["reason"].replace("", "no known reason")
)
money_cols = ["published", "computed", "difference"]
display(disagree.set_index(["year", "ACO"]).style.format("{:,.0f}", subset=money_cols))
unexplained = int((disagree["reason"] == "no known reason").sum())
print(f"{len(disagree)} rows differ; {unexplained} without a known reason")
revenue = disagree[disagree["reason"].str.contains("revenue")]
if len(revenue):
    # A binding revenue-based loss limit can only make the loss smaller than the
    # benchmark-based limit the replay applies.
    smaller = (revenue["published"].abs() < revenue["computed"].abs()).all()
    print(
        f"in the {len(revenue)} revenue-dependent rows CMS's loss is "
        + ("smaller than" if smaller else "not always smaller than")
        + " the engine's, "
        + ("as a binding revenue limit would make it." if smaller else "which needs a look.")
    )

# %% [markdown]
# ## 4. Engine against CMS, ACO by ACO
#
# Left: the engine's earned savings or losses against the published amount, one point per
# ACO-year, on the 45° line when they agree. Right: the difference in dollars (on a scale
# that is linear within ±$1 and logarithmic beyond), to show how close the agreement is:
# the published amounts are whole dollars, so a difference below $0.50 is rounding.

# %%
colors = {2022: "#0072B2", 2023: "#D55E00"}
fig = Figure(figsize=(11.0, 4.8), layout="constrained")
ax, ax2 = fig.subplots(1, 2)
millions = FuncFormatter(lambda v, _: f"${v / 1e6:,.0f}M")
ok = aco["agree"]
for year in YEARS:
    sel = aco["year"] == year
    ax.scatter(
        aco.loc[sel & ok, "published"],
        aco.loc[sel & ok, "computed"],
        s=12,
        alpha=0.6,
        color=colors[year],
        label=f"PY{year}, agree",
    )
    ax2.scatter(
        aco.loc[sel & ok, "published"],
        aco.loc[sel & ok, "difference"],
        s=12,
        alpha=0.6,
        color=colors[year],
        label=f"PY{year}",
    )
bad = ~ok & aco["published"].notna()
ax.scatter(
    aco.loc[bad, "published"],
    aco.loc[bad, "computed"],
    s=60,
    facecolors="none",
    edgecolors="black",
    linewidths=1.2,
    label="differs (see the table)",
)
ax2.scatter(
    aco.loc[bad, "published"],
    aco.loc[bad, "difference"],
    s=60,
    facecolors="none",
    edgecolors="black",
    linewidths=1.2,
    label="differs",
)
lo = float(min(aco["published"].min(), aco["computed"].min()))
hi = float(max(aco["published"].max(), aco["computed"].max()))
ax.plot([lo, hi], [lo, hi], color="0.6", lw=0.8, zorder=0, label="engine = CMS")
ax.axhline(0, color="0.3", lw=0.6)
ax.axvline(0, color="0.3", lw=0.6)
ax.set_xlabel("CMS published EarnSaveLoss (> 0: savings earned)")
ax.set_ylabel("simsettle replay")
ax.set_title("Earned savings and losses: engine vs. CMS", loc="left", fontsize=10.5)
ax2.set_yscale("symlog", linthresh=1.0)
ax2.axhspan(-2.0, 2.0, color="0.9", zorder=0, label="±$2 tolerance")
ax2.axhline(0, color="0.3", lw=0.6)
ax2.set_xlabel("CMS published EarnSaveLoss")
ax2.set_ylabel("engine − CMS, USD (symmetric log scale)")
ax2.set_title("Difference, ACO by ACO", loc="left", fontsize=10.5)
for a in (ax, ax2):
    a.xaxis.set_major_formatter(millions)
    a.spines[["top", "right"]].set_visible(False)
    a.grid(True, alpha=0.3, lw=0.6)
ax.legend(fontsize=8, loc="upper left", frameon=False)
ax2.legend(fontsize=8, loc="upper right", frameon=False)  # the largest difference is top left
ax.yaxis.set_major_formatter(millions)
show(fig, "mssp_replay_scatter.png")

agreeing = aco.loc[ok, "difference"].abs()
print(
    f"among the {int(ok.sum())} ACO-years that agree: median |difference| "
    f"${agreeing.median():.2f}, largest ${agreeing.max():.2f}; "
    f"{(agreeing <= 0.5).mean():.0%} within the published whole-dollar rounding ($0.50)"
)

# %% [markdown]
# ## 5. The minimum savings rate
#
# The MSR (and, two-sided, the minimum loss rate) is the corridor a savings or loss must
# clear before anything is shared. One-sided ACOs get a variable MSR from a table by number
# of assigned beneficiaries, interpolated linearly within bands (3.9% at 5,000 falling to 2%
# from 60,000); two-sided ACOs elect a fixed symmetric 0-2% or the same variable table, and
# fall back to the table below 5,000 beneficiaries. CMS publishes the MSR in force
# (`MinSavPerc`), so the engine's MSR can be checked on every row. For two-sided ACOs the
# replay reads the election from the published MSR (the PUF does not publish the election
# itself), so their check is one of consistency; for one-sided ACOs it tests the engine's
# table and interpolation. CMS publishes the MSR to two decimals of a percent, so a gap of up
# to 0.005 percentage points is rounding.

# %%
aco["msr_gap"] = (aco["computed_msr"] - aco["published_msr"]).abs()
aco["msr kind"] = np.where(
    ~aco["two_sided"],
    "one-sided: variable table",
    np.where(
        aco["published_msr"].round(4).isin(sorted(FIXED_MSR_OPTIONS)) & (aco["N_AB"] >= 5000),
        "two-sided: fixed election",
        "two-sided: variable table",
    ),
)
msr = aco.groupby(["year", "msr kind"]).agg(
    ACOs=("msr_gap", "size"),
    largest_gap_pp=("msr_gap", lambda g: 100 * g.max()),
    within_half_last_digit=("msr_gap", lambda g: f"{(g <= 0.00005 + 1e-12).mean():.0%}"),
)
msr = msr.rename(
    columns={
        "largest_gap_pp": "largest |engine − CMS| (percentage points)",
        "within_half_last_digit": "within 0.005 pp",
    }
)
display(msr.style.format({"largest |engine − CMS| (percentage points)": "{:.4f}"}))

# %%
fig2 = Figure(figsize=(8.0, 4.6), layout="constrained")
ax3 = fig2.add_subplot()
one_sided = aco[~aco["two_sided"]].sort_values("N_AB")
ax3.scatter(
    one_sided["N_AB"],
    one_sided["published_msr"],
    s=14,
    color="#0072B2",
    alpha=0.6,
    label="CMS published MinSavPerc, one-sided ACOs",
)
ax3.plot(
    one_sided["N_AB"],
    one_sided["computed_msr"],
    color="black",
    lw=1.0,
    label="simsettle's MSR at the same N",
)
ax3.set_xscale("log")
ax3.set_xticks([2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000])
ax3.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k"))
ax3.yaxis.set_major_formatter(percent_formatter())
ax3.set_xlabel("assigned beneficiaries (log scale)")
ax3.set_ylabel("minimum savings rate")
ax3.set_title("Variable MSR by ACO size, PY2022-2023", loc="left", fontsize=10.5)
ax3.spines[["top", "right"]].set_visible(False)
ax3.grid(True, which="both", alpha=0.3, lw=0.6)
ax3.legend(fontsize=8, frameon=False)
show(fig2, "mssp_replay_msr.png")

# %% [markdown]
# ## 6. One ACO step by step
#
# CMS's PY2022 settlement report for ACO A1540 (BASIC level B) is public and is the one
# complete worked example: 7,207 beneficiaries, so an MSR of 3.4% × 792/999 + 3.2% ×
# 207/999 = 3.35856%; savings of 7.43% clear it; the quality standard was met, so 40% of
# the whole saving is shared (first dollar), less 2% sequestration. The settlement report
# gives $2,883,145.53; the PUF's benchmark and expenditure are rounded to whole dollars, so
# the replay from the PUF lands a few cents away, and CMS published $2,883,146.

# %%
a1540 = aco[(aco["ACO"] == "A1540") & (aco["year"] == 2022)]
if len(a1540):
    r = a1540.iloc[0]
    savings = r["benchmark"] * r["savings_rate"]
    rate = r["savings_rate"]
    print(f"benchmark {format_money(r['benchmark'])}, savings {savings:,.2f} ({rate:.2%})")
    print(f"MSR: engine {r['computed_msr']:.5%}, CMS {r['published_msr']:.2%}")
    print(f"40% x savings x 0.98 = {0.40 * savings * 0.98:,.2f}")
    print(f"engine {r['computed']:,.2f}; CMS EarnSaveLoss {r['published']:,.0f}")

# %% [markdown]
# ## 7. What a replay proves, and what it does not
#
# **It proves** that, given a year's benchmark, expenditure, size, track, MSR election,
# quality result and disaster adjustment, simsettle's MSSP rules pay what CMS paid: the
# minimum savings and loss rates and their size table, first-dollar sharing, the quality
# rules of each year (the standard, the alternative standard's sliding scale, ENHANCED's
# quality-dependent loss rate), sequestration, the caps, and the relief for extreme and
# uncontrollable circumstances, in CMS's order, to the dollar, for every ACO whose result
# the public data determine.
#
# **It does not test the stochastic model.** The replay starts from CMS's own benchmark and
# expenditure. Whether simsettle's simulated benchmarks and spending, the member-level
# cost distribution, churn, risk scores, the trend, are realistic for a given ACO is a
# separate question, answered by calibration against data (the spread of the savings rate
# by ACO size is compared with the PUFs in `mssp_spread_by_size.py`). Nor does it test the
# parts of the program the PUF does not publish: participant revenue, so the revenue-based
# loss limits of BASIC C-E where they bind; the benchmark's construction (regional
# adjustment, prior savings adjustment, trend and risk-score caps); and the pro-rating of
# terminated ACOs. A correct rules engine applied to an unrealistic simulation still
# gives the wrong risk.

# %%
total = summarize([r for year in YEARS for r in replays[year]])
print(
    f"PY{YEARS[0]}-{YEARS[-1]}: {total.agree} of {total.total} ACO-years agree "
    f"({total.match_rate:.1%}); {total.agree_comparable} of {total.comparable} comparable "
    f"({total.match_rate_comparable:.1%}); {unexplained} disagreement(s) without a known reason."
)
print(f"notebook run time: {time.perf_counter() - T_START:.1f} s")
