"""``exp``, ``log`` and the normal distribution that the loop vectorizer can use: branch-free, no
library calls.

The C library's ``exp`` and ``log`` are opaque calls, so a loop that uses them runs one element at
a time. These two are written from multiplications, additions, one division and bit moves, so that
LLVM turns a loop over member lanes into AVX2 or AVX-512 instructions. They also give the same bits
on every platform (the C library's do not), and the CUDA kernel uses the same code.

Accuracy (checked in ``tests/test_rng.py`` against numpy and scipy): ``vexp`` within 5e-16
relative on [-708, 709]; ``vlog`` within 5e-16 relative on positive normal numbers; ``ndtri``
within 2e-15 relative on (2**-33, 1 - 2**-33); ``exp(log_norm_sf(x))`` within 1e-14 relative of
``P(N > x)`` on [-8, 37] (the Pareto tail of the cost model reads it at most at 6.4). Kernels
that call them are compiled with ``error_model="numpy"`` so that a division is not a branch.

``ndtri`` and ``log_norm_sf`` compute every branch of their piecewise rational approximations and
select one (a vector loop runs both halves of a branch anyway); the approximations are the
published ones, with their coefficients: Wichura's AS241 (PPND16) for the quantile, Cody's for the
distribution function. Written here rather than taken from scipy because scipy's are opaque calls
to the vectorizer (and to numba-cuda).

For scalar kernels (the gamma and inverse Gaussian quantiles of ``quantiles``), built on these:
``vlog1p`` and ``vexpm1`` (Goldberg's and Kahan's constructions), ``vlgamma`` and ``vlgamma1p``
(the series of ``lgamma(2 + a)``, the shift recurrence and Stirling's series) and
``mills_ratio`` (Cody's), each within about 1e-15 relative (``tests/test_elementary_extra.py``).
They branch; they are here so that no kernel calls the C library's transcendental functions,
which numba-cuda replaces by libdevice's, whose last bits differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from simsettle._kernels import cacheguard as _cacheguard

__all__ = [
    "log_norm_sf",
    "log_norm_sf_branchy",
    "mills_ratio",
    "ndtri",
    "ndtri_branchy",
    "vexp",
    "vexpm1",
    "vlgamma",
    "vlgamma1p",
    "vlog",
    "vlog1p",
]

_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact for |k| < 2**11 (Cody and Waite).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_SQRT2 = 1.4142135623730951
_MANTISSA = 0xFFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
# Coefficients, highest degree first. exp(r) = sum r**n / n! to degree 13.
_EXP_TAYLOR = tuple(1.0 / math.factorial(n) for n in range(13, -1, -1))
# log(m) = 2 atanh(s) = 2 s sum s**(2n) / (2n + 1), in s**2 to degree 10 (s**21 overall).
_ATANH_SERIES = tuple(1.0 / n for n in range(21, 0, -2))


def _bits_to_float_typer(typingctx: Any, bits: Any) -> Any:
    """The float64 whose IEEE 754 bits are the int64 ``bits`` (a register move, no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


def _float_to_bits_typer(typingctx: Any, x: Any) -> Any:
    """The IEEE 754 bits of the float64 ``x`` as an int64."""
    sig = types.int64(types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


# Typed for mypy as what they are inside compiled code.
_bits_to_float = cast("Callable[[int | np.int64], float]", intrinsic(_bits_to_float_typer))
_float_to_bits = cast("Callable[[float], int]", intrinsic(_float_to_bits_typer))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _horner(x: float, coefficients: tuple[float, ...]) -> float:
    """The polynomial with ``coefficients`` (highest degree first) at ``x``, by Horner's rule.

    The tuple is a compile-time constant, so the loop unrolls to one multiply-add a degree.
    """
    p = coefficients[0]
    for i in range(1, len(coefficients)):
        p = p * x + coefficients[i]
    return p


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def vexp(x: float) -> float:
    """``exp(x)``, with ``x`` clamped to [-708, 709] (no overflow to infinity, no subnormals).

    ``x = k ln 2 + r`` with ``|r| <= ln 2 / 2``; ``exp(r)`` by its Taylor polynomial to degree 13
    (truncation below 2e-17); ``2**k`` written straight into the exponent bits.
    """
    x = min(max(x, -708.0), 709.0)
    k = math.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = _horner(r, _EXP_TAYLOR)
    return p * _bits_to_float((np.int64(k) + 1023) << 52)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def vlog(x: float) -> float:
    """``log(x)`` for a positive normal float64 (the callers pass uniforms in (0, 1) and Pareto
    arguments, never 0, a subnormal, infinity or NaN).

    ``x = 2**e m`` with ``m`` in [sqrt(1/2), sqrt(2)); ``log m = 2 atanh(s)``, ``s = (m - 1) /
    (m + 1)``, ``|s| <= 0.172``, by its series to ``s**21`` (truncation below 3e-18).
    """
    bits = _float_to_bits(x)
    e = (bits >> 52) - 1023
    m = _bits_to_float((bits & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = m * 0.5 if big else m
    ef = float(e + 1 if big else e)
    s = (m - 1.0) / (m + 1.0)
    q = _horner(s * s, _ATANH_SERIES)
    return ef * _LN2_HI + (2.0 * s * q + ef * _LN2_LO)


# Wichura, M. J. (1988), "Algorithm AS 241: The percentage points of the normal distribution",
# Applied Statistics 37(3), 477-484 (PPND16, about 1e-16 relative): numerators and denominators of
# the central region (|p - 1/2| <= 0.425), the intermediate tail (r = sqrt(-log min(p, 1 - p)) <=
# 5) and the far tail, highest degree first (flat tuples: a tuple of tuples would not unroll).
_AS241_CENTRAL_P = (
    2.5090809287301226727e3,
    3.3430575583588128105e4,
    6.7265770927008700853e4,
    4.5921953931549871457e4,
    1.3731693765509461125e4,
    1.9715909503065514427e3,
    1.3314166789178437745e2,
    3.3871328727963666080e0,
)
_AS241_CENTRAL_Q = (
    5.2264952788528545610e3,
    2.8729085735721942674e4,
    3.9307895800092710610e4,
    2.1213794301586595867e4,
    5.3941960214247511077e3,
    6.8718700749205790830e2,
    4.2313330701600911252e1,
    1.0,
)
_AS241_MIDDLE_P = (
    7.7454501427834140764e-4,
    2.2723844989269184583e-2,
    2.4178072517745061177e-1,
    1.2704582524523683826e0,
    3.6478483247632046050e0,
    5.7694972214606914055e0,
    4.6303378461565452959e0,
    1.4234371107496835773e0,
)
_AS241_MIDDLE_Q = (
    1.0507500716444168432e-9,
    5.4759380849953449460e-4,
    1.5198666563616457197e-2,
    1.4810397642748007459e-1,
    6.8976733498510000455e-1,
    1.6763848301838038494e0,
    2.0531916266377588219e0,
    1.0,
)
_AS241_FAR_P = (
    2.0103343992922881327e-7,
    2.7115555687434875782e-5,
    1.2426609473880784386e-3,
    2.6532189526576123093e-2,
    2.9656057182850489123e-1,
    1.7848265399172913358e0,
    5.4637849111641143699e0,
    6.6579046435011037772e0,
)
_AS241_FAR_Q = (
    2.0442631033899397856e-15,
    1.4215117583164458887e-7,
    1.8463183175100546818e-5,
    7.8686913114561329059e-4,
    1.4875361290850614853e-2,
    1.3692988092273580531e-1,
    5.9983220655588793769e-1,
    1.0,
)

# Cody, W. J. (1969), "Rational Chebyshev approximations for the error function", Mathematics of
# Computation 23, 631-637, as in his SPECFUN ANORM (ACM TOMS Algorithm 715, 1993): the normal
# distribution function for |x| <= 0.67448975 (in x**2), up to sqrt(32) (in |x|, times the
# density) and beyond (in 1 / x**2), highest degree first.
_CODY_CENTRAL_P = (
    6.5682337918207449113e-2,
    2.2352520354606839287e0,
    1.6102823106855587881e2,
    1.0676894854603709582e3,
    1.8154981253343561249e4,
)
_CODY_CENTRAL_Q = (
    1.0,
    4.7202581904688241870e1,
    9.7609855173777669322e2,
    1.0260932208618978205e4,
    4.5507789335026729956e4,
)
_CODY_MIDDLE_P = (
    1.0765576773720192317e-8,
    3.9894151208813466764e-1,
    8.8831497943883759412e0,
    9.3506656132177855979e1,
    5.9727027639480026226e2,
    2.4945375852903726711e3,
    6.8481904505362823326e3,
    1.1602651437647350124e4,
    9.8427148383839780218e3,
)
_CODY_MIDDLE_Q = (
    1.0,
    2.2266688044328115691e1,
    2.3538790178262499861e2,
    1.5193775994075548050e3,
    6.4855582982667607550e3,
    1.8615571640885098091e4,
    3.4900952721145977266e4,
    3.8912003286093271411e4,
    1.9685429676859990727e4,
)
_CODY_FAR_P = (
    2.307344176494017303e-2,
    2.1589853405795699e-1,
    1.274011611602473639e-1,
    2.2235277870649807e-2,
    1.421619193227893466e-3,
    2.9112874951168792e-5,
)
_CODY_FAR_Q = (
    1.0,
    1.28426009614491121e0,
    4.68238212480865118e-1,
    6.59881378689285515e-2,
    3.78239633202758244e-3,
    7.29751555083966205e-5,
)
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_32 = 5.656854249492381


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _ndtri_central(q: float) -> float:
    """AS241's central region: the quantile at ``p = 1/2 + q`` for ``|q| <= 0.425``."""
    r = 0.180625 - q * q
    return q * _horner(r, _AS241_CENTRAL_P) / _horner(r, _AS241_CENTRAL_Q)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _ndtri_tail(t: float, q: float) -> float:
    """AS241's tails at ``t = sqrt(-log min(p, 1 - p))``, signed as ``q = p - 1/2``."""
    tm = t - 1.6
    tf = t - 5.0
    middle = _horner(tm, _AS241_MIDDLE_P) / _horner(tm, _AS241_MIDDLE_Q)
    far = _horner(tf, _AS241_FAR_P) / _horner(tf, _AS241_FAR_Q)
    tail = middle if t <= 5.0 else far
    return -tail if q < 0.0 else tail


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def ndtri(p: float, pc: float) -> float:
    """The standard normal quantile of ``p`` in (0, 1), given also ``pc = 1 - p`` as the caller
    knows it (exactly, where ``p`` is close to 1: the upper tail reads ``pc``).

    Wichura's AS241 (PPND16): a rational function of ``(p - 1/2)**2`` in the centre, of ``sqrt(-log
    min(p, pc))`` in the tails. Branch-free (every region computed, one selected) for the vector
    loops; :func:`ndtri_branchy` is the same numbers for scalar code.
    """
    q = p - 0.5
    central = _ndtri_central(q)
    tail = _ndtri_tail(math.sqrt(-vlog(min(p, pc))), q)
    return central if abs(q) <= 0.425 else tail


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def ndtri_branchy(p: float, pc: float) -> float:
    """:func:`ndtri`, bit for bit, computing only the region it returns: for scalar loops,
    where a branch costs less than the tails' logarithm, square root and two divisions (the
    centre holds 85% of uniform ``p``)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        return _ndtri_central(q)
    return _ndtri_tail(math.sqrt(-vlog(min(p, pc))), q)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log_norm_sf(x: float) -> float:
    """``log P(N > x)`` for a standard normal ``N``, to full relative precision of ``P(N > x)``
    wherever it is a normal float64 (the cost model's Pareto tail reads it for ``x`` up to 6.4).

    Cody's approximations: ``P(N > x) = 1/2 - x P(x**2) / Q(x**2)`` for ``|x| <= 0.67448975``;
    beyond, ``phi(x) R(|x|)`` with ``R`` a rational function of ``|x|`` up to ``sqrt(32)`` and of
    ``1 / x**2`` past it, so that the log is ``-x**2 / 2 + log R`` (the density's constant is in
    ``R``) for ``x > 0`` and ``log(1 - exp(-x**2 / 2) R)`` below. One ``vlog`` and one ``vexp``.
    """
    y = abs(x)
    xsq = x * x
    central = 0.5 - x * _horner(xsq, _CODY_CENTRAL_P) / _horner(xsq, _CODY_CENTRAL_Q)
    middle = _horner(y, _CODY_MIDDLE_P) / _horner(y, _CODY_MIDDLE_Q)
    inv = 1.0 / max(xsq, 1.0)
    far = (_INV_SQRT_2PI - inv * _horner(inv, _CODY_FAR_P) / _horner(inv, _CODY_FAR_Q)) / y
    ratio = middle if y <= _SQRT_32 else far
    lower = 1.0 - vexp(-0.5 * xsq) * ratio
    arg = central if y <= 0.67448975 else (ratio if x > 0.0 else lower)
    return vlog(arg) - (0.5 * xsq if (x > 0.0) & (y > 0.67448975) else 0.0)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def log_norm_sf_branchy(x: float) -> float:
    """:func:`log_norm_sf` computing only the region it returns (one ``vlog``, and the ``vexp``
    only below ``-0.67448975``), bit for bit: the same expressions, for scalar loops, where the
    branch-free form pays for every region."""
    y = abs(x)
    xsq = x * x
    if y <= 0.67448975:
        # log_norm_sf subtracts +0.0 here, which leaves every float as it is.
        return vlog(0.5 - x * _horner(xsq, _CODY_CENTRAL_P) / _horner(xsq, _CODY_CENTRAL_Q))
    if y <= _SQRT_32:
        ratio = _horner(y, _CODY_MIDDLE_P) / _horner(y, _CODY_MIDDLE_Q)
    else:
        inv = 1.0 / max(xsq, 1.0)
        ratio = (_INV_SQRT_2PI - inv * _horner(inv, _CODY_FAR_P) / _horner(inv, _CODY_FAR_Q)) / y
    if x > 0.0:
        return vlog(ratio) - 0.5 * xsq
    return vlog(1.0 - vexp(-0.5 * xsq) * ratio)


_SQRT_2PI = 2.5066282746310007
_LOG_SQRT_2PI = 0.9189385332046728
_ONE_MINUS_EULER = 0.42278433509846713
# (zeta(k) - 1) / k for k = 26, ..., 2, highest degree first: lgamma(2 + a) = (1 - euler_gamma)
# a + sum_k (zeta(k) - 1) / k (-a)^k for |a| < 1; the first term left out is below 2.1e-18 at
# |a| <= 1/2.
_LGAMMA2P_SERIES = (
    5.731367241678862e-10,
    1.1921401405860912e-09,
    2.4836745438024785e-09,
    5.183475041970047e-09,
    1.0838659214896955e-08,
    2.2711094608943164e-08,
    4.7698101693639804e-08,
    1.0043224823968099e-07,
    2.1207184805554665e-07,
    4.492469198764566e-07,
    9.55141213040742e-07,
    2.039215753801366e-06,
    4.374866789907488e-06,
    9.439488275268397e-06,
    2.050721277567069e-05,
    4.492623673813314e-05,
    9.945751278180853e-05,
    0.00022315475845357939,
    0.0005096695247430425,
    0.001192753911703261,
    0.0028905103307415234,
    0.007385551028673986,
    0.020580808427784546,
    0.0673523010531981,
    0.3224670334241132,
)
# Stirling's series lgamma(x) - (x - 1/2) log x + x - log sqrt(2 pi) = sum_k B_2k / (2k (2k - 1)
# x^(2k - 1)), k = 1..8, in 1 / x^2 highest degree first; the next term is below 2e-18 at x >= 10.
_STIRLING_SERIES = (
    -3617.0 / 122400.0,
    1.0 / 156.0,
    -691.0 / 360360.0,
    1.0 / 1188.0,
    -1.0 / 1680.0,
    1.0 / 1260.0,
    -1.0 / 360.0,
    1.0 / 12.0,
)
_LGAMMA_STIRLING_FROM = 10.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def vlog1p(x: float) -> float:
    """``log(1 + x)`` for ``x > -1`` (``1 + x`` finite), to full relative precision near 0.

    Goldberg's construction: with ``w = 1 + x`` rounded, ``x log(w) / (w - 1)`` (``w - 1`` is
    exact, and the rounding of ``w`` cancels in the quotient), ``x`` itself where ``w == 1``. One
    :func:`vlog`. Within 5e-16 relative (measured 4.3e-16; ``tests/test_elementary_extra.py``).
    """
    w = 1.0 + x
    d = w - 1.0
    ratio = x / (d if d != 0.0 else 1.0)
    return x if d == 0.0 else vlog(w) * ratio


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def vexpm1(x: float) -> float:
    """``exp(x) - 1`` to full relative precision near 0, with ``x`` clamped above at 709 (as
    :func:`vexp`; below -37.5 the result is -1 as rounded).

    Kahan's construction: with ``u = vexp(x)``, ``(u - 1) x / log(u)``, ``x`` itself where ``u ==
    1`` and -1 where ``u - 1 == -1`` (the error of ``u`` cancels in ``(u - 1) / log u``). One
    :func:`vexp` and one :func:`vlog` (of ``u >= exp(-708)``, a normal float). Within 6e-16
    relative (measured 5.0e-16; ``tests/test_elementary_extra.py``).
    """
    x = min(x, 709.0)
    u = vexp(x)
    d = u - 1.0
    lu = vlog(u)
    quotient = d * (x / (lu if lu != 0.0 else 1.0))
    return x if u == 1.0 else (-1.0 if d == -1.0 else quotient)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lgamma2p_series(a: float) -> float:
    """``lgamma(2 + a)`` for ``|a| <= 1/2``: ``(1 - euler_gamma) a + a^2 sum_(k >= 2) (zeta(k) -
    1) / k (-a)^(k - 2)`` to ``k = 26`` (truncation below 2.1e-18), full relative precision at the
    zero ``a = 0``."""
    return _ONE_MINUS_EULER * a + a * a * _horner(-a, _LGAMMA2P_SERIES)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def vlgamma(x: float) -> float:
    """``log Gamma(x)`` for a positive normal float64 ``x`` (below about 2.5e305, where it
    overflows).

    * ``x < 1/2``: ``lgamma(2 + x) - log1p(x) - log(x)`` by the series of ``lgamma(2 + a)``
      (:func:`_lgamma2p_series`).
    * ``x < 3/2``: ``lgamma(2 + (x - 1)) - log(x)`` (``x - 1`` exact).
    * ``x < 5/2``: ``lgamma(2 + (x - 2))`` (``x - 2`` exact): full relative precision at the zero
      at 2.
    * ``x < 10``: shifted down into [3/2, 5/2) by ``lgamma(x) = lgamma(x - n) + log((x - 1) ...
      (x - n))`` (each ``x - k`` exact, at most 8 factors).
    * From 10: Stirling's series ``(x - 1/2) log x - x + log sqrt(2 pi) + sum_k B_2k / (2k (2k -
      1) x^(2k - 1))`` to ``k = 8`` (truncation below 2e-18).

    Accuracy (``tests/test_elementary_extra.py``, against mpmath): within 1e-15 relative on
    [2**-1022, 1e300] (measured 9.2e-16), the zeros at 1 and 2 included (8.1e-16 within 0.1 of
    them, down to ``x = 1 +- 1e-16``). For ``lgamma(1 + a)`` with ``a`` small, where ``1 + a``
    would round ``a``, use :func:`vlgamma1p`.
    """
    if x < 0.5:
        return _lgamma2p_series(x) - vlog1p(x) - vlog(x)
    if x < 1.5:
        return _lgamma2p_series(x - 1.0) - vlog(x)
    if x < 2.5:
        return _lgamma2p_series(x - 2.0)
    if x < _LGAMMA_STIRLING_FROM:
        y = x
        product = 1.0
        for _ in range(8):
            if y >= 2.5:
                y -= 1.0
                product *= y
        return _lgamma2p_series(y - 2.0) + vlog(product)
    r = 1.0 / x
    series = r * _horner(r * r, _STIRLING_SERIES)
    return (x - 0.5) * vlog(x) - x + _LOG_SQRT_2PI + series


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def vlgamma1p(a: float) -> float:
    """``log Gamma(1 + a)`` for ``a > -1`` (``1 + a`` a normal float64), to full relative
    precision at the zeros ``a = 0`` and ``a = 1`` and without the rounding of ``1 + a`` for
    ``|a| <= 3/2``: ``lgamma(2 + a) - log1p(a)`` by :func:`_lgamma2p_series` for ``|a| <= 1/2``,
    ``lgamma(2 + (a - 1))`` for ``a`` in (1/2, 3/2], else :func:`vlgamma` ``(1 + a)``. Within
    1.2e-15 relative (measured 1.1e-15, near ``a = 0.42`` where ``lgamma(1 + a)`` is about -0.11,
    the difference of the series and ``log1p``; ``tests/test_elementary_extra.py``)."""
    if abs(a) <= 0.5:
        return _lgamma2p_series(a) - vlog1p(a)
    if 0.5 < a <= 1.5:
        return _lgamma2p_series(a - 1.0)
    return vlgamma(1.0 + a)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def mills_ratio(x: float) -> float:
    """The Mills ratio ``P(N > x) / phi(x)`` of the standard normal for ``x >= 0``.

    Cody's approximations, as in :func:`log_norm_sf`: ``(1/2 - x P(x**2) / Q(x**2)) sqrt(2 pi)
    exp(x**2 / 2)`` for ``x <= 0.67448975``, beyond ``sqrt(2 pi) R(x)`` with ``R`` the rational
    function of ``x`` up to ``sqrt(32)`` and of ``1 / x**2`` past it (no ``exp`` there). Only
    the branch that applies is computed (for scalar callers). Within 7e-16 relative on [0, 1e8]
    (measured 6.8e-16; ``tests/test_elementary_extra.py``).
    """
    if x <= 0.67448975:
        xsq = x * x
        central = 0.5 - x * _horner(xsq, _CODY_CENTRAL_P) / _horner(xsq, _CODY_CENTRAL_Q)
        return _SQRT_2PI * (central * vexp(0.5 * xsq))
    if x <= _SQRT_32:
        return _SQRT_2PI * (_horner(x, _CODY_MIDDLE_P) / _horner(x, _CODY_MIDDLE_Q))
    inv = 1.0 / (x * x)
    far = (_INV_SQRT_2PI - inv * _horner(inv, _CODY_FAR_P) / _horner(inv, _CODY_FAR_Q)) / x
    return _SQRT_2PI * far


# Before any kernel here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(vexp)
