"""The range each calibrated field is fitted in and written within.

The bounds are the scenario models' own (the ``ge``/``gt``/``le``/``lt`` of each field, read by
:func:`simsettle.scenario._base.field_bounds`). Where the schema's bound is open (``body_sigma >
0``) or a cross-field rule of the model binds first (``zero_cost_share + tail_probability < 1``),
calibration keeps the margin :data:`MARGINS` names, so that a value at the edge of the range is
still one the scenario accepts.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

from simsettle.scenario._base import field_bounds
from simsettle.scenario.schema import Cost, Population, Trend

__all__ = ["MARGINS", "field_range"]

_BLOCKS: Final[dict[str, type[BaseModel]]] = {
    "population": Population,
    "cost": Cost,
    "trend": Trend,
}

#: Calibration's own limits inside the schema's range: (lowest, highest), None for the schema's.
MARGINS: Final[dict[str, tuple[float | None, float | None]]] = {
    # schema: above 0
    "population.entrant_risk_ratio": (0.01, None),
    # schema: above 0; the fit's narrowest body
    "cost.body_sigma": (0.01, None),
    # schema: above 1; alpha - 1 is fitted on the log scale
    "cost.tail_shape": (1.02, None),
    # zero_cost_share + tail_probability must stay below 1
    "cost.zero_cost_share": (None, 0.99),
    "cost.tail_probability": (None, 0.99),
}


def field_range(name: str) -> tuple[float, float]:
    """The closed range ``(lowest, highest)`` calibration keeps the field ``name`` (dotted, as
    ``cost.body_sigma``) within: the schema's bounds, tightened by :data:`MARGINS`."""
    block, field = name.split(".")
    bounds = field_bounds(_BLOCKS[block], field)
    lo, hi = MARGINS.get(name, (None, None))
    lower = bounds.lower if lo is None else max(lo, bounds.lower)
    upper = bounds.upper if hi is None else min(hi, bounds.upper)
    if (lo is None and bounds.lower_open) or (hi is None and bounds.upper_open):
        raise ValueError(f"{name}: the schema's bound is open; give calibration's in MARGINS")
    if lower > upper:
        raise ValueError(f"{name}: empty range {lower} to {upper}")
    return lower, upper
