"""Figures of simulated settlements (matplotlib, object API, no pyplot state).

Every figure function has the shape ``fig_*(ds, *, design=None, ax=None) -> Figure``.

matplotlib is imported on first use of a figure function or tick formatter (PEP 562 lazy
attributes), so ``import simsettle.plot`` and the plain-text formatters
(:func:`format_money`, :func:`format_percent`) stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simsettle.plot._style import (
    design_colors,
    design_linestyles,
    format_money,
    format_percent,
    money_formatter,
    percent_formatter,
)

if TYPE_CHECKING:
    from simsettle.plot.figures import fig_distribution, fig_exceedance, fig_payoff

__all__ = [
    "design_colors",
    "design_linestyles",
    "fig_distribution",
    "fig_exceedance",
    "fig_payoff",
    "format_money",
    "format_percent",
    "money_formatter",
    "percent_formatter",
]

_LAZY = {
    "fig_distribution": "simsettle.plot.figures",
    "fig_exceedance": "simsettle.plot.figures",
    "fig_payoff": "simsettle.plot.figures",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:  # pragma: no cover - matplotlib is a core dependency
        if exc.name is not None and exc.name.split(".")[0] == "matplotlib":
            raise ImportError(
                "simsettle.plot needs matplotlib; install it with `pip install matplotlib`"
            ) from exc
        raise
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
