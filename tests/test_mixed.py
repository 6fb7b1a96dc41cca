"""Survival functions and partial expectations of the severity laws and of the laws times the
risk score (simsettle.scenario.mixed).

References: scipy.stats' survival functions; the partial expectation ``E[X; X > x]`` by
``scipy.integrate.quad`` of ``y f(y)`` with the textbook density (on ``w = log(y / x)``, split at
quantiles, so that a peaked or heavy density is integrated to about 1e-12); mpmath at 400 digits
where scipy's survival function cancels (the inverse Gaussian's and log-logistic's far tail); the
closed forms of :mod:`simsettle.scenario.costs` (``R`` times a lognormal is lognormal, ``R``
times a Pareto is ``_Dist._tail``); adaptive quadrature of the risk integral over ``u`` with the
textbook survival function inside; the same rule refined; and 1e6 Monte Carlo draws (within 5
standard errors, seeds fixed). Relative tolerances are 1e-9 or tighter where the reference is
exact; the worst errors measured are in the module's docstring.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
import time
import warnings

import mpmath
import numpy as np
import pytest
from scipy import integrate, special, stats

from simsettle.scenario import mixed
from simsettle.scenario.costs import CostShape, cost_distribution
from simsettle.scenario.mixed import Component, excess_parts, family_parts, risk_mixed_parts
from simsettle.scenario.severity import FAMILIES, mean_factor

RTOL = 1e-9
SCALE = 2.0

#: Shapes per family spanning SHAPE_LIMITS (the heaviest lomax and pareto shape is 1.2: at 1.01
#: the part of y f(y) above 1e304, out of the quad reference's reach, is 1e-3 of the mean).
SHAPES = {
    "lognormal": [0.01, 0.3, 1.2, 4.0],
    "gamma": [1e-4, 0.05, 1.0, 7.5, 1e4, 1e6],
    "weibull": [0.1, 0.6, 1.0, 3.0, 100.0],
    "lomax": [1.2, 2.6, 5.0, 100.0],
    "pareto": [1.2, 1.8, 4.0, 100.0],
    "gpd": [-1.0, -0.9, -0.4, -1e-9, 0.0, 1e-9, 0.3, 0.9],
    "inverse_gaussian": [1e-4, 0.05, 0.5, 4.0, 1e3, 1e6],
    "loglogistic": [1.01, 1.2, 2.4, 10.0, 100.0],
}
CASES = [(f, k) for f in FAMILIES for k in SHAPES[f]]


def _scipy(family: str, shape: float, scale: float = SCALE):
    """The law in scipy's parameterisation."""
    if family == "lognormal":
        return stats.lognorm(shape, scale=scale)
    if family == "gamma":
        return stats.gamma(shape, scale=scale)
    if family == "weibull":
        return stats.weibull_min(shape, scale=scale)
    if family == "lomax":
        return stats.lomax(shape, scale=scale)
    if family == "pareto":
        return stats.pareto(shape, scale=scale)
    if family == "gpd":
        return stats.genpareto(shape, scale=scale)
    if family == "inverse_gaussian":
        return stats.invgauss(1.0 / shape, scale=shape * scale)  # lambda / mu, mu
    if family == "loglogistic":
        return stats.fisk(shape, scale=scale)
    raise AssertionError(family)


def _points(family: str, shape: float) -> np.ndarray:
    """0, quantiles from the median to the 1e-30 upper tail (scipy's isf; the inverse
    Gaussian's from a grid, where boost's quantile gives up) and 1e-3 and 10 times the scale."""
    d = _scipy(family, shape)
    if family == "inverse_gaussian":
        q = SCALE * np.geomspace(1e-3, 1e3, 7)
    else:
        q = d.isf([0.999, 0.5, 0.1, 1e-3, 1e-6, 1e-10, 1e-30])
    return np.concatenate(([0.0], q, [1e-3 * SCALE, 10.0 * SCALE]))


def _rel(a: np.ndarray | float, b: np.ndarray | float, floor: float = 0.0) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor), initial=0.0))


def _log_quantiles(c: Component, probs: np.ndarray) -> np.ndarray:
    """``log`` of the points where ``S`` of ``c`` is ``probs``, by bisection (cut points for
    the reference quadrature; scipy's isf fails for the inverse Gaussian's far tail)."""
    lo = np.full(probs.shape, -700.0)
    hi = np.full(probs.shape, 700.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = c.parts(np.exp(mid))[0] > probs
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def _textbook_logpdf(family: str, shape: float):
    """``log f(y)`` as a scalar function (scipy.stats costs 30 us a call, too slow in quad)."""
    k, c = shape, SCALE

    def logpdf(y: float) -> float:
        t = y / c
        lt = math.log(t)
        if family == "lognormal":
            return -math.log(y * k * math.sqrt(2.0 * math.pi)) - lt * lt / (2.0 * k * k)
        if family == "gamma":
            return (k - 1.0) * lt - t - math.lgamma(k) - math.log(c)
        if family == "weibull":
            return math.log(k / c) + (k - 1.0) * lt - math.exp(min(k * lt, 700.0))
        if family == "lomax":
            return math.log(k / c) - (k + 1.0) * math.log1p(t)
        if family == "pareto":
            return math.log(k / c) - (k + 1.0) * lt if t >= 1.0 else -math.inf
        if family == "gpd":
            if k == 0.0:
                return -math.log(c) - t
            z = k * t
            return -math.log(c) - (1.0 / k + 1.0) * math.log1p(z) if z > -1.0 else -math.inf
        if family == "inverse_gaussian":  # shape lambda / mu, mean c
            lam = k * c
            log_norm = 0.5 * (math.log(lam / (2.0 * math.pi)) - 3.0 * math.log(y))
            return log_norm - lam / (2.0 * c * c) * (y - c) * ((y - c) / y)
        # loglogistic
        return math.log(k / c) + (k - 1.0) * lt - 2.0 * float(np.logaddexp(0.0, k * lt))

    return logpdf


def _partial_by_quad(family: str, shape: float, x: float, scale: float) -> float:
    """``E[X; X > x]`` by quad of ``y f(y)``: on ``w = log(y / x)``, split at quantiles, or on
    ``y`` within a factor 2 of a bounded support's end; each piece to ``1e-13`` relative or
    ``1e-15 scale`` absolute (``scale`` the size of the result)."""
    d = _scipy(family, shape)
    lo, hi = d.support()
    if x <= lo:
        return float(d.mean())
    if x >= hi:
        return 0.0
    logpdf = _textbook_logpdf(family, shape)
    opts = {"epsabs": 1e-15 * scale, "epsrel": 1e-13, "limit": 200}
    with warnings.catch_warnings():
        # pieces far in the tail, which carry nothing, can report roundoff
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        if 2.0 * x > hi:
            return integrate.quad(lambda y: y * math.exp(logpdf(y)), x, hi, **opts)[0]
        lx = math.log(x)
        top = math.log(hi / x) if math.isfinite(hi) else math.inf

        def g(w: float) -> float:
            if w + lx > 700.0:
                return 0.0  # below 1e-60 of the whole for the shapes here
            return math.exp(2.0 * (w + lx) + logpdf(math.exp(w + lx)))

        upper = [0.5, 0.3, 0.1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8, 1e-12, 1e-16, 1e-20, 1e-30]
        probs = np.array([*upper, 1e-50, 1e-100, 1e-200, 1e-300, *(1.0 - p for p in upper[1:9])])
        qs = np.exp(_log_quantiles(Component.family(family, shape, SCALE), probs))
        cuts = sorted({0.0, *(math.log(q / x) for q in qs if x < q < hi)})
        cuts = [w for w in cuts if w < min(700.0 - lx, top)] + [top]
        pieces = itertools.pairwise(cuts)
        return sum(integrate.quad(g, a, b, **opts)[0] for a, b in pieces)


# ------------------------------------------------------------------------ family_parts


@pytest.mark.parametrize(("family", "shape"), CASES)
def test_survival_matches_scipy(family, shape):
    x = _points(family, shape)
    s, _ = family_parts(family, shape, SCALE, x)
    with np.errstate(all="ignore"):
        ref = _scipy(family, shape).sf(x)
    if family in ("loglogistic", "inverse_gaussian"):
        # scipy's log-logistic sf is 1 - cdf and its inverse Gaussian's cancels in the tail
        # (3e-11 off at 1e-6): mpmath checks the tail (test_survival_far_tail_mpmath).
        trust = ref > 1e-6
        assert _rel(s[trust], ref[trust]) < RTOL
    else:
        assert _rel(s, ref, 1e-300) < 1e-12
    assert s[0] == 1.0


@pytest.mark.parametrize(
    ("family", "shape"),
    # the log-logistic of shape 1.01 keeps 1e-3 of its mean above 1e304 (mpmath checks it)
    [case for case in CASES if case != ("loglogistic", 1.01)],
)
def test_partial_expectation_matches_quad(family, shape):
    x = _points(family, shape)
    _, pe = family_parts(family, shape, SCALE, x)
    assert pe[0] == pytest.approx(SCALE * mean_factor(family, shape), rel=1e-14)
    ref = np.array([_partial_by_quad(family, shape, v, p) for v, p in zip(x, pe, strict=True)])
    err = np.abs(pe - ref) / np.maximum(ref, 1e-290)
    tol = np.full(x.shape, RTOL)
    if family == "gpd" and shape < 0.0:
        # Near the end hi, S ~ (hi - x)^(-1/xi): a relative change of x by one rounding moves
        # S by 1e-16 hi / (hi - x) / |xi| relatively, for both sides.
        hi = -SCALE / shape
        with np.errstate(divide="ignore"):
            tol += 1e-15 * hi / np.abs(hi - x) / -shape
    assert np.all(err < tol)


@pytest.mark.parametrize(
    ("family", "shape"),
    [
        ("inverse_gaussian", 1e-4),
        ("inverse_gaussian", 0.5),
        ("inverse_gaussian", 50.0),
        ("inverse_gaussian", 1e5),
        ("loglogistic", 1.01),
        ("loglogistic", 3.0),
    ],
)
def test_survival_far_tail_mpmath(family, shape):
    mpmath.mp.dps = 400
    c = mpmath.mpf(SCALE)
    if family == "inverse_gaussian":
        # S = 1 - F, F = Phi(A) + e^(2 phi) Phi(-B); and E[X; X <= x] = mu (Phi(A) - e^(2 phi)
        # Phi(-B)), A, B = sqrt(phi / t) (t -+ 1), t = x / mu; at 400 digits 1 - F is exact.
        a_max = math.sqrt(2.0 * 690.0)  # S above about 1e-300
        t = np.geomspace(1e-2, 1e9, 60)
        t = t[np.sqrt(shape / t) * (t - 1.0) < a_max]

        def ref(x):
            tt = mpmath.mpf(x) / c
            r = mpmath.sqrt(shape / tt)
            second = mpmath.exp(2 * mpmath.mpf(shape)) * mpmath.ncdf(-r * (tt + 1))
            first = mpmath.ncdf(r * (tt - 1))
            return 1 - first - second, c * (1 - first + second)
    else:
        t = np.geomspace(1e-6, 1e290 ** (1.0 / shape), 60)

        def ref(x):
            z = (mpmath.mpf(x) / c) ** shape
            b = 1 / mpmath.mpf(shape)
            s = 1 / (1 + z)
            mean = c * mpmath.beta(1 - b, 1 + b)
            return s, mean * mpmath.betainc(1 - b, 1 + b, 0, s, regularized=True)

    x = SCALE * t
    s, pe = family_parts(family, shape, SCALE, x)
    refs = [ref(v) for v in x]
    mpmath.mp.dps = 15
    rs = np.array([float(r[0]) for r in refs])
    rp = np.array([float(r[1]) for r in refs])
    assert _rel(s, rs) < 1e-12
    assert _rel(pe, rp) < 1e-12


def test_gpd_near_zero_shape_is_the_exponential():
    x = np.array([0.0, 1e-300, 0.3, 2.0, 40.0, 700.0, 1400.0])
    t = x / SCALE
    exact = np.exp(-t), np.exp(-t) * (x + SCALE)
    for xi in (0.0, 1e-300):
        s, pe = family_parts("gpd", xi, SCALE, x)
        assert _rel(s, exact[0], 1e-300) < 1e-13
        assert _rel(pe, exact[1], 1e-300) < 1e-13
    # log S = -log1p(xi t) / xi = -t + xi t^2 / 2 - xi^2 t^3 / 3 + ...
    for xi in (1e-16, -1e-16, 1e-9, -1e-9):
        s, pe = family_parts("gpd", xi, SCALE, x)
        log_s = -t + xi * t * t / 2.0 - xi * xi * t**3 / 3.0
        assert _rel(s, np.exp(log_s), 1e-300) < 1e-13
        assert _rel(pe, np.exp(log_s) * (x + (SCALE + xi * x) / (1.0 - xi)), 1e-300) < 1e-13


def test_bounded_gpd_support_ends():
    for xi in (-1.0, -0.9, -0.4):
        hi = -SCALE / xi
        x = np.array([0.0, 0.5 * hi, hi * (1 - 1e-12), hi, hi * (1 + 1e-9), 2 * hi, np.inf])
        s, pe = family_parts("gpd", xi, SCALE, x)
        assert np.all(s[3:] == 0.0)
        assert np.all(pe[3:] == 0.0)
        assert s[0] == 1.0
        assert pe[0] == pytest.approx(SCALE / (1.0 - xi), rel=1e-15)
        # (1 - x / hi)^(-1 / xi) just below the end, in exact arithmetic for this x (well within
        # the conditioning bound 1e-15 hi / (hi - x) / |xi| of the module's docstring)
        mpmath.mp.dps = 50
        d = 1 - mpmath.mpf(x[2]) / mpmath.mpf(hi)
        expect = float(d ** (-1 / mpmath.mpf(xi)))
        mpmath.mp.dps = 15
        assert s[2] == pytest.approx(expect, rel=1e-9)


def test_pareto_below_its_scale():
    s, pe = family_parts("pareto", 2.5, SCALE, np.array([0.0, 1.0, SCALE]))
    assert np.all(s == 1.0)
    assert np.allclose(pe, SCALE * 2.5 / 1.5, rtol=1e-15)


def test_arrays_keep_their_shape_and_inputs_are_checked():
    x = np.linspace(0.0, 10.0, 12).reshape(3, 4)
    for family in FAMILIES:
        shape = SHAPES[family][2]
        s, pe = family_parts(family, shape, SCALE, x)
        assert s.shape == pe.shape == (3, 4)
        s0, pe0 = family_parts(family, shape, SCALE, 3.0)
        assert s0.shape == ()
        assert float(s0) == pytest.approx(float(family_parts(family, shape, SCALE, [3.0])[0][0]))
        assert np.all(np.diff(s.ravel()) <= 0.0)
        assert np.all(np.diff(pe.ravel()) <= 0.0)
        assert float(pe0) >= 3.0 * float(s0)
    with pytest.raises(ValueError, match="unknown severity family"):
        family_parts("cauchy", 1.0, 1.0, x)
    with pytest.raises(ValueError, match="lomax shape"):
        family_parts("lomax", 1.0, 1.0, x)
    with pytest.raises(ValueError, match="gpd shape"):
        Component.family("gpd", 1.0, 1.0)
    with pytest.raises(ValueError, match="xi in"):
        Component.excess(1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="risk_sigma"):
        risk_mixed_parts(Component.family("gamma", 1.0, 1.0), -0.1, x)


# ------------------------------------------------------------------------ excess_parts


@pytest.mark.parametrize("alpha", [1.01, 1.2, 2.5, 4.0, 50.0])
def test_excess_is_the_single_parameter_pareto(alpha):
    h = 60_000.0
    x = np.concatenate(([0.0, 0.5 * h, h], h * np.geomspace(1.0 + 1e-9, 1e12, 40)))
    s, pe = excess_parts(h, 1.0 / alpha, h / alpha, x)
    rs, rp = family_parts("pareto", alpha, h, x)
    assert _rel(s, rs, 1e-300) < 1e-12
    assert _rel(pe, rp, 1e-300) < 1e-12


def test_excess_shifts_the_gpd():
    h = 500.0
    for xi, sigma in ((-0.6, 300.0), (0.0, 300.0), (0.45, 80.0)):
        y = np.concatenate(([0.0], np.geomspace(1e-3, 1e4, 30)))
        s, pe = excess_parts(h, xi, sigma, h + y)
        gs, gpe = family_parts("gpd", xi, sigma, y)
        assert _rel(s, gs, 1e-300) < 1e-12
        assert _rel(pe, gpe + h * gs, 1e-300) < 1e-12
        below = excess_parts(h, xi, sigma, np.array([0.0, h]))
        assert np.all(below[0] == 1.0)
        assert np.allclose(below[1], h + sigma / (1.0 - xi), rtol=1e-15)


def test_components():
    c = Component.family("pareto", 3.0, 10.0)
    assert (c.lo, c.hi, c.mean) == (10.0, math.inf, 15.0)
    c = Component.family("gpd", -0.5, 10.0)
    assert (c.lo, c.hi, c.mean) == (0.0, 20.0, pytest.approx(10.0 / 1.5))
    c = Component.excess(100.0, -0.25, 10.0)
    assert (c.lo, c.hi, c.mean) == (100.0, 140.0, 108.0)
    c = Component.family("gamma", 2.0, 3.0)
    assert (c.lo, c.hi, c.mean) == (0.0, math.inf, 6.0)
    s, pe = c.parts(np.array([0.0]))
    assert (s[0], pe[0]) == (1.0, 6.0)


# ------------------------------------------------------------------------ risk_mixed_parts

RISK_SIGMAS = [0.05, 0.5, 1.5, 3.0]


def test_risk_sigma_zero_and_x_zero():
    for family in FAMILIES:
        shape = SHAPES[family][2]
        c = Component.family(family, shape, SCALE)
        x = np.array([0.0, 0.3, 2.0, 9.0])
        own = c.parts(x)
        mixed0 = risk_mixed_parts(c, 0.0, x)
        assert np.array_equal(own[0], mixed0[0])
        assert np.array_equal(own[1], mixed0[1])
        for sr in (0.5, 3.0):
            s, pe = risk_mixed_parts(c, sr, np.array([0.0, 0.0]))
            assert np.all(s == 1.0)
            assert np.allclose(pe, c.mean, rtol=1e-15)
            s2, pe2 = risk_mixed_parts(c, sr, x.reshape(2, 2))
            assert s2.shape == pe2.shape == (2, 2)


def _lognormal_mixed(sigma: float, sr: float, x: np.ndarray):
    """``R X`` for a lognormal ``X`` of log-sd ``sigma`` and median SCALE: lognormal with the
    same mean and log-sd ``hypot(sigma, sr)``."""
    m = SCALE * math.exp(0.5 * sigma * sigma)
    sd = math.hypot(sigma, sr)
    z = (math.log(m) - np.log(x)) / sd
    return special.ndtr(z - 0.5 * sd), m * special.ndtr(z + 0.5 * sd)


@pytest.mark.parametrize("sigma", [0.01, 0.3, 1.2, 4.0])
def test_lognormal_against_closed_form(sigma):
    worst = 0.0
    for sr in RISK_SIGMAS:
        c = Component.family("lognormal", sigma, SCALE)
        sd = math.hypot(sigma, sr)
        x = c.mean * np.exp(sd * np.linspace(-9.0, 9.0, 181))
        s, pe = risk_mixed_parts(c, sr, x)
        rs, rp = _lognormal_mixed(sigma, sr, x)
        worst = max(worst, _rel(s, rs, 1e-20), _rel(pe, rp, 1e-20 * c.mean))
    assert worst < 1e-11


def _tail_reference(alpha: float, h: float, sr: float, x: np.ndarray):
    """``_Dist._tail`` of :mod:`simsettle.scenario.costs` for ``R`` times the Pareto."""
    shape = CostShape(
        zero_cost_share=0.0,
        body_sigma=1.0,
        tail_probability=0.01,
        tail_threshold=h,
        tail_shape=alpha,
        risk_sigma=sr,
        pmpm=h,
    )
    dist = cost_distribution(shape)
    out = np.array([dist._tail(math.log(v)) for v in x])
    return out[:, 0], out[:, 1]


@pytest.mark.parametrize("alpha", [1.01, 1.2, 2.5, 4.0, 50.0, 100.0])
def test_pareto_tail_against_costs_closed_form(alpha):
    h = 60_000.0
    worst = 0.0
    for sr in RISK_SIGMAS:
        x = h * np.exp(np.linspace(-8.0 * sr, 30.0 * sr / math.sqrt(alpha) + 8.0 * sr, 121))
        rs, rp = _tail_reference(alpha, h, sr, x)
        keep = rs > 1e-20
        for c in (Component.family("pareto", alpha, h), Component.excess(h, 1 / alpha, h / alpha)):
            s, pe = risk_mixed_parts(c, sr, x)
            worst = max(worst, _rel(s[keep], rs[keep]), _rel(pe[keep], rp[keep]))
    assert worst < 1e-10


def _textbook_sf(family: str, shape: float):
    """``S`` as a scalar function, from the textbook formula (scipy.stats costs 30 to 80 us a
    call, too slow inside quad; its survival functions are checked above)."""
    k, c = shape, SCALE

    def sf(y: float) -> float:
        with np.errstate(all="ignore"):
            t = np.float64(y) / c
            if family == "gamma":
                out = special.gammaincc(k, t)
            elif family == "weibull":
                out = np.exp(-(t**k))
            elif family == "lomax":
                out = (1.0 + t) ** -k
            elif family == "gpd":
                out = max(1.0 + k * t, 0.0) ** (-1.0 / k)
            elif family == "loglogistic":
                out = 1.0 / (1.0 + t**k)
            else:  # inverse Gaussian, phi = lambda / mu: Phi(-A) - e^(2 phi) Phi(-B)
                r = math.sqrt(k / t)
                second = np.exp(2.0 * k + special.log_ndtr(-r * (t + 1.0)))
                out = max(special.ndtr(-r * (t - 1.0)) - second, 0.0)
        return float(out)

    return sf


def _u_quad(c: Component, sf, pe_of, sr: float, x: float, scale: tuple):
    """``P(R X > x)`` with the scalar survival function ``sf`` inside and ``E[R X; R X > x]``
    with the (tested) partial expectation ``pe_of`` inside, by quad over ``u`` split at 1/2 unit
    and at the points where ``x / R(u)`` is a quantile of ``X`` (so that a narrow ``X`` is
    found), over ``[-9.5, 9.5 + sr]`` (results above 1e-10 are exact to 1e-11), each piece to
    ``1e-13`` relative or ``1e-16`` of ``scale`` (the sizes of the two results) absolute; the
    closed-form parts beyond the support's ends as in the module."""
    half = 0.5 * sr * sr
    lx = math.log(x)
    u_lo = (lx - math.log(c.lo) + half) / sr if c.lo > 0.0 else math.inf
    u_hi = (lx - math.log(c.hi) + half) / sr if math.isfinite(c.hi) else -math.inf
    a, b = max(u_hi, -9.5), min(u_lo, 9.5 + sr)  # normal mass 1e-21 outside
    probs = np.concatenate((1.0 - np.geomspace(1e-12, 0.5, 8), np.geomspace(0.5, 1e-40, 30)))
    cuts = np.concatenate(([a, b], np.arange(-9.5, 9.5 + sr, 0.5)))
    cuts = np.unique(np.concatenate((cuts, (lx + half - _log_quantiles(c, probs)) / sr)))
    cuts = cuts[(cuts >= a) & (cuts <= b)]
    opts_s = {"epsabs": 1e-16 * scale[0], "epsrel": 1e-13, "limit": 200}
    opts_p = {"epsabs": 1e-16 * scale[1], "epsrel": 1e-13, "limit": 200}

    def fs(u):
        return math.exp(-0.5 * u * u) * sf(math.exp(lx + half - sr * u))

    def fp(u):
        return math.exp(-0.5 * (u - sr) ** 2) * pe_of(math.exp(lx + half - sr * u))

    pieces = list(itertools.pairwise(cuts))
    with warnings.catch_warnings():
        # pieces that carry nothing (1e-300 of the whole) can report roundoff
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        s = sum(integrate.quad(fs, p, q, **opts_s)[0] for p, q in pieces)
        pe = sum(integrate.quad(fp, p, q, **opts_p)[0] for p, q in pieces)
    s /= math.sqrt(2.0 * math.pi)
    pe /= math.sqrt(2.0 * math.pi)
    return s + special.ndtr(-u_lo), pe + c.mean * special.ndtr(sr - u_lo)


def _against_quad(c: Component, sf, pe_of) -> float:
    """Worst relative error of :func:`risk_mixed_parts` against :func:`_u_quad` at risk sigma
    0.5, 1.5 and 3, at two points: the median of ``X`` moved up one risk sd, and its 1e-6
    quantile moved up two."""
    median, far = np.exp(_log_quantiles(c, np.array([0.5, 1e-6])))
    worst = 0.0
    for sr in (0.5, 1.5, 3.0):
        x = [median * math.exp(sr), far * math.exp(2.0 * sr)]
        s, pe = risk_mixed_parts(c, sr, np.array(x))
        for i, v in enumerate(x):
            rs, rp = _u_quad(c, sf, pe_of, sr, v, (s[i], pe[i]))
            assert rs > 1e-10
            worst = max(worst, _rel(s[i], rs), _rel(pe[i], rp))
    return worst


QUAD_CASES = [
    ("gamma", 0.05),
    ("gamma", 7.5),
    ("weibull", 0.6),
    ("weibull", 100.0),
    ("lomax", 2.6),
    ("gpd", -0.4),
    ("gpd", 0.3),
    ("inverse_gaussian", 0.5),
    ("inverse_gaussian", 1e3),
    ("loglogistic", 1.2),
    ("loglogistic", 10.0),
]


@pytest.mark.parametrize(("family", "shape"), QUAD_CASES)
def test_other_families_against_adaptive_quadrature(family, shape):
    c = Component.family(family, shape, SCALE)

    def pe_of(y: float) -> float:
        return float(family_parts(family, shape, SCALE, y)[1])

    assert _against_quad(c, _textbook_sf(family, shape), pe_of) < 1e-11


@pytest.mark.parametrize(("xi", "sigma"), [(-0.7, 300.0), (0.25, 150.0)])
def test_excess_against_adaptive_quadrature(xi, sigma):
    h = 500.0
    c = Component.excess(h, xi, sigma)

    def sf(y: float) -> float:
        return 1.0 if y <= h else max(1.0 + xi * (y - h) / sigma, 0.0) ** (-1.0 / xi)

    def pe_of(y: float) -> float:
        return float(excess_parts(h, xi, sigma, y)[1])

    assert _against_quad(c, sf, pe_of) < 1e-11


@pytest.mark.parametrize(
    ("family", "shape", "sr"),
    [("gamma", 0.5, 1.5), ("weibull", 0.7, 0.5), ("gpd", -0.3, 1.0), ("loglogistic", 3.0, 0.8)],
)
def test_monte_carlo(family, shape, sr):
    rng = np.random.default_rng(20240611)
    n = 1_000_000
    d = _scipy(family, shape)
    cost = d.rvs(size=n, random_state=rng) * rng.lognormal(-0.5 * sr * sr, sr, size=n)
    c = Component.family(family, shape, SCALE)
    x = np.quantile(cost, [0.5, 0.9, 0.99])
    s, pe = risk_mixed_parts(c, sr, x)
    for i, v in enumerate(x):
        above = cost > v
        p_hat = above.mean()
        assert abs(s[i] - p_hat) < 5.0 * math.sqrt(p_hat * (1 - p_hat) / n)
        part = np.where(above, cost, 0.0)
        assert abs(pe[i] - part.mean()) < 5.0 * part.std() / math.sqrt(n)


def test_scale_equivariance():
    # R (k X) > k x  iff  R X > x: S unchanged, PE times k.
    for family in FAMILIES:
        shape = SHAPES[family][1]
        x = SCALE * np.geomspace(0.01, 100.0, 9)
        s1, pe1 = risk_mixed_parts(Component.family(family, shape, SCALE), 1.2, x)
        s2, pe2 = risk_mixed_parts(Component.family(family, shape, 7.0 * SCALE), 1.2, 7.0 * x)
        assert _rel(s2, s1, 1e-300) < 1e-11
        assert _rel(pe2, 7.0 * pe1, 1e-300) < 1e-11


def test_rule_has_converged(monkeypatch):
    """The rule (16 Gauss-Legendre nodes, log-steps of 7) against one with 24 nodes and steps
    of 3.5: agreement to 1e-11 for every family at every risk sigma, down to values of 1e-20."""
    x_steps = np.linspace(-6.0, 10.0, 33)
    cases = [(f, k) for f in FAMILIES for k in (SHAPES[f][0], SHAPES[f][-1])]

    def run():
        out = []
        for family, shape in cases:
            c = Component.family(family, shape, SCALE)
            for sr in RISK_SIGMAS:
                x = c.mean * np.exp(max(sr, 0.3) * x_steps)
                out.append((c.mean, *risk_mixed_parts(c, sr, x)))
        return out

    base = run()
    t, w = np.polynomial.legendre.leggauss(24)
    monkeypatch.setattr(mixed, "_GL_T", t)
    monkeypatch.setattr(mixed, "_GL_W", w)
    monkeypatch.setattr(mixed, "_STEP", 3.5)
    monkeypatch.setattr(mixed, "_LEVELS", np.arange(36.0, -40.5, -3.5))
    fine = run()
    worst = max(
        max(_rel(b[1], f[1], 1e-20), _rel(b[2], f[2], 1e-20 * b[0]))
        for b, f in zip(base, fine, strict=True)
    )
    assert worst < 1e-11


def test_importing_does_not_load_scipy():
    code = "import sys, simsettle.scenario, simsettle.scenario.mixed; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_timing(capsys):
    lines = []
    for family in FAMILIES:
        c = Component.family(family, SHAPES[family][2], SCALE)
        risk_mixed_parts(c, 0.5, np.array([1.0]))  # levels found, scipy imported
        x1 = np.array([3.0 * c.mean])
        start = time.perf_counter()
        for _ in range(20):
            risk_mixed_parts(c, 0.5, x1)
        one = (time.perf_counter() - start) / 20
        lines.append(f"{family}: {one * 1e3:.2f} ms")
        assert one < 0.05
    with capsys.disabled():
        print("\nrisk_mixed_parts, one x:", "; ".join(lines))
