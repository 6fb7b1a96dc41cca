"""Medicare enrolment types: member lanes with their own cost level and truncation threshold,
a benchmark per type combined as CMS does, against the numpy twin and by hand."""

from __future__ import annotations

import numpy as np
import pytest

import simsettle
from simsettle import parse_scenario
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.rules.designs import _type_inputs
from simsettle.rules.reference import benchmark_parts_reference
from simsettle.rules.truncation import truncate
from tests.conftest import assert_error_at, assert_twin_agrees

TYPES = """schema_version: 1
name: types
trials: 200
seed: 5
first_performance_year: 2024
performance_years: 2
population:
  members: 4000
  enrollment_types:
    - {name: aged_non_dual, share: 0.78}
    - {name: aged_dual, share: 0.12, cost_ratio: 1.8, regional_cost_ratio: 1.05}
    - {name: disabled, share: 0.08, cost_ratio: 1.1}
    - {name: esrd, share: 0.02, cost_ratio: 7.0}
cost: {pmpm: 900}
truncation: {percentile: 0.99}
benchmark:
  template: mssp_from_2024
  trend_rate: 0.049
  regional_cost_ratio: 0.98
  regional_offset_dual_share: 0.15
  prior_savings: {savings: [200, 300, 100]}
designs:
  - name: e
    template: mssp_basic_e
    loss_cap_revenue: null
"""


@pytest.fixture(scope="module")
def typed():
    loaded = parse_scenario(TYPES, "types.yaml")
    return loaded, simsettle.simulate(loaded, progress=False)


def test_kernel_lanes_match_the_numpy_twin():
    sc = parse_scenario(TYPES.replace("members: 4000", "members: 300"), "t.yaml").scenario
    got = assert_twin_agrees(sc, trial=3)
    inputs = compile_model(sc)
    # Every member is of one type: the lanes' spend and months sum to the entity's.
    first = R.N_BASE_FIELDS + int(inputs.attachments.shape[0])
    np.testing.assert_allclose(got[:, first : first + 4].sum(axis=1), got[:, R.F_SPEND], rtol=1e-12)
    np.testing.assert_allclose(
        got[:, first + 4 : first + 8].sum(axis=1), got[:, R.F_MEMBER_MONTHS], rtol=1e-12
    )


def test_type_levels_thresholds_and_combination(typed):
    loaded, ds = typed
    sc = loaded.scenario
    # Each type's cost level is its ratio to the population's (within Monte Carlo error).
    pmpm = (ds.type_spend + 0.0) / ds.type_member_months
    ratio = (pmpm / pmpm.sel(enrollment_type="aged_non_dual")).mean(("trial", "year"))
    np.testing.assert_allclose(ratio.values, [1.0, 1.8, 1.1, 7.0], rtol=0.08)
    # Shares of the member months follow the slots.
    share = (ds.type_member_months / ds.member_months).mean(("trial", "year"))
    np.testing.assert_allclose(share.values, [0.78, 0.12, 0.08, 0.02], atol=0.005)
    # The truncation thresholds scale with the cost ratio (a percentile of each type's cost).
    inputs = compile_model(sc)
    base = inputs.truncation
    for t, row in zip(sc.population.enrollment_types, inputs.type_truncation, strict=True):
        np.testing.assert_allclose(row, np.asarray(base) * t.cost_ratio, rtol=1e-15)
    # The ACO's benchmark is its types', and the settled spend too.
    np.testing.assert_allclose(ds.type_benchmark.sum("enrollment_type"), ds.benchmark, rtol=1e-13)
    np.testing.assert_allclose(
        ds.type_spend.sum("enrollment_type"), ds.actual_spend - ds.truncated_spend, rtol=1e-12
    )


def test_settlement_path_benchmark_matches_the_twin():
    sc = parse_scenario(TYPES.replace("trials: 200", "trials: 6"), "t.yaml").scenario
    inputs = compile_model(sc)
    agg = simulate_aggregates(inputs, key_from_seed(sc.seed), 0, sc.trials)
    truncated, removed = truncate(inputs, agg)
    # The entity's truncated spend is its types'; what was taken off likewise.
    np.testing.assert_allclose(removed[..., 0], removed[..., 1:].sum(axis=-1), rtol=1e-15)
    typed_inputs = _type_inputs(sc, inputs, truncated)
    nb = inputs.n_base_years
    ref = benchmark_parts_reference(sc.benchmark, typed_inputs, nb)
    ds = simsettle.simulate(sc, progress=False)
    np.testing.assert_allclose(ds.benchmark.values, ref["total"], rtol=1e-12)
    np.testing.assert_allclose(ds.type_benchmark.values, ref["by_type"], rtol=1e-12)
    np.testing.assert_allclose(ds.benchmark_adjustment.values, ref["applied"], rtol=1e-12)


def test_bit_identical_across_chunks(typed):
    loaded, ds = typed
    again = simsettle.simulate(loaded, chunk_trials=37, threads=1, progress=False)
    np.testing.assert_array_equal(again.settlement.values, ds.settlement.values)
    np.testing.assert_array_equal(again.type_benchmark.values, ds.type_benchmark.values)


DUPLICATE = "    - {name: aged_dual, share: 0.08, cost_ratio: 1.1}"


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("share: 0.78}", "share: 0.70}", "  enrollment_types:", "sum to 1"),
        ("name: disabled,", "name: aged_dual,", DUPLICATE, "duplicate type"),
    ],
)
def test_errors(old, new, line, message):
    text = TYPES.replace(old, new)
    assert_error_at(text, line, message)


def test_not_with_participants():
    text = TYPES.replace(
        "designs:",
        "participants:\n  practices:\n    - {name: a, share: 0.5}\n    - {name: b, share: 0.5}\n"
        "designs:",
    )
    with pytest.raises(simsettle.ScenarioError, match="not supported with participants"):
        parse_scenario(text, "x.yaml")


def test_lane_bounds_are_validated_as_the_kernels_cut_them():
    # 1,000 members at 0.4995 / 0.001 / 0.4995: round-half-to-even bounds 500, 500, 1000 leave
    # the middle type no slot.
    text = TYPES.replace("members: 4000", "members: 1000").replace(
        """    - {name: aged_non_dual, share: 0.78}
    - {name: aged_dual, share: 0.12, cost_ratio: 1.8, regional_cost_ratio: 1.05}
    - {name: disabled, share: 0.08, cost_ratio: 1.1}
    - {name: esrd, share: 0.02, cost_ratio: 7.0}""",
        """    - {name: a, share: 0.4995}
    - {name: b, share: 0.001}
    - {name: c, share: 0.4995}""",
    )
    with pytest.raises(simsettle.ScenarioError, match="no member slot"):
        parse_scenario(text, "x.yaml")


def test_the_exact_path_refuses_enrolment_types():
    from simsettle.exact import not_exact

    sc = parse_scenario(TYPES, "t.yaml").scenario
    assert any("enrollment_types" in why for why in not_exact(sc))
