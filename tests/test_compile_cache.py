"""A second run of a scenario compiles nothing: every kernel loads from numba's on-disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

# Runs the small scenario on the serial and threaded paths and through the CLI's API, then lists
# every simsettle kernel it used with its cache hits and misses (numba's dispatcher statistics).
PROBE = """\
import gc, json
import simsettle
from numba.core.registry import CPUDispatcher
from simsettle.scenario import parse_scenario
from tests.conftest import SMALL_SCENARIO

loaded = parse_scenario(SMALL_SCENARIO, "small.yaml")
simsettle.simulate(loaded, threads=1, progress=False)
simsettle.simulate(loaded, threads=2, progress=False)
used = {}
for obj in gc.get_objects():
    if isinstance(obj, CPUDispatcher) and obj.py_func.__module__.startswith("simsettle"):
        if obj.signatures:
            name = f"{obj.py_func.__module__}.{obj.__name__}"
            used[name] = [sum(obj.stats.cache_hits.values()), sum(obj.stats.cache_misses.values())]
print(json.dumps(used))
"""


def _kernels_used(env: dict[str, str]) -> dict[str, list[int]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    used: dict[str, list[int]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return used


def _second_run_loads_everything(env: dict[str, str]) -> dict[str, list[int]]:
    _kernels_used(env)  # compiles, or loads a cache earlier runs left
    second = _kernels_used(env)
    # The small scenario has the default persistent cost: the persistent entry points run.
    assert {
        "simsettle._kernels.population.simulate_trials_persistent",
        "simsettle._kernels.settle.settle_terms",
    } <= set(second)
    assert "simsettle._kernels.population.simulate_trials_parallel_persistent" in second
    misses = {name: hm for name, hm in second.items() if hm[1] != 0 or hm[0] == 0}
    assert not misses, f"compiled again instead of loading the cache: {misses}"
    return second


def test_second_run_compiles_nothing():
    _second_run_loads_everything(dict(os.environ))


@pytest.mark.slow
def test_fresh_cache_directory_compiles_once_then_loads(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    first = _kernels_used(env)
    assert all(hits == 0 and misses > 0 for hits, misses in first.values()), first
    _second_run_loads_everything(env)


@pytest.mark.slow
def test_a_changed_kernel_source_anywhere_invalidates_the_cache(tmp_path):
    """numba watches only a kernel's own file; simsettle's guard watches all kernel sources.

    A marker next to the cache files holds the digest of the sources the cache was built from.
    A cache built from other sources (a stale marker, as after a ``git pull`` that changed only
    the Philox module that every kernel inlines) is cleared and built again, once.
    """
    from simsettle._kernels.cacheguard import MARKER, sources_digest

    cache = tmp_path / "numba-cache"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    _kernels_used(env)
    markers = list(cache.rglob(MARKER))
    assert len(markers) == 1
    assert markers[0].read_text(encoding="ascii").strip() == sources_digest()
    kernels = [p for p in markers[0].parent.iterdir() if p.suffix in (".nbi", ".nbc")]
    assert any(p.name.startswith("population.simulate_trials") for p in kernels)
    _second_run_loads_everything(env)
    markers[0].write_text("0" * 64 + "\n", encoding="ascii")
    rebuilt = _kernels_used(env)
    trials = rebuilt["simsettle._kernels.population.simulate_trials_persistent"]
    assert trials[0] == 0, rebuilt  # compiled, not loaded
    assert trials[1] > 0, rebuilt
    assert markers[0].read_text(encoding="ascii").strip() == sources_digest()
    _second_run_loads_everything(env)


def test_cacheguard_clears_only_stale_kernel_cache_files(tmp_path):
    """The guard's bookkeeping, without numba: a stale or missing marker removes the kernel
    modules' ``.nbi``/``.nbc`` files (and nothing else) and writes the current digest; a
    current marker leaves everything alone."""
    from types import SimpleNamespace

    from simsettle._kernels import cacheguard

    def dispatcher(folder):
        return SimpleNamespace(_cache=SimpleNamespace(_cache_path=str(folder)))

    stale, current = tmp_path / "stale", tmp_path / "current"
    names = [
        "population.simulate_trials-529.py311.nbi",
        "population.simulate_trials-529.py311.1.nbc",
        "rng.philox4x32_10-35.py311.nbi",
        "population.cpython-311.pyc",
        "other_package.kernel-1.py311.nbi",
    ]
    for folder, marker in ((stale, "0" * 64), (current, cacheguard.sources_digest())):
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes(b"x")
        (folder / cacheguard.MARKER).write_text(marker + "\n", encoding="ascii")
    cacheguard.check(dispatcher(stale), dispatcher(current), object())
    assert sorted(p.name for p in stale.iterdir()) == sorted(
        [cacheguard.MARKER, "population.cpython-311.pyc", "other_package.kernel-1.py311.nbi"]
    )
    assert (stale / cacheguard.MARKER).read_text(encoding="ascii").strip() == (
        cacheguard.sources_digest()
    )
    assert sorted(p.name for p in current.iterdir()) == sorted([*names, cacheguard.MARKER])
