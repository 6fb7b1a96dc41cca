"""The engine's choice between the regional and the prior savings adjustment against CMS's
``FinalAdjCat``: a synthetic file with every case of 42 CFR 425.652(a)(8), and the real PY2024
results file when it is present beside the project."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simsettle.cli import app
from simsettle.replay.adjustments import check_adjustments
from simsettle.replay.puf import read_puf
from simsettle.rules.benchmark import ADJUSTMENT_KINDS, choose_adjustment
from tests.conftest import ROOT

HEADER = [
    "ACO_ID",
    "Current_Track",
    "N_AB",
    "ABtotBnchmk",
    "ABtotExp",
    "MinSavPerc",
    "QualScore",
    "Met_QPS",
    "DisAdj",
    "Current_Start_Date",
    "Agree_Type",
    "RegAdj",
    "PriorSavAdj",
    "FinalAdjCat",
]

#: (id, start, agreement type, RegAdj, PriorSavAdj, FinalAdjCat): made-up ACOs, one per case.
CASES = [
    ("A0001", "1/1/2024", "Renewal", "120", "80", "Regional Adjustment"),  # RA higher
    ("A0002", "1/1/2024", "Renewal", "120", "239", "Prior Savings Adjustment"),  # PSA higher
    ("A0003", "1/1/2024", "Renewal", "-141", "58", "Prior Savings Adjustment"),  # RA negative
    ("A0004", "1/1/2024", "Initial", "-60", "-", "No Adjustment"),  # negative RA dropped
    ("A0005", "1/1/2024", "Initial", "0", "-", "No Adjustment"),  # zero RA: none
    ("A0006", "1/1/2024", "Re-entering", "45", "-", "Regional Adjustment"),  # not eligible
    ("A0007", "07/01/2019", "Renewal", "-300", "-", "Regional Adjustment"),  # before 2024
    ("A0008", "1/1/2022", "Renewal", "210", "-", "Regional Adjustment"),
]


def write(path: Path, cases=CASES) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for aco, start, kind, reg, psa, cat in cases:
            fixed = ["E", "10000", "100000000", "98000000", "2.0", "80.0", "1", "-"]
            w.writerow([aco, *fixed, start, kind, reg, psa, cat])
    return path


def test_every_case_of_the_rule(tmp_path):
    check = check_adjustments(read_puf(write(tmp_path / "py2024.csv"), 2024))
    assert check.agree == len(CASES) == len(check.rows)
    assert check.published_counts == {"none": 2, "regional": 4, "prior_savings": 2}
    applied = {r.aco_id: r.applied for r in check.rows}
    assert applied == {
        "A0001": 120.0,
        "A0002": 239.0,
        "A0003": 58.0,
        "A0004": 0.0,
        "A0005": 0.0,
        "A0006": 45.0,
        "A0007": -300.0,
        "A0008": 210.0,
    }


def test_a_disagreeing_row_is_reported(tmp_path):
    wrong = [*CASES[:2], ("A0009", "1/1/2024", "Initial", "-60", "-", "Regional Adjustment")]
    check = check_adjustments(read_puf(write(tmp_path / "x.csv", wrong), 2024))
    assert check.agree == 2
    (row,) = check.disagreeing
    assert (row.aco_id, row.published, row.computed) == ("A0009", "regional", "none")
    result = CliRunner().invoke(
        app,
        [
            "mssp-replay",
            str(tmp_path / "x.csv"),
            "--performance-year",
            "2024",
            "-o",
            str(tmp_path / "r.csv"),
        ],
    )
    assert "agrees for 2 of 3 ACOs" in result.output, result.output
    assert "A0009" in result.output


def test_files_without_the_columns_have_no_check():
    path = ROOT.parent / "shared" / "data" / "mssp" / "py2023_aco_results_puf.csv"
    if not path.exists():
        pytest.skip(f"CMS MSSP results PUF not found at {path}")
    assert check_adjustments(read_puf(path, 2023)).rows == ()


def test_unknown_label_names_the_line(tmp_path):
    bad = [("A0001", "1/1/2024", "Renewal", "120", "80", "Some Other Adjustment")]
    with pytest.raises(ValueError, match=r"line 2 .*unknown FinalAdjCat"):
        check_adjustments(read_puf(write(tmp_path / "bad.csv", bad), 2024))


def test_choose_adjustment_vectorised_matches_the_rule_table():
    nan = math.nan
    regional = np.array([120, 120, -141, -60, 0, 45, nan, nan])
    prior = np.array([80, 239, 58, nan, nan, nan, 30, nan])
    applied, kind = choose_adjustment(regional, prior, drop_negative=True)
    np.testing.assert_array_equal(applied, [120, 239, 58, 0, 0, 45, 30, 0])
    assert [ADJUSTMENT_KINDS[k] for k in kind] == [
        "regional",
        "prior_savings",
        "prior_savings",
        "none",
        "none",
        "regional",
        "prior_savings",
        "none",
    ]
    kept, kind = choose_adjustment(regional, prior, drop_negative=False)
    assert kept[3] == -60.0
    assert ADJUSTMENT_KINDS[kind[3]] == "regional"


def test_real_py2024_results_file():
    """Every ACO of the PY2024 results PUF (476; CMS applied the regional adjustment to 439,
    the prior savings adjustment to 18, none to 19), where the file is in the shared data."""
    path = ROOT.parent / "shared" / "data" / "mssp" / "py2024_aco_results_puf.csv"
    if not path.exists():
        pytest.skip(f"the PY2024 results PUF is not in the shared data ({path})")
    check = check_adjustments(read_puf(path, 2024))
    assert check.published_counts == {"none": 19, "regional": 439, "prior_savings": 18}
    assert check.agree == len(check.rows) == 476


def test_replay_applies_the_acpt_guardrail(tmp_path):
    """A 2024 starter flagged by ``Guardrail`` that shows savings against the published (two-way)
    benchmark earns nothing: neither losses nor savings (42 CFR 425.652(b)(5)), as CMS's
    A5309 and A5321 in the PY2024 file (0.01% and 0.11% savings, MSR 0, EarnSaveLoss 0)."""
    from simsettle.replay import replay_puf

    header = [*HEADER[:-4], "Risk_Model", "EarnSaveLoss", "Guardrail"]
    common = ["E", "8000", "100000000", "99990000", "0.0", "80.0", "1", "-", "1/1/2024"]
    rows = [
        ["A0100", *common, "Two-Sided", "0", "1"],
        ["A0101", *common, "Two-Sided", "4900", "0"],
    ]
    path = tmp_path / "g.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    guarded, plain = replay_puf(path, 2024)
    assert guarded.computed == 0.0
    assert guarded.agree
    # Without the flag the same savings are shared: 10,000 x 50% x 98%.
    assert plain.computed == pytest.approx(4900.0)
