"""Golden end-to-end case: CMS's PY2022 MSSP financial reconciliation report for ACO A1540.

A test helper, not a test file. :func:`load_a1540` reads the real report
(``../shared/data/mssp/py2022_settlement_report_A1540.xlsx``; ACO Health Partners, LLC, BASIC
Level B, agreement start 1 July 2019, report produced 08/03/2023) and returns the settlement steps
at the full precision stored in the cells, so tests can compare an engine replay to the cent.

How values are found. Nothing is addressed by a fixed cell: the sheet whose title (or first
cell) starts with "Table 3" is scanned for labels that begin with a row letter in brackets
("[H] Total Benchmark Expenditures ($)"); the value is the first non-empty cell to the right of
the label in the same row. Only the first occurrence of each letter counts (the footnotes under
the table repeat the letters, with no values). Each label is also checked against the expected
words, so a report laid out differently fails loudly instead of returning the wrong number. The
per-enrollment-type rows under [C] and [D] are the unlettered rows that follow them. The cover
sheet must name A1540.

Where each value is in this workbook (sheet "Table 3 - Shared Savings Losses", label in column A,
value in column B)::

    key                              row   cell  value (full precision)      shown as
    assigned_beneficiaries           [A]   B6    7207                        7,207
    person_years                     [B]   B7    6999.33333333326            6,999
    per_capita_expenditure_esrd      [C]   B9    71529.0419541052
    per_capita_expenditure_disabled  [C]   B10   11770.8925709945
    per_capita_expenditure_aged_dual [C]   B11   20193.1295812382
    per_capita_expenditure_aged_non_dual [C] B12 12314.5130853033
    proportion_esrd .. _aged_non_dual [D]  B14:B17 0.00339.., 0.12676.., 0.08115.., 0.78869..
    per_capita_expenditure           [E]   B18   13085.8825389186            13,086
    per_capita_benchmark             [F]   B19   14136.6916270482            14,137
    total_expenditure                [G]   B20   91592453.8507363            91,592,454
    total_benchmark                  [H]   B21   98947416.9282517            98,947,417
    savings                          [I]   B22   7354963.07751544            7,354,963
    total_savings                    [J]   B23   7354963.07751544
    total_losses                     [K]   B24   0
    msr                              [L]   B25   0.0335855855855856          3.4%
    msr_amount                       [N]   B27   3323206.93971642            3,323,207
    max_sharing_rate                 [Q]   B31   0.4                         40%
    quality_score                    [R]   B32   0.7326                      73.26%
    met_qps                          [S]   B33   "Yes" -> 1.0
    final_sharing_rate               [T]   B34   0.4                         40.0%
    shared_savings                   [V]   B37   2941985.23100618            2,941,985
    savings_cap                      [W]   B38   9894741.69282517            9,894,742
    sequestration                    [X]   B39   58839.7046201235            58,840
    payment                          [Y]   B40   2883145.52638605            2,883,145.53
    participant_revenue              [AA]  B43   12713612.69788              12,713,613

    updated_benchmark_table2: sheet "Table 2 - Updated Benchmark", row "[H] Updated Benchmark
    ($)", cell D42 (the PY column), 14136.6916270482, equal to Table 3 [F].

Derived, not read from a cell (the report has no row for them): ``savings_rate`` = [I] / [H]
(0.0743...; the PUF's Sav_rate 7.43%) and ``savings_cap_rate`` = [W] / [H] (0.10, the BASIC
performance payment limit of Table A5). Rows that are not applicable to a one-sided ACO ([M],
[O], [U], [Z], [BB] to [GG]) hold an en dash and are left out. [P] ("Savings") is text and is left
out too.

Column C of Table 3 holds four formulas that are not part of CMS's table (added by whoever
shared the file): C32 = B31*B32 (0.29304), C33 = C32*B23 (2,155,298.38, savings scaled by
quality, which PY2022 does not do), C37 = B34*B23 (equal to [V]) and C39 = B38/B21 (0.1). They
are ignored: only the first value to the right of each label is read.

CMS's rounding rule. CMS does not round the steps: the note under Tables 2 and 3 says "Numerical
values presented in this table are rounded for presentation purposes only. All calculations and
formulas use additional precision". The cells hold unrounded doubles; only the display formats
round ("#,##0" for dollar rows, "#,##0.00" for the earned payment [Y], "0.0%" for the MSR). So
[I] = [H] - [G], [N] = [L] x [H], [V] = [T] x [J], [X] = 2% x [V] and [Y] = min([V] - [X], [W])
hold at full precision (to about 1e-8 USD), and the published $2,883,145.53 is the full-precision
[Y] rounded once, to the cent. The PUF then rounds each published column independently to whole
dollars (EarnSaveLoss 2,883,146; ABtotBnchmk 98,947,417; ABtotExp 91,592,454) and rates to
hundredths of a percent (MinSavPerc 3.36%, Sav_rate 7.43%). For A1540 rounding every step to
cents would give the same cents, but that is a coincidence of the numbers, not CMS's rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["A1540_CELLS", "a1540_cells", "load_a1540"]

#: Row letter -> (key, words the label must contain), for the scalar rows of Table 3.
TABLE3_ROWS: dict[str, tuple[str, str]] = {
    "A": ("assigned_beneficiaries", "assigned beneficiaries"),
    "B": ("person_years", "person years"),
    "E": ("per_capita_expenditure", "per capita expenditures"),
    "F": ("per_capita_benchmark", "per capita benchmark expenditures"),
    "G": ("total_expenditure", "total expenditures"),
    "H": ("total_benchmark", "total benchmark expenditures"),
    "I": ("savings", "total benchmark expenditures minus total expenditures"),
    "J": ("total_savings", "total savings"),
    "K": ("total_losses", "total losses"),
    "L": ("msr", "minimum savings rate (%)"),
    "N": ("msr_amount", "minimum savings rate ($)"),
    "Q": ("max_sharing_rate", "maximum sharing rate"),
    "R": ("quality_score", "quality performance score"),
    "S": ("met_qps", "met quality performance standard"),
    "T": ("final_sharing_rate", "final sharing rate"),
    "V": ("shared_savings", "shared savings ($)"),
    "W": ("savings_cap", "shared savings cap"),
    "X": ("sequestration", "sequestration adjustment"),
    "Y": ("payment", "earned performance payment"),
    "AA": ("participant_revenue", "ffs revenue for aco participants"),
}

#: Row letter -> (key prefix, words the label must contain), for the per-enrollment-type rows.
TABLE3_BLOCKS: dict[str, tuple[str, str]] = {
    "C": ("per_capita_expenditure", "per capita expenditures by enrollment type"),
    "D": ("proportion", "assigned beneficiary proportions"),
}

_ENROLLMENT = {
    "esrd": "esrd",
    "disabled": "disabled",
    "aged/dual": "aged_dual",
    "aged/non-dual": "aged_non_dual",
}

#: Where each value read from a cell is in the A1540 workbook (see the module docstring).
A1540_CELLS: dict[str, str] = {
    "assigned_beneficiaries": "Table 3 - Shared Savings Losses!B6",
    "person_years": "Table 3 - Shared Savings Losses!B7",
    "per_capita_expenditure_esrd": "Table 3 - Shared Savings Losses!B9",
    "per_capita_expenditure_disabled": "Table 3 - Shared Savings Losses!B10",
    "per_capita_expenditure_aged_dual": "Table 3 - Shared Savings Losses!B11",
    "per_capita_expenditure_aged_non_dual": "Table 3 - Shared Savings Losses!B12",
    "proportion_esrd": "Table 3 - Shared Savings Losses!B14",
    "proportion_disabled": "Table 3 - Shared Savings Losses!B15",
    "proportion_aged_dual": "Table 3 - Shared Savings Losses!B16",
    "proportion_aged_non_dual": "Table 3 - Shared Savings Losses!B17",
    "per_capita_expenditure": "Table 3 - Shared Savings Losses!B18",
    "per_capita_benchmark": "Table 3 - Shared Savings Losses!B19",
    "total_expenditure": "Table 3 - Shared Savings Losses!B20",
    "total_benchmark": "Table 3 - Shared Savings Losses!B21",
    "savings": "Table 3 - Shared Savings Losses!B22",
    "total_savings": "Table 3 - Shared Savings Losses!B23",
    "total_losses": "Table 3 - Shared Savings Losses!B24",
    "msr": "Table 3 - Shared Savings Losses!B25",
    "msr_amount": "Table 3 - Shared Savings Losses!B27",
    "max_sharing_rate": "Table 3 - Shared Savings Losses!B31",
    "quality_score": "Table 3 - Shared Savings Losses!B32",
    "met_qps": "Table 3 - Shared Savings Losses!B33",
    "final_sharing_rate": "Table 3 - Shared Savings Losses!B34",
    "shared_savings": "Table 3 - Shared Savings Losses!B37",
    "savings_cap": "Table 3 - Shared Savings Losses!B38",
    "sequestration": "Table 3 - Shared Savings Losses!B39",
    "payment": "Table 3 - Shared Savings Losses!B40",
    "participant_revenue": "Table 3 - Shared Savings Losses!B43",
    "updated_benchmark_table2": "Table 2 - Updated Benchmark!D42",
}

_LETTER = re.compile(r"^\s*\[([A-Z]{1,2})\]\s*(.*)$", re.DOTALL)
_MAX_COL = 8  # labels are in column A; Table 3 claims 16,384 columns, most of them empty


@dataclass(frozen=True)
class _Cell:
    value: float
    where: str


def load_a1540(path: str | Path) -> dict[str, float]:
    """The A1540 PY2022 settlement steps, keyed as in the module docstring, at full precision."""
    values = {key: cell.value for key, cell in _extract(Path(path)).items()}
    values["savings_rate"] = values["savings"] / values["total_benchmark"]
    values["savings_cap_rate"] = values["savings_cap"] / values["total_benchmark"]
    return values


def a1540_cells(path: str | Path) -> dict[str, str]:
    """Where :func:`load_a1540` found each value read from a cell: ``"Sheet!B21"``."""
    return {key: cell.where for key, cell in _extract(Path(path)).items()}


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _extract(path: Path) -> dict[str, _Cell]:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {ws.title: list(ws.iter_rows(max_col=_MAX_COL, values_only=True)) for ws in wb}
    finally:
        wb.close()

    cover = " ".join(str(v) for rows in sheets.values() for row in rows[:30] for v in row if v)
    if "A1540" not in cover:
        raise ValueError(f"{path}: not the A1540 report (no 'A1540' near the top of any sheet)")

    def find_sheet(prefix: str) -> str:
        for title, rows in sheets.items():
            first = next((str(v) for row in rows[:3] for v in row if v is not None), "")
            if title.startswith(prefix) or first.startswith(prefix):
                return title
        raise ValueError(f"{path}: no sheet for {prefix!r}")

    def lettered(title: str) -> dict[str, tuple[int, str, list[tuple[int, object]]]]:
        """Row letter -> (row index, label, [(column index, value) right of the label])."""
        found: dict[str, tuple[int, str, list[tuple[int, object]]]] = {}
        for r, row in enumerate(sheets[title]):
            for c, value in enumerate(row):
                if not isinstance(value, str):
                    continue
                m = _LETTER.match(value)
                if m and m.group(1) not in found:
                    right = [(j, v) for j, v in enumerate(row) if j > c and v not in (None, "")]
                    found[m.group(1)] = (r, m.group(2), right)
                break  # only the first text cell of a row can be its label
        return found

    def where(title: str, r: int, c: int) -> str:
        return f"{title}!{get_column_letter(c + 1)}{r + 1}"

    out: dict[str, _Cell] = {}
    t3 = find_sheet("Table 3")
    rows3 = lettered(t3)
    for letter, (key, words) in TABLE3_ROWS.items():
        if letter not in rows3:
            raise ValueError(f"{path}: sheet {t3!r} has no row [{letter}] ({words})")
        r, label, right = rows3[letter]
        if words not in _norm(label):
            raise ValueError(f"{path}: row [{letter}] of {t3!r} is {label!r}; expected {words!r}")
        if not right:
            raise ValueError(f"{path}: row [{letter}] {label!r} of {t3!r} has no value")
        c, value = right[0]
        number = _number(value)
        if number is None and key == "met_qps" and isinstance(value, str):
            answer = _norm(value)
            if answer in ("yes", "no"):
                number = 1.0 if answer == "yes" else 0.0
        if number is None:
            raise ValueError(f"{path}: {where(t3, r, c)} ([{letter}] {label!r}) is {value!r}")
        out[key] = _Cell(number, where(t3, r, c))

    for letter, (prefix, words) in TABLE3_BLOCKS.items():
        if letter not in rows3:
            raise ValueError(f"{path}: sheet {t3!r} has no row [{letter}] ({words})")
        r0, label, _ = rows3[letter]
        if words not in _norm(label):
            raise ValueError(f"{path}: row [{letter}] of {t3!r} is {label!r}; expected {words!r}")
        for r in range(r0 + 1, r0 + 1 + len(_ENROLLMENT)):
            row = sheets[t3][r]
            name = _norm(str(row[0] or ""))
            if name not in _ENROLLMENT:
                raise ValueError(
                    f"{path}: {where(t3, r, 0)} is {row[0]!r}; expected an enrollment type"
                )
            c, value = next(
                ((j, v) for j, v in enumerate(row) if j > 0 and v is not None), (1, None)
            )
            number = _number(value)
            if number is None:
                raise ValueError(
                    f"{path}: {where(t3, r, c)} ({row[0]!r} under [{letter}]) is {value!r}"
                )
            out[f"{prefix}_{_ENROLLMENT[name]}"] = _Cell(number, where(t3, r, c))

    # Table 2 [H] Updated Benchmark: the last number in the row is the performance-year column.
    t2 = find_sheet("Table 2")
    rows2 = lettered(t2)
    if "H" not in rows2 or "updated benchmark" not in _norm(rows2["H"][1]):
        raise ValueError(f"{path}: sheet {t2!r} has no row '[H] Updated Benchmark'")
    r, _, right = rows2["H"]
    numbers = [(c, n) for c, v in right if (n := _number(v)) is not None]
    if not numbers:
        raise ValueError(f"{path}: row [H] of {t2!r} has no number")
    c, number = numbers[-1]
    out["updated_benchmark_table2"] = _Cell(number, where(t2, r, c))
    return out
