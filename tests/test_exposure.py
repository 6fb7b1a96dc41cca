"""Exposure: a stay's cost has mean and variance in proportion to its months (issue 14, item 1).

A stay of ``p`` of the year costs ``R I X B`` (risk score, cost index, annualised cost, exposure
share). Under ``cost.partial_year: exposure`` the share ``B`` is 1 with probability ``c p``, 0
with probability ``c (1 - p)`` and ``p`` otherwise, with ``c = Var(X) / E[X^2]``; so ``E[B] = p``,
``E[B^2] = p^2 + c p (1 - p)`` and, given the member's risk, ``Var(X B) = p Var(X)``. Under
``pro_rata`` ``B = p`` and ``Var(X B) = p^2 Var(X)``. The expectations below follow from these
by hand:

* a roster slot whose occupant leaves at a uniform time and is replaced (equal member months)
  has spend variance ``e^(s^2) sigma^2 + (e^(s^2) - 1) mu^2 E[p^2 + (1 - p)^2]`` under exposure,
  ``E[p^2 + (1 - p)^2] = 2/3``, against ``e^(s^2) sigma^2 + (e^(s^2) - 1) mu^2`` for a full year
  (``mu``, ``sigma``: mean and sd of ``X``; ``s``: the risk score's log-sd). Turnover at equal
  member months changes the variance only through the mix of risk scores (two members for half a
  year each diversify the risk score, not the year's noise). Under ``pro_rata`` the leaver's slot
  has ``2/3 (e^(s^2) (sigma^2 + mu^2) - mu^2)``: turnover reads as a hedge.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsettle
from simsettle._kernels import member as M
from simsettle._kernels import records as R
from simsettle.models.population import (
    compile_model,
    key_from_seed,
    simulate_aggregates,
    simulate_stays,
)
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import compound_cv, episodic_share

TEXT = """\
schema_version: 1
seed: {seed}
trials: {trials}
first_performance_year: 2026
performance_years: 1
population:
  members: {members}
  turnover: {turnover}
  mortality: 0.0
  replacement: {replacement}
  risk_sigma: {risk_sigma}
  entrant_risk_ratio: 1.0
  attribution: {{method: prospective}}
cost: {{pmpm: 1000.0, zero_cost_share: 0.15, tail_probability: 0.0, body_sigma: 1.0,
  partial_year: {mode}}}
trend: {{mean: 0.0, sd: 0.0}}
designs:
  - {{name: budget, kind: two_sided, shared_savings_rate: 1.0, shared_loss_rate: 1.0,
      capitation_pmpm: 1000.0}}
"""

#: X of TEXT's cost block: 0 with probability 0.15, else lognormal with log-sd 1 and mean
#: 12,000 / 0.85, so that E[X] = 12,000 and E[X^2] = 0.85 (12,000 / 0.85)^2 e.
MU = 12_000.0
SECOND = 0.85 * (MU / 0.85) ** 2 * math.e
VAR = SECOND - MU**2


def _loaded(**kw: object):
    values = {
        "seed": 3,
        "trials": 100,
        "members": 1000,
        "turnover": 0.4,
        "replacement": 1.0,
        "risk_sigma": 0.5,
        "mode": "exposure",
    }
    values.update(kw)
    return parse_scenario(TEXT.format(**values))


def _model(episodic: float) -> M.MemberModel:
    inputs = compile_model(_loaded().scenario)
    record = inputs.params.copy()
    record["episodic_share"] = episodic
    return M.member_model(np.ascontiguousarray(record.reshape(1))[0])


def test_episodic_share_is_var_over_second_moment():
    sc = _loaded().scenario
    assert sc.cost.episodic_share == pytest.approx(VAR / SECOND, rel=1e-12)
    assert compile_model(sc).params["episodic_share"] == sc.cost.episodic_share
    assert _loaded(mode="pro_rata").scenario.cost.episodic_share == 0.0
    # Frequency-severity: CV^2 = exp(sigma_s^2) / lambda + exp(phi^2) - 1 (Poisson-lognormal
    # compound with a lognormal frailty), by a second route: E[X^2] / E[X]^2 = 1 + CV^2.
    lam, phi, sev = 12.0, 1.2, 1.6
    ratio = 1.0 + math.exp(sev**2) / lam + math.exp(phi**2) - 1.0
    assert compound_cv(lam, phi, sev) ** 2 == pytest.approx(ratio - 1.0, rel=1e-12)
    assert episodic_share(math.inf) == 1.0


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0.01, 0.99), c=st.floats(0.0, 1.0))
def test_exposure_share_has_the_exposure_moments(p: float, c: float):
    # Over a grid of u (midpoints of n equal bins) the share's moments are exact to 1 / n.
    model = _model(c)
    n = 20_000
    u = (np.arange(n) + 0.5) / n
    share = np.array([M.exposure_share(model, 12.0 * p, float(v)) for v in u])
    assert set(np.unique(share)) <= {0.0, 1.0, 12.0 * p / 12.0}
    assert share.mean() == pytest.approx(p, abs=2.0 / n)
    assert (share**2).mean() == pytest.approx(p * p + c * p * (1.0 - p), abs=2.0 / n)
    # So Var(X B) = p^2 Var(X) + c p (1 - p) E[X^2], which is p Var(X) when c = Var / E[X^2].
    var_xb = p * p * VAR + c * p * (1 - p) * SECOND
    if c == pytest.approx(VAR / SECOND):
        assert var_xb == pytest.approx(p * VAR, rel=1e-9)
    # A full year carries its whole cost whatever the uniform.
    assert all(M.exposure_share(model, 12.0, float(v)) == 1.0 for v in (0.0, 0.3, 0.999))


def _normalised_stays(mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(share of the year, cost / (risk x index)) of every stay of a roster that all leaves."""
    sc = _loaded(members=100_000, turnover=1.0, mode=mode).scenario
    stays, system = simulate_stays(compile_model(sc), key_from_seed(17))
    year = stays[:, R.ST_YEAR].astype(int)
    last = year == year.max()  # the performance year: every slot's occupant leaves, a joiner
    stays = stays[last]
    index = system[year[last], R.F_TREND_INDEX]
    p = (stays[:, R.ST_EXIT] - stays[:, R.ST_ENTRY]) / 12.0
    return p, stays[:, R.ST_COST] / (stays[:, R.ST_RISK] * index)


@pytest.mark.parametrize("mode", ["exposure", "pro_rata"])
def test_partial_year_cost_moments_from_the_kernel(mode: str):
    # Every stay of the year is partial (turnover 1, replacement 1): 200,000 stays. Given p,
    # y = cost / (risk x index) = X B has mean mu p and variance sigma^2 p (exposure) or
    # sigma^2 p^2 (pro rata). Sums over stays give z-scores from the stays' own spread.
    p, y = _normalised_stays(mode)
    assert p.size == 200_000
    assert np.all((p > 0) & (p < 1))
    d = y - MU * p
    z_mean = d.sum() / math.sqrt((d**2).sum())
    assert abs(z_mean) < 4.0
    expected = VAR * (p if mode == "exposure" else p * p)
    e = d**2 - expected
    z_var = e.sum() / math.sqrt((e**2).sum())
    assert abs(z_var) < 4.0, f"{mode}: variance z = {z_var:.2f}"
    # The other mode's variance is far off (z about 8 at this size): the test can tell them.
    other = VAR * (p * p if mode == "exposure" else p)
    e = d**2 - other
    assert abs(e.sum() / math.sqrt((e**2).sum())) > 6.0
    # Short stays: the share of stays with a zero cost grows as the stay shortens (exposure),
    # since the year's episode usually falls outside; pro rata keeps the zero class at 0.15.
    short = p < 0.25
    zero = float((y[short] == 0.0).mean())
    c = VAR / SECOND
    want = 0.15 + 0.85 * c * (1 - p[short]).mean() if mode == "exposure" else 0.15
    assert zero == pytest.approx(want, abs=4 * math.sqrt(want * (1 - want) / short.sum()))


def _slot_variance(turnover: float, mode: str, risk_sigma: float) -> float:
    """Variance of one roster slot's year-0 spend (hand-derived; see the module docstring)."""
    er2 = math.exp(risk_sigma**2)
    full = er2 * SECOND - MU**2
    if mode == "exposure":
        leaver = er2 * VAR + (er2 - 1.0) * MU**2 * 2.0 / 3.0
    else:
        leaver = 2.0 / 3.0 * full
    return (1.0 - turnover) * full + turnover * leaver


@pytest.mark.parametrize("mode", ["exposure", "pro_rata"])
@pytest.mark.parametrize("turnover", [0.0, 0.4])
def test_total_spend_variance_at_equal_member_months(mode: str, turnover: float):
    # A roster of 1,000 slots, replaced leavers (12,000 member months every trial), year 0.
    members, trials = 1000, 3000
    sc = _loaded(members=members, turnover=turnover, mode=mode).scenario
    agg = simulate_aggregates(compile_model(sc), key_from_seed(23), 0, trials)
    np.testing.assert_allclose(agg[:, 0, R.F_MEMBER_MONTHS], 12.0 * members, rtol=1e-12)
    spend = agg[:, 0, R.F_SPEND]
    d2 = (spend - MU * members) ** 2
    expected = members * _slot_variance(turnover, mode, 0.5)
    z = (d2.mean() - expected) / (d2.std() / math.sqrt(trials))
    assert abs(z) < 4.0, f"{mode}, turnover {turnover}: variance z = {z:.2f}"


def test_turnover_changes_the_settlement_spread_as_the_model_predicts():
    # A fixed budget of 1,000 PMPM: the savings rate is 1 - spend / budget, so its sd is the
    # spend's sd over the budget. At equal member months the model predicts a ratio of sds
    # (turnover 0.4 against 0) of sqrt(V(0.4) / V(0)): 0.994 under exposure (the risk mix
    # alone), 0.931 under pro rata (a hedge). Common random numbers: the same Philox words.
    ratios = {}
    for mode in ("exposure", "pro_rata"):
        sd = {}
        for turnover in (0.0, 0.4):
            loaded = _loaded(trials=10_000, members=500, turnover=turnover, mode=mode)
            sd[turnover] = float(simsettle.simulate(loaded, progress=False).savings_rate.std())
        ratios[mode] = sd[0.4] / sd[0.0]
    predicted = {
        mode: math.sqrt(_slot_variance(0.4, mode, 0.5) / _slot_variance(0.0, mode, 0.5))
        for mode in ratios
    }
    assert predicted["exposure"] == pytest.approx(0.994, abs=0.001)
    assert predicted["pro_rata"] == pytest.approx(0.931, abs=0.001)
    # The sd of each sd is about sd / sqrt(2 x 10,000) (0.7%, more with the heavy tail); the
    # runs share draws, so their ratio is closer. Allow 2.5%: the predictions are 6.3% apart.
    for mode in ratios:
        assert ratios[mode] == pytest.approx(predicted[mode], abs=0.025), ratios
    assert ratios["pro_rata"] < ratios["exposure"]


def test_fewer_member_months_widen_the_spread():
    # Leavers not replaced (replacement 0, turnover 0.2): member months fall to 0.9 of a full
    # roster. A leaver's slot then has variance e^(s^2) sigma^2 E[p] + (e^(s^2) - 1) mu^2 E[p^2]
    # (E[p] = 1/2, E[p^2] = 1/3) under exposure, so the PMPM's sd grows by sqrt(V / 0.81 / V0)
    # = 1.052 (pro rata: 1.034).
    er2 = math.exp(0.25)
    full = er2 * SECOND - MU**2
    leaver = er2 * VAR / 2.0 + (er2 - 1.0) * MU**2 / 3.0
    predicted = math.sqrt((0.8 * full + 0.2 * leaver) / 0.81 / full)
    assert predicted == pytest.approx(1.052, abs=0.001)
    base = _loaded(trials=10_000, members=500, turnover=0.0)
    fewer = _loaded(trials=10_000, members=500, turnover=0.2, replacement=0.0)
    sd0 = float(simsettle.simulate(base, progress=False).savings_rate.std())
    sd1 = float(simsettle.simulate(fewer, progress=False).savings_rate.std())
    assert sd1 / sd0 == pytest.approx(predicted, abs=0.025)
