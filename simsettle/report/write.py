"""Write the whole committee report into a directory: HTML page, PDF and chart PNGs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from simsettle._atomic import write_bytes
from simsettle.report.content import build_report
from simsettle.report.html import write_html
from simsettle.report.pdf import write_pdf

__all__ = ["write_report"]


def write_report(
    ds: xr.Dataset,
    out_dir: str | Path,
    *,
    design: str | Sequence[str] | None = None,
    pdf: bool = True,
    png: bool = True,
    money_precision: float = 0.05,
    prob_precision: float = 0.02,
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
        ds, design=design, money_precision=money_precision, prob_precision=prob_precision
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
    return paths
