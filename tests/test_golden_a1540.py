"""Golden end-to-end case: the engine reproduces CMS's PY2022 A1540 settlement to the cent.

The inputs are the report's own (Table 3): per-capita benchmark [F] and expenditure [E], person
years [B], assigned beneficiaries [A], quality score [R] and the met-standard flag [S]. The design
is the ``mssp_basic_b`` template for 2022 expanded through the scenario models, exactly as a
scenario file would get it. Every step the report shows is compared at the full precision of its
cell (1e-6 USD on ~$1e8 is the precision of the stored doubles) and to the cent as displayed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from golden_a1540 import load_a1540

from simsettle.rules import STEP_NAMES, YearFacts, mssp_msr, settle
from simsettle.scenario.contracts import UpsideOnly
from simsettle.scenario.templates import expand_template

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT.parent / "shared" / "data" / "mssp" / "py2022_settlement_report_A1540.xlsx"

EXACT = 1e-6  # USD: the cells are doubles good to ~15 significant digits
PAYMENT_CENTS = 2883145.53  # [Y] as the report displays it


@pytest.fixture(scope="module")
def report() -> dict[str, float]:
    if not REPORT.exists():
        pytest.skip(f"CMS A1540 settlement report not found at {REPORT}")
    return load_a1540(REPORT)


@pytest.fixture(scope="module")
def design() -> UpsideOnly:
    spec = {"name": "A1540", "template": "mssp_basic_b", "performance_year": 2022}
    return UpsideOnly(**expand_template(spec, 2022))


def _totals(report: dict[str, float]) -> tuple[float, float]:
    """[H] = [F] x [B] and [G] = [E] x [B]."""
    h = report["per_capita_benchmark"] * report["person_years"]
    g = report["per_capita_expenditure"] * report["person_years"]
    return h, g


@pytest.fixture(scope="module")
def steps(report: dict[str, float], design: UpsideOnly) -> dict[str, float]:
    h, g = _totals(report)
    facts = YearFacts(
        members=report["assigned_beneficiaries"],
        quality_score=report["quality_score"],
        met_standard=report["met_qps"] == 1.0,
    )
    out = settle(design, np.float64(h), np.float64(h - g), facts)
    return {name: float(out[i]) for i, name in enumerate(STEP_NAMES)}


def test_template_is_basic_b_2022(design: UpsideOnly) -> None:
    assert design.msr_table == "mssp"
    assert design.shared_savings_rate == 0.40  # [Q]
    assert design.savings_cap == 0.10
    assert design.sequestration == 0.02
    assert design.sharing_basis == "first_dollar"


def test_totals_to_the_cent(report: dict[str, float]) -> None:
    h, g = _totals(report)
    assert round(h, 2) == round(report["total_benchmark"], 2) == 98947416.93  # [H]
    assert round(g, 2) == round(report["total_expenditure"], 2) == 91592453.85  # [G]
    assert abs(h - report["total_benchmark"]) < EXACT
    assert abs(g - report["total_expenditure"]) < EXACT


def test_savings(report: dict[str, float]) -> None:
    h, g = _totals(report)
    assert abs((h - g) - report["savings"]) < EXACT  # [I]
    assert round(h - g, 2) == round(report["savings"], 2) == 7354963.08


def test_msr_and_msr_amount(report: dict[str, float]) -> None:
    h, _ = _totals(report)
    msr = float(mssp_msr(report["assigned_beneficiaries"]))
    assert abs(msr - report["msr"]) < 1e-12  # [L]
    assert abs(msr * h - report["msr_amount"]) < EXACT  # [N]
    assert round(msr * h, 2) == 3323206.94
    assert report["savings"] >= report["msr_amount"]  # the MSR is met


def test_shared_savings_before_sequestration(
    report: dict[str, float], steps: dict[str, float]
) -> None:
    assert report["final_sharing_rate"] == 0.40  # [T]: QPS met, full rate
    assert abs(steps["shared"] - report["shared_savings"]) < EXACT  # [V]
    assert round(steps["shared"], 2) == 2941985.23


def test_sequestration(report: dict[str, float], steps: dict[str, float]) -> None:
    assert abs(-steps["sequestration"] - report["sequestration"]) < EXACT  # [X]
    assert round(-steps["sequestration"], 2) == 58839.70


def test_cap_does_not_bind(
    report: dict[str, float], design: UpsideOnly, steps: dict[str, float]
) -> None:
    h, _ = _totals(report)
    assert design.savings_cap is not None
    assert abs(design.savings_cap * h - report["savings_cap"]) < EXACT  # [W]
    assert steps["shared"] + steps["sequestration"] < report["savings_cap"]
    assert steps["cap"] == 0.0
    assert steps["loss_relief"] == 0.0
    assert steps["withhold"] == 0.0


def test_payment_to_the_cent(report: dict[str, float], steps: dict[str, float]) -> None:
    payment = steps["settlement"]
    assert round(payment, 2) == PAYMENT_CENTS  # [Y] as displayed
    assert abs(payment - report["payment"]) < EXACT  # [Y] at full precision
    assert payment == steps["shared"] + steps["sequestration"] + steps["cap"]
