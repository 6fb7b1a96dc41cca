"""The committee report as one self-contained HTML page.

:func:`render_html` lays a :class:`~simsettle.report.content.Report` out as HTML5 with the
standard library only: the CSS is inline, the charts are PNG ``data:`` URIs, and there is no
JavaScript and no external resource, so the file can be mailed, archived or opened offline.
Every text from the results (design names, the scenario, file names, the run command) is
escaped with :func:`html.escape`. A print style sheet (US Letter) lets a browser print the page
as well.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from string import Template

import xarray as xr

from simsettle._atomic import write_bytes
from simsettle.report._files import target_file
from simsettle.report.content import Chart, DesignText, Estimate, KeyTable, Report, build_report
from simsettle.report.decision import Recommendation

__all__ = ["render_html", "write_html"]

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef0f2; color: #1c1d1f;
  font: 15px/1.5 "Helvetica Neue", Helvetica, Arial, "DejaVu Sans", "Liberation Sans", sans-serif; }
main { max-width: 1140px; margin: 0 auto; padding: 36px 44px 40px; background: #fff; }
h1 { font-size: 27px; line-height: 1.25; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 38px 0 12px; padding-bottom: 5px; border-bottom: 2px solid #0072B2; }
h3 { font-size: 15.5px; margin: 20px 0 4px; overflow-wrap: anywhere; }
p { margin: 6px 0 10px; max-width: 900px; }
.subtitle { color: #4a4d52; margin: 0 0 8px; font-size: 15.5px; }
.note { color: #4a4d52; font-size: 14px; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px;
  margin-right: 7px; vertical-align: baseline; }
code, pre, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
table.facts { font-size: 14px; }
table.facts th { text-align: left; font-weight: 600; color: #3b3e43; padding: 3px 18px 3px 0;
  vertical-align: top; white-space: nowrap; }
table.facts td { padding: 3px 0; overflow-wrap: anywhere; }
table.key { width: 100%; margin: 10px 0 4px; font-size: 14px; }
table.key caption { caption-side: bottom; text-align: left; color: #4a4d52; font-size: 13px;
  padding-top: 7px; line-height: 1.45; }
table.key th, table.key td { padding: 6px 10px; border-bottom: 1px solid #dcdfe3; }
table.key thead th { text-align: right; font-size: 12.5px; font-weight: 600; color: #33363a;
  border-bottom: 2px solid #9aa0a6; vertical-align: bottom; line-height: 1.3; }
table.key thead th:first-child { text-align: left; }
table.key tbody th { text-align: left; font-weight: 600; vertical-align: top; }
.label { display: inline-flex; align-items: baseline; overflow-wrap: break-word; }
.label .swatch { flex: none; }
table.key td { text-align: right; white-space: nowrap; vertical-align: top; }
table.key td .v { display: block; font-weight: 600; }
table.key td .se { display: block; font-size: 12px; color: #60646a; }
table.key td.empty { color: #8a8f96; }
table.verdicts thead th { text-align: left; }
table.verdicts td { white-space: normal; text-align: left; }
table.verdicts td.flag { white-space: nowrap; }
ul.reasons { margin: 8px 0 10px; padding-left: 22px; max-width: 900px; }
ul.reasons li { margin: 3px 0; }
#recommendation table.key td { white-space: normal; }
.ok { color: #00704a; font-weight: 600; }
.short { color: #b23c00; font-weight: 600; }
.tablewrap { overflow-x: auto; }
figure { margin: 34px 0 10px; break-inside: avoid; page-break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 13.5px; color: #33363a; margin: 10px auto 0; max-width: 900px;
  line-height: 1.5; }
figcaption strong { color: #1c1d1f; }
pre { background: #f5f6f7; border: 1px solid #e1e4e8; border-radius: 4px; padding: 12px 16px;
  font-size: 12.5px; line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere; }
footer { margin-top: 34px; padding-top: 10px; border-top: 1px solid #dcdfe3; color: #6a6e74;
  font-size: 12.5px; }
@page { size: letter; margin: 0.55in; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table.key, .design { break-inside: avoid; page-break-inside: avoid; }
}
"""

_PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="$generator">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
<header>
<h1>$title</h1>
<p class="subtitle">$subtitle</p>
</header>
$recommendation
<section id="run">
<h2>The run</h2>
<table class="facts">
<tbody>
$facts
</tbody>
</table>
</section>
<section id="summary">
<h2>In plain words</h2>
<p class="note">$years_note $sign_note</p>
$paragraphs
</section>
<section id="figures">
<h2>Key figures</h2>
$tables
</section>
<section id="precision">
<h2>Monte Carlo precision</h2>
<p class="note">$precision_note</p>
$verdicts
</section>
$charts
$scenario
<footer>$footer</footer>
</main>
</body>
</html>
"""
)


def _fact_row(label: str, value: str) -> str:
    cls = ' class="mono"' if label == "Scenario SHA-256" else ""
    return f'<tr><th scope="row">{escape(label)}</th><td{cls}>{escape(value)}</td></tr>'


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{escape(color)}"></span>'


def _label(design: str, color: str) -> str:
    """A design's name with its colour swatch, the swatch kept beside the first line.

    A long name may break after ``_`` or ``-`` (``<wbr>``), so that it neither squeezes the
    number columns nor runs into them.
    """
    name = escape(design).replace("_", "_<wbr>").replace("-", "-<wbr>")
    return f'<span class="label">{_swatch(color)}<span>{name}</span></span>'


def _paragraph(d: DesignText) -> str:
    return (
        f'<section class="design">\n<h3>{_swatch(d.color)}{escape(d.design)}</h3>\n'
        f"<p>{escape(d.paragraph)}</p>\n</section>"
    )


def _cell(e: Estimate) -> str:
    if e.se is None:
        title = f' title="{escape(e.note)}"' if e.note else ""
        return f'<td class="empty"{title}>{escape(e.text)}</td>'
    return f'<td><span class="v">{escape(e.text)}</span><span class="se">{escape(e.se)}</span></td>'


def _table(t: KeyTable, colors: dict[str, str]) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in t.columns)
    body = "\n".join(
        '<tr><th scope="row">'
        + (_label(d, colors.get(d, "#777")) if t.row_label == "Design" else escape(d))
        + "</th>"
        + "".join(_cell(c) for c in cells)
        + "</tr>"
        for d, cells in t.rows
    )
    return (
        f'<h3 id="table-{escape(t.key)}">{escape(t.title)}</h3>\n'
        f'<div class="tablewrap"><table class="key" data-table="{escape(t.key)}">\n'
        f"<caption>{escape(t.caption)}</caption>\n"
        f'<thead><tr><th scope="col">{escape(t.row_label)}</th>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )


def _recommendation(r: Recommendation, colors: dict[str, str], figure: str) -> str:
    """The first section: the decision in words, the designs side by side, why the dominated
    ones are, the frontier chart and what would change the answer."""
    parts = [
        '<section id="recommendation">',
        "<h2>Recommendation</h2>",
        "<p>" + " ".join(escape(t) for t in r.headline) + "</p>",
        _table(r.table, colors),
    ]
    if r.reasons:
        parts.append('<ul class="reasons">')
        parts += [f"<li>{escape(t)}</li>" for t in r.reasons]
        parts.append("</ul>")
    parts.append(f'<p class="note"><strong>Rule.</strong> {escape(r.rule)}</p>')
    if figure:
        parts.append(figure)
    if r.sensitivity is not None:
        parts.append("<p>" + " ".join(escape(t) for t in r.sensitivity_text) + "</p>")
        parts.append(_table(r.sensitivity, colors))
    elif r.sensitivity_note:
        parts.append(f'<p class="note">{escape(r.sensitivity_note)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _verdicts(designs: tuple[DesignText, ...]) -> str:
    rows = []
    for d in designs:
        if d.converged:
            flag = '<span class="ok">Enough</span>'
        elif d.trials_needed is not None:
            flag = f'<span class="short">About {d.trials_needed:,} needed</span>'
        else:
            flag = '<span class="short">Not enough</span>'
        rows.append(
            f'<tr><th scope="row">{_label(d.design, d.color)}</th>'
            f'<td class="flag">{flag}</td><td>{escape(d.verdict)}</td></tr>'
        )
    return (
        '<div class="tablewrap"><table class="key verdicts" data-table="precision">\n'
        '<thead><tr><th scope="col">Design</th><th scope="col">Trials</th>'
        '<th scope="col">Verdict</th></tr></thead>\n'
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table></div>"
    )


def _figure(c: Chart, number: int) -> str:
    data = base64.b64encode(c.png).decode("ascii")
    # CSS pixels are 1/96 inch: the chart's own size, its PNG at twice that density
    width, height = round(c.width_in * 96), round(c.height_in * 96)
    return (
        f'<figure id="chart-{escape(c.key)}">\n'
        f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
        f'alt="{escape(c.title)}">\n'
        f"<figcaption><strong>Figure {number}. {escape(c.title)}.</strong> "
        f"{escape(c.caption)}</figcaption>\n</figure>"
    )


def render_html(report: Report) -> str:
    """The report as one HTML5 document (a string).

    Parameters
    ----------
    report : Report
        From :func:`simsettle.report.build_report`.

    Returns
    -------
    str
        The page: inline CSS, charts as ``data:image/png;base64`` images, no script and no
        external resource.
    """
    colors = {d.design: d.color for d in report.designs}
    numbered = list(enumerate(report.charts, start=1))
    first = [(i, c) for i, c in numbered if c.key == "frontier"]
    rest = [(i, c) for i, c in numbered if c.key != "frontier"]
    charts = ""
    if rest:
        figures = "\n".join(_figure(c, i) for i, c in rest)
        charts = f'<section id="charts">\n<h2>Charts</h2>\n{figures}\n</section>'
    recommendation = ""
    if report.recommendation is not None:
        recommendation = _recommendation(
            report.recommendation, colors, "\n".join(_figure(c, i) for i, c in first)
        )
    scenario = ""
    if report.scenario_yaml is not None:
        scenario = (
            '<section id="scenario">\n<h2>The scenario</h2>\n'
            '<p class="note">The scenario file as run (its SHA-256 is in the run facts).</p>\n'
            f"<pre>{escape(report.scenario_yaml)}</pre>\n</section>"
        )
    return _PAGE.substitute(
        generator=escape(report.generator),
        title=escape(report.title),
        recommendation=recommendation,
        css=_CSS,
        subtitle=escape(report.subtitle),
        facts="\n".join(_fact_row(k, v) for k, v in report.facts),
        years_note=escape(report.years_note),
        sign_note=escape(report.sign_note),
        paragraphs="\n".join(_paragraph(d) for d in report.designs),
        tables="\n".join(_table(t, colors) for t in report.tables),
        precision_note=escape(report.precision_note),
        verdicts=_verdicts(report.designs),
        charts=charts,
        scenario=scenario,
        footer=escape(
            f"Written by {report.generator}. Every figure is a Monte Carlo estimate; ± gives "
            "one standard error."
        ),
    )


def write_html(report: Report | xr.Dataset, path: str | Path = "report.html") -> Path:
    """Write the report as one self-contained HTML file.

    Parameters
    ----------
    report : Report or xarray.Dataset
        A :class:`Report` from :func:`simsettle.report.build_report`, or a results Dataset
        (then built with the defaults).
    path : str or pathlib.Path, default "report.html"
        The file, or a directory (an existing one, or a name without suffix) to write
        ``report.html`` into; parents are created.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if isinstance(report, xr.Dataset):
        report = build_report(report)
    out = target_file(path, "report.html")
    page = render_html(report).encode("utf-8")
    write_bytes(out, page)
    return out
