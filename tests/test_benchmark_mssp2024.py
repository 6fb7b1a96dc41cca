"""MSSP benchmark rules for agreement periods from 2024: regional adjustment caps and offset,
the prior savings adjustment and its choice against the regional adjustment, the demographic
risk cap, the ACPT and its loss guardrail. Each against its primary source's worked example
(CY2023 PFS final rule, 87 FR 69404; CY2024 PFS final rule, 88 FR 78818), or one derived by
hand where the source's example is a table image that could not be read, and against the
reference twin on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsettle.rules.benchmark import BenchmarkInputs, benchmark_parts, build_benchmark
from simsettle.rules.reference import benchmark_parts_reference
from simsettle.scenario import Benchmark, PriorSavings
from simsettle.scenario.schema import MSSP_REGIONAL_WEIGHTS

MM = 12_000.0  # 1,000 person-years a year


def one_trial(pmpm, *, risk=1.0, demo=None, ref=None, nat=None, base_pmpm=1000.0, n=None):
    """One trial of flat member months; ``pmpm`` per simulated year (or one value)."""
    pmpm = np.atleast_1d(np.asarray(pmpm, dtype=float))
    n = n or pmpm.size
    pmpm = np.broadcast_to(pmpm, (n,))
    mm = np.full((1, n), MM)

    def per_year(v):
        return np.broadcast_to(np.asarray(v, dtype=float), (n,))[None, :]

    return BenchmarkInputs(
        spend=mm * pmpm[None, :],
        member_months=mm,
        risk_months=mm * per_year(risk),
        demo_risk_months=mm * per_year(1.0 if demo is None else demo),
        reference_index=per_year(1.0 if ref is None else ref).copy(),
        base_pmpm=base_pmpm,
        national_index=per_year(1.0 if nat is None else nat).copy(),
    )


def parts(terms, inputs, n_base):
    """The engine's parts, checked against the reference twin's."""
    got = benchmark_parts(terms, inputs, n_base)
    ref = benchmark_parts_reference(terms, inputs, n_base)
    for name in ("total", "regional", "prior_savings", "applied"):
        np.testing.assert_allclose(
            getattr(got, name), ref[name], rtol=1e-12, atol=1e-6, err_msg=name
        )
    if got.two_way is not None:
        np.testing.assert_allclose(got.two_way, ref["two_way"], rtol=1e-12)
    if got.by_type is not None:
        np.testing.assert_allclose(got.by_type, ref["by_type"], rtol=1e-12)
    return got


# A region whose risk-adjusted cost is below the ACO's: historical benchmark $12,000 a
# person-year (PMPM 1,000 at risk 1), regional 0.95 of it, national expenditure $11,000.
NEGATIVE = {
    "weights": (1.0,),
    "trend_rate": 0.0,
    "regional_cost_ratio": 0.95,
    "national_cost_ratio": 11_000.0 / 12_000.0,
    "regional_cap_basis": "national",
}


def test_regional_weights_follow_the_agreement_period():
    # 42 CFR 425.656(e), SPEC-v11 Table 4: lower / higher spending than the region.
    assert MSSP_REGIONAL_WEIGHTS == ((0.35, 0.15), (0.5, 0.25), (0.5, 0.35), (0.5, 0.5))
    inputs = one_trial(1000.0, n=6)
    for agreement, weight in ((1, 0.15), (2, 0.25), (3, 0.35), (4, 0.5), (7, 0.5)):
        terms = Benchmark(**NEGATIVE, regional_agreement=agreement)
        got = parts(terms, inputs, 1)
        # 12,000 x 0.05 = 600 below the region; higher-spending weight; 5% cap is 550.
        assert got.regional[0, 0] == pytest.approx(max(-weight * 600.0, -550.0), abs=1e-9)
    # At each simulated renewal the next agreement's weights apply.
    terms = Benchmark(**NEGATIVE, regional_agreement=1, agreement_years=1)
    got = parts(terms, one_trial(1000.0, n=4), 1)
    expected = [-0.15 * 600.0]
    for _ in range(2):  # the renewal's base year is last year's spend (1,000 PMPM)
        weight = (0.25, 0.35)[len(expected) - 1]
        expected.append(-weight * 600.0)
    np.testing.assert_allclose(got.regional[0], expected, atol=1e-9)


def test_negative_regional_cap_and_offset_cy2024_example():
    # 88 FR 78818, III.G.4.c, Tables 40-41 (numbers quoted in the text): an enrollment type's
    # -$307 is capped at -1.5% of national expenditure (there -$166), then multiplied by 1 -
    # offset with offset = 0.130 dual share + (1.240 - 1) = 0.370. Here by hand, with one
    # enrollment type: uncapped 0.307 weight x $1,000 gap = -$307 (regional 1,000 below at risk
    # 1.24), national $11,066.67 so the -1.5% cap is -$166.
    risk = 1.24
    hist = 12_000.0 * risk  # PMPM 1,000 x risk 1.24 a person-year
    national = 166.0 / 0.015
    terms = Benchmark(
        weights=(1.0,),
        trend_rate=0.0,
        regional_cost_ratio=(hist - 1000.0) / hist,
        regional_weight_lower=0.307,
        regional_weight_higher=0.307,
        regional_cap_basis="national",
        national_cost_ratio=national / 12_000.0,
    )
    inputs = one_trial(1000.0 * risk, risk=risk, n=2)
    assert parts(terms, inputs, 1).regional[0, 0] == pytest.approx(-307.0, abs=1e-9)
    capped = terms.model_copy(update={"regional_negative_cap": 0.015})
    assert parts(capped, inputs, 1).regional[0, 0] == pytest.approx(-166.0, abs=1e-9)
    offset = capped.model_copy(update={"regional_offset_dual_share": 0.130})
    got = parts(offset, inputs, 1)
    assert got.regional[0, 0] == pytest.approx(-166.0 * 0.630, abs=1e-9)
    # The applied adjustment enters the historical benchmark (PMPM).
    assert got.total[0, 0] / MM == pytest.approx((hist - 166.0 * 0.630) / 12.0, rel=1e-13)
    # The offset never touches a positive adjustment, and is clipped to [0, 1].
    up = offset.model_copy(update={"regional_cost_ratio": (hist + 1000.0) / hist})
    assert parts(up, inputs, 1).regional[0, 0] == pytest.approx(307.0, abs=1e-9)
    full = capped.model_copy(update={"regional_offset_dual_share": 0.9})
    assert parts(full, inputs, 1).regional[0, 0] == 0.0


def test_prior_savings_against_the_regional_adjustment_cy2024_rule():
    # 42 CFR 425.652(a)(8)(iii)-(v) (CY2024 PFS): not eligible and a negative regional
    # adjustment: none; eligible: the higher of the two, the PSA replacing a negative one.
    # FR24's Table 43 gives ACO A (negative regional) a PSA of $58 and ACO B one of $239
    # that beat its regional adjustment; here by hand: savings averaging $116 and $478.
    inputs = one_trial(1000.0, n=2)
    dropped = Benchmark(**NEGATIVE, regional_negative="dropped")
    got = parts(dropped, inputs, 1)
    assert got.regional[0, 0] == pytest.approx(-0.15 * 600.0)
    assert got.applied[0, 0] == 0.0
    assert got.total[0, 0] == pytest.approx(12_000_000.0)
    a = dropped.model_copy(update={"prior_savings": PriorSavings(savings=(-100.0, 200.0, 248.0))})
    got = parts(a, inputs, 1)
    assert got.prior_savings[0, 0] == pytest.approx(58.0)
    assert got.applied[0, 0] == pytest.approx(58.0)
    assert got.total[0, 0] == pytest.approx(12_058_000.0)
    b = NEGATIVE | {"regional_cost_ratio": 1.05, "regional_negative": "dropped"}
    b_terms = Benchmark(**b, prior_savings=PriorSavings(savings=(478.0, 478.0, 478.0)))
    got = parts(b_terms, inputs, 1)
    assert got.regional[0, 0] == pytest.approx(0.35 * 600.0)  # lower-spending: 35%
    assert got.applied[0, 0] == pytest.approx(239.0)
    # Not eligible (the average is not positive): the regional adjustment alone.
    c = Benchmark(**b, prior_savings=PriorSavings(savings=(-300.0, 100.0, 100.0)))
    got = parts(c, inputs, 1)
    assert np.isnan(got.prior_savings[0, 0])
    assert got.applied[0, 0] == pytest.approx(210.0)
    # The cap: 5% of national per-capita expenditure ($11,000): $550.
    capped = Benchmark(**b, prior_savings=PriorSavings(savings=(3000.0,) * 3))
    assert parts(capped, inputs, 1).prior_savings[0, 0] == pytest.approx(550.0)
    # A missing earlier year counts as zero; the proration scales the given savings.
    short = Benchmark(**b, prior_savings=PriorSavings(savings=(900.0,), proration=0.8))
    assert parts(short, inputs, 1).prior_savings[0, 0] == pytest.approx(0.5 * 0.8 * 900.0 / 3)
    # A first agreement (no history) gets none until a simulated renewal.
    first = Benchmark(**b, prior_savings=PriorSavings())
    assert np.isnan(parts(first, inputs, 1).prior_savings[0, 0])


def test_prior_savings_at_a_simulated_renewal_softens_the_ratchet():
    # Base year $1,000 PMPM; performance years spend $950 against a $1,000 benchmark: savings
    # $600 a person-year each year. Renewing after 3 years on equal thirds of those years,
    # the rebased benchmark falls to $950 PMPM; the PSA gives back half the average savings,
    # $300 a person-year ($25 PMPM).
    inputs = one_trial([1000.0, 950.0, 950.0, 950.0, 950.0])
    plain = Benchmark(
        weights=(1.0,), trend_rate=0.0, agreement_years=3, rebase_weights=(1 / 3, 1 / 3, 1 / 3)
    )
    base = parts(plain, inputs, 1).total[0] / MM
    np.testing.assert_allclose(base, [1000.0, 1000.0, 1000.0, 950.0])
    psa = plain.model_copy(update={"prior_savings": PriorSavings(), "national_cost_ratio": 1.0})
    got = parts(psa, inputs, 1)
    np.testing.assert_allclose(got.total[0] / MM, [1000.0, 1000.0, 1000.0, 975.0])
    assert np.isnan(got.prior_savings[0, :3]).all()
    assert got.prior_savings[0, 3] == pytest.approx(300.0)


def test_demographic_risk_cap_cy2023_examples():
    # 87 FR 69404, Tables 76-77 (numbers quoted in the text): demographic growth 1.026 gives a
    # cap of 1.056, which cuts HCC growth of 1.070; demographic growth below 1 gives 1.028,
    # which does not cut 1.013. No floor: a fall flows through.
    terms = Benchmark(
        weights=(1.0,), trend_rate=0.0, risk_ratio_cap_up=0.03, risk_cap_demographic=True
    )
    for demo, hcc, expected in ((1.026, 1.070, 1.056), (0.998, 1.013, 1.013), (1.0, 0.95, 0.95)):
        inputs = one_trial(1000.0, risk=[1.0, hcc], demo=[1.0, demo], n=2)
        assert parts(terms, inputs, 1).total[0, 0] / MM == pytest.approx(1000.0 * expected)
    # Without the demographic term the cap is 1.03.
    plain = terms.model_copy(update={"risk_cap_demographic": False})
    inputs = one_trial(1000.0, risk=[1.0, 1.070], demo=[1.0, 1.026], n=2)
    assert build_benchmark(plain, inputs, 1)[0, 0] / MM == pytest.approx(1030.0)


def acpt_example():
    """87 FR 69404, III.G.5.c(3): national assignable truncated BY3 expenditure $13,000,
    growing 5% a year; the ACO's BY3 risk score 1.025 and historical benchmark $12,000; the
    two-way blend 20% national at 1.030 and 80% regional at 1.025."""
    terms = Benchmark(
        weights=(1.0,),
        trend_rate=0.05,
        trend_method="blend",
        acpt_basis="national",
        national_weight=0.2,
        national_cost_ratio=13_000.0 / 12_000.0,
        acpt_guardrail=True,
    )
    inputs = one_trial(1000.0, risk=1.025, ref=[1.0, 1.025], nat=[1.0, 1.030], n=2)
    return terms, inputs


def test_acpt_three_way_blend_cy2023_example():
    # The flat amount: $13,000 x 5% x 1.025 = $666.25; over $12,000, the ACPT 1.0555 (the
    # rule's 1.056); two-way 1.026; three-way 1.0558 / 3 + 1.026 x 2 / 3 = 1.0358 (the rule's
    # 1.036, $12,432 on $12,000 against $12,312 for the two-way).
    terms, inputs = acpt_example()
    got = parts(terms, inputs, 1)
    acpt = 1.0 + 13_000.0 * 0.05 * 1.025 / 12_000.0
    assert round(acpt, 3) == 1.056
    three_way = acpt / 3.0 + 1.026 * 2.0 / 3.0
    assert round(three_way, 3) == 1.036
    assert got.total[0, 0] / 1000.0 == pytest.approx(12_000.0 * three_way, rel=1e-13)
    assert got.two_way[0, 0] / 1000.0 == pytest.approx(12_312.0, rel=1e-13)
    assert round(12_000.0 * round(three_way, 3)) == 12_432
    # ACPT weight: the base years are trended by the realized blend only (one base year here).
    half = terms.model_copy(update={"acpt_weight": 0.5})
    assert parts(half, inputs, 1).total[0, 0] / 1000.0 == pytest.approx(
        12_000.0 * (acpt + 1.026) / 2.0, rel=1e-13
    )


#: Every rule for agreement periods from 2024 at once, for the twins on random inputs.
MSSP_2024 = {
    "regional_cost_ratio": 1.0,
    "regional_agreement": 2,
    "regional_cap_basis": "national",
    "regional_negative_cap": 0.015,
    "regional_offset_dual_share": 0.2,
    "regional_negative": "dropped",
    "national_cost_ratio": 1.05,
    "prior_savings": PriorSavings(savings=(150.0, -80.0, 400.0)),
    "trend_method": "blend",
    "acpt_basis": "national",
    "acpt_guardrail": True,
    "national_weight": 0.25,
    "risk_ratio_cap_up": 0.03,
    "risk_cap_demographic": True,
    "agreement_years": 2,
    "rebase_weights": (1 / 3, 1 / 3, 1 / 3),
    "acpt_band": (0.01, 0.015),
    "v28_change": -0.03,
    "regional_risk_growth": 0.06,
    "regional_demographic_growth": 0.01,
}


def test_acpt_band_cy2027_proposal():
    # CMS-1848-P (proposed): the ACPT's rate within 1.0 point below and 1.5 above the realized
    # national growth. By hand, one year: ACPT 5%, national growth 2%: the rate is held to
    # 3.5%; national growth 7%: raised to 6%; 4.5%: kept.
    terms, _ = acpt_example()
    band = terms.model_copy(update={"acpt_band": (0.01, 0.015), "acpt_guardrail": False})
    for national, rate in ((1.02, 0.035), (1.07, 0.06), (1.045, 0.05)):
        inputs = one_trial(1000.0, risk=1.025, ref=[1.0, 1.025], nat=[1.0, national], n=2)
        acpt = 1.0 + 13_000.0 * rate * 1.025 / 12_000.0
        two_way = 0.2 * national + 0.8 * 1.025
        got = parts(band, inputs, 1).total[0, 0] / 1000.0
        assert got == pytest.approx(12_000.0 * (acpt / 3.0 + two_way * 2.0 / 3.0), rel=1e-13)
    with pytest.raises(ValueError, match="acpt_basis: national"):
        Benchmark(trend_method="blend", acpt_band=(0.01, 0.015))


def test_cms_hcc_v28_blend_moves_the_risk_ratio_unless_base_years_are_rescored():
    # 42 CFR 425.659 (CY2024 PFS): from 2024 agreements the base years are scored on each
    # performance year's model. A provider whose scores fall 3% under V28: base year 2023 (V24
    # only), performance years 2024 (V28 a third) and 2025 (two thirds): without rescoring the
    # risk ratio falls by 1% and 2%; rescored, the change cancels.
    inputs = one_trial(1000.0, n=3)
    inputs = BenchmarkInputs(**{**inputs.__dict__, "first_year": 2023})
    terms = Benchmark(weights=(1.0,), trend_rate=0.0, v28_change=-0.03)
    got = parts(terms, inputs, 1).total[0] / MM
    np.testing.assert_allclose(got, [1000.0 * (1 - 0.01), 1000.0 * (1 - 0.02)], rtol=1e-13)
    rescored = terms.model_copy(update={"rescore_base_years": True})
    np.testing.assert_allclose(parts(rescored, inputs, 1).total[0] / MM, 1000.0, rtol=1e-13)
    assert Benchmark(template="mssp_from_2024").rescore_base_years


def test_regional_risk_score_cap_cy2024_table37():
    # 88 FR 78818, Table 37 (numbers in the text): aggregate regional HCC growth 1.039 against
    # an adjusted cap of 1.021 (demographic growth 0.991 plus 3 points): the regional update is
    # multiplied by 1.039 / 1.021. With a market share of 53.6% the cap rises by 53.6% of the
    # excess (to 1.0306...). By hand on one year: regional update 1.025, national 1.03.
    terms, inputs = acpt_example()
    capped = terms.model_copy(
        update={
            "regional_risk_growth": 0.039,
            "regional_demographic_growth": -0.009,
            "national_weight": 0.0,
            "acpt_guardrail": True,
        }
    )
    got = parts(capped, inputs, 1)
    assert got.two_way[0, 0] / 1000.0 == pytest.approx(12_000.0 * 1.025 * 1.039 / 1.021)
    share = capped.model_copy(update={"national_weight": 0.536})
    cap = 1.021 + 0.536 * (1.039 - 1.021)
    two_way = 0.536 * 1.030 + 0.464 * 1.025 * 1.039 / cap
    assert parts(share, inputs, 1).two_way[0, 0] / 1000.0 == pytest.approx(12_000.0 * two_way)
    # Under the cap nothing changes.
    under = capped.model_copy(update={"regional_risk_growth": 0.01})
    assert parts(under, inputs, 1).two_way[0, 0] / 1000.0 == pytest.approx(12_000.0 * 1.025)


def test_twin_agrees_on_random_inputs_for_every_2024_rule():
    rng = np.random.default_rng(24)
    n_trials, n_years = 30, 9
    mm = rng.uniform(1e5, 1.2e5, (n_trials, n_years))
    inputs = BenchmarkInputs(
        spend=mm * rng.uniform(850, 1200, mm.shape),
        member_months=mm,
        risk_months=mm * rng.uniform(0.9, 1.2, mm.shape),
        demo_risk_months=mm * rng.uniform(0.97, 1.03, mm.shape),
        reference_index=np.cumprod(rng.uniform(1.0, 1.08, mm.shape), axis=1),
        base_pmpm=1000.0,
        national_index=np.cumprod(rng.uniform(1.0, 1.08, mm.shape), axis=1),
        first_year=2020,
    )
    mssp = MSSP_2024
    for drop in (None, "prior_savings", "regional_cost_ratio", "regional_offset_dual_share"):
        options = {k: v for k, v in mssp.items() if k != drop}
        terms = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.04, **options)
        parts(terms, inputs, 3)


@settings(max_examples=60, deadline=None)
@given(
    gap=st.floats(-0.3, 0.3),
    savings=st.lists(st.floats(-2000, 2000), min_size=1, max_size=3),
    dual=st.floats(0.0, 1.0),
)
def test_choice_properties(gap, savings, dual):
    """The applied adjustment is the higher of an eligible PSA and the regional adjustment,
    never negative when negative ones are dropped, and the PSA never exceeds its cap."""
    inputs = one_trial(1000.0, n=2)
    terms = Benchmark(
        **NEGATIVE
        | {
            "regional_cost_ratio": 1.0 + gap,
            "regional_negative": "dropped",
            "regional_negative_cap": 0.015,
            "regional_offset_dual_share": dual,
        },
        prior_savings=PriorSavings(savings=tuple(savings)),
    )
    got = parts(terms, inputs, 1)
    applied, regional, prior = got.applied[0, 0], got.regional[0, 0], got.prior_savings[0, 0]
    assert applied >= 0.0
    assert -0.015 * 11_000.0 - 1e-9 <= regional <= 0.05 * 11_000.0 + 1e-9
    if np.isnan(prior):
        assert applied == max(regional, 0.0)
    else:
        assert 0.0 < prior <= 0.05 * 11_000.0 + 1e-9
        # The higher of the two (a tie, within rounding, keeps the regional amount).
        assert applied == pytest.approx(max(regional, prior), rel=1e-9, abs=1e-6)


def test_rules_need_their_inputs():
    from simsettle.scenario._base import FieldError  # noqa: F401  (the model's own error)

    with pytest.raises(ValueError, match="acpt_guardrail"):
        Benchmark(acpt_guardrail=True)
    with pytest.raises(ValueError, match="risk_ratio_cap_up"):
        Benchmark(risk_cap_demographic=True)
    with pytest.raises(ValueError, match="national ACPT"):
        Benchmark(acpt_basis="national")


def guardrail_reference(primary, fallback):
    """One year at a time: the ACPT guardrail as 42 CFR 425.652(b)(5) words it."""
    if primary[0] >= 0.0:
        return list(primary)
    if fallback[0] >= 0.0:
        return [0.0] * len(primary)
    return list(fallback) if fallback[0] > primary[0] else list(primary)


def test_acpt_loss_guardrail_cy2023_example():
    # 87 FR 69404, III.G.5.c: a BASIC level E ACO with a 1.5% MLR; benchmark with the ACPT
    # $12,760, spend $12,980: a 1.7% loss, 30% of $220 = $66 owed. Against the two-way
    # benchmark, $12,804, the loss is 1.4%, within the MLR: nothing is owed.
    from simsettle._kernels.records import S_SETTLEMENT
    from simsettle.rules.settle import loss_guardrail, settle
    from simsettle.scenario import TwoSided

    e = TwoSided(
        name="e",
        kind="two_sided",
        shared_savings_rate=0.5,
        shared_loss_rate=0.3,
        min_savings_rate=0.015,
        loss_cap=0.04,
        sequestration=0.02,
    )
    primary = settle(e, np.array([12_760.0]), np.array([12_760.0 - 12_980.0]))
    assert primary[0, S_SETTLEMENT] == pytest.approx(-66.0, abs=1e-9)
    fallback = settle(e, np.array([12_804.0]), np.array([12_804.0 - 12_980.0]))
    assert fallback[0, S_SETTLEMENT] == 0.0
    np.testing.assert_array_equal(loss_guardrail(primary, fallback), np.zeros_like(primary))
    # A two-way benchmark that still shows a loss past the MLR, but a smaller one: it is owed.
    smaller = settle(e, np.array([12_770.0]), np.array([12_770.0 - 12_980.0]))
    np.testing.assert_array_equal(loss_guardrail(primary, smaller), smaller)
    # Savings are never touched.
    gain = settle(e, np.array([12_760.0]), np.array([400.0]))
    np.testing.assert_array_equal(loss_guardrail(gain, fallback), gain)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)),
        min_size=1,
        max_size=20,
    )
)
def test_guardrail_twin_and_never_owes_more(pairs):
    from simsettle._kernels.records import N_STEPS
    from simsettle.rules.settle import loss_guardrail

    primary = np.zeros((len(pairs), N_STEPS))
    fallback = np.zeros((len(pairs), N_STEPS))
    for i, (a, b) in enumerate(pairs):
        primary[i, 0], primary[i, 1] = a, a
        fallback[i, 0], fallback[i, 1] = b, b
    got = loss_guardrail(primary, fallback)
    for i in range(len(pairs)):
        assert list(got[i]) == guardrail_reference(primary[i], fallback[i])
    assert np.all(got[:, 0] >= np.minimum(primary[:, 0], 0.0))


def typed_inputs(n_trials=20, n_years=9, seed=77):
    """Three enrolment types (aged, dual, ESRD-like) of random spend and risk."""
    rng = np.random.default_rng(seed)
    levels = np.array([1000.0, 1800.0, 7000.0])[:, None, None]
    mm = rng.uniform(1e4, 1.2e4, (3, n_trials, n_years)) * np.array([8.0, 1.5, 0.2])[:, None, None]
    return BenchmarkInputs(
        spend=mm * levels * rng.uniform(0.85, 1.15, mm.shape),
        member_months=mm,
        risk_months=mm * rng.uniform(0.9, 1.25, mm.shape),
        demo_risk_months=mm * rng.uniform(0.97, 1.04, mm.shape),
        reference_index=np.cumprod(rng.uniform(1.0, 1.08, (n_trials, n_years)), axis=1),
        base_pmpm=levels[:, :, 0],
        national_index=np.cumprod(rng.uniform(1.0, 1.08, (n_trials, n_years)), axis=1),
        regional_cost_ratio=np.array([[1.04], [0.97], [1.0]]),
        first_year=2020,
    )


def test_enrolment_types_twin_agrees_for_every_2024_rule():
    inputs = typed_inputs()
    mssp = MSSP_2024
    for drop in (None, "prior_savings", "regional_offset_dual_share", "risk_cap_demographic"):
        options = {k: v for k, v in mssp.items() if k != drop}
        terms = Benchmark(weights=(0.1, 0.3, 0.6), trend_rate=0.04, **options)
        got = benchmark_parts(terms, inputs, 3)
        ref = benchmark_parts_reference(terms, inputs, 3)
        for name in ("total", "regional", "prior_savings", "applied", "two_way", "by_type"):
            np.testing.assert_allclose(
                getattr(got, name), ref[name], rtol=1e-12, err_msg=f"{name} without {drop}"
            )
        np.testing.assert_allclose(got.by_type.sum(axis=0), got.total, rtol=1e-14)


def two_types(ratios, risk=(1.0, 1.0), demo=(1.0, 1.0), shares=(0.75, 0.25)):
    """Two enrolment types at $1,000 PMPM, one base year and one performance year; type c has
    ``shares[c]`` of the member months, regional cost ratio ``ratios[c]``, performance-year
    risk and demographic ratios ``risk[c]`` and ``demo[c]``."""
    mm = np.array(shares, dtype=float)[:, None, None] * np.full((2, 1, 2), 12_000.0)
    r = np.stack([np.array([[1.0, x]]) for x in risk])
    d = np.stack([np.array([[1.0, x]]) for x in demo])
    return BenchmarkInputs(
        spend=mm * 1000.0,
        member_months=mm,
        risk_months=mm * r,
        demo_risk_months=mm * d,
        reference_index=np.ones((1, 2)),
        base_pmpm=np.array([[1000.0], [1000.0]]),
        national_index=np.ones((1, 2)),
        regional_cost_ratio=np.array([[x] for x in ratios]),
    )


def test_enrolment_types_keep_their_own_regional_amounts_when_the_overall_is_positive():
    # 42 CFR 425.652(a)(8), 88 FR 78818: the choice is made on the single value (the types
    # weighted by their member months); chosen, each type gets its own amount, a negative
    # one included. By hand: weights 0.5 both ways; type A's region 4% above (+$240 a
    # person-year), type B's 5% below (-$300, within no cap): single value 0.75 x 240 - 0.25
    # x 300 = $105 > 0, so A gets +$240 and B -$300.
    terms = Benchmark(
        weights=(1.0,),
        trend_rate=0.0,
        regional_cost_ratio=1.0,
        regional_weight_lower=0.5,
        regional_weight_higher=0.5,
        regional_cap=0.1,
        regional_negative="dropped",
    )
    got = parts(terms, two_types([1.04, 0.95]), 1)
    assert got.regional[0, 0] == pytest.approx(105.0)
    assert got.applied[0, 0] == pytest.approx(105.0)
    np.testing.assert_allclose(got.by_type[:, 0, 0] / (12_000.0 * np.array([0.75, 0.25])),
                               [1020.0, 975.0])  # fmt: skip
    # Negative overall: dropped for every type, though A's own is positive.
    got = parts(terms, two_types([1.01, 0.90]), 1)
    assert got.regional[0, 0] == pytest.approx(0.75 * 60.0 - 0.25 * 600.0)
    np.testing.assert_allclose(got.by_type[:, 0, 0] / (12_000.0 * np.array([0.75, 0.25])), 1000.0)


def test_enrolment_types_share_one_weight_decided_on_the_aco():
    # 42 CFR 425.656(e): lower- or higher-spending than the region is decided on the types'
    # gaps weighted by their shares, and that one weight applies to every type. By hand: two
    # equal types, one $100 PMPM below its region, one $20 above; the ACO is $40 below, so 35%
    # for both: +$420 and -$84 a person-year, a single value of $168 (each type's own weight
    # would have given -$36 to the second and $192).
    terms = Benchmark(
        weights=(1.0,),
        trend_rate=0.0,
        regional_cost_ratio=1.0,
        regional_weight_lower=0.35,
        regional_weight_higher=0.15,
        regional_cap=0.5,
    )
    got = parts(terms, two_types([1.10, 0.98], shares=(0.5, 0.5)), 1)
    assert got.regional[0, 0] == pytest.approx(168.0)
    per_type = np.array([0.5, 0.5]) * 12_000.0
    np.testing.assert_allclose(got.by_type[:, 0, 0] / per_type, [1035.0, 993.0])


def test_enrolment_types_demographic_cap_on_the_aggregate_cy2023_table77():
    # 87 FR 69404, Table 77 (numbers in the text): a cap of 1.028 against an aggregate HCC
    # growth of 1.013 caps no type, even one whose own growth exceeds 1.028. By hand: demographic
    # growth 0.998 for both types (cap 1.028); HCC growth 1.005 (75%) and 1.037 (25%) weighted
    # by benchmark x member months: 1.013 -> no cap; with 1.030 and 1.050: 1.035 > 1.028 ->
    # each type cut to 1.028 (1.030 and 1.050 both).
    terms = Benchmark(
        weights=(1.0,), trend_rate=0.0, risk_ratio_cap_up=0.03, risk_cap_demographic=True
    )
    per_type = np.array([0.75, 0.25]) * 12_000.0
    got = parts(terms, two_types([1.0, 1.0], risk=(1.005, 1.037), demo=(0.998, 0.998)), 1)
    np.testing.assert_allclose(got.by_type[:, 0, 0] / per_type, [1005.0, 1037.0])
    got = parts(terms, two_types([1.0, 1.0], risk=(1.030, 1.050), demo=(0.998, 0.998)), 1)
    np.testing.assert_allclose(got.by_type[:, 0, 0] / per_type, [1028.0, 1028.0])


def test_guardrail_reaches_the_estimated_settlement():
    """With no completion error the settlement estimated at the first reconciliation is the
    final one, the ACPT's guardrail included (a realized trend far above the ACPT owes losses
    against the three-way benchmark that the two-way one does not)."""
    from simsettle import parse_scenario, simulate

    text = """schema_version: 1
name: guardrail
trials: 300
seed: 8
first_performance_year: 2024
performance_years: 2
population: {members: 3000}
cost: {pmpm: 1000}
trend: {mean: 0.08, sd: 0.02, reference_mean: 0.08, reference_sd: 0.02, correlation: 0.9}
timing: {completion_factor_sd: 0.0, completion_bias: 0.0, interim_share: 0.0}
benchmark: {template: mssp_from_2024, trend_rate: 0.0}
provider: {revenue_ratio: 0.5}
designs:
  - name: e
    template: mssp_basic_e
"""
    ds = simulate(parse_scenario(text, "g.yaml"), progress=False)
    np.testing.assert_allclose(ds.settlement_estimated, ds.settlement, rtol=1e-12, atol=1e-6)
    # The guardrail binds somewhere: some years owe nothing that the ACPT alone would charge.
    off = simulate(
        parse_scenario(text.replace("trend_rate: 0.0}", "trend_rate: 0.0, acpt_guardrail: false}"),
                       "g.yaml"),
        progress=False,
    )  # fmt: skip
    assert float((ds.settlement > off.settlement).mean()) > 0.05
    assert bool((ds.settlement >= off.settlement - 1e-6).all())
