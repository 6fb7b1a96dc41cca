"""Monte Carlo standard errors: the pooled sample, and the trial-clustered sandwich.

The building blocks every statistic of :mod:`simsettle.stats.registry` estimates with. Trials
are the independent units; the other pooled dimensions (``year``) are pooled inside each trial
(see :mod:`simsettle.stats` for the formulas and why).

- :class:`Sample`: one variable with its pooled dimensions, and its quantiles, cached so that
  a table of statistics computes them in one xarray call;
- :func:`cluster_se`: the trial-clustered standard error of an estimator with influence
  values ``psi``;
- :func:`mean_and_se`, :func:`quantile_and_se`, :func:`tail_and_se`: a mean (of a variable or
  of an event's indicator), a quantile (order-statistic method) and an expected shortfall
  (Rockafellar-Uryasev), each with its standard error; :func:`quantile_and_psi` and
  :func:`tail_and_psi` give the influence values instead, for paired differences.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
import xarray as xr

__all__ = [
    "NORMAL",
    "TRIAL",
    "QuantileMethod",
    "Sample",
    "as_dims",
    "cluster_se",
    "hall_sheather",
    "indicator",
    "mean_and_se",
    "quantile_and_psi",
    "quantile_and_se",
    "quantile_probes",
    "tail_and_psi",
    "tail_and_se",
]

#: The dimension whose elements are independent: standard errors are clustered on it.
TRIAL = "trial"
#: The standard normal distribution (bandwidths, confidence half-widths).
NORMAL = NormalDist()

QuantileMethod = Literal["linear", "inverted_cdf"]


def hall_sheather(n: int, level: float, alpha: float = 0.05) -> float:
    """Hall-Sheather (1988) bandwidth for the sparsity ``1/f`` at probability ``level``.

    ``h = n**(-1/3) z**(2/3) (1.5 phi(x)**2 / (2 x**2 + 1))**(1/3)`` with ``x`` the normal
    quantile at ``level`` and ``z`` the normal quantile at ``1 - alpha/2``.
    """
    x = NORMAL.inv_cdf(level)
    z = NORMAL.inv_cdf(1.0 - alpha / 2.0)
    return float(
        n ** (-1.0 / 3.0)
        * z ** (2.0 / 3.0)
        * (1.5 * NORMAL.pdf(x) ** 2 / (2 * x * x + 1)) ** (1 / 3)
    )


@dataclass
class Sample:
    """One variable with the pooled dims, its quantiles cached (one xarray call per batch).

    Attributes
    ----------
    x : xarray.DataArray
        The variable; NaN marks a missing observation.
    dims : tuple
        The pooled dimensions; they include :data:`TRIAL`.
    """

    x: xr.DataArray
    dims: tuple[Hashable, ...]
    _cache: dict[tuple[QuantileMethod, float], xr.DataArray] = field(default_factory=dict)

    @property
    def within(self) -> tuple[Hashable, ...]:
        """Pooled dims other than trial: pooled inside each trial."""
        return tuple(d for d in self.dims if d != TRIAL)

    @property
    def size(self) -> int:
        """Number of pooled elements per row (missing values included)."""
        return math.prod(int(self.x.sizes[d]) for d in self.dims)

    def quantiles(self, probs: Iterable[float], method: QuantileMethod) -> list[xr.DataArray]:
        """The quantiles of ``x`` at ``probs`` over the pooled dims, NaN skipped."""
        probs = [float(p) for p in probs]
        todo = sorted({p for p in probs if (method, p) not in self._cache})
        if todo:
            # quantile needs each row in one chunk along the pooled dims (a no-op for numpy).
            x = self.x
            whole = x.chunk(dict.fromkeys(self.dims, -1)) if x.chunks is not None else x
            q = whole.quantile(todo, dim=self.dims, method=method)
            for p in todo:
                self._cache[(method, p)] = q.sel(quantile=p, drop=True)
        return [self._cache[(method, p)] for p in probs]


def cluster_se(psi: xr.DataArray, within: tuple[Hashable, ...]) -> xr.DataArray:
    """Trial-clustered standard error of an estimator with influence values ``psi``.

    ``psi`` is NaN exactly where the observation is missing. ``se = sqrt(T/(T-1) *
    sum_t (S_t - mean S)**2) / n``, ``S_t`` the sum of ``psi`` over trial ``t``'s observations.
    """
    valid = psi.notnull()
    filled = psi.fillna(0.0)
    s_t = filled.sum(within) if within else filled
    c_t = valid.sum(within) if within else valid
    has = c_t > 0
    t = has.sum(TRIAL)
    n = c_t.sum(TRIAL)
    s_bar = s_t.sum(TRIAL) / t.where(t > 0)
    dev = (s_t - s_bar).where(has, 0.0)
    factor = t / (t - 1).where(t > 1)
    se: xr.DataArray = (factor * (dev**2).sum(TRIAL)) ** 0.5 / n.where(n > 0)
    return se


def indicator(event: xr.DataArray, valid: xr.DataArray) -> xr.DataArray:
    """1.0 where ``event``, 0.0 where not, NaN where the observation is missing."""
    return event.astype(np.float64).where(valid)


def mean_and_se(values: xr.DataArray, s: Sample) -> tuple[xr.DataArray, xr.DataArray]:
    """Mean of ``values`` over ``s``'s pooled dims; influence function ``x - mean``."""
    mean = values.mean(s.dims)
    return mean, cluster_se(values - mean, s.within)


def quantile_probes(s: Sample, level: float) -> tuple[float, float, float]:
    """``level`` and its Hall-Sheather neighbours: the linear quantiles a quantile's standard
    error reads."""
    h = hall_sheather(max(s.size, 1), level)
    return level, max(level - h, 0.0), min(level + h, 1.0)


def _quantile_parts(s: Sample, level: float) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """The quantile (linear), its sparsity ``1/f(q)`` (the difference quotient of the
    quantiles at the Hall-Sheather neighbours of ``level``) and the centred indicator
    ``1{x <= q} - F(q)``."""
    _, lo, hi = probes = quantile_probes(s, level)
    q, q_lo, q_hi = s.quantiles(probes, "linear")
    sparsity = (q_hi - q_lo) / (hi - lo)
    ind = indicator(s.x <= q, s.x.notnull())
    return q, sparsity, ind - ind.mean(s.dims)


def quantile_and_se(s: Sample, level: float) -> tuple[xr.DataArray, xr.DataArray]:
    """Quantile (linear) and its order-statistic standard error.

    The sparsity ``1/f(q)`` is the difference quotient of the quantiles at the Hall-Sheather
    neighbours of ``level``, times the trial-clustered standard error of the empirical
    distribution function at ``q``.
    """
    q, sparsity, centred = _quantile_parts(s, level)
    return q, sparsity * cluster_se(centred, s.within)


def quantile_and_psi(s: Sample, level: float) -> tuple[xr.DataArray, xr.DataArray]:
    """Quantile (linear) and its influence values ``psi = -(1{x <= q} - F(q)) / f(q)`` (the
    sparsity as :func:`quantile_and_se` estimates it, whose standard error is
    ``cluster_se(psi)``): what a paired difference of two quantiles needs."""
    q, sparsity, centred = _quantile_parts(s, level)
    return q, -sparsity * centred


def tail_and_psi(s: Sample, loss: xr.DataArray, level: float) -> tuple[xr.DataArray, xr.DataArray]:
    """Expected shortfall of ``loss`` at ``level`` and its influence values.

    ``tvar = min_v v + E[(L - v)_+] / (1 - level)``, attained at the lower empirical quantile
    ``v`` (``inverted_cdf``): the mean of the worst ``1 - level`` fraction, the boundary
    observation weighted fractionally (Acerbi-Tasche); ``psi = v + (L - v)_+ / (1 - level) -
    tvar`` (Rockafellar-Uryasev).
    """
    tail = Sample(loss, s.dims)
    (v,) = tail.quantiles((level,), "inverted_cdf")
    excess = (loss - v).clip(min=0.0)
    tvar = v + excess.mean(s.dims) / (1.0 - level)
    return tvar, v + excess / (1.0 - level) - tvar


def tail_and_se(s: Sample, loss: xr.DataArray, level: float) -> tuple[xr.DataArray, xr.DataArray]:
    """Expected shortfall of ``loss`` at ``level`` (:func:`tail_and_psi`) and its
    influence-function standard error."""
    tvar, psi = tail_and_psi(s, loss, level)
    return tvar, cluster_se(psi, s.within)


def as_dims(dim: str | Sequence[Hashable]) -> tuple[Hashable, ...]:
    """``dim`` as a tuple of dimension names."""
    return (dim,) if isinstance(dim, str) else tuple(dim)
