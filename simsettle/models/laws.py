"""scipy's frozen laws of the severity families, in the scenario's parameters.

The table of :mod:`simsettle.scenario.severity` names each family's shape and scale; here they
become ``scipy.stats`` distributions, whose ``ppf`` and ``isf`` the slow paths (the decedents'
sample of :mod:`simsettle.models.departures`, the reference twin) draw by. The kernels have
their own quantiles (:func:`simsettle._kernels.member.body_quantile`), which the tests hold
against these.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import interpolate, special, stats

from simsettle._arrays import F8
from simsettle.scenario.costs import CostMixture

__all__ = ["body_log_quantile", "mixture_laws", "normal_quantile_log", "scipy_law"]


def scipy_law(family: str, shape: float, scale: float) -> Any:
    """scipy's frozen law of ``family`` with this shape and scale (USD)."""
    if family == "lognormal":
        return stats.lognorm(s=shape, scale=scale)
    if family == "gamma":
        return stats.gamma(a=shape, scale=scale)
    if family == "weibull":
        return stats.weibull_min(c=shape, scale=scale)
    if family == "lomax":
        return stats.lomax(c=shape, scale=scale)
    if family == "pareto":
        return stats.pareto(b=shape, scale=scale)
    if family == "gpd":
        return stats.genpareto(c=shape, scale=scale)
    if family == "inverse_gaussian":  # IG(mu, lambda) is invgauss(mu / lambda, scale=lambda)
        return stats.invgauss(mu=1.0 / shape, scale=shape * scale)
    if family == "loglogistic":
        return stats.fisk(c=shape, scale=scale)
    raise ValueError(f"unknown severity family {family!r}")


def mixture_laws(mix: CostMixture, scale: float = 1.0) -> tuple[Any, Any]:
    """The laws of a mixture's body and of its tail's excess over the threshold, times
    ``scale``: the body family at the scale that makes its mean ``body_mean``, and the
    generalised Pareto excess (a Pareto tail's ``xi = 1 / alpha``, ``sigma = threshold /
    alpha``)."""
    body = scipy_law(mix.body_family, mix.body_sigma, mix.body_scale * scale)
    xi, sigma = mix.tail_excess
    return body, stats.genpareto(c=xi, scale=sigma * scale)


#: The standard normals at which :func:`normal_quantile_log` tabulates a law's quantile (the
#: latent normals of a member's cost never reach 9 in size: Box-Muller's are below 6.8).
_Z_GRID = np.linspace(-9.0, 9.0, 3601)


def normal_quantile_log(law: Any) -> Callable[[F8], F8]:
    """``z -> log F^-1(P(N <= z))`` of the frozen law ``law`` on arrays of standard normals:
    scipy's quantiles (each side from its own tail) at 3,601 points of [-9, 9], a cubic spline
    between them (within about 1e-12 of scipy's, relatively, and 1e-5 where a quantile meets the
    least float, tests/test_cost_families.py; scipy's gamma and inverse Gaussian quantiles take
    about 2.5 and 10 us a point, which the quasi-Monte Carlo figures of
    :mod:`simsettle.models.persistence` would need 2**18 times over)."""
    z = _Z_GRID
    if law.dist.name == "invgauss":
        # scipy's inverse Gaussian quantile fails (boost finds no solution) in the far tails
        # of a small shape, and is 1e-11 off where it works: the kernel's own, which is held
        # to mpmath (tests/test_quantiles.py). invgauss(m, scale=L) has mean m L, shape L.
        from simsettle._kernels.quantiles import inverse_gaussian_quantile

        m, big_l = float(law.kwds["mu"]), float(law.kwds["scale"])  # as scipy_law builds it
        pairs = zip(special.ndtr(z), special.ndtr(-z), strict=True)
        q = m * big_l * np.array([inverse_gaussian_quantile(1.0 / m, a, b) for a, b in pairs])
    else:
        q = np.where(z < 0.0, law.ppf(special.ndtr(z)), law.isf(special.ndtr(-z)))
    # (A quantile below the least normal float is held there, as the kernel's are: a gamma of
    # shape 0.04 at z = -7.)
    spline = interpolate.CubicSpline(z, np.log(np.maximum(q, np.finfo(np.float64).tiny)))

    def log_quantile(points: F8) -> F8:
        return np.asarray(spline(np.clip(points, -9.0, 9.0)), dtype=np.float64)

    return log_quantile


@functools.lru_cache(maxsize=16)
def body_log_quantile(mix: CostMixture) -> Callable[[F8], F8]:
    """:func:`normal_quantile_log` of a mixture's body (cached per mixture)."""
    return normal_quantile_log(mixture_laws(mix)[0])
