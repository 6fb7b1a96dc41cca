"""The strict, frozen base model shared by every scenario block."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "USD",
    "Bounds",
    "FieldError",
    "Fraction",
    "Label",
    "Money",
    "SettleModel",
    "Units",
    "field_bounds",
    "field_units",
    "printable",
]

#: A name that becomes a coordinate label (design, participant, line of business): 1 to 64
#: letters, digits, ``_ . -`` or spaces, not starting with a punctuation mark or space.
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$")
]

#: A share, probability or rate from 0 to 1 (fraction).
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


@dataclass(frozen=True)
class Units:
    """A field's declared units, as the results label a coordinate swept over it (CF-style
    ``units``: ``"USD"`` for money; a field that declares none is dimensionless, ``"1"``).

    Pydantic keeps it in the field's metadata and leaves validation and the JSON Schema alone.
    """

    units: str


USD = Units("USD")
#: An amount of money, in USD (per member per month or per year, as the field says).
Money = Annotated[float, USD]


class SettleModel(BaseModel):
    """Base of every scenario model: unknown keys fail, nothing is coerced, instances are frozen."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        validate_default=True,
        use_attribute_docstrings=False,
    )


class FieldError(ValueError):
    """A cross-field rule broken inside a ``model_validator``, pointing at one field.

    pydantic reports errors raised in a model validator at the model's own location; the loader
    (:mod:`simsettle.scenario.io`) appends ``field`` to that location so the message points at the
    offending key's line and column.
    """

    def __init__(self, field: str | tuple[str | int, ...], message: str) -> None:
        self.field: tuple[str | int, ...] = (field,) if isinstance(field, str) else field
        super().__init__(message)


def printable(text: str, limit: int | None = 200) -> str:
    """``text`` on one line with every unprintable character escaped (``\\n``, ``\\x00``,
    ``\\ud800``, ``\\ufeff``), at most ``limit`` characters (None: all): safe to print."""
    head = text if limit is None else text[: limit + 1]
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in head)
    return out if limit is None or len(out) <= limit else out[: limit - 3] + "..."


@dataclass(frozen=True)
class Bounds:
    """The numeric range a field accepts, from its ``ge``/``gt``/``le``/``lt`` constraints.

    ``lower_open`` (``upper_open``) says the bound itself is excluded (``gt``, ``lt``); an
    unbounded side is infinite and closed.
    """

    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False

    def admits(self, x: float) -> bool:
        """Whether ``x`` satisfies every constraint (NaN never does)."""
        above = x > self.lower if self.lower_open else x >= self.lower
        below = x < self.upper if self.upper_open else x <= self.upper
        return above and below


def _metadata(model: type[BaseModel], name: str) -> list[object]:
    """The metadata of ``model.name``: on the field, and on the named type of an optional field
    such as ``Fraction | None`` (where pydantic leaves it on the union's arm)."""
    info = model.model_fields[name]
    metadata = list(info.metadata)
    for arm in get_args(info.annotation):
        if get_origin(arm) is Annotated:
            for extra in get_args(arm)[1:]:
                metadata.extend(getattr(extra, "metadata", [extra]))
    return metadata


def field_units(model: type[BaseModel], name: str) -> str:
    """The units ``model.name`` declares (:class:`Units`), ``"1"`` where it declares none."""
    return next((m.units for m in _metadata(model, name) if isinstance(m, Units)), "1")


def field_bounds(model: type[BaseModel], name: str) -> Bounds:
    """The range of ``model.name`` as the field's own definition declares it (pydantic's
    ``annotated_types`` metadata, on the field or on the named type of an optional field such as
    ``Fraction | None``), so that no other module restates a scenario's bounds."""
    metadata = _metadata(model, name)
    out = Bounds()
    for m in metadata:
        for attr, is_lower, is_open in (
            ("gt", True, True),
            ("ge", True, False),
            ("lt", False, True),
            ("le", False, False),
        ):
            bound = getattr(m, attr, None)
            if bound is None:
                continue
            x = float(bound)
            if is_lower and (x > out.lower or (x == out.lower and is_open)):
                out = Bounds(x, out.upper, is_open, out.upper_open)
            elif not is_lower and (x < out.upper or (x == out.upper and is_open)):
                out = Bounds(out.lower, x, out.lower_open, is_open)
    return out
