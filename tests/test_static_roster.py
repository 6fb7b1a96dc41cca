"""The static roster's short cut (``static_roster``: frequency-severity on a roster that never
changes, whose members share one expected cost, score and care): the CPU's trial loop skips the
member draws, the joiners' and leavers' loops and most of the settlement's tests
(``population._static_lanes``, ``_static_sums``). Nothing it skips can change a result, so the
aggregates must be those of the general loop to the bit, which each case checks by running the
same parameters with the flag cleared."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario import load_scenario, parse_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from compound import CASE, MEAN_CLAIM

EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"

# Every mechanism a static roster keeps: base years and a historical benchmark, trend with
# shocks, ageing, a persistent lognormal frailty, contagion, demographic scores (a benchmark
# that uses them), practices with their own cost ratios, and stop-loss attachments.
RICH = """\
schema_version: 1
name: a static roster with everything it can have
seed: 77
trials: 30
first_performance_year: 2026
performance_years: 2
population: {members: 70, turnover: 0.0, risk_sigma: 0.0, ageing: 0.02}
cost:
  pmpm: 1100.0
  model: frequency_severity
  claims_per_year: 12.0
  claim_dispersion: 0.6
  persistence: 0.5
  severity_sigma: 1.6
  contagion: 0.01
trend: {mean: 0.04, sd: 0.02, shock_probability: 0.2, shock_size: 0.1}
benchmark:
  weights: [0.1, 0.3, 0.6]
  trend_rate: 0.04
participants:
  method: performance
  practices:
    - {name: a, share: 0.4, cost_ratio: 0.9}
    - {name: b, share: 0.6, cost_ratio: 1.15}
designs:
  - name: stop_loss
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 50000.0, coinsurance: 0.1, premium_loading: 0.2}
  - name: stop_loss_high
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 150000.0, coinsurance: 0.1, premium_loading: 0.2}
"""


def _textbook(family: str, edits: dict[str, str] | None = None) -> str:
    text = CASE.format(trials=30, members=50, pmpm=MEAN_CLAIM / 12.0, family=family, cv=1.0)
    for old, new in (edits or {}).items():
        assert old in text
        text = text.replace(old, new)
    return text


CASES = {
    "textbook_gamma": lambda: parse_scenario(_textbook("gamma")).scenario,
    # Gamma claims of shape 1/4: totals of few claims take the boost.
    "gamma_small_shape": lambda: (
        parse_scenario(_textbook("gamma", {"cv: 1.0": "cv: 2.0"})).scenario
    ),
    "lognormal_blocks": lambda: (
        parse_scenario(
            _textbook("lognormal", {"claims_per_year: 1.0": "claims_per_year: 9.0"})
        ).scenario
    ),
    # Means near 400 with a frailty: some lanes take the normal approximation.
    "large_means": lambda: (
        parse_scenario(
            _textbook(
                "lognormal",
                {
                    "claims_per_year: 1.0": "claims_per_year: 200.0",
                    "claim_dispersion: 0.0": "claim_dispersion: 0.8",
                },
            )
        ).scenario
    ),
    "rich": lambda: parse_scenario(RICH).scenario,
    "exact_check": lambda: load_scenario(EXAMPLES / "exact_check.yaml").scenario,
    "spliced_severity": lambda: load_scenario(EXAMPLES / "spliced_severity.yaml").scenario,
}


def _both_ways(sc, n_trials: int = 30) -> tuple[np.ndarray, np.ndarray]:
    inputs = compile_model(sc)
    assert inputs.params["static_roster"] == 1.0  # the short cut runs
    key = key_from_seed(sc.seed)
    fast = simulate_aggregates(inputs, key, 5, n_trials)
    general = inputs.params.copy()
    general["static_roster"] = 0.0
    slow = simulate_aggregates(dataclasses.replace(inputs, params=general), key, 5, n_trials)
    return fast, slow


@pytest.mark.parametrize("name", list(CASES))
def test_static_roster_is_the_general_loop_to_the_bit(name):
    sc = CASES[name]()
    fast, slow = _both_ways(sc)
    np.testing.assert_array_equal(fast, slow)
    assert fast[:, :, R.F_SPEND].min() > 0.0


def test_rich_case_exercises_what_it_claims():
    """The rich case's aggregates move with its ageing, practices and attachments (so the
    comparison above covers them)."""
    sc = CASES["rich"]()
    inputs = compile_model(sc)
    assert inputs.n_years == 5  # three base years and two performance years
    assert inputs.practices.shape[0] == 2
    assert inputs.attachments.shape[0] == 2
    fast, _ = _both_ways(sc)
    risk = fast[:, :, R.F_RISK_MONTHS] / fast[:, :, R.F_MEMBER_MONTHS]
    np.testing.assert_allclose(risk[0], 1.02 ** np.arange(5))  # ageing, tenure = year
    assert (fast[:, :, R.N_BASE_FIELDS] > 0.0).any(axis=0).all()  # the first attachment excess


@pytest.mark.parametrize(
    "edit",
    [
        {"turnover: 0.0": "turnover: 0.1"},
        {"risk_sigma: 0.0": "risk_sigma: 0.3"},
        {"risk_sigma: 0.0}": "risk_sigma: 0.0, attribution: {payer_only_share: 0.1}}"},
    ],
)
def test_static_roster_only_where_nothing_moves(edit):
    sc = parse_scenario(_textbook("gamma", edit)).scenario
    assert compile_model(sc).params["static_roster"] == 0.0


def test_static_roster_not_with_care_management():
    text = _textbook("gamma") + "care_management: {high_risk_share: 0.1, effect: 0.1}\n"
    assert compile_model(parse_scenario(text).scenario).params["static_roster"] == 0.0


def test_static_roster_never_for_the_mixture():
    text = _textbook("gamma").replace("  model: frequency_severity\n", "")
    text = "\n".join(
        line
        for line in text.splitlines()
        if not any(k in line for k in ("claims_per_year", "claim_dispersion", "severity:"))
    )
    assert compile_model(parse_scenario(text).scenario).params["static_roster"] == 0.0
