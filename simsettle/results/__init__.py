"""The results store: the only builder of xarray Datasets, and their files.

One module per concern:

- :mod:`~simsettle.results.schema`: dimension names, and the attributes (long name, units,
  description) of every variable and design coordinate;
- :mod:`~simsettle.results.dataset`: building a run's Dataset from the settled arrays, with its
  provenance attributes; payoff curves and derived statistics as Datasets;
- :mod:`~simsettle.results.sweeps`: one Dataset from a sweep's runs, and its base point;
- :mod:`~simsettle.results.frames`: pandas tables of chosen variables, without the design
  parameters on every row;
- :mod:`~simsettle.results.io`: NetCDF4 and Zarr files, written atomically, checked before
  they are opened, converted between the two.

Layout: dims ``(design, *swept parameters, trial, year)``; design parameters are non-dimension
coordinates on ``design``. Sign convention: settlement > 0 means the payer pays the provider.
The names below are the public API, also reachable as ``simsettle.results.<name>``.
"""

from __future__ import annotations

from simsettle.results.dataset import (
    achieved_cost_moments,
    derived_dataset,
    make_attrs,
    payoff_dataset,
    to_dataset,
)
from simsettle.results.frames import design_parameters, to_dataframe
from simsettle.results.io import (
    NETCDF_SUFFIXES,
    TRIAL_CHUNK,
    ZARR_CODECS,
    ZARR_SUFFIX,
    ResultsFormat,
    check_output_path,
    check_zarr_store,
    convert_results,
    open_results,
    recover_interrupted_write,
    results_format,
    write_results,
)
from simsettle.results.schema import RESULTS_FORMAT, SIGN_CONVENTION, VAR_ATTRS
from simsettle.results.sweeps import combine_sweep, sweep_base, sweep_base_index

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
    "design_parameters",
    "make_attrs",
    "open_results",
    "payoff_dataset",
    "recover_interrupted_write",
    "results_format",
    "sweep_base",
    "sweep_base_index",
    "to_dataframe",
    "to_dataset",
    "write_results",
]
