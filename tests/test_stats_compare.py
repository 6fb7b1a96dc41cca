"""simsettle.stats.paired and decide: designs set against each other on common random numbers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from _synthetic import make_dataset, make_sweep_dataset

from simsettle.stats import decide, paired, parse_statistic_name, statistic


def _value(ds: xr.Dataset, name: str) -> xr.DataArray:
    _, stat, level = parse_statistic_name(name)
    return statistic(ds, stat, level=level)["value"]


def _three(n_trials: int, seed: int, n_years: int = 1) -> xr.Dataset:
    """Three designs on one common draw: ``b`` adds noise and $10K, ``c`` halves the risk."""
    rng = np.random.default_rng(seed)
    common = rng.normal(0.0, 1e6, (n_trials, n_years)) + rng.normal(0.0, 3e5, (n_trials, 1))
    own = rng.normal(0.0, 2e5, (n_trials, n_years))
    x = np.stack([common, common + own + 1e4, 0.5 * common - 1e5])
    return xr.Dataset(
        {"settlement": (("design", "trial", "year"), x, {"units": "USD"})},
        coords={
            "design": ["a", "b", "c"],
            "trial": np.arange(n_trials),
            "year": 2026 + np.arange(n_years),
        },
    )


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=600, n_years=2)


def test_differences_are_the_differences_of_the_statistics(ds: xr.Dataset) -> None:
    p = paired(ds, "two_sided")
    assert list(p["design"].values) == ["upside_only", "two_sided_capped"]
    for name in ("mean", "q05", "q95", "prob_loss", "prob_savings"):
        value = _value(ds, name)
        expected = value - value.sel(design="two_sided")
        np.testing.assert_allclose(
            p[f"{name}_diff"].values, expected.sel(design=p["design"]).values, rtol=1e-12
        )
        np.testing.assert_allclose(
            p[f"{name}_baseline"].values, float(value.sel(design="two_sided")), rtol=1e-12
        )
        for suffix in ("", "_diff", "_diff_se", "_diff_se_unpaired", "_within_error"):
            attrs = p[f"{name}{suffix}"].attrs
            for key in ("long_name", "units", "description"):
                assert attrs[key], (name, suffix, key)
    assert p.attrs["baseline"] == "two_sided"
    assert p.attrs["compared_by"] == "mean, q05, q95, prob_loss, prob_savings"


def test_paired_errors_are_far_below_the_unpaired_on_correlated_designs(ds: xr.Dataset) -> None:
    capped = paired(ds, "two_sided", "mean").sel(design="two_sided_capped")
    assert float(capped["mean_diff_se"]) < 0.5 * float(capped["mean_diff_se_unpaired"])
    b = paired(_three(2000, 2), "a", ["mean", "q05", "q95"]).sel(design="b")
    for name in ("mean", "q05", "q95"):
        assert float(b[f"{name}_diff_se"]) < 0.5 * float(b[f"{name}_diff_se_unpaired"])


def test_a_design_against_itself_differs_by_nothing() -> None:
    base = _three(500, 3)
    twin = base.sel(design=["a", "a"]).assign_coords(design=["a", "copy"])
    p = paired(twin, "a", ["mean", "q05", "var_provider_95", "tvar_payer_99", "prob_loss"])
    for name in ("mean", "q05", "var_provider_95", "tvar_payer_99", "prob_loss"):
        assert float(p[f"{name}_diff"].item()) == 0.0
        assert float(p[f"{name}_diff_se"].item()) == 0.0
        assert bool(p[f"{name}_within_error"].item())
    assert float(p["prob_below_baseline"].item()) == 0.0
    assert float(p["prob_above_baseline"].item()) == 0.0


@pytest.mark.parametrize("name", ["mean", "q05", "q95", "var_provider_95", "tvar_provider_95"])
def test_paired_standard_error_matches_the_spread_over_replications(name: str) -> None:
    """Over 150 independent runs of 800 trials x 2 correlated years, the paired standard error
    of b - a is on average within 15% of the observed spread of the difference (and the
    unpaired one is several times too large)."""
    diffs, ses, unpaired = [], [], []
    for rep in range(150):
        p = paired(_three(800, 1000 + rep, n_years=2), "a", name, designs=["b"])
        diffs.append(float(p[f"{name}_diff"].item()))
        ses.append(float(p[f"{name}_diff_se"].item()))
        unpaired.append(float(p[f"{name}_diff_se_unpaired"].item()))
    spread = float(np.std(diffs, ddof=1))
    assert float(np.mean(ses)) == pytest.approx(spread, rel=0.15)
    assert float(np.mean(unpaired)) > 2.0 * spread


def test_probability_of_receiving_less_than_the_baseline() -> None:
    p = paired(_three(4000, 5), "a", "mean")
    # c = a/2 - 1e5 is below a exactly where a > -2e5.
    a = _three(4000, 5)["settlement"].sel(design="a")
    expected = float((a > -2e5).mean())
    assert float(p["prob_below_baseline"].sel(design="c")) == pytest.approx(expected, abs=1e-12)
    assert float(p["prob_above_baseline"].sel(design="c")) == pytest.approx(1 - expected, abs=1e-12)
    se = float(p["prob_below_baseline_se"].sel(design="c"))
    assert se == pytest.approx(np.sqrt(expected * (1 - expected) / 3999), rel=1e-9)


def test_within_error_flags_a_difference_the_run_cannot_tell() -> None:
    rng = np.random.default_rng(8)
    common = rng.normal(0.0, 1e6, (2000, 1))
    x = np.stack([common, common + rng.normal(0.0, 1e4, (2000, 1))])
    d = xr.Dataset(
        {"settlement": (("design", "trial", "year"), x, {"units": "USD"})},
        coords={"design": ["a", "b"], "trial": np.arange(2000), "year": [2026]},
    )
    p = paired(d, "a", "mean")
    assert bool(p["mean_within_error"].item())
    shifted = d.copy(deep=True)
    shifted["settlement"].loc[{"design": "b"}] += 2e3
    assert not bool(paired(shifted, "a", "mean")["mean_within_error"].item())


def test_paired_on_a_sweep_pairs_within_each_cell() -> None:
    sweep = make_sweep_dataset(n_trials=150)
    p = paired(sweep, "two_sided", "mean")
    extra = [d for d in p["mean_diff"].dims if d != "design"]
    assert extra, p
    cell = dict.fromkeys(extra, 0)
    single = paired(sweep.isel(cell), "two_sided", "mean")
    np.testing.assert_allclose(
        p["mean_diff_se"].isel(cell).values, single["mean_diff_se"].values, rtol=1e-12
    )


def test_dask_backed_results_pair_the_same(ds: xr.Dataset) -> None:
    pytest.importorskip("dask")
    lazy = paired(ds.chunk({"trial": 100}), "two_sided")
    eager = paired(ds, "two_sided")
    xr.testing.assert_allclose(lazy.compute(), eager, rtol=1e-12)


def test_bad_baseline_and_statistic_names(ds: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="no design named 'nope'"):
        paired(ds, "nope")
    with pytest.raises(ValueError, match=r"unknown statistic|not a statistic|q"):
        paired(ds, "two_sided", "median_of_means")


# --------------------------------------------------------------------------------------------
# decide


def test_a_design_worse_on_every_statistic_is_dominated() -> None:
    base = _three(3000, 11)
    worse = base["settlement"].sel(design="a") - 2e5
    d = xr.concat(
        [base["settlement"], worse.expand_dims(design=["a_minus"])], dim="design"
    ).to_dataset()
    table = decide(d)
    row = table.swap_dims(rank="design").sel(design="a_minus")
    assert bool(row["dominated"])
    assert "a" in str(row["dominated_by"].item()).split(", ")
    assert not bool(row["on_frontier"])
    assert str(table["design"].values[-1]) == "a_minus"
    assert "dominated" in table.attrs["rule"]
    assert "provider" in table.attrs["rule"]


def test_a_gap_within_error_does_not_dominate() -> None:
    rng = np.random.default_rng(4)
    common = rng.normal(0.0, 1e6, (2000, 1))
    x = np.stack([common, common - 50.0 + rng.normal(0.0, 2e5, (2000, 1))])
    d = xr.Dataset(
        {"settlement": (("design", "trial", "year"), x, {"units": "USD"})},
        coords={"design": ["a", "b"], "trial": np.arange(2000), "year": [2026]},
    )
    assert not decide(d)["dominated"].any()


def test_the_frontier_trades_mean_against_the_tail() -> None:
    table = decide(_three(4000, 12)).swap_dims(rank="design")
    # c pays less on average but loses less at 1-in-20: both c and b/a trade off.
    assert bool(table["on_frontier"].sel(design="c"))
    assert table["on_frontier"].sum() >= 2
    for payer in (decide(_three(4000, 12), party="payer"),):
        assert payer.attrs["decided_by"] == "mean, var_payer_95"


def test_a_limit_puts_the_designs_that_keep_it_first() -> None:
    d = _three(4000, 13)
    var95 = _value(d, "var_provider_95")
    limit = float(var95.sel(design="c")) * 1.2
    assert float(var95.sel(design="a")) > 1.3 * limit
    table = decide(d, limit=("var_provider_95", limit))
    assert str(table["design"].values[0]) == "c"
    assert str(table["limit_status"].values[0]) == "kept"
    assert {str(s) for s in table["limit_status"].values[1:]} == {"broken"}
    assert "limit" in table.attrs["rule"]
    tight = decide(d, limit=("var_provider_95", float(var95.sel(design="c"))))
    status = tight.swap_dims(rank="design")["limit_status"]
    assert str(status.sel(design="c").item()) == "within error"


def test_decide_ranks_every_cell_of_a_sweep() -> None:
    sweep = make_sweep_dataset(n_trials=150)
    table = decide(sweep)
    cells = int(np.prod([sweep.sizes[d] for d in table.attrs["row_dims"].split()]))
    assert table.sizes["rank"] == cells
    assert list(table["rank"].values) == list(range(1, cells + 1))
    dominated = table["dominated"].values
    # the efficient rows come before the dominated ones
    assert not np.any(dominated[:-1] & ~dominated[1:])


def test_decide_refuses_a_statistic_that_favours_no_one(ds: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="favour"):
        decide(ds, ["mean", "std"])
    with pytest.raises(ValueError, match="finite"):
        decide(ds, limit=("var_provider_95", float("nan")))


def test_a_model_condition_is_not_weighed_across_its_values() -> None:
    """A design is not 'dominated' by itself in an easier world: rows of different values of
    a model sweep (sweep_kind 'model') are compared only within their own value."""
    base = _three(3000, 21)
    easy = base.copy(deep=True)
    easy["settlement"] = easy["settlement"] + 5e5
    d = xr.concat(
        [base, easy], dim=xr.DataArray([0.05, 0.03], dims="trend_mean", name="trend_mean")
    )
    d["trend_mean"].attrs = {"sweep_kind": "model", "sweep_path": "trend.mean"}
    table = decide(d)
    for row in range(table.sizes["rank"]):
        by = str(table["dominated_by"].values[row])
        cell = f"trend_mean={float(table['trend_mean'].values[row])}"
        assert all(cell in label for label in by.split(", ") if label), (cell, by)
    # as a design's term (a choice), the same rows are weighed across values
    d["trend_mean"].attrs = {"sweep_kind": "design", "sweep_path": "designs.*.x"}
    crossed = decide(d)
    assert any(
        "trend_mean=0.03" in str(by) and cell == 0.05
        for by, cell in zip(
            crossed["dominated_by"].values, crossed["trend_mean"].values, strict=True
        )
    )
