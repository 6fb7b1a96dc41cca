"""Population, trend, benchmark and quality mechanisms against expectations derived by hand.

Each test runs small simulations through the public API and compares with a number that
follows from the model's definition (see the docstring of each test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simsettle
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario import parse_scenario

BASE = """\
schema_version: 1
seed: 31
trials: {trials}
first_performance_year: 2026
performance_years: {years}
population: {{members: {members}, turnover: {turnover}, risk_persistence: 0.7}}
cost: {cost}
trend: {trend}
benchmark: {benchmark}
{extra}
designs:
{designs}
"""
FLAT = "  - {name: flat, kind: two_sided, shared_savings_rate: 1.0, shared_loss_rate: 1.0}\n"


def scenario_text(
    *,
    trials=400,
    years=1,
    members=2000,
    turnover=0.0,
    cost="{pmpm: 1000.0}",
    trend="{mean: 0.04, sd: 0.0}",
    benchmark="{}",
    extra="",
    designs=FLAT,
) -> str:
    return BASE.format(
        trials=trials,
        years=years,
        members=members,
        turnover=turnover,
        cost=cost,
        trend=trend,
        benchmark=benchmark,
        extra=extra,
        designs=designs,
    )


def scenario(**kwargs):
    return parse_scenario(scenario_text(**kwargs))


def member_cv(loaded) -> float:
    """CV of one member-year's cost, from the kernel itself (one member per trial)."""
    text = loaded.text.replace("members: 2000", "members: 1")
    sc = parse_scenario(text).scenario
    agg = simulate_aggregates(compile_model(sc), key_from_seed(5), 0, 400_000)
    cost = agg[:, 0, R.F_SPEND]
    return float(cost.std() / cost.mean())


def test_member_noise_alone_gives_cv_over_root_n():
    # A fixed budget (capitation), no turnover and no trend noise: the savings rate is
    # 1 - spend / budget, whose sd is the CV of one member's annual cost over sqrt(members).
    designs = (
        "  - {name: budget, kind: two_sided, shared_savings_rate: 1.0, "
        "shared_loss_rate: 1.0, capitation_pmpm: 1124.864}\n"
    )
    loaded = scenario(trials=1500, members=2000, designs=designs)
    ds = simsettle.simulate(loaded, progress=False)
    sd = float(ds.savings_rate.std())
    expected = member_cv(loaded) / math.sqrt(2000)
    # The sd of a sample sd of 1,500 trials is about sd / sqrt(2 x 1500) (1.8%); allow 4 sigma
    # plus the heavy tail's kurtosis.
    assert sd == pytest.approx(expected, rel=0.12)
    # And the budget is exactly 1000 x 1.04^3 per member month (three base years of trend).
    np.testing.assert_allclose(ds.settlement_benchmark.isel(design=0), 1124.864 * 24_000)


def test_realized_trend_removes_trend_risk_when_correlation_is_one():
    # With the reference trend equal to the provider's (correlation 1, same mean and sd), the
    # realized-trend benchmark moves with the provider's cost index, so the savings rate does
    # not depend on the trend draws at all: it equals the savings rate without trend noise.
    noisy = "{mean: 0.04, sd: 0.05, correlation: 1.0}"
    realized = "{trend_method: realized}"
    with_trend = simsettle.simulate(scenario(trend=noisy, benchmark=realized), progress=False)
    without = simsettle.simulate(
        scenario(trend="{mean: 0.04, sd: 0.0, correlation: 1.0}", benchmark=realized),
        progress=False,
    )
    np.testing.assert_allclose(
        with_trend.savings_rate, without.savings_rate, rtol=1e-10, atol=1e-12
    )
    negotiated = simsettle.simulate(scenario(trend=noisy), progress=False)
    # A negotiated (fixed) trend leaves the provider carrying the trend noise. The PY index over
    # base year b is the product of the growth factors b+1..3, so to first order the savings
    # rate moves by -(0.1 g1 + 0.4 g2 + 1.0 g3) with g_k the yearly log-growth noise (sd 5%):
    # variance 0.05^2 x (0.01 + 0.16 + 1) = 0.002925. On common random numbers the difference of
    # the two savings rates is that trend term.
    d = (negotiated.savings_rate - with_trend.savings_rate).values.ravel()
    assert float(d.var()) == pytest.approx(0.05**2 * 1.17, rel=0.2)


def test_ratchet_lowers_the_next_agreement_by_the_weighted_savings():
    # Two one-year agreements; the second is rebased on the last three years with equal
    # weights. A care-management programme avoids cost in the performance years, so on common
    # random numbers the second agreement's benchmark is lower, and by exactly the rebase
    # weight of the first performance year times its avoided cost per member month, trended
    # to the second year at the negotiated 4% and moved by the risk ratio (the programme does
    # not change risk scores).
    bench = (
        "{agreement_years: 1, rebase_weights: [0.3333333333333333, 0.3333333333333333, "
        "0.3333333333333334], trend_rate: 0.04}"
    )
    cm = "care_management: {high_risk_share: 0.1, effect: 0.2}"
    plain = simsettle.simulate(scenario(years=2, benchmark=bench), progress=False)
    managed = simsettle.simulate(scenario(years=2, benchmark=bench, extra=cm), progress=False)
    drop = (plain.benchmark - managed.benchmark).isel(year=1)
    py1 = managed.isel(year=0)
    py2 = managed.isel(year=1)
    expected = (
        0.3333333333333334
        * py1.care_management_savings
        / py1.member_months
        * 1.04
        * (py2.risk_score / py1.risk_score)
        * py2.member_months
    )
    np.testing.assert_allclose(drop, expected, rtol=1e-9)
    np.testing.assert_array_equal(plain.benchmark.isel(year=0), managed.benchmark.isel(year=0))
    assert float(drop.mean()) > 0


def test_care_management_true_savings():
    # Enrolled: the top 10% by latent risk; 20% of their cost avoided, at $50 PMPM. The avoided
    # cost is 20/80 of what they still spend, and enrolled months are 10% of all.
    cm = "care_management: {high_risk_share: 0.1, effect: 0.2, cost_pmpm: 50.0}"
    loaded = scenario(extra=cm, members=5000)
    ds = simsettle.simulate(loaded, progress=False)
    agg = simulate_aggregates(compile_model(loaded.scenario), key_from_seed(31), 0, 50)
    enrolled = agg[:, 3, R.F_CM_MONTHS] / agg[:, 3, R.F_MEMBER_MONTHS]
    assert float(enrolled.mean()) == pytest.approx(0.10, abs=0.01)
    np.testing.assert_allclose(
        ds.care_management_cost.isel(trial=slice(0, 50), year=0), 50.0 * agg[:, 3, R.F_CM_MONTHS]
    )
    assert float(ds.care_management_savings.min()) > 0
    plain = simsettle.simulate(scenario(members=5000), progress=False)
    # Common random numbers: spend falls by exactly the avoided cost.
    np.testing.assert_allclose(
        plain.actual_spend - ds.actual_spend, ds.care_management_savings, rtol=1e-9
    )


def test_quality_model_feeds_every_design():
    # A REACH-style 2% withhold earned back by the simulated score: the retained withhold is
    # 2% x benchmark x (1 - score) in every trial-year, with the score the model drew.
    designs = (
        "  - {name: withhold, kind: two_sided, shared_savings_rate: 0.5, "
        "shared_loss_rate: 0.5, quality: {score: 1.0, withhold: 0.02}}\n"
    )
    qm = "quality_model: {mean: 0.8, sd: 0.5, persistence: 0.6}"
    ds = simsettle.simulate(scenario(years=3, extra=qm, designs=designs), progress=False)
    q = ds.quality_score
    assert 0.0 < float(q.min()) < float(q.max()) < 1.0
    assert float(np.median(q)) == pytest.approx(0.8, abs=0.03)
    np.testing.assert_allclose(
        ds.quality_withhold.isel(design=0),
        0.02 * ds.settlement_benchmark.isel(design=0) * (1 - q),
        rtol=1e-12,
    )
    # Persistence: consecutive years' logits correlate at about 0.6.
    logit = np.log(q / (1 - q)).values
    r = np.corrcoef(logit[:, 0], logit[:, 1])[0, 1]
    assert r == pytest.approx(0.6, abs=0.1)


def test_systemic_shock_hits_provider_and_reference_for_one_year():
    # Every year shocked by -10%: each year's cost index is the trend path times 0.9, and the
    # index returns to the path (no compounding): index_y / index_0 = 1.04^y x 0.9 for y >= 1.
    trend = "{mean: 0.04, sd: 0.0, shock_probability: 1.0, shock_size: -0.1}"
    sc = scenario(trend=trend).scenario
    agg = simulate_aggregates(compile_model(sc), key_from_seed(1), 0, 3)
    years = np.arange(4)
    expected = 1.04**years * np.where(years > 0, 0.9, 1.0)
    np.testing.assert_allclose(
        agg[:, :, R.F_TREND_INDEX], np.broadcast_to(expected, (3, 4)), rtol=1e-12
    )
    np.testing.assert_allclose(agg[:, :, R.F_REF_INDEX], agg[:, :, R.F_TREND_INDEX], rtol=1e-12)


def test_ageing_and_entrants_move_risk_as_specified():
    # No turnover and 3% ageing: every member's score grows 3% a year, so the mean risk of year
    # y is 1.03^y. Full turnover with entrants of median risk 1.5x: after year 0 the roster is
    # all entrants, whose mean score is 1.5 times the population's.
    aged = scenario(trials=20, members="4000, ageing: 0.03").scenario
    agg = simulate_aggregates(compile_model(aged), key_from_seed(3), 0, 20)
    risk = (agg[:, :, R.F_RISK_MONTHS] / agg[:, :, R.F_MEMBER_MONTHS]).mean(0)
    np.testing.assert_allclose(risk / risk[0], 1.03 ** np.arange(4), rtol=0.01)
    entrants = scenario(
        trials=20, members="4000, replacement: 0.0, entrant_risk_ratio: 1.5", turnover=1.0
    ).scenario
    agg = simulate_aggregates(compile_model(entrants), key_from_seed(3), 0, 20)
    risk = (agg[:, :, R.F_RISK_MONTHS] / agg[:, :, R.F_MEMBER_MONTHS]).mean(0)
    assert risk[0] == pytest.approx(1.0, abs=0.02)
    np.testing.assert_allclose(risk[1:], 1.5, rtol=0.03)


def _agg(members_spec: str, trials: int = 60, extra: str = ""):
    sc = scenario(trials=trials, members=members_spec, extra=extra).scenario
    return simulate_aggregates(compile_model(sc), key_from_seed(7), 0, trials)


def test_retrospective_attribution_drops_members_without_care():
    # 15% of member-years have no care (the default zero-cost share). Retrospectively they are
    # not attributed: member months fall to 85% of the prospective list while spend is the same,
    # so cost per member month rises by 1/0.85 -- the adverse selection of retrospective lists.
    prospective = _agg("3000")
    retro = _agg("3000, attribution: {method: retrospective}")
    ratio = retro[:, :, R.F_MEMBER_MONTHS].sum() / prospective[:, :, R.F_MEMBER_MONTHS].sum()
    assert ratio == pytest.approx(0.85, abs=0.005)
    np.testing.assert_allclose(retro[:, :, R.F_SPEND], prospective[:, :, R.F_SPEND], rtol=1e-12)
    blended = _agg("3000, attribution: {method: blended, no_care_retention: 0.4}")
    ratio = blended[:, :, R.F_MEMBER_MONTHS].sum() / prospective[:, :, R.F_MEMBER_MONTHS].sum()
    assert ratio == pytest.approx(0.85 + 0.15 * 0.4, abs=0.005)


def test_roster_discrepancy():
    # 30% of the provider's members are not attributed by the payer: they leave the settlement.
    # 40% of the payer's members are unknown to the provider: its care management misses them,
    # so the cost it avoids is 60% of what it would be.
    base = _agg("3000")
    provider_only = _agg("3000, attribution: {provider_only_share: 0.3}")
    share = provider_only[:, :, R.F_MEMBER_MONTHS].sum() / base[:, :, R.F_MEMBER_MONTHS].sum()
    assert share == pytest.approx(0.7, abs=0.01)
    cm = "care_management: {high_risk_share: 0.2, effect: 0.1, start: all_years}"
    known = _agg("3000", extra=cm)
    unknown = _agg("3000, attribution: {payer_only_share: 0.4}", extra=cm)
    ratio = unknown[:, :, R.F_CM_AVOIDED].sum() / known[:, :, R.F_CM_AVOIDED].sum()
    assert ratio == pytest.approx(0.6, abs=0.05)
    np.testing.assert_array_equal(unknown[:, :, R.F_MEMBER_MONTHS], known[:, :, R.F_MEMBER_MONTHS])


def test_payment_timing_estimated_final_and_present_value():
    # A flat 100%/100% design without corridor: the estimated settlement differs from the final
    # one by exactly the completion error times spend. Interim 40% of the expected estimated
    # settlement at mid-year; first settlement 9 months after year end; true-up 12 months later;
    # 6% discount: PV = I v^0.5 + (E - I) v^1.75 + (F - E) v^2.75 for the first PY.
    timing = (
        "timing: {completion_factor_sd: 0.01, completion_bias: 0.002, interim_share: 0.4, "
        "payment_lag_months: 9, true_up_lag_months: 12, discount_rate: 0.06}"
    )
    ds = simsettle.simulate(scenario(years=2, extra=timing), progress=False)
    agg = simulate_aggregates(
        compile_model(scenario(years=2, extra=timing).scenario), key_from_seed(31), 0, 400
    )
    z = agg[:, 3:, R.F_COMPLETION_Z]
    flat = ds.isel(design=0)
    np.testing.assert_allclose(
        flat.settlement - flat.settlement_estimated,
        (0.002 + 0.01 * z) * flat.actual_spend,
        rtol=1e-9,
        atol=1e-3,
    )
    assert float(np.std(z)) == pytest.approx(1.0, abs=0.1)
    interim = 0.4 * flat.settlement_estimated.mean("trial")
    np.testing.assert_allclose(flat.interim_payment, interim.broadcast_like(flat.interim_payment))
    v = 1 / 1.06
    p = np.array([0.0, 1.0])
    expected = (
        flat.interim_payment * v ** (p + 0.5)
        + (flat.settlement_estimated - flat.interim_payment) * v ** (p + 1.75)
        + (flat.settlement - flat.settlement_estimated) * v ** (p + 2.75)
    )
    np.testing.assert_allclose(flat.settlement_pv, expected, rtol=1e-12)
    # Without discounting the payments add up to the final settlement.
    plain = simsettle.simulate(
        scenario(extra="timing: {discount_rate: 0.0, interim_share: 0.5}"), progress=False
    )
    np.testing.assert_allclose(plain.settlement_pv, plain.settlement, rtol=1e-9, atol=1e-3)


def test_cost_given_by_its_moments():
    # Medicare's concentration: a CV of 2.1 and 41.5% of spend on the costliest 5% of
    # member-years. The scenario solves the body and tail, the Dataset reports the achieved
    # moments, and the kernel's own member-years reproduce them.
    text = scenario_text(trials=2, members=10, cost="{pmpm: 1000.0, cv: 2.1, top5_share: 0.415}")
    loaded = parse_scenario(text)
    cost = loaded.scenario.cost
    assert (cost.cv, cost.top5_share) == (2.1, 0.415)
    ds = simsettle.simulate(loaded, progress=False)
    import json

    achieved = json.loads(ds.attrs["cost_moments"])
    assert achieved["cv"] == pytest.approx(2.1, abs=1e-6)
    assert achieved["top5_share"] == pytest.approx(0.415, abs=1e-6)
    one = parse_scenario(text.replace("members: 10", "members: 1")).scenario
    agg = simulate_aggregates(compile_model(one), key_from_seed(2), 0, 300_000)
    c = np.sort(agg[:, 0, R.F_SPEND])[::-1]
    assert c[: c.size // 20].sum() / c.sum() == pytest.approx(0.415, abs=0.01)
    assert c.std() / c.mean() == pytest.approx(2.1, rel=0.05)


def test_unreachable_cost_moments_are_positioned():
    text = scenario_text(trials=2, members=10, cost="{pmpm: 1000.0, cv: 2.0, top5_share: 0.9}")
    with pytest.raises(simsettle.ScenarioError) as info:
        parse_scenario(text, "m.yaml")
    (issue,) = info.value.issues
    assert issue.path == "cost.top5_share"
    assert "can range from" in issue.message


def test_frequency_severity_defaults_match_medicare_concentration():
    # The frequency-severity defaults put about 41.5% of spend on the costliest 5% of
    # member-years (Medicare FFS, cms_methodology.md 4.3) and report their exact CV.
    text = scenario_text(trials=2, members=1, cost="{pmpm: 1000.0, model: frequency_severity}")
    sc = parse_scenario(text).scenario
    agg = simulate_aggregates(compile_model(sc), key_from_seed(4), 0, 300_000)
    c = np.sort(agg[:, 0, R.F_SPEND])[::-1]
    assert c[: c.size // 20].sum() / c.sum() == pytest.approx(0.415, abs=0.015)
    import json

    ds = simsettle.simulate(parse_scenario(text), progress=False)
    reported = json.loads(ds.attrs["cost_moments"])
    assert reported["cv"] == pytest.approx(c.std() / c.mean(), rel=0.06)
    assert reported["top5_share"] is None
