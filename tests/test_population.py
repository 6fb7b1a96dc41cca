"""The member-level kernel against its slow twin and against hand-derivable expectations."""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import replace

import numpy as np
import pytest

import simsettle
from simsettle._kernels import cuda, member, population
from simsettle._kernels import records as R
from simsettle.models.population import (
    compile_model,
    key_from_seed,
    simulate_aggregates,
    simulate_stays,
)
from simsettle.models.reference import simulate_trial_reference
from simsettle.scenario import parse_scenario


def _scenario(text: str, **replace: str):
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return parse_scenario(text).scenario


@pytest.mark.parametrize("trial", [0, 5, 2**31 + 3])
def test_kernel_matches_reference_model(small_text, trial):
    sc = _scenario(small_text, **{"members: 300": "members: 40"})
    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    got = simulate_aggregates(inputs, key, trial, 1)[0]
    ref = simulate_trial_reference(
        sc, (int(key[0]), int(key[1])), trial, [float(a) for a in inputs.attachments]
    )
    assert got.shape == ref.shape
    if not sc.quality_model:
        ref[:, R.F_QUALITY] = got[:, R.F_QUALITY]  # unused without a quality model
    # Same operations in the same order: equal up to the last bit or two of libm differences.
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    assert got[:, R.F_MEMBERS].min() >= 40  # every slot is occupied all year


FULL_MODEL = {
    "members: 300": "members: 40\n  ageing: 0.02\n  entrant_risk_ratio: 1.3\n"
    "  risk_score_accuracy: 0.6\n"
    "  mortality: 0.06\n  attribution_loss: 0.05\n  decedent_cost_ratio: 5.0\n"
    "  terminal_cost_sigma: 0.9\n  entrant_cost_ratio: 0.8\n"
    "  demographic_signal: 0.5\n  attribution: {method: blended, no_care_retention: 0.3, "
    "payer_only_share: 0.2, provider_only_share: 0.1}",
    "  sd: 0.03\n": "  sd: 0.03\n  reference_mean: 0.03\n  reference_sd: 0.02\n"
    "  correlation: 0.6\n  shock_probability: 0.5\n  shock_size: -0.1\n",
    "designs:": "care_management: {high_risk_share: 0.2, effect: 0.1, cost_pmpm: 20.0}\n"
    "quality_model: {mean: 0.8, sd: 0.4, persistence: 0.5}\n"
    "participants: {practices: [{name: a, share: 0.3, cost_ratio: 0.8}, "
    "{name: b, share: 0.7, cost_ratio: 1.1}]}\ndesigns:",
}


@pytest.mark.parametrize("cost_model", ["mixture", "frequency_severity", "correlated_rosters"])
@pytest.mark.parametrize("trial", [0, 9, 77])
def test_kernel_matches_reference_model_with_every_mechanism(small_text, trial, cost_model):
    edits = dict(FULL_MODEL)
    if cost_model == "correlated_rosters":
        # Roster status drawn against the log risk (the quantile path of member.roster), and
        # a share of the spend out of the programme's reach.
        edits["members: 300"] = edits["members: 300"].replace(
            "provider_only_share: 0.1}",
            "provider_only_share: 0.1, payer_only_correlation: 0.6, "
            "provider_only_correlation: -0.4, leakage_share: 0.3}",
        )
        # ... and a practice that leaves: every member field is summed per practice.
        edits["designs:"] = edits["designs:"].replace(
            "cost_ratio: 0.8}", "cost_ratio: 0.8, leaves: 2027}"
        )
    if cost_model == "frequency_severity":
        # A member with a mean of 30 claims a year, sometimes hundreds, exercises several blocks.
        edits["  pmpm: 900.0"] = (
            "  pmpm: 900.0\n  model: frequency_severity\n"
            "  claims_per_year: 30.0\n  claim_dispersion: 1.5"
        )
        # ... and a benchmark on demographic scores, so the kernel accumulates them.
        edits["  trend_rate: 0.04"] = "  trend_rate: 0.04\n  risk_model: demographic"
    sc = _scenario(small_text, **edits)
    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    got = simulate_aggregates(inputs, key, trial, 1)[0]
    ref = simulate_trial_reference(
        sc, (int(key[0]), int(key[1])), trial, [float(a) for a in inputs.attachments]
    )
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    # Every mechanism is exercised: managed members, shocks, a varying quality score.
    assert got[3:, R.F_CM_MONTHS].sum() > 0
    assert got[:3, R.F_CM_MONTHS].sum() == 0  # the programme starts with performance years
    assert got[:, R.F_CM_AVOIDED].sum() > 0
    assert np.ptp(got[:, R.F_QUALITY]) > 0
    if cost_model == "frequency_severity":
        assert got[:, R.F_DEMO_RISK_MONTHS].min() > 0
    assert not np.array_equal(got[:, R.F_TREND_INDEX], got[:, R.F_REF_INDEX])


def test_trials_are_independent_of_their_chunk(small_text):
    sc = _scenario(small_text)
    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    whole = simulate_aggregates(inputs, key, 0, 20)
    parts = np.concatenate(
        [simulate_aggregates(inputs, key, t0, n) for t0, n in [(0, 1), (1, 7), (8, 12)]]
    )
    np.testing.assert_array_equal(whole, parts)
    par = simulate_aggregates(inputs, key, 0, 20, parallel=True)
    np.testing.assert_array_equal(whole, par)
    other = simulate_aggregates(inputs, key_from_seed(sc.seed + 1), 0, 20)
    assert not np.array_equal(whole[:, :, R.F_SPEND], other[:, :, R.F_SPEND])


def test_member_months_and_members_follow_turnover(small_text):
    # Each slot: occupant 12 months, or 12u if it leaves (prob r) and then, with prob q, a joiner
    # for the remaining 12(1-u). E[member months] = 12 N (1 - r (1 - q) / 2);
    # E[members] = N (1 + r q).
    n, r, q = 2000, 0.3, 0.5
    sc = _scenario(
        small_text,
        **{
            "members: 300": f"members: {n}",
            "turnover: 0.2": f"turnover: {r}",
            "replacement: 0.8": f"replacement: {q}",
        },
    )
    agg = simulate_aggregates(compile_model(sc), key_from_seed(1), 0, 40)
    mm = agg[:, :, R.F_MEMBER_MONTHS]
    members = agg[:, :, R.F_MEMBERS]
    n_obs = mm.size
    exp_mm = 12 * n * (1 - r * (1 - q) / 2)
    # sd of one slot's months: leaving w.p. r(1-q) removes 12(1-u) months.
    p = r * (1 - q)
    var_slot = 144 * (p / 3 - (p / 2) ** 2)
    assert abs(mm.mean() - exp_mm) < 4 * math.sqrt(n * var_slot / n_obs)
    exp_members = n * (1 + r * q)
    assert abs(members.mean() - exp_members) < 4 * math.sqrt(n * r * q * (1 - r * q) / n_obs)


def test_mean_cost_risk_and_trend(small_text):
    # Mean cost per member month in year y is pmpm x E[trend index]; risk scores average 1.
    sc = _scenario(small_text, **{"members: 300": "members: 3000"})
    agg = simulate_aggregates(compile_model(sc), key_from_seed(sc.seed), 0, 200)
    pmpm = agg[:, :, R.F_SPEND] / agg[:, :, R.F_MEMBER_MONTHS]
    index = agg[:, :, R.F_TREND_INDEX]
    np.testing.assert_array_equal(index[:, 0], 1.0)
    g = 1 + sc.trend.mean
    for y in range(agg.shape[1]):
        # Expected trend index g**y; each factor is lognormal with sd `trend.sd`.
        sd_index = g**y * math.sqrt(math.exp(y * sc.trend.sd**2) - 1)
        assert abs(index[:, y].mean() - g**y) < 4 * sd_index / math.sqrt(200) + 1e-12
        ratio = pmpm[:, y] / index[:, y] / sc.cost.pmpm
        # The ratio's spread is the member-level CV (about 2.3) / sqrt(members).
        assert abs(ratio.mean() - 1) < 4 * 2.6 / math.sqrt(3000 * 200)
    risk = agg[:, :, R.F_RISK_MONTHS] / agg[:, :, R.F_MEMBER_MONTHS]
    assert abs(risk.mean() - 1) < 0.01


def test_default_cost_concentration_matches_medicare():
    # The defaults put about 41.5% of spend on the top 5% of member-years, as in Medicare FFS
    # (cms_methodology.md 4.3). With one member per trial and no turnover, each trial's first-year
    # spend is exactly one member-year's cost, so the kernel's own draws give the distribution.
    text = """\
schema_version: 1
seed: 3
trials: 1
population: {members: 1, turnover: 0.0}
cost: {pmpm: 1000.0}
benchmark: {weights: [1.0]}
designs: [{name: a, kind: upside_only, shared_savings_rate: 0.5}]
"""
    sc = parse_scenario(text).scenario
    inputs = compile_model(sc)
    agg = simulate_aggregates(inputs, key_from_seed(3), 0, 200_000)
    cost = np.sort(agg[:, 0, R.F_SPEND])[::-1]
    share = {q: cost[: int(q * cost.size)].sum() / cost.sum() for q in (0.01, 0.05, 0.10)}
    assert abs(share[0.05] - 0.415) < 0.03
    assert abs(share[0.01] - 0.149) < 0.03
    assert abs(share[0.10] - 0.600) < 0.03
    assert abs(cost.mean() / 12_000 - 1) < 0.03
    assert 1.9 < cost.std() / cost.mean() < 2.8


def test_stop_loss_excess_accumulated_per_member(small_text):
    sc = _scenario(small_text)
    inputs = compile_model(sc)
    np.testing.assert_array_equal(inputs.attachments, [50_000.0, 150_000.0])
    agg = simulate_aggregates(inputs, key_from_seed(sc.seed), 0, 50)
    ex50 = agg[:, :, R.N_BASE_FIELDS]
    ex150 = agg[:, :, R.N_BASE_FIELDS + 1]
    assert np.all(ex50 >= ex150)
    assert np.all(ex150 >= 0)
    assert np.all(ex50 <= agg[:, :, R.F_SPEND])
    assert ex50.sum() > 0


def test_gate_rejects_bad_inputs(small_text):
    inputs = compile_model(_scenario(small_text))
    key = key_from_seed(1)
    with pytest.raises(ValueError, match="trials"):
        simulate_aggregates(inputs, key, -1, 3)
    with pytest.raises(ValueError, match="trials"):
        simulate_aggregates(inputs, key, 2**32 - 1, 3)


def test_frequency_severity_moments():
    # C = R X, X a Poisson(lambda F) sum of lognormal severities with mean m = 12 pmpm / lambda:
    # E[X] = 12 pmpm and CV(C)^2 = exp(risk_sigma^2) (exp(sev_sigma^2) / lambda
    # + exp(frailty^2)) - 1. With one member per trial each trial's spend is one member-year.
    text = """\
schema_version: 1
seed: 3
trials: 1
population: {members: 1, turnover: 0.0, risk_sigma: 0.5}
cost: {pmpm: 1000.0, model: frequency_severity, claims_per_year: 12.0, claim_dispersion: 0.8,
       severity_sigma: 1.2}
benchmark: {weights: [1.0]}
designs: [{name: a, kind: upside_only, shared_savings_rate: 0.5}]
"""
    sc = parse_scenario(text).scenario
    agg = simulate_aggregates(compile_model(sc), key_from_seed(3), 0, 200_000)
    cost = agg[:, 0, R.F_SPEND]
    cv = math.sqrt(math.exp(0.25) * (math.exp(1.44) / 12 + math.exp(0.64)) - 1)
    assert cost.mean() == pytest.approx(12_000, rel=0.01)
    assert cost.std() / cost.mean() == pytest.approx(cv, rel=0.03)
    # Zero-claim years: P(N = 0) = E[exp(-lambda F)], by quadrature over the frailty.
    z = np.linspace(-8, 8, 4001)
    f = np.exp(0.8 * z - 0.32)
    p0 = np.trapezoid(np.exp(-12 * f) * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), z)
    assert (cost == 0).mean() == pytest.approx(p0, abs=4 * math.sqrt(p0 / 200_000))


# --------------------------------------------------------------------------------------------
# One member model: one rule, one named record


def test_parameter_record_is_named_and_recorded_by_name(small_text):
    sc = _scenario(small_text)
    inputs = compile_model(sc)
    assert inputs.params.dtype == R.MODEL_DTYPE
    assert R.MODEL_DTYPE.names == tuple(name for name, _, _ in R.MODEL_FIELDS)
    assert all(dt == np.float64 for dt, _ in R.MODEL_DTYPE.fields.values())
    named = inputs.parameters()
    assert list(named) == list(R.MODEL_DTYPE.names)
    assert named["turnover"] == sc.population.turnover == 0.2
    assert named["risk_rho"] == sc.population.risk_persistence == 0.7
    assert named["members"] == 300.0
    ds = simsettle.simulate(sc.model_copy(update={"trials": 2}), progress=False)
    recorded = json.loads(ds.attrs["model_parameters"])["params"]
    assert recorded == named


def test_gate_refuses_a_parameter_vector(small_text):
    inputs = compile_model(_scenario(small_text))
    vector = replace(inputs, params=inputs.params.reshape(1).view(np.float64))
    with pytest.raises(ValueError, match="MODEL_DTYPE"):
        simulate_aggregates(vector, key_from_seed(1), 0, 1)


def test_kernel_layouts_hold_no_model_arithmetic():
    """The member-year rule is _kernels/member.py's alone: the CPU and CUDA layouts call it and
    do no draw-to-cost arithmetic of their own (no exp, log, Box-Muller or cost formula)."""
    layouts = {
        # The CPU's lane loop calls the rule's steps; the one-slot-at-a-time layouts call the
        # whole slot-year, which calls the same steps.
        population._simulate_trial: ("_lane_year(", "in_settlement(", "leaver_cost("),
        population._lane_year: ("member_year(", "successor("),
        population.simulate_stays: ("slot_year(",),
        cuda.simulate_lane: ("slot_year(", "slot_sums("),
        member.slot_year: ("member_year(", "in_settlement(", "successor("),
    }
    for fn, calls in layouts.items():
        src = inspect.getsource(fn.py_func)
        for call in calls:
            assert call in src, (fn.__name__, call)
        if fn is member.slot_year:
            continue
        for arithmetic in ("vexp(", "vlog(", "box_muller(", "math.exp(", "np.exp("):
            assert arithmetic not in src, (fn.__name__, arithmetic)
    # ... and the rule's own module has the arithmetic (the check above can fail).
    assert "vexp(" in inspect.getsource(member.member_year.py_func)


def test_member_stays_sum_to_the_kernels_aggregates(small_text):
    edits = {
        "members: 300": "members: 40\n  attribution: {method: blended, no_care_retention: 0.3, "
        "provider_only_share: 0.1}"
    }
    sc = _scenario(small_text, **edits)
    inputs, key = compile_model(sc), key_from_seed(sc.seed)
    stays, system = simulate_stays(inputs, key, 3)
    agg = simulate_aggregates(inputs, key, 3, 1)[0]
    np.testing.assert_array_equal(system[:, R.F_TREND_INDEX], agg[:, R.F_TREND_INDEX])
    kept = stays[stays[:, R.ST_ATTRIBUTED] > 0.5]
    for y in range(inputs.n_years):
        year = kept[kept[:, R.ST_YEAR] == y]
        months = year[:, R.ST_EXIT] - year[:, R.ST_ENTRY]
        assert len(year) == agg[y, R.F_MEMBERS]
        assert year[:, R.ST_COST].sum() == pytest.approx(agg[y, R.F_SPEND], rel=1e-12)
        assert months.sum() == pytest.approx(agg[y, R.F_MEMBER_MONTHS], rel=1e-12)
        risk_months = (year[:, R.ST_RISK] * months).sum()
        assert risk_months == pytest.approx(agg[y, R.F_RISK_MONTHS], rel=1e-12)
    # Every slot has an occupant every year; joiners only where one took the slot.
    occupants = stays[stays[:, R.ST_JOINER] < 0.5]
    assert len(occupants) == 40 * inputs.n_years
