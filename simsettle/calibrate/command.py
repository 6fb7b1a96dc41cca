"""What ``simsettle calibrate`` does, apart from parsing its options (kept out of cli.py).

Exit codes: 0 ok; 1 the fit or a write failed; 2 bad input (a file's rows or columns, or an
option).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

__all__ = ["parse_columns", "run_calibrate"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def parse_columns(specs: Sequence[str]) -> dict[str, str]:
    """``["allowed=PAID+COPAY", ...]`` as ``{"allowed": "PAID+COPAY"}``."""
    out: dict[str, str] = {}
    for spec in specs:
        name, sep, column = spec.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ValueError(f"--column takes NAME=COLUMN (for example allowed=paid); got {spec!r}")
        out[name.strip()] = column.strip()
    return out


_METHODS: dict[str, Literal["auto", "likelihood", "concentration"]] = {
    "auto": "auto",
    "likelihood": "likelihood",
    "concentration": "concentration",
}


def run_calibrate(
    claims: Path,
    output: Path,
    *,
    enrollment: Path | None,
    report: Path | None,
    write_report: bool,
    columns: Sequence[str],
    enrollment_columns: Sequence[str],
    risk_sigma: float | None,
    risk_persistence: float | None,
    trend_sd: float | None,
    tail_threshold: float | None,
    method: str,
    share_tolerance: float,
    confidence: float,
    name: str | None,
    echo: Callable[[str], None],
    err: Callable[[str], None],
) -> int:
    """Calibrate, write the scenario and the report, print the summary; the exit code."""
    from simsettle.calibrate.data import CalibrationDataError
    from simsettle.calibrate.fit import calibrate
    from simsettle.errors import ScenarioError

    for path, what in ((claims, "claims"), (enrollment, "enrolment")):
        if path is not None and not path.is_file():
            err(f"{path}: no such {what} file")
            return EXIT_USAGE
    if output.exists() and output.is_dir():
        err(f"{output}: is a folder; give the scenario file to write")
        return EXIT_USAGE
    if method not in _METHODS:
        err(f"error: --method must be auto, likelihood or concentration; got {method!r}")
        return EXIT_USAGE
    if not 0.0 < share_tolerance < 1.0:
        err(f"error: --share-tolerance must be between 0 and 1; got {share_tolerance}")
        return EXIT_USAGE
    try:
        cols = parse_columns(columns)
        ecols = parse_columns(enrollment_columns)
    except ValueError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    try:
        cal = calibrate(
            claims,
            enrollment=enrollment,
            columns=cols,
            enrollment_columns=ecols,
            risk_sigma=risk_sigma,
            risk_persistence=risk_persistence,
            trend_sd=trend_sd,
            tail_threshold=tail_threshold,
            method=_METHODS[method],
            share_tolerance=share_tolerance,
            confidence=confidence,
            name=name,
        )
    except CalibrationDataError as exc:
        for data_issue in exc.issues:
            err(str(data_issue))
        return EXIT_USAGE
    except ScenarioError as exc:  # the fitted values broke a schema rule
        err("calibration failed: the fitted scenario is not valid:")
        for issue in exc.issues:
            err(f"  {issue}")
        return EXIT_FAILURE
    except ValueError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except (ArithmeticError, RuntimeError, MemoryError) as exc:
        err(f"calibration failed: {type(exc).__name__}: {exc}")
        return EXIT_FAILURE
    report_path = report if report is not None else output.with_name(output.stem + ".report.html")
    try:
        cal.write_scenario(output)
        if write_report:
            cal.write_report(report_path, scenario_path=str(output))
    except OSError as exc:
        err(f"could not write: {exc}")
        return EXIT_FAILURE
    echo(cal.summary().rstrip("\n"))
    echo(f"wrote {output}" + (f" and {report_path}" if write_report else ""))
    return EXIT_OK
