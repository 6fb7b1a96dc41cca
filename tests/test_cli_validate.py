"""``simsettle validate``, ``schema``, ``version`` and ``--help`` through typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_scenario import BAD_CASES, BASE_FILE, EXAMPLES, ROOT, SCHEMA_FILE, BadCase, edit, position
from typer.testing import CliRunner, Result

import simsettle
from simsettle.cli import app
from simsettle.scenario import scenario_json_schema, scenario_json_schema_text

pytestmark = pytest.mark.cli

COMMANDS = ["validate", "schema", "run", "report", "convert", "compare", "mssp-replay", "version"]
#: Commands whose help puts each example on a line of its own ("report" is left to its owner).
BLOCK_EXAMPLES = [c for c in COMMANDS if c != "report"]


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    # Anything but a clean exit (SystemExit from typer.Exit / click) is an escaped exception.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception,
        result.output,
    )
    for stream in (result.output, result.stdout, result.stderr):
        assert "Traceback" not in stream
    return result


# --------------------------------------------------------------------------------------------
# validate


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_validate_example_exits_0(path: Path) -> None:
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{path}: ok\n"
    assert result.stderr == ""


def test_validate_all_examples_at_once() -> None:
    assert len(EXAMPLES) >= 3
    result = invoke("validate", *map(str, EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"{p}: ok" for p in EXAMPLES]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
def test_validate_bad_file_exits_2_with_positioned_message(case: BadCase, tmp_path: Path) -> None:
    f = case.write(tmp_path)
    result = invoke("validate", str(f))
    assert result.exit_code == 2, result.output
    line, column = case.expected_position()
    prefix = f"{f}:{line}:{column}: " + (f"{case.path}: " if case.path else "")
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(prefix), (prefix, lines[0])
    assert case.fragment in lines[0]
    assert "ok" not in result.stdout


def test_validate_reports_every_issue_sorted(tmp_path: Path) -> None:
    text = edit(
        Path(BASE_FILE).read_text(encoding="utf-8"),
        ("shared_savings_rate: 0.75", "shared_savings_rate: 1.4"),
        ("members: 10000", "members: -5"),
        ("  turnover: 0.16", "  turnvoer: 0.16"),
        ("seed: 20260101", "seed: -1"),
    )
    f = tmp_path / "many.yaml"
    f.write_text(text, encoding="utf-8")
    result = invoke("validate", str(f))
    assert result.exit_code == 2
    expected = [
        (position(text, "seed: -1"), "seed"),
        (position(text, "members: -5"), "population.members"),
        (position(text, "turnvoer"), "population.turnvoer"),
        (position(text, "shared_savings_rate: 1.4"), "designs.2.shared_savings_rate"),
    ]
    got = result.stderr.splitlines()
    assert len(got) == len(expected), result.stderr
    for out, ((line, column), path) in zip(got, expected, strict=True):
        assert out.startswith(f"{f}:{line}:{column}: {path}: "), out


def test_validate_mixed_good_and_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "empty.yaml"
    bad.write_text("", encoding="utf-8")
    result = invoke("validate", str(EXAMPLES[0]), str(bad), str(EXAMPLES[1]))
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [f"{EXAMPLES[0]}: ok", f"{EXAMPLES[1]}: ok"]
    assert result.stderr.startswith(f"{bad}:1:1: a scenario file must be a YAML mapping")


def test_validate_nonexistent_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = invoke("validate", str(missing))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{missing}:1:1: cannot read file")
    assert result.stdout == ""


def test_validate_yaml_tag_is_not_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = edit(
        BASE_FILE.read_text(encoding="utf-8"),
        ("seed: 20260101", f'seed: !!python/object/apply:os.system ["touch {marker}"]'),
    )
    f = tmp_path / "tag.yaml"
    f.write_text(text, encoding="utf-8")
    result = invoke("validate", str(f))
    assert result.exit_code == 2
    line, column = position(text, "!!python")
    assert result.stderr.startswith(f"{f}:{line}:{column}: seed: ")
    assert "tag" in result.stderr
    assert not marker.exists()


def test_validate_unsolvable_cost(tmp_path: Path) -> None:
    text = edit(
        BASE_FILE.read_text(encoding="utf-8"),
        ("tail_probability: 0.056", "tail_probability: 0.5"),
        ("tail_threshold: 66000.0", "tail_threshold: 1e6"),
    )
    f = tmp_path / "cost.yaml"
    f.write_text(text, encoding="utf-8")
    result = invoke("validate", str(f))
    assert result.exit_code == 2
    m = re.fullmatch(rf"{re.escape(str(f))}:(\d+):(\d+): (cost\.tail_\w+): .+\n", result.stderr)
    assert m, result.stderr
    key = m.group(3).split(".")[-1]
    assert key in {"tail_threshold", "tail_probability"}
    assert (int(m.group(1)), int(m.group(2))) == position(text, f"{key}:")


def test_validate_without_files_is_a_usage_error() -> None:
    result = invoke("validate")
    assert result.exit_code == 2
    assert "Missing argument" in result.stderr


def test_validate_with_set_checks_the_override(tmp_path: Path) -> None:
    path = EXAMPLES[0]
    ok = invoke("validate", str(path), "--set", "population.turnover=0.25")
    assert ok.exit_code == 0, ok.output
    assert ok.stdout == f"{path}: ok\n"
    bad = invoke("validate", str(path), "--set", "population.turnover=1.5")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("--set population.turnover=1.5:1:1: population.turnover: ")
    assert bad.stdout == ""


def test_validate_with_set_applies_to_every_file() -> None:
    result = invoke("validate", *map(str, EXAMPLES[:2]), "--set", "seed=-1")
    assert result.exit_code == 2
    assert result.stderr.count("--set seed=-1:1:1: seed: ") == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("population.turnover", "--set: expected KEY.PATH=VALUE"),
        ("=0.2", "--set: expected KEY.PATH=VALUE"),
        ("designs[x].kind=two_sided", "--set: bad field path"),
    ],
)
def test_validate_malformed_set_exits_2(value: str, message: str) -> None:
    result = invoke("validate", str(EXAMPLES[0]), "--set", value)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert result.stdout == ""


def test_validate_checks_every_sweep_value(tmp_path: Path) -> None:
    text = edit(
        Path(BASE_FILE).read_text(encoding="utf-8"),
        (
            "seed: 20260101",
            "seed: 20260101\nsweep:\n  - {path: population.turnover, values: [0.1, 2.0]}",
        ),
    )
    f = tmp_path / "sweep.yaml"
    f.write_text(text, encoding="utf-8")
    result = invoke("validate", str(f))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{f}:"), result.stderr
    assert "turnover = 2.0" in result.stderr
    good = invoke("validate", str(f), "--set", "sweep[0].values=[0.1, 0.2]")
    assert good.exit_code == 0, good.output


# --------------------------------------------------------------------------------------------
# schema


def test_schema_prints_the_json_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0, result.output
    assert result.stdout == scenario_json_schema_text()
    schema = json.loads(result.stdout)
    assert schema == scenario_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    for name in ("seed", "trials", "population", "cost", "trend", "benchmark", "designs"):
        assert name in schema["properties"], name
    assert {"schema_version", "seed", "trials", "population", "cost", "designs"} <= set(
        schema["required"]
    )
    assert schema["additionalProperties"] is False


def test_schema_matches_committed_file() -> None:
    assert invoke("schema").stdout == SCHEMA_FILE.read_text(encoding="utf-8")


def test_schema_output_option_writes_file(tmp_path: Path) -> None:
    out = tmp_path / "scenario.schema.json"
    result = invoke("schema", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert out.read_text(encoding="utf-8") == scenario_json_schema_text()


def test_schema_output_in_a_missing_directory_exits_2(tmp_path: Path) -> None:
    for out, message in [
        (tmp_path / "missing" / "s.json", "does not exist"),
        (tmp_path, "is a directory"),
    ]:
        result = invoke("schema", "-o", str(out))
        assert result.exit_code == 2
        assert message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_schema_write_failure_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", fail)
    out = tmp_path / "s.json"
    result = invoke("schema", "-o", str(out))
    assert result.exit_code == 1
    assert f"{out}: could not write the schema" in result.stderr
    assert list(tmp_path.iterdir()) == []  # written atomically: no partial file is left


def test_schema_descriptions_everywhere() -> None:
    schema = json.loads(invoke("schema").stdout)
    blocks = [("Scenario", schema), *schema["$defs"].items()]
    missing = [
        f"{model}.{name}"
        for model, block in blocks
        for name, prop in block.get("properties", {}).items()
        if not str(prop.get("description", "")).strip()
    ]
    assert missing == []
    assert sum(len(b.get("properties", {})) for _, b in blocks) >= 40


# --------------------------------------------------------------------------------------------
# version and --help


def test_version_prints_package_version() -> None:
    result = invoke("version")
    assert result.exit_code == 0
    assert result.stdout == f"simsettle {simsettle.__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", simsettle.__version__)


def test_top_level_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert "Exit codes: 0 ok, 1 run failure" in result.stdout
    assert "2 usage or validation error" in " ".join(result.stdout.split())
    assert re.search(r"^\s+simsettle compare results.nc", result.stdout, re.MULTILINE)
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.MULTILINE), command


def test_no_arguments_shows_help() -> None:
    result = invoke()
    assert result.exit_code in {0, 2}
    assert "Usage:" in result.output
    assert "validate" in result.output


def _help_param(command: str) -> object:
    return pytest.param(command, id=command)


@pytest.mark.parametrize("command", [_help_param(c) for c in COMMANDS])
def test_subcommand_help_has_example(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: simsettle {command}" in " ".join(result.stdout.split())
    assert "Example:" in result.stdout


@pytest.mark.parametrize("command", BLOCK_EXAMPLES)
def test_help_examples_are_not_rewrapped(command: str) -> None:
    """Each example is on a line of its own, as typed (click's \\b paragraphs)."""
    result = invoke(command, "--help")
    examples = re.findall(rf"^ +(simsettle {command}\b.*)$", result.stdout, re.MULTILINE)
    assert examples, result.stdout
    for line in examples:
        assert not line.endswith(("-o", "--trials", "--by", "--set")), line


def _example_paths(text: str) -> list[str]:
    return re.findall(r"scenarios/[\w./-]+\.ya?ml", text)


def test_help_examples_name_existing_scenarios() -> None:
    named: set[str] = set()
    for args in (["--help"], *[[c, "--help"] for c in COMMANDS]):
        named.update(_example_paths(" ".join(invoke(*args).stdout.split())))
    assert named, "no help example names a scenario file"
    missing = sorted(p for p in named if "*" not in p and not (ROOT / p).is_file())
    assert missing == []
