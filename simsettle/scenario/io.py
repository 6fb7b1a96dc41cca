"""Reading scenario files: YAML 1.2 text -> validated :class:`Scenario`, with positioned errors.

ruamel.yaml's round-trip loader keeps the line and column of every key and item; pydantic reports
each error's location as a path of keys and indices. :func:`locate` walks that path through the
parsed document to find the position, so every message reads
``FILE:LINE:COL: dotted.field.path: message``. A missing key is reported at its parent mapping.

Scenario files are data. Before anything is constructed, one pass over the parser's events
refuses what a scenario never needs and a hostile file could abuse: YAML tags (``!!python/...``,
``!custom``; nothing is ever constructed from a tag), a ``%YAML`` version other than 1.2,
nesting deeper than :data:`MAX_DEPTH`, aliases that expand the document beyond
:data:`MAX_NODES` values (the "billion laughs"), recursive aliases and anchors defined twice. Files
are limited to :data:`MAX_FILE_BYTES`. Unquoted dates stay text (YAML 1.2 has no timestamp
type); integers too long to convert are reported at their position.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
)
from ruamel.yaml.reader import ReaderError

from simsettle.errors import Issue, ScenarioError
from simsettle.scenario._base import FieldError
from simsettle.scenario._base import printable as _printable
from simsettle.scenario.contracts import DESIGN_KINDS
from simsettle.scenario.paths import (
    Loc,
    Override,
    Overrides,
    PathError,
    apply_override,
    as_overrides,
)
from simsettle.scenario.schema import SCHEMA_VERSION, Scenario
from simsettle.scenario.templates import template_names

__all__ = [
    "LoadedScenario",
    "error_at",
    "load_scenario",
    "locate",
    "parse_scenario",
    "scenario_json_schema",
]

#: Largest scenario file (bytes of UTF-8 text). Real scenarios are a few kilobytes; ruamel's pure
#: Python parser reads about 0.1 to 1 MB a second, so this bounds the time a file can take.
MAX_FILE_BYTES = 1024 * 1024
#: Deepest nesting of mappings and lists (aliases expanded); a scenario needs about 8.
MAX_DEPTH = 32
#: Most values (scalars, mappings and lists, aliases expanded) a scenario may hold; the largest
#: real ones hold a few thousand.
MAX_NODES = 50_000


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with the exact text it came from (stored in results for provenance).

    With overrides, ``text`` is the file's text with the overridden values written in (comments
    kept) and ``overrides`` lists them as given.
    """

    scenario: Scenario
    text: str
    source: str
    overrides: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        """SHA-256 of the UTF-8 scenario text, as hex."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def with_changes(self, changes: Overrides = (), /, **fields: Any) -> LoadedScenario:
        """This scenario with fields changed and validated again, as ``--set`` changes them.

        ``changes`` are dotted paths (``"designs.two_sided.shared_loss_rate=0.6"`` or
        ``{"designs.two_sided.shared_loss_rate": 0.6}``); keyword arguments set top-level
        fields (``trials=500``). The text keeps its comments with the new values written in,
        and ``overrides`` lists every change made since the file was read.

        Raises
        ------
        ScenarioError
            If a changed value does not validate; the message names the change.

        Examples
        --------
        >>> import simsettle
        >>> loaded = simsettle.load_scenario("scenarios/examples/mssp_style.yaml")
        >>> loaded.with_changes({"population.turnover": 0.2}, trials=500).scenario.trials
        500
        >>> loaded.with_changes(trials=0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        simsettle.errors.ScenarioError: override trials=0:1:1: trials: Input should be ...
        """
        new = [*as_overrides(changes), *as_overrides(fields)]
        changed = parse_scenario(self.text, self.source, new)
        return dataclasses.replace(changed, overrides=self.overrides + changed.overrides)


class _Constructor(RoundTripConstructor):
    """The round-trip constructor, safe on hostile scalars.

    An integer too long for Python's int-from-text limit is a positioned error (not a bare
    ``ValueError``); a scalar that looks like a date stays text, as in YAML 1.2's core schema
    (ruamel would build a ``datetime`` and fail on ``2026-02-30``); a boolean is a ``bool``
    even when anchored.
    """

    def construct_yaml_int(self, node: Any) -> Any:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise ConstructorError(
                None,
                None,
                f"an integer of {len(str(node.value)):,} characters is too long",
                node.start_mark,
            ) from None

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return str(node.value)

    def construct_yaml_bool(self, node: Any) -> Any:
        # ruamel builds an anchored boolean (``&a true``) as ScalarBoolean, a subclass of int,
        # not of bool: pydantic's strict int would take it as 1. A plain bool is refused.
        return bool(super().construct_yaml_bool(node))


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)
_Constructor.add_constructor("tag:yaml.org,2002:bool", _Constructor.construct_yaml_bool)
_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    yaml.Constructor = _Constructor
    return yaml


def _key_position(node: CommentedMap, key: Any) -> tuple[int, int] | None:
    """0-based (line, col) of ``key`` in ``node``, looking through ``<<`` merges; None if the
    parser kept no position (a key set by code)."""
    pos = _position(node.lc.key, key)
    if pos is not None:
        return pos
    for source in getattr(node, "merge", None) or ():
        if isinstance(source, CommentedMap) and key in source:
            return _key_position(source, key)
    return None


def locate(node: Any, loc: Sequence[str | int]) -> tuple[int, int]:
    """1-based (line, column) of the deepest element of ``loc`` present in the parsed ``node``."""
    line, col = 1, 1
    if isinstance(node, CommentedMap | CommentedSeq):
        line, col = node.lc.line + 1, node.lc.col + 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            pos = _key_position(node, part)
            if pos is None:
                break
            line, col = pos[0] + 1, pos[1] + 1
            node = node[part]
        elif (
            isinstance(node, CommentedSeq)
            and isinstance(part, int)
            and not isinstance(part, bool)
            and 0 <= part < len(node)
        ):
            pos = _position(node.lc.item, part)
            if pos is None:
                break
            line, col = pos[0] + 1, pos[1] + 1
            node = node[part]
        else:
            break
    return line, col


def error_at(data: Any, loc: Sequence[str | int], source: str, message: str) -> ScenarioError:
    """A :class:`ScenarioError` with one issue placed at ``loc`` (a data path) in ``data``."""
    line, col = locate(data, loc)
    return ScenarioError([Issue(source, line, col, ".".join(map(str, loc)), message)])


_TAGS = frozenset(DESIGN_KINDS)


def _kinds_with(key: str) -> list[str]:
    """The design kinds that have a field ``key``."""
    return [kind for kind, model in DESIGN_KINDS.items() if key in model.model_fields]


def _error_loc(err: Any) -> tuple[str | int, ...]:
    """The data path of a pydantic error, without union tags and with FieldError's field added."""
    loc: list[str | int] = []
    for part in err["loc"]:
        # Tagged unions insert the tag value ("two_sided") into the path; it is not a key.
        if isinstance(part, str) and part in _TAGS and loc and isinstance(loc[-1], int):
            continue
        loc.append(part)
    ctx = err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, FieldError):
        loc.extend(exc.field)
    if err["type"] in {"union_tag_invalid", "union_tag_not_found"}:
        loc.append(str(ctx.get("discriminator", "kind")).strip("'"))
    return tuple(loc)


def _describe(value: Any) -> str:
    """A short, data-free description of an input value for error messages."""
    tag = getattr(value, "tag", None)
    if isinstance(value, TaggedScalar) or getattr(tag, "value", None):
        return "a tagged YAML value (tags are not allowed in scenario files)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    if isinstance(value, int):
        if abs(value) < 10**24:
            return f"the integer {value}"
        try:
            return f"an integer of {len(str(abs(value))):,} digits"
        except ValueError:  # beyond Python's int-to-text limit
            digits = int(abs(value).bit_length() * math.log10(2)) + 1
            return f"an integer of about {digits:,} digits"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "an empty value"
    return f"a {type(value).__name__}"


def _all_field_names() -> list[str]:
    from simsettle.scenario import contracts, schema

    names: set[str] = set()
    for module in (schema, contracts):
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, BaseModel):
                names.update(obj.model_fields)
    return sorted(names)


def _message(err: Any) -> str:
    ctx = err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, FieldError):
        return str(exc)
    kind = str(err["type"])
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        key = str(err["loc"][-1]) if err["loc"] else ""
        close = difflib.get_close_matches(key, _all_field_names(), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]!r}?" if close and close[0] != key else ""
        owners = _kinds_with(key)
        if owners and len(err["loc"]) >= 2 and err["loc"][-2] in _TAGS:
            kinds = " or ".join(f"`kind: {k}`" for k in owners)
            hint = f"; only {kinds} designs have it"
        return f"unknown field {key!r} (not allowed here){hint}"
    if kind == "missing":
        return "required field is missing"
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        tags = ", ".join(sorted(_TAGS))
        return f"unknown design kind; expected one of: {tags}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        msg = f"{msg}; got {_describe(err.get('input'))}"
    return msg + _number_hint(kind, err.get("input"), ctx)


_PERCENT = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*%\s*$")
_NUMBER = re.compile(r"^\s*[-+]?(?:\d[\d_,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")


def _number_hint(kind: str, value: Any, ctx: Mapping[str, Any]) -> str:
    """A "did you mean" for a number written as a percentage or in quotes.

    Rates are fractions: ``shared_savings_rate: 50`` (over the field's bound of 1) and
    ``min_savings_rate: 2%`` both suggest the fraction; ``pmpm: "480"`` suggests the number
    without quotes.
    """
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if m:
            return f"; rates are fractions: did you mean {_plain_number(float(m.group(1)) / 100)}?"
        if _NUMBER.match(value) and kind.endswith(("_type", "_parsing")):
            number = value.strip().replace("_", "")
            # "0,5" is a decimal comma; "1,200" a thousands separator
            decimal = re.fullmatch(r"[-+]?\d+,\d{1,2}", number) is not None
            number = number.replace(",", "." if decimal else "")
            return f"; did you mean {_plain_number(float(number))} (a number, without quotes)?"
        return ""
    bound = ctx.get("le", ctx.get("lt"))
    if (
        kind in {"less_than_equal", "less_than"}
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and bound in (1, 1.0)
        and 1 < value <= 100
    ):
        return (
            f"; rates are fractions (0.5 is 50%): if {_plain_number(value)} is a percentage, "
            f"write {_plain_number(value / 100)}"
        )
    return ""


def _plain_number(x: float) -> str:
    """``0.5``, ``0.02``, ``480``: ``x`` without float noise."""
    return f"{x:.12g}"


def _position(lookup: Any, key: Any) -> tuple[int, int] | None:
    """0-based (line, col) from ruamel's position data, None where it keeps none."""
    try:
        pos = lookup(key)
        return int(pos[0]), int(pos[1])
    except (TypeError, KeyError, IndexError, AttributeError, ValueError):
        return None


def _dotted(path: Sequence[Any]) -> str:
    """A field path as text: its parts joined by dots, each made printable; a part that is
    empty or starts or ends in white space is quoted, so that it shows (``' '.pmpm``)."""
    parts = [str(part) for part in path]
    return ".".join(
        _printable(repr(part) if part != part.strip() or not part else part, 80) for part in parts
    )


def _text_position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character ``index`` of ``text``."""
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _yaml_error(exc: BaseException, text: str, source: str) -> ScenarioError:
    """A positioned :class:`ScenarioError` from anything ruamel raised while reading ``text``."""
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in str(problem) or type(exc).__name__ == "DuplicateKeyError":
            problem = f"duplicate key ({' '.join(str(exc.problem).split())})"
        message = f"not valid YAML: {' '.join(str(problem).split())}"
    elif isinstance(exc, ReaderError):
        line, col = _text_position(text, int(exc.position))
        what = exc.character
        if isinstance(what, str) and len(what) == 1:
            what = ord(what)
        code = f"#x{what:04x}" if isinstance(what, int) else repr(what)
        message = f"not valid YAML: the character {code} is not allowed in a YAML file"
    elif isinstance(exc, RecursionError):
        line, col = 1, 1
        message = f"not valid YAML: nested too deeply (at most {MAX_DEPTH} levels)"
    else:
        line, col = 1, 1
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        message = f"not valid YAML: {' '.join(first.split())}"
    return ScenarioError([Issue(source, line, col, "", _printable(message, 300))])


_DIRECTIVE = re.compile(r"^%YAML[ \t]+(\S*)", re.MULTILINE)


@dataclass
class _Open:
    """A mapping or list being read in :func:`_event_issues`."""

    is_map: bool
    path: tuple[str | int, ...]
    anchor: str | None
    size: int = 1  # values inside, itself included, aliases expanded
    depth: int = 1  # levels of nesting below and including itself, aliases expanded
    count: int = 0  # nodes read inside so far (for a mapping: keys and values alternate)
    key: str | int = "?"


def _event_issues(text: str, source: str) -> list[Issue]:
    """What a scenario may not use, found on the parser's events before anything is built.

    Every explicit tag; a ``%YAML`` directive other than 1.2; nesting deeper than
    :data:`MAX_DEPTH`; more than :data:`MAX_NODES` values once aliases are expanded; a
    recursive alias; an anchor defined twice. The parser is a state machine (no recursion), so
    this pass is safe on any input; syntax errors are raised as :class:`ScenarioError`.
    """
    issues: list[Issue] = []
    # Directives come before the first document marker; later lines are content.
    marker = re.search(r"^---", text, re.MULTILINE)
    for m in _DIRECTIVE.finditer(text, 0, marker.start() if marker else len(text)):
        if m.group(1) != "1.2":
            line, col = _text_position(text, m.start())
            issues.append(
                Issue(
                    source,
                    line,
                    col,
                    "",
                    f"%YAML {_printable(m.group(1), 20)} is not supported: scenario files are "
                    "YAML 1.2 (remove the directive)",
                )
            )
    if issues:
        return issues

    stack: list[_Open] = []
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (size, depth) of its finished node

    def issue(event: Any, path: tuple[str | int, ...], message: str) -> Issue:
        mark = event.start_mark
        return Issue(source, mark.line + 1, mark.column + 1, _dotted(path), message)

    def finished(
        event: Any, path: tuple[str | int, ...], size: int, depth: int, anchor: str | None
    ) -> Issue | None:
        if anchor is not None:
            anchors[anchor] = (size, depth)
        if len(stack) + depth > MAX_DEPTH:
            return issue(
                event,
                path,
                f"nested more than {MAX_DEPTH} levels deep (aliases expanded); a scenario "
                "needs far fewer",
            )
        if stack:
            parent = stack[-1]
            parent.size += size
            parent.depth = max(parent.depth, depth + 1)
            parent.count += 1
        if size > MAX_NODES or (stack and stack[0].size > MAX_NODES):
            return issue(
                event,
                path,
                f"the document holds more than {MAX_NODES:,} values once its aliases are "
                "expanded; a scenario needs far fewer",
            )
        return None

    try:
        for event in _yaml().parse(text):
            if not isinstance(event, NodeEvent):
                if isinstance(event, MappingEndEvent | SequenceEndEvent):
                    done = stack.pop()
                    problem = finished(event, done.path, done.size, done.depth, done.anchor)
                    if problem is not None:
                        return [*issues, problem]
                continue
            # Where this node sits: a key of a mapping (reported at the mapping), a value of a
            # mapping, or an item of a list.
            path: tuple[str | int, ...] = ()
            if stack:
                top = stack[-1]
                if top.is_map and top.count % 2 == 0:
                    path = top.path
                    top.key = event.value if isinstance(event, ScalarEvent) else "?"
                elif top.is_map:
                    path = (*top.path, top.key)
                else:
                    path = (*top.path, top.count)
            tag = getattr(event, "tag", None)
            if tag:
                issues.append(
                    issue(
                        event,
                        path,
                        f"YAML tag {_printable(str(tag), 100)!r} is not allowed: scenario "
                        "files are plain data (tags are not allowed in scenario files)",
                    )
                )
            anchor = event.anchor  # an alias's anchor is the one it refers to
            if (
                anchor is not None
                and not isinstance(event, AliasEvent)
                and (anchor in anchors or any(o.anchor == anchor for o in stack))
            ):
                issues.append(
                    issue(
                        event,
                        path,
                        f"anchor &{_printable(anchor, 60)} is defined twice; give each its own "
                        "name",
                    )
                )
            if isinstance(event, AliasEvent):
                if any(o.anchor == anchor for o in stack):
                    issues.append(
                        issue(
                            event,
                            path,
                            f"alias *{_printable(str(anchor), 60)} refers to a mapping or list "
                            "that contains it (a recursive structure)",
                        )
                    )
                    return issues
                size, depth = anchors.get(str(anchor), (1, 0))  # undefined: the composer says
                problem = finished(event, path, size, depth, None)
            elif isinstance(event, CollectionStartEvent):
                stack.append(_Open(isinstance(event, MappingStartEvent), path, anchor))
                problem = None
                if len(stack) > MAX_DEPTH:
                    problem = issue(
                        event,
                        path,
                        f"nested more than {MAX_DEPTH} levels deep; a scenario needs far fewer",
                    )
            else:
                problem = finished(event, path, 1, 0, anchor)
            if problem is not None:
                return [*issues, problem]
    except Exception as exc:  # a syntax error, or anything else the parser raised
        raise _yaml_error(exc, text, source) from None
    return issues


_SURROGATE = re.compile("[\ud800-\udfff]")


def _structural_issues(data: CommentedMap, source: str) -> list[Issue]:
    """Keys that are not text (``1: x``, ``~: x``, ``? [a, b]``), and text with a lone
    surrogate (``"\\ud800"``: it cannot be written as UTF-8, so it could not be stored in the
    results), anywhere in ``data``."""
    issues: list[Issue] = []

    def add(
        pos: tuple[int, int] | None, parent: Any, path: tuple[str | int, ...], msg: str
    ) -> None:
        ln, cl = pos or (parent.lc.line, parent.lc.col)
        issues.append(Issue(source, ln + 1, cl + 1, _dotted(path), msg))

    def text(value: Any, pos: tuple[int, int] | None, parent: Any, path: Any) -> bool:
        if isinstance(value, str) and _SURROGATE.search(value):
            add(
                pos,
                parent,
                path,
                "text contains a lone surrogate (an escape such as \\ud800); it cannot be stored",
            )
            return True
        return False

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, CommentedMap):
            for key in node:
                if not isinstance(key, str):
                    add(
                        _key_position(node, key),
                        node,
                        path,
                        f"keys must be text; found {_describe(key)} as a key",
                    )
                elif not text(key, _key_position(node, key), node, path):
                    value = node[key]
                    if not text(value, _position(node.lc.value, key), node, (*path, key)):
                        walk(value, (*path, key))
        elif isinstance(node, CommentedSeq):
            for i, item in enumerate(node):
                if not text(item, _position(node.lc.item, i), node, (*path, i)):
                    walk(item, (*path, i))

    walk(data, ())
    return issues


def _unshare(node: Any, seen: set[int]) -> None:
    """Replace every second and later occurrence of a mapping or list (YAML aliases share one
    object) by a copy, so that setting a field in one place does not change the others."""
    if isinstance(node, CommentedMap):
        keys: list[Any] = list(node)
    elif isinstance(node, CommentedSeq):
        keys = list(range(len(node)))
    else:
        return
    for key in keys:
        child = node[key]
        if not isinstance(child, CommentedMap | CommentedSeq):
            continue
        if id(child) in seen:
            child = copy.deepcopy(child)
            node[key] = child
        seen.add(id(child))
        _unshare(child, seen)


def parse_scenario(
    text: str, source: str = "<string>", overrides: Overrides = ()
) -> LoadedScenario:
    """Parse and validate scenario ``text``; ``source`` names it in error messages.

    ``overrides`` set fields before validation, as ``simsettle run --set`` does: texts
    ``"KEY.PATH=VALUE"`` (the value read as YAML), a mapping ``{"KEY.PATH": value}`` or
    :class:`~simsettle.scenario.paths.Override` objects. Paths are dotted field names; a list
    of designs is indexed by name (``designs.two_sided.min_savings_rate``) and ``*`` means every
    item. An error in an overridden value names the override (the last one that set the
    field) instead of a line of the file.

    Examples
    --------
    >>> from pathlib import Path
    >>> from simsettle.scenario import parse_scenario
    >>> text = Path("scenarios/examples/mssp_style.yaml").read_text(encoding="utf-8")
    >>> loaded = parse_scenario(text, "example.yaml", ["population.turnover=0.2"])
    >>> loaded.scenario.population.turnover, loaded.overrides
    (0.2, ('override population.turnover=0.2',))

    Raises
    ------
    ScenarioError
        With one :class:`~simsettle.errors.Issue` per problem: YAML syntax, duplicate keys,
        unknown or missing fields, wrong types and out-of-range values; YAML tags, excessive
        nesting or aliasing and texts over :data:`MAX_FILE_BYTES`.
    """
    try:
        overrides = as_overrides(overrides)
    except PathError as exc:
        raise ScenarioError([Issue("overrides", 1, 1, "", _printable(str(exc), 500))]) from None
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            [Issue(source, 1, 1, "", _too_large(size))],
        )
    early = _event_issues(text, source)
    if early:
        raise ScenarioError(sorted(early, key=lambda i: (i.line, i.column)))
    try:
        data = _yaml().load(text)
    except Exception as exc:  # YAML errors, and anything else the parser or constructor raised
        raise _yaml_error(exc, text, source) from None
    if not isinstance(data, CommentedMap):
        kind = "empty" if data is None else _describe(data)
        raise ScenarioError(
            [
                Issue(
                    source,
                    1,
                    1,
                    "",
                    f"a scenario file must be a YAML mapping of fields (schema_version, seed, "
                    f"trials, ...); this file is {kind}",
                )
            ]
        )
    structural = _structural_issues(data, source)
    if structural:
        raise ScenarioError(sorted(structural, key=lambda i: (i.line, i.column)))
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        raise error_at(
            data,
            ("schema_version",),
            source,
            f"this simsettle reads schema_version {SCHEMA_VERSION}; the file says {version}",
        )
    overridden: list[tuple[Loc, Override]] = []
    if overrides:
        _unshare(data, set())  # an override of an aliased value changes that place only
    for o in overrides:
        try:
            overridden += [(loc, o) for loc in apply_override(data, o.path, o.value)]
        except PathError as exc:
            message = str(exc).removeprefix(f"{o.path}: ")
            issue = Issue(
                _printable(o.origin, 300), 1, 1, _printable(o.path), _printable(message, 500)
            )
            raise ScenarioError([issue]) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_issues(exc, data, source, overridden)) from None
    except Exception as exc:  # a bug in a validator: still a message, never a traceback
        raise ScenarioError([_internal_issue(source, exc)]) from None
    if overrides:
        buf = io.StringIO()
        _yaml().dump(data, buf)
        text = buf.getvalue()
    return LoadedScenario(
        scenario=scenario, text=text, source=source, overrides=tuple(o.origin for o in overrides)
    )


def _too_large(size: int) -> str:
    return f"file is {size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}"


#: Start of the message of an unexpected exception turned into an issue (tests look for it).
INTERNAL_ERROR = "internal error while validating (please report this file)"


def _internal_issue(source: str, exc: BaseException) -> Issue:
    first = (str(exc).strip().splitlines() or [""])[0]
    message = f"{INTERNAL_ERROR}: {type(exc).__name__}: {first}"
    return Issue(source, 1, 1, "", _printable(message, 300))


#: Members of the scalar unions (a swept value: a number, a flag or a name), which pydantic
#: appends to an error's location, one error per member.
_UNION_MEMBERS = frozenset({"float", "int", "bool", "str"})


def _merge_union_errors(
    errors: Sequence[Any],
) -> tuple[list[Any], list[tuple[str | int, ...]]]:
    """The errors and their data paths, with the per-member errors of a scalar union (one for
    each of float, int, bool and str) merged into one at the value's own path."""
    locs = [_error_loc(e) for e in errors]
    members: dict[tuple[str | int, ...], list[int]] = {}
    for k, loc in enumerate(locs):
        if loc and loc[-1] in _UNION_MEMBERS:
            members.setdefault(loc[:-1], []).append(k)
    merged = {key: ks for key, ks in members.items() if len(ks) >= 2}
    out_errors: list[Any] = []
    out_locs: list[tuple[str | int, ...]] = []
    done: set[tuple[str | int, ...]] = set()
    for k, (err, loc) in enumerate(zip(errors, locs, strict=True)):
        key = loc[:-1] if loc else loc
        if loc and key in merged and k in merged[key]:
            if key in done:
                continue
            done.add(key)
            value = err.get("input")
            number = isinstance(value, int | float) and not isinstance(value, bool)
            first = next(errors[j] for j in merged[key] if locs[j][-1] == "float")
            if number:
                msg = str(first["msg"])
            else:
                msg = f"should be a number, true/false or text; got {_describe(value)}"
            out_errors.append({**first, "type": "union", "msg": msg, "ctx": None})
            out_locs.append(key)
            continue
        out_errors.append(err)
        out_locs.append(loc)
    return out_errors, out_locs


def validation_issues(
    exc: ValidationError,
    data: Any,
    source: str,
    overridden: Sequence[tuple[Loc, Override]] = (),
) -> list[Issue]:
    """Positioned issues of a failed validation of ``data`` (parsed from ``source``).

    An error inside an overridden location is reported at the override (its ``origin``), since
    the file's line there no longer holds the value that failed.
    """
    errors, locs = _merge_union_errors(exc.errors(include_url=False))
    issues = []
    for err, loc in zip(errors, locs, strict=True):
        # A list whose every item failed also fails its min_length check; that second
        # message would be misleading, the item errors say what is wrong.
        if err["type"] == "too_short" and any(
            len(o) > len(loc) and o[: len(loc)] == loc for o in locs
        ):
            continue
        # A default computed from other fields (population.mortality, cost.tail_threshold) is
        # not computed once any field failed: the failure itself is the issue to report.
        if err["type"] == "default_factory_not_called":
            continue
        path = _dotted(loc)
        # the last override that set this place holds the value that failed
        origin = next((o for where, o in reversed(overridden) if loc[: len(where)] == where), None)
        if origin is not None:
            issues.append(
                Issue(_printable(origin.origin, 300), 1, 1, path, _printable(_message(err), 1000))
            )
            continue
        line, col = locate(data, loc)
        issues.append(Issue(source, line, col, path, _printable(_message(err), 1000)))
    issues.sort(key=lambda i: (i.file != source, i.line, i.column))
    return issues


def load_scenario(path: str | Path, overrides: Overrides = ()) -> LoadedScenario:
    """Read and validate the scenario file at ``path``, with ``overrides`` set first.

    ``overrides`` are as for :func:`parse_scenario`: ``["population.turnover=0.2",
    "designs.two_sided.min_savings_rate=0.01"]``, or ``{"population.turnover": 0.2}``.

    Examples
    --------
    >>> import simsettle
    >>> loaded = simsettle.load_scenario("scenarios/examples/mssp_style.yaml", ["trials=500"])
    >>> loaded.scenario.trials
    500

    Raises
    ------
    ScenarioError
        If the file cannot be read, is not UTF-8 YAML, or does not validate; every message names
        the file, line, column and field.
    """
    p = Path(path)
    name = str(path)
    try:
        with p.open("rb") as fh:
            # Read at most one byte more than the limit: a device or a pipe may never end.
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise ScenarioError([Issue(name, 1, 1, "", f"cannot read file: {reason}")]) from None
    except ValueError as exc:  # a NUL character in the name
        raise ScenarioError([Issue(name, 1, 1, "", f"cannot read file: {exc}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        try:
            size = p.stat().st_size
        except (OSError, ValueError):
            size = len(raw)
        raise ScenarioError([Issue(name, 1, 1, "", _too_large(max(size, len(raw))))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            [Issue(name, line, col, "", "not a UTF-8 text file (is it a YAML scenario?)")]
        ) from None
    if "\x00" in text:
        line, col = _text_position(text, text.index("\x00"))
        raise ScenarioError([Issue(name, line, col, "", "contains NUL bytes; not a YAML scenario")])
    return parse_scenario(text, name, overrides)


def _template_design_schema(defs: dict[str, Any]) -> dict[str, Any]:
    """Schema of a design written as a template plus overrides (``kind`` optional)."""
    properties: dict[str, Any] = {}
    for model in DESIGN_KINDS.values():
        properties.update(defs[model.__name__]["properties"])
    properties["kind"] = {
        "description": "Design type; a template sets it.",
        "enum": list(DESIGN_KINDS),
        "type": "string",
    }
    properties["template"] = {
        "description": "Name of a program template; any other field overrides the template's.",
        "enum": template_names(),
        "type": "string",
    }
    return {
        "title": "TemplateDesign",
        "description": "A design built from a named template (see `template`) plus overrides.",
        "type": "object",
        "properties": properties,
        "required": ["name", "template"],
        "additionalProperties": False,
    }


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of the scenario format, for editor autocompletion and validation.

    Designs are written either in full (a ``kind`` and its fields) or as a ``template`` plus
    overrides; templates are expanded before validation, so the schema accepts both forms.
    """
    schema = Scenario.model_json_schema(mode="validation")
    defs = schema["$defs"]
    defs["TemplateDesign"] = _template_design_schema(defs)
    # A year's terms are written as changes to the design (any of its fields, none required).
    year_terms = {
        **defs["TemplateDesign"],
        "title": "YearTerms",
        "description": "The fields of a design that differ in one performance year.",
        "required": [],
    }
    year_terms["properties"] = {k: v for k, v in year_terms["properties"].items() if k != "by_year"}
    defs["YearTerms"] = year_terms
    for name in ("TemplateDesign", *(m.__name__ for m in DESIGN_KINDS.values())):
        prop = defs[name]["properties"].get("by_year")
        if prop is not None:
            items: dict[str, Any] = {"type": "array", "items": {"$ref": "#/$defs/YearTerms"}}
            items.update(minItems=1, maxItems=50)
            prop.pop("anyOf", None)
            prop.update(anyOf=[items, {"type": "null"}])
    for owner in (schema, defs["Line"]):
        designs = owner["properties"]["designs"]
        designs["items"] = {"anyOf": [{"$ref": "#/$defs/TemplateDesign"}, designs["items"]]}
    out: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    out["$id"] = f"https://simsettle.invalid/schema/scenario-v{SCHEMA_VERSION}.json"
    out.update(schema)
    return out


def scenario_json_schema_text() -> str:
    """:func:`scenario_json_schema` as indented JSON text."""
    return json.dumps(scenario_json_schema(), indent=2, sort_keys=False) + "\n"
