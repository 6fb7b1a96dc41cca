"""The CPU kernel's frequency-severity lanes (``population._compound_lanes``: claim draws in
vector loops over the lane block, the compound rule's own entry points) against the member-year
rule run slot by slot: the CUDA kernel's lane function, an ordinary @njit function that calls
``member.compound_cost`` for each slot. Its lane sums, added in the CPU's lane order, are the CPU
kernel's aggregates to the bit, for each severity family and count regime."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simsettle._kernels import records as R
from simsettle._kernels.population import compounds
from simsettle.models.population import (
    check_inputs,
    compile_model,
    key_from_seed,
    simulate_aggregates,
)
from simsettle.scenario import parse_scenario
from tests.conftest import trial_by_lanes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from compound import CASE, MEAN_CLAIM

# The lane function's first compile takes about a minute on a 2-core machine (as in test_gpu).
pytestmark = pytest.mark.slow

CASES = {
    # The textbook case: 50 members (a last lane block of 2), Poisson(1) counts, gamma shape 1.
    "gamma": ("gamma", {}),
    # Gamma of shape 1/4: a member-year's total of fewer than four claims takes the boost.
    "gamma_small_shape": ("gamma", {"cv: 1.0": "cv: 2.0"}),
    # Lognormal claims, nine a year: several further claim blocks per member-year.
    "lognormal_blocks": ("lognormal", {"claims_per_year: 1.0": "claims_per_year: 9.0"}),
    # A family drawn claim by claim by its quantile.
    "weibull": ("weibull", {}),
    # A lognormal frailty that persists, turnover (joiners, partial years) and contagion.
    "frailty_turnover_contagion": (
        "gamma",
        {
            "claim_dispersion: 0.0": "claim_dispersion: 0.8\n  contagion: 0.3",
            "persistence: 0.0": "persistence: 0.6",
            "turnover: 0.0": "turnover: 0.2",
        },
    ),
    # Means of 200 with a lognormal frailty: a tenth of them above 400 take the normal
    # approximation, beside the walk.
    "large_means": (
        "lognormal",
        {
            "claims_per_year: 1.0": "claims_per_year: 200.0",
            "claim_dispersion: 0.0": "claim_dispersion: 0.8",
        },
    ),
}


def _scenario(name: str):
    family, edits = CASES[name]
    text = CASE.format(trials=2, members=50, pmpm=MEAN_CLAIM / 12.0, family=family, cv=1.0)
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    return parse_scenario(text).scenario


def _slot_by_slot(sc, trial: int) -> np.ndarray:
    """One trial by the lane function with one lane per LANES slots, added in lane order."""
    return trial_by_lanes(sc, trial, R.LANES)


@pytest.mark.parametrize("name", list(CASES))
def test_compound_lanes_are_the_rule_slot_by_slot(name):
    sc = _scenario(name)
    inputs = compile_model(sc)
    assert compounds(check_inputs(inputs, 0, 1)[0])  # the compound entry points run
    trial0, n_trials = 3, 2
    key = key_from_seed(sc.seed)
    serial = simulate_aggregates(inputs, key, trial0, n_trials)
    parallel = simulate_aggregates(inputs, key, trial0, n_trials, parallel=True)
    np.testing.assert_array_equal(serial, parallel)
    for i in range(n_trials):
        np.testing.assert_array_equal(serial[i], _slot_by_slot(sc, trial0 + i))
    assert serial[:, :, R.F_SPEND].min() > 0.0
