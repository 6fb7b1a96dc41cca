"""What a committee report says, worked out once from a results Dataset.

:func:`build_report` turns a results Dataset into a :class:`Report`: the run facts, one
plain-language paragraph per design, the key tables (every figure with its Monte Carlo
standard error), a precision verdict per design, the charts (rendered once, as PNG bytes) and
the scenario text. :mod:`simsettle.report.html` and :mod:`simsettle.report.pdf` only lay that
content out, so the HTML page and the PDF always say the same thing.

Every number comes from :func:`simsettle.stats.describe` (figures and standard errors) and
:func:`simsettle.stats.convergence` (whether the trial count is enough); money is formatted as
in the charts (:func:`simsettle.plot.format_money`). Sign convention: ``settlement > 0`` is a
payment from the payer to the provider.

Texts taken from the Dataset (design names, the scenario, file names) are kept as they are
here; each renderer escapes them for its own format.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from simsettle._version import __version__
from simsettle.plot._style import design_colors, format_money, format_percent
from simsettle.report._types import Estimate, KeyTable
from simsettle.report.decision import Recommendation, recommend
from simsettle.report.sensitivity import Sensitivity, measure
from simsettle.report.sensitivity import sensitivity as find_sensitivity
from simsettle.results import sweep_base
from simsettle.stats import convergence, describe

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CHART_DPI",
    "Chart",
    "DesignText",
    "Estimate",
    "KeyTable",
    "Report",
    "build_report",
]

CHART_DPI = 192
"""Resolution of the report's chart PNGs: twice the 96 pixels per inch of a CSS inch, so the
charts stay sharp on high-density screens and in print."""

_POOLED = ("trial", "year")
_LEVELS = (0.95, 0.99)
_QUANTILES = (0.05, 0.5, 0.95)
_MAX_PANELS = 2  # designs per multi-panel chart (fan, tornado, heat map) before splitting


# ------------------------------------------------------------------------------ content


@dataclass(frozen=True)
class DesignText:
    """What the report says about one design in words."""

    design: str
    color: str
    paragraph: str
    converged: bool
    verdict: str
    trials_needed: int | None


@dataclass(frozen=True)
class Chart:
    """A rendered chart: PNG bytes at :data:`CHART_DPI`, with its size in inches."""

    key: str
    title: str
    caption: str
    png: bytes
    width_in: float
    height_in: float


@dataclass(frozen=True)
class Report:
    """Everything a committee report says, ready to be laid out as HTML or PDF."""

    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    sign_note: str
    years_note: str
    designs: tuple[DesignText, ...]
    tables: tuple[KeyTable, ...]
    precision_note: str
    charts: tuple[Chart, ...]
    scenario_yaml: str | None
    generator: str
    #: The first page: designs side by side, dominance, what would change the answer.
    recommendation: Recommendation | None = None


# ------------------------------------------------------------------------------ helpers


def _check(ds: xr.Dataset) -> None:
    if "settlement" not in ds.data_vars:
        raise ValueError(
            "not a simsettle results Dataset: it has no 'settlement' variable "
            f"(variables: {sorted(map(str, ds.data_vars))})"
        )
    missing = [d for d in ("design", *_POOLED) if d not in ds["settlement"].dims]
    if missing:
        raise ValueError(
            f"'settlement' must have dims design, trial and year; it lacks {missing} "
            f"(it has {tuple(map(str, ds['settlement'].dims))})"
        )


def _sweep_dims(ds: xr.Dataset) -> list[str]:
    return [d for d in str(ds.attrs.get("sweep_dims", "")).split() if d in ds.dims]


def _select_designs(ds: xr.Dataset, design: str | Sequence[str] | None) -> xr.Dataset:
    if design is None:
        return ds
    wanted = [design] if isinstance(design, str) else [str(d) for d in design]
    available = [str(d) for d in ds["design"].values]
    unknown = [d for d in wanted if d not in available]
    if unknown:
        raise ValueError(f"unknown design(s) {unknown}; the results have {available}")
    if not wanted:
        raise ValueError("design must name at least one design")
    return ds.isel(design=[available.index(d) for d in dict.fromkeys(wanted)])


_NBSP = "\u00a0"  # keeps "± $1.2K" on one line in both renderers
_PM = f"±{_NBSP}"


def _money_se(se: float) -> str:
    return f"{_PM}{format_money(se)}"


def _pp(se: float) -> str:
    if math.isnan(se):
        return f"{_PM}n/a"
    text = f"{100.0 * se:.1f}"
    if se > 0 and float(text) == 0.0:
        return f"{_PM}<0.1{_NBSP}pp"
    return f"{_PM}{text}{_NBSP}pp"


def _nice_up(n: float) -> int:
    """Round a trial count up to two significant digits (9,287 -> 9,300)."""
    if n <= 100:
        return math.ceil(n)
    step = round(10.0 ** (math.floor(math.log10(n)) - 1))
    return math.ceil(n / step) * step


def _word_pct(p: float) -> str:
    """A share of years in words: ``41.2%``; ``under 0.1%`` for tiny non-zero shares."""
    text = format_percent(p, 1)
    return f"under {text[1:]}" if text.startswith("<") else text


def _history(ds: xr.Dataset) -> list[tuple[str, str]]:
    """``(when, what)`` for each line of the ``history`` attribute."""
    out: list[tuple[str, str]] = []
    for line in str(ds.attrs.get("history", "")).splitlines():
        line = line.strip()
        if not line:
            continue
        stamp, _, what = line.partition(" ")
        try:
            when = datetime.fromisoformat(stamp)
        except ValueError:
            out.append(("", line))
            continue
        zone = when.strftime("%Z") or ""
        zone = "UTC" if zone in ("UTC", "UTC+00:00") else zone
        out.append((f"{when:%Y-%m-%d %H:%M} {zone}".strip(), what.strip()))
    return out


def _years_text(years: Sequence[Any]) -> str:
    if len(years) == 1:
        return f"{years[0]} (1 year)"
    return f"{years[0]}–{years[-1]} ({len(years)} years)"


def _attr(ds: xr.Dataset, name: str) -> str:
    value = ds.attrs.get(name)
    return "not recorded" if value is None or str(value) == "" else str(value)


def _sweep_value_text(ds: xr.Dataset, dim: str, value: Any) -> str:
    units = str(ds[dim].attrs.get("units", ""))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if units == "USD":
        return format_money(x)
    values = np.asarray(ds[dim].values, dtype=np.float64)
    if units == "1" and float(np.max(np.abs(values))) <= 1.0:
        return format_percent(x)
    return f"{x:,.0f}" if x.is_integer() else f"{x:g}"


# ------------------------------------------------------------------------------ facts


def _facts(
    ds: xr.Dataset, view: xr.Dataset, sweep: Sequence[str], n_all: int
) -> tuple[tuple[str, str], ...]:
    """The run facts; ``view`` is ``ds`` at the base point of its sweep."""
    from simsettle.report.summary import (
        format_assumptions,
        format_benchmark,
        format_benchmark_adjustments,
        format_capitation,
        format_cost_moments,
        format_participants,
        format_stopping,
        format_truncation,
    )

    facts: list[tuple[str, str]] = [
        ("Scenario", _attr(ds, "title")),
        ("Scenario file", _attr(ds, "scenario_source")),
        ("Scenario SHA-256", _attr(ds, "scenario_sha256")),
        ("Seed", _attr(ds, "seed")),
        ("Random numbers", _attr(ds, "rng")),
        ("Trials", f"{int(ds.sizes['trial']):,}"),
        ("Performance years", _years_text([str(y) for y in ds["year"].values])),
    ]
    n = int(view.sizes["design"])
    designs = f"{n}" if n == n_all else f"{n} of the {n_all} in the results"
    facts.append(("Designs", designs))
    for dim in sweep:
        values = ", ".join(_sweep_value_text(ds, dim, v) for v in ds[dim].values)
        name = str(ds[dim].attrs.get("long_name", dim))
        base = _sweep_value_text(ds, dim, view[dim].values.item())
        facts.append(("Swept", f"{name}: {values} (base {base})"))
    cost, _, warning = format_cost_moments(ds).partition("\nWarning: ")
    if cost:
        facts.append(("Cost model", cost.removeprefix("Cost model: ")))
    if warning:
        facts.append(("Cost warning", warning))
    assumed = format_assumptions(ds).splitlines()[1:]
    # Each one-line summary of the run, its own heading taken off.
    for label, text, prefix in (
        ("Benchmark", format_benchmark(ds), "Benchmark: "),
        (
            "Adjustments",
            format_benchmark_adjustments(ds),
            "Benchmark adjustments (mean per person-year over trials): ",
        ),
        ("Capitation", format_capitation(ds), "Capitation advance: "),
        ("Assumptions", "; ".join(x.removeprefix("  - ") for x in assumed), ""),
        ("Truncation", format_truncation(ds), "Truncation: "),
        ("Participants", format_participants(ds), "Participants: "),
        ("Stopping rule", format_stopping(ds), "Stopping rule: "),
    ):
        if text:
            facts.append((label, text.removeprefix(prefix)))
    history = _history(ds)
    for i, (when, what) in enumerate(history):
        label = "Run" if i == 0 else "Then"
        facts.append((label, f"{when}: {what}" if when else what))
    if not history:
        facts.append(("Run", "not recorded"))
    versions = [
        f"{name} {ds.attrs[key]}"
        for name, key in (
            ("simsettle", "simsettle_version"),
            ("Python", "python_version"),
            ("numpy", "numpy_version"),
            ("numba", "numba_version"),
            ("xarray", "xarray_version"),
        )
        if key in ds.attrs
    ]
    facts.append(("Versions of the run", " · ".join(versions) if versions else "not recorded"))
    facts.append(
        ("Report written by", f"simsettle {__version__} (matplotlib {version('matplotlib')})")
    )
    return tuple(facts)


# ------------------------------------------------------------------------------ words


def _paragraph(s: Mapping[str, float], *, no_losses: str | None, stop_loss: bool) -> str:
    """The plain-language paragraph of one design, from its :func:`describe` row; ``no_losses``
    says why the design can never owe losses (:func:`_why_no_losses`), None where it can."""
    lo, hi = s["q05"], s["q95"]
    p_pay, p_receive, p_zero = s["prob_loss"], s["prob_savings"], s["prob_zero"]
    out: list[str] = []
    if lo >= 0 and hi > 0:
        out.append(
            f"In 9 years of 10 the provider receives between {format_money(lo)} and "
            f"{format_money(hi)}."
        )
    elif lo < 0 < hi:
        out.append(
            f"In 9 years of 10 the settlement lies between the provider paying "
            f"{format_money(-lo)} and receiving {format_money(hi)}."
        )
    elif lo < 0:
        out.append(
            f"In 9 years of 10 the provider pays between {format_money(-hi)} and "
            f"{format_money(-lo)}."
        )
    else:
        out.append("In at least 9 years of 10 no money changes hands.")

    if p_pay == 0:
        out.append(
            f"It never pays: {no_losses}."
            if no_losses is not None
            else "It never pays in any simulated year."
        )
    elif lo < 0:
        out.append(
            f"In 1 year of 20 it pays {format_money(-lo)} or more "
            f"({format_money(s['tvar_provider_95'])} on average in those years)."
        )
    else:
        rare = "It pays in fewer than 1 year of 20"
        var99 = s["var_provider_99"]
        if var99 > 0:
            rare += (
                f"; in 1 year of 100 it pays {format_money(var99)} or more "
                f"({format_money(s['tvar_provider_99'])} on average in those years)"
            )
        out.append(rare + ".")

    if p_pay > 0:
        often = (
            f"It pays anything at all in {_word_pct(p_pay)} of years and receives a payment "
            f"in {_word_pct(p_receive)}"
        )
    else:
        often = f"It receives a payment in {_word_pct(p_receive)} of years"
    if p_zero > 0:
        often += f"; in the other {_word_pct(p_zero)} nothing changes hands"
    out.append(often + ".")

    mean, se = s["mean"], s["mean_se"]
    if math.isfinite(mean):
        if abs(mean) <= se or format_money(abs(mean)) == "$0":
            out.append(
                f"On average it comes out about even ({format_money(mean)} a year, "
                f"standard error {format_money(se)})."
            )
        else:
            verb = "receives" if mean > 0 else "pays"
            out.append(
                f"On average it {verb} {format_money(abs(mean))} a year "
                f"(standard error {format_money(se)})."
            )
    net = s.get("stop_loss_net", 0.0)
    if stop_loss and math.isfinite(net) and format_money(abs(net)) != "$0":
        if net < 0:
            out.append(
                f"Its stop-loss costs it {format_money(-net)} a year more in premium than it "
                "recovers, on average."
            )
        else:
            out.append(
                f"Its stop-loss recovers {format_money(net)} a year more than its premium, "
                "on average."
            )
    return " ".join(out)


# ------------------------------------------------------------------------------ tables


def _row_values(stats: xr.Dataset, design: str) -> dict[str, float]:
    row = stats.sel(design=design)
    return {str(k): float(v) for k, v in row.data_vars.items() if v.ndim == 0}


def _why_no_losses(view: xr.Dataset, design: str) -> str | None:
    """Why the design's terms can never owe losses (its compiled loss cap is 0), in words, or
    None where they can or the results carry no design coordinates."""
    if "loss_cap" not in view.coords or "design" not in view["loss_cap"].dims:
        return None
    if not bool(view["loss_cap"].sel(design=design).values == 0.0):
        return None
    kind = str(view["kind"].sel(design=design).values) if "kind" in view.coords else ""
    return "the design is upside-only" if kind == "upside_only" else "the design shares no losses"


def _has_stop_loss(view: xr.Dataset, design: str) -> bool:
    for name in ("stop_loss_attachment", "aggregate_stop_loss_attachment"):
        if name in view.coords and "design" in view[name].dims:
            value = view[name].sel(design=design).values
            try:
                if np.isfinite(float(value)):
                    return True
            except (TypeError, ValueError):
                continue
    # without the design coordinates, a design has stop-loss if it ever recovers anything
    if "stop_loss_recovery" in view.data_vars and not any(
        n in view.coords for n in ("stop_loss_attachment", "aggregate_stop_loss_attachment")
    ):
        return bool((view["stop_loss_recovery"].sel(design=design) != 0).any())
    return False


def _money_cell(row: Mapping[str, float], name: str) -> Estimate:
    return Estimate(format_money(row[name]), _money_se(row[f"{name}_se"]))


def _prob_cell(row: Mapping[str, float], name: str) -> Estimate:
    return Estimate(format_percent(row[name], 1), _pp(row[f"{name}_se"]))


def _tables(
    stats: xr.Dataset, rows: Mapping[str, Mapping[str, float]], stop_loss: Mapping[str, bool]
) -> tuple[KeyTable, ...]:
    designs = list(rows)
    money = KeyTable(
        key="settlement",
        title="Settlement per performance year",
        caption="What each design pays in a simulated performance year: the mean, and the "
        "5th, 50th and 95th percentiles (in 1 year of 20 the settlement is below the 5th "
        "percentile, in 1 of 20 above the 95th). Positive: the payer pays the provider; "
        "negative (−): the provider pays. Under each figure: ± one Monte Carlo standard error.",
        columns=("Mean", "5th percentile (bad year)", "Median", "95th percentile (good year)"),
        rows=tuple(
            (d, tuple(_money_cell(rows[d], n) for n in ("mean", "q05", "q50", "q95")))
            for d in designs
        ),
    )
    tail_columns = [
        "Provider VaR 95%",
        "Provider TVaR 95%",
        "Payer VaR 95%",
        "Payer TVaR 95%",
    ]
    show_net = "stop_loss_net" in stats.data_vars and any(stop_loss.values())
    if show_net:
        tail_columns.append("Stop-loss net")
    tail_rows = []
    for d in designs:
        cells = [
            _money_cell(rows[d], n)
            for n in ("var_provider_95", "tvar_provider_95", "var_payer_95", "tvar_payer_95")
        ]
        if show_net:
            cells.append(
                _money_cell(rows[d], "stop_loss_net")
                if stop_loss[d]
                else Estimate("—", None, "no stop-loss")
            )
        tail_rows.append((d, tuple(cells)))
    tail = KeyTable(
        key="tail",
        title="Tail risk: the worst year in 20 for each party",
        caption="Value-at-risk (VaR 95%): the amount a party pays that is exceeded in 1 year "
        "of 20 (the provider's is minus the 5th percentile, the payer's the 95th percentile). "
        "Tail value-at-risk (TVaR 95%): what the party pays on average in those worst years. "
        "A negative VaR means that even the party's worst year in 20 is a payment to it."
        + (
            " Stop-loss net: expected stop-loss recovery minus premium per year (negative: "
            "the stop-loss costs the provider more than it recovers)."
            if show_net
            else ""
        )
        + " Under each figure: ± one Monte Carlo standard error.",
        columns=tuple(tail_columns),
        rows=tuple(tail_rows),
    )
    prob_columns: list[tuple[str, str]] = [
        ("prob_loss", "P(provider pays)"),
        ("prob_savings", "P(provider receives)"),
    ]
    # P(no payment) says the same as P(inside corridor) unless a withhold or exactly zero
    # savings tell them apart
    if "prob_corridor" not in stats.data_vars or any(
        not math.isclose(rows[d]["prob_zero"], rows[d]["prob_corridor"], abs_tol=1e-12)
        for d in designs
    ):
        prob_columns.append(("prob_zero", "P(no payment)"))
    optional = [
        ("prob_corridor", "P(inside corridor)"),
        ("prob_savings_cap", "P(savings cap binds)"),
        ("prob_loss_cap", "P(loss cap binds)"),
    ]
    prob_columns += [(n, label) for n, label in optional if n in stats.data_vars]
    how_often = KeyTable(
        key="probabilities",
        title="How often",
        caption="Share of simulated performance years in which the provider pays, receives "
        "a payment or neither"
        + (
            "; in which savings or losses fall inside the minimum savings/loss corridor, "
            "so nothing is shared (for an upside-only design, every year with losses)"
            if "prob_corridor" in stats.data_vars
            else ""
        )
        + (
            "; and in which a cap on shared savings or shared losses binds"
            if "prob_savings_cap" in stats.data_vars
            else ""
        )
        + ". Under each figure: ± one Monte Carlo standard error, in percentage points (pp).",
        columns=tuple(label for _, label in prob_columns),
        rows=tuple((d, tuple(_prob_cell(rows[d], n) for n, _ in prob_columns)) for d in designs),
    )
    return (money, tail, how_often)


# ------------------------------------------------------------------------------ precision

_Kind = Literal["money", "prob"]
# (describe name, statistic, level, kind, label in words)
_PRECISION: tuple[tuple[str, str, float | None, _Kind, str], ...] = (
    ("mean", "mean", None, "money", "mean"),
    ("q05", "quantile", 0.05, "money", "5th percentile (provider VaR 95%)"),
    ("q50", "quantile", 0.5, "money", "median"),
    ("q95", "quantile", 0.95, "money", "95th percentile (payer VaR 95%)"),
    ("tvar_provider_95", "tvar_provider", 0.95, "money", "provider TVaR 95%"),
    ("tvar_payer_95", "tvar_payer", 0.95, "money", "payer TVaR 95%"),
    ("stop_loss_net", "stop_loss_net", None, "money", "stop-loss net"),
    ("prob_loss", "prob_loss", None, "prob", "P(provider pays)"),
    ("prob_savings", "prob_savings", None, "prob", "P(provider receives)"),
    ("prob_corridor", "prob_corridor", None, "prob", "P(inside corridor)"),
    ("prob_savings_cap", "prob_savings_cap", None, "prob", "P(savings cap binds)"),
    ("prob_loss_cap", "prob_loss_cap", None, "prob", "P(loss cap binds)"),
)


def _money_scale(row: Mapping[str, float]) -> float:
    """The yardstick of a design's money figures: its 5%-95% range, else its std."""
    spread = row["q95"] - row["q05"]
    if math.isfinite(spread) and spread > 0:
        return spread
    std = row["std"]
    return std if math.isfinite(std) and std > 0 else 0.0


def _verdict(
    one: xr.Dataset,
    row: Mapping[str, float],
    stats_names: set[str],
    *,
    money_precision: float,
    prob_precision: float,
    confidence: float,
    stop_loss: bool,
) -> tuple[bool, str, int | None]:
    """Whether every figure of one design meets the precision standard, in words."""
    scale = _money_scale(row)
    money_target = max(money_precision * scale, 1.0)
    short: list[str] = []
    needed: list[float] = []
    unknown = False
    for name, stat, level, kind, label in _PRECISION:
        if name not in stats_names or (name == "stop_loss_net" and not stop_loss):
            continue
        target = money_target if kind == "money" else prob_precision
        c = convergence(
            one, stat, level=level, abs_precision=target, confidence=confidence
        ).compute()
        half = float(c["half_width"].item())
        if not math.isfinite(half):
            unknown = True
            continue
        if bool(c["converged"].item()):
            continue
        need = float(c["trials_needed"].item())
        needed.append(need)
        shown = format_money(half) if kind == "money" else f"{100.0 * half:.1f}{_NBSP}pp"
        goal = format_money(target) if kind == "money" else f"{100.0 * target:.1f}{_NBSP}pp"
        short.append(f"{label} ({_PM}{shown}; target {_PM}{goal})")
    if unknown and not short:
        return False, "Cannot tell: the standard errors need at least two trials.", None
    if not short:
        return True, "Enough trials: every figure is within its target.", None
    finite = [n for n in needed if math.isfinite(n)]
    trials = _nice_up(max(finite)) if finite else None
    more = f" About {trials:,} trials would do." if trials is not None else ""
    return False, f"Not enough trials for: {'; '.join(short)}.{more}", trials


# ------------------------------------------------------------------------------ charts

_CAPTIONS: dict[str, str] = {
    "distribution": "How the settlement of one simulated performance year is spread. Each "
    "bar is the share of years with a settlement in that range; right of the dashed line the "
    "payer pays the provider, left of it the provider pays. Years settled at exactly zero "
    "(inside the minimum savings/loss corridor) are left out of the bars: the box gives their "
    "share, the chances of receiving and of paying, and the mean with its Monte Carlo "
    "standard error.",
    "distribution_again": "Read as the first distribution chart: bars are shares of simulated "
    "years, right of the dashed line the provider receives, left of it the provider pays; the "
    "box gives the share of years at exactly zero, the chances of receiving and paying, and "
    "the mean.",
    "exceedance": "How bad (left) and how good (right) a year can get for the provider. For "
    "an amount X on the horizontal axis, a curve gives the chance that the provider pays "
    "(left) or receives (right) at least X in a performance year; the vertical axis is "
    "logarithmic. Dotted guides mark 1 year in 10, 20 and 100, and a dot marks where a "
    "design's curve crosses a guide: the amount below the dot is exceeded that often. A curve "
    "further right is a heavier tail; a design that never pays has no curve on the left.",
    "frontier": "Each design's mean per year (of the settlement; for the provider, of its net "
    "result where the results have the provider's own economics) against the party's 1-in-20 "
    "loss (value-at-risk 95%), with bars of ±1.96 Monte Carlo standard errors. The dashed line "
    "joins the designs on the efficient frontier; a hollow point is dominated: another design "
    "is better on one of the two and no worse on the other, beyond the paired Monte Carlo "
    "error of the difference (which is smaller than the bars suggest: every design settles the "
    "same simulated years).",
    "compare": "The designs side by side on one money axis, one row each. The shaded shape "
    "is the spread of the non-zero settlements (every shape scaled to the same height: compare "
    "shapes, not areas); the bar on the zero line is the share of years settled at exactly "
    "zero. Marks: the 5th and 95th percentiles (labelled), the median (white dot) and the "
    "mean (black diamond). Each row's label gives the chance that the provider pays and of "
    "exactly zero.",
    "payoff": "The contract terms themselves, before any simulation: the settlement each "
    "design pays at each savings rate, both as a share of the benchmark (a savings rate below "
    "zero is spend above the benchmark). The flat stretch around zero is the minimum "
    "savings/loss corridor, the slopes are the sharing rates and flat ends are caps. The grey "
    "diagonal is a provider that keeps all its savings and bears all its losses.",
    "fan": "The settlement over the years of the agreement. Top: benchmark and actual spend "
    "(after truncation, where the scenario truncates) per member per month; below: the "
    "settlement of each year, per design. Lines are medians "
    "over the trials, the darker band holds the middle 50% of trials and the lighter band the "
    "middle 90%. Along the top of each settlement panel: the chance that the provider pays "
    "in that year. Dashed verticals mark renewals, where the benchmark is rebased.",
    "participants": "How the settlement passes to each participant practice: one row per "
    "practice (under its name, its share of member months), sorted by mean payout. Shapes "
    "and marks are those of the comparison chart: the spread of non-zero payouts, a bar on the "
    "zero line for the share of zero payouts, the 5th to 95th percentile, median (white dot) "
    "and mean (diamond). The right margin gives each practice's chance of paying, P(pays), "
    "and of a zero payout. A practice that joins or leaves is shown over the years it takes "
    "part in, named under it.",
    "tornado": "Which swept parameter moves the mean settlement most. For each parameter "
    "the two bars run from the base case (vertical line: every parameter at its base value) "
    "to the mean settlement with that parameter at its lowest value (grey) and at its highest "
    "(colour), the other parameters held at base; the label gives the value and the change. "
    "The parameter with the widest swing is at the top.",
    "heatmap": "The mean settlement over two swept parameters, one cell per pair of values, "
    "other swept parameters held at base. Blue: the provider receives on average; red: it "
    "pays; the outlined cell is the base case.",
}


def _png(fig: Figure, dpi: int) -> tuple[bytes, float, float]:
    """PNG bytes of ``fig`` and their size in inches.

    Saved with a tight bounding box, so that a legend or label drawn outside the figure (the
    fan chart's legend can be) is kept rather than cut off at the edge.
    """
    buf = io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=dpi,
        metadata={"Software": None},
        bbox_inches="tight",
        pad_inches=0.06,
    )
    data = buf.getvalue()
    # PNG header: width and height are the big-endian 32-bit integers at bytes 16-24
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return data, width / dpi, height / dpi


def _groups(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _chart_plan(
    ds: xr.Dataset,
    view: xr.Dataset,
    sweep: Sequence[str],
    party: Literal["provider", "payer"] = "provider",
) -> list[tuple[str, str, str, Callable[[], Figure]]]:
    """``(key, title, caption, make)`` for every chart the report shows, in order."""
    from simsettle.plot import (
        fig_compare,
        fig_distribution,
        fig_exceedance,
        fig_fan,
        fig_frontier,
        fig_heatmap,
        fig_participants,
        fig_payoff,
        fig_tornado,
    )
    from simsettle.report.summary import _unique_stems

    designs = [str(d) for d in view["design"].values]
    plan: list[tuple[str, str, str, Callable[[], Figure]]] = []

    def add(key: str, title: str, caption: str, make: Callable[[], Figure]) -> None:
        plan.append((key, title, caption, make))

    def add_per_group(
        key: str, groups: Sequence[list[str]], title: str, make: Callable[..., Figure]
    ) -> None:
        """A chart per group of designs, keyed ``key`` alone or ``key_1``, ``key_2``, ..."""
        for i, group in enumerate(groups):
            add(
                key if len(groups) == 1 else f"{key}_{i + 1}",
                f"{title}: {', '.join(group)}",
                _CAPTIONS[key],
                partial(make, design=group),
            )

    if len(designs) >= 2:
        add(
            "frontier",
            f"Mean settlement against the {party}'s 1-in-20 loss",
            _CAPTIONS["frontier"],
            lambda: fig_frontier(view, party=party, var=measure(view, party)),
        )
    for i, (d, stem) in enumerate(zip(designs, _unique_stems(designs), strict=True)):
        add(
            f"distribution_{stem}",
            f"Distribution of the settlement: {d}",
            _CAPTIONS["distribution"] if i == 0 else _CAPTIONS["distribution_again"],
            partial(fig_distribution, view, design=d),
        )
    add(
        "exceedance",
        "Exceedance: how often the provider pays or receives at least a given amount",
        _CAPTIONS["exceedance"],
        lambda: fig_exceedance(view),
    )
    add("compare", "The designs compared", _CAPTIONS["compare"], lambda: fig_compare(view))
    if "payoff" in view.data_vars and "payoff_savings_rate" in view["payoff"].dims:
        add("payoff", "Payoff diagram", _CAPTIONS["payoff"], lambda: fig_payoff(view))
    if int(view.sizes["year"]) > 1:
        add_per_group(
            "fan", _groups(designs, _MAX_PANELS), "Over the agreement", partial(fig_fan, view)
        )
    if "participant_payout" in view.data_vars and "participant" in view.dims:
        practices = int(view.sizes["participant"])
        if practices * len(designs) <= 12:
            add(
                "participants",
                "Participant practices",
                _CAPTIONS["participants"],
                lambda: fig_participants(view),
            )
        else:
            for d, stem in zip(designs, _unique_stems(designs), strict=True):
                add(
                    f"participants_{stem}",
                    f"Participant practices: {d}",
                    _CAPTIONS["participants"],
                    partial(fig_participants, view, design=d),
                )
    if sweep:
        groups = _groups(designs, _MAX_PANELS)
        sub = ds.sel(design=designs)
        add_per_group(
            "tornado", groups, "Sensitivity to the swept parameters", partial(fig_tornado, sub)
        )
        if len(sweep) >= 2:
            x, y = sweep[0], sweep[1]
            x_name = str(ds[x].attrs.get("long_name", x))
            y_name = str(ds[y].attrs.get("long_name", y))
            # a wide grid gets a chart per design, so that its cell labels stay legible
            maps = groups if int(ds.sizes[x]) <= 4 else [[d] for d in designs]
            add_per_group(
                "heatmap",
                maps,
                f"Mean settlement by {x_name} and {y_name}",
                partial(fig_heatmap, sub, x=x, y=y),
            )
    return plan


# ------------------------------------------------------------------------------ build


def build_report(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    charts: bool = True,
    money_precision: float = 0.05,
    prob_precision: float = 0.02,
    confidence: float = 0.95,
    dpi: int = CHART_DPI,
    party: Literal["provider", "payer"] = "provider",
    sensitivity: bool = True,
    sensitivity_trials: int = 1000,
) -> Report:
    """Work out what the committee report says about a results Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset (dims ``design``, ``trial``, ``year``; a sweep's extra dimensions
        are held at their base values for everything but the sweep charts).
    design : str or sequence of str, optional
        Only these designs, in this order; ``None`` for all.
    charts : bool, default True
        Render the charts (PNG at ``dpi``). Without them the report has tables and words only.
    money_precision : float, default 0.05
        Precision standard for money figures: the half-width of their ``confidence`` interval
        must be at most this fraction of the design's 5%-95% range of settlement (of its
        standard deviation when that range is zero).
    prob_precision : float, default 0.02
        Precision standard for probabilities: the half-width in absolute terms (0.02 = two
        percentage points).
    confidence : float, default 0.95
        Confidence level of the half-widths.
    dpi : int, default :data:`CHART_DPI`
        Resolution of the chart PNGs.
    party : {"provider", "payer"}, default "provider"
        Whose decision the first page leads with (:func:`simsettle.stats.decide`).
    sensitivity : bool, default True
        Find what would change the answer (:func:`simsettle.report.sensitivity.sensitivity`):
        from the sweep, or else by simulating the recorded scenario again with a few inputs
        moved, with at most ``sensitivity_trials`` trials each (seconds for a typical
        scenario). Only with two or more designs.

    Returns
    -------
    Report
        The content, for :func:`simsettle.report.render_html` and
        :func:`simsettle.report.write_pdf`.

    Raises
    ------
    ValueError
        If ``ds`` has no ``settlement`` over ``design``, ``trial`` and ``year``, or for an
        unknown design.
    """
    for name, value in (("money_precision", money_precision), ("prob_precision", prob_precision)):
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be positive, got {value!r}")
    _check(ds)
    n_all = int(ds.sizes["design"])
    ds = _select_designs(ds, design)
    sweep = _sweep_dims(ds)
    view = sweep_base(ds)  # the base point of a sweep (``ds`` itself without one)
    designs = [str(d) for d in view["design"].values]
    stats = describe(view, levels=_LEVELS, quantiles=_QUANTILES).compute()
    rows = {d: _row_values(stats, d) for d in designs}
    stop_loss = {d: _has_stop_loss(view, d) for d in designs}
    colors = design_colors(view["design"].values)
    names = set(map(str, stats.data_vars))

    texts = []
    for i, d in enumerate(designs):
        converged, verdict, needed = _verdict(
            view.isel(design=[i]),
            rows[d],
            names,
            money_precision=money_precision,
            prob_precision=prob_precision,
            confidence=confidence,
            stop_loss=stop_loss[d],
        )
        texts.append(
            DesignText(
                design=d,
                color=colors[d],
                paragraph=_paragraph(
                    rows[d], no_losses=_why_no_losses(view, d), stop_loss=stop_loss[d]
                ),
                converged=converged,
                verdict=verdict,
                trials_needed=needed,
            )
        )

    trials = int(ds.sizes["trial"])
    n_years = int(ds.sizes["year"])
    pooled = trials * n_years
    if n_years == 1:
        years_note = (
            f"Each of the {trials:,} trials simulates one performance year; “years” below "
            "are these simulated years."
        )
    else:
        years_note = (
            f"Each of the {trials:,} trials simulates {n_years} performance years; “years” "
            f"below pool all {pooled:,} simulated years of every trial."
        )
    if sweep:
        held = ", ".join(
            f"{ds[d].attrs.get('long_name', d)} {_sweep_value_text(ds, d, view[d].values.item())}"
            for d in sweep
        )
        years_note += (
            f" The results are a parameter sweep: words, tables and charts other than the "
            f"sensitivity charts are at the base case ({held})."
        )
    sign_note = (
        "Sign convention: a settlement above zero is a payment from the payer to the provider "
        "(shared savings); below zero (−) the provider pays (shared losses)."
    )
    z_pct = f"{confidence:.0%}"
    precision_note = (
        f"Standard used: the {z_pct} confidence interval of every money figure must be within "
        f"± {money_precision:.1%} of the design's 5%–95% range of settlement, and of every "
        f"probability within ± {100 * prob_precision:.1f} percentage points. Standard errors "
        "treat each trial as one independent draw (its years are correlated) and shrink as "
        "1/√trials, so the trials needed follow from the standard errors of this run; for "
        "percentiles and tail figures that estimate is rough (within a factor of about two "
        "below 1,000 trials)."
    )

    rendered: list[Chart] = []
    if charts:
        for key, title, caption, make in _chart_plan(ds, view, sweep, party):
            png, w, h = _png(make(), dpi)
            rendered.append(Chart(key, title, caption, png, w, h))

    title = str(ds.attrs.get("title", "")) or "Settlement results"
    n = len(designs)
    subtitle = (
        f"Settlement risk report · {n} design{'s' if n != 1 else ''} · {trials:,} trials × "
        f"{n_years} performance year{'s' if n_years != 1 else ''} · seed {_attr(ds, 'seed')}"
    )
    recommendation = None
    if len(designs) >= 2:
        found: tuple[list[Sensitivity], str] = ([], "")
        if sensitivity:
            found = find_sensitivity(ds, party=party, trials=sensitivity_trials)
        recommendation = recommend(
            view, party=party, sensitivities=found[0], sensitivity_note=found[1]
        )
    yaml = ds.attrs.get("scenario_yaml")
    return Report(
        title=title,
        subtitle=subtitle,
        facts=_facts(ds, view, sweep, n_all),
        sign_note=sign_note,
        years_note=years_note,
        designs=tuple(texts),
        tables=_tables(stats, rows, stop_loss),
        precision_note=precision_note,
        charts=tuple(rendered),
        scenario_yaml=str(yaml) if yaml is not None else None,
        generator=f"simsettle {__version__}",
        recommendation=recommendation,
    )
