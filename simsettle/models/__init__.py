"""Python gates in front of the simulation kernels: every check, cast and allocation.

Names are resolved lazily (PEP 562): :mod:`simsettle.models.costs` is pure Python and is used at
scenario validation, which must not load numba.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simsettle.models.population import ModelInputs, compile_model, simulate_aggregates

__all__ = ["ModelInputs", "compile_model", "simulate_aggregates"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        value = getattr(importlib.import_module("simsettle.models.population"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simsettle.models' has no attribute {name!r}")
