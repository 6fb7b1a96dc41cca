"""Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11; Random123).

A draw is a pure function of a 64-bit key (from the scenario seed) and a 128-bit counter, here
``(trial, year, member, stream)``: no generator state is carried between members, chunks or
threads, so a trial's numbers never depend on who computed it. Each call yields four 32-bit words;
callers use all four.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["box_muller", "philox4x32_10", "u32_to_unit"]

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint32(0x9E3779B9)
_W1 = np.uint32(0xBB67AE85)
_LO = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_TWO_PI = 2.0 * math.pi
_INV_2_32 = 1.0 / 4294967296.0


@njit(cache=True, nogil=True, inline="always")
def philox4x32_10(
    c0: np.uint32, c1: np.uint32, c2: np.uint32, c3: np.uint32, k0: np.uint32, k1: np.uint32
) -> tuple[np.uint32, np.uint32, np.uint32, np.uint32]:
    """Philox4x32 with 10 rounds: four 32-bit words from counter (c0..c3) and key (k0, k1)."""
    x0 = np.uint32(c0)
    x1 = np.uint32(c1)
    x2 = np.uint32(c2)
    x3 = np.uint32(c3)
    y0 = np.uint32(k0)
    y1 = np.uint32(k1)
    for _ in range(10):
        p0 = _M0 * np.uint64(x0)
        p1 = _M1 * np.uint64(x2)
        n0 = np.uint32((p1 >> _S32) ^ np.uint64(x1) ^ np.uint64(y0))
        n2 = np.uint32((p0 >> _S32) ^ np.uint64(x3) ^ np.uint64(y1))
        x1 = np.uint32(p1 & _LO)
        x3 = np.uint32(p0 & _LO)
        x0 = n0
        x2 = n2
        y0 = np.uint32(y0 + _W0)
        y1 = np.uint32(y1 + _W1)
    return x0, x1, x2, x3


@njit(cache=True, nogil=True, inline="always")
def u32_to_unit(x: np.uint32) -> float:
    """Map a 32-bit word to the open interval (0, 1): ``(x + 0.5) / 2**32``.

    Never returns 0 or 1, so ``log(u)`` and ``u ** -a`` are always finite. The resolution of
    2**-32 bounds the most extreme normal variate at about 6.2 standard deviations.
    """
    return (float(x) + 0.5) * _INV_2_32


@njit(cache=True, nogil=True, inline="always")
def box_muller(u1: float, u2: float) -> tuple[float, float]:
    """Two independent standard normal variates from two uniforms on (0, 1)."""
    r = math.sqrt(-2.0 * math.log(u1))
    t = _TWO_PI * u2
    return r * math.cos(t), r * math.sin(t)
