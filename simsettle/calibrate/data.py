"""Reading member-level claims and enrolment for calibration, with errors naming row and column.

The claims file (CSV, or Parquet when pyarrow is installed) has one row per member and year, or
several (claim lines, or one row per member-month) that are added up. Columns, matched by name
without regard to case, spaces or dashes, through a few usual aliases, or named explicitly by a
``columns`` mapping (``{"allowed": "MEDREIMB_IP+MEDREIMB_OP+MEDREIMB_CAR"}``: a ``+`` adds
columns):

``member_id``
    Member identifier (text). Required.
``year``
    Calendar year (integer; ``2008.0`` is read as 2008). Optional: without it the file is one
    year.
``allowed``
    Allowed cost of the row (USD, at least 0). Required.
``member_months``
    Months of enrolment in the year (0 to 12; 0 drops the row, counted in the notes). Required
    unless an enrolment file gives the months, or the file is monthly.
``month``
    Month of the row (1 to 12, or ``YYYY-MM``, which also gives the year). Optional: with it the
    file is monthly, one row per enrolled member-month (include months without cost), and the
    enrolled months give each member-year's months and when in the year it joined or left.
``risk_score``
    Member risk score (positive; HCC-like, any scale: it is normalised to mean 1). Optional.

The enrolment file has one row per enrolment span, in either of two layouts: ``member_id,
year, start_month, end_month`` (first and last enrolled month of the year, 1 to 12; fractions
give exact times: a member who joins a third of the way into March has ``start_month`` 3.33,
one who leaves halfway through May ``end_month`` 4.5) or
``member_id, start_date, end_date`` (ISO dates ``YYYY-MM-DD`` or ``YYYY-MM``; an empty end date
means enrolled through the last year of the claims). With an enrolment file, member-years
enrolled without claims cost nothing, and claims outside enrolment are dropped (counted in the
notes).

Every problem is reported as ``FILE:ROW: column 'NAME': message``, ROW being the line of a CSV
file (the header is line 1) or the 1-based row of a Parquet file; up to 20 problems are listed.
"""

from __future__ import annotations

import calendar
import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simsettle._arrays import F8, I8

__all__ = [
    "CalibrationDataError",
    "DataIssue",
    "MemberYears",
    "member_years",
    "read_claims",
    "read_enrollment",
]

#: Most problems listed in one error.
MAX_ISSUES = 20

CLAIMS_COLUMNS = ("member_id", "year", "allowed", "member_months", "month", "risk_score")
ENROLLMENT_COLUMNS = ("member_id", "year", "start_month", "end_month", "start_date", "end_date")

_ALIASES: dict[str, tuple[str, ...]] = {
    "member_id": ("member_id", "memberid", "member", "id", "person_id", "patient_id"),
    "year": ("year", "calendar_year", "service_year", "cy"),
    "allowed": ("allowed", "allowed_cost", "allowed_amount", "cost", "total_cost", "spend"),
    "member_months": ("member_months", "membermonths", "months", "mm", "exposure_months"),
    "month": ("month", "service_month", "yearmonth", "year_month"),
    "risk_score": ("risk_score", "riskscore", "risk", "score", "hcc_score", "raf"),
    "start_month": ("start_month", "first_month", "from_month"),
    "end_month": ("end_month", "last_month", "to_month", "thru_month"),
    "start_date": ("start_date", "start", "effective_date", "from_date", "eff_date"),
    "end_date": ("end_date", "end", "termination_date", "term_date", "thru_date", "to_date"),
}


@dataclass(frozen=True)
class DataIssue:
    """One problem in an input file: ``row`` 0 means the file as a whole."""

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.row <= 0 else f"{self.file}:{self.row}"
        return (
            f"{where}: column {self.column!r}: {self.message}"
            if self.column
            else (f"{where}: {self.message}")
        )


class CalibrationDataError(ValueError):
    """An input file that cannot be calibrated from; ``issues`` lists the problems found."""

    def __init__(self, issues: Sequence[DataIssue]) -> None:
        self.issues: tuple[DataIssue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid input")


# --------------------------------------------------------------------------------------------
# Tables: rows of text cells with their row numbers


@dataclass
class _Table:
    """A file's columns as text, with each row's number for messages."""

    path: str
    header: list[str]
    columns: dict[str, list[str]]
    rows: list[int]

    def __len__(self) -> int:
        return len(self.rows)


def _read_csv(path: Path) -> _Table:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CalibrationDataError([DataIssue(str(path), 0, "", f"cannot open: {exc}")]) from None
    with handle:
        sample = handle.read(65536)
        handle.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(handle, dialect)
        try:
            header = next(reader)
        except StopIteration:
            raise CalibrationDataError([DataIssue(str(path), 0, "", "the file is empty")]) from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CalibrationDataError(
                [DataIssue(str(path), 1, "", f"not a readable CSV file: {exc}")]
            ) from None
        header = [h.strip() for h in header]
        cols: list[list[str]] = [[] for _ in header]
        rows: list[int] = []
        issues: list[DataIssue] = []
        try:
            for record in reader:
                line = reader.line_num
                if not record or all(not c.strip() for c in record):
                    continue
                if len(record) != len(header):
                    issues.append(
                        DataIssue(
                            str(path),
                            line,
                            "",
                            f"{len(record)} fields where the header has {len(header)}",
                        )
                    )
                    if len(issues) >= MAX_ISSUES:
                        break
                    continue
                rows.append(line)
                for j, cell in enumerate(record):
                    cols[j].append(cell.strip())
        except (csv.Error, UnicodeDecodeError) as exc:
            issues.append(
                DataIssue(str(path), reader.line_num, "", f"not a readable CSV file: {exc}")
            )
        if issues:
            raise CalibrationDataError(issues)
    return _Table(str(path), header, dict(zip(header, cols, strict=True)), rows)


def _read_parquet(path: Path) -> _Table:
    try:
        import pyarrow.parquet as pq  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        raise CalibrationDataError(
            [
                DataIssue(
                    str(path),
                    0,
                    "",
                    "reading Parquet needs pyarrow: pip install 'simsettle[parquet]' "
                    "(or save the file as CSV)",
                )
            ]
        ) from None
    try:
        data = pq.read_table(str(path)).to_pydict()
    except Exception as exc:  # pyarrow raises its own exception types
        raise CalibrationDataError(
            [DataIssue(str(path), 0, "", f"not a readable Parquet file: {exc}")]
        ) from None
    header = [str(k) for k in data]
    n = len(next(iter(data.values()))) if data else 0
    columns = {str(k): ["" if v is None else str(v) for v in values] for k, values in data.items()}
    return _Table(str(path), header, columns, list(range(1, n + 1)))


def _read_table(path: str | Path) -> _Table:
    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        return _read_parquet(p)
    return _read_csv(p)


def _norm(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower())


def _resolve(
    table: _Table, wanted: Sequence[str], mapping: Mapping[str, str]
) -> dict[str, list[str]]:
    """Source column names (one, or several to add) for each wanted column found."""
    by_norm = {_norm(h): h for h in table.header}
    out: dict[str, list[str]] = {}
    issues = []
    for name, spec in mapping.items():
        if name not in wanted:
            issues.append(
                DataIssue(
                    table.path,
                    0,
                    name,
                    f"not a column simsettle reads; expected one of {', '.join(wanted)}",
                )
            )
            continue
        parts = [p.strip() for p in spec.split("+")]
        missing = [p for p in parts if p not in table.header and _norm(p) not in by_norm]
        if missing:
            issues.append(
                DataIssue(
                    table.path,
                    1,
                    name,
                    f"mapped to {spec!r}, but the file has no column "
                    f"{' or '.join(repr(m) for m in missing)}; its columns are "
                    f"{', '.join(table.header)}",
                )
            )
            continue
        out[name] = [p if p in table.header else by_norm[_norm(p)] for p in parts]
    if issues:
        raise CalibrationDataError(issues)
    for name in wanted:
        if name in out:
            continue
        for alias in _ALIASES.get(name, (name,)):
            if alias in by_norm:
                out[name] = [by_norm[alias]]
                break
    return out


def _missing(table: _Table, name: str, why: str = "") -> CalibrationDataError:
    aliases = ", ".join(_ALIASES.get(name, (name,)))
    return CalibrationDataError(
        [
            DataIssue(
                table.path,
                1,
                name,
                f"missing{why}: no column named {aliases}; the file's columns are "
                f"{', '.join(table.header)} (name one with --column {name}=COLUMN)",
            )
        ]
    )


class _Issues:
    def __init__(self) -> None:
        self.items: list[DataIssue] = []

    def add(self, issue: DataIssue) -> None:
        if len(self.items) < MAX_ISSUES:
            self.items.append(issue)

    def at(self, table: _Table, i: int, column: str, message: str) -> None:
        """Add ``message`` about ``column`` of the ``i``-th data row of ``table``."""
        self.add(DataIssue(table.path, table.rows[i], column, message))

    def raise_any(self) -> None:
        if self.items:
            raise CalibrationDataError(sorted(self.items, key=lambda i: i.row))


def _numbers(
    table: _Table,
    name: str,
    sources: list[str],
    issues: _Issues,
    *,
    lo: float | None = None,
    lo_open: bool = False,
    hi: float | None = None,
    what: str = "",
) -> F8:
    """Column ``name`` as floats (several sources are added), with a problem per bad cell."""
    out = np.zeros(len(table), dtype=np.float64)
    bad_rows: set[int] = set()
    for src in sources:
        for i, cell in enumerate(table.columns[src]):
            try:
                value = float(cell) if cell else math.nan
            except ValueError:
                issues.at(table, i, src, f"not a number: {cell!r}")
                bad_rows.add(i)
                continue
            if not math.isfinite(value):
                issues.at(
                    table, i, src, "empty" if cell == "" else f"not a finite number: {cell!r}"
                )
                bad_rows.add(i)
                continue
            out[i] += value
    label = "+".join(sources)
    for i, value in enumerate(out):
        if i in bad_rows:
            continue
        bad = (lo is not None and (value < lo or (lo_open and value == lo))) or (
            hi is not None and value > hi
        )
        if bad:
            text = f"{what or name} must be {_range_text(lo, lo_open, hi)}; got {value:g}"
            if lo == 0.0 and value < 0.0:
                text = f"negative {what or name} ({value:g}); it must be "
                text += _range_text(lo, lo_open, hi)
            issues.at(table, i, label, text)
    return out


def _range_text(lo: float | None, lo_open: bool, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:g} and {hi:g}" + (f" (above {lo:g})" if lo_open else "")
    if lo is not None:
        return f"above {lo:g}" if lo_open else f"at least {lo:g}"
    return f"at most {hi:g}"


def _years(table: _Table, src: str, issues: _Issues) -> I8:
    out = np.zeros(len(table), dtype=np.int64)
    for i, cell in enumerate(table.columns[src]):
        try:
            value = float(cell)
        except ValueError:
            issues.at(table, i, src, f"not a year: {cell!r}")
            continue
        if not (math.isfinite(value) and value.is_integer() and 1900 <= value <= 2200):
            issues.at(table, i, src, f"not a year (a whole number from 1900 to 2200): {cell!r}")
            continue
        out[i] = int(value)
    return out


_YM = re.compile(r"^(\d{4})-?(\d{1,2})(?:-\d{1,2})?(?:[T ].*)?$")


def _months_of(table: _Table, src: str, issues: _Issues) -> tuple[I8, I8 | None]:
    """Month numbers 1-12, and years where the cells are ``YYYY-MM``."""
    month = np.zeros(len(table), dtype=np.int64)
    year = np.zeros(len(table), dtype=np.int64)
    with_year = 0
    for i, cell in enumerate(table.columns[src]):
        m = _YM.match(cell)
        if m is not None and len(cell) >= 6:
            y, mo = int(m.group(1)), int(m.group(2))
            with_year += 1
        else:
            try:
                v = float(cell)
            except ValueError:
                v = math.nan
            if not (math.isfinite(v) and v.is_integer()):
                issues.at(table, i, src, f"not a month (1-12 or YYYY-MM): {cell!r}")
                continue
            y, mo = 0, int(v)
        if not 1 <= mo <= 12:
            issues.at(table, i, src, f"month must be 1 to 12: {cell!r}")
            continue
        month[i], year[i] = mo, y
    return month, (year if with_year == len(table) and len(table) else None)


# --------------------------------------------------------------------------------------------
# Member-years


@dataclass(frozen=True)
class MemberYears:
    """Member-years to calibrate from, one row each, ordered by member then year.

    ``entry`` and ``exit`` are the times (months from 1 January, 0 to 12) the member joined and
    left within the year where known (``nan`` where only the months are known); ``months`` is
    the enrolled months; ``cost`` the allowed cost (USD); ``risk`` the risk score as given
    (``None`` without scores). ``ids`` holds each member's identifier, indexed by ``member``.
    """

    member: I8
    year: I8
    cost: F8
    months: F8
    risk: F8 | None
    entry: F8
    exit: F8
    ids: tuple[str, ...]
    source: str = ""
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = self.member.shape[0]
        for name in ("year", "cost", "months", "entry", "exit"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have {n} rows like member")
        if self.risk is not None and self.risk.shape != (n,):
            raise ValueError(f"risk must have {n} rows like member")
        if n == 0:
            raise ValueError("no member-years to calibrate from")
        if np.any(self.cost < 0) or not np.all(np.isfinite(self.cost)):
            raise ValueError("cost must be finite and at least 0")
        if np.any(self.months <= 0) or np.any(self.months > 12 + 1e-9):
            raise ValueError("months must be in (0, 12]")
        if self.risk is not None and not np.all(self.risk > 0):
            raise ValueError("risk scores must be positive")

    @property
    def n(self) -> int:
        """Number of member-years."""
        return int(self.member.shape[0])

    @property
    def years(self) -> tuple[int, ...]:
        """The calendar years present, in order."""
        return tuple(int(y) for y in np.unique(self.year))

    @property
    def n_members(self) -> int:
        """Number of distinct members."""
        return len(self.ids)

    def with_notes(self, *notes: str) -> MemberYears:
        """A copy with more notes."""
        return MemberYears(
            self.member,
            self.year,
            self.cost,
            self.months,
            self.risk,
            self.entry,
            self.exit,
            self.ids,
            self.source,
            (*self.notes, *notes),
        )


def member_years(
    member_id: Sequence[object] | npt.ArrayLike,
    cost: npt.ArrayLike,
    months: npt.ArrayLike,
    *,
    year: npt.ArrayLike | None = None,
    risk_score: npt.ArrayLike | None = None,
    entry: npt.ArrayLike | None = None,
    exit: npt.ArrayLike | None = None,
    source: str = "<arrays>",
) -> MemberYears:
    """:class:`MemberYears` from arrays of one row per member-year (no duplicates).

    ``entry`` and ``exit``: the months from 1 January at which the member joined and left
    within the year (0 and 12 for a whole year), where enrolment is known.
    """
    ids_in = np.asarray(member_id).astype(str)
    n = ids_in.shape[0]
    yr = np.zeros(n, dtype=np.int64) if year is None else np.asarray(year, dtype=np.int64)
    c = np.asarray(cost, dtype=np.float64)
    m = np.asarray(months, dtype=np.float64)
    r = None if risk_score is None else np.asarray(risk_score, dtype=np.float64)
    en = np.full(n, np.nan) if entry is None else np.asarray(entry, dtype=np.float64)
    ex = np.full(n, np.nan) if exit is None else np.asarray(exit, dtype=np.float64)
    uniq, codes = np.unique(ids_in, return_inverse=True)
    order = np.lexsort((yr, codes))
    key = codes[order] * (yr.max() - yr.min() + 2 if n else 1) + (yr[order] - yr.min())
    if n > 1 and np.any(np.diff(key) == 0):
        raise ValueError("member_years: a member has two rows for the same year")
    return MemberYears(
        member=codes[order].astype(np.int64),
        year=yr[order],
        cost=c[order],
        months=m[order],
        risk=None if r is None else r[order],
        entry=en[order],
        exit=ex[order],
        ids=tuple(str(u) for u in uniq),
        source=source,
    )


def _group(ids: npt.NDArray[np.str_], years: I8) -> tuple[npt.NDArray[np.str_], I8, I8, I8]:
    """Unique (member, year) keys: ids, years, the key of every row, and each member's code."""
    keys = np.char.add(np.char.add(ids, "\x00"), years.astype(str))
    uniq, inverse = np.unique(keys, return_inverse=True)
    first = np.zeros(uniq.shape[0], dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return ids[first], years[first], inverse.astype(np.int64), first


def _single_valued(
    table: _Table,
    values: F8,
    groups: I8,
    n_groups: int,
    name: str,
    issues: _Issues,
    ids: npt.NDArray[np.str_],
    years: I8,
) -> F8:
    """One value per group, checking that the group's rows agree."""
    lo = np.full(n_groups, np.inf)
    hi = np.full(n_groups, -np.inf)
    np.minimum.at(lo, groups, values)
    np.maximum.at(hi, groups, values)
    bad = np.flatnonzero(hi - lo > 1e-9 * np.maximum(1.0, np.abs(hi)))
    for g in bad[:MAX_ISSUES]:
        rows = np.flatnonzero(groups == g)
        i = next(int(r) for r in rows if values[r] != values[rows[0]])
        issues.at(
            table,
            i,
            name,
            f"member {ids[rows[0]]!s} year {int(years[rows[0]])} has {values[i]:g} here "
            f"but {values[rows[0]]:g} at row {table.rows[int(rows[0])]}",
        )
    return lo


@dataclass(frozen=True)
class _Claims:
    ids: npt.NDArray[np.str_]
    year: I8
    cost: F8
    months: F8 | None
    risk: F8 | None
    entry: F8
    exit: F8
    has_year: bool
    dropped_zero_months: int
    dropped_zero_cost: float


def _claims_table(table: _Table, columns: Mapping[str, str], need_months: bool) -> _Claims:
    cols = _resolve(table, CLAIMS_COLUMNS, columns)
    for name in ("member_id", "allowed"):
        if name not in cols:
            raise _missing(table, name)
    monthly = "month" in cols
    if need_months and not monthly and "member_months" not in cols:
        raise _missing(table, "member_months", " (or give an enrolment file, or a month column)")
    issues = _Issues()
    (id_src,) = cols["member_id"][:1]
    ids = np.asarray(table.columns[id_src], dtype=str)
    for i, v in enumerate(table.columns[id_src]):
        if not v:
            issues.at(table, i, id_src, "empty member identifier")
    cost = _numbers(table, "allowed", cols["allowed"], issues, lo=0.0, what="allowed cost")
    years = _years(table, cols["year"][0], issues) if "year" in cols else None
    month = None
    if monthly:
        month, month_years = _months_of(table, cols["month"][0], issues)
        if years is None and month_years is not None:
            years = month_years
    months = None
    if "member_months" in cols:
        months = _numbers(
            table,
            "member_months",
            cols["member_months"],
            issues,
            lo=0.0,
            hi=1.0 if monthly else 12.0,
            what="member months",
        )
    risk = None
    if "risk_score" in cols:
        risk = _numbers(
            table, "risk_score", cols["risk_score"], issues, lo=0.0, lo_open=True, what="risk score"
        )
    issues.raise_any()
    has_year = years is not None
    if years is None:
        years = np.zeros(len(table), dtype=np.int64)
    if len(table) == 0:
        raise CalibrationDataError([DataIssue(table.path, 0, "", "no data rows")])
    g_ids, g_years, groups, _ = _group(ids, years)
    n_groups = g_ids.shape[0]
    g_cost = np.zeros(n_groups)
    np.add.at(g_cost, groups, cost)
    g_risk = None
    if risk is not None:
        g_risk = _single_valued(
            table, risk, groups, n_groups, cols["risk_score"][0], issues, ids, years
        )
    entry = np.full(n_groups, np.nan)
    exit_ = np.full(n_groups, np.nan)
    g_months: F8 | None = None
    if monthly:
        assert month is not None
        # One row per enrolled member-month: the distinct months are the enrolment.
        pair = groups * 16 + month
        _, first = np.unique(pair, return_index=True)
        per_month = np.ones(first.shape[0]) if months is None else np.zeros(first.shape[0])
        if months is not None:
            mm = np.zeros(n_groups * 16)
            np.maximum.at(mm, pair, months)
            per_month = mm[pair[first]]
        g_months = np.zeros(n_groups)
        np.add.at(g_months, groups[first], per_month)
        lo = np.full(n_groups, 13.0)
        hi = np.zeros(n_groups)
        np.minimum.at(lo, groups, month.astype(np.float64))
        np.maximum.at(hi, groups, month.astype(np.float64))
        entry, exit_ = lo - 1.0, hi
    elif months is not None:
        g_months = _single_valued(
            table, months, groups, n_groups, cols["member_months"][0], issues, ids, years
        )
    issues.raise_any()
    dropped, dropped_cost = 0, 0.0
    if g_months is not None:
        keep = g_months > 0
        dropped = int(np.count_nonzero(~keep))
        dropped_cost = float(g_cost[~keep].sum())
        g_ids, g_years, g_cost, g_months = g_ids[keep], g_years[keep], g_cost[keep], g_months[keep]
        entry, exit_ = entry[keep], exit_[keep]
        g_risk = None if g_risk is None else g_risk[keep]
    return _Claims(
        g_ids, g_years, g_cost, g_months, g_risk, entry, exit_, has_year, dropped, dropped_cost
    )


def _date(cell: str) -> tuple[int, float] | None:
    """(year, months from 1 January at the start of that day) of ``YYYY-MM[-DD]``."""
    m = re.match(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$", cell)
    if m is None:
        return None
    y, mo = int(m.group(1)), int(m.group(2))
    day = int(m.group(3)) if m.group(3) else 1
    if not (1 <= mo <= 12 and 1 <= day <= 31 and 1900 <= y <= 2200):
        return None
    if day > calendar.monthrange(y, mo)[1]:
        return None
    return y, (mo - 1) + (day - 1) / calendar.monthrange(y, mo)[1]


@dataclass(frozen=True)
class _Enrollment:
    ids: npt.NDArray[np.str_]
    year: I8
    months: F8
    entry: F8
    exit: F8


def read_enrollment(
    path: str | Path, *, columns: Mapping[str, str] | None = None, last_year: int | None = None
) -> _Enrollment:
    """Enrolment spans as member-years: months enrolled and when the member joined and left.

    ``last_year`` closes spans with an empty end date (default: the latest year in the file).
    """
    table = _read_table(path)
    cols = _resolve(table, ENROLLMENT_COLUMNS, columns or {})
    if "member_id" not in cols:
        raise _missing(table, "member_id")
    issues = _Issues()
    id_src = cols["member_id"][0]
    ids = np.asarray(table.columns[id_src], dtype=str)
    spans_y: list[int] = []
    spans_id: list[str] = []
    spans_a: list[float] = []
    spans_b: list[float] = []
    if "start_month" in cols and "end_month" in cols:
        if "year" not in cols:
            raise _missing(table, "year", " (start_month/end_month spans need a year)")
        years = _years(table, cols["year"][0], issues)
        # Whole months 1 to 12; fractions (months from 1 January, plus one for the start)
        # give exact joining and leaving times.
        a = _numbers(
            table,
            "start_month",
            cols["start_month"],
            issues,
            lo=1.0,
            hi=12.999999,
            what="start month",
        )
        b = _numbers(
            table,
            "end_month",
            cols["end_month"],
            issues,
            lo=0.0,
            lo_open=True,
            hi=12.0,
            what="end month",
        )
        issues.raise_any()
        for i in range(len(table)):
            if b[i] <= a[i] - 1.0:
                issues.at(
                    table,
                    i,
                    cols["end_month"][0],
                    f"end month {b[i]:g} is before start month {a[i]:g}",
                )
            spans_id.append(str(ids[i]))
            spans_y.append(int(years[i]))
            spans_a.append(float(a[i]) - 1.0)
            spans_b.append(float(b[i]))
    elif "start_date" in cols:
        s_src = cols["start_date"][0]
        e_src = cols["end_date"][0] if "end_date" in cols else None
        parsed: list[tuple[int, tuple[int, float], tuple[int, float] | None]] = []
        for i, cell in enumerate(table.columns[s_src]):
            start = _date(cell)
            if start is None:
                issues.at(table, i, s_src, f"not a date (YYYY-MM-DD): {cell!r}")
                continue
            end: tuple[int, float] | None = None
            if e_src is not None and table.columns[e_src][i]:
                ecell = table.columns[e_src][i]
                got = _date(ecell)
                if got is None:
                    issues.at(table, i, e_src, f"not a date (YYYY-MM-DD): {ecell!r}")
                    continue
                # The end date is the last enrolled day: the span ends a day later.
                m = re.match(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$", ecell)
                assert m is not None
                if m.group(3) is None:  # YYYY-MM: the whole month
                    end = (got[0], math.floor(got[1]) + 1.0)
                else:
                    end = (got[0], got[1] + 1.0 / calendar.monthrange(got[0], int(m.group(2)))[1])
                if end < start:
                    issues.at(table, i, e_src, f"end date {ecell} is before the start")
                    continue
            parsed.append((i, start, end))
        issues.raise_any()
        top = last_year
        if top is None:
            top = max([s[0] for _, s, _ in parsed] + [e[0] for _, _, e in parsed if e is not None])
        for i, start, end in parsed:
            stop = end if end is not None else (top, 12.0)
            for y in range(start[0], min(stop[0], top) + 1):
                a_ = start[1] if y == start[0] else 0.0
                b_ = stop[1] if y == stop[0] else 12.0
                if b_ > a_:
                    spans_id.append(str(ids[i]))
                    spans_y.append(y)
                    spans_a.append(a_)
                    spans_b.append(min(b_, 12.0))
    else:
        raise _missing(
            table,
            "start_month",
            " (the enrolment file needs member_id, year, start_month, end_month or member_id, "
            "start_date, end_date)",
        )
    issues.raise_any()
    if not spans_id:
        raise CalibrationDataError([DataIssue(table.path, 0, "", "no enrolment spans")])
    s_ids = np.asarray(spans_id, dtype=str)
    s_years = np.asarray(spans_y, dtype=np.int64)
    s_a = np.asarray(spans_a)
    s_b = np.asarray(spans_b)
    g_ids, g_years, groups, _ = _group(s_ids, s_years)
    n = g_ids.shape[0]
    months = np.zeros(n)
    np.add.at(months, groups, s_b - s_a)
    entry = np.full(n, np.inf)
    exit_ = np.full(n, -np.inf)
    np.minimum.at(entry, groups, s_a)
    np.maximum.at(exit_, groups, s_b)
    if np.any(months > 12.0 + 1e-9):
        g = int(np.flatnonzero(months > 12.0 + 1e-9)[0])
        row = table.rows[int(np.flatnonzero(groups == g)[0])]
        raise CalibrationDataError(
            [
                DataIssue(
                    table.path,
                    row,
                    "",
                    f"member {g_ids[g]} has overlapping spans: {months[g]:g} months in "
                    f"{int(g_years[g])}",
                )
            ]
        )
    return _Enrollment(g_ids, g_years, months, entry, exit_)


def read_claims(
    path: str | Path,
    *,
    enrollment: str | Path | None = None,
    columns: Mapping[str, str] | None = None,
    enrollment_columns: Mapping[str, str] | None = None,
) -> MemberYears:
    """Read a claims file (and optionally an enrolment file) into :class:`MemberYears`.

    Raises :class:`CalibrationDataError` naming the file, row and column of every problem found
    (up to 20): a missing column, text in a numeric column, negative cost or member months,
    member months above 12, inconsistent rows of one member-year.
    """
    table = _read_table(path)
    claims = _claims_table(table, columns or {}, need_months=enrollment is None)
    notes: list[str] = []
    if claims.dropped_zero_months:
        notes.append(
            f"{claims.dropped_zero_months} member-years with 0 member months were left out "
            f"(their cost: {claims.dropped_zero_cost:,.0f} USD)"
        )
    ids, years, cost = claims.ids, claims.year, claims.cost
    months, entry, exit_, risk = claims.months, claims.entry, claims.exit, claims.risk
    if enrollment is not None:
        enr = read_enrollment(
            enrollment,
            columns=enrollment_columns,
            last_year=int(years.max()) if claims.has_year else None,
        )
        if not claims.has_year:
            if len(np.unique(enr.year)) != 1:
                raise CalibrationDataError(
                    [
                        DataIssue(
                            table.path,
                            1,
                            "year",
                            "missing: the enrolment covers several years, so the claims need a "
                            "year column",
                        )
                    ]
                )
            years = np.full_like(years, enr.year[0])
        e_key = np.char.add(np.char.add(enr.ids, "\x00"), enr.year.astype(str))
        c_key = np.char.add(np.char.add(ids, "\x00"), years.astype(str))
        pos = {k: i for i, k in enumerate(e_key.tolist())}
        idx = np.array([pos.get(k, -1) for k in c_key.tolist()], dtype=np.int64)
        outside = idx < 0
        e_cost = np.zeros(enr.ids.shape[0])
        np.add.at(e_cost, idx[~outside], cost[~outside])
        if np.any(outside):
            notes.append(
                f"{int(outside.sum())} member-years with claims but no enrolment were left out "
                f"(their cost: {cost[outside].sum():,.0f} USD, "
                f"{cost[outside].sum() / max(cost.sum(), 1e-300):.1%} of all claims)"
            )
        e_risk = None
        if risk is not None:
            e_risk = np.full(enr.ids.shape[0], np.nan)
            e_risk[idx[~outside]] = risk[~outside]
            missing_risk = np.isnan(e_risk)
            if np.any(missing_risk):
                notes.append(
                    f"{int(missing_risk.sum())} enrolled member-years without claims have no "
                    "risk score; given the median score"
                )
                e_risk[missing_risk] = float(np.median(risk))
        ids, years, cost, risk = enr.ids, enr.year, e_cost, e_risk
        months, entry, exit_ = enr.months, enr.entry, enr.exit
    assert months is not None
    out = member_years(
        ids,
        cost,
        np.minimum(months, 12.0),
        year=years,
        risk_score=risk,
        entry=entry,
        exit=exit_,
        source=str(path),
    )
    return out.with_notes(*notes) if notes else out
