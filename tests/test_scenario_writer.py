"""The scenario writer: every example scenario reads back equal, comments land where asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsettle import parse_scenario
from simsettle.scenario import Population
from simsettle.scenario._base import field_bounds
from simsettle.scenario.schema import Cost
from simsettle.scenario.writer import _float_text, dump_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").rglob("*.yaml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.relative_to(ROOT).as_posix() for p in SCENARIOS])
def test_examples_round_trip(path: Path) -> None:
    try:
        scenario = parse_scenario(path.read_text(encoding="utf-8")).scenario
    except Exception:
        pytest.skip("not a valid scenario on its own (an error case or a fragment)")
    text = dump_scenario(scenario)
    assert parse_scenario(text).scenario == scenario


def test_cost_targets_are_written_as_targets() -> None:
    text = (
        "schema_version: 1\nseed: 1\ntrials: 2\npopulation: {members: 10}\n"
        "cost: {pmpm: 1000.0, cv: 2.1, top5_share: 0.415}\n"
        "designs: [{name: a, kind: upside_only, shared_savings_rate: 0.5}]\n"
    )
    scenario = parse_scenario(text).scenario
    out = dump_scenario(scenario)
    assert "body_sigma" not in out
    assert "cv: 2.1" in out
    assert parse_scenario(out).scenario == scenario


def test_comments_sit_above_fields_and_close_blocks() -> None:
    text = (
        "schema_version: 1\nseed: 1\ntrials: 2\npopulation: {members: 10, turnover: 0.1}\n"
        "cost: {pmpm: 1000.0}\n"
        "designs: [{name: a, kind: upside_only, shared_savings_rate: 0.5}]\n"
    )
    scenario = parse_scenario(text).scenario
    out = dump_scenario(
        scenario,
        comments={(): ["Head."], ("population", "turnover"): ["Why."], ("designs", 0): ["One."]},
        trailing={("population",): ["End of population."], (): ["The end."]},
    )
    assert out.splitlines() == [
        "# Head.",
        "schema_version: 1",
        "seed: 1",
        "trials: 2",
        "population:",
        "  members: 10",
        "  # Why.",
        "  turnover: 0.1",
        "  # End of population.",
        "cost:",
        "  pmpm: 1000.0",
        "designs:",
        "  # One.",
        "  - name: a",
        "    kind: upside_only",
        "    shared_savings_rate: 0.5",
        "# The end.",
    ]
    assert parse_scenario(out).scenario == scenario
    with pytest.raises(KeyError):
        dump_scenario(scenario, comments={("population", "ageing"): ["not given"]})


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1e-05, "1.0e-5"),
        (2.5e-7, "2.5e-7"),
        (1e16, "1.0e16"),
        (1234570.0, "1234570.0"),
        (0.1 + 0.2, "0.30000000000000004"),
    ],
)
def test_floats_are_exact_yaml_numbers(x: float, text: str) -> None:
    assert _float_text(x) == text
    assert float(text) == x


@pytest.mark.parametrize(
    ("x", "text"),
    [
        # Six significant digits, as calibrated scenarios have always been written.
        (1234567.89, "1.23457e6"),
        (999999.5, "1.0e6"),
        (-0.0, "0.0"),
        (60000.0, "60000.0"),
        (0.000123456789, "0.000123457"),
        (1e-05, "1.0e-5"),
    ],
)
def test_floats_to_significant_digits(x: float, text: str) -> None:
    assert _float_text(x, 6) == text
    assert float(text) == float(f"{x:.6g}")


def test_bounds_come_from_the_field_definitions() -> None:
    b = field_bounds(Cost, "body_sigma")
    assert (b.lower, b.upper, b.lower_open, b.upper_open) == (0.0, 4.0, True, False)
    assert not b.admits(0.0)
    assert b.admits(4.0)
    assert not b.admits(float("nan"))
    b = field_bounds(Population, "turnover")  # an Annotated Fraction
    assert (b.lower, b.upper, b.lower_open, b.upper_open) == (0.0, 1.0, False, False)
    b = field_bounds(Cost, "top5_share")
    assert (b.lower_open, b.upper_open) == (True, True)
