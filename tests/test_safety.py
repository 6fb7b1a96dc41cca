"""Scenario files and results are data: nothing on the load path can run code; outputs are
checked before they are written."""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import simsettle
from simsettle.results import ZARR_CODECS, check_zarr_store, open_results, write_results
from simsettle.safety import OutputPathError, check_results_target, is_results, safe_child
from simsettle.scenario import parse_scenario

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "simsettle"
#: Modules on the path from a file to a validated scenario or an opened results file.
LOAD_PATH = [
    *sorted((PACKAGE / "scenario").glob("*.py")),
    *sorted((PACKAGE / "results").glob("*.py")),
    PACKAGE / "safety.py",
    PACKAGE / "errors.py",
    PACKAGE / "dims.py",
]

FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint", "input"}
FORBIDDEN_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
    "joblib",
    "yaml",  # PyYAML: its load() constructs arbitrary objects; simsettle uses ruamel.yaml
    "subprocess",
    "importlib",  # importlib.util.find_spec is allowed: it finds, it does not import
    "code",
    "codeop",
    "runpy",
}
FORBIDDEN_ATTRIBUTES = {
    "system",
    "popen",
    "execv",
    "execve",
    "spawnv",
    "import_module",
    "load_pickle",
    "unsafe_load",
    "full_load",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize(
    "path", LOAD_PATH, ids=[p.relative_to(PACKAGE).as_posix() for p in LOAD_PATH]
)
def test_no_code_execution_on_the_load_path(path: Path) -> None:
    problems = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            for name in names:
                if name.split(".")[0] in FORBIDDEN_MODULES and name != "importlib.util":
                    problems.append(f"line {node.lineno}: imports {name}")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                problems.append(f"line {node.lineno}: calls {func.id}()")
            if isinstance(func, ast.Attribute) and func.attr in FORBIDDEN_ATTRIBUTES:
                problems.append(f"line {node.lineno}: calls .{func.attr}()")
            # ruamel.yaml: only the round-trip and safe loaders, never "unsafe"/"base"/"full".
            if isinstance(func, ast.Name) and func.id == "YAML":
                for kw in node.keywords:
                    if kw.arg == "typ":
                        assert isinstance(kw.value, ast.Constant), ast.dump(node)
                        if kw.value.value not in ("rt", "safe"):
                            problems.append(f"line {node.lineno}: YAML(typ={kw.value.value!r})")
    assert problems == [], problems


def _calls(path: Path, attr: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(_tree(path))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == attr
    ]


def test_results_are_opened_without_pickle() -> None:
    results = PACKAGE / "results" / "io.py"
    # NetCDF: the netcdf4 engine only (it has no object codec); Zarr: version 3 only, after
    # check_zarr_store has refused every codec but the allowed ones.
    for call in _calls(results, "open_dataset"):
        engine = {kw.arg: kw.value for kw in call.keywords}.get("engine")
        assert isinstance(engine, ast.Constant), ast.dump(call)
        assert engine.value == "netcdf4"
    opens = _calls(results, "open_zarr")
    assert opens
    for call in opens:
        fmt = {kw.arg: kw.value for kw in call.keywords}.get("zarr_format")
        assert isinstance(fmt, ast.Constant), ast.dump(call)
        assert fmt.value == 3
    source = results.read_text(encoding="utf-8")
    body = source[source.index("def open_results(") :]
    assert body.index("check_zarr_store(p)") < body.index("xr.open_zarr(")
    assert not any("pickle" in c for c in ZARR_CODECS)


def test_scenario_loader_uses_round_trip_yaml_only() -> None:
    # The tag check runs on parser events, before the composer or constructor sees a node.
    source = (PACKAGE / "scenario" / "io.py").read_text(encoding="utf-8")
    body = source[source.index("def parse_scenario(") :]
    assert body.index("_event_issues(text, source)") < body.index("_yaml().load(text)")


# --------------------------------------------------------------------------------------------
# pickled data in a Zarr store is refused before zarr reads it


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (open, (str(self.marker), "w"))


def _v2_store(root: Path, marker: Path, *, where: str) -> None:
    (root / "x").mkdir(parents=True)
    (root / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
    (root / ".zattrs").write_text(json.dumps({"simsettle_results_format": 1}))
    meta = {
        "zarr_format": 2,
        "shape": [1],
        "chunks": [1],
        "dtype": "|O" if where == "filters" else "<f8",
        "compressor": {"id": "pickle"} if where == "compressor" else None,
        "fill_value": 0,
        "filters": [{"id": "pickle"}] if where == "filters" else None,
        "order": "C",
    }
    (root / "x" / ".zarray").write_text(json.dumps(meta))
    (root / "x" / ".zattrs").write_text(json.dumps({"_ARRAY_DIMENSIONS": ["t"]}))
    (root / "x" / "0").write_bytes(pickle.dumps(_Payload(marker)))


@pytest.mark.parametrize("where", ["filters", "compressor"])
def test_zarr_v2_store_with_pickle_is_refused(tmp_path: Path, where: str) -> None:
    marker = tmp_path / "pwned"
    store = tmp_path / "evil.zarr"
    _v2_store(store, marker, where=where)
    with pytest.raises(ValueError, match="Zarr v2"):
        open_results(store)
    assert not marker.exists()


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    from tests.conftest import SMALL_SCENARIO

    text = SMALL_SCENARIO.replace("trials: 64", "trials: 4")
    return simsettle.simulate(parse_scenario(text, "small.yaml"), progress=False)


@pytest.mark.parametrize("codec", ["numcodecs.pickle", "pickle", "numcodecs.msgpack", "blosc2"])
def test_zarr_v3_store_with_another_codec_is_refused(
    tmp_path: Path, ds: xr.Dataset, codec: str
) -> None:
    store = write_results(ds, tmp_path / "r.zarr")
    meta_path = store / "settlement" / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta["codecs"].insert(0, {"name": codec, "configuration": {}})
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=f"codec '{codec}'"):
        open_results(store)
    with pytest.raises(ValueError, match="settlement"):
        check_zarr_store(store)


def test_zarr_sharding_codecs_are_checked_inside(tmp_path: Path, ds: xr.Dataset) -> None:
    store = write_results(ds, tmp_path / "r.zarr")
    meta_path = store / "settlement" / "zarr.json"
    meta = json.loads(meta_path.read_text())
    meta["codecs"] = [
        {"name": "sharding_indexed", "configuration": {"codecs": [{"name": "numcodecs.pickle"}]}}
    ]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"numcodecs\.pickle"):
        check_zarr_store(store)


def test_written_store_passes_the_check(tmp_path: Path, ds: xr.Dataset) -> None:
    check_zarr_store(write_results(ds, tmp_path / "r.zarr"))


# --------------------------------------------------------------------------------------------
# output paths


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    from tests.conftest import SMALL_SCENARIO

    f = tmp_path / "s.yaml"
    f.write_text(SMALL_SCENARIO, encoding="utf-8")
    return f


def test_results_over_the_scenario_are_refused_by_any_name(tmp_path: Path, scenario: Path) -> None:
    link = tmp_path / "link.nc"
    link.symlink_to(scenario)
    hard = tmp_path / "hard.nc"
    os.link(scenario, hard)
    (tmp_path / "sub").mkdir()
    for out in (scenario, link, hard, tmp_path / "sub" / ".." / "s.yaml"):
        with pytest.raises(OutputPathError, match="input") as info:
            check_results_target(out, inputs=[scenario], force=True)
        assert info.value.force is False  # --force does not allow it
    assert scenario.read_text().startswith("schema_version")


def test_store_containing_the_scenario_is_refused(tmp_path: Path, ds: xr.Dataset) -> None:
    store = write_results(ds, tmp_path / "r.zarr")
    inside = store / "s.yaml"
    inside.write_text("x: 1\n")
    with pytest.raises(OutputPathError, match="contains the input"):
        check_results_target(store, inputs=[inside], force=True)


def test_outside_the_named_directory_needs_force(tmp_path: Path) -> None:
    base = tmp_path / "runs"
    base.mkdir()
    assert check_results_target(base / "r.nc", within=base) == "netcdf"
    for out in (tmp_path / "r.nc", base / ".." / "r.nc"):
        with pytest.raises(OutputPathError, match="outside") as info:
            check_results_target(out, within=base)
        assert info.value.force is True
        assert check_results_target(out, within=base, force=True) == "netcdf"
    # A symlink inside that points out is outside.
    (base / "out").symlink_to(tmp_path)
    with pytest.raises(OutputPathError, match="outside"):
        check_results_target(base / "out" / "r.nc", within=base)


def test_foreign_files_are_replaced_only_with_force(tmp_path: Path, ds: xr.Dataset) -> None:
    other = tmp_path / "other.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(other, engine="netcdf4")
    text = tmp_path / "notes.nc"
    text.write_text("my notes")
    for out in (other, text):
        with pytest.raises(OutputPathError, match="not a simsettle results file") as info:
            check_results_target(out)
        assert info.value.force is True
        assert check_results_target(out, force=True) == "netcdf"
    store = tmp_path / "data.zarr"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_zarr(store, zarr_format=3, consolidated=False)
    with pytest.raises(OutputPathError, match="not a simsettle results store"):
        check_results_target(store)
    assert check_results_target(store, force=True) == "zarr"
    # Earlier results are replaced without asking.
    mine = write_results(ds, tmp_path / "mine.nc")
    assert is_results(mine)
    assert check_results_target(mine) == "netcdf"
    assert is_results(write_results(ds, tmp_path / "mine.zarr"))
    assert not is_results(other)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_directory_is_refused_up_front(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError):
            check_results_target(locked / "r.nc")
    finally:
        locked.chmod(0o700)


def test_existing_checks_still_apply(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_results_target(tmp_path / "missing" / "r.nc")
    with pytest.raises(ValueError, match="unknown results format"):
        check_results_target(tmp_path / "r.txt")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x.png", "a\x00b", "/etc/passwd"])
def test_safe_child_refuses_names_that_leave(tmp_path: Path, name: str) -> None:
    with pytest.raises(OutputPathError):
        safe_child(tmp_path, name)


def test_safe_child_refuses_symlinks_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "chart.png").symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(OutputPathError, match="leads outside"):
        safe_child(out, "chart.png")
    assert safe_child(out, "fine.png") == out / "fine.png"
    shutil.rmtree(out)
