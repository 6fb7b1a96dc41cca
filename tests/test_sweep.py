"""Parameter sweeps: every swept value a dimension, on common random numbers, checked up front."""

from __future__ import annotations

import numpy as np
import pytest

import simsettle
from simsettle.errors import ScenarioError
from simsettle.scenario import parse_scenario
from simsettle.scenario._base import USD, field_units
from simsettle.scenario.contracts import DESIGN_KINDS, StopLoss
from simsettle.scenario.paths import parse_override
from simsettle.scenario.schema import CareManagement, Cost
from simsettle.scenario.sweep import _field
from tests.conftest import ROOT

BASE = """\
schema_version: 1
seed: 3
trials: 60
first_performance_year: 2026
performance_years: 2
population: {members: 300, turnover: 0.15}
cost: {pmpm: 1000.0}
designs:
  - {name: upside, template: commercial_upside_only}
  - {name: two_sided, template: commercial_two_sided}
  - name: sl
    template: commercial_two_sided
    stop_loss: {attachment: 100000.0, coinsurance: 0.1}
"""
SWEEP = """\
sweep:
  - path: designs.two_sided.min_savings_rate
    values: [0.0, 0.01, 0.02]
  - {path: designs.sl.stop_loss.attachment, values: [50000.0, 100000.0], base: 100000.0}
  - {path: population.turnover, start: 0.1, stop: 0.2, step: 0.05}
"""


@pytest.fixture(scope="module")
def swept():
    return simsettle.simulate(parse_scenario(BASE + SWEEP, "sweep.yaml"), progress=False)


def _single(*sets: str):
    loaded = parse_scenario(BASE, "base.yaml", [parse_override(s) for s in sets])
    return simsettle.simulate(loaded, progress=False)


def test_dims_coordinates_and_attrs(swept):
    assert swept.settlement.dims == (
        "design",
        "min_savings_rate",
        "attachment",
        "turnover",
        "trial",
        "year",
    )
    assert swept.actual_spend.dims == ("turnover", "trial", "year")
    np.testing.assert_allclose(swept.turnover.values, [0.1, 0.15, 0.2])
    assert swept.attrs["sweep_dims"] == "min_savings_rate attachment turnover"
    assert swept.attachment.attrs["sweep_base"] == 100000.0
    assert swept.turnover.attrs["sweep_path"] == "population.turnover"
    for name in ("min_savings_rate", "attachment", "turnover"):
        for key in ("long_name", "units", "description"):
            assert swept[name].attrs[key], (name, key)
    assert list(swept.design.values) == ["upside", "two_sided", "sl"]


@pytest.mark.parametrize("msr", [0.0, 0.02])
@pytest.mark.parametrize("turnover", [0.1, 0.2])
def test_every_point_equals_its_own_run_to_the_bit(swept, msr, turnover):
    single = _single(
        f"designs.two_sided.min_savings_rate={msr}",
        "designs.sl.stop_loss.attachment=50000.0",
        f"population.turnover={turnover}",
    )
    point = swept.sel(min_savings_rate=msr, attachment=50000.0, turnover=turnover)
    for name in ("settlement", "shared_savings", "stop_loss_recovery", "stop_loss_premium"):
        np.testing.assert_array_equal(point[name].values, single[name].values, err_msg=name)
    for name in ("benchmark", "actual_spend", "member_months"):
        np.testing.assert_array_equal(point[name].values, single[name].values, err_msg=name)


def test_a_design_not_swept_is_the_same_along_the_design_axes(swept):
    upside = swept.settlement.sel(design="upside")
    ref = upside.isel(min_savings_rate=0, attachment=0)
    assert (upside == ref).all()
    # the two-sided design moves only with its own minimum savings rate
    two = swept.settlement.sel(design="two_sided")
    assert (two == two.isel(attachment=0)).all()
    assert not (two.isel(min_savings_rate=0) == two.isel(min_savings_rate=2)).all()


def test_sweep_results_round_trip_through_netcdf(swept, tmp_path):
    path = simsettle.write_results(swept, tmp_path / "sweep.nc")
    back = simsettle.open_results(path)
    np.testing.assert_array_equal(back.settlement.values, swept.settlement.values)
    assert back.attrs["sweep_dims"] == swept.attrs["sweep_dims"]
    assert back.attachment.attrs["sweep_base"] == 100000.0


def test_design_variants_keep_their_name_and_carry_their_swept_values(swept):
    """A design sweep's variants are the design itself at each combination of the design axes:
    the plan holds them by design and combination, and nothing is ever renamed."""
    from simsettle.scenario.sweep import plan_sweep

    plan = plan_sweep(parse_scenario(BASE + SWEEP, "sweep.yaml"))
    assert [a.dim for a in plan.design_axes] == ["min_savings_rate", "attachment"]
    assert len(plan.points) == 3  # turnover
    for point in plan.points:
        grid = point.designs
        assert grid.names == ("upside", "two_sided", "sl")
        assert grid.shape == (3, 2)
        assert [d.name for d in point.scenario.designs] == ["upside", "two_sided", "sl"]
        for row, name in zip(grid.variants, grid.names, strict=True):
            assert {v.design.name for v in row} == {name}
            assert [v.at for v in row] == [
                (("min_savings_rate", m), ("attachment", a))
                for m in (0.0, 0.01, 0.02)
                for a in (50000.0, 100000.0)
            ]
        two_sided = grid.variants[1]
        assert [v.design.min_savings_rate for v in two_sided] == [0.0, 0.0, 0.01, 0.01, 0.02, 0.02]
        assert two_sided[4].label == "two_sided at min_savings_rate = 0.02, attachment = 50000.0"
        sl = grid.variants[2]
        assert [v.design.stop_loss.attachment for v in sl[:2]] == [50000.0, 100000.0]
        # The point's own scenario holds the designs at the axes' base values.
        assert point.scenario.designs[2].stop_loss.attachment == 100000.0
        assert point.scenario.designs[1].min_savings_rate == 0.0
    # Nowhere in the results is a design renamed.
    texts = [str(v) for v in swept.attrs.values()]
    for name, coord in swept.coords.items():
        texts.append(str(name))
        texts += [str(v) for v in coord.attrs.values()]
        if coord.dtype == object:
            texts += [str(v) for v in coord.values.ravel()]
    assert not [t for t in texts if ".sweep" in t]
    assert list(swept.design.values) == ["upside", "two_sided", "sl"]


def test_statistics_and_heat_map_over_two_swept_parameters(swept):
    import simsettle.stats  # noqa: F401 - registers ds.settle
    from simsettle.plot import fig_heatmap

    table = swept.settle.describe()
    assert {"design", "min_savings_rate", "attachment", "turnover"} <= set(table["mean"].dims)
    fig = fig_heatmap(swept, x="min_savings_rate", y="turnover", design="two_sided")
    assert fig.axes


def _error(text: str) -> str:
    def run() -> None:
        simsettle.simulate(parse_scenario(text, "bad.yaml"), progress=False)

    with pytest.raises(ScenarioError) as info:
        run()
    return str(info.value)


@pytest.mark.parametrize(
    ("sweep", "expected"),
    [
        (
            "sweep:\n  - {path: designs.two_sided.min_savings_rate, values: [0.01, 2.0]}\n",
            "with min_savings_rate = 2.0",
        ),
        ("sweep:\n  - {path: designs.nosuch.min_savings_rate, values: [0.01]}\n", "nosuch"),
        ("sweep:\n  - {path: trials, values: [10, 20]}\n", "trials cannot be swept"),
        ("sweep:\n  - {path: population.turnover, values: [0.1, 0.1]}\n", "distinct"),
        (
            "sweep:\n  - {path: population.turnover, start: 0.1, stop: 0.25, step: 0.1}\n",
            "whole number of steps",
        ),
        (
            "sweep:\n  - {path: population.turnover, values: [0.1], start: 0.1}\n",
            "not both",
        ),
        (
            "sweep:\n  - {path: population.turnover, values: [0.1]}\n"
            "  - {path: designs.*.turnover, values: [0.1]}\n",
            "already swept",
        ),
        ("sweep:\n  - {path: population.year, values: [1, 2]}\n", "'year' is a dimension"),
    ],
)
def test_bad_sweeps_are_refused_with_their_position(sweep, expected):
    message = _error(BASE + sweep)
    assert expected in message
    assert "bad.yaml:" in message


def test_a_bad_swept_value_names_the_value_and_the_sweep_line():
    message = _error(
        BASE + "sweep:\n  - path: designs.two_sided.min_savings_rate\n    values: [0.01, 2.0]\n"
    )
    values_line = BASE.count("\n") + 3
    assert f"bad.yaml:{values_line}:" in message  # the values line
    assert "with min_savings_rate = 2.0" in message
    assert "designs.1.min_savings_rate" in message


def test_set_overrides_are_applied_recorded_and_positioned():
    loaded = parse_scenario(
        BASE,
        "base.yaml",
        [
            parse_override("population.turnover=0.3"),
            parse_override("designs.*.shared_savings_rate=0.6"),
        ],
    )
    sc = loaded.scenario
    assert sc.population.turnover == 0.3
    assert {d.shared_savings_rate for d in sc.designs} == {0.6}
    assert "turnover: 0.3" in loaded.text
    ds = simsettle.simulate(loaded, trials=5, progress=False)
    assert "population.turnover=0.3" in ds.attrs["scenario_overrides"]
    with pytest.raises(ScenarioError) as info:
        parse_scenario(BASE, "base.yaml", [parse_override("population.turnover=1.5")])
    assert str(info.value).startswith("--set population.turnover=1.5:1:1: population.turnover:")
    with pytest.raises(ScenarioError, match="no item named 'nope'"):
        parse_scenario(BASE, "base.yaml", [parse_override("designs.nope.min_savings_rate=0")])


def test_sweep_base_is_found_by_value_and_never_silently_replaced():
    """The base point of a sweep is each coordinate's ``sweep_base`` value: matched within
    rounding (an attribute read back from a file may be another numeric type), and an error,
    not the first value, when it is none of the coordinate's values."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _synthetic import make_sweep_dataset

    from simsettle.results import sweep_base, sweep_base_index

    ds = make_sweep_dataset(n_trials=20)
    dims = ds.attrs["sweep_dims"].split()
    base = sweep_base(ds)
    # min_savings_rate and members name their base (the third and second values);
    # trend_mean names none, so its base is its first value.
    assert [sweep_base_index(ds[d]) for d in dims] == [2, 0, 1]
    assert {d: float(base[d]) for d in dims} == {
        "min_savings_rate": 0.02,
        "trend_mean": 0.03,
        "members": 5000.0,
    }
    members = ds["members"].copy()
    members.attrs["sweep_base"] = np.float32(5000.0 * (1 + 1e-9))
    assert members.values[sweep_base_index(members)] == 5000.0
    bad = ds.copy()
    bad["members"].attrs["sweep_base"] = 7000.0
    with pytest.raises(ValueError, match=r"sweep_base 7000\.0 of 'members' is not one of"):
        sweep_base(bad)


@pytest.mark.parametrize(
    ("path", "units"),
    [
        ("cost.pmpm", "USD"),
        ("cost.tail_threshold", "USD"),
        ("care_management.cost_pmpm", "USD"),
        ("designs.*.stop_loss.attachment", "USD"),
        ("designs[0].capitation_pmpm", "USD"),
        # A loading is a fraction, though its description speaks of a premium in USD (the old
        # rule, "USD" somewhere in the description, labelled it USD).
        ("designs.*.stop_loss.premium_loading", "1"),
        ("designs.a.min_savings_rate", "1"),
        ("population.turnover", "1"),
        ("population.members", "1"),
    ],
)
def test_a_swept_coordinate_takes_the_units_its_field_declares(path, units):
    assert _field(path)[1] == units


def test_money_fields_declare_usd():
    """Every field declared as Money says so in its description, and the declaration is what
    the results read (the description is for people)."""
    money = {(Cost, "pmpm"), (Cost, "tail_threshold"), (CareManagement, "cost_pmpm")}
    money |= {(StopLoss, "attachment")}
    money |= {
        (m, "capitation_pmpm") for m in DESIGN_KINDS.values() if "capitation_pmpm" in m.model_fields
    }
    for model, name in money:
        assert field_units(model, name) == USD.units, (model.__name__, name)
        assert "USD" in (model.model_fields[name].description or ""), (model.__name__, name)
    assert field_units(StopLoss, "premium_loading") == "1"


def test_a_model_sweep_of_a_portfolio_settles_every_lines_designs():
    """A sweep of model fields alone settles the scenario's own designs, a portfolio's other
    lines' included; each point equals its own run to the bit (a regression: the first
    structural version settled the primary line's designs for every line)."""
    path = ROOT / "scenarios" / "examples" / "portfolio.yaml"
    text = path.read_text(encoding="utf-8") + "sweep:\n  - path: population.turnover\n"
    swept = simsettle.simulate(
        parse_scenario(text + "    values: [0.1, 0.2]\n", str(path)), trials=20, progress=False
    )
    single = simsettle.simulate(
        parse_scenario(
            path.read_text(encoding="utf-8"), str(path), [parse_override("population.turnover=0.2")]
        ),
        trials=20,
        progress=False,
    )
    assert list(swept.design.values) == list(single.design.values)
    assert len(single.design) == 3
    point = swept.sel(turnover=0.2)
    for name in ("settlement", "portfolio_settlement", "line_actual_spend"):
        np.testing.assert_array_equal(point[name].values, single[name].values, err_msg=name)


def test_a_cost_sweeps_summary_describes_its_base_point():
    """Swept cost fields: the Dataset's cost moments, and the run summary's cost line read from
    them, are the base point's (issue 15: they were the first swept value's)."""
    import json

    from simsettle.report import format_cost_moments
    from simsettle.results import achieved_cost_moments

    sweep = "sweep:\n  - {path: cost.body_sigma, values: [1.0, 1.3, 1.6], base: 1.3}\n"
    ds = simsettle.simulate(parse_scenario(BASE + sweep, "cost.yaml"), trials=4, progress=False)
    at_base = parse_scenario(BASE, "base.yaml", [parse_override("cost.body_sigma=1.3")])
    first = parse_scenario(BASE, "base.yaml", [parse_override("cost.body_sigma=1.0")])
    expected = achieved_cost_moments(at_base.scenario)
    assert json.loads(ds.attrs["cost_moments"]) == pytest.approx(expected)
    assert expected["cv"] != pytest.approx(achieved_cost_moments(first.scenario)["cv"])
    assert f"CV {expected['cv']:.2f}" in format_cost_moments(ds)
