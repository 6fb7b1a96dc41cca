"""simsettle.stats: per-design summaries against numpy, Monte Carlo standard errors, exceedance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from _synthetic import DESIGNS, make_dataset
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simsettle.stats import exceedance, quantile_name, statistic, summary


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=4000, n_years=1)


@pytest.fixture(scope="module")
def ds3() -> xr.Dataset:
    return make_dataset(n_trials=1500, n_years=3, seed=7)


def _values(ds: xr.Dataset, design: str, var: str = "settlement") -> np.ndarray:
    return ds[var].sel(design=design).values.ravel()


@pytest.mark.parametrize("design", DESIGNS)
def test_summary_matches_numpy(ds: xr.Dataset, design: str) -> None:
    s = summary(ds).sel(design=design)
    x = _values(ds, design)
    assert float(s["mean"]) == np.mean(x)
    assert float(s["q05"]) == np.quantile(x, 0.05)
    assert float(s["q50"]) == np.quantile(x, 0.5)
    assert float(s["q95"]) == np.quantile(x, 0.95)
    assert float(s["prob_loss"]) == np.mean(x < 0)
    assert float(s["prob_savings"]) == np.mean(x > 0)
    assert float(s["prob_zero"]) == np.mean(x == 0)
    assert int(s["n"]) == x.size == 4000
    np.testing.assert_allclose(float(s["std"]), np.std(x, ddof=1), rtol=1e-12)


@pytest.mark.parametrize("design", DESIGNS)
def test_summary_pools_trials_and_years(ds3: xr.Dataset, design: str) -> None:
    s = summary(ds3).sel(design=design)
    x = _values(ds3, design)
    assert int(s["n"]) == 1500 * 3
    assert float(s["mean"]) == np.mean(x)
    assert float(s["q95"]) == np.quantile(x, 0.95)
    assert float(s["prob_loss"]) == np.mean(x < 0)


def test_summary_over_trials_only_keeps_year(ds3: xr.Dataset) -> None:
    s = summary(ds3, dim="trial")
    assert s["mean"].dims == ("design", "year")
    expected = ds3.settlement.values.mean(axis=1)
    np.testing.assert_allclose(s["mean"].values, expected, rtol=1e-12)
    assert (s["n"] == 1500).all()


def test_probabilities_partition_and_zero_mass(ds: xr.Dataset) -> None:
    s = summary(ds)
    total = s["prob_loss"] + s["prob_savings"] + s["prob_zero"]
    np.testing.assert_allclose(total.values, 1.0, rtol=0, atol=1e-15)
    # the synthetic upside-only design has ~40% of trials inside its corridor
    assert 0.35 < float(s["prob_zero"].sel(design="upside_only")) < 0.45


def test_upside_only_never_pays(ds: xr.Dataset) -> None:
    s = summary(ds).sel(design="upside_only")
    assert float(s["prob_loss"]) == 0.0
    assert float(s["prob_loss_se"]) == 0.0
    assert float(s["q05"]) == 0.0
    two_sided = summary(ds).sel(design="two_sided")
    assert float(two_sided["prob_loss"]) > 0.05


def test_standard_error_formulas(ds: xr.Dataset) -> None:
    """With one year per trial the trial-clustered standard errors are the textbook ones:
    std / sqrt(n) for the mean, sqrt(p (1 - p) / (n - 1)) for a probability (the unbiased
    variance's n - 1)."""
    s = summary(ds)
    n = s["n"].values.astype(float)
    np.testing.assert_allclose(s["mean_se"].values, s["std"].values / np.sqrt(n), rtol=1e-12)
    for p in ("prob_loss", "prob_savings", "prob_zero"):
        expected = np.sqrt(s[p].values * (1 - s[p].values) / (n - 1))
        np.testing.assert_allclose(s[f"{p}_se"].values, expected, rtol=1e-12)
    x = _values(ds, "two_sided")
    assert float(s["mean_se"].sel(design="two_sided")) == pytest.approx(
        np.std(x, ddof=1) / math.sqrt(x.size), rel=1e-12
    )


def test_attrs_and_design_coords(ds: xr.Dataset) -> None:
    s = summary(ds)
    assert list(s.design.values) == list(DESIGNS)
    assert list(s["kind"].values) == ["upside_only", "two_sided", "two_sided"]
    assert "trial" not in s.dims
    assert "year" not in s.dims
    assert "quantile" not in s.coords
    for name, da in s.data_vars.items():
        assert {"long_name", "units", "description"} <= set(da.attrs), name
    assert s["mean"].attrs["units"] == "USD"
    assert s["q95"].attrs["units"] == "USD"
    assert s["prob_loss"].attrs["units"] == "1"
    assert s.attrs["source_seed"] == ds.attrs["seed"]


def test_custom_quantiles_and_other_variable(ds: xr.Dataset) -> None:
    s = summary(ds, "savings_rate", quantiles=(0.01, 0.995))
    x = _values(ds, "two_sided", "savings_rate")
    assert set(s.data_vars) >= {"q01", "q99_5"}
    assert "q05" not in s
    assert float(s["q99_5"].sel(design="two_sided")) == np.quantile(x, 0.995)
    assert s["mean"].attrs["units"] == "1"


@pytest.mark.parametrize(
    ("q", "name"),
    [
        (0.05, "q05"),
        (0.5, "q50"),
        (0.95, "q95"),
        (0.0, "q00"),
        (1.0, "q100"),
        (0.995, "q99_5"),
        (0.025, "q02_5"),
        (0.999, "q99_9"),
    ],
)
def test_quantile_name(q: float, name: str) -> None:
    assert quantile_name(q) == name


def test_summary_errors(ds: xr.Dataset) -> None:
    with pytest.raises(KeyError, match="no_such_var"):
        summary(ds, "no_such_var")
    with pytest.raises(ValueError, match="cannot pool over"):
        summary(ds, "benchmark", dim=("design",))
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        summary(ds, quantiles=(0.5, 1.5))
    with pytest.raises(ValueError, match="distinct"):
        summary(ds, quantiles=(0.5, 0.5))


def test_summary_standard_errors_are_trial_clustered(ds3: xr.Dataset) -> None:
    """summary reports the standard errors of statistic (the years of a trial share its trend
    and members), not those of independent draws."""
    s = summary(ds3)
    for name, stat, level in (("mean", "mean", None), ("q95", "quantile", 0.95)):
        one = statistic(ds3, stat, level=level)
        xr.testing.assert_identical(s[name], one["value"].rename(name))
        xr.testing.assert_identical(s[f"{name}_se"], one["se"].rename(f"{name}_se"))
    description = s["prob_loss_se"].attrs["description"]
    assert description.startswith("Standard error of the estimate: trial-clustered")


def test_summary_on_dask(ds3: xr.Dataset) -> None:
    pytest.importorskip("dask")
    lazy = summary(ds3.chunk({"trial": 400}))
    assert lazy["q05"].chunks is not None  # still lazy: nothing computed yet
    got = lazy.compute()
    eager = summary(ds3)
    xr.testing.assert_allclose(got, eager, rtol=1e-12)
    for name in ("q05", "q50", "q95", "prob_loss", "prob_savings", "prob_zero", "n"):
        xr.testing.assert_equal(got[name], eager[name])


def test_exceedance_ranks() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(size=999)
    x, p = exceedance(values)
    n = values.size
    assert np.all(np.diff(x) >= 0)
    assert x[-1] == values.max()
    assert p[-1] == 1 / n  # P(X >= max) = 1/N
    assert x[0] == values.min()
    assert p[0] == 1.0  # P(X >= min) = 1
    assert np.all(np.diff(p) < 0)


def test_exceedance_small_example_and_nan() -> None:
    x, p = exceedance(np.array([[3.0, np.nan], [1.0, 2.0]]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(p, [1.0, 2 / 3, 1 / 3])
    x, p = exceedance([])
    assert x.size == 0
    assert p.size == 0


@given(
    arrays(
        np.float64,
        st.integers(1, 60),
        elements=st.floats(-1e9, 1e9, allow_nan=False),
        unique=True,
    )
)
def test_exceedance_is_empirical_probability(values: np.ndarray) -> None:
    x, p = exceedance(values)
    for xi, pi in zip(x, p, strict=True):
        assert pi == np.mean(values >= xi)
