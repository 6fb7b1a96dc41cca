"""The runner: reproducibility to the bit across chunk sizes and threads, common random numbers,
the memory estimate and the refusal of runs that would not fit."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import xarray as xr

import simsettle
from simsettle import runner
from simsettle.errors import MemoryLimitError, SimulationError
from simsettle.runner import available_memory, estimate_memory, plan_chunks, resolve_scenario
from simsettle.scenario import parse_scenario
from tests.conftest import REPRO_CHUNKS, SMALL_SCENARIO


@pytest.fixture(scope="module")
def loaded():
    return parse_scenario(SMALL_SCENARIO, "small.yaml")


@pytest.fixture(scope="module")
def reference_run(loaded):
    return simsettle.simulate(loaded, chunk_trials=64, threads=1, progress=False)


def _assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=str(name))


def test_plan_chunks_cover_trials_in_order():
    assert plan_chunks(10, 4) == [(0, 4), (4, 4), (8, 2)]
    assert plan_chunks(3, 1000) == [(0, 3)]
    with pytest.raises(ValueError, match="positive"):
        plan_chunks(0, 5)


needs_two_threads = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads"
)


@pytest.mark.parametrize("threads", [1, pytest.param(2, marks=needs_two_threads)])
@pytest.mark.parametrize("chunk", REPRO_CHUNKS)
def test_bit_identical_across_chunk_sizes_and_threads(
    repro_loaded, repro_baseline, monkeypatch, chunk, threads
):
    # The full matrix of issue 5: chunk sizes 1, 7, 1000 and all trials, on 1 thread (the serial
    # kernel) and 2 threads (the prange kernel), against a run in chunks of 64; every variable.
    trials = repro_loaded.scenario.trials
    n = trials if chunk == "all" else chunk
    kernels: list[bool] = []
    real = runner.simulate_aggregates

    def spy(*args, parallel):
        kernels.append(parallel)
        return real(*args, parallel=parallel)

    monkeypatch.setattr(runner, "simulate_aggregates", spy)
    ds = simsettle.simulate(repro_loaded, chunk_trials=n, threads=threads, progress=False)
    assert kernels == [threads > 1] * -(-trials // n)  # one call per chunk, on that kernel
    assert set(ds.data_vars) == set(repro_baseline.data_vars)
    assert {"quality_score", "settlement_pv", "stop_loss_recovery"} <= set(ds.data_vars)
    _assert_same_numbers(repro_baseline, ds)


def test_same_seed_same_bits_and_other_seed_differs(loaded, reference_run):
    again = simsettle.simulate(loaded, progress=False)
    _assert_same_numbers(reference_run, again)
    other = simsettle.simulate(loaded, seed=loaded.scenario.seed + 1, progress=False)
    assert not np.array_equal(other.actual_spend.values, reference_run.actual_spend.values)
    assert other.attrs["seed"] == loaded.scenario.seed + 1


def test_more_trials_extend_without_changing_the_first(loaded, reference_run):
    longer = simsettle.simulate(loaded, trials=100, progress=False)
    assert longer.sizes["trial"] == 100
    # Design-independent outcomes of trial t depend on trial t alone.
    for name in ["actual_spend", "benchmark", "member_months", "risk_score"]:
        np.testing.assert_array_equal(longer[name].values[:64], reference_run[name].values)
    # So is the settlement of designs without stop-loss (whose premium averages over trials).
    one = longer.settlement.sel(design="one_sided").values[:64]
    np.testing.assert_array_equal(one, reference_run.settlement.sel(design="one_sided").values)


def test_designs_share_the_same_simulated_years(reference_run):
    ds = reference_run
    # Designs without stop-loss settle exactly the same savings (common random numbers).
    no_sl = ds.stop_loss_attachment.isnull()
    s = ds.savings.where(no_sl, drop=True)
    assert s.sizes["design"] == 2
    np.testing.assert_array_equal(s.isel(design=0).values, s.isel(design=1).values)
    np.testing.assert_array_equal(s.isel(design=0).values, (ds.benchmark - ds.actual_spend).values)


def test_settlement_consistent_with_rules(reference_run):
    ds = reference_run
    np.testing.assert_array_equal(ds.shared_savings - ds.shared_losses, ds.settlement)
    assert float(ds.settlement.sel(design="one_sided").min()) >= 0.0
    # Stop-loss: settled spend = spend - recovery + premium.
    sl = ds.sel(design="with_stop_loss")
    np.testing.assert_allclose(
        sl.savings,
        ds.benchmark - (ds.actual_spend - sl.stop_loss_recovery + sl.stop_loss_premium),
        rtol=1e-12,
    )
    # The premium is (1 + loading) x the year's mean recovery, the same in every trial.
    np.testing.assert_allclose(
        sl.stop_loss_premium.isel(trial=0), 1.1 * sl.stop_loss_recovery.mean("trial"), rtol=1e-12
    )
    assert float(sl.stop_loss_recovery.sum()) > 0


def test_overrides_are_validated(loaded):
    with pytest.raises(simsettle.ScenarioError):
        resolve_scenario(loaded, trials=0)
    assert resolve_scenario(loaded, trials=5, seed=9).scenario.trials == 5


def test_progress_callback_reports_every_chunk(loaded):
    calls: list[tuple[int, int]] = []
    simsettle.simulate(
        loaded, trials=10, chunk_trials=4, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(4, 10), (8, 10), (10, 10)]


def test_simulate_accepts_a_path_and_a_model(tmp_path, loaded, reference_run):
    p = tmp_path / "s.yaml"
    p.write_text(loaded.text)
    from_path = simsettle.simulate(p, progress=False)
    from_model = simsettle.simulate(loaded.scenario, progress=False)
    _assert_same_numbers(reference_run, from_path)
    _assert_same_numbers(reference_run, from_model)
    assert from_path.attrs["scenario_yaml"] == loaded.text


def test_progress_bar_is_shown_when_asked(loaded, capsys):
    simsettle.simulate(loaded, trials=6, chunk_trials=2, progress=True)
    err = capsys.readouterr().err
    assert "simulating" in err
    assert "/6 [" in err
    simsettle.simulate(loaded, trials=6, chunk_trials=2, progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------------
# memory


def test_a_run_that_would_not_fit_is_refused_before_simulating(loaded, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("simulated a run that should have been refused")

    monkeypatch.setattr(runner, "simulate_aggregates", never)
    needed = estimate_memory(loaded, trials=100_000)
    with (
        simsettle.set_options(memory_limit=needed - 1),
        pytest.raises(MemoryLimitError) as info,
    ):
        simsettle.simulate(loaded, trials=100_000, progress=False)
    err = info.value
    assert isinstance(err, SimulationError)
    assert (err.needed, err.available) == (needed, needed - 1)
    message = str(err)
    assert f"about {needed / 2**30:.1f} GiB" in message
    assert "100,000 trials x 4 designs x 2 performance years" in message
    assert "fewer trials" in message
    assert "memory_limit" in message
    # Without the option, the memory available now is the limit.
    monkeypatch.setattr(runner, "available_memory", lambda: 2**20)
    with pytest.raises(MemoryLimitError, match=r"0\.0 GiB is available"):
        simsettle.simulate(loaded, progress=False)
    monkeypatch.undo()
    monkeypatch.setattr(runner, "available_memory", lambda: None)  # cannot tell: no check
    assert simsettle.simulate(loaded, trials=3, progress=False).sizes["trial"] == 3
    monkeypatch.undo()
    with simsettle.set_options(memory_limit=estimate_memory(loaded, trials=3)):
        assert simsettle.simulate(loaded, trials=3, progress=False).sizes["trial"] == 3


def test_memory_estimate_is_within_a_factor_2_of_the_allocations(loaded):
    import gc
    import tracemalloc

    small = parse_scenario(SMALL_SCENARIO.replace("members: 300", "members: 20"), "s.yaml")
    trials = 20_000
    simsettle.simulate(small, trials=10, progress=False)  # compile or load the cache first
    gc.collect()
    tracemalloc.start()
    try:
        simsettle.simulate(small, trials=trials, threads=1, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = estimate_memory(small, trials=trials)
    assert peak <= estimate <= 2 * peak, (peak, estimate)
    # Members do not count (the kernel streams over them); trials, designs and years do.
    assert estimate_memory(loaded, trials=trials) == estimate
    assert estimate_memory(loaded, trials=2 * trials) > 1.8 * estimate


def test_available_memory_is_a_positive_figure_here():
    available = available_memory()
    if available is None:  # pragma: no cover - a platform that cannot tell
        pytest.skip("this platform does not say how much memory is available")
    assert available > 0
