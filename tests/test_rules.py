"""Settlement rules: known values, the reference twins, and the benchmark and stop-loss rules."""

from __future__ import annotations

import numpy as np
import pytest

from simsettle.rules import YearFacts, compile_terms, settle, settlement
from simsettle.rules.reference import (
    msr_reference,
    settle_reference,
    stop_loss_premium_reference,
    stop_loss_recovery_reference,
)
from simsettle.rules.stop_loss import stop_loss_premium, stop_loss_recovery
from simsettle.rules.terms import corridor_in_force
from simsettle.scenario import StopLoss, TwoSided, UpsideOnly

B = 100_000_000.0  # a $100M benchmark

UP = UpsideOnly(
    kind="upside_only", name="up", min_savings_rate=0.03, shared_savings_rate=0.4, savings_cap=0.10
)
TWO = TwoSided(
    kind="two_sided",
    name="two",
    min_savings_rate=0.02,
    shared_savings_rate=0.5,
    shared_loss_rate=0.3,
    savings_cap=0.10,
    loss_cap=0.04,
)
ASYM = TwoSided(
    kind="two_sided",
    name="asym",
    min_savings_rate=0.01,
    min_loss_rate=0.03,
    shared_savings_rate=0.6,
    shared_loss_rate=0.5,
    sharing_basis="above_threshold",
)


@pytest.mark.parametrize(
    ("design", "savings", "expected"),
    [
        (UP, 2.9e6, 0.0),  # below the 3% MSR
        (UP, 3.0e6, 1.2e6),  # MSR met exactly: first-dollar 40% of all savings
        (UP, 20e6, 8e6),  # 40% of 20M, below the cap of 10% of the benchmark
        (UP, -50e6, 0.0),  # one-sided: no losses ever
        (TWO, 1.9e6, 0.0),
        (TWO, 2.0e6, 1.0e6),
        (TWO, -1.9e6, 0.0),
        (TWO, -2.0e6, -0.6e6),  # 30% of 2M losses
        (TWO, -20e6, -4e6),  # 30% of 20M = 6M, capped at 4% of benchmark
        (ASYM, 2e6, 0.6 * 1e6),  # above threshold: 60% of the part past 1%
        (ASYM, -2.9e6, 0.0),  # inside the asymmetric 3% MLR
        (ASYM, -5e6, -0.5 * 2e6),  # 50% of the part past 3%
    ],
)
def test_known_settlements(design, savings, expected):
    got = settlement(design, np.array([B]), np.array([savings]))
    assert got[0] == pytest.approx(expected, rel=1e-15, abs=1e-6)
    assert settle_reference(design, [B], [savings])[0] == pytest.approx(expected, abs=1e-6)


def test_savings_cap_binds():
    got = settlement(UP, [B], [30e6])  # 40% of 30M = 12M > 10M cap
    assert got[0] == 10e6


def test_kernel_agrees_with_reference_on_random_inputs():
    rng = np.random.default_rng(11)
    b = rng.uniform(1e6, 1e9, size=(400, 3))
    s = b * rng.normal(0, 0.06, size=b.shape)
    s[::17] = b[::17] * 0.02  # exactly at a corridor edge
    for design in (UP, TWO, ASYM):
        # Same decisions at the corridor edges; the twin works in rates, the kernel in USD.
        np.testing.assert_allclose(
            settlement(design, b, s), settle_reference(design, b, s), rtol=1e-12, atol=1e-6
        )


def test_settle_gate_checks_inputs():
    with pytest.raises(ValueError, match="same shape"):
        settle(TWO, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="positive"):
        settle(TWO, np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="finite"):
        settle(TWO, np.array([1.0]), np.array([np.nan]))
    table = UpsideOnly(kind="upside_only", name="t", msr_table="mssp", shared_savings_rate=0.4)
    with pytest.raises(ValueError, match="attributed members"):
        settle(table, [1.0], [0.5])
    with pytest.raises(ValueError, match="quality_score"):
        settle(
            TwoSided(
                kind="two_sided",
                name="q",
                shared_savings_rate=0.5,
                shared_loss_rate=0.5,
                quality={"score": 0.5},
            ),
            [1.0],
            [0.5],
            YearFacts(quality_score=1.5),
        )


def test_steps_add_up_to_the_settlement():
    rng = np.random.default_rng(3)
    b = rng.uniform(1e7, 1e8, 500)
    s = b * rng.normal(0, 0.1, 500)
    design = TwoSided(
        kind="two_sided",
        name="x",
        min_savings_rate=0.01,
        shared_savings_rate=0.6,
        shared_loss_rate=0.5,
        savings_cap=0.05,
        loss_cap=0.03,
        sequestration=0.02,
        loss_reduction=0.25,
        quality={"score": 0.7, "withhold": 0.02},
    )
    steps = settle(design, b, s)
    np.testing.assert_allclose(steps[:, 0], steps[:, 1:].sum(axis=1), rtol=1e-12, atol=1e-6)
    assert (steps[:, 2] <= 0).all()
    assert (steps[:, 5] <= 0).all()
    assert (steps[:, 4] >= 0).all()


def test_compile_terms_canonical_forms():
    up = compile_terms(UP)
    assert up.loss_share.tolist() == [0.0]
    assert up.sav_share.tolist() == [0.4]
    assert up.sav_hi.tolist() == [np.inf]
    # A design that shares no losses: an infinite MLR and a loss cap of 0.
    assert not up.shares_losses
    assert up.corridor.min_loss_rate == np.inf
    assert up.loss_cap == 0.0
    sym = TwoSided(
        kind="two_sided",
        name="s",
        min_savings_rate=0.015,
        shared_savings_rate=0.5,
        shared_loss_rate=0.5,
    )
    assert sym.effective_min_loss_rate == 0.015  # symmetric by default
    assert compile_terms(sym).corridor.min_loss_rate == 0.015
    assert compile_terms(sym).shares_losses
    assert not compile_terms(ASYM).first_dollar
    banded = compile_terms(
        TwoSided(
            kind="two_sided",
            name="b",
            savings_bands=[{"up_to": 0.05, "share": 0.5}, {"share": 0.2}],
            loss_bands=[{"up_to": 0.1, "share": 1}],
        )
    )
    assert banded.sav_lo.tolist() == [0.0, 0.05]
    assert banded.sav_hi.tolist() == [0.05, np.inf]
    # A last band with an end shares nothing beyond it.
    assert banded.loss_share.tolist() == [1.0, 0.0]
    assert banded.loss_lo.tolist() == [0.0, 0.1]


def test_stop_loss_recovery_and_premium():
    terms = StopLoss(attachment=100_000.0, coinsurance=0.2, premium_loading=0.25)
    members = [[50_000.0, 180_000.0, 400_000.0], [90_000.0], [100_000.0, 100_001.0]]
    excess = np.array([[sum(max(c - 100_000.0, 0.0) for c in m)] for m in members])
    rec = stop_loss_recovery(terms, excess)
    expected = [stop_loss_recovery_reference(terms, m) for m in members]
    np.testing.assert_allclose(rec[:, 0], expected, rtol=1e-15)
    assert rec[0, 0] == pytest.approx(0.8 * (80_000 + 300_000))
    prem = stop_loss_premium(terms, rec, axis=0)
    assert prem.shape == rec.shape
    np.testing.assert_allclose(prem[:, 0], stop_loss_premium_reference(terms, expected), rtol=1e-15)
    with pytest.raises(ValueError, match="non-negative"):
        stop_loss_recovery(terms, np.array([-1.0]))


@pytest.mark.parametrize("members", [120.0, 750.0, 2_000.0, 4_999.0, 5_000.0, 12_345.0, 70_000.0])
def test_corridor_in_force_against_the_written_out_table(members):
    """The one place the MSR/MLR in force is worked out (rules.terms.corridor_in_force), checked
    against SPEC-v11 Table 5 written out band by band (msr_reference), independently of the
    compiler the gate and the reference twin share."""
    n = np.array([members])
    table = TwoSided(
        kind="two_sided", name="t", msr_table="mssp", shared_savings_rate=0.5, shared_loss_rate=0.5
    )
    msr, mlr = corridor_in_force(compile_terms(table).corridor, n)
    assert msr[0] == pytest.approx(msr_reference(members), rel=1e-12)
    assert mlr[0] == msr[0]
    small = TwoSided(
        kind="two_sided",
        name="s",
        min_savings_rate=0.02,
        min_loss_rate=0.03,
        variable_msr_below=5_000,
        shared_savings_rate=0.5,
        shared_loss_rate=0.5,
    )
    msr, mlr = corridor_in_force(compile_terms(small).corridor, n)
    want = (msr_reference(members),) * 2 if members < 5_000 else (0.02, 0.03)
    assert (msr[0], mlr[0]) == pytest.approx(want, rel=1e-12)
    one_sided = UpsideOnly(kind="upside_only", name="u", msr_table="mssp", shared_savings_rate=0.4)
    msr, mlr = corridor_in_force(compile_terms(one_sided).corridor, n)
    assert msr[0] == pytest.approx(msr_reference(members), rel=1e-12)
    assert mlr[0] == np.inf  # shares no losses
