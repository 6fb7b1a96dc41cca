"""Designs set against each other on common random numbers: paired differences and a decision.

Every design settles the same simulated years, so the difference of two designs' statistics
has a much smaller Monte Carlo error than either statistic: the influence values of the two
estimates (:attr:`~simsettle.stats.registry.Statistic.influence`) move together from trial
to trial, and the trial-clustered standard error of their difference is that of the
difference of the influence values. This module gives

- :func:`paired`: each design against a baseline design: the statistics of both, their
  difference with its paired standard error (and the unpaired one, for comparison), whether
  the difference is within Monte Carlo error, and the probabilities that the design's
  settlement is below or above the baseline's in the same simulated year;
- :func:`decide`: a decision rule, stated: which designs are dominated (another design is no
  worse on any chosen statistic and better on one, each beyond Monte Carlo error on the
  paired difference), which lie on the efficient frontier of the first statistic against the
  second, which keep a limit on one statistic, and the ranking these make.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from simsettle.results import derived_dataset
from simsettle.stats.mcse import NORMAL, Sample, cluster_se, indicator, mean_and_se
from simsettle.stats.registry import REGISTRY, Statistic, parse_statistic_name
from simsettle.stats.tables import DEFAULT_DIMS, _estimate, _require, sample, source_attrs

__all__ = ["DECIDE_DEFAULT_BY", "PAIRED_DEFAULT_BY", "Limit", "decide", "paired"]

#: The statistics :func:`paired` compares when ``by`` is not given.
PAIRED_DEFAULT_BY: tuple[str, ...] = ("mean", "q05", "q95", "prob_loss", "prob_savings")
#: The statistics :func:`decide` weighs when ``by`` is not given, per party: the mean
#: settlement against the party's 1-in-20 loss.
DECIDE_DEFAULT_BY: dict[str, tuple[str, ...]] = {
    "provider": ("mean", "var_provider_95"),
    "payer": ("mean", "var_payer_95"),
}
#: Two-sided 95%: a difference within ``Z95`` paired standard errors is within Monte Carlo error.
Z95 = NORMAL.inv_cdf(0.975)

Party = Literal["provider", "payer"]
#: A limit on one statistic: ``(name, value)``; the statistic must favour one party.
Limit = tuple[str, float]

_ROW = "row"


def _designs(ds: xr.Dataset) -> list[str]:
    if "design" not in ds.dims:
        raise ValueError("the results have no design dimension: nothing to compare")
    return [str(d) for d in ds["design"].values]


def _select(ds: xr.Dataset, designs: Sequence[str] | None, baseline: str | None) -> xr.Dataset:
    known = _designs(ds)
    wanted = list(dict.fromkeys([*([] if baseline is None else [baseline]), *(designs or [])]))
    unknown = [d for d in wanted if d not in known]
    if unknown:
        raise ValueError(
            f"no design named {', '.join(map(repr, unknown))}; the results have {', '.join(known)}"
        )
    if designs:
        ds = ds.sel(design=wanted)
    return ds


def _rows(names: Sequence[str]) -> list[tuple[str, Statistic, float | None]]:
    parsed = [parse_statistic_name(n) for n in names]
    canonical = [p[0] for p in parsed]
    repeated = sorted({n for n in canonical if canonical.count(n) > 1})
    if repeated:
        raise ValueError(f"statistics named more than once: {', '.join(repeated)}")
    if not parsed:
        raise ValueError("by must name at least one statistic")
    rows = [(column, REGISTRY[stat], level) for column, stat, level in parsed]
    lacking = [column for column, entry, _ in rows if entry.influence is None]
    if lacking:
        raise ValueError(
            f"statistics without influence values cannot be paired: {', '.join(lacking)} "
            "(Statistic.influence)"
        )
    return rows


def _with(da: xr.DataArray, long_name: str, units: str, description: str) -> xr.DataArray:
    out = da.copy(deep=False)
    out.attrs = {"long_name": long_name, "units": units, "description": description}
    return out


def paired(
    ds: xr.Dataset,
    baseline: str | None = None,
    by: str | Sequence[str] | None = None,
    *,
    var: str = "settlement",
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
    designs: Sequence[str] | None = None,
    z: float = Z95,
) -> xr.Dataset:
    """Each design against a baseline design, on the common random numbers they share.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset (dims ``design``, ``trial``, ``year`` and any sweep's).
    baseline : str, optional
        The design the others are set against (default: the first).
    by : str or sequence of str, optional
        Statistics, named as in :func:`~simsettle.stats.describe` (each must have influence
        values, as every built-in one does). Default :data:`PAIRED_DEFAULT_BY`: the mean, the
        5% and 95% quantiles and the probabilities that the provider pays and receives.
    var : str, default "settlement"
        The variable compared.
    dim : str or sequence of str, default ("trial", "year")
        Pooled dimensions; must include ``trial``.
    designs : sequence of str, optional
        Compare only these designs with the baseline.
    z : float, default 1.96
        A difference within ``z`` paired standard errors is flagged as within Monte Carlo
        error.

    Returns
    -------
    xarray.Dataset
        Dimension ``design`` (every design but the baseline) and any sweep dimension. For
        each statistic ``<s>``: ``<s>`` and ``<s>_se`` (the design's), ``<s>_baseline``,
        ``<s>_diff`` (design minus baseline), ``<s>_diff_se`` (paired),
        ``<s>_diff_se_unpaired`` (as if the designs had been simulated apart) and
        ``<s>_within_error`` (``|diff| <= z diff_se``). Also ``prob_below_baseline`` and
        ``prob_above_baseline`` (with ``_se``): the probabilities that the design's ``var``
        is below or above the baseline's in the same simulated year (for the settlement:
        the provider receives less, or more, under the design). Attributes: ``baseline``,
        ``z``, ``compared_by``.

    Notes
    -----
    The paired standard error of a difference of quantiles (``q05``, value-at-risk) rests on
    the trials whose order about the quantile differs between the two designs. Where the
    designs differ by little (an expected count of such trials of a few), it is itself very
    uncertain and may be too small; tests/test_stats_compare.py checks it against the spread
    over replications where that count is in the hundreds. Means, probabilities and tail
    values-at-risk have no such limit.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> common = rng.normal(0.0, 1e6, (4000, 1))
    >>> x = np.stack([common, common + 1e4 + rng.normal(0.0, 1e3, (4000, 1))])
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), x, {"units": "USD"})},
    ...     coords={"design": ["base", "rich"], "trial": np.arange(4000), "year": [2026]},
    ... )
    >>> p = paired(ds, "base", "mean")
    >>> round(float(p["mean_diff"].sel(design="rich")), -2), bool(p["mean_within_error"][0])
    (10000.0, False)
    >>> float(p["mean_diff_se"][0]) < float(p["mean_diff_se_unpaired"][0]) / 100
    True
    """
    names = list(PAIRED_DEFAULT_BY if by is None else [by] if isinstance(by, str) else by)
    rows = _rows(names)
    ds = _select(ds, designs, baseline)
    base = baseline if baseline is not None else _designs(ds)[0]
    s = sample(ds, var, dim)
    if "design" not in s.x.dims:
        raise ValueError(f"{var!r} has no design dimension: nothing to compare")
    probes = [
        p for _, e, lv in rows if e.probes is not None and lv is not None for p in e.probes(s, lv)
    ]
    if probes:
        s.quantiles(probes, "linear")
    out: dict[Hashable, xr.DataArray] = {}
    for column, entry, level in rows:
        _require(ds, entry)
        value, se = _estimate(ds, s, var, entry, level)
        assert entry.influence is not None
        _, psi = entry.influence(ds, s, level)
        text, units = str(value.attrs["long_name"]), str(value.attrs["units"])
        diff_se = cluster_se(psi - psi.sel(design=base), s.within)
        unpaired = (se**2 + se.sel(design=base) ** 2) ** 0.5
        diff = value - value.sel(design=base)
        out[column] = value
        out[f"{column}_se"] = se
        out[f"{column}_baseline"] = _with(
            # Without the design's coordinates: the baseline's own would clash with the
            # others' where a design sweep makes them vary along a design axis.
            value.sel(design=base, drop=True).reset_coords(drop=True),
            f"{text}, baseline {base}",
            units,
            f"{value.attrs['description']} Under the baseline design {base}.",
        )
        out[f"{column}_diff"] = _with(
            diff,
            f"{text}: design minus baseline",
            units,
            f"The design's {text} minus the baseline design {base}'s, on the same simulated years.",
        )
        out[f"{column}_diff_se"] = _with(
            diff_se,
            f"paired Monte Carlo standard error of the difference in {text}",
            units,
            "Trial-clustered standard error of the difference, from the difference of the two "
            "designs' influence values on the same trials (common random numbers).",
        )
        out[f"{column}_diff_se_unpaired"] = _with(
            unpaired,
            f"unpaired standard error of the difference in {text}",
            units,
            "sqrt(se_design^2 + se_baseline^2): the standard error the difference would have "
            "if the designs had been simulated on independent draws, for comparison.",
        )
        out[f"{column}_within_error"] = _with(
            abs(diff) <= z * diff_se,
            f"difference in {text} within Monte Carlo error",
            "1",
            f"True where |difference| <= {z:.3g} paired standard errors: the run cannot tell "
            "the design from the baseline on this statistic.",
        )
    x = s.x
    d = x - x.sel(design=base)
    ds_d = Sample(d, s.dims)
    for name, event, words, sign, gets, pays in (
        ("prob_below_baseline", d < 0, "below", "<", "less", "more"),
        ("prob_above_baseline", d > 0, "above", ">", "more", "less"),
    ):
        p, p_se = mean_and_se(indicator(event, d.notnull()), ds_d)
        text = f"probability that {var} is {words} the baseline's in the same year"
        out[name] = _with(
            p,
            text,
            "1",
            f"P({var}[design] {sign} {var}[{base}]) over the pooled trials and years: for the "
            f"settlement, the provider receives {gets} (or pays {pays}) under the design than "
            "under the baseline.",
        )
        out[f"{name}_se"] = _with(
            p_se,
            f"Monte Carlo standard error of the {text}",
            "1",
            "Binomial standard error clustered by trial.",
        )
    attrs: dict[str, Any] = {
        "title": f"Designs against the baseline {base} on common random numbers ({var})",
        "baseline": base,
        "z": z,
        "compared_by": ", ".join(c for c, _, _ in rows),
        "source_variable": var,
        "pooled_dims": " ".join(map(str, s.dims)),
    }
    result = derived_dataset(out, attrs | source_attrs(ds))
    others = [d for d in _designs(ds) if d != base]
    return result.sel(design=others)


def _flat(da: xr.DataArray, row_dims: list[Hashable]) -> xr.DataArray:
    """``da`` with ``row_dims`` stacked into one ``row`` dimension (first)."""
    if not row_dims:
        return da.expand_dims(_ROW)
    stacked = da.stack({_ROW: row_dims})
    return stacked.transpose(_ROW, ...)


def decide(
    ds: xr.Dataset,
    by: str | Sequence[str] | None = None,
    *,
    party: Party = "provider",
    limit: Limit | None = None,
    baseline: str | None = None,
    var: str = "settlement",
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
    designs: Sequence[str] | None = None,
    z: float = Z95,
) -> xr.Dataset:
    """Designs (and every cell of a sweep) weighed on several statistics at once, with the rule
    that ranks them stated.

    The rule: rows that keep ``limit`` come first (then those within Monte Carlo error of it,
    then those that break it); within each group, rows that no other row dominates (the
    efficient set) come before dominated rows; then rows sort on the statistics of ``by`` in
    turn, best for ``party`` first. Row ``j`` is dominated by row ``i`` when ``j`` is better
    than ``i`` on none of the statistics and worse on at least one, "better" and "worse"
    meaning beyond ``z`` paired standard errors of the difference (common random numbers:
    every row settles the same simulated trials). A row is on the frontier when no other row
    is at least as good on both the first and second statistics (point estimates) and better
    on one: the efficient frontier of, by default, the mean settlement against the party's
    1-in-20 loss. In a sweep, rows are weighed against each other across the values of a
    design's terms (choices), but only within the same values of a model condition (a trend,
    a member count: the coordinate's ``sweep_kind`` is "model").

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset.
    by : str or sequence of str, optional
        Statistics that favour one party (not ``std``, ``prob_zero`` or the cap and corridor
        probabilities). Default :data:`DECIDE_DEFAULT_BY`: ``mean`` and
        ``var_provider_95`` for the provider, ``mean`` and ``var_payer_95`` for the payer.
    party : {"provider", "payer"}
        Whose interest "better" means.
    limit : (str, float), optional
        A limit on one statistic, kept where the statistic is on the party's good side of the
        value (``("var_provider_95", 3e6)``: a 1-in-20 loss of at most $3M). Added to the
        statistics if ``by`` lacks it.
    baseline : str, optional
        Also give each row's difference from this design (in the same cell of a sweep) on
        every statistic, with its paired standard error, as :func:`paired` does.
    var, dim, designs, z
        As for :func:`paired`.

    Returns
    -------
    xarray.Dataset
        Dimension ``rank`` (1 = first), with coordinates ``design`` and any sweep's. Variables:
        each statistic and its ``_se``; ``dominated`` (bool), ``dominated_by`` (the rows that
        dominate it, comma-separated), ``on_frontier`` (bool, with two or more statistics)
        and, with a limit, ``limit_status`` (``kept``, ``within error`` or ``broken``); with
        a baseline, ``<s>_diff``, ``<s>_diff_se`` and ``<s>_within_error`` for each
        statistic. Attributes: ``rule`` (the rule in words), ``party``, ``decided_by``, ``z``,
        ``limit`` and ``baseline``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(1)
    >>> common = rng.normal(0.0, 1e6, (4000, 1))
    >>> x = np.stack([common, 2 * common + 5e4, 0.5 * common - 1e5])
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), x, {"units": "USD"})},
    ...     coords={"design": ["a", "b", "c"], "trial": np.arange(4000), "year": [2026]},
    ... )
    >>> d = decide(ds)
    >>> [str(v) for v in d["design"].values], [bool(v) for v in d["dominated"].values]
    (['b', 'a', 'c'], [False, False, False])
    >>> d = decide(ds, limit=("var_provider_95", 2e6))
    >>> [str(v) for v in d["design"].values], [str(v) for v in d["limit_status"].values]
    (['a', 'c', 'b'], ['kept', 'kept', 'broken'])
    """
    if party not in DECIDE_DEFAULT_BY:
        raise ValueError(f"party must be 'provider' or 'payer', got {party!r}")
    names = list(DECIDE_DEFAULT_BY[party] if by is None else [by] if isinstance(by, str) else by)
    limit_name = None
    if limit is not None:
        limit_name = parse_statistic_name(limit[0])[0]
        if not math.isfinite(float(limit[1])):
            raise ValueError(f"the limit on {limit_name} must be a finite number, got {limit[1]}")
        if limit_name not in [parse_statistic_name(n)[0] for n in names]:
            names.append(limit_name)
    rows = _rows(names)
    senses = [entry.sense(party) for _, entry, _ in rows]
    neutral = [c for (c, _, _), sense in zip(rows, senses, strict=True) if sense == 0]
    if neutral:
        raise ValueError(
            f"{', '.join(neutral)} favour(s) neither party: a decision needs statistics that "
            "are better one way (mean, quantiles, value-at-risk, probabilities of paying or "
            "receiving, stop_loss_net)"
        )
    ds = _select(ds, designs, baseline)
    s = sample(ds, var, dim)
    probes = [
        p for _, e, lv in rows if e.probes is not None and lv is not None for p in e.probes(s, lv)
    ]
    if probes:
        s.quantiles(probes, "linear")
    row_dims: list[Hashable] = [d for d in s.x.dims if d not in s.dims]
    diffs: dict[Hashable, xr.DataArray] = {}
    values: list[xr.DataArray] = []
    ses: list[xr.DataArray] = []
    flat_v: list[npt.NDArray[np.float64]] = []
    flat_psi: list[xr.DataArray] = []
    for _, entry, level in rows:
        _require(ds, entry)
        value, se = _estimate(ds, s, var, entry, level)
        assert entry.influence is not None
        _, psi = entry.influence(ds, s, level)
        values.append(value)
        ses.append(se)
        if baseline is not None:
            column = rows[len(values) - 1][0]
            diff = value - value.sel(design=baseline)
            diff_se = cluster_se(psi - psi.sel(design=baseline), s.within)
            diffs[f"{column}_diff"] = _flat(diff, row_dims)
            diffs[f"{column}_diff_se"] = _flat(diff_se, row_dims)
            diffs[f"{column}_within_error"] = _flat(abs(diff) <= z * diff_se, row_dims)
        flat_v.append(np.asarray(_flat(value, row_dims).values, dtype=np.float64))
        flat_psi.append(_flat(psi, row_dims).compute())
    n = flat_v[0].size
    # Rows in different cells of a model sweep (a trend, a member count: conditions, not
    # choices) are not weighed against each other: a design is not "dominated" by itself in
    # an easier world.
    model_dims = [d for d in row_dims if d != "design" and _is_model_axis(ds, d)]
    cells = (
        [tuple(_flat(values[0], row_dims)[d].values[i] for d in model_dims) for i in range(n)]
        if model_dims
        else [() for _ in range(n)]
    )
    same = np.array([[a == b for b in cells] for a in cells], dtype=bool)
    # better[k][i, j]: row i better than row j on statistic k beyond z paired standard errors.
    better = np.zeros((len(rows), n, n), dtype=bool)
    for k, (v, psi, sense) in enumerate(zip(flat_v, flat_psi, senses, strict=True)):
        for i in range(n):
            se_ij = np.asarray(
                cluster_se(psi.isel({_ROW: i}) - psi, s.within).values, dtype=np.float64
            )
            gap = sense * (v[i] - v)
            # a NaN error (a single trial) cannot tell: not better
            better[k, i] = (gap > z * se_ij) & np.isfinite(se_ij) & same[i]
    # [i, j]: i better than j on some statistic
    worse_somewhere: npt.NDArray[np.bool_] = np.asarray(better.any(axis=0))
    dominates: npt.NDArray[np.bool_] = worse_somewhere & ~worse_somewhere.T
    np.fill_diagonal(dominates, False)
    labels = _row_labels(values[0], row_dims)
    dominated = dominates.any(axis=0)
    dominated_by = [", ".join(labels[i] for i in np.flatnonzero(dominates[:, j])) for j in range(n)]
    on_frontier = np.ones(n, dtype=bool)
    if len(rows) >= 2:
        a = senses[0] * flat_v[0]
        b = senses[1] * flat_v[1]
        for j in range(n):
            at_least = (a >= a[j]) & (b >= b[j])
            strictly = (a > a[j]) | (b > b[j])
            on_frontier[j] = not np.any(at_least & strictly & same[j])
    status = np.full(n, "", dtype=object)
    group = np.zeros(n)
    if limit is not None and limit_name is not None:
        k = [c for c, _, _ in rows].index(limit_name)
        se_k = np.asarray(_flat(ses[k], row_dims).values, dtype=np.float64)
        margin = senses[k] * (flat_v[k] - float(limit[1]))  # >= 0: on the good side
        kept = margin - z * se_k >= 0.0
        broken = margin + z * se_k < 0.0
        status = np.where(kept, "kept", np.where(broken, "broken", "within error"))
        group = np.where(kept, 0.0, np.where(broken, 2.0, 1.0))
    keys: list[npt.NDArray[Any]] = [np.arange(n)]
    for v, sense in reversed(list(zip(flat_v, senses, strict=True))):
        keys.append(-sense * v)  # NaN sorts last
    keys += [dominated.astype(float), group]
    order = np.lexsort(keys)
    data: dict[Hashable, xr.DataArray] = {}
    for (column, _, _), value, se in zip(rows, values, ses, strict=True):
        data[column] = _flat(value, row_dims)
        data[f"{column}_se"] = _flat(se, row_dims)
    for column, _, _ in rows if baseline is not None else ():
        text, units = str(data[column].attrs["long_name"]), str(data[column].attrs["units"])
        data[f"{column}_diff"] = _with(
            diffs[f"{column}_diff"],
            f"{text}: design minus baseline",
            units,
            f"The row's {text} minus that of the baseline design {baseline} in the same cell, "
            "on the same simulated years.",
        )
        data[f"{column}_diff_se"] = _with(
            diffs[f"{column}_diff_se"],
            f"paired Monte Carlo standard error of the difference in {text}",
            units,
            "Trial-clustered standard error of the difference (common random numbers).",
        )
        data[f"{column}_within_error"] = _with(
            diffs[f"{column}_within_error"],
            f"difference in {text} within Monte Carlo error",
            "1",
            f"True where |difference| <= {z:.3g} paired standard errors.",
        )
    rule = _rule_text([c for c, _, _ in rows], party, limit, z)
    data["dominated"] = _per_row(
        np.asarray(dominated),
        "dominated",
        "True where another row is better on some statistic and worse on none, each beyond "
        f"{z:.3g} paired Monte Carlo standard errors.",
    )
    data["dominated_by"] = _per_row(
        np.array(dominated_by, dtype=object),
        "dominated by",
        "The rows that dominate this one, comma-separated (empty: none).",
    )
    data["on_frontier"] = _per_row(
        on_frontier,
        "on the efficient frontier",
        f"True where no other row is at least as good for the {party} on both {rows[0][0]} and "
        f"{rows[-1 if len(rows) < 2 else 1][0]} and better on one (point estimates).",
    )
    if limit is not None:
        data["limit_status"] = _per_row(
            status.astype(object),
            f"limit {limit_name} {_limit_sign(senses, rows, limit_name)} {float(limit[1]):,.6g}",
            f"kept: the statistic is on the good side of the limit by more than {z:.3g} standard "
            "errors; broken: on the wrong side by more; within error: the run cannot tell.",
        )
    table = derived_dataset(data, {})
    table = table.isel({_ROW: order})
    if _ROW in table.indexes:
        table = table.reset_index(_ROW)
    if "row" in table.coords and not row_dims:
        table = table.drop_vars("row")
    # plain coordinates (the stacked index's levels would refuse swap_dims(rank="design"))
    table = table.assign_coords(
        {
            c: (table[c].dims, np.asarray(table[c].values), table[c].attrs)
            for c in table.coords
            if c != _ROW
        }
    )
    table = table.rename_dims({_ROW: "rank"}).assign_coords(
        rank=(
            "rank",
            np.arange(1, n + 1),
            {"long_name": "rank", "units": "1", "description": f"1 = first by the rule: {rule}"},
        )
    )
    table.attrs = {
        "title": f"Designs weighed for the {party}",
        "rule": rule,
        "party": party,
        "decided_by": ", ".join(c for c, _, _ in rows),
        "z": z,
        "limit": "" if limit is None else f"{limit_name} {float(limit[1]):.10g}",
        "baseline": baseline or "",
        "row_dims": " ".join(map(str, row_dims)),
        "source_variable": var,
        **source_attrs(ds),
    }
    return table


def _per_row(values: npt.NDArray[Any], long_name: str, description: str) -> xr.DataArray:
    """A dimensionless verdict of every row (before the rows are sorted)."""
    return xr.DataArray(
        values, dims=_ROW, attrs={"long_name": long_name, "units": "1", "description": description}
    )


def _is_model_axis(ds: xr.Dataset, dim: Hashable) -> bool:
    """Whether a sweep dimension is a model condition (not a design's term)."""
    attrs = ds[dim].attrs if dim in ds.coords else {}
    kind = attrs.get("sweep_kind")
    if kind is not None:
        return str(kind) == "model"
    path = str(attrs.get("sweep_path", ""))
    return bool(path) and not (path.startswith("designs") or ".designs" in path)


def _limit_sign(
    senses: list[int], rows: list[tuple[str, Statistic, float | None]], name: str | None
) -> str:
    k = [c for c, _, _ in rows].index(str(name))
    return "<=" if senses[k] < 0 else ">="


def _row_labels(value: xr.DataArray, row_dims: list[Hashable]) -> list[str]:
    """``design`` (and ``field=value`` of a sweep) of every row, in the flat order."""
    flat = _flat(value, row_dims)
    out = []
    for i in range(flat.sizes[_ROW]):
        parts = []
        for d in row_dims:
            v = flat[d].values[i] if d in flat.coords else i
            parts.append(str(v) if d == "design" else f"{d}={v}")
        out.append(" ".join(parts) if parts else str(i))
    return out


def _rule_text(names: list[str], party: str, limit: Limit | None, z: float) -> str:
    parts = []
    if limit is not None:
        parts.append(
            f"rows that keep the limit on {parse_statistic_name(limit[0])[0]} first (then "
            "those within Monte Carlo error of it, then those that break it)"
        )
    parts.append(
        f"rows no other row dominates (no worse on any of {', '.join(names)} and better on one, "
        f"beyond {z:.3g} paired standard errors) before dominated rows"
    )
    parts.append(f"then by {', '.join(names)} in turn, best for the {party} first")
    return "; ".join(parts) + "."
