"""Fuzzing the scenario loader: hostile files end in positioned ScenarioErrors, never elsewhere.

Every case starts from the example scenarios and is broken at the level of the data, the text or
the bytes (:mod:`simsettle.testing.fuzz`). The loader must either return a valid scenario whose
numbers are finite, within their fields' bounds and exactly the ones written (no coercion), or
raise a :class:`ScenarioError` whose every issue names the file, a line and column inside the
text, the field path and a message (:func:`simsettle.testing.fuzz.check_outcome`); anything
else -- another exception, a case slower than the deadline -- fails. The default run tries a few
hundred cases per strategy; ``-m slow`` adds the long runs (thousands). The numbers tried are
counted in ``FUZZ_COUNTS`` and printed in the terminal summary ("generated cases").
"""

from __future__ import annotations

import copy
import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from simsettle import ScenarioError, load_scenario, parse_scenario
from simsettle.scenario import io as scenario_io
from simsettle.scenario.paths import PathError, parse_override
from simsettle.scenario.templates import template_names
from simsettle.testing.fuzz import (
    HOSTILE_TOKENS,
    TAG_FORMS,
    _check_bounds,
    _dump,
    _same,
    alias_bomb,
    assert_issues,
    byte_mutations,
    check_outcome,
    data_mutations,
    deep_nesting,
    hostile_values,
    plain_data,
    text_mutations,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))
BASES = [p.read_text(encoding="utf-8") for p in EXAMPLES]
MSSP = (ROOT / "scenarios" / "examples" / "mssp_style.yaml").read_text(encoding="utf-8")

#: Cases tried per strategy in this session (read by conftest's terminal summary).
FUZZ_COUNTS: Counter[str] = Counter()

#: Each case must finish within this (hypothesis fails a slower one, twice in a row). Cases take
#: tens of milliseconds; the margin is for shared CI machines, where one 50 ms case was seen to
#: take 3.7 s once (a scheduling stall, not the loader). A true hang is pytest-timeout's to catch.
DEADLINE = timedelta(seconds=10)
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def _run(name: str, n: int, make: Callable[[Any], Callable[[], None]]) -> None:
    """Run the hypothesis test ``make(settings)`` for ``n`` examples and check the count."""
    before = FUZZ_COUNTS[name]
    test = make(settings(max_examples=n, deadline=DEADLINE, suppress_health_check=_HEALTH))
    test()
    tried = FUZZ_COUNTS[name] - before
    # Hypothesis may stop a little short when it runs out of new inputs; never far short.
    assert tried >= 0.8 * n, (name, tried, n)


#: Of those, how many loaded and how many were refused.
FUZZ_OUTCOMES: Counter[str] = Counter()


def _tally(name: str, result: object) -> None:
    FUZZ_OUTCOMES[f"{name}: {'refused' if isinstance(result, ScenarioError) else 'loaded'}"] += 1


def _parse(text: str, name: str) -> None:
    FUZZ_COUNTS[name] += 1
    _tally(name, check_outcome(lambda: parse_scenario(text, "fuzz.yaml"), text, "fuzz.yaml"))


# --------------------------------------------------------------------------------------------
# the strategies


def _data(config: Any) -> Callable[[], None]:
    @config
    @given(text=data_mutations(BASES))
    def inner(text: str) -> None:
        _parse(text, "data mutations")

    return inner


def _text(config: Any) -> Callable[[], None]:
    @config
    @given(text=text_mutations(BASES))
    def inner(text: str) -> None:
        _parse(text, "text mutations")

    return inner


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _bytes(directory: Path) -> Callable[[Any], Callable[[], None]]:
    def make(config: Any) -> Callable[[], None]:
        @config
        @given(raw=byte_mutations(BASES))
        def inner(raw: bytes) -> None:
            FUZZ_COUNTS["byte mutations (load_scenario)"] += 1
            f = directory / "bytes.yaml"
            f.write_bytes(raw)
            try:
                text: str | None = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            _tally(
                "byte mutations (load_scenario)",
                check_outcome(lambda: load_scenario(f), text, str(f)),
            )

        return inner

    return make


# Contradictory and out-of-range designs, each with the field an error must name.
_DESIGN_BREAKS: list[tuple[str, Any, str]] = [
    ("savings_cap", -0.1, "savings_cap"),
    ("savings_cap", 1.5, "savings_cap"),
    ("loss_cap", -0.01, "loss_cap"),
    ("shared_savings_rate", 1.01, "shared_savings_rate"),
    ("shared_savings_rate", -0.2, "shared_savings_rate"),
    ("min_savings_rate", math.nan, "min_savings_rate"),
    ("min_savings_rate", math.inf, "min_savings_rate"),
    ("sequestration", 2, "sequestration"),
    ("discount", 1.0, "discount"),
    ("variable_msr_below", 10**12, "variable_msr_below"),
    ("below_msr_min_members", -1, "below_msr_min_members"),
    ("performance_year", 1900, "performance_year"),
]


def _valid_bands(ends: list[float | None], shares: list[float]) -> bool:
    """Whether bands with these ends and shares are valid: shares in [0, 1]; every end but the
    last's given, finite, in (0, 10] and increasing; the last's omitted or the same."""
    if not all(0.0 <= s <= 1.0 for s in shares):
        return False
    previous = 0.0
    for k, end in enumerate(ends):
        if end is None:
            if k != len(ends) - 1:
                return False
            continue
        if math.isnan(end) or not previous < end <= 10.0:
            return False
        previous = end
    return True


@st.composite
def _contradiction(draw: st.DrawFn) -> tuple[str, str | None]:
    """(scenario text, the field path an error must name, or None when it may be valid)."""
    doc = plain_data(MSSP)
    designs = doc["designs"]
    i = draw(st.integers(0, len(designs) - 1), label="design")
    d = designs[i]
    kind = draw(
        st.sampled_from(
            ["field", "bands", "loss_on_upside", "template", "both_rates", "quality", "weights"]
        )
    )
    where: str | None = None
    if kind == "field":
        field, value, name = draw(st.sampled_from(_DESIGN_BREAKS))
        if field == "loss_cap" and d["kind"] != "two_sided":
            d["kind"], d["shared_loss_rate"] = "two_sided", 0.3
        d[field] = value
        where = f"designs.{i}.{name}"
    elif kind == "bands":
        # Corridor bands: ends drawn freely, so they may overlap (decrease), repeat, leave the
        # open band in the middle or go out of range.
        n = draw(st.integers(1, 5))
        ends = draw(
            st.lists(
                st.none() | st.floats(-0.1, 0.6, allow_nan=False) | st.just(math.nan),
                min_size=n,
                max_size=n,
            )
        )
        shares = draw(st.lists(st.floats(-0.2, 1.2, allow_nan=False), min_size=n, max_size=n))
        key = draw(st.sampled_from(["savings_bands", "loss_bands"]))
        d.pop("shared_savings_rate" if key == "savings_bands" else "shared_loss_rate", None)
        d[key] = [
            {"share": s} if e is None else {"up_to": e, "share": s}
            for e, s in zip(ends, shares, strict=True)
        ]
        if not _valid_bands(ends, shares) or (key == "loss_bands" and d["kind"] != "two_sided"):
            where = f"designs.{i}.{key}"
    elif kind == "loss_on_upside":
        d["kind"] = "upside_only"
        for k in ("shared_loss_rate", "loss_cap", "min_loss_rate", "loss_bands", "loss_reduction"):
            d.pop(k, None)
        field = draw(
            st.sampled_from(["shared_loss_rate", "loss_cap", "min_loss_rate", "loss_reduction"])
        )
        d[field] = 0.3
        where = f"designs.{i}.{field}"
    elif kind == "template":
        name = draw(st.sampled_from([*template_names(), "no_such_template"]) | st.text(max_size=20))
        designs[i] = {"name": d["name"], "template": name}
        if draw(st.booleans()):
            designs[i]["performance_year"] = draw(st.integers(1800, 2300))
        if name not in template_names():
            where = f"designs.{i}.template"
    elif kind == "both_rates":
        d["savings_bands"] = [{"share": 0.5}]
        where = f"designs.{i}.shared_savings_rate"
    elif kind == "quality":
        d["kind"] = "two_sided"
        d.pop("shared_loss_rate", None)
        floor = draw(st.floats(0.0, 1.0, allow_nan=False))
        ceiling = draw(st.floats(0.0, 1.0, allow_nan=False))
        d["quality"] = {"loss_rate": {"floor": floor, "ceiling": ceiling}}
        if floor > ceiling:
            where = f"designs.{i}.quality.loss_rate.floor"
    else:
        weights = draw(st.lists(st.floats(-1.0, 2.0, allow_nan=False), min_size=1, max_size=4))
        doc["benchmark"]["weights"] = weights
        if any(w < 0 or w > 1 for w in weights) or abs(math.fsum(weights) - 1.0) > 1e-9:
            where = "benchmark.weights"
    return _dump(doc), where


def _contradictions(config: Any) -> Callable[[], None]:
    @config
    @given(case=_contradiction())
    def inner(case: tuple[str, str | None]) -> None:
        FUZZ_COUNTS["contradictions"] += 1
        text, where = case
        result = check_outcome(lambda: parse_scenario(text, "c.yaml"), text, "c.yaml")
        _tally("contradictions", result)
        if where is not None:
            assert isinstance(result, ScenarioError), (where, text)
            paths = [i.path for i in result.issues]
            assert any(p == where or p.startswith(where + ".") for p in paths), (where, paths)

    return inner


@st.composite
def _structural(draw: st.DrawFn) -> str:
    """Documents built to exhaust a naive loader: deep nesting, alias bombs, many keys."""
    kind = draw(st.sampled_from(["nesting", "bomb", "wide", "many_aliases"]))
    if kind == "nesting":
        depth = draw(st.integers(1, 5000))
        return f"schema_version: 1\nseed: {deep_nesting(depth, draw(st.booleans()))}\n"
    if kind == "bomb":
        levels, fanout = draw(st.integers(2, 20)), draw(st.integers(2, 30))
        return alias_bomb(levels, fanout) + f"designs: *l{levels - 1}\n"
    if kind == "wide":
        n = draw(st.integers(1, 3000))
        return "schema_version: 1\n" + "".join(f"k{i}: {i}\n" for i in range(n))
    n = draw(st.integers(1, 2000))
    return "a: &a {x: 1}\nb: [" + ", ".join(["*a"] * n) + "]\n"


def _structures(config: Any) -> Callable[[], None]:
    @config
    @given(text=_structural())
    def inner(text: str) -> None:
        _parse(text, "nesting, aliases and width")

    return inner


_OVERRIDE_KEYS = (
    "population",
    "turnover",
    "members",
    "designs",
    "*",
    "[0]",
    "[2]",
    "[99]",
    "enhanced",
    "basic_level_e",
    "stop_loss",
    "attachment",
    "quality",
    "loss_rate",
    "benchmark",
    "weights",
    "trials",
    "seed",
    "sweep",
    "nope",
    "",
)


@st.composite
def _override_case(draw: st.DrawFn) -> str:
    """A ``--set PATH=VALUE`` argument: paths made of real and wrong keys, indices and
    wildcards; values hostile YAML (the loader's tokens, dumped hostile data) or random text."""
    parts = draw(st.lists(st.sampled_from(_OVERRIDE_KEYS) | st.text(max_size=6), max_size=5))
    path = ".".join(parts).replace(".[", "[")
    value = draw(
        st.sampled_from(HOSTILE_TOKENS[:80]).map(lambda t: t.replace("\n", " "))
        | hostile_values().map(lambda v: _dump(v).strip().replace("\n", " "))
        | st.text(max_size=30)
    )
    return f"{path}={value}"


def _overrides(config: Any) -> Callable[[], None]:
    @config
    @given(arg=_override_case())
    def inner(arg: str) -> None:
        FUZZ_COUNTS["--set overrides"] += 1
        name = "--set overrides"
        try:
            override = parse_override(arg)
        except PathError as exc:
            message = str(exc)
            assert message.strip()
            FUZZ_OUTCOMES[f"{name}: refused by parse_override"] += 1
            return
        try:
            loaded = parse_scenario(MSSP, "o.yaml", [override])
        except ScenarioError as exc:
            assert_issues(exc, MSSP, "o.yaml", origins=[override.origin])
            FUZZ_OUTCOMES[f"{name}: refused"] += 1
            return
        _check_bounds(loaded.scenario, "")
        FUZZ_OUTCOMES[f"{name}: loaded"] += 1

    return inner


def _cli(directory: Path) -> Callable[[Any], Callable[[], None]]:
    from simsettle.cli import app

    def make(config: Any) -> Callable[[], None]:
        @config
        @given(text=text_mutations(BASES) | data_mutations(BASES))
        def inner(text: str) -> None:
            FUZZ_COUNTS["simsettle validate (CLI)"] += 1
            f = directory / "cli.yaml"
            f.write_text(text, encoding="utf-8", errors="surrogateescape")
            result = CliRunner().invoke(app, ["validate", str(f)])
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                result.exception
            )
            assert "Traceback" not in result.output
            assert result.exit_code in (0, 2), result.output
            FUZZ_OUTCOMES[f"simsettle validate (CLI): exit {result.exit_code}"] += 1
            if result.exit_code == 0:
                assert result.stdout == f"{f}: ok\n"
                return
            lines = result.stderr.splitlines()
            assert lines, result.output
            pattern = re.compile(rf"^{re.escape(str(f))}:\d+:\d+: \S")
            for line in lines:
                assert pattern.match(line), line

        return inner

    return make


# --------------------------------------------------------------------------------------------
# the runs: a few hundred cases per strategy by default, thousands with -m slow

STRATEGIES: list[tuple[str, str, int]] = [
    ("data", "data mutations", 300),
    ("text", "text mutations", 400),
    ("bytes", "byte mutations (load_scenario)", 150),
    ("contradictions", "contradictions", 250),
    ("structures", "nesting, aliases and width", 100),
    ("overrides", "--set overrides", 150),
    ("cli", "simsettle validate (CLI)", 60),
]
LONG = 10


def _maker(key: str, directory: Path) -> Callable[[Any], Callable[[], None]]:
    return {
        "data": _data,
        "text": _text,
        "bytes": _bytes(directory),
        "contradictions": _contradictions,
        "structures": _structures,
        "overrides": _overrides,
        "cli": _cli(directory),
    }[key]


@pytest.mark.parametrize(("key", "name", "n"), STRATEGIES, ids=[s[0] for s in STRATEGIES])
def test_fuzz(key: str, name: str, n: int, fuzz_dir: Path) -> None:
    _run(name, n, _maker(key, fuzz_dir))


@pytest.mark.slow
@pytest.mark.parametrize(("key", "name", "n"), STRATEGIES, ids=[s[0] for s in STRATEGIES])
def test_fuzz_long(key: str, name: str, n: int, fuzz_dir: Path) -> None:
    _run(name, n * LONG, _maker(key, fuzz_dir))


# --------------------------------------------------------------------------------------------
# regressions: the bugs the fuzzing found, one case each


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "r.yaml")
    assert_issues(info.value, text, "r.yaml")
    return info.value


def _one(text: str) -> Any:
    (issue,) = _error(text).issues
    return issue


def _mssp(old: str, new: str) -> str:
    assert MSSP.count(old) == 1, old
    return MSSP.replace(old, new)


@pytest.mark.parametrize("depth", [40, 1000, 5000])
@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_deep_nesting_is_refused_at_its_place(depth: int, flow: bool) -> None:
    # Was: RecursionError from ruamel's composer (flow 1000+, block 3000+).
    issue = _one(f"schema_version: 1\nseed: {deep_nesting(depth, flow)}\n")
    assert "nested more than" in issue.message
    assert issue.path.startswith("seed")


def test_integer_too_long_to_convert() -> None:
    # Was: ValueError "Exceeds the limit (4300 digits) for integer string conversion".
    issue = _one(_mssp("seed: 20260101", "seed: " + "9" * 5000))
    assert "too long" in issue.message
    assert (issue.line, issue.column) == (13, 7)


def test_huge_integer_message_is_short() -> None:
    issue = _one(_mssp("pmpm: 1100.0", "pmpm: " + "9" * 400))
    assert issue.path == "cost.pmpm"
    assert "an integer of 400 digits" in issue.message
    assert len(issue.message) < 200


def test_whole_number_in_a_float_field_is_its_nearest_float() -> None:
    # Was: the long data fuzz run failed its own oracle on "attachment: 10**30", which the
    # loader (rightly) holds as 1e30 -- the nearest float64, as for any decimal literal.
    base = (ROOT / "scenarios" / "examples" / "commercial_stop_loss.yaml").read_text("utf-8")
    text = base.replace("attachment: 250000.0", "attachment: 1" + "0" * 30)
    loaded = check_outcome(lambda: parse_scenario(text, "r.yaml"), text, "r.yaml")
    assert not isinstance(loaded, ScenarioError)
    design = next(d for d in loaded.scenario.designs if d.stop_loss is not None)
    assert design.stop_loss is not None
    assert design.stop_loss.attachment == 1e30
    # The oracle still catches a value that is not the one written.
    wrong = text.replace("attachment: 1" + "0" * 30, "attachment: 250001.0")
    with pytest.raises(AssertionError, match="attachment"):
        _same(scenario_io._yaml().load(wrong), loaded.scenario, "")


def test_alias_bomb_is_refused_quickly() -> None:
    # Was: 30 s and gigabytes to validate 10**7 expanded values.
    text = alias_bomb(9, 10) + "designs: *l8\n"
    start = time.perf_counter()
    issue = _one(text)
    assert time.perf_counter() - start < 2.0
    assert "50,000 values" in issue.message


def test_aliases_within_the_limit_still_work() -> None:
    text = _mssp(
        "    shared_savings_rate: 0.75\n    shared_loss_rate: 0.40\n",
        "    savings_bands: &bands [{up_to: 0.05, share: 0.5}, {share: 0.3}]\n"
        "    loss_bands: *bands\n",
    )
    d = parse_scenario(text, "a.yaml").scenario.designs[2]
    assert d.savings_bands == d.loss_bands


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "a: &a {b: *a}\n", "designs: &d [{quality: *d}]\n"],
    ids=["list", "mapping", "nested"],
)
def test_recursive_alias_is_refused(text: str) -> None:
    # Was: silently read as null (`quality: *d` inside the anchored design became None).
    issue = _one(text)
    assert "recursive" in issue.message


def test_recursive_alias_in_a_design_is_not_null() -> None:
    text = _mssp(
        "  - name: basic_one_sided\n",
        "  - &dd\n    name: basic_one_sided\n    quality: *dd\n",
    )
    issue = _one(text)
    assert issue.path == "designs.0.quality"


def test_anchor_defined_twice() -> None:
    # Was: a ReusedAnchorWarning (an error under -W error) and the later value silently used.
    issue = _one(_mssp("trials: 10000", "trials: &t 10000\nx_other: &t 1"))
    assert "defined twice" in issue.message


def test_anchored_boolean_is_not_an_integer() -> None:
    # Was: `trials: &t true` loaded as trials = 1, `shared_savings_rate: &q true` as 1.0.
    issue = _one(_mssp("trials: 10000", "trials: &t true"))
    assert issue.path == "trials"
    assert "boolean" in issue.message
    issue = _one(_mssp("shared_savings_rate: 0.40", "shared_savings_rate: &q true"))
    assert issue.path == "designs.0.shared_savings_rate"


def test_merge_key_errors_are_located() -> None:
    # Was: KeyError from locate() for a field that came from a `<<` merge.
    text = _mssp("designs:\n", "x_common: &c {shared_savings_rate: 3.0}\ndesigns:\n")
    text = text.replace(
        "  - name: basic_one_sided\n", "  - <<: *c\n    name: basic_one_sided\n", 1
    ).replace("    shared_savings_rate: 0.40\n", "", 1)
    issues = _error(text).issues
    rate = next(i for i in issues if i.path == "designs.0.shared_savings_rate")
    # At the merged value's own place, in the anchored mapping.
    start = text.index("shared_savings_rate: 3.0")
    line = text.count("\n", 0, start) + 1
    assert (rate.line, rate.column) == (line, start - text.rfind("\n", 0, start))


@pytest.mark.parametrize("directive", ["%YAML 1.1", "%YAML 1.3", "%YAML 2.0"])
def test_yaml_directive_other_than_1_2(directive: str) -> None:
    # Was: 1.1 silently read `yes` as true and `1:20` as 80; 1.3 raised an AssertionError.
    issue = _one(f"{directive}\n---\n{MSSP}")
    assert issue.message.startswith("%YAML") or issue.message.startswith("not valid YAML")
    assert issue.line == 1


@pytest.mark.parametrize("value", ["2026-02-30", "2026-01-01T25:00:00"])
def test_invalid_dates_are_text(value: str) -> None:
    # Was: ValueError "day is out of range for month" from ruamel's timestamp constructor.
    issue = _one(_mssp("first_performance_year: 2026", f"first_performance_year: {value}"))
    assert issue.path == "first_performance_year"
    assert f"got the string '{value}'" in issue.message


@pytest.mark.parametrize("char", ["\x00", "\x07", "\ud800"])
def test_unreadable_character_is_located(char: str) -> None:
    # Was: reported at 1:1 with the parser's "position 888" in the message.
    issue = _one(_mssp("seed:", f"se{char}ed:"))
    assert (issue.line, issue.column) == (13, 3)


def test_lone_surrogate_in_text() -> None:
    # Was: loaded; then the scenario's name could not be written into the results.
    issue = _one(_mssp("name: MSSP-style ACO, 10,000 beneficiaries", 'name: "MSSP \\ud800"'))
    assert "surrogate" in issue.message
    assert issue.path == "name"


def test_cost_targets_that_overflow_the_solver() -> None:
    # Was: OverflowError (pmpm 1e400 digits) and ZeroDivisionError (pmpm 5e-324) escaping
    # the model validator.
    base = plain_data((ROOT / "scenarios" / "examples" / "cost_by_moments.yaml").read_text())
    for pmpm in (10**400, 5e-324, 1e300):
        doc = copy.deepcopy(base)
        doc["cost"]["pmpm"] = pmpm
        issue = _error(_dump(doc)).issues[0]
        assert issue.path.startswith("cost.")


@pytest.mark.parametrize(
    "axis",
    [
        "{path: population.turnover, start: .inf, stop: 1, step: 0.1}",
        "{path: population.turnover, start: .nan, stop: 1, step: 0.1}",
        "{path: population.turnover, start: 0, stop: 1, step: .inf}",
        "{path: population.turnover, start: 0, stop: 1e308, step: 1e-308}",
        "{path: population.turnover, start: 0, stop: 1, step: 1e-300}",
        "{path: population.turnover, values: [.nan, 0.1]}",
    ],
)
def test_sweep_grid_must_be_finite(axis: str) -> None:
    # Was: OverflowError (start .inf, a 1e616-value grid), a grid of (nan,) for step .inf, and
    # "cannot convert float NaN to integer".
    issue = _error(MSSP + f"sweep:\n  - {axis}\n").issues[0]
    assert issue.path.startswith("sweep.0")
    assert "nan" not in issue.message.lower() or "finite" in issue.message


def test_unbounded_member_counts_are_bounded() -> None:
    issue = _one(
        _mssp(
            "shared_savings_rate: 0.40",
            "shared_savings_rate: 0.40\n    variable_msr_below: " + "1" + "0" * 30,
        )
    )
    assert issue.path == "designs.0.variable_msr_below"


def test_override_of_an_aliased_value_changes_one_place() -> None:
    # Was: --set designs.x.loss_bands[0].share=0.9 also changed savings_bands (one object).
    text = _mssp(
        "    shared_savings_rate: 0.75\n    shared_loss_rate: 0.40\n",
        "    savings_bands: &bands [{up_to: 0.05, share: 0.5}, {share: 0.3}]\n"
        "    loss_bands: *bands\n",
    )
    over = parse_override("designs.enhanced.loss_bands[0].share=0.9")
    d = parse_scenario(text, "a.yaml", [over]).scenario.designs[2]
    assert d.savings_bands[0].share == 0.5
    assert d.loss_bands[0].share == 0.9


def test_override_tag_anywhere_is_refused() -> None:
    for arg in ("x=[1, !!binary aGk=]", "x={a: !custom 1}"):
        with pytest.raises(PathError, match="tags are not allowed"):
            parse_override(arg)


def test_messages_are_one_printable_line() -> None:
    # A duplicate key's message quotes the values; a key with a newline names the path.
    text = _mssp("seed: 20260101", 'seed: 20260101\ndescription: "a\\ud800"\ndescription: x')
    _error(text)
    text = _mssp("seed: 20260101", 'seed: 20260101\n"bad\\nkey": 1')
    issue = _one(text)
    assert "\n" not in str(issue)


# --------------------------------------------------------------------------------------------
# file size and unreadable files


def test_file_over_the_limit_is_refused_without_parsing(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_bytes(b"# " + b"x" * scenario_io.MAX_FILE_BYTES + b"\n")
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert time.perf_counter() - start < 1.0
    (issue,) = info.value.issues
    assert "limited to" in issue.message
    with pytest.raises(ScenarioError, match="limited to"):
        parse_scenario(f.read_text(), "big.yaml")


@pytest.mark.parametrize(
    "body",
    [
        "# " + "x" * 1_000_000 + "\n",  # a comment
        "description: '" + "x" * 1_000_000 + "'\n",  # one long string
        "a: [" + "0, " * 60_000 + "]\n",  # many values: refused at the node limit
        "".join(f"k{i}: {i}\n" for i in range(60_000)),  # many keys
    ],
    ids=["comment", "long_string", "many_values", "many_keys"],
)
def test_largest_files_finish_in_bounded_time(body: str) -> None:
    text = "schema_version: 1\n" + body
    assert len(text.encode()) <= scenario_io.MAX_FILE_BYTES
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "large.yaml")
    assert_issues(info.value, text, "large.yaml")
    assert time.perf_counter() - start < 30.0


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_device_is_not_read_forever() -> None:
    # Was: read_bytes() of /dev/zero (st_size 0) never returned.
    with pytest.raises(ScenarioError, match="limited to"):
        load_scenario("/dev/zero")


def test_path_with_nul_character() -> None:
    # Was: ValueError "embedded null byte" from os.stat.
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario("bad\x00name.yaml")


# --------------------------------------------------------------------------------------------
# tags: every form refused, nothing constructed


@pytest.mark.parametrize("form", TAG_FORMS)
@pytest.mark.parametrize("where", ["value", "item", "key", "document"])
def test_tag_forms_are_refused_and_never_run(form: str, where: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    tag = form.format(marker=marker)
    head = "%TAG !e! tag:example.com,2000:\n---\n" if "!e!" in tag else ""
    if where == "value":
        text = head + _mssp("seed: 20260101", f"seed: {tag}")
    elif where == "item":
        text = head + _mssp("weights: [0.1, 0.3, 0.6]", f"weights: [0.1, {tag}, 0.6]")
    elif where == "key":
        text = head + _mssp("trials: 10000", f"? {tag}\n: 1\ntrials: 10000")
    else:
        text = (head or "") + f"--- {tag}\n"
    f = tmp_path / "tag.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert_issues(info.value, text, str(f))
    assert any("tag" in i.message for i in info.value.issues), info.value
    assert not marker.exists()
