"""Reading scenario files: YAML 1.2 text -> validated :class:`Scenario`, with positioned errors.

ruamel.yaml's round-trip loader keeps the line and column of every key and item; pydantic reports
each error's location as a path of keys and indices. :func:`locate` walks that path through the
parsed document to find the position, so every message reads
``FILE:LINE:COL: dotted.field.path: message``. A missing key is reported at its parent mapping.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from simsettle.errors import Issue, ScenarioError
from simsettle.scenario._base import FieldError
from simsettle.scenario.contracts import TwoSided, UpsideOnly
from simsettle.scenario.paths import Loc, Override, PathError, apply_override
from simsettle.scenario.schema import SCHEMA_VERSION, Scenario
from simsettle.scenario.templates import template_names

__all__ = ["LoadedScenario", "load_scenario", "locate", "parse_scenario", "scenario_json_schema"]

MAX_FILE_BYTES = 16 * 1024 * 1024


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


def _yaml() -> YAML:
    yaml = YAML(typ="rt", pure=True)
    yaml.version = (1, 2)
    yaml.allow_duplicate_keys = False
    return yaml


def locate(node: Any, loc: Sequence[str | int]) -> tuple[int, int]:
    """1-based (line, column) of the deepest element of ``loc`` present in the parsed ``node``."""
    line, col = 1, 1
    if isinstance(node, CommentedMap | CommentedSeq):
        line, col = node.lc.line + 1, node.lc.col + 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            ln, cl = node.lc.key(part)
            line, col = ln + 1, cl + 1
            node = node[part]
        elif (
            isinstance(node, CommentedSeq)
            and isinstance(part, int)
            and not isinstance(part, bool)
            and 0 <= part < len(node)
        ):
            ln, cl = node.lc.item(part)
            line, col = ln + 1, cl + 1
            node = node[part]
        else:
            break
    return line, col


_TAGS = frozenset({"upside_only", "two_sided"})
_LOSS_FIELDS = frozenset(set(TwoSided.model_fields) - set(UpsideOnly.model_fields))


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
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
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
        if key in _LOSS_FIELDS and len(err["loc"]) >= 2 and err["loc"][-2] == "upside_only":
            hint = "; only `kind: two_sided` designs share losses"
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
    return msg


def _value_paths(node: Any, path: tuple[str | int, ...], out: dict[tuple[int, int], str]) -> None:
    """Map the (line, col) where each value starts to its dotted path."""
    if isinstance(node, CommentedMap):
        for key in node:
            sub = (*path, key if isinstance(key, str | int) else str(key))
            pos = _position(node.lc.value, key)
            if pos is not None:
                out.setdefault(pos, ".".join(map(str, sub)))
            _value_paths(node[key], sub, out)
    elif isinstance(node, CommentedSeq):
        for i in range(len(node)):
            sub = (*path, i)
            pos = _position(node.lc.item, i)
            if pos is not None:
                out.setdefault(pos, ".".join(map(str, sub)))
            _value_paths(node[i], sub, out)


def _position(lookup: Any, key: Any) -> tuple[int, int] | None:
    """0-based (line, col) from ruamel's position data, None where it keeps none (tagged nodes)."""
    try:
        pos = lookup(key)
        return int(pos[0]), int(pos[1])
    except (TypeError, KeyError, IndexError, AttributeError):
        return None


def _structural_issues(text: str, data: CommentedMap, source: str) -> list[Issue]:
    """YAML features a scenario may not use: explicit tags anywhere, and non-text keys."""
    issues: list[Issue] = []
    paths: dict[tuple[int, int], str] = {}
    _value_paths(data, (), paths)
    for event in _yaml().parse(text):
        tag = getattr(event, "tag", None)
        if tag:
            mark = event.start_mark
            issues.append(
                Issue(
                    source,
                    mark.line + 1,
                    mark.column + 1,
                    paths.get((mark.line, mark.column), ""),
                    f"YAML tag {tag!r} is not allowed: scenario files are plain data "
                    f"(tags are not allowed in scenario files)",
                )
            )

    def keys(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, CommentedMap):
            for key in node:
                if not isinstance(key, str):
                    ln, cl = node.lc.key(key)
                    issues.append(
                        Issue(
                            source,
                            ln + 1,
                            cl + 1,
                            ".".join(map(str, path)),
                            f"keys must be text; found {_describe(key)} as a key",
                        )
                    )
                else:
                    keys(node[key], (*path, key))
        elif isinstance(node, CommentedSeq):
            for i, item in enumerate(node):
                keys(item, (*path, i))

    keys(data, ())
    return issues


def parse_scenario(
    text: str, source: str = "<string>", overrides: Sequence[Override] = ()
) -> LoadedScenario:
    """Parse and validate scenario ``text``; ``source`` names it in error messages.

    ``overrides`` set fields before validation (``simsettle run --set``); an error in an
    overridden value names the override instead of a line of the file.

    Raises
    ------
    ScenarioError
        With one :class:`~simsettle.errors.Issue` per problem: YAML syntax, duplicate keys,
        unknown or missing fields, wrong types and out-of-range values.
    """
    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in str(problem) or type(exc).__name__ == "DuplicateKeyError":
            problem = f"duplicate key ({' '.join(str(exc.problem).split())})"
        raise ScenarioError(
            [Issue(source, line, col, "", f"not valid YAML: {' '.join(str(problem).split())}")]
        ) from None
    except YAMLError as exc:
        raise ScenarioError([Issue(source, 1, 1, "", f"not valid YAML: {exc}")]) from None
    if not isinstance(data, CommentedMap):
        kind = "empty" if data is None else f"a {type(data).__name__}"
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
    structural = _structural_issues(text, data, source)
    if structural:
        raise ScenarioError(sorted(structural, key=lambda i: (i.line, i.column)))
    version = data.get("schema_version")
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        line, col = locate(data, ("schema_version",))
        raise ScenarioError(
            [
                Issue(
                    source,
                    line,
                    col,
                    "schema_version",
                    f"this simsettle reads schema_version {SCHEMA_VERSION}; the file says "
                    f"{version}",
                )
            ]
        )
    overridden: list[tuple[Loc, Override]] = []
    for o in overrides:
        try:
            overridden += [(loc, o) for loc in apply_override(data, o.path, o.value)]
        except PathError as exc:
            message = str(exc).removeprefix(f"{o.path}: ")
            raise ScenarioError([Issue(o.origin, 1, 1, o.path, message)]) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_issues(exc, data, source, overridden)) from None
    if overrides:
        buf = io.StringIO()
        _yaml().dump(data, buf)
        text = buf.getvalue()
    return LoadedScenario(
        scenario=scenario, text=text, source=source, overrides=tuple(o.origin for o in overrides)
    )


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
    errors = exc.errors(include_url=False)
    locs = [_error_loc(e) for e in errors]
    issues = []
    for err, loc in zip(errors, locs, strict=True):
        # A list whose every item failed also fails its min_length check; that second
        # message would be misleading, the item errors say what is wrong.
        if err["type"] == "too_short" and any(
            len(o) > len(loc) and o[: len(loc)] == loc for o in locs
        ):
            continue
        path = ".".join(str(p) for p in loc)
        origin = next((o for where, o in overridden if loc[: len(where)] == where), None)
        if origin is not None:
            issues.append(Issue(origin.origin, 1, 1, path, _message(err)))
            continue
        line, col = locate(data, loc)
        issues.append(Issue(source, line, col, path, _message(err)))
    issues.sort(key=lambda i: (i.file != source, i.line, i.column))
    return issues


def load_scenario(path: str | Path, overrides: Sequence[Override] = ()) -> LoadedScenario:
    """Read and validate the scenario file at ``path`` (with ``overrides``, as
    :func:`parse_scenario`).

    Raises
    ------
    ScenarioError
        If the file cannot be read, is not UTF-8 YAML, or does not validate; every message names
        the file, line, column and field.
    """
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ScenarioError(
                [
                    Issue(
                        name,
                        1,
                        1,
                        "",
                        f"file is {size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}",
                    )
                ]
            )
        raw = p.read_bytes()
    except OSError as exc:
        raise ScenarioError([Issue(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError(
            [Issue(name, line, col, "", "not a UTF-8 text file (is it a YAML scenario?)")]
        ) from None
    if "\x00" in text:
        raise ScenarioError([Issue(name, 1, 1, "", "contains NUL bytes; not a YAML scenario")])
    return parse_scenario(text, name, overrides)


def _template_design_schema(defs: dict[str, Any]) -> dict[str, Any]:
    """Schema of a design written as a template plus overrides (``kind`` optional)."""
    properties: dict[str, Any] = {}
    for model in ("UpsideOnly", "TwoSided"):
        properties.update(defs[model]["properties"])
    properties["kind"] = {
        "description": "Design type; a template sets it.",
        "enum": ["upside_only", "two_sided"],
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
