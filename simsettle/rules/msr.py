"""Minimum savings rate tables."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MSSP_MSR_TABLE", "mssp_msr"]

#: MSSP one-sided MSR by assigned beneficiaries: (lower L, upper U, MSR at L, MSR at U); exact
#: linear interpolation inside each band with U the band's upper bound (SPEC-v11 Table 5 and
#: section 4.2.1; 42 CFR 425.604(b)). Below 500: 12.2%; 60,000 and more: the 2% floor.
MSSP_MSR_TABLE: tuple[tuple[int, int, float, float], ...] = (
    (500, 999, 0.122, 0.087),
    (1000, 2999, 0.087, 0.050),
    (3000, 4999, 0.050, 0.039),
    (5000, 5999, 0.039, 0.036),
    (6000, 6999, 0.036, 0.034),
    (7000, 7999, 0.034, 0.032),
    (8000, 8999, 0.032, 0.031),
    (9000, 9999, 0.031, 0.030),
    (10000, 14999, 0.030, 0.027),
    (15000, 19999, 0.027, 0.025),
    (20000, 49999, 0.025, 0.022),
    (50000, 59999, 0.022, 0.020),
)
_FLOOR = 0.020
_SMALL = 0.122


def mssp_msr(members: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """MSSP variable MSR (fraction) for ``members`` assigned beneficiaries.

    ``MSR = MSR_L x (U - N) / (U - L) + MSR_U x (N - L) / (U - L)`` inside a band; 12.2% below
    500 and 2% from 60,000. Example: 7,207 beneficiaries give 3.35856% (STLMT-2022 row L,
    shown to five decimals).

    >>> round(float(mssp_msr(7207)), 7)
    0.0335856
    """
    n = np.asarray(members, dtype=np.float64)
    out = np.where(n < 500, _SMALL, _FLOOR)
    for lo, hi, at_lo, at_hi in MSSP_MSR_TABLE:
        inside = (n >= lo) & (n < hi + 1)
        span = float(hi - lo)
        # Between U and the next band's L (non-integer N) the value at U holds.
        value = np.where(n <= hi, at_lo * (hi - n) / span + at_hi * (n - lo) / span, at_hi)
        out = np.where(inside, value, out)
    return np.asarray(out, dtype=np.float64)
