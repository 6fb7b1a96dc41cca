"""Fuzzing ``open_results``: files and stores that are not simsettle results get a clear error.

Truncated and damaged NetCDF files, random bytes, other NetCDF files with any
``simsettle_results_format`` attribute, Zarr stores with files deleted, damaged or their
metadata edited (other codecs, other versions, another node type): ``open_results`` either
reads complete simsettle results or raises ``ValueError`` (``FileNotFoundError`` for a missing
path) whose message names the path -- never another exception. Cases are counted in
``FUZZ_COUNTS`` (printed in the terminal summary).
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsettle
from simsettle.results import RESULTS_FORMAT, open_results, write_results
from simsettle.scenario import parse_scenario

FUZZ_COUNTS: Counter[str] = Counter()
FUZZ_OUTCOMES: Counter[str] = Counter()
#: A guard against hangs, not a timing: the first case of a process pays for the zarr and
#: netCDF imports and caches (6.6 s seen on a loaded 2-core machine, 2.5 s on the rerun).
DEADLINE = timedelta(seconds=15)
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.conftest import SMALL_SCENARIO

    text = SMALL_SCENARIO.replace("trials: 64", "trials: 6")
    ds = simsettle.simulate(parse_scenario(text, "small.yaml"), progress=False)
    d = tmp_path_factory.mktemp("good")
    return {"nc": write_results(ds, d / "r.nc"), "zarr": write_results(ds, d / "r.zarr")}


def _fresh(directory: Path, name: str, suffix: str) -> Path:
    """A new file name for each case. netCDF-C can leave a damaged HDF5 file open inside the
    HDF5 library; opening the same file again after rewriting it in place can then crash the
    process, so no case rewrites a file an earlier case opened."""
    return directory / f"{name}-{sum(FUZZ_COUNTS.values())}{suffix}"


def _check(path: Path, name: str) -> None:
    """``open_results`` reads complete results or raises a ValueError naming ``path``."""
    FUZZ_COUNTS[name] += 1
    message = ""
    try:
        ds = open_results(path)
    except (FileNotFoundError, ValueError) as exc:
        message = str(exc)
    if message:
        FUZZ_OUTCOMES[f"{name}: refused"] += 1
        assert message.startswith(f"{path}: ") or str(path) in message, message
        assert "\n" not in message.strip(), message
        return
    FUZZ_OUTCOMES[f"{name}: opened"] += 1
    assert int(ds.attrs["simsettle_results_format"]) == RESULTS_FORMAT
    assert {"design", "trial", "year"} <= set(ds.settlement.dims)


#: Distinct cases a strategy can make, where that is finite (hypothesis stops there).
SPACE = {"other NetCDF files": 14 * 5 * 2}


def _run(name: str, n: int, make: Callable[[Any], Callable[[], None]]) -> None:
    before = FUZZ_COUNTS[name]
    make(settings(max_examples=n, deadline=DEADLINE, suppress_health_check=_HEALTH))()
    assert FUZZ_COUNTS[name] - before >= 0.8 * min(n, SPACE.get(name, n))


@st.composite
def _damaged_bytes(draw: st.DrawFn, good: bytes) -> bytes:
    op = draw(st.sampled_from(["truncate", "flip", "overwrite", "random", "prefix", "signature"]))
    if op == "truncate":
        return good[: draw(st.integers(0, len(good) - 1))]
    if op == "flip":
        data = bytearray(good)
        for _ in range(draw(st.integers(1, 30))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if op == "overwrite":
        at = draw(st.integers(0, len(good) - 1))
        block = draw(st.binary(min_size=1, max_size=512))
        return good[:at] + block + good[at + len(block) :]
    if op == "random":
        return draw(st.binary(max_size=4096))
    if op == "prefix":
        return draw(st.binary(min_size=1, max_size=64)) + good
    return draw(st.sampled_from([b"\x89HDF\r\n\x1a\n", b"CDF\x01", b"CDF\x02", b"PK\x03\x04"]))


def _netcdf_bytes(good: dict[str, Path], directory: Path) -> Callable[[Any], Callable[[], None]]:
    raw = good["nc"].read_bytes()

    def make(config: Any) -> Callable[[], None]:
        @config
        @given(case=st.data())
        def inner(case: st.DataObject) -> None:
            # Drawn inside so that a failure reports the operations, not 100 kB of bytes.
            data = case.draw(_damaged_bytes(raw), label="damaged file")
            f = _fresh(directory, "damaged", ".nc")
            f.write_bytes(data)
            _check(f, "damaged NetCDF files")
            f.unlink()

        return inner

    return make


_FORMATS = st.sampled_from(
    [None, 1, 2, 99, -1, 0, "1", "abc", "", 1.5, [1, 2], [1], np.int8(1), np.float32(1.0)]
)


def _foreign_netcdf(directory: Path) -> Callable[[Any], Callable[[], None]]:
    def make(config: Any) -> Callable[[], None]:
        @config
        @given(
            fmt=_FORMATS,
            dims=st.sampled_from(
                [(), ("t",), ("design", "trial"), ("design", "trial", "year"), ("trial", "year")]
            ),
            netcdf3=st.booleans(),
        )
        def inner(fmt: Any, dims: tuple[str, ...], netcdf3: bool) -> None:
            variables = {"x": ("x", np.arange(3.0))}
            if dims:
                variables["settlement"] = (dims, np.zeros((2,) * len(dims)))
            ds = xr.Dataset(variables)
            if fmt is not None:
                ds.attrs["simsettle_results_format"] = fmt
            f = _fresh(directory, "foreign", ".nc")
            kind = "NETCDF3_64BIT" if netcdf3 else "NETCDF4"
            try:
                ds.to_netcdf(f, engine="netcdf4", format=kind)
            except (TypeError, ValueError):
                return  # an attribute this NetCDF flavour cannot store
            _check(f, "other NetCDF files")
            f.unlink()

        return inner

    return make


_ZARR_OPS = ("delete", "truncate", "flip", "codec", "version", "node_type", "json", "v2", "empty")


def _zarr_stores(good: dict[str, Path], directory: Path) -> Callable[[Any], Callable[[], None]]:
    files = sorted(p.relative_to(good["zarr"]) for p in good["zarr"].rglob("*") if p.is_file())
    metas = [f for f in files if f.name == "zarr.json"]

    # One working copy; each case damages it and puts back what it changed (a Zarr store is
    # plain files read afresh on every open, so reusing the path is safe, unlike HDF5).
    store = directory / "damaged.zarr"
    shutil.copytree(good["zarr"], store)

    def restore(changed: Path | None) -> None:
        if changed is None:
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(good["zarr"], store)
        else:
            shutil.copyfile(good["zarr"] / changed, store / changed)

    def make(config: Any) -> Callable[[], None]:
        @config
        @given(data=st.data())
        def inner(data: st.DataObject) -> None:
            op = data.draw(st.sampled_from(_ZARR_OPS), label="op")
            changed = data.draw(
                st.sampled_from(metas if op in ("codec", "version", "node_type", "json") else files)
            )
            target = store / changed
            if op == "delete":
                target.unlink()
            elif op == "truncate":
                raw = target.read_bytes()
                target.write_bytes(raw[: data.draw(st.integers(0, max(0, len(raw) - 1)))])
            elif op == "flip":
                raw = bytearray(target.read_bytes())
                if raw:
                    raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(
                        st.integers(0, 7)
                    )
                target.write_bytes(bytes(raw))
            elif op in ("codec", "version", "node_type"):
                meta = json.loads(target.read_text())
                if op == "codec" and meta.get("node_type") == "array":
                    name = data.draw(
                        st.sampled_from(["numcodecs.pickle", "pickle", "gzip", "crc32c", "x"])
                    )
                    meta["codecs"].append({"name": name, "configuration": {}})
                elif op == "version":
                    meta["zarr_format"] = data.draw(st.sampled_from([2, 4, "3", None]))
                else:
                    meta["node_type"] = data.draw(st.sampled_from(["array", "group", "x", None]))
                target.write_text(json.dumps(meta))
            elif op == "json":
                target.write_text(data.draw(st.sampled_from(["", "{", "[]", "null", '"x"', "{}"])))
            elif op == "v2":
                (store / "zarr.json").unlink()
                (store / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
            else:
                shutil.rmtree(store)
                store.mkdir()
            try:
                _check(store, "damaged Zarr stores")
            finally:
                restore(None if op in ("v2", "empty") else changed)

        return inner

    return make


CASES = [("netcdf", "damaged NetCDF files", 150), ("foreign", "other NetCDF files", 60)]
CASES += [("zarr", "damaged Zarr stores", 100)]


def _maker(key: str, good: dict[str, Path], directory: Path) -> Callable[[Any], Any]:
    if key == "netcdf":
        return _netcdf_bytes(good, directory)
    if key == "foreign":
        return _foreign_netcdf(directory)
    return _zarr_stores(good, directory)


@pytest.mark.parametrize(("key", "name", "n"), CASES, ids=[c[0] for c in CASES])
def test_fuzz_open_results(
    key: str, name: str, n: int, good: dict[str, Path], tmp_path: Path
) -> None:
    _run(name, n, _maker(key, good, tmp_path))


@pytest.mark.slow
@pytest.mark.parametrize(("key", "name", "n"), CASES, ids=[c[0] for c in CASES])
def test_fuzz_open_results_long(
    key: str, name: str, n: int, good: dict[str, Path], tmp_path: Path
) -> None:
    _run(name, 10 * n, _maker(key, good, tmp_path))


# --------------------------------------------------------------------------------------------
# regressions


def test_hdf_errors_are_value_errors(good: dict[str, Path], tmp_path: Path) -> None:
    # Was: RuntimeError "NetCDF: HDF error" and AttributeError "NetCDF: Can't open HDF5
    # attribute" escaping open_results on a damaged file (a third of random byte flips).
    raw = bytearray(good["nc"].read_bytes())
    rng = np.random.default_rng(3)
    seen = Counter()
    for k in range(60):
        data = bytearray(raw)
        for i in rng.integers(0, len(data), size=10):
            data[i] ^= 1 << int(rng.integers(0, 8))
        f = tmp_path / f"d{k}.nc"
        f.write_bytes(bytes(data))
        try:
            open_results(f)
            seen["opened"] += 1
        except ValueError:
            seen["refused"] += 1
    assert seen["refused"] > 0


@pytest.mark.parametrize("fmt", ["1", "abc", 1.5, [1, 2]])
def test_format_attribute_of_another_type(tmp_path: Path, fmt: object) -> None:
    # Was: int("abc") -> "invalid literal for int()", int([1, 2]) -> TypeError.
    f = tmp_path / "odd.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}, attrs={"simsettle_results_format": fmt}).to_netcdf(
        f, engine="netcdf4"
    )
    with pytest.raises(ValueError, match=f"^{f}: not a simsettle results file"):
        open_results(f)


def test_results_without_settlement_are_incomplete(tmp_path: Path) -> None:
    f = tmp_path / "partial.nc"
    ds = xr.Dataset({"x": ("t", np.arange(3.0))}, attrs={"simsettle_results_format": 1})
    ds.to_netcdf(f, engine="netcdf4")
    with pytest.raises(ValueError, match="not a complete simsettle results file"):
        open_results(f)


def test_zarr_array_at_the_root(tmp_path: Path) -> None:
    import zarr

    store = tmp_path / "array.zarr"
    zarr.create_array(store, shape=(3,), dtype="f8", zarr_format=3)
    with pytest.raises(ValueError, match="not a group"):
        open_results(store)


def test_truncated_file_is_refused_before_the_library_opens_it(
    good: dict[str, Path], tmp_path: Path
) -> None:
    raw = good["nc"].read_bytes()
    for keep in (0, 7, 100, len(raw) // 2, len(raw) - 1):
        f = tmp_path / f"cut{keep}.nc"
        f.write_bytes(raw[:keep])
        with pytest.raises(ValueError, match=r"truncated|no HDF5 or NetCDF signature"):
            open_results(f)
    f = tmp_path / "longer.nc"
    f.write_bytes(raw + b"\0" * 100)  # extra bytes after the end are harmless
    assert open_results(f).sizes["trial"] == 6
