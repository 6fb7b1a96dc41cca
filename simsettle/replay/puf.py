"""Read a CMS MSSP "ACO results" public use file (PUF) into typed, unit-normalized rows.

CMS publishes one row per ACO and performance year (PY) with the inputs to the settlement
(assigned beneficiaries, total benchmark and expenditure, minimum savings rate, quality) next to
the outcomes (savings rate, generated and earned savings or losses, final sharing and loss
rates). :func:`read_puf` keeps the two apart: the inputs are fields of :class:`PufRow`, the
published outcomes live in :attr:`PufRow.published` (a :class:`PublishedOutcome`), so replay code
can compare against them without ever feeding them into the rules.

Only the standard library's :mod:`csv` is used. Cells are read as follows:

* ``""``, ``"-"``, en and em dashes, ``"*"`` (CMS's mark for suppressed small counts), ``"NaN"``,
  ``"NA"``, ``"N/A"``, ``"null"`` and ``"none"`` (any case) are missing.
* Numbers may carry thousands separators (``"1,234"``), a leading ``"$"``, accounting parentheses
  for negatives (``"(1,234)"``) and a trailing ``"%"``. They are parsed as :class:`~decimal.Decimal`
  and scaled exactly before the conversion to ``float``, so ``"89.41%"`` gives the float nearest
  to 0.8941, not ``89.41 / 100``.
* The file is decoded as UTF-8 (a byte-order mark is dropped); a file that is not valid UTF-8 is
  decoded as Windows-1252 as a fallback.

Units of the rate columns (:data:`RATE_UNITS`), one explicit rule per column:

* ``MinSavPerc``: ``percent``. CMS always publishes it in percent units: "2.40%" (PY2022-23),
  2.40 (PY2024; also PY2014's 2.354).
* ``Sav_rate``: ``percent``. Same: "6.46%" or 6.46. Both columns have real values below 1 (a
  0.5% MSR, a 0.58% savings rate), so magnitude cannot tell the units apart; the rule is fixed.
* ``QualScore``: ``percent-or-fraction``. "89.41%" (PY2022-23), 77.05 (PY2024), but 0.91696 in
  the legacy PY2014 file (PY2014 and PY2024 values as quoted in the project's CMS reference
  notes; only PY2022-23 files were available to test against).
* ``FinalShareRate``: ``percent-or-fraction``. "75.00%" (PY2022-23), 75.0 (PY2024), 0.458482
  (PY2014).
* ``FinalLossRate``: ``percent-or-fraction``. 0.4 in PY2023 (a fraction, although
  FinalShareRate in the same file is "75.00%"), 42.21 in PY2024.

The rules:

* ``percent``: a ``"%"`` suffix or a plain number, both in percent units; divided by 100.
* ``percent-or-fraction``: a ``"%"`` suffix means percent units. For plain numbers the file's
  convention is decided once per column: percent units if any plain value in that column exceeds
  1, otherwise fractions. This is safe because these rates are never between 0 and 1 percent
  when non-zero (sharing rates 20-75%, loss rates 30-75%, quality scores far above 1%), so the
  two conventions cannot be confused; a zero reads the same either way. A column that mixes
  both (a plain value above 1 and another in (0, 1]) is rejected as ambiguous.

After conversion ``MinSavPerc``, ``QualScore``, ``FinalShareRate`` and ``FinalLossRate`` must lie
in [0, 1]; anything else is reported as an error (it would mean the units were misread).

Money columns (``ABtotBnchmk``, ``ABtotExp``, ``DisAdj``, ``BnchmkMinExp``, ``GenSaveLoss``,
``EarnSaveLoss``; ``RegAdj`` and ``PriorSavAdj`` per capita, PY2024 onwards) are whole US
dollars and are kept as published, sign included: ``DisAdj`` (the
extreme-and-uncontrollable-circumstances reduction of shared losses) is published as a negative
number or blank, and is read as 0.0 when blank; ``PriorSavAdj`` is ``"-"`` (missing) where the
ACO has no prior savings adjustment. Flags (``Met_QPS``, ``Met_AltQPS``, ``ReducedSS``,
``Impact_Mid_Year_Termination``, ``Guardrail``) accept 1/0, Yes/No, Y/N and True/False.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "INPUT_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTCOME_COLUMNS",
    "RATE_UNITS",
    "REQUIRED_COLUMNS",
    "PublishedOutcome",
    "PufRow",
    "puf_columns_used",
    "read_puf",
]

#: Input columns that every supported PUF (PY2022 onwards) has; a file without one is rejected.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = (
    "ACO_ID",
    "Current_Track",
    "N_AB",
    "ABtotBnchmk",
    "ABtotExp",
    "MinSavPerc",
    "QualScore",
    "Met_QPS",
    "DisAdj",
)

#: Input columns read when present: ``Met_AltQPS`` from PY2023, ``ReducedSS`` from PY2024.
OPTIONAL_COLUMNS: Final[tuple[str, ...]] = (
    "Risk_Model",
    "Met_AltQPS",
    "ReducedSS",
    "Rev_Exp_Cat",
    "Current_Start_Date",
    "Impact_Mid_Year_Termination",
    "Agree_Type",
    "RegAdj",
    "PriorSavAdj",
    "Guardrail",
)

#: Every input column :func:`read_puf` reads (required first).
INPUT_COLUMNS: Final[tuple[str, ...]] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

#: Published outcomes, kept in :class:`PublishedOutcome` and never used as inputs.
OUTCOME_COLUMNS: Final[tuple[str, ...]] = (
    "GenSaveLoss",
    "EarnSaveLoss",
    "FinalShareRate",
    "FinalLossRate",
    "Sav_rate",
    "BnchmkMinExp",
    "FinalAdjCat",
)

RateUnit = Literal["percent", "percent-or-fraction"]

#: How each rate column's numbers are turned into fractions (see the module docstring).
RATE_UNITS: Final[dict[str, RateUnit]] = {
    "MinSavPerc": "percent",
    "Sav_rate": "percent",
    "QualScore": "percent-or-fraction",
    "FinalShareRate": "percent-or-fraction",
    "FinalLossRate": "percent-or-fraction",
}

# Older PUFs (before PY2016) call ACO_ID "ACO_Num".
_ALIASES: Final[dict[str, tuple[str, ...]]] = {"ACO_ID": ("ACO_Num",)}

_MISSING: Final[frozenset[str]] = frozenset(
    {"", "-", "\u2013", "\u2014", "*", "nan", "na", "n/a", "null", "none"}
)
_TRUE: Final[frozenset[str]] = frozenset({"1", "1.0", "yes", "y", "true"})
_FALSE: Final[frozenset[str]] = frozenset({"0", "0.0", "no", "n", "false"})
_HUNDRED: Final = Decimal(100)
_UNIT_INTERVAL: Final[frozenset[str]] = frozenset(
    {"MinSavPerc", "QualScore", "FinalShareRate", "FinalLossRate"}
)


@dataclass(frozen=True)
class PublishedOutcome:
    """What CMS published as the settlement result: for comparison only, never an input.

    Rates are fractions, amounts whole US dollars; ``None`` where the column is absent from the
    file or the cell is empty.
    """

    sav_rate: float | None
    """``Sav_rate``: (benchmark - expenditure) / benchmark, as a fraction."""
    bnchmk_min_exp: float | None
    """``BnchmkMinExp``: benchmark minus expenditure, USD (savings positive)."""
    gen_save_loss: float | None
    """``GenSaveLoss``: savings or losses generated (0 when the MSR/MLR was not met), USD."""
    earn_save_loss: float | None
    """``EarnSaveLoss``: earned shared savings (+) or owed shared losses (-), USD."""
    final_share_rate: float | None
    """``FinalShareRate`` as a fraction."""
    final_loss_rate: float | None
    """``FinalLossRate`` as a fraction (PY2023 onwards; blank for one-sided tracks)."""
    final_adjustment: str | None = None
    """``FinalAdjCat`` (PY2024 onwards): the benchmark adjustment applied, ``"Regional
    Adjustment"``, ``"Prior Savings Adjustment"`` or ``"No Adjustment"``."""


@dataclass(frozen=True)
class PufRow:
    """One ACO's settlement inputs from a PUF, in engine units (fractions and US dollars).

    The published results are in :attr:`published` and must not be used as inputs.
    """

    aco_id: str
    """``ACO_ID``, e.g. ``"A1540"``."""
    performance_year: int
    """The performance year the file covers (as passed to :func:`read_puf`)."""
    track: str
    """``Current_Track`` as published: ``"A"`` to ``"E"`` (BASIC levels), ``"EN"`` (ENHANCED);
    legacy values are kept as they are."""
    risk_model: str | None
    """``Risk_Model``: ``"One-Sided"`` or ``"Two-Sided"``."""
    n_ab: int
    """``N_AB``: number of assigned beneficiaries."""
    benchmark: float
    """``ABtotBnchmk``: total updated benchmark expenditure, USD."""
    expenditure: float
    """``ABtotExp``: total assigned-beneficiary expenditure, USD."""
    msr: float | None
    """``MinSavPerc``: minimum savings rate as a fraction (``"2.40%"`` -> 0.024)."""
    quality_score: float | None
    """``QualScore`` as a fraction in [0, 1]."""
    met_qps: bool | None
    """``Met_QPS``: met the quality performance standard."""
    met_alt_qps: bool | None
    """``Met_AltQPS``: met the alternative QPS; ``None`` when absent (PY2022) or ``"-"``."""
    dis_adj: float
    """``DisAdj``: extreme-and-uncontrollable-circumstances adjustment, USD, sign as published
    (negative in PY2022-23); 0.0 when blank."""
    reduced_ss: bool | None
    """``ReducedSS``: low-revenue ACO sharing at half rate below the MSR (PY2024 onwards)."""
    rev_exp_cat: str | None
    """``Rev_Exp_Cat``: ``"High Revenue"`` or ``"Low Revenue"``."""
    agreement_start: str | None
    """``Current_Start_Date`` as published, e.g. ``"07/01/2019"``."""
    mid_year_termination: bool | None
    """``Impact_Mid_Year_Termination``: the ACO's result was affected by a mid-year
    termination (its earned amount need not follow the rules)."""
    line: int
    """1-based line number of the row in the CSV (the header is line 1)."""
    published: PublishedOutcome
    """The outcomes CMS published, for comparison only."""
    agreement_type: str | None = None
    """``Agree_Type``: ``"Initial"``, ``"Renewal"`` or ``"Re-entering"`` (PY2024 onwards)."""
    regional_adjustment: float | None = None
    """``RegAdj``: the regional adjustment as computed, USD per capita, whether applied or not
    (PY2024 onwards)."""
    prior_savings_adjustment: float | None = None
    """``PriorSavAdj``: the prior savings adjustment, USD per capita; ``None`` (``"-"``) where the
    ACO had none (PY2024 onwards)."""
    guardrail: bool | None = None
    """``Guardrail``: the ACPT's loss guardrail applied (42 CFR 425.652(b)(5)): the ACO owed
    losses against its benchmark with the ACPT, and was settled against the two-way one
    (agreement periods from 2024; ``None`` for earlier ones, ``"-"``)."""


def puf_columns_used() -> tuple[str, ...]:
    """The PUF input columns :func:`read_puf` reads, required ones first.

    >>> puf_columns_used()[:3]
    ('ACO_ID', 'Current_Track', 'N_AB')
    """
    return INPUT_COLUMNS


def read_puf(path: str | Path, performance_year: int) -> list[PufRow]:
    """Read a CMS MSSP ACO results PUF (CSV) into one :class:`PufRow` per ACO, in file order.

    Raises :class:`ValueError` naming the file and column when a required column is missing,
    and naming the file, line, column and text when a cell cannot be read.
    """
    path = Path(path)
    if performance_year < 2012:
        raise ValueError(f"{path}: performance year {performance_year} predates the MSSP (2012)")
    header, records = _read_records(path)
    cols = _locate_columns(path, header)
    units = _column_units(path, records, cols)
    rows: list[PufRow] = []
    seen: dict[str, int] = {}
    for line, cells in records:
        row = _Row(path, line, cells, cols, units)
        aco_id = row.required_text("ACO_ID")
        if aco_id in seen:
            raise ValueError(
                f"{path}:{line}: column 'ACO_ID': {aco_id!r} already appears on line {seen[aco_id]}"
            )
        seen[aco_id] = line
        rows.append(
            PufRow(
                aco_id=aco_id,
                performance_year=performance_year,
                track=row.required_text("Current_Track"),
                risk_model=row.text("Risk_Model"),
                n_ab=row.count("N_AB"),
                benchmark=row.required_money("ABtotBnchmk"),
                expenditure=row.required_money("ABtotExp"),
                msr=row.rate("MinSavPerc"),
                quality_score=row.rate("QualScore"),
                met_qps=row.flag("Met_QPS"),
                met_alt_qps=row.flag("Met_AltQPS"),
                dis_adj=row.money_or_zero("DisAdj"),
                reduced_ss=row.flag("ReducedSS"),
                rev_exp_cat=row.text("Rev_Exp_Cat"),
                agreement_start=row.text("Current_Start_Date"),
                mid_year_termination=row.flag("Impact_Mid_Year_Termination"),
                line=line,
                published=PublishedOutcome(
                    sav_rate=row.rate("Sav_rate"),
                    bnchmk_min_exp=row.money("BnchmkMinExp"),
                    gen_save_loss=row.money("GenSaveLoss"),
                    earn_save_loss=row.money("EarnSaveLoss"),
                    final_share_rate=row.rate("FinalShareRate"),
                    final_loss_rate=row.rate("FinalLossRate"),
                    final_adjustment=row.text("FinalAdjCat"),
                ),
                agreement_type=row.text("Agree_Type"),
                regional_adjustment=row.money("RegAdj"),
                prior_savings_adjustment=row.money("PriorSavAdj"),
                guardrail=row.flag("Guardrail"),
            )
        )
    return rows


# --------------------------------------------------------------------------------------------
# File and column handling


def _read_records(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line number, cells) of every non-blank record."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ValueError(f"{path}: the file is empty; expected a header row") from None
    except csv.Error as exc:
        raise ValueError(f"{path}:1: cannot read the header: {exc}") from None
    records: list[tuple[int, list[str]]] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValueError(f"{path}:{start}: malformed CSV: {exc}") from None
        end = reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(header):
            raise ValueError(
                f"{path}:{start}: expected {len(header)} cells as in the header, got {len(cells)}"
            )
        records.append((start, cells))
    return header, records


def _locate_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Map each column read (input and outcome) to its index; reject missing required ones."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in index:
            if name in INPUT_COLUMNS or name in OUTCOME_COLUMNS:
                raise ValueError(f"{path}: column {name!r} appears more than once in the header")
            continue
        index[name] = i
    cols: dict[str, int] = {}
    for name in INPUT_COLUMNS + OUTCOME_COLUMNS:
        for candidate in (name, *_ALIASES.get(name, ())):
            if candidate in index:
                cols[name] = index[candidate]
                break
    missing = [name for name in REQUIRED_COLUMNS if name not in cols]
    if missing:
        names = ", ".join(missing)
        raise ValueError(f"{path}: required column(s) missing from the header: {names}")
    return cols


def _column_units(
    path: Path, records: list[tuple[int, list[str]]], cols: dict[str, int]
) -> dict[str, bool]:
    """For each rate column present: are its plain numbers in percent units?"""
    percent: dict[str, bool] = {}
    for name, rule in RATE_UNITS.items():
        if name not in cols:
            continue
        if rule == "percent":
            percent[name] = True
            continue
        i = cols[name]
        above_one: tuple[int, str] | None = None  # first plain value > 1 (percent units)
        unit_or_less: tuple[int, str] | None = None  # first plain value in (0, 1] (a fraction)
        for line, cells in records:
            raw = cells[i].strip()
            if _is_missing(raw) or raw.endswith("%"):
                continue
            value = abs(_parse_decimal(path, line, name, raw))
            if value > 1 and above_one is None:
                above_one = (line, raw)
            elif 0 < value <= 1 and unit_or_less is None:
                unit_or_less = (line, raw)
        if above_one is not None and unit_or_less is not None:
            (l1, r1), (l2, r2) = above_one, unit_or_less
            raise ValueError(
                f"{path}:{l2}: column {name!r}: {r2!r} reads as a fraction but line {l1} has "
                f"{r1!r} in percent units; the column mixes the two"
            )
        over_one = above_one is not None
        percent[name] = over_one
    return percent


def _is_missing(raw: str) -> bool:
    return raw.strip().lower() in _MISSING


def _parse_decimal(path: Path, line: int, column: str, raw: str) -> Decimal:
    """A number from a PUF cell (``%`` stripped by the caller or ignored here)."""
    text = raw.strip().rstrip("%").strip().replace(",", "").replace("\u2212", "-")
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1].strip()
    if text.startswith("$"):
        text = text[1:]
    elif text.startswith("-$"):
        text = "-" + text[2:]
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not text:
        raise ValueError(f"{path}:{line}: column {column!r}: cannot read {raw!r} as a number")
    return -value if negative else value


class _Row:
    """Typed access to one record's cells, with errors that name file, line and column."""

    def __init__(
        self,
        path: Path,
        line: int,
        cells: list[str],
        cols: dict[str, int],
        percent: dict[str, bool],
    ) -> None:
        self.path = path
        self.line = line
        self.cells = cells
        self.cols = cols
        self.percent = percent

    def _raw(self, column: str, required: bool) -> str | None:
        if column not in self.cols:
            return None
        raw = self.cells[self.cols[column]].strip()
        if _is_missing(raw):
            if required:
                raise ValueError(
                    f"{self.path}:{self.line}: column {column!r}: value is missing ({raw!r})"
                )
            return None
        return raw

    def text(self, column: str) -> str | None:
        return self._raw(column, required=False)

    def required_text(self, column: str) -> str:
        raw = self._raw(column, required=True)
        assert raw is not None  # _raw raises for a missing required value
        return raw

    def _decimal(self, column: str, required: bool) -> Decimal | None:
        raw = self._raw(column, required)
        if raw is None:
            return None
        return _parse_decimal(self.path, self.line, column, raw)

    def count(self, column: str) -> int:
        value = self._decimal(column, required=True)
        assert value is not None  # _raw raises for a missing required value
        if value != value.to_integral_value() or value < 0:
            raw = self.cells[self.cols[column]]
            raise ValueError(
                f"{self.path}:{self.line}: column {column!r}: "
                f"cannot read {raw!r} as a whole non-negative count"
            )
        return int(value)

    def money(self, column: str) -> float | None:
        value = self._decimal(column, required=False)
        return None if value is None else float(value)

    def money_or_zero(self, column: str) -> float:
        value = self._decimal(column, required=False)
        return 0.0 if value is None else float(value)

    def required_money(self, column: str) -> float:
        value = self._decimal(column, required=True)
        assert value is not None  # _raw raises for a missing required value
        return float(value)

    def rate(self, column: str) -> float | None:
        raw = self._raw(column, required=False)
        if raw is None:
            return None
        value = _parse_decimal(self.path, self.line, column, raw)
        if raw.endswith("%") or self.percent[column]:
            value = value / _HUNDRED
        if column in _UNIT_INTERVAL and not 0 <= value <= 1:
            raise ValueError(
                f"{self.path}:{self.line}: column {column!r}: {raw!r} is {value} as a fraction, "
                "outside [0, 1]"
            )
        return float(value)

    def flag(self, column: str) -> bool | None:
        raw = self._raw(column, required=False)
        if raw is None:
            return None
        key = raw.lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise ValueError(
            f"{self.path}:{self.line}: column {column!r}: cannot read {raw!r} as a flag "
            "(expected 1/0, Yes/No, Y/N or True/False)"
        )
