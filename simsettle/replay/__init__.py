"""Replay of published CMS settlement results: read the public data, settle it with the engine.

:mod:`simsettle.replay.puf` reads a Medicare Shared Savings Program "ACO results" public use file
into typed rows whose inputs are in engine units and whose published outcomes are kept apart;
:mod:`simsettle.replay.mssp` settles those inputs with the engine's MSSP templates and compares the
result with what CMS published; :mod:`simsettle.replay.adjustments` checks the engine's choice
between the regional and the prior savings adjustment against CMS's (PY2024 onwards).
"""

from simsettle.replay.adjustments import (
    CMS_ADJUSTMENT_LABELS,
    AdjustmentCheck,
    AdjustmentRow,
    check_adjustments,
    format_adjustment_check,
)
from simsettle.replay.mssp import (
    FIXED_MSR_OPTIONS,
    REPLAY_CSV_COLUMNS,
    TRACK_TEMPLATES,
    ReplayRow,
    ReplaySummary,
    agrees,
    replay_puf,
    replay_rows,
    summarize,
    write_replay_csv,
)
from simsettle.replay.puf import (
    INPUT_COLUMNS,
    OPTIONAL_COLUMNS,
    OUTCOME_COLUMNS,
    RATE_UNITS,
    REQUIRED_COLUMNS,
    PublishedOutcome,
    PufRow,
    puf_columns_used,
    read_puf,
)

__all__ = [
    "CMS_ADJUSTMENT_LABELS",
    "FIXED_MSR_OPTIONS",
    "INPUT_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTCOME_COLUMNS",
    "RATE_UNITS",
    "REPLAY_CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "TRACK_TEMPLATES",
    "AdjustmentCheck",
    "AdjustmentRow",
    "PublishedOutcome",
    "PufRow",
    "ReplayRow",
    "ReplaySummary",
    "agrees",
    "check_adjustments",
    "format_adjustment_check",
    "puf_columns_used",
    "read_puf",
    "replay_puf",
    "replay_rows",
    "summarize",
    "write_replay_csv",
]
