"""Designs, and every cell of a sweep, ranked on statistics of the registry."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xarray as xr

from simsettle.stats.registry import REGISTRY, parse_statistic_name
from simsettle.stats.tables import DEFAULT_DIMS, columns

__all__ = ["RANK_DEFAULT_BY", "rank"]

#: The statistics :func:`rank` uses when ``by`` is not given, per party.
RANK_DEFAULT_BY: dict[str, tuple[str, ...]] = {
    "provider": ("mean", "prob_loss", "var_provider_95"),
    "payer": ("mean", "prob_savings", "var_payer_95"),
}
_ROW = "_row"
_RANK = "rank"


def rank(
    ds: xr.Dataset,
    by: str | Sequence[str] | None = None,
    *,
    party: Literal["provider", "payer"] = "provider",
    ascending: bool | Sequence[bool] | None = None,
    designs: Sequence[str] | None = None,
    top: int | None = None,
    var: str = "settlement",
    dim: str | Sequence[Hashable] = DEFAULT_DIMS,
) -> xr.Dataset:
    """Designs ranked on chosen statistics, best first for one party, with standard errors.

    Every combination of design and swept values is a row (a sweep's dimensions are stacked
    with ``design``), so in a sweep the best corridor, sharing rate or attachment of each
    design competes with every other cell. Rows are sorted on the first statistic of ``by``;
    exact ties (a design a swept field does not touch, a probability of 0) are broken by the
    next statistics, then by the order of the results.

    Parameters
    ----------
    ds : xarray.Dataset
        Results Dataset, numpy- or dask-backed (the statistics are computed).
    by : str or sequence of str, optional
        Statistics, named as the variables of :func:`describe` (see
        :func:`parse_statistic_name`): ``mean``, ``std``, ``q05``, ``var_provider_95``,
        ``tvar_payer_99``, ``prob_loss``, ``prob_savings``, ``stop_loss_net``, ... Default:
        :data:`RANK_DEFAULT_BY` of ``party`` (``mean, prob_loss, var_provider_95`` for the
        provider, ``mean, prob_savings, var_payer_95`` for the payer).
    party : {"provider", "payer"}, default "provider"
        Whose interest "best" means, as each statistic's registry entry says
        (:attr:`~simsettle.stats.registry.Statistic.provider`). For the provider a higher
        ``mean``, quantile, ``prob_savings``, ``var_payer``/``tvar_payer`` and
        ``stop_loss_net`` is better and a lower ``prob_loss`` and
        ``var_provider``/``tvar_provider`` is; the settlement is a transfer between the two,
        so for the payer each is reversed. ``std``, ``prob_zero`` and the cap and corridor
        probabilities favour neither and sort ascending.
    ascending : bool or sequence of bool, optional
        Overrides the party's sense: one bool for every statistic, or one per statistic.
    designs : sequence of str, optional
        Rank only these designs.
    top : int, optional
        Keep the first ``top`` rows.
    var : str, default "settlement"
        The variable described (see :func:`statistic`).
    dim : str or sequence of str, default ("trial", "year")
        Pooled dimensions; must include ``trial``.

    Returns
    -------
    xarray.Dataset
        Dimension ``rank`` (1 = best). Coordinates along ``rank``: ``design``, every sweep
        dimension and the design coordinates (``kind``, rates, ...). Variables: each statistic
        of ``by`` and ``<name>_se``, its Monte Carlo standard error, with ``long_name``,
        ``units`` and ``description``. Attributes: ``ranked_by`` (the statistics and their
        directions), ``party``, ``rows`` (the rows before ``top``), ``row_dims`` (the
        dimensions stacked into rows: ``design`` and the sweep's) and ``pooled_dims``.
        ``.to_dataframe()`` gives a pandas table.

    Raises
    ------
    ValueError
        For an unknown statistic name (the message lists the valid ones), a repeated one, an
        unknown party or design, ``top < 1`` or an ``ascending`` of the wrong length; and as
        :func:`statistic`.
    KeyError
        If ``var``, or a variable a statistic needs, is not in ``ds``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), [[[-4.0], [0.0], [2.0], [6.0]],
    ...                                                    [[0.0], [0.0], [1.0], [2.0]]])},
    ...     coords={"design": ["two_sided", "one_sided"], "trial": np.arange(4), "year": [2026]},
    ... )
    >>> r = rank(ds, ["prob_loss", "mean"])
    >>> [str(d) for d in r["design"].values], [float(p) for p in r["prob_loss"].values]
    (['one_sided', 'two_sided'], [0.0, 0.25])
    >>> [str(d) for d in rank(ds, "mean")["design"].values]  # the provider's best first
    ['two_sided', 'one_sided']
    >>> [str(d) for d in rank(ds, "mean", party="payer")["design"].values]
    ['one_sided', 'two_sided']
    """
    if party not in RANK_DEFAULT_BY:
        raise ValueError(f"party must be 'provider' or 'payer', got {party!r}")
    names = list(RANK_DEFAULT_BY[party] if by is None else [by] if isinstance(by, str) else by)
    if not names:
        raise ValueError("by must name at least one statistic")
    parsed = [parse_statistic_name(n) for n in names]
    canonical = [p[0] for p in parsed]
    if ascending is None:
        asc = [REGISTRY[stat].sense(party) <= 0 for _, stat, _ in parsed]
    elif isinstance(ascending, bool):
        asc = [ascending] * len(parsed)
    else:
        asc = [bool(a) for a in ascending]
        if len(asc) != len(parsed):
            raise ValueError(f"ascending has {len(asc)} values for {len(parsed)} statistics")
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1, got {top!r}")
    if designs is not None:
        known = [str(d) for d in ds["design"].values] if "design" in ds.dims else []
        unknown = [d for d in designs if d not in known]
        if unknown or not designs:
            raise ValueError(
                f"no design named {', '.join(map(repr, unknown)) or '(none given)'}; "
                f"the results have {', '.join(known) or 'no design dimension'}"
            )
        ds = ds.sel(design=list(dict.fromkeys(designs)))
    order_text = ", ".join(
        f"{n} {'ascending' if a else 'descending'}" for n, a in zip(canonical, asc, strict=True)
    )
    table = columns(ds, canonical, var=var, dim=dim).drop_vars("n").compute()
    table.attrs |= {
        "title": f"Designs ranked for the {party} by {order_text} of {var}",
        "ranked_by": order_text,
        "party": party,
    }
    row_dims = [d for d in ds[var].dims if d in table.dims]
    row_dims += [d for d in table.dims if d not in row_dims]
    if row_dims:
        flat = table.stack({_ROW: row_dims}).reset_index(_ROW)
    else:
        flat = table.expand_dims(_ROW)
    n = flat.sizes[_ROW]
    keys: list[npt.NDArray[Any]] = [np.arange(n)]
    for name, a in reversed(list(zip(canonical, asc, strict=True))):
        values = np.asarray(flat[name].values, dtype=np.float64)
        keys.append(values if a else -values)  # NaN sorts last either way
    order = np.lexsort(keys)
    if top is not None:
        order = order[:top]
    out = flat.isel({_ROW: order}).rename_dims({_ROW: _RANK})
    out = out.assign_coords(
        {
            _RANK: (
                _RANK,
                np.arange(1, len(order) + 1),
                {
                    "long_name": "rank",
                    "units": "1",
                    "description": f"1 = best for the {party}: sorted by {order_text}.",
                },
            )
        }
    )
    out.attrs["rows"] = n
    out.attrs["row_dims"] = " ".join(map(str, row_dims))
    return out
