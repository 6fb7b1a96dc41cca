"""Runtime options: a validated registry and a context manager, after ``xarray.set_options``.

>>> import simsettle
>>> with simsettle.set_options(chunk_trials=500):
...     simsettle.get_options()["chunk_trials"]
500
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

__all__ = ["OPTIONS", "Options", "get_options", "set_options"]


class Options(TypedDict):
    """The options and their current values."""

    chunk_trials: int
    threads: int | None
    progress: bool | None
    memory_limit: int | None


OPTIONS: Options = {
    # Trials per kernel call; results do not depend on it (counter-based random numbers).
    "chunk_trials": 1000,
    # numba threads for in-process runs; None = numba's default (all cores).
    "threads": None,
    # Progress bar: True always, False never, None = only when the run takes more than ~2 s.
    "progress": None,
    # Bytes a run may hold; a run estimated to need more is refused before it starts
    # (simsettle.runner.estimate_memory). None = the memory available when the run starts.
    "memory_limit": None,
}


def _positive_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


_VALIDATORS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "chunk_trials": (_positive_int, "a positive integer"),
    "threads": (lambda v: v is None or _positive_int(v), "None or a positive integer"),
    "progress": (lambda v: v is None or isinstance(v, bool), "True, False or None"),
    "memory_limit": (lambda v: v is None or _positive_int(v), "None or a positive integer (bytes)"),
}


def get_options() -> Options:
    """A copy of the current options."""
    return Options(**OPTIONS)


@contextmanager
def set_options(**kwargs: Any) -> Iterator[None]:
    """Set options for the duration of a ``with`` block (restored on exit, even on error)."""
    for key, value in kwargs.items():
        if key not in _VALIDATORS:
            raise ValueError(f"unknown option {key!r}; known: {sorted(_VALIDATORS)}")
        ok, expected = _VALIDATORS[key]
        if not ok(value):
            raise ValueError(f"option {key!r} must be {expected}, got {value!r}")
    old = get_options()
    OPTIONS.update(kwargs)  # type: ignore[typeddict-item]
    try:
        yield
    finally:
        OPTIONS.update(old)
