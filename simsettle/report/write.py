"""Write the whole committee report into a directory: HTML page, PDF, chart PNGs and, when
asked, its tables as CSV files and an Excel workbook."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import xarray as xr

from simsettle._atomic import write_bytes
from simsettle._version import __version__
from simsettle.report.content import Report, _select_designs, build_report
from simsettle.report.export import Column, dataset_columns, write_csv, write_xlsx
from simsettle.report.html import write_html
from simsettle.report.pdf import write_pdf
from simsettle.report.sensitivity import measure
from simsettle.results import sweep_base

__all__ = ["report_tables", "write_report"]


def report_tables(
    ds: xr.Dataset, report: Report, *, design: str | Sequence[str] | None = None
) -> dict[str, list[Column]]:
    """The report's tables as numbers (unrounded, with their standard errors and units):
    ``statistics`` (every statistic of every design), ``decision`` (the rule's verdicts
    and each design's difference from the baseline), ``paired`` (each design against the
    baseline on the common random numbers) and ``sensitivity`` (what would change the
    answer), the last three when the report has two or more designs."""
    from simsettle.stats import decide, describe, paired

    view = sweep_base(_select_designs(ds, design))
    stats = describe(view, levels=(0.95, 0.99), quantiles=(0.05, 0.5, 0.95)).compute()
    tables = {"statistics": dataset_columns(stats, ["design", *stats.data_vars])}
    r = report.recommendation
    if r is None:
        return tables
    party: Literal["provider", "payer"] = "payer" if r.party == "payer" else "provider"
    var = measure(view, party)  # what the first page weighs for the party
    decision = decide(view, party=party, baseline=r.baseline, var=var)
    tables["decision"] = dataset_columns(decision, ["rank", "design", *decision.data_vars])
    pairs = paired(view, r.baseline, var=var)
    tables["paired"] = dataset_columns(pairs, ["design", *pairs.data_vars])
    if r.inputs:
        rows = r.inputs
        units = ["USD" if s.units == "USD" else "" for s in rows]
        tables["sensitivity"] = [
            Column("input", "", [s.label for s in rows]),
            Column("base", "", [s.base for s in rows]),
            Column("input_units", "", units),
            Column("low", "", [s.low.value for s in rows]),
            Column("first_at_low", "", [s.low.first for s in rows]),
            Column("mean_at_low", "USD", [s.low.mean for s in rows]),
            Column("mean_at_low_se", "USD", [s.low.mean_se for s in rows]),
            Column("high", "", [s.high.value for s in rows]),
            Column("first_at_high", "", [s.high.first for s in rows]),
            Column("mean_at_high", "USD", [s.high.mean for s in rows]),
            Column("mean_at_high_se", "USD", [s.high.mean_se for s in rows]),
            Column("first_at_base", "", [s.base_first for s in rows]),
        ]
    return tables


def write_report(
    ds: xr.Dataset,
    out_dir: str | Path,
    *,
    design: str | Sequence[str] | None = None,
    pdf: bool = True,
    png: bool = True,
    money_precision: float = 0.05,
    prob_precision: float = 0.02,
    party: Literal["provider", "payer"] = "provider",
    sensitivity: bool = True,
    csv: bool = False,
    xlsx: bool = False,
) -> list[Path]:
    """Write the committee report: ``report.html``, ``report.pdf`` and the charts as PNG.

    The charts are drawn once and used three times: embedded in the HTML page, placed in the
    PDF and written as ``<chart>.png`` files (for slides) at
    :data:`~simsettle.report.CHART_DPI` dpi, without software metadata, so the same Dataset
    gives the same bytes. Chart files are
    ``distribution_<design>.png`` for each design (the label made safe by
    :func:`~simsettle.report.safe_filename`), ``exceedance.png``, ``compare.png`` and, when the
    results have what they need, ``payoff.png``, ``fan.png``, ``participants.png``,
    ``tornado.png`` and ``heatmap.png``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset with dims ``design``, ``trial``, ``year``.
    out_dir : str or pathlib.Path
        Output directory; created (with parents) if missing. Files of the same names are
        overwritten; each is written whole or not at all.
    design : str or sequence of str, optional
        Only these designs; ``None`` for all.
    pdf, png : bool, default True
        Also write the PDF / the chart PNG files.
    party : {"provider", "payer"}, default "provider"
        Whose decision the first page leads with.
    sensitivity : bool, default True
        Work out what would change the answer (see :func:`~simsettle.report.build_report`).
    csv, xlsx : bool, default False
        Also write the report's tables (:func:`report_tables`) as ``<table>.csv`` files /
        as ``report.xlsx``, one sheet per table with a notes sheet of the run's facts.
    money_precision, prob_precision : float
        Precision standard of the convergence verdicts (see
        :func:`~simsettle.report.build_report`).

    Returns
    -------
    list of pathlib.Path
        The files written: ``report.html``, then ``report.pdf``, then the PNGs in report order.

    Raises
    ------
    ValueError
        If ``ds`` is not a results Dataset, or for an unknown design.
    """
    report = build_report(
        ds,
        design=design,
        money_precision=money_precision,
        prob_precision=prob_precision,
        party=party,
        sensitivity=sensitivity,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_html(report, out / "report.html")]
    if pdf:
        paths.append(write_pdf(report, out / "report.pdf"))
    if png:
        for chart in report.charts:
            path = out / f"{chart.key}.png"
            write_bytes(path, chart.png)
            paths.append(path)
    if csv or xlsx:
        tables = report_tables(ds, report, design=design)
        for name, columns in tables.items() if csv else ():
            paths.append(write_csv(columns, out / f"{name}.csv"))
        if xlsx:
            notes = {
                "title": report.title,
                "run": report.subtitle,
                **dict(report.facts),
                "rule": "" if report.recommendation is None else report.recommendation.rule,
                "units": "column headers give units in brackets; other columns are "
                "fractions, counts or labels",
                "simsettle": __version__,
            }
            paths.append(write_xlsx(tables, out / "report.xlsx", notes))
    return paths
