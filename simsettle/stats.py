"""Summary statistics of simulated settlements, at the xarray level.

Everything here works on the Datasets that :mod:`simsettle.results` builds (dims ``design``,
``trial``, ``year``) using xarray reductions only, so it works the same on numpy- and dask-backed
Datasets. No kernels are called and no plotting library is imported.

Sign convention: ``settlement > 0`` is a payment from the payer to the provider (shared savings);
``settlement < 0`` is the provider paying back shared losses.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from simsettle.results import derived_dataset

__all__ = ["exceedance", "quantile_name", "summary"]

_DEFAULT_DIMS: tuple[str, ...] = ("trial", "year")


def quantile_name(q: float) -> str:
    """Name of the summary variable that holds quantile ``q``.

    Whole percentages get two digits (``0.05 -> "q05"``, ``0.5 -> "q50"``, ``0.95 -> "q95"``,
    ``1.0 -> "q100"``); fractional ones use an underscore for the decimal point
    (``0.995 -> "q99_5"``, ``0.025 -> "q02_5"``).

    Parameters
    ----------
    q : float
        Probability in ``[0, 1]``.

    Returns
    -------
    str
        The variable name.
    """
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"quantile must be within [0, 1], got {q!r}")
    pct = round(q * 100.0, 6)
    whole = int(pct)
    if pct == whole:
        return f"q{whole:02d}"
    frac = f"{pct - whole:.6f}"[2:].rstrip("0")
    return f"q{whole:02d}_{frac}"


def _as_dims(dim: str | Sequence[Hashable]) -> tuple[Hashable, ...]:
    return (dim,) if isinstance(dim, str) else tuple(dim)


def summary(
    ds: xr.Dataset,
    var: str = "settlement",
    *,
    dim: str | Sequence[Hashable] = _DEFAULT_DIMS,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
) -> xr.Dataset:
    """Summarise one simulated variable per design.

    Every element along ``dim`` counts as one observation: with the default, each simulated
    performance year of each trial is one draw from the distribution that is summarised.
    Missing values (NaN) are skipped and not counted in ``n``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed.
    var : str, default "settlement"
        Name of the variable to summarise.
    dim : str or sequence of str, default ("trial", "year")
        Dimensions pooled into one sample. The remaining dimensions (``design`` and any sweep
        dimension) index the rows of the result.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Probabilities of the quantiles to report; each becomes a variable named by
        :func:`quantile_name` (``q05``, ``q50``, ``q95``). Linear interpolation between order
        statistics (:func:`numpy.quantile`'s default).

    Returns
    -------
    xarray.Dataset
        One row per design (and sweep value) with variables

        - ``mean``, ``std`` (sample standard deviation, ``ddof=1``) and the quantiles, in the
          units of ``var``;
        - ``prob_loss`` = P(var < 0) (the provider pays), ``prob_savings`` = P(var > 0) and
          ``prob_zero`` = P(var == 0);
        - ``n``, the number of pooled observations;
        - ``mean_se`` = std / sqrt(n), the Monte Carlo standard error of the mean, and
          ``prob_loss_se``, ``prob_savings_se`` = sqrt(p (1 - p) / n), binomial standard errors.

        Design coordinates (``kind``, ``shared_savings_rate``, ...) are kept.

    Raises
    ------
    KeyError
        If ``var`` is not in ``ds``.
    ValueError
        If a dimension in ``dim`` is not a dimension of ``var``, or a quantile is outside [0, 1].

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), [[[-2.0], [0.0], [0.0], [6.0]]])},
    ...     coords={"design": ["two_sided"], "trial": np.arange(4), "year": [2026]},
    ... )
    >>> s = summary(ds)
    >>> float(s["mean"].sel(design="two_sided")), float(s.prob_loss.sel(design="two_sided"))
    (1.0, 0.25)
    """
    if var not in ds.data_vars:
        raise KeyError(f"variable {var!r} not in Dataset; it has {sorted(map(str, ds.data_vars))}")
    da = ds[var]
    dims = _as_dims(dim)
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"cannot pool over {missing}: {var!r} has dims {tuple(map(str, da.dims))}")
    qs = [float(q) for q in quantiles]
    names = [quantile_name(q) for q in qs]
    if len(set(names)) != len(names):
        raise ValueError(f"quantiles must be distinct, got {qs}")

    # Fall back to "unknown" for a variable without units (a Dataset not made by simsettle).
    units = str(da.attrs.get("units", "")) or "unknown"
    long_name = str(da.attrs.get("long_name", var))

    n = da.count(dim=dims)
    mean = da.mean(dim=dims)
    std = da.std(dim=dims, ddof=1)
    # quantile needs each row in one chunk along the pooled dims (a no-op for numpy arrays).
    whole = da.chunk(dict.fromkeys(dims, -1)) if da.chunks is not None else da
    qarr = whole.quantile(qs, dim=dims)

    def prob(mask: xr.DataArray) -> xr.DataArray:
        return mask.sum(dim=dims) / n

    prob_loss = prob(da < 0)
    prob_savings = prob(da > 0)
    prob_zero = prob(da == 0)
    sqrt_n = n**0.5

    def money(desc: str) -> dict[str, str]:
        return {"units": units, "description": desc}

    def unitless(desc: str) -> dict[str, str]:
        return {"units": "1", "description": desc}

    out: dict[str, tuple[xr.DataArray, str, dict[str, str]]] = {
        "mean": (mean, f"mean {long_name}", money(f"Mean of {var} over the pooled sample.")),
        "std": (
            std,
            f"standard deviation of {long_name}",
            money(f"Sample standard deviation (ddof=1) of {var} over the pooled sample."),
        ),
    }
    for q, name in zip(qs, names, strict=True):
        out[name] = (
            qarr.sel(quantile=q, drop=True),
            f"{q:.4g} quantile of {long_name}",
            money(
                f"Quantile {q:.4g} of {var} over the pooled sample (linear interpolation "
                "between order statistics)."
            ),
        )
    out |= {
        "prob_loss": (
            prob_loss,
            "probability that the provider pays",
            unitless(f"Fraction of pooled observations with {var} < 0."),
        ),
        "prob_savings": (
            prob_savings,
            "probability that the provider receives savings",
            unitless(f"Fraction of pooled observations with {var} > 0."),
        ),
        "prob_zero": (
            prob_zero,
            "probability of no payment",
            unitless(
                f"Fraction of pooled observations with {var} exactly 0 (for settlement: "
                "inside the minimum savings/loss corridor)."
            ),
        ),
        "n": (
            n,
            "number of pooled observations",
            unitless(f"Number of non-missing values of {var} pooled over {list(map(str, dims))}."),
        ),
        "mean_se": (
            std / sqrt_n,
            f"Monte Carlo standard error of mean {long_name}",
            money("std / sqrt(n): standard error of the Monte Carlo estimate of the mean."),
        ),
        "prob_loss_se": (
            (prob_loss * (1.0 - prob_loss) / n) ** 0.5,
            "Monte Carlo standard error of prob_loss",
            unitless("Binomial standard error sqrt(p (1 - p) / n) of prob_loss."),
        ),
        "prob_savings_se": (
            (prob_savings * (1.0 - prob_savings) / n) ** 0.5,
            "Monte Carlo standard error of prob_savings",
            unitless("Binomial standard error sqrt(p (1 - p) / n) of prob_savings."),
        ),
    }

    data_vars: dict[Hashable, xr.DataArray] = {}
    for name, (arr, lname, var_attrs) in out.items():
        arr = arr.copy(deep=False)
        arr.attrs = {"long_name": lname, **var_attrs}
        data_vars[name] = arr
    summary_attrs: dict[str, Any] = {
        "title": f"Summary of {var}",
        "source_variable": var,
        "pooled_dims": " ".join(map(str, dims)),
    }
    for key in ("seed", "title", "simsettle_version"):
        if key in ds.attrs:
            summary_attrs[f"source_{key}"] = ds.attrs[key]
    return derived_dataset(data_vars, summary_attrs)


def exceedance(
    values: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Empirical exceedance probabilities P(X >= x).

    The standard rank construction used for exceedance-probability (EP) curves: with the ``N``
    finite values sorted, the k-th largest is given probability ``k / N``. So the largest value
    gets ``1 / N`` and the smallest ``1``. Ties keep their distinct ranks, which draws the jump at
    a point mass as a vertical segment of the curve.

    Parameters
    ----------
    values : array_like
        Sample of any shape (flattened). NaN values are dropped.

    Returns
    -------
    x_sorted : numpy.ndarray
        The finite values in ascending order.
    prob : numpy.ndarray
        ``prob[i] = (N - i) / N``: the exceedance probability of ``x_sorted[i]``, decreasing from 1
        to ``1 / N``.

    Examples
    --------
    >>> x, p = exceedance([3.0, 1.0, 2.0])
    >>> x.tolist(), p.tolist()
    ([1.0, 2.0, 3.0], [1.0, 0.6666666666666666, 0.3333333333333333])
    """
    arr = np.asarray(values, dtype=np.float64).ravel()
    arr = arr[~np.isnan(arr)]
    x_sorted = np.sort(arr, kind="stable")
    n = x_sorted.size
    prob = np.arange(n, 0, -1, dtype=np.float64) / n if n else np.empty(0, dtype=np.float64)
    return x_sorted, prob
