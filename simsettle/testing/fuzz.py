"""Hostile scenario files for fuzzing the loader, and the assertions every outcome must pass.

The strategies start from valid scenario texts (the caller's; the tests use
``scenarios/examples``) and break them: at the level of the parsed data (a hostile value at a
random field path, a deleted or unknown key), of the text (a hostile YAML token for a value,
deleted, duplicated or re-indented lines, tags, anchors and aliases, deep nesting, directives,
stray characters, truncation) and of the bytes (invalid UTF-8, byte-order marks, NUL bytes).

:func:`check_outcome` states what the loader must do with any of them: return a valid
:class:`~simsettle.scenario.LoadedScenario` whose every number is finite and within its field's
declared bounds and whose every value is the one written in the file (no coercion), or raise
:class:`~simsettle.errors.ScenarioError` whose every issue names the file, a line and column
inside the text, a field path (empty only for problems of the file as a whole) and a message.
Any other exception fails the test that calls it.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel
from ruamel.yaml import YAML

from simsettle.errors import ScenarioError
from simsettle.scenario._base import printable
from simsettle.scenario.contracts import DESIGN_KINDS
from simsettle.scenario.io import INTERNAL_ERROR, LoadedScenario, _yaml

__all__ = [
    "FILE_LEVEL_MESSAGES",
    "HOSTILE_TOKENS",
    "TAG_FORMS",
    "alias_bomb",
    "assert_issues",
    "assert_valid",
    "byte_mutations",
    "check_outcome",
    "data_mutations",
    "deep_nesting",
    "hostile_values",
    "line_count",
    "plain_data",
    "text_mutations",
]

#: YAML source tokens put in place of a value: out-of-range and non-finite numbers, numbers
#: written as text, YAML 1.1 spellings, dates, tags, anchors and aliases, escapes.
HOSTILE_TOKENS: tuple[str, ...] = (
    ".nan",
    ".NaN",
    ".inf",
    "-.inf",
    "+.inf",
    "1e400",
    "-1e400",
    "1e-400",
    "5e-324",
    "1.7976931348623157e308",
    "-0.0",
    "0",
    "-1",
    "-5",
    "1.5",
    "2",
    "100",
    "9223372036854775808",
    "-9223372036854775809",
    "9" * 40,
    "9" * 400,
    "9" * 5000,
    "0x7fffffffffffffffffff",
    "0o777",
    "0b101",
    "1_000",
    "0777",
    "+.5",
    "1.",
    "'0.5'",
    '"0.5"',
    '"1e400"',
    "'true'",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "null",
    "~",
    "''",
    "[]",
    "{}",
    "[1, 2]",
    "{a: 1}",
    "2026-02-30",
    "2026-01-01",
    "2026-01-01T25:00:00",
    "12:30:00",
    "1:20",
    *DESIGN_KINDS,
    "mssp_enhanced",
    "no_such_template",
    "!!python/object/apply:os.system ['true']",
    "!!python/name:os.system",
    "!!float '0.5'",
    "!!int '7'",
    "!!str 0.5",
    "!!binary aGVsbG8=",
    "!!timestamp 2026-01-01",
    "!custom 1",
    "! 0.5",
    "&anchor 0.5",
    "*undefined",
    '"\\x00"',
    '"\\ud800"',
    '"\\u2028"',
    "|\n  block text",
    ">-\n  folded",
    "'" + "x" * 70_000 + "'",
    "[" * 50 + "]" * 50,
    "{a: " * 40 + "1" + "}" * 40,
)

#: Forms of YAML tags, each of which a scenario must refuse without constructing anything.
TAG_FORMS: tuple[str, ...] = (
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/object:os.system {{}}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/tuple [1, 2]",
    "!!python/bytes aGk=",
    "!!python/str x",
    "!!binary aGVsbG8=",
    "!!set {{a, b}}",
    "!!omap [{{a: 1}}]",
    "!!pairs [{{a: 1}}]",
    "!!timestamp 2026-01-01",
    "!!float '0.5'",
    "!!int '1'",
    "!!bool 'true'",
    "!!null ''",
    "!!str 0.5",
    "!!map {{a: 1}}",
    "!!seq [1]",
    "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']",
    "!<tag:yaml.org,2002:float> 0.5",
    "!custom 0.5",
    "!e!thing 0.5",
    "! 0.5",
    "&a !!python/object/apply:os.system ['touch {marker}']",
)

#: Messages of issues about the file as a whole (their field path may be empty).
FILE_LEVEL_MESSAGES: tuple[str, ...] = (
    "not valid YAML",
    "a scenario file must be a YAML mapping",
    "file is ",
    "not a UTF-8 text file",
    "contains NUL bytes",
    "cannot read file",
    "%YAML",
    "the document holds more than",
    "nested more than",
    "YAML tag",
    "anchor &",
    "alias *",
    "keys must be text",
    "text contains",
)

_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def line_count(text: str) -> int:
    """Lines of ``text`` as YAML counts them (CR LF, CR, LF, NEL, LS and PS break lines)."""
    return len(_BREAKS.findall(text)) + 1


def plain_data(text: str) -> Any:
    """``text`` (a valid scenario) as plain Python data."""
    return YAML(typ="safe", pure=True).load(text)


def _dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


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


def _deep(depth: int, leaf: Any = 1) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def hostile_values() -> st.SearchStrategy[Any]:
    """Python values for a field: wrong types, out-of-range, non-finite and huge numbers, numbers
    as text, long strings, nested collections."""
    scalars = st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=2**31, max_value=2**70),
        st.integers(min_value=10**30, max_value=10**300),
        st.floats(),
        st.sampled_from([math.nan, math.inf, -math.inf, 5e-324, 1e308, -0.0, 0.0, 1.0, 2.0]),
        st.text(max_size=20),
        st.sampled_from(["0.5", "1e400", ".nan", "true", "", "upside_only", "mssp_enhanced"]),
        st.just("x" * 20_000),
        st.none(),
        st.booleans(),
    )
    return st.one_of(
        st.recursive(
            scalars,
            lambda inner: st.one_of(
                st.lists(inner, max_size=3),
                st.dictionaries(st.text(max_size=8), inner, max_size=3),
            ),
            max_leaves=6,
        ),
        st.integers(1, 60).map(_deep),
    )


@st.composite
def data_mutations(draw: st.DrawFn, bases: Sequence[str]) -> str:
    """A valid scenario's data with 1 to 4 changes (a hostile value at a random path, a deleted,
    unknown or misspelt key), dumped as YAML."""
    import copy

    doc = copy.deepcopy(plain_data(draw(st.sampled_from(list(bases)), label="base")))
    for _ in range(draw(st.integers(1, 4), label="changes")):
        paths = _paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths), label="path")
        parent: Any = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        action = draw(
            st.sampled_from(
                ["value", "value", "value", "nudge", "nudge", "delete", "unknown", "typo"]
            )
        )
        old = parent[key]
        if action == "nudge" and isinstance(old, int | float) and not isinstance(old, bool):
            # A nearby number of the same type: mostly still valid, so the "loaded" branch
            # (every value exactly as written, within bounds) is exercised too.
            factor = draw(st.sampled_from([0.0, 0.5, 0.9, 0.999, 1.001, 1.1, 2.0]))
            parent[key] = (
                type(old)(old * factor)
                if isinstance(old, float)
                else old + draw(st.integers(-3, 3))
            )
        elif action == "delete" and isinstance(parent, dict):
            del parent[key]
        elif action == "unknown" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=12), label="new key")] = draw(hostile_values())
        elif action == "typo" and isinstance(parent, dict) and isinstance(key, str) and key:
            i = draw(st.integers(0, len(key) - 1))
            parent[key[:i] + key[i + 1 :] or "x"] = parent.pop(key)
        else:
            parent[key] = draw(hostile_values(), label="value")
    return _dump(doc)


_VALUE_LINE = re.compile(r"^(\s*(?:- )?[A-Za-z_][\w]*:)[ \t]+(\S.*)$")


def deep_nesting(depth: int, flow: bool) -> str:
    """A value nested ``depth`` lists deep, as YAML flow or block text."""
    if flow:
        return "[" * depth + "1" + "]" * depth
    return "\n  " + "- " * depth + "1"  # compact block lists: each "- " opens one


def alias_bomb(levels: int, fanout: int) -> str:
    """A mapping of ``levels`` anchored lists, each holding ``fanout`` aliases of the one
    before: ``fanout ** levels`` values once expanded ("billion laughs")."""
    lines = [f"l0: &l0 [{', '.join(['1'] * fanout)}]"]
    for k in range(1, levels):
        lines.append(f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


_TEXT_OPS = (
    "token",
    "token",
    "token",
    "delete_line",
    "duplicate_line",
    "swap_lines",
    "indent",
    "unknown_key",
    "truncate",
    "insert_chars",
    "bom",
    "directive",
    "documents",
    "nesting",
    "bomb",
    "merge",
    "long_string",
)


@st.composite
def text_mutations(draw: st.DrawFn, bases: Sequence[str]) -> str:
    """A valid scenario's text with 1 to 3 textual changes (see :data:`HOSTILE_TOKENS` and the
    operations in the module docstring)."""
    text = draw(st.sampled_from(list(bases)), label="base")
    for _ in range(draw(st.integers(1, 3), label="changes")):
        lines = text.split("\n")
        op = draw(st.sampled_from(_TEXT_OPS), label="op")
        i = draw(st.integers(0, max(0, len(lines) - 1)), label="line")
        if op == "token":
            candidates = [k for k, line in enumerate(lines) if _VALUE_LINE.match(line)]
            if candidates:
                k = draw(st.sampled_from(candidates), label="value line")
                m = _VALUE_LINE.match(lines[k])
                assert m is not None
                token = draw(st.sampled_from(HOSTILE_TOKENS), label="token")
                lines[k] = f"{m.group(1)} {token}"
        elif op == "delete_line" and lines:
            del lines[i]
        elif op == "duplicate_line" and lines:
            lines.insert(i, lines[i])
        elif op == "swap_lines" and len(lines) > 1:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent" and lines:
            prefix = draw(st.sampled_from([" ", "  ", "\t", "   "]))
            lines[i] = prefix + lines[i] if draw(st.booleans()) else lines[i].lstrip()
        elif op == "unknown_key":
            indent = " " * draw(st.integers(0, 6))
            key = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=10))
            value = draw(st.sampled_from(HOSTILE_TOKENS[:40]))
            lines.insert(i, f"{indent}{key}: {value}")
        elif op == "truncate":
            text = "\n".join(lines)
            text = text[: draw(st.integers(0, len(text)))]
            continue
        elif op == "insert_chars":
            text = "\n".join(lines)
            at = draw(st.integers(0, len(text)))
            chars = draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=5))
            text = text[:at] + chars + text[at:]
            continue
        elif op == "bom":
            text = "\n".join(lines)
            at = draw(st.sampled_from([0, 0, draw(st.integers(0, len(text)))]))
            text = text[:at] + "\ufeff" + text[at:]
            continue
        elif op == "directive":
            head = draw(
                st.sampled_from(
                    [
                        "%YAML 1.1\n---\n",
                        "%YAML 1.2\n---\n",
                        "%YAML 1.3\n---\n",
                        "%YAML 2.0\n---\n",
                        "%TAG !e! tag:example.com,2000:\n---\n",
                        "--- !!map\n",
                        "---\n",
                    ]
                )
            )
            lines.insert(0, head.rstrip("\n"))
        elif op == "documents":
            lines.append(draw(st.sampled_from(["---", "---\nx: 1", "...", "... \n---\n[1]"])))
        elif op in ("nesting", "bomb", "merge", "long_string"):
            candidates = [k for k, line in enumerate(lines) if _VALUE_LINE.match(line)]
            if not candidates:
                continue
            k = draw(st.sampled_from(candidates), label="value line")
            m = _VALUE_LINE.match(lines[k])
            assert m is not None
            if op == "nesting":
                depth = draw(st.integers(1, 3000), label="depth")
                lines[k] = f"{m.group(1)} {deep_nesting(depth, draw(st.booleans()))}"
            elif op == "bomb":
                levels, fanout = draw(st.integers(2, 12)), draw(st.integers(2, 12))
                lines.insert(0, alias_bomb(levels, fanout).rstrip("\n"))
                lines[k + 1] = f"{m.group(1)} *l{levels - 1}"
            elif op == "merge":
                value = draw(st.sampled_from(HOSTILE_TOKENS[:40]))
                lines.insert(0, f"x_merge: &m {{shared_savings_rate: {value}, extra: 1}}")
                lead = re.match(r"\s*(?:- )?", lines[k + 1])
                width = len(lead.group(0)) if lead else 0
                lines.insert(k + 1, " " * width + "<<: *m")
            else:
                size = draw(st.sampled_from([1_000, 100_000, 1_100_000]))
                lines[k] = f"{m.group(1)} '{'y' * size}'"
        text = "\n".join(lines)
    return text


@st.composite
def byte_mutations(draw: st.DrawFn, bases: Sequence[str]) -> bytes:
    """A valid scenario's bytes, damaged: invalid UTF-8, byte-order marks, other encodings, NUL
    bytes, random bytes and truncation inside a character."""
    text = draw(st.sampled_from(list(bases)), label="base")
    op = draw(
        st.sampled_from(
            ["flip", "insert", "bom8", "utf16", "utf32", "nul", "latin1", "random", "cut"]
        ),
        label="op",
    )
    raw = text.encode("utf-8")
    if op == "flip":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 10))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if op == "insert":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if op == "bom8":
        return b"\xef\xbb\xbf" + raw
    if op == "utf16":
        return text.encode(draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be"])))
    if op == "utf32":
        return text.encode("utf-32")
    if op == "nul":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + b"\x00" + raw[at:]
    if op == "latin1":
        return text.replace("name:", "name: caf\u00e9 ", 1).encode("latin-1", errors="replace")
    if op == "random":
        return draw(st.binary(max_size=2000))
    head = ("\u00e9\u4e2d\U0001f600" + text).encode("utf-8")
    return head[: draw(st.integers(1, 8))]


# --------------------------------------------------------------------------------------------
# assertions


def assert_issues(
    exc: ScenarioError, text: str | None, source: str, *, origins: Sequence[str] = ()
) -> None:
    """Every issue of ``exc`` names ``source`` (or an override in ``origins``), a line and column
    inside ``text`` (when known), a field path unless the problem is the file's, and a
    message that is no internal error and no Python object's repr."""
    assert exc.issues, "a ScenarioError without issues"
    lines = line_count(text) if text is not None else None
    for issue in exc.issues:
        assert issue.file == source or issue.file in [printable(o, 300) for o in origins], issue
        assert isinstance(issue.line, int), issue
        assert isinstance(issue.column, int), issue
        assert issue.line >= 1, issue
        assert issue.column >= 1, issue
        if lines is not None and issue.file == source:
            assert issue.line <= lines, (issue, lines)
        assert issue.message.strip(), issue
        # One printable line, encodable as UTF-8: safe to print to any terminal.
        line = str(issue)
        assert line.isprintable(), issue
        line.encode("utf-8")
        assert not issue.message.startswith(INTERNAL_ERROR), issue
        for leak in ("Commented", "ScalarFloat", "Traceback", "object at 0x", "<class "):
            assert leak not in issue.message, issue
        assert isinstance(issue.path, str), issue
        if not issue.path:
            assert issue.message.startswith(FILE_LEVEL_MESSAGES), issue
    assert str(exc) == "\n".join(str(i) for i in exc.issues)


def _check_bounds(model: BaseModel, where: str) -> None:
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        here = f"{where}.{name}" if where else name
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, BaseModel):
                _check_bounds(v, here)
            elif isinstance(v, float):
                assert math.isfinite(v), (here, v)
            elif isinstance(v, str):
                v.encode("utf-8")  # no lone surrogates: results attributes must encode
        if isinstance(value, int | float) and not isinstance(value, bool):
            for m in info.metadata:
                gt, ge = getattr(m, "gt", None), getattr(m, "ge", None)
                lt, le = getattr(m, "lt", None), getattr(m, "le", None)
                assert gt is None or value > gt, (here, value, "gt", gt)
                assert ge is None or value >= ge, (here, value, "ge", ge)
                assert lt is None or value < lt, (here, value, "lt", lt)
                assert le is None or value <= le, (here, value, "le", le)


def _same(raw: Any, value: Any, where: str) -> None:
    """``value`` (from the model) is ``raw`` (from the file), without coercion."""
    if isinstance(raw, bool):
        assert isinstance(value, bool), (where, raw, value)
        assert value is raw, (where, raw, value)
    elif isinstance(raw, int):
        assert not isinstance(value, bool), (where, raw, value)
        assert isinstance(value, int | float), (where, raw, value)
        # A float field holds a whole number as the nearest float64, as it holds every
        # decimal literal: 10**30 is kept as 1e30, which is not 10**30 exactly.
        assert value == (float(raw) if isinstance(value, float) else raw), (where, raw, value)
    elif isinstance(raw, float):
        assert isinstance(value, float), (where, raw, value)
        assert value == raw, (where, raw, value)
    elif isinstance(raw, str):
        assert isinstance(value, str), (where, raw, value)
        assert value == str(raw), (where, raw, value)
    elif raw is None:
        assert value is None, (where, raw, value)
    elif isinstance(raw, list):
        assert isinstance(value, tuple), (where, raw, value)
        assert len(value) == len(raw), (where, raw, value)
        for i, (r, v) in enumerate(zip(raw, value, strict=True)):
            _same(r, v, f"{where}.{i}")
    elif isinstance(raw, Mapping):
        assert isinstance(value, BaseModel), (where, value)
        for key, r in raw.items():
            assert isinstance(key, str), (where, key)
            assert key in type(value).model_fields, (where, key)
            _same(r, getattr(value, key), f"{where}.{key}")
    else:
        raise AssertionError(f"{where}: unexpected {type(raw).__name__} in parsed data")


def assert_valid(loaded: LoadedScenario, text: str) -> None:
    """A loaded scenario holds the file's values as written, every number finite and within
    its field's declared bounds."""
    assert isinstance(loaded, LoadedScenario)
    assert loaded.text == text
    assert len(loaded.sha256) == 64  # the text encodes as UTF-8
    _check_bounds(loaded.scenario, "")
    _same(_yaml().load(text), loaded.scenario, "")


def check_outcome(
    load: Callable[[], LoadedScenario], text: str | None, source: str
) -> LoadedScenario | ScenarioError:
    """Run ``load``; check its result with :func:`assert_valid` or :func:`assert_issues`.

    Any exception but :class:`ScenarioError` propagates (and fails the calling test).
    """
    try:
        loaded = load()
    except ScenarioError as exc:
        assert_issues(exc, text, source)
        return exc
    if text is not None:
        assert_valid(loaded, text)
    return loaded
