"""Settlement kernel: one canonical design applied to every (trial, year).

The gate (:func:`simsettle.rules.settle.settle`) turns a design and the year's facts (attributed
members, revenue, quality) into per-element corridors, factors and caps; this loop applies the
corridor test, the banded sharing and CMS's order of operations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from simsettle._kernels.records import (
    S_CAP,
    S_LOSS_RELIEF,
    S_SEQUESTRATION,
    S_SETTLEMENT,
    S_SHARED,
    S_WITHHOLD,
)

__all__ = ["band_share", "settle_terms"]

F8 = npt.NDArray[np.float64]


@njit(cache=True, nogil=True, inline="always")
def band_share(lo: F8, hi: F8, share: F8, a: float, r: float) -> float:
    """Integral of the banded share over rates ``[a, r]``: sum of share x overlap with each band.

    For one band ``[0, inf)`` at rate ``s`` this is ``s x (r - a)``.
    """
    total = 0.0
    for k in range(share.shape[0]):
        width = min(r, hi[k]) - max(a, lo[k])
        if width > 0.0:
            total += share[k] * width
    return total


@njit(cache=True, nogil=True)
def settle_terms(
    sav_lo: F8,
    sav_hi: F8,
    sav_share: F8,
    loss_lo: F8,
    loss_hi: F8,
    loss_share: F8,
    first_dollar: bool,
    sequestration: float,
    benchmark: F8,
    savings: F8,
    msr: F8,
    mlr: F8,
    savings_factor: F8,
    below_msr_factor: F8,
    loss_factor: F8,
    savings_cap: F8,
    loss_cap: F8,
    loss_relief: F8,
    withhold: F8,
    out: F8,
) -> None:
    """Settle each element; ``out[i]`` receives the steps named in ``records.STEP_NAMES``.

    Savings (s > 0) reaching ``msr x benchmark`` are shared through the savings bands over the
    savings rate, from 0 (first dollar) or from the MSR, times ``savings_factor`` (quality);
    positive savings below the MSR are shared at ``below_msr_factor`` of that (0 normally).
    Sequestration comes off, then the cap. Losses reaching ``mlr x benchmark`` are shared
    through the loss bands times ``loss_factor``, capped, then reduced by ``loss_relief``. The
    quality ``withhold`` (USD, <= 0) is added last.

    Caller guarantees: 1-d C-contiguous float64 arrays of equal length n (``out`` is n x
    N_STEPS); benchmark > 0; bands contiguous from 0 with ``hi = inf`` on the last; factors,
    rates and relief in [0, 1]; caps >= 0 in USD (inf for none).
    """
    for i in range(savings.shape[0]):
        b = benchmark[i]
        s = savings[i]
        shared = 0.0
        seq = 0.0
        cap = 0.0
        relief = 0.0
        total = 0.0
        if s > 0.0:
            r = s / b
            if s >= msr[i] * b:
                start = 0.0 if first_dollar else msr[i]
                shared = b * band_share(sav_lo, sav_hi, sav_share, start, r) * savings_factor[i]
            elif below_msr_factor[i] > 0.0:
                shared = (
                    b
                    * band_share(sav_lo, sav_hi, sav_share, 0.0, r)
                    * savings_factor[i]
                    * below_msr_factor[i]
                )
            seq = -shared * sequestration
            after = shared + seq
            capped = min(after, savings_cap[i])
            cap = capped - after
            total = capped
        elif s < 0.0 and -s >= mlr[i] * b:
            r = -s / b
            start = 0.0 if first_dollar else mlr[i]
            shared = -b * band_share(loss_lo, loss_hi, loss_share, start, r) * loss_factor[i]
            capped = max(shared, -loss_cap[i])
            cap = capped - shared
            relief = -capped * loss_relief[i]
            total = capped + relief
        out[i, S_SETTLEMENT] = total + withhold[i]
        out[i, S_SHARED] = shared
        out[i, S_SEQUESTRATION] = seq
        out[i, S_CAP] = cap
        out[i, S_LOSS_RELIEF] = relief
        out[i, S_WITHHOLD] = withhold[i]
