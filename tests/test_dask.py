"""Runs on a dask cluster give the in-process results to the bit."""

from __future__ import annotations

import os

import numba
import numpy as np
import pytest

import simsettle
from simsettle.runner import local_cluster
from simsettle.scenario import parse_scenario
from tests.conftest import REPRO_CHUNKS, SMALL_SCENARIO

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def loaded():
    return parse_scenario(SMALL_SCENARIO, "small.yaml")


@pytest.fixture(scope="module")
def in_process(loaded):
    return simsettle.simulate(loaded, chunk_trials=64, threads=1, progress=False)


def _same(a, b) -> None:
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))


def test_threaded_cluster_is_bit_identical(loaded, in_process):
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        calls: list[tuple[int, int]] = []
        ds = simsettle.simulate(
            loaded,
            chunk_trials=7,
            client=client,
            progress=lambda done, total: calls.append((done, total)),
        )
    _same(in_process, ds)
    assert calls[-1] == (64, 64)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)


@pytest.mark.slow
def test_process_cluster_with_single_threaded_workers(repro_loaded, repro_baseline):
    # The dask backend of the reproducibility matrix: 2 worker processes, chunk sizes 1, 7, 1000
    # and all trials (1,500 tasks at size 1: a few seconds), every variable against the
    # in-process run that tests/test_runner.py compares its chunk sizes and threads with.
    trials = repro_loaded.scenario.trials
    before = os.environ.get("NUMBA_NUM_THREADS")
    client = local_cluster(2)
    try:
        threads = client.run(lambda: __import__("numba").config.NUMBA_NUM_THREADS)
        assert set(threads.values()) == {1}
        # The workers' setting stays in the workers: distributed's pre-spawn-environ wrote it
        # into this process too, and numba here then refused to compile (CI, test_gpu after this).
        # (distributed still writes its own OMP/MKL defaults here; numba does not read them.)
        assert os.environ.get("NUMBA_NUM_THREADS") == before
        numba.config.reload_config()
        for chunk in REPRO_CHUNKS:
            n = trials if chunk == "all" else chunk
            ds = simsettle.simulate(repro_loaded, chunk_trials=n, client=client, progress=False)
            assert set(ds.data_vars) == set(repro_baseline.data_vars)
            _same(repro_baseline, ds)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()


def test_cli_run_on_a_scheduler(tmp_path, loaded, in_process):
    from typer.testing import CliRunner

    from simsettle.cli import app

    scenario = tmp_path / "s.yaml"
    scenario.write_text(loaded.text)
    out = tmp_path / "r.nc"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        res = CliRunner().invoke(
            app,
            [
                "run",
                str(scenario),
                "-o",
                str(out),
                "--no-progress",
                "--scheduler",
                cluster.scheduler_address,
            ],
        )
    assert res.exit_code == 0, res.output
    _same(in_process, simsettle.open_results(out))
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(scenario),
            "-o",
            str(out),
            "--workers",
            "2",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ],
    )
    assert res.exit_code == 2
    assert "not both" in res.output


@pytest.mark.slow
def test_a_worker_killed_mid_run_changes_nothing(loaded, in_process):
    """A worker process dies (SIGKILL) while it holds tasks; the scheduler runs them again on
    the other worker (and on the nanny's replacement) and the result is the in-process one."""
    import os
    import signal
    import threading

    client = local_cluster(2)
    killed: list[int] = []
    try:
        pids = client.run(os.getpid)  # worker address -> pid
        victim = sorted(pids.values())[0]
        lock = threading.Lock()

        def progress(done: int, total: int) -> None:
            # After the first finished chunk, kill one worker while the rest are queued.
            with lock:
                if not killed and done >= 2:
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)

        ds = simsettle.simulate(loaded, chunk_trials=2, client=client, progress=progress)
        after = client.run(os.getpid)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert killed == [victim]
    assert victim not in after.values()  # the worker really died (the nanny started another)
    _same(in_process, ds)
