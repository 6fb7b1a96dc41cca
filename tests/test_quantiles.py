"""The gamma and inverse Gaussian quantiles of :mod:`simsettle._kernels.quantiles` in both tails.

References: scipy's ``gammaincinv(a, u)`` for a lower quantile and ``gammainccinv(a, s)`` for an
upper one (each accurate in its own tail: within 1.2e-11 of the exact quantile on the grid,
checked with mpmath), and ``scipy.stats.invgauss(mu=1/lam, scale=lam)`` (mean 1, shape ``lam``)
``.ppf``/``.isf`` where it is accurate: not beyond ``1e-12`` in either tail (it fails to find
the quantile at 1e-100 and 1e-300 for most shapes) nor for shapes of 1e4 and more (off by up
to 1e-8). The exact reference everywhere, scipy's gaps included, is mpmath (skipped where it is
not installed): at 60 digits, the relative error of a quantile ``x`` is ``(F(x) - u) / (x
f(x))`` (the upper tail: ``(s - S(x)) / (x f(x))``) to first order, with ``u`` and ``s`` the
floats passed (``s = 1.0 - u`` as computed, for the grid's ``u = 1.0 - 1e-3``, say).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from simsettle._kernels.quantiles import TINY, gamma_quantile, inverse_gaussian_quantile

SHAPES = (1e-4, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 100.0, 1e4, 1e6)
# (u, s = 1 - u): lower-tail probabilities, then upper tails given by s.
LOWER = (1e-300, 1e-100, 1e-12, 1e-3, 0.1, 0.5, 0.9, 1.0 - 1e-3)
UPPER = (1e-12, 1e-100, 1e-300)
PROBABILITIES = tuple((p, 1.0 - p) for p in LOWER) + tuple((1.0 - s, s) for s in UPPER)
GRID = [(shape, u, s) for shape in SHAPES for u, s in PROBABILITIES]
# Where scipy's invgauss is accurate (see above).
SCIPY_INVGAUSS_GRID = [(lam, u, s) for lam, u, s in GRID if lam <= 100.0 and min(u, s) >= 1e-12]
RTOL_SCIPY = 1e-10
RTOL_EXACT = 1e-12


def _rel(x: float, ref: float) -> float:
    return abs(x - ref) / ref


def _gamma_reference(a: float, u: float, s: float) -> float:
    """scipy's quantile, from the tail it is accurate in (0 where it underflows)."""
    return float(special.gammaincinv(a, u) if u <= 0.5 else special.gammainccinv(a, s))


def _gamma_error(mp: Any, a: float, u: float, s: float, x: float) -> float:
    """The relative error of the gamma quantile ``x`` at (``u``, ``s``), by mpmath."""
    with mp.workdps(60):
        am, xm = mp.mpf(a), mp.mpf(x)
        xf = mp.exp(am * mp.log(xm) - xm - mp.loggamma(am))
        if u <= 0.5:
            return float(abs(mp.gammainc(am, 0, xm, regularized=True) - u) / xf)
        return float(abs(s - mp.gammainc(am, xm, mp.inf, regularized=True)) / xf)


def _invgauss_error(mp: Any, lam: float, u: float, s: float, x: float) -> float:
    """The relative error of the inverse Gaussian quantile ``x`` at (``u``, ``s``), by mpmath:
    ``F(x) = Phi(v) + exp(2 lam) Phi(-w)``, ``v, w = sqrt(lam / x) (x -+ 1)``, ``x f(x) = sqrt(lam
    / x) phi(v)`` (60 digits cover the survival function's cancellation, ``(x + 1) / 2``)."""
    with mp.workdps(60):
        lm, xm = mp.mpf(lam), mp.mpf(x)
        q = mp.sqrt(lm / xm)
        v, w = q * (xm - 1), q * (xm + 1)
        second = mp.exp(2 * lm) * mp.ncdf(-w)
        xf = q * mp.npdf(v)
        if u <= 0.5:
            return float(abs(mp.ncdf(v) + second - u) / xf)
        return float(abs(s - (mp.ncdf(-v) - second)) / xf)


def test_invgauss_parametrisation_has_mean_one_and_shape_lam():
    for lam in (1e-3, 0.5, 4.0, 1e3):
        dist = stats.invgauss(mu=1.0 / lam, scale=lam)
        assert dist.mean() == pytest.approx(1.0, rel=1e-12)
        assert dist.var() == pytest.approx(1.0 / lam, rel=1e-12)
        x = np.array([0.3, 1.0, 2.5])
        pdf = np.sqrt(lam / (2 * np.pi * x**3)) * np.exp(-lam * (x - 1) ** 2 / (2 * x))
        assert dist.pdf(x) == pytest.approx(pdf, rel=1e-12)


@pytest.mark.parametrize(("a", "u", "s"), GRID)
def test_gamma_quantile_matches_scipy(a: float, u: float, s: float):
    x = gamma_quantile(a, u, s)
    ref = _gamma_reference(a, u, s)
    if ref < TINY:
        assert x == TINY  # below the smallest normal float: returned as that float
    else:
        assert _rel(x, ref) <= RTOL_SCIPY, (x, ref)


@pytest.mark.parametrize(("lam", "u", "s"), SCIPY_INVGAUSS_GRID)
def test_inverse_gaussian_quantile_matches_scipy(lam: float, u: float, s: float):
    x = inverse_gaussian_quantile(lam, u, s)
    dist = stats.invgauss(mu=1.0 / lam, scale=lam)
    ref = float(dist.ppf(u) if u <= 0.5 else dist.isf(s))
    assert _rel(x, ref) <= RTOL_SCIPY, (x, ref)


def test_gamma_quantile_is_exact_to_1e12_on_the_grid():
    mp = pytest.importorskip("mpmath")
    worst = 0.0
    for a, u, s in GRID:
        x = gamma_quantile(a, u, s)
        if x == TINY:
            # The quantile is below TINY: P(a, TINY) is already above u.
            with mp.workdps(60):
                assert mp.gammainc(mp.mpf(a), 0, mp.mpf(TINY), regularized=True) >= u
            continue
        err = _gamma_error(mp, a, u, s, x)
        assert err <= RTOL_EXACT, (a, u, s, x, err)
        worst = max(worst, err)
    assert worst > 0.0  # the check measured something


def test_inverse_gaussian_quantile_is_exact_to_1e12_on_the_grid():
    mp = pytest.importorskip("mpmath")
    for lam, u, s in GRID:
        x = inverse_gaussian_quantile(lam, u, s)
        err = _invgauss_error(mp, lam, u, s, x)
        assert err <= RTOL_EXACT, (lam, u, s, x, err)


def test_the_exact_checks_catch_an_error_of_1e10():
    # The error measures are relative errors of x, not vacuous: a quantile off by 1e-10
    # (relative) reads as about 1e-10, in the far tails too.
    mp = pytest.importorskip("mpmath")
    for shape, u, s in ((0.5, 0.1, 0.9), (1e4, 1e-100, 1.0), (0.01, 1.0 - 1e-12, 1e-12)):
        x = gamma_quantile(shape, u, s)
        assert _gamma_error(mp, shape, u, s, x * (1 + 1e-10)) == pytest.approx(1e-10, rel=0.01)
        x = inverse_gaussian_quantile(shape, u, s)
        assert _invgauss_error(mp, shape, u, s, x * (1 + 1e-10)) == pytest.approx(1e-10, rel=0.01)


def test_quantiles_are_positive_and_finite_on_the_grid():
    for shape, u, s in GRID:
        assert TINY <= gamma_quantile(shape, u, s) < math.inf
        assert TINY <= inverse_gaussian_quantile(shape, u, s) < math.inf


def test_underflow_and_extremes():
    # a = 1e-4: the quantile at u = 0.5 is about 0.5^10000 (below TINY); at u = 0.999 it is
    # 2.5e-5, and the upper quantile at s = 1e-300 is about 675 (-log s - lgamma(a) - log x).
    assert gamma_quantile(1e-4, 0.5, 0.5) == TINY
    assert gamma_quantile(1e-4, 1e-300, 1.0) == TINY
    assert 2e-5 < gamma_quantile(1e-4, 0.999, 1.0 - 0.999) < 3e-5
    assert 670.0 < gamma_quantile(1e-4, 1.0, 1e-300) < 680.0
    # Exponential: -log(s) exactly, from s alone (u rounds to 1).
    assert gamma_quantile(1.0, 1.0, 1e-300) == pytest.approx(300 * math.log(10), rel=1e-14)
    assert gamma_quantile(1.0, 1e-300, 1.0) == pytest.approx(1e-300, rel=1e-13)


@st.composite
def _probabilities(draw: st.DrawFn) -> tuple[float, float]:
    """(u, 1 - u) from either tail, down to 1e-300, logarithmically or not."""
    p = draw(
        st.one_of(
            st.floats(min_value=1e-300, max_value=0.5),
            st.floats(min_value=-300.0, max_value=math.log10(0.5)).map(lambda e: 10.0**e),
        )
    )
    return (1.0 - p, p) if draw(st.booleans()) else (p, 1.0 - p)


def _order(us: tuple[float, float]) -> tuple[int, float]:
    """Sorts (u, s) by probability: ``u`` in the lower half, ``-s`` in the upper (``u`` rounds
    to 1 there)."""
    u, s = us
    return (0, u) if u <= 0.5 else (1, -s)


_SHAPE = st.floats(min_value=-4.0, max_value=6.0).map(lambda e: 10.0**e)
# Two quantiles from different solves (and tails) agree to 2e-12 where u1 is close to u2.
_MONOTONE_SLACK = 2e-12


@settings(max_examples=400, deadline=None)
@given(a=_SHAPE, first=_probabilities(), second=_probabilities())
def test_gamma_quantile_is_monotone_and_round_trips(
    a: float, first: tuple[float, float], second: tuple[float, float]
):
    (u1, s1), (u2, s2) = sorted((first, second), key=_order)
    x1, x2 = gamma_quantile(a, u1, s1), gamma_quantile(a, u2, s2)
    assert TINY <= x1 <= x2 * (1.0 + _MONOTONE_SLACK) < math.inf
    for x, u, s in ((x1, u1, s1), (x2, u2, s2)):
        if x == TINY:
            assert special.gammainc(a, TINY) >= u * (1.0 - 1e-12)
            continue
        # |P(a, x) - u| <= x f(x) times the relative error of x (1e-10), plus scipy's own.
        xf = math.exp(a * math.log(x) - x - math.lgamma(a))
        residual = special.gammainc(a, x) - u if u <= 0.5 else s - special.gammaincc(a, x)
        assert abs(residual) <= 1e-10 * xf + 1e-13 * min(u, s), (x, residual, xf)


@settings(max_examples=250, deadline=None)
@given(lam=_SHAPE, first=_probabilities(), second=_probabilities())
def test_inverse_gaussian_quantile_is_monotone_and_round_trips(
    lam: float, first: tuple[float, float], second: tuple[float, float]
):
    mp = pytest.importorskip("mpmath")
    (u1, s1), (u2, s2) = sorted((first, second), key=_order)
    x1, x2 = inverse_gaussian_quantile(lam, u1, s1), inverse_gaussian_quantile(lam, u2, s2)
    assert 0.0 < x1 <= x2 * (1.0 + _MONOTONE_SLACK) < math.inf
    assert _invgauss_error(mp, lam, u1, s1, x1) <= 1e-10
    assert _invgauss_error(mp, lam, u2, s2, x2) <= 1e-10
