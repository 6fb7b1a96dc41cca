"""The member cost model in the terms actuaries quote: mean PMPM, CV and spend concentration.

The engine draws the annual cost of a member-year (full year, first simulated year, trend index
1) as ``C = R X``. ``R`` is the member's risk score, lognormal with ``E[R] = 1`` and log-sd
``risk_sigma``, independent of ``X``. ``X`` is a mixture: 0 with probability ``z``
(``zero_cost_share``); with probability ``t`` (``tail_probability``) a Pareto variate
``h V**(-1/alpha)`` (``h = tail_threshold``, ``alpha = tail_shape``, ``V`` uniform); otherwise
lognormal with log-sd ``s`` (``body_sigma``) and mean ``m_b = (12 pmpm - t h alpha / (alpha - 1))
/ (1 - z - t)``, so that ``E[X] = E[C] = 12 pmpm``.

:func:`cost_moments` gives the moments of ``C`` (mean, CV and the spend shares of the costliest
1%, 5% and 10% of member-years) exactly, by closed forms and a one-dimensional root find;
:func:`solve_cost` goes the other way, from a mean PMPM, a CV and a top-5% share to the body's
log-sd and the tail probability. Only the standard library is used, so the module is cheap to
use at scenario validation.

Method of :func:`cost_moments`
------------------------------
* Mean and CV: ``E[C] = E[X]`` and ``E[C^2] = exp(risk_sigma^2) E[X^2]`` with ``E[X^2] = b m_b^2
  exp(s^2) + t h^2 alpha / (alpha - 2)`` (``b = 1 - z - t``); the CV is infinite when there is a
  tail and ``alpha <= 2``.
* Survival ``P(C > c)`` and partial expectation ``E[C; C > c]``, ``c > 0``, component by
  component: the zero class contributes nothing; ``R`` times the lognormal body is lognormal
  with log-sd ``sqrt(s^2 + risk_sigma^2)`` and mean ``m_b`` (normal-cdf closed forms); and ``R``
  times the Pareto ``P`` is integrated over ``R`` in closed form too. With ``k = c / h``,
  ``P(R P > c) = P(R > k) + k^-alpha E[R^alpha; R < k]`` and ``E[R P; R P > c] = h alpha /
  (alpha - 1) (E[R; R > k] + k^(1 - alpha) E[R^alpha; R < k])``, where the lognormal partial
  moments ``E[R^a; R < k]`` are again normal cdfs. This replaces Gauss-Hermite quadrature over
  ``log R``: the integrand has a kink at ``R = c / h``, where the Pareto starts, which holds
  Gauss-Hermite to relative errors of 1e-3 to 1e-2 with 40 to 120 nodes, while the closed form
  is exact. Its large factors are combined in log space, with an asymptotic series for
  ``log Phi`` far in the lower tail, so that ``risk_sigma`` up to 3 and ``tail_shape`` up to 100
  are safe. ``Phi`` is ``math.erfc``, accurate to a few ulps.
* Top-``q`` share: the ``1 - q`` quantile ``c_q`` solves ``P(C > c_q) = q``; it is bracketed
  outward from the mean and found by regula falsi (Illinois, with bisection as a safeguard) on
  ``x -> log P(C > e^x)``, which is smooth, decreasing and nearly linear, to ``|log P - log q|
  <= 1e-14``. The share is ``(E[C; C > c_q] + c_q (q - P(C > c_q))) / E[C]``; the correction
  term is zero for the continuous distributions here, and with a zero class above ``1 - q`` the
  share is 1.

The moments are exact up to floating-point rounding (about 1e-13): the tests check the Pareto
part against a Gauss-Legendre quadrature split at the kink (agreement to 1e-13), everything
against 4 million Monte Carlo draws (within 5 standard errors, about 1e-3 on the shares) and
against the engine's own kernel. A call takes about 0.1 ms.

Method of :func:`solve_cost`
----------------------------
With ``z``, ``alpha``, ``h`` and ``risk_sigma`` held, the target CV fixes ``body_sigma`` as a
closed-form function of ``t``: ``exp(s(t)^2) = (M - t h^2 alpha / (alpha - 2)) (1 - z - t) / (12
pmpm - t h alpha / (alpha - 1))^2`` with ``M = (CV^2 + 1) (12 pmpm)^2 exp(-risk_sigma^2)``. This
is the inner solve of a nested scheme done exactly. The outer solve is on ``t`` alone:

1. The feasible ``t`` (``0 <= t``, ``b > 0``, ``m_b > 0``, ``0.001 <= s(t) <= 4``) are found on
   a 400-point grid clustered at both ends of ``[0, min(1 - z, 12 pmpm / (h alpha / (alpha -
   1))))``, their ends refined by bisection.
2. Along each feasible interval the top-5% share is sampled at Chebyshev points, bisected until
   neighbours differ by at most 0.05 in ``s`` and 0.005 in the share (``s`` can sweep its whole
   range in a sliver of ``t`` where the tail takes up nearly all the variance), and its interior
   extrema are refined by golden-section search.
3. Every sign change of ``top5(t) - target`` is solved by regula falsi to ``|dt| < 1e-14``.

The top-5% share is *not* monotone in ``t`` along the curve in general. For the defaults (``z``
0.15, ``alpha`` 4, ``h`` five times the mean, ``risk_sigma`` 0.5) it is monotone for CVs of 1.8
to 3.0, but it can fall with ``t`` (a threshold far above the top-5% cut-off, ``alpha`` near 2)
or rise and then fall (high CVs), and over a broad range of fixed parameters about one target
in eight has two or three solutions. Hence :func:`cost_solutions` returns every solution and
:func:`solve_cost` the one with the smallest tail probability. A target outside the attainable
range raises ``ValueError`` naming that range. A solve takes 1 to 10 ms and is cached.

Other families
--------------
The body can be of another severity family (``body_family``: :mod:`simsettle.scenario.severity`'s
table; ``body_sigma`` then holds that family's own shape) and the tail a generalised Pareto excess
over the threshold (``tail_family`` gpd: ``tail_shape`` is xi and ``tail_scale`` sigma). The mean
and CV keep their closed forms, with ``1 + CV_b^2`` of the body where the lognormal has
``exp(s^2)`` and the gpd's ``E[T^2]`` (:func:`tail_second_moment`); so the solvers' inner step is
still closed: the target CV fixes ``1 + CV_b^2`` at each ``t``, and the family's shape follows
from its CV (:func:`~simsettle.scenario.severity.shape_from_cv`). The survival function and
partial expectation of ``R`` times such a component are integrated over the risk score by
quadrature (:func:`simsettle.scenario.mixed.risk_mixed_parts`, to about 1e-12, held against
these closed forms where both apply). A call costs about 0.3 ms where the closed forms take
microseconds, so :func:`cost_moments` takes about 30 ms and :func:`solve_cost` about 1 to 2 s
for these families.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, Protocol, Required, Self, TypedDict, Unpack

if TYPE_CHECKING:
    from collections.abc import Callable

    _Fn = Callable[[float], float]

__all__ = [
    "CostMixture",
    "CostMoments",
    "CostShape",
    "FixedShape",
    "SolverError",
    "TailParameters",
    "body_mean",
    "compound_cv",
    "cost_distribution",
    "cost_moments",
    "cost_solutions",
    "default_tail_threshold",
    "episodic_share",
    "solve_body_sigma",
    "solve_cost",
    "tail_mean",
    "top_share_of",
]

_SQRT2: Final = math.sqrt(2.0)
_LOG_SQRT_2PI: Final = 0.5 * math.log(2.0 * math.pi)
#: Smallest body log-sd the solver uses (the body must not collapse to a point).
BODY_SIGMA_MIN: Final = 1e-3
#: Largest body log-sd (the scenario schema's bound).
BODY_SIGMA_MAX: Final = 4.0
_TOP_QS: Final = (0.01, 0.05, 0.10)
#: Where each evaluation is a quadrature (:class:`_GeneralDist`), the tolerance to which a top
#: share is sought, relative to the mean (see top_share_of; the quadrature's own is about 1e-12).
_SHARE_RTOL: Final = 1e-11
#: The first step (in ``log c``) of a top share's search from a neighbouring shape's quantile.
_WARM_STEP: Final = 0.02
#: Doublings of the outward bracket of :func:`_root_decreasing` before it gives up.
_MAX_DOUBLINGS: Final = 60
#: A top fraction this close (relatively) to the mass with a cost takes all of it.
_ATOM_RTOL: Final = 1e-9


class SolverError(ValueError):
    """A numerical search of the cost model found no answer within its bounded iterations (a
    ``ValueError``: the scenario's values are the cause, and the caller names the field)."""


def tail_mean(
    tail_threshold: float,
    tail_shape: float,
    tail_family: str = "pareto",
    tail_scale: float | None = 0.0,
) -> float:
    """Mean cost of a tail member-year (USD a year): ``h alpha / (alpha - 1)`` for the Pareto
    tail of shape alpha from the threshold ``h``; ``h + sigma / (1 - xi)`` for a generalised
    Pareto excess (``tail_family`` gpd, ``tail_shape`` xi, ``tail_scale`` sigma)."""
    if tail_family == "pareto":
        return tail_threshold * tail_shape / (tail_shape - 1.0)
    return tail_threshold + (tail_scale or 0.0) / (1.0 - tail_shape)


def tail_second_moment(
    tail_threshold: float, tail_shape: float, tail_family: str = "pareto", tail_scale: float = 0.0
) -> float:
    """``E[T^2]`` of a tail member-year's cost ``T`` (USD^2; ``inf`` where it does not exist):
    ``h^2 alpha / (alpha - 2)`` (pareto, alpha > 2), or ``h^2 + 2 h m + 2 sigma^2 / ((1 - xi)
    (1 - 2 xi))`` with ``m = sigma / (1 - xi)`` (gpd, xi < 1/2)."""
    h, a = tail_threshold, tail_shape
    if tail_family == "pareto":
        return h * h * a / (a - 2.0) if a > 2.0 else math.inf
    if a >= 0.5:
        return math.inf
    excess = tail_scale / (1.0 - a)
    return h * h + 2.0 * h * excess + 2.0 * tail_scale * excess / (1.0 - 2.0 * a)


def body_second_factor(body_family: str, body_shape: float) -> float:
    """``E[B^2] / E[B]^2`` of the mixture's body (``exp(s^2)`` for the lognormal of log-sd
    ``s``; ``1 + CV^2`` of another family, ``inf`` without a variance)."""
    if body_family == "lognormal":
        return math.exp(body_shape**2)
    from simsettle.scenario.severity import severity_cv2  # (it imports this module)

    return 1.0 + severity_cv2(body_family, body_shape)


class TailParameters(Protocol):
    """What fixes the zero class and the tail of the mixture (a scenario's ``cost`` block, a
    :class:`CostShape`, a :class:`CostMixture`)."""

    @property
    def zero_cost_share(self) -> float: ...
    @property
    def tail_probability(self) -> float: ...
    @property
    def tail_threshold(self) -> float: ...
    @property
    def tail_shape(self) -> float: ...
    @property
    def tail_family(self) -> str: ...
    @property
    def tail_scale(self) -> float | None: ...


def body_mean(mean: float, p: TailParameters) -> float:
    """Mean ``m_b`` of the body that gives the mixture ``p`` the annual mean ``mean``: ``(mean -
    t E[T]) / (1 - z - t)``, ``E[T]`` the tail's mean (:func:`tail_mean`; USD a year; not
    positive where the tail alone carries the mean)."""
    body_p = 1.0 - p.zero_cost_share - p.tail_probability
    tail = tail_mean(p.tail_threshold, p.tail_shape, p.tail_family, p.tail_scale)
    return (mean - p.tail_probability * tail) / body_p


def default_tail_threshold(pmpm: float) -> float:
    """The tail threshold when none is given: 60 x pmpm, five times the mean annual cost (USD a
    year), so that the cost shape does not change with the PMPM."""
    return 60.0 * pmpm


def compound_cv(
    claims_per_year: float,
    claim_dispersion: float,
    severity_sigma: float,
    frailty: str = "lognormal",
    *,
    severity_cv: float | None = None,
) -> float:
    """Coefficient of variation of a risk-1 member-year's cost under the frequency-severity
    model: ``N ~ Poisson(lambda F)`` claims with ``F`` of mean 1 (lognormal of log-sd ``phi``,
    or gamma of standard deviation ``phi``), each of lognormal severity ``S`` (log-sd
    ``sigma_s``).

    ``Var(X) = lambda E[S^2] + lambda^2 E[S]^2 Var(F)`` (the compound's variance given ``F``
    plus the variance of its mean), so ``CV^2 = exp(sigma_s^2) / lambda + Var(F)`` whatever the
    mean severity: ``Var(F) = exp(phi^2) - 1`` (lognormal) or ``phi^2`` (gamma). A severity of
    another family enters only through ``E[S^2] / E[S]^2 = 1 + CV_s^2``: give its
    ``severity_cv`` (which then replaces ``severity_sigma``).

    >>> round(compound_cv(12.0, 0.0, 0.0), 6)  # Poisson count of a fixed severity: 1 / sqrt(12)
    0.288675
    """
    lam, phi, sev = claims_per_year, claim_dispersion, severity_sigma
    var_f = phi * phi if frailty == "gamma" else math.expm1(phi * phi)
    ratio = math.exp(sev * sev) if severity_cv is None else 1.0 + severity_cv * severity_cv
    return math.sqrt(ratio / lam + var_f)


def episodic_share(cv: float) -> float:
    """Probability ``c = CV^2 / (1 + CV^2) = Var(X) / E[X^2]`` that a stay's cost is one episode
    rather than pro rata, for a member-year cost ``X`` of coefficient of variation ``cv`` (1 for
    an infinite CV).

    A stay of ``m`` months (``p = m / 12``) costs ``X B`` with ``B = 1`` with probability ``c
    p`` (the year's episode falls in the stay), ``B = 0`` with probability ``c (1 - p)`` (it
    falls outside) and ``B = p`` otherwise (even accrual). Then ``E[B] = p`` and ``E[B^2] = p^2
    + c p (1 - p)``, so ``E[X B] = p E[X]`` and ``Var(X B) = p^2 Var(X) + c p (1 - p) E[X^2] = p
    Var(X)``: mean and variance both in proportion to the months, as for cost that accrues with
    independent increments, and ``B = 1`` for a full year (the annual distribution unchanged).

    >>> episodic_share(2.0)
    0.8
    """
    if not math.isfinite(cv):
        return 1.0
    return cv * cv / (1.0 + cv * cv)


#: The parameters a :class:`CostShape` and a :class:`CostMixture` share, by name.
_COMMON: Final = (
    "zero_cost_share",
    "body_sigma",
    "tail_probability",
    "tail_threshold",
    "tail_shape",
    "risk_sigma",
    "body_family",
    "tail_family",
    "tail_scale",
)


@dataclass(frozen=True)
class CostMixture:
    """The annual cost ``C = R X`` of a member-year, with the body given by its mean.

    ``X`` is 0 with probability ``zero_cost_share``, ``tail_threshold`` times a
    Pareto(``tail_shape``) variate with probability ``tail_probability`` and otherwise lognormal
    with mean ``body_mean`` (USD a year) and log-sd ``body_sigma``; ``R`` is lognormal with mean 1
    and log-sd ``risk_sigma``. This record owns the mixture's moment formulas (:attr:`mean`,
    :attr:`cv`); :class:`CostShape` (the scenario's parametrisation, by the mean) and the
    calibration's vectorised :class:`~simsettle.calibrate.mixture.CostModel` read them here.

    Other families: ``body_family`` names the body's severity family
    (:data:`simsettle.scenario.severity.FAMILIES`), whose own shape parameter ``body_sigma``
    then is (gamma a, weibull k, ...; the log-sd only for the lognormal), at the scale that
    makes its mean ``body_mean``; ``tail_family`` ``gpd`` makes the tail the threshold plus a
    generalised Pareto excess of shape xi ``tail_shape`` and scale ``tail_scale`` (USD).
    """

    zero_cost_share: float
    body_mean: float
    body_sigma: float
    tail_probability: float
    tail_threshold: float
    tail_shape: float
    risk_sigma: float = 0.0
    body_family: str = "lognormal"
    tail_family: str = "pareto"
    tail_scale: float = 0.0

    @property
    def standard(self) -> bool:
        """Whether this is the lognormal body and Pareto tail (closed forms throughout)."""
        return self.body_family == "lognormal" and self.tail_family == "pareto"

    @property
    def body_scale(self) -> float:
        """The body family's scale (USD; severity's table) that makes its mean ``body_mean``."""
        from simsettle.scenario.severity import mean_factor  # (it imports this module)

        return self.body_mean / mean_factor(self.body_family, self.body_sigma)

    @property
    def tail_excess(self) -> tuple[float, float]:
        """The tail as a generalised Pareto excess over the threshold, ``(xi, sigma)``."""
        from simsettle.scenario.severity import tail_excess  # (it imports this module)

        return tail_excess(self.tail_threshold, self.tail_family, self.tail_shape, self.tail_scale)

    @property
    def body_probability(self) -> float:
        """``1 - z - t``, the probability of a body member-year."""
        return 1.0 - self.zero_cost_share - self.tail_probability

    @property
    def tail_mean(self) -> float:
        """Mean of a tail member-year's cost, ``h alpha / (alpha - 1)`` (USD; :func:`tail_mean`)."""
        return tail_mean(self.tail_threshold, self.tail_shape, self.tail_family, self.tail_scale)

    @property
    def mean(self) -> float:
        """Mean annual cost ``E[C] = b m_b + t h alpha / (alpha - 1)`` (USD)."""
        return self.body_probability * self.body_mean + self.tail_probability * self.tail_mean

    @property
    def cv(self) -> float:
        """Coefficient of variation of ``C`` (inf when the tail's or the body's variance
        diverges).

        ``E[C^2] = exp(risk_sigma^2) E[X^2]`` with ``E[X^2] = b m_b^2 exp(s^2) + t h^2 alpha /
        (alpha - 2)`` (another body: ``1 + CV_b^2`` for ``exp(s^2)``; a gpd tail:
        :func:`tail_second_moment`).
        """
        t, a = self.tail_probability, self.tail_shape
        if self.standard:
            if t > 0.0 and a <= 2.0:
                return math.inf
            tail_sq = t * self.tail_threshold**2 * a / (a - 2.0) if t > 0.0 else 0.0
            body_sq = self.body_probability * self.body_mean**2 * math.exp(self.body_sigma**2)
        else:
            second = tail_second_moment(self.tail_threshold, a, self.tail_family, self.tail_scale)
            tail_sq = t * second if t > 0.0 else 0.0
            factor = body_second_factor(self.body_family, self.body_sigma)
            body_sq = self.body_probability * self.body_mean**2 * factor
            if math.isinf(tail_sq) or math.isinf(body_sq):
                return math.inf
        ratio = math.exp(self.risk_sigma**2) * (body_sq + tail_sq) / self.mean**2
        return math.sqrt(max(ratio - 1.0, 0.0))

    def with_mean(self, mean: float) -> Self:
        """The same shape with the body's mean moved so that ``E[C]`` is ``mean``."""
        return replace(self, body_mean=body_mean(mean, self))

    def with_risk_sigma(self, risk_sigma: float) -> Self:
        """The same ``X`` with another risk spread."""
        return replace(self, risk_sigma=risk_sigma)

    def shape(self) -> CostShape:
        """As a :class:`CostShape`, with ``pmpm`` the twelfth of :attr:`mean`."""
        return CostShape(pmpm=self.mean / 12.0, **{k: getattr(self, k) for k in _COMMON})


@dataclass(frozen=True)
class CostShape:
    """Parameters of the annual cost model (the ``cost`` block and ``population.risk_sigma``).

    ``pmpm`` is the mean cost per member per month (USD) of a member with risk score 1 at trend
    index 1; ``tail_threshold`` is in USD per year. The body's mean follows from ``pmpm``
    (:attr:`body_mean`); :attr:`mixture` is the same distribution as a :class:`CostMixture`,
    which says what ``body_family``, ``tail_family`` and ``tail_scale`` change (``body_sigma``
    is the body family's own shape; ``tail_shape`` a gpd tail's xi).
    """

    zero_cost_share: float
    body_sigma: float
    tail_probability: float
    tail_threshold: float
    tail_shape: float
    risk_sigma: float
    pmpm: float
    body_family: str = "lognormal"
    tail_family: str = "pareto"
    tail_scale: float = 0.0

    def __post_init__(self) -> None:
        from simsettle.scenario.severity import shape_error  # (it imports this module)

        lognormal = self.body_family == "lognormal"
        pareto = self.tail_family == "pareto"
        body_why = None if lognormal else shape_error(self.body_family, self.body_sigma)
        tail_why = None if pareto else shape_error("gpd", self.tail_shape)
        checks = (
            (self.pmpm > 0.0 and math.isfinite(self.pmpm), "pmpm must be positive"),
            (0.0 <= self.zero_cost_share < 1.0, "zero_cost_share must be in [0, 1)"),
            (0.0 <= self.tail_probability < 1.0, "tail_probability must be in [0, 1)"),
            (
                self.zero_cost_share + self.tail_probability < 1.0,
                "zero_cost_share + tail_probability must be below 1",
            ),
            (not lognormal or 0.0 < self.body_sigma <= 10.0, "body_sigma must be in (0, 10]"),
            (body_why is None, f"body: {body_why}"),
            (0.0 <= self.risk_sigma <= 10.0, "risk_sigma must be in [0, 10]"),
            (
                self.tail_threshold > 0.0 and math.isfinite(self.tail_threshold),
                "tail_threshold must be positive",
            ),
            (not pareto or 1.0 < self.tail_shape <= 1e3, "tail_shape must be above 1"),
            (tail_why is None, f"tail: {tail_why}"),
            (
                pareto or (self.tail_scale > 0.0 and math.isfinite(self.tail_scale)),
                "a gpd tail's tail_scale must be positive",
            ),
            (self.tail_family in ("pareto", "gpd"), "tail_family must be pareto or gpd"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message}; got {self!r}")
        if self.body_mean <= 0.0:
            raise ValueError(
                f"the high-cost tail alone carries at least the mean cost 12 x pmpm = "
                f"{self.annual_mean:,.0f} USD; lower tail_probability or tail_threshold"
            )

    @property
    def annual_mean(self) -> float:
        """Target mean annual cost, ``12 x pmpm`` (USD)."""
        return 12.0 * self.pmpm

    @property
    def tail_mean(self) -> float:
        """Mean of a tail member-year's cost, ``h alpha / (alpha - 1)`` (USD; :func:`tail_mean`)."""
        return tail_mean(self.tail_threshold, self.tail_shape, self.tail_family, self.tail_scale)

    @property
    def body_mean(self) -> float:
        """Mean ``m_b`` of the body (USD) that makes the mean ``12 x pmpm``."""
        return body_mean(self.annual_mean, self)

    @property
    def mixture(self) -> CostMixture:
        """The same distribution, with the body given by its mean."""
        return CostMixture(body_mean=self.body_mean, **{k: getattr(self, k) for k in _COMMON})


@dataclass(frozen=True)
class CostMoments:
    """Moments of the annual cost ``C = R X`` of a member-year.

    ``mean_annual`` in USD and ``pmpm`` (its twelfth); ``cv`` the coefficient of variation (inf
    when the tail's second moment diverges); ``top*_share`` the share of total spend carried by
    the costliest 1%, 5% and 10% of member-years; ``zero_share`` the share of member-years with
    no cost.
    """

    mean_annual: float
    pmpm: float
    cv: float
    top1_share: float
    top5_share: float
    top10_share: float
    zero_share: float


# --------------------------------------------------------------------------------------------
# Normal cdf helpers


def _ndtr(x: float) -> float:
    """Standard normal cdf."""
    return 0.5 * math.erfc(-x / _SQRT2)


def _log_ndtr(x: float) -> float:
    """Log of the standard normal cdf, accurate far into the lower tail."""
    if x > -30.0:
        return math.log(_ndtr(x))  # positive down to x = -37
    # Asymptotic series: Phi(x) = phi(x) / |x| (1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8 - ...);
    # the first omitted term is below 2e-12 relative at x = -30.
    r = 1.0 / (x * x)
    series = 1.0 - r * (1.0 - r * (3.0 - r * (15.0 - r * 105.0)))
    return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log(series)


# --------------------------------------------------------------------------------------------
# The distribution of C


@dataclass(frozen=True)
class _Dist:
    """Precomputed constants of the distribution of ``C`` for one shape."""

    body_p: float  # b = 1 - z - t
    body_mass: float  # b m_b, the body's contribution to the mean
    log_body_mean: float
    body_sd: float  # sqrt(s^2 + risk_sigma^2), log-sd of R times the body
    tail_p: float
    threshold: float
    shape: float
    tail_mean: float
    risk_sigma: float
    mean: float

    @classmethod
    def of(cls, shape: CostShape) -> _Dist:
        mix = shape.mixture
        body_p = mix.body_probability
        return cls(
            body_p=body_p,
            body_mass=body_p * mix.body_mean,
            log_body_mean=math.log(mix.body_mean),
            body_sd=math.hypot(mix.body_sigma, mix.risk_sigma),
            tail_p=mix.tail_probability,
            threshold=mix.tail_threshold,
            shape=mix.tail_shape,
            tail_mean=mix.tail_mean,
            risk_sigma=mix.risk_sigma,
            mean=mix.mean,
        )

    def _tail(self, log_c: float) -> tuple[float, float]:
        """``P(R P > c)`` and ``E[R P; R P > c]`` of one tail member-year (``P`` Pareto)."""
        a = self.shape
        lk = log_c - math.log(self.threshold)  # log k, k = c / h
        sr = self.risk_sigma
        if sr == 0.0:
            if lk < 0.0:
                return 1.0, self.tail_mean
            return math.exp(-a * lk), self.tail_mean * math.exp((1.0 - a) * lk)
        half_var = 0.5 * sr * sr
        p_above = _ndtr((-half_var - lk) / sr)  # P(R > k)
        e_above = _ndtr((half_var - lk) / sr)  # E[R; R > k]
        # log of k^-a E[R^a; R < k] = -a lk + a (a - 1) sr^2 / 2
        #     + log Phi((lk + sr^2 / 2 - a sr^2) / sr)
        log_below = (
            -a * lk + a * (a - 1.0) * half_var + _log_ndtr((lk + half_var - a * sr * sr) / sr)
        )
        below = math.exp(log_below)
        return p_above + below, self.tail_mean * (e_above + math.exp(log_below + lk))

    def survival(self, log_c: float) -> float:
        """``P(C > c)`` for ``c = exp(log_c) > 0``."""
        sd = self.body_sd
        out = self.body_p * _ndtr((self.log_body_mean - 0.5 * sd * sd - log_c) / sd)
        if self.tail_p > 0.0:
            out += self.tail_p * self._tail(log_c)[0]
        return out

    def survival_and_partial(self, log_c: float) -> tuple[float, float]:
        """``P(C > c)`` and ``E[C; C > c]`` for ``c = exp(log_c) > 0``."""
        sd = self.body_sd
        centre = self.log_body_mean - log_c
        surv = self.body_p * _ndtr((centre - 0.5 * sd * sd) / sd)
        partial = self.body_mass * _ndtr((centre + 0.5 * sd * sd) / sd)
        if self.tail_p > 0.0:
            ts, tp = self._tail(log_c)
            surv += self.tail_p * ts
            partial += self.tail_p * tp
        return surv, partial

    def top_share(self, q: float) -> float:
        """Share of ``E[C]`` carried by the costliest fraction ``q`` of member-years."""
        positive = self.body_p + self.tail_p
        return top_share_of(self.survival_and_partial, self.mean, positive, q, self.survival)


@dataclass(frozen=True)
class _GeneralDist:
    """The distribution of ``C`` for a body of another family than the lognormal, or a gpd
    tail: each component's ``P(R X > c)`` and ``E[R X; R X > c]`` by quadrature over the risk
    score (:func:`simsettle.scenario.mixed.risk_mixed_parts`, accurate to about 1e-10), where
    :class:`_Dist` has closed forms."""

    body_p: float
    tail_p: float
    body: Any  # a simsettle.scenario.mixed.Component
    tail: Any
    risk_sigma: float
    mean: float

    @classmethod
    def of(cls, shape: CostShape) -> _GeneralDist:
        mix = shape.mixture
        xi, sigma = mix.tail_excess
        return cls(
            body_p=mix.body_probability,
            tail_p=mix.tail_probability,
            body=_component("family", mix.body_family, mix.body_sigma, mix.body_scale),
            tail=_component("excess", mix.tail_threshold, xi, sigma),
            risk_sigma=mix.risk_sigma,
            mean=mix.mean,
        )

    def survival_and_partial(self, log_c: float) -> tuple[float, float]:
        """``P(C > c)`` and ``E[C; C > c]`` for ``c = exp(log_c) > 0``."""
        from simsettle.scenario.mixed import risk_mixed_parts

        x = [math.exp(log_c)]
        surv, partial = risk_mixed_parts(self.body, self.risk_sigma, x)
        out_s, out_p = self.body_p * float(surv[0]), self.body_p * float(partial[0])
        if self.tail_p > 0.0:
            ts, tp = risk_mixed_parts(self.tail, self.risk_sigma, x)
            out_s += self.tail_p * float(ts[0])
            out_p += self.tail_p * float(tp[0])
        return out_s, out_p

    def survival(self, log_c: float) -> float:
        """``P(C > c)`` for ``c = exp(log_c) > 0``."""
        return self.survival_and_partial(log_c)[0]

    def top_share(self, q: float) -> float:
        """Share of ``E[C]`` carried by the costliest fraction ``q`` of member-years."""
        return self.top_share_near(q, None)[0]

    def top_share_near(self, q: float, start: float | None) -> tuple[float, float]:
        """The top share of :meth:`top_share` and ``log c_q`` as far as its search went (about
        1e-4), searched from ``start`` (a ``log c_q`` nearby: a neighbouring shape's) where
        given, else from the mean; ``(1, -inf)`` where ``q`` is at or above the mass above 0."""
        if q >= (self.body_p + self.tail_p) * (1.0 - _ATOM_RTOL):
            return 1.0, -math.inf  # (see top_share_of)
        return _convex_top_share(self.survival_and_partial, self.mean, q, start)


@functools.lru_cache(maxsize=64)
def _component(kind: str, *args: Any) -> Any:
    """A :class:`simsettle.scenario.mixed.Component` (``kind`` its constructor), cached: it
    holds the quantile points its quadrature needs, a few ms to find, and the solver meets one
    tail at every tail probability it tries."""
    from simsettle.scenario.mixed import Component  # numpy only where it is needed

    return getattr(Component, kind)(*args)


def cost_distribution(shape: CostShape) -> _Dist | _GeneralDist:
    """The distribution of ``C = R X`` for ``shape``: ``survival_and_partial(log_c)`` gives
    ``P(C > c)`` and ``E[C; C > c]``, ``mean`` the mean (for mixtures built on it, as
    :func:`simsettle.models.departures.calendar_moments`)."""
    return _Dist.of(shape) if shape.mixture.standard else _GeneralDist.of(shape)


def top_share_of(
    survival_and_partial: Callable[[float], tuple[float, float]],
    mean: float,
    positive: float,
    q: float,
    survival: Callable[[float], float] | None = None,
    *,
    costly: bool = False,
) -> float:
    """Share of the mean carried by the costliest fraction ``q`` of a distribution on ``c >=
    0``, given ``log c -> (P(C > c), E[C; C > c])``, its mean and the mass above 0.

    The ``1 - q`` quantile ``c_q`` solves ``P(C > c_q) = q`` (outward bracketing, then regula
    falsi on ``log P``); the share is ``(E[C; C > c_q] + c_q (q - P(C > c_q))) / E[C]``, whose
    correction term also makes it right where ``P`` jumps (an atom or a sample). With ``q`` at
    or above the positive mass the share is 1 (and the quantile search would not end).
    ``survival``, where given, is ``P(C > c)`` alone (cheaper, for the search). ``costly``
    (where each evaluation is a quadrature) seeks the share to ``_SHARE_RTOL`` with the
    quantile left loose (:func:`_convex_top_share`).
    """
    if q >= positive * (1.0 - _ATOM_RTOL):
        # The costliest q include every member-year with a cost (within rounding: a positive
        # mass of 1 - 0.99 - 0 lies 1e-15 above 0.01, and the quantile would be sought at
        # -infinity). The members in that sliver carry at most the share it is of the mass.
        return 1.0
    if costly:
        return _convex_top_share(survival_and_partial, mean, q, None)[0]
    log_q = math.log(q)
    surv_of = survival if survival is not None else (lambda x: survival_and_partial(x)[0])

    def f(x: float) -> float:
        # Decreasing in x; the floor keeps it finite where the survival underflows.
        return math.log(max(surv_of(x), 1e-300)) - log_q

    x = _root_decreasing(f, math.log(mean))
    surv, partial = survival_and_partial(x)
    c = math.exp(x)
    return min(1.0, (partial + c * (q - surv)) / mean)


def _convex_top_share(
    survival_and_partial: Callable[[float], tuple[float, float]],
    mean: float,
    q: float,
    start: float | None,
) -> tuple[float, float]:
    """The top share of :func:`top_share_of` (``q`` below the mass above 0) where each
    evaluation is costly: ``(share, log c_q)``, the share to ``_SHARE_RTOL`` of the mean with
    the quantile itself left loose, searched from ``start`` (``log c``) where given.

    It uses the variational form of the tail mean: ``g(c) = E[C; C > c] + c (q - P(C > c))``
    is convex with ``g'(c) = q - P(C > c)``, so its minimum, the share times the mean, lies at
    ``c_q``. Every ``g`` evaluated bounds it from above and the tangents at the bracket's ends
    bound it from below; the least ``g`` seen is returned once the two bounds are within the
    tolerance.
    """
    log_q = math.log(q)
    seen: dict[float, tuple[float, float]] = {}  # log c -> (g(c), g'(c))

    def f(x: float) -> float:
        surv, partial = survival_and_partial(x)
        seen[x] = (partial + math.exp(x) * (q - surv), q - surv)
        return math.log(max(surv, 1e-300)) - log_q

    def known(a: float, b: float) -> bool:
        (ga, da), (gb, db) = seen[min(a, b)], seen[max(a, b)]
        if not da < 0.0 < db:
            return False
        ca, cb = math.exp(min(a, b)), math.exp(max(a, b))
        c = (gb - ga + da * ca - db * cb) / (da - db)  # where the two tangents meet
        return min(ga, gb) - (ga + da * (c - ca)) <= _SHARE_RTOL * mean

    if start is None or not math.isfinite(start):
        x = _root_decreasing(f, math.log(mean), done=known)
    else:
        x = _root_decreasing(f, start, done=known, step=_WARM_STEP)
    return min(1.0, min(v for v, _ in seen.values()) / mean), x


def _root_decreasing(
    f: _Fn, x0: float, done: Callable[[float, float], bool] | None = None, step: float = 1.0
) -> float:
    """Root of a continuous decreasing ``f`` on the real line, bracketed outward from ``x0``
    (a first step of ``step``, then doubling), to ``1e-13 max(1, |x0|)`` (or until ``done``
    holds of the bracket: see :func:`_illinois`).

    The bracket doubles at most ``_MAX_DOUBLINGS`` times (a reach of ``2^60`` around ``x0``,
    far beyond any cost ``exp(x)`` a float holds); an ``f`` whose sign does not change there
    raises :class:`SolverError` instead of searching forever.
    """
    lo, f_lo = x0, f(x0)
    if f_lo > 0.0:
        hi, f_hi = lo + step, f(lo + step)
        for _ in range(_MAX_DOUBLINGS):
            if f_hi <= 0.0:
                break
            lo, f_lo = hi, f_hi
            step *= 2.0
            hi, f_hi = lo + step, f(lo + step)
        else:
            raise SolverError(f"no root above {x0:g}: the function stays positive")
    else:
        hi, f_hi = lo, f_lo
        lo, f_lo = hi - step, f(hi - step)
        for _ in range(_MAX_DOUBLINGS):
            if f_lo > 0.0:
                break
            hi, f_hi = lo, f_lo
            step *= 2.0
            lo, f_lo = hi - step, f(hi - step)
        else:
            raise SolverError(f"no root below {x0:g}: the function stays at or below 0")
    return _illinois(f, lo, hi, f_lo, f_hi, 1e-13 * max(1.0, abs(x0)), 1e-14, done)


def _illinois(
    f: _Fn,
    a: float,
    b: float,
    fa: float,
    fb: float,
    tol: float,
    ftol: float = 0.0,
    done: Callable[[float, float], bool] | None = None,
) -> float:
    """Root of continuous ``f`` in ``[a, b]`` with ``fa``, ``fb`` of opposite signs.

    Stops when the bracket is narrower than ``tol``, ``|f| <= ftol`` or ``done(a, b)`` holds of
    the bracket (both ends evaluated).

    Regula falsi with the Illinois modification (superlinear on smooth functions); a step that
    falls outside the bracket, or a bracket that fails to halve in three steps, is replaced by
    bisection, so the bracket is at worst halved every four evaluations.
    """
    if abs(fa) <= ftol:
        return a
    if abs(fb) <= ftol:
        return b
    side = 0
    since_halved, width_mark = 0, abs(b - a)
    for _ in range(400):
        width = abs(b - a)
        if width <= tol or (done is not None and done(a, b)):
            break
        if since_halved >= 3:
            x = 0.5 * (a + b)
        else:
            x = b - fb * (b - a) / (fb - fa)
            if not min(a, b) < x < max(a, b):
                x = 0.5 * (a + b)
        fx = f(x)
        if abs(fx) <= ftol:
            return x
        if (fx > 0.0) == (fb > 0.0):
            b, fb = x, fx
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa = x, fx
            if side == 1:
                fb *= 0.5
            side = 1
        since_halved += 1
        if abs(b - a) <= 0.5 * width_mark:
            since_halved, width_mark = 0, abs(b - a)
    return b if abs(fb) < abs(fa) else a


# --------------------------------------------------------------------------------------------
# Moments


@functools.lru_cache(maxsize=1024)
def cost_moments(shape: CostShape) -> CostMoments:
    """Exact moments of the annual cost ``C = R X`` of a member-year (see the module docstring).

    >>> m = cost_moments(CostShape(0.15, 1.2, 0.04, 60_000.0, 4.0, 0.5, 1000.0))
    >>> round(m.pmpm, 6), round(m.cv, 4), round(m.top5_share, 4), round(m.top1_share, 4)
    (1000.0, 2.2729, 0.4252, 0.161)
    """
    dist = cost_distribution(shape)
    top1, top5, top10 = (dist.top_share(q) for q in _TOP_QS)
    return CostMoments(
        mean_annual=dist.mean,
        pmpm=dist.mean / 12.0,
        cv=shape.mixture.cv,
        top1_share=top1,
        top5_share=top5,
        top10_share=top10,
        zero_share=shape.zero_cost_share,
    )


# --------------------------------------------------------------------------------------------
# Solver


@dataclass(frozen=True)
class _Curve:
    """The one-parameter family of shapes with the target mean and CV, indexed by ``t``."""

    pmpm: float
    risk_sigma: float
    zero: float
    shape: float
    threshold: float
    cv: float
    body_family: str = "lognormal"
    tail_family: str = "pareto"
    tail_scale: float = 0.0
    #: ``log c`` of the last top-5% quantile found by quadrature (:meth:`top5`): the solver
    #: moves along ``t`` in small steps, and the next search starts there.
    _last_quantile: list[float] = field(default_factory=list, compare=False, repr=False)

    @property
    def standard(self) -> bool:
        """A lognormal body and a Pareto tail: top shares in closed form."""
        return self.body_family == "lognormal" and self.tail_family == "pareto"

    @property
    def t_cap(self) -> float:
        """Exclusive upper bound of ``t``: some body left, and a positive body mean."""
        mean = 12.0 * self.pmpm
        if self.tail_family == "pareto":
            tail_mean = self.threshold * self.shape / (self.shape - 1.0)
        else:
            tail_mean = self.threshold + self.tail_scale / (1.0 - self.shape)
        return min(1.0 - self.zero, mean / tail_mean)

    def _tail_moments(self) -> tuple[float, float]:
        """The tail's mean and second moment (the Pareto's as before the families)."""
        a, h = self.shape, self.threshold
        if self.tail_family == "pareto":
            return h * a / (a - 1.0), h * h * a / (a - 2.0)
        first = tail_mean(h, a, self.tail_family, self.tail_scale)
        return first, tail_second_moment(h, a, self.tail_family, self.tail_scale)

    def log_g(self, t: float) -> float:
        """``log(E[B^2] / E[B]^2)`` of the body at ``t`` (``body_sigma(t)^2`` for the
        lognormal; ``log(1 + CV_b^2)`` for another family), from the CV; -inf where no body
        can reach it."""
        mean = 12.0 * self.pmpm
        a, h = self.shape, self.threshold
        target_sq = (self.cv**2 + 1.0) * mean * mean * math.exp(-(self.risk_sigma**2))
        if self.tail_family == "pareto":  # (written out: the same rounding as ever)
            body_sq = target_sq - t * h * h * a / (a - 2.0)  # what the body's E[X^2] supplies
            body_mass = mean - t * h * a / (a - 1.0)
        else:
            tail_first, tail_second = self._tail_moments()
            body_sq = target_sq - t * tail_second
            body_mass = mean - t * tail_first
        body_p = 1.0 - self.zero - t
        if body_sq <= 0.0 or body_p <= 0.0 or body_mass <= 0.0:
            return -math.inf
        return math.log(body_sq * body_p / (body_mass * body_mass))

    def body_shape(self, log_g: float) -> float | None:
        """The body family's shape with ``log(E[B^2] / E[B]^2) = log_g``, or None where the
        family cannot reach it (the lognormal within [BODY_SIGMA_MIN, BODY_SIGMA_MAX])."""
        if self.body_family == "lognormal":
            ok = BODY_SIGMA_MIN**2 <= log_g <= BODY_SIGMA_MAX**2
            return math.sqrt(log_g) if ok else None
        if not log_g > 0.0:
            return None
        from simsettle.scenario.severity import shape_from_cv  # (it imports this module)

        try:
            return shape_from_cv(self.body_family, math.sqrt(math.expm1(log_g)))
        except ValueError:
            return None

    def feasible(self, t: float) -> bool:
        return self.body_shape(self.log_g(t)) is not None

    def at(self, t: float) -> CostShape:
        shape = self.body_shape(self.log_g(t))
        assert shape is not None
        return CostShape(
            zero_cost_share=self.zero,
            body_sigma=shape,
            tail_probability=t,
            tail_threshold=self.threshold,
            tail_shape=self.shape,
            risk_sigma=self.risk_sigma,
            pmpm=self.pmpm,
            body_family=self.body_family,
            tail_family=self.tail_family,
            tail_scale=self.tail_scale,
        )

    def top5(self, t: float) -> float:
        dist = cost_distribution(self.at(t))
        if isinstance(dist, _Dist):
            return dist.top_share(0.05)
        share, log_c = dist.top_share_near(
            0.05, self._last_quantile[-1] if self._last_quantile else None
        )
        self._last_quantile[:] = [log_c]
        return share

    def intervals(self) -> list[tuple[float, float]]:
        """Maximal intervals of feasible ``t``, from a grid clustered at both ends of [0, cap)."""
        cap = self.t_cap
        n = 400
        grid = {cap * 0.5 * (1.0 - math.cos(math.pi * i / n)) for i in range(n)}
        grid.update(cap * (1.0 - 10.0**-j) for j in range(3, 13))
        ts = sorted(t for t in grid if t < cap)
        ok = [self.feasible(t) for t in ts]
        out: list[tuple[float, float]] = []
        i = 0
        while i < len(ts):
            if not ok[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(ts) and ok[j + 1]:
                j += 1
            lo = ts[i] if i == 0 else self._edge(ts[i], ts[i - 1])
            hi = self._edge(ts[j], ts[j + 1]) if j + 1 < len(ts) else ts[j]
            out.append((lo, hi))
            i = j + 1
        return out

    def _edge(self, inside: float, outside: float) -> float:
        """The feasible end of the boundary between a feasible and an infeasible ``t``."""
        for _ in range(80):
            mid = 0.5 * (inside + outside)
            if mid in (inside, outside):
                break
            if self.feasible(mid):
                inside = mid
            else:
                outside = mid
        return inside


def _golden_extremum(
    f: _Fn, a: float, b: float, sign: float, rtol: float = 1e-9
) -> tuple[float, float]:
    """Golden-section search for the maximum of ``sign * f`` on ``[a, b]``: (x, f(x)), to
    ``rtol`` of the interval's width."""
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - inv_phi * (b - a), a + inv_phi * (b - a)
    fc, fd = sign * f(c), sign * f(d)
    tol = rtol * max(abs(b - a), 1e-300)
    for _ in range(60):
        if abs(b - a) <= tol:
            break
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - inv_phi * (b - a)
            fc = sign * f(c)
        else:
            a, c, fc = c, d, fd
            d = a + inv_phi * (b - a)
            fd = sign * f(d)
    return (c, sign * fc) if fc > fd else (d, sign * fd)


def _samples(curve: _Curve, lo: float, hi: float) -> list[tuple[float, float]]:
    """``(t, top5(t))`` along ``[lo, hi]``, dense enough to bracket every crossing.

    Chebyshev-Lobatto points, bisected until ``body_sigma`` moves by at most 0.05 and the top-5%
    share by at most 0.005 between neighbours (``body_sigma`` can sweep its whole range in a
    sliver of ``t``), plus the local extrema refined by golden-section search (to 1e-9 of their
    interval). For another body family or a gpd tail, whose top shares are quadratures of some
    3 ms each, ``sqrt(log(1 + CV_b^2))`` in steps of 0.2 (it reaches 7 and more where the
    family's CV has no bound), the share in steps of 0.02 and the extrema to 1e-4: a single
    extremum between two samples is still found (the differences change sign), two within
    one step of 0.02 are not.
    """
    sigma_step, share_step, rtol = (0.05, 0.005, 1e-9) if curve.standard else (0.2, 0.02, 1e-4)
    n = 16
    ts = sorted({lo + (hi - lo) * 0.5 * (1.0 - math.cos(math.pi * i / n)) for i in range(n + 1)})
    min_width = 1e-13 * curve.t_cap
    sigmas = [math.sqrt(max(curve.log_g(t), 0.0)) for t in ts]
    i = 0
    while i + 1 < len(ts):
        if abs(sigmas[i + 1] - sigmas[i]) > sigma_step and ts[i + 1] - ts[i] > min_width:
            mid = 0.5 * (ts[i] + ts[i + 1])
            ts.insert(i + 1, mid)
            sigmas.insert(i + 1, math.sqrt(max(curve.log_g(mid), 0.0)))
        else:
            i += 1
    pts = [(t, curve.top5(t)) for t in ts]
    i = 0
    while i + 1 < len(pts):
        (t0, f0), (t1, f1) = pts[i], pts[i + 1]
        if abs(f1 - f0) > share_step and t1 - t0 > min_width:
            mid = 0.5 * (t0 + t1)
            pts.insert(i + 1, (mid, curve.top5(mid)))
        else:
            i += 1
    extra = []
    for i in range(1, len(pts) - 1):
        (_, f0), (_, f1), (_, f2) = pts[i - 1], pts[i], pts[i + 1]
        if (f1 - f0) * (f2 - f1) < 0.0:  # a local extremum between pts[i - 1] and pts[i + 1]
            sign = 1.0 if f1 > f0 else -1.0
            extra.append(_golden_extremum(curve.top5, pts[i - 1][0], pts[i + 1][0], sign, rtol))
    return sorted(pts + extra)


def _fmt(x: float) -> str:
    return f"{x:,.6g}"


def _fmt_cv(x: float) -> str:
    return f"{x:,.0f}" if x >= 100.0 else f"{x:.2f}"


def _fixed(curve: _Curve) -> str:
    """The parameters held fixed, for error messages."""
    families = ""
    if curve.body_family != "lognormal":
        families += f"a {curve.body_family} body, "
    tail = f"tail_shape {_fmt(curve.shape)}"
    if curve.tail_family == "gpd":
        tail = f"a gpd tail of xi {_fmt(curve.shape)} and scale {curve.tail_scale:,.0f} USD"
    return (
        f"{families}zero_cost_share {_fmt(curve.zero)}, risk_sigma {_fmt(curve.risk_sigma)}, "
        f"{tail}, tail_threshold {curve.threshold:,.0f} USD"
    )


def _ranges_text(ranges: list[tuple[float, float]], target: float) -> str:
    """``'0.359 to 0.407'`` (or several, joined by 'or'), precise enough to exclude ``target``."""
    for digits in (3, 4, 5, 6):
        parts = [(round(lo, digits), round(hi, digits)) for lo, hi in ranges]
        if not any(lo <= round(target, digits) <= hi for lo, hi in parts):
            break
    return " or ".join(f"{lo:.{digits}f} to {hi:.{digits}f}" for lo, hi in parts)


def _merge(ranges: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _body_factor_range(body_family: str) -> tuple[float, float]:
    """The least and greatest ``E[B^2] / E[B]^2`` the body family reaches (the lognormal
    within [BODY_SIGMA_MIN, BODY_SIGMA_MAX])."""
    if body_family == "lognormal":
        return math.exp(BODY_SIGMA_MIN**2), math.exp(BODY_SIGMA_MAX**2)
    from simsettle.scenario.severity import cv_range  # (it imports this module)

    low, high = cv_range(body_family)
    return 1.0 + low * low, 1.0 + high * high


def _cv_range(curve: _Curve) -> tuple[float, float]:
    """Smallest and largest CV reachable with ``body_sigma`` in [BODY_SIGMA_MIN, BODY_SIGMA_MAX]
    (another body family: within its shape limits)."""
    mean = 12.0 * curve.pmpm
    z, sr = curve.zero, curve.risk_sigma
    a, h = curve.shape, curve.threshold
    tail_first, tail_second = curve._tail_moments()
    cap = curve.t_cap
    low, high = _body_factor_range(curve.body_family)
    cvs: dict[float, list[float]] = {low: [], high: []}
    for i in range(801):
        t = cap * 0.5 * (1.0 - math.cos(math.pi * i / 800))
        body_p = 1.0 - z - t
        pareto = curve.tail_family == "pareto"
        body_mass = mean - (t * h * a / (a - 1.0) if pareto else t * tail_first)
        if t >= cap or body_p <= 0.0 or body_mass <= 0.0:
            continue
        for factor in cvs:
            tail_sq = t * h * h * a / (a - 2.0) if pareto else t * tail_second
            ex2 = body_mass**2 / body_p * factor + tail_sq
            cvs[factor].append(math.sqrt(max(math.exp(sr * sr) * ex2 / mean**2 - 1.0, 0.0)))
    return min(cvs[low]), max(cvs[high])


@functools.lru_cache(maxsize=256)
def _solve(curve: _Curve, top5: float) -> tuple[CostShape, ...]:
    intervals = curve.intervals()
    if not intervals:
        lo, hi = _cv_range(curve)
        raise ValueError(
            f"the cost CV can range from {lo:.2f} to {_fmt_cv(hi)} for this model "
            f"({_fixed(curve)}); got {_fmt(curve.cv)}"
        )
    roots: list[float] = []
    ranges: list[tuple[float, float]] = []
    for lo, hi in intervals:
        pts = _samples(curve, lo, hi) if hi > lo else [(lo, curve.top5(lo))]
        ranges.append((min(f for _, f in pts), max(f for _, f in pts)))
        for i in range(len(pts) - 1):
            (t0, f0), (t1, f1) = pts[i], pts[i + 1]
            d0, d1 = f0 - top5, f1 - top5
            if d0 == 0.0:
                roots.append(t0)
            elif d0 * d1 < 0.0:
                roots.append(
                    _illinois(lambda t: curve.top5(t) - top5, t0, t1, d0, d1, 1e-14, 1e-15)
                )
        if pts[-1][1] == top5:
            roots.append(pts[-1][0])
    if not roots:
        raise ValueError(
            f"with a cost CV of {_fmt(curve.cv)} the top-5% spend share can range from "
            f"{_ranges_text(_merge(ranges), top5)} for this model ({_fixed(curve)}); got "
            f"{_fmt(top5)}. A different CV, tail_shape, tail_threshold, zero_cost_share or "
            f"risk_sigma moves this range"
        )
    unique: list[float] = []
    for t in sorted(roots):
        if not unique or t - unique[-1] > 1e-9 * curve.t_cap:
            unique.append(t)
    return tuple(curve.at(t) for t in unique)


def cost_solutions(
    pmpm: float,
    cv: float,
    top5_share: float,
    *,
    risk_sigma: float,
    zero_cost_share: float = 0.15,
    tail_shape: float = 4.0,
    tail_threshold: float | None = None,
    body_family: str = "lognormal",
    tail_family: str = "pareto",
    tail_scale: float = 0.0,
) -> tuple[CostShape, ...]:
    """Every cost shape with the given mean, CV and top-5% share, by increasing tail probability.

    Arguments as for :func:`solve_cost`, which returns the first. Usually there is one; the
    top-5% share is not monotone in the tail probability at fixed CV for every choice of the
    fixed parameters, and then two or three shapes can match. Another ``body_family`` has its
    shape solved where the lognormal's ``body_sigma`` is (from the body's CV); a
    ``tail_family`` gpd takes xi as ``tail_shape`` and its scale as ``tail_scale``.
    """
    values = {
        "pmpm": pmpm,
        "cv": cv,
        "top5_share": top5_share,
        "risk_sigma": risk_sigma,
        "zero_cost_share": zero_cost_share,
        "tail_shape": tail_shape,
    }
    for name, value in values.items():
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number; got {value}")
    if pmpm <= 0.0:
        raise ValueError(f"pmpm must be positive; got {_fmt(pmpm)}")
    if cv <= 0.0:
        raise ValueError(f"the cost CV must be positive; got {_fmt(cv)}")
    if not 0.05 < top5_share < 1.0:
        raise ValueError(
            f"the top-5% spend share must be above 0.05 (the top 5% of members carry at "
            f"least 5% of spend) and below 1; got {_fmt(top5_share)}"
        )
    if not 0.0 <= risk_sigma <= 3.0:
        raise ValueError(f"risk_sigma must be between 0 and 3; got {_fmt(risk_sigma)}")
    if not 0.0 <= zero_cost_share < 0.95:
        raise ValueError(
            f"zero_cost_share must be at least 0 and below 0.95 (the top 5% of members must "
            f"have costs); got {_fmt(zero_cost_share)}"
        )
    if tail_family == "gpd":
        if not (-1.0 <= tail_shape < 0.5 and tail_scale > 0.0 and math.isfinite(tail_scale)):
            raise ValueError(
                f"a gpd tail needs xi (tail_shape) in [-1, 0.5) for the cost CV to be finite and "
                f"a positive scale; got xi {_fmt(tail_shape)}, scale {_fmt(tail_scale)}"
            )
    elif not 2.0 < tail_shape <= 100.0:
        raise ValueError(
            f"tail_shape must be above 2 (and at most 100) for the cost CV to be finite; got "
            f"{_fmt(tail_shape)}"
        )
    threshold = default_tail_threshold(pmpm) if tail_threshold is None else float(tail_threshold)
    if not (threshold > 0.0 and math.isfinite(threshold)):
        raise ValueError(f"tail_threshold must be a positive number; got {tail_threshold}")
    curve = _Curve(
        pmpm=float(pmpm),
        risk_sigma=float(risk_sigma),
        zero=float(zero_cost_share),
        shape=float(tail_shape),
        threshold=threshold,
        cv=float(cv),
        body_family=body_family,
        tail_family=tail_family,
        tail_scale=float(tail_scale),
    )
    try:
        return _solve(curve, float(top5_share))
    except ArithmeticError as exc:  # extreme inputs overflow the moments (pmpm 1e300, cv 1e300)
        raise ValueError(
            f"the cost targets are beyond what the model can represent (pmpm {_fmt(pmpm)}, "
            f"cv {_fmt(cv)}, top5_share {_fmt(top5_share)}): {exc}"
        ) from None


def solve_body_sigma(
    pmpm: float,
    cv: float,
    *,
    risk_sigma: float,
    zero_cost_share: float = 0.15,
    tail_probability: float = 0.056,
    tail_shape: float = 5.0,
    tail_threshold: float | None = None,
    body_family: str = "lognormal",
    tail_family: str = "pareto",
    tail_scale: float = 0.0,
) -> CostShape:
    """The cost shape with mean ``pmpm`` and coefficient of variation ``cv`` (risk included)
    whose zero class and tail are held as given: ``body_sigma`` alone is solved, in closed form.
    Another ``body_family`` has its shape solved from the same ``E[B^2] / E[B]^2 = 1 + CV_b^2``
    (:func:`~simsettle.scenario.severity.shape_from_cv`); a ``tail_family`` gpd takes xi as
    ``tail_shape`` and its scale as ``tail_scale``.

    This is ``cost.cv`` given without ``top5_share``: the default shape (the scenario schema's
    ``zero_cost_share`` 0.15, ``tail_probability`` 0.056, ``tail_shape`` 5 and ``tail_threshold``
    ``60 x pmpm``, the Medicare FFS fit) is kept and the lognormal body widens or narrows until
    the CV is met. With ``b = 1 - z - t`` and the body mean ``m_b = (M - t h alpha / (alpha -
    1)) / b`` (``M = 12 pmpm``), ``E[C^2] = exp(risk_sigma^2) (b m_b^2 exp(s^2) + t h^2 alpha /
    (alpha - 2)) = (1 + CV^2) M^2`` gives ``exp(s^2)``. The CV rises with ``s``, so a target
    outside the range that ``body_sigma`` in [0.001, 4] reaches raises ``ValueError`` naming it.

    >>> s = solve_body_sigma(1000.0, 2.2, risk_sigma=0.5)
    >>> round(s.body_sigma, 4), round(cost_moments(s).cv, 6)
    (1.1942, 2.2)
    """
    values = {"pmpm": pmpm, "cv": cv, "risk_sigma": risk_sigma, "tail_shape": tail_shape}
    for name, value in values.items():
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be a finite number; got {value}")
    threshold = default_tail_threshold(pmpm) if tail_threshold is None else float(tail_threshold)
    mean = 12.0 * pmpm
    a, h, t, z = tail_shape, threshold, tail_probability, zero_cost_share
    body_p = 1.0 - z - t
    pareto = tail_family == "pareto"
    body_mass = mean - t * tail_mean(h, a, tail_family, tail_scale)  # b m_b
    if body_p <= 0.0 or body_mass <= 0.0:
        raise ValueError(
            "the zero class and the tail leave no body to solve body_sigma with (lower "
            "zero_cost_share, tail_probability or tail_threshold)"
        )
    if t > 0.0 and (a <= 2.0 if pareto else a >= 0.5):
        raise ValueError(
            f"with a tail of shape {_fmt(a)} the cost CV is infinite; a cv target needs "
            f"{'tail_shape above 2' if pareto else 'a gpd xi below 1/2'}"
        )
    if not t > 0.0:
        tail_sq = 0.0
    elif pareto:
        tail_sq = t * h * h * a / (a - 2.0)
    else:
        tail_sq = t * tail_second_moment(h, a, tail_family, tail_scale)
    growth = math.exp(risk_sigma * risk_sigma)

    def cv_at(factor: float) -> float:
        ex2 = body_mass * body_mass / body_p * factor + tail_sq
        return math.sqrt(max(growth * ex2 / (mean * mean) - 1.0, 0.0))

    low, high = _body_factor_range(body_family)
    lo, hi = cv_at(low), cv_at(high)
    if not lo <= cv <= hi:
        body = "" if body_family == "lognormal" else f"a {body_family} body, "
        raise ValueError(
            f"with the tail and zero class held ({body}zero_cost_share {_fmt(z)}, "
            f"tail_probability {_fmt(t)}, tail_shape {_fmt(a)}, tail_threshold {h:,.0f} USD, "
            f"risk_sigma {_fmt(risk_sigma)}) the cost CV can range from {lo:.3f} to "
            f"{_fmt_cv(hi)}; got {_fmt(cv)}. Give top5_share beside cv to solve the tail too, "
            "or move the held fields"
        )
    body_sq = ((1.0 + cv * cv) * mean * mean / growth - tail_sq) * body_p / (body_mass * body_mass)
    if body_family == "lognormal":
        shape = min(max(math.sqrt(math.log(body_sq)), BODY_SIGMA_MIN), BODY_SIGMA_MAX)
    else:
        from simsettle.scenario.severity import cv_range, shape_from_cv  # (it imports this module)

        cv_lo, cv_hi = cv_range(body_family)
        shape = shape_from_cv(body_family, min(max(math.sqrt(body_sq - 1.0), cv_lo), cv_hi))
    return CostShape(
        zero_cost_share=z,
        body_sigma=shape,
        tail_probability=t,
        tail_threshold=h,
        tail_shape=a,
        risk_sigma=risk_sigma,
        pmpm=pmpm,
        body_family=body_family,
        tail_family=tail_family,
        tail_scale=tail_scale,
    )


class FixedShape(TypedDict, total=False):
    """The cost-shape parameters that :func:`solve_cost` and :func:`cost_solutions` hold fixed
    (``risk_sigma`` is required; the others take :func:`cost_solutions`' defaults)."""

    risk_sigma: Required[float]
    zero_cost_share: float
    tail_shape: float
    tail_threshold: float | None
    body_family: str
    tail_family: str
    tail_scale: float


def solve_cost(pmpm: float, cv: float, top5_share: float, **fixed: Unpack[FixedShape]) -> CostShape:
    """The cost shape with mean ``pmpm``, coefficient of variation ``cv`` and top-5% share.

    ``body_sigma`` and ``tail_probability`` are solved for; the keywords (:class:`FixedShape`)
    are held fixed: ``risk_sigma``, ``zero_cost_share`` (default 0.15), ``tail_shape`` (default
    4) and ``tail_threshold`` (default five times the mean annual cost, ``60 x pmpm``).
    The CV and top-5% share of the result (:func:`cost_moments`) match the targets to better
    than 1e-9. Where several shapes match (see :func:`cost_solutions`), the one with the
    smallest tail probability is returned. Raises ``ValueError``, naming the
    attainable range, when no shape of the model matches. Results are cached.

    >>> s = solve_cost(1000.0, 2.5, 0.45, risk_sigma=0.5)
    >>> round(s.body_sigma, 4), round(s.tail_probability, 4)
    (1.3051, 0.04)
    """
    return cost_solutions(pmpm, cv, top5_share, **fixed)[0]
