"""Runs to a stated precision (``simulate(precision=...)``, ``simsettle run --precision``) and
the control variates they may use.

The stopping rule must not change what a trial is: a run that stopped at n trials equals a
fixed run of n trials to the bit. The control-variate estimator must be unbiased and its
standard error right: both are checked over independent replications (blocks of trials of one
long run: trials are independent and identically distributed).
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

import simsettle
from simsettle.cli import app
from simsettle.models.population import compile_model, expected_indices
from simsettle.scenario import parse_scenario
from simsettle.stats.control import controlled, controlled_series
from simsettle.stats.precision import Precision, next_trials, precision_table
from tests.conftest import SMALL_SCENARIO

#: SMALL_SCENARIO with a volatile trend and shocks, 1,000 members: the settlement moves with the
#: systemic cost index, which the control variates use.
VOLATILE = (
    SMALL_SCENARIO.replace("members: 300", "members: 1000")
    .replace("sd: 0.03", "sd: 0.06\n  shock_probability: 0.2\n  shock_size: -0.1")
    .replace("performance_years: 2", "performance_years: 1")
)


def _scenario(trials: int, text: str = VOLATILE):
    return parse_scenario(text.replace("trials: 64", f"trials: {trials}"), "v.yaml")


# --- the rule's text and fields ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "se", "relative"),
    [
        ("25000", 25000.0, None),
        ("$25,000", 25000.0, None),
        ("0.1%", None, 0.001),
        ("2 %", None, 0.02),
    ],
)
def test_precision_parses_usd_and_percent(text, se, relative):
    rule = Precision.parse(text)
    assert rule.se == se
    assert rule.relative == pytest.approx(relative) if relative else rule.relative is None


@pytest.mark.parametrize("text", ["", "abc", "-5", "0", "1%%", "5 EUR"])
def test_precision_refuses_what_is_not_a_target(text):
    with pytest.raises(ValueError, match="precision"):
        Precision.parse(text)


def test_precision_refuses_bad_fields():
    with pytest.raises(ValueError, match=r"se \(USD\) or relative"):
        Precision()
    with pytest.raises(ValueError, match="min_trials"):
        Precision(se=1.0, min_trials=10, max_trials=5)
    with pytest.raises(ValueError, match="statistic"):
        Precision(se=1.0, statistics=("std",))
    with pytest.raises(ValueError, match="positive"):
        Precision(se=1.0, probability_se=0.0)


def test_next_trials_scales_by_the_square_of_the_worst_ratio():
    # ratio 2 -> 4x the trials (+10%), capped at 4x; in whole chunks; never past the limit.
    assert next_trials(1000, 2.0, 1000, 10**6) == 4000
    assert next_trials(4000, 1.2, 1000, 10**6) == 7000  # 4000 x 1.44 x 1.1 = 6336 -> 7000
    assert next_trials(4000, 1.01, 1000, 10**6) == 5000  # at least one chunk more
    assert next_trials(4000, math.inf, 1000, 10**6) == 16000
    assert next_trials(4000, 3.0, 1000, 9000) == 9000


# --- the stopping rule in the runner -------------------------------------------------------


def test_run_to_precision_equals_the_fixed_run_of_its_trials():
    rule = Precision(se=60_000.0, probability_se=0.02, min_trials=200, max_trials=20_000)
    ds = simsettle.simulate(_scenario(64), precision=rule, chunk_trials=100, progress=False)
    n = ds.sizes["trial"]
    checks = json.loads(ds.attrs["precision_checks"])
    assert ds.attrs["precision_met"] == 1
    assert [c["trials"] for c in checks][-1] == n
    assert all(a["trials"] < b["trials"] for a, b in itertools.pairwise(checks))
    assert checks[-1]["worst_ratio"] <= 1.0 < checks[0]["worst_ratio"]
    assert n % 100 == 0
    assert 200 < n < 20_000
    # The same trials in other chunks, in one fixed run: the same numbers to the bit.
    fixed = simsettle.simulate(_scenario(n), chunk_trials=333, progress=False)
    for name in fixed.data_vars:
        np.testing.assert_array_equal(ds[name].values, fixed[name].values, err_msg=name)
    assert set(ds.attrs) - set(fixed.attrs) == {
        "precision_stopped",
        "precision_rule",
        "precision_settings",
        "precision_checks",
        "precision_met",
    }
    # Every standard error the rule reads is within its target at the end.
    table = precision_table(ds, rule)
    assert float(table["ratio"].max()) <= 1.0


def test_run_to_precision_stops_at_its_limit_and_says_so():
    rule = Precision(se=1.0, min_trials=100, max_trials=300)
    ds = simsettle.simulate(_scenario(64), precision=rule, chunk_trials=100, progress=False)
    assert ds.sizes["trial"] == 300
    assert ds.attrs["precision_met"] == 0
    assert ds.attrs["precision_stopped"] == "limit"
    assert json.loads(ds.attrs["precision_checks"])[-1]["worst_ratio"] > 1.0
    # The report's facts say so too.
    from simsettle.report import build_report

    facts = dict(build_report(ds, charts=False).facts)
    assert facts["Stopping rule"].endswith(
        "with the worst standard error "
        f"{json.loads(ds.attrs['precision_checks'])[-1]['worst_ratio']:.2f} times its target."
    )
    # trials= is the limit of a run to a precision
    ds = simsettle.simulate(_scenario(64), precision=rule, trials=200, progress=False)
    assert ds.sizes["trial"] == 200


def test_run_to_precision_through_the_checkpointed_writer(tmp_path):
    from simsettle.runner import run_to_file

    out = tmp_path / "r.nc"
    rule = Precision(se=80_000.0, probability_se=0.03, min_trials=100, max_trials=5_000)
    ds = run_to_file(_scenario(64), out, precision=rule, chunk_trials=100, progress=False)
    back = simsettle.open_results(out)
    assert back.attrs["precision_met"] == 1
    np.testing.assert_array_equal(back.settlement.values, ds.settlement.values)
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # checkpoint removed


@pytest.mark.slow
def test_control_variates_reach_the_target_on_fewer_trials():
    plain = Precision(se=6_000.0, statistics=("mean",), paired=False, min_trials=200)
    with_cv = Precision(
        se=6_000.0, statistics=("mean",), paired=False, min_trials=200, control_variates=True
    )
    a = simsettle.simulate(_scenario(64), precision=plain, chunk_trials=100, progress=False)
    b = simsettle.simulate(_scenario(64), precision=with_cv, chunk_trials=100, progress=False)
    assert a.attrs["precision_met"] == b.attrs["precision_met"] == 1
    assert b.sizes["trial"] < a.sizes["trial"]


def test_precision_table_rows_and_targets():
    ds = simsettle.simulate(_scenario(400), progress=False)
    rule = Precision(relative=0.01, probability_se=0.01)
    table = precision_table(ds, rule)
    k = ds.sizes["design"]
    assert table.sizes["check"] == 5 * k + 5 * k * (k - 1) // 2
    money = 0.01 * float(ds.benchmark.mean())
    probs = np.array([str(s).startswith("prob_") for s in table.statistic.values])
    np.testing.assert_allclose(table.target.values[probs], 0.01)
    np.testing.assert_allclose(table.target.values[~probs], money)
    np.testing.assert_allclose(table.ratio.values, table.se.values / table.target.values)
    # A design's own mean and its standard error are statistic()'s.
    row = (table.statistic == "mean") & (table.design == "two_sided") & (table.baseline == "")
    want = ds.settle.statistic("mean").sel(design="two_sided")
    assert table.se.where(row, drop=True).item() == pytest.approx(float(want["se"]))
    # A paired difference's, paired()'s.
    row = (
        (table.statistic == "q95") & (table.design == "two_sided") & (table.baseline == "one_sided")
    )
    want = ds.settle.paired("one_sided", by=["q95"]).sel(design="two_sided")
    assert table.se.where(row, drop=True).item() == pytest.approx(float(want["q95_diff_se"]))


def test_cli_run_to_precision(tmp_path):
    src = tmp_path / "v.yaml"
    src.write_text(VOLATILE)
    out = tmp_path / "r.nc"
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "run",
            str(src),
            "-o",
            str(out),
            "--precision",
            "100000",
            "--trials",
            "1000",
            "--control-variates",
            "--chunk-trials",
            "500",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Stopping rule:" in res.stdout
    assert "NOT met: stopped at 1,000 trials (the limit of 1,000 trials)" in res.stdout
    assert "the means with control variates: one_sided $" in res.stdout
    ds = simsettle.open_results(out)
    assert json.loads(ds.attrs["precision_settings"])["control_variates"] is True
    assert "--precision 100000" in ds.attrs["history"]
    bad = runner.invoke(app, ["run", str(src), "-o", str(out), "--precision", "fast"])
    assert bad.exit_code == 2
    assert "--precision" in bad.output
    alone = runner.invoke(app, ["run", str(src), "-o", str(out), "--control-variates"])
    assert alone.exit_code == 2
    assert "goes with --precision" in alone.output


# --- the known means ---------------------------------------------------------------------


def test_expected_indices_by_hand():
    text = VOLATILE.replace("sd: 0.06", "sd: 0.0").replace("mean: 0.05", "mean: 0.04")
    inputs = compile_model(_scenario(64, text).scenario)
    trend, ref = expected_indices(inputs)
    years = np.arange(inputs.n_years)
    shock = np.where(years > 0, 1.0 + 0.2 * -0.1, 1.0)
    np.testing.assert_allclose(trend, 1.04**years * shock, rtol=1e-14)
    np.testing.assert_allclose(ref, trend, rtol=1e-14)


def test_expected_indices_are_the_simulated_means():
    ds = simsettle.simulate(_scenario(20_000, VOLATILE.replace("members: 1000", "members: 10")))
    for name in ("trend_index", "reference_index", "base_trend_index", "base_reference_index"):
        year = ds[name].dims[1]
        for i in range(ds.sizes[year]):
            x = ds[name].isel({year: i})
            se = float(x.std()) / math.sqrt(x.size)
            want = float(ds[f"expected_{name}"].isel({year: i}))
            if se == 0.0:  # the first base year: 1 exactly
                assert want == 1.0
                np.testing.assert_array_equal(x, 1.0)
            else:
                assert abs(float(x.mean()) - want) < 4 * se, (name, i)


# --- the control-variate estimator ---------------------------------------------------------


def test_controlled_series_by_hand():
    rng = np.random.default_rng(0)
    c = rng.standard_normal((50, 2))
    y = 3.0 + c @ np.array([2.0, -1.0])  # explained exactly: the controlled mean is 3
    value, se, plain, plain_se = controlled_series(y, c)
    assert value == pytest.approx(3.0, abs=1e-12)
    assert se == pytest.approx(0.0, abs=1e-12)
    assert plain == pytest.approx(y.mean())
    assert plain_se == pytest.approx(y.std(ddof=1) / 50**0.5)
    # Controls that do not vary are dropped: the plain mean.
    assert controlled_series(y, np.zeros((50, 1))) == pytest.approx((plain, plain_se) * 2)
    # Missing observations are dropped.
    y2 = y.copy()
    y2[0] = np.nan
    assert controlled_series(y2, c)[2] == pytest.approx(np.nanmean(y2))


def test_controlled_refuses_what_it_cannot_estimate():
    ds = simsettle.simulate(_scenario(50), progress=False)
    with pytest.raises(ValueError, match="quantile"):
        controlled(ds, "quantile")
    with pytest.raises(KeyError, match="expected_trend_index"):
        controlled(ds.drop_vars("expected_trend_index"))


@pytest.fixture(scope="module")
def replications() -> xr.Dataset:
    """Per block of 200 trials of one 30,000-trial run: the controlled and the plain mean of
    the settlement and of the probability of losses, with standard errors."""
    ds = simsettle.simulate(_scenario(30_000), progress=False)
    blocks = []
    for b in range(150):
        part = ds.isel(trial=slice(200 * b, 200 * (b + 1)))
        rows = [controlled(part, name) for name in ("mean", "prob_loss")]
        blocks.append(xr.concat(rows, dim="statistic").assign_coords(statistic=["mean", "prob"]))
    return xr.concat(blocks, dim="block")


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["mean", "prob"])
def test_control_variate_estimator_is_unbiased(replications, statistic):
    r = replications.sel(statistic=statistic, design="two_sided")
    d = (r["value"] - r["plain_value"]).values  # E[plain] is the truth: E[d] is the bias
    assert abs(d.mean()) < 4 * d.std(ddof=1) / math.sqrt(d.size)


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["mean", "prob"])
def test_control_variate_standard_error_matches_the_replications(replications, statistic):
    r = replications.sel(statistic=statistic, design="two_sided")
    spread = float(r["value"].std(ddof=1))
    reported = float(np.sqrt((r["se"] ** 2).mean()))
    # The spread of 150 replications is known to about 6%: 0.78 to 1.28 is 4 of its sigmas.
    assert 0.78 < reported / spread < 1.28
    # ... and it is smaller than the plain mean's, as the plain replications say too.
    assert float(r["plain_value"].std(ddof=1)) > 1.05 * spread


def test_run_to_precision_of_a_design_sweep():
    # Each design x sweep cell is checked (the worst cell makes the row); paired differences
    # of a design sweep, whose design coordinates vary along the swept axes, work too.
    from tests.conftest import ROOT

    path = ROOT / "scenarios" / "examples" / "sweep_corridor_sharing_stop_loss.yaml"
    rule = Precision(se=200_000.0, probability_se=0.03, min_trials=100, max_trials=1000)
    changes = ["population.members=300"]
    ds = simsettle.simulate(path, precision=rule, chunk_trials=100, overrides=changes)
    n = ds.sizes["trial"]
    fixed = simsettle.simulate(path, trials=n, overrides=changes)
    np.testing.assert_array_equal(ds.settlement.values, fixed.settlement.values)
    checks = json.loads(ds.attrs["precision_checks"])
    assert [c["trials"] for c in checks] == [100, 400]  # 1.66 x 100 -> 400 (at most 4x)
    paired = ds.settle.paired(str(ds.design.values[0]))
    assert "min_savings_rate" in paired.dims


def test_controlled_standard_error_in_small_samples():
    # n = 40 trials and q = 12 controls: the intercept's leverage term matters (without it the
    # standard error is 0.83 times the spread); with it, it matches 4,000 replications.
    rng = np.random.default_rng(7)
    values, ses = [], []
    for _ in range(4000):
        c = rng.standard_normal((40, 12))
        y = 1.0 + c @ np.full(12, 0.3) + rng.standard_normal(40)
        value, se, _, _ = controlled_series(y, c)
        values.append(value)
        ses.append(se)
    ratio = math.sqrt(np.mean(np.square(ses))) / np.std(values, ddof=1)
    assert 0.95 < ratio < 1.05  # the spread of 4,000 is known to about 1.1%
    assert abs(np.mean(values) - 1.0) < 4 * np.std(values) / math.sqrt(4000)


def test_controlled_on_lazy_results():
    ds = simsettle.simulate(_scenario(300), progress=False)
    eager = controlled(ds, "prob_loss", baseline="one_sided")
    lazy = controlled(ds.chunk({"trial": 100}), "prob_loss", baseline="one_sided")
    assert lazy["value"].chunks is not None
    xr.testing.assert_allclose(lazy.compute(), eager, rtol=1e-12)


def test_progress_of_a_run_to_precision_never_goes_back():
    seen = []
    rule = Precision(se=1.0, min_trials=100, max_trials=700)
    simsettle.simulate(
        _scenario(64, PORTFOLIO),
        precision=rule,
        chunk_trials=100,
        progress=lambda d, t: seen.append((d, t)),
    )
    done = [d for d, _ in seen]
    totals = [t for _, t in seen]
    assert done == sorted(done)
    assert totals == sorted(totals)
    assert all(d <= t for d, t in seen)
    assert seen[-1][0] == seen[-1][1]


#: VOLATILE at 200 members, with a second line of business of 100 members.
PORTFOLIO = (
    VOLATILE.replace("members: 1000", "members: 200")
    + """portfolio:
  lines:
    - name: medicaid
      population: {members: 100}
      cost: {pmpm: 400.0}
      designs:
        - {name: medicaid_upside, kind: upside_only, shared_savings_rate: 0.5}
"""
)


def test_run_to_precision_of_a_portfolio_pairs_designs_within_a_line():
    rule = Precision(relative=0.01, probability_se=0.03, min_trials=100, max_trials=400)
    ds = simsettle.simulate(_scenario(64, PORTFOLIO), precision=rule, chunk_trials=100)
    fixed = simsettle.simulate(_scenario(ds.sizes["trial"], PORTFOLIO), chunk_trials=300)
    for name in fixed.data_vars:
        np.testing.assert_array_equal(ds[name].values, fixed[name].values, err_msg=name)
    table = precision_table(ds, rule)
    line = dict(zip(ds.design.values, ds.line.values, strict=True))
    pairs = table.where(table.baseline != "", drop=True)
    assert pairs.sizes["check"] > 0
    assert all(
        line[d] == line[b] for d, b in zip(pairs.design.values, pairs.baseline.values, strict=True)
    )
    # A relative target is a share of the design's own line's benchmark.
    own = (table.statistic == "mean") & (table.design == "medicaid_upside") & (table.baseline == "")
    bench = float(ds.settlement_benchmark.sel(design="medicaid_upside").mean())
    assert table.target.where(own, drop=True).item() == pytest.approx(0.01 * bench)


def test_a_checkpointed_run_to_precision_resumes_under_another_rule(tmp_path):
    loose = Precision(se=80_000.0, probability_se=0.05, min_trials=100, max_trials=3000)
    tight = Precision(se=40_000.0, probability_se=0.05, min_trials=100, max_trials=3000)
    sc = _scenario(64)
    first = simsettle.simulate(sc, precision=loose, chunk_trials=100, checkpoint=tmp_path / "c")
    again = simsettle.simulate(
        sc, precision=tight, chunk_trials=100, checkpoint=tmp_path / "c", resume=True
    )
    fresh = simsettle.simulate(sc, precision=tight, chunk_trials=100)
    assert again.sizes["trial"] > first.sizes["trial"]
    np.testing.assert_array_equal(again.settlement.values, fresh.settlement.values)
    assert again.attrs["precision_checks"] == fresh.attrs["precision_checks"]


def test_a_run_to_precision_that_outgrows_memory_keeps_its_last_check(monkeypatch):
    import simsettle.runner as runner
    from simsettle.errors import MemoryLimitError

    real = runner._check_memory

    def check(sc, *args, **kwargs):
        if sc.trials > 300:
            raise MemoryLimitError("too big", needed=2, available=1)
        return real(sc, *args, **kwargs)

    monkeypatch.setattr(runner, "_check_memory", check)
    rule = Precision(se=1.0, min_trials=100, max_trials=5000)
    ds = simsettle.simulate(_scenario(64), precision=rule, chunk_trials=100)
    assert ds.sizes["trial"] == 100  # 100 -> 400 refused: the 100-trial results stand
    assert ds.attrs["precision_stopped"] == "memory"
    assert ds.attrs["precision_met"] == 0
    fixed = simsettle.simulate(_scenario(100), chunk_trials=100)
    np.testing.assert_array_equal(ds.settlement.values, fixed.settlement.values)
    with pytest.raises(MemoryLimitError):  # a first check that does not fit is an error
        simsettle.simulate(_scenario(64), precision=Precision(se=1.0, min_trials=400))
