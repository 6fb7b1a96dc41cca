"""Claim severity families of the frequency-severity model (``cost.severity``).

The kernel's sampler is held to scipy's own distributions, written here in scipy's
parameterisation from the scenario's (so the mapping onto the kernel's parameters is checked as
well as the draws); the sums that the kernel draws in one go (gamma, inverse Gaussian) to the
distribution of the sum; the moments of :mod:`simsettle.scenario.severity` to scipy's; the
engine's member-year cost to the reference twin's, to the bit; and the scenario's rules.
"""

from __future__ import annotations

import math
import re

import numba
import numpy as np
import pytest
from scipy import stats

from simsettle import ScenarioError, parse_scenario
from simsettle._kernels import member as M
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario import severity as S
from simsettle.scenario.schema import Cost
from tests.conftest import SMALL_SCENARIO, assert_twin_agrees

MEAN = 1000.0  # the mean claim of every law below (USD)

# (family, shape): each family once near its default use, and the heavy ones near their edges.
PLAIN = [
    ("lognormal", 1.4),
    ("gamma", 0.35),
    ("gamma", 4.0),
    ("weibull", 0.6),
    ("weibull", 2.5),
    ("lomax", 2.6),
    ("pareto", 1.8),
    ("gpd", 0.3),
    ("gpd", -0.4),
    ("gpd", 0.0),
    ("inverse_gaussian", 0.5),
    ("loglogistic", 2.4),
]
SPLICES = [
    # (body, body shape, tail, tail shape, tail scale, threshold, tail probability)
    ("lognormal", 1.1, "pareto", 2.2, None, 15_000.0, 0.01),
    ("weibull", 0.8, "gpd", 0.35, 6_000.0, 10_000.0, 0.02),
    ("lomax", 3.0, "gpd", -0.2, 4_000.0, 8_000.0, 0.03),
]


def _scipy(law: S.SeverityLaw):
    """The law as a scipy distribution, in scipy's parameterisation (not the kernel's)."""
    f, k, c = law.family, law.shape, law.scale
    if f == "lognormal":
        return stats.lognorm(k, scale=c)
    if f == "gamma":
        return stats.gamma(k, scale=c)
    if f == "weibull":
        return stats.weibull_min(k, scale=c)
    if f == "lomax":
        return stats.lomax(k, scale=c)
    if f == "pareto":
        return stats.pareto(k, scale=c)
    if f == "gpd":
        return stats.genpareto(k, scale=c)
    if f == "inverse_gaussian":
        lam = k * c  # shape lambda / mu, scale mu
        return stats.invgauss(c / lam, scale=lam)
    if f == "loglogistic":
        return stats.fisk(k, scale=c)
    raise AssertionError(f)


def _spliced_cdf(law: S.SeverityLaw):
    body = _scipy(S.SeverityLaw(law.body, law.shape, law.scale))
    tail = stats.genpareto(law.tail_xi, loc=law.threshold, scale=law.tail_sigma)
    p, t = law.tail_probability, law.threshold
    f_t = body.cdf(t)

    def cdf(x):
        x = np.asarray(x, dtype=np.float64)
        below = (1.0 - p) * np.minimum(body.cdf(x) / f_t, 1.0)
        return np.where(x < t, below, 1.0 - p + p * tail.cdf(x))

    return cdf


def _law(family: str, shape: float) -> S.SeverityLaw:
    return S.plain_law(family, shape, MEAN)


def _splice(case) -> S.SeverityLaw:
    body, bshape, tail, tshape, tscale, t, p = case
    return S.spliced_law(MEAN, t, p, body, bshape, tail, tshape, tscale)


def _record(law: S.SeverityLaw):
    """A model record whose severity fields are the law's (the rest is never read here)."""
    from simsettle.models.population import severity_fields

    rec = np.zeros((), dtype=R.MODEL_DTYPE)
    for name, value in severity_fields(law).items():
        rec[name] = value
    return rec


@numba.njit(cache=False)
def _draw_totals(record, n_claims: int, size: int) -> np.ndarray:
    m = M.member_model(record)
    out = np.empty(size)
    for i in range(size):
        at = (np.uint32(12345), np.uint32(678), np.uint32(3), np.uint32(1), np.uint32(i))
        out[i] = M.severity_total(m, at, R.STREAM_CLAIMS, n_claims)
    return out


def _draws(law: S.SeverityLaw, n_claims: int = 1, size: int = 20_000) -> np.ndarray:
    rec = _record(law)
    if law.family == "lognormal":
        # The plain lognormal is drawn by compound_cost from its normals; here its quantile
        # (a splice's body, with no tail) stands in, checked against scipy like the others.
        rec["severity_a"] = math.log(law.scale)
        rec["severity_b"] = law.shape
        rec["severity_family"] = R.SEV_SPLICED
        rec["severity_body_family"] = R.SEV_LOGNORMAL
        rec["severity_body_cdf"] = 1.0
        rec["severity_threshold"] = math.inf
        rec["severity_tail_probability"] = 0.0
    return _draw_totals(rec.reshape(1)[0], n_claims, size)


@pytest.mark.parametrize(("family", "shape"), PLAIN)
def test_one_claim_follows_its_law(family: str, shape: float) -> None:
    """Kolmogorov-Smirnov against scipy's distribution, 20,000 claims."""
    law = _law(family, shape)
    x = _draws(law)
    result = stats.kstest(x, _scipy(law).cdf)
    assert result.pvalue > 1e-3, result
    assert np.all(np.isfinite(x))
    assert np.all(x > 0.0)


@pytest.mark.parametrize("case", SPLICES, ids=lambda c: f"{c[0]}-{c[2]}")
def test_a_spliced_claim_follows_its_law(case) -> None:
    law = _splice(case)
    x = _draws(law, size=40_000)
    result = stats.kstest(x, _spliced_cdf(law))
    assert result.pvalue > 1e-3, result
    above = np.mean(x > law.threshold)
    p = law.tail_probability
    assert abs(above - p) < 5.0 * math.sqrt(p * (1 - p) / x.size)


@pytest.mark.parametrize(
    ("family", "shape", "n"),
    [
        ("gamma", 0.35, 3),
        ("gamma", 4.0, 40),
        ("inverse_gaussian", 0.5, 3),
        ("inverse_gaussian", 0.5, 25),
    ],
)
def test_the_sum_drawn_in_one_go_is_the_sum_of_claims(family: str, shape: float, n: int) -> None:
    """Gamma and inverse Gaussian totals are one draw: gamma of shape n a, IG(n mu, n^2
    lambda); Kolmogorov-Smirnov against scipy's, and the mean n x the claim mean."""
    law = _law(family, shape)
    x = _draws(law, n_claims=n)
    if family == "gamma":
        ref = stats.gamma(n * shape, scale=law.scale)
    else:
        mu, lam = n * law.scale, n * n * shape * law.scale
        ref = stats.invgauss(mu / lam, scale=lam)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-3
    sd = ref.std() / math.sqrt(x.size)
    assert abs(x.mean() - n * MEAN) < 5.0 * sd


@pytest.mark.parametrize(("family", "shape"), PLAIN)
def test_moments_are_scipys(family: str, shape: float) -> None:
    law = _law(family, shape)
    d = _scipy(law)
    assert law.mean == pytest.approx(MEAN, rel=1e-12)
    assert d.mean() == pytest.approx(MEAN, rel=1e-10)
    var = d.var()
    if math.isfinite(var):
        assert law.cv == pytest.approx(math.sqrt(var) / MEAN, rel=1e-9)
    else:
        assert math.isinf(law.cv)


@pytest.mark.parametrize("case", SPLICES, ids=lambda c: f"{c[0]}-{c[2]}")
def test_a_splice_keeps_the_mean_claim(case) -> None:
    """The body's scale solved for the mean; the splice's moments against scipy's (the body's
    conditional expectation below the threshold, the tail's generalised Pareto moments)."""
    law = _splice(case)
    body = _scipy(S.SeverityLaw(law.body, law.shape, law.scale))
    tail = stats.genpareto(law.tail_xi, loc=law.threshold, scale=law.tail_sigma)
    p, t = law.tail_probability, law.threshold
    m = [
        (1.0 - p) * body.expect(lambda x, k=k: x**k, ub=t, conditional=True) + p * tail.moment(k)
        for k in (1, 2)
    ]
    mean, second = law.moments()
    assert mean == pytest.approx(MEAN, rel=1e-12)
    assert m[0] == pytest.approx(MEAN, rel=1e-8)
    assert second == pytest.approx(m[1], rel=1e-8)


@pytest.mark.parametrize("family", S.FAMILIES)
def test_cv_and_shape_are_inverse(family: str) -> None:
    low, high = S.cv_range(family)
    for cv in (0.8, 1.3, 2.0, 4.0):
        if not low <= cv <= high:
            continue
        shape = S.shape_from_cv(family, cv)
        assert math.sqrt(S.severity_cv2(family, shape)) == pytest.approx(cv, rel=1e-10)


# ------------------------------------------------------------------ the engine


def _scenario(severity: str, members: int = 30, extra: str = ""):
    text = SMALL_SCENARIO.replace("members: 300", f"members: {members}").replace(
        "  pmpm: 900.0\n",
        f"  pmpm: 900.0\n  model: frequency_severity\n  claims_per_year: 4.0\n"
        f"  severity: {severity}\n{extra}",
    )
    return parse_scenario(text).scenario


ENGINE = [
    "{family: gamma, cv: 2.0}",
    "{family: weibull, shape: 0.7}",
    "{family: lomax, shape: 2.5}",
    "{family: pareto, cv: 1.5}",
    "{family: gpd, shape: 0.25}",
    "{family: inverse_gaussian, cv: 1.8}",
    "{family: loglogistic, shape: 3.0}",
    "{family: spliced, threshold: 20000, tail_probability: 0.01, "
    "body: {family: lognormal, shape: 1.0}, tail: {family: pareto, shape: 2.5}}",
    "{family: spliced, threshold: 12000, tail_probability: 0.02, "
    "body: {family: weibull, cv: 1.2}, tail: {family: gpd, shape: 0.3, scale: 5000}}",
]


@pytest.mark.parametrize("severity", ENGINE)
@pytest.mark.parametrize("trial", [0, 2**31 + 3])
def test_kernel_matches_its_reference_twin(severity: str, trial: int) -> None:
    """Every member-year of a trial (turnover, joiners, partial years, a gamma frailty for the
    counts' spread) against the plain-Python twin."""
    sc = _scenario(severity, extra="  claim_frailty: gamma\n  claim_dispersion: 0.6\n")
    assert_twin_agrees(sc, trial)


def test_a_lognormal_severity_is_the_default_draw_to_the_bit() -> None:
    """`severity: {family: lognormal, shape: s}` is `severity_sigma: s`."""
    a = _scenario("{family: lognormal, shape: 1.3}")
    text = SMALL_SCENARIO.replace("members: 300", "members: 30").replace(
        "  pmpm: 900.0\n",
        "  pmpm: 900.0\n  model: frequency_severity\n  claims_per_year: 4.0\n"
        "  severity_sigma: 1.3\n",
    )
    b = parse_scenario(text).scenario
    key = key_from_seed(a.seed)
    np.testing.assert_array_equal(
        simulate_aggregates(compile_model(a), key, 0, 4),
        simulate_aggregates(compile_model(b), key, 0, 4),
    )


@pytest.mark.parametrize(
    ("severity", "message"),
    [
        ("{family: gamma}", "give exactly one of shape"),
        ("{family: gamma, shape: 1, cv: 1}", "give exactly one of shape"),
        ("{family: lomax, shape: 0.9}", r"lomax shape \(alpha\) must lie in \(1, 100\]"),
        ("{family: lomax, cv: 0.5}", "reaches coefficients of variation from 1.01"),
        ("{family: gpd, shape: 1.0}", r"must lie in \[-1, 1\)"),
        (
            "{family: spliced, threshold: 5000, tail_probability: 0.6, "
            "body: {family: lognormal, shape: 1}, tail: {family: pareto, shape: 2}}",
            "the tail alone carries",
        ),
        (
            "{family: spliced, threshold: 300, tail_probability: 0.01, "
            "body: {family: lomax, shape: 3}, tail: {family: pareto, shape: 2}}",
            "raise the threshold",
        ),
        (
            "{family: spliced, threshold: 9000, tail_probability: 0.01, "
            "body: {family: gamma, shape: 1}, tail: {family: pareto, shape: 2}}",
            "body.family",
        ),
        (
            "{family: spliced, threshold: 9000, tail_probability: 0.01, "
            "body: {family: lognormal, shape: 1}, tail: {family: gpd, shape: 0.2}}",
            "a gpd tail needs its scale",
        ),
        (
            "{family: spliced, threshold: 9000, tail_probability: 0.01, shape: 2, "
            "body: {family: lognormal, shape: 1}, tail: {family: pareto, shape: 2}}",
            "takes its body's shape",
        ),
        ("{family: gamma, cv: 2, threshold: 9000}", "belongs to a spliced severity"),
    ],
)
def test_bad_severities_are_refused_at_the_field(severity: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as err:
        _scenario(severity)
    # The file, line and column of the offending key, and its path.
    assert re.match(r"<string>:17:\d+: cost\.severity", str(err.value)), str(err.value)


def test_a_severity_needs_the_frequency_severity_model() -> None:
    text = SMALL_SCENARIO.replace(
        "  pmpm: 900.0\n", "  pmpm: 900.0\n  severity: {family: gamma, cv: 2}\n"
    )
    with pytest.raises(ScenarioError, match="needs model: frequency_severity"):
        parse_scenario(text)
    with pytest.raises(ScenarioError, match="give the severity once"):
        _scenario("{family: gamma, cv: 2}", extra="  severity_sigma: 1.2\n")


def test_the_member_cv_uses_the_severitys() -> None:
    """CV^2 = (1 + CV_s^2) / lambda + Var(F) whatever the family (here Poisson counts)."""
    c = Cost(
        pmpm=900.0,
        model="frequency_severity",
        claims_per_year=4.0,
        claim_dispersion=0.0,
        severity={"family": "gamma", "cv": 2.0},
    )
    assert c.compound_cv == pytest.approx(math.sqrt(5.0 / 4.0), rel=1e-12)


# ------------------------------------------------------------------ the exact oracle's laws


@pytest.mark.parametrize(
    "law",
    [_law(f, k) for f, k in PLAIN] + [_splice(c) for c in SPLICES],
    ids=[f"{f}-{k}" for f, k in PLAIN] + [f"spliced-{c[0]}-{c[2]}" for c in SPLICES],
)
def test_the_oracles_closed_forms_are_scipys_integrals(law) -> None:
    """:func:`simsettle.exact._severity_member`: ``P(X > x)`` and ``E[X; X > x]`` in closed
    form against scipy's survival function and numerical expectation (a splice's by its
    pieces), at points across the body and the tail."""
    from simsettle.exact import _severity_member

    d = _severity_member(law)
    assert d.mean == pytest.approx(MEAN, rel=1e-10)
    x = MEAN * np.array([0.0, 0.01, 0.3, 1.0, 2.5, 7.0, 20.0, 60.0])
    surv, partial = d.parts(x)
    if law.spliced:
        cdf = _spliced_cdf(law)
        want_s = 1.0 - cdf(x)
        body = _scipy(S.SeverityLaw(law.body, law.shape, law.scale))
        tail = stats.genpareto(law.tail_xi, loc=law.threshold, scale=law.tail_sigma)
        p, t = law.tail_probability, law.threshold
        f_t = body.cdf(t)

        def want_partial(v: float) -> float:
            if v >= t:  # (the finite part integrated: heavy tails defeat quadrature to inf)
                return p * (tail.mean() - tail.expect(lambda y: y, ub=v))
            body_part = body.expect(lambda y: y, lb=v, ub=t) / f_t
            return (1.0 - p) * body_part + p * tail.mean()

    else:
        ref = _scipy(law)
        want_s = ref.sf(x)

        def want_partial(v: float) -> float:
            return ref.mean() - ref.expect(lambda y: y, ub=v) if v > 0.0 else ref.mean()

    np.testing.assert_allclose(surv, want_s, rtol=1e-9, atol=1e-14)
    for v, got in zip(x, partial, strict=True):
        assert got == pytest.approx(want_partial(float(v)), rel=1e-6, abs=1e-9 * MEAN), v
