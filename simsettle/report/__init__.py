"""Reports for risk committees: figure files and summary tables.

``import simsettle.report`` imports neither matplotlib nor rich; each function imports what it
needs when called.
"""

from simsettle.report.summary import (
    format_cost_moments,
    format_summary,
    safe_filename,
    summary_table,
    write_report,
)

__all__ = [
    "format_cost_moments",
    "format_summary",
    "safe_filename",
    "summary_table",
    "write_report",
]
