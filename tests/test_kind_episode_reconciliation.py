"""The episode reconciliation kind (CMS TEAM / BPCI Advanced): model, compilation, twin, run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simsettle
from simsettle._kernels.records import S_CAP, S_SETTLEMENT, S_SHARED
from simsettle.errors import ScenarioError
from simsettle.rules import compile_terms, settle, settlement
from simsettle.rules.reference import episode_reconciliation_reference, settle_reference
from simsettle.scenario import parse_scenario
from simsettle.scenario.contracts import EpisodeReconciliation

#: TEAM Track 2-like terms: 3% discount, 10% stop-gain and stop-loss, the CQS takes up to 10%
#: off a gain and up to 15% off a repayment; CQS 0.8.
TRACK2 = EpisodeReconciliation(
    kind="episode_reconciliation",
    name="team_track2",
    discount=0.03,
    stop_gain=0.10,
    stop_loss_limit=0.10,
    quality_score=0.8,
    quality_reduction_gain=0.10,
    quality_reduction_loss=0.15,
)
TRACK1 = TRACK2.model_copy(update={"name": "team_track1", "stop_loss_limit": None})
TARGET = 10_000_000.0  # the year's target price summed over episodes, before the discount
RECONCILIATION_TARGET = TARGET * (1.0 - 0.03)  # 9,700,000: what the run settles against


def _gate(design: EpisodeReconciliation, spend: float) -> np.ndarray:
    b = TARGET * (1.0 - design.discount)
    return settle(design, np.array([b]), np.array([b - spend]))[0]


def test_worked_example() -> None:
    """A TEAM Track 2-like year, worked by hand.

    Target $10,000,000 less the 3% discount: reconciliation target $9,700,000; the limits are
    10% of it, $970,000 each way. CQS 0.8: a gain loses 0.10 x (1 - 0.8) = 2%, a repayment is
    cut by 0.15 x 0.8 = 12%.

    - spend $9,300,000: amount +$400,000, x 0.98 = **$392,000** (under the stop-gain);
    - spend $8,500,000: +$1,200,000 x 0.98 = $1,176,000, over the stop-gain: **$970,000**, the
      cap step being -$206,000;
    - spend $10,500,000: -$800,000 x 0.88 = **-$704,000** (inside the stop-loss);
    - spend $11,000,000: -$1,300,000 x 0.88 = -$1,144,000, limited to **-$970,000**;
    - Track 1 (no stop-loss limit) at $10,500,000: **$0**.
    """
    assert _gate(TRACK2, 9_300_000.0)[S_SETTLEMENT] == pytest.approx(392_000.0, rel=1e-12)
    capped = _gate(TRACK2, 8_500_000.0)
    assert capped[S_SETTLEMENT] == pytest.approx(970_000.0, rel=1e-12)
    assert capped[S_SHARED] == pytest.approx(1_176_000.0, rel=1e-12)
    assert capped[S_CAP] == pytest.approx(-206_000.0, rel=1e-9)
    assert _gate(TRACK2, 10_500_000.0)[S_SETTLEMENT] == pytest.approx(-704_000.0, rel=1e-12)
    assert _gate(TRACK2, 11_000_000.0)[S_SETTLEMENT] == pytest.approx(-970_000.0, rel=1e-12)
    assert _gate(TRACK1, 10_500_000.0)[S_SETTLEMENT] == 0.0
    # The twin, written from the model's fields in the program's words, says the same.
    for spend, want in [(9.3e6, 392e3), (8.5e6, 970e3), (10.5e6, -704e3), (11e6, -970e3)]:
        assert episode_reconciliation_reference(TRACK2, TARGET, spend) == pytest.approx(
            want, rel=1e-12
        )
    assert episode_reconciliation_reference(TRACK1, TARGET, 10.5e6) == 0.0


def test_compiles_into_the_canonical_record() -> None:
    terms = compile_terms(TRACK2)
    assert terms.sav_share.tolist() == [1.0]
    assert terms.loss_share.tolist() == [1.0]
    assert terms.corridor.min_savings_rate == 0.0
    assert terms.corridor.min_loss_rate == 0.0
    assert terms.savings_cap == 0.10
    assert terms.loss_cap == 0.10
    assert terms.discount == 0.03
    coords = terms.coords()
    assert coords["kind"] == "episode_reconciliation"
    assert coords["shared_savings_rate"] == 1.0
    # the repayment's share is set by the CQS (1 - 0.15 x CQS), so no one rate is recorded
    assert math.isnan(coords["shared_loss_rate"])
    track1 = compile_terms(TRACK1)
    assert not track1.shares_losses
    assert track1.coords()["loss_cap"] == 0.0


@st.composite
def episode_designs(draw: st.DrawFn) -> EpisodeReconciliation:
    """Valid episode reconciliation designs, with or without a stop-loss limit."""
    fraction = st.floats(0.0, 1.0, allow_nan=False)
    return EpisodeReconciliation(
        kind="episode_reconciliation",
        name="e",
        discount=draw(st.floats(0.0, 0.1, allow_nan=False)),
        stop_gain=draw(fraction),
        stop_loss_limit=draw(st.none() | fraction),
        quality_score=draw(fraction),
        quality_reduction_gain=draw(st.floats(0.0, 0.3, allow_nan=False)),
        quality_reduction_loss=draw(st.floats(0.0, 0.3, allow_nan=False)),
    )


targets = st.floats(1e4, 1e9, allow_nan=False)
spend_ratios = st.floats(0.0, 2.5, allow_nan=False)
scores = st.none() | st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(episode_designs(), targets, spend_ratios, scores)
def test_gate_matches_the_twin(
    design: EpisodeReconciliation, target: float, ratio: float, cqs: float | None
) -> None:
    b = target * (1.0 - design.discount)
    spend = ratio * target
    got = settle(design, np.array([b]), np.array([b - spend]), _facts(cqs))[0, S_SETTLEMENT]
    want = episode_reconciliation_reference(design, target, spend, quality_score=cqs)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-9 * target)
    # ... and the generic twin on the same compiled record
    generic = settle_reference(compile_terms(design), [b], [b - spend], quality_score=cqs)[0]
    assert got == pytest.approx(generic, rel=1e-12, abs=1e-9 * target)


def _facts(cqs: float | None) -> simsettle.rules.YearFacts:
    return simsettle.rules.YearFacts(quality_score=cqs)


@settings(max_examples=200, deadline=None)
@given(episode_designs(), targets, st.lists(spend_ratios, min_size=2, max_size=40), scores)
def test_limits_hold_and_savings_pay_monotonically(
    design: EpisodeReconciliation, target: float, ratios: list[float], cqs: float | None
) -> None:
    b = target * (1.0 - design.discount)
    spend = np.sort(np.asarray(ratios))[::-1] * target  # falling spend: rising savings
    s = settlement(design, np.full(spend.shape, b), b - spend, _facts(cqs))
    tol = 1e-9 * b
    assert np.all(s <= design.stop_gain * b + tol)
    floor = 0.0 if design.stop_loss_limit is None else -design.stop_loss_limit * b
    assert np.all(s >= floor - tol)
    assert np.all(np.diff(s) >= -tol)  # more savings never pay less
    assert np.all((s > 0) <= (spend < b))  # a gain needs spend under the target


@settings(max_examples=200, deadline=None)
@given(episode_designs(), targets, spend_ratios, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_better_quality_never_pays_less(
    design: EpisodeReconciliation, target: float, ratio: float, q1: float, q2: float
) -> None:
    b = target * (1.0 - design.discount)
    lo, hi = sorted((q1, q2))
    at = [settlement(design, [b], [b - ratio * target], _facts(q))[0] for q in (lo, hi)]
    assert at[1] >= at[0] - 1e-9 * b


SCENARIO = """\
schema_version: 1
name: Episode reconciliation
seed: 7
trials: 40
first_performance_year: 2026
performance_years: 2
population:
  members: 2000
cost:
  pmpm: 1000.0
trend:
  mean: 0.04
  sd: 0.02
benchmark:
  weights: [0.2, 0.3, 0.5]
  trend_rate: 0.04
designs:
  - name: team_track3
    kind: episode_reconciliation
    discount: 0.02
    stop_gain: 0.20
    stop_loss_limit: 0.20
    quality_score: 0.9
  - name: team_track1
    kind: episode_reconciliation
    stop_gain: {stop_gain}
    stop_loss_limit: null
"""


def test_scenario_file_errors_are_placed() -> None:
    loaded = parse_scenario(SCENARIO.format(stop_gain=0.10), "ep.yaml")
    assert [d.kind for d in loaded.scenario.designs] == ["episode_reconciliation"] * 2
    with pytest.raises(ScenarioError) as err:
        parse_scenario(SCENARIO.format(stop_gain=1.5), "ep.yaml")
    (issue,) = err.value.issues
    assert (issue.line, issue.column) == (26, 5)
    assert issue.path == "designs.1.stop_gain"
    bad = SCENARIO.format(stop_gain=0.1).replace("    quality_score: 0.9\n", "    loss_cap: 0.1\n")
    with pytest.raises(ScenarioError, match=r"only `kind: two_sided` designs have it"):
        parse_scenario(bad, "ep.yaml")


def test_runs_end_to_end(tmp_path: Path) -> None:
    path = tmp_path / "ep.yaml"
    path.write_text(SCENARIO.format(stop_gain=0.10))
    ds = simsettle.simulate(path, progress=False)
    assert ds["kind"].values.tolist() == ["episode_reconciliation"] * 2
    assert ds["savings_cap"].values.tolist() == [0.20, 0.10]
    assert ds["loss_cap"].values.tolist() == [0.20, 0.0]
    for d in ds.design.values:
        design = next(x for x in _designs(path) if x.name == d)
        b = ds.settlement_benchmark.sel(design=d).values
        s = ds.savings.sel(design=d).values
        got = ds.settlement.sel(design=d).values
        quality = ds.get("quality_score")
        cqs = None if quality is None else quality.values
        for idx in np.ndindex(b.shape):
            target = b[idx] / (1.0 - design.discount)
            want = episode_reconciliation_reference(
                design, target, b[idx] - s[idx], quality_score=None if cqs is None else cqs[idx]
            )
            assert got[idx] == pytest.approx(want, rel=1e-9, abs=1e-6)
    # Track 1 never repays.
    assert float(ds.settlement.sel(design="team_track1").min()) >= 0.0


def _designs(path: Path) -> tuple[EpisodeReconciliation, ...]:
    designs = simsettle.load_scenario(path).scenario.designs
    assert all(isinstance(d, EpisodeReconciliation) for d in designs)
    return tuple(d for d in designs if isinstance(d, EpisodeReconciliation))
