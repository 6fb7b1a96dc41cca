"""Hypothesis properties of every settlement block, on the fast path and its reference twin."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsettle.rules import YearFacts, build_benchmark, mssp_msr, settlement
from simsettle.rules.benchmark import BenchmarkInputs
from simsettle.rules.reference import settle_reference
from simsettle.rules.stop_loss import stop_loss_premium, stop_loss_recovery
from simsettle.scenario import Benchmark, TwoSided, UpsideOnly
from simsettle.scenario.templates import TEMPLATES, expand_template
from simsettle.testing.strategies import designs, stop_losses, two_sided_designs

benchmarks = st.floats(min_value=1e5, max_value=1e10, allow_nan=False)
savings_rates = st.floats(min_value=-0.8, max_value=0.8, allow_nan=False)
members = st.integers(min_value=100, max_value=120_000)
grid = np.linspace(-0.6, 0.6, 4801)


def _settle(design, b, rates, n=10_000):
    rates = np.asarray(rates, dtype=np.float64)
    facts = YearFacts(members=n, revenue=0.3 * b)
    return settlement(design, np.full(rates.shape, b), rates * b, facts)


def _template(name):
    d = expand_template({"name": "t", "template": name}, 2024)
    return TwoSided(**d) if d["kind"] == "two_sided" else UpsideOnly(**d)


TEMPLATE_DESIGNS = [_template(n) for n in sorted(TEMPLATES)]
all_designs = designs() | st.sampled_from(TEMPLATE_DESIGNS)


@settings(max_examples=400, deadline=None)
@given(all_designs, benchmarks, savings_rates, members)
def test_fast_path_equals_reference(design, b, rate, n):
    s = rate * b
    facts = {"members": n, "revenue": 0.3 * b}
    got = settlement(design, [b], [s], YearFacts(**facts))[0]
    want = settle_reference(design, [b], [s], **facts)[0]
    assert np.isclose(got, want, rtol=1e-12, atol=1e-9 * b)


@settings(max_examples=200, deadline=None)
@given(all_designs, benchmarks, members)
def test_zero_inside_the_corridor(design, b, n):
    if design.below_msr_share > 0 or (design.quality is not None and design.quality.withhold):
        return  # these pay (or charge) inside the corridor by design
    out = _settle(design, b, grid, n)
    msr = design.min_savings_rate
    mlr = design.effective_min_loss_rate if isinstance(design, TwoSided) else np.inf
    if design.msr_table is not None or (
        design.variable_msr_below is not None and n < design.variable_msr_below
    ):
        msr = float(mssp_msr(n))
        mlr = msr if isinstance(design, TwoSided) else np.inf
    inside = (grid * b < msr * b) & (-grid * b < mlr * b)  # empty for a zero-width corridor
    assert np.all(out[inside] == 0.0)
    assert _settle(design, b, [0.0], n)[0] == 0.0


@settings(max_examples=300, deadline=None)
@given(all_designs, benchmarks, members)
def test_monotone_non_decreasing_in_savings(design, b, n):
    out = _settle(design, b, grid, n)
    assert np.all(np.diff(out) >= -1e-9 * b)


@settings(max_examples=300, deadline=None)
@given(all_designs, benchmarks, members)
def test_caps_hold(design, b, n):
    wide = np.linspace(-2, 2, 801)
    out = _settle(design, b, wide, n)
    withhold = design.quality.withhold * b if design.quality is not None else 0.0
    if design.savings_cap is not None:
        assert out.max() <= design.savings_cap * b * (1 + 1e-12)
    if design.savings_cap_revenue is not None:
        assert out.max() <= design.savings_cap_revenue * 0.3 * b * (1 + 1e-12)
    if isinstance(design, TwoSided):
        if design.loss_cap is not None:
            assert -out.min() <= design.loss_cap * b * (1 + 1e-12) + withhold
        if design.loss_cap_revenue is not None:
            assert -out.min() <= design.loss_cap_revenue * 0.3 * b * (1 + 1e-12) + withhold
    # Never more than the savings or losses themselves (plus any withhold).
    assert np.all(np.abs(out) <= np.abs(wide * b) * (1 + 1e-12) + withhold)


@settings(max_examples=300, deadline=None)
@given(all_designs, benchmarks, members)
def test_upside_only_never_negative_and_signs(design, b, n):
    out = _settle(design, b, grid, n)
    withhold = design.quality.withhold * b if design.quality is not None else 0.0
    if isinstance(design, UpsideOnly):
        assert np.all(out >= -withhold)
    assert np.all(out[grid > 0] >= -withhold)
    assert np.all(out[grid < 0] <= 0.0)


@settings(max_examples=300, deadline=None)
@given(two_sided_designs(symmetric=True), benchmarks, st.floats(0.0, 0.6, allow_nan=False))
def test_symmetric_design_is_odd(design, b, rate):
    assert design.effective_min_loss_rate == design.min_savings_rate
    up, down = _settle(design, b, [rate, -rate])
    assert up == -down


@settings(max_examples=300, deadline=None)
@given(all_designs, benchmarks, members)
def test_continuous_where_the_design_is(design, b, n):
    # Without a corridor jump (MSR 0, or sharing only above the threshold) and with no half
    # rate below it, the settlement is continuous: steps never exceed the largest share times
    # the step (quality factors are below 1).
    table = design.msr_table is not None or design.variable_msr_below is not None
    jump = (design.min_savings_rate > 0 and design.sharing_basis == "first_dollar") or table
    if (
        isinstance(design, TwoSided)
        and design.effective_min_loss_rate > 0
        and (design.sharing_basis == "first_dollar")
    ):
        jump = True
    if jump or design.below_msr_share > 0:
        return
    out = _settle(design, b, grid, n)
    step = (grid[1] - grid[0]) * b
    largest = 1.0
    assert np.max(np.abs(np.diff(out))) <= largest * step * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(designs(rich=False), benchmarks)
def test_slope_equals_sharing_rate_past_the_corridor(design, b):
    # Flat sharing just past the MSR, below any cap: settlement grows at the sharing rate.
    r0 = design.min_savings_rate + 0.001
    r1 = r0 + 0.0005
    cap = design.savings_cap if design.savings_cap is not None else np.inf
    if design.shared_savings_rate * r1 < cap:
        lo, hi = _settle(design, b, [r0, r1])
        assert np.isclose(
            (hi - lo) / (0.0005 * b), design.shared_savings_rate, rtol=1e-6, atol=1e-9
        )


@settings(max_examples=200, deadline=None)
@given(stop_losses(), st.lists(st.floats(0.0, 5e7, allow_nan=False), min_size=1, max_size=50))
def test_stop_loss_recovery_never_above_excess(terms, excess):
    x = np.array(excess)
    rec = stop_loss_recovery(terms, x)
    assert np.all(rec <= x)
    assert np.all(rec >= 0.0)
    prem = stop_loss_premium(terms, rec, axis=0)
    assert np.all(prem >= rec.mean() * (1 - 1e-12))


weights3 = (
    st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=3, max_size=3)
    .filter(lambda w: sum(w) > 0.1)
    .map(lambda w: tuple(x / sum(w) for x in w))
    .filter(lambda w: abs(sum(w) - 1.0) <= 1e-12)
)


@settings(max_examples=200, deadline=None)
@given(
    weights3,
    st.floats(-0.1, 0.2, allow_nan=False),
    st.booleans(),
    st.floats(100.0, 5000.0, allow_nan=False),
    st.floats(0.01, 100.0, allow_nan=False),
)
def test_benchmark_properties(weights, trend, risk_adjustment, pmpm, scale):
    terms = Benchmark(weights=weights, trend_rate=trend, risk_adjustment=risk_adjustment)
    rng = np.random.default_rng(0)
    mm = rng.uniform(1e4, 2e4, size=(5, 5))
    risk = mm * rng.uniform(0.8, 1.2, size=mm.shape)
    # Flat cost per risk-adjusted member month, trended at the negotiated rate: the benchmark
    # of performance year p equals that year's spend.
    g = (1 + trend) ** np.arange(5)
    spend = (risk if risk_adjustment else mm) * pmpm * g
    got = build_benchmark(terms, BenchmarkInputs(spend, mm, risk), 3)
    np.testing.assert_allclose(got, spend[:, 3:], rtol=1e-10)
    # Homogeneous of degree one in spend.
    np.testing.assert_allclose(
        build_benchmark(terms, BenchmarkInputs(spend * scale, mm, risk), 3),
        got * scale,
        rtol=1e-12,
    )


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["aca_risk_corridors", "part_d_corridors", "commercial_two_sided"]),
    benchmarks,
    st.floats(0.0, 0.6, allow_nan=False),
)
def test_symmetric_templates_are_odd(name, b, rate):
    # ACA and Part D corridors are symmetric by statute; the generic two-sided deal shares 50/50
    # behind a symmetric 2% corridor, with unequal caps (10% / 5%): compare below both.
    design = _template(name)
    if name == "commercial_two_sided":
        rate = min(rate, 0.09)
    up, down = _settle(design, b, [rate, -rate])
    assert up == -down
