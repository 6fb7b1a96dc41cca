"""Results as pandas tables: the long table of chosen variables, without the design parameters.

``ds[["settlement", "savings_rate"]].to_dataframe()`` carries every non-dimension coordinate
(the 19 design parameters) onto every row. :func:`to_dataframe` keeps the table to what was
asked for: one row per (design, any sweep value, trial, year) and one column per variable,
with the design parameters as a separate small table (:func:`design_parameters`) or, when
asked, on every row.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import xarray as xr

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["design_parameters", "to_dataframe"]


def _parameter_names(ds: xr.Dataset) -> list[Hashable]:
    return [c for c in ds.coords if c not in ds.dims and "design" in ds[c].dims]


def to_dataframe(
    ds: xr.Dataset,
    variables: str | Sequence[str] = "settlement",
    *,
    parameters: bool = False,
) -> pd.DataFrame:
    """A long table of ``variables``: one row per design, sweep value, trial and year.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (dims ``design``, ``trial``, ``year`` and any sweep's).
    variables : str or sequence of str, default "settlement"
        The variables, as columns. Variables without a ``design`` dimension (``benchmark``,
        ``actual_spend``) repeat along it.
    parameters : bool, default False
        Also put the design parameters (``kind``, ``min_savings_rate``, ...) on every row.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), np.arange(4.0).reshape(2, 2, 1))},
    ...     coords={"design": ["a", "b"], "trial": [0, 1], "year": [2026],
    ...             "min_savings_rate": ("design", [0.02, 0.0])},
    ... )
    >>> list(to_dataframe(ds).columns), to_dataframe(ds).shape
    (['settlement'], (4, 1))
    >>> list(to_dataframe(ds, parameters=True).columns)
    ['settlement', 'min_savings_rate']
    """
    names = [variables] if isinstance(variables, str) else list(variables)
    missing = [v for v in names if v not in ds.data_vars]
    if missing:
        raise KeyError(f"no variable {', '.join(map(repr, missing))} in the results")
    table = ds[names]
    keep = _parameter_names(ds) if parameters else []
    drop = [c for c in table.coords if c not in table.dims and c not in keep]
    return table.drop_vars(drop).to_dataframe()


def design_parameters(ds: xr.Dataset) -> pd.DataFrame:
    """The design parameters, one row per design (the coordinates on ``design``)."""
    names = _parameter_names(ds)
    params = xr.Dataset({n: ds[n].variable for n in names}, coords={"design": ds["design"]})
    return params.to_dataframe()
