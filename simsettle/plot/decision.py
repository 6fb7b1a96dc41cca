"""The decision chart: each design's mean settlement against a party's 1-in-20 loss.

Same conventions as :mod:`simsettle.plot.figures`. The statistics and the verdicts come from
:func:`simsettle.stats.decide`, so the chart says what ``simsettle compare`` and the report's
first page say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simsettle.plot._style import design_colors, money_formatter
from simsettle.plot.figures import (
    _CAPTION_KW,
    _TITLE_KW,
    _caption,
    _finish,
    _new_axes,
    _select,
    _style_axes,
)
from simsettle.stats import decide

__all__ = ["fig_frontier"]

#: Short names of the variables a decision weighs, for the axis labels.
_SHORT = {"settlement": "settlement", "provider_net": "net result"}
#: Two-sided 95%: the error bars span ±1.96 Monte Carlo standard errors.
_Z = 1.959963984540054


def fig_frontier(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    party: Literal["provider", "payer"] = "provider",
    var: str = "settlement",
) -> Figure:
    """Mean settlement (or ``var``) against the party's 1-in-20 loss, one point per design.

    Each design is a point at (its 1-in-20 loss for ``party``, its mean settlement), with
    bars of ±1.96 Monte Carlo standard errors on both axes. Dominated designs
    (:func:`simsettle.stats.decide`: beyond paired Monte Carlo error) are hollow and labelled
    with the design that dominates them, the others filled; those on the efficient frontier
    (no other design has both a higher mean, for the provider, and a lower loss) are joined by
    a dashed line.

    Parameters
    ----------
    ds, design, ax
        As for every figure function (:mod:`simsettle.plot`).
    party : {"provider", "payer"}
        Whose 1-in-20 loss (value-at-risk 95%) is on the horizontal axis, and whose
        interest decides the frontier (for the payer a lower mean settlement is better).
    var : str, default "settlement"
        The variable weighed (``provider_net``: the provider's net result).
    """
    designs = _select(ds, design)
    colors = design_colors(ds["design"].values)
    loss = f"var_{party}_95"
    table = decide(ds.sel(design=designs), party=party, var=var).swap_dims(rank="design")
    fig, (axis,) = _new_axes(ax, 1, (7.2, 4.6))
    _style_axes(axis)
    frontier = []
    for d in designs:
        row = table.sel(design=d)
        x, y = float(row[loss]), float(row["mean"])
        xe, ye = _Z * float(row[f"{loss}_se"]), _Z * float(row["mean_se"])
        dominated = bool(row["dominated"])
        on = bool(row["on_frontier"]) and not dominated
        if on:
            frontier.append((x, y))
        axis.errorbar(
            x, y, xerr=xe, yerr=ye, fmt="none", ecolor=colors[d], elinewidth=1.2, capsize=3,
            zorder=3,
        )  # fmt: skip
        axis.plot(
            [x], [y], marker="o", markersize=10, linestyle="none", zorder=4,
            markerfacecolor="white" if dominated else colors[d], markeredgecolor=colors[d],
            markeredgewidth=2.0,
        )  # fmt: skip
        note = f"{d}"
        if dominated:
            note += f"\ndominated by {str(row['dominated_by'].item()).split(', ')[0]}"
        axis.annotate(
            note, (x, y), xytext=(9, 7), textcoords="offset points", fontsize=8.5,
            color="0.15", zorder=5,
        )  # fmt: skip
    if len(frontier) > 1:
        pts = np.array(sorted(frontier))
        axis.plot(pts[:, 0], pts[:, 1], color="0.35", linewidth=1.2, linestyle="--", zorder=2)
    axis.xaxis.set_major_formatter(money_formatter())
    axis.yaxis.set_major_formatter(money_formatter())
    axis.axhline(0.0, color="0.6", linewidth=0.8, zorder=1)
    what = _SHORT.get(var) or str(ds[var].attrs.get("long_name", var))
    of = "" if var == "settlement" else f" of the {what}"
    axis.set_xlabel(f"The {party}'s 1-in-20 loss{of} (value-at-risk 95%): further left is safer")
    better = "higher" if party == "provider" else "lower"
    axis.set_ylabel(f"Mean {what} per year ({better} is better)")
    axis.set_title(f"Mean against 1-in-20 loss, for the {party}", loc="left", **_TITLE_KW)
    axis.set_title(_caption(ds), loc="right", **_CAPTION_KW)
    handles = [
        Line2D([], [], marker="o", linestyle="none", markersize=8, markerfacecolor="0.3",
               markeredgecolor="0.3", label="not dominated"),
        Line2D([], [], marker="o", linestyle="none", markersize=8, markerfacecolor="white",
               markeredgecolor="0.3", markeredgewidth=2.0, label="dominated"),
        Line2D([], [], color="0.3", linewidth=1.2, label="±1.96 standard errors"),
        *([Line2D([], [], color="0.35", linewidth=1.2, linestyle="--", label="frontier")]
          if len(frontier) > 1 else []),
    ]  # fmt: skip
    axis.legend(handles=handles, loc="best", fontsize=8, frameon=False)
    axis.margins(x=0.18, y=0.15)
    return _finish(fig, ax)
