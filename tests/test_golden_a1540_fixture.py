"""The A1540 golden fixture reads CMS's PY2022 report to the cent and its steps add up."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from golden_a1540 import A1540_CELLS, a1540_cells, load_a1540

from simsettle.replay import read_puf

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MSSP = SHARED / "data" / "mssp"
REPORT = MSSP / "py2022_settlement_report_A1540.xlsx"
PUF_2022 = MSSP / "py2022_aco_results_puf.csv"

# Full-precision floats in the cells are good to ~15 significant digits: 1e-6 USD on $1e8.
EXACT = 1e-6

# What the report shows, to the cent (Table 3 rows, and the worked example in
# ../shared/reference/cms_methodology.md section 1.4).
PUBLISHED_CENTS = {
    "assigned_beneficiaries": "7207.00",
    "person_years": "6999.33",
    "per_capita_benchmark": "14136.69",
    "total_benchmark": "98947416.93",
    "per_capita_expenditure": "13085.88",
    "total_expenditure": "91592453.85",
    "savings": "7354963.08",
    "total_savings": "7354963.08",
    "total_losses": "0.00",
    "msr_amount": "3323206.94",
    "shared_savings": "2941985.23",
    "savings_cap": "9894741.69",
    "sequestration": "58839.70",
    "payment": "2883145.53",
    "participant_revenue": "12713612.70",
}

PUBLISHED_RATES = {
    "msr": "0.0335856",  # 3.35856%
    "quality_score": "0.7326",
    "max_sharing_rate": "0.40",
    "final_sharing_rate": "0.40",
    "savings_rate": "0.0743",  # 7.43%
    "savings_cap_rate": "0.10",  # performance payment limit, BASIC
    "met_qps": "1",
}


def cents(x: float) -> Decimal:
    """Round as Excel displays "#,##0.00": to the cent, halves away from zero."""
    return Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def a1540() -> dict[str, float]:
    if not REPORT.exists():
        pytest.skip(f"CMS data not found at {REPORT}")
    pytest.importorskip("openpyxl", reason="openpyxl (dev extra) is needed to read the report")
    return load_a1540(REPORT)


@pytest.mark.parametrize(("key", "shown"), sorted(PUBLISHED_CENTS.items()))
def test_dollar_amounts_match_the_report_to_the_cent(
    a1540: dict[str, float], key: str, shown: str
) -> None:
    assert cents(a1540[key]) == Decimal(shown)


@pytest.mark.parametrize(("key", "shown"), sorted(PUBLISHED_RATES.items()))
def test_rates_match_the_report(a1540: dict[str, float], key: str, shown: str) -> None:
    places = Decimal(shown).as_tuple().exponent
    assert Decimal(repr(a1540[key])).quantize(Decimal(1).scaleb(places)) == Decimal(shown)


def test_values_come_from_the_documented_cells(a1540: dict[str, float]) -> None:
    assert a1540_cells(REPORT) == A1540_CELLS


def test_cells_hold_full_precision_not_cents(a1540: dict[str, float]) -> None:
    # CMS rounds for display only: the stored payment is not a whole number of cents.
    for key in ("total_benchmark", "total_expenditure", "shared_savings", "payment"):
        assert Decimal(repr(a1540[key])) != cents(a1540[key]), key
    assert a1540["payment"] == 2883145.52638605
    assert a1540["person_years"] * 12 == pytest.approx(83992, abs=1e-9)


def test_per_capita_and_totals(a1540: dict[str, float]) -> None:
    kinds = ("esrd", "disabled", "aged_dual", "aged_non_dual")
    weights = [a1540[f"proportion_{k}"] for k in kinds]
    assert sum(weights) == pytest.approx(1.0, abs=1e-12)
    weighted = sum(
        a1540[f"per_capita_expenditure_{k}"] * w for k, w in zip(kinds, weights, strict=True)
    )
    assert weighted == pytest.approx(a1540["per_capita_expenditure"], abs=EXACT)
    # [G] = [E] x [B], [H] = [F] x [B]
    years = a1540["person_years"]
    assert a1540["per_capita_expenditure"] * years == pytest.approx(
        a1540["total_expenditure"], abs=EXACT
    )
    assert a1540["per_capita_benchmark"] * years == pytest.approx(
        a1540["total_benchmark"], abs=EXACT
    )
    # Table 3 [F] is Table 2 [H]
    assert a1540["per_capita_benchmark"] == a1540["updated_benchmark_table2"]


def test_savings_is_benchmark_minus_expenditure(a1540: dict[str, float]) -> None:
    h, g, i = a1540["total_benchmark"], a1540["total_expenditure"], a1540["savings"]
    assert h - g == pytest.approx(i, abs=EXACT)
    assert cents(h - g) == cents(i) == Decimal("7354963.08")
    assert a1540["total_savings"] == i
    assert a1540["total_losses"] == 0.0


def test_msr_is_the_interpolated_one_sided_rate(a1540: dict[str, float]) -> None:
    n = int(a1540["assigned_beneficiaries"])
    assert n == 7207
    # SPEC-v11 4.2.1: band 7,000-7,999, MSR 3.4% -> 3.2%, U = 7,999
    expected = 0.034 * (7999 - n) / 999 + 0.032 * (n - 7000) / 999
    assert a1540["msr"] == pytest.approx(expected, abs=1e-15)
    assert a1540["msr"] * a1540["total_benchmark"] == pytest.approx(a1540["msr_amount"], abs=EXACT)
    assert cents(a1540["msr"] * a1540["total_benchmark"]) == Decimal("3323206.94")
    assert a1540["savings"] >= a1540["msr_amount"]  # the MSR is met


def test_sharing_sequestration_and_payment(a1540: dict[str, float]) -> None:
    i, h = a1540["savings"], a1540["total_benchmark"]
    shared, seq, pay = a1540["shared_savings"], a1540["sequestration"], a1540["payment"]
    assert a1540["met_qps"] == 1.0
    assert a1540["final_sharing_rate"] == a1540["max_sharing_rate"] == 0.4  # not scaled by QS
    assert 0.40 * i == pytest.approx(shared, abs=EXACT)
    assert cents(0.40 * i) == Decimal("2941985.23")
    assert 0.02 * shared == pytest.approx(seq, abs=EXACT)
    assert cents(0.02 * shared) == Decimal("58839.70")
    # sequestration comes before the cap; the 10% cap does not bind here
    assert a1540["savings_cap"] == pytest.approx(0.10 * h, abs=EXACT)
    assert min(shared - seq, a1540["savings_cap"]) == pytest.approx(pay, abs=EXACT)
    assert cents(shared - seq) == cents(pay) == Decimal("2883145.53")


def test_rounding_every_step_to_cents_gives_the_same_cents_here(a1540: dict[str, float]) -> None:
    # Not CMS's rule (it rounds once, at display), but for A1540 the two agree.
    shared = cents(0.40 * float(cents(a1540["savings"])))
    seq = (shared * Decimal("0.02")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert (shared, seq, shared - seq) == (
        Decimal("2941985.23"),
        Decimal("58839.70"),
        Decimal("2883145.53"),
    )


def test_the_puf_row_is_the_report_rounded(a1540: dict[str, float]) -> None:
    if not PUF_2022.exists():
        pytest.skip(f"CMS data not found at {PUF_2022}")
    (row,) = [r for r in read_puf(PUF_2022, 2022) if r.aco_id == "A1540"]
    assert row.n_ab == a1540["assigned_beneficiaries"]
    assert row.benchmark == round(a1540["total_benchmark"])
    assert row.expenditure == round(a1540["total_expenditure"])
    assert row.msr == round(a1540["msr"], 4)
    assert row.quality_score == a1540["quality_score"]
    assert row.met_qps is True
    assert row.published.bnchmk_min_exp == round(a1540["savings"])
    assert row.published.gen_save_loss == round(a1540["savings"])
    assert row.published.sav_rate == round(a1540["savings_rate"], 4)
    assert row.published.final_share_rate == a1540["final_sharing_rate"]
    assert row.published.earn_save_loss == round(a1540["payment"]) == 2883146
