"""Python gates in front of the simulation kernels: every check, cast and allocation.

Names are resolved lazily (PEP 562), so importing a submodule does not load numba before it is
needed.
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
