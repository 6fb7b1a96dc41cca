"""Exceptions raised by simsettle.

:class:`ScenarioError` carries one :class:`Issue` per problem found in a scenario file, each with
the file, line, column and dotted field path, so that ``simsettle validate`` can print them as
``FILE:LINE:COL: dotted.field.path: message`` (the format compilers and editors understand).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Issue", "MemoryLimitError", "ResultsWriteError", "ScenarioError", "SimulationError"]


@dataclass(frozen=True)
class Issue:
    """One problem in a scenario file.

    ``line`` and ``column`` are 1-based; ``path`` is the dotted field path (list indices as
    numbers, for example ``designs.1.shared_savings_rate``), empty for problems with the file as a
    whole.
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(ValueError):
    """A scenario file that could not be read or validated; ``issues`` lists every problem."""

    def __init__(self, issues: list[Issue] | tuple[Issue, ...]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid scenario")


class SimulationError(RuntimeError):
    """A run that could not be completed (bad numerical state, interrupted write, ...)."""


class MemoryLimitError(SimulationError):
    """A run refused before it starts: its arrays would not fit in the memory available.

    ``needed`` and ``available`` are in bytes.
    """

    def __init__(self, message: str, *, needed: int, available: int) -> None:
        super().__init__(message)
        self.needed = needed
        self.available = available


class ResultsWriteError(SimulationError):
    """The results could not be written (disk full, permissions, a bad path); the run's
    finished trials are kept, so the same run with ``resume`` does not simulate them again."""
