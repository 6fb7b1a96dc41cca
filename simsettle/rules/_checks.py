"""Helpers of the rule gates' input and output checks: error messages that name the element."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["EPS", "TINY", "first_bad", "require_finite", "show"]

#: Machine epsilon of float64 (2**-52): the unit of the stated error bounds.
EPS = float(np.finfo(np.float64).eps)
#: Smallest normal float64 (2.2e-308): below it roundings are absolute, not relative.
TINY = float(np.finfo(np.float64).tiny)


def first_bad(a: npt.NDArray[np.generic], bad: npt.NDArray[np.bool_]) -> str:
    """Where and what the first flagged element of ``a`` is ("at index (3, 0) the value is
    nan"), for error messages."""
    flat = int(np.argmax(bad.reshape(-1)))
    index = np.unravel_index(flat, bad.shape) if bad.ndim else ()
    value = a.reshape(-1)[flat] if a.size == bad.size else a.reshape(-1)[0]
    where = f"at index {tuple(int(i) for i in index)} " if index else ""
    return f"{where}the value is {show(value)}"


def show(value: object) -> str:
    """A number as Python prints a float (``nan``, ``inf``, ``0.0``), not ``np.float64(...)``."""
    try:
        return repr(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(value)


def require_finite(a: npt.NDArray[np.float64], what: str, *, positive: bool = False) -> None:
    """Raise ``ValueError`` naming ``what`` and the first element unless ``a`` is finite (and
    > 0 with ``positive``, >= 0 never checked here)."""
    good = np.isfinite(a) & (a > 0) if positive else np.isfinite(a)
    if not np.all(good):
        need = "positive and finite" if positive else "finite"
        raise ValueError(f"{what} must be {need} everywhere; {first_bad(a, ~good)}")
