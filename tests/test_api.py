"""The Python API a new actuary reaches for first: overrides, validated changes, the accessor,
and the CLI's version, hints and file modes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import simsettle
from simsettle.cli import app
from simsettle.errors import ScenarioError
from simsettle.scenario import parse_scenario
from simsettle.scenario.paths import Override
from tests.conftest import SMALL_SCENARIO

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))


@pytest.fixture
def small(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_SCENARIO, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# overrides from Python


@pytest.mark.parametrize(
    "overrides",
    [
        ["population.turnover=0.25", "designs.two_sided.min_savings_rate=0.01"],
        {"population.turnover": 0.25, "designs.two_sided.min_savings_rate": 0.01},
        [
            Override("population.turnover", 0.25, "mine"),
            "designs.two_sided.min_savings_rate=0.01",
        ],
    ],
)
def test_load_scenario_takes_overrides_as_texts_mappings_or_objects(
    small: Path, overrides: object
) -> None:
    loaded = simsettle.load_scenario(small, overrides)  # type: ignore[arg-type]
    sc = loaded.scenario
    assert sc.population.turnover == 0.25
    two_sided = next(d for d in sc.designs if d.name == "two_sided")
    assert two_sided.min_savings_rate == 0.01
    assert len(loaded.overrides) == 2
    assert "turnover: 0.25" in loaded.text


def test_a_bad_override_names_itself(small: Path) -> None:
    with pytest.raises(ScenarioError, match=r"override population.turnover=1.5.*turnover"):
        simsettle.load_scenario(small, ["population.turnover=1.5"])
    with pytest.raises(ScenarioError, match=r"KEY\.PATH=VALUE"):
        simsettle.load_scenario(small, ["population.turnover"])
    with pytest.raises(ScenarioError, match="put it in a list"):
        simsettle.load_scenario(small, "population.turnover=0.2")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"no_such_block|not a field|unknown"):
        simsettle.load_scenario(small, {"no_such_block.x": 1})


def test_simulate_takes_overrides_and_records_them(small: Path) -> None:
    via_simulate = simsettle.simulate(
        small, trials=8, overrides=["population.turnover=0.3"], progress=False
    )
    changed = simsettle.load_scenario(small).with_changes({"population.turnover": 0.3})
    direct = simsettle.simulate(changed, trials=8, progress=False)
    np.testing.assert_array_equal(via_simulate["settlement"].values, direct["settlement"].values)
    assert "population.turnover=0.3" in via_simulate.attrs["scenario_overrides"]
    model = simsettle.load_scenario(small).scenario
    from_model = simsettle.simulate(
        model, trials=8, overrides={"population.turnover": 0.3}, progress=False
    )
    np.testing.assert_array_equal(from_model["settlement"].values, direct["settlement"].values)


def test_with_changes_validates_where_model_copy_does_not(small: Path) -> None:
    sc = simsettle.load_scenario(small).scenario
    changed = sc.with_changes({"designs.two_sided.shared_loss_rate": 0.6}, trials=10)
    assert next(d for d in changed.designs if d.name == "two_sided").shared_loss_rate == 0.6
    assert changed.trials == 10
    with pytest.raises(ScenarioError, match="shared_loss_rate"):
        sc.with_changes({"designs.two_sided.shared_loss_rate": 6.0})
    with pytest.raises(ScenarioError, match="trials"):
        sc.with_changes(trials=0)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_scenario_object_round_trips_through_its_text(path: Path) -> None:
    sc = simsettle.load_scenario(path).scenario
    assert parse_scenario(sc.to_text(), "<object>").scenario == sc


def test_loaded_with_changes_keeps_comments_and_lists_every_change(small: Path) -> None:
    text = "# my comment\n" + SMALL_SCENARIO
    loaded = parse_scenario(text, "a.yaml", ["trials=9"]).with_changes(seed=5)
    assert loaded.text.count("# my comment") == 1
    assert loaded.text.count("%YAML") <= 1
    assert loaded.overrides == ("override trials=9", "override seed=5")
    assert (loaded.scenario.trials, loaded.scenario.seed) == (9, 5)


# --------------------------------------------------------------------------------------------
# the accessor


def _fresh(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return out.stdout.strip()


def test_datasets_from_simsettle_have_the_settle_accessor_without_importing_stats(
    small: Path, tmp_path: Path
) -> None:
    ds = simsettle.simulate(small, trials=4, progress=False)
    path = simsettle.write_results(ds, tmp_path / "r.nc")
    code = (
        f"import simsettle; ds = simsettle.open_results(r'{path}'); "
        "print(float(ds.settle.statistic('mean')['value'][0]) == float(ds.settle.statistic("
        "'mean')['value'][0]))"
    )
    assert _fresh(code) == "True"
    code = "import xarray as xr, simsettle; print(hasattr(xr.Dataset(), 'settle'))"
    assert _fresh(code) == "True"
    # import simsettle alone stays light: no xarray
    assert _fresh("import simsettle, sys; print('xarray' in sys.modules)") == "False"


# --------------------------------------------------------------------------------------------
# CLI: version, hints, the override that failed, file modes


def test_version_option() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"simsettle {simsettle.__version__}"


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        ("shared_savings_rate: 0.5", "shared_savings_rate: 50", "write 0.5"),
        ("min_savings_rate: 0.02", "min_savings_rate: 2%", "did you mean 0.02?"),
        ("pmpm: 900.0", 'pmpm: "900"', "did you mean 900 (a number, without quotes)?"),
    ],
)
def test_percent_looking_rates_get_a_hint(tmp_path: Path, old: str, new: str, hint: str) -> None:
    assert old in SMALL_SCENARIO
    path = tmp_path / "s.yaml"
    path.write_text(SMALL_SCENARIO.replace(old, new, 1), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert hint in result.output, result.output


def test_repeated_set_blames_the_one_that_failed(small: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(small),
            "--set",
            "population.turnover=0.2",
            "--set",
            "population.turnover=1.7",
        ],
    )
    assert result.exit_code == 2
    assert "--set population.turnover=1.7" in result.output
    assert "turnover=0.2" not in result.output


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask_022")
def test_written_files_honour_the_umask(small: Path, tmp_path: Path) -> None:
    results = tmp_path / "r.nc"
    runner = CliRunner()
    table = tmp_path / "rank.csv"
    report = tmp_path / "report"
    for args in (
        ["run", str(small), "-o", str(results), "--trials", "8"],
        ["compare", str(results), "--csv", str(table)],
        ["report", str(results), "-o", str(report), "--no-pdf"],
    ):
        assert runner.invoke(app, args).exit_code == 0, args
    for path in (results, table, report / "report.html"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
    assert xr.open_dataset(results).sizes["trial"] == 8


# --------------------------------------------------------------------------------------------
# tables


def test_to_dataframe_keeps_design_parameters_out_unless_asked(small: Path) -> None:
    ds = simsettle.simulate(small, trials=4, progress=False)
    long = ds.settle.to_dataframe(["settlement", "savings_rate"])
    assert list(long.columns) == ["settlement", "savings_rate"]
    assert long.index.names == ["design", "trial", "year"]
    assert len(long) == ds.sizes["design"] * 4 * ds.sizes["year"]
    wide = ds.settle.to_dataframe("settlement", parameters=True)
    assert {"kind", "min_savings_rate", "shared_savings_rate"} <= set(wide.columns)
    params = ds.settle.design_parameters()
    assert list(params.index) == [str(d) for d in ds["design"].values]
    assert "settlement" not in params.columns
    np.testing.assert_array_equal(
        long["settlement"].to_numpy(),
        ds["settlement"].transpose("design", "trial", "year").values.ravel(),
    )
    with pytest.raises(KeyError, match="no variable 'nope'"):
        ds.settle.to_dataframe("nope")
