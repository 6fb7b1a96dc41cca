"""Claim severity families of the frequency-severity cost model (``cost.severity``).

Every family is a scale family: its shape is given (``shape``, in the family's own parameter)
or solved from a coefficient of variation (``cv``), and its scale always follows from the mean
claim, ``12 x pmpm / claims_per_year``, so that the cost model keeps its mean. The families and
their parameters (``X`` the severity, ``c`` the scale):

================  ======================  ==========================  ===========================
family            shape                   scale ``c``                 mean / ``c``
================  ======================  ==========================  ===========================
lognormal         log-sd sigma            ``exp(mu)`` (the median)    ``exp(sigma^2 / 2)``
gamma             shape a                 theta                       ``a``
weibull           shape k                 lambda                      ``Gamma(1 + 1/k)``
lomax             alpha (Pareto II)       theta                       ``1 / (alpha - 1)``
pareto            alpha (single param.)   theta (the minimum claim)   ``alpha / (alpha - 1)``
gpd               xi (generalised Pareto) sigma                       ``1 / (1 - xi)``
inverse_gaussian  lambda / mu             mu (the mean)               ``1``
loglogistic       beta                    alpha (the median)          ``b / sin(b)``, b = pi/beta
================  ======================  ==========================  ===========================

``spliced`` puts a body family (lognormal, weibull or lomax) below a ``threshold`` and a tail
above it: with probability ``tail_probability`` a claim is the threshold plus a generalised
Pareto excess (``pareto``: shape alpha, scale threshold / alpha, the single-parameter Pareto from
the threshold; ``gpd``: shape xi and a given scale), otherwise the body conditioned to lie below
the threshold. The body's shape is given; its scale is solved so that the mean claim is kept.

Pure Python (no scipy, no numba): the scenario layer validates with it, the gate
(:mod:`simsettle.models.population`) hands the resolved law to the kernels, and
:mod:`simsettle.exact` discretises the same law with scipy.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Literal, get_args

from simsettle.scenario.costs import SolverError, _illinois, _root_decreasing

__all__ = [
    "BODY_FAMILIES",
    "FAMILIES",
    "SHAPE_LIMITS",
    "SHAPE_MEANING",
    "BodyFamily",
    "Family",
    "SeverityLaw",
    "cv_range",
    "mean_factor",
    "plain_law",
    "severity_cv2",
    "shape_error",
    "shape_from_cv",
    "splice_error",
    "spliced_law",
    "tail_mean",
]

Family = Literal[
    "lognormal",
    "gamma",
    "weibull",
    "lomax",
    "pareto",
    "gpd",
    "inverse_gaussian",
    "loglogistic",
]
FAMILIES: tuple[Family, ...] = get_args(Family)
BodyFamily = Literal["lognormal", "weibull", "lomax"]
BODY_FAMILIES: tuple[BodyFamily, ...] = get_args(BodyFamily)

#: The admissible shape of each family, ``(low, high, low_open, high_open)``: the mean exists
#: (lomax and pareto alpha > 1, gpd xi < 1, loglogistic beta > 1), and the bounds keep the
#: moments within a float (a weibull k of 0.1 already has a CV of about 430).
SHAPE_LIMITS: dict[str, tuple[float, float, bool, bool]] = {
    "lognormal": (0.0, 4.0, True, False),
    "gamma": (1e-4, 1e6, False, False),
    "weibull": (0.1, 100.0, False, False),
    "lomax": (1.0, 100.0, True, False),
    "pareto": (1.0, 100.0, True, False),
    "gpd": (-1.0, 1.0, False, True),
    "inverse_gaussian": (1e-4, 1e6, False, False),
    "loglogistic": (1.0, 100.0, True, False),
}

#: What each family's shape is, for messages and the schema.
SHAPE_MEANING = {
    "lognormal": "log-sd sigma",
    "gamma": "shape a",
    "weibull": "shape k",
    "lomax": "alpha",
    "pareto": "alpha",
    "gpd": "xi",
    "inverse_gaussian": "lambda / mu",
    "loglogistic": "beta",
}

# Points of the composite Simpson rule for a spliced body's truncated moments (even).
_SIMPSON_INTERVALS = 4096


def shape_error(family: str, shape: float) -> str | None:
    """Why ``shape`` is outside ``family``'s admissible range, or None."""
    lo, hi, lo_open, hi_open = SHAPE_LIMITS[family]
    below = shape <= lo if lo_open else shape < lo
    above = shape >= hi if hi_open else shape > hi
    if not (below or above) and math.isfinite(shape):
        return None
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return (
        f"the {family} shape ({SHAPE_MEANING[family]}) must lie in {left}{lo:g}, {hi:g}{right}"
        f"; got {shape:g}"
    )


def mean_factor(family: str, shape: float) -> float:
    """``E[X] / c`` of ``family`` with this shape at scale ``c``."""
    if family == "lognormal":
        return math.exp(0.5 * shape * shape)
    if family == "gamma":
        return shape
    if family == "weibull":
        return math.gamma(1.0 + 1.0 / shape)
    if family == "lomax":
        return 1.0 / (shape - 1.0)
    if family == "pareto":
        return shape / (shape - 1.0)
    if family == "gpd":
        return 1.0 / (1.0 - shape)
    if family == "inverse_gaussian":
        return 1.0
    if family == "loglogistic":
        b = math.pi / shape
        return b / math.sin(b)
    raise ValueError(f"unknown severity family {family!r}")


def severity_cv2(family: str, shape: float) -> float:
    """Squared coefficient of variation of ``family`` with this shape (``inf`` where the
    variance does not exist)."""
    if family == "lognormal":
        return math.expm1(shape * shape)
    if family == "gamma":
        return 1.0 / shape
    if family == "weibull":
        return math.expm1(math.lgamma(1.0 + 2.0 / shape) - 2.0 * math.lgamma(1.0 + 1.0 / shape))
    if family == "lomax":
        return shape / (shape - 2.0) if shape > 2.0 else math.inf
    if family == "pareto":
        return 1.0 / (shape * (shape - 2.0)) if shape > 2.0 else math.inf
    if family == "gpd":
        return 1.0 / (1.0 - 2.0 * shape) if shape < 0.5 else math.inf
    if family == "inverse_gaussian":
        return 1.0 / shape
    if family == "loglogistic":
        if shape <= 2.0:
            return math.inf
        b = math.pi / shape
        return math.tan(b) / b - 1.0
    raise ValueError(f"unknown severity family {family!r}")


def cv_range(family: str) -> tuple[float, float]:
    """The coefficients of variation ``family`` reaches within its shape limits (an upper end
    of ``inf`` for the heavy-tailed families, whose variance ends at lomax, pareto and
    loglogistic shape 2 and gpd xi 1/2)."""
    lo, hi, _, _ = SHAPE_LIMITS[family]
    if family in ("lomax", "pareto", "loglogistic"):
        return math.sqrt(severity_cv2(family, hi)), math.inf
    if family == "gpd":
        return math.sqrt(severity_cv2(family, lo)), math.inf
    if family == "lognormal":
        return 0.0, math.sqrt(severity_cv2(family, hi))
    a, b = math.sqrt(severity_cv2(family, lo)), math.sqrt(severity_cv2(family, hi))
    return min(a, b), max(a, b)


def shape_from_cv(family: str, cv: float) -> float:
    """The shape of ``family`` whose coefficient of variation is ``cv`` (raises ValueError with
    the reachable range when there is none)."""
    low, high = cv_range(family)
    if not (low < cv <= high if family == "lognormal" else low <= cv <= high) or math.isinf(cv):
        raise ValueError(
            f"a {family} severity reaches coefficients of variation from {low:.4g} "
            f"{'up' if math.isinf(high) else f'to {high:.4g}'}; got {cv:g}"
        )
    c2 = cv * cv
    if family == "lognormal":
        return math.sqrt(math.log1p(c2))
    if family == "gamma":
        return 1.0 / c2
    if family == "lomax":
        return 2.0 * c2 / (c2 - 1.0)
    if family == "pareto":
        return 1.0 + math.sqrt(1.0 + 1.0 / c2)
    if family == "gpd":
        return 0.5 * (1.0 - 1.0 / c2)
    if family == "inverse_gaussian":
        return 1.0 / c2
    lo, hi, _, _ = SHAPE_LIMITS[family]
    if family == "loglogistic":
        lo = 2.0 + 1e-12

    # Weibull and log-logistic: the CV falls as the shape rises; solve on the log shape.
    def f(x: float) -> float:
        return math.log(severity_cv2(family, math.exp(x))) - math.log(c2)

    a, b = math.log(lo), math.log(hi)
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return lo
    if fb == 0.0:
        return hi
    return math.exp(_illinois(f, a, b, fa, fb, 1e-14, 1e-15))


# ---------------------------------------------------------------- the resolved law


def _body_cdf(family: str, shape: float, scale: float, x: float) -> float:
    """``P(B <= x)`` of a splice's body family."""
    if x <= 0.0:
        return 0.0
    if family == "lognormal":
        return 0.5 * math.erfc(-(math.log(x / scale)) / (shape * math.sqrt(2.0)))
    if family == "weibull":
        return -math.expm1(-((x / scale) ** shape))
    if family == "lomax":
        return -math.expm1(-shape * math.log1p(x / scale))
    raise ValueError(f"{family!r} is not a splice body family")


def _truncated_moments(family: str, shape: float, scale: float, t: float) -> tuple[float, float]:
    """``E[B; B <= t]`` and ``E[B^2; B <= t]`` of a splice's body, by ``E[B^k; B <= t] =
    int_0^t k x^(k-1) (F(t) - F(x)) dx`` on ``x = t v^4`` (which smooths the integrand at 0)
    with the composite Simpson rule."""
    f_t = _body_cdf(family, shape, scale, t)
    n = _SIMPSON_INTERVALS
    first = second = 0.0
    for i in range(n + 1):
        v = i / n
        x = t * v**4
        w = 1.0 if i in (0, n) else (4.0 if i % 2 else 2.0)
        g = (f_t - _body_cdf(family, shape, scale, x)) * 4.0 * t * v**3 * w
        first += g
        second += 2.0 * x * g
    h = 1.0 / (3.0 * n)
    return first * h, second * h


def _body_sup(family: str, shape: float, t: float) -> float:
    """The least upper bound of ``E[B | B <= t]`` over the body's scale: as the scale grows,
    the body below ``t`` piles up at ``t`` (lognormal: ``t``), or follows the density near 0,
    ``k x^(k - 1)`` (weibull: ``t k / (k + 1)``) or a constant (lomax: ``t / 2``)."""
    if family == "lognormal":
        return t
    if family == "weibull":
        return t * shape / (shape + 1.0)
    return 0.5 * t


@dataclass(frozen=True)
class SeverityLaw:
    """A resolved severity: ``family``, ``shape`` and ``scale`` (USD) as in the module's table,
    or ``spliced`` with the body's ``family`` in ``body`` (its shape and scale in ``shape`` and
    ``scale``), the ``threshold`` (USD), the ``tail_probability`` and the tail's generalised
    Pareto excess (``tail_xi``, ``tail_sigma`` USD) above the threshold."""

    family: str
    shape: float
    scale: float
    body: str = ""
    threshold: float = 0.0
    tail_probability: float = 0.0
    tail_xi: float = 0.0
    tail_sigma: float = 0.0

    @property
    def spliced(self) -> bool:
        return self.family == "spliced"

    @property
    def body_cdf(self) -> float:
        """``P(B <= threshold)`` of the untruncated body (spliced only)."""
        return _body_cdf(self.body, self.shape, self.scale, self.threshold)

    def moments(self) -> tuple[float, float]:
        """``E[X]`` and ``E[X^2]`` (USD, USD^2; ``inf`` where the second does not exist)."""
        if not self.spliced:
            mean = self.scale * mean_factor(self.family, self.shape)
            return mean, mean * mean * (1.0 + severity_cv2(self.family, self.shape))
        p, t, xi, sig = self.tail_probability, self.threshold, self.tail_xi, self.tail_sigma
        m1, m2 = _truncated_moments(self.body, self.shape, self.scale, t)
        f_t = self.body_cdf
        b1, b2 = m1 / f_t, m2 / f_t
        y1 = sig / (1.0 - xi)
        y2 = 2.0 * sig * sig / ((1.0 - xi) * (1.0 - 2.0 * xi)) if xi < 0.5 else math.inf
        tail1, tail2 = t + y1, t * t + 2.0 * t * y1 + y2
        return (1.0 - p) * b1 + p * tail1, (1.0 - p) * b2 + p * tail2

    @property
    def mean(self) -> float:
        return self.moments()[0]

    @property
    def cv(self) -> float:
        """Coefficient of variation (``inf`` where the variance does not exist)."""
        mean, second = self.moments()
        return math.sqrt(max(second / (mean * mean) - 1.0, 0.0))

    def describe(self) -> str:
        """One phrase for summaries: the family, its shape, the mean claim and its CV."""
        cv = self.cv
        spread = f"CV {cv:.2f}" if math.isfinite(cv) else "no variance"
        mean = f"mean ${self.mean:,.0f}"
        if not self.spliced:
            meaning = SHAPE_MEANING[self.family]
            return f"{self.family} ({meaning} {self.shape:.3g}; {mean}, {spread})"
        tail = (
            f"pareto alpha {1.0 / self.tail_xi:.3g}"
            if math.isclose(self.tail_sigma, self.threshold * self.tail_xi)
            else f"gpd xi {self.tail_xi:.3g}, scale ${self.tail_sigma:,.0f}"
        )
        return (
            f"spliced at ${self.threshold:,.0f}: a {self.body} body ({SHAPE_MEANING[self.body]} "
            f"{self.shape:.3g}) below, a {tail} tail above with probability "
            f"{self.tail_probability:.2%} ({mean}, {spread})"
        )

    def scaled(self, factor: float) -> SeverityLaw:
        """The law of ``factor`` times the severity."""
        return replace(
            self,
            scale=self.scale * factor,
            threshold=self.threshold * factor,
            tail_sigma=self.tail_sigma * factor,
        )


def plain_law(family: str, shape: float, mean: float) -> SeverityLaw:
    """``family`` with ``shape`` at the scale that makes its mean ``mean``."""
    return SeverityLaw(family, shape, mean / mean_factor(family, shape))


def tail_excess(
    threshold: float, tail: str, shape: float, scale: float | None
) -> tuple[float, float]:
    """A splice's tail as a generalised Pareto excess over the threshold, ``(xi, sigma)``: a
    pareto of shape alpha from the threshold is ``(1 / alpha, threshold / alpha)``."""
    return (1.0 / shape, threshold / shape) if tail == "pareto" else (shape, scale or 0.0)


def tail_mean(threshold: float, tail: str, shape: float, scale: float | None) -> float:
    """Mean of a splice's tail claim (USD): the threshold plus the mean excess."""
    xi, sigma = tail_excess(threshold, tail, shape, scale)
    return threshold + sigma / (1.0 - xi)


def body_target(
    mean: float,
    threshold: float,
    tail_probability: float,
    tail: str,
    shape: float,
    scale: float | None,
) -> float:
    """The conditional mean ``E[B | B <= threshold]`` a splice's body needs for the claim mean
    ``mean`` (USD)."""
    p = tail_probability
    return (mean - p * tail_mean(threshold, tail, shape, scale)) / (1.0 - p)


def splice_error(
    mean: float,
    threshold: float,
    tail_probability: float,
    body: str,
    body_shape: float,
    tail: str,
    tail_shape: float,
    tail_scale: float | None,
) -> str | None:
    """Why no body scale gives a splice the claim mean ``mean``, or None."""
    target = body_target(mean, threshold, tail_probability, tail, tail_shape, tail_scale)
    sup = _body_sup(body, body_shape, threshold)
    if target <= 0.0:
        carried = tail_probability * tail_mean(threshold, tail, tail_shape, tail_scale)
        return (
            f"the tail alone carries a mean claim of {carried:,.0f} USD, at least the mean "
            f"claim {mean:,.0f} (12 x pmpm / claims_per_year): lower tail_probability or "
            "threshold"
        )
    if target >= sup:
        return (
            f"the body below the threshold must average {target:,.0f} USD, and a {body} body "
            f"of this shape averages less than {sup:,.0f} there whatever its scale: raise the "
            "threshold or tail_probability"
        )
    return None


@functools.lru_cache(maxsize=256)
def spliced_law(
    mean: float,
    threshold: float,
    tail_probability: float,
    body: str,
    body_shape: float,
    tail: str,
    tail_shape: float,
    tail_scale: float | None,
) -> SeverityLaw:
    """The splice whose mean claim is ``mean`` (USD): the body's scale solved on its log, where
    ``E[B | B <= t]`` rises with the scale (raises :class:`SolverError` if it cannot be)."""
    why = splice_error(
        mean, threshold, tail_probability, body, body_shape, tail, tail_shape, tail_scale
    )
    if why is not None:
        raise SolverError(why)
    target = body_target(mean, threshold, tail_probability, tail, tail_shape, tail_scale)
    xi, sigma = tail_excess(threshold, tail, tail_shape, tail_scale)

    sup = _body_sup(body, body_shape, threshold)

    def f(log_scale: float) -> float:
        # Falls as the scale rises; where F(t) underflows the body is at its limit.
        scale = math.exp(log_scale)
        m1, _ = _truncated_moments(body, body_shape, scale, threshold)
        f_t = _body_cdf(body, body_shape, scale, threshold)
        return target - m1 / f_t if f_t > 0.0 else target - sup

    log_scale = _root_decreasing(f, math.log(target))
    return SeverityLaw(
        "spliced",
        body_shape,
        math.exp(log_scale),
        body=body,
        threshold=threshold,
        tail_probability=tail_probability,
        tail_xi=xi,
        tail_sigma=sigma,
    )
