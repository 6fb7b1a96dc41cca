"""Control variates: a mean estimated with less Monte Carlo error from quantities of known mean.

The systemic cost index of each performance year (``trend_index``) and the reference
population's (``reference_index``), and both in each base year the benchmark was built from
(``base_trend_index``, ``base_reference_index``), are drawn once per trial and year, and their
expectations are known exactly from the trend's parameters (``expected_trend_index`` and the
others; :func:`simsettle.models.population.expected_indices`). A trial whose cost level grew
more than expected since the base years has, on average, lower savings; the regression
(control variate) estimator removes the part of the settlement's variation that these
indices explain:

    theta = mean(y) - beta' (mean(c) - E[c]),

with ``y_t`` a trial's mean over the pooled years of the variable (or of an event's
indicator, for a probability; or of a design's difference from a baseline), ``c_t`` the
trial's indices, one control per index and year, and ``beta`` the least-squares slope of
``y`` on ``c`` (Glasserman, *Monte Carlo Methods in Financial Engineering*, 2004, section
4.1; Lavenberg and Welch, 1981). Its standard error is that of the regression's intercept
at the known mean: ``s sqrt(1 / n + cbar' (D'D)^-1 cbar)`` with ``s^2 = sum(e_t^2) / (n - q -
1)``, ``e_t`` the residuals, ``q`` the number of controls (the rank of their sample
covariance), ``cbar`` the controls' sample mean and ``D`` their deviations from it: the
regression's own standard error of its prediction at the known mean, exact given the
controls when ``y`` is linear in them with normal errors, and first-order right otherwise.
Estimating ``beta`` on the same trials leaves a bias of order ``1 / n``, far below the
standard error at any useful ``n`` (the tests check the estimator's mean over independent
replications, and its standard error against their spread).

The estimator needs nothing but the results: no random number is drawn again, and the
simulation itself is unchanged (the plain estimate stays in ``plain_value``). Quantiles are
not corrected here (their control-variate form needs the joint density at the quantile);
:func:`controlled` refuses them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import numpy.typing as npt
import xarray as xr

from simsettle.results import derived_dataset
from simsettle.stats.mcse import TRIAL
from simsettle.stats.tables import DEFAULT_DIMS, source_attrs

__all__ = ["CONTROLLED_STATISTICS", "CONTROLS", "controlled", "controlled_series"]

#: The controls and the variables holding their exact expectations: the indices of the
#: performance years and of the base years the benchmark was built from.
CONTROLS: dict[str, str] = {
    "trend_index": "expected_trend_index",
    "reference_index": "expected_reference_index",
    "base_trend_index": "expected_base_trend_index",
    "base_reference_index": "expected_base_reference_index",
}
_BASE_YEAR = "base_year"
#: The statistics :func:`controlled` estimates: means of the variable or of an indicator.
CONTROLLED_STATISTICS = ("mean", "prob_loss", "prob_savings", "prob_zero")
_CONTROL = "control"


def _observations(x: xr.DataArray, name: str) -> xr.DataArray:
    """What the statistic averages: the variable itself or the event's indicator."""
    if name == "mean":
        return x
    event = {"prob_loss": x < 0, "prob_savings": x > 0, "prob_zero": x == 0}[name]
    return event.astype(np.float64).where(x.notnull())


def _controls(ds: xr.Dataset, years: Sequence[Hashable]) -> xr.DataArray:
    """Every index minus its known mean, one control per index and pooled year."""
    parts = []
    for name, expected in CONTROLS.items():
        if name not in ds or expected not in ds:
            raise KeyError(
                f"control variates need {name!r} and {expected!r} in the results "
                "(results written before simsettle recorded the expectations: run again)"
            )
        centred = ds[name] - ds[expected]
        cells = [centred]
        split = [d for d in (*years, _BASE_YEAR) if d in centred.dims]
        for year in split:
            cells = [
                cell.isel({year: i}, drop=True) for cell in cells for i in range(cell.sizes[year])
            ]
        parts += [cell.reset_coords(drop=True) for cell in cells]
    out = xr.concat(parts, dim=_CONTROL, coords="minimal", compat="override")
    return out.assign_coords({_CONTROL: np.arange(out.sizes[_CONTROL])})


def controlled_series(
    y: npt.NDArray[np.float64], c: npt.NDArray[np.float64]
) -> tuple[float, float, float, float]:
    """``(value, se, plain_value, plain_se)`` of the mean of ``y`` (trials,) with the controls
    ``c`` (trials, q) of known mean 0: the regression estimator and the sample mean.

    Trials where ``y`` is missing are dropped; controls that do not vary are dropped (a trend
    without volatility), and collinear ones count once (least squares by SVD).
    """
    keep = np.isfinite(y)
    y, c = y[keep], c[keep]
    n = y.size
    if n < 2:
        return (
            (float(y.mean()) if n else np.nan),
            np.nan,
            (float(y.mean()) if n else np.nan),
            np.nan,
        )
    plain = float(y.mean())
    plain_se = float(y.std(ddof=1) / np.sqrt(n))
    c = c[:, np.ptp(c, axis=0) > 0.0] if c.size else c
    if c.shape[1] == 0:
        return plain, plain_se, plain, plain_se
    c_bar = c.mean(axis=0)
    dc = c - c_bar
    beta, _, rank, _ = np.linalg.lstsq(dc, y - plain, rcond=None)
    if n - rank - 1 < 1:
        return plain, plain_se, plain, plain_se
    resid = (y - plain) - dc @ beta
    value = plain - float(c_bar @ beta)
    # Var(theta | c) = s^2 (1/n + c_bar' (Dc'Dc)^+ c_bar): the intercept's at the known mean.
    leverage = float(c_bar @ np.linalg.pinv(dc.T @ dc) @ c_bar)
    se = float(np.sqrt(resid @ resid / (n - rank - 1) * (1.0 / n + leverage)))
    return value, se, plain, plain_se


def controlled(
    ds: xr.Dataset,
    name: str = "mean",
    *,
    var: str = "settlement",
    baseline: str | None = None,
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
) -> xr.Dataset:
    """A mean or a probability of a simulated variable with control variates, per design.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset with ``trend_index``, ``reference_index`` and their expectations.
    name : {"mean", "prob_loss", "prob_savings", "prob_zero"}, default "mean"
        The statistic: the mean of ``var``, or the probability that it is below, above or at 0.
    var : str, default "settlement"
        The variable.
    baseline : str, optional
        Estimate each design's difference from this design (the paired difference on common
        random numbers) instead of the design's own statistic; the baseline's own row is 0.
    dim : str or sequence of str, default ("trial", "year")
        Pooled dimensions; must include ``trial``.

    Returns
    -------
    xarray.Dataset
        Per design (and sweep value): ``value`` and ``se`` (the control-variate estimate and
        its standard error), ``plain_value`` and ``plain_se`` (the sample mean's),
        ``variance_ratio`` (``plain_se^2 / se^2``: how many times fewer trials the same
        precision takes) and ``n`` (trials).

    Examples
    --------
    >>> import simsettle  # doctest: +SKIP
    >>> ds = simsettle.simulate("scenarios/examples/shocks_and_trend.yaml")  # doctest: +SKIP
    >>> ds.settle.controlled("mean")[["value", "se", "plain_se"]]  # doctest: +SKIP
    """
    if name not in CONTROLLED_STATISTICS:
        raise ValueError(
            f"controlled() estimates {', '.join(CONTROLLED_STATISTICS)}; got {name!r} "
            "(a quantile's control-variate form needs the joint density; use statistic())"
        )
    dims = (dim,) if isinstance(dim, str) else tuple(dim)
    if TRIAL not in dims:
        raise ValueError(f"dim must include {TRIAL!r}, got {dims!r}")
    x = ds[var]
    missing = [d for d in dims if d not in x.dims]
    if missing:
        raise ValueError(f"{var!r} has no dimension {missing[0]!r}")
    obs = _observations(x, name)
    if baseline is not None:
        obs = obs - obs.sel(design=baseline)
    years = [d for d in dims if d != TRIAL]
    y = obs.mean(years) if years else obs
    c = _controls(ds, years)
    if y.chunks is not None or c.chunks is not None:  # lazy results: one chunk along trial
        y, c = y.chunk({TRIAL: -1}), c.chunk({TRIAL: -1, _CONTROL: -1})
    value, se, plain, plain_se = xr.apply_ufunc(
        controlled_series,
        y,
        c,
        input_core_dims=[[TRIAL], [TRIAL, _CONTROL]],
        output_core_dims=[[], [], [], []],
        vectorize=True,
        dask="parallelized",
        output_dtypes=[np.float64] * 4,
    )
    units = "1" if name != "mean" else str(x.attrs.get("units", "1"))
    what = f"{name} of {var}" + (f" minus {baseline}'s" if baseline is not None else "")
    ratio = (plain_se / se.where(se > 0)) ** 2  # NaN where nothing varies
    data_vars = {
        "value": (
            value,
            f"{what}, control-variate estimate",
            units,
            "theta = mean(y) - "
            "beta' (mean(c) - E[c]) with the cost indices of each pooled year as controls.",
        ),
        "se": (
            se,
            "its Monte Carlo standard error",
            units,
            "s sqrt(1/n + cbar' (D'D)^-1 cbar), s^2 = sum(e^2) / (n - q - 1).",
        ),
        "plain_value": (plain, f"{what}, sample mean", units, "The estimate without controls."),
        "plain_se": (plain_se, "sample mean's standard error", units, "sd(y) / sqrt(n)."),
        "variance_ratio": (
            ratio,
            "variance reduction factor",
            "1",
            "plain_se^2 / se^2: trials the plain mean needs per trial of the controlled one.",
        ),
    }
    out: dict[Hashable, xr.DataArray] = {}
    for key, (arr, long_name, u, desc) in data_vars.items():
        arr = arr.copy(deep=False)
        arr.attrs = {"long_name": long_name, "units": u, "description": desc}
        out[key] = arr
    n = xr.DataArray(
        int(y.sizes[TRIAL]),
        attrs={"long_name": "trials", "units": "1", "description": "Trials in the estimate."},
    )
    out["n"] = n
    attrs = {
        "title": f"Control-variate {what}",
        "statistic": name,
        "source_variable": var,
        "controls": " ".join(CONTROLS),
        "pooled_dims": " ".join(map(str, dims)),
    }
    if baseline is not None:
        attrs["baseline"] = baseline
    return derived_dataset(out, attrs | source_attrs(ds))
