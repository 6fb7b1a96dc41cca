"""The report's first page: designs side by side, paired differences, dominance, sensitivity;
the frontier chart; the report's tables as CSV and Excel."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from _synthetic import make_dataset, make_sweep_dataset
from typer.testing import CliRunner

import simsettle
from simsettle.cli import app
from simsettle.plot import fig_frontier, format_money
from simsettle.report import build_report
from simsettle.report.decision import recommend
from simsettle.report.pdf import compose_pages
from simsettle.report.sensitivity import DEFAULT_INPUTS, sensitivity
from simsettle.report.write import write_report
from simsettle.scenario import parse_scenario
from simsettle.stats import decide, paired, statistic
from tests.conftest import SMALL_SCENARIO


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=1500, n_years=1)


@pytest.fixture(scope="module")
def small() -> xr.Dataset:
    """Four designs of SMALL_SCENARIO, with the scenario recorded (for re-simulation)."""
    return simsettle.simulate(parse_scenario(SMALL_SCENARIO, "small.yaml"), progress=False)


def _cells(r: object, design: str) -> dict[str, object]:
    table = r.table  # type: ignore[attr-defined]
    row = dict(table.rows)[design]
    return dict(zip(table.columns, row, strict=True))


def test_the_first_page_says_which_design_is_dominated_and_by_how_much(ds: xr.Dataset) -> None:
    r = recommend(ds)
    mine = decide(ds, baseline="upside_only").swap_dims(rank="design")
    p = paired(ds, "upside_only", ["mean", "var_provider_95"])
    assert r.baseline == "upside_only"
    for d in ("two_sided", "two_sided_capped"):
        cells = _cells(r, d)
        diff, se = float(p["mean_diff"].sel(design=d)), float(p["mean_diff_se"].sel(design=d))
        shown = cells["Mean vs upside_only"]
        assert shown.text == ("+" if diff > 0 else "") + format_money(diff)  # type: ignore[attr-defined]
        assert shown.se.startswith("±\xa0" + format_money(se) + "\xa0paired")  # type: ignore[attr-defined]
        verdict = cells["For the provider"].text  # type: ignore[attr-defined]
        if bool(mine["dominated"].sel(design=d)):
            assert verdict.startswith("dominated by ")
            assert d in " ".join(r.headline)
            assert any(reason.startswith(f"{d} against ") for reason in r.reasons)
        else:
            assert verdict in ("first", "frontier", "-")
    assert _cells(r, "upside_only")["Mean vs upside_only"].text == "baseline"  # type: ignore[attr-defined]
    assert r.rule == mine.attrs["rule"]


def test_percent_of_benchmark_is_the_mean_share_with_its_error(ds: xr.Dataset) -> None:
    r = recommend(ds)
    bench = ds["settlement_benchmark"] if "settlement_benchmark" in ds else ds["benchmark"]
    share = ds["settlement"] / bench
    expected = float(share.sel(design="two_sided").mean())
    text = _cells(r, "two_sided")["Mean, % of benchmark"].text  # type: ignore[attr-defined]
    assert text == f"{100 * expected:.2f}%"


def test_reasons_quote_the_paired_difference_against_the_dominating_design(
    ds: xr.Dataset,
) -> None:
    r = recommend(ds)
    mine = decide(ds).swap_dims(rank="design")
    for reason in r.reasons:
        d, _, rest = reason.partition(" against ")
        by = rest.split(":")[0]
        assert by in str(mine["dominated_by"].sel(design=d).item())
        p = paired(ds, by, "mean", designs=[d]).sel(design=d)
        assert format_money(abs(float(p["mean_diff"]))) in reason
        assert format_money(float(p["mean_diff_se"])) in reason


def test_sensitivity_from_a_sweep_moves_each_swept_input_to_its_ends() -> None:
    sweep = make_sweep_dataset(n_trials=200)
    rows, note = sensitivity(sweep, top=5)
    assert "sweep" in note
    dims = sweep.attrs["sweep_dims"].split()
    assert sorted(r.label for r in rows) == sorted(str(sweep[d].attrs["long_name"]) for d in dims)
    swings = [r.swing for r in rows]
    assert swings == sorted(swings, reverse=True)
    trend = next(r for r in rows if "trend" in r.label)
    assert trend.low.value == float(sweep["trend_mean"].min())
    cell = sweep.sel(trend_mean=trend.low.value, min_savings_rate=0.02, members=5000.0)
    assert trend.low.first == str(decide(cell)["design"].values[0])
    m = statistic(cell.sel(design=[trend.base_first]), "mean")
    assert trend.low.mean == pytest.approx(float(m["value"].item()), rel=1e-12)


def test_sensitivity_by_simulation_sets_the_moved_run_against_the_same_draws(
    small: xr.Dataset,
) -> None:
    rows, note = sensitivity(small, trials=32, top=3)
    assert "32 trials" in note
    assert {r.label for r in rows} == {i.label for i in DEFAULT_INPUTS}
    trend = next(r for r in rows if r.label == "expected cost trend")
    assert (trend.low.value, trend.high.value) == pytest.approx((0.04, 0.06))
    loaded = parse_scenario(SMALL_SCENARIO, "small.yaml")
    moved = simsettle.simulate(loaded.with_changes({"trend.mean": 0.06}, trials=32), progress=False)
    m = statistic(moved.sel(design=[trend.base_first]), "mean")
    assert trend.high.mean == float(m["value"].item())
    assert trend.base_first == str(decide(small)["design"].values[0])
    members = next(r for r in rows if r.label == "attributed members")
    assert (members.low.value, members.high.value) == (150.0, 600.0)


def test_results_without_a_valid_scenario_skip_the_sensitivity(ds: xr.Dataset) -> None:
    rows, note = sensitivity(ds.assign_attrs(scenario_yaml="not: [a scenario"))
    assert rows == []
    assert "no input was moved" in note
    rows, note = sensitivity(ds.drop_attrs())
    assert rows == []
    assert "do not hold their scenario" in note


def test_report_first_page_with_sensitivity(small: xr.Dataset) -> None:
    report = build_report(small, charts=False, sensitivity_trials=32)
    r = report.recommendation
    assert r is not None
    assert r.sensitivity is not None
    assert len(r.sensitivity.rows) == 3
    assert r.sensitivity_text
    first, second = compose_pages(report)[:2]
    texts = " ".join(t.get_text() for t in first.texts)
    assert "Recommendation" in texts
    assert "The designs side by side" in texts
    assert "paired" in texts
    assert "dominated by" in texts
    # what would change the answer follows, on the first page where it fits
    after = texts + " ".join(t.get_text() for t in second.texts)
    assert "What would change the answer" in after


def test_fig_frontier_marks_dominated_designs_hollow(ds: xr.Dataset) -> None:
    fig = fig_frontier(ds)
    table = decide(ds)
    points = [
        line
        for line in fig.axes[0].get_lines()
        if line.get_marker() == "o" and len(line.get_xdata()) == 1
    ]
    assert len(points) == ds.sizes["design"]
    hollow = sum(1 for line in points if line.get_markerfacecolor() == "white")
    assert hollow == int(table["dominated"].sum())


def test_report_tables_as_csv_and_xlsx(small: xr.Dataset, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    paths = write_report(small, tmp_path, pdf=False, png=False, csv=True, xlsx=True,
                         sensitivity=False)  # fmt: skip
    names = [p.name for p in paths]
    assert names == ["report.html", "statistics.csv", "decision.csv", "paired.csv", "report.xlsx"]
    with (tmp_path / "paired.csv").open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    p = paired(small, "one_sided")
    assert [r["design"] for r in records] == [str(d) for d in p["design"].values]
    np.testing.assert_array_equal(
        [float(r["mean_diff_se [USD]"]) for r in records], p["mean_diff_se"].values
    )
    book = openpyxl.load_workbook(tmp_path / "report.xlsx")
    assert book.sheetnames == ["statistics", "decision", "paired", "notes"]
    header = [c.value for c in book["statistics"][1]]
    assert header[0] == "design"
    assert header.index("mean_se [USD]") == header.index("mean [USD]") + 1
    notes = {row[0].value: row[1].value for row in book["notes"].iter_rows()}
    assert notes["rule"].startswith("rows no other row dominates")


def test_cli_report_for_the_payer_with_tables(small: xr.Dataset, tmp_path: Path) -> None:
    results = simsettle.write_results(small, tmp_path / "r.nc")
    out = tmp_path / "rep"
    result = CliRunner().invoke(
        app,
        ["report", str(results), "-o", str(out), "--no-pdf", "--for", "payer",
         "--no-sensitivity", "--xlsx", "--csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "For the payer, weighing the mean settlement against the payer" in html
    assert (out / "report.xlsx").is_file()
    assert (out / "decision.csv").is_file()


def test_the_exported_decision_is_the_first_pages(tmp_path: Path) -> None:
    from simsettle.report.sensitivity import measure

    text = SMALL_SCENARIO.replace(
        "designs:\n", "provider: {infrastructure_annual: 20000.0}\ndesigns:\n", 1
    )
    run = simsettle.simulate(parse_scenario(text, "p.yaml"), progress=False)
    assert measure(run, "provider") == "provider_net"
    write_report(run, tmp_path, pdf=False, png=False, csv=True, sensitivity=False)
    with (tmp_path / "decision.csv").open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    expected = decide(run, baseline="one_sided", var="provider_net")
    assert [r["design"] for r in records] == [str(d) for d in expected["design"].values]
    np.testing.assert_allclose(
        [float(r["mean [USD]"]) for r in records], expected["mean"].values, rtol=1e-12
    )


def test_sensitivity_reruns_with_the_results_seed_and_designs(small: xr.Dataset) -> None:
    reseeded = simsettle.simulate(
        parse_scenario(SMALL_SCENARIO, "small.yaml"), seed=99, trials=32, progress=False
    ).sel(design=["two_sided", "with_stop_loss"])
    rows, _ = sensitivity(reseeded, trials=32, top=3)
    trend = next(r for r in rows if r.label == "expected cost trend")
    assert {trend.low.first, trend.high.first} <= {"two_sided", "with_stop_loss"}
    loaded = parse_scenario(SMALL_SCENARIO, "small.yaml")
    moved = simsettle.simulate(
        loaded.with_changes({"trend.mean": 0.06}, trials=32, seed=99), progress=False
    )
    m = statistic(moved.sel(design=[trend.base_first]), "mean")
    assert trend.high.mean == float(m["value"].item())


def test_a_swept_family_is_not_an_input_with_ends() -> None:
    sweep = make_sweep_dataset(n_trials=100)
    families = xr.concat(
        [sweep.isel(members=0), sweep.isel(members=1)],
        dim=xr.DataArray(["gamma", "lognormal"], dims="family", name="family"),
    )
    families.attrs["sweep_dims"] = "min_savings_rate trend_mean family"
    rows, _ = sensitivity(families, top=5)
    assert all("family" not in r.label for r in rows)
    assert rows
