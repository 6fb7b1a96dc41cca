"""Tables out: CSV files and Excel workbooks of the figures a committee reads.

A table is a list of :class:`Column` (name, units, values). Headers carry the units
(``mean [USD]``; a dimensionless column, units ``"1"``, has none), values are written
unrounded, and every file is written atomically (:mod:`simsettle._atomic`). The workbook is
written with openpyxl (a core dependency): money columns get a dollar format and
probability columns a percent format, so the numbers stay numbers in Excel.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simsettle._atomic import atomic_path

__all__ = ["Column", "dataset_columns", "header", "write_csv", "write_xlsx"]

#: Excel number formats by units (money) and by name (probabilities).
_MONEY_FORMAT = '"$"#,##0;[Red]-"$"#,##0'
_PERCENT_FORMAT = "0.00%"


@dataclass(frozen=True)
class Column:
    """One column of a table: its name, its units (``"USD"``, ``"1"``, ``""``) and values."""

    name: str
    units: str
    values: Sequence[Any]

    @property
    def is_probability(self) -> bool:
        return self.units == "1" and (
            self.name.startswith("prob_") or self.name.startswith("share")
        )


def header(column: Column) -> str:
    """``mean [USD]``; a dimensionless or unitless column keeps its bare name."""
    return column.name if column.units in ("", "1") else f"{column.name} [{column.units}]"


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    if isinstance(value, float) and math.isnan(value):
        return ""
    return value


def dataset_columns(table: xr.Dataset, names: Sequence[Hashable]) -> list[Column]:
    """Columns of a one-dimensional Dataset (variables or coordinates), in ``names`` order."""
    out = []
    for name in names:
        da = table[name]
        units = str(da.attrs.get("units", ""))
        out.append(Column(str(name), units, [_plain(v) for v in np.atleast_1d(da.values)]))
    return out


def write_csv(columns: Sequence[Column], path: str | Path) -> Path:
    """``columns`` as a CSV file (header with units, values unrounded), written atomically."""
    target = Path(path)
    rows = max((len(c.values) for c in columns), default=0)
    with atomic_path(target) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([header(c) for c in columns])
        for i in range(rows):
            writer.writerow([_plain(c.values[i]) if i < len(c.values) else "" for c in columns])
    return target


def write_xlsx(
    sheets: Mapping[str, Sequence[Column]],
    path: str | Path,
    notes: Mapping[str, str] | None = None,
) -> Path:
    """An Excel workbook: one sheet per table (header with units, frozen, money and percent
    formats), and a ``notes`` sheet of key-value lines (the rule, the run's facts) when given.

    Raises
    ------
    ImportError
        When openpyxl is not installed.
    """
    try:
        from openpyxl import Workbook
        from openpyxl.styles import Font
        from openpyxl.utils import get_column_letter
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise ImportError("writing .xlsx needs openpyxl: pip install openpyxl") from exc

    target = Path(path)
    book = Workbook()
    first = True
    for title, columns in sheets.items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = _sheet_title(title)
        sheet.append([header(c) for c in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        rows = max((len(c.values) for c in columns), default=0)
        for i in range(rows):
            sheet.append([_plain(c.values[i]) if i < len(c.values) else None for c in columns])
        for j, column in enumerate(columns, start=1):
            letter = get_column_letter(j)
            fmt = (
                _MONEY_FORMAT
                if column.units == "USD"
                else _PERCENT_FORMAT
                if column.is_probability
                else None
            )
            if fmt is not None:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
            width = max([len(header(column)), *(len(str(v)) for v in column.values[:200])])
            sheet.column_dimensions[letter].width = min(60, max(10, width + 2))
        sheet.freeze_panes = "A2"
    if notes:
        sheet = book.create_sheet("notes")
        for key, value in notes.items():
            sheet.append([key, value])
        sheet.column_dimensions["A"].width = 24
        sheet.column_dimensions["B"].width = 100
    with atomic_path(target) as tmp:
        book.save(tmp)
    return target


def _sheet_title(title: str) -> str:
    """An Excel sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in title)
    return clean[:31] or "sheet"
