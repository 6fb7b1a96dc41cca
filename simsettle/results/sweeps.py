"""Sweeps in results: one Dataset from a sweep's runs, and the base point of a swept one.

Each swept parameter is a dimension named after its field, after ``design`` and before
``trial``; its coordinate carries the field's path, units and base value (``sweep_base``), and
the Dataset's ``sweep_dims`` and ``sweep`` attributes list the axes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from simsettle.results.schema import _D

if TYPE_CHECKING:
    from simsettle.scenario.sweep import AxisPlan, DesignGrid, SweepPlan

__all__ = ["combine_sweep", "label_design_axes", "sweep_base", "sweep_base_index"]


def label_design_axes(
    designs: DesignGrid,
    data: Mapping[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]],
    design_coords: Mapping[str, tuple[str, np.ndarray[Any, Any], dict[str, Any]]],
) -> tuple[
    dict[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]],
    dict[str, Any],
]:
    """A sweep point's variables and design coordinates with its design axes as dimensions.

    ``data`` are ``(dims, array)`` of the variables, their ``design`` axis holding
    ``designs.flat`` (design-major); ``design_coords`` the design coordinates of the same
    variants. The ``design`` axis becomes ``(design, *design_axes)``. A design coordinate that
    no design axis changes stays on ``design``; one that an axis changes moves to
    ``(design, *design_axes)``, or is left out where its name is an axis's (the axis's own
    coordinate holds its values). Each design axis gets its coordinate. A grid of one variant
    per design keeps the ``design`` axis as it is.
    """
    axes = designs.axes
    coords: dict[str, Any] = {}
    if designs.n_variants == 1:
        out = dict(data)
        coords.update(design_coords)
    else:
        n, shape = len(designs.names), designs.shape
        dims = tuple(a.dim for a in axes)
        out = {}
        for name, (var_dims, arr) in data.items():
            if _D not in var_dims:
                out[name] = (var_dims, arr)
                continue
            i = var_dims.index(_D)
            out[name] = (
                (*var_dims[:i], _D, *dims, *var_dims[i + 1 :]),
                arr.reshape(*arr.shape[:i], n, *shape, *arr.shape[i + 1 :]),
            )
        for k, (_, flat_values, attrs) in design_coords.items():
            values = flat_values.reshape(n, *shape)
            rows = values.reshape(n, -1)
            if all(len({repr(x) for x in row}) == 1 for row in rows):
                coords[k] = (_D, rows[:, 0], attrs)
            elif k not in dims:
                coords[k] = ((_D, *dims), values, attrs)
    for a in axes:
        coords[a.dim] = (a.dim, _sweep_values(a), _sweep_attrs(a))
    return out, coords


def combine_sweep(points: Sequence[xr.Dataset], plan: SweepPlan) -> xr.Dataset:
    """One Dataset from a sweep's runs: each swept parameter a dimension.

    ``points`` are the Datasets of ``plan.points`` in order, each labelled with its design axes
    already (:func:`label_design_axes`); they are concatenated along the model axes. Dims:
    ``design``, then the swept parameters in the order of the scenario's ``sweep``, then the
    rest (``trial``, ``year``, ...); variables that are not per design have the model axes
    only.
    """
    model_axes = plan.model_axes
    if model_axes:
        shape = [len(a.values) for a in model_axes]
        nested: Any = np.empty(shape, dtype=object)
        for i, ds in enumerate(points):
            nested[np.unravel_index(i, shape)] = ds
        combined: xr.Dataset = xr.combine_nested(
            nested.tolist(),
            concat_dim=[_pd_index(_sweep_values(a), a.dim) for a in model_axes],
            combine_attrs="override",
            data_vars="all",
            coords="minimal",
            compat="override",
            join="exact",
        )
        for a in model_axes:
            combined = combined.assign_coords({a.dim: (a.dim, _sweep_values(a), _sweep_attrs(a))})
        # The global attributes (the cost model's moments, the parameters) describe the base
        # point, as the run summary's table does, not the first point.
        at = tuple(sweep_base_index(combined[a.dim]) for a in model_axes)
        combined.attrs = dict(points[int(np.ravel_multi_index(at, shape))].attrs)
    else:
        combined = points[0]
    order = [a.dim for a in plan.axes]
    for name, var in combined.data_vars.items():
        lead = [d for d in (_D, *order) if d in var.dims]
        rest = [d for d in var.dims if d not in lead]
        combined[name] = var.transpose(*lead, *rest)
    combined.attrs["sweep_dims"] = " ".join(order)
    combined.attrs["sweep"] = json.dumps(
        [
            {"dim": a.dim, "path": a.path, "values": list(a.values), "base": a.base}
            for a in plan.axes
        ]
    )
    return combined


def sweep_base_index(coord: xr.DataArray) -> int:
    """Position of a sweep coordinate's base value: its ``sweep_base`` attribute (the
    scenario's ``base``), else 0 (the first value).

    Numbers match within floating-point rounding (an attribute read back from a file may be
    another numeric type). A base that is none of the values is an error, not the first value.
    """
    base = coord.attrs.get("sweep_base")
    if base is None:
        return 0
    values = list(coord.values)
    for i, v in enumerate(values):
        if str(v) == str(base) or v == base:
            return i
        if _is_number(v) and _is_number(base) and bool(np.isclose(v, base)):
            return i
    raise ValueError(f"sweep_base {base!r} of {coord.name!r} is not one of its values {values}")


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
        v, bool | np.bool_
    )


def sweep_base(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` at the base value of every swept parameter (``ds`` itself when nothing is swept).

    The base is each sweep coordinate's ``sweep_base`` attribute (the scenario's ``base``, else
    the first value; :func:`sweep_base_index`).
    """
    dims = str(ds.attrs.get("sweep_dims", "")).split()
    point = {dim: sweep_base_index(ds[dim]) for dim in dims if dim in ds.dims}
    return ds.isel(point) if point else ds


def _pd_index(values: np.ndarray[Any, Any], name: str) -> Any:
    """A pandas Index of ``values`` named ``name`` (the concat dimension of a model axis)."""
    import pandas as pd  # xarray's dependency

    return pd.Index(values, name=name)


def _sweep_values(axis: AxisPlan) -> np.ndarray[Any, Any]:
    values = list(axis.values)
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(
            values, dtype=np.float64 if any(isinstance(v, float) for v in values) else np.int64
        )
    return np.array([str(v) for v in values], dtype=object)


def _sweep_attrs(axis: AxisPlan) -> dict[str, Any]:
    how = (
        "settled again on the same simulated years"
        if axis.is_design
        else ("simulated again with the same seed (common random numbers)")
    )
    return {
        "long_name": axis.path,
        "units": axis.units,
        "description": f"Swept parameter {axis.path} ({how}). {axis.description}".strip(),
        "sweep_path": axis.path,
        # a design axis is a choice of the contract; a model axis is a condition of the world
        "sweep_kind": "design" if axis.is_design else "model",
        "sweep_base": axis.base
        if isinstance(axis.base, int | float) and not isinstance(axis.base, bool)
        else str(axis.base),
    }
