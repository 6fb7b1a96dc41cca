"""Figures of simulated settlements (matplotlib, object API, no pyplot state).

Every figure function has the shape ``fig_*(ds, *, design=None, ax=None, ...) -> Figure`` and
keeps these conventions, which the functions' own docstrings do not repeat:

- ``ds`` is a results Dataset with dims ``design``, ``trial`` and ``year`` (a sweep for
  :func:`fig_tornado` and :func:`fig_heatmap`, the payoff curves for :func:`fig_payoff`);
  each simulated performance year of each trial counts as one observation (pooled over
  ``trial`` and ``year``), so select a single sweep value first where the Dataset has sweep
  dimensions;
- ``design`` is one design label, a sequence of labels, or ``None`` for every design (for the
  first one, where the function says so); a label the Dataset lacks raises :class:`KeyError`.
  Each design keeps its colour (:func:`design_colors`) in every chart of a run;
- ``ax`` is an existing :class:`~matplotlib.axes.Axes` to draw into, and its Figure is returned;
  without it a new :class:`~matplotlib.figure.Figure` is built with the object API (no pyplot
  state), laid out once and frozen, so figures can be made from several threads and saved
  reproducibly (``fig.savefig("out.png", dpi=110, metadata={"Software": None})``);
- ``var`` (where there is one) is the variable drawn, ``"settlement"`` by default: USD,
  positive = paid to the provider.

The figures:

- :func:`fig_distribution`: settlement histogram per design, the point mass at zero annotated;
- :func:`fig_exceedance`: exceedance curves of the provider's downside and upside;
- :func:`fig_compare`: designs side by side (violins or boxes, quantiles, means, P(pay losses));
- :func:`fig_fan`: median and 50%/90% bands over the performance years of an agreement, of the
  settlement and of benchmark against actual spend;
- :func:`fig_payoff`: payoff diagram of each design's terms;
- :func:`fig_frontier`: mean settlement against a party's 1-in-20 loss, with the efficient
  frontier and the dominated designs marked (:func:`simsettle.stats.decide`);
- :func:`fig_participants`: payout distribution of each participant practice;
- :func:`fig_tornado`, :func:`fig_heatmap`: sensitivities from a parameter sweep (a Dataset with
  the sweep dimensions listed in ``ds.attrs["sweep_dims"]``).

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
    from simsettle.plot.compare import fig_compare, fig_fan, fig_participants
    from simsettle.plot.decision import fig_frontier
    from simsettle.plot.figures import fig_distribution, fig_exceedance, fig_payoff
    from simsettle.plot.sweeps import fig_heatmap, fig_tornado

__all__ = [
    "design_colors",
    "design_linestyles",
    "fig_compare",
    "fig_distribution",
    "fig_exceedance",
    "fig_fan",
    "fig_frontier",
    "fig_heatmap",
    "fig_participants",
    "fig_payoff",
    "fig_tornado",
    "format_money",
    "format_percent",
    "money_formatter",
    "percent_formatter",
]

_LAZY = {
    "fig_compare": "simsettle.plot.compare",
    "fig_distribution": "simsettle.plot.figures",
    "fig_exceedance": "simsettle.plot.figures",
    "fig_fan": "simsettle.plot.compare",
    "fig_frontier": "simsettle.plot.decision",
    "fig_heatmap": "simsettle.plot.sweeps",
    "fig_participants": "simsettle.plot.compare",
    "fig_payoff": "simsettle.plot.figures",
    "fig_tornado": "simsettle.plot.sweeps",
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
