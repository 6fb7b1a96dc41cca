"""Reading CMS MSSP ACO results PUFs: the real PY2022/PY2023 files and synthetic edge cases."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest

from simsettle.replay import OUTCOME_COLUMNS, PufRow, puf_columns_used, read_puf

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
MSSP = SHARED / "data" / "mssp"

TRACKS = {"A", "B", "C", "D", "E", "EN"}


def _puf_path(year: int) -> Path:
    path = MSSP / f"py{year}_aco_results_puf.csv"
    if not path.exists():
        pytest.skip(f"CMS data not found at {path}")
    return path


@pytest.fixture(scope="module")
def puf2022() -> list[PufRow]:
    return read_puf(_puf_path(2022), 2022)


@pytest.fixture(scope="module")
def puf2023() -> list[PufRow]:
    return read_puf(_puf_path(2023), 2023)


def _by_id(rows: list[PufRow]) -> dict[str, PufRow]:
    return {r.aco_id: r for r in rows}


# --------------------------------------------------------------------------------------------
# The real files


def test_row_counts(puf2022: list[PufRow], puf2023: list[PufRow]) -> None:
    assert len(puf2022) == 482
    assert len(puf2023) == 453
    for rows in (puf2022, puf2023):
        assert len(_by_id(rows)) == len(rows)
        assert [r.line for r in rows] == list(range(2, len(rows) + 2))


def test_a1540_2022(puf2022: list[PufRow]) -> None:
    row = _by_id(puf2022)["A1540"]
    assert row.performance_year == 2022
    assert row.n_ab == 7207
    assert row.track == "B"
    assert row.risk_model == "One-Sided"
    assert row.benchmark == 98947417.0
    assert row.expenditure == 91592454.0
    assert row.msr == 0.0336  # "3.36%"; the report's unrounded MSR is 3.35856%
    assert row.msr == pytest.approx(0.0335856, abs=5e-5)
    assert row.quality_score == 0.7326
    assert row.met_qps is True
    assert row.met_alt_qps is None  # no Met_AltQPS column in PY2022
    assert row.dis_adj == 0.0
    assert row.reduced_ss is None
    assert row.rev_exp_cat == "Low Revenue"
    assert row.agreement_start == "07/01/2019"
    assert row.mid_year_termination is False
    pub = row.published
    assert pub.sav_rate == 0.0743
    assert pub.bnchmk_min_exp == pub.gen_save_loss == 7354963.0
    assert pub.earn_save_loss == 2883146.0
    assert pub.final_share_rate == 0.40
    assert pub.final_loss_rate is None  # no FinalLossRate column in PY2022


def test_percent_strings_become_exact_fractions(puf2022: list[PufRow]) -> None:
    row = _by_id(puf2022)["A1001"]  # MinSavPerc "2.00%", QualScore "89.41%", Sav_rate "6.46%"
    assert row.track == "EN"
    assert row.msr == 0.02
    assert row.quality_score == 0.8941
    assert row.published.sav_rate == 0.0646
    assert row.published.final_share_rate == 0.75
    assert _by_id(puf2022)["A1006"].msr == 0.024  # "2.40%"


@pytest.mark.parametrize("year", [2022, 2023])
def test_every_row_is_plausible(year: int, puf2022: list[PufRow], puf2023: list[PufRow]) -> None:
    rows = puf2022 if year == 2022 else puf2023
    for r in rows:
        assert r.benchmark > 0, r.aco_id
        assert r.expenditure > 0, r.aco_id
        assert r.n_ab > 0, r.aco_id
        assert r.track in TRACKS, (r.aco_id, r.track)
        assert r.msr is not None, r.aco_id
        assert 0 <= r.msr <= 0.122, r.aco_id
        assert r.quality_score is not None, r.aco_id
        assert 0 < r.quality_score <= 1, r.aco_id
        assert r.met_qps is True  # PY2022 (EUC) and PY2023: every ACO met the QPS
        assert r.dis_adj <= 0, r.aco_id  # published as a negative reduction, or blank
        assert r.rev_exp_cat in {"High Revenue", "Low Revenue"}
        assert r.risk_model == ("One-Sided" if r.track in {"A", "B"} else "Two-Sided")
        assert r.published.final_share_rate in {0.40, 0.50, 0.75}
        # each published dollar figure is rounded on its own, so they can differ by $1
        assert r.published.bnchmk_min_exp is not None
        assert abs(r.benchmark - r.expenditure - r.published.bnchmk_min_exp) <= 1.0


def test_negative_dis_adj_rows(puf2022: list[PufRow], puf2023: list[PufRow]) -> None:
    assert sum(r.dis_adj < 0 for r in puf2022) == 15
    assert sum(r.dis_adj < 0 for r in puf2023) == 20
    a2029 = _by_id(puf2023)["A2029"]  # losses x 0.40 minus the EUC reduction
    assert a2029.dis_adj == -2649296.0
    gen, loss = a2029.published.gen_save_loss, a2029.published.final_loss_rate
    assert gen is not None
    assert loss is not None
    assert round(gen * loss - a2029.dis_adj) == a2029.published.earn_save_loss


def test_2023_alt_qps_and_loss_rate(puf2023: list[PufRow]) -> None:
    # The PY2023 file has the Met_AltQPS column, but every ACO met the QPS, so every cell is "-".
    assert all(r.met_alt_qps is None for r in puf2023)
    rows = _by_id(puf2023)
    # FinalLossRate is published as a fraction (0.4) while FinalShareRate is "75.00%".
    assert rows["A1001"].published.final_loss_rate == 0.4
    assert rows["A1001"].published.final_share_rate == 0.75
    assert rows["A2671"].published.final_loss_rate == 0.5068  # 1 - 0.75 x 65.76%
    for r in puf2023:
        loss = r.published.final_loss_rate
        if r.track in {"A", "B"}:
            assert loss is None, r.aco_id
        elif r.track == "EN":
            assert loss is not None, r.aco_id
            assert 0.40 <= loss <= 0.75, r.aco_id
        else:
            assert loss == 0.30, r.aco_id


# --------------------------------------------------------------------------------------------
# Synthetic files

HEADER_2024 = [
    "ACO_ID",
    "Current_Track",
    "Risk_Model",
    "N_AB",
    "Sav_rate",
    "MinSavPerc",
    "BnchmkMinExp",
    "GenSaveLoss",
    "DisAdj",
    "EarnSaveLoss",
    "Met_QPS",
    "Met_AltQPS",
    "QualScore",
    "ABtotBnchmk",
    "ABtotExp",
    "FinalShareRate",
    "FinalLossRate",
    "Rev_Exp_Cat",
    "Current_Start_Date",
    "ReducedSS",
]


def _row(**cells: str) -> list[str]:
    """One CSV record in HEADER_2024 order; columns not given are empty."""
    unknown = set(cells) - set(HEADER_2024)
    assert not unknown, unknown
    return [cells.get(h, "") for h in HEADER_2024]


# Rows shaped like the PY2024 PUF (plain numbers in percent units), from the reference notes.
ROWS_2024 = [
    # ENHANCED, savings, sharing 75%
    _row(
        ACO_ID="A1001",
        Current_Track="EN",
        Risk_Model="Two-Sided",
        N_AB="116175",
        Sav_rate="8.89",
        MinSavPerc="2.0",
        BnchmkMinExp="146796368",
        GenSaveLoss="146796368",
        DisAdj="0",
        EarnSaveLoss="107895330",
        Met_QPS="1",
        Met_AltQPS="-",
        QualScore="77.05",
        ABtotBnchmk="1650927172",
        ABtotExp="1504130805",
        FinalShareRate="75.0",
        FinalLossRate="42.21",
        Rev_Exp_Cat="Low Revenue",
        Current_Start_Date="01/01/2024",
        ReducedSS="0",
    ),
    # ENHANCED, losses at the 40% floor, EUC reduction of $1,382; thousands separators
    _row(
        ACO_ID="A2029",
        Current_Track="EN",
        Risk_Model="Two-Sided",
        N_AB="36,551",
        Sav_rate="-0.69",
        MinSavPerc="0.0",
        BnchmkMinExp="-3,432,303",
        GenSaveLoss="-3,432,303",
        DisAdj="-1,382",
        EarnSaveLoss="-1,371,539",
        Met_QPS="1",
        QualScore="82.45",
        ABtotBnchmk="497,434,058",
        ABtotExp="500,866,361",
        FinalShareRate="75.0",
        FinalLossRate="40",
        Rev_Exp_Cat="High Revenue",
        Current_Start_Date="01/01/2022",
    ),
    # BASIC A, low-revenue half rate below the MSR (ReducedSS=1); a savings rate below 1%
    _row(
        ACO_ID="A5328",
        Current_Track="A",
        Risk_Model="One-Sided",
        N_AB="12000",
        Sav_rate="0.03",
        MinSavPerc="3.01",
        BnchmkMinExp="32084",
        GenSaveLoss="32084",
        DisAdj="NaN",
        EarnSaveLoss="6288",
        Met_QPS="0",
        Met_AltQPS="1",
        QualScore="70.0",
        ABtotBnchmk="106946667",
        ABtotExp="106914583",
        FinalShareRate="20.0",
        Rev_Exp_Cat="Low Revenue",
        Current_Start_Date="01/01/2024",
        ReducedSS="1",
    ),
]


def _write(path: Path, header: list[str], rows: list[list[str]], bom: bool = True) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_2024_plain_numbers_read_as_fractions(tmp_path: Path) -> None:
    path = _write(tmp_path / "py2024.csv", HEADER_2024, ROWS_2024)
    rows = _by_id(read_puf(path, 2024))
    a = rows["A1001"]
    assert (a.msr, a.quality_score) == (0.02, 0.7705)
    assert a.published.sav_rate == 0.0889
    assert a.published.final_share_rate == 0.75
    assert a.published.final_loss_rate == 0.4221
    assert a.published.earn_save_loss == 107895330.0
    assert (a.met_qps, a.met_alt_qps, a.reduced_ss) == (True, None, False)
    assert a.benchmark == 1650927172.0
    b = rows["A2029"]
    assert b.n_ab == 36551
    assert b.benchmark == 497434058.0
    assert b.msr == 0.0
    assert b.dis_adj == -1382.0
    assert b.published.sav_rate == -0.0069
    assert b.published.final_loss_rate == 0.40
    assert b.reduced_ss is None
    c = rows["A5328"]
    assert c.msr == 0.0301
    assert c.published.sav_rate == 0.0003  # 0.03 means 0.03%, not 3%
    assert c.published.final_share_rate == 0.20
    assert c.published.final_loss_rate is None
    assert c.dis_adj == 0.0  # "NaN"
    assert (c.met_qps, c.met_alt_qps, c.reduced_ss) == (False, True, True)


def test_2023_style_fraction_loss_rate_next_to_percent_share_rate(tmp_path: Path) -> None:
    header = [h for h in HEADER_2024 if h != "ReducedSS"]
    row = ["A9", "EN", "Two-Sided", "9000", "5.00%", "2.00%", "1", "1", "0", "1", "1", "-"]
    row += ["78.55%", "100", "99", "75.00%", "0.4109", "Low Revenue", "07/01/2019"]
    (r,) = read_puf(_write(tmp_path / "py2023.csv", header, [row], bom=False), 2023)
    assert r.published.final_share_rate == 0.75
    assert r.published.final_loss_rate == 0.4109
    assert r.quality_score == 0.7855
    assert r.published.sav_rate == 0.05


def test_missing_required_column(tmp_path: Path) -> None:
    keep = [i for i, h in enumerate(HEADER_2024) if h != "ABtotBnchmk"]
    path = _write(
        tmp_path / "no_benchmark.csv",
        [HEADER_2024[i] for i in keep],
        [[row[i] for i in keep] for row in ROWS_2024],
    )
    with pytest.raises(ValueError, match="ABtotBnchmk") as err:
        read_puf(path, 2024)
    assert "no_benchmark.csv" in str(err.value)


def test_text_in_a_number_names_file_line_and_column(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS_2024]
    rows[1][HEADER_2024.index("N_AB")] = "seven thousand"
    path = _write(tmp_path / "bad.csv", HEADER_2024, rows)
    with pytest.raises(
        ValueError, match=r"bad\.csv:3: column 'N_AB': cannot read 'seven thousand'"
    ):
        read_puf(path, 2024)


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("N_AB", "-", r":2: column 'N_AB': value is missing"),
        ("N_AB", "7207.5", r":2: column 'N_AB': cannot read '7207.5' as a whole"),
        ("ABtotExp", "", r":2: column 'ABtotExp': value is missing"),
        ("Met_QPS", "maybe", r":2: column 'Met_QPS': cannot read 'maybe' as a flag"),
        ("QualScore", "150%", r":2: column 'QualScore': '150%' is 1\.5 as a fraction"),
        ("DisAdj", "12x", r":2: column 'DisAdj': cannot read '12x' as a number"),
    ],
)
def test_bad_cells(tmp_path: Path, column: str, text: str, message: str) -> None:
    rows = [list(r) for r in ROWS_2024]
    rows[0][HEADER_2024.index(column)] = text
    with pytest.raises(ValueError, match=message):
        read_puf(_write(tmp_path / "bad.csv", HEADER_2024, rows), 2024)


def test_duplicate_aco_and_ragged_rows(tmp_path: Path) -> None:
    dup = _write(tmp_path / "dup.csv", HEADER_2024, [ROWS_2024[0], ROWS_2024[0]])
    with pytest.raises(ValueError, match=r"dup\.csv:3: column 'ACO_ID': 'A1001' already"):
        read_puf(dup, 2024)
    ragged = _write(tmp_path / "ragged.csv", HEADER_2024, [ROWS_2024[0], ROWS_2024[1][:-3]])
    with pytest.raises(ValueError, match=r"ragged\.csv:3: expected 20 cells"):
        read_puf(ragged, 2024)


def test_blank_lines_are_skipped_and_lines_counted(tmp_path: Path) -> None:
    path = _write(tmp_path / "blank.csv", HEADER_2024, [ROWS_2024[0], [], ROWS_2024[1]])
    rows = read_puf(path, 2024)
    assert [(r.aco_id, r.line) for r in rows] == [("A1001", 2), ("A2029", 4)]


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    required = ["ACO_ID", "Current_Track", "N_AB", "ABtotBnchmk", "ABtotExp"]
    required += ["MinSavPerc", "QualScore", "Met_QPS", "DisAdj"]
    path = _write(
        tmp_path / "min.csv",
        required,
        [["A1", "B", "5000", "1,000,000", "900000", "3.9%", "80%", "1", ""]],
    )
    (r,) = read_puf(path, 2024)
    assert (r.risk_model, r.rev_exp_cat, r.agreement_start) == (None, None, None)
    assert (r.met_alt_qps, r.reduced_ss, r.mid_year_termination) == (None, None, None)
    assert r.published == type(r.published)(None, None, None, None, None, None)
    assert (r.msr, r.quality_score, r.dis_adj) == (0.039, 0.8, 0.0)


def test_columns_used_and_outcomes_are_disjoint() -> None:
    used = puf_columns_used()
    assert {"ACO_ID", "Current_Track", "N_AB", "ABtotBnchmk", "ABtotExp", "MinSavPerc"} <= set(used)
    assert OUTCOME_COLUMNS == (
        "GenSaveLoss",
        "EarnSaveLoss",
        "FinalShareRate",
        "FinalLossRate",
        "Sav_rate",
        "BnchmkMinExp",
        "FinalAdjCat",
    )
    assert not set(used) & set(OUTCOME_COLUMNS)


def test_rows_are_frozen(tmp_path: Path) -> None:
    (row, *_) = read_puf(_write(tmp_path / "p.csv", HEADER_2024, ROWS_2024), 2024)
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.benchmark = 1.0  # type: ignore[misc]


def test_a_rate_column_mixing_fractions_and_percents_is_rejected(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS_2024]
    rows[1][HEADER_2024.index("FinalLossRate")] = "0.4"  # the others say 42.21
    with pytest.raises(ValueError, match=r"mixed\.csv:3: column 'FinalLossRate': '0.4' reads as"):
        read_puf(_write(tmp_path / "mixed.csv", HEADER_2024, rows), 2024)
