"""Scenario models written back as YAML, with explanatory comments where the caller wants them.

:func:`dump_scenario` writes the fields a model was given (its ``model_fields_set``), block by
block in the order the model declares them, so that :func:`~simsettle.scenario.io.parse_scenario`
reads the text back to an equal model: ``parse_scenario(dump_scenario(m)).scenario == m``. A
design's ``name`` and ``kind`` tag lead its block. A cost given by its moments (``cv`` and
``top5_share``) is written by them, and the loader solves ``body_sigma`` and
``tail_probability`` again.

Comments are paragraphs keyed by the path of a field (a tuple of keys and list indices): each is
wrapped to :data:`WIDTH` columns and written as ``#`` lines above that field, at its indentation;
``()`` is the head of the file. ``trailing`` comments close a block: they follow the last field of
the block at that path, at its fields' indentation (``()``: the end of the file).

Numbers are written exactly (the shortest text that reads back to the same float) in a form both
YAML 1.1 and 1.2 readers take as a number (``1.0e-5``, never ``1e-05``); text that is not a plain
identifier is double-quoted.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from simsettle.scenario.schema import Cost

__all__ = ["WIDTH", "Comments", "comment_lines", "dump_scenario"]

#: Column at which comment paragraphs are wrapped.
WIDTH: Final = 100
#: Indentation of each nested block (columns).
INDENT: Final = 2

#: Comment paragraphs by field path; ``()`` is the file's head (or, for trailing comments, end).
Comments = Mapping[tuple[str | int, ...], Sequence[str]]

#: Fields the loader solves from others, left out when those others are given.
_SOLVED: Final[dict[type[BaseModel], tuple[frozenset[str], frozenset[str]]]] = {
    Cost: (frozenset({"cv", "top5_share"}), frozenset({"body_sigma", "tail_probability"})),
}
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def comment_lines(paragraphs: Sequence[str], indent: str = "") -> list[str]:
    """``paragraphs`` as ``#`` lines at ``indent``, each wrapped to :data:`WIDTH` columns."""
    out = []
    for line in paragraphs:
        wrapped = textwrap.wrap(
            line, WIDTH - len(indent) - 2, break_long_words=False, break_on_hyphens=False
        )
        out += [f"{indent}# {w}" for w in wrapped or [""]]
    return out


def _float_text(x: float, digits: int | None = None) -> str:
    """``x`` as a YAML 1.1 and 1.2 float (``0.0``, ``1.0e-5``, ``1.23457e6``): exactly
    (``repr``), or to ``digits`` significant digits (then a zero of either sign is ``0.0``)."""
    if digits is not None and x == 0:
        return "0.0"
    text = repr(x) if digits is None else f"{x:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        if "." not in mant:
            mant += ".0"
        return f"{mant}e{int(exp)}"
    return text if "." in text or not text[-1].isdigit() else text + ".0"


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer with :func:`_float_text` floats and ``null`` for None."""

    digits: int | None = None  # significant digits of floats; None: exactly

    def represent_float(self, data: Any) -> Any:
        text = _float_text(float(data), self.digits)
        return self.represent_scalar("tag:yaml.org,2002:float", text)

    def represent_none(self, data: Any) -> Any:
        return self.represent_scalar("tag:yaml.org,2002:null", "null")


_Representer.add_representer(float, _Representer.represent_float)
_Representer.add_representer(type(None), _Representer.represent_none)


def _given(model: BaseModel) -> list[str]:
    """The fields of ``model`` to write, in order: those it was given, a tag first after name."""
    names = [n for n in type(model).model_fields if n in model.model_fields_set]
    targets, solved = _SOLVED.get(type(model), (frozenset(), frozenset()))
    if targets <= model.model_fields_set:
        names = [n for n in names if n not in solved]
    if "kind" in names:
        lead = [n for n in ("name", "kind") if n in names]
        names = lead + [n for n in names if n not in lead]
    return names


def _node(value: Any) -> Any:
    """``value`` as ruamel nodes: models as mappings, tuples as sequences (flow style when they
    hold only numbers), text double-quoted unless it is an identifier."""
    if isinstance(value, BaseModel):
        out = CommentedMap()
        for name in _given(value):
            out[name] = _node(getattr(value, name))
        return out
    if isinstance(value, tuple | list):
        seq = CommentedSeq(_node(v) for v in value)
        if all(isinstance(v, int | float) for v in value):
            seq.fa.set_flow_style()
        return seq
    if isinstance(value, str) and not _IDENTIFIER.fullmatch(value):
        return DoubleQuotedScalarString(value)
    return value


def _walk(
    node: Any, path: tuple[str | int, ...], out: list[tuple[Any, Any, tuple[Any, ...]]]
) -> None:
    """(parent, key, path) of every field and item below ``node``, in the order written."""
    if isinstance(node, CommentedMap):
        keys: Any = list(node)
    elif isinstance(node, CommentedSeq) and node.fa.flow_style() is not True:
        keys = range(len(node))
    else:
        return
    for key in keys:
        out.append((node, key, (*path, key)))
        _walk(node[key], (*path, key), out)


def dump_scenario(
    model: BaseModel,
    *,
    comments: Comments | None = None,
    trailing: Comments | None = None,
    digits: int | None = None,
) -> str:
    """``model`` (a :class:`~simsettle.scenario.Scenario`, or any block of one) as YAML text.

    ``comments`` go above the fields at their paths, ``trailing`` comments after the last field
    of the blocks at their paths (see the module docstring); an unknown path raises ``KeyError``.
    Floats are written exactly, or with ``digits`` significant digits (for values known to no
    more than that, such as fitted ones).
    """
    root = _node(model)
    order: list[tuple[Any, Any, tuple[Any, ...]]] = []
    _walk(root, (), order)
    where = {path: i for i, (_, _, path) in enumerate(order)}
    head: list[str] = []
    tail: list[str] = []
    for path, paragraphs in (comments or {}).items():
        if not path:
            head += comment_lines(paragraphs)
            continue
        parent, key, _ = order[where[path]]
        indent = INDENT * (len(path) - 1)
        for line in comment_lines(paragraphs, " " * indent):
            parent.yaml_set_comment_before_after_key(key, before=line[indent + 2 :], indent=indent)
    for path, paragraphs in (trailing or {}).items():
        indent = INDENT * len(path)
        lines = comment_lines(paragraphs, " " * indent)
        if path and path not in where:
            raise KeyError(path)
        # The first field written after the block, at any depth above it.
        after = [
            i
            for i, (_, _, p) in enumerate(order)
            if p[: len(path)] != path and i > where.get(path, -1)
        ]
        if not after:
            tail += lines
            continue
        parent, key, _ = order[after[0]]
        for line in lines:
            parent.yaml_set_comment_before_after_key(key, before=line[indent + 2 :], indent=indent)
    representer = type("_Representer", (_Representer,), {"digits": digits})
    yaml = YAML(typ="rt", pure=True)
    yaml.Representer = representer
    yaml.width = 1 << 30  # never fold long text
    yaml.indent(mapping=INDENT, sequence=2 * INDENT, offset=INDENT)
    buf = io.StringIO()
    yaml.dump(root, buf)
    return "".join(line + "\n" for line in (*head, *buf.getvalue().splitlines(), *tail))
