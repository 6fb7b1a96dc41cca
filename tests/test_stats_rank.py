"""simsettle.stats.rank and parse_statistic_name: designs (and sweep cells) ranked on statistics."""

from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr
from _synthetic import DESIGNS, SWEEP, make_dataset, make_sweep_dataset

from simsettle.stats import (
    RANK_DEFAULT_BY,
    STATISTICS,
    describe,
    parse_statistic_name,
    rank,
    statistic,
)


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=600, n_years=2)


@pytest.fixture(scope="module")
def sweep() -> xr.Dataset:
    return make_sweep_dataset(n_trials=150)


def _designs(table: xr.Dataset) -> list[str]:
    return [str(d) for d in table["design"].values]


# --------------------------------------------------------------------------------------------
# names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mean", ("mean", "mean", None)),
        ("prob_loss", ("prob_loss", "prob_loss", None)),
        ("stop_loss_net", ("stop_loss_net", "stop_loss_net", None)),
        ("q05", ("q05", "quantile", 0.05)),
        ("q5", ("q05", "quantile", 0.05)),
        ("q99_5", ("q99_5", "quantile", 0.995)),
        ("var_provider_95", ("var_provider_95", "var_provider", 0.95)),
        ("tvar_payer_99_5", ("tvar_payer_99_5", "tvar_payer", 0.995)),
        (" tvar_provider_90 ", ("tvar_provider_90", "tvar_provider", 0.9)),
    ],
)
def test_parse_statistic_name(name: str, expected: tuple[str, str, float | None]) -> None:
    assert parse_statistic_name(name) == expected


def test_every_describe_column_parses_back(ds: xr.Dataset) -> None:
    table = describe(ds, levels=(0.9, 0.995), quantiles=(0.05, 0.5))
    for name in table.data_vars:
        if str(name) == "n" or str(name).endswith("_se"):
            continue
        canonical, stat, level = parse_statistic_name(str(name))
        assert canonical == name
        assert stat in STATISTICS
        expected = statistic(ds, stat, level=level)["value"]
        np.testing.assert_allclose(table[name].values, expected.values)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("median", "unknown statistic 'median'; choose from mean, std, q<P>"),
        ("var_provider", "unknown statistic"),  # a level is needed
        ("quantile", "unknown statistic"),
        ("q100", "strictly between 0 and 100%"),
        ("var_payer_0", "strictly between 0 and 100%"),
    ],
)
def test_parse_statistic_name_errors(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_statistic_name(name)


def test_unknown_name_lists_every_statistic() -> None:
    with pytest.raises(ValueError, match="choose from") as info:
        parse_statistic_name("nope")
    for name in STATISTICS:
        if name != "quantile":
            assert name in str(info.value)


# --------------------------------------------------------------------------------------------
# ranking


def test_default_ranks_by_mean_best_for_the_provider(ds: xr.Dataset) -> None:
    table = rank(ds)
    mean = statistic(ds, "mean")
    expected = sorted(DESIGNS, key=lambda d: -float(mean["value"].sel(design=d)))
    assert _designs(table) == expected
    assert list(table["rank"].values) == [1, 2, 3]
    assert set(table.data_vars) == {
        name + se for name in RANK_DEFAULT_BY["provider"] for se in ("", "_se")
    }
    for d in DESIGNS:
        row = table.where(table["design"] == d, drop=True)
        np.testing.assert_allclose(row["mean"].values, mean["value"].sel(design=d).values)
        np.testing.assert_allclose(row["mean_se"].values, mean["se"].sel(design=d).values)
    assert table["mean"].attrs["units"] == "USD"
    assert table["mean_se"].attrs["long_name"].startswith("Monte Carlo standard error")
    assert table.attrs["party"] == "provider"
    assert table.attrs["ranked_by"].startswith("mean descending, prob_loss ascending")
    assert table.attrs["rows"] == 3
    assert table.attrs["row_dims"] == "design"
    assert "kind" in table.coords  # design coordinates come along


def test_payer_reverses_the_sense(ds: xr.Dataset) -> None:
    provider = rank(ds, "mean")
    payer = rank(ds, "mean", party="payer")
    assert _designs(payer) == _designs(provider)[::-1]
    assert payer.attrs["ranked_by"] == "mean ascending"
    assert set(rank(ds, party="payer").data_vars) >= {"prob_savings", "var_payer_95"}


@pytest.mark.parametrize(
    ("name", "party", "ascending"),
    [
        ("prob_loss", "provider", True),
        ("var_provider_95", "provider", True),
        ("tvar_payer_99", "provider", False),
        ("q95", "provider", False),
        ("prob_savings", "payer", True),
        ("var_payer_95", "payer", True),
        ("std", "provider", True),
        ("std", "payer", True),
        ("prob_corridor", "payer", True),
    ],
)
def test_each_statistic_sorts_the_way_that_is_better(
    ds: xr.Dataset, name: str, party: str, ascending: bool
) -> None:
    table = rank(ds, name, party=party)  # type: ignore[arg-type]
    values = table[name].values
    assert list(values) == sorted(values, reverse=not ascending)
    assert table.attrs["ranked_by"] == f"{name} {'ascending' if ascending else 'descending'}"


def test_ties_are_broken_by_the_next_statistic() -> None:
    # "low" and "high" never pay losses (a tie on prob_loss), "risky" does.
    values = [[[0.0], [1.0], [2.0]], [[-1.0], [4.0], [5.0]], [[0.0], [3.0], [6.0]]]
    ds = xr.Dataset(
        {"settlement": (("design", "trial", "year"), values)},
        coords={"design": ["low", "risky", "high"], "trial": np.arange(3), "year": [2026]},
    )
    assert _designs(rank(ds, ["prob_loss", "mean"])) == ["high", "low", "risky"]
    assert _designs(rank(ds, ["prob_loss", "mean"], party="payer")) == ["risky", "low", "high"]
    assert _designs(rank(ds, "mean")) == ["high", "risky", "low"]


def test_exact_ties_keep_the_order_of_the_results() -> None:
    values = [[[1.0], [2.0], [3.0]]] * 3
    ds = xr.Dataset(
        {"settlement": (("design", "trial", "year"), values)},
        coords={"design": ["c", "a", "b"], "trial": np.arange(3), "year": [2026]},
    )
    assert _designs(rank(ds, ["mean", "std"])) == ["c", "a", "b"]
    assert _designs(rank(ds, "mean", party="payer")) == ["c", "a", "b"]


def test_ascending_overrides_and_must_match_by(ds: xr.Dataset) -> None:
    up = rank(ds, ["mean", "prob_loss"], ascending=True)
    assert list(up["mean"].values) == sorted(up["mean"].values)
    mixed = rank(ds, ["mean", "prob_loss"], ascending=[False, True])
    assert mixed.attrs["ranked_by"] == "mean descending, prob_loss ascending"
    with pytest.raises(ValueError, match="ascending has 1 values for 2 statistics"):
        rank(ds, ["mean", "prob_loss"], ascending=[True])


def test_designs_and_top(ds: xr.Dataset) -> None:
    table = rank(ds, "mean", designs=["two_sided", "upside_only"])
    assert sorted(_designs(table)) == ["two_sided", "upside_only"]
    top = rank(ds, "mean", top=1)
    assert top.sizes["rank"] == 1
    assert top.attrs["rows"] == 3
    assert _designs(top) == _designs(rank(ds, "mean"))[:1]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"by": "nope"}, ValueError, "unknown statistic 'nope'"),
        ({"by": ["mean", "mean"]}, ValueError, "more than once: mean"),
        ({"by": ["q5", "q05"]}, ValueError, "more than once: q05"),
        ({"by": []}, ValueError, "at least one statistic"),
        ({"party": "insurer"}, ValueError, "party must be"),
        ({"designs": ["nope"]}, ValueError, "no design named 'nope'; the results have"),
        ({"top": 0}, ValueError, "top must be at least 1"),
        ({"var": "nope"}, KeyError, "variable 'nope' not in Dataset"),
        ({"by": "prob_savings_cap"}, KeyError, "cap_adjustment"),
    ],
)
def test_rank_errors(ds: xr.Dataset, kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        rank(ds, **kwargs)  # type: ignore[arg-type]


def test_every_sweep_cell_is_a_row(sweep: xr.Dataset) -> None:
    table = rank(sweep, ["mean", "prob_loss"])
    cells = len(DESIGNS) * int(np.prod([len(v) for v, _ in SWEEP.values()]))
    assert table.sizes["rank"] == cells == table.attrs["rows"]
    assert table.attrs["row_dims"] == "design " + " ".join(SWEEP)
    for dim in SWEEP:
        assert table[dim].dims == ("rank",)
        assert table[dim].attrs == sweep[dim].attrs
    means = table["mean"].values
    assert all(means[:-1] >= means[1:])
    # each row's numbers are those of its cell
    best = table.isel(rank=0)
    cell = {d: best[d].item() for d in ("design", *SWEEP)}
    expected = statistic(sweep.sel(cell), "mean")
    assert float(best["mean"]) == pytest.approx(float(expected["value"]))
    assert float(best["mean_se"]) == pytest.approx(float(expected["se"]))
    frame = table.to_dataframe()
    assert len(frame) == cells
    assert {"design", "mean", "mean_se", *SWEEP} <= set(frame.columns)


def test_dask_backed_results_are_computed(ds: xr.Dataset) -> None:
    pytest.importorskip("dask")
    lazy = ds.chunk({"trial": 100})
    table = rank(lazy, ["mean", "var_provider_95"])
    assert table["mean"].chunks is None
    xr.testing.assert_allclose(table, rank(ds, ["mean", "var_provider_95"]))


def test_accessor(ds: xr.Dataset) -> None:
    xr.testing.assert_identical(
        ds.settle.rank(["mean", "prob_loss"], party="payer", top=2),
        rank(ds, ["mean", "prob_loss"], party="payer", top=2),
    )
