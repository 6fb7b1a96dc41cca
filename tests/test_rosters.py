"""Persistent rosters and leakage (issue 14 item 5): who the provider knows and who the payer
counts is a property of the member for its stay, may go with its risk, and a care-management
programme reaches only the members the provider knows and the spend within its network.

The expectations are the closed forms of :mod:`simsettle.models.roster`, derived there by hand;
here the simulated members are held to them. The kernel itself is held to the reference twin
with correlated rosters and leakage in ``tests/test_population.py`` (every mechanism), to the
independent numpy model in ``tests/test_numpy_model.py`` and on the GPU's layout in
``tests/test_gpu.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsettle
from simsettle._kernels import records as R
from simsettle.models.population import (
    compile_model,
    key_from_seed,
    simulate_aggregates,
    simulate_stays,
)
from simsettle.models.roster import programme_reach, spend_share_without
from simsettle.scenario import parse_scenario

RISK_SIGMA, RHO = 0.6, 0.75

# A closed population (no turnover, no deaths) with a light-tailed cost, so that the members'
# status correlates with their log risk exactly as the closed forms assume, c rho^k in year k.
CLOSED = """\
schema_version: 1
seed: {seed}
trials: 1
first_performance_year: 2026
performance_years: 2
population:
  members: {members}
  turnover: 0.0
  mortality: 0.0
  risk_sigma: 0.6
  risk_persistence: 0.75
  attribution: {{payer_only_share: {payer}, payer_only_correlation: {payer_c},
                provider_only_share: {provider}, provider_only_correlation: {provider_c},
                leakage_share: {leakage}}}
cost: {{pmpm: 1000.0, zero_cost_share: 0.0, tail_probability: 0.0, body_sigma: 0.8,
       persistence: 0.0}}
benchmark: {{weights: [1.0], trend_rate: 0.0}}
care_management: {{high_risk_share: {high_risk}, effect: {effect}, start: all_years}}
designs:
  - {{name: a, template: commercial_two_sided}}
"""


def _closed(
    *,
    payer: float = 0.0,
    payer_c: float = 0.0,
    provider: float = 0.0,
    provider_c: float = 0.0,
    leakage: float = 0.0,
    high_risk: float = 0.1,
    effect: float = 0.3,
    members: int = 10_000,
    seed: int = 5,
):
    text = CLOSED.format(
        payer=payer,
        payer_c=payer_c,
        provider=provider,
        provider_c=provider_c,
        leakage=leakage,
        high_risk=high_risk,
        effect=effect,
        members=members,
        seed=seed,
    )
    return parse_scenario(text).scenario


def _aggregates(trials: int = 16, **kw) -> np.ndarray:
    sc = _closed(**kw)
    return simulate_aggregates(compile_model(sc), key_from_seed(sc.seed), 0, trials)


def _ratio_and_se(num: np.ndarray, den: np.ndarray) -> tuple[float, float]:
    """The ratio of two per-trial sums' totals and its standard error across trials (delta
    method: the trials are independent, the two sums of one trial share its members)."""
    n = num.shape[0]
    ratio = float(num.sum() / den.sum())
    resid = (num - ratio * den) / den.mean()
    return ratio, float(resid.std(ddof=1) / math.sqrt(n))


def test_closed_forms():
    # Without correlation the programme reaches the known members' share, net of leakage.
    assert programme_reach(0.4, 0.0, 0.1, RISK_SIGMA) == pytest.approx(0.6, abs=1e-9)
    assert programme_reach(0.4, 0.0, 0.1, RISK_SIGMA, leakage_share=0.25) == pytest.approx(
        0.45, abs=1e-9
    )
    assert programme_reach(0.0, 0.7, 0.1, RISK_SIGMA) == pytest.approx(1.0, abs=1e-9)
    # Unknown members that are the costlier ones leave the programme (aimed at them) less.
    assert (
        programme_reach(0.4, 0.5, 0.1, RISK_SIGMA)
        < 0.6
        < programme_reach(0.4, -0.5, 0.1, RISK_SIGMA)
    )
    # Status fully determined by risk: the top 40% unknown, the top 10% enrolled: none reached.
    assert programme_reach(0.4, 1.0, 0.1, RISK_SIGMA) == 0.0
    # A correlation that fades with tenure fades to the uncorrelated answer.
    assert programme_reach(0.4, 0.5, 0.1, RISK_SIGMA, tenure_correlation=0.0) == pytest.approx(
        0.6, abs=1e-9
    )
    # Spend share of the members without a status: 1 - share, less when they are costlier.
    assert spend_share_without(0.3, 0.0, RISK_SIGMA) == pytest.approx(0.7)
    assert (
        spend_share_without(0.3, 0.4, RISK_SIGMA) < 0.7 < spend_share_without(0.3, -0.4, RISK_SIGMA)
    )
    assert spend_share_without(0.0, 0.9, RISK_SIGMA) == 1.0
    with pytest.raises(ValueError, match="high_risk_share"):
        programme_reach(0.4, 0.0, 0.0, RISK_SIGMA)


def test_the_bivariate_term_matches_scipy():
    # The quadrature of P(S <= t, Z > a) against scipy's multivariate normal, off the edges.
    from scipy import stats

    from simsettle.models.roster import _below_above

    for t, a, r in [(0.25, 1.28, 0.5), (-0.3, 0.7, -0.6), (1.1, -0.4, 0.9)]:
        joint = stats.multivariate_normal([0.0, 0.0], [[1.0, r], [r, 1.0]]).cdf([t, a])
        want = stats.norm.cdf(t) - joint
        assert _below_above(t, a, r) == pytest.approx(want, abs=2e-6)


@pytest.mark.parametrize(("payer_c", "leakage"), [(0.0, 0.0), (0.5, 0.2), (-0.4, 0.0)])
def test_care_management_reaches_what_the_formula_predicts(payer_c, leakage):
    # Each year the avoided cost with 40% of the members unknown to the provider, over that of
    # a provider that knows everyone (the same members, the same draws), is the closed form
    # with the status's correlation with this year's log risk: c rho^k in year k.
    known = _aggregates()
    partly = _aggregates(payer=0.4, payer_c=payer_c, leakage=leakage)
    for year in range(known.shape[1]):
        got, se = _ratio_and_se(partly[:, year, R.F_CM_AVOIDED], known[:, year, R.F_CM_AVOIDED])
        want = programme_reach(
            0.4, payer_c, 0.1, RISK_SIGMA, leakage_share=leakage, tenure_correlation=RHO**year
        )
        assert abs(got - want) < 4 * se + 1e-3, (year, got, want, se)
    # The uncorrelated answer (the known share) is far from the correlated one: the test can
    # tell them apart.
    if payer_c:
        assert abs(programme_reach(0.4, payer_c, 0.1, RISK_SIGMA) - 0.6) > 10 * se


def test_leakage_scales_the_avoided_cost_exactly():
    whole = _aggregates(trials=3, payer=0.3)
    leaky = _aggregates(trials=3, payer=0.3, leakage=0.25)
    # The same members managed, a quarter of their avoidable cost out of reach.
    np.testing.assert_array_equal(whole[:, :, R.F_CM_MONTHS], leaky[:, :, R.F_CM_MONTHS])
    np.testing.assert_allclose(
        leaky[:, :, R.F_CM_AVOIDED], 0.75 * whole[:, :, R.F_CM_AVOIDED], rtol=1e-12
    )
    np.testing.assert_allclose(
        leaky[:, :, R.F_SPEND] - whole[:, :, R.F_SPEND],
        whole[:, :, R.F_CM_AVOIDED] - leaky[:, :, R.F_CM_AVOIDED],
        rtol=1e-9,
    )


@pytest.mark.parametrize("provider_c", [0.0, 0.4])
def test_the_settlement_counts_the_spend_the_formula_predicts(provider_c):
    # Provider-only members are outside the settlement: the spend it counts, over all of it
    # (no programme, so that every member's expected cost is its true risk's multiple).
    everyone = _aggregates(effect=0.0)
    counted = _aggregates(provider=0.3, provider_c=provider_c, effect=0.0)
    for year in range(everyone.shape[1]):
        got, se = _ratio_and_se(counted[:, year, R.F_SPEND], everyone[:, year, R.F_SPEND])
        want = spend_share_without(0.3, provider_c, RISK_SIGMA, tenure_correlation=RHO**year)
        assert abs(got - want) < 4 * se + 1e-3, (year, got, want, se)


# An open population: turnover, replacement joiners, deaths and vacancies.
OPEN = """\
schema_version: 1
seed: 9
trials: 1
first_performance_year: 2026
performance_years: 3
population:
  members: 3000
  turnover: 0.25
  replacement: 0.5
  mortality: 0.04
  attribution: {{provider_only_share: 0.3, provider_only_correlation: {corr}}}
cost: {{pmpm: 1000.0}}
designs:
  - {{name: a, template: commercial_two_sided}}
"""


@pytest.mark.parametrize("corr", [0.0, 0.6])
def test_a_member_keeps_its_roster_status_for_its_stay(corr):
    sc = parse_scenario(OPEN.format(corr=corr)).scenario
    stays, _ = simulate_stays(compile_model(sc), key_from_seed(sc.seed))
    # Prospective attribution and no loss of attribution: a stay is in the settlement exactly
    # when its member is not provider-only.
    status: dict[int, float] = {}  # the slot's member carried into next year
    continuing = changed = arrivals = provider_only = 0
    for row in stays[np.lexsort((stays[:, R.ST_JOINER], stays[:, R.ST_YEAR], stays[:, R.ST_SLOT]))]:
        slot, attributed = int(row[R.ST_SLOT]), row[R.ST_ATTRIBUTED]
        if row[R.ST_NEW] > 0.5:
            arrivals += 1
            provider_only += attributed < 0.5
        else:
            continuing += 1
            changed += attributed != status[slot]
        status[slot] = attributed  # a joiner's row comes after the occupant's
    assert continuing > 5_000
    assert arrivals > 4_000
    assert changed == 0  # redrawn each year, about 42% of continuing members would change
    # A share of the arrivals is provider-only (binomial; 5 standard errors).
    assert abs(provider_only / arrivals - 0.3) < 5 * math.sqrt(0.21 / arrivals)


# The seed's case through the public API: a 40% discrepancy between the lists and a programme
# that avoids 30% of the cost of the top 10% by risk, settled 50/50 with no corridor, so that the
# settlement moves by half of the spend the programme avoids.
SEED_CASE = """\
schema_version: 1
seed: 21
trials: {trials}
first_performance_year: 2026
population:
  members: {members}
  attribution: {{payer_only_share: {payer}, provider_only_share: {provider}}}
cost: {{pmpm: 1000.0}}
trend: {{mean: 0.04, sd: 0.0}}
{programme}
designs:
  - {{name: linear, kind: two_sided, min_savings_rate: 0.0, min_loss_rate: 0.0,
     shared_savings_rate: 0.5, shared_loss_rate: 0.5}}
"""


def _settle(*, payer=0.0, provider=0.0, programme=True, trials=200, members=4000):
    cm = "care_management: {high_risk_share: 0.1, effect: 0.3}" if programme else ""
    text = SEED_CASE.format(
        payer=payer, provider=provider, programme=cm, trials=trials, members=members
    )
    return simsettle.simulate(parse_scenario(text).scenario, progress=False)


def test_the_seed_case_the_programme_moves_the_settlement_by_the_share_it_reaches():
    none = _settle(programme=False)
    known = _settle()
    partly = _settle(payer=0.4)
    # Without a programme, members the provider does not know change nothing.
    unknown = _settle(payer=0.4, programme=False)
    np.testing.assert_array_equal(none.settlement.values, unknown.settlement.values)
    effect_known = (known.settlement - none.settlement).values.ravel()
    effect_partly = (partly.settlement - none.settlement).values.ravel()
    assert effect_known.mean() > 0
    got, se = _ratio_and_se(effect_partly, effect_known)
    assert abs(got - 0.6) < 4 * se + 1e-3, (got, se)


def test_the_settlement_spreads_as_the_payer_counts_fewer_members():
    # No systemic trend: the savings rate's spread is the members' own, which falls as one over
    # the root of the number the settlement counts; provider-only members are not counted.
    everyone = _settle(programme=False, trials=400)
    counted = _settle(provider=0.4, programme=False, trials=400)
    ratio = float(counted.savings_rate.std() / everyone.savings_rate.std())
    assert ratio == pytest.approx(math.sqrt(1 / 0.6), rel=0.1)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shares=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(sorted),
    corr=st.floats(-1.0, 1.0),
    leakage=st.floats(0.0, 1.0),
)
def test_reach_falls_as_more_members_are_unknown(shares, corr, leakage):
    # On the same draws a larger payer-only share makes a superset of members unknown (the same
    # latent normal against a lower threshold), so the programme avoids no more, and the
    # settlement counts no less spend; the managed months never grow.
    low, high = shares
    a = _aggregates(trials=2, members=400, payer=low, payer_c=corr, leakage=leakage)
    b = _aggregates(trials=2, members=400, payer=high, payer_c=corr, leakage=leakage)
    assert np.all(b[:, :, R.F_CM_MONTHS] <= a[:, :, R.F_CM_MONTHS])
    assert np.all(b[:, :, R.F_CM_AVOIDED] <= a[:, :, R.F_CM_AVOIDED] * (1 + 1e-12))
    assert np.all(b[:, :, R.F_SPEND] >= a[:, :, R.F_SPEND] * (1 - 1e-12))
    # The payer counts the same members whoever the provider knows.
    np.testing.assert_array_equal(a[:, :, R.F_MEMBER_MONTHS], b[:, :, R.F_MEMBER_MONTHS])


def test_the_run_summary_states_the_programme_reach():
    from simsettle.report import format_cost_moments
    from simsettle.results.dataset import achieved_cost_moments

    sc = _closed(payer=0.4, payer_c=0.5, provider=0.1, leakage=0.2, members=400)
    m = achieved_cost_moments(sc)
    assert m["programme_reach"] == pytest.approx(
        programme_reach(0.4, 0.5, 0.1, RISK_SIGMA, leakage_share=0.2)
    )
    assert m["settled_spend_share"] == pytest.approx(0.9)
    line = format_cost_moments(simsettle.simulate(sc, trials=2, progress=False))
    assert "Rosters: the provider does not know 40% of the members the payer attributes " in line
    assert "(correlation 0.5 with their risk)" in line
    assert "20% of a known member's spend is out of its network" in line
    assert f"avoids {m['programme_reach']:.0%} of what it would if it knew" in line
    # No discrepancy, no roster line.
    assert "programme_reach" not in achieved_cost_moments(_closed(members=400))
    plain = format_cost_moments(simsettle.simulate(_closed(members=400), trials=2, progress=False))
    assert "Rosters" not in plain
