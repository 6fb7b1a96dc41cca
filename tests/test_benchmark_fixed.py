"""A fixed, negotiated target (``benchmark: {method: fixed}``), issue 15 item 3.

The target is ``pmpm`` x member months (or a ``total``) in the first performance year, grown at
the agreed ``trend_rate``, optionally moved by the year's reported risk score over the score it
was priced at; no base year is simulated, and the Dataset's ``benchmark`` is the number every
design settles against (less its own discount).
"""

from __future__ import annotations

import numpy as np
import pytest

import simsettle
from simsettle import ScenarioError, parse_scenario
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.models.reference import simulate_trial_reference
from simsettle.report import format_benchmark
from simsettle.rules.benchmark import BenchmarkInputs, build_benchmark
from simsettle.scenario.schema import Benchmark
from tests.conftest import SMALL_SCENARIO, assert_error_at

HISTORICAL = "benchmark:\n  weights: [0.1, 0.3, 0.6]\n  trend_rate: 0.04\n"


def _text(benchmark: str, extra: str = "") -> str:
    assert HISTORICAL in SMALL_SCENARIO
    text = SMALL_SCENARIO.replace(HISTORICAL, f"benchmark: {benchmark}\n")
    return text.replace("designs:", f"{extra}designs:") if extra else text


def test_defaults_of_a_fixed_target_are_flat_and_unadjusted() -> None:
    b = Benchmark.model_validate({"method": "fixed", "pmpm": 800.0})
    assert (b.trend_rate, b.risk_adjustment, b.base_years) == (0.0, False, 0)
    b = Benchmark.model_validate({"method": "fixed", "total": 1e7, "trend_rate": 0.05})
    assert (b.trend_rate, b.total, b.pmpm) == (0.05, 1e7, None)
    # The historical defaults are unchanged.
    h = Benchmark()
    got = (h.method, h.trend_rate, h.risk_adjustment, h.base_years)
    assert got == ("historical", 0.04, True, 3)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("{method: fixed}", "exactly one of pmpm"),
        ("{method: fixed, pmpm: 800.0, total: 1.0e+7}", "exactly one of pmpm"),
        ("{method: fixed, pmpm: 800.0, weights: [0.5, 0.5]}", "weights: is not used by a fixed"),
        ("{method: fixed, pmpm: 800.0, agreement_years: 2}", "agreement_years: is not used"),
        ("{method: fixed, pmpm: -5.0}", "pmpm"),
        ("{pmpm: 800.0}", "pmpm: is used only by a fixed target"),
        ("{total: 1.0e+7, weights: [1.0]}", "total: is used only by a fixed target"),
        ("{method: negotiated}", "method"),
        (
            "{method: fixed, pmpm: 800.0, target_risk_score: 1.2}",
            "target_risk_score: a fixed target uses it only with risk_adjustment",
        ),
    ],
)
def test_errors_name_the_file_line_and_field(block: str, message: str) -> None:
    assert_error_at(_text(block), f"benchmark: {block}", message, "deal.yaml")


def test_the_settlement_uses_the_target_and_no_base_year_is_simulated() -> None:
    text = _text(
        "{method: fixed, pmpm: 880.0, trend_rate: 0.03}",
    ).replace(
        "    savings_cap: 0.1\n  - name: two_sided",
        "    savings_cap: 0.1\n    discount: 0.02\n  - name: two_sided",
    )
    # Every design kind settles on it: an episode model's target price is the fixed target.
    episode = "  - {name: episode, kind: episode_reconciliation, discount: 0.03}\n"
    text = text.replace("designs:\n", "designs:\n" + episode)
    sc = parse_scenario(text).scenario
    inputs = compile_model(sc)
    assert (inputs.n_base_years, inputs.n_years) == (0, sc.performance_years)
    ds = simsettle.simulate(sc, progress=False)
    assert ds.attrs["base_years"] == 0
    rule = format_benchmark(ds)
    assert rule.startswith("Benchmark: a fixed target of $880.00 PMPM"), rule
    assert "grown 3.00% a year" in rule
    assert "no base year simulated" in rule
    growth = 1.03 ** np.arange(sc.performance_years)
    np.testing.assert_allclose(ds.benchmark, 880.0 * ds.member_months * growth, rtol=1e-15)
    rates = {"one_sided": 0.02, "episode": 0.03}
    discount = np.array([rates.get(d, 0.0) for d in ds.design.values])
    assert list(discount[:2]) == [0.03, 0.02]
    want = ds.benchmark.values * (1.0 - discount[:, None, None])
    np.testing.assert_allclose(ds.settlement_benchmark.transpose("design", ...), want, rtol=1e-15)
    # Savings are against the settlement benchmark, as under a historical benchmark.
    plain = ds.sel(design="two_sided")
    np.testing.assert_allclose(
        plain.savings, plain.benchmark - plain.actual_spend, rtol=1e-12, atol=1e-6
    )


def test_cost_pmpm_is_the_first_performance_years_cost_level() -> None:
    """No base year: the first simulated year is the first performance year, so its spend per
    member month is cost.pmpm (900) up to Monte Carlo error and the year's trend draw."""
    text = _text("{method: fixed, pmpm: 880.0}").replace("members: 300", "members: 2000")
    ds = simsettle.simulate(parse_scenario(text), trials=200, progress=False)
    per_mm = ds.actual_spend.isel(year=0) / ds.member_months.isel(year=0)
    mean = float(per_mm.mean())
    se = float(per_mm.std()) / np.sqrt(per_mm.size)
    # trend.mean 0.05 applies from the first simulated year's index 1 + growth draw.
    assert abs(mean / ds.trend_index.isel(year=0).mean() - 900.0) < 4 * se + 1.0
    assert 850.0 < mean < 1000.0


def test_a_total_target_does_not_move_with_enrolment() -> None:
    text = _text("{method: fixed, total: 3.0e+6, trend_rate: 0.1}")
    ds = simsettle.simulate(parse_scenario(text), progress=False)
    want = np.broadcast_to([3.0e6, 3.3e6], ds.benchmark.shape)
    np.testing.assert_allclose(ds.benchmark, want, rtol=1e-15)


def test_the_risk_adjusted_target_moves_with_the_reported_score_within_its_caps() -> None:
    text = _text(
        "{method: fixed, pmpm: 900.0, risk_adjustment: true, target_risk_score: 0.98, "
        "risk_ratio_cap_up: 0.02, coding_intensity: 0.01}"
    )
    sc = parse_scenario(text).scenario
    ds = simsettle.simulate(sc, progress=False)
    drift = 1.01 ** np.arange(sc.performance_years)
    ratio = np.minimum(ds.risk_score * drift / 0.98, 1.02)
    np.testing.assert_allclose(ds.benchmark, 900.0 * ds.member_months * ratio, rtol=1e-12)
    assert float((ratio == 1.02).mean()) > 0.05  # the cap binds in some trials
    assert float((ratio < 1.02).mean()) > 0.05  # and not in others


def test_build_benchmark_reads_only_the_performance_years() -> None:
    """With unused base years before them (a portfolio's other line reads them), the fixed
    target is the same function of the performance years alone."""
    rng = np.random.default_rng(0)
    shape = (5, 4)
    mm = rng.uniform(100.0, 200.0, shape)
    inputs = BenchmarkInputs(
        spend=rng.uniform(0.0, 1e5, shape),
        member_months=mm,
        risk_months=mm * rng.uniform(0.8, 1.2, shape),
    )
    terms = Benchmark.model_validate(
        {"method": "fixed", "pmpm": 700.0, "trend_rate": 0.05, "risk_adjustment": True}
    )
    two = build_benchmark(terms, inputs, 2)
    sliced = BenchmarkInputs(
        spend=inputs.spend[:, 2:], member_months=mm[:, 2:], risk_months=inputs.risk_months[:, 2:]
    )
    np.testing.assert_array_equal(two, build_benchmark(terms, sliced, 0))
    want = 700.0 * inputs.risk_months[:, 2:] * np.array([1.0, 1.05])
    np.testing.assert_allclose(two, want, rtol=1e-13)


def test_kernel_matches_its_reference_twin_without_base_years() -> None:
    sc = parse_scenario(
        _text("{method: fixed, pmpm: 880.0}").replace("members: 300", "members: 40")
    ).scenario
    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    got = simulate_aggregates(inputs, key, 3, 1)[0]
    ref = simulate_trial_reference(
        sc, (int(key[0]), int(key[1])), 3, [float(a) for a in inputs.attachments]
    )
    assert got.shape == ref.shape == (sc.performance_years, inputs.n_fields)
    ref[:, R.F_QUALITY] = got[:, R.F_QUALITY]  # unused without a quality model
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)


def test_a_fixed_line_beside_a_historical_one_shares_the_simulated_years() -> None:
    lines = """portfolio:
  lines:
    - name: commercial
      population: {members: 300}
      cost: {pmpm: 500.0}
      benchmark: {method: fixed, pmpm: 480.0}
      designs:
        - {name: comm, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5}
designs:"""
    sc = parse_scenario(SMALL_SCENARIO.replace("designs:", lines)).scenario
    assert sc.simulated_base_years == 3
    ds = simsettle.simulate(sc, progress=False)
    comm = ds.line_benchmark.sel(line_of_business="commercial")
    mm = ds.line_member_months.sel(line_of_business="commercial")
    np.testing.assert_allclose(comm, 480.0 * mm, rtol=1e-15)
    # Two historical benchmarks must agree on their base years.
    bad = lines.replace("{method: fixed, pmpm: 480.0}", "{weights: [0.5, 0.5]}")
    with pytest.raises(ScenarioError, match="base years"):
        parse_scenario(SMALL_SCENARIO.replace("designs:", bad))


def test_practices_share_a_fixed_target_by_member_months() -> None:
    extra = """participants:
  method: performance
  practices:
    - {name: north, share: 0.5, cost_ratio: 0.8}
    - {name: south, share: 0.5, cost_ratio: 1.2}
"""
    ds = simsettle.simulate(
        parse_scenario(_text("{method: fixed, pmpm: 900.0}", extra)), progress=False
    )
    np.testing.assert_allclose(
        ds.participant_payout.sum("participant"), ds.settlement, rtol=1e-12, atol=1e-6
    )
    # The efficient practice earns more of the savings: its target is half the target at half
    # the months, and it spends 0.8 / 1.2 as much per member.
    gain = ds.participant_payout.where(ds.settlement > 0).sum(("trial", "year"))
    for design in ("one_sided", "two_sided"):
        north, south = (float(gain.sel(design=design, participant=p)) for p in ("north", "south"))
        assert north > south
