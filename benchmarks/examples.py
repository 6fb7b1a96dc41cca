"""Wall time of every example scenario at full size, as `simsettle run` does it.

Usage: python benchmarks/examples.py [--repeats 3] [--threads N] [NAME ...]

Prints one row per example: trials, members, simulated years, median seconds of simulate() and of
the NetCDF write, and simulated member-years per second; plus numpy's lognormal draws per second
on one thread measured in the same run, for scale. Compilation is excluded (a warm-up run first);
`simsettle run` pays it once per machine thanks to numba's cache.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import simsettle

ROOT = Path(__file__).resolve().parent.parent


def _numpy_lognormal_rate(n: int = 20_000_000, repeats: int = 3) -> float:
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        rng.lognormal(0.0, 1.0, size=n)
        times.append(time.perf_counter() - t)
    return n / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("names", nargs="*", help="example file stems (default: all)")
    args = parser.parse_args()

    examples = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))
    if args.names:
        examples = [p for p in examples if p.stem in args.names]
    simsettle.simulate(examples[0], trials=2, progress=False)  # compile or load the cache
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in examples:
            sc = simsettle.load_scenario(path).scenario
            years = sc.benchmark.base_years + sc.performance_years
            sim_t, write_t = [], []
            for _ in range(args.repeats):
                t = time.perf_counter()
                ds = simsettle.simulate(path, threads=args.threads, progress=False)
                sim_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                simsettle.write_results(ds, Path(tmp) / "r.nc")
                write_t.append(time.perf_counter() - t)
            sim = statistics.median(sim_t)
            member_years = sc.trials * sc.population.members * years
            rows.append(
                (
                    path.name,
                    sc.trials,
                    sc.population.members,
                    years,
                    len(sc.designs),
                    sim,
                    statistics.median(write_t),
                    member_years / sim,
                )
            )
    lognormal = _numpy_lognormal_rate()

    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"simsettle {simsettle.__version__}, numpy {np.__version__}, "
        f"median of {args.repeats} runs, threads={args.threads or 'all'}"
    )
    print()
    header = (
        "scenario",
        "trials",
        "members",
        "years",
        "designs",
        "simulate s",
        "write s",
        "member-years/s",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, trials, members, years, designs, sim, write, rate in rows:
        print(
            f"| {name} | {trials:,} | {members:,} | {years} | {designs} | {sim:.2f} | "
            f"{write:.2f} | {rate / 1e6:.1f} M |"
        )
    print()
    print(f"numpy default_rng().lognormal, one thread: {lognormal / 1e6:.1f} M draws/s")


if __name__ == "__main__":
    main()
