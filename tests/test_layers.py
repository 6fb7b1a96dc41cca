"""Layer rules from DESIGN.md section 2, checked on imports (subprocess) and on source (ast).

- ``import simsettle``, ``simsettle.scenario`` and ``simsettle.cli`` load no numba, xarray,
  matplotlib or dask (so ``simsettle validate`` stays fast);
- ``simsettle/_kernels`` imports only numpy, numba, the standard library's math/typing/enum and
  its own modules; its one non-kernel module, ``cacheguard``, may also import the standard
  library's file modules and ``simsettle._atomic`` (the project's one atomic-write helper), which
  itself imports only the standard library;
- ``simsettle/scenario`` imports no numba, xarray, matplotlib, dask or kernels;
- only the ``simsettle/results`` package constructs ``xarray.Dataset`` objects.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "simsettle"
HEAVY = ("numba", "xarray", "matplotlib", "dask")
EXAMPLE = ROOT / "scenarios" / "examples" / "mssp_style.yaml"


def _loaded_heavy_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; return the heavy modules it left in sys.modules."""
    probe = (
        f"{code}\n"
        "import json, sys\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["simsettle", "simsettle.scenario", "simsettle.cli"])
def test_import_loads_no_heavy_modules(module: str) -> None:
    assert _loaded_heavy_modules(f"import {module}") == []


def test_validate_command_loads_no_heavy_modules() -> None:
    code = (
        "from typer.testing import CliRunner\n"
        "from simsettle.cli import app\n"
        f"r = CliRunner().invoke(app, ['validate', {str(EXAMPLE)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
    )
    assert _loaded_heavy_modules(code) == []


def test_probe_detects_heavy_imports() -> None:
    """The probe itself must be able to fail."""
    assert "numba" in _loaded_heavy_modules("import numba")


# --------------------------------------------------------------------------------------------
# static import checks


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, including nested ones;
    relative imports are resolved against ``package`` (by default, the file's own)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append((node.lineno, name))
            # `from pkg import submodule` imports pkg.submodule too
            out += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return out


def _top(name: str, depth: int = 1) -> str:
    return ".".join(name.split(".")[:depth])


KERNEL_FILES = sorted((PACKAGE / "_kernels").glob("*.py"))
SCENARIO_FILES = sorted((PACKAGE / "scenario").glob("*.py"))
# collections: collections.abc, for annotations only.
KERNEL_ALLOWED_TOP = {"numpy", "numba", "math", "__future__", "typing", "enum", "collections"}


def _kernel_import_allowed(name: str) -> bool:
    if name.startswith("simsettle."):
        return name.startswith("simsettle._kernels.") or name == "simsettle._kernels"
    return _top(name) in KERNEL_ALLOWED_TOP


def test_there_are_kernel_and_scenario_files() -> None:
    assert {p.name for p in KERNEL_FILES} >= {"__init__.py", "rng.py"}
    assert {p.name for p in SCENARIO_FILES} >= {"__init__.py", "io.py", "schema.py"}


#: The one kernel-package module that is not a kernel: ``cacheguard`` runs once, as the kernel
#: modules are imported, and clears numba's cache files when any kernel source changed; it
#: needs the standard library's hashing and files, and nothing that computes. It writes its
#: marker file through ``simsettle._atomic``, like every writer in the project; that module
#: imports only the standard library (checked below), so the kernels stay free of the rest.
CACHEGUARD_ALLOWED_TOP = {"hashlib", "os", "pathlib", "contextlib"}
CACHEGUARD_ALLOWED_OWN = {"simsettle._atomic"}


@pytest.mark.parametrize("path", KERNEL_FILES, ids=[p.name for p in KERNEL_FILES])
def test_kernels_import_only_numpy_numba_and_themselves(path: Path) -> None:
    bad = []
    for line, name in _imports(path):
        # `from simsettle._kernels.records import X` adds "...records.X"; `from numpy import
        # typing` adds "numpy.typing": both are judged by their prefix.
        if path.name == "cacheguard.py" and (
            _top(name) in CACHEGUARD_ALLOWED_TOP or _top(name, 2) in CACHEGUARD_ALLOWED_OWN
        ):
            continue
        if not _kernel_import_allowed(name):
            bad.append(f"{path.name}:{line}: {name}")
    assert bad == []


def test_atomic_helper_imports_only_the_standard_library() -> None:
    """``simsettle._atomic`` may be imported by the kernel package's cache guard."""
    found = _imports(PACKAGE / "_atomic.py")
    assert found, "the import check found nothing"
    bad = [
        f"_atomic.py:{line}: {name}"
        for line, name in found
        if _top(name) != "__future__" and _top(name) not in sys.stdlib_module_names
    ]
    assert bad == []
    assert "numpy" not in sys.stdlib_module_names  # the check can fail


def test_kernel_rule_catches_forbidden_imports(tmp_path: Path) -> None:
    assert not _kernel_import_allowed("pydantic")
    assert not _kernel_import_allowed("xarray")
    assert not _kernel_import_allowed("simsettle.scenario")
    assert not _kernel_import_allowed("simsettle")
    assert _kernel_import_allowed("numpy.typing")
    assert _kernel_import_allowed("simsettle._kernels.rng")
    f = tmp_path / "probe.py"
    f.write_text(
        "from . import rng\nfrom .. import scenario\n\n\ndef f():\n    import xarray as xr\n",
        encoding="utf-8",
    )
    found = _imports(f, package="simsettle._kernels")
    assert (1, "simsettle._kernels.rng") in found
    assert (2, "simsettle.scenario") in found
    assert (6, "xarray") in found
    assert [n for _, n in found if not _kernel_import_allowed(n)] == [
        "simsettle",
        "simsettle.scenario",
        "xarray",
    ]


SCENARIO_FORBIDDEN = ("numba", "xarray", "matplotlib", "dask", "simsettle._kernels")


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_scenario_imports_nothing_heavy(path: Path) -> None:
    bad = [
        f"{path.name}:{line}: {name}"
        for line, name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in SCENARIO_FORBIDDEN)
    ]
    assert bad == []


# --------------------------------------------------------------------------------------------
# only the results package builds Datasets


def _dataset_constructions(path: Path) -> list[int]:
    """Lines where ``xr.Dataset(...)``, ``xarray.Dataset(...)`` or an imported ``Dataset(...)``
    from xarray is called."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    xr_aliases = {"xarray"}
    dataset_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "xarray":
                    xr_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "xarray":
            for alias in node.names:
                if alias.name == "Dataset":
                    dataset_names.add(alias.asname or alias.name)
    xr_aliases.add("xr")
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "Dataset"
            and isinstance(func.value, ast.Name)
            and func.value.id in xr_aliases
        ) or (isinstance(func, ast.Name) and func.id in dataset_names):
            lines.append(node.lineno)
    return sorted(lines)


RESULTS_FILES = sorted((PACKAGE / "results").glob("*.py"))
SOURCE_FILES = sorted(p for p in PACKAGE.rglob("*.py") if p not in RESULTS_FILES)
KNOWN_DATASET_BUILDERS: dict[str, str] = {}


def _source_param(path: Path) -> object:
    rel = path.relative_to(ROOT).as_posix()
    marks = []
    if rel in KNOWN_DATASET_BUILDERS:
        marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_DATASET_BUILDERS[rel]))
    return pytest.param(path, id=rel, marks=marks)


@pytest.mark.parametrize("path", [_source_param(p) for p in SOURCE_FILES])
def test_only_results_builds_datasets(path: Path) -> None:
    assert _dataset_constructions(path) == [], path


def test_results_does_build_datasets() -> None:
    assert _dataset_constructions(PACKAGE / "results" / "dataset.py"), "the check found nothing"


def test_dataset_check_sees_aliases(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(
        "import xarray\nimport xarray as xa\nfrom xarray import Dataset as D\n"
        "a = xarray.Dataset({})\nb = xa.Dataset({})\nc = D({})\n"
        "# xr.Dataset( in a comment\ns = 'xr.Dataset('\n",
        encoding="utf-8",
    )
    assert _dataset_constructions(f) == [4, 5, 6]
