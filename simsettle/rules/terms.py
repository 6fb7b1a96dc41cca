"""Contract designs lowered to canonical arrays before any kernel runs.

A flat sharing rate is one band ``[0, inf)``; banded corridors keep their bands; an upside-only
design has no loss bands and an infinite minimum loss rate; an absent cap is an infinite one.
Kernels then need no branches on the design's kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simsettle.scenario.contracts import Band, TwoSided, UpsideOnly

__all__ = ["Terms", "compile_bands", "compile_terms"]

F8 = npt.NDArray[np.float64]


def compile_bands(bands: tuple[Band, ...]) -> tuple[F8, F8, F8]:
    """``(lo, hi, share)`` arrays: band k covers rates ``[lo[k], hi[k])``, the last to inf."""
    lo, hi, share = [], [], []
    previous = 0.0
    for band in bands:
        upper = math.inf if band.up_to is None else band.up_to
        lo.append(previous)
        hi.append(upper)
        share.append(band.share)
        previous = upper
    if hi and not math.isinf(hi[-1]):
        # Beyond the last band's end nothing more is shared.
        lo.append(hi[-1])
        hi.append(math.inf)
        share.append(0.0)
    return (
        np.array(lo, dtype=np.float64),
        np.array(hi, dtype=np.float64),
        np.array(share, dtype=np.float64),
    )


@dataclass(frozen=True)
class Terms:
    """The canonical form of one design: bands and the design-level constants."""

    sav_lo: F8
    sav_hi: F8
    sav_share: F8
    loss_lo: F8
    loss_hi: F8
    loss_share: F8
    first_dollar: bool
    sequestration: float
    two_sided: bool


def compile_terms(design: UpsideOnly | TwoSided) -> Terms:
    """The canonical :class:`Terms` of a validated design."""
    sav = compile_bands(design.savings_bands_effective)
    if isinstance(design, TwoSided):
        loss = compile_bands(design.loss_bands_effective)
    else:
        loss = (np.zeros(1), np.full(1, math.inf), np.zeros(1))
    return Terms(
        *sav,
        *loss,
        first_dollar=design.sharing_basis == "first_dollar",
        sequestration=float(design.sequestration),
        two_sided=isinstance(design, TwoSided),
    )
