"""Contract designs lowered to one canonical record before any kernel runs.

A one-sided design is the two-sided corridor with no downside (``mlr = inf``, no loss rate); an
absent cap is an infinite one. Kernels then need no branches on the design's kind.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np

from simsettle._kernels.records import TERMS_DTYPE, RuleKind
from simsettle.scenario.contracts import TwoSided, UpsideOnly

__all__ = ["TERMS_DTYPE", "RuleKind", "compile_terms"]


def _cap(value: float | None) -> float:
    return math.inf if value is None else float(value)


def compile_terms(design: UpsideOnly | TwoSided) -> np.void:
    """The canonical :data:`TERMS_DTYPE` record of a validated design."""
    rec = np.zeros((), dtype=TERMS_DTYPE)
    rec["kind"] = RuleKind.SHARED_SAVINGS
    rec["msr"] = design.min_savings_rate
    rec["ssr"] = design.shared_savings_rate
    rec["savings_cap"] = _cap(design.savings_cap)
    rec["first_dollar"] = 1 if design.sharing_basis == "first_dollar" else 0
    if isinstance(design, TwoSided):
        rec["mlr"] = design.effective_min_loss_rate
        rec["slr"] = design.shared_loss_rate
        rec["loss_cap"] = _cap(design.loss_cap)
    else:
        rec["mlr"] = math.inf
        rec["slr"] = 0.0
        rec["loss_cap"] = 0.0
    return cast(np.void, rec[()])
