"""Hypothesis properties of every settlement rule, checked on the fast path and the twin."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsettle.rules import build_benchmark, settle_design
from simsettle.rules.reference import settle_reference
from simsettle.rules.stop_loss import stop_loss_premium, stop_loss_recovery
from simsettle.scenario import Benchmark, TwoSided, UpsideOnly
from simsettle.testing.strategies import designs, stop_losses, two_sided_designs

benchmarks = st.floats(min_value=1e5, max_value=1e10, allow_nan=False)
savings_rates = st.floats(min_value=-0.6, max_value=0.6, allow_nan=False)
grid = np.linspace(-0.5, 0.5, 2001)


def _settle(design, b, rates):
    rates = np.asarray(rates, dtype=np.float64)
    return settle_design(design, np.full(rates.shape, b), rates * b)


@settings(max_examples=300, deadline=None)
@given(designs(), benchmarks, savings_rates)
def test_fast_path_equals_reference(design, b, rate):
    s = rate * b
    assert settle_design(design, [b], [s])[0] == settle_reference(design, [b], [s])[0]


@settings(max_examples=200, deadline=None)
@given(designs(), benchmarks)
def test_zero_inside_the_corridor(design, b):
    out = _settle(design, b, grid)
    mlr = design.effective_min_loss_rate if isinstance(design, TwoSided) else np.inf
    inside = (grid < design.min_savings_rate) & (grid > -mlr)
    assert np.all(out[inside] == 0.0)
    assert _settle(design, b, [0.0])[0] == 0.0


@settings(max_examples=200, deadline=None)
@given(designs(), benchmarks)
def test_monotone_non_decreasing_in_savings(design, b):
    out = _settle(design, b, grid)
    assert np.all(np.diff(out) >= -1e-9 * b)


@settings(max_examples=200, deadline=None)
@given(designs(), benchmarks)
def test_caps_hold(design, b):
    out = _settle(design, b, np.linspace(-2, 2, 801))
    if design.savings_cap is not None:
        assert out.max() <= design.savings_cap * b * (1 + 1e-12)
    if isinstance(design, TwoSided) and design.loss_cap is not None:
        assert -out.min() <= design.loss_cap * b * (1 + 1e-12)
    # Never more than the savings or losses themselves.
    assert np.all(np.abs(out) <= np.abs(np.linspace(-2, 2, 801) * b) * (1 + 1e-12))


@settings(max_examples=200, deadline=None)
@given(designs(), benchmarks)
def test_upside_only_never_negative(design, b):
    out = _settle(design, b, grid)
    if isinstance(design, UpsideOnly):
        assert np.all(out >= 0.0)
    assert np.all(out[grid > 0] >= 0.0)
    assert np.all(out[grid < 0] <= 0.0)


@settings(max_examples=200, deadline=None)
@given(two_sided_designs(symmetric=True), benchmarks, st.floats(0.0, 0.6, allow_nan=False))
def test_symmetric_design_is_odd(design, b, rate):
    assert design.effective_min_loss_rate == design.min_savings_rate
    up, down = _settle(design, b, [rate, -rate])
    assert up == -down


@settings(max_examples=200, deadline=None)
@given(designs(), benchmarks)
def test_slope_equals_sharing_rate_past_the_corridor(design, b):
    # Uncapped region just past the MSR: settlement grows at the sharing rate.
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
    # PMPM of performance year p is pmpm x (1 + g)^(3 + p) x its risk ratio.
    g = (1 + trend) ** np.arange(5)
    spend = (risk if risk_adjustment else mm) * pmpm * g
    got = build_benchmark(terms, spend, mm, risk)
    expected = spend[:, 3:]
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    # Homogeneous of degree one in spend.
    np.testing.assert_allclose(
        build_benchmark(terms, spend * scale, mm, risk), got * scale, rtol=1e-12
    )
