"""Scenario files: strict pydantic models, YAML loading with positioned errors, JSON Schema.

This package never imports numba, xarray or matplotlib, so ``simsettle validate`` stays fast.
"""

from simsettle.scenario.contracts import (
    DESIGN_KINDS,
    AggregateStopLoss,
    AnyDesign,
    Band,
    CapitationAdvance,
    Design,
    LossRateFromQuality,
    Quality,
    StopLoss,
    TwoSided,
    UpsideOnly,
)
from simsettle.scenario.io import (
    LoadedScenario,
    load_scenario,
    parse_scenario,
    scenario_json_schema,
    scenario_json_schema_text,
)
from simsettle.scenario.schema import (
    SCHEMA_VERSION,
    Benchmark,
    Cost,
    HealthEquity,
    Population,
    PriorSavings,
    Provider,
    Scenario,
    Trend,
    Truncation,
)

__all__ = [
    "DESIGN_KINDS",
    "SCHEMA_VERSION",
    "AggregateStopLoss",
    "AnyDesign",
    "Band",
    "Benchmark",
    "CapitationAdvance",
    "Cost",
    "Design",
    "HealthEquity",
    "LoadedScenario",
    "LossRateFromQuality",
    "Population",
    "PriorSavings",
    "Provider",
    "Quality",
    "Scenario",
    "StopLoss",
    "Trend",
    "Truncation",
    "TwoSided",
    "UpsideOnly",
    "load_scenario",
    "parse_scenario",
    "scenario_json_schema",
    "scenario_json_schema_text",
]
