"""simsettle.stats: statistics with Monte Carlo standard errors, convergence, the accessor.

- closed forms: a normal savings rate through a linear design, a symmetric corridor and a
  one-sided design with an MSR, checked within 4 of the reported standard errors;
- honest standard errors: over 200 independent samples the spread of each estimate matches the
  mean reported standard error (the sample dimension is carried as a sweep dimension);
- a real run, dask laziness, the accessor, convergence arithmetic and hypothesis properties.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pytest
import xarray as xr
from _synthetic import make_dataset
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simsettle.stats import (
    LEVEL_STATISTICS,
    STATISTICS,
    convergence,
    describe,
    quantile_name,
    statistic,
    summary,
)

ROOT = Path(__file__).resolve().parent.parent
N = NormalDist()
# Savings rate ~ Normal(MU, SIGMA) of a benchmark B; designs share SHARE of the savings.
MU, SIGMA, SHARE, MSR, B = 0.01, 0.03, 0.5, 0.02, 1.0e8
DESIGNS = ("linear", "corridor", "one_sided")


def _attrs(long_name: str, units: str) -> dict[str, str]:
    return {"long_name": long_name, "units": units, "description": long_name}


def normal_dataset(
    n_trials: int,
    n_years: int = 1,
    *,
    replicates: int | None = None,
    rho: float = 0.0,
    seed: int = 1,
) -> xr.Dataset:
    """Results-like Dataset: savings rate X ~ N(MU, SIGMA) (correlation ``rho`` between the
    years of a trial), settled by three designs without caps:

    - ``linear``: settlement = SHARE x savings (two-sided, no corridor);
    - ``corridor``: the same once |X| >= MSR, else 0 (a symmetric corridor);
    - ``one_sided``: SHARE x savings once X >= MSR, else 0 (upside only).

    ``replicates`` adds a leading ``replicate`` dimension of independent samples (a sweep
    dimension to the statistics). Stop-loss: a recovery in 20% of years, premium 1.25 x the
    mean recovery over the trials of the year, as simsettle computes it.
    """
    rng = np.random.default_rng(seed)
    lead = () if replicates is None else (replicates,)
    shape = (*lead, n_trials, n_years)
    common = rng.standard_normal((*lead, n_trials, 1))
    z = math.sqrt(rho) * common + math.sqrt(1.0 - rho) * rng.standard_normal(shape)
    x = MU + SIGMA * z
    savings = x * B
    settlement = np.stack(
        [
            SHARE * savings,
            np.where(np.abs(x) >= MSR, SHARE * savings, 0.0),
            np.where(x >= MSR, SHARE * savings, 0.0),
        ]
    )
    recovery = np.where(rng.random(shape) < 0.2, rng.lognormal(13.0, 1.0, shape), 0.0)
    premium = np.broadcast_to(1.25 * recovery.mean(axis=-2, keepdims=True), shape)
    dims = ("design", *(() if replicates is None else ("replicate",)), "trial", "year")
    full = (len(DESIGNS), *shape)

    def per_design(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, full)

    return xr.Dataset(
        {
            "settlement": (dims, settlement, _attrs("settlement", "USD")),
            "savings": (dims, per_design(savings), _attrs("savings", "USD")),
            "savings_rate": (dims, per_design(x), _attrs("savings rate", "1")),
            "cap_adjustment": (dims, np.zeros(full), _attrs("cap adjustment", "USD")),
            "quality_withhold": (dims, np.zeros(full), _attrs("quality withhold", "USD")),
            "stop_loss_recovery": (dims, per_design(recovery), _attrs("recovery", "USD")),
            "stop_loss_premium": (dims, per_design(premium), _attrs("premium", "USD")),
        },
        coords={
            "design": ("design", np.array(DESIGNS, dtype=object)),
            "trial": np.arange(n_trials),
            "year": np.arange(2026, 2026 + n_years),
            "kind": ("design", np.array(["two_sided", "two_sided", "upside_only"], dtype=object)),
            "min_savings_rate": ("design", [0.0, MSR, MSR]),
        },
        attrs={"title": "normal savings rate", "seed": seed},
    )


def _within(got: xr.Dataset, expected: float, k: float = 4.0) -> None:
    value, se = float(got["value"]), float(got["se"])
    assert se > 0
    assert abs(value - expected) <= k * se, (value, expected, se, (value - expected) / se)


@pytest.fixture(scope="module")
def big() -> xr.Dataset:
    return normal_dataset(20_000, seed=11)


# --------------------------------------------------------------------------------------------
# closed forms


def test_linear_design_matches_normal_closed_forms(big: xr.Dataset) -> None:
    lin = big.sel(design="linear")
    m, s = SHARE * B * MU, SHARE * B * SIGMA  # settlement ~ Normal(m, s)
    _within(statistic(lin, "mean"), m)
    _within(statistic(lin, "std"), s)
    for a in (0.05, 0.5, 0.95):
        _within(statistic(lin, "quantile", level=a), m + s * N.inv_cdf(a))
    for a in (0.9, 0.95, 0.99):
        z = N.inv_cdf(a)
        tail = s * N.pdf(z) / (1.0 - a)  # E[Z | Z > z] = phi(z) / (1 - a)
        _within(statistic(lin, "var_provider", level=a), -m + s * z)
        _within(statistic(lin, "tvar_provider", level=a), -m + tail)
        _within(statistic(lin, "var_payer", level=a), m + s * z)
        _within(statistic(lin, "tvar_payer", level=a), m + tail)
    _within(statistic(lin, "prob_savings"), 1.0 - N.cdf(-MU / SIGMA))
    _within(statistic(lin, "prob_loss"), N.cdf(-MU / SIGMA))


def test_corridor_probability_matches_normal_cdf(big: xr.Dataset) -> None:
    inside = N.cdf((MSR - MU) / SIGMA) - N.cdf((-MSR - MU) / SIGMA)
    corridor = big.sel(design="corridor")
    _within(statistic(corridor, "prob_corridor"), inside)
    _within(statistic(corridor, "prob_zero"), inside)
    # P(passing the corridor) = P(|X| >= MSR) = P(settlement != 0)
    passing = (
        statistic(corridor, "prob_savings")["value"] + statistic(corridor, "prob_loss")["value"]
    )
    assert float(passing) == pytest.approx(
        1.0 - float(statistic(corridor, "prob_corridor")["value"])
    )
    # the linear design shares every dollar: never inside a corridor
    assert float(statistic(big.sel(design="linear"), "prob_corridor")["value"]) == 0.0


def test_one_sided_design_with_msr_matches_closed_forms(big: xr.Dataset) -> None:
    one = big.sel(design="one_sided")
    alpha = (MSR - MU) / SIGMA
    p_above = 1.0 - N.cdf(alpha)
    _within(statistic(one, "prob_savings"), p_above)
    # E[settlement] = SHARE B E[X 1{X > MSR}] = SHARE B (MU (1 - Phi(alpha)) + SIGMA phi(alpha))
    _within(statistic(one, "mean"), SHARE * B * (MU * p_above + SIGMA * N.pdf(alpha)))
    # an upside-only design: every loss year and every savings year below the MSR is inside
    _within(statistic(one, "prob_corridor"), N.cdf(alpha))
    loss = statistic(one, "prob_loss")
    assert float(loss["value"]) == 0.0
    assert float(loss["se"]) == 0.0


def test_stop_loss_net_is_minus_loading_times_mean_recovery(big: xr.Dataset) -> None:
    net = statistic(big, "stop_loss_net")
    rec = statistic(big, "mean", var="stop_loss_recovery")
    np.testing.assert_allclose(net["value"], -0.25 * rec["value"], rtol=1e-12)
    # the premium moves with the recoveries: se = loading x se(mean recovery)
    np.testing.assert_allclose(net["se"], 0.25 * rec["se"], rtol=1e-9)


# --------------------------------------------------------------------------------------------
# the standard errors are honest


HONEST = [
    ("mean", None, "linear"),
    ("mean", None, "one_sided"),
    ("std", None, "linear"),
    ("quantile", 0.5, "linear"),
    ("quantile", 0.9, "one_sided"),
    ("var_provider", 0.95, "linear"),
    ("var_provider", 0.99, "linear"),
    ("tvar_provider", 0.95, "linear"),
    ("var_payer", 0.95, "one_sided"),
    ("tvar_payer", 0.99, "one_sided"),
    ("prob_savings", None, "one_sided"),
    ("prob_loss", None, "corridor"),
    ("prob_corridor", None, "corridor"),
    ("stop_loss_net", None, "linear"),
]


@pytest.fixture(scope="module")
def replicated() -> xr.Dataset:
    """200 independent samples of 2,000 trials x 2 correlated years."""
    return normal_dataset(2_000, 2, replicates=200, rho=0.5, seed=5)


@pytest.mark.parametrize(("name", "level", "design"), HONEST)
def test_standard_errors_match_the_spread_over_repeated_samples(
    replicated: xr.Dataset, name: str, level: float | None, design: str
) -> None:
    r = statistic(replicated.sel(design=[design]), name, level=level)
    assert r["value"].dims == ("design", "replicate")
    spread = float(r["value"].std("replicate", ddof=1).squeeze())
    reported = float(r["se"].mean("replicate").squeeze())
    # the spread of 200 estimates is itself uncertain by about 5%
    assert spread / reported == pytest.approx(1.0, abs=0.2), (spread, reported)


def test_iid_standard_error_would_fail_with_correlated_years(replicated: xr.Dataset) -> None:
    """The check above can fail: std / sqrt(n), which ignores that the years of a trial are
    correlated, understates the spread by about sqrt(1 + rho)."""
    lin = replicated.sel(design=["linear"])
    spread = float(statistic(lin, "mean")["value"].std("replicate", ddof=1).squeeze())
    n = lin.settlement.count(("trial", "year"))
    naive_se = lin.settlement.std(("trial", "year"), ddof=1) / n**0.5
    naive = float(naive_se.mean("replicate").squeeze())
    assert spread / naive > 1.15


# --------------------------------------------------------------------------------------------
# a real run

UNCAPPED = """\
  - name: two_sided_uncapped
    kind: two_sided
    min_savings_rate: 0.02
    shared_savings_rate: 0.60
    shared_loss_rate: 0.60
"""


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    import simsettle

    text = (ROOT / "scenarios" / "examples" / "commercial_stop_loss.yaml").read_text()
    path = tmp_path_factory.mktemp("scenario") / "commercial_stop_loss_uncapped.yaml"
    path.write_text(text.rstrip("\n") + "\n" + UNCAPPED)
    return simsettle.simulate(path, trials=300, progress=False)


def test_real_run_every_statistic_is_finite(real: xr.Dataset) -> None:
    d = describe(real)
    expected = {"n", "mean", "std", "q05", "q50", "q95", "prob_corridor", "stop_loss_net"}
    expected |= {f"{s}_{lv}" for s in ("var_provider", "tvar_payer") for lv in ("90", "95", "99")}
    assert expected <= set(d.data_vars)
    for name in STATISTICS:
        if name not in LEVEL_STATISTICS and name != "quantile":
            assert name in d.data_vars
            assert f"{name}_se" in d.data_vars
    for name, da in d.data_vars.items():
        assert np.all(np.isfinite(da.values)), name
        assert {"long_name", "units", "description"} <= set(da.attrs), name
    assert list(d.design.values) == list(real.design.values)
    assert "shared_savings_rate" in d.coords


def test_real_run_caps(real: xr.Dataset) -> None:
    d = describe(real)
    sel = d.sel(design="two_sided_uncapped")
    assert float(sel["prob_savings_cap"]) == 0.0
    assert float(sel["prob_loss_cap"]) == 0.0
    assert float(d["prob_loss_cap"].sel(design="upside_only")) == 0.0  # losses never shared
    assert float(d["prob_loss_cap"].sel(design="two_sided")) > 0.0
    # the cap binds exactly when the settlement sits at the cap
    b = real.settlement_benchmark
    at_savings_cap = (real.settlement == real.savings_cap * b).mean(("trial", "year"))
    at_loss_cap = (real.settlement == -real.loss_cap * b).mean(("trial", "year"))
    np.testing.assert_array_equal(d["prob_savings_cap"], at_savings_cap)
    np.testing.assert_array_equal(d["prob_loss_cap"], at_loss_cap.where(real.loss_cap > 0, 0.0))


def test_real_run_corridor_agrees_with_the_design_coordinates(real: xr.Dataset) -> None:
    rate = real.savings_rate
    mlr = real.min_loss_rate.fillna(np.inf)  # upside-only: every loss is inside
    inside = ((rate > 0) & (rate < real.min_savings_rate)) | ((rate < 0) & (-rate < mlr))
    np.testing.assert_array_equal(
        statistic(real, "prob_corridor")["value"], inside.mean(("trial", "year"))
    )


def test_real_run_stop_loss_net(real: xr.Dataset) -> None:
    net = statistic(real, "stop_loss_net")
    without = real.stop_loss_attachment.isnull()
    assert (net["value"].where(without) == 0).sum() == without.sum() == 3
    assert (net["se"].where(without) == 0).sum() == 3
    with_sl = net.sel(design=["two_sided_sl_250k", "two_sided_sl_150k"])
    recovery = real.stop_loss_recovery.sel(design=with_sl.design).mean(("trial", "year"))
    np.testing.assert_allclose(with_sl["value"], -0.25 * recovery, rtol=1e-12)
    assert (with_sl["se"] > 0).all()


def test_statistic_agrees_with_summary(real: xr.Dataset) -> None:
    s = summary(real)
    assert (statistic(real, "mean")["value"] == s["mean"]).all()
    assert (statistic(real, "quantile", level=0.95)["value"] == s["q95"]).all()
    assert (statistic(real, "prob_loss")["value"] == s["prob_loss"]).all()
    # one observation per trial: the clustered SE of the mean is std / sqrt(n)
    np.testing.assert_allclose(statistic(real, "mean")["se"], s["mean_se"], rtol=1e-10)


# --------------------------------------------------------------------------------------------
# dask


ALL = [(name, 0.95 if name in LEVEL_STATISTICS else None) for name in STATISTICS]


@pytest.fixture(scope="module")
def two_years() -> xr.Dataset:
    return normal_dataset(600, 2, rho=0.4, seed=3)


@pytest.mark.parametrize(("name", "level"), ALL)
def test_statistic_is_lazy_on_dask(two_years: xr.Dataset, name: str, level: float | None) -> None:
    pytest.importorskip("dask")
    lazy = statistic(two_years.chunk({"trial": 100}), name, level=level)
    assert lazy["value"].chunks is not None
    assert lazy["se"].chunks is not None
    eager = statistic(two_years, name, level=level)
    got = lazy.compute()
    for v in ("value", "se"):
        np.testing.assert_allclose(got[v], eager[v], rtol=1e-12, atol=0)
    assert got.attrs == eager.attrs


def test_describe_and_convergence_are_lazy_on_dask(real: xr.Dataset) -> None:
    pytest.importorskip("dask")
    lazy = real.chunk({"trial": 100})
    d = describe(lazy)
    assert all(v.chunks is not None for v in d.data_vars.values())
    eager = describe(real)
    got = d.compute()
    for name in eager.data_vars:
        np.testing.assert_allclose(got[name], eager[name], rtol=1e-12, atol=0, err_msg=str(name))
    c = convergence(lazy, "var_provider", level=0.95)
    assert c["message"].chunks is not None
    assert c["trials_needed"].chunks is not None
    got_c, eager_c = c.compute(), convergence(real, "var_provider", level=0.95)
    for name in ("value", "se", "half_width", "target", "trials_needed"):
        np.testing.assert_allclose(got_c[name], eager_c[name], rtol=1e-12, atol=0)
    for name in ("converged", "trials", "message"):
        np.testing.assert_array_equal(got_c[name], eager_c[name])
    assert got_c.attrs == eager_c.attrs


# --------------------------------------------------------------------------------------------
# accessor


def test_accessor(real: xr.Dataset) -> None:
    xr.testing.assert_identical(real.settle.statistic("mean"), statistic(real, "mean"))
    xr.testing.assert_identical(
        real.settle.statistic("tvar_payer", level=0.9), statistic(real, "tvar_payer", level=0.9)
    )
    xr.testing.assert_identical(
        real.settle.describe(levels=(0.95,)), describe(real, levels=(0.95,))
    )
    xr.testing.assert_identical(real.settle.convergence(), convergence(real))
    xr.testing.assert_identical(real.settle.summary(), summary(real))


def test_accessor_is_registered_by_simsettle_stats_only() -> None:
    code = (
        "import simsettle, sys\n"
        "assert 'xarray' not in sys.modules\n"
        "import xarray as xr\n"
        "print(hasattr(xr.Dataset, 'settle'))\n"
        "import simsettle.stats\n"
        "print(hasattr(xr.Dataset, 'settle'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.split() == ["False", "True"]


# --------------------------------------------------------------------------------------------
# convergence


def test_convergence_not_enough_for_a_tiny_run() -> None:
    ds = normal_dataset(50, seed=2)
    c = convergence(ds, "mean", rel_precision=0.01)
    lin = c.sel(design="linear")
    assert not bool(lin["converged"])
    assert "not enough trials" in str(lin["message"].values)
    assert int(lin["trials"]) == 50
    # the scaling arithmetic: se ~ 1/sqrt(trials)
    z = NormalDist().inv_cdf(0.975)
    stat = statistic(ds, "mean").sel(design="linear")
    half = z * float(stat["se"])
    expected = math.ceil(50 * (half / (0.01 * abs(float(stat["value"])))) ** 2)
    assert float(lin["trials_needed"]) == expected
    assert float(lin["half_width"]) == pytest.approx(half, rel=1e-12)
    assert f"{expected:,}" in str(lin["message"].values)


def test_convergence_trials_needed_reach_the_target() -> None:
    small = normal_dataset(400, seed=4)
    c = convergence(small, "mean", abs_precision=2.0e4)
    needed = int(c["trials_needed"].sel(design="linear"))
    assert needed > 400
    # run that many trials: the half-width is then the target
    again = convergence(normal_dataset(needed, seed=8), "mean", abs_precision=2.0e4)
    half = float(again["half_width"].sel(design="linear"))
    assert half == pytest.approx(2.0e4, rel=0.1)


def test_convergence_enough_and_zero_values() -> None:
    ds = normal_dataset(500, seed=6)
    c = convergence(ds, "prob_loss", abs_precision=0.5)
    assert bool(c["converged"].all())
    assert all("enough trials for" in str(m) for m in c["message"].values)
    # prob_loss of the one-sided design is 0 with se 0: a relative target is met trivially
    rel = convergence(ds, "prob_loss").sel(design="one_sided")
    assert bool(rel["converged"])
    assert float(rel["trials_needed"]) == 0.0
    # the mean of the corridor design is non-zero: needs more than 500 at 1%
    assert float(convergence(ds).sel(design="corridor")["trials_needed"]) > 500


def test_convergence_errors() -> None:
    ds = normal_dataset(20)
    with pytest.raises(ValueError, match="rel_precision"):
        convergence(ds, rel_precision=0.0)
    with pytest.raises(ValueError, match="abs_precision"):
        convergence(ds, abs_precision=-1.0)
    with pytest.raises(ValueError, match="confidence"):
        convergence(ds, confidence=1.0)


# --------------------------------------------------------------------------------------------
# names, errors, describe layout


def test_describe_names_carry_the_level() -> None:
    d = describe(normal_dataset(200), levels=(0.95, 0.995), quantiles=(0.01, 0.5))
    for stat in ("var_provider", "tvar_provider", "var_payer", "tvar_payer"):
        for suffix in ("95", "99_5"):
            assert f"{stat}_{suffix}" in d.data_vars
            assert f"{stat}_{suffix}_se" in d.data_vars
    assert {"q01", "q50", "q01_se"} <= set(d.data_vars)
    assert quantile_name(0.995) == "q99_5"
    np.testing.assert_array_equal(
        d["var_provider_95"], statistic(normal_dataset(200), "var_provider", level=0.95)["value"]
    )
    assert d["prob_loss"].attrs["units"] == "1"
    assert d["tvar_provider_95"].attrs["units"] == "USD"


def test_describe_skips_statistics_whose_variables_are_missing() -> None:
    ds = normal_dataset(300).drop_vars(["cap_adjustment", "stop_loss_premium"])
    d = describe(ds)
    assert "prob_savings_cap" not in d.data_vars
    assert "stop_loss_net" not in d.data_vars
    assert "prob_corridor" in d.data_vars
    # without quality_withhold the corridor is P(savings != 0 and settlement == 0)
    bare = describe(make_dataset(n_trials=300))
    np.testing.assert_array_equal(bare["prob_corridor"], bare["prob_zero"])
    with pytest.raises(KeyError, match="cap_adjustment"):
        statistic(ds, "prob_savings_cap")


def test_statistic_errors() -> None:
    ds = normal_dataset(20)
    with pytest.raises(KeyError, match="unknown statistic"):
        statistic(ds, "median")
    with pytest.raises(ValueError, match="needs a level"):
        statistic(ds, "var_provider")
    with pytest.raises(ValueError, match="strictly between"):
        statistic(ds, "quantile", level=1.0)
    with pytest.raises(ValueError, match="takes no level"):
        statistic(ds, "mean", level=0.5)
    with pytest.raises(ValueError, match="must include 'trial'"):
        statistic(ds, "mean", dim="year")
    with pytest.raises(KeyError, match="no_such"):
        statistic(ds, "mean", var="no_such")
    with pytest.raises(ValueError, match="distinct"):
        describe(ds, levels=(0.9, 0.9))


def test_pooling_over_trials_only_keeps_year(two_years: xr.Dataset) -> None:
    r = statistic(two_years, "tvar_provider", level=0.9, dim="trial")
    assert r["value"].dims == ("design", "year")
    assert r.attrs["pooled_dims"] == "trial"
    for year in two_years.year.values:
        one = statistic(two_years.sel(year=[year]), "tvar_provider", level=0.9)
        np.testing.assert_allclose(r["value"].sel(year=year), one["value"], rtol=1e-12)
        np.testing.assert_allclose(r["se"].sel(year=year), one["se"], rtol=1e-12)


# --------------------------------------------------------------------------------------------
# properties


def _one_design(values: np.ndarray) -> xr.Dataset:
    return xr.Dataset(
        {"settlement": (("design", "trial", "year"), values.reshape(1, -1, 1))},
        coords={"design": ["d"], "trial": np.arange(values.size), "year": [2026]},
    )


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 40), elements=st.floats(-1e6, 1e6, allow_nan=False)),
    st.floats(0.5, 0.99),
    st.floats(0.5, 0.99),
)
def test_value_at_risk_properties(values: np.ndarray, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    levels = (lo, hi) if lo != hi else (lo,)
    d = describe(_one_design(values), levels=levels, quantiles=(1.0 - lo,)).squeeze()

    def get(name: str, level: float) -> float:
        return float(d[f"{name}_{quantile_name(level)[1:]}"])

    tol = 1e-9 * (1.0 + np.abs(values).max())
    for party in ("provider", "payer"):
        var_lo, var_hi = get(f"var_{party}", lo), get(f"var_{party}", hi)
        tvar_lo, tvar_hi = get(f"tvar_{party}", lo), get(f"tvar_{party}", hi)
        assert var_lo <= var_hi + tol
        assert tvar_lo <= tvar_hi + tol
        assert tvar_lo >= var_lo - tol
        assert tvar_hi >= var_hi - tol
        assert tvar_hi <= (values.max() if party == "payer" else -values.min()) + tol
    assert get("var_provider", lo) == pytest.approx(-float(d[quantile_name(1.0 - lo)]), abs=tol)
    assert float(d["prob_loss"] + d["prob_savings"] + d["prob_zero"]) == pytest.approx(1.0)
    for name, da in d.data_vars.items():
        if str(name).endswith("_se"):
            assert not (da < 0).any(), name
