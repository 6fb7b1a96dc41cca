"""Gate in front of the settlement kernels: checks, casts and allocation."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle._kernels import settle as _settle
from simsettle._kernels.records import TERMS_DTYPE, RuleKind
from simsettle.rules.terms import compile_terms
from simsettle.scenario.contracts import TwoSided, UpsideOnly

__all__ = ["settle", "settle_design"]

F8 = npt.NDArray[np.float64]


def settle(terms: np.void, benchmark: npt.ArrayLike, savings: npt.ArrayLike) -> F8:
    """Settlement (USD, > 0 = payer pays provider) of ``savings`` against ``benchmark``.

    Parameters
    ----------
    terms : TERMS_DTYPE record
        From :func:`simsettle.rules.terms.compile_terms`.
    benchmark, savings : array_like, same shape
        USD; benchmark must be positive and finite, savings finite.
    """
    if getattr(terms, "dtype", None) != TERMS_DTYPE:
        raise TypeError(f"terms must be a TERMS_DTYPE record, got {type(terms).__name__}")
    b = np.ascontiguousarray(benchmark, dtype=np.float64)
    s = np.ascontiguousarray(savings, dtype=np.float64)
    if b.shape != s.shape:
        raise ValueError(f"benchmark and savings must have the same shape: {b.shape} vs {s.shape}")
    if not np.all(np.isfinite(b) & (b > 0)):
        raise ValueError("benchmark must be positive and finite everywhere")
    if not np.all(np.isfinite(s)):
        raise ValueError("savings must be finite everywhere")
    kind = int(terms["kind"])
    if kind != RuleKind.SHARED_SAVINGS:
        raise ValueError(f"unknown rule kind {kind}")
    out = np.empty(b.size, dtype=np.float64)
    _settle.settle_shared_savings(
        float(terms["msr"]),
        float(terms["mlr"]),
        float(terms["ssr"]),
        float(terms["slr"]),
        float(terms["savings_cap"]),
        float(terms["loss_cap"]),
        bool(terms["first_dollar"]),
        b.reshape(-1),
        s.reshape(-1),
        out,
    )
    return out.reshape(b.shape)


def settle_design(
    design: UpsideOnly | TwoSided, benchmark: npt.ArrayLike, savings: npt.ArrayLike
) -> F8:
    """:func:`settle` for a scenario design model."""
    return settle(compile_terms(design), benchmark, savings)
