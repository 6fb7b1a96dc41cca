"""Numerical safety: no NaN or infinity reaches a result, sums have stated error bounds, totals
are conserved.

* Over every example scenario: every variable finite, settlement = shared savings - shared
  losses, stop-loss recovery + retained spend = spend, participant payouts add up to the
  settlement and participant totals to the entity's (two summation orders of the same member
  values, within the kernel's stated bound), the portfolio settlement is the sum of its lines.
* Hypothesis properties of the rules against ``math.fsum``: the settlement steps, the payout
  distribution and the stop-loss premium within the bounds their docstrings state.
* The gates name the input that is not finite, and the runtime checks name the design.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import simsettle
from simsettle.errors import SimulationError
from simsettle.rules import YearFacts, settle
from simsettle.rules.benchmark import BenchmarkInputs, build_benchmark
from simsettle.rules.participants import distribute, payout_bound
from simsettle.rules.settle import CONSERVATION_ULPS, check_steps
from simsettle.rules.stop_loss import (
    aggregate_stop_loss_recovery,
    stop_loss_premium,
    stop_loss_recovery,
)
from simsettle.scenario import Benchmark, TwoSided
from simsettle.scenario.contracts import AggregateStopLoss, StopLoss
from simsettle.scenario.schema import Participants
from simsettle.testing.strategies import designs, stop_losses

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))
EPS = float(np.finfo(np.float64).eps)
TINY = float(np.finfo(np.float64).tiny)
TRIALS = 40


WITH_PARTICIPANTS = [p for p in EXAMPLES if "\nparticipants:" in p.read_text()]
WITH_PORTFOLIO = [p for p in EXAMPLES if "\nportfolio:" in p.read_text()]


@functools.cache
def _simulate(path: Path) -> xr.Dataset:
    return simsettle.simulate(path, trials=TRIALS, progress=False)


@pytest.fixture
def run(request: pytest.FixtureRequest) -> xr.Dataset:
    return _simulate(request.param)


def _over(paths: list[Path]) -> pytest.MarkDecorator:
    assert paths
    return pytest.mark.parametrize("run", paths, ids=[p.stem for p in paths], indirect=True)


def _fsum(a: xr.DataArray, dim: str) -> np.ndarray:
    """``math.fsum`` along ``dim`` (exactly rounded sums)."""
    moved = np.moveaxis(a.values, a.dims.index(dim), -1)
    return np.apply_along_axis(lambda v: math.fsum(v.tolist()), -1, moved)


@_over(EXAMPLES)
def test_every_result_is_finite(run: xr.Dataset) -> None:
    for name, var in run.data_vars.items():
        assert np.all(np.isfinite(var.values)), name
    assert np.all(run.benchmark > 0)
    assert np.all(run.settlement_benchmark > 0)


@_over(EXAMPLES)
def test_settlement_parts(run: xr.Dataset) -> None:
    np.testing.assert_array_equal(run.shared_savings - run.shared_losses, run.settlement)
    assert np.all(run.shared_savings >= 0)
    assert np.all(run.shared_losses >= 0)
    np.testing.assert_allclose(
        run.savings_rate, run.savings / run.settlement_benchmark, rtol=2 * EPS, atol=0
    )


def _design_spend(run: xr.Dataset) -> xr.DataArray:
    """Each design's own spend as the settlement sees it (after any truncation): its portfolio
    line's, or the scenario's."""
    if "line_actual_spend" not in run:
        return run.actual_spend - (run.truncated_spend if "truncated_spend" in run else 0.0)
    spend = run.line_actual_spend
    if "line_truncated_spend" in run:
        spend = spend - run.line_truncated_spend
    return spend.sel(line_of_business=run["line"]).drop_vars("line_of_business")


def _settled_layers(run: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """(recovery, premium) of the stop-loss layers charged through the settlement: a layer
    ``borne_by: provider`` leaves the settled spend as it is."""
    from simsettle.rules.terms import compile_terms
    from simsettle.scenario import parse_scenario

    sc = parse_scenario(str(run.attrs["scenario_yaml"]), "run").scenario
    terms = {d.name: compile_terms(d) for d in sc.all_designs}
    split = "specific_stop_loss_recovery" in run
    recovery = xr.zeros_like(run.stop_loss_recovery)
    premium = xr.zeros_like(run.stop_loss_premium)
    for name in map(str, run["design"].values):
        t = terms.get(name)
        layers = (
            [] if t is None else [("specific", t.stop_loss), ("aggregate", t.aggregate_stop_loss)]
        )
        for layer_name, layer in layers:
            if layer is None or layer.borne_by != "settlement":
                continue
            rec = run[f"{layer_name}_stop_loss_recovery"] if split else run.stop_loss_recovery
            prem = run[f"{layer_name}_stop_loss_premium"] if split else run.stop_loss_premium
            recovery.loc[{"design": name}] += rec.sel(design=name)
            # A charge taken off the benchmark (REACH) is not spend.
            if getattr(layer, "charged_to", "spend") == "spend":
                premium.loc[{"design": name}] += prem.sel(design=name)
    return recovery, premium


@_over(EXAMPLES)
def test_stop_loss_recovery_plus_retained_spend_is_spend(run: xr.Dataset) -> None:
    spend = _design_spend(run)
    assert np.all(run.stop_loss_recovery >= 0)
    assert np.all(run.stop_loss_premium >= 0)
    assert np.all(run.stop_loss_recovery <= spend * (1 + 4 * EPS))
    recovery, premium = _settled_layers(run)
    # savings = benchmark - (spend - recovery + premium): the spend the provider retains.
    retained = run.settlement_benchmark - run.savings - premium
    scale = spend + recovery + premium + run.settlement_benchmark
    gap = np.abs(recovery + retained - spend)
    assert np.all(gap <= 16 * EPS * scale), float((gap / scale).max())
    assert np.all(retained >= -16 * EPS * scale)
    # No stop-loss, no recovery and no premium.
    none = np.isnan(run.stop_loss_attachment) & np.isnan(run.aggregate_stop_loss_attachment)
    if bool(none.any()):
        assert float(np.abs(run.stop_loss_recovery.where(none, 0.0)).max()) == 0.0
        assert float(np.abs(run.stop_loss_premium.where(none, 0.0)).max()) == 0.0


@_over(WITH_PARTICIPANTS)
def test_participant_payouts_add_up_to_the_settlement(run: xr.Dataset) -> None:
    payout, settlement = run.participant_payout, run.settlement
    n = run.sizes["participant"]
    exact = xr.DataArray(
        _fsum(payout, "participant"), dims=[d for d in payout.dims if d != "participant"]
    )
    gap = np.abs(exact - settlement)
    # The bound distribute() documents for an exact sum: (P + 1) eps/2 |settlement|.
    assert np.all(gap <= (n + 1) * EPS / 2 * np.abs(settlement)), float(gap.max())
    assert np.all(gap <= payout_bound(n, settlement.values))


@_over(WITH_PARTICIPANTS)
def test_participant_totals_are_the_entity_totals(run: xr.Dataset) -> None:
    # The kernel adds the same member-year values twice, in two orders (by lane, and by
    # practice): each sum of n non-negative values is within (n - 1) eps/2 of the exact one.
    n = float(run.attributed_members.max()) * 2  # member-years, leavers and joiners
    for part, whole in (
        ("participant_spend", "actual_spend"),
        ("participant_member_months", "member_months"),
    ):
        total = xr.DataArray(_fsum(run[part], "participant"), dims=run[whole].dims)
        gap = np.abs(total - run[whole])
        assert np.all(gap <= n * EPS * run[whole]), (part, float((gap / run[whole]).max()))


@_over(WITH_PORTFOLIO)
def test_portfolio_settlement_is_the_sum_of_its_lines(run: xr.Dataset) -> None:
    lines = list(run.line_of_business.values)
    designs = list(run.design.values)
    line_of = list(run["line"].values)
    firsts = [run.settlement.sel(design=designs[line_of.index(line)]) for line in lines]
    exact = np.vectorize(lambda *xs: math.fsum(xs))(*[f.values for f in firsts])
    scale = sum(np.abs(f.values) for f in firsts)
    gap = np.abs(run.portfolio_settlement.values - exact)
    assert np.all(gap <= len(firsts) * EPS * scale)
    np.testing.assert_array_equal(run.line_actual_spend.isel(line_of_business=0), run.actual_spend)


# --------------------------------------------------------------------------------------------
# properties of the rules against math.fsum

magnitudes = st.floats(1e3, 1e13, allow_nan=False)
rates = st.floats(-3.0, 3.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(designs(), magnitudes, st.lists(rates, min_size=1, max_size=20), st.integers(100, 10**6))
def test_settlement_steps_add_up(design, b, rs, members) -> None:
    savings = np.array(rs) * b
    facts = YearFacts(members=members, revenue=0.3 * b)
    steps = settle(design, np.full(savings.shape, b), savings, facts)
    assert np.all(np.isfinite(steps))
    for row in steps:
        parts = row[1:].tolist()
        gap = abs(row[0] - math.fsum(parts))
        # The kernel's four roundings: at most 2 eps of the parts' magnitudes.
        assert gap <= 2 * EPS * math.fsum(abs(x) for x in parts) + 4 * TINY, (row, gap)


participants = st.lists(
    st.fixed_dictionaries(
        {"share": st.floats(0.01, 1.0), "quality_factor": st.floats(0.0, 2.0, allow_nan=False)}
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    participants,
    st.sampled_from(["lives", "performance", "quality_pool"]),
    st.data(),
)
def test_payouts_add_up_against_fsum(practices, method, data) -> None:
    total = sum(p["share"] for p in practices)
    terms = Participants(
        practices=[
            {"name": f"p{i}", "share": p["share"] / total, "quality_factor": p["quality_factor"]}
            for i, p in enumerate(practices)
        ],
        method=method,
    )
    if abs(math.fsum(p.share for p in terms.practices) - 1.0) > 1e-9:
        return
    n = len(practices)
    trials, years = 3, 2
    values = st.floats(0.0, 1e9, allow_nan=False)
    draw = lambda shape: np.array(  # noqa: E731
        data.draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape)
    settlement = np.array(
        data.draw(
            st.lists(st.floats(-1e10, 1e10), min_size=trials * years, max_size=trials * years)
        )
    ).reshape(trials, years)
    months = draw((trials, years, n))
    if data.draw(st.booleans()):
        months[0] = 0.0  # a trial-year without members: falls back to equal shares
    base = draw((trials, n)) + 1.0
    payout = distribute(
        terms,
        settlement,
        draw((trials, years)) + 1.0,
        draw((trials, years, n)),
        months,
        base / base.sum(axis=1, keepdims=True),
    )
    assert np.all(np.isfinite(payout))
    for t in range(trials):
        for y in range(years):
            s = settlement[t, y]
            gap = abs(math.fsum(payout[t, y].tolist()) - s)
            assert gap <= (n + 1) * EPS / 2 * abs(s) + n * TINY, (gap, s)
            assert np.all(payout[t, y] * np.sign(s) >= 0)  # every practice shares the sign


@settings(max_examples=200, deadline=None)
@given(
    stop_losses(),
    st.lists(st.floats(0.0, 1e9, allow_nan=False), min_size=1, max_size=200),
    st.floats(0.0, 1e9, allow_nan=False),
)
def test_stop_loss_conservation_and_premium(terms, excess, extra) -> None:
    x = np.array(excess)
    spend = x + extra  # a member's excess is a part of its cost
    recovery = stop_loss_recovery(terms, x)
    retained = spend - recovery
    assert np.all(recovery >= 0)
    assert np.all(recovery <= spend)
    assert np.all(np.abs(recovery + retained - spend) <= EPS * spend)
    premium = stop_loss_premium(terms, recovery)
    exact = (1 + terms.premium_loading) * math.fsum(recovery.tolist()) / len(recovery)
    n = len(recovery)
    # Relative in normal numbers; a subnormal mean's roundings are absolute (TINY each).
    assert np.all(np.abs(premium - exact) <= (n + 2) * (EPS * exact + TINY))


@settings(max_examples=200, deadline=None)
@given(
    st.floats(0.5, 2.0),
    st.floats(0.0, 1.0),
    st.lists(st.floats(0.0, 1e10, allow_nan=False), min_size=1, max_size=20),
    magnitudes,
)
def test_aggregate_stop_loss_recovers_at_most_the_excess(attach, coins, spends, b) -> None:
    terms = AggregateStopLoss(attachment=attach, coinsurance=coins)
    s = np.array(spends)
    rec = aggregate_stop_loss_recovery(terms, s, np.full(s.shape, b))
    assert np.all(rec >= 0)
    assert np.all(rec <= np.maximum(s - attach * b, 0.0) * (1 + EPS))
    assert np.all(rec <= s)


# --------------------------------------------------------------------------------------------
# the gates name what is wrong


DESIGN = TwoSided(name="d", kind="two_sided", shared_savings_rate=0.5, shared_loss_rate=0.5)
DESIGN_SL = StopLoss(attachment=1e5)


@pytest.mark.parametrize(
    ("bench", "savings", "facts", "match"),
    [
        ([1e8, np.nan], [0.0, 0.0], YearFacts(), r"benchmark .* index \(1,\) .*design 'd'"),
        ([1e8, 0.0], [0.0, 0.0], YearFacts(), r"benchmark must be positive .* 0\.0"),
        ([1e8, 1e8], [np.inf, 0.0], YearFacts(), r"savings .* index \(0,\) .* inf .*design 'd'"),
        ([1e8, 1e8], [0.0, 0.0], YearFacts(loss_relief=[0.0, np.nan]), r"loss_relief .* \(1,\)"),
        ([1e8, 1e8], [0.0, 0.0], YearFacts(loss_relief=[0.0, 1.5]), r"loss_relief must lie"),
    ],
)
def test_settle_names_the_bad_input(bench, savings, facts, match) -> None:
    with pytest.raises(ValueError, match=match):
        settle(DESIGN, np.array(bench), np.array(savings), facts)


def test_overflowing_settlement_names_the_design() -> None:
    # Shared losses of the whole benchmark plus a withhold of half of it: -2.55e308 = -inf.
    huge = TwoSided(
        name="huge",
        kind="two_sided",
        shared_savings_rate=1.0,
        shared_loss_rate=1.0,
        quality={"score": 0.0, "withhold": 0.5},
    )
    with pytest.raises(SimulationError, match=r"design 'huge'.*too large for float64"):
        settle(huge, np.array([1.7e308]), np.array([-1.7e308]))


def test_broken_steps_are_caught() -> None:
    steps = np.zeros((3, 6))
    steps[1] = [10.0, 5.0, 0.0, 0.0, 0.0, 0.0]  # 10 is not 5
    with pytest.raises(SimulationError, match=r"design 'x': the settlement of element 1"):
        check_steps(steps, "x")
    steps[1] = [5.0, 5.0, 0.0, 0.0, 0.0, 0.0]
    steps[2, 3] = np.nan
    with pytest.raises(SimulationError, match="the cap step of element 2 is nan"):
        check_steps(steps, "x")
    assert CONSERVATION_ULPS >= 4


def test_stop_loss_gates_name_the_element() -> None:
    with pytest.raises(ValueError, match=r"excess .* index \(2,\) the value is -1\.0"):
        stop_loss_recovery(DESIGN_SL, np.array([0.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match="aggregate stop-loss: spend"):
        aggregate_stop_loss_recovery(
            AggregateStopLoss(attachment=1.1), np.array([np.nan]), np.array([1.0])
        )
    with pytest.raises(ValueError, match="stop-loss recovery must be finite"):
        stop_loss_premium(DESIGN_SL, np.array([1.0, np.inf]))


def test_distribute_names_the_bad_input() -> None:
    terms = Participants(practices=[{"name": "a", "share": 1.0}])
    ok = np.ones((1, 1))
    with pytest.raises(ValueError, match="participants: practice spend"):
        distribute(terms, ok, ok, np.full((1, 1, 1), np.nan), np.ones((1, 1, 1)), np.ones((1, 1)))
    with pytest.raises(ValueError, match="member months must be >= 0"):
        distribute(terms, ok, ok, np.ones((1, 1, 1)), -np.ones((1, 1, 1)), np.ones((1, 1)))


def test_benchmark_names_the_bad_year() -> None:
    terms = Benchmark()
    mm = np.full((2, 4), 1000.0)
    spend = np.full((2, 4), 1e6)
    risk = mm.copy()
    mm_zero = mm.copy()
    mm_zero[1, 2] = 0.0
    with pytest.raises(ValueError, match=r"trial 1, simulated year 2 has 0\.0"):
        build_benchmark(terms, BenchmarkInputs(spend, mm_zero, risk), 3)
    bad = spend.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"spend must be finite .* \(0, 1\)"):
        build_benchmark(terms, BenchmarkInputs(bad, mm, risk), 3)
    # No spend in any base year gives a zero benchmark, which is kept (the settlement gate
    # refuses it for a design that settles on it); one that is not finite is refused.
    no_spend = spend.copy()
    no_spend[1, :3] = 0.0
    zero = build_benchmark(Benchmark(risk_adjustment=False), BenchmarkInputs(no_spend, mm, risk), 3)
    assert zero[1, 0] == 0.0
    huge = np.full((2, 4), 1e308)  # finite spend whose trended benchmark overflows
    with (
        np.errstate(over="ignore"),
        pytest.raises(ValueError, match=r"benchmark of trial 0, performance year 0 is inf"),
    ):
        build_benchmark(Benchmark(trend_rate=0.5), BenchmarkInputs(huge, mm, risk), 3)


def test_settle_designs_names_the_bad_aggregate() -> None:
    from simsettle.models.population import compile_model
    from simsettle.rules.designs import settle_designs
    from simsettle.scenario import parse_scenario
    from tests.conftest import SMALL_SCENARIO

    sc = parse_scenario(SMALL_SCENARIO, "s.yaml").scenario
    inputs = compile_model(sc)
    aggregates = np.ones((4, inputs.n_years, inputs.n_fields))
    aggregates[2, 1, 0] = np.nan
    with pytest.raises(SimulationError, match=r"spend = nan in trial 2, simulated year 1"):
        settle_designs(sc, inputs, aggregates)


def test_no_base_spend_splits_targets_by_declared_shares() -> None:
    # Was: 0 / 0 base-year shares -> NaN payouts (and a RuntimeWarning) when a trial's
    # practices spent nothing in the base years.
    from simsettle.models.population import compile_model
    from simsettle.rules.designs import settle_designs
    from simsettle.scenario import parse_scenario

    text = (ROOT / "scenarios" / "examples" / "participants.yaml").read_text()
    sc = parse_scenario(text, "p.yaml").scenario
    inputs = compile_model(sc)
    rng = np.random.default_rng(0)
    aggregates = rng.uniform(1.0, 2.0, size=(3, inputs.n_years, inputs.n_fields))
    spend_fields, _ = inputs.practice_fields
    aggregates[1, : inputs.n_base_years, spend_fields] = 0.0
    settled = settle_designs(sc, inputs, aggregates)
    assert settled.participant_payout is not None
    assert np.all(np.isfinite(settled.participant_payout))
