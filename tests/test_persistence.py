"""Persistent member cost (issue 14, item 3): ``cost.persistence``.

A continuing member's cost class and Pareto position follow a latent normal, its body a second
one, each AR(1) with correlation ``r``. Checked here, on member stays simulated by the engine's
own rule (``simulate_stays``): the annual distribution does not change with ``r``; the
expectations derived by hand (both years zero: a bivariate normal probability; two body years:
log covariance ``body_sigma**2 r``) hold; ``r = 0`` is the memoryless member bit for bit; and the
model's year-to-year moments (:mod:`simsettle.models.persistence`) agree with the simulation.
The kernel against its reference twin, CPU against CUDA, and the calibration on DE-SynPUF are in
test_population, test_gpu and test_calibrate.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from simsettle._kernels.records import (
    ST_COST,
    ST_JOINER,
    ST_PRESENT,
    ST_SLOT,
    ST_YEAR,
)
from simsettle.models import population as engine
from simsettle.models.persistence import persistence_moments
from simsettle.models.reference import simulate_trial_reference
from simsettle.scenario import parse_scenario

TEXT = """\
schema_version: 1
seed: 7
trials: 1
population:
  members: {members}
  turnover: 0.0
  risk_sigma: 0.0001
cost:
  pmpm: 1000.0
  persistence: {r}
trend: {{mean: 0.0, sd: 0.0}}
benchmark: {{weights: [1.0]}}
performance_years: 1
designs:
  - {{name: d, kind: upside_only, shared_savings_rate: 0.5}}
"""


def _stays(r: float, members: int = 60_000, years: int = 2, text: str = TEXT) -> np.ndarray:
    """(members, years) cost of each slot's occupant (no turnover: the same member)."""
    sc = parse_scenario(text.format(members=members, r=r)).scenario
    out, _ = engine.simulate_stays(engine.compile_model(sc), engine.key_from_seed(sc.seed))
    occupant = out[out[:, ST_JOINER] == 0.0]
    assert occupant.shape[0] == members * years
    assert np.all(occupant[:, ST_PRESENT] == 1.0)
    cost = np.zeros((members, years))
    cost[occupant[:, ST_SLOT].astype(int), occupant[:, ST_YEAR].astype(int)] = occupant[:, ST_COST]
    return cost


@pytest.fixture(scope="module")
def persistent() -> np.ndarray:
    return _stays(0.7)


@pytest.fixture(scope="module")
def memoryless() -> np.ndarray:
    return _stays(0.0)


def test_the_annual_distribution_does_not_change(persistent, memoryless):
    """Each year's cost has the same law with and without persistence (two-sample KS, and the
    mean within its standard error)."""
    for y in range(2):
        a, b = persistent[:, y], memoryless[:, y]
        assert stats.ks_2samp(a, b).pvalue > 0.001
        se = math.sqrt(a.var() / a.size + b.var() / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se
    # ... and the years are correlated only with persistence.
    assert np.corrcoef(np.log1p(memoryless[:, 0]), np.log1p(memoryless[:, 1]))[0, 1] < 0.02
    assert np.corrcoef(np.log1p(persistent[:, 0]), np.log1p(persistent[:, 1]))[0, 1] > 0.4


def test_hand_derived_expectations(persistent):
    """Both years zero: P(c < q, c' < q) for a standard bivariate normal of correlation r, q the
    zero share's quantile. Without a zero class and a tail every year is a body year, and the
    covariance of log cost is body_sigma**2 r exactly (the body normals are AR(1) with
    correlation r; the risk score is all but constant here)."""
    r, zero, sigma = 0.7, 0.15, 1.3
    q = stats.norm.ppf(zero)
    both_zero = stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([q, q])
    z = persistent == 0.0
    observed = np.mean(z[:, 0] & z[:, 1])
    se = math.sqrt(both_zero * (1 - both_zero) / z.shape[0])
    assert abs(observed - both_zero) < 4 * se, (observed, both_zero)
    # Body years: with no zero class and no tail every year is a body year, and the log cost is
    # body_mu + body_sigma b with b the AR(1) body normal.
    body_only = TEXT.replace(
        "  persistence: {r}", "  persistence: {r}\n  zero_cost_share: 0.0\n  tail_probability: 0.0"
    )
    logs = np.log(_stays(r, text=body_only))
    cov = np.cov(logs[:, 0], logs[:, 1])[0, 1]
    se = sigma**2 * math.sqrt((1 + r * r) / logs.shape[0])
    assert abs(cov - sigma**2 * r) < 4 * se, (cov, sigma**2 * r)


@pytest.mark.parametrize("r", [0.0, 0.5])
def test_kernel_matches_the_reference_twin_with_turnover(r):
    """With turnover (leavers, whose class innovation comes from another call, and joiners,
    whose class normal is their class uniform's), the kernel's aggregates equal the reference
    twin's, written from the description; at 0 the twin runs the memoryless rule of before
    (the class uniform and the body normal of the year, nothing carried)."""
    text = TEXT.replace("turnover: 0.0", "turnover: 0.3").replace(
        "performance_years: 1", "performance_years: 3"
    )
    sc = parse_scenario(text.format(members=300, r=r)).scenario
    inputs, key = engine.compile_model(sc), engine.key_from_seed(sc.seed)
    for trial in (0, 5):
        got = engine.simulate_aggregates(inputs, key, trial, 1)[0]
        ref = simulate_trial_reference(sc, key, trial, [])
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)


def test_model_moments_match_the_simulation(persistent):
    """:func:`persistence_moments` (quasi-Monte Carlo over the rule restated in numpy) against
    the engine's members: the correlation of cost and of log cost a year apart, and how many of
    the costliest 5% stay there."""
    sc = parse_scenario(TEXT.format(members=10, r=0.7)).scenario
    _agrees(persistent, sc)


def _agrees(cost: np.ndarray, sc) -> None:
    """The members' two years of ``cost`` against :func:`persistence_moments` of ``sc`` at
    persistence 0.7 and risk persistence 0.75."""
    m = persistence_moments(sc.cost.shape(sc.population.risk_sigma), 0.7, 0.75)
    a, b = cost[:, 0], cost[:, 1]
    pos = (a > 0) & (b > 0)
    log_cov = np.cov(np.log(a[pos]), np.log(b[pos]))[0, 1]
    assert log_cov == pytest.approx(m.log_cov, abs=0.04)
    top = a > np.quantile(a, 0.95)
    kept = np.mean(b[top] > np.quantile(b, 0.95))
    assert kept == pytest.approx(m.top5_retained, abs=0.03)
    # The Pearson correlation of heavy-tailed costs is noisy: within 0.05.
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(m.corr, abs=0.05)


def test_model_moments_of_other_families_match_the_simulation():
    """The same for a gamma body and a gpd tail, whose latent normals the kernel reads through
    the families' quantiles (:func:`~simsettle._kernels.member.general_latent_cost`)."""
    families = (
        "  body_family: gamma\n  body_cv: 1.0\n  tail_family: gpd\n  tail_shape: 0.25\n"
        "  tail_scale: 30000.0\n  persistence: {r}"
    )
    text = TEXT.replace("  persistence: {r}", families)
    cost = _stays(0.7, members=60_000, text=text)
    _agrees(cost, parse_scenario(text.format(members=10, r=0.7)).scenario)


def test_default_persistence_against_meps():
    """The default (0.6) with the default population keeps 17.5% of the costliest 1% there the
    next year and about 68% of the cheaper half, against 14.0% to 20.0% and about three in four
    in MEPS (Statistical Briefs #309, #354, #481)."""
    sc = parse_scenario(TEXT.format(members=10, r=0.6).replace("  risk_sigma: 0.0001\n", ""))
    s = sc.scenario
    m = persistence_moments(
        s.cost.shape(s.population.risk_sigma),
        s.cost.persistence,
        s.population.risk_persistence,
    )
    assert 0.14 <= m.top1_retained <= 0.20, m
    assert 0.64 <= m.bottom_half_retained <= 0.75, m


@settings(max_examples=6, deadline=None)
@given(r1=st.floats(0.0, 0.9), r2=st.floats(0.0, 0.9), rr=st.floats(0.0, 1.0))
def test_persistence_properties(r1, r2, rr):
    """More persistence never lowers the year-to-year correlation; at 0 the cost adds nothing
    to the risk score's (exactly ``(exp(rr s**2) - 1) / CV**2``); correlations stay in [-1, 1]."""
    sc = parse_scenario(TEXT.format(members=10, r=0.0).replace("0.0001", "0.5")).scenario
    shape = sc.cost.shape(0.5)
    lo, hi = sorted((r1, r2))
    m_lo, m_hi = persistence_moments(shape, lo, rr), persistence_moments(shape, hi, rr)
    assert m_hi.corr >= m_lo.corr - 1e-3
    assert m_hi.log_cov >= m_lo.log_cov - 1e-3
    assert -1.0 <= m_lo.corr <= 1.0
    assert -1.0 <= m_hi.log_corr <= 1.0
    zero = persistence_moments(shape, 0.0, rr)
    assert zero.corr == pytest.approx(math.expm1(rr * 0.25) / shape.mixture.cv**2, rel=1e-12)
