"""The only builder of xarray Datasets: dims, coordinates, attributes, atomic write, open.

Layout: dims ``(design, trial, year)``; per-design variables carry all three, design-independent
ones ``(trial, year)``. Design parameters are non-dimension coordinates on ``design``. Every
variable has ``long_name``, ``units`` ("USD" for money, "1" for fractions) and ``description``.
Sign convention: settlement > 0 means the payer pays the provider.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import platform
from collections.abc import Hashable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from simsettle._atomic import atomic_path, recover_interrupted_write
from simsettle._kernels import records as R
from simsettle._version import __version__
from simsettle.dims import DIM_INFO, Dim
from simsettle.errors import SimulationError
from simsettle.scenario.contracts import Design, TwoSided
from simsettle.scenario.costs import CostShape, cost_moments
from simsettle.scenario.io import LoadedScenario
from simsettle.scenario.schema import Scenario

if TYPE_CHECKING:
    from simsettle.models.population import ModelInputs
    from simsettle.rules.designs import Settled
    from simsettle.scenario.sweep import AxisPlan, SweepPlan

__all__ = [
    "NETCDF_SUFFIXES",
    "RESULTS_FORMAT",
    "TRIAL_CHUNK",
    "VAR_ATTRS",
    "ZARR_SUFFIX",
    "ResultsFormat",
    "check_output_path",
    "check_zarr_store",
    "convert_results",
    "derived_dataset",
    "open_results",
    "payoff_dataset",
    "recover_interrupted_write",
    "results_format",
    "sweep_base",
    "sweep_base_index",
    "to_dataset",
    "write_results",
]

#: Version of the results layout; :func:`open_results` refuses files of another version.
RESULTS_FORMAT = 1
#: The formats results are written in, named by the path's suffix (:func:`results_format`).
ResultsFormat = Literal["netcdf", "zarr"]
SIGN_CONVENTION = "positive = payment from the payer to the provider"

# Plain strings (not the StrEnum members) so that dims print and serialise as plain names.
_D, _T, _Y = Dim.DESIGN.value, Dim.TRIAL.value, Dim.YEAR.value
_DPT = (_D, _T, _Y)
_PAYOFF = Dim.PAYOFF_SAVINGS_RATE.value
_P = Dim.PARTICIPANT.value
_L = Dim.LINE.value
_TY = (_T, _Y)

VAR_ATTRS: dict[str, dict[str, str]] = {
    "settlement_estimated": {
        "long_name": "estimated settlement",
        "units": "USD",
        "description": "First settlement, on spend completed from run-out claims with a "
        "random completion-factor error; the final settlement (settlement) trues it up.",
    },
    "interim_payment": {
        "long_name": "interim payment",
        "units": "USD",
        "description": "Advance paid at mid-year: interim_share of the expected estimated "
        "settlement; reconciled at the first settlement.",
    },
    "settlement_pv": {
        "long_name": "present value of the settlement",
        "units": "USD",
        "description": "Interim payment, first settlement and true-up discounted to the start of "
        "the first performance year at the scenario's discount rate.",
    },
    "participant_payout": {
        "long_name": "participant payout",
        "units": "USD",
        "description": "The practice's part of the entity's settlement under the scenario's "
        "distribution method; the payouts of a trial-year add up to the settlement.",
    },
    "participant_spend": {
        "long_name": "participant spend",
        "units": "USD",
        "description": "Allowed cost of the practice's attributed members.",
    },
    "participant_member_months": {
        "long_name": "participant member months",
        "units": "1",
        "description": "Attributed member months of the practice.",
    },
    "line_benchmark": {
        "long_name": "benchmark of the line",
        "units": "USD",
        "description": "Program benchmark of each portfolio line (the primary line first).",
    },
    "line_actual_spend": {
        "long_name": "actual spend of the line",
        "units": "USD",
        "description": "Allowed cost of each portfolio line's attributed population.",
    },
    "line_member_months": {
        "long_name": "member months of the line",
        "units": "1",
        "description": "Attributed member months of each portfolio line.",
    },
    "portfolio_settlement": {
        "long_name": "portfolio settlement",
        "units": "USD",
        "description": "Sum over the portfolio's lines of the settlement of each line's first "
        "design: the provider's combined result, with the lines' correlation through the shared "
        "trend and shocks.",
    },
    "payoff": {
        "long_name": "payoff",
        "units": "1",
        "description": "Settlement as a fraction of the benchmark at each savings rate of "
        "payoff_savings_rate: the design's terms as a curve, computed with the mean attributed "
        "members of the first performance year and the design's quality score.",
    },
    "benchmark": {
        "long_name": "benchmark",
        "units": "USD",
        "description": "Program benchmark for the performance year: weighted base-year cost per "
        "member month, risk-restated and trended by the negotiated rate, times the year's risk "
        "ratio and member months.",
    },
    "actual_spend": {
        "long_name": "actual spend",
        "units": "USD",
        "description": "Total allowed cost of the attributed population in the performance year, "
        "before any stop-loss.",
    },
    "member_months": {
        "long_name": "member months",
        "units": "1",
        "description": "Attributed member months in the performance year (partial months of "
        "leavers and joiners included).",
    },
    "attributed_members": {
        "long_name": "attributed members",
        "units": "1",
        "description": "Members attributed at any time in the performance year (count).",
    },
    "risk_score": {
        "long_name": "mean risk score",
        "units": "1",
        "description": "Member-month weighted mean risk score of the attributed population.",
    },
    "reference_index": {
        "long_name": "reference cost index",
        "units": "1",
        "description": "Cost level of the reference (regional/national) population relative "
        "to the first simulated base year; its realized trend can update the benchmark.",
    },
    "quality_score": {
        "long_name": "quality score",
        "units": "1",
        "description": "Simulated quality score of the performance year, used by every "
        "design's quality terms (present when the scenario has a quality_model).",
    },
    "care_management_cost": {
        "long_name": "care-management programme cost",
        "units": "USD",
        "description": "Programme cost (cost_pmpm x enrolled member months), borne by the "
        "provider outside the settled spend.",
    },
    "care_management_savings": {
        "long_name": "care-management true savings",
        "units": "USD",
        "description": "Cost the programme avoided: the true savings behind the measured "
        "ones (already out of actual_spend).",
    },
    "trend_index": {
        "long_name": "systemic cost index",
        "units": "1",
        "description": "Cost level of the trial-year relative to the first simulated base year "
        "(product of the stochastic annual growth factors).",
    },
    "settlement_benchmark": {
        "long_name": "settlement benchmark",
        "units": "USD",
        "description": "Benchmark the design settles against: the benchmark less the design's "
        "discount, or its capitation budget.",
    },
    "sequestered": {
        "long_name": "sequestered savings",
        "units": "USD",
        "description": "Shared savings withheld by sequestration (positive amount).",
    },
    "cap_adjustment": {
        "long_name": "cap adjustment",
        "units": "USD",
        "description": "Change made by the savings cap (negative) or the loss cap (positive); "
        "non-zero exactly when a cap binds.",
    },
    "loss_relief": {
        "long_name": "loss relief",
        "units": "USD",
        "description": "Shared losses forgiven for extreme and uncontrollable circumstances "
        "(positive amount).",
    },
    "quality_withhold": {
        "long_name": "quality withhold retained",
        "units": "USD",
        "description": "Quality withhold not earned back (positive amount, already subtracted "
        "from the settlement).",
    },
    "savings": {
        "long_name": "savings",
        "units": "USD",
        "description": "Settlement benchmark minus settled spend; settled spend is actual spend "
        "minus stop-loss recoveries plus stop-loss premiums. Negative values are losses.",
    },
    "savings_rate": {
        "long_name": "savings rate",
        "units": "1",
        "description": "Savings as a fraction of the settlement benchmark.",
    },
    "settlement": {
        "long_name": "settlement",
        "units": "USD",
        "description": "Amount settled for the performance year: shared savings or losses after "
        "sequestration, caps, loss relief and any quality withhold; under a capitation budget, "
        f"the provider's gain against the budget; {SIGN_CONVENTION}.",
    },
    "shared_savings": {
        "long_name": "shared savings",
        "units": "USD",
        "description": "Shared savings paid to the provider (positive part of settlement).",
    },
    "shared_losses": {
        "long_name": "shared losses",
        "units": "USD",
        "description": "Shared losses paid back by the provider (negative part of settlement, "
        "as a positive amount).",
    },
    "stop_loss_recovery": {
        "long_name": "stop-loss recovery",
        "units": "USD",
        "description": "Individual stop-loss recovery ((1 - coinsurance) of member cost above "
        "the attachment, summed over members) plus any aggregate stop-loss recovery; 0 for "
        "designs without stop-loss.",
    },
    "stop_loss_premium": {
        "long_name": "stop-loss premium",
        "units": "USD",
        "description": "Stop-loss premiums: (1 + loading) x the year's expected recovery (mean "
        "over all trials), individual plus aggregate; 0 for designs without stop-loss.",
    },
}


def _coord(long_name: str, units: str | None, description: str) -> dict[str, str]:
    attrs = {"long_name": long_name, "description": description}
    if units is not None:
        attrs["units"] = units
    return attrs


_COORD_ATTRS: dict[str, dict[str, str]] = {
    "kind": _coord("design kind", None, "upside_only or two_sided."),
    "template": _coord("template", None, "Template the design was expanded from; '' if none."),
    "sharing": _coord("sharing form", None, "flat (one sharing rate) or banded corridors."),
    "min_savings_rate": _coord(
        "minimum savings rate",
        "1",
        "Fraction of benchmark savings must "
        "reach to be shared; NaN when set by the MSSP size table.",
    ),
    "min_loss_rate": _coord(
        "minimum loss rate",
        "1",
        "Fraction of benchmark losses must reach "
        "to be shared; NaN for upside-only designs or the MSSP table.",
    ),
    "shared_savings_rate": _coord(
        "shared savings rate",
        "1",
        "Provider's share of savings (the first band's share for banded designs).",
    ),
    "shared_loss_rate": _coord(
        "shared loss rate",
        "1",
        "Provider's share of losses (first "
        "band for banded designs); 0 for upside-only designs; NaN when "
        "set by the quality score.",
    ),
    "savings_cap": _coord(
        "savings cap", "1", "Cap on shared savings, fraction of benchmark; NaN = no cap."
    ),
    "loss_cap": _coord(
        "loss cap",
        "1",
        "Cap on shared losses, fraction of benchmark; NaN = no cap (0 for upside-only designs).",
    ),
    "savings_cap_revenue": _coord(
        "savings cap on revenue",
        "1",
        "Cap on shared savings, fraction of participant revenue; NaN = none.",
    ),
    "loss_cap_revenue": _coord(
        "loss cap on revenue",
        "1",
        "Cap on shared losses, fraction of participant revenue; NaN = none.",
    ),
    "sharing_basis": _coord("sharing basis", None, "first_dollar or above_threshold."),
    "sequestration": _coord("sequestration", "1", "Share of shared savings sequestered."),
    "discount": _coord("benchmark discount", "1", "Discount taken off the benchmark."),
    "assumed_quality_score": _coord(
        "assumed quality score",
        "1",
        "The design's fixed quality score (quality_score replaces it when the scenario "
        "simulates quality); NaN = no quality terms.",
    ),
    "stop_loss_attachment": _coord(
        "stop-loss attachment point", "USD", "Per member per year; NaN = no stop-loss."
    ),
    "stop_loss_coinsurance": _coord(
        "stop-loss coinsurance", "1", "Provider's retained share of the excess; NaN = no stop-loss."
    ),
    "stop_loss_premium_loading": _coord(
        "stop-loss premium loading", "1", "Premium over expected recovery; NaN = no stop-loss."
    ),
    "aggregate_stop_loss_attachment": _coord(
        "aggregate stop-loss attachment", "1", "Fraction of benchmark; NaN = none."
    ),
}


def _opt(v: float | None) -> float:
    return math.nan if v is None else float(v)


def _design_row(d: Design) -> dict[str, Any]:
    sl = d.stop_loss
    table = d.msr_table is not None
    row: dict[str, Any] = {
        "kind": d.kind,
        "template": d.template or "",
        "sharing": "flat" if d.savings_bands is None else "banded",
        "min_savings_rate": math.nan if table else d.min_savings_rate,
        "shared_savings_rate": d.savings_bands_effective[0].share,
        "savings_cap": _opt(d.savings_cap),
        "savings_cap_revenue": _opt(d.savings_cap_revenue),
        "sharing_basis": d.sharing_basis,
        "sequestration": d.sequestration,
        "discount": d.discount,
        "assumed_quality_score": math.nan if d.quality is None else d.quality.score,
        "stop_loss_attachment": _opt(sl.attachment if sl else None),
        "stop_loss_coinsurance": _opt(sl.coinsurance if sl else None),
        "stop_loss_premium_loading": _opt(sl.premium_loading if sl else None),
        "aggregate_stop_loss_attachment": _opt(
            d.aggregate_stop_loss.attachment if d.aggregate_stop_loss else None
        ),
    }
    if isinstance(d, TwoSided):
        quality_rate = d.quality is not None and d.quality.loss_rate is not None
        row["min_loss_rate"] = math.nan if table else d.effective_min_loss_rate
        row["shared_loss_rate"] = math.nan if quality_rate else d.loss_bands_effective[0].share
        row["loss_cap"] = _opt(d.loss_cap)
        row["loss_cap_revenue"] = _opt(d.loss_cap_revenue)
    else:
        row.update(
            min_loss_rate=math.nan, shared_loss_rate=0.0, loss_cap=0.0, loss_cap_revenue=math.nan
        )
    return row


def _design_coords(designs: Sequence[Design]) -> dict[str, Any]:
    """The design parameters as non-dimension coordinates on ``design``."""
    rows = [_design_row(d) for d in designs]
    coords: dict[str, Any] = {}
    for name, attrs in _COORD_ATTRS.items():
        values = [row[name] for row in rows]
        dtype = object if isinstance(values[0], str) else np.float64
        coords[name] = (_D, np.array(values, dtype=dtype), attrs)
    return coords


def _versions() -> dict[str, str]:
    import numba

    return {
        "simsettle_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "xarray_version": xr.__version__,
    }


def achieved_cost_moments(scenario: Scenario) -> dict[str, float | None]:
    """The cost model's achieved moments (per member-year, risk included, first year).

    For the frequency-severity model the mean and CV are exact and the spend shares are left
    out (None): they have no closed form there.
    """
    c, p = scenario.cost, scenario.population
    if c.model == "frequency_severity":
        cv2 = (
            math.exp(p.risk_sigma**2)
            * (math.exp(c.severity_sigma**2) / c.claims_per_year + math.exp(c.claim_dispersion**2))
            - 1.0
        )
        return {
            "pmpm": c.pmpm,
            "cv": math.sqrt(cv2),
            "top1_share": None,
            "top5_share": None,
            "top10_share": None,
            "zero_share": None,
        }
    m = cost_moments(
        CostShape(
            zero_cost_share=c.zero_cost_share,
            body_sigma=c.body_sigma,
            tail_probability=c.tail_probability,
            tail_threshold=c.tail_threshold,
            tail_shape=c.tail_shape,
            risk_sigma=p.risk_sigma,
            pmpm=c.pmpm,
        )
    )
    return {
        "pmpm": m.pmpm,
        "cv": m.cv,
        "top1_share": m.top1_share,
        "top5_share": m.top5_share,
        "top10_share": m.top10_share,
        "zero_share": m.zero_share,
    }


def make_attrs(
    loaded: LoadedScenario,
    *,
    seed: int,
    trials: int,
    inputs: ModelInputs,
    command: str | None = None,
) -> dict[str, Any]:
    """Global attributes: provenance, seed, random number generator, versions, conventions."""
    sc = loaded.scenario
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    what = command if command is not None else "simsettle.simulate()"
    attrs: dict[str, Any] = {
        "title": sc.name or Path(loaded.source).stem,
        "Conventions": "CF-1.11",
        "source": f"simsettle {__version__}",
        "history": f"{now} {what}",
        "simsettle_results_format": RESULTS_FORMAT,
        "scenario_source": loaded.source,
        "scenario_yaml": loaded.text,
        "scenario_sha256": loaded.sha256,
        "seed": int(seed),
        "trials": int(trials),
        "rng": "philox4x32-10",
        "rng_key_derivation": "numpy.random.SeedSequence(seed).generate_state(2, uint32); "
        "counter = (trial, simulated year, member slot, stream)",
        "base_years": inputs.n_base_years,
        "cost_moments": json.dumps(achieved_cost_moments(sc)),
        "sign_convention": SIGN_CONVENTION,
        "money_units": "USD (nominal; 'USD' is not a UDUNITS unit)",
        "model_parameters": json.dumps(
            {
                "params": [float(x) for x in inputs.params],
                "stop_loss_attachments": [float(x) for x in inputs.attachments],
            }
        ),
    }
    if loaded.overrides:
        attrs["scenario_overrides"] = json.dumps(list(loaded.overrides))
    attrs.update(_versions())
    return attrs


def combine_sweep(points: Sequence[xr.Dataset], plan: SweepPlan) -> xr.Dataset:
    """One Dataset from a sweep's runs: each swept parameter a dimension.

    ``points`` are the Datasets of ``plan.points`` in order; their ``design`` dim holds every
    design's variants (design-major). Per-design variables get the design axes and the model
    axes; the others the model axes only. Dims: ``design``, then the swept parameters in the
    order of the scenario's ``sweep``, then the rest (``trial``, ``year``, ...). A design
    coordinate that a sweep changes moves to the sweep's dimension (dropped where its name is the
    dimension's); the others stay on ``design``.
    """
    names = list(plan.design_names)
    design_axes, model_axes = plan.design_axes, plan.model_axes
    g_shape = [len(a.values) for a in design_axes]
    g = plan.n_variants

    def unstack(ds: xr.Dataset) -> xr.Dataset:
        if g == 1:
            return ds
        out: dict[Hashable, Any] = {}
        for name, var in ds.data_vars.items():
            if _D not in var.dims:
                out[name] = var
                continue
            axis = var.dims.index(_D)
            shape = (*var.shape[:axis], len(names), *g_shape, *var.shape[axis + 1 :])
            dims = (*var.dims[:axis], _D, *(a.dim for a in design_axes), *var.dims[axis + 1 :])
            out[name] = xr.Variable(dims, var.values.reshape(shape), var.attrs)
        coords: dict[Hashable, Any] = {
            k: v for k, v in ds.coords.items() if _D not in v.dims and k not in ds.dims
        }
        for k in ds.dims:
            if k != _D:
                coords[k] = ds.coords.get(k, None)
        coords = {k: v for k, v in coords.items() if v is not None}
        coords[_D] = (_D, np.array(names, dtype=object), dict(ds[_D].attrs))
        swept = {a.dim for a in design_axes}
        for k, c in ds.coords.items():
            if k == _D or c.dims != (_D,):
                continue
            values = c.values.reshape(len(names), *g_shape)
            flat = values.reshape(len(names), -1)
            if all(len({repr(x) for x in row}) == 1 for row in flat):
                coords[k] = (_D, flat[:, 0], dict(c.attrs))
            elif k not in swept:
                coords[k] = ((_D, *(a.dim for a in design_axes)), values, dict(c.attrs))
        return xr.Dataset(out, coords=coords, attrs=ds.attrs)

    grid = [unstack(ds) for ds in points]
    for a in design_axes:
        for i, ds in enumerate(grid):
            grid[i] = ds.assign_coords({a.dim: (a.dim, _sweep_values(a), _sweep_attrs(a))})
    if model_axes:
        shape = [len(a.values) for a in model_axes]
        nested: Any = np.empty(shape, dtype=object)
        for i, ds in enumerate(grid):
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
    else:
        combined = grid[0]
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
    import pandas as pd  # type: ignore[import-untyped]  # xarray's dependency

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
        "sweep_base": axis.base
        if isinstance(axis.base, int | float) and not isinstance(axis.base, bool)
        else str(axis.base),
    }


def to_dataset(
    settled: Settled,
    loaded: LoadedScenario,
    *,
    seed: int,
    trials: int,
    inputs: ModelInputs,
    command: str | None = None,
) -> xr.Dataset:
    """Label the settled arrays: the one place simsettle builds a Dataset."""
    sc = loaded.scenario
    designs = sc.all_designs
    names = [d.name for d in designs]
    steps = settled.steps
    settlement = steps[..., R.S_SETTLEMENT]
    # Per-design variables first, so the Dataset's dims read (design, trial, year).
    data: dict[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]] = {
        "settlement": (_DPT, settlement),
        "shared_savings": (_DPT, np.maximum(settlement, 0.0)),
        "shared_losses": (_DPT, np.maximum(-settlement, 0.0)),
        "savings": (_DPT, settled.savings),
        "savings_rate": (_DPT, settled.savings / settled.settlement_benchmark),
        "settlement_benchmark": (_DPT, settled.settlement_benchmark),
        "sequestered": (_DPT, -steps[..., R.S_SEQUESTRATION]),
        "cap_adjustment": (_DPT, steps[..., R.S_CAP]),
        "loss_relief": (_DPT, steps[..., R.S_LOSS_RELIEF]),
        "quality_withhold": (_DPT, -steps[..., R.S_WITHHOLD]),
        "stop_loss_recovery": (_DPT, settled.stop_loss_recovery),
        "stop_loss_premium": (_DPT, settled.stop_loss_premium),
        "payoff": ((_D, _PAYOFF), settled.payoff),
        "benchmark": (_TY, settled.benchmark),
        "actual_spend": (_TY, settled.actual_spend),
        "member_months": (_TY, settled.member_months),
        "attributed_members": (_TY, settled.attributed_members),
        "risk_score": (_TY, settled.risk_score),
        "trend_index": (_TY, settled.trend_index),
        "reference_index": (_TY, settled.reference_index),
    }
    for name, arr in {
        "settlement_estimated": settled.settlement_estimated,
        "interim_payment": settled.interim_payment,
        "settlement_pv": settled.settlement_pv,
    }.items():
        if arr is not None:
            data[name] = (_DPT, arr)
    if (
        settled.participant_payout is not None
        and settled.participant_spend is not None
        and settled.participant_member_months is not None
    ):
        data["participant_payout"] = ((_D, _P, _T, _Y), settled.participant_payout)
        data["participant_spend"] = ((_P, _T, _Y), settled.participant_spend)
        data["participant_member_months"] = ((_P, _T, _Y), settled.participant_member_months)
    line_vars = {
        "line_benchmark": settled.line_benchmark,
        "line_actual_spend": settled.line_actual_spend,
        "line_member_months": settled.line_member_months,
    }
    for name, values in line_vars.items():
        if values is not None:
            data[name] = ((_L, _T, _Y), values)
    if settled.portfolio_settlement is not None:
        data["portfolio_settlement"] = (_TY, settled.portfolio_settlement)
    optional = {
        "quality_score": settled.quality_score,
        "care_management_cost": settled.care_management_cost,
        "care_management_savings": settled.care_management_savings,
    }
    for name, values in optional.items():
        if values is not None:
            data[name] = (_TY, values)
    for name, (_, arr) in data.items():
        if not np.all(np.isfinite(arr)):
            raise SimulationError(f"{name} has non-finite values; please report this scenario")
    coords: dict[str, Any] = {
        _D: (_D, np.array(names, dtype=object), DIM_INFO[Dim.DESIGN]),
        _T: (_T, np.arange(trials, dtype=np.int64), DIM_INFO[Dim.TRIAL]),
        _Y: (_Y, np.array(sc.years, dtype=np.int64), DIM_INFO[Dim.YEAR]),
        _PAYOFF: (_PAYOFF, settled.payoff_rates, DIM_INFO[Dim.PAYOFF_SAVINGS_RATE]),
    }
    if sc.participants is not None:
        practices = [p.name for p in sc.participants.practices]
        coords[_P] = (_P, np.array(practices, dtype=object), DIM_INFO[Dim.PARTICIPANT])
    if settled.lines:
        coords[_L] = (_L, np.array(settled.lines, dtype=object), DIM_INFO[Dim.LINE])
        coords["line"] = (
            _D,
            np.array(settled.design_line, dtype=object),
            {"long_name": "line of business", "description": "Portfolio line of the design."},
        )
    coords.update(_design_coords(designs))
    ds = xr.Dataset(
        {name: (dims, arr, dict(VAR_ATTRS[name])) for name, (dims, arr) in data.items()},
        coords=coords,
        attrs=make_attrs(loaded, seed=seed, trials=trials, inputs=inputs, command=command),
    )
    return ds


def payoff_dataset(
    designs: Sequence[Design], rates: np.ndarray[Any, Any], table: np.ndarray[Any, Any]
) -> xr.Dataset:
    """Payoff curves of ``designs`` as a Dataset shaped like a results file's ``payoff``."""
    names = [d.name for d in designs]
    coords: dict[str, Any] = {
        _D: (_D, np.array(names, dtype=object), DIM_INFO[Dim.DESIGN]),
        _PAYOFF: (_PAYOFF, np.asarray(rates, dtype=np.float64), DIM_INFO[Dim.PAYOFF_SAVINGS_RATE]),
        **_design_coords(designs),
    }
    return xr.Dataset(
        {"payoff": ((_D, _PAYOFF), np.asarray(table, dtype=np.float64), dict(VAR_ATTRS["payoff"]))},
        coords=coords,
        attrs={
            "title": "Payoff curves",
            "source": f"simsettle {__version__}",
            "sign_convention": SIGN_CONVENTION,
        },
    )


def derived_dataset(
    data_vars: Mapping[Hashable, xr.DataArray], attrs: Mapping[str, Any]
) -> xr.Dataset:
    """A Dataset of quantities derived from results (statistics), checked for documentation.

    Every variable must already carry ``long_name``, ``units`` and ``description``.
    """
    for name, var in data_vars.items():
        missing = [k for k in ("long_name", "units", "description") if not var.attrs.get(k)]
        if missing:
            raise ValueError(f"derived variable {name!r} lacks attrs {missing}")
    return xr.Dataset(dict(data_vars), attrs=dict(attrs))


#: File-name suffixes of NetCDF results; ``.zarr`` names a Zarr directory store.
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf")
ZARR_SUFFIX = ".zarr"

#: Trials per stored chunk, in both formats (a few MiB per chunk of a (design, trial, year)
#: variable; a reader of one design or a range of trials touches few chunks).
TRIAL_CHUNK = 65_536

_INSTALL_HINT = "pip install 'simsettle[dask]'"


def results_format(path: str | os.PathLike[str]) -> ResultsFormat:
    """The format a results path names: ``"netcdf"`` for ``.nc`` (``.nc4``, ``.netcdf``),
    ``"zarr"`` for ``.zarr`` (a directory store).

    >>> results_format("runs/r.zarr"), results_format("r.nc")
    ('zarr', 'netcdf')
    """
    suffix = Path(path).suffix.lower()
    if suffix == ZARR_SUFFIX:
        return "zarr"
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    raise ValueError(
        f"{path}: unknown results format {suffix or '(no suffix)'}; use a .nc file name "
        "(NetCDF) or a .zarr directory name (Zarr)"
    )


def _is_zarr_store(p: Path) -> bool:
    return p.is_dir() and any((p / n).is_file() for n in ("zarr.json", ".zgroup", ".zattrs"))


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"{what} needs the {module} package: {_INSTALL_HINT}")


def check_output_path(path: str | os.PathLike[str]) -> ResultsFormat:
    """Check that results can be written at ``path`` (before a long run); returns the format.

    Raises
    ------
    ValueError
        If the suffix names no results format, ``path`` is a directory where a NetCDF file is
        asked for, or it exists and is not a Zarr store where a Zarr store is asked for (an
        existing store is replaced; anything else is never deleted).
    FileNotFoundError
        If the directory that would hold ``path`` does not exist.
    ImportError
        If Zarr is asked for and the zarr package is not installed.
    """
    target = Path(path)
    if target.is_dir() and target.suffix.lower() != ZARR_SUFFIX:
        raise ValueError(
            f"{target}: is a directory; give a file name such as {target / 'results.nc'}"
        )
    fmt = results_format(target)
    if fmt == "zarr":
        if (target.exists() or target.is_symlink()) and not _is_zarr_store(target):
            raise ValueError(f"{target}: exists and is not a Zarr store; refusing to replace it")
        _require("zarr", "writing Zarr results")
    directory = target.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"{target}: output directory {directory} does not exist")
    return fmt


def _stored_chunks(var: xr.Variable) -> tuple[int, ...]:
    return tuple(
        max(1, min(n, TRIAL_CHUNK) if d == _T else n)
        for d, n in zip(var.dims, var.shape, strict=True)
    )


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    return {
        str(name): {
            "zlib": True,
            "complevel": 1,
            "shuffle": True,
            "chunksizes": _stored_chunks(var.variable),
        }
        for name, var in ds.data_vars.items()
    }


def _plain(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` without the encodings it was read with, its (small) coordinates in memory."""
    ds = ds.drop_encoding()
    coords = {}
    for name, c in ds.coords.items():
        if c.chunks is not None or c.dtype.kind == "U":
            c = c.compute()
            # Labels are variable-length strings, as to_dataset makes them (fixed-width ones,
            # which lazy reads can give, have no Zarr 3 specification yet).
            coords[name] = c.astype(object) if c.dtype.kind == "U" else c
    return ds.assign_coords(coords) if coords else ds


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them (main thread only).

    Python raises an interrupt wherever the main thread is. Inside a file library that can be
    between taking a lock and releasing it: a CI run once stopped in xarray's NetCDF writer with
    its HDF5 lock held, and closing the file then waited on that lock for ever. The block's
    handlers only note the signal; when it ends, the handler that was in place gets it (the
    command line's raises KeyboardInterrupt), before the temporary file is renamed, so the
    caller removes it as after any interrupt.
    """
    import signal

    from simsettle._signals import handling

    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = None
    try:
        with handling(hold, (signal.SIGINT, signal.SIGTERM)) as previous:
            yield
    finally:
        if caught and previous is not None:
            first = signal.Signals(caught[0])
            handler = previous[first]
            if callable(handler):
                handler(first, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(first)


def _write_netcdf(ds: xr.Dataset, target: Path) -> None:
    with atomic_path(target) as tmp, _interrupts_held():
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))


def _write_zarr(ds: xr.Dataset, target: Path) -> None:
    # Dask-backed variables (results opened lazily) are rechunked to the stored chunks, which
    # zarr needs for safe writes; in-memory ones are split by zarr itself.
    chunked = {
        name: var.variable.chunk(dict(zip(var.dims, _stored_chunks(var.variable), strict=True)))
        for name, var in ds.data_vars.items()
        if var.chunks is not None
    }
    if chunked:
        ds = ds.assign(chunked)
    encoding = {str(n): {"chunks": _stored_chunks(v.variable)} for n, v in ds.data_vars.items()}
    # Consolidated metadata is not part of the Zarr 3 specification (zarr warns); a results
    # store has a few dozen arrays, so reading their metadata one by one costs little.
    with atomic_path(target, directory=True) as tmp, _interrupts_held():
        ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=False, zarr_format=3)


def write_results(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` atomically: NetCDF4 for a ``.nc`` path, a Zarr store for a ``.zarr`` path.

    Results go to a temporary name in the same directory and are renamed into place only when
    complete, so an interrupted or failed write leaves no partial file or store and never damages
    an existing one (an existing Zarr store is moved aside, replaced, then removed). Data are
    stored in chunks of :data:`TRIAL_CHUNK` trials; a dask-backed Dataset (from
    ``open_results(..., lazy=True)``) is written chunk by chunk without loading it whole.

    Raises
    ------
    ValueError, FileNotFoundError, ImportError
        As :func:`check_output_path`, before anything is written.
    """
    target = Path(path)
    fmt = check_output_path(target)
    ds = _plain(ds)
    if fmt == "zarr":
        _write_zarr(ds, target)
    else:
        _write_netcdf(ds, target)
    return target


def _check_format(p: Path, ds: xr.Dataset, noun: str) -> None:
    fmt = ds.attrs.get("simsettle_results_format")
    if fmt is None:
        raise ValueError(f"{p}: not a simsettle results {noun} (no simsettle_results_format attr)")
    if isinstance(fmt, np.ndarray) and fmt.size == 1:
        fmt = fmt.reshape(-1)[0]
    if not isinstance(fmt, int | np.integer) or isinstance(fmt, bool | np.bool_):
        shown = repr(fmt) if len(repr(fmt)) <= 40 else repr(fmt)[:37] + "..."
        raise ValueError(
            f"{p}: not a simsettle results {noun} (simsettle_results_format is {shown}, not a "
            "format number)"
        )
    if int(fmt) != RESULTS_FORMAT:
        raise ValueError(f"{p}: results format {fmt}; this simsettle reads format {RESULTS_FORMAT}")
    settlement = ds.variables.get("settlement")
    if settlement is None or not {_D, _T, _Y} <= set(map(str, settlement.dims)):
        raise ValueError(
            f"{p}: not a complete simsettle results {noun} (no settlement variable over "
            f"{_D}, {_T} and {_Y})"
        )


#: Zarr v3 codecs a results store may use (what :func:`write_results` writes, and the other
#: standard ones). Anything else -- a pickle codec above all -- is refused before zarr reads a
#: chunk, so opening a store from elsewhere can never unpickle its data.
ZARR_CODECS = frozenset(
    {"bytes", "zstd", "blosc", "gzip", "crc32c", "transpose", "vlen-utf8", "vlen-bytes"}
)
_ZARR_SHARDING = "sharding_indexed"
_MAX_ZARR_METADATA = 16 * 1024 * 1024


def _zarr_codec_names(codecs: Any) -> list[str]:
    """Every codec name in a Zarr v3 ``codecs`` list, sharding's inner lists included."""
    if not isinstance(codecs, list):
        raise ValueError("its codecs are not a list")
    names: list[str] = []
    for codec in codecs:
        name = codec.get("name") if isinstance(codec, dict) else codec
        if not isinstance(name, str):
            raise ValueError(f"a codec without a name: {str(codec)[:60]}")
        names.append(name)
        if name == _ZARR_SHARDING and isinstance(codec, dict):
            config = codec.get("configuration") or {}
            for key in ("codecs", "index_codecs"):
                names += _zarr_codec_names(config.get(key, []))
    return names


def check_zarr_store(path: str | os.PathLike[str]) -> None:
    """Check a Zarr store's metadata before reading it: a Zarr v3 group whose arrays use only
    :data:`ZARR_CODECS` (no pickled objects, no storage transformers).

    Raises
    ------
    ValueError
        Naming the store and what is wrong with it.
    """
    p = Path(path)
    root = p / "zarr.json"
    if not root.is_file():
        v2 = any((p / n).is_file() for n in (".zgroup", ".zarray", ".zattrs"))
        what = "a Zarr v2 store (simsettle writes Zarr v3)" if v2 else "no zarr.json"
        raise ValueError(f"{p}: not a readable Zarr results store ({what})")
    for meta in sorted(p.rglob("zarr.json")):
        where = meta.parent.relative_to(p).as_posix() or "/"
        try:
            if meta.stat().st_size > _MAX_ZARR_METADATA:
                raise ValueError("metadata file too large")
            doc = json.loads(meta.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("zarr_format") != 3:
                raise ValueError("not Zarr v3 metadata")
            node = doc.get("node_type")
            if meta == root and node != "group":
                raise ValueError(f"the root is a Zarr {node}, not a group")
            if node == "array":
                if doc.get("storage_transformers"):
                    raise ValueError("storage transformers are not supported")
                for name in _zarr_codec_names(doc.get("codecs", [])):
                    if name not in ZARR_CODECS and name != _ZARR_SHARDING:
                        raise ValueError(
                            f"codec {name!r} is not one simsettle reads "
                            f"({', '.join(sorted(ZARR_CODECS))})"
                        )
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(f"{p}: not a readable Zarr results store ({where}: {exc})") from None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_netcdf_file(p: Path) -> None:
    """Refuse, before the NetCDF library opens it, a file that is neither HDF5 (NetCDF-4) nor
    classic NetCDF, or an HDF5 file shorter than its superblock says (truncated).

    This matters beyond the message: when netCDF-C fails half-way through opening a damaged
    HDF5 file it can leave the file open inside HDF5, and a later open of the same file,
    rewritten in place, may then crash the process.
    """
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(4)
            if head[:3] == b"CDF" and head[3:4] in (b"\x01", b"\x02", b"\x05"):
                return  # classic NetCDF (the library reads these without HDF5)
            offset = 0
            while offset + 8 <= size:  # the superblock: at 0, 512, 1024, 2048, ...
                fh.seek(offset)
                block = fh.read(64)
                if block[:8] == _HDF5_SIGNATURE:
                    _check_superblock(p, block, offset, size)
                    return
                offset = 512 if offset == 0 else offset * 2
    except OSError as exc:
        raise ValueError(f"{p}: not a readable NetCDF results file ({_reason(exc)})") from None
    raise ValueError(
        f"{p}: not a readable NetCDF results file (no HDF5 or NetCDF signature in its "
        f"{size:,} bytes)"
    )


def _check_superblock(p: Path, block: bytes, offset: int, size: int) -> None:
    version = block[8] if len(block) > 8 else -1
    if version in (0, 1):
        width, start = (block[13] if len(block) > 13 else 0), 24 if version == 0 else 28
    elif version in (2, 3):
        width, start = (block[9] if len(block) > 9 else 0), 12
    else:
        return  # a future superblock: let the library judge
    if width not in (2, 4, 8) or len(block) < start + 3 * width:
        raise ValueError(f"{p}: not a readable NetCDF results file (damaged HDF5 superblock)")
    base, _, eof = (
        int.from_bytes(block[start + k * width : start + (k + 1) * width], "little")
        for k in range(3)
    )
    undefined = (1 << (8 * width)) - 1
    if eof == undefined:
        return
    needed = (offset if base == undefined else base) + eof
    if size < needed:
        raise ValueError(
            f"{p}: not a readable NetCDF results file (truncated: {size:,} of {needed:,} bytes)"
        )


def _reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def open_results(path: str | os.PathLike[str], *, lazy: bool = False) -> xr.Dataset:
    """Read results written by :func:`write_results`: a NetCDF file or a Zarr directory store.

    By default the data are loaded into memory (and the file closed). With ``lazy=True`` the
    variables are dask arrays in the stored chunks and nothing is read until used, for runs
    larger than memory (needs dask); close the Dataset when done with it.

    Before a reader touches it, a NetCDF file must carry the HDF5 or NetCDF signature and be as
    long as its HDF5 superblock says (a truncated copy is refused by name), and a Zarr store
    must be Zarr v3 with only :data:`ZARR_CODECS` (so nothing is ever unpickled); whatever the
    readers then raise on a damaged file becomes the same ``ValueError``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a complete simsettle results file or store of a format this version reads
        (the message starts with the path and says what is wrong).
    ImportError
        If ``lazy=True`` without dask, or a Zarr store without zarr, installed.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such results file or store: {p}")
    if lazy:
        _require("dask", "open_results(lazy=True)")
    chunks: dict[str, int] | None = {} if lazy else None  # {}: the stored chunks
    zarr = p.is_dir()
    noun, kind = ("store", "Zarr results store") if zarr else ("file", "NetCDF results file")
    ds: xr.Dataset
    if zarr:
        _require("zarr", "reading Zarr results")
        check_zarr_store(p)
    else:
        _check_netcdf_file(p)
    # A damaged or foreign file makes the readers raise almost anything (netCDF4: RuntimeError
    # "NetCDF: HDF error", AttributeError; zarr: its own errors): all of it means "not a
    # readable results file".
    try:
        if zarr:
            ds = xr.open_zarr(p, consolidated=False, chunks=chunks, zarr_format=3)
        else:
            ds = xr.open_dataset(p, engine="netcdf4", chunks=chunks)
    except Exception as exc:
        raise ValueError(f"{p}: not a readable {kind} ({_reason(exc)})") from None
    try:
        _check_format(p, ds, noun)
        if not lazy:
            try:
                ds.load()
            except Exception as exc:
                raise ValueError(f"{p}: not a readable {kind} ({_reason(exc)})") from None
    except BaseException:
        with contextlib.suppress(Exception):
            ds.close()
        raise
    if not lazy:
        ds.close()  # the data are in memory
    return ds


def convert_results(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy results to another file or store; the formats follow the suffixes (``.nc``,
    ``.zarr``), so this converts a Zarr store to one NetCDF file and back.

    Streams chunk by chunk when dask is installed (the source is opened lazily), so results
    larger than memory convert. Data, coordinates and attributes are kept as they are.
    """
    s, d = Path(src), Path(dst)
    if s.exists() and d.exists() and s.resolve() == d.resolve():
        raise ValueError(f"{d}: is the source itself; give another name")
    check_output_path(d)
    ds = open_results(s, lazy=importlib.util.find_spec("dask") is not None)
    try:
        return write_results(ds, d)
    finally:
        ds.close()
