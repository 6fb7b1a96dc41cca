"""The tables of statistics: one statistic, every statistic, the summary, precision.

:func:`statistic`, :func:`describe`, :func:`summary` and :func:`columns` compute the entries of
:data:`~simsettle.stats.registry.REGISTRY` through one path (:func:`_table`), so each reports
the same estimate with the same trial-clustered standard error, labels and units;
:func:`convergence` says whether the trial count is enough for one of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr

from simsettle.results import derived_dataset
from simsettle.stats.mcse import NORMAL, TRIAL, Sample, as_dims
from simsettle.stats.registry import (
    REGISTRY,
    STATISTICS,
    Statistic,
    parse_statistic_name,
    quantile_name,
)

__all__ = ["columns", "convergence", "describe", "exceedance", "statistic", "summary"]

DEFAULT_DIMS: tuple[str, ...] = ("trial", "year")

#: One row of a table: (column name, statistic, level).
_Row = tuple[str, Statistic, "float | None"]


def check_level(level: float | None, name: str) -> float:
    """``level`` as a float strictly between 0 and 1, for the statistic ``name``."""
    if level is None:
        raise ValueError(f"statistic {name!r} needs a level (a probability in (0, 1))")
    lv = float(level)
    if not 0.0 < lv < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return lv


def sample(ds: xr.Dataset, var: str, dim: str | Sequence[Hashable]) -> Sample:
    """``var`` with its pooled dims checked: present, and including the trial."""
    if var not in ds.data_vars:
        raise KeyError(f"variable {var!r} not in Dataset; it has {sorted(map(str, ds.data_vars))}")
    da = ds[var]
    dims = as_dims(dim)
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"cannot pool over {missing}: {var!r} has dims {tuple(map(str, da.dims))}")
    if TRIAL not in dims:
        raise ValueError(
            f"dim must include {TRIAL!r}: trials are the independent units the standard errors "
            f"rest on; got {list(map(str, dims))}"
        )
    return Sample(da, dims)


def source_attrs(ds: xr.Dataset) -> dict[str, Any]:
    """The provenance of the results a table was computed from (``source_seed``, ...)."""
    out: dict[str, Any] = {}
    for key in ("seed", "title", "simsettle_version"):
        if key in ds.attrs:
            out[f"source_{key}"] = ds.attrs[key]
    return out


def _require(ds: xr.Dataset, entry: Statistic) -> None:
    missing = [n for n in entry.reads if n not in ds.data_vars]
    if missing:
        raise KeyError(
            f"statistic {entry.name!r} needs the variables {missing}, which are not in the Dataset"
        )


def _estimate(
    ds: xr.Dataset, s: Sample, var: str, entry: Statistic, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    """(value, se) of one entry with ``long_name``, ``units`` and ``description``."""
    _require(ds, entry)
    value, se = entry.estimate(ds, s, level)
    first = ds[entry.reads[0]] if entry.reads else s.x
    # Fall back to "unknown" for a variable without units (a Dataset not made by simsettle).
    units = str(first.attrs.get("units", "")) or "unknown"
    long_name = str(s.x.attrs.get("long_name", var))
    text, units, desc = entry.attrs(var, long_name, units, level)
    value = value.copy(deep=False)
    value.attrs = {"long_name": text, "units": units, "description": desc}
    se = se.copy(deep=False)
    se.attrs = {
        "long_name": f"Monte Carlo standard error of {text}",
        "units": units,
        "description": f"Standard error of the estimate: {entry.se_method}",
    }
    return value, se


def _count(s: Sample, var: str) -> xr.DataArray:
    n = s.x.count(s.dims)
    n.attrs = {
        "long_name": "number of pooled observations",
        "units": "1",
        "description": f"Number of non-missing values of {var} pooled over "
        f"{list(map(str, s.dims))}.",
    }
    return n


def _table(
    ds: xr.Dataset, s: Sample, var: str, rows: Sequence[_Row], attrs: dict[str, Any]
) -> xr.Dataset:
    """``n`` and, per row, ``<column>`` and ``<column>_se``: the path every table takes."""
    # One quantile pass for every row (the Hall-Sheather neighbours included).
    probes = [
        p for _, e, lv in rows if e.probes is not None and lv is not None for p in e.probes(s, lv)
    ]
    if probes:
        s.quantiles(probes, "linear")
    data_vars: dict[Hashable, xr.DataArray] = {"n": _count(s, var)}
    for column, entry, level in rows:
        data_vars[column], data_vars[f"{column}_se"] = _estimate(ds, s, var, entry, level)
    attrs |= {"source_variable": var, "pooled_dims": " ".join(map(str, s.dims))}
    return derived_dataset(data_vars, attrs | source_attrs(ds))


def _rows(
    ds: xr.Dataset, quantiles: Sequence[float], levels: Sequence[float], *, summary: bool
) -> list[_Row]:
    """The rows of :func:`describe` (``summary=False``) or :func:`summary`: every registered
    statistic (that :func:`summary` shows) at each of its levels, in registry order, leaving
    out those whose variables ``ds`` lacks."""
    rows: list[_Row] = []
    for entry in REGISTRY.values():
        if (summary and not entry.summary) or not all(v in ds.data_vars for v in entry.reads):
            continue
        if entry.levels is None:
            rows.append((entry.name, entry, None))
            continue
        for lv in quantiles if entry.levels == "quantiles" else levels:
            rows.append((entry.column(lv), entry, lv))
    return rows


def _distinct(what: str, values: Sequence[float]) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{what} must be distinct, got {list(values)}")


def statistic(
    ds: xr.Dataset,
    name: str,
    *,
    var: str = "settlement",
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
    level: float | None = None,
) -> xr.Dataset:
    """One statistic of a simulated variable per design, with its Monte Carlo standard error.

    Every element along ``dim`` counts as one observation (with the default, each simulated
    performance year of each trial); the standard error treats trials as the independent units
    and keeps the years of a trial together (see the module's notes). Missing values (NaN) are
    skipped.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed.
    name : str
        One of the keys of :data:`STATISTICS`:

        - ``"mean"``, ``"std"`` (``ddof=1``), ``"quantile"`` (probability ``level``, linear
          interpolation) of ``var``;
        - ``"var_provider"``, ``"tvar_provider"``: value-at-risk and tail value-at-risk
          (conditional tail expectation) of the provider's loss ``-var`` at ``level``, as
          positive amounts paid by the provider. ``var_provider = -quantile(var, 1 - level)``:
          at ``level=0.95`` the provider pays more than this with probability 5%;
          ``tvar_provider`` is the mean provider loss over the worst 5% of outcomes;
        - ``"var_payer"``, ``"tvar_payer"``: the same for the payer's loss ``var`` (a payment to
          the provider): ``var_payer = quantile(var, level)``, ``tvar_payer`` the mean of the
          largest ``1 - level`` fraction;
        - ``"prob_loss"`` = P(var < 0) (the provider pays), ``"prob_savings"`` = P(var > 0),
          ``"prob_zero"`` = P(var == 0);
        - ``"prob_savings_cap"`` = P(cap_adjustment < 0) and ``"prob_loss_cap"`` =
          P(cap_adjustment > 0): the savings or the loss cap binds (the settlement rules record
          a non-zero cap adjustment exactly when a cap cuts the shared amount);
        - ``"prob_corridor"`` = P(savings != 0 and settlement + quality_withhold == 0): the
          year had savings or losses but nothing was shared because the savings rate fell
          inside the minimum savings/loss corridor (for an upside-only design, every loss
          year). Exact for every corridor, including MSRs set per trial by the MSSP size
          table; a year whose savings are forfeited entirely by a failed quality gate also
          counts;
        - ``"stop_loss_net"``: mean of ``stop_loss_recovery - stop_loss_premium``, the
          provider's expected gain from its stop-loss (negative: the premium's loading).

        The last four read the variables they name and ignore ``var``.
    var : str, default "settlement"
        The variable the first ten statistics describe.
    dim : str or sequence of str, default ("trial", "year")
        Dimensions pooled into one sample; must include ``trial``. The other dimensions
        (``design`` and any sweep dimension) are kept, with the design coordinates.
    level : float, optional
        Probability in (0, 1); required by ``quantile``, ``var_*`` and ``tvar_*`` and refused
        by the others.

    Returns
    -------
    xarray.Dataset
        Variables ``value`` (the estimate) and ``se`` (its Monte Carlo standard error), each
        with ``long_name``, ``units`` and ``description``; attributes ``statistic``,
        ``level`` (when given), ``source_variable`` (``var``, or the variables that the last
        four statistics read), ``pooled_dims`` and ``se_method``.
        Dask-backed when ``ds`` is.

    Raises
    ------
    KeyError
        If ``name`` is unknown, or a variable it needs is not in ``ds``.
    ValueError
        If ``dim`` does not include ``trial`` or names a dimension ``var`` lacks, or ``level``
        is missing, not in (0, 1), or given to a statistic without one.

    Notes
    -----
    Standard errors (details in the module's notes): ``mean``, ``std``, the probabilities,
    ``tvar_*`` and ``stop_loss_net`` from their influence functions, clustered by trial
    (binomial for the probabilities, ``std / sqrt(n)`` for the mean with one year); ``quantile``
    and ``var_*`` by the order-statistic method (Hall-Sheather sparsity times the clustered
    standard error of the empirical distribution function at the quantile). The premium in
    ``stop_loss_net`` is (1 + loading) x the Monte Carlo mean recovery, so the estimate is
    ``-loading x mean recovery`` and its standard error ``loading x se(mean recovery)``, not the
    standard error of a mean of independent net amounts (which would be ``1 / loading`` times
    too large). A statistic that does not vary over the sample (a probability of 0, a quantile
    inside a point mass) has standard error 0. ``quality_withhold`` counts as 0 when absent.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), [[[-4.0], [0.0], [2.0], [6.0]]])},
    ...     coords={"design": ["two_sided"], "trial": np.arange(4), "year": [2026]},
    ... )
    >>> m = statistic(ds, "mean").sel(design="two_sided")
    >>> float(m["value"]), round(float(m["se"]), 4)  # std / sqrt(n) = 4.1633 / 2
    (1.0, 2.0817)
    >>> float(statistic(ds, "prob_loss")["value"].sel(design="two_sided"))
    0.25
    >>> float(statistic(ds, "tvar_provider", level=0.75)["value"].sel(design="two_sided"))
    4.0
    """
    entry = REGISTRY.get(name)
    if entry is None:
        raise KeyError(f"unknown statistic {name!r}; choose from {sorted(STATISTICS)}")
    if entry.levels is not None:
        lv: float | None = check_level(level, name)
    elif level is not None:
        raise ValueError(f"statistic {name!r} takes no level (got {level!r})")
    else:
        lv = None
    s = sample(ds, var, dim)
    value, se = _estimate(ds, s, var, entry, lv)
    source = " ".join(entry.reads or (var,))
    attrs: dict[str, Any] = {
        "title": f"{name} of {source}",
        "statistic": name,
        "source_variable": source,
        "pooled_dims": " ".join(map(str, s.dims)),
        "se_method": entry.se_method,
    }
    if lv is not None:
        attrs["level"] = lv
    return derived_dataset({"value": value, "se": se}, attrs | source_attrs(ds))


def describe(
    ds: xr.Dataset,
    *,
    var: str = "settlement",
    levels: Sequence[float] = (0.9, 0.95, 0.99),
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
) -> xr.Dataset:
    """Every statistic of :func:`statistic` at once, each with its standard error.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed.
    var : str, default "settlement"
        The variable described (see :func:`statistic`).
    levels : sequence of float, default (0.9, 0.95, 0.99)
        Levels of the value-at-risk and tail value-at-risk of both parties.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Probabilities of the quantiles of ``var``.
    dim : str or sequence of str, default ("trial", "year")
        Pooled dimensions; must include ``trial``.

    Returns
    -------
    xarray.Dataset
        One row per design (and sweep value), with ``n`` (the number of pooled observations)
        and, for each statistic, ``<name>`` and ``<name>_se``: ``mean``, ``std``; the
        quantiles named by :func:`quantile_name` (``q05``, ``q50``, ``q95``); for each level
        ``var_provider_<L>``, ``tvar_provider_<L>``, ``var_payer_<L>``, ``tvar_payer_<L>`` with
        ``<L>`` the level in percent as in :func:`quantile_name` (``var_provider_95``,
        ``tvar_payer_99_5``); ``prob_loss``, ``prob_savings``, ``prob_zero``; and, when the
        Dataset has the variables they need, ``prob_savings_cap``, ``prob_loss_cap``,
        ``prob_corridor`` and ``stop_loss_net``; then any statistic registered since (see
        :mod:`simsettle.stats.registry`), in the order of the registry. Every variable has
        ``long_name``, ``units`` and ``description``; design coordinates are kept.
        Dask-backed when ``ds`` is.

    Raises
    ------
    KeyError, ValueError
        As :func:`statistic`; ``ValueError`` also for repeated levels or quantiles.
    """
    s = sample(ds, var, dim)
    lvls = [check_level(v, "var_provider") for v in levels]
    qs = [check_level(q, "quantile") for q in quantiles]
    _distinct("levels", lvls)
    _distinct("quantiles", qs)
    attrs: dict[str, Any] = {
        "title": f"Statistics of {var}",
        "levels": " ".join(f"{v:.6g}" for v in lvls),
        "sign_convention": "settlement > 0: the payer pays the provider; var_provider and "
        "tvar_provider are the provider's losses (-settlement), var_payer and tvar_payer the "
        "payer's (settlement)",
    }
    return _table(ds, s, var, _rows(ds, qs, lvls, summary=False), attrs)


def summary(
    ds: xr.Dataset,
    var: str = "settlement",
    *,
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
) -> xr.Dataset:
    """Summarise one simulated variable per design: the short form of :func:`describe`.

    The statistics the registry marks for the summary (``mean``, ``std``, the quantiles, the
    probabilities of a loss, of savings and of zero), each with its Monte Carlo standard error,
    trial-clustered as everywhere in :mod:`simsettle.stats`. Every element along ``dim`` counts
    as one observation: with the default, each simulated performance year of each trial is one
    draw from the distribution that is summarised. Missing values (NaN) are skipped and not
    counted in ``n``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed.
    var : str, default "settlement"
        Name of the variable to summarise.
    dim : str or sequence of str, default ("trial", "year")
        Dimensions pooled into one sample; must include ``trial``. The remaining dimensions
        (``design`` and any sweep dimension) index the rows of the result.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Probabilities of the quantiles to report, in (0, 1); each becomes a variable named by
        :func:`quantile_name` (``q05``, ``q50``, ``q95``). Linear interpolation between order
        statistics (:func:`numpy.quantile`'s default).

    Returns
    -------
    xarray.Dataset
        One row per design (and sweep value) with variables

        - ``n``, the number of pooled observations;
        - ``mean``, ``std`` (sample standard deviation, ``ddof=1``) and the quantiles, in the
          units of ``var``;
        - ``prob_loss`` = P(var < 0) (the provider pays), ``prob_savings`` = P(var > 0) and
          ``prob_zero`` = P(var == 0);
        - for each of these, ``<name>_se``: its Monte Carlo standard error, with the trial as
          the independent unit (the years of a trial share its trend and members). With one
          year per trial, ``mean_se`` is ``std / sqrt(n)`` and a probability's
          ``sqrt(p (1 - p) / (n - 1))``.

        Design coordinates (``kind``, ``shared_savings_rate``, ...) are kept; every variable
        has ``long_name``, ``units`` and ``description``.

    Raises
    ------
    KeyError
        If ``var`` is not in ``ds``.
    ValueError
        If a dimension in ``dim`` is not a dimension of ``var`` or ``dim`` lacks ``trial``,
        or a quantile is outside (0, 1) or repeated.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> settlement = [[[-2.0], [0.0], [0.0], [6.0]]]  # one design, four trials of one year
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), settlement)},
    ...     coords={"design": ["two_sided"], "trial": np.arange(4), "year": [2026]},
    ... )
    >>> s = summary(ds)
    >>> float(s["mean"].sel(design="two_sided")), float(s.prob_loss.sel(design="two_sided"))
    (1.0, 0.25)
    """
    s = sample(ds, var, dim)
    qs = [float(q) for q in quantiles]
    for q in qs:
        quantile_name(q)  # "must be within [0, 1]"
    qs = [check_level(q, "quantile") for q in qs]
    _distinct("quantiles", qs)
    return _table(ds, s, var, _rows(ds, qs, (), summary=True), {"title": f"Summary of {var}"})


def columns(
    ds: xr.Dataset,
    names: Sequence[str],
    *,
    var: str = "settlement",
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
) -> xr.Dataset:
    """The named statistics, with their standard errors: the columns of :func:`describe`
    that ``names`` asks for.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed.
    names : sequence of str
        Statistics named as the columns of :func:`describe` (see
        :func:`parse_statistic_name`): ``mean``, ``q25``, ``var_provider_95``, ...
    var : str, default "settlement"
        The variable described.
    dim : str or sequence of str, default ("trial", "year")
        Pooled dimensions; must include ``trial``.

    Returns
    -------
    xarray.Dataset
        ``n`` and, for each name (in its canonical form), ``<name>`` and ``<name>_se``.

    Raises
    ------
    ValueError
        For an unknown or repeated name; and as :func:`statistic`.
    KeyError
        As :func:`statistic`.
    """
    s = sample(ds, var, dim)
    parsed = [parse_statistic_name(n) for n in names]
    canonical = [p[0] for p in parsed]
    repeated = sorted({n for n in canonical if canonical.count(n) > 1})
    if repeated:
        raise ValueError(f"statistics named more than once: {', '.join(repeated)}")
    rows = [(column, REGISTRY[stat], level) for column, stat, level in parsed]
    return _table(ds, s, var, rows, {"title": f"Statistics of {var}"})


def convergence(
    ds: xr.Dataset,
    name: str = "mean",
    *,
    var: str = "settlement",
    rel_precision: float = 0.01,
    abs_precision: float | None = None,
    level: float | None = None,
    confidence: float = 0.95,
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
) -> xr.Dataset:
    """Whether the run has enough trials for the requested precision of one statistic.

    The achieved precision is the half-width ``z * se`` of the normal confidence interval at
    ``confidence`` (``z = 1.96`` at 95%). It meets the request when it is at most the target:
    ``abs_precision`` when given (in the statistic's units), else ``rel_precision * |value|``.
    Standard errors shrink as ``1 / sqrt(trials)``, so the trials needed are
    ``ceil(trials * (half_width / target)**2)``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed.
    name : str, default "mean"
        Statistic (see :func:`statistic`).
    var : str, default "settlement"
        Variable the statistic describes.
    rel_precision : float, default 0.01
        Target half-width as a fraction of ``|value|`` (used when ``abs_precision`` is None).
    abs_precision : float, optional
        Target half-width in the statistic's units; replaces ``rel_precision``.
    level : float, optional
        Level of ``quantile``, ``var_*`` and ``tvar_*``.
    confidence : float, default 0.95
        Confidence level of the half-width.
    dim : str or sequence of str, default ("trial", "year")
        Pooled dimensions; must include ``trial``.

    Returns
    -------
    xarray.Dataset
        Per design (and sweep value): ``value``, ``se``, ``half_width``, ``target``,
        ``converged`` (bool: ``half_width <= target``), ``trials`` (the run's trial count),
        ``trials_needed`` (float: ``inf`` when the target is 0 but the estimate still varies,
        NaN when the standard error is unknown, with fewer than two trials) and ``message``
        (a sentence saying whether the trial count is enough, and if not how many trials
        would be). Dask-backed when ``ds`` is (messages included).

    Raises
    ------
    ValueError
        If a precision is not positive or ``confidence`` is not in (0, 1); and as
        :func:`statistic`.

    Notes
    -----
    ``trials_needed`` is itself an estimate. For a mean or a probability it is good from a few
    hundred trials; the standard error of a quantile, value-at-risk or tail value-at-risk from
    a few hundred trials can be off by 20-40% (it rests on the few observations near the
    level), so the trials needed by up to a factor of two: check again on the larger run.

    A relative target is undefined for a statistic whose value is 0 (a probability of a cap
    binding in a design without caps); then ``converged`` is True when the standard error is
    also 0, and ``abs_precision`` should be given otherwise.
    """
    if not (rel_precision > 0 and math.isfinite(rel_precision)):
        raise ValueError(f"rel_precision must be positive, got {rel_precision!r}")
    if abs_precision is not None and not (abs_precision > 0 and math.isfinite(abs_precision)):
        raise ValueError(f"abs_precision must be positive, got {abs_precision!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    stat = statistic(ds, name, var=var, dim=dim, level=level)
    value, se = stat["value"], stat["se"]
    z = NORMAL.inv_cdf(0.5 + confidence / 2.0)
    trials = int(ds.sizes[TRIAL])
    half = z * se
    if abs_precision is not None:
        target = xr.full_like(value, float(abs_precision))
        how = f"the requested +/- {_fmt(abs_precision)}"
    else:
        target = rel_precision * abs(value)
        how = f"the requested +/- {rel_precision * 100:.4g}% of |value|"
    ratio = half / target.where(target > 0)
    unreachable = xr.full_like(half, math.inf).where(half > 0, 0.0)
    scaled = xr.apply_ufunc(np.ceil, trials * ratio**2, dask="allowed")
    needed = scaled.where(target > 0, unreachable).where(se.notnull())
    converged = half <= target
    units = str(value.attrs.get("units", "1"))
    label = str(value.attrs.get("long_name", name))
    pct = f"{confidence:.0%}"
    message = xr.apply_ufunc(
        _message_fn(label, how, pct, trials),
        value,
        half,
        converged,
        needed,
        dask="parallelized",
        output_dtypes=[object],
    )

    def put(arr: xr.DataArray, long_name: str, u: str, desc: str) -> xr.DataArray:
        arr = arr.copy(deep=False)
        arr.attrs = {"long_name": long_name, "units": u, "description": desc}
        return arr

    data_vars: dict[Hashable, xr.DataArray] = {
        "value": value,
        "se": se,
        "half_width": put(half, f"{pct} half-width of {label}", units, f"z * se with z = {z:.4f}."),
        "target": put(
            target,
            "requested half-width",
            units,
            f"abs_precision = {abs_precision!r}"
            if abs_precision is not None
            else f"rel_precision x |value| with rel_precision = {rel_precision!r}.",
        ),
        "converged": put(converged, "precision reached", "1", "True where half_width <= target."),
        "trials": put(xr.DataArray(trials), "trials", "1", "Number of trials in the run."),
        "trials_needed": put(
            needed,
            "trials needed",
            "1",
            "ceil(trials x (half_width / target)^2): standard errors shrink as "
            "1/sqrt(trials); inf when the target is 0 and the estimate varies, NaN when the "
            "standard error is unknown.",
        ),
        "message": put(message, "verdict", "1", "Whether the trial count is enough, in words."),
    }
    attrs = dict(stat.attrs)
    attrs |= {
        "title": f"Convergence of {name} of {var}",
        "confidence": confidence,
        "rel_precision": rel_precision,
    }
    if abs_precision is not None:
        attrs["abs_precision"] = abs_precision
    return derived_dataset(data_vars, attrs)


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    return f"{x:.3g}" if 0 < abs(x) < 1e-3 else f"{x:.4g}"


def _message_fn(
    label: str, how: str, pct: str, trials: int
) -> Callable[..., npt.NDArray[np.object_]]:
    def one(value: float, half: float, ok: bool, needed: float) -> str:
        head = f"{label} = {_fmt(value)} +/- {_fmt(half)} ({pct} confidence, {trials:,} trials)"
        if not math.isfinite(half):
            return f"{head}: cannot tell, the standard error needs at least 2 trials"
        if ok:
            return f"{head}: enough trials for {how}"
        if not math.isfinite(needed):
            return (
                f"{head}: not enough trials; a relative precision is undefined at 0, "
                "give abs_precision"
            )
        return f"{head}: not enough trials for {how}; about {int(needed):,} trials needed"

    vec = np.vectorize(one, otypes=[object])

    def fn(*arrays: npt.NDArray[Any]) -> npt.NDArray[np.object_]:
        out: npt.NDArray[np.object_] = vec(*arrays)
        return out

    return fn


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
