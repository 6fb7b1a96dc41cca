"""Survival functions and partial expectations of the severity laws, and of the laws times the
member's risk score, for spend-concentration statistics.

A member-year's annual cost is ``C = R X``: ``R`` lognormal with mean 1 and log-sd ``risk_sigma``
(``log R ~ N(-risk_sigma^2 / 2, risk_sigma^2)``), independent of ``X``, a mixture of a zero
class, a body of one of the families of :mod:`simsettle.scenario.severity` and a tail (a
threshold plus a generalised Pareto excess). For each component law ``X`` this module gives
``S(x) = P(X > x)`` and ``PE(x) = E[X; X > x]`` (:func:`family_parts`, :func:`excess_parts`),
and the same two for ``R X`` (:func:`risk_mixed_parts`), on numpy arrays.

Closed forms of the components (shape and scale ``c`` as in the table of
:mod:`simsettle.scenario.severity`; ``Phi`` the normal cdf, ``Q(a, t)`` the regularised upper
incomplete gamma function ``scipy.special.gammaincc``, ``I_s(a, b)`` the regularised incomplete
beta function ``scipy.special.betainc``):

================  ==========================================  ======================================
family            ``S(x)``                                    ``PE(x)``
================  ==========================================  ======================================
lognormal         ``Phi((log c - log x) / s)``                ``m Phi((log c - log x) / s + s)``
gamma             ``Q(a, x / c)``                             ``a c Q(a + 1, x / c)``
weibull           ``exp(-t)``, ``t = (x / c)^k``              ``c Gamma(1 + 1/k) Q(1 + 1/k, t)``
lomax             ``(1 + x / c)^-alpha``                      ``S (x + (c + x) / (alpha - 1))``
pareto            ``(x / c)^-alpha`` (1 below ``c``)          ``S x alpha / (alpha - 1)`` (``m``)
gpd               ``(1 + xi x / c)^(-1 / xi)``                ``S (x + (c + xi x) / (1 - xi))``
inverse_gaussian  ``Phi(-A) - e^(2 phi) Phi(-B)``             ``c (Phi(-A) + e^(2 phi) Phi(-B))``
loglogistic       ``1 / (1 + (x / c)^beta)``                  ``m I_S(1 - 1/beta, 1 + 1/beta)``
================  ==========================================  ======================================

``m`` is the mean, ``s`` the lognormal's log-sd, ``k`` the weibull's shape. The lomax and gpd
partial expectations integrate the survival function, ``PE(x) = x S(x) + int_x^inf S``. The
gpd's ``log1p(xi t) / xi`` (``t = x / c``) is taken as ``t log1p(z) / z`` with ``z = xi t``
(``1 - z / 2 + z^2 / 3`` for ``|z| < 1e-8``), exact at ``xi = 0`` (the exponential) and for
every ``xi`` near it; for ``xi < 0`` the support ends at ``hi = -c / xi``, where ``S`` falls like
``(hi - x)^(-1/xi)`` and is ill-conditioned: one rounding of ``x`` moves it by ``1e-16 hi / (hi
- x) / |xi|`` relatively. The inverse Gaussian (``phi = lambda / mu`` its shape, ``mu = c``, ``t
= x / mu``) has ``A = sqrt(phi / t) (t - 1)`` and ``B = sqrt(phi / t) (t + 1)``; as ``B^2 - A^2
= 4 phi``, ``e^(2 phi) Phi(-B) = erfcx(B / sqrt 2) exp(-A^2 / 2) / 2``, which cannot overflow
(``exp(2 phi)`` alone overflows for ``phi > 354``), and for ``A >= 0`` ``S = exp(-A^2 / 2)
(erfcx(A / sqrt 2) - erfcx(B / sqrt 2)) / 2``, the difference taken without cancellation (the
asymptotic series of ``erfcx`` term by term for ``A / sqrt 2 >= 7``, Taylor's series in ``(B -
A) / sqrt 2 <= 0.05`` otherwise), so that the far tail keeps its relative accuracy. The
log-logistic's partial expectation follows from the substitution ``u = S(y)``: ``PE = int_0^S c
((1 - u) / u)^(1/beta) du``. The excess over a threshold (:func:`excess_parts`) is the gpd
shifted: ``S_T(x) = S_Y(x - h)``, ``PE_T(x) = h S_Y(x - h) + PE_Y(x - h)``.

Method of :func:`risk_mixed_parts`
----------------------------------
With ``u`` standard normal and ``R(u) = exp(risk_sigma u - risk_sigma^2 / 2)``, ``P(R X > x) =
int phi(u) S(x / R(u)) du``, and since ``R(u) phi(u) = phi(u - risk_sigma)`` (the size-biased
risk), ``E[R X; R X > x] = int phi(u - risk_sigma) PE(x / R(u)) du``: both integrals run over
the same points ``x / R(u)``, so one evaluation of the component serves both. ``x / R(u)`` falls
as ``u`` rises; where it is below the support's lower end ``lo`` the integrands are ``phi(u)`` and
``m phi(u - risk_sigma)``, integrated in closed form (normal cdfs), and where it is above the
upper end ``hi`` they are 0, so each support end is an end of the integration range. The rest is
integrated per ``x`` (a 2-D array, ``x`` by nodes, in blocks of ``x``) by a composite 16-point
Gauss-Legendre rule whose panel ends are

* points graded to the normal weights: across a panel neither ``log phi(u)`` nor ``log phi(u -
  risk_sigma)`` changes by more than 7 (wide panels near the middle, narrow ones in the tails);
* the points where ``S(x / R(u))`` and ``PE(x / R(u)) / m`` pass the logits ``36, 29, ...,
  -34`` (``S`` from ``1 - 2e-16`` to ``2e-15``): the component's log-quantiles ``v_k``, found once
  per component by bisection (a few ms, cached on the :class:`Component`) and moved to ``u_k =
  (log x + risk_sigma^2 / 2 - v_k) / risk_sigma`` for each ``x``. They resolve a narrow or steep
  component (a lognormal of log-sd 0.01, a pareto of shape 100) at any ``risk_sigma``; a level
  whose neighbours both lie farther apart than the widest weight panel is dropped, as the weight
  panels resolve it there;
* for a bounded gpd (``xi < 0``, non-integer ``-1/xi``), a grading toward the end, ``x_k = hi -
  (hi - lo) 2^-k``, which resolves the end's power singularity ``(hi - x)^(-1/xi)``.

The ``u`` range reaches as far as the result needs: ``P(R X > x) >= P(X > y) P(R > x / y)`` and
``E[R X; R X > x] >= E[X; X > y] E[R; R > x / y]`` at the levels ``y`` bound the results from
below and the integrands are at most ``phi(u)`` and ``m phi(u - risk_sigma)``, so the range stops
where the normal mass left out is below ``1e-14`` times the bound (at most ``|u| = 38``, where
``phi`` underflows). The results therefore keep their relative accuracy down to about ``1e-300``.
Every kink of the integrand lies on a panel end, and a block keeps only the panels inside its
ranges. ``x = 0`` gives ``(P(X > 0), E[X])``, ``risk_sigma = 0`` the component's own parts.

Accuracy and cost
-----------------
Measured by ``tests/test_mixed.py`` (values down to 1e-300 unless said): :func:`family_parts`
agrees with scipy.stats' ``sf`` to 2e-13 (3e-14 but for the inverse Gaussian) where scipy's own is
accurate, and with mpmath at 400 digits to 2e-13 in the far tails where scipy's cancels (the
inverse Gaussian's; the log-logistic's ``sf`` is ``1 - cdf``, 3e-11 off at 1e-6); its partial
expectations agree with quad of ``x f(x)`` to 1e-11 (the quad's own error: 6e-10 for the gamma of
shape 1e6, where mpmath confirms ours to 1e-15). :func:`risk_mixed_parts` agrees with the lognormal
closed form to 3e-13 (log-sds 0.01 to 4, ``risk_sigma`` 0.05 to 3, 30 sds either side of the mean),
with :meth:`simsettle.scenario.costs._Dist._tail` for the pareto to 4e-14 (shapes 1.01 to 4) and
5e-13 (shape 100), with adaptive quadrature over ``u`` to 7e-14 for the other families and the gpd
excess, with the same rule at 24 nodes and steps of 3.5 to 4e-13 for every family across its shape
range, and with 1e6 Monte Carlo draws within 2 standard errors. The 16-point rule with steps of 7
was the cheapest of the rules tried (8 to 24 nodes, steps 3 to 10) that held 1e-12 against a
20-node rule with steps of 1; 8 nodes with steps of 4 left 7e-9. One fixed rule of 12 equal panels
of 8 nodes across the clipped range (96 nodes a point, a fifth of the cost) is as good for a broad
component at a small ``risk_sigma`` (1e-11 for a gamma of shape 1 at 0.5) but errs by 2e-7 for a
lognormal of log-sd 1.2 at ``risk_sigma`` 3, 1e-5 for a gpd of shape -0.9, 2e-2 for a pareto of
shape 100 and 0.7 for a lognormal of log-sd 0.01 at 3, where the integrand is a step narrower than
its panels. A call takes 0.2 to 0.5 ms for one ``x`` (after a one-off 3 to 13 ms to find the
component's levels) and 0.1 to 1.5 s for 10,000 (about 30 panels of 16 nodes a point; ``gamma``,
whose incomplete gamma functions cost 0.15 us each, is the slowest), on one core of the development
machine.

Numpy at module level only; scipy is imported inside the functions that need it, so that
``import simsettle.scenario`` does not load it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from simsettle.scenario.severity import FAMILIES, mean_factor, shape_error

__all__ = [
    "Component",
    "Parts",
    "excess_parts",
    "family_parts",
    "risk_mixed_parts",
]

Array = NDArray[np.float64]
#: ``S`` and ``PE`` at an array of points.
Parts = Callable[[Array], tuple[Array, Array]]

_SQRT2: Final = math.sqrt(2.0)
_SQRT_PI: Final = math.sqrt(math.pi)
_INV_SQRT_2PI: Final = 1.0 / math.sqrt(2.0 * math.pi)

#: Farthest reach of the ``u`` range (``phi`` underflows at 38.6).
_U_MAX: Final = 38.0
#: Most normal mass left out of the ``u`` range, relative to a lower bound of the result.
_DROP: Final = 1e-14
#: Largest change of the log of a normal weight, or of the logit of ``S`` or ``PE / m``,
#: across one panel.
_STEP: Final = 7.0
#: Gauss-Legendre nodes per panel.
_GL_NODES: Final = 16
_GL_T, _GL_W = np.polynomial.legendre.leggauss(_GL_NODES)
#: Logit levels of ``S`` and ``PE / m`` at which the panels are split.
_TOP_LEVEL: Final = 36.0
_LEVELS: Final = np.arange(_TOP_LEVEL, -40.5, -_STEP)
#: Bisection steps for a level from its bracket of width 1 in ``log x`` (to 1e-3).
_BISECTIONS: Final = 10
#: Points ``x`` per block of the 2-D quadrature (bounds the memory at about 30 MB a block).
_BLOCK: Final = 1024
#: Where the inverse Gaussian's erfcx difference switches to the asymptotic series.
_ERFCX_SERIES_FROM: Final = 7.0
_ERFCX_TERMS: Final = 30
#: ``-log`` of the ratio of the grading toward a bounded support's end (halving).
_END_RATIO_LOG: Final = math.log(2.0)
#: Below this step (and ``p < 7``) the erfcx difference is taken from Taylor's series.
_TAYLOR_UP_TO: Final = 0.05
_TAYLOR_TERMS: Final = 16


def _as_array(x: ArrayLike) -> Array:
    return np.asarray(x, dtype=np.float64)


# ------------------------------------------------------------------------------ components


def _gpd(xi: float, sigma: float, y: Array) -> tuple[Array, Array]:
    """``S`` and ``PE`` of the generalised Pareto excess ``Y`` (from 0) at ``y >= 0``."""
    t = y / sigma
    z = xi * t
    inside = z > -1.0 if xi < 0.0 else np.ones(y.shape, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        small = np.abs(z) < 1e-8
        ratio = np.where(small, 1.0 - z * (0.5 - z / 3.0), np.log1p(z) / np.where(small, 1.0, z))
        s = np.where(inside, np.exp(-t * ratio), 0.0)
        pe = np.where(s > 0.0, s * (y + (sigma + xi * y) / (1.0 - xi)), 0.0)
    return s, pe


def _erfcx_series_difference(p: Array, d: Array) -> Array:
    """``erfcx(p) - erfcx(p + d)`` for ``p >= 7``, ``d >= 0``, from the asymptotic series
    ``erfcx(z) = sum_n (-1)^n (2n - 1)!! / 2^n z^-(2n + 1) / sqrt(pi)`` term by term:
    ``p^-k - (p + d)^-k = -p^-k expm1(-k log1p(d / p))``. At ``p = 7`` the 30th term is below
    1e-19 of the first."""
    lg = np.log1p(d / p)
    inv2 = 1.0 / (p * p)
    power = 1.0 / p  # p^-(2n + 1)
    coef = 1.0  # (-1)^n (2n - 1)!! / 2^n
    out = np.zeros_like(p)
    for n in range(_ERFCX_TERMS):
        out += coef * power * -np.expm1(-(2 * n + 1) * lg)
        coef *= -(2 * n + 1) / 2.0
        power = power * inv2
    return out / _SQRT_PI


def _erfcx_taylor_difference(p: Array, d: Array) -> Array:
    """``erfcx(p) - erfcx(p + d)`` for ``0 <= p < 7``, ``0 <= d <= 0.05``, by Taylor's series
    ``-sum_n y_n d^n / n!`` with ``y_1 = 2 p erfcx(p) - 2 / sqrt(pi)`` and ``y_(n+1) = 2 p y_n
    + 2 n y_(n-1)`` (the recurrence loses accuracy with ``n``, but the terms fall like ``(2 p
    d)^n / n!``, so 16 of them are exact to rounding)."""
    from scipy import special

    prev = special.erfcx(p)
    cur = 2.0 * p * prev - 2.0 / _SQRT_PI
    term = np.ones_like(p)
    out = np.zeros_like(p)
    for n in range(1, _TAYLOR_TERMS + 1):
        term = term * d / n
        out -= cur * term
        prev, cur = cur, 2.0 * p * cur + 2.0 * n * prev
    return out


def _erfcx_difference(p: Array, d: Array) -> Array:
    """``erfcx(p) - erfcx(p + d)`` for ``p, d >= 0`` without the cancellation of a plain
    difference when ``d`` is small: the asymptotic series for ``p >= 7``, Taylor's series for
    ``d <= 0.05``, the plain difference (which then loses at most two digits) otherwise."""
    from scipy import special

    series = p >= _ERFCX_SERIES_FROM
    taylor = ~series & (d <= _TAYLOR_UP_TO)
    out: Array = special.erfcx(p) - special.erfcx(p + d)
    if series.any():
        out[series] = _erfcx_series_difference(p[series], d[series])
    if taylor.any():
        out[taylor] = _erfcx_taylor_difference(p[taylor], d[taylor])
    return out


def _inverse_gaussian(phi: float, mu: float, y: Array) -> tuple[Array, Array]:
    """``S`` and ``PE`` of the inverse Gaussian (``phi = lambda / mu``) at ``y >= 0``."""
    from scipy import special

    t = np.atleast_1d(y / mu)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = np.sqrt(phi / t)
        a = r * (t - 1.0)
        b = r * (t + 1.0)
        damp = np.exp(-0.5 * a * a)
        second = 0.5 * special.erfcx(b / _SQRT2) * damp  # e^(2 phi) Phi(-B)
        first = special.ndtr(-a)
        right = a >= 0.0
        s = first - second
        s[right] = 0.5 * damp[right] * _erfcx_difference(a[right] / _SQRT2, _SQRT2 * r[right])
        pe = mu * (first + second)
        zero = t <= 0.0
        s = np.where(zero, 1.0, s)
        pe = np.where(zero, mu, pe)
    return s.reshape(y.shape), pe.reshape(y.shape)


def family_parts(family: str, shape: float, scale: float, x: ArrayLike) -> tuple[Array, Array]:
    """``S(x) = P(X > x)`` and ``PE(x) = E[X; X > x]`` of ``family`` with ``shape`` and
    ``scale`` (the parametrisation of :mod:`simsettle.scenario.severity`) at ``x >= 0``
    (``x = 0`` gives ``P(X > 0) = 1`` and ``E[X]``); the closed forms are in the module's table.

    Raises ValueError for an unknown family or a shape outside ``SHAPE_LIMITS``.
    """
    why = _check_family(family, shape, scale)
    if why is not None:
        raise ValueError(why)
    y = np.maximum(_as_array(x), 0.0)
    mean = scale * mean_factor(family, shape)
    s: Array
    pe: Array
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        if family == "lognormal":
            from scipy import special

            z = (math.log(scale) - np.log(y)) / shape
            s, pe = special.ndtr(z), mean * special.ndtr(z + shape)
        elif family == "gamma":
            from scipy import special

            t = y / scale
            s, pe = special.gammaincc(shape, t), mean * special.gammaincc(shape + 1.0, t)
        elif family == "weibull":
            from scipy import special

            t = (y / scale) ** shape
            s, pe = np.exp(-t), mean * special.gammaincc(1.0 + 1.0 / shape, t)
        elif family == "lomax":
            s = np.exp(-shape * np.log1p(y / scale))
            pe = np.where(s > 0.0, s * (y + (scale + y) / (shape - 1.0)), 0.0)
        elif family == "pareto":
            above = y > scale
            s = np.where(above, np.exp(-shape * np.log(y / scale)), 1.0)
            pe = np.where(above, np.where(s > 0.0, s * y, 0.0) * (shape / (shape - 1.0)), mean)
        elif family == "gpd":
            s, pe = _gpd(shape, scale, y)
        elif family == "inverse_gaussian":
            s, pe = _inverse_gaussian(shape, scale, y)
        else:  # loglogistic
            from scipy import special

            w = shape * np.log(y / scale)
            s = special.expit(-w)
            pe = mean * special.betainc(1.0 - 1.0 / shape, 1.0 + 1.0 / shape, s)
        s = np.where(np.isposinf(y), 0.0, s)
        pe = np.where(np.isposinf(y), 0.0, pe)
    return s, pe


def _check_family(family: str, shape: float, scale: float) -> str | None:
    if family not in FAMILIES:
        return f"unknown severity family {family!r}; expected one of {', '.join(FAMILIES)}"
    if not (scale > 0.0 and math.isfinite(scale)):
        return f"the {family} scale must be positive and finite; got {scale:g}"
    return shape_error(family, shape)


def excess_parts(threshold: float, xi: float, sigma: float, x: ArrayLike) -> tuple[Array, Array]:
    """``S`` and ``PE`` of ``T = threshold + Y``, ``Y`` generalised Pareto (``xi`` in ``[-1,
    1)``, scale ``sigma``) from 0: 1 and ``E[T] = threshold + sigma / (1 - xi)`` below the
    threshold; above it, with ``y = x - threshold``, ``S_T(x) = S_Y(y)`` and ``PE_T(x) =
    threshold S_Y(y) + PE_Y(y) = S_Y(y) (x + (sigma + xi y) / (1 - xi))``. The single-parameter
    Pareto of shape alpha from ``h`` is ``xi = 1 / alpha``, ``sigma = h / alpha``."""
    if not (-1.0 <= xi < 1.0 and sigma > 0.0 and threshold >= 0.0):
        raise ValueError(
            f"an excess needs xi in [-1, 1), sigma > 0 and threshold >= 0; got xi {xi:g}, "
            f"sigma {sigma:g}, threshold {threshold:g}"
        )
    xa = _as_array(x)
    y = np.maximum(xa - threshold, 0.0)
    s, pe_y = _gpd(xi, sigma, y)
    mean = threshold + sigma / (1.0 - xi)
    above = xa > threshold
    s = np.where(above, s, 1.0)
    pe = np.where(above, threshold * s + pe_y, mean)
    return s, pe


@dataclass(frozen=True)
class Component:
    """One component law ``X`` of the cost mixture: ``parts(x)`` gives ``S(x)`` and ``PE(x)``;
    ``mean`` is ``E[X]``; the support is ``[lo, hi]`` (``S = 1`` and ``PE = mean`` below
    ``lo``, ``S = PE = 0`` above ``hi``). Build one with :meth:`family` or :meth:`excess`."""

    parts: Parts = field(repr=False)
    mean: float
    lo: float = 0.0
    hi: float = math.inf
    label: str = ""
    #: ``-1 / xi`` of a bounded generalised Pareto (``S`` falls like ``(hi - x)^end_power``).
    end_power: float = 0.0

    @classmethod
    def family(cls, family: str, shape: float, scale: float) -> Component:
        """A severity family of :mod:`simsettle.scenario.severity`."""
        why = _check_family(family, shape, scale)
        if why is not None:
            raise ValueError(why)
        lo = scale if family == "pareto" else 0.0
        hi = -scale / shape if family == "gpd" and shape < 0.0 else math.inf
        return cls(
            parts=functools.partial(family_parts, family, shape, scale),
            mean=scale * mean_factor(family, shape),
            lo=lo,
            hi=hi,
            label=f"{family}(shape={shape:g}, scale={scale:g})",
            end_power=-1.0 / shape if math.isfinite(hi) else 0.0,
        )

    @classmethod
    def excess(cls, threshold: float, xi: float, sigma: float) -> Component:
        """``threshold`` plus a generalised Pareto excess (:func:`excess_parts`)."""
        excess_parts(threshold, xi, sigma, 0.0)  # validates
        return cls(
            parts=functools.partial(excess_parts, threshold, xi, sigma),
            mean=threshold + sigma / (1.0 - xi),
            lo=threshold,
            hi=threshold - sigma / xi if xi < 0.0 else math.inf,
            label=f"excess(threshold={threshold:g}, xi={xi:g}, sigma={sigma:g})",
            end_power=-1.0 / xi if xi < 0.0 else 0.0,
        )

    @functools.cached_property
    def log_knots(self) -> tuple[Array, Array]:
        """``log x`` where ``S`` and ``PE / mean`` pass the logit levels ``_LEVELS`` (each
        ascending; levels the function does not cross inside its support are left out), with
        :meth:`_end_knots` added to both."""
        end = self._end_knots()
        return np.union1d(self._levels[0], end), np.union1d(self._levels[2], end)

    @functools.cached_property
    def _levels(self) -> tuple[Array, Array, Array, Array]:
        """``log x`` where ``S`` and ``PE / mean`` pass the levels, and their values there: ``S``'s
        points and values, then ``PE / mean``'s. Each level is bracketed on a grid of the
        support's ``log x`` in steps of 1, then bisected ``_BISECTIONS`` times (to about 1e-3;
        the points are panel ends, which need not be exact), both functions' levels at once
        (one call of ``parts`` a step)."""
        centre = math.log(self.mean)
        v_min = math.log(self.lo) if self.lo > 0.0 else max(centre - 750.0, -745.0)
        v_max = math.log(self.hi) if math.isfinite(self.hi) else min(centre + 750.0, 709.0)
        coarse = np.linspace(v_min, v_max, max(int(v_max - v_min), 2) + 1)
        lo_parts, hi_parts, level_parts, count = [], [], [], []
        for logit in self._logits(coarse):
            # The last grid point still above each level (the logit falls with x).
            i = np.searchsorted(-logit, -_LEVELS, side="left") - 1
            inside = (i >= 0) & (i < coarse.size - 1)
            lo_parts.append(coarse[i[inside]])
            hi_parts.append(coarse[i[inside] + 1])
            level_parts.append(_LEVELS[inside])
            count.append(int(inside.sum()))
        lo, hi = np.concatenate(lo_parts), np.concatenate(hi_parts)
        levels = np.concatenate(level_parts)
        is_s = np.arange(lo.size) < count[0]
        for _ in range(_BISECTIONS):
            mid = 0.5 * (lo + hi)
            logit_s, logit_pe = self._logits(mid)
            above = np.where(is_s, logit_s, logit_pe) > levels  # above the level: move right
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        v = 0.5 * (lo + hi)
        value = 1.0 / (1.0 + np.exp(-levels))
        out: list[Array] = []
        for part in (is_s, ~is_s):
            v_part, value_part = v[part], value[part]
            keep = (v_part > v_min) & (v_part < v_max)
            keep[1:] &= np.diff(v_part) > 0.0
            out += [v_part[keep], value_part[keep]]
        return out[0], out[1], out[2], out[3]

    def _logits(self, v: Array) -> tuple[Array, Array]:
        """The logits of ``S`` and ``PE / mean`` at ``x = exp(v)`` (``inf`` where one is 1)."""
        # (At the grid's far end, x near the largest float, a scale's division overflows and
        # 0 x inf is NaN where both parts are 0.)
        with np.errstate(over="ignore", invalid="ignore"):
            s, pe = self.parts(np.exp(v))
        out = []
        for f in (s, pe / self.mean):
            f = np.clip(np.where(np.isnan(f), 0.0, f), 0.0, 1.0)
            with np.errstate(divide="ignore"):
                out.append(np.log(f) - np.log1p(-f))
        return out[0], out[1]

    def _end_knots(self) -> Array:
        """``log x`` of a geometric grading toward a bounded support's upper end, where ``S``
        and ``PE`` fall like ``(hi - x)^power``: ``x_k = hi - (hi - lo) / 2^k`` down to where the
        rest of the range carries less than ``1e-10`` of the integral (none for an integer power,
        which is smooth)."""
        p = self.end_power
        if not math.isfinite(self.hi) or p <= 0.0 or abs(p - round(p)) < 1e-9:
            return np.empty(0)
        depth = math.ceil(10.0 * math.log(10.0) / ((p + 1.0) * _END_RATIO_LOG)) + 1
        k = np.arange(1, depth + 1, dtype=np.float64)
        gaps = (self.hi - self.lo) * np.exp(-_END_RATIO_LOG * k)
        out: Array = np.log(self.hi - gaps)
        return out


def _weight_edges(sr: float) -> Array:
    """Panel ends across ``[-38, 38 + sr]`` over which neither ``log phi(u)`` nor ``log phi(u -
    sr)`` changes by more than ``_STEP``: symmetric about ``c = sr / 2``, at the distances ``d``
    from it where ``(d^2 + 2 c d) / 2`` (the larger change, from ``c``) is a multiple of the step.
    """
    c = 0.5 * sr
    d_max = _U_MAX + c
    k = np.arange(math.ceil((d_max * d_max + 2.0 * c * d_max) / (2.0 * _STEP)))
    d = np.append(np.sqrt(c * c + 2.0 * _STEP * k) - c, d_max)
    return np.unique(np.concatenate((c - d, c + d)))


def _thin(knots: Array, gap: float) -> Array:
    """The knots with a neighbour nearer than ``gap``."""
    if knots.size < 2:
        return knots[:0]
    d = np.diff(knots)
    left = np.concatenate(([np.inf], d))
    right = np.concatenate((d, [np.inf]))
    out: Array = knots[np.minimum(left, right) < gap]
    return out


def _mixed_block(
    c: Component, sr: float, lx: Array, knots: Array, edges: Array
) -> tuple[Array, Array]:
    """The quadrature of :func:`risk_mixed_parts` for ``x = exp(lx) > 0`` (1-D)."""
    from scipy import special

    half = 0.5 * sr * sr
    with np.errstate(divide="ignore"):
        u_lo = (lx - math.log(c.lo) + half) / sr if c.lo > 0.0 else np.full(lx.shape, np.inf)
    u_hi = (lx - math.log(c.hi) + half) / sr if math.isfinite(c.hi) else np.full(lx.shape, -np.inf)
    surv = special.ndtr(-u_lo)
    partial = c.mean * special.ndtr(sr - u_lo)
    # Lower bounds of the results, P(R X > x) >= P(X > y) P(R > x / y) and E[R X; R X > x]
    # >= E[X; X > y] E[R; R > x / y] at the levels y: where the weight phi(u) (phi(u - sr))
    # bounds the integrand, the u range can stop where the normal mass left out is below
    # _DROP times them.
    vs, fs, vp, fp = c._levels
    bound_s = np.max(fs * special.ndtr((vs - lx[:, None] - half) / sr), axis=1, initial=0.0)
    bound_p = np.max(fp * special.ndtr(sr + (vp - lx[:, None] - half) / sr), axis=1, initial=0.0)
    reach_s = np.minimum(-special.ndtri(0.5 * _DROP * np.maximum(bound_s, surv)), _U_MAX)
    reach_p = np.minimum(
        -special.ndtri(0.5 * _DROP * np.maximum(bound_p, partial / c.mean)), _U_MAX
    )
    a = np.maximum(u_hi, np.minimum(-reach_s, sr - reach_p))
    b = np.maximum(np.minimum(u_lo, np.maximum(reach_s, sr + reach_p)), a)

    ends = np.concatenate(
        (
            np.broadcast_to(edges, (lx.size, edges.size)),
            (lx[:, None] + half - knots[None, :]) / sr,
        ),
        axis=1,
    )
    ends.sort(axis=1)
    # Keep only the ends inside (a, b), shifted to the front of each row, between a and b.
    inside = (ends > a[:, None]) & (ends < b[:, None])
    count = inside.sum(axis=1)
    first = (ends <= a[:, None]).sum(axis=1)
    j = np.arange(int(count.max()) if count.size else 0)
    taken = np.take_along_axis(ends, np.minimum(first[:, None] + j, ends.shape[1] - 1), axis=1)
    ends = np.concatenate(
        (a[:, None], np.where(j < count[:, None], taken, b[:, None]), b[:, None]), axis=1
    )
    half_w = 0.5 * (ends[:, 1:] - ends[:, :-1])
    mid = 0.5 * (ends[:, 1:] + ends[:, :-1])
    u = mid[:, :, None] + half_w[:, :, None] * _GL_T
    w = half_w[:, :, None] * _GL_W
    with np.errstate(over="ignore"):
        y = np.exp(lx[:, None, None] + half - sr * u)
    s, pe = c.parts(y)
    ws = w * np.exp(-0.5 * u * u) * _INV_SQRT_2PI
    wp = w * np.exp(-0.5 * (u - sr) ** 2) * _INV_SQRT_2PI
    surv = surv + (ws * s).sum(axis=(1, 2))
    partial = partial + (wp * pe).sum(axis=(1, 2))
    return surv, partial


def risk_mixed_parts(component: Component, risk_sigma: float, x: ArrayLike) -> tuple[Array, Array]:
    """``P(R X > x)`` and ``E[R X; R X > x]`` for ``X`` the ``component`` and ``R`` lognormal
    with mean 1 and log-sd ``risk_sigma``, independent, at ``x >= 0`` (the module's method;
    ``x = 0`` gives ``P(X > 0)`` and ``E[X]``, ``risk_sigma = 0`` the component's own parts)."""
    if not (risk_sigma >= 0.0 and math.isfinite(risk_sigma)):
        raise ValueError(f"risk_sigma must be finite and non-negative; got {risk_sigma:g}")
    xa = _as_array(x)
    # Below 1e-15 the risk score is 1 to within 4e-14 over the normal's whole reach (|u| <= 38),
    # and the quadrature's steps in u would divide by it: the component's own parts.
    if risk_sigma < 1e-15:
        s0, pe0 = component.parts(np.maximum(xa, 0.0))
        return np.asarray(s0, dtype=np.float64), np.asarray(pe0, dtype=np.float64)
    flat = xa.ravel()
    surv = np.full(flat.shape, np.nan)
    partial = np.full(flat.shape, np.nan)
    zero = flat <= 0.0
    if zero.any():
        s0, pe0 = component.parts(np.zeros(1))
        surv[zero] = s0[0]
        partial[zero] = pe0[0]
    far = np.isposinf(flat)
    surv[far] = 0.0
    partial[far] = 0.0
    pos = np.flatnonzero((flat > 0.0) & ~far)  # NaN stays NaN
    if pos.size:
        edges = _weight_edges(risk_sigma)
        gap = float(np.diff(edges).max()) * risk_sigma  # the widest u panel, in log x
        ks, kp = component.log_knots
        knots = np.union1d(_thin(ks, gap), _thin(kp, gap))
        # Sorted, so that the points of a block need about the same panels.
        pos = pos[np.argsort(flat[pos], kind="stable")]
        lx = np.log(flat[pos])
        for start in range(0, pos.size, _BLOCK):
            sl = slice(start, start + _BLOCK)
            s_b, p_b = _mixed_block(component, risk_sigma, lx[sl], knots, edges)
            surv[pos[sl]] = s_b
            partial[pos[sl]] = p_b
    return surv.reshape(xa.shape), partial.reshape(xa.shape)
