"""Terms that change by performance year (``by_year``): MSSP's BASIC glide path and the like."""

from __future__ import annotations

import numpy as np
import pytest

from simsettle import parse_scenario, simulate
from simsettle.exact import not_exact
from simsettle.scenario import TwoSided, UpsideOnly
from tests.conftest import assert_error_at

HEAD = """schema_version: 1
name: glide
trials: 300
seed: 7
first_performance_year: 2024
performance_years: 5
population: {members: 6000}
cost: {pmpm: 1000}
provider: {revenue_ratio: 0.5}
"""

GLIDE = (
    HEAD
    + """designs:
  - name: glide
    template: mssp_basic_a
    min_savings_rate: 0.0
    by_year: [{}, {}, {template: mssp_basic_c}, {template: mssp_basic_d}, {template: mssp_basic_e}]
  - name: a
    template: mssp_basic_a
  - name: c
    template: mssp_basic_c
    min_savings_rate: 0.0
  - name: d
    template: mssp_basic_d
    min_savings_rate: 0.0
  - name: e
    template: mssp_basic_e
    min_savings_rate: 0.0
"""
)


def test_glide_path_expands_each_year_with_its_template_and_rules_year():
    sc = parse_scenario(GLIDE, "g.yaml").scenario
    glide = sc.designs[0]
    years = [glide.in_year(p) for p in range(7)]
    assert [y.performance_year for y in years] == [2024, 2025, 2026, 2027, 2028, 2028, 2028]
    assert [type(y) for y in years[:3]] == [UpsideOnly, UpsideOnly, TwoSided]
    assert [getattr(y, "loss_cap", None) for y in years[:5]] == [None, None, 0.01, 0.02, 0.04]
    # The design's own overrides reach every year; the rules year decides the policy
    # (the quality standard is 73.85 from PY2026).
    assert all(y.min_savings_rate == 0.0 for y in years)
    assert years[0].quality.standard == 0.40
    assert years[2].quality.standard == 0.7385
    # The design is its first year.
    assert isinstance(glide, UpsideOnly)
    assert glide.by_year[0] == years[0]
    # What to_text writes reads back the same.
    assert parse_scenario(sc.to_text(), "again.yaml").scenario == sc


def test_each_year_settles_as_the_design_of_that_year_on_the_same_draws():
    ds = simulate(parse_scenario(GLIDE, "g.yaml"), progress=False)
    s = ds.settlement
    # Years 1-2 are level A (one-sided; the glide's 0% MSR is not A's variable MSR).
    assert float((s.sel(design="glide").isel(year=slice(0, 2)) < 0).sum()) == 0
    for year, same in ((2, "c"), (3, "d"), (4, "e")):
        np.testing.assert_array_equal(
            s.sel(design="glide").isel(year=year).values, s.sel(design=same).isel(year=year).values
        )
        np.testing.assert_array_equal(
            ds.settlement_benchmark.sel(design="glide").isel(year=year).values,
            ds.settlement_benchmark.sel(design=same).isel(year=year).values,
        )
    assert (
        ds.template.sel(design="glide").item()
        == "mssp_basic_a > mssp_basic_c > mssp_basic_d > mssp_basic_e"
    )


def test_a_swept_field_reaches_every_year():
    text = (
        HEAD
        + """designs:
  - name: steps
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    min_savings_rate: 0.02
    by_year: [{}, {shared_loss_rate: 0.3}]
sweep:
  - path: designs.steps.min_savings_rate
    values: [0.0, 0.03]
"""
    )
    ds = simulate(parse_scenario(text, "s.yaml"), trials=50, progress=False)
    msr = ds.min_savings_rate.values
    assert list(msr) == [0.0, 0.03]
    # With a 3% corridor, nothing settles within 3% of the benchmark in any year.
    s = ds.settlement.sel(min_savings_rate=0.03)
    rate = ds.savings.sel(min_savings_rate=0.03) / ds.settlement_benchmark.sel(
        min_savings_rate=0.03
    )
    assert float(abs(s.where(abs(rate) < 0.03, 0.0)).max()) == 0.0


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("[{}, 3]", "    by_year: [{}, 3]", "must be a mapping"),
        ("[{}, {name: other}]", "    by_year: [{}, {name: other}]", "remove the name"),
        ("[{}, {by_year: [{}]}]", "    by_year: [{}, {by_year: [{}]}]", "cannot change by year"),
        ("[{}, {template: nope}]", "    by_year: [{}, {template: nope}]", "unknown template"),
        ("[]", "    by_year: []", "at least one year"),
    ],
)
def test_errors_name_the_entry(entry, line, message):
    text = (
        HEAD
        + f"""designs:
  - name: x
    template: mssp_basic_a
    by_year: {entry}
"""
    )
    assert_error_at(text, line, message)


def test_the_exact_path_says_it_does_not_support_terms_by_year():
    text = (
        HEAD.replace("performance_years: 5", "performance_years: 2")
        + """designs:
  - name: x
    kind: upside_only
    shared_savings_rate: 0.5
    by_year: [{}, {shared_savings_rate: 0.4}]
"""
    )
    why = not_exact(parse_scenario(text, "x.yaml").scenario)
    assert any("designs.x.by_year" in w for w in why), why
