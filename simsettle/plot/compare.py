"""Comparison figures: designs side by side, settlement over the years, participant payouts.

Same conventions as :mod:`simsettle.plot.figures`: ``fig_*(ds, *, design=None, ax=None, ...)``
returns the Figure, draws with the object API only (no pyplot state), keeps each design's colour
from :func:`~simsettle.plot.design_colors`, formats money as ``$1.2M`` / ``−$2.0M``, and gives
the same PNG bytes for the same Dataset (``fig.savefig(path, dpi=110, metadata={"Software":
None})``).

Distributions are summarised the same way everywhere: the 5th and 95th percentiles (whiskers
or the thin line), the median (white dot), the mean (black diamond), all over *every*
trial-year, exact zeros included; violins show the shape of the non-zero values only, since the
point mass at zero (the corridor) would flatten everything else, and the share of exact zeros is
drawn as a bar on the zero line and written out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory

from simsettle.plot._style import (
    MINUS,
    design_colors,
    format_money,
    format_percent,
    money_formatter,
)
from simsettle.plot.figures import (
    _CAPTION_KW,
    _TITLE_KW,
    _caption,
    _finish,
    _freeze_layout,
    _new_axes,
    _pooled,
    _select,
    _statistics,
    _style_axes,
)

__all__ = ["fig_compare", "fig_fan", "fig_participants"]

Kind = Literal["violin", "box"]
FanPanel = Literal["both", "settlement", "spend"]

_HALF = 0.36  # half-height of a violin or box, in slots of 1
_FAN_QS = (0.05, 0.25, 0.5, 0.75, 0.95)
#: The fan's bands, widest first: rows of the ``_FAN_QS`` quantiles and the band's opacity.
_FAN_BANDS = ((0, 4, 0.18), (1, 3, 0.38))
_BENCHMARK_COLOR = "0.15"
_SPEND_COLOR = "#8C6D31"  # brown: not a design's colour among the first eight


@dataclass(frozen=True)
class _Summary:
    """What the comparison charts mark for one sample: quantiles, mean and probabilities."""

    n: int
    mean: float
    q05: float
    q25: float
    q50: float
    q75: float
    q95: float
    p_zero: float
    p_pos: float
    p_neg: float


#: The statistics the comparison charts mark (registry names), in :class:`_Summary`'s order.
_MARKS = ("mean", "q05", "q25", "q50", "q75", "q95", "prob_zero", "prob_savings", "prob_loss")


def _summaries(da: xr.DataArray) -> dict[tuple[str, ...], _Summary]:
    """What the charts mark for every sample of ``da`` (a design, or a practice and a design),
    keyed by its labels along the dims other than trial and year, from the statistics registry
    (:func:`~simsettle.plot.figures._statistics`)."""
    table = _statistics(da, _MARKS)
    rows = list(table["n"].dims)
    out: dict[tuple[str, ...], _Summary] = {}
    for key in np.ndindex(*(table.sizes[d] for d in rows)):
        row = table.isel(dict(zip(rows, key, strict=True)))
        labels = tuple(str(row[d].values) for d in rows)
        out[labels] = _Summary(int(row["n"]), *(float(row[m]) for m in _MARKS))
    return out


def _density(
    values: npt.NDArray[np.float64], points: int = 200
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """Gaussian kernel density of ``values`` on a grid over their range, scaled to a peak of 1.

    Binned (a histogram on the grid convolved with the kernel), so it costs O(n) and is exactly
    reproducible. Bandwidth by Silverman's rule. None when there is no spread to draw.
    """
    if values.size < 2:
        return None
    lo, hi = float(values.min()), float(values.max())
    if not hi > lo:
        return None
    q75, q25 = np.quantile(values, [0.75, 0.25])
    std = float(values.std(ddof=1))
    spread = min(std, float(q75 - q25) / 1.34) if q75 > q25 else std
    bw = 0.9 * spread * values.size ** (-0.2)
    edges = np.linspace(lo, hi, points + 1)
    counts, _ = np.histogram(values, bins=edges)
    grid = 0.5 * (edges[:-1] + edges[1:])
    dx = edges[1] - edges[0]
    half = int(np.ceil(4.0 * bw / dx)) if bw > 0 else 0
    if half > 0:
        u = np.arange(-half, half + 1, dtype=np.float64) * dx / bw
        full = np.convolve(counts.astype(np.float64), np.exp(-0.5 * u * u), mode="full")
        density = full[half : half + counts.size]
    else:
        density = counts.astype(np.float64)
    # The density reaches the data's extremes, not the bin centres.
    grid = np.concatenate(([lo], grid, [hi]))
    density = np.concatenate(([density[0]], density, [density[-1]]))
    return grid, density / density.max()


def _whisker_ends(axis: Axes, s: _Summary, pos: float, *, zorder: float) -> None:
    """Tick marks at the 5th and 95th percentiles, the ends of a violin's or box's whisker."""
    axis.plot(
        [s.q05, s.q95],
        [pos, pos],
        linestyle="none",
        marker="|",
        markersize=9,
        markeredgewidth=1.4,
        color="0.1",
        zorder=zorder,
    )


def _draw_one(
    axis: Axes,
    values: npt.NDArray[np.float64],
    s: _Summary,
    pos: float,
    color: str,
    kind: Kind,
    half: float,
    *,
    quantile_labels: bool,
) -> None:
    """One horizontal violin or box at ``y = pos``, with the shared markers."""
    if kind == "violin":
        nonzero = values[values != 0]
        shape = _density(nonzero)
        if shape is not None:
            grid, width = shape
            axis.fill_between(
                grid,
                pos - half * width,
                pos + half * width,
                facecolor=color,
                alpha=0.45,
                edgecolor=color,
                linewidth=0.9,
                zorder=2,
            )
        elif nonzero.size:
            axis.plot(
                [float(nonzero.min()), float(nonzero.max())],
                [pos, pos],
                color=color,
                linewidth=6,
                alpha=0.45,
                solid_capstyle="butt",
            )
        if s.p_zero > 0:
            # The point mass at zero: a bar whose height is P(= 0) of the slot.
            axis.plot(
                [0.0, 0.0],
                [pos - half * s.p_zero, pos + half * s.p_zero],
                color=color,
                linewidth=5.0,
                solid_capstyle="butt",
                zorder=3,
            )
        axis.plot([s.q05, s.q95], [pos, pos], color="0.1", linewidth=1.1, zorder=4)
        _whisker_ends(axis, s, pos, zorder=4)
    else:
        axis.add_patch(
            Rectangle(
                (s.q25, pos - half * 0.7),
                s.q75 - s.q25,
                1.4 * half,
                facecolor=color,
                alpha=0.5,
                edgecolor=color,
                linewidth=1.0,
                zorder=2,
            )
        )
        for lo, hi in ((s.q05, s.q25), (s.q75, s.q95)):
            axis.plot([lo, hi], [pos, pos], color="0.1", linewidth=1.1, zorder=3)
        _whisker_ends(axis, s, pos, zorder=3)
        axis.plot(
            [s.q50, s.q50],
            [pos - half * 0.7, pos + half * 0.7],
            color="0.1",
            linewidth=1.6,
            zorder=4,
        )
    for x, marker, face, edge, edge_width, zorder in (
        (s.q50, "o", "white", "0.1", 1.0, 5),  # the median: a white dot
        (s.mean, "D", "0.1", "white", 0.7, 6),  # the mean: a black diamond, on top
    ):
        axis.plot(
            x,
            pos,
            marker=marker,
            markersize=5.0,
            markerfacecolor=face,
            markeredgecolor=edge,
            markeredgewidth=edge_width,
            linestyle="none",
            zorder=zorder,
        )
    if quantile_labels:
        # under the shape (y grows downwards in these charts), away from the violin's body
        labels: tuple[tuple[float, str, str, float], ...] = (
            (
                (s.q05, f"5%: {format_money(s.q05)}", "right", -2.0),
                (s.q95, f"95%: {format_money(s.q95)}", "left", 2.0),
            )
            if s.q95 > s.q05
            else ((s.q05, f"5% = 95%: {format_money(s.q05)}", "center", 0.0),)
        )
        for x, text, ha, dx in labels:
            axis.annotate(
                text,
                (x, pos + half),
                xytext=(dx, -1.0),
                textcoords="offset points",
                ha=ha,
                va="top",
                fontsize=7.0,
                color="0.2",
                zorder=7,
                annotation_clip=False,
            )


def _marker_legend(
    axis: Axes, kind: Kind, *, zero_bar: bool, ncols: int = 5, designs: Sequence[Any] = ()
) -> None:
    """Legend of the marks below the axes, after the ``designs`` handles if any."""
    handles: list[Any] = [
        *designs,
        Line2D([], [], color="0.1", marker="D", markeredgecolor="white", ls="none", label="mean"),
        Line2D(
            [],
            [],
            color="0.1",
            marker="o",
            markerfacecolor="white",
            ls="none",
            label="median",
        ),
        Line2D([], [], color="0.1", marker="|", markersize=9, lw=1.1, label="5th–95th percentile"),
    ]
    if kind == "box":
        handles.append(Patch(facecolor="0.6", alpha=0.6, label="25th–75th percentile"))
    else:
        handles.append(Patch(facecolor="0.6", alpha=0.6, label="density of non-zero values"))
        if zero_bar:
            handles.append(Line2D([], [], color="0.4", lw=5.0, label="bar at $0: height ∝ P(= 0)"))
    axis.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncols=min(ncols, len(handles)),
        fontsize=7.5,
        frameon=False,
        handlelength=1.5,
        handletextpad=0.5,
        columnspacing=1.1,
    )


class _FitLocator(MaxNLocator):
    """MaxNLocator with as many bins as money labels (``−$400.0K``) fit across the axes.

    Decided at draw time, after a layout engine has sized the axes, so that labels do not
    run into each other on narrow panels.
    """

    def __init__(self, label_inches: float = 0.85) -> None:
        super().__init__(nbins=6)
        self._label_inches = label_inches

    def __call__(self) -> Any:
        axes = getattr(self.axis, "axes", None)
        if isinstance(axes, Axes):
            fig = axes.get_figure()
            width = axes.bbox.width / (fig.dpi if fig is not None else 100.0)
            self.set_params(nbins=max(2, min(8, int(width / self._label_inches))))
        return super().__call__()


def _fit_ticks(axis: Axes) -> None:
    """Money ticks on the x axis, only as many as fit (see :class:`_FitLocator`)."""
    axis.xaxis.set_major_locator(_FitLocator())


def _money_limits(
    axis: Axes, stats: Sequence[_Summary], lows: list[float], highs: list[float]
) -> None:
    """x-limits over the data with room for the 5%/95% labels; zero always inside."""
    lo = min([0.0, *lows, *(s.q05 for s in stats if s.n)])
    hi = max([0.0, *highs, *(s.q95 for s in stats if s.n)])
    span = hi - lo if hi > lo else 1.0
    axis.set_xlim(lo - 0.14 * span, hi + 0.14 * span)


def fig_compare(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    var: str = "settlement",
    kind: Kind = "violin",
) -> Figure:
    """Designs side by side: one violin (or box) per design, on a common money axis.

    Each design gets one row, in Dataset order from the top. The violin is the density of the
    non-zero values (each violin scaled to the same height, so shapes compare, not areas); a
    bar on the zero line, in the design's colour, has a height proportional to P(exactly 0)
    (the corridor's point mass). With ``kind="box"`` the box spans the 25th to 75th percentile
    of all values, zeros included, with the median as a line. Both mark the 5th and 95th
    percentiles (labelled), the median (white dot) and the mean (black diamond), and each row's
    label gives the design's probability of paying losses (P(var < 0)) and of exactly zero.

    Parameters
    ----------
    ds, design, ax, var
        As for every figure function (:mod:`simsettle.plot`).
    kind : {"violin", "box"}, default "violin"
        Shape drawn for each design.

    Raises
    ------
    ValueError
        For a missing variable, an unknown ``kind`` or a variable with sweep dimensions
        (select one value first).
    """
    if kind not in ("violin", "box"):
        raise ValueError(f"kind must be 'violin' or 'box', got {kind!r}")
    if var not in ds.data_vars or "design" not in ds[var].dims:
        raise ValueError(
            f"fig_compare needs a per-design variable {var!r} (dims design, trial, year); "
            f"the Dataset has {sorted(map(str, ds.data_vars))}"
        )
    designs = _select(ds, design)
    colors = design_colors(ds["design"].values)
    samples = {d: _pooled(ds, var, d) for d in designs}
    stats = {d: s for (d,), s in _summaries(ds[var].sel(design=designs)).items()}
    n = len(designs)
    fig, (axis,) = _new_axes(ax, 1, (7.2, 1.9 + 0.95 * n))
    _style_axes(axis)
    axis.grid(False, axis="y")

    for i, d in enumerate(designs):
        if samples[d].size:
            _draw_one(axis, samples[d], stats[d], i, colors[d], kind, _HALF, quantile_labels=True)
    axis.axvline(0.0, color="0.15", linewidth=1.0, linestyle="--", zorder=1)
    lows = [float(v.min()) for v in samples.values() if v.size and kind == "violin"]
    highs = [float(v.max()) for v in samples.values() if v.size and kind == "violin"]
    _money_limits(axis, list(stats.values()), lows, highs)
    _fit_ticks(axis)
    axis.set_ylim(n - 0.45, -0.6)
    axis.yaxis.set_major_locator(FixedLocator(list(range(n))))
    noun = "pay losses" if var == "settlement" else f"{var} < 0"
    labels = []
    for d in designs:
        s = stats[d]
        labels.append(
            f"{d}\nP({noun}) = {format_percent(s.p_neg, 1)}\nP(= 0) = {format_percent(s.p_zero, 1)}"
        )
    axis.set_yticks(list(range(n)), labels, fontsize=8.0)
    axis.tick_params(axis="y", length=0)

    long_name = str(ds[var].attrs.get("long_name", var))
    if var == "settlement":
        axis.set_xlabel(
            "Settlement per performance year (> 0: payer pays provider; < 0: provider pays)"
        )
    else:
        axis.set_xlabel(f"{long_name[:1].upper()}{long_name[1:]} per performance year")
    title = f"{long_name[:1].upper()}{long_name[1:]}: designs compared"
    axis.set_title(title, loc="left", **_TITLE_KW)
    axis.set_title(_caption(ds), loc="right", **_CAPTION_KW)
    _marker_legend(
        axis, kind, zero_bar=kind == "violin" and any(s.p_zero > 0 for s in stats.values())
    )
    return _finish(fig, ax)


# --------------------------------------------------------------------------- participants


def _participant_shares(ds: xr.Dataset) -> dict[str, float]:
    """Each participant's share of attributed member months (empty if not in the Dataset)."""
    if "participant_member_months" not in ds.data_vars:
        return {}
    mm = ds["participant_member_months"]
    totals = mm.sum([d for d in mm.dims if d != "participant"])
    whole = float(totals.sum())
    if not whole > 0:
        return {}
    return {str(p): float(totals.sel(participant=p)) / whole for p in totals["participant"].values}


def _active_years(ds: xr.Dataset) -> dict[str, list[int]]:
    """The performance years of each practice that does not take part in every one (from
    ``participant_active``; empty without practice churn)."""
    if "participant_active" not in ds.data_vars:
        return {}
    active = ds["participant_active"]
    extra = [d for d in active.dims if d not in ("participant", "year")]
    if extra:  # the same schedule at every point of a sweep
        active = active.isel(dict.fromkeys(extra, 0))
    years = [int(y) for y in active["year"].values]
    out = {}
    for p in active["participant"].values:
        row = active.sel(participant=p).values.astype(bool)
        if not row.all():
            out[str(p)] = [y for y, a in zip(years, row, strict=True) if a]
    return out


def _years_text(years: Sequence[int]) -> str:
    """``2026``, ``2026-2028`` or ``2026, 2028``."""
    if len(years) > 1 and list(years) == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}\u2013{years[-1]}"
    return ", ".join(str(y) for y in years)


def _scenario_value(ds: xr.Dataset, *path: str) -> Any:
    """A value from the scenario text stored in ``ds.attrs["scenario_yaml"]``, None if absent."""
    text = ds.attrs.get("scenario_yaml")
    if not isinstance(text, str):
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        node: Any = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return None
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def fig_participants(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    var: str = "participant_payout",
    kind: Kind = "violin",
) -> Figure:
    """Payout to each participant practice: one violin (or box) per practice and design.

    Practices are sorted by the mean payout under the first design shown, largest at the top;
    each row's label gives the practice's share of member months. The marks are those of
    :func:`fig_compare`: violins of the non-zero payouts with a bar on the zero line for
    P(exactly 0) (or boxes from the 25th to the 75th percentile), the 5th to 95th percentile,
    the median (white dot) and the mean (diamond). With several designs each practice gets one
    shape per design, in the designs' colours. The right margin gives, per shape, P(the practice
    pays), that is P(payout < 0), and P(payout = 0).

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset of a scenario with ``participants``: ``participant_payout`` over
        ``design``, ``participant``, ``trial``, ``year``.
    design, ax
        As for every figure function (:mod:`simsettle.plot`).
    var : str, default "participant_payout"
        Variable with a ``participant`` dimension (USD, positive = paid to the practice).
    kind : {"violin", "box"}, default "violin"
        Shape drawn for each practice and design.

    Raises
    ------
    ValueError
        If the Dataset has no participant variable (the scenario had no ``participants``
        block), or for an unknown ``kind``.
    """
    if kind not in ("violin", "box"):
        raise ValueError(f"kind must be 'violin' or 'box', got {kind!r}")
    if var not in ds.data_vars or "participant" not in ds[var].dims:
        raise ValueError(
            f"the Dataset has no {var!r} with a 'participant' dimension; simulate a scenario "
            "with a `participants:` block (see scenarios/examples/participants.yaml)"
        )
    if "design" not in ds[var].dims:
        raise ValueError(f"{var!r} has no 'design' dimension")
    designs = _select(ds, design)
    colors = design_colors(ds["design"].values)
    practices = [str(p) for p in ds["participant"].values]
    sub = ds[[var]]
    active = _active_years(ds)
    samples: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
    stats: dict[tuple[str, str], _Summary] = {}
    for p in practices:
        per = sub.sel(participant=p, drop=True)
        if p in active:  # only the years in which the practice takes part
            per = per.sel(year=active[p])
        by_design = _summaries(per[var].sel(design=designs).transpose("design", ...))
        for d in designs:
            samples[(p, d)] = _pooled(per, var, d)
            stats[(p, d)] = by_design[(d,)]
    first = designs[0]
    order = sorted(
        practices,
        key=lambda p: (-np.nan_to_num(stats[(p, first)].mean, nan=-np.inf), practices.index(p)),
    )
    k = len(designs)
    slot = min(0.8 / k, _HALF * 2)  # height of one box within a practice's row of 1
    fig, (axis,) = _new_axes(ax, 1, (7.2, 1.9 + (0.55 + 0.35 * k) * len(order)))
    _style_axes(axis)
    axis.grid(False, axis="y")
    right = blended_transform_factory(axis.transAxes, axis.transData)
    for i, p in enumerate(order):
        for j, d in enumerate(designs):
            pos = i + (j - (k - 1) / 2) * slot
            s = stats[(p, d)]
            if s.n:
                _draw_one(
                    axis,
                    samples[(p, d)],
                    s,
                    pos,
                    colors[d],
                    kind,
                    0.45 * slot,
                    quantile_labels=False,
                )
            axis.text(
                1.01,
                pos,
                f"P(pays) = {format_percent(s.p_neg, 1)}\nP(= 0) = {format_percent(s.p_zero, 1)}",
                transform=right,
                ha="left",
                va="center",
                fontsize=7.0,
                linespacing=1.2,
                color=colors[d] if k > 1 else "0.25",
                parse_math=False,
            )
    axis.axvline(0.0, color="0.15", linewidth=1.0, linestyle="--", zorder=1)
    all_stats = list(stats.values())
    _money_limits(
        axis,
        all_stats,
        [float(v.min()) for v in samples.values() if v.size and kind == "violin"],
        [float(v.max()) for v in samples.values() if v.size and kind == "violin"],
    )
    _fit_ticks(axis)
    axis.set_ylim(len(order) - 0.5, -0.5)
    shares = _participant_shares(ds)
    labels = [
        (f"{p}\n{format_percent(shares[p], 1)} of member months" if p in shares else p)
        + (f"\n{_years_text(active[p])} only" if p in active else "")
        for p in order
    ]
    axis.set_yticks(list(range(len(order))), labels, fontsize=8.0)
    axis.tick_params(axis="y", length=0)
    axis.set_xlabel("Payout to the practice per performance year (> 0: practice receives)")
    method = _scenario_value(ds, "participants", "method")
    what = f" ({method} method)" if isinstance(method, str) else ""
    if ax is None:
        if k == 1:
            axis.set_title(first, loc="left", **_TITLE_KW)
        fig.suptitle(
            f"Participant payouts{what} · {_caption(ds)}",
            fontsize=10.0,
            color="0.25",
            x=0.01,
            ha="left",
        )
    else:
        title = "Participant payouts" if k > 1 else f"Participant payouts: {first}"
        axis.set_title(title, loc="left", **_TITLE_KW)
        axis.set_title(
            f"{what.strip(' ()')} · {_caption(ds)}".lstrip(" ·"), loc="right", **_CAPTION_KW
        )
    design_handles = (
        [Patch(facecolor=colors[d], alpha=0.6, label=d) for d in designs] if k > 1 else []
    )
    zero_bar = kind == "violin" and any(s.p_zero > 0 for s in stats.values())
    # designs fill the legend's first column (matplotlib fills legends column by column)
    n_handles = k + 4 + int(zero_bar)
    ncols = -(-n_handles // k) if k > 1 else 5
    _marker_legend(axis, kind, zero_bar=zero_bar, ncols=ncols, designs=design_handles)
    return _finish(fig, ax)


# --------------------------------------------------------------------------------- fan


def _pmpm_formatter() -> FuncFormatter:
    def _fmt(x: float, pos: int | None = None) -> str:
        text = f"${abs(x):,.0f}"
        return f"{MINUS}{text}" if x < 0 and text != "$0" else text

    return FuncFormatter(_fmt)


def _by_year(da: xr.DataArray, what: str) -> npt.NDArray[np.float64]:
    """``da`` as a (trial, year) array; any other dimension is an error."""
    extra = [str(d) for d in da.dims if d not in ("trial", "year")]
    if extra:
        raise ValueError(
            f"{what} has dimensions {extra} besides trial and year; select one value first, "
            f"e.g. ds.isel({extra[0]}=0)"
        )
    if "year" not in da.dims:
        da = da.expand_dims("year", axis=-1)
    return np.asarray(da.transpose("trial", "year").values, dtype=np.float64)


def _year_quantiles(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """(5 quantiles, year) over trials, NaN ignored."""
    return np.asarray(np.nanquantile(values, _FAN_QS, axis=0), dtype=np.float64)


def _draw_fan(
    axis: Axes,
    years: npt.NDArray[np.float64],
    q: npt.NDArray[np.float64],
    color: str,
    label: str,
    *,
    bands: bool = True,
    linestyle: Any = "-",
) -> None:
    """Median with 50% and 90% bands over the years; boxes when there is a single year."""
    if years.size == 1:
        x = float(years[0])
        width = 0.3
        if bands:
            for lo, hi, alpha in _FAN_BANDS:
                axis.add_patch(
                    Rectangle(
                        (x - width / 2, q[lo, 0]),
                        width,
                        q[hi, 0] - q[lo, 0],
                        facecolor=color,
                        alpha=alpha,
                        edgecolor="none",
                        zorder=2,
                    )
                )
        else:
            axis.plot(
                [x, x],
                [q[0, 0], q[4, 0]],
                color=color,
                linewidth=1.0,
                linestyle=":",
                label=f"{label.split(' (')[0]} 5th–95th percentile",
            )
        axis.plot(
            [x - width / 2, x + width / 2],
            [q[2, 0], q[2, 0]],
            color=color,
            linewidth=2.0,
            linestyle=linestyle,
            zorder=3,
            label=label,
        )
        return
    if bands:
        for lo, hi, alpha in _FAN_BANDS:
            axis.fill_between(
                years, q[lo], q[hi], facecolor=color, alpha=alpha, linewidth=0, zorder=2
            )
    else:
        for row in (0, 4):
            axis.plot(
                years,
                q[row],
                color=color,
                linewidth=0.9,
                linestyle=":",
                zorder=2,
                label=f"{label.split(' (')[0]} 5th–95th percentile" if row == 0 else None,
            )
    axis.plot(
        years,
        q[2],
        color=color,
        linewidth=1.9,
        linestyle=linestyle,
        marker="o",
        markersize=3.5,
        zorder=3,
        label=label,
    )


def _year_axis(axis: Axes, years: npt.NDArray[np.float64], renewals: list[float]) -> None:
    step = max(1, int(np.ceil(years.size / 12)))
    ticks = [float(y) for y in years[::step]]
    axis.set_xticks(ticks, [f"{int(y)}" for y in ticks])
    pad = 0.5 if years.size > 1 else 0.75
    axis.set_xlim(float(years[0]) - pad, float(years[-1]) + pad)
    axis.grid(False, axis="x")
    for x in renewals:
        axis.axvline(x, color="0.35", linewidth=0.9, linestyle=(0, (2.0, 2.0)), zorder=1)


def _renewals(ds: xr.Dataset, years: npt.NDArray[np.float64]) -> list[float]:
    """x positions (between years) where an agreement period ends and the benchmark rebases."""
    period = _scenario_value(ds, "benchmark", "agreement_years")
    if not isinstance(period, int) or isinstance(period, bool) or period < 1:
        return []
    return [float(years[i]) - 0.5 for i in range(period, years.size, period)]


def _band_legend(
    axis: Axes, color: str, *, extra: Sequence[str] = (), neutral: bool = False
) -> None:
    """The panel's legend, outside on the right so that it never covers a band.

    ``neutral``: draw the handles in ``color`` (grey) rather than the panel's own colour, when
    the legend stands for several panels (small multiples).
    """
    handles, labels = axis.get_legend_handles_labels()
    if neutral:
        handles = [
            Line2D([], [], color=color, linewidth=1.9, marker="o", markersize=3.5) for _ in handles
        ]
    handles += [
        Patch(facecolor=color, alpha=0.38),
        Patch(facecolor=color, alpha=0.18),
        *(Line2D([], [], linestyle="none") for _ in extra),
    ]
    labels += ["middle 50% of trials", "middle 90% of trials", *extra]
    axis.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=7.5,
        frameon=False,
        handlelength=1.8,
    )


def _draw_spend_panel(
    axis: Axes, ds: xr.Dataset, years: npt.NDArray[np.float64], renewals: list[float]
) -> None:
    missing = [v for v in ("benchmark", "actual_spend") if v not in ds.data_vars]
    if missing:
        raise ValueError(f"the spend panel needs {missing}; pass panel='settlement'")
    bench = _by_year(ds["benchmark"], "benchmark")
    spend = _by_year(ds["actual_spend"], "actual_spend")
    # With a truncation the benchmark is compared with the truncated spend, and so is shown.
    truncated = "truncated_spend" in ds.data_vars
    if truncated:
        spend = spend - _by_year(ds["truncated_spend"], "truncated_spend")
    what = "truncated spend" if truncated else "actual spend"
    pmpm = "member_months" in ds.data_vars
    if pmpm:
        mm = _by_year(ds["member_months"], "member_months")
        with np.errstate(divide="ignore", invalid="ignore"):
            bench, spend = bench / mm, spend / mm
    _style_axes(axis, x_money=False)
    _draw_fan(axis, years, _year_quantiles(spend), _SPEND_COLOR, f"{what} (median)")
    _draw_fan(
        axis,
        years,
        _year_quantiles(bench),
        _BENCHMARK_COLOR,
        "benchmark (median)",
        bands=False,
        linestyle=(0, (5.0, 2.0)),
    )
    _year_axis(axis, years, renewals)
    axis.yaxis.set_major_formatter(_pmpm_formatter() if pmpm else money_formatter())
    axis.set_ylabel("Per member per month" if pmpm else "Per performance year")
    axis.set_title(
        f"Benchmark and {what}" + (" per member per month" if pmpm else ""),
        loc="left",
        **_TITLE_KW,
    )
    _band_legend(axis, _SPEND_COLOR)


def _fan_limits(qs: Sequence[npt.NDArray[np.float64]]) -> tuple[float, float]:
    """y-limits over the 90% bands of every panel, zero included, room for the P(pay) row."""
    lo = min([0.0, *(float(np.nanmin(q[0])) for q in qs)])
    hi = max([0.0, *(float(np.nanmax(q[4])) for q in qs)])
    span = hi - lo if hi > lo else 1.0
    return lo - 0.06 * span, hi + 0.2 * span


def _draw_settlement_panel(
    axis: Axes,
    ds: xr.Dataset,
    var: str,
    d: str,
    color: str,
    years: npt.NDArray[np.float64],
    renewals: list[float],
    *,
    legend: bool,
    legend_color: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> None:
    values = _by_year(ds[var].sel(design=d), var)
    q = _year_quantiles(values)
    _style_axes(axis, x_money=False)
    axis.axhline(0.0, color="0.15", linewidth=1.0, linestyle="--", zorder=1)
    _draw_fan(axis, years, q, color, "median")
    _year_axis(axis, years, renewals)
    axis.yaxis.set_major_formatter(money_formatter())
    n = np.sum(~np.isnan(values), axis=0)
    p_neg = np.sum(values < 0, axis=0) / np.maximum(n, 1)
    top = blended_transform_factory(axis.transData, axis.transAxes)
    for x, p in zip(years, p_neg, strict=True):
        axis.text(
            float(x),
            0.985,
            format_percent(float(p), 0),
            transform=top,
            ha="center",
            va="top",
            fontsize=7.0,
            color="0.3",
            parse_math=False,
        )
    axis.set_ylim(*(_fan_limits([q]) if ylim is None else ylim))
    axis.set_title(d, loc="left", **_TITLE_KW)
    if legend:
        _band_legend(
            axis,
            legend_color or color,
            extra=["top row: P(provider pays)", "in that year"],
            neutral=legend_color is not None and legend_color != color,
        )


def fig_fan(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    var: str = "settlement",
    panel: FanPanel | None = None,
) -> Figure:
    """Fan chart over the performance years: settlement, and benchmark against actual spend.

    For each performance year the median over trials is drawn as a line with the middle 50%
    and 90% of trials as bands (with a single performance year, as boxes). The top panel shows
    the program benchmark and the actual spend per member per month (totals when the Dataset
    has no ``member_months``), which is where a rebasing ratchet or a trend surprise shows; the
    bottom panel shows the design's settlement with the zero line, and along its top edge the
    probability that the provider pays that year. Agreement renewals (``benchmark.
    agreement_years`` in the scenario) are marked with dashed vertical lines.

    Parameters
    ----------
    ds
        As for every figure function (:mod:`simsettle.plot`).
    design : str or sequence of str, optional
        Design(s) to show; ``None`` for the first design. Several designs are drawn as small
        multiples side by side (one settlement panel each, sharing the money axis) under one
        spend panel.
    ax : matplotlib.axes.Axes, optional
        Axes to draw one panel into; then ``panel`` defaults to ``"settlement"`` and one design
        must be chosen.
    var : str, default "settlement"
        Per-design variable of the settlement panels (USD).
    panel : {"both", "settlement", "spend"}, optional
        Panels to draw; default ``"both"`` for a new Figure.

    Raises
    ------
    ValueError
        For several designs or ``panel="both"`` with ``ax``, a missing variable, or a
        variable with sweep dimensions (select one value first).
    """
    designs = _select(ds, design)[:1] if design is None else _select(ds, design)
    if panel is None:
        panel = "settlement" if ax is not None else "both"
    if panel not in ("both", "settlement", "spend"):
        raise ValueError(f"panel must be 'both', 'settlement' or 'spend', got {panel!r}")
    if ax is not None and panel == "both":
        raise ValueError("panel='both' needs two panels; pass ax=None or panel='settlement'")
    if ax is not None and panel == "settlement" and len(designs) > 1:
        raise ValueError(
            f"{len(designs)} designs need one panel each; pass ax=None or a single design"
        )
    if panel != "spend" and (var not in ds.data_vars or "design" not in ds[var].dims):
        raise ValueError(
            f"fig_fan needs a per-design variable {var!r} (dims design, trial, year); "
            f"the Dataset has {sorted(map(str, ds.data_vars))}"
        )
    if "year" not in ds.dims:
        raise ValueError("fig_fan needs a 'year' dimension")
    years = np.asarray(ds["year"].values, dtype=np.float64)
    renewals = _renewals(ds, years)
    colors = design_colors(ds["design"].values)
    k = len(designs)

    if ax is not None:
        fig, _ = _new_axes(ax, 1, (7.2, 4.4))
        if panel == "spend":
            _draw_spend_panel(ax, ds, years, renewals)
        else:
            _draw_settlement_panel(
                ax, ds, var, designs[0], colors[designs[0]], years, renewals, legend=True
            )
            ax.set_ylabel(f"{var.replace('_', ' ').capitalize()} per year (> 0: to provider)")
        ax.set_title(_caption(ds), loc="right", **_CAPTION_KW)
        ax.set_xlabel("Performance year")
        return fig

    width = max(8.4, 3.0 + 3.2 * k) if panel != "spend" else 8.4
    rows = 2 if panel == "both" else 1
    fig = Figure(figsize=(width, 3.3 * rows + 0.5), layout="constrained")
    grid = fig.add_gridspec(rows, k if panel != "spend" else 1)
    if panel in ("both", "spend"):
        spend_ax = fig.add_subplot(grid[0, :])
        _draw_spend_panel(spend_ax, ds, years, renewals)
        if panel == "spend":
            spend_ax.set_xlabel("Performance year")
    if panel in ("both", "settlement"):
        row = rows - 1
        ylim = _fan_limits([_year_quantiles(_by_year(ds[var].sel(design=d), var)) for d in designs])
        first: Axes | None = None
        for j, d in enumerate(designs):
            axis = fig.add_subplot(grid[row, j], sharey=first)
            first = first or axis
            _draw_settlement_panel(
                axis,
                ds,
                var,
                d,
                colors[d],
                years,
                renewals,
                legend=j == k - 1,
                legend_color=colors[d] if k == 1 else "0.45",
                ylim=ylim,
            )
            axis.set_xlabel("Performance year")
            if j == 0:
                noun = "Settlement" if var == "settlement" else var.replace("_", " ").capitalize()
                axis.set_ylabel(f"{noun} per year (> 0: to provider)")
            else:
                axis.tick_params(labelleft=False)
    title = "Settlement over the agreement" if panel != "spend" else "Spend over the agreement"
    if renewals:
        title += " (dashed: renewal, benchmark rebased)"
    fig.suptitle(f"{title} · {_caption(ds)}", fontsize=10.0, color="0.25", x=0.01, ha="left")
    _freeze_layout(fig)
    return fig
