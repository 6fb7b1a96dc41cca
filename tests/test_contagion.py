"""Claim contagion (``cost.contagion``, issue 15 item 2): a gamma factor of mean 1, one per
trial-year, multiplying every member's claim rate, so that claim counts move together.

The sampler (Marsaglia and Tsang, on counter-based draws) is held to the gamma distribution by
Kolmogorov-Smirnov, the kernel to its reference twin, and the year's total to the compound
negative-binomial moments that the exact oracle (tests/test_exact.py) also reproduces.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import simsettle
from simsettle import ScenarioError, parse_scenario
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from tests.conftest import SMALL_SCENARIO, assert_twin_agrees

FS = "  pmpm: 900.0\n  model: frequency_severity\n  claim_dispersion: 0.0\n"


def _scenario(contagion: float, members: int = 30, extra: str = ""):
    text = SMALL_SCENARIO.replace("members: 300", f"members: {members}").replace(
        "  pmpm: 900.0\n", f"{FS}  contagion: {contagion}\n{extra}"
    )
    return parse_scenario(text).scenario


@pytest.mark.parametrize("var", [0.05, 0.5, 2.5])
def test_the_contagion_factor_is_gamma_with_mean_one(var: float) -> None:
    """4,000 trial-years (shapes 20, 2 and 0.4, the last by the boost): Kolmogorov-Smirnov
    against gamma(1 / var, scale var), and the trial-years are independent (lag-1 correlation
    within a trial near 0)."""
    sc = _scenario(var, members=1)
    inputs = compile_model(sc)
    agg = simulate_aggregates(inputs, key_from_seed(sc.seed), 0, 800)
    g = agg[:, :, R.F_CONTAGION]
    assert g.shape == (800, inputs.n_years)
    result = stats.kstest(g.ravel(), stats.gamma(1.0 / var, scale=var).cdf)
    assert result.pvalue > 1e-3, result
    assert abs(g.mean() - 1.0) < 5.0 * math.sqrt(var / g.size)
    lag = np.corrcoef(g[:, :-1].ravel(), g[:, 1:].ravel())[0, 1]
    assert abs(lag) < 5.0 / math.sqrt(g[:, 1:].size)


def test_no_contagion_is_exactly_one_and_draws_nothing() -> None:
    sc = parse_scenario(SMALL_SCENARIO).scenario
    agg = simulate_aggregates(compile_model(sc), key_from_seed(sc.seed), 0, 3)
    assert np.all(agg[:, :, R.F_CONTAGION] == 1.0)


def _twin_agrees(sc, trial: int) -> np.ndarray:
    return assert_twin_agrees(sc, trial)


@pytest.mark.parametrize(("var", "trial"), [(0.3, 0), (0.3, 7), (2.5, 2**31 + 1)])
def test_kernel_matches_its_reference_twin(var: float, trial: int) -> None:
    got = _twin_agrees(_scenario(var), trial)
    assert np.all(got[:, R.F_CONTAGION] != 1.0)


@pytest.mark.parametrize(("dispersion", "trial"), [(0.4, 3), (1.5, 2**31 + 5)])
def test_a_gamma_frailty_matches_its_reference_twin(dispersion: float, trial: int) -> None:
    """The negative-binomial member (gamma frailty, shapes 6.25 and 0.44) with contagion."""
    extra = f"  claim_frailty: gamma\n  claim_dispersion: {dispersion}\n"
    text = SMALL_SCENARIO.replace("members: 300", "members: 30").replace(
        "  pmpm: 900.0\n", f"  pmpm: 900.0\n  model: frequency_severity\n  contagion: 0.2\n{extra}"
    )
    _twin_agrees(parse_scenario(text).scenario, trial)


def test_a_gamma_frailty_refuses_a_persistence_it_cannot_have() -> None:
    text = SMALL_SCENARIO.replace(
        "  pmpm: 900.0\n",
        "  pmpm: 900.0\n  model: frequency_severity\n  claim_frailty: gamma\n  persistence: 0.5\n",
    )
    with pytest.raises(ScenarioError, match="drawn afresh each year"):
        parse_scenario(text)
    with pytest.raises(ScenarioError, match="claim frailty needs model: frequency_severity"):
        parse_scenario(
            SMALL_SCENARIO.replace("  pmpm: 900.0\n", "  pmpm: 900.0\n  claim_frailty: gamma\n")
        )


def test_claim_counts_move_together() -> None:
    """Poisson members (no frailty, no risk spread, no turnover): the year's total has the
    compound negative-binomial variance ``L E[S^2] + (L E[S])^2 v`` (``L = N lambda``), against
    ``L E[S^2]`` without contagion; the results carry each trial-year's factor."""
    v = 0.04
    text = (
        SMALL_SCENARIO.replace("members: 300", "members: 500")
        .replace("turnover: 0.2", "turnover: 0.0")
        .replace("risk_sigma: 0.5", "risk_sigma: 0.0")
        .replace("sd: 0.03", "sd: 0.0")
        .replace("  pmpm: 900.0\n", f"{FS}  contagion: {v}\n")
    )
    sc = parse_scenario(text).scenario
    ds = simsettle.simulate(sc, trials=3000, progress=False)
    spend = ds.actual_spend.isel(year=0).values
    lam = 500 * 12.0
    severity = 12.0 * 900.0 / 12.0 * 1.05**3  # the first performance year's cost level
    second = severity**2 * math.exp(1.6**2)
    want = math.sqrt(lam * second + (lam * severity) ** 2 * v)
    plain = math.sqrt(lam * second)
    se = spend.std() / math.sqrt(2 * (spend.size - 1))
    assert abs(spend.std() - want) < 4.0 * se + 0.02 * want
    assert spend.std() > 1.5 * plain
    assert ds.claim_contagion.dims == ("trial", "year")
    np.testing.assert_allclose(float(ds.claim_contagion.mean()), 1.0, atol=0.02)


def test_contagion_is_refused_under_the_mixture_model() -> None:
    text = SMALL_SCENARIO.replace("  pmpm: 900.0\n", "  pmpm: 900.0\n  contagion: 0.1\n")
    with pytest.raises(ScenarioError, match="frequency_severity"):
        parse_scenario(text)
