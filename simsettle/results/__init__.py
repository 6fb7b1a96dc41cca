"""The results store: the only builder of xarray Datasets, and their files.

The store is split by concern into :mod:`~simsettle.results.dataset`; this package re-exports
the public names so that ``simsettle.results.<name>`` keeps working.
"""

from __future__ import annotations

from simsettle.results.dataset import (
    NETCDF_SUFFIXES,
    RESULTS_FORMAT,
    SIGN_CONVENTION,
    TRIAL_CHUNK,
    VAR_ATTRS,
    ZARR_CODECS,
    ZARR_SUFFIX,
    ResultsFormat,
    achieved_cost_moments,
    check_output_path,
    check_zarr_store,
    combine_sweep,
    convert_results,
    derived_dataset,
    make_attrs,
    open_results,
    payoff_dataset,
    recover_interrupted_write,
    results_format,
    sweep_base,
    sweep_base_index,
    to_dataset,
    write_results,
)

__all__ = [
    "NETCDF_SUFFIXES",
    "RESULTS_FORMAT",
    "SIGN_CONVENTION",
    "TRIAL_CHUNK",
    "VAR_ATTRS",
    "ZARR_CODECS",
    "ZARR_SUFFIX",
    "ResultsFormat",
    "achieved_cost_moments",
    "check_output_path",
    "check_zarr_store",
    "combine_sweep",
    "convert_results",
    "derived_dataset",
    "make_attrs",
    "open_results",
    "payoff_dataset",
    "recover_interrupted_write",
    "results_format",
    "sweep_base",
    "sweep_base_index",
    "to_dataset",
    "write_results",
]
