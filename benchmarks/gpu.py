"""GPU throughput: the member-level kernel on CUDA against the same machine's CPU cores.

Usage: python benchmarks/gpu.py [--members 20000] [--trials 100000] [--cpu-trials 400]
                                [--block 128] [--lanes 16] [--max-registers N] [--sweep]
                                [--study-trials 100000] [--study-members 100000]

The reference workload of benchmarks/run.py with every population mechanism on (its
``workload(..., every=True)``: members at the given size, 3 base years and 2 performance
years), per-trial aggregates only, no settlement, so both sides time the same work. Prints
member-years per second on the GPU (median of repeated runs after a warm-up that compiles the
kernel), the CPU kernel's on every core of this machine in the same run (fewer trials: the rate
is per member-year) and their ratio; the kernel's registers per thread, spilled (local) bytes,
shared memory and theoretical occupancy; the seconds of a study of ``--study-trials`` trials x
``--study-members`` members x 4 years (the default workload at that size: 3 base years and 1
performance year), run in chunks of 10,000 trials; and whether every aggregate of the first
trials is the CPU's to the bit (the count of elements that differ, and the largest relative
difference). ``--sweep`` also times a few launch shapes. On a machine without numba-cuda or
without a GPU it says so and exits 0; it imports without numba-cuda.

On the device machine (see the library's ``device`` entry): its image has numba, numba-cuda,
numpy, scipy, xarray, typer, rich and tqdm but not pydantic or ruamel.yaml, which travel as
wheels (``.whl``, ignored by git): here, ``python3 -m pip download --no-deps --only-binary=:all:
--python-version 3.12 --implementation cp --platform manylinux_2_17_x86_64 -d .whl pydantic
pydantic-core annotated-types typing-inspection ruamel.yaml``; there, in one call carrying
``.whl`` with a timeout of 300 s (a rerun fits in the 15 minutes):
``python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl &&
PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1 python3 benchmarks/gpu.py``.
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


def cpu_threads() -> int:
    """Every core numba may use here (the device machine has 16)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def compare(got: np.ndarray, want: np.ndarray) -> tuple[int, float, list[int]]:
    """Elements that differ in any bit, the largest relative difference, and the fields (last
    axis) where they are (the practices' fields: N_BASE_FIELDS + attachments and on)."""
    bits = got.view(np.uint64) != want.view(np.uint64)
    rel = np.abs(got - want) / np.maximum(np.abs(want), np.finfo(float).tiny)
    fields = [int(f) for f in np.flatnonzero(bits.any(axis=(0, 1)))]
    return int(np.count_nonzero(bits)), float(rel.max()), fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--cpu-trials", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--lanes", type=int, default=R.LANES)
    parser.add_argument("--max-registers", type=int, default=None)
    parser.add_argument("--study-trials", type=int, default=100_000)
    parser.add_argument("--study-members", type=int, default=100_000)
    parser.add_argument("--check-trials", type=int, default=64)
    parser.add_argument("--sweep", action="store_true", help="also time a few launch shapes")
    parser.add_argument(
        "--simulator",
        action="store_true",
        help="run on numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1; tiny sizes): checks the "
        "script itself, not the speed",
    )
    args = parser.parse_args()

    reason = why_no_gpu()
    if reason is not None and not (args.simulator and "CUDASIM" in reason):
        print(f"GPU benchmark skipped: {reason}")
        return
    from numba import cuda

    from simsettle.models.gpu import kernel_resources, simulate_aggregates_cuda

    sc = workload(args.members, args.trials, every=True).scenario
    inputs = compile_model(sc, n_base_years=sc.simulated_base_years)
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
        cuda.synchronize()
        return args.members * args.trials * years / timed(run, args.repeats)

    rate = gpu_rate(args.block, args.lanes, args.max_registers)
    res = kernel_resources(inputs, block=args.block, lanes=args.lanes)

    threads = cpu_threads()
    numba.set_num_threads(threads)
    simulate_aggregates(inputs, key, 0, 2, parallel=True)  # compile or load the cache
    t_cpu = timed(
        lambda: simulate_aggregates(inputs, key, 0, args.cpu_trials, parallel=True), args.repeats
    )
    cpu_rate = args.members * args.cpu_trials * years / t_cpu

    # The same aggregates? Every field of the first trials, to the bit.
    n_check = min(args.check_trials, args.trials)
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
    differ, rel, fields = compare(got, want)

    # The study: many trials of a large population, in chunks (the default model, 4 years).
    study = workload(args.study_members, args.study_trials).scenario
    s_inputs = compile_model(study, n_base_years=study.simulated_base_years)
    simulate_aggregates_cuda(s_inputs, key, 0, 2)  # compile its layout
    cuda.synchronize()
    t0 = time.perf_counter()
    for first in range(0, args.study_trials, 10_000):
        simulate_aggregates_cuda(s_inputs, key, first, min(10_000, args.study_trials - first))
    cuda.synchronize()
    t_study = time.perf_counter() - t0
    study_rate = args.study_members * args.study_trials * s_inputs.n_years / t_study

    shape = f"block {args.block}, {args.lanes} threads per trial"
    if args.max_registers:
        shape += f", at most {args.max_registers} registers"
    rows += [
        (f"GPU member-years/s, every mechanism ({shape}; goal 10 G)", f"{rate / 1e9:.2f} G"),
        (f"CPU member-years/s, {threads} threads of this machine", f"{cpu_rate / 1e6:.1f} M"),
        (f"GPU / CPU on {threads} threads", f"{rate / cpu_rate:.0f}x"),
        (
            "registers per thread / local (spilled) bytes / shared bytes per block",
            f"{res['registers']:.0f} / {res['local_bytes']:.0f} / {res['shared_bytes']:.0f}",
        ),
        (
            f"theoretical occupancy ({res['multiprocessors']:.0f} multiprocessors)",
            f"{res['occupancy']:.0%}",
        ),
        (
            f"study: {args.study_trials:,} trials x {args.study_members:,} members x "
            f"{s_inputs.n_years} years, s",
            f"{t_study:.1f} ({study_rate / 1e9:.2f} G member-years/s)",
        ),
        (
            f"aggregates identical to the CPU's, {n_check} trials x {years} years x "
            f"{inputs.n_fields} fields",
            "yes"
            if differ == 0
            else f"no: {differ} elements of fields {fields} differ, at most {rel:.1e} relative",
        ),
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
        f"{name.decode() if isinstance(name, bytes) else name}; {threads} CPU threads; "
        f"workload {args.members:,} members x {args.trials:,} trials x {years} years, every "
        f"mechanism (CPU: {args.cpu_trials} trials)"
    )
    print()
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
