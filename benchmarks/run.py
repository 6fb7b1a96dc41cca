"""Performance table of issues 5 and 18: throughput against numpy, the numpy model, thread and
dask scaling (1, 2 and 4 workers), scaling exponents, memory, start-up, the kernel against its
floor (benchmarks/floor.py), seconds to a precise answer (benchmarks/precision.py), the
compound frequency-severity case (benchmarks/compound.py) and the GPU (benchmarks/gpu.py, or
why not). Prints one markdown table.

Usage: python benchmarks/run.py [--quick] [--members 20000] [--trials 10000] ...

The reference workload: 20,000 members, 3 base years and 1 performance year, 4 designs including
individual stop-loss, 10,000 trials, the full model (turnover, risk, utilization, stop-loss and
aggregation), settled and labelled as an xarray Dataset. Throughput is per simulated member-year,
median of repeated runs, compilation excluded (a warm-up run first).

Against the same model written in numpy (benchmarks/numpy_model.py, checked against the engine in
tests/test_numpy_model.py): member-years per second on fewer trials, and the peak resident memory
of each on the same workload, each in a fresh process after imports and warm-up (above that
baseline, and in total). Memory of a 100,000-trial run: benchmarks/memory.py, in a fresh process.

--quick: 1,000 trials for throughput, 200 members for the 100,000-trial memory run, no dask.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _table import print_table
from compound import compound_rows
from floor import floor_rows
from memory import run_pair
from numpy_model import simulate_numpy
from precision import precision_rows

import simsettle
from simsettle.models.population import compile_model
from simsettle.scenario import parse_scenario

ROOT = Path(__file__).resolve().parent.parent

WORKLOAD = """\
schema_version: 1
name: reference workload
seed: 1
trials: {trials}
first_performance_year: 2026
performance_years: {years}
population: {{members: {members}, turnover: 0.15}}
cost: {{pmpm: 1000.0}}
designs:
  - {{name: upside, template: commercial_upside_only}}
  - {{name: two_sided, template: commercial_two_sided}}
  - {{name: enhanced, template: mssp_enhanced}}
  - {{name: two_sided_sl, template: commercial_two_sided,
      stop_loss: {{attachment: 250000.0, coinsurance: 0.1, premium_loading: 0.2}}}}
"""


#: Every mechanism of the population model on (issue 14's budget): the defaults already run
#: exposure, deaths and persistent cost; this adds loss of attribution, entrants' cost, a noisy
#: risk score, persistent rosters correlated with risk, leakage and practice churn (a practice
#: leaves after the first of two performance years, so that run simulates 5 years, not 4).
EVERY_MECHANISM = (
    "turnover: 0.15, attribution_loss: 0.02, entrant_cost_ratio: 0.9, "
    "risk_score_accuracy: 0.6, attribution: {{payer_only_share: 0.3, "
    "payer_only_correlation: 0.3, provider_only_share: 0.1, leakage_share: 0.2}}}}"
)
CHURN = """\
participants:
  practices:
    - {name: a, share: 0.5, cost_ratio: 0.9}
    - {name: b, share: 0.3}
    - {name: c, share: 0.2, cost_ratio: 1.3, leaves: 2027}
"""


def workload(
    members: int, trials: int, years: int = 1, every: bool = False, memoryless: bool = False
):
    text = WORKLOAD.replace("turnover: 0.15}}", EVERY_MECHANISM) if every else WORKLOAD
    if memoryless:
        text = text.replace("pmpm: 1000.0}}", "pmpm: 1000.0, persistence: 0.0}}")
    text = text.format(members=members, trials=trials, years=max(years, 2) if every else years)
    return parse_scenario(text + CHURN if every else text)


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def numpy_lognormal_rate(n: int = 20_000_000) -> float:
    rng = np.random.default_rng(0)
    return n / timed(lambda: rng.lognormal(0.0, 1.0, size=n), 3)


def peak_memory(model: str, members: int, trials: int) -> dict[str, float]:
    """Baseline and peak resident memory (MiB) of one model's run in a fresh process."""
    cmd = [sys.executable, str(ROOT / "benchmarks" / "numpy_model.py"), model]
    cmd += ["--members", str(members), "--trials", str(trials), "--threads", "2"]
    done = subprocess.run(cmd, capture_output=True, check=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponent(xs: list[float], ts: list[float]) -> float:
    slope, _ = np.polyfit(np.log(xs), np.log(ts), 1)
    return float(slope)


def compile_then_cached(scenario: Path) -> tuple[float, float]:
    """Seconds of `simsettle run` with an empty numba cache, then of a second run."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp) / "cache"))
        cmd = [sys.executable, "-m", "simsettle.cli", "run", str(scenario), "--trials", "20"]
        cmd += ["-o", str(Path(tmp) / "r.nc"), "--no-progress"]
        times = []
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, env=env)
            times.append(time.perf_counter() - t)
    return times[0], times[1]


def gpu_row() -> tuple[str, str]:
    from gpu import why_no_gpu

    reason = why_no_gpu()
    if reason is not None:
        return ("GPU member-years/s", f"not measured: {reason}")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py")], capture_output=True, text=True
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("| GPU member-years/s")]
    return ("GPU member-years/s", lines[0].split("|")[2].strip() if lines else done.stdout[-200:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=10_000, help="trials of the 2-thread runs")
    parser.add_argument("--trials-1thread", type=int, default=2_000)
    parser.add_argument("--scaling-trials", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--numpy-trials", type=int, default=50, help="trials of the timed numpy-model runs"
    )
    parser.add_argument(
        "--memory-trials", type=int, default=200, help="trials of the peak-memory comparison"
    )
    parser.add_argument(
        "--memory-members", type=int, default=50_000, help="members of the 100,000-trial run"
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs, no dask")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.trials_1thread, args.memory_members = 1_000, 500, 200
    rows: list[tuple[str, str]] = []

    simsettle.simulate(workload(50, 2), progress=False)  # compile or load the cache
    base = workload(args.members, args.trials)
    member_years = args.members * args.trials * 4
    t2 = timed(lambda: simsettle.simulate(base, threads=2, progress=False), args.repeats)
    one = workload(args.members, args.trials_1thread)
    t1 = timed(lambda: simsettle.simulate(one, threads=1, progress=False), args.repeats)
    rate2 = member_years / t2
    rate1 = args.members * args.trials_1thread * 4 / t1
    every = workload(args.members, args.trials, every=True)
    t_every = timed(lambda: simsettle.simulate(every, threads=2, progress=False), args.repeats)
    no_persistence = workload(args.members, args.trials, memoryless=True)
    t_plain = timed(
        lambda: simsettle.simulate(no_persistence, threads=2, progress=False), args.repeats
    )
    lognormal = numpy_lognormal_rate()
    rows += [
        (
            f"reference workload ({args.members:,} x {args.trials:,} trials x 4 years, "
            "4 designs), 2 threads, s",
            f"{t2:.1f}",
        ),
        ("member-years/s, 2 threads", f"{rate2 / 1e6:.1f} M"),
        (f"member-years/s, 1 thread ({args.trials_1thread:,} trials)", f"{rate1 / 1e6:.1f} M"),
        ("numpy lognormal draws/s, 1 thread", f"{lognormal / 1e6:.1f} M"),
        ("engine (2 threads) / numpy lognormal (goal 1, floor 0.5)", f"{rate2 / lognormal:.2f}"),
        (
            "the same, every population mechanism on (issue 14: attribution loss, entrants' "
            "cost, a noisy risk score, rosters, leakage, practice churn; 5 simulated years)",
            f"{member_years * 5 / 4 / t_every / lognormal:.2f}",
        ),
        (
            "the same, cost.persistence 0 (the memoryless member)",
            f"{member_years / t_plain / lognormal:.2f}",
        ),
        ("2 threads / 1 thread (floor 1.8)", f"{rate2 / rate1:.2f}x"),
    ]

    # The same model written the straightforward way in numpy (benchmarks/numpy_model.py, checked
    # against the engine by tests/test_numpy_model.py): all trials at once, one thread. Its rate
    # is per member-year like the engine's, on fewer trials; it stops at the per-trial
    # aggregates, while the engine's time also settles the 4 designs and builds the Dataset.
    small = workload(args.members, args.numpy_trials).scenario
    inputs = compile_model(small)
    simulate_numpy(compile_model(workload(50, 2).scenario), 2, 0)
    t_np = timed(lambda: simulate_numpy(inputs, args.numpy_trials, small.seed), args.repeats)
    numpy_rate = args.members * args.numpy_trials * 4 / t_np
    rows += [
        (f"numpy model member-years/s ({args.numpy_trials} trials)", f"{numpy_rate / 1e6:.1f} M"),
        ("engine (2 threads) / numpy model speed (floor 10)", f"{rate2 / numpy_rate:.2f}x"),
        ("engine (1 thread) / numpy model speed", f"{rate1 / numpy_rate:.2f}x"),
    ]
    # Peak memory, each in a fresh process: imports and warm-up first, then the same workload
    # (members x memory_trials x 4 years); the engine's includes settling and the Dataset.
    mem = {m: peak_memory(m, args.members, args.memory_trials) for m in ("engine", "numpy")}
    above = {m: v["peak_mib"] - v["baseline_mib"] for m, v in mem.items()}
    label = f"{args.members:,} x {args.memory_trials} trials"
    for m, name in (("engine", "engine (2 threads)"), ("numpy", "numpy model")):
        rows.append(
            (
                f"peak memory, {name}, {label}: above baseline / total",
                f"{above[m]:.1f} / {mem[m]['peak_mib']:.0f} MiB",
            )
        )
    rows += [
        (
            "engine / numpy peak memory, above baseline (floor 0.1)",
            f"{above['engine'] / above['numpy']:.4f}",
        ),
        (
            "engine / numpy peak memory, total",
            f"{mem['engine']['peak_mib'] / mem['numpy']['peak_mib']:.2f}",
        ),
        (
            f"numpy model all at once at {args.trials:,} trials (its growth x trials), GiB",
            f"{above['numpy'] / args.memory_trials * args.trials / 1024:.1f}",
        ),
    ]

    n = args.scaling_trials
    sizes = [args.members // 4, args.members // 2, args.members]
    ts = [timed(lambda m=m: simsettle.simulate(workload(m, n), progress=False), 1) for m in sizes]
    rows.append(("time exponent in members", f"{exponent(sizes, ts):.2f}"))
    trials = [n // 4, n // 2, n]
    ts = [
        timed(lambda n=n: simsettle.simulate(workload(args.members // 4, n), progress=False), 1)
        for n in trials
    ]
    rows.append(("time exponent in trials", f"{exponent(trials, ts):.2f}"))
    years = [1, 3, 7]
    ts = [
        timed(
            lambda y=y: simsettle.simulate(workload(args.members // 4, n, y), progress=False),
            1,
        )
        for y in years
    ]
    rows.append(("time exponent in simulated years", f"{exponent([y + 3 for y in years], ts):.2f}"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak resident memory of this process", f"{peak:.0f} MiB"))
    big = run_pair(100_000, args.memory_members, None)
    rows.append(
        (
            f"100,000 trials x {args.memory_members:,} members: peak RSS / growth in the run "
            "(limit 2 GiB)",
            f"{big['peak'] / 2**20:.0f} / {(big['peak'] - big['before']) / 2**20:.0f} MiB "
            f"in {big['seconds']:.0f} s",
        )
    )

    if not args.quick:
        from simsettle.runner import local_cluster

        dask_times = {}
        for workers in (1, 2, 4):
            client = local_cluster(workers)
            try:
                simsettle.simulate(workload(50, 4), client=client, progress=False)
                chunk = max(1, args.trials // 8)  # several tasks per worker
                t = timed(
                    lambda c=client, k=chunk: simsettle.simulate(
                        base, client=c, chunk_trials=k, progress=False
                    ),
                    1,
                )
            finally:
                cluster = client.cluster
                client.close()
                cluster.close()
            dask_times[workers] = t
            rows.append(
                (
                    f"dask LocalCluster, {workers} worker process(es) of 1 thread, s "
                    f"(speed-up on 1 worker; {os.cpu_count()} cores)",
                    f"{t:.2f} ({dask_times[1] / t:.2f}x)",
                )
            )
        scenario = ROOT / "scenarios" / "examples" / "mssp_style.yaml"
        for label, cmd in [
            ("simsettle --help", ["--help"]),
            ("simsettle validate", ["validate", str(scenario)]),
        ]:
            exe = [sys.executable, "-m", "simsettle.cli", *cmd]
            t = timed(lambda e=exe: subprocess.run(e, capture_output=True, check=True), 5)
            rows.append((f"{label}, s", f"{t:.2f}"))
        first, second = compile_then_cached(scenario)
        rows.append(
            ("simsettle run, empty numba cache / second run, s", f"{first:.1f} / {second:.1f}")
        )
    # The kernel against its floor (benchmarks/floor.py): every mechanism on, 1 and 2 threads.
    rows += floor_rows(args.members, 4 if args.quick else 8, 5 if args.quick else 11)
    # Seconds to a precise answer (benchmarks/precision.py), with and without control variates.
    rows += precision_rows(repeats=1, target="0.05%" if args.quick else "0.02%")
    # The textbook compound case (benchmarks/compound.py): simsettle, plain numpy and GEMAct.
    rows += compound_rows(100_000 if args.quick else 1_000_000, 1 if args.quick else 3)
    rows.append(gpu_row())
    print_table(
        rows, f"workload {args.members:,} members x {args.trials:,} trials x 4 years, 4 designs"
    )


if __name__ == "__main__":
    main()
