"""Shared fixtures: example scenarios and a small, fast scenario text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))
SHARED = ROOT.parent / "shared"

SMALL_SCENARIO = """\
schema_version: 1
name: small test scenario
seed: 12345
trials: 64
first_performance_year: 2026
performance_years: 2
population:
  members: 300
  turnover: 0.2
  replacement: 0.8
  risk_sigma: 0.5
  risk_persistence: 0.7
cost:
  pmpm: 900.0
trend:
  mean: 0.05
  sd: 0.03
benchmark:
  weights: [0.1, 0.3, 0.6]
  trend_rate: 0.04
designs:
  - name: one_sided
    kind: upside_only
    min_savings_rate: 0.02
    shared_savings_rate: 0.5
    savings_cap: 0.1
  - name: two_sided
    kind: two_sided
    min_savings_rate: 0.01
    min_loss_rate: 0.02
    shared_savings_rate: 0.6
    shared_loss_rate: 0.4
    savings_cap: 0.1
    loss_cap: 0.05
    sharing_basis: above_threshold
  - name: with_stop_loss
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 50000.0, coinsurance: 0.2, premium_loading: 0.1}
  - name: high_attachment
    kind: upside_only
    shared_savings_rate: 0.5
    stop_loss: {attachment: 150000.0}
"""


@pytest.fixture
def small_text() -> str:
    """A valid scenario small enough to simulate in well under a second."""
    return SMALL_SCENARIO


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-expected",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.json from the current engine instead of comparing",
    )


@pytest.fixture
def update_expected(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite golden files (``pytest --update-expected``)."""
    return bool(request.config.getoption("--update-expected"))
