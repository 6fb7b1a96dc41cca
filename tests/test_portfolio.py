"""Several contracts of one provider over one systemic trend."""

from __future__ import annotations

import numpy as np
import pytest

import simsettle
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario import parse_scenario
from tests.conftest import SMALL_SCENARIO

LINES = """portfolio:
  primary_name: mssp
  lines:
    - name: medicare_advantage
      population: {members: 300, turnover: 0.2, replacement: 0.8}
      cost: {pmpm: 900.0}
      benchmark: {weights: [0.1, 0.3, 0.6], trend_rate: 0.04}
      designs:
        - {name: ma_two_sided, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5}
    - name: commercial
      population: {members: 500, risk_sigma: 0.7}
      cost: {pmpm: 500.0, tail_threshold: 30000.0}
      designs:
        - {name: comm, template: commercial_two_sided}
designs:"""


@pytest.fixture(scope="module")
def portfolio():
    return simsettle.simulate(
        parse_scenario(SMALL_SCENARIO.replace("designs:", LINES)), progress=False
    )


def test_primary_line_is_unchanged(portfolio):
    alone = simsettle.simulate(parse_scenario(SMALL_SCENARIO), progress=False)
    for name in alone.data_vars:
        if "design" in alone[name].dims:
            np.testing.assert_array_equal(
                portfolio[name].sel(design=alone.design.values).values, alone[name].values
            )
        else:
            np.testing.assert_array_equal(portfolio[name].values, alone[name].values)


def test_layout_and_portfolio_settlement(portfolio):
    assert list(portfolio.line_of_business.values) == ["mssp", "medicare_advantage", "commercial"]
    assert list(portfolio.line.values) == ["mssp"] * 4 + ["medicare_advantage", "commercial"]
    assert portfolio.line_benchmark.dims == ("line_of_business", "trial", "year")
    expected = portfolio.settlement.sel(design=["one_sided", "ma_two_sided", "comm"]).sum("design")
    np.testing.assert_allclose(portfolio.portfolio_settlement, expected, rtol=1e-12)
    np.testing.assert_array_equal(
        portfolio.line_benchmark.sel(line_of_business="mssp"), portfolio.benchmark
    )


def test_lines_share_the_trend_but_not_their_members():
    # Identical lines but for their member streams: the same trend index, different spend.
    sc = parse_scenario(SMALL_SCENARIO).scenario
    key = key_from_seed(sc.seed)
    a = simulate_aggregates(compile_model(sc), key, 0, 20)
    b = simulate_aggregates(compile_model(sc, member_offset=300), key, 0, 20)
    np.testing.assert_array_equal(a[:, :, R.F_TREND_INDEX], b[:, :, R.F_TREND_INDEX])
    np.testing.assert_array_equal(a[:, :, R.F_QUALITY], b[:, :, R.F_QUALITY])
    assert not np.array_equal(a[:, :, R.F_SPEND], b[:, :, R.F_SPEND])


def test_systemic_trend_correlates_the_lines():
    # A volatile shared trend and large lines: the lines' cost per member month moves together.
    text = (
        SMALL_SCENARIO.replace("  sd: 0.03", "  sd: 0.10")
        .replace("members: 300", "members: 4000")
        .replace(
            "designs:",
            LINES.replace("members: 300,", "members: 4000,").replace(
                "members: 500,", "members: 4000,"
            ),
        )
    )
    ds = simsettle.simulate(parse_scenario(text), trials=150, progress=False)
    pmpm = (ds.line_actual_spend / ds.line_member_months).isel(year=1).values
    corr = np.corrcoef(pmpm)
    assert corr[0, 1] > 0.8
    assert corr[0, 2] > 0.8


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [
        (("name: comm,", "name: one_sided,"), "portfolio.lines.1.designs.0.name", "duplicate"),
        (("name: commercial", "name: mssp"), "portfolio.lines.1.name", "duplicate line"),
        (
            (
                "benchmark: {weights: [0.1, 0.3, 0.6], trend_rate: 0.04}",
                "benchmark: {weights: [0.5, 0.5]}",
            ),
            "portfolio.lines.0.benchmark.weights",
            "base years",
        ),
        (
            ("template: commercial_two_sided}", "template: mssp_basic_zz}"),
            "portfolio.lines.1.designs.0.template",
            "unknown template",
        ),
    ],
)
def test_portfolio_errors_are_positioned(edit, path, message):
    text = SMALL_SCENARIO.replace("designs:", LINES)
    assert edit[0] in text
    with pytest.raises(simsettle.ScenarioError) as info:
        parse_scenario(text.replace(*edit), "p.yaml")
    issue = info.value.issues[0]
    assert issue.path == path
    assert message in issue.message
    assert issue.line > 1
