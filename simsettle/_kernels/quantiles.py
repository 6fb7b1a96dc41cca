"""Quantiles of the gamma and inverse Gaussian distributions, accurate in both tails.

* :func:`gamma_quantile` ``(a, u, s)``: the quantile of the gamma distribution of shape ``a`` and
  scale 1 at probability ``u``, given also ``s = 1 - u``.
* :func:`inverse_gaussian_quantile` ``(lam, u, s)``: the quantile of the inverse Gaussian
  distribution of mean 1 and shape ``lam`` (``lambda / mu``) at ``u``, given also ``s``.

The caller passes both ``u`` and ``s`` as it knows them: the lower half (``u <= 1/2``) solves
``F(x) = u`` and reads only ``u``, the upper half solves ``S(x) = s`` and reads only ``s`` (where
``u`` has rounded to 1). Either is read as :data:`TINY` where it is below it (``s = 0`` gives a
large finite quantile, not infinity); there is no other validation.

Method. Both solve in ``t = log x`` for ``G(t) = log F(e^t)`` (``log S`` in the upper half) by
Halley's steps, ``G'' = G' d log D / dt - G'^2`` with ``D = x f(x)``, from a start inside a
bracket that always holds the root (:func:`_solve`); a step that leaves the bracket or is not
finite bisects it instead, and at most 50 steps are taken (the tests' grid and random sweeps
take 1 to 4 for the gamma, 1 to 5 for the inverse Gaussian). The iteration stops once a step is
below ``1e-10 (1 + 1e-5 |t|)``.

* Gamma: ``P(a, x)`` by its series ``x^a e^-x / Gamma(a + 1) sum x^n / ((a + 1) ... (a + n))``
  where ``x < a + 1``, ``Q(a, x)`` by Legendre's continued fraction (modified Lentz) where ``x >=
  a + 1``, each in log space and at most ``128 + 12 sqrt(a)`` terms (12128 at ``a = 1e6``;
  convergence needs at most about ``9 sqrt(a)`` for the series, ``sqrt(a)`` for the fraction,
  and up to 93 for the fraction at small ``a``); for ``a < 1`` and ``x < a + 1``, ``Q`` by the
  series of ``1 - P`` with the leading ``1 - x^a / Gamma(a + 1)`` by ``expm1`` (at most 40
  terms), so that a small ``Q`` of a small shape keeps its digits. The other tail is ``log(1 -
  e^G)`` (:func:`_log1mexp`). ``lgamma(1 + a)`` is ``vlgamma1p`` (a series for ``a <= 3/2``:
  ``lgamma(1.0 + a)`` would lose ``a``'s digits to the rounding of ``1 + a``, 1e-12 relative at
  ``a = 1e-4``); it, ``log a`` and the Stirling terms are computed once per quantile. Where
  ``G`` is the tail that the series or the fraction gives, ``dG / dt`` is ``a`` over the
  series' sum or 1 over the fraction (no ``exp``).
  From ``a = 10`` the prefactor ``x^a e^-x / Gamma(a + 1)`` is ``exp(-a phi(x / a)) / sqrt(2 pi
  a) / exp(stirlerr(a))``, ``phi(r) = r - 1 - log r`` by its series near 1, so that ``a log x``,
  ``x`` and ``lgamma(a + 1)`` do not cancel in floating point. Start: the largest of ``(u
  Gamma(a + 1))^(1/a)`` (a lower bound of the root, corrected to second order), Wilson and
  Hilferty's ``a (1 - 1/(9a) + z / (3 sqrt a))^3`` (``z = ndtri(u, s)``, where positive) and, in
  the upper half, ``x = -log s - lgamma(a) + (a - 1) log x`` iterated twice (where above ``a +
  1``). Bracket: ``(log u + lgamma(a + 1)) / a`` below (``P <= x^a / Gamma(a + 1)``); above,
  ``log(a + 1)`` (the median is below the mean) or, in the upper half, ``log(2 (a - log s))``
  (Chernoff's ``Q(a, x) <= exp(-a phi(x / a))``).
* Inverse Gaussian: with ``q = sqrt(lam / x)``, ``v = q (x - 1)``, ``w = q (x + 1)``, ``exp(2
  lam) Phi(-w) = phi(v) m(w)`` exactly (``m`` the Mills ratio ``Phi(-y) / phi(y)``), so ``F(x) =
  phi(v) (m(-v) + m(w))`` below 1 and ``S(x) = phi(v) (m(v) - m(w))`` above, with no
  ``exp(2 lam)`` anywhere; ``x f(x) = q phi(v)``. ``m`` is Cody's (``mills_ratio``) below 2.5 and
  Laplace's continued fraction above (depth ``12 + 520 / y^2``, at most 95); from ``x = 8`` the
  difference ``m(v) - m(v + 2q)`` is a series in ``2q`` (at most 40 terms, or depth 115
  backwards: :func:`_mills_difference`), so that it does not lose ``(x + 1) / 2`` of its digits.
  Start: the lognormal of mean 1 and log-variance ``log(1 + 1/lam)``. Bracket: ``min(1/4, 9
  lam / (32 (-log u)))`` below (``F <= exp(-v^2 / 2)``), ``2`` above in the lower half (the
  median is below the mean) and ``max(2, 8 (-log s) / lam)`` in the upper (``S <= Phi(-v)``).

Accuracy (``tests/test_quantiles.py``; relative error of the quantile, exact by mpmath at 60
digits): on the grid of shapes 1e-4 ... 1e6 and probabilities 1e-300 ... 1 - 1e-300 in either
tail, at most 4.1e-14 for the gamma and 2.6e-15 for the inverse Gaussian; over random sweeps
(11 000 gamma and 70 000 inverse Gaussian points, shapes log-uniform in [1e-4, 1e6] or
concentrated below 1 and near 1 and 10, probabilities log-uniform down to 1e-300 or uniform), at
most 2.5e-13 and 2.9e-14 (99% within 5.9e-14 and 1.6e-15, half within 3.2e-16). The largest
gamma errors are where ``|log x|`` is in the hundreds, so that ``x = e^t`` carries the ``|t|
1.1e-16`` rounding of ``t``; for shapes below 1e-3 the quantile is also ill-conditioned (``d log
P / d log x`` is about ``a``, so the few ulp of ``log u`` become ``1 / a`` times as many in ``log
x``). The C library's ``exp``, ``log`` etc. in place of the elementary functions gave the same on
the grid (3.7e-15 for the inverse Gaussian) and 3.2e-13 and 2.2e-14 on these sweeps. Against scipy
(``gammaincinv``/``gammainccinv``, and ``invgauss`` where it converges) the grid agrees within
1.2e-11, scipy's own error.

Underflow: only the gamma's quantile can underflow (for small shapes even at ``u = 0.9``: about
``(u Gamma(a + 1))^(1/a)``); a quantile below :data:`TINY`, the smallest positive normal float,
is returned as :data:`TINY` (never 0 or a subnormal). The inverse Gaussian's stays within [7e-8,
1.4e7] for shapes in [1e-4, 1e6].

Time per call after compilation (a numba loop over 1e6 evenly spaced ``u``, one core of a
shared machine): gamma ``a = 0.5`` 0.78 us, ``a = 2`` 0.73 us, ``a = 50`` 0.75 us (``a = 1e4``
2.5 us, ``a = 1e6`` 6.9 us, where the series and the fraction are long); inverse Gaussian ``lam
= 0.5`` 0.74 us, ``lam = 4`` 1.25 us. With the C library's functions the same loop took 0.46,
0.41, 0.59, 2.4 and 6.8 us, 0.46 and 1.04 us: ``vexp`` and ``vlog`` take about 45 ns each where
a call waits on the last (their Horner chains), the C library's 15 ns.

Same bits on every backend: no C library transcendental. ``exp``, ``log``, ``log1p``, ``expm1``,
``lgamma(1 + a)`` and the normal Mills ratio are :mod:`~simsettle._kernels.elementary`'s ``vexp``,
``vlog``, ``vlog1p``, ``vexpm1``, ``vlgamma1p`` and ``mills_ratio`` (polynomials, arithmetic and
bit moves); the only ``math`` function is ``sqrt``, correctly rounded on both (numba-cuda would
make ``math.exp`` and the like libdevice's, which round differently from glibc's). The
constants are literals, not computed by the C library at import. ``tests/test_elementary_extra.py``
checks the source (``ast``) and the compiled code (no libm function declared). Their domains:
``vexp`` clamps below -708, so :func:`_exp_or_zero` gives 0 there (``x = e^t`` far in the lower
tail, a derivative that underflows: the solver bisects) and the quantile between :data:`TINY`
and ``e^-700`` is ``vexp(t + 350) e^-350`` (:func:`_exp_quantile`); ``vlog`` reads only positive
normal floats, so a probability or a ratio below :data:`TINY` (by rounding) has the log
``-inf`` (:func:`_log`). Loops with fixed bounds and no allocation, so that numba-cuda can
compile the same source into device functions.
"""

from __future__ import annotations

import math

from numba import njit

from simsettle._kernels import cacheguard as _cacheguard
from simsettle._kernels.elementary import (
    _STIRLING_SERIES,
    mills_ratio,
    ndtri,
    vexp,
    vexpm1,
    vlgamma1p,
    vlog,
    vlog1p,
)

__all__ = ["TINY", "gamma_quantile", "inverse_gaussian_quantile"]

#: The smallest positive normal float64 (2**-1022): what a quantile below it is returned as.
TINY = 2.2250738585072014e-308
# Constants as literals (correctly rounded), not computed by the C library at import.
_LOG_TINY = -708.3964185322641  # log(TINY) = -1022 log 2
_LOG_SQRT_2PI = 0.9189385332046728
_LN2 = 0.6931471805599453
# exp(-350): exp(t) for t in [log TINY, -700) is vexp(t + 350) exp(-350) (vexp clamps at -708).
_EXP_MINUS_350 = 9.92959039626498e-153
# vexp clamps its argument below this (e^-708 = 3.3e-308): exp is read as 0 there.
_EXP_FROM = -708.0
# Most root-finding steps (Halley, Newton or bisection) per quantile.
_SOLVER_STEPS = 50
# A step below this times (1 + 1e-5 |log x|) ends the iteration (the scaling covers the rounding
# of log x itself): with Halley's cubic convergence the step applied last leaves an error far
# below it.
_STEP_TOL = 1e-10
# Stirling's series lgamma(a + 1) - (a + 1/2) log a + a - log sqrt(2 pi) = sum B_2k / (2k (2k - 1)
# a^(2k - 1)), k = 1..8, in 1 / a^2 highest degree first (elementary's, for vlgamma); the next
# term is below 2e-18 at a >= 10.
_STIRLING = _STIRLING_SERIES
# Shapes from which the gamma prefactor is written with Stirling's series (no lgamma).
_STIRLING_FROM = 10.0
# Mills ratio: Cody's rational approximation below this argument, its continued fraction above.
_MILLS_CF_FROM = 2.5
# Inverse Gaussian survival: difference of Mills ratios below this x, series in 2q = w - v above.
_IG_SERIES_FROM = 8.0


@njit(cache=True, nogil=True, error_model="numpy")
def _stirlerr(a: float) -> float:
    """``lgamma(a + 1) - (a + 1/2) log a + a - log sqrt(2 pi)`` for ``a >= 10`` (Stirling's
    series to ``a^-15``, truncation below 2e-18)."""
    r = 1.0 / a
    r2 = r * r
    p = _STIRLING[0]
    for i in range(1, len(_STIRLING)):
        p = p * r2 + _STIRLING[i]
    return r * p


@njit(cache=True, nogil=True, error_model="numpy")
def _exp_or_zero(x: float) -> float:
    """``exp(x)``, or 0 where ``x < -708`` (where the C library would give a subnormal or 0 and
    :func:`vexp` would clamp): every use here adds it to, or divides by, something that makes
    such a value negligible, or bisects on a zero derivative."""
    return 0.0 if x < _EXP_FROM else vexp(x)


@njit(cache=True, nogil=True, error_model="numpy")
def _log(x: float) -> float:
    """``log(x)`` of a probability or a ratio of them: :func:`vlog` from :data:`TINY`, ``-inf``
    below (0, a subnormal or a negative only by rounding, where :func:`_solve` bisects)."""
    return vlog(x) if x >= TINY else -math.inf


@njit(cache=True, nogil=True, error_model="numpy")
def _log1mexp(g: float) -> float:
    """``log(1 - e^g)`` for ``g <= 0`` (a larger ``g`` is read as 0): ``log(-expm1(g))`` above
    ``-log 2``, ``log1p(-exp(g))`` below (Maechler's split, each accurate where it is used), 0
    below -708 (where ``-e^g`` would be a subnormal) and ``-inf`` at ``g = 0``."""
    g = min(g, 0.0)
    if g > -_LN2:
        return _log(-vexpm1(g))
    return vlog1p(-_exp_or_zero(g))


@njit(cache=True, nogil=True, error_model="numpy")
def _exp_quantile(t: float) -> float:
    """``exp(t)`` for ``t >= log TINY``, the smallest normal float included (:func:`vexp`
    clamps at -708): below -700 as ``vexp(t + 350) exp(-350)`` (``t + 350`` is exact there)."""
    if t < -700.0:
        return max(vexp(t + 350.0) * _EXP_MINUS_350, TINY)
    return vexp(t)


@njit(cache=True, nogil=True, error_model="numpy")
def _x_minus_log1p(d: float) -> float:
    """``d - log(1 + d)`` for ``d > -1``, by its series ``sum (-d)^n / n`` (``n >= 2``, at most
    40 terms) for ``|d| < 1/4``."""
    if abs(d) >= 0.25:
        return d - vlog1p(d)
    total = 0.0
    power = d * d
    for n in range(2, 42):
        term = power / n
        total += term
        if abs(term) <= 1e-17 * total:
            break
        power = -power * d
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_prefix_constant(a: float, log_a: float, lgamma1p: float) -> float:
    """The part of :func:`_gamma_log_prefix` that depends on ``a`` alone: ``-lgamma(a + 1)``
    (given) for ``a < 10``, else ``-log sqrt(2 pi a) - stirlerr(a)``."""
    if a < _STIRLING_FROM:
        return -lgamma1p
    return -0.5 * log_a - _LOG_SQRT_2PI - _stirlerr(a)


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_log_prefix(a: float, log_a: float, const: float, t: float, x: float) -> float:
    """``log(x^a e^-x / Gamma(a + 1))`` at ``x = e^t`` (``const`` from
    :func:`_gamma_prefix_constant`): directly for ``a < 10``, else as ``-a phi(x / a) - log
    sqrt(2 pi a) - stirlerr(a)`` with ``phi(r) = r - 1 - log r``, which keeps the cancellation
    of ``a log x``, ``x`` and ``lgamma(a + 1)`` out of floating point."""
    if a < _STIRLING_FROM:
        return a * t - x + const
    d = (x - a) / a
    if d < -0.5:
        phi = x / a - 1.0 - (t - log_a)
    else:
        phi = _x_minus_log1p(d)
    return -a * phi + const


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_terms(a: float) -> int:
    """The bound on the terms of the series and the continued fraction: ``128 + 12 sqrt(a)``."""
    return 128 + int(12.0 * math.sqrt(a))


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_p_series(a: float, x: float) -> float:
    """``sum x^n / ((a + 1) ... (a + n))``, ``P(a, x) = x^a e^-x / Gamma(a + 1)`` times it (for
    ``x < a + 1``, where the ratio of the terms ``x / (a + n)`` is below 1)."""
    total = 1.0
    term = 1.0
    for n in range(1, _gamma_terms(a)):
        term *= x / (a + n)
        total += term
        if term <= 1e-17 * total:
            break
    return total


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_q_fraction(a: float, x: float) -> float:
    """Legendre's continued fraction ``1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x +
    5 - a - ...)))`` by the modified Lentz method, ``Q(a, x) = x^a e^-x / Gamma(a)`` times it
    (for ``x >= a + 1``)."""
    tiny = 1e-300
    b = x + 1.0 - a
    c = 1.0 / tiny
    d = 1.0 / b
    h = d
    for i in range(1, _gamma_terms(a)):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < tiny:
            d = tiny
        c = b + an / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) <= 1e-16:
            break
    return h


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_q_small(a: float, const: float, t: float, x: float) -> float:
    """``Q(a, x)`` for ``a < 1`` and ``x < a + 1``: ``1 - x^a / Gamma(a + 1) - a x^a / Gamma(a
    + 1) sum_(n >= 1) (-x)^n / ((a + n) n!)``, the first difference by ``expm1`` (both parts are
    positive where ``x^a < Gamma(a + 1)``, so no cancellation where ``Q`` is small); at most 40
    terms (``x < 2``; ``const = -lgamma(a + 1)``)."""
    w = a * t + const
    total = 0.0
    power = 1.0
    for n in range(1, 41):
        power *= -x / n
        term = power / (a + n)
        total += term
        if abs(term) <= 1e-17 * abs(total):
            break
    return -vexpm1(w) - a * _exp_or_zero(w) * total


@njit(cache=True, nogil=True, error_model="numpy")
def _gamma_log_tail(
    a: float, log_a: float, const: float, t: float, upper: bool
) -> tuple[float, float, float]:
    """At ``x = e^t``: ``G = log P(a, x)`` (``log Q(a, x)`` if ``upper``), ``dG / dt`` and
    ``d log D / dt = a - x`` of ``D = x`` times the density, for Halley's second derivative
    ``G'' = G' (a - x) - G'^2`` (``log_a = log a``, ``const`` from
    :func:`_gamma_prefix_constant`). ``dG / dt = x f(x) / P`` is ``a`` over the series' sum, or
    1 over the fraction, where ``G`` is the tail they give; an ``exp`` for the other tail."""
    x = _exp_or_zero(t)
    lp = _gamma_log_prefix(a, log_a, const, t, x)
    if x < a + 1.0:
        if upper and a < 1.0:
            g = _log(_gamma_q_small(a, const, t, x))
            rate = _exp_or_zero(lp + log_a - g)
        else:
            total = _gamma_p_series(a, x)
            g = lp + vlog(total)
            rate = a / total
            if upper:
                g = _log1mexp(g)
                rate = _exp_or_zero(lp + log_a - g)
    else:
        h = _gamma_q_fraction(a, x)
        g = lp + log_a + _log(h)
        rate = 1.0 / h
        if not upper:
            g = _log1mexp(g)
            rate = _exp_or_zero(lp + log_a - g)
    return g, -rate if upper else rate, a - x


@njit(cache=True, nogil=True, error_model="numpy")
def _mills(y: float) -> float:
    """The Mills ratio ``P(N > y) / phi(y)`` of the standard normal for ``y >= 0``: Cody's
    (``mills_ratio``, within 7e-16) below 2.5, else by Laplace's continued fraction ``1 / (y + 1
    / (y + 2 / (y + 3 / ...)))`` evaluated backwards from depth ``12 + 520 / y^2`` (at most 95,
    within 2e-16: more accurate there than Cody's 6e-16)."""
    if y < _MILLS_CF_FROM:
        return mills_ratio(y)
    r = 0.0
    for k in range(12 + int(520.0 / (y * y)), 0, -1):
        r = k / (y + r)
    return 1.0 / (y + r)


@njit(cache=True, nogil=True, error_model="numpy")
def _mills_difference(v: float, h: float) -> float:
    """``m(v) - m(v + h)`` of the Mills ratio ``m`` for ``v >= 0`` and ``h`` small beside the
    scale of ``exp(-v t - t^2 / 2)``: ``sum_(k >= 1) (-1)^(k + 1) h^k M_k / k!`` with ``M_k =
    int_0^inf t^k exp(-v t - t^2 / 2) dt``. For ``v < 2.5`` forwards from ``M_0 = m(v)``, ``M_1
    = 1 - v M_0``, ``M_(k + 1) = k M_(k - 1) - v M_k`` (at most 40 terms); above, backwards
    through the ratios ``R_k = M_k / M_(k - 1) = k / (v + R_(k + 1))``, the sum in nested form
    ``T_k = h R_k / k (1 - T_(k + 1))``, from depth ``32 + 520 / v^2`` (at most 115)."""
    if v < _MILLS_CF_FROM:
        m0 = _mills(v)
        m1 = 1.0 - v * m0
        total = h * m1
        coef = h
        for k in range(1, 40):
            m0, m1 = m1, k * m0 - v * m1
            coef *= -h / (k + 1)
            term = coef * m1
            total += term
            if abs(term) <= 1e-17 * total:
                break
        return total
    r = 0.0
    nested = 0.0
    for k in range(32 + int(520.0 / (v * v)), 0, -1):
        r = k / (v + r)
        nested = h / k * r * (1.0 - nested)
    return nested / (v + r)


@njit(cache=True, nogil=True, error_model="numpy")
def _ig_log_tail(lam: float, t: float, upper: bool) -> tuple[float, float, float]:
    """At ``x = e^t``: ``G = log F(x)`` (``log S(x)`` if ``upper``) of the inverse Gaussian of
    mean 1 and shape ``lam``, ``dG / dt`` and ``d log D / dt = -(v w + 1) / 2`` of ``D = x f(x)
    = q phi(v)``.

    With ``q = sqrt(lam / x)``, ``v = q (x - 1)``, ``w = q (x + 1)`` and ``w^2 - v^2 = 4 lam``,
    ``exp(2 lam) Phi(-w) = phi(v) m(w)`` (``m`` the Mills ratio), so ``F = phi(v) (m(-v) +
    m(w))`` for ``x <= 1`` and ``S = phi(v) (m(v) - m(w))`` for ``x >= 1``, the difference by
    :func:`_mills_difference` from ``x = 8`` (where it would lose ``(x + 1) / 2`` of its
    digits); the other tail by ``log1p``.
    """
    x = vexp(t)
    q = math.sqrt(lam / x)
    v = q * (x - 1.0)
    w = q * (x + 1.0)
    log_phi = -0.5 * v * v - _LOG_SQRT_2PI
    if v <= 0.0:
        ratio = _mills(-v) + _mills(w)
        g = log_phi + _log(ratio)
        rate = q / ratio
        if upper:
            g = _log1mexp(g)
            rate = q * _exp_or_zero(log_phi - g)
    else:
        if x < _IG_SERIES_FROM:
            ratio = _mills(v) - _mills(w)
        else:
            ratio = _mills_difference(v, 2.0 * q)
        g = log_phi + _log(ratio)
        rate = q / ratio
        if not upper:
            g = _log1mexp(g)
            rate = q * _exp_or_zero(log_phi - g)
    return g, -rate if upper else rate, -0.5 * (v * w + 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _log_tail(
    family: int, shape: float, log_shape: float, const: float, t: float, upper: bool
) -> tuple[float, float, float]:
    """:func:`_gamma_log_tail` (``family`` 0; ``log_shape`` and ``const`` its ``log a`` and
    prefix constant) or :func:`_ig_log_tail` (1; they are unused)."""
    if family == 0:
        return _gamma_log_tail(shape, log_shape, const, t, upper)
    return _ig_log_tail(shape, t, upper)


@njit(cache=True, nogil=True, error_model="numpy")
def _solve(
    family: int,
    shape: float,
    log_shape: float,
    const: float,
    target: float,
    upper: bool,
    t: float,
    lo: float,
    hi: float,
) -> float:
    """The root in ``t = log x`` of ``G(t) = target`` (``G`` of :func:`_log_tail`: increasing,
    or decreasing if ``upper``) inside the bracket ``(lo, hi)``, from ``t``: Halley's steps
    (Newton's where Halley's correction is outside [1/2, 2]), bisection where a step leaves the
    bracket or is not finite, at most 50 steps."""
    t = min(max(t, lo), hi)
    for _ in range(_SOLVER_STEPS):
        g, g1, dlog = _log_tail(family, shape, log_shape, const, t, upper)
        f = g - target
        above = f < 0.0 if upper else f > 0.0
        below = f > 0.0 if upper else f < 0.0
        if above:
            hi = t
            if hi < _LOG_TINY:
                return hi
        elif below:
            lo = t
        elif f == 0.0:
            return t
        step = -f / g1
        denom = 1.0 + 0.5 * step * (dlog - g1)
        if 0.5 <= denom <= 2.0:
            step = step / denom
        if abs(step) <= _STEP_TOL * (1.0 + 1e-5 * abs(t)):
            return t + step
        t += step
        if not lo < t < hi:
            t = 0.5 * (lo + hi)
    return t


@njit(cache=True, nogil=True, error_model="numpy")
def gamma_quantile(a: float, u: float, s: float) -> float:
    """The quantile of the gamma distribution of shape ``a`` (> 0) and scale 1 at probability
    ``u``, ``s = 1 - u`` (the upper half, ``u > 1/2``, reads only ``s``): the root of ``P(a, x)
    = u`` (``Q(a, x) = s``) in ``log x`` by :func:`_solve` from the largest of the small-``u``,
    Wilson-Hilferty and large-``x`` starts; :data:`TINY` where the quantile is below it."""
    u = max(u, TINY)
    s = max(s, TINY)
    upper = u > 0.5
    lg1 = vlgamma1p(a)
    log_a = vlog(a)
    const = _gamma_prefix_constant(a, log_a, lg1)
    if upper:
        target = vlog(s)
        log_u = vlog1p(-s)
        hi = vlog(2.0 * (a - target))
    else:
        target = vlog(u)
        log_u = target
        hi = vlog(a + 1.0)
    lo = (log_u + lg1) / a
    start = lo + _exp_or_zero(lo) / (a + 1.0)
    z = ndtri(u, s)
    c = 1.0 - 1.0 / (9.0 * a) + z / (3.0 * math.sqrt(a))
    if c >= TINY:
        start = max(start, log_a + 3.0 * vlog(c))
    if upper:
        lga = lg1 - log_a  # lgamma(a)
        big = -target - lga
        if big > a + 1.0:
            big = -target - lga + (a - 1.0) * vlog(big)
            if big > a + 1.0:
                big = -target - lga + (a - 1.0) * vlog(big)
                if big > a + 1.0:
                    start = max(start, vlog(big))
    t = _solve(0, a, log_a, const, target, upper, start, lo, hi)
    return TINY if t < _LOG_TINY else _exp_quantile(t)


@njit(cache=True, nogil=True, error_model="numpy")
def inverse_gaussian_quantile(lam: float, u: float, s: float) -> float:
    """The quantile of the inverse Gaussian distribution of mean 1 and shape ``lam`` (> 0) at
    probability ``u``, ``s = 1 - u`` (the upper half, ``u > 1/2``, reads only ``s``): the root
    of ``F(x) = u`` (``S(x) = s``) in ``log x`` by :func:`_solve` from the lognormal of the same
    mean and variance, ``exp(-sigma^2 / 2 + sigma ndtri(u, s))``, ``sigma^2 = log(1 + 1/lam)``."""
    u = max(u, TINY)
    s = max(s, TINY)
    upper = u > 0.5
    if upper:
        target = vlog(s)
        log_u = vlog1p(-s)
        hi = vlog(max(2.0, -8.0 * target / lam))
    else:
        target = vlog(u)
        log_u = target
        hi = _LN2
    lo = vlog(min(0.25, -9.0 * lam / (32.0 * log_u)))
    var = vlog1p(1.0 / lam)
    start = -0.5 * var + math.sqrt(var) * ndtri(u, s)
    t = _solve(1, lam, 0.0, 0.0, target, upper, start, lo, hi)
    return vexp(t)


_cacheguard.check(gamma_quantile)
