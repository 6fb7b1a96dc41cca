"""The goodness-of-fit report of a calibration: one self-contained HTML file.

Standard-library HTML with the figures embedded as base64 PNG (matplotlib's object API, no
pyplot state): the fitted parameters with their intervals and sources, QQ and tail plots, the
density, the concentration curve and table (data against model), the CV, the tail test, the
trend by year, the leaving-time pattern, the threshold's profile likelihood and the scenario.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simsettle._version import __version__
from simsettle.calibrate.gof import TOP
from simsettle.calibrate.scenario_text import short_number, write_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from simsettle.calibrate.fit import Calibration

__all__ = ["figures", "report_html", "write_report"]

DATA_COLOR = "#0072B2"
MODEL_COLOR = "#D55E00"
GREY = "#555555"

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 0.3em 0.7em; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
.assumed { color: #8a5a00; } .small { font-size: 0.88em; color: #555; }
.figs { display: flex; flex-wrap: wrap; gap: 0.5em; } .figs img { max-width: 490px; width: 100%; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.ok { color: #176b2c; } .warn { color: #a33; }
"""


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    for div, unit in ((1e6, "M"), (1e3, "K")):
        if abs(x) >= div:
            return f"${x / div:,.1f}{unit}"
    return f"${x:,.0f}"


def _fmt(x: float) -> str:
    return short_number(x, missing="n/a")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    """A new report figure with one set of axes, titled and labelled."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 4.0), layout="constrained")
    ax = fig.add_subplot()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig, ax


def _axis_money(v: float) -> str:
    if abs(v) >= 1e6:
        return f"${v / 1e6:,.3g}M"
    if abs(v) >= 1e5:
        return f"${v / 1e3:,.0f}K"
    return f"${v:,.0f}"


def _usd_axis(ax: object, which: str) -> None:
    """Money labels on an axis (major ticks only: log axes get no minor labels)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis = getattr(ax, f"{which}axis")
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _axis_money(v)))
    axis.set_minor_formatter(NullFormatter())


def figures(cal: Calibration) -> dict[str, Figure]:
    """The report's figures by name: ``qq``, ``tail``, ``density``, ``concentration``,
    ``trend``, ``leaving`` and ``threshold`` (those the data allow)."""
    g = cal.gof
    fitted = cal.cost.model
    scores = cal.data.risk is not None
    what = "annual cost per unit of risk score" if scores else "annualised cost"
    out: dict[str, Figure] = {}

    # QQ plot on log axes.
    fig, ax = _axes(
        "QQ plot of the positive costs", f"model quantile of {what} (USD)", "data quantile (USD)"
    )
    data_q, model_q = g.qq_data, g.qq_model
    idx = np.unique(np.geomspace(1, data_q.size, 400).astype(np.int64) - 1)
    ax.loglog(model_q[idx], data_q[idx], "o", ms=3, color=DATA_COLOR, label="member-years")
    lo = float(min(data_q[0], model_q[0]))
    hi = float(max(data_q[-1], model_q[-1]))
    ax.loglog([lo, hi], [lo, hi], "-", color=GREY, lw=1, label="equal")
    if fitted.tail_probability > 0:
        ax.axvline(fitted.tail_threshold, color=MODEL_COLOR, ls=":", lw=1, label="tail threshold")
    floor = cal.cost.censor_floor
    if cal.cost.n_censored and floor > 0:
        ax.axhspan(lo, floor, color=GREY, alpha=0.12, lw=0, label="censored in the fit")
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    out["qq"] = fig

    # Survival of the costliest on log-log axes.
    fig, ax = _axes("Upper tail (costliest half)", f"{what} (USD)", "share of member-years above")
    pos = np.sort(g.fitted_values)
    n_all = round(pos.size / max(1.0 - g.zero_data, 1e-12))
    surv = 1.0 - np.arange(pos.size) / n_all - (n_all - pos.size) / n_all
    start = np.searchsorted(pos, np.quantile(pos, 0.5))
    ax.loglog(pos[start:], surv[start:], ".", ms=2.5, color=DATA_COLOR, label="data")
    grid = np.geomspace(pos[start], pos[-1] * 2.0, 300)
    ax.loglog(grid, fitted.sf(grid), "-", color=MODEL_COLOR, lw=1.6, label="model")
    if fitted.tail_probability > 0:
        ax.axvline(fitted.tail_threshold, color=MODEL_COLOR, ls=":", lw=1, label="tail threshold")
    ax.legend(fontsize=8, frameon=False)
    out["tail"] = fig

    # Density of log cost.
    fig, ax = _axes("Distribution of the positive costs", f"log10 of {what} (USD)", "density")
    logs = np.log10(g.fitted_values)
    bins = np.linspace(float(logs.min()), float(logs.max()), 60)
    ax.hist(logs, bins=list(bins), density=True, color=DATA_COLOR, alpha=0.45, label="data")
    xs = np.linspace(bins[0], bins[-1], 400)
    c = 10.0**xs
    dens = np.exp(fitted.logpdf(c)) * c * math.log(10.0) / (1.0 - fitted.zero_cost_share)
    ax.plot(xs, dens, color=MODEL_COLOR, lw=1.6, label="model")
    if cal.cost.n_censored and cal.cost.censor_floor > 0:
        ax.axvspan(
            bins[0],
            math.log10(cal.cost.censor_floor),
            color=GREY,
            alpha=0.12,
            lw=0,
            label="censored in the fit",
        )
    ax.legend(fontsize=8, frameon=False)
    out["density"] = fig

    # Concentration curve: share of spend against the top fraction of member-years.
    fig, ax = _axes("Concentration of spend", "costliest share of member-years", "share of spend")
    cost = np.sort(cal.data.cost)[::-1]
    frac = np.arange(1, cost.size + 1) / cost.size
    share = np.cumsum(cost) / cost.sum()
    ax.semilogx(frac, share, color=DATA_COLOR, lw=1.8, label="data")
    qs = np.geomspace(max(1.0 / cost.size, 1e-4), 1.0, 120)
    ax.semilogx(
        qs, cal.model.top_share(qs), color=MODEL_COLOR, lw=1.4, ls="--", label="model, whole years"
    )
    for q in TOP:
        ax.plot([q], [g.top_model[q]], "s", color=MODEL_COLOR, ms=5)
    ax.plot([], [], "s", color=MODEL_COLOR, ms=5, label="model at the data's months")
    ax.set_ylim(0, 1.02)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    out["concentration"] = fig

    tr = cal.trend
    if len(tr.years) >= 2:
        fig, ax = _axes(
            "Trend", "year", "cost per member month" + (" per unit of risk" if scores else "")
        )
        ax.plot(tr.years, tr.pmpm, "o-", color=DATA_COLOR, label="data")
        if math.isfinite(tr.mean.value):
            fitted_line = [tr.pmpm[0] * (1 + tr.mean.value) ** (y - tr.years[0]) for y in tr.years]
            ax.plot(tr.years, fitted_line, "--", color=MODEL_COLOR, label="fitted trend")
        ax.set_xticks(list(tr.years))
        _usd_axis(ax, "y")
        ax.legend(fontsize=8, frameon=False)
        out["trend"] = fig

    months = cal.population.leaver_months
    if months.size >= 5:
        whole = bool(np.allclose(months, np.round(months)))
        fig, ax = _axes(
            "When in the year members leave",
            "enrolled months in the year of leaving" + (" (whole months)" if whole else ""),
            "members",
        )
        edges = np.arange(0.5, 13.0, 1.0) if whole else np.linspace(0.0, 12.0, 13)
        ax.hist(
            months,
            bins=list(edges),
            color=DATA_COLOR,
            alpha=0.6,
            label="departing members",
        )
        ax.axhline(months.size / 12.0, color=MODEL_COLOR, lw=1.6, label="uniform (the engine)")
        ax.set_xticks(range(1, 13) if whole else range(0, 13, 2))
        ax.set_ylim(0, max(ax.get_ylim()[1], months.size / 12.0) * 1.25)
        ax.legend(fontsize=8, frameon=False, loc="upper left", ncols=2)
        out["leaving"] = fig

    prof = cal.cost.profile
    if len(prof) > 2 and cal.cost.has_tail:
        fig, ax = _axes(
            "Choosing the threshold",
            "tail threshold (a year)",
            "profile log-likelihood (0 = best candidate)",
        )
        hs = np.array([p[0] for p in prof])
        ll = np.array([p[1] for p in prof])
        ax.semilogx(hs, ll - ll.max(), "o-", color=DATA_COLOR, ms=3)
        ax.axvline(fitted.tail_threshold, color=MODEL_COLOR, ls=":", label="chosen")
        from matplotlib.ticker import LogLocator

        ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
        _usd_axis(ax, "x")
        ax.legend(fontsize=8, frameon=False)
        out["threshold"] = fig
    return out


def _table(header: list[str], rows: list[list[str]], left: tuple[int, ...] = (0,)) -> str:
    def cell(tag: str, j: int, text: str) -> str:
        cls = ' class="l"' if j in left else ""
        return f"<{tag}{cls}>{text}</{tag}>"

    head = "".join(cell("th", j, html.escape(h)) for j, h in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", j, c) for j, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def report_html(cal: Calibration, *, scenario_path: str | None = None) -> str:
    """The report as an HTML document."""
    e = html.escape
    g = cal.gof
    d = cal.data
    conf = f"{cal.confidence:.0%}"
    figs = {k: _png(f) for k, f in figures(cal).items()}

    def img(name: str, alt: str) -> str:
        if name not in figs:
            return ""
        return f'<img alt="{e(alt)}" src="data:image/png;base64,{figs[name]}">'

    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Calibration report: {e(Path(d.source).name or 'data')}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Calibration report: {e(Path(d.source).name or 'data')}</h1>",
        f"<p class='small'>simsettle {e(__version__)}. The methods are described in the "
        "documentation of <code>simsettle.calibrate</code> (mixture, panel and gof modules).</p>",
    ]
    years = d.years
    scores = d.risk is not None
    known = bool(np.all(np.isfinite(d.entry)))
    summary_rows = [
        ["member-years", f"{d.n:,}"],
        ["members", f"{d.n_members:,}"],
        ["years", ", ".join(str(y) for y in years)],
        ["member-years with no cost", f"{np.mean(d.cost == 0):.1%}"],
        ["risk scores", "yes" if scores else "no"],
        [
            "when members joined and left",
            "from the enrolment" if known else "inferred from member months and adjacent years",
        ],
        ["total cost", _money(float(d.cost.sum()))],
    ]
    parts.append("<h2>Data</h2>" + _table(["", ""], summary_rows))
    if cal.notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in cal.notes) + "</ul>")

    rows = []
    for key, est in cal.estimates.items():
        if est.assumed:
            ci = "<span class='assumed'>not estimated</span>"
        else:
            ci = f"{_fmt(est.lower)} to {_fmt(est.upper)}"
        rows.append([f"<code>{e(key)}</code>", _fmt(est.value), ci, e(est.source)])
    parts.append(
        f"<h2>Fitted parameters</h2><p>{conf} confidence intervals. <code>cost.pmpm</code> and "
        f"<code>cost.tail_threshold</code> are at the {years[0]} level here; the scenario "
        f"carries them to its first base year (x {cal.level_factor:.4g}).</p>"
        + _table(["field", "value", f"{conf} CI", "how"], rows, left=(0, 3))
    )

    # Cost distribution.
    parts.append("<h2>Cost distribution</h2>")
    what = (
        "annual cost divided by the member's normalised risk score"
        if scores
        else "annualised cost (cost x 12 / member months)"
    )
    parts.append(
        f"<p>Fitted to the {what}, each year brought to the {years[0]} cost level. "
        f"Threshold: {e(cal.cost.threshold_method)}. Log-likelihood of the positive costs "
        f"{cal.cost.loglik:,.1f} with the tail, {cal.cost.loglik_no_tail:,.1f} without.</p>"
    )
    parts.append(
        "<div class='figs'>"
        + img("qq", "QQ plot")
        + img("tail", "tail plot")
        + img("density", "density")
        + img("concentration", "concentration curve")
        + "</div>"
    )
    top_rows = []
    for q in TOP:
        dq = g.top_data[q]
        gap = 100.0 * (g.top_model[q] - dq.value)
        cls = "ok" if abs(gap) <= 2.0 else "warn"
        top_rows.append(
            [
                f"top {q:.0%}",
                f"{dq.value:.1%} ({dq.lower:.1%} to {dq.upper:.1%})",
                f"{g.top_model[q]:.1%}",
                f"<span class='{cls}'>{gap:+.1f}</span>",
                f"{g.top_model_full_year[q]:.1%}",
            ]
        )
    parts.append(
        "<h3>Concentration of spend</h3>"
        + _table(
            [
                "costliest member-years",
                f"data ({conf} CI)",
                "model at the data's months",
                "gap (pp)",
                "model, whole years",
            ],
            top_rows,
        )
        + "<p class='small'>Share of all spend carried by the costliest member-years. The "
        "model is drawn with the data's own member months and years (Monte Carlo); 'whole years' "
        "is its closed form for full-year members, what a scenario run reports.</p>"
    )
    other = [
        ["CV of annualised cost", f"{g.cv_data:.3g}", f"{g.cv_model:.3g}"],
        ["member-years with no cost", f"{g.zero_data:.2%}", f"{g.zero_model:.2%}"],
        [
            "correlation of a member's cost a year apart",
            f"{g.persistence_data:.3g} [{g.persistence_interval.lower:.3g}, "
            f"{g.persistence_interval.upper:.3g}] ({g.persistence_pairs:,} pairs)",
            f"{g.persistence_model:.3g} (cost persistence {g.cost_persistence:.3g})",
        ],
    ]
    parts.append(_table(["", "data", "model"], other))
    t = g.tail
    if t is not None:
        verdict = (
            "<span class='ok'>no evidence against the fitted tail</span>"
            if t.cvm_pvalue >= 0.05
            else "<span class='warn'>the fitted tail departs from the data</span>"
        )
        parts.append(
            "<h3>Test of the fitted tail</h3>"
            f"<p>Above the 95th percentile of the positive costs ({_money(t.threshold)}, "
            f"{t.n_exceed:,} member-years), the fitted model's conditional distribution function "
            "should turn the data into uniform values: Cramér–von Mises statistic "
            f"{t.cvm_statistic:.3f}, p = {t.cvm_pvalue:.3g}: {verdict} (the p-value is "
            "approximate: the parameters were fitted to the same data, which makes it too "
            "large). A generalized Pareto distribution fitted to the excesses over that "
            f"level has shape ξ = {_fmt(t.gpd_shape.value)} ({conf} CI "
            f"{_fmt(t.gpd_shape.lower)} to {_fmt(t.gpd_shape.upper)}) in the data and "
            f"{_fmt(t.model_gpd_shape)} in the fitted model (the same fit to 50,000 of its "
            f"draws above that level); the Pareto component alone has 1 / tail_shape = "
            f"{_fmt(t.pareto_shape)}, approached far out in the tail.</p>"
        )
    if g.risk_slope is not None:
        s = g.risk_slope
        parts.append(
            "<h3>Cost and risk score</h3>"
            f"<p>Slope of log annualised cost on log risk score (member-years with a cost): "
            f"{s.value:.3f} ({conf} CI {s.lower:.3f} to {s.upper:.3f}). The engine makes cost "
            "proportional to the risk score (slope 1).</p>"
        )

    # Population and trend.
    pf = cal.population
    parts.append("<h2>Population and trend</h2><div class='figs'>")
    parts.append(img("trend", "trend") + img("leaving", "leaving months"))
    parts.append(img("threshold", "threshold profile") + "</div>")
    starts = ", ".join(f"{y}: {n:,}" for y, n in pf.members_at_start.items())
    mean_months = float(np.mean(pf.leaver_months)) if pf.leaver_months.size else math.nan
    parts.append(
        f"<p>Members holding a place at the start of each year: {e(starts)}. Departures "
        f"{pf.departures:,}, mid-year arrivals {pf.arrivals:,}, new members {pf.entrants:,}. "
        f"Leaving time: {e(pf.pattern_test)}, p = {pf.pattern_pvalue:.3g} "
        f"(mean months of leavers {mean_months:.2f}; uniform: 6).</p>"
    )
    tr = cal.trend
    trend_rows = [
        [str(y), _axis_money(p), f"{math.expm1(gr):+.2%}" if k > 0 else ""]
        for k, (y, p, gr) in enumerate(zip(tr.years, tr.pmpm, (0.0, *tr.growth), strict=False))
    ]
    parts.append(
        _table(
            ["year", "cost per member month" + (" per unit of risk" if scores else ""), "growth"],
            trend_rows,
        )
    )
    if cal.risk.lag_covariances:
        cov_rows = [[str(k), f"{c:.4f}", f"{n:,}"] for k, c, n in cal.risk.lag_covariances]
        parts.append(
            "<p>Covariance of members' log annualised cost k years apart (the engine: "
            "risk_sigma² × risk_persistence<sup>k</sup>):</p>"
            + _table(["k", "covariance", "pairs"], cov_rows)
        )
    parts.append(
        "<h2>Scenario</h2>"
        + (f"<p>Written to <code>{e(scenario_path)}</code>.</p>" if scenario_path else "")
        + f"<pre>{e(cal.scenario_yaml)}</pre>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(cal: Calibration, path: str | Path, *, scenario_path: str | None = None) -> Path:
    """Write :func:`report_html` to ``path`` (atomically)."""
    return write_text(path, report_html(cal, scenario_path=scenario_path))
