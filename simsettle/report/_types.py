"""The cells and tables a report is made of (shared by its content builders and renderers)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Estimate", "KeyTable"]


@dataclass(frozen=True)
class Estimate:
    """One figure of a table: its text and the text of its Monte Carlo standard error.

    ``se`` is ``None`` for a cell that holds no estimate (``text`` then says why, such as
    ``"—"`` for a design without stop-loss).
    """

    text: str
    se: str | None
    note: str = ""


@dataclass(frozen=True)
class KeyTable:
    """A table with one row per design: ``rows`` holds ``(design, cells)``."""

    key: str
    title: str
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Estimate, ...]], ...]
    #: What the first column names (a design, with its colour swatch; or another label).
    row_label: str = "Design"
