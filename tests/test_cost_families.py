"""Severity families for the mixture's body and tail (``cost.body_family``, ``cost.tail_family``).

The moments (:func:`simsettle.scenario.costs.cost_moments`) against Monte Carlo draws made with
scipy's laws, the quadrature path against the closed forms where both apply, the solvers'
round trips, the schema's rules, and the kernel against its reference twin (to rounding) and
its moments (within Monte Carlo error). Agreement with the exact oracle: tests/test_exact.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from simsettle._kernels import records as R
from simsettle.errors import ScenarioError
from simsettle.models.laws import mixture_laws
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import (
    CostShape,
    _Dist,
    _GeneralDist,
    cost_distribution,
    cost_moments,
    solve_body_sigma,
    solve_cost,
    top_share_of,
)
from tests.conftest import assert_twin_agrees
from tests.test_costs import _sample_moments


def _shape(**kw) -> CostShape:
    base = {
        "zero_cost_share": 0.15,
        "body_sigma": 1.2,
        "tail_probability": 0.04,
        "tail_threshold": 60_000.0,
        "tail_shape": 4.0,
        "risk_sigma": 0.5,
        "pmpm": 1000.0,
    }
    return CostShape(**{**base, **kw})


# A body of each family (shapes of moderate to high CV) and a gpd tail of each sign of xi.
SHAPES = {
    "gamma": _shape(body_family="gamma", body_sigma=0.5),
    "weibull": _shape(body_family="weibull", body_sigma=0.7),
    "lomax": _shape(body_family="lomax", body_sigma=3.5),
    "pareto": _shape(body_family="pareto", body_sigma=2.6),
    "gpd_body": _shape(body_family="gpd", body_sigma=0.25),
    "inverse_gaussian": _shape(body_family="inverse_gaussian", body_sigma=0.3),
    "loglogistic": _shape(body_family="loglogistic", body_sigma=3.0),
    "gpd_tail_heavy": _shape(tail_family="gpd", tail_shape=0.3, tail_scale=30_000.0),
    "gpd_tail_bounded": _shape(
        body_family="gamma", body_sigma=0.6, tail_family="gpd", tail_shape=-0.3, tail_scale=5e4
    ),
    "gpd_tail_exponential": _shape(
        tail_family="gpd", tail_shape=0.0, tail_scale=25_000.0, risk_sigma=1.0
    ),
}


def _draw(shape: CostShape, n: int, seed: int) -> np.ndarray:
    """``n`` member-year costs ``R X`` drawn with scipy's laws (not the engine's)."""
    rng = np.random.default_rng(seed)
    mix = shape.mixture
    body_law, tail_law = mixture_laws(mix)
    z, t = mix.zero_cost_share, mix.tail_probability
    u = rng.random(n)
    x = body_law.ppf(rng.random(n))
    tail = (u >= z) & (u < z + t)
    x[tail] = mix.tail_threshold + tail_law.ppf(rng.random(int(tail.sum())))
    x[u < z] = 0.0
    sr = mix.risk_sigma
    return x * np.exp(sr * rng.standard_normal(n) - 0.5 * sr * sr)


@pytest.mark.parametrize("name", list(SHAPES))
def test_moments_match_monte_carlo(name: str) -> None:
    """Mean, CV and top shares against 2 million draws (five standard errors: about 0.004 on
    the shares, 3% on the CV where the fourth moment exists)."""
    shape = SHAPES[name]
    m = cost_moments(shape)
    sample = _sample_moments(_draw(shape, 2_000_000, seed=5))
    assert m.mean_annual == pytest.approx(12_000.0, rel=1e-12)
    assert sample["mean"] == pytest.approx(m.mean_annual, rel=0.015)
    for key, exact in (("top1", m.top1_share), ("top5", m.top5_share), ("top10", m.top10_share)):
        assert abs(sample[key] - exact) < 0.006, (key, sample[key], exact)
    assert sample["cv"] == pytest.approx(m.cv, rel=0.06)


@pytest.mark.parametrize("risk_sigma", [0.0, 0.5, 1.5])
def test_the_quadrature_path_is_the_closed_form(risk_sigma: float) -> None:
    """The lognormal body and Pareto tail through the general path (quadrature over the risk
    score) agree with their closed forms to 1e-9."""
    shape = _shape(risk_sigma=risk_sigma)
    closed, general = _Dist.of(shape), _GeneralDist.of(shape)
    for c in (10.0, 3_000.0, 12_000.0, 59_999.0, 60_000.0, 250_000.0, 4e6):
        s0, p0 = closed.survival_and_partial(math.log(c))
        s1, p1 = general.survival_and_partial(math.log(c))
        assert s1 == pytest.approx(s0, rel=1e-9, abs=1e-15)
        assert p1 == pytest.approx(p0, rel=1e-9, abs=1e-9)
    for q in (0.01, 0.05, 0.1):
        assert general.top_share(q) == pytest.approx(closed.top_share(q), abs=1e-9)


@pytest.mark.parametrize("name", [n for n in SHAPES if not SHAPES[n].mixture.standard])
def test_the_quadratures_top_shares_stop_at_their_tolerance(name: str) -> None:
    """The top shares of another family, sought to 1e-11 of the mean with the quantile left
    loose (its convex bounds), from the mean or from a start far off, are the shares of the
    quantile solved to 1e-13 (top_share_of's own search) to 1e-10, and never below them by
    more than the quadrature's error: each is an upper bound."""
    dist = _GeneralDist.of(SHAPES[name])
    positive = dist.body_p + dist.tail_p
    for q in (0.01, 0.05, 0.1):
        tight = top_share_of(dist.survival_and_partial, dist.mean, positive, q)
        loose = dist.top_share(q)
        assert loose == pytest.approx(tight, abs=1e-10)
        assert loose >= tight - 1e-12
        for start in (math.log(dist.mean) - 5.0, math.log(dist.mean) + 8.0):
            share, log_c = dist.top_share_near(q, start)
            assert share == pytest.approx(tight, abs=1e-10)
            assert dist.survival(log_c) == pytest.approx(q, rel=1e-4)


def test_the_standard_shape_keeps_its_closed_forms() -> None:
    assert isinstance(cost_distribution(_shape()), _Dist)
    assert isinstance(cost_distribution(SHAPES["gamma"]), _GeneralDist)


@pytest.mark.parametrize(
    ("family", "tail"),
    [
        ("gamma", {}),
        ("weibull", {}),
        ("loglogistic", {}),
        ("lognormal", {}),
        ("inverse_gaussian", {"tail_family": "gpd", "tail_shape": 0.2, "tail_scale": 20_000.0}),
    ],
)
def test_the_cv_alone_solves_the_body_family_shape(family: str, tail: dict) -> None:
    shape = solve_body_sigma(1000.0, 2.2, risk_sigma=0.5, body_family=family, **tail)
    assert shape.body_family == family
    assert cost_moments(shape).cv == pytest.approx(2.2, rel=1e-12)


@pytest.mark.parametrize(
    ("family", "top5", "fixed"),
    [
        ("gamma", 0.47, {"tail_shape": 4.0}),
        ("weibull", 0.46, {"tail_shape": 4.0}),
        ("lognormal", 0.44, {"tail_family": "gpd", "tail_shape": 0.25, "tail_scale": 15_000.0}),
    ],
)
def test_cv_and_top5_solve_the_body_shape_and_the_tail(
    family: str, top5: float, fixed: dict
) -> None:
    """(At CV 2.4 a gamma body reaches top-5% shares of 0.457 to 0.481 only, a weibull 0.443
    to 0.481, the lognormal with this gpd tail 0.404 to 0.481.)"""
    shape = solve_cost(1000.0, 2.4, top5, risk_sigma=0.5, body_family=family, **fixed)
    m = cost_moments(shape)
    assert m.cv == pytest.approx(2.4, abs=1e-9)
    assert m.top5_share == pytest.approx(top5, abs=1e-8)
    assert shape.body_family == family


def test_a_cv_beyond_the_family_names_its_range() -> None:
    with pytest.raises(ValueError, match=r"a gamma body.*the cost CV can range from"):
        solve_body_sigma(1000.0, 1.0, risk_sigma=0.5, body_family="gamma")


# ---------------------------------------------------------------- the schema

SCENARIO = """schema_version: 1
seed: 7
trials: {trials}
first_performance_year: 2026
performance_years: 1
population: {{members: {members}, turnover: {turnover}, risk_sigma: 0.5}}
cost: {cost}
trend: {{mean: 0.04, sd: 0.02}}
benchmark: {{method: fixed, pmpm: 1000.0}}
designs:
  - {{name: two_sided, kind: two_sided, min_savings_rate: 0.02, shared_savings_rate: 0.5,
      shared_loss_rate: 0.5}}
"""


def _scenario(cost: str, *, trials: int = 3, members: int = 400, turnover: float = 0.15):
    text = SCENARIO.format(cost=cost, trials=trials, members=members, turnover=turnover)
    return parse_scenario(text).scenario


def _error(cost: str) -> str:
    with pytest.raises(ScenarioError) as info:
        _scenario(cost)
    return str(info.value)


def test_a_body_family_takes_a_shape_or_a_cv() -> None:
    sc = _scenario("{pmpm: 1000.0, body_family: gamma, body_cv: 1.5}")
    assert sc.cost.resolved_body_shape == pytest.approx(1.0 / 1.5**2)
    assert sc.cost.shape(0.5).mixture.body_family == "gamma"
    # The lognormal's body_cv and body_shape give its log-sd (body_sigma), and are kept as
    # written.
    by_cv = _scenario("{pmpm: 1000.0, body_cv: 2.0}").cost
    assert by_cv.resolved_body_shape == pytest.approx(math.sqrt(math.log(5.0)))
    assert by_cv.body_cv == 2.0
    assert by_cv.shape(0.5).body_sigma == by_cv.resolved_body_shape
    assert _scenario("{pmpm: 1000.0, body_shape: 0.9}").cost.resolved_body_shape == 0.9


@pytest.mark.parametrize(
    ("cost", "field", "message"),
    [
        ("{pmpm: 1000.0, body_family: gamma}", "body_shape", "exactly one of"),
        ("{pmpm: 1000.0, body_family: weibull, body_sigma: 1.0, body_cv: 1.0}", "body_sigma", ""),
        ("{pmpm: 1000.0, body_family: lomax, body_shape: 0.8}", "body_shape", "alpha"),
        ("{pmpm: 1000.0, body_family: gamma, body_cv: 500.0}", "body_cv", "reaches"),
        ("{pmpm: 1000.0, body_sigma: 1.0, body_cv: 1.0}", "body_cv", "given once"),
        ("{pmpm: 1000.0, tail_family: gpd, tail_scale: 1000.0}", "tail_shape", "xi"),
        ("{pmpm: 1000.0, tail_family: gpd, tail_shape: 0.2}", "tail_scale", "scale"),
        ("{pmpm: 1000.0, tail_family: gpd, tail_shape: 1.5, tail_scale: 9.0}", "tail_shape", ""),
        ("{pmpm: 1000.0, tail_shape: 0.5}", "tail_shape", "above 1"),
        ("{pmpm: 1000.0, tail_scale: 5000.0}", "tail_scale", "tail_threshold"),
        (
            "{pmpm: 1000.0, model: frequency_severity, body_family: gamma, body_cv: 1.0}",
            "body_family",
            "frequency_severity",
        ),
    ],
)
def test_family_errors_name_the_field(cost: str, field: str, message: str) -> None:
    text = _error(cost)
    assert field in text, text
    assert message in text, text


def test_cost_targets_solve_the_named_body_family() -> None:
    sc = _scenario("{pmpm: 1000.0, cv: 2.2, body_family: weibull}")
    assert sc.cost.body_shape is not None
    assert cost_moments(sc.cost.shape(0.5)).cv == pytest.approx(2.2, rel=1e-9)
    gpd = "tail_family: gpd, tail_shape: 0.2, tail_scale: 20000.0"
    sc = _scenario(f"{{pmpm: 1000.0, cv: 2.3, top5_share: 0.45, body_family: gamma, {gpd}}}")
    m = cost_moments(sc.cost.shape(0.5))
    assert (m.cv, m.top5_share) == (pytest.approx(2.3, abs=1e-9), pytest.approx(0.45, abs=1e-8))


# ---------------------------------------------------------------- the kernel

TWINS = {
    "gamma": "{pmpm: 1000.0, body_family: gamma, body_cv: 1.4, persistence: 0.0}",
    "gamma_persistent": "{pmpm: 1000.0, body_family: gamma, body_cv: 1.4}",
    "inverse_gaussian": "{pmpm: 1000.0, body_family: inverse_gaussian, body_cv: 2.0}",
    "weibull_gpd_tail": "{pmpm: 1000.0, body_family: weibull, body_shape: 0.6, "
    "tail_family: gpd, tail_shape: 0.3, tail_scale: 20000.0, persistence: 0.0}",
    "loglogistic_gpd_tail": "{pmpm: 1000.0, body_family: loglogistic, body_shape: 3.0, "
    "tail_family: gpd, tail_shape: -0.2, tail_scale: 60000.0}",
    "lognormal_gpd_tail": "{pmpm: 1000.0, tail_family: gpd, tail_shape: 0.0, tail_scale: 30000.0}",
}


@pytest.mark.parametrize("name", list(TWINS))
def test_the_kernel_agrees_with_its_reference_twin(name: str) -> None:
    """Every aggregate of two trials of a churning roster (leavers, joiners, deaths) against
    the reference twin, which draws each class's cost by scipy's quantiles."""
    sc = _scenario(TWINS[name], trials=2, members=300, turnover=0.3)
    for trial in (0, 1):
        assert_twin_agrees(sc, trial)


@pytest.mark.parametrize("name", ["gamma", "loglogistic_gpd_tail"])
def test_the_kernels_member_years_have_the_exact_moments(name: str) -> None:
    """One member, no turnover: each trial's spend is one member-year's cost as the kernel
    draws it; its mean, CV and top shares within Monte Carlo error of cost_moments (about 0.002
    on the shares at 200,000 trials)."""
    sc = _scenario(TWINS[name], trials=200_000, members=1, turnover=0.0)
    assert sc.population.departure_load == 1.0
    agg = simulate_aggregates(compile_model(sc), key_from_seed(3), 0, 200_000)
    sample = _sample_moments(agg[:, 0, R.F_SPEND].copy())
    m = cost_moments(sc.cost.shape(sc.population.risk_sigma))
    assert sample["mean"] == pytest.approx(m.mean_annual, rel=0.02)
    for key, exact in (("top1", m.top1_share), ("top5", m.top5_share), ("top10", m.top10_share)):
        assert abs(sample[key] - exact) < 0.01, (key, sample[key], exact)


def test_body_quantiles_are_scipys() -> None:
    """The kernel's body quantile of each family at normals across both tails, against
    scipy's ppf and isf (relative 1e-10)."""
    from simsettle._kernels import member as M

    z = np.array([-8.0, -3.0, -0.5, 0.0, 0.7, 2.5, 6.0, 8.2])
    for name in ("gamma", "inverse_gaussian", "weibull_gpd_tail", "loglogistic_gpd_tail"):
        sc = _scenario(TWINS[name])
        inputs = compile_model(sc)
        m = M.member_model(inputs.params.reshape(1)[0])
        law, _ = mixture_laws(sc.cost.shape(0.5).mixture, 1.0 / sc.population.departure_load)
        want = np.where(z < 0, law.ppf(special.ndtr(z)), law.isf(special.ndtr(-z)))
        got = np.array([M.body_quantile(m, float(v)) for v in z])
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=name)
