"""Claim-count families of the frequency-severity cost model beyond the mixed Poisson.

A member-year's claim count is Poisson given its rate; a gamma claim frailty makes it negative
binomial (size ``r = 1 / claim_dispersion^2``), a lognormal one Poisson-lognormal. Two more
forms are built here, both of the (a, b, 0) class, ``p_k = (a + b / k) p_(k-1)`` (Klugman,
Panjer and Willmot, *Loss Models*, ch. 6):

- ``binomial``: at most ``m`` claims (``claim_trials``), each with probability ``q = mean /
  m``: ``a = -q / (1 - q)``, ``b = (m + 1) q / (1 - q)``, ``p_0 = (1 - q)^m``. Less dispersed
  than the Poisson (variance ``mean (1 - q)``).
- the **zero-modified** form of the Poisson, the negative binomial or the binomial (the (a, b,
  1) class): no claims with probability ``p_0^M`` (``claim_zero_probability``, above or below
  the base's own ``p_0``), otherwise the base count conditioned on at least one claim. Its mean
  is ``(1 - p_0^M) mean_b / (1 - p_0(mean_b))``; the base mean ``mean_b`` is solved so that the
  mean count stays ``claims_per_year``.

Pure Python: the scenario layer validates with it, the gate hands the resolved law to the
kernels, which draw the count by inversion along the recursion, and :mod:`simsettle.exact`
composes its probability generating function.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from simsettle.scenario.costs import SolverError, _illinois

__all__ = ["CountLaw", "count_law", "count_law_error", "gamma_exceeds"]


@dataclass(frozen=True)
class CountLaw:
    """A resolved claim count of a risk-1 member-year: the base ``family`` (``poisson``,
    ``negative_binomial`` of ``size`` r, or ``binomial`` of ``size`` m trials) of mean
    ``base_mean``, zero-modified to ``zero_probability`` (None: as it is)."""

    family: str
    base_mean: float
    size: float = 0.0
    zero_probability: float | None = None

    @property
    def p0(self) -> float:
        """The base family's ``P(N = 0)``."""
        return base_p0(self.family, self.base_mean, self.size)

    @property
    def ab(self) -> tuple[float, float]:
        """The base family's ``(a, b)`` of the recursion ``p_k = (a + b / k) p_(k-1)``."""
        mu, size = self.base_mean, self.size
        if self.family == "poisson":
            return 0.0, mu
        if self.family == "negative_binomial":
            beta = mu / size
            a = beta / (1.0 + beta)
            return a, (size - 1.0) * a
        q = mu / size
        return -q / (1.0 - q), (size + 1.0) * q / (1.0 - q)

    @property
    def mean(self) -> float:
        """The mean count."""
        if self.zero_probability is None:
            return self.base_mean
        return (1.0 - self.zero_probability) * self.base_mean / (1.0 - self.p0)

    @property
    def variance(self) -> float:
        """The variance of the count."""
        mu, size = self.base_mean, self.size
        if self.family == "poisson":
            var_b = mu
        elif self.family == "negative_binomial":
            var_b = mu * (1.0 + mu / size)
        else:
            var_b = mu * (1.0 - mu / size)
        if self.zero_probability is None:
            return var_b
        # E[N^2] of the zero-modified count: (1 - p0M) / (1 - p0) E[N_b^2].
        second = (1.0 - self.zero_probability) / (1.0 - self.p0) * (var_b + mu * mu)
        mean = self.mean
        return second - mean * mean


def base_p0(family: str, mean: float, size: float) -> float:
    """``P(N = 0)`` of a Poisson, negative binomial (size r) or binomial (m trials) of mean
    ``mean``."""
    if family == "poisson":
        return math.exp(-mean)
    if family == "negative_binomial":
        return math.exp(-size * math.log1p(mean / size))
    return math.exp(size * math.log1p(-mean / size))


def _limits(family: str, size: float, zero_probability: float) -> tuple[float, float]:
    """The means a zero-modified ``family`` reaches: above ``1 - p0M`` (every member-year with
    claims has one at least), and for a binomial below ``(1 - p0M) m``."""
    low = 1.0 - zero_probability
    high = (1.0 - zero_probability) * size if family == "binomial" else math.inf
    return low, high


def count_law_error(
    family: str, mean: float, size: float, zero_probability: float | None
) -> str | None:
    """Why no count law of this form has mean ``mean``, or None."""
    if family == "binomial" and zero_probability is None and mean > size:
        return (
            f"a binomial count of {size:g} trials has a mean of at most {size:g}; "
            f"claims_per_year is {mean:g}: raise claim_trials"
        )
    if zero_probability is None:
        return None
    low, high = _limits(family, size, zero_probability)
    if not low < mean < high:
        top = "" if math.isinf(high) else f" and below {high:g} ((1 - p0M) x claim_trials)"
        return (
            f"a count with no claims in a share {zero_probability:g} of member-years and at "
            f"least one otherwise has a mean above {low:g}{top}; claims_per_year is {mean:g}"
        )
    return None


@functools.lru_cache(maxsize=256)
def count_law(
    family: str, mean: float, size: float = 0.0, zero_probability: float | None = None
) -> CountLaw:
    """The count law of mean ``mean``: the base mean solved, on its log, for a zero-modified one
    (its mean rises with the base mean); raises :class:`SolverError` when there is none."""
    why = count_law_error(family, mean, size, zero_probability)
    if why is not None:
        raise SolverError(why)
    if zero_probability is None:
        return CountLaw(family, mean, size, None)
    p0m = zero_probability

    def f(log_mu: float) -> float:
        mu = math.exp(log_mu)
        # mu / (1 - p0(mu)) by expm1, exact as mu -> 0.
        if family == "poisson":
            ratio = mu / -math.expm1(-mu)
        elif family == "negative_binomial":
            ratio = mu / -math.expm1(-size * math.log1p(mu / size))
        else:
            ratio = mu / -math.expm1(size * math.log1p(-mu / size))
        return (1.0 - p0m) * ratio - mean

    lo = math.log(1e-12 * mean)
    hi = math.log(size * (1.0 - 1e-15)) if family == "binomial" else math.log(mean / (1.0 - p0m))
    # The base mean lies below mean / (1 - p0M) (the modified mean is at least (1 - p0M) mu
    # for a Poisson); for the others widen until the sign changes, within bounds.
    for _ in range(200):
        if f(hi) > 0.0 or family == "binomial":
            break
        hi += 1.0
    f_lo, f_hi = f(lo), f(hi)
    if not (f_lo < 0.0 < f_hi):
        raise SolverError(f"no base mean gives a zero-modified {family} count the mean {mean:g}")
    log_mu = _illinois(f, lo, hi, f_lo, f_hi, 1e-14, 1e-13 * mean)
    return CountLaw(family, math.exp(log_mu), size, p0m)


def gamma_exceeds(variance: float, threshold: float) -> float:
    """A Chernoff upper bound on ``P(G > threshold)`` for a gamma ``G`` of mean 1 and this
    variance (shape ``k = 1 / variance``): ``exp(-k (t - 1 - log t))`` for ``t > 1``."""
    if threshold <= 1.0:
        return 1.0
    k = 1.0 / variance
    return math.exp(-k * (threshold - 1.0 - math.log(threshold)))
