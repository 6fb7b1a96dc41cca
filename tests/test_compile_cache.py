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
    assert {
        "simsettle._kernels.population.simulate_trials",
        "simsettle._kernels.settle.settle_terms",
    } <= set(second)
    assert "simsettle._kernels.population.simulate_trials_parallel" in second
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
