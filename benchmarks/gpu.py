"""GPU throughput: the member-level kernel on CUDA against the CPU kernel on 2 threads.

Usage: python benchmarks/gpu.py [--members 20000] [--trials 10000] [--cpu-trials 40]
                                [--block 128] [--lanes 16] [--max-registers N] [--sweep]

The reference workload of benchmarks/run.py (members at the given size, 3 base years and 1
performance year): per-trial aggregates only, no settlement, so both sides time the same work.
Prints member-years per second on the GPU (median of repeated runs after a warm-up that compiles
the kernel), the CPU kernel's on 2 numba threads in the same run (fewer trials: the rate is per
member-year), their ratio, and how far the GPU's aggregates are from the CPU's on the first trials.
``--sweep`` also times a few launch shapes (threads per block, threads per trial, register cap).
On a machine without numba-cuda or without a GPU it says so and exits 0; it imports without
numba-cuda.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from run import workload

from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates

CPU_THREADS = 2
SWEEP = [  # (block, lanes, max_registers)
    (128, 16, None),
    (256, 16, None),
    (64, 16, None),
    (128, 16, 128),
    (256, 16, 96),
    (256, 64, None),
    (256, 256, None),
]


def timed(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def why_no_gpu() -> str | None:
    """None when the CUDA path can run here; otherwise the reason it cannot."""
    from simsettle.models import gpu

    try:
        cuda = gpu._cuda()
    except ImportError as e:
        return str(e)
    if cuda.config.ENABLE_CUDASIM:
        return "NUMBA_ENABLE_CUDASIM is set: the simulator is far too slow to time"
    if not cuda.is_available():
        return "numba-cuda is installed but finds no CUDA GPU (numba.cuda.is_available() is False)"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--cpu-trials", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--lanes", type=int, default=R.LANES)
    parser.add_argument("--max-registers", type=int, default=None)
    parser.add_argument("--sweep", action="store_true", help="also time a few launch shapes")
    args = parser.parse_args()

    reason = why_no_gpu()
    if reason is not None:
        print(f"GPU benchmark skipped: {reason}")
        return
    from numba import cuda

    from simsettle.models.gpu import simulate_aggregates_cuda

    sc = workload(args.members, args.trials).scenario
    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    years = inputs.n_years
    device = cuda.get_current_device()
    rows: list[tuple[str, str]] = []

    def gpu_rate(block: int, lanes: int, max_registers: int | None) -> float:
        def run() -> None:
            simulate_aggregates_cuda(
                inputs, key, 0, args.trials, block=block, lanes=lanes, max_registers=max_registers
            )

        simulate_aggregates_cuda(
            inputs, key, 0, 2, block=block, lanes=lanes, max_registers=max_registers
        )  # compile
        return args.members * args.trials * years / timed(run, args.repeats)

    rate = gpu_rate(args.block, args.lanes, args.max_registers)

    numba.set_num_threads(min(CPU_THREADS, numba.config.NUMBA_NUM_THREADS))
    simulate_aggregates(inputs, key, 0, 2, parallel=True)  # compile or load the cache
    t_cpu = timed(
        lambda: simulate_aggregates(inputs, key, 0, args.cpu_trials, parallel=True), args.repeats
    )
    cpu_rate = args.members * args.cpu_trials * years / t_cpu

    # Agreement on the first trials: member fields to the bit where the arithmetic and the order
    # of addition are the CPU's; everything within 1e-12 relative.
    n_check = min(args.cpu_trials, args.trials, 20)
    got = simulate_aggregates_cuda(
        inputs,
        key,
        0,
        n_check,
        block=args.block,
        lanes=args.lanes,
        max_registers=args.max_registers,
    )
    want = simulate_aggregates(inputs, key, 0, n_check, parallel=True)
    rel = np.abs(got - want) / np.maximum(np.abs(want), np.finfo(float).tiny)
    spend_equal = np.array_equal(got[:, :, R.F_SPEND], want[:, :, R.F_SPEND])

    shape = f"block {args.block}, {args.lanes} threads per trial"
    if args.max_registers:
        shape += f", at most {args.max_registers} registers"
    rows += [
        (f"GPU member-years/s ({shape})", f"{rate / 1e9:.2f} G"),
        (f"CPU member-years/s, {CPU_THREADS} threads", f"{cpu_rate / 1e6:.1f} M"),
        (f"GPU / CPU on {CPU_THREADS} threads", f"{rate / cpu_rate:.0f}x"),
        (f"max relative difference, GPU vs CPU, {n_check} trials", f"{rel.max():.1e}"),
        ("spend identical to the bit", "yes" if spend_equal else "no"),
    ]
    if args.sweep:
        for block, lanes, max_registers in SWEEP:
            label = f"GPU member-years/s, block {block}, {lanes} per trial"
            if max_registers:
                label += f", {max_registers} registers"
            rows.append((label, f"{gpu_rate(block, lanes, max_registers) / 1e9:.2f} G"))

    name = getattr(device, "name", "a CUDA device")
    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"{name.decode() if isinstance(name, bytes) else name}; "
        f"workload {args.members:,} members x {args.trials:,} trials x {years} years "
        f"(CPU: {args.cpu_trials} trials)"
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
