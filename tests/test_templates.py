"""Every template's parameters pinned, each with its source; templates with overrides."""

from __future__ import annotations

import math

import pytest

from simsettle import ScenarioError, parse_scenario
from simsettle.scenario import TwoSided, UpsideOnly
from simsettle.scenario.templates import MSSP_POLICY, TEMPLATES, expand_template, template_names


def build(name, year=2024, **overrides):
    d = expand_template({"name": "t", "template": name, **overrides}, year)
    model = TwoSided if d["kind"] == "two_sided" else UpsideOnly
    return model(**d)


def bands(design, side="savings"):
    bs = design.savings_bands_effective if side == "savings" else design.loss_bands_effective
    return [(b.up_to, b.share) for b in bs]


@pytest.mark.parametrize("level", ["a", "b"])
def test_mssp_basic_one_sided(level):
    # 42 CFR 425.605(d)(1)(i)-(ii); SPEC-v11 App. A Table 6; STLMT-2022 Table A5: 40% of savings
    # past the size-based MSR, first dollar, performance payment limit 10% of benchmark.
    d = build(f"mssp_basic_{level}")
    assert isinstance(d, UpsideOnly)
    assert d.shared_savings_rate == 0.40
    assert d.msr_table == "mssp"
    assert d.savings_cap == 0.10
    assert d.sharing_basis == "first_dollar"
    assert d.sequestration == 0.02


@pytest.mark.parametrize(
    ("level", "revenue_limit", "benchmark_limit"),
    [("c", 0.02, 0.01), ("d", 0.04, 0.02), ("e", 0.08, 0.04)],
)
def test_mssp_basic_two_sided(level, revenue_limit, benchmark_limit):
    # 425.605(d)(1)(iii)-(v): 50% savings, 30% losses not scaled by quality, loss limit a share
    # of participant revenue capped at a share of the benchmark; SPEC-v11 4.2.3 small-population
    # override below 5,000 beneficiaries.
    d = build(f"mssp_basic_{level}")
    assert isinstance(d, TwoSided)
    assert (d.shared_savings_rate, d.shared_loss_rate) == (0.50, 0.30)
    assert (d.loss_cap_revenue, d.loss_cap) == (revenue_limit, benchmark_limit)
    assert d.savings_cap == 0.10
    assert d.variable_msr_below == 5000
    assert d.min_savings_rate == 0.02
    assert d.effective_min_loss_rate == 0.02


def test_mssp_enhanced():
    # 425.610: 75% savings, loss rate 1 - 0.75 x quality within 40%..75% (75% failing both
    # standards), savings cap 20% (e)(2), loss cap 15% (g).
    d = build("mssp_enhanced")
    assert d.shared_savings_rate == 0.75
    assert d.savings_cap == 0.20
    assert d.loss_cap == 0.15
    lr = d.quality.loss_rate
    assert (lr.slope, lr.floor, lr.ceiling, lr.failed) == (0.75, 0.40, 0.75, 0.75)
    assert d.shared_loss_rate is None


@pytest.mark.parametrize(
    ("year", "sequestration", "relief", "below"),
    [
        (2019, 0.0, 0.0, "no_savings"),
        (2020, 0.0, 1.0, "no_savings"),
        (2022, 0.02, 1.0, "no_savings"),
        (2023, 0.02, 5 / 12, "scale_by_score"),
        (2024, 0.02, 0.0, "scale_by_score"),
        (2026, 0.02, 0.0, "scale_by_score"),
    ],
)
def test_mssp_rules_follow_the_performance_year(year, sequestration, relief, below):
    # cms_methodology.md 1.3-1.4: sequestration moratorium for PY2019-2020 payments; COVID-19
    # loss relief PY2020-2022 in full and 5/12 in PY2023; alternative QPS from PY2023.
    e = build("mssp_basic_e", year=year)
    assert e.sequestration == sequestration
    assert e.loss_reduction == pytest.approx(relief)
    if year <= 2020:
        assert e.quality.scale_savings_rate
    else:
        assert e.quality.below_standard == below
    assert e.performance_year == year
    assert MSSP_POLICY[2026].quality_standard == 0.7385  # PY2026 QPS 73.85 (PY2026-NOTE)


def test_reach_professional_and_global():
    # Pearl Health (PY2021-2025): Professional 50/35/15/5% by bands <5, 5-10, 10-15, >15%;
    # Global 100/50/25/10% by <25, 25-35, 35-50, >50%; Global discount 4% in PY2025; quality
    # withhold 2% (5% from PY2026).
    p = build("reach_professional", year=2025)
    assert bands(p) == [(0.05, 0.5), (0.10, 0.35), (0.15, 0.15), (None, 0.05)]
    assert bands(p, "loss") == bands(p)
    assert p.discount == 0.0
    assert p.quality.withhold == 0.02
    g = build("reach_global", year=2025)
    assert bands(g) == [(0.25, 1.0), (0.35, 0.5), (0.50, 0.25), (None, 0.10)]
    assert g.discount == 0.04
    g26 = build("reach_global", year=2026)
    assert bands(g26)[0] == (0.10, 1.0)  # PY2026 narrowed the first band to 10%
    assert g26.quality.withhold == 0.05
    assert build("reach_global", year=2021).discount == 0.02


def test_aca_and_part_d_corridors():
    # 42 USC 18062 (ACA, 2014-2016): 3%/8% thresholds, the government shares 50% then 80%, so
    # the plan keeps 100% / 50% / 20%. 42 USC 1395w-115(e) (Part D 2008+): 5%/10%, same shares.
    aca = build("aca_risk_corridors", year=2015)
    assert bands(aca) == [(0.03, 1.0), (0.08, 0.5), (None, 0.2)] == bands(aca, "loss")
    part_d = build("part_d_corridors", year=2024)
    assert bands(part_d) == [(0.05, 1.0), (0.10, 0.5), (None, 0.2)] == bands(part_d, "loss")
    assert aca.min_savings_rate == 0.0
    assert part_d.sharing_basis == "first_dollar"


def test_commercial_templates():
    u = build("commercial_upside_only")
    assert (u.min_savings_rate, u.shared_savings_rate, u.savings_cap) == (0.02, 0.5, 0.10)
    t = build("commercial_two_sided")
    assert (t.shared_savings_rate, t.shared_loss_rate, t.savings_cap, t.loss_cap) == (
        0.5,
        0.5,
        0.10,
        0.05,
    )


def test_every_template_is_pinned_and_valid():
    assert set(template_names()) == {
        "mssp_basic_a",
        "mssp_basic_b",
        "mssp_basic_c",
        "mssp_basic_d",
        "mssp_basic_e",
        "mssp_enhanced",
        "reach_professional",
        "reach_global",
        "aca_risk_corridors",
        "part_d_corridors",
        "commercial_upside_only",
        "commercial_two_sided",
    }
    for name in TEMPLATES:
        for year in (2019, 2022, 2026, 2030):
            assert build(name, year=year).template == name


SCENARIO = """\
schema_version: 1
seed: 1
trials: 4
first_performance_year: 2023
population: {members: 50}
cost: {pmpm: 1000.0}
provider: {revenue_ratio: 0.3}
designs:
"""


def test_templates_in_a_scenario_with_overrides():
    text = (
        SCENARIO
        + """\
  - name: e_zero_msr
    template: mssp_basic_e
    min_savings_rate: 0.0
    quality: {score: 0.9}
  - name: enhanced_2026
    template: mssp_enhanced
    performance_year: 2026
    savings_cap: 0.15
"""
    )
    designs = parse_scenario(text).scenario.designs
    e, enh = designs
    assert e.min_savings_rate == 0.0
    assert e.shared_loss_rate == 0.30
    assert e.performance_year == 2023
    assert e.loss_reduction == pytest.approx(5 / 12)
    assert e.quality.score == 0.9
    assert e.quality.below_standard == "scale_by_score"
    assert enh.savings_cap == 0.15
    assert enh.loss_cap == 0.15
    assert enh.quality.standard == 0.7385
    assert enh.quality.loss_rate is not None
    assert math.isclose(enh.sequestration, 0.02)


def test_unknown_template_and_bad_override_are_positioned():
    with pytest.raises(ScenarioError) as info:
        parse_scenario(SCENARIO + "  - name: x\n    template: mssp_basic_z\n", "s.yaml")
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (10, "designs.0.template")
    assert "mssp_basic_a" in issue.message
    with pytest.raises(ScenarioError) as info:
        parse_scenario(
            SCENARIO + "  - name: x\n    template: mssp_basic_c\n    shared_loss_rate: 1.3\n",
            "s.yaml",
        )
    (issue,) = info.value.issues
    assert (issue.line, issue.column, issue.path) == (11, 5, "designs.0.shared_loss_rate")
    with pytest.raises(ScenarioError) as info:
        parse_scenario(
            SCENARIO.replace("provider: {revenue_ratio: 0.3}\n", "")
            + "  - name: x\n    template: mssp_basic_d\n",
            "s.yaml",
        )
    assert info.value.issues[0].path == "designs.0.loss_cap_revenue"
    assert "revenue_ratio" in info.value.issues[0].message
    with pytest.raises(ScenarioError) as info:
        parse_scenario(
            SCENARIO + "  - name: x\n    template: mssp_basic_a\n    performance_year: 2015\n",
            "s.yaml",
        )
    assert "2019" in info.value.issues[0].message


@pytest.mark.parametrize(
    ("year", "ratio", "half_rate"),
    [(2025, 0.30, 0.5), (2023, 0.30, 0.0), (2025, 0.50, 0.0), (2026, None, 0.0)],
)
def test_mssp_low_revenue_half_rate(year, ratio, half_rate):
    # 42 CFR 425.605(h): from agreement periods starting 2024, a low-revenue ACO (participant
    # revenue below 35% of benchmark, 425.20) with 5,000+ beneficiaries that misses the MSR
    # shares savings at half the rate (PY2024 PUF: ReducedSS, e.g. A5328 at 20%).
    d = expand_template({"name": "t", "template": "mssp_basic_a"}, year, revenue_ratio=ratio)
    assert d.get("below_msr_share", 0.0) == half_rate
    if half_rate:
        assert d["below_msr_min_members"] == 5000
    # The provider block of a scenario drives it.
    provider = "" if ratio is None else f"provider: {{revenue_ratio: {ratio}}}\n"
    text = (
        SCENARIO.replace("provider: {revenue_ratio: 0.3}\n", provider).replace(
            "first_performance_year: 2023", f"first_performance_year: {year}"
        )
        + "  - name: a\n    template: mssp_basic_a\n"
    )
    (design,) = parse_scenario(text).scenario.designs
    assert design.below_msr_share == half_rate
