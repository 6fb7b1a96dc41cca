"""Reports for risk committees: a self-contained HTML page, its PDF, chart files, tables.

:func:`write_report` writes all of it into a directory; :func:`build_report` works out the
content once (figures with their Monte Carlo standard errors, the plain-language paragraph and
precision verdict of each design, the charts) and :func:`render_html` / :func:`write_html` and
:func:`write_pdf` lay it out. :func:`summary_table` (rich) and :func:`format_summary` (plain
text) are the terminal summaries.

``import simsettle.report`` imports neither matplotlib nor rich; each function imports what it
needs when called.
"""

from simsettle.report.content import CHART_DPI, Report, build_report
from simsettle.report.html import render_html, write_html
from simsettle.report.pdf import write_pdf
from simsettle.report.summary import (
    format_assumptions,
    format_benchmark,
    format_benchmark_adjustments,
    format_capitation,
    format_cost_moments,
    format_participants,
    format_stopping,
    format_summary,
    format_truncation,
    safe_filename,
    summary_table,
)
from simsettle.report.write import write_report

__all__ = [
    "CHART_DPI",
    "Report",
    "build_report",
    "format_assumptions",
    "format_benchmark",
    "format_benchmark_adjustments",
    "format_capitation",
    "format_cost_moments",
    "format_participants",
    "format_stopping",
    "format_summary",
    "format_truncation",
    "render_html",
    "safe_filename",
    "summary_table",
    "write_html",
    "write_pdf",
    "write_report",
]
