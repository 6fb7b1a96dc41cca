"""Each building block against a number worked out by hand, and against its reference twin."""

from __future__ import annotations

import numpy as np
import pytest

from simsettle.rules import YearFacts, mssp_msr, settle, settlement
from simsettle.rules.reference import msr_reference, settle_reference
from simsettle.rules.stop_loss import aggregate_stop_loss_recovery
from simsettle.scenario import AggregateStopLoss, TwoSided, UpsideOnly

B = 100_000_000.0


def two(**kw):
    return TwoSided(kind="two_sided", name="t", **kw)


def up(**kw):
    return UpsideOnly(kind="upside_only", name="u", **kw)


def one(design, savings, **facts):
    got = settlement(design, [B], [savings], YearFacts(**facts))[0]
    twin = settle_reference(design, [B], [savings], **facts)[0]
    assert got == pytest.approx(twin, rel=1e-12, abs=1e-6)
    return got


# -- MSSP size-based minimum savings rate (SPEC-v11 Table 5, 4.2.1) ---------------------------


@pytest.mark.parametrize(
    ("n", "msr"),
    [
        (7207, 0.034 * 792 / 999 + 0.032 * 207 / 999),  # STLMT-2022 row L: 3.35856%
        (1708, 0.087 * 1291 / 1999 + 0.050 * 708 / 1999),  # PUF: 7.39%
        (4999, 0.039),
        (5000, 0.039),
        (499, 0.122),
        (500, 0.122),
        (59999, 0.020),
        (60000, 0.020),
        (250_000, 0.020),
        (20000, 0.025),
        (49999, 0.022),
    ],
)
def test_mssp_msr_table(n, msr):
    assert mssp_msr(n) == pytest.approx(msr, rel=1e-12)
    assert msr_reference(n) == pytest.approx(msr, rel=1e-12)


def test_mssp_msr_matches_twin_everywhere_and_is_non_increasing():
    n = np.arange(0, 80_000, 7.0)
    fast = mssp_msr(n)
    np.testing.assert_allclose(fast, [msr_reference(x) for x in n], rtol=1e-12)
    assert np.all(np.diff(fast) <= 1e-15)
    assert fast.min() == 0.02


def test_msr_table_and_small_population_override():
    table = up(msr_table="mssp", shared_savings_rate=0.4)
    # 7,207 members: MSR 3.35856%; savings of 3.3% are not shared, 3.4% are, first dollar.
    assert one(table, 0.033 * B, members=7207) == 0.0
    assert one(table, 0.034 * B, members=7207) == pytest.approx(0.4 * 0.034 * B)
    fixed = two(
        min_savings_rate=0.02,
        shared_savings_rate=0.5,
        shared_loss_rate=0.3,
        variable_msr_below=5000,
    )
    # Below 5,000 members the table replaces the fixed 2% corridor on both sides (4,000: 4.45%).
    n_small = 4000
    msr_small = 0.05 * 999 / 1999 + 0.039 * 1000 / 1999
    assert one(fixed, 0.03 * B, members=n_small) == 0.0
    assert one(fixed, -0.03 * B, members=n_small) == 0.0
    assert one(fixed, 0.03 * B, members=6000) == pytest.approx(0.5 * 0.03 * B)
    assert one(fixed, (msr_small + 1e-6) * B, members=n_small) > 0


# -- sharing basis, rates, sequestration, caps ----------------------------------------------


def test_first_dollar_versus_above_threshold():
    first = up(min_savings_rate=0.02, shared_savings_rate=0.5)
    above = up(min_savings_rate=0.02, shared_savings_rate=0.5, sharing_basis="above_threshold")
    assert one(first, 0.05 * B) == pytest.approx(0.5 * 0.05 * B)
    assert one(above, 0.05 * B) == pytest.approx(0.5 * 0.03 * B)


def test_sequestration_comes_before_the_cap():
    # MSSP order: 50% of 30M = 15M, sequestered 2% -> 14.7M, then capped at 10% of B = 10M.
    d = up(shared_savings_rate=0.5, sequestration=0.02, savings_cap=0.10)
    steps = settle(d, [B], [30e6])[0]
    assert steps[1] == pytest.approx(15e6)
    assert steps[2] == pytest.approx(-0.3e6)
    assert steps[3] == pytest.approx(10e6 - 14.7e6)
    assert steps[0] == pytest.approx(10e6)
    # Below the cap sequestration bites: 50% of 10M x 0.98.
    assert one(d, 10e6) == pytest.approx(4.9e6)


def test_caps_on_benchmark_or_revenue_whichever_binds():
    # BASIC E: loss limit 8% of revenue, at most 4% of benchmark.
    d = two(shared_savings_rate=0.5, shared_loss_rate=0.3, loss_cap=0.04, loss_cap_revenue=0.08)
    # Revenue 30M: 8% = 2.4M binds before 4% of 100M = 4M. Losses 20M x 30% = 6M -> 2.4M.
    assert one(d, -20e6, revenue=30e6) == pytest.approx(-2.4e6)
    # Revenue 80M: 8% = 6.4M; the benchmark limit 4M binds.
    assert one(d, -20e6, revenue=80e6) == pytest.approx(-4e6)
    s = up(shared_savings_rate=0.5, savings_cap=0.10, savings_cap_revenue=0.2)
    assert one(s, 40e6, revenue=30e6) == pytest.approx(6e6)


def test_loss_relief_comes_after_the_loss_cap():
    # 30% of 20M = 6M, capped at 4M, 5/12 forgiven -> 4M x 7/12.
    d = two(shared_savings_rate=0.5, shared_loss_rate=0.3, loss_cap=0.04, loss_reduction=5 / 12)
    steps = settle(d, [B], [-20e6])[0]
    assert steps[0] == pytest.approx(-4e6 * 7 / 12)
    assert steps[3] == pytest.approx(2e6)
    assert steps[4] == pytest.approx(4e6 * 5 / 12)
    assert one(d, -20e6, loss_relief=1.0) == 0.0


def test_half_rate_below_the_msr_for_large_enough_entities():
    d = up(
        shared_savings_rate=0.4,
        min_savings_rate=0.036,
        below_msr_share=0.5,
        below_msr_min_members=5000,
    )
    assert one(d, 0.01 * B, members=6000) == pytest.approx(0.4 * 0.5 * 0.01 * B)
    assert one(d, 0.01 * B, members=4000) == 0.0
    assert one(d, 0.04 * B, members=6000) == pytest.approx(0.4 * 0.04 * B)


# -- banded corridors --------------------------------------------------------------------------


REACH_GLOBAL = [
    {"up_to": 0.25, "share": 1.0},
    {"up_to": 0.35, "share": 0.5},
    {"up_to": 0.5, "share": 0.25},
    {"share": 0.1},
]


def test_banded_corridor_applied_piecewise_both_sides():
    d = two(savings_bands=REACH_GLOBAL, loss_bands=REACH_GLOBAL)
    # 30% savings: 25 x 100% + 5 x 50% = 27.5% of the benchmark.
    assert one(d, 0.30 * B) == pytest.approx(0.275 * B)
    assert one(d, -0.30 * B) == pytest.approx(-0.275 * B)
    # 60%: 25 + 5 + 3.75 + 1 = 34.75%.
    assert one(d, 0.60 * B) == pytest.approx(0.3475 * B)


def test_aca_corridor_matches_the_statute():
    # 42 USC 18062: costs 110% of target -> HHS pays 2.5% T + 80% of 2% = 4.1% of T; the plan's
    # net loss is 10% - 4.1% = 5.9%. Costs 95%: the plan pays HHS 50% of 2% = 1%; keeps 4%.
    bands = [{"up_to": 0.03, "share": 1.0}, {"up_to": 0.08, "share": 0.5}, {"share": 0.2}]
    d = two(savings_bands=bands, loss_bands=bands)
    assert one(d, -0.10 * B) == pytest.approx(-0.059 * B)
    assert one(d, 0.05 * B) == pytest.approx(0.04 * B)
    assert one(d, 0.02 * B) == pytest.approx(0.02 * B)


# -- quality -----------------------------------------------------------------------------------


def test_quality_gate_and_sliding_scale():
    gate = up(shared_savings_rate=0.4, quality={"score": 0.7, "standard": 0.75})
    assert one(gate, 0.05 * B) == 0.0
    assert one(gate, 0.05 * B, quality_score=0.8) == pytest.approx(0.4 * 0.05 * B)
    slide = up(
        shared_savings_rate=0.4,
        quality={"score": 0.7, "standard": 0.75, "below_standard": "scale_by_score"},
    )
    assert one(slide, 0.05 * B) == pytest.approx(0.4 * 0.7 * 0.05 * B)
    # Replaying CMS flags: met QPS -> full; alternative met -> scaled; neither -> nothing.
    assert one(slide, 0.05 * B, met_standard=True) == pytest.approx(0.4 * 0.05 * B)
    assert one(slide, 0.05 * B, met_standard=False, met_alternative=True) == pytest.approx(
        0.4 * 0.7 * 0.05 * B
    )
    assert one(slide, 0.05 * B, met_standard=False, met_alternative=False) == 0.0
    scaled = up(shared_savings_rate=0.5, quality={"score": 0.91696, "scale_savings_rate": True})
    # PY2014 regime (A67373 in that PUF): final sharing rate = 50% x quality score.
    assert one(scaled, 0.07 * B) == pytest.approx(0.5 * 0.91696 * 0.07 * B)


@pytest.mark.parametrize(
    ("score", "met", "loss_rate"),
    [
        (0.9, True, 0.40),
        (0.8, True, 0.40),
        (0.7385, True, 1 - 0.75 * 0.7385),
        (0.6, True, 0.55),
        (0.2, True, 0.75),
        (0.6, False, 0.75),
    ],
)
def test_enhanced_loss_rate_from_quality(score, met, loss_rate):
    # 42 CFR 425.610(f)(4): 1 - 0.75 x quality within [40%, 75%]; 75% failing both standards.
    d = two(shared_savings_rate=0.75, quality={"score": score, "standard": 0.0, "loss_rate": {}})
    got = one(d, -0.05 * B, met_standard=met, met_alternative=met)
    assert got == pytest.approx(-loss_rate * 0.05 * B)


def test_quality_withhold_earned_back_by_score():
    d = two(
        savings_bands=REACH_GLOBAL,
        loss_bands=REACH_GLOBAL,
        quality={"score": 0.8, "withhold": 0.02},
    )
    steps = settle(d, [B], [0.0])[0]
    assert steps[0] == pytest.approx(-0.02 * 0.2 * B)  # 20% of the 2% withhold is lost
    assert steps[5] == steps[0]
    assert one(d, 0.1 * B) == pytest.approx(0.1 * B - 0.004 * B)


# -- aggregate stop-loss -----------------------------------------------------------------------


def test_aggregate_stop_loss_recovery():
    terms = AggregateStopLoss(attachment=1.10, coinsurance=0.25)
    spend = np.array([100.0, 110.0, 130.0])
    got = aggregate_stop_loss_recovery(terms, spend, np.full(3, 100.0))
    np.testing.assert_allclose(got, [0.0, 0.0, 0.75 * 20.0])
