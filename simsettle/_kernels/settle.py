"""Settlement kernels: one canonical design applied to every (trial, year)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["settle_shared_savings"]

F8 = npt.NDArray[np.float64]


@njit(cache=True, nogil=True)
def settle_shared_savings(
    msr: float,
    mlr: float,
    ssr: float,
    slr: float,
    savings_cap: float,
    loss_cap: float,
    first_dollar: bool,
    benchmark: F8,
    savings: F8,
    out: F8,
) -> None:
    """Shared savings and losses through a minimum savings/loss corridor, with caps.

    ``out[i] > 0``: the payer pays the provider (shared savings); ``< 0``: the provider pays back
    (shared losses). Savings at least ``msr x benchmark`` earn ``ssr`` of all savings
    (``first_dollar``) or of the part above the MSR, capped at ``savings_cap x benchmark``; losses
    at least ``mlr x benchmark`` cost ``slr`` of losses likewise, capped at ``loss_cap x
    benchmark``. An upside-only design has ``mlr = inf``.

    Caller guarantees: 1-d C-contiguous float64 arrays of equal length; benchmark > 0; rates in
    [0, 1]; caps >= 0 (inf for none); terms canonical (:func:`simsettle.rules.terms.compile_terms`).
    """
    for i in range(savings.shape[0]):
        b = benchmark[i]
        s = savings[i]
        if s > 0.0 and s >= msr * b:
            base = s if first_dollar else s - msr * b
            out[i] = min(ssr * base, savings_cap * b)
        elif s < 0.0 and -s >= mlr * b:
            base = -s if first_dollar else -s - mlr * b
            out[i] = -min(slr * base, loss_cap * b)
        else:
            out[i] = 0.0
