"""How a member's cost persists from one year to the next, as the member model implies it.

A continuing member's annual cost is ``C = R X`` in both years (risk score times the cost
mixture, :mod:`simsettle.scenario.costs`). The log risk score is AR(1) with correlation
``risk_persistence``; ``X`` follows two latent standard normals, each AR(1) with correlation
``persistence`` (``cost.persistence``): the class normal ``c`` (zero below the zero share's
quantile, the Pareto tail above ``1 - tail_probability``'s with the variate from ``P(N > c) /
tail_probability``) and the body normal ``b`` (the lognormal body ``exp(mu + s b)``; another
family's quantile at ``P(N <= b)``, and a gpd tail's at the same survival). This is the
rule of :func:`simsettle._kernels.member.latent_cost`, restated on numpy arrays.

:func:`persistence_moments` gives what an analyst would compare with data: the covariance and
correlation of log cost a year apart among members with a cost in both years, the correlation of
cost itself, and how many of the costliest 1% and 5% and of the cheaper half are there again the
next year (the MEPS statistical briefs' measure). They are integrals over the six normals of the
two years (class, body and risk score, each with its innovation); the integrals are taken by a
scrambled Sobol sequence of 2**18 points with a fixed seed (the same points for every call, so
that the results are smooth in the persistence, which calibration inverts), except where a closed
form exists: the risk score's part, ``E[R R'] = exp(risk_persistence risk_sigma**2)``, and the
variance of ``C``. The quasi-Monte Carlo error is about 1e-3 on the covariances (the tests compare
them with the closed forms that exist: the body's ``s**2 persistence`` and the probability that
both years are zero, a bivariate normal probability).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from simsettle._arrays import F8
from simsettle.models.laws import body_log_quantile, mixture_laws
from simsettle.scenario.costs import CostShape

__all__ = ["PersistenceMoments", "cost_correlation", "persistence_moments"]

_POINTS = 2**18
_SEED = 20261205


@dataclass(frozen=True)
class PersistenceMoments:
    """A continuing member's cost in two consecutive years (see the module docstring)."""

    persistence: float  # cost.persistence
    risk_persistence: float  # population.risk_persistence
    log_cov: float  # Cov(log C, log C') among members with a cost in both years
    log_corr: float  # the correlation of the same
    corr: float  # the correlation of C and C'
    top1_retained: float  # P(C' in the costliest 1% | C in the costliest 1%)
    top5_retained: float  # the same for 5%
    bottom_half_retained: float  # P(C' in the cheaper half | C in it)
    both_zero: float  # P(C = 0 and C' = 0)


@functools.cache
def _normals() -> F8:
    """(6, 2**18) standard normals from a scrambled Sobol sequence: the class normal, its
    innovation, the body normal, its innovation, the risk normal, its innovation."""
    u = stats.qmc.Sobol(6, scramble=True, seed=_SEED).random(_POINTS)
    return np.ascontiguousarray(special.ndtri(u).T)


def _log_x(shape: CostShape, c: F8, b: F8) -> F8:
    """``log X`` of the latent class and body normals (``-inf`` in the zero class)."""
    mix = shape.mixture
    zero, tail_p = mix.zero_cost_share, mix.tail_probability
    if mix.standard:
        mu = math.log(mix.body_mean) - 0.5 * mix.body_sigma**2
        out = mu + mix.body_sigma * b
    else:  # another body family: its quantile at the body normal's probability
        _, tail_law = mixture_laws(mix)
        out = body_log_quantile(mix)(b)
    if tail_p > 0.0:
        above = special.ndtr(-c)
        tail = above <= tail_p
        # (Capped at 1 outside the tail, where it is not used: no overflow for a tiny tail_p.)
        v = np.minimum(above, tail_p) / tail_p
        if mix.standard:
            log_tail = math.log(mix.tail_threshold) - np.log(v) / mix.tail_shape
        else:
            log_tail = np.log(mix.tail_threshold + tail_law.isf(v))
        out = np.where(tail, log_tail, out)
    if zero > 0.0:
        out = np.where(c < special.ndtri(zero), -np.inf, out)
    return np.asarray(out, dtype=np.float64)


@functools.lru_cache(maxsize=4)
def _first_log_x(shape: CostShape) -> F8:
    """``log X`` in the first year at the quasi-random points (read-only, cached per shape:
    the moments and the correlation both read it, and another body family's quantiles take
    some 20 ms)."""
    c, _, b, _, _, _ = _normals()
    out = _log_x(shape, c, b)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=4)
def _second_log_x(shape: CostShape, persistence: float) -> F8:
    """``log X`` a year later at the same points (read-only, cached as :func:`_first_log_x`)."""
    c, gc, b, gb, _, _ = _normals()
    keep = math.sqrt(1.0 - persistence**2)
    out = _log_x(shape, persistence * c + keep * gc, persistence * b + keep * gb)
    out.setflags(write=False)
    return out


def _years(shape: CostShape, persistence: float, risk_persistence: float) -> tuple[F8, F8]:
    """``log C`` in two consecutive years at the quasi-random points."""
    _, _, _, _, z, gz = _normals()
    keep_r = math.sqrt(1.0 - risk_persistence**2)
    s = shape.risk_sigma
    log_r = s * z - 0.5 * s * s
    log_r2 = s * (risk_persistence * z + keep_r * gz) - 0.5 * s * s
    first = log_r + _first_log_x(shape)
    second = log_r2 + _second_log_x(shape, persistence)
    return first, second


def _log_moments(first: F8, second: F8) -> tuple[float, float]:
    both = np.isfinite(first) & np.isfinite(second)
    cov = np.cov(first[both], second[both])
    return float(cov[0, 1]), float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))


def _retained(first: F8, second: F8, share: float, top: bool) -> float:
    """P(second in the share | first in it): the costliest ``share`` (``top``) or cheapest."""
    q = 1.0 - share if top else share
    a, b = np.quantile(first, q), np.quantile(second, q)
    if top:
        in_first, in_second = first > a, second > b
    else:
        in_first, in_second = first <= a, second <= b
    return float(np.mean(in_second[in_first]))


def cost_correlation(shape: CostShape, persistence: float, risk_persistence: float) -> float:
    """The correlation of a continuing member's cost ``C = R X`` a year apart:
    ``(exp(risk_persistence risk_sigma**2) E[X X'] - E[X]**2) / Var(C)``, with ``E[X X']`` by
    quasi-Monte Carlo (exactly ``E[X]**2`` at persistence 0) and the rest in closed form."""
    mix = shape.mixture
    mean = mix.mean
    var = (mix.cv * mean) ** 2
    if not var > 0.0:
        return 0.0
    if persistence == 0.0:
        exx = mean * mean  # independent years: exact
    else:
        x1 = _first_x(shape)
        x2 = np.exp(_second_log_x(shape, persistence))
        exx = float(np.dot(x1, x2)) / x1.size
    return (math.exp(risk_persistence * shape.risk_sigma**2) * exx - mean * mean) / var


@functools.lru_cache(maxsize=4)
def _first_x(shape: CostShape) -> F8:
    """``X`` in the first year at the quasi-random points (read-only, cached per shape)."""
    x = np.exp(_first_log_x(shape))
    x.setflags(write=False)
    return x


def persistence_moments(
    shape: CostShape, persistence: float, risk_persistence: float
) -> PersistenceMoments:
    """The year-to-year moments of a continuing member's cost (module docstring).

    ``shape`` is the cost model with the population's ``risk_sigma`` (``Cost.shape``).
    """
    if not (0.0 <= persistence < 1.0 and 0.0 <= risk_persistence <= 1.0):
        raise ValueError(
            f"persistence must be in [0, 1) and risk_persistence in [0, 1]; got {persistence}, "
            f"{risk_persistence}"
        )
    first, second = _years(shape, persistence, risk_persistence)
    log_cov, log_corr = _log_moments(first, second)
    mix = shape.mixture
    corr = cost_correlation(shape, persistence, risk_persistence)
    zero_z = special.ndtri(mix.zero_cost_share) if mix.zero_cost_share > 0.0 else -np.inf
    both_zero = (
        float(
            stats.multivariate_normal(
                mean=[0.0, 0.0], cov=[[1.0, persistence], [persistence, 1.0]]
            ).cdf([zero_z, zero_z])
        )
        if np.isfinite(zero_z)
        else 0.0
    )
    cost1 = np.exp(first)
    cost2 = np.exp(second)
    return PersistenceMoments(
        persistence=persistence,
        risk_persistence=risk_persistence,
        log_cov=log_cov,
        log_corr=log_corr,
        corr=corr,
        top1_retained=_retained(cost1, cost2, 0.01, True),
        top5_retained=_retained(cost1, cost2, 0.05, True),
        bottom_half_retained=_retained(cost1, cost2, 0.5, False),
        both_zero=both_zero,
    )
