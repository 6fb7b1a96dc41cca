"""ACO REACH's benchmark and financial terms: the historical/regional blend and its ceiling,
the retrospective trend adjustment, the health equity adjustment, and the CMS-run stop-loss
(bands, a charge taken off the benchmark, the budget-neutrality factor). The CMS tables behind
several of these were not found (docs/methodology.md, section 2.5); the examples here are
derived by hand from each rule as the engine states it."""

from __future__ import annotations

import numpy as np
import pytest

from simsettle import parse_scenario, simulate
from simsettle.rules.benchmark import BenchmarkInputs, benchmark_parts, trend_factor
from simsettle.rules.reference import benchmark_parts_reference, stop_loss_recovery_reference
from simsettle.rules.stop_loss import stop_loss_recovery
from simsettle.scenario import Benchmark, HealthEquity, StopLoss
from simsettle.scenario.schema import BENCHMARK_TEMPLATES

MM = 12_000.0


def test_reach_benchmark_templates():
    for year, weight, ceiling in (("2024", 0.45, 0.05), ("2025", 0.45, 0.03), ("2026", 0.40, 0.03)):
        b = Benchmark(template=f"reach_py{year}", regional_cost_ratio=1.0)
        assert b.weights == (0.1, 0.3, 0.6)
        assert (b.regional_weight_lower, b.regional_weight_higher) == (weight, weight)
        assert b.regional_cap == ceiling
        assert b.regional_cap_basis == "national"
        assert (b.risk_ratio_cap_up, b.risk_ratio_cap_down) == (0.03, 0.03)
        assert b.trend_method == "retrospective"
    assert set(BENCHMARK_TEMPLATES) >= {"reach_py2024", "reach_py2025", "reach_py2026"}


def flat_inputs(hist_pmpm: float, n: int = 2, ref=None) -> BenchmarkInputs:
    mm = np.full((1, n), MM)
    return BenchmarkInputs(
        spend=mm * hist_pmpm,
        member_months=mm,
        risk_months=mm.copy(),
        demo_risk_months=mm.copy(),
        reference_index=np.ones((1, n)) if ref is None else np.asarray([ref], dtype=float),
        base_pmpm=1000.0,
        national_index=np.ones((1, n)),
    )


def test_historical_regional_blend_and_its_ceiling():
    # Historical $1,000 PMPM, the regional rate book $1,100: a 55/45 blend adds 45% of $100 =
    # $45 PMPM ($540 a year); with the region at $1,200 the blend's $90 is held to the 5%
    # ceiling on national spend ($1,000 PMPM): $50. Below the region there is no floor.
    terms = Benchmark(template="reach_py2024", regional_cost_ratio=1.1, trend_rate=0.0)
    got = benchmark_parts(terms, flat_inputs(1000.0, n=4), 3)
    np.testing.assert_allclose(got.regional, 540.0)
    np.testing.assert_allclose(got.total / MM, 1045.0)
    ceiling = terms.model_copy(update={"regional_cost_ratio": 1.2})
    np.testing.assert_allclose(
        benchmark_parts(ceiling, flat_inputs(1000.0, n=4), 3).total / MM, 1050.0
    )
    below = terms.model_copy(update={"regional_cost_ratio": 0.8})
    np.testing.assert_allclose(
        benchmark_parts(below, flat_inputs(1000.0, n=4), 3).total / MM, 910.0
    )
    for t in (terms, ceiling, below):
        ref = benchmark_parts_reference(t, flat_inputs(1000.0, n=4), 3)
        np.testing.assert_allclose(
            benchmark_parts(t, flat_inputs(1000.0, n=4), 3).total, ref["total"]
        )


def test_retrospective_trend_adjustment():
    # Prospective 3%: a realized 3.4% (within 1% of 1.03) keeps 1.03; a realized 5% replaces it.
    terms = Benchmark(trend_method="retrospective", trend_rate=0.03, weights=(1.0,))
    close = trend_factor(terms, np.array([[1.0, 1.034]]), 0, 1)
    far = trend_factor(terms, np.array([[1.0, 1.05]]), 0, 1)
    low = trend_factor(terms, np.array([[1.0, 1.015]]), 0, 1)
    np.testing.assert_allclose([close[0], far[0], low[0]], [1.03, 1.05, 1.015])
    rng = np.random.default_rng(5)
    mm = rng.uniform(1e5, 1.2e5, (20, 6))
    inputs = BenchmarkInputs(
        spend=mm * rng.uniform(900, 1100, mm.shape),
        member_months=mm,
        risk_months=mm * rng.uniform(0.95, 1.05, mm.shape),
        reference_index=np.cumprod(rng.uniform(1.0, 1.07, mm.shape), axis=1),
        base_pmpm=1000.0,
        national_index=np.cumprod(rng.uniform(1.0, 1.07, mm.shape), axis=1),
    )
    reach = Benchmark(template="reach_py2025", trend_rate=0.035, regional_cost_ratio=1.02)
    np.testing.assert_allclose(
        benchmark_parts(reach, inputs, 3).total,
        benchmark_parts_reference(reach, inputs, 3)["total"],
        rtol=1e-12,
    )


def test_stop_loss_bands_and_budget_neutrality():
    # Members at $40k, $150k and $700k; bands: 50% of the excess from $100k to $500k is
    # reimbursed (coinsurance 0.5), 90% above $500k; the factor scales the payout after the year.
    sl = StopLoss(attachment=100_000.0, coinsurance=0.5, upper_attachment=500_000.0,
                  upper_coinsurance=0.1, budget_neutrality_factor=0.9)  # fmt: skip
    costs = [40_000.0, 150_000.0, 700_000.0]
    expected = 0.9 * (0.5 * (50_000 + 400_000) + 0.9 * 200_000)
    assert stop_loss_recovery_reference(sl, costs) == pytest.approx(expected)
    excess = sum(max(c - 100_000.0, 0.0) for c in costs)
    upper = sum(max(c - 500_000.0, 0.0) for c in costs)
    got = stop_loss_recovery(sl, np.array([excess]), np.array([upper]))
    assert got[0] == pytest.approx(expected, rel=1e-15)
    with pytest.raises(ValueError, match="upper attachment"):
        stop_loss_recovery(sl, np.array([excess]))
    with pytest.raises(ValueError, match="must be above attachment"):
        StopLoss(attachment=100_000.0, upper_attachment=90_000.0)
    with pytest.raises(ValueError, match="borne_by must be settlement"):
        StopLoss(attachment=100_000.0, charged_to="benchmark", borne_by="provider")


def test_health_equity_net_amount():
    heba = HealthEquity(up_share=0.2, down_share=0.3)
    assert heba.net_pbpm == pytest.approx(0.2 * 30.0 - 0.3 * 6.0)
    with pytest.raises(ValueError, match="exceeds 1"):
        HealthEquity(up_share=0.7, down_share=0.4)


SCENARIO = """schema_version: 1
name: reach
trials: 200
seed: 11
first_performance_year: 2025
population: {members: 5000}
cost: {pmpm: 1100}
benchmark:
  template: reach_py2025
  trend_rate: 0.04
  regional_cost_ratio: 1.03
  health_equity: {up_share: 0.2, down_share: 0.3}
designs:
  - name: spend
    template: reach_global
    stop_loss: {attachment: 100000, coinsurance: 0.5, upper_attachment: 500000,
                upper_coinsurance: 0.1, premium_pmpm: 22.0}
  - name: charge
    template: reach_global
    stop_loss: {attachment: 100000, coinsurance: 0.5, upper_attachment: 500000,
                upper_coinsurance: 0.1, premium_pmpm: 22.0, charged_to: benchmark}
"""


def test_charge_and_equity_in_a_settlement():
    ds = simulate(parse_scenario(SCENARIO, "reach.yaml"), progress=False)
    mm = ds.member_months
    heba = 0.2 * 30.0 - 0.3 * 6.0
    discounted = ds.benchmark * (1.0 - 0.04) + heba * mm  # PY2025 Global discount 4% [S]
    spend = ds.settlement_benchmark.sel(design="spend")
    charge = ds.settlement_benchmark.sel(design="charge")
    np.testing.assert_allclose(spend, discounted, rtol=1e-12)
    # The charge comes off the benchmark; the savings in dollars are the same.
    np.testing.assert_allclose(charge, discounted - 22.0 * mm, rtol=1e-12)
    np.testing.assert_allclose(
        ds.savings.sel(design="charge"), ds.savings.sel(design="spend"), rtol=1e-9, atol=1e-3
    )
    # Recoveries: both bands, through the kernel's excess over both attachment points.
    assert float(ds.stop_loss_recovery.sel(design="spend").mean()) > 0.0
    np.testing.assert_array_equal(
        ds.stop_loss_recovery.sel(design="spend"), ds.stop_loss_recovery.sel(design="charge")
    )


CAPITATION = """schema_version: 1
name: capitation
trials: 150
seed: 3
first_performance_year: 2025
performance_years: 2
population: {members: 4000}
cost: {pmpm: 1100}
benchmark: {template: reach_py2025, trend_rate: 0.04}
timing: {payment_lag_months: 9, discount_rate: 0.06}
designs:
  - name: plain
    template: reach_global
  - name: tcc
    template: reach_global
    capitation_advance: {kind: total_care, share: 0.55, claims_share: 0.5}
"""


def test_capitation_is_an_advance_reconciled_at_settlement():
    ds = simulate(parse_scenario(CAPITATION, "cap.yaml"), progress=False)
    tcc = ds.sel(design="tcc")
    # The settlement is not changed by the advance: same draws, same terms otherwise.
    np.testing.assert_array_equal(tcc.settlement, ds.settlement.sel(design="plain"))
    np.testing.assert_allclose(tcc.capitation_advance, 0.55 * tcc.settlement_benchmark, rtol=1e-15)
    np.testing.assert_allclose(tcc.capitated_claims, 0.5 * ds.actual_spend, rtol=1e-15)
    # Advance less the claims it replaced, plus the reconciliation, is the settlement.
    np.testing.assert_allclose(
        tcc.capitation_advance - tcc.capitated_claims + tcc.capitation_reconciliation,
        tcc.settlement,
        rtol=1e-9,
        atol=1e-3,
    )
    # Designs without an advance have zeros.
    assert float(abs(ds.capitation_advance.sel(design="plain")).max()) == 0.0
    # Present value: the advance less the claims is paid mid-year, not 9 months after the year.
    v = 1.0 / 1.06
    p = np.arange(2.0)
    shift = v ** (p + 0.5) - v ** (p + 1.0 + 0.75)
    early = tcc.capitation_advance - tcc.capitated_claims
    np.testing.assert_allclose(
        tcc.settlement_pv - ds.settlement_pv.sel(design="plain"), early * shift, rtol=1e-9
    )


def test_budget_neutrality_factor_scales_payouts_not_the_charge():
    # The charge is priced before the year on the expected payout (loading 0); a factor of 0.9
    # after the year pays 90% of the recoveries against the full charge.
    text = SCENARIO.replace(
        "premium_pmpm: 22.0, charged_to: benchmark}",
        "premium_loading: 0.0, charged_to: benchmark, budget_neutrality_factor: 0.9}",
    )
    ds = simulate(parse_scenario(text, "bnf.yaml"), progress=False)
    charge = ds.sel(design="charge")
    ratio = charge.stop_loss_recovery.mean("trial") / charge.stop_loss_premium.mean("trial")
    np.testing.assert_allclose(ratio, 0.9, rtol=1e-12)
    with pytest.raises(ValueError, match="reimburse more than the excess"):
        StopLoss(attachment=100_000.0, budget_neutrality_factor=1.2)


def test_coding_intensity_factor():
    # REACH's CIF takes the provider's coding growth out of the risk ratio, up to 1%: coding
    # 3% a year beyond normalization, two years after the last base year: 1.0609, so 1%
    # comes out (the ratio 1.0609 -> 1.0504); coding 0.4%: all of it (1.008016 -> 1).
    for coding, expected in ((0.03, 1.0609 / 1.01), (0.004, 1.0)):
        terms = Benchmark(
            weights=(1.0,), trend_rate=0.0, coding_intensity=coding, coding_intensity_cap=0.01
        )
        got = benchmark_parts(terms, flat_inputs(1000.0, n=3), 1).total[0] / MM
        ref = benchmark_parts_reference(terms, flat_inputs(1000.0, n=3), 1)["total"][0] / MM
        np.testing.assert_allclose(got[1], 1000.0 * expected, rtol=1e-12)
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    assert Benchmark(template="reach_py2026").coding_intensity_cap == 0.01
