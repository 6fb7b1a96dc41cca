"""Scenario files: loading, validation, positioned errors, frozen/strict models, JSON Schema.

Bad inputs are modified copies of ``scenarios/examples/mssp_style.yaml``; the expected line and
column are found from a marker in the modified text, so the tests stay exact when the example's
comments change. ``BAD_CASES`` is shared with ``test_cli_validate.py``.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

import simsettle
from simsettle import ScenarioError, load_scenario, parse_scenario
from simsettle.errors import Issue
from simsettle.scenario import (
    SCHEMA_VERSION,
    Cost,
    LoadedScenario,
    Population,
    Scenario,
    StopLoss,
    TwoSided,
    UpsideOnly,
    scenario_json_schema,
    scenario_json_schema_text,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "scenarios" / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.yaml"))
BASE_FILE = EXAMPLES_DIR / "mssp_style.yaml"
SCHEMA_FILE = ROOT / "scenarios" / "scenario.schema.json"


# --------------------------------------------------------------------------------------------
# helpers (also imported by test_cli_validate.py)


def base_text() -> str:
    """The text of the example every bad case is derived from."""
    return BASE_FILE.read_text(encoding="utf-8")


def edit(text: str, *edits: tuple[str, str]) -> str:
    """Apply (old, new) replacements, each of which must match exactly once."""
    for old, new in edits:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the base text"
        text = text.replace(old, new)
        assert new in text
    return text


def position(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, column


@dataclass(frozen=True)
class BadCase:
    """A modified scenario file and the one issue it must produce."""

    id: str
    edits: tuple[tuple[str, str], ...]
    path: str
    marker: str  # where the issue must point: the first character of this text ...
    nth: int  # ... at this occurrence
    fragment: str  # a piece of the message
    raw: bytes | None = None  # the whole file instead of an edited copy

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return edit(base_text(), *self.edits).encode("utf-8")

    def expected_position(self) -> tuple[int, int]:
        if self.raw is not None and not self.marker:
            return 1, 1
        return position(self.content().decode("utf-8", errors="replace"), self.marker, self.nth)

    def write(self, directory: Path) -> Path:
        p = directory / f"{self.id}.yaml"
        p.write_bytes(self.content())
        return p


def _case(
    id: str,
    edits: list[tuple[str, str]],
    path: str,
    marker: str,
    fragment: str,
    nth: int = 0,
) -> BadCase:
    return BadCase(id, tuple(edits), path, marker, nth, fragment)


def _raw(id: str, raw: bytes, fragment: str, marker: str = "", nth: int = 0) -> BadCase:
    return BadCase(id, (), "", marker, nth, fragment, raw=raw)


BAD_CASES: list[BadCase] = [
    _case(
        "typo_key",
        [("  turnover: 0.16", "  turnvoer: 0.16")],
        "population.turnvoer",
        "turnvoer",
        "did you mean 'turnover'",
    ),
    _case(
        "rate_above_one",
        [("shared_savings_rate: 0.75", "shared_savings_rate: 1.4")],
        "designs.2.shared_savings_rate",
        "shared_savings_rate: 1.4",
        "less than or equal to 1",
    ),
    _case(
        "rate_as_string",
        [("shared_savings_rate: 0.75", 'shared_savings_rate: "0.5"')],
        "designs.2.shared_savings_rate",
        'shared_savings_rate: "0.5"',
        "got the string '0.5'",
    ),
    _case(
        "negative_count",
        [("members: 10000", "members: -5")],
        "population.members",
        "members: -5",
        "greater than or equal to 1",
    ),
    _case("missing_required", [("seed: 20260101\n", "")], "seed", "schema_version:", "required"),
    _case(
        "duplicate_key",
        [("trials: 10000\n", "trials: 10000\ntrials: 20\n")],
        "",
        "trials:",
        "duplicate",
        nth=1,
    ),
    _case(
        "pmpm_quoted",
        [("pmpm: 1100.0", 'pmpm: "1100"')],
        "cost.pmpm",
        'pmpm: "1100"',
        "got the string '1100'",
    ),
    _case(
        "trials_bool",
        [("trials: 10000", "trials: true")],
        "trials",
        "trials: true",
        "got the boolean true",
    ),
    _case("seed_float", [("seed: 20260101", "seed: 5.0")], "seed", "seed: 5.0", "valid integer"),
    _case(
        "loss_on_upside_only",
        [
            (
                "    shared_savings_rate: 0.40\n",
                "    shared_savings_rate: 0.40\n    shared_loss_rate: 0.3\n",
            )
        ],
        "designs.0.shared_loss_rate",
        "shared_loss_rate: 0.3",
        "kind: two_sided",
    ),
    _case(
        "unknown_kind",
        [("kind: upside_only", "kind: three_sided")],
        "designs.0.kind",
        "kind: three_sided",
        "unknown design kind",
    ),
    _case(
        "duplicate_design_name",
        [("name: enhanced", "name: basic_level_e")],
        "designs.2.name",
        "name: basic_level_e",
        "duplicate design name",
        nth=1,
    ),
    _case(
        "weights_sum",
        [("weights: [0.1, 0.3, 0.6]", "weights: [0.1, 0.3, 0.5]")],
        "benchmark.weights",
        "weights:",
        "must sum to 1",
    ),
    _case("money_nan", [("pmpm: 1100.0", "pmpm: .nan")], "cost.pmpm", "pmpm: .nan", "finite"),
    _case("money_inf", [("pmpm: 1100.0", "pmpm: .inf")], "cost.pmpm", "pmpm: .inf", "finite"),
    _case(
        "money_negative_inf",
        [("tail_threshold: 66000.0", "tail_threshold: -.inf")],
        "cost.tail_threshold",
        "tail_threshold: -.inf",
        "finite",
    ),
    _case(
        "schema_version_2",
        [("schema_version: 1", "schema_version: 2")],
        "schema_version",
        "schema_version: 2",
        "reads schema_version 1; the file says 2",
    ),
    _case(
        "broken_indent_tab",
        [("  members: 10000", "\tmembers: 10000")],
        "",
        "\tmembers",
        "not valid YAML",
    ),
    _raw("binary_bytes", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a UTF-8 text file"),
    _raw(
        "binary_after_text",
        b"schema_version: 1\n\xff\xfe\x00\x01",
        "not a UTF-8 text file",
        marker="\ufffd",
    ),
    _raw("nul_bytes", b"seed: 1\x00\n", "NUL", marker="\x00"),
    _raw("broken_yaml_syntax", b"a: [1, 2\nb: }", "not valid YAML", marker=": }"),
    _raw("plain_text", b"just text", "must be a YAML mapping"),
    _raw("empty_file", b"", "this file is empty"),
    _raw("top_level_list", b"- 1\n- 2\n", "must be a YAML mapping"),
]


def assert_issue(issue: Issue, file: str, line: int, column: int, path: str, fragment: str) -> None:
    assert (issue.file, issue.line, issue.column, issue.path) == (file, line, column, path), issue
    assert fragment in issue.message, issue


# --------------------------------------------------------------------------------------------
# valid files


def test_there_are_example_scenarios() -> None:
    assert len(EXAMPLES) >= 3, EXAMPLES


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads(path: Path) -> None:
    loaded = load_scenario(path)
    assert isinstance(loaded, LoadedScenario)
    assert isinstance(loaded.scenario, Scenario)
    assert loaded.source == str(path)
    assert loaded.text == path.read_text(encoding="utf-8")
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.scenario.schema_version == SCHEMA_VERSION
    assert len(loaded.scenario.designs) >= 1


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_conforms_to_committed_json_schema(path: Path) -> None:
    import jsonschema

    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


def test_load_accepts_str_and_path() -> None:
    assert load_scenario(str(BASE_FILE)).scenario == load_scenario(BASE_FILE).scenario


def test_parse_scenario_values_of_the_base_example() -> None:
    sc = parse_scenario(base_text(), "m.yaml").scenario
    assert (sc.seed, sc.trials, sc.population.members) == (20260101, 10000, 10000)
    assert sc.population.turnover == 0.16
    assert sc.benchmark.weights == (0.1, 0.3, 0.6)
    assert [d.name for d in sc.designs] == ["basic_one_sided", "basic_level_e", "enhanced"]
    assert [d.kind for d in sc.designs] == ["upside_only", "two_sided", "two_sided"]
    assert isinstance(sc.designs[0], UpsideOnly)
    assert isinstance(sc.designs[1], TwoSided)


def test_integer_literal_for_a_money_field_is_accepted() -> None:
    sc = parse_scenario(edit(base_text(), ("pmpm: 1100.0", "pmpm: 1100"))).scenario
    assert sc.cost.pmpm == 1100.0


def test_defaults_fill_omitted_blocks() -> None:
    text = edit(base_text(), ("trend:\n  mean: 0.04\n  sd: 0.02\n", ""))
    sc = parse_scenario(text).scenario
    assert (sc.trend.mean, sc.trend.sd) == (0.04, 0.02)


# --------------------------------------------------------------------------------------------
# bad files: one issue each, at an exact place


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
def test_bad_file_reports_positioned_issue(case: BadCase, tmp_path: Path) -> None:
    f = case.write(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    issues = info.value.issues
    assert len(issues) == 1, issues
    line, column = case.expected_position()
    assert_issue(issues[0], str(f), line, column, case.path, case.fragment)
    assert str(info.value) == str(issues[0])


def test_issue_str_format() -> None:
    assert str(Issue("f.yaml", 3, 5, "a.b", "bad")) == "f.yaml:3:5: a.b: bad"
    assert str(Issue("f.yaml", 1, 1, "", "bad")) == "f.yaml:1:1: bad"


def _inline_issues(head: str) -> list[str]:
    """The issues of ``head`` followed by a valid cost block and design, as ``s.yaml``."""
    tail = (
        "cost: {pmpm: 1000.0}\ndesigns: [{name: a, kind: upside_only, shared_savings_rate: 0.5}]\n"
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(head + tail, "s.yaml")
    return [str(i) for i in info.value.issues]


def test_literal_positions_in_an_inline_scenario() -> None:
    """Pin one case to literal numbers, guarding the marker-based helper itself."""
    text = "schema_version: 1\nseed: 1\ntrials: 1\npopulation:\n  members: 10\n  turnvoer: 0.1\n"
    assert _inline_issues(text) == [
        "s.yaml:6:3: population.turnvoer: unknown field 'turnvoer' (not allowed here); "
        "did you mean 'turnover'?"
    ]


@pytest.mark.parametrize(
    ("key", "hint"), [("' '", ""), ("''", ""), ("' pmpm'", "; did you mean 'pmpm'?")]
)
def test_a_blank_or_padded_key_is_quoted_in_the_message(key: str, hint: str) -> None:
    # Found by the CLI fuzz: a key of one space printed as "s.yaml:1:1:  : unknown field".
    text = f"{key}: [1]\nschema_version: 1\nseed: 1\ntrials: 1\npopulation: {{members: 10}}\n"
    assert _inline_issues(text) == [
        f"s.yaml:1:1: {key}: unknown field {key} (not allowed here){hint}"
    ]


def test_unsolvable_cost_points_at_a_tail_field() -> None:
    text = edit(
        base_text(),
        ("tail_probability: 0.056", "tail_probability: 0.5"),
        ("tail_threshold: 66000.0", "tail_threshold: 1e6"),
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "c.yaml")
    (issue,) = info.value.issues
    assert issue.path in {"cost.tail_threshold", "cost.tail_probability"}
    key = issue.path.split(".")[-1]
    assert (issue.line, issue.column) == position(text, f"{key}:")
    assert "tail" in issue.message


def test_yaml_tag_is_rejected_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = edit(
        base_text(),
        ("seed: 20260101", f'seed: !!python/object/apply:os.system ["touch {marker}"]'),
    )
    f = tmp_path / "tag.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    (issue,) = info.value.issues
    assert_issue(issue, str(f), *position(text, "!!python"), "seed", "tag")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ("designs:\n", "designs: !!python/object/apply:os.system\n", "designs"),
        ("population:\n", "population: !custom\n", "population"),
        ("weights: [", "weights: !custom [", "benchmark.weights"),
    ],
    ids=["python_tag_on_designs", "tag_on_mapping", "tag_on_sequence"],
)
def test_yaml_tag_on_collection_is_rejected(old: str, new: str, path: str) -> None:
    text = edit(base_text(), (old, new))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "t.yaml")
    (issue,) = info.value.issues
    assert issue.path == path
    assert "tag" in issue.message


def test_schema_version_boolean_is_rejected() -> None:
    text = edit(base_text(), ("schema_version: 1", "schema_version: true"))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "v.yaml")
    (issue,) = info.value.issues
    assert issue.path == "schema_version"
    assert (issue.line, issue.column) == position(text, "schema_version")


def test_non_string_key_is_located() -> None:
    text = edit(base_text(), ("trials: 10000\n", "trials: 10000\n~: 1\n"))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "k.yaml")
    (issue,) = info.value.issues
    assert (issue.line, issue.column) == position(text, "~: 1")


def test_single_invalid_design_gives_one_issue() -> None:
    text = base_text()
    text = text[: text.index("  - name: basic_level_e")]
    text = edit(text, ("shared_savings_rate: 0.40", "shared_savings_rate: 4.0"))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "d.yaml")
    assert [i.path for i in info.value.issues] == ["designs.0.shared_savings_rate"]


def test_nonexistent_file(tmp_path: Path) -> None:
    f = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    (issue,) = info.value.issues
    assert_issue(issue, str(f), 1, 1, "", "cannot read file")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.column) == (str(tmp_path), 1, 1)
    assert "cannot read file" in issue.message


def test_several_errors_are_all_reported_sorted_by_line() -> None:
    # pydantic reports in field order (seed, trials, population, cost, designs); the file puts
    # designs first, so a correct sort moves its issue to the front.
    text = (
        "schema_version: 1\n"  # 1
        "designs:\n"  # 2
        "  - name: ok\n"  # 3
        "    kind: upside_only\n"  # 4
        "    shared_savings_rate: 0.5\n"  # 5
        "  - name: bad\n"  # 6
        "    kind: two_sided\n"  # 7
        "    shared_savings_rate: 2.0\n"  # 8
        "    shared_loss_rate: 0.5\n"  # 9
        "seed: -1\n"  # 10
        "trials: 0\n"  # 11
        "population: {members: 0}\n"  # 12
        "cost: {pmpm: 100.0, bogus: 1}\n"  # 13
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "many.yaml")
    got = [(i.line, i.column, i.path) for i in info.value.issues]
    assert got == [
        (8, 5, "designs.1.shared_savings_rate"),
        (10, 1, "seed"),
        (11, 1, "trials"),
        (12, 14, "population.members"),
        (13, 21, "cost.bogus"),
    ]
    assert all(i.file == "many.yaml" for i in info.value.issues)
    assert str(info.value).splitlines() == [str(i) for i in info.value.issues]


def test_scenario_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        parse_scenario("[1]")
    assert simsettle.ScenarioError is ScenarioError


# --------------------------------------------------------------------------------------------
# frozen, strict, extra="forbid"


def test_loaded_scenario_is_frozen() -> None:
    sc = load_scenario(BASE_FILE).scenario
    with pytest.raises(ValidationError, match="frozen"):
        sc.seed = 1  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        sc.population.members = 1  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        sc.designs[0].shared_savings_rate = 0.9  # type: ignore[misc]
    assert isinstance(sc.designs, tuple)
    assert isinstance(sc.benchmark.weights, tuple)
    assert sc.seed == 20260101


def test_extra_fields_are_forbidden() -> None:
    with pytest.raises(ValidationError) as info:
        Population(members=10, turnvoer=0.1)  # type: ignore[call-arg]
    assert info.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError):
        StopLoss(attachment=1.0, layer=2)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("kwargs", "error_type"),
    [
        ({"members": "10"}, "int_type"),
        ({"members": 10.0}, "int_type"),
        ({"members": True}, "int_type"),
        ({"members": 10, "turnover": "0.5"}, "float_type"),
        ({"members": 10, "turnover": True}, "float_type"),
    ],
    ids=["int_from_str", "int_from_float", "int_from_bool", "rate_from_str", "rate_from_bool"],
)
def test_models_are_strict(kwargs: dict[str, Any], error_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        Population(**kwargs)
    assert [e["type"] for e in info.value.errors()] == [error_type]


def test_rate_string_in_yaml_is_rejected_even_though_it_would_coerce() -> None:
    text = edit(base_text(), ("  turnover: 0.16", '  turnover: "0.5"'))
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    (issue,) = info.value.issues
    assert_issue(
        issue, "s.yaml", *position(text, "turnover"), "population.turnover", "got the string '0.5'"
    )


def test_cost_cross_field_rule_directly() -> None:
    with pytest.raises(ValidationError):
        Cost(pmpm=1100.0, tail_probability=0.5, tail_threshold=1e6)
    assert Cost(pmpm=1100.0).annual_mean == 13200.0


# --------------------------------------------------------------------------------------------
# TwoSided.min_loss_rate


def test_min_loss_rate_defaults_to_min_savings_rate() -> None:
    d = TwoSided(
        name="d",
        kind="two_sided",
        min_savings_rate=0.02,
        shared_savings_rate=0.5,
        shared_loss_rate=0.3,
    )
    assert d.min_loss_rate is None
    assert d.effective_min_loss_rate == 0.02


@pytest.mark.parametrize(("msr", "mlr"), [(0.01, 0.02), (0.03, 0.015), (0.02, 0.0)])
def test_explicit_min_loss_rate_is_kept(msr: float, mlr: float) -> None:
    d = TwoSided(
        name="d",
        kind="two_sided",
        min_savings_rate=msr,
        min_loss_rate=mlr,
        shared_savings_rate=0.5,
        shared_loss_rate=0.3,
    )
    assert d.min_loss_rate == mlr
    assert d.min_savings_rate == msr
    assert d.effective_min_loss_rate == mlr


def test_min_loss_rate_from_yaml() -> None:
    sc = parse_scenario(
        edit(
            base_text(),
            (
                "    shared_loss_rate: 0.30\n",
                "    shared_loss_rate: 0.30\n    min_loss_rate: 0.01\n",
            ),
        )
    ).scenario
    level_e, enhanced = sc.designs[1], sc.designs[2]
    assert isinstance(level_e, TwoSided)
    assert isinstance(enhanced, TwoSided)
    assert (level_e.min_savings_rate, level_e.effective_min_loss_rate) == (0.02, 0.01)
    assert (enhanced.min_loss_rate, enhanced.effective_min_loss_rate) == (None, 0.02)


# --------------------------------------------------------------------------------------------
# JSON Schema


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == scenario_json_schema_text(), (
        "scenarios/scenario.schema.json is stale; regenerate with "
        "`simsettle schema -o scenarios/scenario.schema.json`"
    )


def test_schema_text_is_the_schema() -> None:
    assert json.loads(scenario_json_schema_text()) == scenario_json_schema()


def _schema_properties() -> list[tuple[str, str, dict[str, Any]]]:
    schema = scenario_json_schema()
    out = [("Scenario", name, prop) for name, prop in schema["properties"].items()]
    for model, sub in schema["$defs"].items():
        out += [(model, name, prop) for name, prop in sub.get("properties", {}).items()]
    return out


def _json_types(prop: dict[str, Any]) -> set[str]:
    types: set[str] = set()
    if isinstance(prop.get("type"), str):
        types.add(prop["type"])
    for alt in prop.get("anyOf", []) + prop.get("oneOf", []):
        types |= _json_types(alt)
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        types |= _json_types(prop["items"])
    return types


SCHEMA_PROPERTIES = _schema_properties()
NUMERIC_PROPERTIES = [p for p in SCHEMA_PROPERTIES if _json_types(p[2]) & {"integer", "number"}]
UNIT_WORDS = ("USD", "fraction", "count", "dimensionless", "year", "month", "1")


def test_schema_walk_sees_every_model() -> None:
    models = {m for m, _, _ in SCHEMA_PROPERTIES}
    assert {
        "Scenario",
        "Population",
        "Cost",
        "Trend",
        "Benchmark",
        "UpsideOnly",
        "TwoSided",
        "StopLoss",
    } <= models
    assert ("TwoSided", "kind") in {(m, n) for m, n, _ in SCHEMA_PROPERTIES}
    assert len(NUMERIC_PROPERTIES) >= 20


@pytest.mark.parametrize(
    ("model", "name", "prop"), SCHEMA_PROPERTIES, ids=[f"{m}.{n}" for m, n, _ in SCHEMA_PROPERTIES]
)
def test_every_schema_property_has_a_description(
    model: str, name: str, prop: dict[str, Any]
) -> None:
    assert isinstance(prop.get("description"), str)
    assert prop["description"].strip()


def _numeric_param(model: str, name: str, prop: dict[str, Any]) -> Any:
    return pytest.param(model, name, prop, id=f"{model}.{name}")


@pytest.mark.parametrize(
    ("model", "name", "prop"), [_numeric_param(*p) for p in NUMERIC_PROPERTIES]
)
def test_numeric_descriptions_state_a_unit(model: str, name: str, prop: dict[str, Any]) -> None:
    description = prop.get("description", "")
    assert any(word in description for word in UNIT_WORDS), description


# --------------------------------------------------------------------------------------------
# property: random mutations never escape as anything but ScenarioError


def _valid_mapping() -> dict[str, Any]:
    data = YAML(typ="safe", pure=True).load(base_text())
    assert isinstance(data, dict)
    return data


BASE_MAPPING = _valid_mapping()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    for key, child in items:
        out.append((*prefix, key))
        out += _paths(child, (*prefix, key))
    return out


ALL_PATHS = _paths(BASE_MAPPING)  # leaves and the mappings/lists above them

_scalars = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=10**18, max_value=10**40),
    st.just(10**30),
    st.floats(min_value=1.0, exclude_min=True),
    st.floats(),
    st.just(math.nan),
    st.text(max_size=12),
    st.sampled_from(["upside_only", "two_sided", "first_dollar", "0.5", "", "kind", "1e400"]),
    st.none(),
    st.booleans(),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=8), inner, max_size=3),
    ),
    max_leaves=6,
)


def _dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutations_fail_only_with_positioned_scenario_errors(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE_MAPPING)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        path = data.draw(st.sampled_from(ALL_PATHS), label="path")
        parent: Any = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced an ancestor
        if data.draw(st.integers(0, 9), label="delete?") == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(_values, label="value")
    text = _dump(doc)
    error: ScenarioError | None = None
    try:
        loaded = parse_scenario(text, "mutated.yaml")
    except ScenarioError as exc:
        error = exc
    if error is None:
        assert isinstance(loaded.scenario, Scenario)
        assert loaded.text == text
        return
    assert error.issues
    n_lines = text.count("\n") + 1
    for issue in error.issues:
        assert issue.file == "mutated.yaml"
        assert 1 <= issue.line <= n_lines, (issue, text)
        assert issue.column >= 1, issue
        assert isinstance(issue.path, str)
        assert issue.message.strip(), issue
    positions = [(i.line, i.column) for i in error.issues]
    assert positions == sorted(positions)
