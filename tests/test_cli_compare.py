"""``simsettle compare`` through typer's CliRunner: rankings, sweeps, CSV and exit codes."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner, Result

import simsettle
from simsettle.cli import COMPARE_ROWS, app
from simsettle.plot._style import format_money
from simsettle.scenario import parse_scenario
from simsettle.stats import decide, paired, rank, statistic
from tests.conftest import SMALL_SCENARIO

pytestmark = pytest.mark.cli

DESIGNS = ["one_sided", "two_sided", "with_stop_loss", "high_attachment"]

SWEEP_SCENARIO = """\
schema_version: 1
seed: 3
trials: 16
first_performance_year: 2026
population: {members: 200, turnover: 0.15}
cost: {pmpm: 1000.0}
designs:
  - {name: upside, template: commercial_upside_only}
  - {name: two_sided, template: commercial_two_sided}
  - name: sl
    template: commercial_two_sided
    stop_loss: {attachment: 100000.0, coinsurance: 0.1}
sweep:
  - path: designs.*.min_savings_rate
    values: [0.0, 0.01, 0.02]
  - {path: designs.sl.stop_loss.attachment, values: [50000.0, 100000.0], base: 100000.0}
  - {path: population.turnover, values: [0.1, 0.2]}
"""
#: Rows of SWEEP_SCENARIO's ranking: designs x min_savings_rate x attachment x turnover.
SWEEP_ROWS = 3 * 3 * 2 * 2


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.exception,
        result.output,
    )
    assert "Traceback" not in result.output
    return result


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "r.nc"
    ds = simsettle.simulate(parse_scenario(SMALL_SCENARIO, "small.yaml"), progress=False)
    return simsettle.write_results(ds, path)


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("compare_sweep") / "sweep.nc"
    ds = simsettle.simulate(parse_scenario(SWEEP_SCENARIO, "sweep.yaml"), progress=False)
    return simsettle.write_results(ds, path)


def _rows(stdout: str) -> list[list[str]]:
    """The table's body: each row split on runs of two or more spaces."""
    lines = stdout.splitlines()
    rules = [i for i, line in enumerate(lines) if line and set(line) == {"-"}]
    assert len(rules) == 2, stdout
    return [re.split(r"\s{2,}", line.strip()) for line in lines[rules[0] + 1 : rules[1]]]


def test_default_weighs_mean_against_the_one_in_20_loss_and_states_the_rule(
    results: Path,
) -> None:
    result = invoke("compare", str(results))
    assert result.exit_code == 0, result.output
    ds = simsettle.open_results(results)
    expected = decide(ds, baseline="one_sided")
    rows = _rows(result.stdout)
    assert [r[1] for r in rows] == [str(d) for d in expected["design"].values]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    header = result.stdout.splitlines()[1].split()
    assert header == [
        "rank",
        "design",
        "mean",
        "SE",
        "var_provider_95",
        "SE",
        "mean_diff",
        "SE",
        "var_provider_95_diff",
        "SE",
        "verdict",
    ]
    assert all(r[3].startswith("±$") for r in rows)
    for row, dominated, by in zip(
        rows, expected["dominated"].values, expected["dominated_by"].values, strict=True
    ):
        assert row[-1].startswith("dominated by") == bool(dominated)
        if dominated:
            assert str(by).split(", ")[0] in row[-1]
    # the baseline (the first design) differs from itself by nothing
    base = next(r for r in rows if r[1] == "one_sided")
    assert base[6:10] == ["0", "±0", "0", "±0"]
    assert "4 designs weighed for the provider on mean, var_provider_95" in result.stdout
    assert "differences from one_sided" in result.stdout
    assert f"Rule: {expected.attrs['rule']}" in result.stdout
    assert "64 trials x 2 years" in result.stdout
    assert "Monte Carlo standard error" in result.stdout
    assert result.stderr == ""


def test_paired_differences_and_their_errors_are_those_of_stats_paired(results: Path) -> None:
    result = invoke("compare", str(results), "--baseline", "two_sided", "--by", "mean,q05")
    assert result.exit_code == 0, result.output
    p = paired(simsettle.open_results(results), "two_sided", ["mean", "q05"])
    rows = {r[1]: r for r in _rows(result.stdout)}
    for design in ("one_sided", "with_stop_loss"):
        diff = float(p["mean_diff"].sel(design=design))
        se = float(p["mean_diff_se"].sel(design=design))
        assert rows[design][6].lstrip("~") == ("+" if diff > 0 else "") + format_money(diff)
        assert rows[design][7] == "±" + format_money(se)
        assert se < float(p["mean_diff_se_unpaired"].sel(design=design))


def test_a_limit_puts_the_designs_that_keep_it_first(results: Path) -> None:
    ds = simsettle.open_results(results)
    var95 = statistic(ds, "var_provider", level=0.95)["value"]
    two_sided = float(var95.sel(design="two_sided"))
    limit = f"var_provider_95<={two_sided * 1.5:.0f}"
    result = invoke("compare", str(results), "--limit", limit)
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    verdicts = [r[-1] for r in rows]
    kept = [v for v in verdicts if "limit kept" in v]
    assert kept
    assert verdicts[: len(kept)] == kept  # the rows that keep it come first
    assert "limit broken" in verdicts[-1]  # with_stop_loss's 1-in-20 loss is far above
    assert "rows that keep the limit on var_provider_95 first" in result.stdout
    money = invoke("compare", str(results), "--limit", "var_provider_95<=$1.5M")
    assert money.exit_code == 0, money.output
    assert all("limit kept" in r[-1] for r in _rows(money.stdout))


def test_for_payer_reverses_and_uses_the_payer_columns(results: Path) -> None:
    provider = [
        r[1]
        for r in _rows(invoke("compare", str(results), "--rule", "sort", "--by", "mean").stdout)
    ]
    result = invoke("compare", str(results), "--rule", "sort", "--for", "payer")
    assert result.exit_code == 0, result.output
    assert [r[1] for r in _rows(result.stdout)] == provider[::-1]
    assert (
        "for the payer by mean ascending, prob_savings ascending, var_payer_95 ascending"
        in result.stdout
    )
    assert "var_payer_95" in result.stdout


def test_by_several_statistics_breaks_ties(results: Path) -> None:
    # prob_loss is 0 for both upside-only designs: the mean decides between them.
    result = invoke("compare", str(results), "--rule", "sort", "--by", "prob_loss", "--by", "mean")
    assert result.exit_code == 0, result.output
    expected = rank(simsettle.open_results(results), ["prob_loss", "mean"])
    assert [r[1] for r in _rows(result.stdout)] == [str(d) for d in expected["design"].values]
    assert set([r[1] for r in _rows(result.stdout)][:2]) == {"one_sided", "high_attachment"}
    assert [r[2] for r in _rows(result.stdout)][:2] == ["0.0%", "0.0%"]


def test_ascending_design_filter_and_top(results: Path) -> None:
    result = invoke(
        "compare",
        str(results),
        "--rule",
        "sort",
        "--by",
        "q95,std",
        "--ascending",
        "-d",
        "two_sided,one_sided",
        "--design",
        "with_stop_loss",
        "--top",
        "2",
    )
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert len(rows) == 2
    assert {r[1] for r in rows} <= {"two_sided", "one_sided", "with_stop_loss"}
    assert "3 rows ranked" in result.stdout
    assert "q95 ascending, std ascending" in result.stdout
    assert "1 more rows" in result.stdout


def test_csv_has_every_row_unrounded(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "ranking.csv"
    result = invoke(
        "compare",
        str(results),
        "--rule",
        "sort",
        "--by",
        "tvar_provider_99,mean",
        "--csv",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    with out.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    table = rank(simsettle.open_results(results), ["tvar_provider_99", "mean"])
    assert [r["design"] for r in records] == [str(d) for d in table["design"].values]
    assert list(records[0])[:6] == [
        "rank",
        "design",
        "tvar_provider_99 [USD]",
        "tvar_provider_99_se [USD]",
        "mean [USD]",
        "mean_se [USD]",
    ]
    assert "kind" in records[0]  # design parameters follow
    np.testing.assert_array_equal([float(r["mean [USD]"]) for r in records], table["mean"].values)
    np.testing.assert_array_equal(
        [float(r["mean_se [USD]"]) for r in records], table["mean_se"].values
    )
    assert [p.name for p in tmp_path.iterdir()] == ["ranking.csv"]


def test_compare_on_a_sweep_ranks_every_cell(swept: Path, tmp_path: Path) -> None:
    out = tmp_path / "cells.csv"
    result = invoke("compare", str(swept), "--rule", "sort", "--csv", str(out))
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert len(rows) == COMPARE_ROWS < SWEEP_ROWS
    header = result.stdout.splitlines()[1].split()
    assert header[:6] == ["rank", "design", "min_savings_rate", "attachment", "turnover", "mean"]
    assert f"{SWEEP_ROWS} rows ranked" in result.stdout
    assert f"{SWEEP_ROWS - COMPARE_ROWS} more rows: --top {SWEEP_ROWS}" in result.stdout
    with out.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    assert len(records) == SWEEP_ROWS  # the CSV gets every row unless --top is given
    cells = {
        (r["design"], r["min_savings_rate"], r["attachment [USD]"], r["turnover"]) for r in records
    }
    assert len(cells) == SWEEP_ROWS
    means = [float(r["mean [USD]"]) for r in records]
    assert means == sorted(means, reverse=True)
    # the best cell's numbers are those of that cell of the results
    best = records[0]
    ds = simsettle.open_results(swept)
    cell = ds.sel(
        design=best["design"],
        min_savings_rate=float(best["min_savings_rate"]),
        attachment=float(best["attachment [USD]"]),
        turnover=float(best["turnover"]),
    )
    assert float(best["mean [USD]"]) == pytest.approx(float(statistic(cell, "mean")["value"]))


def test_dominance_on_a_sweep_weighs_every_cell(swept: Path, tmp_path: Path) -> None:
    out = tmp_path / "cells.csv"
    result = invoke("compare", str(swept), "--csv", str(out), "--baseline", "two_sided")
    assert result.exit_code == 0, result.output
    assert f"{SWEEP_ROWS} rows weighed" in result.stdout
    with out.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    assert len(records) == SWEEP_ROWS
    dominated = [r["dominated"] == "True" for r in records]
    assert dominated == sorted(dominated)  # the efficient rows first
    # the baseline design's rows differ from themselves by nothing, in every cell
    base = [r for r in records if r["design"] == "two_sided"]
    assert len(base) == SWEEP_ROWS // 3
    assert all(float(r["mean_diff [USD]"]) == 0.0 for r in base)


def test_compare_top_limits_the_csv_too(swept: Path, tmp_path: Path) -> None:
    out = tmp_path / "top.csv"
    result = invoke("compare", str(swept), "--top", "5", "-d", "sl", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert len(_rows(result.stdout)) == 5
    with out.open(newline="", encoding="utf-8") as f:
        assert [r["design"] for r in csv.DictReader(f)] == ["sl"] * 5


def test_zarr_results_compare_the_same(results: Path, tmp_path: Path) -> None:
    pytest.importorskip("zarr")
    store = simsettle.write_results(simsettle.open_results(results), tmp_path / "r.zarr")
    a = invoke("compare", str(results)).stdout
    b = invoke("compare", str(store)).stdout
    assert _rows(a) == _rows(b)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "mean,median"], "--by: unknown statistic 'median'; choose from mean, std"),
        (["--by", "q100"], "strictly between 0 and 100%"),
        (["--by", "mean,mean"], "more than once: mean"),
        (["-d", "nope"], "no design named 'nope'; the results have one_sided"),
        (["--var", "nope"], "variable 'nope' not in Dataset"),
        (["--for", "insurer"], "Invalid value for '--for'"),
        (["--top", "0"], "Invalid value for '--top'"),
        (["--csv", "{tmp}/missing/r.csv"], "does not exist"),
        (["--csv", "{tmp}"], "is a directory"),
        (["--limit", "var_provider_95>=1e6"], "better lower for the provider"),
        (["--limit", "mean<=0"], "better higher for the provider"),
        (["--limit", "var_provider_95<=lots"], "is not an amount"),
        (["--limit", "var_provider_95"], "expected STAT<=X"),
        (["--limit", "std<=5"], "favours neither party"),
        (["--limit", "mean>=0", "--rule", "sort"], "needs --rule dominance"),
        (["--ascending"], "only with --rule sort"),
        (["--baseline", "nope"], "no design named 'nope'"),
    ],
)
def test_usage_errors_exit_2(results: Path, tmp_path: Path, args: list[str], message: str) -> None:
    args = [a.format(tmp=tmp_path) for a in args]
    result = invoke("compare", str(results), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_unknown_statistic_lists_the_valid_names(results: Path) -> None:
    result = invoke("compare", str(results), "--by", "sharpe")
    assert result.exit_code == 2
    for name in (
        "mean",
        "q<P>",
        "var_provider_<L>",
        "tvar_payer_<L>",
        "prob_loss",
        "stop_loss_net",
    ):
        assert name in result.stderr


@pytest.mark.parametrize("what", ["missing", "scenario", "not_results"])
def test_input_that_is_not_results_exits_2(tmp_path: Path, what: str) -> None:
    path = tmp_path / "in.nc"
    if what == "scenario":
        path = tmp_path / "small.yaml"
        path.write_text(SMALL_SCENARIO, encoding="utf-8")
    elif what == "not_results":
        xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(path, engine="netcdf4")
    result = invoke("compare", str(path))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    expected = {
        "missing": "no such results file",
        "scenario": "not a readable NetCDF",
        "not_results": "not a simsettle results file",
    }[what]
    assert expected in result.stderr


def test_csv_write_failure_exits_1(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import simsettle.cli as cli

    def fail(table: object, path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli, "_write_ranking_csv", fail)
    out = tmp_path / "r.csv"
    result = invoke("compare", str(results), "--csv", str(out))
    assert result.exit_code == 1
    assert f"{out}: could not write the ranking" in result.stderr
    assert "No space left" in result.stderr


def test_xlsx_holds_the_table_with_units_formats_and_the_rule(
    results: Path, tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "compare.xlsx"
    result = invoke("compare", str(results), "--xlsx", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["compare", "notes"]
    sheet = book["compare"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["rank", "design", "mean [USD]", "mean_se [USD]"]
    table = decide(simsettle.open_results(results), baseline="one_sided")
    means = [sheet.cell(row=i + 2, column=3).value for i in range(table.sizes["rank"])]
    # Excel keeps 15 significant digits
    np.testing.assert_allclose(means, table["mean"].values, rtol=1e-14)
    assert "$" in sheet.cell(row=2, column=3).number_format
    notes = {row[0].value: row[1].value for row in book["notes"].iter_rows()}
    assert notes["rule"] == table.attrs["rule"]
    assert notes["baseline"] == "one_sided"
    assert [p.name for p in tmp_path.iterdir()] == ["compare.xlsx"]
