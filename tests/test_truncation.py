"""Truncation of each member's annual cost for the settlement, and the stop-loss layers apart
(issue 15 item 4).

The kernels sum each member-year's cost above every attachment point; a truncation threshold is
one more point, and truncating every member at ``T`` takes ``sum_m max(c_m - T, 0)`` off the
spend. These tests hold the engine to that identity member by member (from the member stays),
to a benchmark built by hand from truncated base years, to the stop-loss layers' arithmetic,
and the percentile threshold to the share of member-years above it.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import simsettle
from simsettle import ScenarioError, parse_scenario
from simsettle._kernels import records as R
from simsettle.models.population import (
    compile_model,
    key_from_seed,
    simulate_aggregates,
    simulate_stays,
    truncation_thresholds,
)
from simsettle.models.reference import simulate_trial_reference
from simsettle.rules.benchmark import BenchmarkInputs, build_benchmark
from simsettle.rules.truncation import truncate
from tests.conftest import SMALL_SCENARIO, assert_error_at


def _text(truncation: str, *, members: int = 300, extra: str = "") -> str:
    text = SMALL_SCENARIO.replace("members: 300", f"members: {members}")
    return text.replace("designs:", f"truncation: {truncation}\n{extra}designs:")


def test_a_threshold_takes_each_members_excess_off_the_spend() -> None:
    """Member by member: the kernel's truncated spend is the attributed stays' cost above the
    year's threshold, summed; grown at the threshold's trend_rate."""
    sc = parse_scenario(_text("{threshold: 40000.0, trend_rate: 0.05}", members=200)).scenario
    inputs, key = compile_model(sc), key_from_seed(sc.seed)
    assert inputs.truncation == pytest.approx([40000.0 * 1.05**y for y in range(inputs.n_years)])
    for trial in (0, 7):
        stays, _ = simulate_stays(inputs, key, trial)
        agg = simulate_aggregates(inputs, key, trial, 1)
        cut, removed = truncate(inputs, agg)
        kept = stays[stays[:, R.ST_ATTRIBUTED] > 0.5]
        for y, threshold in enumerate(inputs.truncation):
            cost = kept[kept[:, R.ST_YEAR] == y, R.ST_COST]
            over = np.maximum(cost - threshold, 0.0).sum()
            assert over > 0.0  # the threshold binds on some member
            assert removed[0, y, 0] == pytest.approx(over, rel=1e-12)
            want = np.minimum(cost, threshold).sum()
            assert cut[0, y, R.F_SPEND] == pytest.approx(want, rel=1e-12)
            # The stop-loss layers see the truncated cost: 50,000 lies above year 0's threshold.
            for k, point in enumerate(inputs.attachments):
                got = cut[0, y, R.N_BASE_FIELDS + k]
                want_k = np.maximum(np.minimum(cost, threshold) - point, 0.0).sum()
                assert got == pytest.approx(want_k, rel=1e-9, abs=1e-6)


def test_the_benchmark_and_the_settlement_see_the_truncated_spend() -> None:
    sc = parse_scenario(_text("{threshold: 30000.0}")).scenario
    ds = simsettle.simulate(sc, progress=False)
    assert float(ds.truncated_spend.min()) >= 0.0
    assert float(ds.truncated_spend.mean()) > 0.0
    # The benchmark, by hand, from the kernel's aggregates truncated at 30,000.
    inputs, key = compile_model(sc), key_from_seed(sc.seed)
    agg = simulate_aggregates(inputs, key, 0, sc.trials)
    spend = agg[:, :, R.F_SPEND] - agg[:, :, R.N_BASE_FIELDS + list(inputs.attachments).index(3e4)]
    by_hand = build_benchmark(
        sc.benchmark,
        BenchmarkInputs(
            spend=spend,
            member_months=agg[:, :, R.F_MEMBER_MONTHS],
            risk_months=agg[:, :, R.F_RISK_MONTHS],
        ),
        inputs.n_base_years,
    )
    np.testing.assert_allclose(ds.benchmark, by_hand, rtol=1e-12)
    nb = inputs.n_base_years
    np.testing.assert_allclose(ds.actual_spend, agg[:, nb:, R.F_SPEND], rtol=1e-12)
    np.testing.assert_allclose(
        ds.actual_spend - ds.truncated_spend, spend[:, nb:], rtol=1e-12, atol=1e-6
    )
    # A design without stop-loss settles benchmark - truncated spend; no premium is added.
    plain = ds.sel(design="one_sided")
    np.testing.assert_allclose(
        plain.savings, plain.benchmark - (plain.actual_spend - plain.truncated_spend), rtol=1e-12
    )
    assert float(abs(plain.stop_loss_premium).max()) == 0.0


def test_stop_loss_responds_between_its_attachment_and_the_threshold() -> None:
    """At 100,000 the 50,000 layer recovers (1 - 0.2) of the cost between 50,000 and 100,000;
    the 150,000 layer attaches above the threshold and recovers nothing."""
    sc = parse_scenario(_text("{threshold: 100000.0}", members=1000)).scenario
    ds = simsettle.simulate(sc, trials=32, progress=False)
    inputs, key = compile_model(sc), key_from_seed(sc.seed)
    agg = simulate_aggregates(inputs, key, 0, 32)[:, inputs.n_base_years :]
    points = list(inputs.attachments)
    e50, e100 = (agg[:, :, R.N_BASE_FIELDS + points.index(a)] for a in (5e4, 1e5))
    rec = ds.stop_loss_recovery.sel(design="with_stop_loss")
    np.testing.assert_allclose(rec, 0.8 * (e50 - e100), rtol=1e-9)
    assert float(rec.max()) > 0.0
    assert float(abs(ds.stop_loss_recovery.sel(design="high_attachment")).max()) == 0.0


def test_the_percentile_threshold_leaves_that_share_of_member_years_above_it() -> None:
    """99th percentile: about 1% of the first year's member-years (all year or until death)
    cost more than the threshold, at the year's trend index."""
    sc = parse_scenario(_text("{percentile: 0.99}", members=3000)).scenario
    inputs, key = compile_model(sc), key_from_seed(sc.seed)
    threshold = inputs.truncation[0]
    # Grown at trend.mean (0.05) each simulated year.
    assert inputs.truncation[3] == pytest.approx(threshold * 1.05**3, rel=1e-14)
    above = n = 0
    for trial in range(12):
        stays, system = simulate_stays(inputs, key, trial)
        first = stays[stays[:, R.ST_YEAR] == 0]
        whole = (first[:, R.ST_ENTRY] == 0.0) & (
            (first[:, R.ST_EXIT] == 12.0) | (first[:, R.ST_DEPARTURE] == R.DEPART_DEATH)
        )
        cost = first[whole, R.ST_COST] / system[0, R.F_TREND_INDEX]
        above += int((cost > threshold).sum())
        n += int(whole.sum())
    share, se = above / n, np.sqrt(0.01 * 0.99 / n)
    assert abs(share - 0.01) < 4 * se, (share, se, n)


def test_threshold_grows_at_the_given_rate_and_defaults() -> None:
    sc = parse_scenario(_text("{percentile: 0.99, trend_rate: 0.0}")).scenario
    points = truncation_thresholds(sc, 4)
    assert len(set(points)) == 1
    sc = parse_scenario(_text("{threshold: 1.0e+5}")).scenario
    assert truncation_thresholds(sc, 3) == (1e5, 1e5, 1e5)
    assert truncation_thresholds(parse_scenario(SMALL_SCENARIO).scenario, 3) == ()


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("{}", "exactly one of threshold"),
        ("{threshold: 1.0e+5, percentile: 0.99}", "exactly one of threshold"),
        ("{percentile: 0.2}", "percentile"),
        ("{threshold: 0.0}", "threshold"),
    ],
)
def test_errors_name_the_line_and_field(block: str, message: str) -> None:
    assert_error_at(_text(block), f"truncation: {block}", message, "t.yaml")


def test_a_percentile_needs_the_mixture_model() -> None:
    text = _text("{percentile: 0.99}").replace(
        "  pmpm: 900.0\n", "  pmpm: 900.0\n  model: frequency_severity\n"
    )
    with pytest.raises(ScenarioError, match=r"give truncation\.threshold in USD"):
        parse_scenario(text)


def test_kernel_matches_its_reference_twin_with_truncated_practices() -> None:
    extra = """participants:
  practices:
    - {name: north, share: 0.6}
    - {name: south, share: 0.4, cost_ratio: 1.3}
"""
    sc = parse_scenario(_text("{threshold: 40000.0}", members=40, extra=extra)).scenario
    inputs = compile_model(sc)
    assert inputs.practice_detail  # the practices' excess is laid out
    key = key_from_seed(sc.seed)
    got = simulate_aggregates(inputs, key, 5, 1)[0]
    ref = simulate_trial_reference(
        sc, (int(key[0]), int(key[1])), 5, [float(a) for a in inputs.attachments]
    )
    ref[:, R.F_QUALITY] = got[:, R.F_QUALITY]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("churn", [False, True])
def test_practices_see_truncated_spend_and_payouts_add_up(churn: bool) -> None:
    leaves = ", leaves: 2027" if churn else ""
    extra = f"""participants:
  method: performance
  practices:
    - {{name: north, share: 0.6}}
    - {{name: south, share: 0.4, cost_ratio: 1.3{leaves}}}
"""
    sc = parse_scenario(_text("{threshold: 40000.0}", extra=extra)).scenario
    ds = simsettle.simulate(sc, progress=False)
    active = ds.participant_active
    settled_spend = ds.participant_spend.where(active, 0.0).sum("participant")
    np.testing.assert_allclose(settled_spend, ds.actual_spend - ds.truncated_spend, rtol=1e-12)
    np.testing.assert_allclose(
        ds.participant_payout.sum("participant"), ds.settlement, rtol=1e-12, atol=1e-6
    )
    assert float(ds.truncated_spend.sum()) > 0.0


AGGREGATE = """designs:
  - name: both_layers
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 50000.0, coinsurance: 0.2, premium_loading: 0.1}
    aggregate_stop_loss: {attachment: 1.02, coinsurance: 0.1, premium_loading: 0.3}
  - name: aggregate_only
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    aggregate_stop_loss: {attachment: 1.02}
"""


def test_each_layer_is_a_variable_and_the_aggregate_attaches_on_net_claims() -> None:
    text = SMALL_SCENARIO[: SMALL_SCENARIO.index("designs:")] + AGGREGATE
    ds = simsettle.simulate(parse_scenario(text), progress=False)
    spec, agg = ds.specific_stop_loss_recovery, ds.aggregate_stop_loss_recovery
    np.testing.assert_array_equal(ds.stop_loss_recovery, spec + agg)
    np.testing.assert_array_equal(
        ds.stop_loss_premium, ds.specific_stop_loss_premium + ds.aggregate_stop_loss_premium
    )
    both = ds.sel(design="both_layers")
    # Net claims: spend less the individual recovery; the individual premium does not count.
    net = both.actual_spend - both.specific_stop_loss_recovery
    want = 0.9 * np.maximum(net - 1.02 * both.settlement_benchmark, 0.0)
    np.testing.assert_allclose(both.aggregate_stop_loss_recovery, want, rtol=1e-12, atol=1e-9)
    assert float(both.aggregate_stop_loss_recovery.max()) > 0.0
    premium = 1.3 * both.aggregate_stop_loss_recovery.mean("trial")
    np.testing.assert_allclose(both.aggregate_stop_loss_premium, premium.broadcast_like(net))
    assert float(abs(ds.specific_stop_loss_recovery.sel(design="aggregate_only")).max()) == 0.0
    # Without an aggregate layer the layers are not repeated.
    plain = simsettle.simulate(parse_scenario(SMALL_SCENARIO), trials=4, progress=False)
    assert "aggregate_stop_loss_recovery" not in plain
    assert "truncated_spend" not in plain


def test_every_line_of_a_portfolio_is_truncated_by_its_own_cost_model() -> None:
    lines = """portfolio:
  lines:
    - name: commercial
      population: {members: 300}
      cost: {pmpm: 500.0}
      designs:
        - {name: comm, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5}
designs:"""
    text = _text("{percentile: 0.99}").replace("designs:", lines, 1)
    sc = parse_scenario(text).scenario
    ds = simsettle.simulate(sc, progress=False)
    cut = ds.line_truncated_spend
    np.testing.assert_array_equal(cut.isel(line_of_business=0), ds.truncated_spend)
    assert float(cut.sel(line_of_business="commercial").sum()) > 0.0
    comm = ds.sel(design="comm")
    spend = comm.line_actual_spend.sel(line_of_business="commercial") - cut.sel(
        line_of_business="commercial"
    )
    np.testing.assert_allclose(comm.savings, comm.settlement_benchmark - spend, rtol=1e-12)
    # The lower-cost line's 99th percentile is lower, in proportion to its pmpm.
    views = dict(sc.line_views())
    primary = truncation_thresholds(views["primary"], 1)[0]
    commercial = truncation_thresholds(views["commercial"], 1)[0]
    assert commercial < primary


def test_a_percentile_among_the_zero_costs_is_refused_and_the_solve_is_quick() -> None:
    zeros = "  pmpm: 900.0\n  zero_cost_share: 0.7\n"
    text = _text("{percentile: 0.6}").replace("  pmpm: 900.0\n", zeros)
    assert_error_at(text, "truncation: {percentile: 0.6}", "no cost", "z.yaml")
    for pct in (0.5, 0.9999):
        sc = parse_scenario(_text(f"{{percentile: {pct}}}")).scenario
        start = time.thread_time()
        (point,) = truncation_thresholds(sc, 1)
        assert time.thread_time() - start < 1.0
        assert point > 0.0
