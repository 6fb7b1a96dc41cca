"""Results: layout, attributes, provenance, atomic NetCDF and Zarr writes, checked reading."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simsettle
from simsettle import results
from simsettle.results import (
    VAR_ATTRS,
    convert_results,
    open_results,
    results_format,
    write_results,
)
from simsettle.scenario import parse_scenario


@pytest.fixture(scope="module")
def ds():
    from tests.conftest import SMALL_SCENARIO

    return simsettle.simulate(parse_scenario(SMALL_SCENARIO, "small.yaml"), progress=False)


def test_layout(ds):
    assert dict(ds.sizes) == {
        "design": 4,
        "trial": 64,
        "year": 2,
        "payoff_savings_rate": 481,
        "base_year": 3,
    }
    assert list(ds.design.values) == ["one_sided", "two_sided", "with_stop_loss", "high_attachment"]
    assert list(ds.year.values) == [2026, 2027]
    np.testing.assert_array_equal(ds.trial.values, np.arange(64))
    per_design = [
        "savings",
        "savings_rate",
        "settlement",
        "shared_savings",
        "shared_losses",
        "stop_loss_recovery",
        "stop_loss_premium",
        "settlement_benchmark",
        "sequestered",
        "cap_adjustment",
        "loss_relief",
        "quality_withhold",
    ]
    for name in per_design:
        assert ds[name].dims == ("design", "trial", "year")
    for name in [
        "benchmark",
        "actual_spend",
        "member_months",
        "attributed_members",
        "risk_score",
        "trend_index",
        "reference_index",
    ]:
        assert ds[name].dims == ("trial", "year")
    assert ds.payoff.dims == ("design", "payoff_savings_rate")
    assert ds.expected_trend_index.dims == ds.expected_reference_index.dims == ("year",)
    assert ds.base_trend_index.dims == ds.base_reference_index.dims == ("trial", "base_year")
    assert ds.expected_base_trend_index.dims == ("base_year",)
    np.testing.assert_array_equal(ds.base_trend_index.isel(base_year=0), 1.0)
    assert all(ds[v].dtype == np.float64 for v in ds.data_vars)
    assert set(ds.data_vars) == {
        *per_design,
        "benchmark",
        "actual_spend",
        "member_months",
        "attributed_members",
        "risk_score",
        "trend_index",
        "reference_index",
        "expected_trend_index",
        "expected_reference_index",
        "base_trend_index",
        "base_reference_index",
        "expected_base_trend_index",
        "expected_base_reference_index",
        "payoff",
    }


def test_payoff_curve_is_the_design_terms(ds):
    # One-sided: 2% MSR, 50%, cap 10% of benchmark, as a fraction of the benchmark.
    p = ds.payoff.sel(design="one_sided")
    assert float(p.sel(payoff_savings_rate=0.0)) == 0.0
    assert float(p.sel(payoff_savings_rate=0.0175)) == 0.0
    assert float(p.sel(payoff_savings_rate=0.04)) == pytest.approx(0.02)
    assert float(p.sel(payoff_savings_rate=0.3)) == pytest.approx(0.10)
    assert float(p.sel(payoff_savings_rate=-0.3)) == 0.0
    two = ds.payoff.sel(design="two_sided")  # above threshold, MLR 2%, 40%, loss cap 5%
    assert float(two.sel(payoff_savings_rate=-0.05)) == pytest.approx(-0.4 * 0.03)
    assert float(two.sel(payoff_savings_rate=-0.5)) == pytest.approx(-0.05)


def test_every_variable_is_documented(ds):
    for name, var in ds.data_vars.items():
        for key in ("long_name", "units", "description"):
            assert var.attrs.get(key), f"{name} lacks {key}"
        assert var.attrs == VAR_ATTRS[name]
    for name in ("design", "trial", "year"):
        assert ds[name].attrs.get("long_name")


def test_design_parameters_are_coordinates(ds):
    assert ds.shared_savings_rate.dims == ("design",)
    np.testing.assert_array_equal(ds.shared_savings_rate.values, [0.5, 0.6, 0.5, 0.5])
    np.testing.assert_array_equal(ds.min_loss_rate.values, [np.nan, 0.02, 0.0, np.nan])
    assert list(ds.kind.values) == ["upside_only", "two_sided", "two_sided", "upside_only"]
    picked = ds.where(ds.shared_savings_rate > 0.55, drop=True)
    assert list(picked.design.values) == ["two_sided"]
    assert ds.sel(design="with_stop_loss").stop_loss_attachment == 50_000.0


def test_provenance_attrs(ds):
    from tests.conftest import SMALL_SCENARIO

    a = ds.attrs
    assert a["scenario_yaml"] == SMALL_SCENARIO
    assert a["scenario_sha256"] == hashlib.sha256(SMALL_SCENARIO.encode()).hexdigest()
    assert a["seed"] == 12345
    assert a["rng"] == "philox4x32-10"
    assert a["simsettle_version"] == simsettle.__version__
    assert a["numpy_version"] == np.__version__
    assert "positive" in a["sign_convention"]
    for key in ("numba_version", "xarray_version", "history", "title", "source"):
        assert a[key]


def test_savings_rate_and_parts(ds):
    np.testing.assert_allclose(ds.savings_rate, ds.savings / ds.benchmark, rtol=1e-15)
    assert float(ds.shared_savings.min()) >= 0
    assert float(ds.shared_losses.min()) >= 0


def test_round_trip_is_identical(ds, tmp_path):
    path = write_results(ds, tmp_path / "r.nc")
    back = open_results(path)
    xr.testing.assert_identical(ds, back)
    assert [p.name for p in tmp_path.iterdir()] == ["r.nc"]


def test_failed_write_keeps_the_previous_file(ds, tmp_path, monkeypatch):
    path = tmp_path / "r.nc"
    write_results(ds, path)
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        # Write part of a file, then fail as a full disk or an interrupt would.
        with open(args[0], "wb") as fh:
            fh.write(b"CDF partial")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results(ds.isel(trial=slice(0, 3)), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["r.nc"]


def test_write_into_missing_directory_fails_cleanly(ds, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_results(ds, tmp_path / "nope" / "r.nc")


def test_open_rejects_other_files(tmp_path, ds):
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(other, engine="netcdf4")
    with pytest.raises(ValueError, match="not a simsettle results file"):
        open_results(other)
    good = write_results(ds, tmp_path / "good.nc")
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(ValueError, match="not a readable NetCDF"):
        open_results(truncated)
    text = tmp_path / "text.nc"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a readable NetCDF"):
        open_results(text)
    newer = ds.copy()
    newer.attrs["simsettle_results_format"] = 99
    write_results(newer, tmp_path / "newer.nc")
    with pytest.raises(ValueError, match="format 99"):
        open_results(tmp_path / "newer.nc")
    with pytest.raises(FileNotFoundError):
        open_results(tmp_path / "missing.nc")


# --------------------------------------------------------------------------------------------
# Zarr stores, lazy opening and conversion


def _listing(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_format_follows_the_suffix(tmp_path):
    assert results_format(tmp_path / "r.zarr") == "zarr"
    assert results_format(tmp_path / "R.NC") == "netcdf"
    for bad in ("r.txt", "r"):
        with pytest.raises(ValueError, match=r"use a \.nc file name .* or a \.zarr directory"):
            results_format(tmp_path / bad)


def test_zarr_round_trip_is_identical(ds, tmp_path):
    path = write_results(ds, tmp_path / "r.zarr")
    assert path.is_dir()
    back = open_results(path)
    xr.testing.assert_identical(ds, back)
    assert back.attrs["scenario_yaml"] == ds.attrs["scenario_yaml"]
    assert all(isinstance(v.data, np.ndarray) for v in back.variables.values())
    assert _listing(tmp_path) == ["r.zarr"]


def test_zarr_store_is_chunked_along_trials(ds, tmp_path, monkeypatch):
    monkeypatch.setattr(results.io, "TRIAL_CHUNK", 16)
    write_results(ds, tmp_path / "r.zarr")
    lazy = open_results(tmp_path / "r.zarr", lazy=True)
    try:
        assert lazy.settlement.chunks == ((4,), (16, 16, 16, 16), (2,))
        assert lazy.benchmark.chunks == ((16, 16, 16, 16), (2,))
        assert lazy.payoff.chunks == ((4,), (481,))
        xr.testing.assert_identical(ds, lazy.compute())
    finally:
        lazy.close()


@pytest.mark.parametrize("name", ["r.nc", "r.zarr"])
def test_lazy_open_reads_nothing_until_asked(ds, tmp_path, name):
    write_results(ds, tmp_path / name)
    lazy = open_results(tmp_path / name, lazy=True)
    try:
        for var in lazy.data_vars.values():
            assert var.chunks is not None, var.name  # dask-backed, not loaded
        np.testing.assert_array_equal(
            lazy.settlement.sel(design="two_sided").values,
            ds.settlement.sel(design="two_sided").values,
        )
        assert lazy.attrs == ds.attrs
    finally:
        lazy.close()


def test_zarr_write_replaces_an_existing_store(ds, tmp_path):
    path = tmp_path / "r.zarr"
    write_results(ds, path)
    write_results(ds.isel(trial=slice(0, 3)), path)
    assert open_results(path).sizes["trial"] == 3
    assert _listing(tmp_path) == ["r.zarr"]


def test_failed_zarr_write_keeps_the_previous_store(ds, tmp_path, monkeypatch):
    path = tmp_path / "r.zarr"
    write_results(ds, path)

    def broken(self, store, *args, **kwargs):
        # Write part of a store, then fail as a full disk or an interrupt would.
        (Path(store) / "zarr.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(xr.Dataset, "to_zarr", broken)
    with pytest.raises(OSError, match="disk full"):
        write_results(ds.isel(trial=slice(0, 3)), path)
    monkeypatch.undo()
    xr.testing.assert_identical(open_results(path), ds)
    assert _listing(tmp_path) == ["r.zarr"]


def test_failed_zarr_rename_puts_the_previous_store_back(ds, tmp_path, monkeypatch):
    path = tmp_path / "r.zarr"
    write_results(ds, path)
    rename = os.rename

    def failing(src, dst):
        if Path(src).name.endswith(".part"):
            raise OSError("rename failed")
        rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(OSError, match="rename failed"):
        write_results(ds.isel(trial=slice(0, 3)), path)
    monkeypatch.undo()
    xr.testing.assert_identical(open_results(path), ds)
    assert _listing(tmp_path) == ["r.zarr"]


def test_zarr_write_never_replaces_what_is_not_a_store(ds, tmp_path):
    folder = tmp_path / "data.zarr"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a Zarr store; refusing"):
        write_results(ds, folder)
    assert (folder / "notes.txt").read_text() == "keep me"
    (tmp_path / "file.zarr").write_text("a file")
    with pytest.raises(ValueError, match="not a Zarr store; refusing"):
        write_results(ds, tmp_path / "file.zarr")
    with pytest.raises(ValueError, match="is a directory"):
        write_results(ds, folder.with_suffix(".nc").parent)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_results(ds, tmp_path / "nope" / "r.zarr")
    assert _listing(tmp_path) == ["data.zarr", "file.zarr"]


def test_open_rejects_directories_that_are_not_results(tmp_path, ds):
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    with pytest.raises(ValueError, match="not a readable Zarr results store"):
        open_results(empty)
    other = tmp_path / "other.zarr"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_zarr(other, consolidated=False, zarr_format=3)
    with pytest.raises(ValueError, match="not a simsettle results store"):
        open_results(other)
    with pytest.raises(ValueError, match="not a simsettle results store"):
        open_results(other, lazy=True)
    newer = ds.copy()
    newer.attrs["simsettle_results_format"] = 99
    write_results(newer, tmp_path / "newer.zarr")
    with pytest.raises(ValueError, match="format 99"):
        open_results(tmp_path / "newer.zarr")
    with pytest.raises(FileNotFoundError):
        open_results(tmp_path / "missing.zarr")


def test_convert_between_zarr_and_netcdf(ds, tmp_path):
    store = write_results(ds, tmp_path / "r.zarr")
    nc = convert_results(store, tmp_path / "r.nc")
    xr.testing.assert_identical(open_results(nc), ds)
    again = convert_results(nc, tmp_path / "again.zarr")
    xr.testing.assert_identical(open_results(again), ds)
    with pytest.raises(ValueError, match="source itself"):
        convert_results(nc, nc)
    with pytest.raises(FileNotFoundError):
        convert_results(tmp_path / "missing.zarr", tmp_path / "x.nc")
    assert _listing(tmp_path) == ["again.zarr", "r.nc", "r.zarr"]
