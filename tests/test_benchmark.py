"""Benchmark construction: worked examples by hand, the reference twin, and the ratchet."""

from __future__ import annotations

import numpy as np
import pytest

from simsettle.rules.benchmark import BenchmarkInputs, build_benchmark
from simsettle.rules.reference import benchmark_reference
from simsettle.scenario import Benchmark

MM = 12_000.0


def flat(pmpms, risks=None, ref=None, demo=None):
    """One trial: the given PMPM per simulated year, member months 12,000."""
    n = len(pmpms)
    mm = np.full((1, n), MM)
    risk = mm * (np.ones(n) if risks is None else np.asarray(risks))[None, :]
    return BenchmarkInputs(
        spend=mm * np.asarray(pmpms, dtype=float)[None, :],
        member_months=mm,
        risk_months=risk,
        demo_risk_months=None if demo is None else mm * np.asarray(demo)[None, :],
        reference_index=None if ref is None else np.asarray(ref, dtype=float)[None, :],
        base_pmpm=1000.0,
    )


def both(terms, inputs, n_base=3):
    got = build_benchmark(terms, inputs, n_base)
    np.testing.assert_allclose(got, benchmark_reference(terms, inputs, n_base), rtol=1e-13)
    return got / MM  # benchmark PMPM


def test_worked_example_negotiated_trend():
    # 0.1 x 1000 x 1.05^2 + 0.3 x 1100 x 1.05 + 0.6 x 1200 = 1176.75 at the last base year;
    # one more year of trend: 1235.5875 PMPM.
    terms = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.05)
    assert both(terms, flat([1000, 1100, 1200, 0]))[0, 0] == pytest.approx(1235.5875, rel=1e-14)


def test_risk_ratio_and_caps():
    inputs = flat([1000, 1000, 1000, 0], risks=[1, 1, 1, 1.05])
    base = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0)
    assert both(base, inputs)[0, 0] == pytest.approx(1050.0)
    mssp = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, risk_ratio_cap_up=0.03)
    assert both(mssp, inputs)[0, 0] == pytest.approx(1030.0)  # +3% cap (425.610(a)(2))
    down = flat([1000, 1000, 1000, 0], risks=[1, 1, 1, 0.95])
    assert both(mssp, down)[0, 0] == pytest.approx(950.0)  # no floor in MSSP
    reach = Benchmark(
        weights=(0.1, 0.3, 0.6), trend_rate=0.0, risk_ratio_cap_up=0.03, risk_ratio_cap_down=0.03
    )
    assert both(reach, down)[0, 0] == pytest.approx(970.0)  # REACH: symmetric 3%
    # Base years are restated to the last base year's risk: a sicker BY1 counts for less.
    restated = flat([1100, 1000, 1000, 0], risks=[1.1, 1, 1, 1])
    assert both(base, restated)[0, 0] == pytest.approx(1000.0)
    off = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, risk_adjustment=False)
    assert both(off, restated)[0, 0] == pytest.approx(1010.0)


def test_coding_intensity_and_normalization():
    # Coding 2% a year inflates reported scores by 1.02^y. The PY ratio to BY3 is 1.02, and the
    # restatement of BY1 and BY2 to BY3's (coded) risk inflates them by 1.02^2 and 1.02:
    # (0.1 x 1040.4 + 0.3 x 1020 + 0.6 x 1000) x 1.02 = 1030.2408. Normalizing at the same 2%
    # removes it all.
    inputs = flat([1000, 1000, 1000, 0])
    coded = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, coding_intensity=0.02)
    assert both(coded, inputs)[0, 0] == pytest.approx(1030.2408)
    normalized = Benchmark(
        weights=(0.1, 0.3, 0.6), trend_rate=0.0, coding_intensity=0.02, normalization=0.02
    )
    assert both(normalized, inputs)[0, 0] == pytest.approx(1000.0)


def test_demographic_risk_model_uses_the_demographic_scores():
    inputs = flat([1000, 1000, 1000, 0], risks=[1, 1, 1, 1.10], demo=[1, 1, 1, 1.02])
    demo = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, risk_model="demographic")
    assert both(demo, inputs)[0, 0] == pytest.approx(1020.0)


def test_realized_and_blended_trend():
    ref = [1.0, 1.1, 1.2, 1.5]
    inputs = flat([1000, 1000, 1000, 0], ref=ref)
    realized = Benchmark(weights=(0.0, 0.0, 1.0), trend_method="realized")
    assert both(realized, inputs)[0, 0] == pytest.approx(1000 * 1.5 / 1.2)
    blend = Benchmark(
        weights=(0.0, 0.0, 1.0), trend_method="blend", trend_rate=0.03, acpt_weight=1 / 3
    )
    # MSSP from 2024: one third the prospective ACPT, two thirds the realized trend.
    assert both(blend, inputs)[0, 0] == pytest.approx(1000 * (1.03 / 3 + 2 / 3 * 1.25))
    full = Benchmark(weights=(0.5, 0.5, 0.0), trend_method="realized")
    # BY1 and BY2 trended to BY3 by the realized reference trend too.
    assert both(full, inputs)[0, 0] == pytest.approx(
        (0.5 * 1000 * 1.2 / 1.0 + 0.5 * 1000 * 1.2 / 1.1) * 1.5 / 1.2
    )


def test_regional_adjustment():
    # Provider at 1000 PMPM; region 10% dearer (1100 risk-adjusted): a lower-spending provider
    # gains 35% of the gap = 35 (cap 5% of 1100 = 55 does not bind).
    inputs = flat([1000, 1000, 1000, 0], ref=[1, 1, 1, 1])
    terms = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, regional_cost_ratio=1.1)
    assert both(terms, inputs)[0, 0] == pytest.approx(1035.0)
    # Region 50% dearer: 35% of 500 = 175 is capped at 5% of 1500 = 75.
    capped = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, regional_cost_ratio=1.5)
    assert both(capped, inputs)[0, 0] == pytest.approx(1075.0)
    # Region 10% cheaper: a higher-spending provider loses 15% of the gap: -15.
    cheaper = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0, regional_cost_ratio=0.9)
    assert both(cheaper, inputs)[0, 0] == pytest.approx(985.0)


def test_rebasing_ratchets_savings_into_the_next_agreement():
    # Two 2-year agreements; at renewal the benchmark is rebased on the 3 preceding years with
    # equal weights. The provider saved 10% in the first agreement's two years (900 PMPM), so
    # the second agreement's benchmark is 1/3 x 1000 + 2/3 x 900 = 933.33, not 1000.
    inputs = flat([1000, 1000, 1000, 900, 900, 900, 900])
    terms = Benchmark(
        weights=(0.1, 0.3, 0.6),
        trend_rate=0.0,
        agreement_years=2,
        rebase_weights=(1 / 3, 1 / 3, 1 / 3),
    )
    got = both(terms, inputs)[0]
    np.testing.assert_allclose(got, [1000, 1000, 1000 / 3 + 1800 / 3, 1000 / 3 + 1800 / 3])
    # The ratchet: the second agreement's benchmark falls by the rebase weights of the years
    # with savings times those savings (2/3 x 100 PMPM).
    assert 1000 - got[2] == pytest.approx(2 / 3 * 100)
    without = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.0)
    np.testing.assert_allclose(both(without, inputs)[0], [1000] * 4)


def test_twin_agrees_on_random_inputs_for_every_option():
    rng = np.random.default_rng(9)
    n_trials, n_years = 40, 8
    mm = rng.uniform(1e5, 1.2e5, (n_trials, n_years))
    inputs = BenchmarkInputs(
        spend=mm * rng.uniform(900, 1200, mm.shape),
        member_months=mm,
        risk_months=mm * rng.uniform(0.9, 1.1, mm.shape),
        demo_risk_months=mm * rng.uniform(0.97, 1.03, mm.shape),
        reference_index=np.cumprod(rng.uniform(1.0, 1.08, mm.shape), axis=1),
        base_pmpm=1000.0,
        national_index=np.cumprod(rng.uniform(1.0, 1.08, mm.shape), axis=1),
    )
    for options in [
        {},
        {"trend_method": "realized"},
        {"trend_method": "realized", "national_weight": 0.3},
        {"trend_method": "blend", "acpt_weight": 0.25},
        {"risk_ratio_cap_up": 0.03, "risk_ratio_cap_down": 0.01, "coding_intensity": 0.01},
        {"risk_model": "demographic", "regional_cost_ratio": 1.05},
        {"agreement_years": 2, "rebase_weights": (0.2, 0.3, 0.5), "regional_cost_ratio": 0.95},
        {"agreement_years": 3, "risk_adjustment": False, "trend_method": "realized"},
    ]:
        terms = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.04, **options)
        got = build_benchmark(terms, inputs, 3)
        np.testing.assert_allclose(
            got, benchmark_reference(terms, inputs, 3), rtol=1e-12, err_msg=str(options)
        )


def test_gate_errors():
    terms = Benchmark(weights=(0.1, 0.3, 0.6), trend_method="realized")
    with pytest.raises(ValueError, match="reference index"):
        build_benchmark(terms, flat([1000, 1000, 1000, 1000]), 3)
    with pytest.raises(ValueError, match="performance year"):
        build_benchmark(Benchmark(), flat([1000, 1000, 1000]), 3)
    rebase = Benchmark(weights=(1.0,), agreement_years=1, rebase_weights=(0.2, 0.3, 0.5))
    with pytest.raises(ValueError, match="rebasing needs 3 years"):
        build_benchmark(rebase, flat([1000, 1000, 1000]), 1)


def test_realized_trend_blends_national_and_regional():
    # MSSP's national-regional blend: 25% national (index 1 -> 1.2), 75% regional (1 -> 1.1).
    inputs = flat([1000, 1000, 1000, 0], ref=[1.0, 1.0, 1.0, 1.1])
    inputs = BenchmarkInputs(
        **{**inputs.__dict__, "national_index": np.array([[1.0, 1.0, 1.0, 1.2]])}
    )
    terms = Benchmark(weights=(0.0, 0.0, 1.0), trend_method="realized", national_weight=0.25)
    assert both(terms, inputs)[0, 0] == pytest.approx(1000 * (0.25 * 1.2 + 0.75 * 1.1))
