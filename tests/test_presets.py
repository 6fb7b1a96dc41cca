"""Cost presets and a cost shape that survives a change of PMPM (issue 14, item 6).

Each preset is held to its published figures (simsettle.scenario.presets cites them): within 1
point of spend for Medicare FFS, 2 points for the others, both in closed form
(:func:`~simsettle.scenario.costs.cost_moments`) and in member-years the engine simulates.
"""

from __future__ import annotations

import json
import typing

import numpy as np
import pytest

import simsettle
from simsettle._kernels import records as R
from simsettle.errors import ScenarioError
from simsettle.models.population import compile_model, key_from_seed, simulate_stays
from simsettle.report import format_cost_moments
from simsettle.results import achieved_cost_moments
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import cost_moments
from simsettle.scenario.presets import PRESETS, PresetName, concentration_warning

TEXT = """\
schema_version: 1
seed: 7
trials: 20
first_performance_year: 2026
performance_years: 1
population: {{members: {members}, turnover: {turnover}}}
cost: {cost}
designs:
  - {{name: d, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5}}
"""
TOLERANCE = {"medicare_ffs": 0.01}  # points of spend; 0.02 for the others


def _scenario(cost: str, members: int = 1000, turnover: float = 0.15):
    return parse_scenario(TEXT.format(cost=cost, members=members, turnover=turnover))


def _survivor_moments(sc):
    """The full-year survivors' moments (no decedents): the shape the preset solves for."""
    return cost_moments(sc.cost.shape(sc.population.risk_sigma))


def _published(name: str) -> dict[str, float]:
    p = PRESETS[name]
    shares = {"top1_share": p.top1_share, "top5_share": p.top5_share, "top10_share": p.top10_share}
    return {k: v for k, v in shares.items() if v is not None}


def test_preset_names_are_the_fields_choices():
    assert set(typing.get_args(PresetName)) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_reproduces_its_published_concentration(name: str):
    # Decedents included (members enrolled all year or until death), at the default turnover.
    sc = _scenario(f"{{pmpm: 700.0, preset: {name}}}").scenario
    assert sc.population.mortality == PRESETS[name].mortality
    m = achieved_cost_moments(sc)
    assert m["preset"] == name
    for key, value in _published(name).items():
        assert m[key] == pytest.approx(value, abs=TOLERANCE.get(name, 0.02)), (key, m[key])
    # The top 5% is fitted to 0.1 points; the survivors' shape is solved for exactly.
    assert m["top5_share"] == pytest.approx(PRESETS[name].top5_share, abs=0.001)
    survivors = _survivor_moments(sc)
    assert survivors.top5_share == pytest.approx(PRESETS[name].shape_top5_share, abs=1e-9)
    assert survivors.cv == pytest.approx(PRESETS[name].cv, rel=1e-9)
    assert m["warning"] is None


def _top_shares(cost: np.ndarray) -> dict[str, float]:
    c = np.sort(cost)[::-1]
    total = c.sum()
    return {f"top{q}_share": float(c[: c.size * q // 100].sum() / total) for q in (1, 5, 10)}


@pytest.mark.parametrize("name", ["medicare_ffs", "commercial"])
def test_simulated_member_years_carry_the_published_shares(name: str):
    # 200,000 slots drawn by the kernel: the members of the first year enrolled all year or
    # until death carry spend shares that match the closed form to Monte Carlo error and the
    # published figures to the preset's tolerance.
    sc = _scenario(f"{{pmpm: 900.0, preset: {name}}}", members=200_000).scenario
    stays, _ = simulate_stays(compile_model(sc), key_from_seed(41))
    first = stays[stays[:, R.ST_YEAR] == 0]
    occupants = first[first[:, R.ST_JOINER] == 0]
    counted = np.isin(occupants[:, R.ST_DEPARTURE], [R.DEPART_NONE, R.DEPART_DEATH])
    simulated = _top_shares(occupants[counted, R.ST_COST])
    closed = achieved_cost_moments(sc)
    for key, value in _published(name).items():
        assert simulated[key] == pytest.approx(closed[key], abs=0.015), (key, simulated)
        assert simulated[key] == pytest.approx(value, abs=TOLERANCE.get(name, 0.02) + 0.01)


@pytest.mark.parametrize("pmpm", [250.0, 480.0, 2500.0])
def test_changing_pmpm_alone_keeps_the_cost_shape(pmpm: float):
    at_1000 = achieved_cost_moments(_scenario("{pmpm: 1000.0}").scenario)
    moved = _scenario(f"{{pmpm: {pmpm}}}").scenario
    assert moved.cost.tail_threshold == pytest.approx(60.0 * pmpm)
    m = achieved_cost_moments(moved)
    for key in ("cv", "top1_share", "top5_share", "top10_share", "zero_share"):
        assert m[key] == pytest.approx(at_1000[key], rel=1e-9), key
    # With the moments as targets too: the threshold is 60 x pmpm there as well.
    targets = _scenario(f"{{pmpm: {pmpm}, cv: 2.5, top5_share: 0.45}}").scenario
    assert targets.cost.tail_threshold == pytest.approx(60.0 * pmpm)


def test_a_fixed_threshold_moves_the_shape_and_the_run_says_so():
    # The seed document's case, at the default shape of then (body_sigma 1.2, a 4% tail of
    # shape 4) and with no departures (no decedents, as then): a commercial PMPM of 480 with
    # the Medicare-level $60,000 threshold gives CV 3.39 and a top 5% share of 63%; at 300 PMPM
    # the top 5% carry 91%, unlike any published population, and the run summary warns.
    then = "body_sigma: 1.2, tail_probability: 0.04, tail_shape: 4.0"
    m = achieved_cost_moments(
        _scenario(f"{{pmpm: 480.0, tail_threshold: 60000.0, {then}}}", turnover=0.0).scenario
    )
    assert m["cv"] == pytest.approx(3.39, abs=0.01)
    assert m["top5_share"] == pytest.approx(0.633, abs=0.001)
    assert m["warning"] is None  # within 10 points of the commercial claims' 56%
    loaded = _scenario(f"{{pmpm: 300.0, tail_threshold: 60000.0, {then}}}", turnover=0.0)
    far = achieved_cost_moments(loaded.scenario)
    assert far["warning"] is not None
    assert "more concentrated than any published population" in str(far["warning"])
    ds = simsettle.simulate(loaded, progress=False)
    line = format_cost_moments(ds)
    assert "\nWarning: the costliest 1% / 5% of member-years carry" in line
    assert json.loads(ds.attrs["cost_moments"])["warning"] == far["warning"]


def test_run_summary_prints_the_preset_beside_its_targets():
    ds = simsettle.simulate(_scenario("{pmpm: 1100.0, preset: medicare_ffs}"), progress=False)
    line = format_cost_moments(ds)
    assert "Preset medicare_ffs (Medicare FFS, 65 and over, 2007-2018; Wallis et al." in line
    assert "published 14.9% / 41.5% / 60.0%" in line
    assert "Warning" not in line


def test_fields_beside_a_preset_win():
    sc = _scenario("{pmpm: 500.0, preset: commercial, zero_cost_share: 0.1}").scenario
    assert sc.cost.zero_cost_share == 0.1
    assert _survivor_moments(sc).top5_share == pytest.approx(0.56281, abs=1e-9)
    with pytest.raises(ScenarioError, match="or a preset"):
        _scenario("{pmpm: 500.0, preset: commercial, body_sigma: 1.0}")
    with pytest.raises(ScenarioError, match=r"cost\.preset"):
        _scenario("{pmpm: 500.0, preset: medicare}")


def test_concentration_warning_bounds():
    assert concentration_warning(0.151, 0.416) is None  # the defaults
    assert concentration_warning(0.05, 0.20) is not None  # far less concentrated
    assert "less concentrated" in str(concentration_warning(0.05, 0.20))
