"""`simsettle run` and `simsettle report` end to end through typer's CliRunner."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import xarray as xr
from matplotlib import image
from typer.testing import CliRunner

import simsettle
from simsettle.cli import app
from simsettle.scenario.paths import parse_override
from tests.conftest import EXAMPLES, SMALL_SCENARIO

runner = CliRunner()


@pytest.fixture
def scenario_file(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL_SCENARIO)
    return p


def test_run_writes_results_that_open_identically(tmp_path, scenario_file):
    out = tmp_path / "results.nc"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.stdout
    for name in ("one_sided", "two_sided", "with_stop_loss"):
        assert name in res.stdout  # the summary table
    ds = simsettle.open_results(out)
    direct = simsettle.simulate(scenario_file, progress=False)
    for name in direct.data_vars:
        np.testing.assert_array_equal(ds[name].values, direct[name].values)
    assert "simsettle run" in ds.attrs["history"]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_run_overrides_trials_and_seed(tmp_path, scenario_file):
    out = tmp_path / "r.nc"
    res = runner.invoke(
        app,
        [
            "run",
            str(scenario_file),
            "-o",
            str(out),
            "--trials",
            "9",
            "--seed",
            "77",
            "--threads",
            "1",
            "--chunk-trials",
            "4",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    ds = simsettle.open_results(out)
    assert ds.sizes["trial"] == 9
    assert ds.attrs["seed"] == 77


def test_run_invalid_scenario_exits_2_without_writing(tmp_path, scenario_file):
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL_SCENARIO.replace("shared_savings_rate: 0.6", "shared_savings_rate: 6"))
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(bad), "-o", str(out)])
    assert res.exit_code == 2
    assert "bad.yaml:31:5: designs.1.shared_savings_rate:" in res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "{scenario}"], "refusing to write results over it"),
        (["-o", "{tmp}/results.txt"], "use a .nc file name"),
        (["-o", "{tmp}/missing/r.nc"], "does not exist"),
        (["-o", "{tmp}"], "contains the input"),
        (["--trials", "0"], "--trials"),
    ],
)
def test_run_refuses_bad_output_and_options(tmp_path, scenario_file, args, message):
    before = scenario_file.read_text()
    args = [a.format(scenario=scenario_file, tmp=tmp_path) for a in args]
    res = runner.invoke(app, ["run", str(scenario_file), *args])
    assert res.exit_code == 2
    assert message in res.output
    assert scenario_file.read_text() == before


def test_report_writes_readable_charts(tmp_path, scenario_file):
    out = tmp_path / "r.nc"
    assert (
        runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--no-progress"]).exit_code
        == 0
    )
    rep = tmp_path / "report"
    res = runner.invoke(app, ["report", str(out), "-o", str(rep)])
    assert res.exit_code == 0, res.output
    pngs = sorted(rep.glob("*.png"))
    names = {p.name for p in pngs}
    assert "exceedance.png" in names
    assert "payoff.png" in names
    assert {
        f"distribution_{d}.png"
        for d in ("one_sided", "two_sided", "with_stop_loss", "high_attachment")
    } <= names
    for p in pngs:
        img = image.imread(p)
        assert img.shape[0] > 200
        assert img.shape[1] > 300
        assert float(img[..., :3].std()) > 0.01  # not blank
    assert "P(pay losses)" in res.stdout or "pay losses" in res.stdout


def test_report_on_a_file_that_is_not_results(tmp_path):
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(other, engine="netcdf4")
    res = runner.invoke(app, ["report", str(other), "-o", str(tmp_path / "rep")])
    assert res.exit_code == 2
    assert "not a simsettle results file" in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_runs_at_full_size(tmp_path, example):
    # The acceptance run: each example at its own size (the foundation's three at 10,000 trials
    # and up to 10,000 members; the mechanism examples at 2,000 trials). Timings are printed by
    # benchmarks/examples.py, not asserted here.
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(example), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    ds = simsettle.open_results(out)
    sc = simsettle.load_scenario(example).scenario
    assert ds.sizes["trial"] == sc.trials <= 10_000
    assert sc.population.members <= 10_000
    assert ds.sizes["design"] == len(sc.all_designs)
    assert np.isfinite(ds.settlement).all()
    rep = runner.invoke(app, ["report", str(out), "-o", str(tmp_path / "rep")])
    assert rep.exit_code == 0, rep.output


def test_run_writes_zarr_and_convert_makes_one_netcdf(tmp_path, scenario_file):
    store = tmp_path / "results.zarr"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(store), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert store.is_dir()
    ds = simsettle.open_results(store)
    direct = simsettle.simulate(scenario_file, progress=False)
    for name in direct.data_vars:
        np.testing.assert_array_equal(ds[name].values, direct[name].values)
    nc = tmp_path / "results.nc"
    res = runner.invoke(app, ["convert", str(store), "-o", str(nc)])
    assert res.exit_code == 0, res.output
    assert f"wrote {nc}" in res.stdout
    xr.testing.assert_identical(simsettle.open_results(nc), ds)
    back = tmp_path / "back.zarr"
    assert runner.invoke(app, ["convert", str(nc), "-o", str(back)]).exit_code == 0
    xr.testing.assert_identical(simsettle.open_results(back), ds)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "back.zarr",
        "results.nc",
        "results.zarr",
        "small.yaml",
    ]


@pytest.mark.parametrize(
    ("src", "out", "message"),
    [
        ("missing.zarr", "r.nc", "no such results"),
        ("small.yaml", "r.nc", "not a readable NetCDF"),
        ("r0.nc", "r.txt", "use a .nc file name"),
        ("r0.nc", "r0.nc", "is the input"),
    ],
)
def test_convert_refuses_bad_paths(tmp_path, scenario_file, src, out, message):
    res = runner.invoke(
        app, ["run", str(scenario_file), "-o", str(tmp_path / "r0.nc"), "--trials", "3"]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["convert", str(tmp_path / src), "-o", str(tmp_path / out)])
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output


def test_run_too_big_for_memory_is_refused_with_exit_1(tmp_path, scenario_file):
    out = tmp_path / "r.nc"
    with simsettle.set_options(memory_limit=2**20):
        res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--trials", "5000"])
    assert res.exit_code == 1
    assert "run failed: this run needs about" in res.stderr
    assert "GiB" in res.stderr
    assert "fewer trials (--trials)" in res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# --set overrides, the summary at the end of a run, exit codes


def test_run_set_overrides_are_applied_and_recorded(tmp_path, scenario_file):
    out = tmp_path / "r.nc"
    res = runner.invoke(
        app,
        [
            "run",
            str(scenario_file),
            "-o",
            str(out),
            "--trials",
            "8",
            "--set",
            "population.turnover=0.3",
            "--set",
            "designs.*.shared_savings_rate=0.55",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    ds = simsettle.open_results(out)
    assert json.loads(ds.attrs["scenario_overrides"]) == [
        "--set population.turnover=0.3",
        "--set designs.*.shared_savings_rate=0.55",
    ]
    assert "turnover: 0.3" in ds.attrs["scenario_yaml"]
    assert "--set population.turnover=0.3" in ds.attrs["history"]
    assert (ds.shared_savings_rate == 0.55).all()
    loaded = simsettle.load_scenario(
        scenario_file,
        [
            parse_override("population.turnover=0.3"),
            parse_override("designs.*.shared_savings_rate=0.55"),
        ],
    )
    direct = simsettle.simulate(loaded, trials=8, progress=False)
    np.testing.assert_array_equal(ds.settlement.values, direct.settlement.values)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("population.turnover", "--set: expected KEY.PATH=VALUE, got 'population.turnover'"),
        ("population..turnover=0.2", "--set: bad field path"),
        ("seed=!!python/object/apply:os.system [ls]", "YAML tags are not allowed"),
        ("benchmark.weights=[0.1, ", "the value is not valid YAML"),
    ],
)
def test_run_malformed_set_exits_2(tmp_path, scenario_file, value, message):
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--set", value])
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "population.turnover=1.5",
            "--set population.turnover=1.5:1:1: population.turnover: Input should be less than",
        ),
        (
            "designs.nope.min_savings_rate=0.02",
            "--set designs.nope.min_savings_rate=0.02:1:1: designs.nope.min_savings_rate: "
            "no item named 'nope' in designs (one_sided, two_sided",
        ),
        ("population.turnovr=0.2", "--set population.turnovr=0.2:1:1: population.turnovr:"),
    ],
)
def test_run_override_that_fails_validation_names_the_override(
    tmp_path, scenario_file, value, message
):
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--set", value])
    assert res.exit_code == 2
    assert res.stderr.startswith(message), res.stderr
    assert not out.exists()


def test_run_summary_fits_one_screen(tmp_path, scenario_file):
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) <= 25, res.stdout
    assert "MC SE of mean" in res.stdout
    assert any(
        line.startswith("Monte Carlo precision (64 trials") and "95% confidence" in line
        for line in lines
    )
    assert re.fullmatch(rf"wrote {re.escape(str(out))} in \d+\.\d s", lines[-1])
    assert "Cost model:" in res.stdout
    assert "simsettle compare" not in res.stdout  # every design is shown


def test_run_summary_with_many_designs_points_to_compare(tmp_path):
    extra = "".join(
        f"  - {{name: extra_{i}, kind: two_sided, shared_savings_rate: 0.5, "
        f"shared_loss_rate: {0.1 + i / 20}}}\n"
        for i in range(6)
    )
    p = tmp_path / "many.yaml"
    p.write_text(SMALL_SCENARIO.replace("trials: 64", "trials: 16") + extra)
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(p), "-o", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) <= 25, res.stdout
    assert f"... and 2 more designs; all 10 ranked: simsettle compare {out}" in res.stdout
    assert "extra_3" in res.stdout
    assert "extra_4" not in res.stdout
    assert simsettle.open_results(out).sizes["design"] == 10


SWEEP = """\
sweep:
  - path: designs.*.min_savings_rate
    values: [0.0, 0.01, 0.02]
    base: 0.01
  - {path: population.turnover, values: [0.1, 0.2]}
"""


def test_run_sweep_summary_shows_the_base_point_and_honours_trials_and_seed(tmp_path):
    p = tmp_path / "sweep.yaml"
    p.write_text(SMALL_SCENARIO + SWEEP)
    out = tmp_path / "sweep.nc"
    res = runner.invoke(
        app,
        ["run", str(p), "-o", str(out), "--trials", "12", "--seed", "5", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    assert len(res.stdout.splitlines()) <= 25, res.stdout
    assert (
        "Swept min_savings_rate, turnover: the table is at the base point "
        "(min_savings_rate=0.01, turnover=0.1); all 24 design x sweep cells ranked: "
        f"simsettle compare {out}"
    ) in res.stdout
    assert "12 trials" in res.stdout
    ds = simsettle.open_results(out)
    assert ds.sizes["trial"] == 12
    assert ds.attrs["seed"] == 5
    assert dict(ds.settlement.sizes) == {
        "design": 4,
        "min_savings_rate": 3,
        "turnover": 2,
        "trial": 12,
        "year": 2,
    }


def test_run_simulation_failure_exits_1(tmp_path, scenario_file, monkeypatch):
    import simsettle.runner

    def fail(*args, **kwargs):
        raise simsettle.SimulationError("non-finite settlement in trial 3")

    monkeypatch.setattr(simsettle.runner, "simulate", fail)
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out)])
    assert res.exit_code == 1
    assert "run failed: non-finite settlement in trial 3" in res.stderr
    assert "Traceback" not in res.output
    assert not out.exists()


def test_run_write_failure_exits_1(tmp_path, scenario_file, monkeypatch):
    import simsettle.results

    def fail(ds, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(simsettle.results, "write_results", fail)
    out = tmp_path / "r.nc"
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--no-progress"])
    assert res.exit_code == 1
    assert f"{out}: could not write results:" in res.stderr
    assert "No space left on device" in res.stderr
    assert "Traceback" not in res.output


def test_run_workers_and_scheduler_together_exit_2(tmp_path, scenario_file):
    res = runner.invoke(
        app,
        [
            "run",
            str(scenario_file),
            "-o",
            str(tmp_path / "r.nc"),
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
    )
    assert res.exit_code == 2
    assert "give --workers or --scheduler, not both" in res.stderr


def test_report_on_a_missing_file_exits_2(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path / "nope.nc"), "-o", str(tmp_path / "rep")])
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert not (tmp_path / "rep").exists()


def test_run_replaces_a_foreign_file_only_with_force(tmp_path, scenario_file):
    out = tmp_path / "notes.nc"
    out.write_text("not results")
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(out), "--no-progress"])
    assert res.exit_code == 2
    assert "pass --force" in res.output
    assert out.read_text() == "not results"
    res = runner.invoke(
        app,
        ["run", str(scenario_file), "-o", str(out), "--no-progress", "--force", "--trials", "4"],
    )
    assert res.exit_code == 0, res.output
    assert simsettle.open_results(out).sizes["trial"] == 4
    # Never over the input, even with --force.
    res = runner.invoke(app, ["run", str(scenario_file), "-o", str(scenario_file), "--force"])
    assert res.exit_code == 2


def test_an_unexpected_error_prints_one_line_not_a_traceback(tmp_path):
    # Through the console-script entry point (CliRunner does not use main()): a bug deep in a
    # run must not dump a traceback with the data it was handling.
    import subprocess
    import sys

    code = (
        "import sys, simsettle.runner as r\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('member 7 cost 123456.78\\nsecond line')\n"
        "r.run_to_file = boom\n"
        "from simsettle.cli import main\n"
        "sys.argv = ['simsettle', 'run', sys.argv[1], '-o', sys.argv[2], '--no-progress']\n"
        "main()\n"
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SMALL_SCENARIO)
    args = [sys.executable, "-c", code, str(scenario), str(tmp_path / "r.nc")]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "internal error (RuntimeError: member 7 cost 123456.78)" in proc.stderr
    assert "second line" not in proc.stderr
    debug = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**__import__("os").environ, "SIMSETTLE_DEBUG": "1"},
    )
    assert "Traceback" in debug.stderr
