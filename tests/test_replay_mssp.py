"""Replaying CMS's published MSSP results (PY2022, PY2023) with the engine's templates."""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from simsettle.cli import app
from simsettle.replay import (
    REPLAY_CSV_COLUMNS,
    PublishedOutcome,
    PufRow,
    ReplayRow,
    agrees,
    read_puf,
    replay_puf,
    replay_rows,
    summarize,
    write_replay_csv,
)
from simsettle.replay.mssp import REASON_REVENUE, REASON_TERMINATION
from simsettle.rules import mssp_msr

ROOT = Path(__file__).resolve().parent.parent
MSSP = ROOT.parent / "shared" / "data" / "mssp"

#: Every row that does not reproduce CMS, with why (see the module docstring of
#: simsettle.replay.mssp): a mid-year termination in PY2022, revenue-limited losses in PY2023.
#: (A1070, PY2022, owes a revenue-limited loss that PY2022's COVID-19 relief forgave in full, so
#: it reproduces CMS's 0 whatever its revenue.)
DISAGREEING = {
    2022: {"A1080": REASON_TERMINATION},
    2023: {"A1241": REASON_REVENUE, "A4627": REASON_REVENUE, "A5293": REASON_REVENUE},
}


def _puf_path(year: int) -> Path:
    path = MSSP / f"py{year}_aco_results_puf.csv"
    if not path.exists():
        pytest.skip(f"CMS MSSP results PUF not found at {path}")
    return path


@pytest.fixture(scope="module")
def puf() -> dict[int, list[PufRow]]:
    return {year: read_puf(_puf_path(year), year) for year in (2022, 2023)}


@pytest.fixture(scope="module")
def replay(puf: dict[int, list[PufRow]]) -> dict[int, list[ReplayRow]]:
    return {year: replay_rows(rows, year) for year, rows in puf.items()}


def _row(rows: list[ReplayRow], aco_id: str) -> ReplayRow:
    (row,) = [r for r in rows if r.aco_id == aco_id]
    return row


def _puf_row(rows: list[PufRow], aco_id: str) -> PufRow:
    (row,) = [r for r in rows if r.aco_id == aco_id]
    return row


# --------------------------------------------------------------------------------------------
# Acceptance on the real files


@pytest.mark.parametrize("year", [2022, 2023])
def test_acceptance_99_percent_of_comparable_rows(
    replay: dict[int, list[ReplayRow]], year: int
) -> None:
    summary = summarize(replay[year])
    assert summary.total == len(replay[year])
    assert summary.comparable >= 0.95 * summary.total
    assert summary.match_rate_comparable >= 0.99, summary.disagreeing
    assert summary.match_rate >= 0.99


@pytest.mark.parametrize("year", [2022, 2023])
def test_every_disagreement_is_explained(replay: dict[int, list[ReplayRow]], year: int) -> None:
    summary = summarize(replay[year])
    assert {r.aco_id: r.reason for r in summary.disagreeing} == DISAGREEING[year]
    assert not any(r.comparable for r in summary.disagreeing)


def test_replay_puf_reads_the_file(replay: dict[int, list[ReplayRow]]) -> None:
    assert replay_puf(_puf_path(2023), 2023) == replay[2023]


def test_summary_counts_and_rates() -> None:
    rows = [
        _fake("A", 10.0, 10.0),
        _fake("B", 10.0, 50.0),
        _fake("C", 10.0, 50.0, depends_on_revenue=True, reason=REASON_REVENUE),
        _fake("D", 10.0, 10.0, reason=REASON_TERMINATION),
    ]
    s = summarize(rows)
    assert (s.total, s.agree, s.comparable, s.agree_comparable) == (4, 2, 2, 1)
    assert s.match_rate == 0.5
    assert s.match_rate_comparable == 0.5
    assert [r.aco_id for r in s.disagreeing] == ["B", "C"]
    assert math.isnan(summarize([]).match_rate_comparable)


def _fake(
    aco_id: str,
    published: float,
    computed: float,
    *,
    depends_on_revenue: bool = False,
    reason: str = "",
) -> ReplayRow:
    return ReplayRow(
        aco_id=aco_id,
        track="B",
        n_ab=5000,
        published=published,
        computed=computed,
        difference=computed - published,
        agree=agrees(computed, published),
        depends_on_revenue=depends_on_revenue,
        reason=reason,
        computed_msr=0.039,
        line=2,
    )


def test_agreement_tolerance() -> None:
    assert agrees(1002.0, 1000.0)
    assert not agrees(1002.01, 1000.0)
    assert agrees(-3_704_703.2, -3_704_703.0)
    assert agrees(10_010_000.0, 10_000_000.0)  # 0.1%
    assert not agrees(10_010_001.0, 10_000_000.0)
    assert not agrees(0.0, None)


# --------------------------------------------------------------------------------------------
# Specific rows


def test_a1540_2022(replay: dict[int, list[ReplayRow]], puf: dict[int, list[PufRow]]) -> None:
    row = _row(replay[2022], "A1540")
    src = _puf_row(puf[2022], "A1540")
    assert row.track == "B"
    assert row.agree
    assert row.comparable
    assert row.reason == ""
    assert row.computed_msr == pytest.approx(0.0335855855855856, abs=1e-12)
    # 40% x 98% of the PUF's whole-dollar savings, unrounded.
    savings = src.benchmark - src.expenditure
    assert savings == 7354963.0
    assert row.computed == pytest.approx(savings * 0.40 * 0.98, abs=1e-6)
    # The report's $2,883,145.53 comes from unrounded totals; the PUF rounds the benchmark and
    # expenditure to whole dollars (savings 7,354,963 vs 7,354,963.08), which moves the payment
    # by 0.392 x $0.08 = $0.03 (and below the half dollar that CMS's rounding crossed).
    assert abs(row.computed - 2883145.53) < 0.04
    assert row.published == 2883146.0
    assert abs(row.difference or 0.0) < 1.0


def test_enhanced_loss_2023_a2029(
    replay: dict[int, list[ReplayRow]], puf: dict[int, list[PufRow]]
) -> None:
    row = _row(replay[2023], "A2029")
    src = _puf_row(puf[2023], "A2029")
    assert row.track == "EN"
    assert row.published == -3704703.0
    assert row.agree
    assert row.comparable
    assert not row.depends_on_revenue  # ENHANCED has no revenue-based loss limit
    assert row.computed_msr == 0.0  # elected 0% MSR/MLR
    # 40% loss rate (quality 82.45%: 1 - 0.75 x 0.8245 is below the floor), less DisAdj.
    shared_loss = 0.40 * (src.benchmark - src.expenditure)
    assert row.computed == pytest.approx(shared_loss - src.dis_adj, abs=1e-6)
    assert abs(row.computed - row.published) < 1.0


def test_enhanced_loss_rate_follows_quality(
    replay: dict[int, list[ReplayRow]], puf: dict[int, list[PufRow]]
) -> None:
    # A2164, PY2023: quality 77.54% gives a loss rate of 1 - 0.75 x 0.7754 = 41.845%.
    row = _row(replay[2023], "A2164")
    src = _puf_row(puf[2023], "A2164")
    assert src.published.final_loss_rate == pytest.approx(0.4184)
    rate = 1 - 0.75 * 0.7754
    assert row.computed == pytest.approx(rate * (src.benchmark - src.expenditure) - src.dis_adj)
    assert row.agree


@pytest.mark.parametrize("year", [2022, 2023])
def test_one_sided_losses_settle_zero(
    replay: dict[int, list[ReplayRow]], puf: dict[int, list[PufRow]], year: int
) -> None:
    losing = [r for r in puf[year] if r.track in ("A", "B") and r.expenditure > r.benchmark]
    assert losing
    by_id = {r.aco_id: r for r in replay[year]}
    for src in losing:
        row = by_id[src.aco_id]
        assert row.computed == 0.0, src.aco_id
        assert row.published == 0.0
        assert row.agree


def test_fully_forgiven_basic_loss_does_not_depend_on_revenue(
    replay: dict[int, list[ReplayRow]],
) -> None:
    # A2710, PY2022, BASIC C: DisAdj (whole dollars) equals the shared loss: forgiven in full.
    row = _row(replay[2022], "A2710")
    assert row.track == "C"
    assert row.computed == pytest.approx(0.0, abs=1e-6)
    assert not row.depends_on_revenue
    assert row.agree
    assert row.comparable


def test_policy_forgiving_all_losses_needs_no_revenue(
    replay: dict[int, list[ReplayRow]],
) -> None:
    # A1070, PY2022, BASIC D: its DisAdj is the loss after the (unpublished) revenue limit, but
    # PY2022 forgave every shared loss, so CMS's 0 is reproduced whatever the revenue.
    row = _row(replay[2022], "A1070")
    assert row.computed == 0.0
    assert row.published == 0.0
    assert not row.depends_on_revenue
    assert row.agree


def test_partly_forgiven_basic_loss_depends_on_revenue(
    replay: dict[int, list[ReplayRow]],
) -> None:
    for aco_id in ("A1241", "A5226"):  # one differs from CMS, one happens to agree
        row = _row(replay[2023], aco_id)
        assert row.depends_on_revenue
        assert REASON_REVENUE in row.reason
        assert not row.comparable
    assert _row(replay[2023], "A5226").agree
    assert not _row(replay[2023], "A1241").agree


def test_mid_year_termination_is_flagged(replay: dict[int, list[ReplayRow]]) -> None:
    row = _row(replay[2022], "A1080")
    assert row.terminated
    assert not row.comparable
    assert REASON_TERMINATION in row.reason


@pytest.mark.parametrize("year", [2022, 2023])
def test_msr_matches_published_min_sav_perc(
    replay: dict[int, list[ReplayRow]], puf: dict[int, list[PufRow]], year: int
) -> None:
    by_id = {r.aco_id: r for r in puf[year]}
    for row in replay[year]:
        src = by_id[row.aco_id]
        assert src.msr is not None
        assert abs(row.computed_msr - src.msr) <= 0.00005 + 1e-12, row.aco_id
        assert "MSR" not in row.reason


def test_two_sided_msr_election(puf: dict[int, list[PufRow]]) -> None:
    fixed = _puf_row(puf[2022], "A1033")  # BASIC E, elected 0%
    (row,) = replay_rows([fixed], 2022)
    assert row.computed_msr == 0.0
    # A fixed election below 5,000 beneficiaries falls back to the variable MSR/MLR.
    small = dataclasses.replace(fixed, n_ab=4000, msr=0.01)
    (row,) = replay_rows([small], 2022)
    assert row.computed_msr == pytest.approx(float(mssp_msr(4000)))
    assert "differs from the published MinSavPerc 1.00%" in row.reason
    # A value that is not a fixed option means the variable MSR/MLR.
    variable = _puf_row(puf[2022], "A1070")
    assert variable.msr == pytest.approx(0.0247)
    (row,) = replay_rows([variable], 2022)
    assert row.computed_msr == pytest.approx(float(mssp_msr(variable.n_ab)))


def test_reduced_sharing_below_msr_py2024() -> None:
    # Illustrative PY2024 row after A5328 (BASIC A, ReducedSS=1) as quoted in
    # ../shared/reference/cms_methodology.md 1.1: savings 32,084 below the 3.01% MSR earn
    # 32,084 x 20% x 98% = 6,288. N_AB and the benchmark are chosen to give that MSR and the
    # 0.03% savings rate (the PY2024 file is not in the shared data).
    benchmark = 106_946_667.0
    row = PufRow(
        aco_id="A5328",
        performance_year=2024,
        track="A",
        risk_model="One-Sided",
        n_ab=9899,
        benchmark=benchmark,
        expenditure=benchmark - 32_084.0,
        msr=0.0301,
        quality_score=0.80,
        met_qps=True,
        met_alt_qps=None,
        dis_adj=0.0,
        reduced_ss=True,
        rev_exp_cat="Low Revenue",
        agreement_start="01/01/2024",
        mid_year_termination=False,
        line=2,
        published=PublishedOutcome(
            sav_rate=0.0003,
            bnchmk_min_exp=32_084.0,
            gen_save_loss=32_084.0,
            earn_save_loss=6_288.0,
            final_share_rate=0.20,
            final_loss_rate=None,
        ),
    )
    (replayed,) = replay_rows([row], 2024)
    assert replayed.computed == pytest.approx(32_084.0 * 0.40 * 0.5 * 0.98)
    assert replayed.agree
    (full,) = replay_rows([dataclasses.replace(row, reduced_ss=False)], 2024)
    assert full.computed == 0.0


# --------------------------------------------------------------------------------------------
# The published outcomes are never inputs


_NOTHING = PublishedOutcome(
    sav_rate=None,
    bnchmk_min_exp=None,
    gen_save_loss=None,
    earn_save_loss=None,
    final_share_rate=None,
    final_loss_rate=None,
)
_GARBAGE = PublishedOutcome(
    sav_rate=-7.0,
    bnchmk_min_exp=1e15,
    gen_save_loss=-1e15,
    earn_save_loss=123.0,
    final_share_rate=0.0,
    final_loss_rate=1.0,
)


@pytest.mark.parametrize("year", [2022, 2023])
@pytest.mark.parametrize("outcome", [_NOTHING, _GARBAGE], ids=["none", "garbage"])
def test_replay_never_reads_published_outcomes(
    puf: dict[int, list[PufRow]],
    replay: dict[int, list[ReplayRow]],
    year: int,
    outcome: PublishedOutcome,
) -> None:
    blinded = [dataclasses.replace(r, published=outcome) for r in puf[year]]
    again = replay_rows(blinded, year)
    assert [r.computed for r in again] == [r.computed for r in replay[year]]
    assert [r.computed_msr for r in again] == [r.computed_msr for r in replay[year]]
    assert [r.depends_on_revenue for r in again] == [r.depends_on_revenue for r in replay[year]]
    if outcome is _NOTHING:
        assert not any(r.agree for r in again)
        assert all(r.difference is None and "EarnSaveLoss not published" in r.reason for r in again)
        assert summarize(again).comparable == 0


# --------------------------------------------------------------------------------------------
# Bad rows


def test_unknown_track_is_rejected(puf: dict[int, list[PufRow]]) -> None:
    legacy = dataclasses.replace(puf[2022][0], track="1")
    with pytest.raises(ValueError, match=r"line \d+: ACO \w+: track '1' has no template"):
        replay_rows([legacy], 2022)


def test_row_of_another_year_is_rejected(puf: dict[int, list[PufRow]]) -> None:
    with pytest.raises(ValueError, match="performance year 2022, not 2023"):
        replay_rows(puf[2022][:1], 2023)


def test_unsettleable_row_names_its_line(puf: dict[int, list[PufRow]]) -> None:
    bad = dataclasses.replace(puf[2022][0], benchmark=0.0)
    with pytest.raises(ValueError, match=rf"line {bad.line}: ACO {bad.aco_id}: benchmark"):
        replay_rows([bad], 2022)


# --------------------------------------------------------------------------------------------
# CSV


def test_csv_complete_and_readable(replay: dict[int, list[ReplayRow]], tmp_path: Path) -> None:
    rows = replay[2023]
    out = tmp_path / "replay.csv"
    write_replay_csv(rows, out)
    with out.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == REPLAY_CSV_COLUMNS
        written = list(reader)
    assert [w["ACO_ID"] for w in written] == [r.aco_id for r in rows]
    assert len({w["ACO_ID"] for w in written}) == len(rows)
    for w, r in zip(written, rows, strict=True):
        assert w["track"] == r.track
        assert int(w["n_ab"]) == r.n_ab
        assert float(w["computed"]) == pytest.approx(r.computed, abs=0.0051)
        assert w["agree"] == ("true" if r.agree else "false")
        assert w["depends_on_revenue"] == ("true" if r.depends_on_revenue else "false")
        assert w["reason"] == r.reason
        assert r.published is not None
        assert r.difference is not None
        assert float(w["published_EarnSaveLoss"]) == r.published
        assert float(w["difference"]) == pytest.approx(r.difference, abs=0.0051)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["replay.csv"]


def test_csv_write_is_atomic(replay: dict[int, list[ReplayRow]], tmp_path: Path) -> None:
    out = tmp_path / "replay.csv"
    out.write_text("previous contents\n", encoding="utf-8")

    def failing() -> Iterator[ReplayRow]:
        yield from replay[2022][:10]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_replay_csv(failing(), out)
    assert out.read_text(encoding="utf-8") == "previous contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["replay.csv"]


def test_csv_into_missing_directory_fails_cleanly(
    replay: dict[int, list[ReplayRow]], tmp_path: Path
) -> None:
    with pytest.raises(OSError):  # noqa: PT011 - the platform picks the subclass
        write_replay_csv(replay[2022], tmp_path / "missing" / "replay.csv")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Command line


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    for stream in (result.output, result.stdout, result.stderr):
        assert "Traceback" not in stream
    return result


@pytest.mark.cli
def test_cli_replays_and_writes_csv(tmp_path: Path) -> None:
    path = _puf_path(2022)
    out = tmp_path / "replay.csv"
    result = _invoke("mssp-replay", str(path), "--performance-year", "2022", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "481 of 482 ACOs agree (99.8%)" in result.stdout
    assert "not depending on unpublished revenue" in result.stdout
    assert "481 of 481 (100.0%)" in result.stdout
    for aco_id, reason in DISAGREEING[2022].items():
        (line,) = [ln for ln in result.stdout.splitlines() if ln.strip().startswith(aco_id)]
        assert reason in line
    with out.open(newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 482
    assert f"wrote {out}" in result.stdout


@pytest.mark.cli
def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = _invoke(
        "mssp-replay", str(missing), "--performance-year", "2023", "-o", str(tmp_path / "r.csv")
    )
    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.stderr
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.cli
def test_cli_puf_without_benchmark_column_exits_2(tmp_path: Path) -> None:
    with _puf_path(2023).open(newline="", encoding="utf-8-sig") as f:
        records = list(csv.reader(f))
    drop = records[0].index("ABtotBnchmk")
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([c for i, c in enumerate(rec) if i != drop] for rec in records)
    out = tmp_path / "r.csv"
    result = _invoke("mssp-replay", str(bad), "--performance-year", "2023", "-o", str(out))
    assert result.exit_code == 2
    assert "ABtotBnchmk" in result.stderr
    assert "required column(s) missing" in result.stderr
    assert not out.exists()


@pytest.mark.cli
def test_cli_help_has_example() -> None:
    result = _invoke("mssp-replay", "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "--performance-year" in result.stdout


def _synthetic_puf(tmp_path: Path) -> Path:
    """Three ACOs in the PY2024 layout (tests/test_replay_puf.py), so the command line is tested
    without the CMS files."""
    from test_replay_puf import HEADER_2024, ROWS_2024, _write

    return _write(tmp_path / "py2024.csv", HEADER_2024, ROWS_2024)


@pytest.mark.cli
def test_cli_replays_a_synthetic_puf(tmp_path: Path) -> None:
    out = tmp_path / "replay.csv"
    result = _invoke(
        "mssp-replay", str(_synthetic_puf(tmp_path)), "--performance-year", "2024", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "(PY2024): 2 of 3 ACOs agree" in result.stdout
    assert "A5328" in result.stdout  # the row that differs, with its reason
    with out.open(newline="", encoding="utf-8") as f:
        assert [r["ACO_ID"] for r in csv.DictReader(f)] == ["A1001", "A2029", "A5328"]
    assert result.stdout.endswith(f"wrote {out}\n")


@pytest.mark.cli
@pytest.mark.parametrize(
    ("out", "message"), [("missing/r.csv", "does not exist"), (".", "is a directory")]
)
def test_cli_bad_output_exits_2(tmp_path: Path, out: str, message: str) -> None:
    puf = _synthetic_puf(tmp_path)
    result = _invoke(
        "mssp-replay", str(puf), "--performance-year", "2024", "-o", str(tmp_path / out)
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.cli
def test_cli_write_failure_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simsettle.replay

    def fail(rows: object, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(simsettle.replay, "write_replay_csv", fail)
    out = tmp_path / "r.csv"
    puf = _synthetic_puf(tmp_path)
    result = _invoke("mssp-replay", str(puf), "--performance-year", "2024", "-o", str(out))
    assert result.exit_code == 1
    assert f"{out}: could not write the replay" in result.stderr
