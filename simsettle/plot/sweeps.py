"""Figures of parameter sweeps: tornado chart of sensitivities, heat map over two parameters.

A sweep is a results Dataset with one extra dimension per swept parameter, named after the
field (dims ``(design, trial, year, <sweep dims...>)`` for per-design variables, in any order),
listed space-separated in ``ds.attrs["sweep_dims"]``. Each sweep coordinate carries
``long_name``, ``units`` and ``sweep_path`` (the scenario field, such as
``designs[two_sided].min_savings_rate``), and optionally ``sweep_base``: the value the other
parameters are held at while one varies (the first value of the coordinate when absent).

Statistics are computed over ``("trial", "year")`` by :func:`simsettle.stats.statistic` (every
simulated performance year of every trial is one observation): ``mean``, ``std``
(``ddof=1``), ``prob_loss`` = P(var < 0), ``prob_savings`` = P(var > 0) and the quantiles
``q05``, ``q50``, ``q95`` (linear interpolation), each with its trial-clustered Monte Carlo
standard error: the tornado draws a 95% Monte Carlo interval on every bar, and the heat map
states the largest standard error of its cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter

from simsettle.plot._style import (
    MINUS,
    design_colors,
    format_money,
    format_percent,
    money_formatter,
    percent_formatter,
)
from simsettle.plot.compare import _fit_ticks
from simsettle.plot.figures import (
    _CAPTION_KW,
    _TITLE_KW,
    _caption,
    _finish,
    _new_axes,
    _select,
    _style_axes,
)

if TYPE_CHECKING:
    from simsettle.stats import Statistic

__all__ = ["STATISTICS", "fig_heatmap", "fig_tornado"]

#: The statistics :func:`fig_tornado` and :func:`fig_heatmap` offer first; they show any
#: statistic of the registry (:mod:`simsettle.stats.registry`) that reads only ``var``, named
#: as :func:`simsettle.stats.describe` names it (``q25``, ``var_provider_95``, ...).
STATISTICS: tuple[str, ...] = ("mean", "std", "prob_loss", "prob_savings", "q05", "q50", "q95")

_POOLED = ("trial", "year")
_LOW_COLOR = "0.72"  # bars at a parameter's lowest value; the highest value is the design colour

_HOW_TO_SWEEP = (
    "A sweep has one extra dimension per swept parameter, listed in ds.attrs['sweep_dims'] "
    "(space-separated). To make one, simulate the scenario at each value of the parameter and "
    "join the runs along a new dimension named after it, e.g. "
    "ds = xr.concat(runs, dim=pandas.Index(values, name='msr')); "
    "ds.attrs['sweep_dims'] = 'msr' (and give ds['msr'] the attrs long_name and units)."
)


def _sweep_dims(ds: xr.Dataset, func: str) -> list[str]:
    """The sweep dimensions named in ``ds.attrs["sweep_dims"]``, checked against ``ds.dims``."""
    names = str(ds.attrs.get("sweep_dims", "")).split()
    if not names:
        raise ValueError(
            f"{func} needs a sweep, and this Dataset has none (dims {tuple(map(str, ds.dims))}, "
            f"no attrs['sweep_dims']). {_HOW_TO_SWEEP}"
        )
    missing = [n for n in names if n not in ds.dims]
    if missing:
        raise ValueError(
            f"ds.attrs['sweep_dims'] names {missing}, which are not dimensions of the Dataset "
            f"(it has {tuple(map(str, ds.dims))})"
        )
    return names


def _entry(stat: str) -> tuple[Statistic, float | None]:
    """The registry entry and level of ``stat``, a statistic of ``var`` alone."""
    from simsettle.stats import REGISTRY, parse_statistic_name

    try:
        _, name, level = parse_statistic_name(stat)
    except ValueError:
        name, level = "", None
    entry = REGISTRY.get(name)
    if entry is None or entry.reads:
        raise ValueError(
            f"stat must be one of {', '.join(STATISTICS)} or another statistic of one variable "
            f"named as simsettle.stats.describe names it (q25, var_provider_95, ...); got {stat!r}"
        )
    return entry, level


#: Whiskers span this many standard errors either side: a 95% Monte Carlo interval.
_Z95 = 1.959963984540054


def _estimate(da: xr.DataArray, stat: str) -> tuple[xr.DataArray, xr.DataArray]:
    """``stat`` of ``da`` over ``("trial", "year")`` and its trial-clustered Monte Carlo
    standard error (:func:`simsettle.stats.statistic`); NaN values are skipped."""
    from simsettle.stats import statistic

    entry, level = _entry(stat)
    dims = [d for d in _POOLED if d in da.dims]
    if "trial" not in dims:
        raise ValueError(f"{da.name!r} has no 'trial' dimension to compute {stat} over")
    var = str(da.name) if da.name is not None else "value"
    out = statistic(da.to_dataset(name=var), entry.name, var=var, dim=dims, level=level)
    return out["value"], out["se"]


def _check_var(ds: xr.Dataset, var: str) -> None:
    if var not in ds.data_vars:
        raise ValueError(
            f"variable {var!r} not in Dataset; it has {sorted(map(str, ds.data_vars))}"
        )


def _per_design(ds: xr.Dataset, var: str, design: str, sweep: Sequence[str]) -> xr.DataArray:
    """``var`` for one design (design-independent variables as they are), sweep dims only."""
    _check_var(ds, var)
    da = ds[var]
    if "design" in da.dims:
        da = da.sel(design=design)
    extra = [str(d) for d in da.dims if d not in _POOLED and d not in sweep]
    if extra:
        raise ValueError(
            f"{var!r} has dimensions {extra} besides trial, year and the sweep dimensions; "
            f"select one value first, e.g. ds.isel({extra[0]}=0)"
        )
    return da


def _base_value(ds: xr.Dataset, dim: str) -> Any:
    """The value of sweep dimension ``dim`` the others are held at
    (:func:`simsettle.results.sweep_base_index`)."""
    from simsettle.results import sweep_base_index

    return ds[dim].values[sweep_base_index(ds[dim])]


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)


def _param_formatter(ds: xr.Dataset, dim: str) -> Callable[[Any], str]:
    """Formats a value of sweep dimension ``dim`` by its units: money, percent or plain."""
    coord = ds[dim]
    units = str(coord.attrs.get("units", ""))
    values = coord.values
    numeric = all(_is_number(v) for v in values)
    if numeric and units == "USD":
        return lambda v: format_money(float(v))
    if numeric and units == "1" and float(np.max(np.abs(values.astype(np.float64)))) <= 1.0:
        return lambda v: format_percent(float(v))
    suffix = f" {units}" if units and units != "1" else ""
    if numeric and all(float(v).is_integer() for v in values):
        return lambda v: f"{float(v):,.0f}{suffix}"
    if numeric:
        return lambda v: f"{float(v):g}{suffix}"
    return lambda v: f"{v}{suffix}"


def _param_name(ds: xr.Dataset, dim: str) -> str:
    return str(ds[dim].attrs.get("long_name", dim))


def _stat_kind(ds: xr.Dataset, var: str, stat: str) -> Literal["money", "fraction", "plain"]:
    if _entry(stat)[0].units == "1":
        return "fraction"
    units = str(ds[var].attrs.get("units", ""))
    if units == "USD":
        return "money"
    if units == "1" and var.endswith("rate"):
        return "fraction"
    return "plain"


def _stat_text(kind: str) -> Callable[[float], str]:
    if kind == "money":
        return format_money
    if kind == "fraction":
        return lambda v: format_percent(v, 1)
    return lambda v: "n/a" if np.isnan(v) else f"{v:.3g}"


def _delta_text(kind: str) -> Callable[[float], str]:
    """A signed change of the statistic: ``+$41.2K``, ``−2.1 pp``, ``+0.013``."""

    def fmt(v: float) -> str:
        if not np.isfinite(v):
            return "n/a"
        sign = "+" if v >= 0 else MINUS
        if kind == "money":
            return f"{sign}{format_money(abs(v))}"
        if kind == "fraction":
            return f"{sign}{100.0 * abs(v):.1f} pp"
        return f"{sign}{abs(v):.3g}"

    return fmt


def _stat_axis_formatter(kind: str) -> FuncFormatter:
    if kind == "money":
        return money_formatter()
    if kind == "fraction":
        return percent_formatter()
    return FuncFormatter(lambda x, pos=None: f"{x:.3g}")


def _stat_label(ds: xr.Dataset, var: str, stat: str) -> str:
    entry, level = _entry(stat)
    label = entry.label(var, str(ds[var].attrs.get("long_name", var)), level)
    return label[:1].upper() + label[1:]


def _sweep_caption(ds: xr.Dataset, sweep: Sequence[str]) -> str:
    points = int(np.prod([ds.sizes[d] for d in sweep]))
    return f"{_caption(ds)}, {points} sweep points"


def _scalar(da: xr.DataArray, where: Mapping[str, Any]) -> float:
    return float(da.sel(where).values)


# ------------------------------------------------------------------------------- tornado


def fig_tornado(
    ds: xr.Dataset,
    *,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    stat: str = "mean",
    var: str = "settlement",
) -> Figure:
    """Tornado chart: how far a statistic moves across the range of each swept parameter.

    For each sweep dimension the statistic is computed at its lowest and its highest value
    with every other swept parameter at its base (coordinate attr ``sweep_base``, else its first
    value), and drawn as two horizontal bars from the base statistic (vertical line): light grey
    for the lowest value, the design's colour for the highest, each labelled with the
    parameter value and the statistic. Parameters are sorted by swing (the range the statistic
    covers), largest at the top; with several designs the order is by the largest swing over
    the designs and each design gets its own panel.

    Each bar ends in a whisker, the 95% Monte Carlo interval of the statistic at that point
    (1.96 trial-clustered standard errors either side, :func:`simsettle.stats.statistic`), and
    the axis label gives the base statistic's. A bar whose whisker crosses the base line moves
    the statistic by less than the simulation can tell apart from noise at this trial count.
    (The points are simulated on common random numbers, so the interval of a bar's length, a
    paired difference, is usually narrower than the whisker.)

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep: a results Dataset with sweep dimensions listed in ``ds.attrs["sweep_dims"]``.
    design : str or sequence of str, optional
        Designs to show, one panel each; ``None`` for all.
    ax : matplotlib.axes.Axes, optional
        Axes to draw one design's panel into.
    stat : str, default "mean"
        Statistic over trials and years: one of :data:`STATISTICS` or any other statistic
        of the registry that reads only ``var`` (``q25``, ``prob_zero``, ``tvar_payer_95``).
    var : str, default "settlement"
        Variable the statistic is computed on.

    Raises
    ------
    ValueError
        If the Dataset has no sweep dimensions (the message says how to make a sweep), for an
        unknown statistic or variable, or for several designs with ``ax``.
    """
    _entry(stat)
    sweep = _sweep_dims(ds, "fig_tornado")
    _check_var(ds, var)
    designs = _select(ds, design)
    if ax is not None and len(designs) > 1:
        raise ValueError(
            f"{len(designs)} designs need one panel each; pass ax=None or a single design"
        )
    colors = design_colors(ds["design"].values)
    base = {d: _base_value(ds, d) for d in sweep}
    ends = {
        d: (ds[d].values[int(np.argmin(ds[d].values))], ds[d].values[int(np.argmax(ds[d].values))])
        for d in sweep
    }
    kind = _stat_kind(ds, var, stat)
    text = _stat_text(kind)
    delta = _delta_text(kind)
    rows: dict[str, tuple[float, dict[str, tuple[float, float]]]] = {}
    errors: dict[str, tuple[float, dict[str, tuple[float, float]]]] = {}
    for d in designs:
        est, se = _estimate(_per_design(ds, var, d, sweep), stat)
        for table, arr in ((rows, est), (errors, se)):
            table[d] = (
                _scalar(arr, dict(base)),
                {
                    p: (
                        _scalar(arr, {**base, p: ends[p][0]}),
                        _scalar(arr, {**base, p: ends[p][1]}),
                    )
                    for p in sweep
                },
            )

    def swing(p: str) -> float:
        spans = [max(b, *rows[d][1][p]) - min(b, *rows[d][1][p]) for d, (b, _) in rows.items()]
        return float(np.nanmax(spans)) if spans else 0.0

    order = sorted(sweep, key=lambda p: (-swing(p), sweep.index(p)))
    n = len(order)
    k = len(designs)
    fig, axes = _new_axes(ax, k, (max(7.2, 2.4 + 3.6 * k), 1.6 + 0.75 * n))
    label_width = 0.36
    for j, (axis, d) in enumerate(zip(axes, designs, strict=True)):
        b, ends_stat = rows[d]
        b_se, ends_se = errors[d]
        _style_axes(axis, x_money=False)
        axis.grid(False, axis="y")
        axis.xaxis.set_major_formatter(_stat_axis_formatter(kind))
        _fit_ticks(axis)
        axis.axvline(b, color="0.15", linewidth=1.1, zorder=3)
        values = [b]
        for i, p in enumerate(order):
            fmt = _param_formatter(ds, p)
            for (value, err, param), offset, color in zip(
                zip(ends_stat[p], ends_se[p], ends[p], strict=True),
                (-0.19, 0.19),
                (_LOW_COLOR, colors[d]),
                strict=True,
            ):
                right = value >= b
                half = _Z95 * err if np.isfinite(err) and err > 0 else 0.0
                outer = value + half if right else value - half
                values.append(outer)
                axis.barh(
                    i + offset,
                    value - b,
                    left=b,
                    height=label_width,
                    color=color,
                    edgecolor="white",
                    linewidth=0.5,
                    zorder=2,
                )
                if half > 0 and param != base[p]:
                    axis.errorbar(
                        value,
                        i + offset,
                        xerr=half,
                        fmt="none",
                        ecolor="0.15",
                        elinewidth=0.8,
                        capsize=2.0,
                        capthick=0.8,
                        zorder=4,
                    )
                axis.annotate(
                    f"{fmt(param)} (base)"
                    if param == base[p]
                    else f"{fmt(param)}: {delta(value - b)}",
                    (outer, i + offset),
                    xytext=(3.0 if right else -3.0, 0.0),
                    textcoords="offset points",
                    ha="left" if right else "right",
                    va="center",
                    fontsize=7.0,
                    color="0.2",
                    annotation_clip=False,
                )
        finite = [v for v in values if np.isfinite(v)]
        lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
        span = hi - lo if hi > lo else max(abs(b), 1.0) * 0.1
        axis.set_xlim(lo - 0.42 * span, hi + 0.42 * span)
        axis.set_ylim(n - 0.5, -0.5)
        if j == 0:
            labels = []
            for p in order:
                fmt = _param_formatter(ds, p)
                labels.append(
                    f"{_param_name(ds, p)}\n{fmt(ends[p][0])} to {fmt(ends[p][1])} "
                    f"(base {fmt(base[p])})"
                )
            axis.set_yticks(list(range(n)), labels, fontsize=8.0)
        else:
            axis.set_yticks(list(range(n)), [""] * n)
        axis.tick_params(axis="y", length=0)
        base_se = f" ± {text(_Z95 * b_se)}" if np.isfinite(b_se) and b_se > 0 else ""
        axis.set_xlabel(f"{_stat_label(ds, var, stat)} (base {text(b)}{base_se})")
        axis.set_title(d, loc="left", **_TITLE_KW)
    handles = [
        Patch(facecolor=_LOW_COLOR, label="parameter at its lowest value"),
        Patch(
            facecolor=colors[designs[0]] if k == 1 else "0.35",
            label="at its highest value" + (" (design colour)" if k > 1 else ""),
        ),
        Line2D([], [], color="0.15", linewidth=1.1, label="every parameter at its base"),
        Line2D(
            [],
            [],
            color="0.15",
            linewidth=0.8,
            marker="|",
            markersize=6.0,
            label="95% Monte Carlo interval",
        ),
    ]
    label = _stat_label(ds, var, stat)
    if ax is None:
        fig.legend(
            handles=handles, loc="outside lower center", ncols=4, fontsize=7.5, frameon=False
        )
        fig.suptitle(
            f"Sensitivity of {label[:1].lower()}{label[1:]} · {_sweep_caption(ds, sweep)}",
            fontsize=10.0,
            color="0.25",
            x=0.01,
            ha="left",
        )
    else:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=7.0,
            frameon=False,
        )
        ax.set_title(_sweep_caption(ds, sweep), loc="right", **_CAPTION_KW)
    return _finish(fig, ax)


# ------------------------------------------------------------------------------- heat map


def _color_scale(
    kind: str, stat: str, grids: Sequence[npt.NDArray[np.float64]]
) -> tuple[str, Normalize]:
    finite = np.concatenate([g[np.isfinite(g)] for g in grids]) if grids else np.empty(0)
    if finite.size == 0:
        return "Greys", Normalize(0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    sense = _entry(stat)[0].provider
    if kind == "fraction" and _entry(stat)[0].units == "1":
        # a probability, from zero: red when bad for the provider, blue when good
        return {-1: "Reds", 0: "Purples", 1: "Blues"}[sense], Normalize(0.0, hi if hi > 0 else 1.0)
    if sense == 0 or kind == "plain":
        return "Purples", Normalize(min(lo, 0.0) if sense == 0 else lo, hi if hi > lo else lo + 1)
    # signed money (or rate): diverging, centred on zero; red = bad for the provider
    m = max(abs(lo), abs(hi)) or 1.0
    return "RdBu" if sense > 0 else "RdBu_r", Normalize(-m, m)


def _text_color(cmap: Colormap, norm: Normalize, value: float) -> str:
    if not np.isfinite(value):
        return "0.2"
    r, g, b, _ = cmap(norm(value))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "0.1"


def fig_heatmap(
    ds: xr.Dataset,
    *,
    x: str,
    y: str,
    design: str | Sequence[str] | None = None,
    ax: Axes | None = None,
    stat: str = "mean",
    var: str = "settlement",
) -> Figure:
    """Heat map of a statistic over two swept parameters, one annotated cell per pair.

    Money statistics with a sign (``mean``, ``q05``, ``q50``, ``q95`` of settlement) use a
    diverging colour map centred on zero, blue where the provider receives and red where it
    pays; ``std`` and the probabilities use sequential maps from zero (red for ``prob_loss``,
    blue for ``prob_savings``). Every cell is labelled with its value; the base cell (both
    parameters at their base) is outlined. Swept parameters other than ``x`` and ``y`` are held
    at their base, as the caption says, and the caption gives the largest Monte Carlo standard
    error of the cells shown (trial-clustered, :func:`simsettle.stats.statistic`).

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep: a results Dataset with sweep dimensions listed in ``ds.attrs["sweep_dims"]``.
    x, y : str
        The two sweep dimensions on the horizontal and vertical axes.
    design : str or sequence of str, optional
        Design to show; ``None`` for the first. Several designs are drawn side by side with a
        shared colour scale.
    ax : matplotlib.axes.Axes, optional
        Axes to draw one design's map into (the colour bar is added beside it).
    stat, var
        As for :func:`fig_tornado`.

    Raises
    ------
    ValueError
        If the Dataset has no sweep dimensions (the message says how to make a sweep), if
        ``x`` or ``y`` is not one of them or they are equal, for an unknown statistic or
        variable, or for several designs with ``ax``.
    """
    _entry(stat)
    sweep = _sweep_dims(ds, "fig_heatmap")
    _check_var(ds, var)
    for name, dim in (("x", x), ("y", y)):
        if dim not in sweep:
            raise ValueError(f"{name}={dim!r} is not a sweep dimension; the sweep has {sweep}")
    if x == y:
        raise ValueError(f"x and y must be two different sweep dimensions, got {x!r} twice")
    designs = _select(ds, design)[:1] if design is None else _select(ds, design)
    if ax is not None and len(designs) > 1:
        raise ValueError(
            f"{len(designs)} designs need one panel each; pass ax=None or a single design"
        )
    others = {d: _base_value(ds, d) for d in sweep if d not in (x, y)}
    kind = _stat_kind(ds, var, stat)
    text = _stat_text(kind)
    xs = np.sort(ds[x].values)
    ys = np.sort(ds[y].values)
    grids: list[npt.NDArray[np.float64]] = []
    largest_se = 0.0
    for d in designs:
        est, se = _estimate(_per_design(ds, var, d, sweep), stat)
        if others:
            est, se = est.sel(others), se.sel(others)
        est = est.sel({x: xs, y: ys}).transpose(y, x)
        se = se.sel({x: xs, y: ys})
        grids.append(np.asarray(est.values, dtype=np.float64))
        finite_se = np.asarray(se.values, dtype=np.float64)
        finite_se = finite_se[np.isfinite(finite_se)]
        if finite_se.size:
            largest_se = max(largest_se, float(finite_se.max()))
    cmap_name, norm = _color_scale(kind, stat, grids)
    import matplotlib as mpl

    cmap = mpl.colormaps[cmap_name]
    nx, ny = xs.size, ys.size
    k = len(designs)
    cell_w = 0.95 if nx <= 6 else 0.75
    fig, axes = _new_axes(ax, k, (max(5.4, 1.9 + k * (1.2 + cell_w * nx)), 1.7 + 0.5 * ny))
    fx, fy = _param_formatter(ds, x), _param_formatter(ds, y)
    base_x, base_y = _base_value(ds, x), _base_value(ds, y)
    fontsize = 8.0 if nx <= 6 else 6.5
    mesh = None
    for j, (axis, d, grid) in enumerate(zip(axes, designs, grids, strict=True)):
        mesh = axis.pcolormesh(
            np.arange(nx + 1) - 0.5,
            np.arange(ny + 1) - 0.5,
            np.ma.masked_invalid(grid),
            cmap=cmap,
            norm=norm,
            edgecolors="white",
            linewidth=0.8,
        )
        bx = int(np.flatnonzero(xs == base_x)[0])
        by = int(np.flatnonzero(ys == base_y)[0])
        for iy in range(ny):
            for ix in range(nx):
                value = float(grid[iy, ix])
                axis.text(
                    ix,
                    iy,
                    f"{text(value)}\n(base)" if (ix, iy) == (bx, by) else text(value),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color=_text_color(cmap, norm, value),
                    parse_math=False,
                )
        axis.add_patch(
            Rectangle(
                (bx - 0.5, by - 0.5), 1.0, 1.0, fill=False, edgecolor="0.1", linewidth=1.8, zorder=3
            )
        )
        axis.set_xticks(list(range(nx)), [fx(v) for v in xs], fontsize=8.0)
        axis.set_yticks(list(range(ny)), [fy(v) for v in ys] if j == 0 else [""] * ny)
        axis.tick_params(labelsize=8.0, length=0)
        axis.set_xlim(-0.5, nx - 0.5)
        axis.set_ylim(-0.5, ny - 0.5)
        for side in ("top", "right", "bottom", "left"):
            axis.spines[side].set_visible(False)
        axis.set_xlabel(_param_name(ds, x))
        if j == 0:
            axis.set_ylabel(_param_name(ds, y))
        axis.set_title(d, loc="left", **_TITLE_KW)
    assert mesh is not None
    fig.colorbar(
        mesh,
        ax=axes,
        label=_stat_label(ds, var, stat),
        format=_stat_axis_formatter(kind),
        shrink=0.95,
        pad=0.02,
    )
    held = ", ".join(
        f"{_param_name(ds, p)} {_param_formatter(ds, p)(v)}" for p, v in others.items()
    )
    caption = _sweep_caption(ds, sweep)
    right = [f"held at base: {held}"] if held else []
    right.append(f"Monte Carlo SE of a cell up to {text(largest_se)}")
    if ax is not None:
        right.append(caption)
    axes[-1].set_title("; ".join(right), loc="right", **_CAPTION_KW)
    if ax is None:
        fig.suptitle(
            f"{_stat_label(ds, var, stat)} · {caption}",
            fontsize=10.0,
            color="0.25",
            x=0.01,
            ha="left",
        )
    return _finish(fig, ax)
