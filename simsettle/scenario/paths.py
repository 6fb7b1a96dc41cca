"""Field paths into a scenario's data, for ``--set`` overrides and parameter sweeps.

A path is dotted: ``population.turnover``, ``designs.two_sided.min_savings_rate``,
``designs[0].stop_loss.attachment``, ``designs.*.shared_savings_rate``. In a list of named
mappings (designs, practices, portfolio lines) an item is picked by its ``name``, by ``[index]``
or by ``*`` (every item). The last key may be new (a field the file leaves at its default); every
key before it must exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass, replace
from typing import Any

from simsettle.scenario._base import printable

__all__ = [
    "Loc",
    "Override",
    "Overrides",
    "PathError",
    "apply_override",
    "as_overrides",
    "parse_override",
    "resolve_path",
]

#: A resolved location: the keys and list indices from the root of the data.
Loc = tuple[str | int, ...]

_PART = re.compile(r"^(?P<key>[^.\[\]]+)?(?P<index>(\[(\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")


class PathError(ValueError):
    """A path that does not lead to a field of the scenario."""


@dataclass(frozen=True)
class Override:
    """One field set from outside the file: ``path`` gets ``value``; ``origin`` names it in errors
    and provenance (for example ``--set population.turnover=0.2``)."""

    path: str
    value: Any
    origin: str


#: Overrides as the public functions take them: ``"KEY.PATH=VALUE"`` texts or
#: :class:`Override` objects, or a mapping of paths to values.
Overrides = Sequence[Override | str] | Mapping[str, Any]


def as_overrides(overrides: Overrides) -> list[Override]:
    """``overrides`` as :class:`Override` objects (texts parsed by :func:`parse_override`).

    >>> [(o.path, o.value) for o in as_overrides({"population.turnover": 0.2})]
    [('population.turnover', 0.2)]
    >>> as_overrides(["trials=500"])[0].origin
    'override trials=500'
    """
    if isinstance(overrides, str):
        raise PathError(
            f"overrides must be a list of KEY.PATH=VALUE texts or a mapping, got the text "
            f"{printable(overrides, None)!r} (put it in a list)"
        )
    if isinstance(overrides, Mapping):
        out = []
        for path, value in overrides.items():
            if not str(path).strip():
                raise PathError(f"an override's path must be a dotted field name, got {path!r}")
            _split(path.strip())
            shown = printable(f"{path}={value!r}", None)
            out.append(Override(path=path.strip(), value=value, origin=f"override {shown}"))
        return out
    out = []
    for item in overrides:
        if isinstance(item, Override):
            out.append(item)
        elif isinstance(item, str):
            parsed = parse_override(item)
            out.append(replace(parsed, origin=f"override {printable(item, None)}"))
        else:
            raise PathError(
                f"an override is a KEY.PATH=VALUE text or an Override, got {type(item).__name__}"
            )
    return out


def parse_override(text: str) -> Override:
    """``"key.path=value"`` -> :class:`Override`; the value is read as a YAML 1.2 scalar or flow
    collection (``0.02``, ``true``, ``[0.1, 0.3, 0.6]``, ``two_sided``), never as a tag.

    >>> parse_override("designs.two_sided.min_savings_rate=0.02").value
    0.02
    >>> parse_override("benchmark.weights=[0.1, 0.3, 0.6]").value
    [0.1, 0.3, 0.6]
    """
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise PathError(f"expected KEY.PATH=VALUE, got {text!r}")
    _split(path)  # check the syntax now
    if raw.strip().startswith("!"):
        raise PathError(f"{text!r}: YAML tags are not allowed")
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 2)
    try:
        # A tag anywhere (``[1, !!binary x]``), not only in front, is refused before anything
        # is constructed.
        if raw.strip() and any(getattr(e, "tag", None) for e in yaml.parse(raw)):
            raise PathError(f"{text!r}: YAML tags are not allowed")
        value = yaml.load(raw) if raw.strip() else None
    except PathError:
        raise
    except Exception as exc:  # any YAML error: the message says what
        problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [""])[0]
        raise PathError(f"{text!r}: the value is not valid YAML ({problem})") from None
    return Override(path=path, value=_plain(value), origin=f"--set {printable(text, None)}")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _split(path: str) -> list[str | int | None]:
    """Path -> keys, list indices and ``None`` for ``*``."""
    out: list[str | int | None] = []
    for part in path.split("."):
        m = _PART.match(part)
        if not part or m is None or (m["key"] is None and not m["index"]):
            raise PathError(f"bad field path {path!r} (at {part!r})")
        if m["key"] is not None:
            out.append(None if m["key"] == "*" else m["key"])
        for idx in _INDEX.findall(m["index"]):
            out.append(None if idx == "*" else int(idx))
    return out


def resolve_path(data: Any, path: str) -> list[Loc]:
    """Every location ``path`` names in ``data`` (several for ``*``), in document order.

    Raises
    ------
    PathError
        If a key before the last does not exist, a name matches no list item, or an index is out
        of range; the message lists what there is.
    """
    parts = _split(path)
    found: list[Loc] = []

    def walk(node: Any, rest: Sequence[str | int | None], loc: Loc) -> None:
        if not rest:
            found.append(loc)
            return
        part, tail = rest[0], rest[1:]
        where = ".".join(map(str, loc)) or "the scenario"
        if isinstance(node, MutableSequence):
            if part is None:
                if not node:
                    raise PathError(f"{path}: {where} is empty")
                for i, item in enumerate(node):
                    walk(item, tail, (*loc, i))
                return
            if isinstance(part, int):
                if not 0 <= part < len(node):
                    raise PathError(f"{path}: {where} has {len(node)} items, no [{part}]")
                walk(node[part], tail, (*loc, part))
                return
            names = [item.get("name") for item in node if isinstance(item, MutableMapping)]
            if part not in names:
                listed = ", ".join(str(n) for n in names if n is not None) or "none named"
                raise PathError(f"{path}: no item named {part!r} in {where} ({listed})")
            walk(node[names.index(part)], tail, (*loc, names.index(part)))
            return
        if isinstance(node, MutableMapping):
            if not isinstance(part, str):
                raise PathError(f"{path}: {where} is a mapping, not a list")
            if part not in node and tail:
                keys = ", ".join(map(str, node)) or "no fields"
                raise PathError(f"{path}: {where} has no {part!r} block ({keys})")
            walk(node.get(part), tail, (*loc, part))
            return
        raise PathError(f"{path}: {where} is a value, not a block with fields")

    walk(data, parts, ())
    return found


def apply_override(data: Any, path: str, value: Any) -> list[Loc]:
    """Set every location of ``path`` in ``data`` (mappings and lists, modified in place) to a
    copy of ``value``; returns the locations."""
    import copy

    locs = resolve_path(data, path)
    for loc in locs:
        node = data
        for part in loc[:-1]:
            node = node[part]
        node[loc[-1]] = copy.deepcopy(value)
    return locs
