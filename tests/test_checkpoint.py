"""Checkpoints and resume: nothing computed is lost, and a resumed run is the uninterrupted one.

The kill tests start real runs in subprocesses, kill them (SIGKILL, SIGTERM, SIGINT in turn) at
times spread over the whole run (start-up, simulation, writing), check that the output is either
absent or the previous complete file, then resume and compare every variable with an
uninterrupted run, bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import simsettle
from simsettle.checkpoint import checkpoint_dir
from simsettle.errors import SimulationError
from simsettle.runner import run_to_file
from simsettle.scenario import parse_scenario
from tests.conftest import ROOT, SMALL_SCENARIO

SCENARIO = SMALL_SCENARIO.replace("trials: 64", "trials: 120")


def _same(a, b) -> None:
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))


@pytest.fixture(scope="module")
def loaded():
    return parse_scenario(SCENARIO, "small.yaml")


@pytest.fixture(scope="module")
def reference(loaded):
    return simsettle.simulate(loaded, chunk_trials=16, progress=False)


def test_resume_loads_every_finished_chunk_and_computes_no_more(
    loaded, reference, tmp_path, monkeypatch
):
    store = tmp_path / "ckpt"
    first = simsettle.simulate(loaded, chunk_trials=16, checkpoint=store, progress=False)
    _same(first, reference)
    assert len(list(store.glob("*.npy"))) == 8  # 120 trials in chunks of 16
    import simsettle.runner as runner

    def refuse(*args, **kwargs):
        raise AssertionError("a finished chunk was computed again")

    monkeypatch.setattr(runner, "simulate_aggregates", refuse)
    again = simsettle.simulate(
        loaded, chunk_trials=16, checkpoint=store, resume=True, progress=False
    )
    _same(again, reference)


def test_resume_computes_only_the_missing_chunks(loaded, reference, tmp_path, monkeypatch):
    store = tmp_path / "ckpt"
    simsettle.simulate(loaded, chunk_trials=16, checkpoint=store, progress=False)
    chunks = sorted(store.glob("*.npy"))
    for path in chunks[::3]:
        path.unlink()
    chunks[1].write_bytes(chunks[1].read_bytes()[:50])  # a damaged file is computed again
    import simsettle.runner as runner

    calls = []
    kernel = runner.simulate_aggregates

    def counting(inputs, key, t0, n, **kw):
        calls.append(t0)
        return kernel(inputs, key, t0, n, **kw)

    monkeypatch.setattr(runner, "simulate_aggregates", counting)
    again = simsettle.simulate(
        loaded, chunk_trials=16, checkpoint=store, resume=True, progress=False
    )
    _same(again, reference)
    assert len(calls) == len(chunks[::3]) + 1


def test_a_checkpoint_of_another_run_is_refused(loaded, tmp_path):
    store = tmp_path / "ckpt"
    simsettle.simulate(loaded, chunk_trials=16, checkpoint=store, progress=False)
    other = parse_scenario(SCENARIO.replace("seed: 12345", "seed: 7"), "small.yaml")
    with pytest.raises(SimulationError, match=r"different run.*seed"):
        simsettle.simulate(other, chunk_trials=16, checkpoint=store, resume=True, progress=False)
    with pytest.raises(SimulationError, match="chunk_trials"):
        simsettle.simulate(loaded, chunk_trials=8, checkpoint=store, resume=True, progress=False)
    # Without resume, a new run replaces it.
    simsettle.simulate(other, chunk_trials=16, checkpoint=store, progress=False)


def test_run_to_file_removes_its_checkpoint(loaded, reference, tmp_path):
    out = tmp_path / "r.nc"
    ds = run_to_file(loaded, out, chunk_trials=16, progress=False)
    _same(ds, reference)
    assert out.is_file()
    assert not checkpoint_dir(out).exists()
    _same(simsettle.open_results(out), reference)


# ------------------------------------------------------------------------------------------
# Killing real runs

SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)


def _start(scenario: Path, out: Path, resume: bool) -> subprocess.Popen[bytes]:
    # `simsettle run` itself: 600 trials in chunks of 4 on one thread, --resume when resuming.
    cmd = [sys.executable, "-m", "simsettle.cli", "run", str(scenario), "-o", str(out)]
    cmd += ["--chunk-trials", "4", "--threads", "1", "--no-progress"]
    return subprocess.Popen(
        [*cmd, "--resume"] if resume else cmd,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _kill_and_resume(tmp_path: Path, n_kills: int) -> list[dict[str, object]]:
    scenario = tmp_path / "s.yaml"
    # Long enough to kill mid-run: 600 trials in chunks of 4 on one thread.
    scenario.write_text(SCENARIO.replace("trials: 120", "trials: 600"))
    ref_out = tmp_path / "ref.nc"
    t = time.perf_counter()
    assert _start(scenario, ref_out, resume=False).wait(timeout=600) == 0
    duration = time.perf_counter() - t
    reference = simsettle.open_results(ref_out)
    out = tmp_path / "out.nc"
    records = []
    for i in range(n_kills):
        previous = None
        if i % 2:  # half the kills happen over a previous complete result
            out.write_bytes(ref_out.read_bytes())
            previous = _digest(out)
        elif out.exists():
            out.unlink()
        proc = _start(scenario, out, resume=False)
        delay = duration * (i + 0.5) / n_kills  # spread over start-up, simulation and writing
        time.sleep(delay)
        sig = SIGNALS[i % len(SIGNALS)]
        proc.send_signal(sig)
        code = proc.wait(timeout=600)
        ckpt = checkpoint_dir(out)
        finished = len(list(ckpt.glob("*.npy"))) if ckpt.exists() else 0
        # Either no output, the previous complete one, or (killed after it finished) the result
        # (whose bytes differ from the reference's only by the time in its history).
        now = _digest(out)
        if now not in {None, previous}:
            _same(simsettle.open_results(out), reference)
        partial = [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]
        resumed = _start(scenario, out, resume=True).wait(timeout=600)
        assert resumed == 0
        _same(simsettle.open_results(out), reference)
        assert not ckpt.exists()
        # A write killed mid-way (SIGKILL) leaves a hidden temporary file; the next run removes it.
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        records.append(
            {
                "delay_s": round(delay, 2),
                "signal": sig.name,
                "exit": code,
                "chunks_done": finished,
                "temporary_file_left": bool(partial),
                "output": "absent" if now is None else "previous" if now == previous else "new",
            }
        )
    return records


@pytest.mark.slow  # about 20 s of killed and resumed subprocesses
def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path):
    records = _kill_and_resume(tmp_path, 3)
    assert len(records) == 3


@pytest.mark.slow
def test_twenty_four_kills_spread_over_the_run(tmp_path):
    records = _kill_and_resume(tmp_path, 24)
    report = tmp_path / "kills.json"
    report.write_text(json.dumps(records, indent=1))
    print(json.dumps(records))
    # Spread: some before any chunk was kept, some mid-run, some after the last.
    done = [r["chunks_done"] for r in records]
    assert min(done) == 0
    assert max(done) > 0
    assert len(records) == 24


# A clean-up that never ends: the interrupted code left a lock held and waits for it.
STUCK = """\
import os, sys, threading, time
from simsettle.cli import _interrupt_deadline

lock = threading.Lock()
with _interrupt_deadline(grace=1.0):
    try:
        print("ready", flush=True)
        time.sleep(60)
    except KeyboardInterrupt:
        lock.acquire()
        lock.acquire()  # never returns
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_run_ends_even_when_its_clean_up_hangs(sig):
    """``simsettle run`` wraps the run in ``_interrupt_deadline``: the signal interrupts it, and
    if the clean-up has not ended the process a grace period later (here 1 s), it exits with
    130 at once, saying why. (A CI run once waited 600 s on a run that never exited after
    its signal.)"""
    proc = subprocess.Popen(
        [sys.executable, "-c", STUCK],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    t = time.perf_counter()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    waited = time.perf_counter() - t
    assert proc.returncode == 130
    assert b"clean-up did not finish within 1 s" in err
    assert 0.9 < waited < 30


def test_interrupt_deadline_restores_the_handlers():
    from simsettle.cli import _interrupt_deadline

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    with _interrupt_deadline(grace=5.0):
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_an_interrupt_during_the_write_waits_for_the_file_library(
    reference, tmp_path, monkeypatch, suffix
):
    """Ctrl-C in the middle of the file library's write is held until the library returns
    (an interrupt inside it once left xarray's HDF5 lock held, and the close then waited for
    ever), then raised before the rename: no result, no temporary file, nothing stuck."""
    import os

    import xarray as xr

    from simsettle.results import write_results

    method = "to_netcdf" if suffix == ".nc" else "to_zarr"
    real = getattr(xr.Dataset, method)
    seen = []

    def write(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal arrives here, inside the library's write
        seen.append("the write went on")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(xr.Dataset, method, write)
    out = tmp_path / f"r{suffix}"
    with pytest.raises(KeyboardInterrupt):
        write_results(reference, out)
    assert seen == ["the write went on"]
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
