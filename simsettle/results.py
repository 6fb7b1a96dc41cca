"""The only builder of xarray Datasets: dims, coordinates, attributes, atomic write, open.

Layout: dims ``(design, trial, year)``; per-design variables carry all three, design-independent
ones ``(trial, year)``. Design parameters are non-dimension coordinates on ``design``. Every
variable has ``long_name``, ``units`` ("USD" for money, "1" for fractions) and ``description``.
Sign convention: settlement > 0 means the payer pays the provider.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import tempfile
from collections.abc import Hashable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from simsettle._version import __version__
from simsettle.dims import DIM_INFO, Dim
from simsettle.errors import SimulationError
from simsettle.scenario.contracts import TwoSided
from simsettle.scenario.io import LoadedScenario

if TYPE_CHECKING:
    from simsettle.models.population import ModelInputs
    from simsettle.rules.designs import Settled

__all__ = [
    "RESULTS_FORMAT",
    "VAR_ATTRS",
    "derived_dataset",
    "open_results",
    "to_dataset",
    "write_results",
]

#: Version of the results layout; :func:`open_results` refuses files of another version.
RESULTS_FORMAT = 1
SIGN_CONVENTION = "positive = payment from the payer to the provider"

# Plain strings (not the StrEnum members) so that dims print and serialise as plain names.
_D, _T, _Y = Dim.DESIGN.value, Dim.TRIAL.value, Dim.YEAR.value
_DPT = (_D, _T, _Y)
_TY = (_T, _Y)

VAR_ATTRS: dict[str, dict[str, str]] = {
    "benchmark": {
        "long_name": "benchmark",
        "units": "USD",
        "description": "Total benchmark for the performance year: weighted base-year cost per "
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
    "trend_index": {
        "long_name": "systemic cost index",
        "units": "1",
        "description": "Cost level of the trial-year relative to the first simulated base year "
        "(product of the stochastic annual growth factors).",
    },
    "savings": {
        "long_name": "savings",
        "units": "USD",
        "description": "Benchmark minus settled spend; settled spend is actual spend minus "
        "stop-loss recovery plus stop-loss premium. Negative values are losses.",
    },
    "savings_rate": {
        "long_name": "savings rate",
        "units": "1",
        "description": "Savings as a fraction of the benchmark.",
    },
    "settlement": {
        "long_name": "settlement",
        "units": "USD",
        "description": "Amount settled for the performance year: shared savings minus shared "
        f"losses; {SIGN_CONVENTION}.",
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
        "description": "Reimbursed share (1 - coinsurance) of member cost above the stop-loss "
        "attachment, summed over members; 0 for designs without stop-loss.",
    },
    "stop_loss_premium": {
        "long_name": "stop-loss premium",
        "units": "USD",
        "description": "Stop-loss premium: (1 + loading) x the year's expected recovery (mean "
        "over all trials); 0 for designs without stop-loss.",
    },
}

_COORD_ATTRS: dict[str, dict[str, str]] = {
    "kind": {"long_name": "design kind", "description": "upside_only or two_sided."},
    "min_savings_rate": {
        "long_name": "minimum savings rate",
        "units": "1",
        "description": "Fraction of benchmark savings must reach to be shared.",
    },
    "min_loss_rate": {
        "long_name": "minimum loss rate",
        "units": "1",
        "description": "Fraction of benchmark losses must reach to be shared; NaN "
        "for upside-only designs.",
    },
    "shared_savings_rate": {
        "long_name": "shared savings rate",
        "units": "1",
        "description": "Provider's share of savings.",
    },
    "shared_loss_rate": {
        "long_name": "shared loss rate",
        "units": "1",
        "description": "Provider's share of losses; 0 for upside-only designs.",
    },
    "savings_cap": {
        "long_name": "savings cap",
        "units": "1",
        "description": "Cap on shared savings, fraction of benchmark; NaN = no cap.",
    },
    "loss_cap": {
        "long_name": "loss cap",
        "units": "1",
        "description": "Cap on shared losses, fraction of benchmark; NaN = no cap "
        "(0 for upside-only designs).",
    },
    "sharing_basis": {
        "long_name": "sharing basis",
        "description": "first_dollar or above_threshold.",
    },
    "stop_loss_attachment": {
        "long_name": "stop-loss attachment point",
        "units": "USD",
        "description": "Per member per year; NaN = no stop-loss.",
    },
    "stop_loss_coinsurance": {
        "long_name": "stop-loss coinsurance",
        "units": "1",
        "description": "Provider's retained share of the excess; NaN = no stop-loss.",
    },
    "stop_loss_premium_loading": {
        "long_name": "stop-loss premium loading",
        "units": "1",
        "description": "Premium over expected recovery; NaN = no stop-loss.",
    },
}


def _opt(v: float | None) -> float:
    return math.nan if v is None else float(v)


def _design_coords(loaded: LoadedScenario) -> dict[str, Any]:
    designs = loaded.scenario.designs
    cols: dict[str, list[Any]] = {k: [] for k in _COORD_ATTRS}
    for d in designs:
        cols["kind"].append(d.kind)
        cols["min_savings_rate"].append(d.min_savings_rate)
        cols["shared_savings_rate"].append(d.shared_savings_rate)
        cols["savings_cap"].append(_opt(d.savings_cap))
        if isinstance(d, TwoSided):
            cols["min_loss_rate"].append(d.effective_min_loss_rate)
            cols["shared_loss_rate"].append(d.shared_loss_rate)
            cols["loss_cap"].append(_opt(d.loss_cap))
        else:
            cols["min_loss_rate"].append(math.nan)
            cols["shared_loss_rate"].append(0.0)
            cols["loss_cap"].append(0.0)
        cols["sharing_basis"].append(d.sharing_basis)
        sl = d.stop_loss
        cols["stop_loss_attachment"].append(_opt(sl.attachment if sl else None))
        cols["stop_loss_coinsurance"].append(_opt(sl.coinsurance if sl else None))
        cols["stop_loss_premium_loading"].append(_opt(sl.premium_loading if sl else None))
    coords: dict[str, Any] = {}
    for name, values in cols.items():
        dtype = object if isinstance(values[0], str) else np.float64
        coords[name] = (_D, np.array(values, dtype=dtype), _COORD_ATTRS[name])
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
        "sign_convention": SIGN_CONVENTION,
        "money_units": "USD (nominal; 'USD' is not a UDUNITS unit)",
        "model_parameters": json.dumps(
            {
                "params": [float(x) for x in inputs.params],
                "stop_loss_attachments": [float(x) for x in inputs.attachments],
            }
        ),
    }
    attrs.update(_versions())
    return attrs


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
    names = [d.name for d in sc.designs]
    b = settled.benchmark[np.newaxis]
    settlement = settled.settlement
    # Per-design variables first, so the Dataset's dims read (design, trial, year).
    data: dict[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]] = {
        "settlement": (_DPT, settlement),
        "shared_savings": (_DPT, np.maximum(settlement, 0.0)),
        "shared_losses": (_DPT, np.maximum(-settlement, 0.0)),
        "savings": (_DPT, settled.savings),
        "savings_rate": (_DPT, settled.savings / b),
        "stop_loss_recovery": (_DPT, settled.stop_loss_recovery),
        "stop_loss_premium": (_DPT, settled.stop_loss_premium),
        "benchmark": (_TY, settled.benchmark),
        "actual_spend": (_TY, settled.actual_spend),
        "member_months": (_TY, settled.member_months),
        "attributed_members": (_TY, settled.attributed_members),
        "risk_score": (_TY, settled.risk_score),
        "trend_index": (_TY, settled.trend_index),
    }
    for name, (_, arr) in data.items():
        if not np.all(np.isfinite(arr)):
            raise SimulationError(f"{name} has non-finite values; please report this scenario")
    ds = xr.Dataset(
        {name: (dims, arr, dict(VAR_ATTRS[name])) for name, (dims, arr) in data.items()},
        coords={
            _D: (_D, np.array(names, dtype=object), DIM_INFO[Dim.DESIGN]),
            _T: (_T, np.arange(trials, dtype=np.int64), DIM_INFO[Dim.TRIAL]),
            _Y: (_Y, np.array(sc.years, dtype=np.int64), DIM_INFO[Dim.YEAR]),
            **_design_coords(loaded),
        },
        attrs=make_attrs(loaded, seed=seed, trials=trials, inputs=inputs, command=command),
    )
    return ds


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


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.data_vars.items():
        chunks = tuple(
            min(n, 65_536) if d == _T else n for d, n in zip(var.dims, var.shape, strict=True)
        )
        enc[str(name)] = {"zlib": True, "complevel": 1, "shuffle": True, "chunksizes": chunks}
    return enc


def write_results(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` to NetCDF4 at ``path`` atomically.

    The file is written to a temporary name in the same directory and renamed over ``path`` only
    when complete, so an interrupted or failed write leaves no partial file and never damages an
    existing one.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"output directory does not exist: {directory}")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def open_results(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a results file written by :func:`write_results` (fully loaded, file closed).

    Raises
    ------
    ValueError
        If the file is not a simsettle results file of a format this version reads.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such results file: {p}")
    try:
        with xr.open_dataset(p, engine="netcdf4") as ds:
            loaded = ds.load()
    except (OSError, ValueError) as exc:
        raise ValueError(f"{p}: not a readable NetCDF results file ({exc})") from None
    fmt = loaded.attrs.get("simsettle_results_format")
    if fmt is None:
        raise ValueError(f"{p}: not a simsettle results file (no simsettle_results_format attr)")
    if int(fmt) != RESULTS_FORMAT:
        raise ValueError(f"{p}: results format {fmt}; this simsettle reads format {RESULTS_FORMAT}")
    return loaded
