"""Figures for risk committees: settlement distribution, exceedance curves, payoff diagram.

Also the scaffolding every figure function of :mod:`simsettle.plot` shares: choosing designs
(:func:`_select`), a new Figure or the caller's Axes (:func:`_new_axes`), the run caption and
the finishing layout (:func:`_finish`). The conventions of ``design``, ``ax`` and the Figure
returned are documented once, in :mod:`simsettle.plot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import NullFormatter
from matplotlib.transforms import blended_transform_factory

from simsettle.plot import _style as style

__all__ = ["fig_distribution", "fig_exceedance", "fig_payoff"]

Side = Literal["both", "losses", "savings"]

_POOLED = ("trial", "year")
#: The probabilities a distribution's box gives (registry names).
_PROBABILITIES = ("prob_zero", "prob_savings", "prob_loss")
_GUIDES: tuple[tuple[float, str], ...] = ((0.10, "1 in 10"), (0.05, "1 in 20"), (0.01, "1 in 100"))
_CAPTION_KW: dict[str, Any] = {"parse_math": False, "fontsize": 8.0, "color": "0.35"}
_TITLE_KW: dict[str, Any] = {"parse_math": False, "fontsize": 11.0, "fontweight": "bold"}


def _select(ds: xr.Dataset, design: str | Sequence[str] | None) -> list[str]:
    available = [str(d) for d in ds["design"].values]
    if design is None:
        return available
    wanted = [design] if isinstance(design, str) else [str(d) for d in design]
    unknown = [d for d in wanted if d not in available]
    if unknown:
        raise KeyError(f"unknown design(s) {unknown}; the Dataset has {available}")
    if not wanted:
        raise ValueError("design must name at least one design")
    return wanted


def _pooled(ds: xr.Dataset, var: str, design: str) -> npt.NDArray[np.float64]:
    """Values of ``var`` for one design, pooled over trials and years, NaN dropped."""
    if var not in ds.data_vars:
        raise KeyError(f"variable {var!r} not in Dataset")
    da = ds[var].sel(design=design)
    extra = [str(d) for d in da.dims if d not in _POOLED]
    if extra:
        raise ValueError(
            f"{var!r} has dimensions {extra} besides trial and year; select one value first, "
            f"e.g. ds.isel({extra[0]}=0)"
        )
    values = np.asarray(da.values, dtype=np.float64).ravel()
    return values[~np.isnan(values)]


def _caption(ds: xr.Dataset) -> str:
    n_trials = int(ds.sizes.get("trial", 0))
    n_years = int(ds.sizes.get("year", 1))
    years = f"{n_years} year" if n_years == 1 else f"{n_years} years"
    seed = ds.attrs.get("seed", "n/a")
    return f"{n_trials:,} trials × {years}, seed {seed}"


def _new_axes(
    ax: Axes | None, ncols: int, figsize: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    if ax is not None:
        parent = ax.get_figure()
        while parent is not None and not isinstance(parent, Figure):  # SubFigure -> its parent
            parent = parent.get_figure()
        if parent is None:
            raise ValueError("ax is not attached to a Figure")
        return parent, [ax]
    fig = Figure(figsize=figsize, layout="constrained")
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def _plain_text(artist: Figure | Axes) -> None:
    """Make every text of ``artist`` plain text.

    Money labels carry dollar signs, and with two in one label (``$100.0K: +$0``) matplotlib
    would typeset the stretch between them as mathematics and drop the signs; simsettle's
    charts use no mathematics.
    """
    for text in artist.findobj(Text):
        text.set_parse_math(False)


def _titles_collide(fig: Figure) -> bool:
    """Whether an axes' left title (its name) runs into its right title (the run caption)."""
    fig.draw_without_rendering()  # lays the figure out; extents below are after layout
    for ax in fig.axes:
        left, right = ax.get_title(loc="left"), ax.get_title(loc="right")
        if not (left and right):
            continue
        texts = [t for t in ax.findobj(Text) if t.get_visible()]
        lefts = [t.get_window_extent() for t in texts if t.get_text() == left]
        rights = [t.get_window_extent() for t in texts if t.get_text() == right]
        for a in lefts:
            for b in rights:
                if a.x1 > b.x0 and min(a.y1, b.y1) > max(a.y0, b.y0):
                    return True
    return False


def _wrap_titles(fig: Figure) -> None:
    """Wrap every axes' left title (its name) that is wider than its axes onto more lines, so
    that a long design name over one of several panels does not run into its neighbour's."""
    import textwrap

    fig.draw_without_rendering()
    for ax in fig.axes:
        left = ax.get_title(loc="left")
        width = ax.bbox.width
        if not left or width <= 0:
            continue
        for text in ax.findobj(Text):
            if text.get_text() != left or not text.get_visible():
                continue
            wide = text.get_window_extent().width
            if wide > width:
                chars = max(12, int(len(left) * width / wide) - 1)
                text.set_text(textwrap.fill(left, chars, break_on_hyphens=False))


def _freeze_layout(fig: Figure) -> None:
    """Finish a Figure simsettle made: plain text, room for the titles, a frozen layout.

    - Every text is plain text (:func:`_plain_text`).
    - A left title wider than its axes is wrapped (:func:`_wrap_titles`).
    - Long tick labels (design names down the side of a chart) leave the axes narrow, and
      the bold title on the left can then run into the grey run caption on the right: the
      figure is widened, by 15%, 30% or at most 50%, until they are clear.
    - The constrained layout is run to its fixed point and then switched off. A constrained
      layout re-runs on every draw and can move things by a pixel between the first and
      second save (tick labels change as the axes resize); freezing it makes every save of
      the Figure give the same bytes. Call ``fig.set_layout_engine("constrained")`` to turn
      it back on after adding artists.
    """
    _plain_text(fig)
    engine = fig.get_layout_engine()
    if engine is None:
        return
    _wrap_titles(fig)
    width, height = (float(x) for x in fig.get_size_inches())
    for step in (1.15, 1.3, 1.5):
        if not _titles_collide(fig):
            break
        fig.set_size_inches(width * step, height)
    last: tuple[tuple[float, ...], ...] = ()
    for _ in range(8):
        engine.execute(fig)
        now = tuple(tuple(ax.get_position().bounds) for ax in fig.axes)
        if now == last:
            break
        last = now
    fig.set_layout_engine("none")


def _finish(fig: Figure, ax: Axes | None) -> Figure:
    """Finish what a figure function drew and return its Figure.

    A Figure the function made itself (no ``ax``) is laid out and frozen
    (:func:`_freeze_layout`); in the caller's ``ax`` only the texts are made plain
    (:func:`_plain_text`), and the layout stays the caller's.
    """
    if ax is None:
        _freeze_layout(fig)
    else:
        _plain_text(ax)
    return fig


def _style_axes(ax: Axes, *, x_money: bool = True) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, alpha=0.3, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=8.5)
    if x_money:
        ax.xaxis.set_major_formatter(style.money_formatter())


def _cap_probability(ds: xr.Dataset, design: str, side: Literal["savings", "losses"]) -> float:
    """P(shared savings/losses at their cap), NaN if the design has no cap or data is missing."""
    cap_name, shared_name = (
        ("savings_cap", "shared_savings") if side == "savings" else ("loss_cap", "shared_losses")
    )
    if cap_name not in ds.coords or shared_name not in ds or "benchmark" not in ds:
        return float("nan")
    cap = float(ds[cap_name].sel(design=design))
    if not np.isfinite(cap):
        return float("nan")
    shared = ds[shared_name].sel(design=design)
    limit = cap * ds["benchmark"]
    at_cap = (shared > 0) & (abs(shared - limit) <= 1e-9 * abs(limit))
    return float(at_cap.sum()) / max(int(shared.count()), 1)


def _eq(p: float) -> str:
    """' = 12.3%', or ' < 0.1%' for probabilities too small to show at one decimal."""
    text = style.format_percent(p, 1)
    return f" {text[0]} {text[1:]}" if text.startswith("<") else f" = {text}"


def _statistics(da: xr.DataArray, names: Sequence[str]) -> xr.Dataset:
    """The statistics ``names`` of ``da`` over its trials and years, with their trial-clustered
    standard errors: the registry's (:func:`simsettle.stats.columns`), computed."""
    from simsettle.stats import columns

    pooled = [d for d in _POOLED if d in da.dims]
    return columns(da.to_dataset(), names, var=str(da.name), dim=pooled).compute()


def _probability_lines(ds: xr.Dataset, var: str, design: str, row: xr.Dataset) -> list[str]:
    """The probability lines of one design's box; ``row`` is its row of :func:`_statistics`."""
    p_zero, p_pos, p_neg = (float(row[n]) for n in ("prob_zero", "prob_savings", "prob_loss"))
    if var == "settlement":
        lines = [
            f"P(settlement = 0){_eq(p_zero)}",
            f"P(receive savings){_eq(p_pos)}",
            f"P(pay losses){_eq(p_neg)}",
        ]
        for side, label in (("savings", "at savings cap"), ("losses", "at loss cap")):
            p_cap = _cap_probability(ds, design, side)  # type: ignore[arg-type]
            if np.isfinite(p_cap) and p_cap > 0:
                lines.append(f"P({label}){_eq(p_cap)}")
    else:
        lines = [
            f"P({var} = 0){_eq(p_zero)}",
            f"P({var} > 0){_eq(p_pos)}",
            f"P({var} < 0){_eq(p_neg)}",
        ]
    return lines


def _bin_edges(
    nonzero: Sequence[npt.NDArray[np.float64]], bins: int | None
) -> npt.NDArray[np.float64]:
    pooled = np.concatenate(nonzero) if nonzero else np.empty(0)
    lo, hi = float(pooled.min()), float(pooled.max())
    if bins is None:
        bins = int(np.clip(np.sqrt(pooled.size), 10, 80))
    if lo == hi:
        lo, hi = lo - 0.5 * abs(lo) - 0.5, hi + 0.5 * abs(hi) + 0.5
    return np.linspace(lo, hi, bins + 1)


def fig_distribution(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    var: str = "settlement",
    bins: int | None = None,
) -> Figure:
    """Histogram of settlement per performance year, without the point mass at zero.

    Settlement is exactly zero whenever savings fall inside the minimum savings/loss corridor;
    that spike would flatten everything else, so exact zeros are left out of the bars and
    reported instead in a text box, with P(receive savings), P(pay losses) and, for capped
    designs, P(at cap). Bar heights are shares of *all* trial-years (zeros included), so the
    bars plus P(= 0) add up to 100%.

    Parameters
    ----------
    ds, ax, var
        As for every figure function (:mod:`simsettle.plot`).
    design : str or sequence of str, optional
        One design (filled histogram), several (overlaid step histograms on common bins, one
        colour per design), or ``None`` for every design (one design if there is only one).
    bins : int, optional
        Number of bins; by default sqrt(number of non-zero values), between 10 and 80.
    """
    designs = _select(ds, design)
    colors = style.design_colors(ds["design"].values)
    styles = style.design_linestyles(ds["design"].values)
    fig, (axis,) = _new_axes(ax, 1, (7.2, 4.4))
    _style_axes(axis)

    samples = {d: _pooled(ds, var, d) for d in designs}
    marks = _statistics(ds[var].sel(design=designs), ("mean", *_PROBABILITIES))
    nonzero = {d: v[v != 0] for d, v in samples.items()}
    have = [nz for nz in nonzero.values() if nz.size]
    edges = _bin_edges(have, bins) if have else None
    single = len(designs) == 1

    for d in designs:
        values, nz = samples[d], nonzero[d]
        if edges is None or nz.size == 0:
            continue
        weights = np.full(nz.size, 1.0 / values.size)
        if single:
            axis.hist(
                nz,
                bins=edges.tolist(),
                weights=weights,
                color=colors[d],
                alpha=0.85,
                edgecolor="white",
                linewidth=0.4,
                label=d,
            )
        else:
            axis.hist(
                nz,
                bins=edges.tolist(),
                weights=weights,
                histtype="step",
                color=colors[d],
                linestyle=styles[d],
                linewidth=1.6,
                label=d,
            )

    axis.axvline(0.0, color="0.15", linewidth=1.0, linestyle="--", zorder=3)
    axis.yaxis.set_major_formatter(style.percent_formatter())
    axis.set_ylim(bottom=0.0)
    if edges is not None:
        # headroom so the text box sits above the bars
        axis.set_ylim(top=axis.get_ylim()[1] * (1.45 if single else 1.2))

    long_name = str(ds[var].attrs.get("long_name", var))
    unit_year = "trial" if int(ds.sizes.get("year", 1)) == 1 else "trial-year"
    if var == "settlement":
        axis.set_xlabel(
            "Settlement per performance year (> 0: payer pays provider; < 0: provider pays)"
        )
    else:
        axis.set_xlabel(f"{long_name[:1].upper()}{long_name[1:]} per performance year")
    axis.set_ylabel(f"Share of {unit_year}s")

    if single:
        d = designs[0]
        row = marks.sel(design=d)
        lines = _probability_lines(ds, var, d, row)
        mean, se = float(row["mean"]), float(row["mean_se"])
        lines.append(f"mean = {style.format_money(mean)} (MC SE {style.format_money(se)})")
        lines.append("bars exclude exact zeros")
        axis.text(
            0.02,
            0.97,
            "\n".join(lines),
            transform=axis.transAxes,
            va="top",
            ha="left",
            fontsize=8.5,
            linespacing=1.35,
            zorder=5,
            parse_math=False,
            bbox={
                "boxstyle": "round,pad=0.45",
                "facecolor": "white",
                "edgecolor": "0.7",
                "alpha": 0.95,
            },
        )
        axis.set_title(d, loc="left", **_TITLE_KW)
    else:
        handles, labels = axis.get_legend_handles_labels()
        described = []
        for label in labels:
            p = _probability_lines(ds, var, label, marks.sel(design=label))[:3]
            described.append(f"{label}\n  " + "\n  ".join(p))
        axis.legend(
            handles,
            described,
            loc="upper left",
            fontsize=7.5,
            title="bars exclude exact zeros",
            title_fontsize=7.5,
        )
        axis.set_title(f"{long_name[:1].upper()}{long_name[1:]} by design", loc="left", **_TITLE_KW)
    axis.set_title(_caption(ds), loc="right", **_CAPTION_KW)
    if edges is None:
        axis.text(
            0.5,
            0.5,
            f"{var} is zero in every trial",
            transform=axis.transAxes,
            ha="center",
            va="center",
            fontsize=9,
        )
    _finish(fig, ax)
    if single and edges is not None:
        _clear_box(fig, axis)
    return fig


def _clear_box(fig: Figure, axis: Axes) -> None:
    """Raise the y axis just enough that no bar under the probability box reaches it.

    The box sits in the top left corner with a fixed headroom; with the cap lines it can hide
    the tallest bars near zero (a no-op when no bar under it is that tall).
    """
    from matplotlib.patches import Rectangle

    patches = [p for p in (t.get_bbox_patch() for t in axis.texts) if p is not None]
    if not patches:
        return
    fig.draw_without_rendering()  # places the box
    to_axes = axis.transAxes.inverted()
    to_data = axis.transData.inverted()
    extent = patches[0].get_window_extent()
    (_, bottom), _ = to_axes.transform(extent.get_points())
    (x0, _), (x1, _) = to_data.transform(extent.get_points())
    tallest = max(
        (
            p.get_height()
            for p in axis.patches
            if isinstance(p, Rectangle) and p.get_x() < x1 and p.get_x() + p.get_width() > x0
        ),
        default=0.0,
    )
    lo, hi = axis.get_ylim()
    room = bottom - 0.04  # axes fraction below the box, with a margin
    if tallest > 0 and room > 0.2 and (tallest - lo) / (hi - lo) > room:
        axis.set_ylim(lo, lo + (tallest - lo) / room)


def _tail(
    values: npt.NDArray[np.float64], n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Exceedance curve of the strictly positive part of ``values``, probabilities out of ``n``."""
    positive = np.sort(values[values > 0])
    m = positive.size
    prob = np.arange(m, 0, -1, dtype=np.float64) / n
    return positive, prob


def _draw_tail(
    axis: Axes,
    ds: xr.Dataset,
    var: str,
    designs: list[str],
    colors: dict[str, str],
    styles: dict[str, Any],
    side: Literal["losses", "savings"],
) -> None:
    _style_axes(axis)
    axis.set_yscale("log")
    axis.yaxis.set_major_formatter(style.percent_formatter())
    axis.yaxis.set_minor_formatter(NullFormatter())
    n_max = 1
    x_max = 0.0
    for d in designs:
        values = _pooled(ds, var, d)
        n = values.size
        n_max = max(n_max, n)
        amounts = -values if side == "losses" else values
        x, p = _tail(amounts, max(n, 1))
        color, dashes = colors[d], styles[d]
        if x.size == 0:
            never = "never pays" if side == "losses" else "never receives"
            axis.plot([], [], color=color, ls=dashes, linewidth=1.8, label=f"{d} ({never})")
            continue
        x_max = max(x_max, float(x[-1]))
        # P(X >= t) for t in (x[i-1], x[i]] is p[i]: a "pre" step, starting at t = 0
        axis.step(
            np.concatenate(([0.0], x)),
            np.concatenate(([p[0]], p)),
            where="pre",
            color=color,
            linestyle=dashes,
            linewidth=1.8,
            label=d,
        )
        for level, _ in _GUIDES:
            k = int(np.floor(level * n + 1e-9))
            if 1 <= k <= x.size:
                axis.plot(
                    x[x.size - k],
                    k / n,
                    marker="o",
                    markersize=4.5,
                    color=color,
                    markeredgecolor="white",
                    markeredgewidth=0.6,
                    zorder=4,
                )

    floor = 1.0 / n_max
    axis.set_ylim(floor * 0.6, 1.05)
    axis.set_xlim(left=0.0, right=x_max * 1.04 if x_max > 0 else 1.0)
    label_tf = blended_transform_factory(axis.transAxes, axis.transData)
    for level, text in _GUIDES:
        if level >= floor:
            axis.axhline(level, color="0.45", linewidth=0.8, linestyle=":", zorder=1)
            axis.text(
                1.01,
                level,
                text,
                transform=label_tf,
                ha="left",
                va="center",
                fontsize=7.5,
                color="0.3",
            )
    if side == "losses":
        axis.set_xlabel("Provider pays at least X per performance year")
        axis.set_ylabel("P(provider pays ≥ X)")
        axis.set_title("Downside: provider pays losses", loc="left", **_TITLE_KW)
    else:
        axis.set_xlabel("Provider receives at least X per performance year")
        axis.set_ylabel("P(provider receives ≥ X)")
        axis.set_title("Upside: provider receives savings", loc="left", **_TITLE_KW)
    axis.legend(loc="lower left", fontsize=8)


def fig_exceedance(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    var: str = "settlement",
    side: Side | None = None,
) -> Figure:
    """Exceedance curves of the provider's downside (and upside), one line per design.

    The downside panel shows ``P(-settlement >= x)`` against ``x > 0``: the probability that
    the provider pays at least ``x`` in a performance year. The upside panel shows
    ``P(settlement >= x)``: the probability of receiving at least ``x``. Probabilities use the
    rank construction of :func:`simsettle.stats.exceedance` (k-th largest of N has k/N) out of
    *all* trial-years, on a log axis; dotted guides mark 10%, 5% and 1% (1 in 10, 20, 100
    years) and dots mark where each curve crosses them. Guides below 1/N are not drawn.

    Parameters
    ----------
    ds, design, var
        As for every figure function (:mod:`simsettle.plot`).
    ax : matplotlib.axes.Axes, optional
        Axes to draw a single panel into; then ``side`` defaults to ``"losses"``.
    side : {"both", "losses", "savings"}, optional
        Panels to draw; default ``"both"`` (side by side) for a new Figure.
    """
    designs = _select(ds, design)
    colors = style.design_colors(ds["design"].values)
    styles = style.design_linestyles(ds["design"].values)
    if side is None:
        side = "losses" if ax is not None else "both"
    if side not in ("both", "losses", "savings"):
        raise ValueError(f"side must be 'both', 'losses' or 'savings', got {side!r}")
    if side == "both" and ax is not None:
        raise ValueError("side='both' needs two panels; pass ax=None or side='losses'/'savings'")
    panels: list[Literal["losses", "savings"]] = ["losses", "savings"] if side == "both" else [side]
    fig, axes = _new_axes(ax, len(panels), (11.0, 4.4) if len(panels) == 2 else (6.4, 4.4))
    for axis, panel in zip(axes, panels, strict=True):
        _draw_tail(axis, ds, var, designs, colors, styles, panel)
    if ax is None and len(panels) == 2:
        fig.suptitle(
            f"Exceedance probabilities of settlement · {_caption(ds)}",
            fontsize=10.0,
            color="0.25",
            x=0.01,
            ha="left",
        )
    else:
        axes[-1].set_title(_caption(ds), loc="right", **_CAPTION_KW)
    return _finish(fig, ax)


def fig_payoff(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    savings_range: tuple[float, float] = (-0.25, 0.25),
) -> Figure:
    """Payoff diagram: each design's settlement against the savings rate.

    Reads the ``payoff`` curves that :func:`simsettle.simulate` (or :func:`simsettle.payoff`)
    stores, so the corridor (the flat stretch at zero around the origin), the sharing slopes,
    the band kinks and the caps (flat ends) of every design are visible at a glance. Both axes
    are fractions of the benchmark; a light grey 45-degree line marks a provider that keeps all
    savings and bears all losses.

    Parameters
    ----------
    ds : xarray.Dataset
        A results Dataset (or :func:`simsettle.payoff` output) with ``payoff`` over ``design``
        and ``payoff_savings_rate``.
    design, ax
        As for every figure function (:mod:`simsettle.plot`).
    savings_range : (float, float), default (-0.25, 0.25)
        Range of savings rates shown.
    """
    if "payoff" not in ds.data_vars:
        raise KeyError("the Dataset has no `payoff` variable; make one with simsettle.payoff()")
    designs = _select(ds, design)
    colors = style.design_colors(ds["design"].values)
    styles = style.design_linestyles(ds["design"].values)
    lo, hi = savings_range
    if not lo < hi:
        raise ValueError(f"savings_range must be increasing, got {savings_range}")
    fig, (axis,) = _new_axes(ax, 1, (7.2, 4.6))
    curves = ds["payoff"].sel(payoff_savings_rate=slice(lo, hi))
    x = np.asarray(curves["payoff_savings_rate"].values, dtype=np.float64)
    axis.plot(
        [lo, hi], [lo, hi], color="0.8", linewidth=1.0, zorder=1, label="provider keeps all (45°)"
    )
    axis.axhline(0.0, color="0.3", linewidth=0.8, zorder=1)
    axis.axvline(0.0, color="0.3", linewidth=0.8, zorder=1)
    for d in designs:
        y = np.asarray(curves.sel(design=d).values, dtype=np.float64)
        axis.plot(x, y, color=colors[d], linestyle=styles[d], linewidth=1.9, label=d, zorder=3)
    axis.set_xlim(lo, hi)
    _style_axes(axis, x_money=False)
    axis.xaxis.set_major_formatter(style.percent_formatter())
    axis.yaxis.set_major_formatter(style.percent_formatter())
    axis.set_xlabel("Savings rate (savings as % of benchmark; < 0: losses)")
    axis.set_ylabel("Settlement as % of benchmark (> 0: payer pays provider)")
    axis.set_title("Payoff: settlement by savings rate", loc="left", **_TITLE_KW)
    axis.legend(loc="upper left", fontsize=8)
    return _finish(fig, ax)
