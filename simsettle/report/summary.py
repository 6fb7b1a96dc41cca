"""Summary tables for the terminal, and safe file names for the report's chart files.

:func:`summary_table` (rich) and :func:`format_summary` (plain text) tabulate
:func:`simsettle.stats.summary` (its standard error of the mean is trial-clustered); rich is
imported only by the function that needs it, so ``import simsettle.report`` stays light.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from simsettle.results import sweep_base
from simsettle.stats import quantile_name, summary

if TYPE_CHECKING:
    from rich.table import Table

    from simsettle.exact import ExactSettlement

__all__ = [
    "format_benchmark",
    "format_cost_moments",
    "format_exact",
    "format_participants",
    "format_summary",
    "format_truncation",
    "safe_filename",
    "summary_table",
]

_QUANTILES = (0.05, 0.5, 0.95)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_filename(label: str) -> str:
    """Turn a design label into a safe file-name stem.

    Runs of characters other than ASCII letters, digits, ``_``, ``.`` and ``-`` become one
    ``_``; leading dots and underscores are dropped (no hidden files); an empty result becomes
    ``"design"``.

    Examples
    --------
    >>> safe_filename("MSSP basic/level E 2%")
    'MSSP_basic_level_E_2_'
    """
    stem = _UNSAFE.sub("_", label).lstrip("._")
    return stem[:100] or "design"


def _unique_stems(labels: Sequence[str]) -> list[str]:
    stems: list[str] = []
    seen: set[str] = set()
    for label in labels:
        stem = base = safe_filename(label)
        k = 2
        while stem.lower() in seen:  # case-insensitive file systems
            stem = f"{base}-{k}"
            k += 1
        seen.add(stem.lower())
        stems.append(stem)
    return stems


def _rows(ds: xr.Dataset) -> tuple[list[str], list[list[str]]]:
    """Header and formatted rows shared by the rich and plain-text tables.

    A sweep is summarised at its base point (:func:`simsettle.results.sweep_base`).
    """
    from simsettle.plot._style import format_money, format_percent

    s = summary(sweep_base(ds), quantiles=_QUANTILES)
    header = [
        "design",
        "mean",
        "MC SE of mean",
        *(f"P{round(q * 100):d}" for q in _QUANTILES),
        "P(pay losses)",
        "P(receive savings)",
    ]
    rows = []
    for label in s["design"].values:
        row = s.sel(design=label)
        rows.append(
            [
                str(label),
                format_money(float(row["mean"])),
                format_money(float(row["mean_se"])),
                *(format_money(float(row[quantile_name(q)])) for q in _QUANTILES),
                format_percent(float(row["prob_loss"]), 1),
                format_percent(float(row["prob_savings"]), 1),
            ]
        )
    return header, rows


def _caption(ds: xr.Dataset) -> str:
    n_trials = int(ds.sizes.get("trial", 0))
    n_years = int(ds.sizes.get("year", 1))
    years = f"{n_years} year" if n_years == 1 else f"{n_years} years"
    seed = ds.attrs.get("seed", "n/a")
    swept = [d for d in str(ds.attrs.get("sweep_dims", "")).split() if d in ds.dims]
    at = ""
    if swept:
        base = sweep_base(ds)
        at = (
            " At the base point of the sweep: "
            + ", ".join(
                f"{d}={base[d].values.item():g}"
                if isinstance(base[d].values.item(), float)
                else f"{d}={base[d].values.item()}"
                for d in swept
            )
            + "."
        )
    return (
        f"Settlement per performance year; {n_trials:,} trials × {years}, seed {seed}. "
        f"Positive = payer pays provider.{at}"
    )


def summary_table(ds: xr.Dataset) -> Table:
    """Settlement summary per design as a :class:`rich.table.Table`.

    Columns: design, mean, Monte Carlo standard error of the mean, P5, P50, P95 (money as
    ``$1.2M``), P(pay losses) and P(receive savings) (percentages).

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset with dims ``design``, ``trial``, ``year``.

    Returns
    -------
    rich.table.Table
        Ready for ``rich.console.Console().print``.
    """
    from rich.table import Table

    header, rows = _rows(ds)
    title = str(ds.attrs.get("title", "")) or "Settlement summary"
    table = Table(title=title, caption=_caption(ds))
    table.add_column(header[0], justify="left", no_wrap=True)
    for name in header[1:]:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(*row)
    return table


def format_summary(ds: xr.Dataset) -> str:
    """Settlement summary per design of a results Dataset ``ds`` as plain text: the columns
    of :func:`summary_table` in a title line, a fixed-width table (design left-aligned,
    numbers right-aligned) and a caption line, ending with a newline."""
    header, rows = _rows(ds)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    title = str(ds.attrs.get("title", "")) or "Settlement summary"
    rule = "-" * len(line(header))
    out = [title, line(header), rule, *(line(r) for r in rows), rule, _caption(ds)]
    return "\n".join(out) + "\n"


def _risk_score_line(m: dict[str, Any]) -> str:
    """The risk score's R-squared, where the results record it (older files do not)."""
    if m.get("risk_score_r2") is None:
        return ""
    accuracy = float(m.get("risk_score_accuracy", 1.0))
    known = (
        f"; the score captures {accuracy:.0%} of the variance of their log risk"
        if accuracy < 1.0
        else " (the score is exact: risk_score_accuracy 1)"
    )
    return (
        f" Risk score: explains {m['risk_score_r2']:.1%} of the variance of members' annual cost "
        f"(R-squared; prospective CMS-HCC about 12%), their true risk {m['true_risk_r2']:.1%}"
        f"{known}."
    )


def _roster_line(m: dict[str, Any]) -> str:
    """Who the provider knows and who the payer counts, where there is a discrepancy."""
    if m.get("settled_spend_share") is None:
        return ""

    def related(key: str) -> str:
        corr = float(m.get(key) or 0.0)
        return f" (correlation {corr:.2g} with their risk)" if corr else ""

    parts = []
    if m.get("payer_only_share"):
        parts.append(
            f"the provider does not know {m['payer_only_share']:.0%} of the members the payer "
            f"attributes{related('payer_only_correlation')}"
        )
    if m.get("provider_only_share"):
        parts.append(
            f"{m['provider_only_share']:.0%} of its own members are outside the settlement"
            f"{related('provider_only_correlation')}, which so counts "
            f"{m['settled_spend_share']:.1%} of the expected spend of the provider's members"
        )
    if m.get("leakage_share"):
        parts.append(f"{m['leakage_share']:.0%} of a known member's spend is out of its network")
    text = " Rosters: " + "; ".join(parts) + "."
    if m.get("programme_reach") is not None:
        text += (
            f" Its care-management programme avoids {m['programme_reach']:.0%} of what it "
            "would if it knew and reached every member (members in their first year)."
        )
    return text


def format_participants(ds: xr.Dataset) -> str:
    """One line on the practices that join or leave (from ``participant_active``), or ""
    where every practice takes part in every performance year."""
    if "participant_active" not in ds.data_vars:
        return ""
    active = ds["participant_active"]
    extra = [d for d in active.dims if d not in ("participant", "year")]
    if extra:  # the same schedule at every point of a sweep
        active = active.isel(dict.fromkeys(extra, 0))
    table = active.transpose("participant", "year").values.astype(bool)
    if table.all():
        return ""
    years = [int(y) for y in active["year"].values]
    changes = []
    for name, row in zip(active["participant"].values, table, strict=True):
        for k in range(1, len(years)):
            if row[k] != row[k - 1]:
                verb = "joins" if row[k] else "leaves"
                changes.append(f"{name} {verb} in {years[k]}")
    restated = bool(active.attrs.get("benchmark_restated", 1))
    rule = (
        "each performance year's benchmark is restated for that year's participants (CMS)"
        if restated
        else "the benchmark stays that of the first year's participants (not restated)"
    )
    return f"Participants: {'; '.join(changes)}; {rule}."


def format_exact(results: Sequence[ExactSettlement]) -> str:
    """The exact settlements of :func:`simsettle.exact.exact_settlement` as a plain table: the
    expected settlement and the bound its discretisation leaves, the chances of paying and of
    receiving, and the quantiles."""
    from simsettle.plot._style import format_money

    if not results:
        return ""
    qs = list(results[0].quantiles)
    head = ["design", "mean", "bound", "P(pay losses)", "P(receive savings)"]
    head += [f"P{100 * q:g}" for q in qs]
    rows = [
        [
            r.design,
            format_money(r.mean),
            (
                f"{format_money(r.bound[0])} to {format_money(r.bound[1])}"
                if r.bound[0] == r.bound[0]  # nan: not bracketed with these points
                else "n/a"
            ),
            f"{r.prob_loss:.1%}",
            f"{r.prob_savings:.1%}",
            *(format_money(r.quantiles[q]) for q in qs),
        ]
        for r in results
    ]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

    r0 = results[0]
    rule = "-" * len(line(head))
    notes = [
        f"Exact settlement of {r0.year} (no simulation): spend by FFT on a lattice of "
        f"${r0.step:,.2f}; each design by the engine's rules. Positive = payer pays provider.",
        "bound: where the true expectation lies (members' costs rounded down and up to the "
        f"lattice); the central value's own error is estimated at "
        f"{format_money(max(r.error_estimate for r in results))} or less; "
        f"mass outside the lattice {max(r.outside for r in results):.1e}.",
    ]
    return "\n".join([line(head), rule, *(line(r) for r in rows), rule, *notes])


def format_benchmark(ds: xr.Dataset) -> str:
    """One line on the benchmark rule (the ``benchmark_rule`` attribute), "" if absent."""
    rule = ds.attrs.get("benchmark_rule")
    return f"Benchmark: {rule}." if rule else ""


def format_benchmark_adjustments(ds: xr.Dataset) -> str:
    """One line on the benchmark's regional and prior savings adjustments at the sweep's base
    point: their means per person-year and which was applied, in the first performance year
    and the first year after each renewal; "" without them."""
    from simsettle.plot._style import format_money

    if "benchmark_adjustment" not in ds.data_vars:
        return ""
    view = sweep_base(ds)
    applied = view["benchmark_adjustment"]
    regional = view.get("regional_adjustment")
    prior = view.get("prior_savings_adjustment")
    years = [int(y) for y in view["year"].values]
    # The first year of each agreement: where the adjustment changes.
    starts = [0] + [
        i
        for i in range(1, len(years))
        if not (applied.isel(year=i) == applied.isel(year=i - 1)).all()
    ]
    parts = []
    for i in starts:
        a = applied.isel(year=i)
        text = f"{years[i]}: applied {format_money(float(a.mean()))}"
        details = []
        if regional is not None:
            r = regional.isel(year=i)
            details.append(
                f"regional {format_money(float(r.mean()))} (negative in "
                f"{float((r < 0).mean()):.0%})"
            )
        if prior is not None:
            p = prior.isel(year=i)
            details.append(
                f"prior savings {format_money(float(p.mean()))} (eligible in "
                f"{float((p > 0).mean()):.0%})"
            )
            if regional is not None:
                won = (p > 0) & (p >= regional.isel(year=i))
                details.append(f"prior savings chosen in {float(won.mean()):.0%}")
        parts.append(f"{text}; {', '.join(details)}" if details else text)
    return "Benchmark adjustments (mean per person-year over trials): " + "; ".join(parts) + "."


def format_capitation(ds: xr.Dataset) -> str:
    """One line on each design's capitation advance at the sweep's base point: the mean advance
    and the claims it replaced a year, and the 5%, 50% and 95% points of what is paid at
    settlement; "" without one."""
    from simsettle.plot._style import format_money

    if "capitation_advance" not in ds.data_vars:
        return ""
    view = sweep_base(ds)
    parts = []
    for d in view["design"].values:
        advance = view["capitation_advance"].sel(design=d)
        if not bool((advance != 0).any()):
            continue
        claims = view["capitated_claims"].sel(design=d)
        recon = view["capitation_reconciliation"].sel(design=d).values.ravel()
        p5, p50, p95 = (format_money(float(x)) for x in np.quantile(recon, [0.05, 0.5, 0.95]))
        parts.append(
            f"{d}: advance {format_money(float(advance.mean()))} a year against "
            f"{format_money(float(claims.mean()))} of claims it replaced; at settlement the "
            f"payer pays {p50} (median; 5% to 95%: {p5} to {p95}, < 0 the provider pays back)"
        )
    return "Capitation advance: " + "; ".join(parts) + "." if parts else ""


def format_assumptions(ds: xr.Dataset) -> str:
    """The assumptions the run rests on (the ``assumptions`` attribute), one per line after a
    heading; "" when there are none."""
    import json

    raw = ds.attrs.get("assumptions")
    items = [str(x) for x in json.loads(str(raw))] if raw else []
    if not items:
        return ""
    return "Assumptions (unverified values and simplifications):\n" + "\n".join(
        f"  - {item}" for item in items
    )


def format_stopping(ds: xr.Dataset) -> str:
    """One line on a run to a precision (``simulate(precision=...)``): the rule, the checks
    and whether it was met; "" for a run of a fixed number of trials."""
    import json

    from simsettle.plot._style import format_money

    rule = ds.attrs.get("precision_rule")
    if not rule:
        return ""
    checks = json.loads(str(ds.attrs.get("precision_checks", "[]")))
    path = " -> ".join(f"{c['trials']:,}" for c in checks)
    last = checks[-1] if checks else {"trials": 0, "worst_ratio": float("nan")}
    why = str(ds.attrs.get("precision_stopped", ""))
    if int(ds.attrs.get("precision_met", 0)):
        verdict = f"met at {last['trials']:,} trials"
    else:
        where = (
            "the next check would not fit in memory"
            if why == "memory"
            else f"the limit of {last['trials']:,} trials"
        )
        verdict = (
            f"NOT met: stopped at {last['trials']:,} trials ({where}) with the worst "
            f"standard error {last['worst_ratio']:.2f} times its target"
        )
    line = f"Stopping rule: {rule}. Checked at {path} trials; {verdict}."
    settings = json.loads(str(ds.attrs.get("precision_settings", "{}")))
    if settings.get("control_variates") and "expected_trend_index" in ds:
        # The rule read the control-variate estimates; the tables show the plain means.
        from simsettle.stats.control import controlled

        cv = controlled(sweep_base(ds), "mean")
        parts = [
            f"{d} {format_money(float(cv['value'].sel(design=d)))} "
            f"(se {format_money(float(cv['se'].sel(design=d)))})"
            for d in cv["design"].values[:8]
        ]
        line += (
            " The rule read the control-variate estimates of the means and probabilities, "
            "not the plain ones the tables show; the means with control variates: "
            + "; ".join(parts)
            + "."
        )
    return line


def format_truncation(ds: xr.Dataset) -> str:
    """One line on the truncation (thresholds and the share of spend left out), "" without."""
    import json

    raw = ds.attrs.get("truncation_thresholds")
    if not raw or "truncated_spend" not in ds.data_vars:
        return ""
    points = [float(x) for x in json.loads(str(raw))]
    years = [int(y) for y in ds["year"].values]
    view = sweep_base(ds)
    share = float(view["truncated_spend"].sum() / view["actual_spend"].sum())
    grown = (
        f" (${points[-1]:,.0f} in {years[-1]})"
        if len(points) > 1 and points[-1] != points[0]
        else ""
    )
    rule = ds.attrs.get("truncation_rule", "a threshold")
    return (
        f"Truncation: each member's annual cost above ${points[0]:,.0f} in {years[0]}{grown}, "
        f"{rule}, is left out of the benchmark and the settlement: {share:.2%} of spend."
    )


def format_cost_moments(ds: xr.Dataset) -> str:
    """One line on the cost model's achieved moments (from the ``cost_moments`` attribute)."""
    import json

    raw = ds.attrs.get("cost_moments")
    if not raw:
        return ""
    m = json.loads(str(raw))
    decedents = (
        f" Decedents: {m['decedent_members_share']:.1%} of members, "
        f"{m['decedent_spend_share']:.1%} of spend, {m['decedent_cost_ratio']:.1f} times a "
        "survivor's cost."
        if m.get("decedent_members_share")
        else ""
    )
    if m.get("top5_share") is None:
        cv = (
            f"CV {m['cv']:.2f}"
            if math.isfinite(m["cv"])
            else "no finite CV (the claim severity has no variance)"
        )
        claims = f" Claims: {m['claims']}." if m.get("claims") else ""
        text = f"Cost model: mean ${m['pmpm']:,.0f} PMPM, {cv}.{claims}{decedents}"
        return text + _risk_score_line(m) + _roster_line(m)
    text = (
        f"Cost model: mean ${m['pmpm']:,.0f} PMPM, CV {m['cv']:.2f}; the costliest "
        f"1% / 5% / 10% of member-years carry {m['top1_share']:.1%} / {m['top5_share']:.1%} / "
        f"{m['top10_share']:.1%} of spend; {m['zero_share']:.0%} have none."
    )
    if m.get("body"):
        text += f" Families: {m['body']}."
    text += decedents
    if m.get("preset"):

        def published(key: str) -> str:
            value = m.get(f"preset_{key}")
            return "n/a" if value is None else f"{value:.1%}"

        text += (
            f" Preset {m['preset']} ({m['preset_label']}; {m['preset_source']}): published "
            f"{published('top1_share')} / {published('top5_share')} / "
            f"{published('top10_share')}."
        )
    if m.get("persistence"):
        text += (
            f" Persistence {m['persistence']:.2g}: {m['persistence_top1_retained']:.1%} of the "
            "costliest 1% stay there the next year (MEPS, US population: 14% to 20%); a "
            f"member's cost a year apart correlates {m['persistence_corr']:.2f}."
        )
    text += _risk_score_line(m) + _roster_line(m)
    if m.get("warning"):
        text += f"\nWarning: {m['warning']}."
    return text
