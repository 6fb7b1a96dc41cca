"""Calibration from member-level data (simsettle.calibrate): readers, distribution, fit, CLI.

The long round trips (several parameter sets, large samples) are in test_calibrate_roundtrip.py
and marked slow; here one moderate round trip, the file errors, the scenario text, the report,
the command line and the real data (the CMS DE-SynPUF sample, skipped when ../shared/data is
absent).
"""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import simsettle
from simsettle.calibrate import (
    CalibrationDataError,
    CostModel,
    calibrate,
    concentration,
    fit_shares,
    member_years,
    read_claims,
    synthetic_claims,
)
from simsettle.cli import app
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import CostShape, cost_moments

ROOT = Path(__file__).resolve().parents[1]
DESYNPUF = ROOT.parent / "shared" / "data" / "desynpuf_beneficiary_sample_2008_2009.csv"
DESYNPUF_COLUMNS = {
    "member_id": "DESYNPUF_ID",
    "year": "BENE_YEAR",
    "allowed": "MEDREIMB_IP+MEDREIMB_OP+MEDREIMB_CAR",
    "member_months": "BENE_HI_CVRAGE_TOT_MONS",
}
# Medicare FFS spend concentration, cms_methodology.md section 4.3.
MEDICARE = {0.01: 0.149, 0.05: 0.415, 0.10: 0.600}

SCENARIO = """\
schema_version: 1
seed: 1
trials: 10
population:
  members: {members}
  turnover: 0.16
  mortality: 0.0  # no deaths: calibration cannot tell them apart
  replacement: 0.9
  risk_sigma: 0.5
  risk_persistence: 0.75
  entrant_risk_ratio: 0.9
cost:
  pmpm: 1000.0
  zero_cost_share: 0.15
  body_sigma: 1.2
  tail_probability: 0.04
  tail_threshold: 60000.0
  tail_shape: 4.0
  persistence: 0.0  # without risk scores the fit cannot tell it from the risk score's
trend:
  mean: 0.04
  sd: 0.02
designs:
  - name: d
    kind: upside_only
    shared_savings_rate: 0.5
"""
TRUTH = {
    "cost.pmpm": 1000.0,
    "cost.zero_cost_share": 0.15,
    "cost.body_sigma": 1.2,
    "cost.tail_probability": 0.04,
    "cost.tail_threshold": 60000.0,
    "cost.tail_shape": 4.0,
    "population.risk_sigma": 0.5,
    "population.risk_persistence": 0.75,
    "population.turnover": 0.16,
    "population.replacement": 0.9,
    "population.entrant_risk_ratio": 0.9,
    "trend.mean": 0.04,
    "trend.sd": 0.02,
}


def _scenario(members: int = 5000):
    return parse_scenario(SCENARIO.format(members=members)).scenario


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_claims(_scenario(), years=4, seed=5)


@pytest.fixture(scope="module")
def calibration(synthetic):
    # 99% intervals: with 13 parameters, all 13 inside their 95% intervals would happen in only
    # about half the samples; the slow suite measures the 95% intervals' coverage.
    return calibrate(synthetic.member_years(), bootstrap=200, confidence=0.99)


# --------------------------------------------------------------------------------------------
# The distribution


SHAPES = [
    CostShape(0.15, 1.2, 0.04, 60_000.0, 4.0, 0.5, 1000.0),
    CostShape(0.05, 0.9, 0.08, 36_000.0, 8.0, 0.0, 1000.0),
    CostShape(0.4, 0.7, 0.1, 15_000.0, 6.0, 1.0, 500.0),
    CostShape(0.2, 1.5, 0.01, 120_000.0, 2.5, 0.6, 800.0),
]


@pytest.mark.parametrize("shape", SHAPES, ids=range(len(SHAPES)))
def test_cost_model_agrees_with_cost_moments(shape):
    m = CostModel.from_shape(shape)
    exact = cost_moments(shape)
    got = m.top_share([0.01, 0.05, 0.10])
    want = [exact.top1_share, exact.top5_share, exact.top10_share]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert m.mean == pytest.approx(exact.mean_annual, rel=1e-12)
    assert m.cv == pytest.approx(exact.cv, rel=1e-12)
    assert m.shape() == shape


@pytest.mark.parametrize("shape", SHAPES, ids=range(len(SHAPES)))
def test_cost_model_density_quantiles_and_draws(shape):
    m = CostModel.from_shape(shape)
    # The density integrates to 1 - z (trapezoid on a fine log grid).
    lc = np.linspace(math.log(m.mean) - 25, math.log(m.mean) + 25, 400_001)
    c = np.exp(lc)
    mass = np.trapezoid(np.exp(m.logpdf(c)) * c, lc)
    assert mass == pytest.approx(1.0 - shape.zero_cost_share, abs=2e-4)
    p = np.array([0.01, shape.zero_cost_share + 0.01, 0.5, 0.9, 0.999])
    q = m.ppf(p)
    np.testing.assert_allclose(
        m.cdf(q[p > shape.zero_cost_share]), p[p > shape.zero_cost_share], rtol=1e-9
    )
    assert q[0] == 0.0
    x = m.sample(400_000, np.random.default_rng(1))
    assert np.mean(x == 0) == pytest.approx(shape.zero_cost_share, abs=3e-3)
    assert np.median(x[x > 0]) == pytest.approx(
        float(m.ppf(shape.zero_cost_share + 0.5 * (1 - shape.zero_cost_share))), rel=0.02
    )


def test_concentration_of_a_sample():
    assert concentration(np.arange(1.0, 101.0), (0.01, 0.10)) == pytest.approx(
        {0.01: 100 / 5050, 0.10: sum(range(91, 101)) / 5050}
    )


# --------------------------------------------------------------------------------------------
# The member-level simulator


def test_synthetic_claims_follow_the_scenario(synthetic):
    sc = _scenario()
    d = synthetic
    years = sorted(set(d.year.tolist()))
    assert years == [2023, 2024, 2025, 2026]
    # Every year has `members` places at the start: occupants are the member-years that began
    # at month 0.
    starts = [(d.entry[d.year == y] == 0).sum() for y in years]
    assert starts == [sc.population.members] * 4
    leavers = (d.entry == 0) & (d.exit < 12)
    assert leavers.sum() / sum(starts) == pytest.approx(0.16, abs=0.01)
    # Leaving time uniform, months = 12 U.
    assert np.mean(d.member_months[leavers]) == pytest.approx(6.0, abs=0.15)
    joiners = d.entry > 0
    assert joiners.sum() / leavers.sum() == pytest.approx(0.9, abs=0.03)
    # First-year risk scores: lognormal with mean 1 and log-sd 0.5.
    r0 = d.risk_score[(d.year == 2023) & (d.entry == 0)]
    assert np.std(np.log(r0)) == pytest.approx(0.5, abs=0.015)
    assert np.mean(r0) == pytest.approx(1.0, abs=0.02)
    # Cost per member month per unit of risk: pmpm x the year's index, within four standard
    # errors of the ratio estimate (its linearised SE from the sample, about 3.5% here: a 15%
    # error in the cost level would fail).
    for y in years:
        sel = d.year == y
        cost, weight = d.allowed[sel], d.member_months[sel] * d.risk_score[sel]
        pmpm = cost.sum() / weight.sum()
        se = math.sqrt(np.sum((cost - pmpm * weight) ** 2)) / weight.sum()
        assert se < 0.05 * pmpm
        assert abs(pmpm - 1000.0 * d.index[y]) < 4.0 * se, (y, pmpm, se)


def test_synthetic_claims_write_csv(tmp_path, synthetic):
    claims = tmp_path / "claims.csv"
    enrollment = tmp_path / "enrollment.csv"
    synthetic.write_claims(claims)
    synthetic.write_enrollment(enrollment)
    with claims.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == synthetic.n
    assert set(rows[0]) == {"member_id", "year", "allowed", "member_months", "risk_score"}
    data = read_claims(claims, enrollment=enrollment)
    assert data.n == synthetic.n
    # The enrolment file's fractional months give back the exact joining and leaving times.
    exact = synthetic.member_years()
    np.testing.assert_allclose(data.months, exact.months, rtol=1e-6)
    np.testing.assert_allclose(data.entry, exact.entry, atol=1e-6)


def test_synthetic_claims_refuses_care_management():
    text = (
        SCENARIO.format(members=100) + "care_management:\n  high_risk_share: 0.05\n  effect: 0.1\n"
    )
    with pytest.raises(ValueError, match="care management"):
        synthetic_claims(parse_scenario(text).scenario)


# --------------------------------------------------------------------------------------------
# Round trip


def test_round_trip_within_confidence_intervals(calibration):
    """Data simulated from known parameters calibrate back to them.

    One parameter set here, 5,000 places x 4 years (about 23,000 member-years) with risk
    scores and enrolment, seed fixed, 99% intervals. The slow suite runs three sets, with and
    without scores, and measures the 95% intervals' coverage.

    As in the slow round trips, at most one of the 13 fields may miss its 99% interval (one or
    more miss with probability about 0.12, two or more with about 0.007). Since the claims are
    drawn by the engine's own member-year rule and random numbers, seed 5 (kept, not chosen)
    misses one: trend.sd, 0.129 [0.040, 1.91] against 0.02, its four years' cost levels being
    2.3 standard errors apart by chance; seeds 0 to 4, 6 and 7 miss none.
    """
    missed = []
    for field, true in TRUTH.items():
        est = calibration.estimates[field]
        if est.assumed:
            continue
        if not est.contains(true):
            missed.append(f"{field}: {est.value:.4g} [{est.lower:.4g}, {est.upper:.4g}] vs {true}")
    assert len(missed) <= 1, missed
    # The scenario is complete and valid, and runs.
    assert calibration.scenario.population.members == 5000
    assert calibration.gof.max_concentration_gap() < 0.02
    # With scores the spread is the scores': nothing is capped.
    assert not calibration.risk.capped
    assert not [n for n in calibration.notes if "capped" in n]


@pytest.mark.slow  # about 30 s of fitting
def test_auto_method_and_the_cap_on_the_engines_own_model(synthetic):
    """Without scores the spread comes from the covariances of members' log costs; data drawn
    from the engine's model can carry it, so the cap of ``largest_risk_sigma`` must not bite.
    ``auto`` keeps the likelihood fit where it misses no spend share by more than the
    tolerance, and re-solves the shape (saying why) where it does."""
    data = synthetic.member_years(risk_scores=False, enrollment=False)
    loose = calibrate(data, bootstrap=50, share_tolerance=0.05)
    assert not loose.risk.capped
    assert loose.estimates["population.risk_sigma"].contains(TRUTH["population.risk_sigma"])
    assert loose.cost.shape_method == "maximum likelihood"
    assert not [n for n in loose.notes if "re-solved" in n or "capped" in n]
    assert loose.gof.max_concentration_gap() < 0.05
    tight = calibrate(data, bootstrap=50, share_tolerance=1e-4)
    assert tight.cost.shape_method.startswith("matched to the data's spend shares")
    (note,) = [n for n in tight.notes if "re-solved" in n]
    assert "by more than 0.01 percentage points" in note
    assert tight.gof.max_concentration_gap() < 0.01
    # Only the shape is re-solved: the zero share, the mean and the threshold are kept.
    for field in ("cost.pmpm", "cost.zero_cost_share", "cost.tail_threshold"):
        assert tight.estimates[field].value == loose.estimates[field].value
    with pytest.raises(ValueError, match="share_tolerance must be in"):
        calibrate(data, share_tolerance=0.0)
    with pytest.raises(ValueError, match="method must be 'auto', 'likelihood' or"):
        calibrate(data, method="moments")  # type: ignore[arg-type]


def test_calibrated_scenario_text(calibration):
    text = calibration.scenario_yaml
    loaded = parse_scenario(text)
    sc = loaded.scenario
    assert sc.first_performance_year == 2027
    # Money amounts are moved from the first data year to the first base year with the trend.
    factor = calibration.level_factor
    assert factor == pytest.approx((1 + calibration.estimates["trend.mean"].value) ** 1)
    assert sc.cost.pmpm == pytest.approx(
        calibration.estimates["cost.pmpm"].value * factor, rel=1e-5
    )
    assert sc.cost.tail_threshold == pytest.approx(
        calibration.estimates["cost.tail_threshold"].value * factor, rel=1e-5
    )
    # Every fitted field has a comment line above it saying where it came from.
    lines = text.splitlines()
    for field in ("turnover", "risk_sigma", "pmpm", "body_sigma", "tail_shape", "mean"):
        i = next(k for k, line in enumerate(lines) if re.match(rf"\s+{field}: ", line))
        assert lines[i - 1].lstrip().startswith("#"), field
    assert "99% CI" in text


def test_report_html(tmp_path, calibration):
    from simsettle.calibrate.report import figures

    names = set(figures(calibration))
    assert names == {"qq", "tail", "density", "concentration", "trend", "leaving", "threshold"}
    out = calibration.write_report(tmp_path / "r.html")
    html = out.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == len(names)
    for needle in (
        "Concentration of spend",
        "Test of the fitted tail",
        "CV of annualised cost",
        "Fitted parameters",
        "schema_version: 1",
    ):
        assert needle in html


def test_public_api_is_callable_and_light():
    assert callable(simsettle.calibrate)
    assert simsettle.calibrate.synthetic_claims is synthetic_claims
    code = (
        "import sys, simsettle\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'xarray', 'matplotlib', 'dask', 'scipy')]\n"
        "assert heavy == [], heavy\n"
        "simsettle.calibrate\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('numba', 'xarray', 'matplotlib')]\n"
        "assert heavy == [], heavy\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------------------------
# Bad files


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _issues(path: Path, **kw) -> list[str]:
    with pytest.raises(CalibrationDataError) as info:
        read_claims(path, **kw)
    return [str(i) for i in info.value.issues]


def test_missing_column_is_named(tmp_path):
    f = _write(tmp_path / "c.csv", "member_id,year,cost\nA,2023,10\n")
    (issue,) = _issues(f)
    assert issue.startswith(f"{f}:1: column 'member_months': missing")
    assert "member_id, year, cost" in issue
    f = _write(tmp_path / "d.csv", "id,year,months\nA,2023,12\n")
    (issue,) = _issues(f)
    assert "column 'allowed': missing" in issue


def test_bad_cells_are_named_by_row_and_column(tmp_path):
    f = _write(
        tmp_path / "c.csv",
        "member_id,year,allowed,member_months\n"
        "A,2023,100,12\n"
        "B,2023,12O,12\n"  # a letter O
        "C,2023,50,-3\n"
        "D,2023,10,14\n"
        "E,20x3,10,12\n"
        "F,2023,-5,12\n",
    )
    issues = _issues(f)
    assert issues == [
        f"{f}:3: column 'allowed': not a number: '12O'",
        f"{f}:4: column 'member_months': negative member months (-3); it must be between 0 and 12",
        f"{f}:5: column 'member_months': member months must be between 0 and 12; got 14",
        f"{f}:6: column 'year': not a year: '20x3'",
        f"{f}:7: column 'allowed': negative allowed cost (-5); it must be at least 0",
    ]


def test_inconsistent_rows_of_a_member_year(tmp_path):
    f = _write(
        tmp_path / "c.csv",
        "member_id,year,allowed,member_months\nA,2023,100,12\nA,2023,50,6\n",
    )
    (issue,) = _issues(f)
    assert issue == (
        f"{f}:3: column 'member_months': member A year 2023 has 6 here but 12 at row 2"
    )


def test_claim_lines_are_added_and_columns_mapped(tmp_path):
    f = _write(
        tmp_path / "c.csv",
        "ID,CY,IP,OP,MM\nA,2023,100,5,12\nA,2023,50,0,12\nB,2023,0,0,6\nC,2023,1,1,0\n",
    )
    d = read_claims(
        f,
        columns={"member_id": "ID", "year": "CY", "allowed": "IP+OP", "member_months": "MM"},
    )
    assert d.ids == ("A", "B")
    np.testing.assert_allclose(d.cost, [155.0, 0.0])
    np.testing.assert_allclose(d.months, [12.0, 6.0])
    assert d.notes == ("1 member-years with 0 member months were left out (their cost: 2 USD)",)
    with pytest.raises(CalibrationDataError, match="no column 'XX'"):
        read_claims(f, columns={"member_id": "ID", "allowed": "IP+XX", "member_months": "MM"})


def test_monthly_claims(tmp_path):
    rows = ["member_id,month,allowed"]
    for m in range(1, 13):
        rows.append(f"A,2023-{m:02d},10")
    for m in range(4, 8):  # B joined in April and left after July
        rows.append(f"B,2023-{m:02d},{m}")
    d = read_claims(_write(tmp_path / "m.csv", "\n".join(rows) + "\n"))
    assert d.ids == ("A", "B")
    np.testing.assert_allclose(d.months, [12.0, 4.0])
    np.testing.assert_allclose(d.cost, [120.0, 22.0])
    np.testing.assert_allclose(d.entry, [0.0, 3.0])
    np.testing.assert_allclose(d.exit, [12.0, 7.0])


def test_enrollment_adds_members_without_claims(tmp_path):
    claims = _write(tmp_path / "c.csv", "member_id,year,allowed\nA,2023,100\nZ,2023,5\n")
    enr = _write(
        tmp_path / "e.csv",
        "member_id,start_date,end_date\nA,2023-01-01,2023-12-31\nB,2023-03-01,2023-06-30\n",
    )
    d = read_claims(claims, enrollment=enr)
    assert d.ids == ("A", "B")
    np.testing.assert_allclose(d.cost, [100.0, 0.0])
    np.testing.assert_allclose(d.months, [12.0, 4.0])
    np.testing.assert_allclose(d.entry, [0.0, 2.0])
    assert any("claims but no enrolment" in n for n in d.notes)


def test_bad_enrollment(tmp_path):
    claims = _write(tmp_path / "c.csv", "member_id,year,allowed\nA,2023,100\n")
    enr = _write(
        tmp_path / "e.csv",
        "member_id,year,start_month,end_month\nA,2023,5,3\nA,2023,1,x\n",
    )
    with pytest.raises(CalibrationDataError) as info:
        read_claims(claims, enrollment=enr)
    assert [str(i) for i in info.value.issues] == [
        f"{enr}:3: column 'end_month': not a number: 'x'",
    ]
    enr = _write(tmp_path / "e.csv", "member_id,year,start_month,end_month\nA,2023,5,3\n")
    with pytest.raises(CalibrationDataError) as info:
        read_claims(claims, enrollment=enr)
    assert [str(i) for i in info.value.issues] == [
        f"{enr}:2: column 'end_month': end month 3 is before start month 5",
    ]


def test_parquet_needs_pyarrow(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    f = tmp_path / "claims.parquet"
    f.write_bytes(b"PAR1")
    (issue,) = _issues(f)
    assert "simsettle[parquet]" in issue


def _csv_to_parquet(src: Path, dst: Path) -> Path:
    """The CSV ``src`` as a typed Parquet file (pyarrow infers int, float, string and date)."""
    from pyarrow import csv as pa_csv
    from pyarrow import parquet as pq

    pq.write_table(pa_csv.read_csv(src), dst)
    return dst


def test_parquet_claims_and_enrollment_read_as_csv(tmp_path, synthetic):
    """A Parquet file (typed columns: ints, floats, strings and dates) reads to the same
    member-years as the CSV it was made from; a bad cell is named by its row (the record's
    number, from 1) and column."""
    pytest.importorskip("pyarrow", reason="the [parquet] extra (pyarrow) is not installed")
    claims, enrol = tmp_path / "claims.csv", tmp_path / "enrol.csv"
    synthetic.write_claims(claims)
    synthetic.write_enrollment(enrol)
    want = read_claims(claims, enrollment=enrol)
    got = read_claims(
        _csv_to_parquet(claims, tmp_path / "claims.parquet"),
        enrollment=_csv_to_parquet(enrol, tmp_path / "enrol.parquet"),
    )
    for name in ("member", "year", "cost", "months", "risk", "entry", "exit"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert got.ids == want.ids
    # Dates as Parquet dates.
    dates = _write(
        tmp_path / "dates.csv",
        "member_id,start_date,end_date\nA,2023-01-01,2023-12-31\nB,2023-04-01,2023-12-31\n",
    )
    lines = _write(tmp_path / "lines.csv", "member_id,year,allowed\nA,2023,100\nB,2023,50\n")
    got = read_claims(
        _csv_to_parquet(lines, tmp_path / "lines.parquet"),
        enrollment=_csv_to_parquet(dates, tmp_path / "dates.parquet"),
    )
    want = read_claims(lines, enrollment=dates)
    np.testing.assert_array_equal(got.months, want.months)
    np.testing.assert_array_equal(got.months, [12.0, 9.0])
    # A text cell in a numeric column, and a missing column.
    bad = _write(
        tmp_path / "bad.csv", "member_id,year,allowed,member_months\nA,2023,10,12\nB,2023,x,12\n"
    )
    bad_pq = _csv_to_parquet(bad, tmp_path / "bad.parquet")
    (issue,) = _issues(bad_pq)
    assert issue == f"{bad_pq}:2: column 'allowed': not a number: 'x'"
    short = _csv_to_parquet(
        _write(tmp_path / "short.csv", "member_id,year,allowed\nA,2023,10\n"),
        tmp_path / "short.parquet",
    )
    (issue,) = _issues(short)
    assert "column 'member_months': missing" in issue
    # Not a Parquet file at all.
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    (issue,) = _issues(junk)
    assert issue.startswith(f"{junk}: not a readable Parquet file: ")


def test_too_little_data():
    d = member_years(["A", "B"], [1.0, 2.0], [12.0, 12.0])
    with pytest.raises(ValueError, match="at least 20"):
        calibrate(d)


# --------------------------------------------------------------------------------------------
# Command line


def test_cli_calibrate(tmp_path, synthetic):
    claims = tmp_path / "claims.csv"
    synthetic.write_claims(claims)
    out = tmp_path / "calibrated.yaml"
    r = CliRunner().invoke(app, ["calibrate", str(claims), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file()
    assert (tmp_path / "calibrated.report.html").is_file()
    assert "share of spend" in r.output
    loaded = simsettle.load_scenario(out)
    # Without enrolment dates, a member who starts a year in a vacant place and leaves in the
    # last data year looks like a mid-year joiner: a few members short.
    assert loaded.scenario.population.members == pytest.approx(5000, rel=0.01)


def test_cli_calibrate_bad_input(tmp_path):
    bad = _write(tmp_path / "c.csv", "member_id,year,allowed,member_months\nA,2023,x,12\n")
    r = CliRunner().invoke(app, ["calibrate", str(bad), "-o", str(tmp_path / "s.yaml")])
    assert r.exit_code == 2
    assert f"{bad}:2: column 'allowed': not a number: 'x'" in r.output
    r = CliRunner().invoke(app, ["calibrate", str(tmp_path / "none.csv"), "-o", "s.yaml"])
    assert r.exit_code == 2
    assert "no such claims file" in r.output
    r = CliRunner().invoke(
        app, ["calibrate", str(bad), "-o", str(tmp_path / "s.yaml"), "--column", "allowed"]
    )
    assert r.exit_code == 2
    assert "NAME=COLUMN" in r.output
    assert not (tmp_path / "s.yaml").exists()


# --------------------------------------------------------------------------------------------
# Published and real concentration


def test_fit_shares_reproduces_medicare():
    shape = fit_shares(1000.0, MEDICARE, risk_sigma=0.5)
    m = cost_moments(shape)
    got = {0.01: m.top1_share, 0.05: m.top5_share, 0.10: m.top10_share}
    for q, want in MEDICARE.items():
        assert got[q] == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("sigma", [0.3, 0.5, 0.8])
def test_largest_risk_sigma(sigma):
    """The spread at which a model's own spend shares can be matched is kept; above what the
    shares allow, the cap is the last step of 0.05 that matches, and the next one does not."""
    from scipy import special

    from simsettle.calibrate.mixture import (
        _SHARE_STARTS,
        _matches,
        _solve_shapes,
        largest_risk_sigma,
    )

    shape = CostShape(0.15, 1.2, 0.04, 60_000.0, 4.0, sigma, 1000.0)
    m = CostModel.from_shape(shape)
    targets = dict(zip((0.01, 0.05, 0.10), m.top_share([0.01, 0.05, 0.10]), strict=True))
    kw = {"zero_cost_share": 0.15, "mean": m.mean, "tail_threshold": 60_000.0}
    assert largest_risk_sigma(targets, upto=sigma, **kw) == sigma
    cap = largest_risk_sigma(targets, upto=2.5, **kw)
    assert sigma <= cap < 2.5
    qs = np.array([0.01, 0.05, 0.10])
    t = np.array([targets[q] for q in (0.01, 0.05, 0.10)])
    solve = {"z": 0.15, "mean": m.mean, "h": 60_000.0, "starts": _SHARE_STARTS}
    assert _matches(*_solve_shapes(t, qs, risk_sigma=cap, **solve))
    assert not _matches(*_solve_shapes(t, qs, risk_sigma=cap + 0.05, **solve))
    # A tail shape above 20 (a narrow bump) is not a match.
    v = np.array([math.log(1.0), special.logit(0.2), math.log(30.0)])
    assert not _matches(v, 0.0)


@pytest.mark.skipif(not DESYNPUF.is_file(), reason=f"DE-SynPUF sample absent: {DESYNPUF}")
def test_desynpuf_concentration_by_default():
    """The CMS synthetic beneficiary sample with every default: within two points.

    Two years and no scores give only risk_sigma^2 x risk_persistence = 1.195 (the log-cost
    covariance a year apart). At the default persistence (0.75) that calls for a spread of
    1.26, and a lognormal risk score that wide puts 17% or more of spend on the top 1% by
    itself, against the data's 13.7%: the spread is capped at 0.60, the largest step of 0.05
    at which the mixture can still match the data's shares, with persistence 1. The likelihood
    fit at that spread misses the top 1% by 1.8 points, more than the default tolerance of 1,
    so ``auto`` re-solves the shape to the shares.
    """
    data = read_claims(DESYNPUF, columns=DESYNPUF_COLUMNS)
    cal = calibrate(data, bootstrap=100)
    gap = {q: cal.gof.top_model[q] - cal.gof.top_data[q].value for q in (0.01, 0.05, 0.10)}
    assert max(abs(g) for g in gap.values()) <= 0.01, gap
    assert cal.risk.capped
    assert cal.estimates["population.risk_sigma"].value == pytest.approx(0.6)
    assert cal.estimates["population.risk_persistence"].value == 1.0
    assert cal.cost.shape_method.startswith("matched to the data's spend shares")
    assert any("capped at 0.60" in n for n in cal.notes)
    assert any("re-solved to the data's spend shares" in n for n in cal.notes)
    # The scenario says so where the numbers are.
    assert "capped at 0.60" in cal.scenario_yaml
    # The risk score carries 0.36 of the 1.195 covariance of log cost a year apart; the cost's
    # own persistence is fitted to the data's correlation of cost in dollars a year apart, which
    # the model then reproduces (within the data's member-bootstrap interval, at its value up to
    # the fit's interpolation), and its interval holds the default, 0.6, set independently from
    # MEPS's top-1% retention.
    est = cal.estimates["cost.persistence"]
    assert not est.assumed
    assert est.lower < 0.6 < est.upper <= 0.99
    g = cal.gof
    assert g.persistence_interval.lower <= g.persistence_model <= g.persistence_interval.upper, (
        g.persistence_model,
        g.persistence_interval,
    )
    assert g.persistence_model == pytest.approx(g.persistence_data, abs=0.005)
    print(
        f"DE-SynPUF: cost.persistence {est.value:.3f} [{est.lower:.3f}, {est.upper:.3f}]; "
        f"correlation a year apart: data {g.persistence_data:.3f} "
        f"[{g.persistence_interval.lower:.3f}, {g.persistence_interval.upper:.3f}], "
        f"model {g.persistence_model:.3f}"
    )


@pytest.mark.skipif(not DESYNPUF.is_file(), reason=f"DE-SynPUF sample absent: {DESYNPUF}")
@pytest.mark.parametrize(("method", "tolerance"), [("likelihood", 0.025), ("concentration", 0.02)])
def test_desynpuf_concentration(method, tolerance):
    """The CMS synthetic beneficiary sample: 500 beneficiaries x 2008-2009.

    Two years and no risk scores give only the product risk_sigma^2 x risk_persistence; the
    sample's members are so persistent (log-cost covariance 1.19 a year apart) that a risk
    spread carrying it (at least 1.09) concentrates spend far more than the sample does. The
    risk spread is therefore given (0.5, the schema default) and the persistence follows from
    the covariance (capped at 1). See notebooks/calibration.py.

    The likelihood fit, which does not aim at the concentration, comes to 2.0 percentage
    points at each level (top 1%: 15.8% against 13.7%; 500 beneficiaries give only 9
    member-years in their top 1%, and the data's own 95% interval is 11.4% to 15.2%); matching
    the concentration (``method="concentration"``) brings the model within 0.4 points.
    """
    data = read_claims(DESYNPUF, columns=DESYNPUF_COLUMNS)
    cal = calibrate(data, risk_sigma=0.5, method=method, bootstrap=100)
    gap = {q: cal.gof.top_model[q] - cal.gof.top_data[q].value for q in (0.01, 0.05, 0.10)}
    assert max(abs(g) for g in gap.values()) <= tolerance, gap
    assert cal.estimates["population.risk_persistence"].value == 1.0


@pytest.mark.skipif(not DESYNPUF.is_file(), reason=f"DE-SynPUF sample absent: {DESYNPUF}")
def test_cli_calibrate_desynpuf(tmp_path):
    out = tmp_path / "desynpuf.yaml"
    args = ["calibrate", str(DESYNPUF), "-o", str(out), "--risk-sigma", "0.5"]
    for name, column in DESYNPUF_COLUMNS.items():
        args += ["--column", f"{name}={column}"]
    r = CliRunner().invoke(app, [*args, "--method", "concentration"])
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8")
    assert "desynpuf_beneficiary_sample_2008_2009.csv" in text
    assert "first_performance_year: 2010" in text
    assert "matched to the data's spend shares" in text
    r = CliRunner().invoke(app, [*args, "--method", "moments"])
    assert r.exit_code == 2
    assert "--method must be auto, likelihood or concentration" in r.output
    r = CliRunner().invoke(app, [*args, "--share-tolerance", "0"])
    assert r.exit_code == 2
    assert "--share-tolerance must be between 0 and 1" in r.output


def test_data_with_deaths_calibrate_to_the_all_in_pmpm():
    # The engine's default deaths (mortality 0.045, a decedent costs 3.4 full years): the shape
    # is fitted on full years, a survivor's level (pmpm / 1.13 here); the written pmpm is moved
    # to the all-in level, which the calibrated scenario (mortality 0) reproduces.
    no_deaths = "  mortality: 0.0  # no deaths: calibration cannot tell them apart"
    text = SCENARIO.format(members=5000).replace(no_deaths + "\n", "")
    sc = parse_scenario(text).scenario
    assert sc.population.death_rate == 0.045
    cal = calibrate(synthetic_claims(sc, years=2, seed=8).member_years(), bootstrap=50)
    est = cal.estimates["cost.pmpm"]
    assert est.lower <= 1000.0 <= est.upper, est
    assert any("cost.pmpm is written at that all-in level" in n for n in cal.notes)
    assert cal.scenario.population.mortality == 0.0
    assert "mortality: 0.0" in cal.scenario_yaml
