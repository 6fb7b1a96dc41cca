"""Settlement kernel: one canonical design applied to every (trial, year).

The gate (:func:`simsettle.rules.settle.settle`) turns a design and the year's facts (attributed
members, revenue, quality) into per-element corridors, factors and caps; this loop applies the
corridor test, the banded sharing and CMS's order of operations.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from simsettle._kernels import cacheguard as _cacheguard
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
def band_share(lo: F8, hi: F8, share: F8, b: float, a: float, x: float) -> float:
    """Banded share of the amount range ``[a, x]`` (USD), bands given as rates of ``b``.

    The sum over bands of share x the overlap of ``[a, x]`` with ``[lo x b, hi x b)``. Working
    in USD keeps a flat rate exact: one band ``[0, inf)`` at rate ``s`` gives ``s x (x - a)``.
    """
    total = 0.0
    for k in range(share.shape[0]):
        width = min(x, hi[k] * b) - max(a, lo[k] * b)
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
            threshold = msr[i] * b
            if s >= threshold:
                start = 0.0 if first_dollar else threshold
                shared = band_share(sav_lo, sav_hi, sav_share, b, start, s) * savings_factor[i]
            elif below_msr_factor[i] > 0.0:
                below = band_share(sav_lo, sav_hi, sav_share, b, 0.0, s)
                shared = below * savings_factor[i] * below_msr_factor[i]
            seq = -shared * sequestration
            after = shared + seq
            capped = min(after, savings_cap[i])
            cap = capped - after
            total = capped
        elif s < 0.0 and -s >= mlr[i] * b:
            start = 0.0 if first_dollar else mlr[i] * b
            shared = -band_share(loss_lo, loss_hi, loss_share, b, start, -s) * loss_factor[i]
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


# Before any kernel here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(settle_terms)
