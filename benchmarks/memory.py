"""Peak memory of runs against simsettle's own estimate. Prints one markdown table.

Usage: python benchmarks/memory.py [TRIALSxMEMBERS ...] [--quick] [--threads N]

Each (trials, members) pair runs ``simsettle.simulate`` on the reference workload (the one in
benchmarks/run.py: 3 base years and 1 performance year, 4 designs including individual stop-loss)
in a fresh Python process, so that every row's peak resident memory (``ru_maxrss``) is its own.
The table gives the peak, the resident memory of the process before the run (interpreter,
libraries and compiled kernels, after a tiny warm-up run), the growth during the run, the
estimate (``simsettle.runner.estimate_memory``, which counts the run's arrays but not the
interpreter) and the size of the returned Dataset. Issue 5 asks that 100,000 trials x 50,000
members stay under 2 GiB and that memory not grow with members: the default pair is that run
(about 10 minutes on 2 cores); --quick runs 100,000 x 200 and 10,000 x 200 instead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

WORKLOAD = """\
schema_version: 1
name: reference workload
seed: 1
trials: {trials}
first_performance_year: 2026
performance_years: 1
population: {{members: {members}, turnover: 0.15}}
cost: {{pmpm: 1000.0}}
designs:
  - {{name: upside, template: commercial_upside_only}}
  - {{name: two_sided, template: commercial_two_sided}}
  - {{name: enhanced, template: mssp_enhanced}}
  - {{name: two_sided_sl, template: commercial_two_sided,
      stop_loss: {{attachment: 250000.0, coinsurance: 0.1, premium_loading: 0.2}}}}
"""

DEFAULT = [(100_000, 50_000)]
QUICK = [(100_000, 200), (10_000, 200)]
MIB = 2**20
LIMIT = 2 * 2**30  # issue 5: 100,000 trials x 50,000 members under 2 GiB


def _peak_rss() -> int:
    """Peak resident memory of this process so far, bytes (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def child(trials: int, members: int, threads: int | None) -> None:
    """Run one pair in this process and print its figures as one JSON line."""
    import gc

    import simsettle
    from simsettle.runner import estimate_memory
    from simsettle.scenario import parse_scenario

    scenario = parse_scenario(WORKLOAD.format(trials=trials, members=members), "workload.yaml")
    simsettle.simulate(
        parse_scenario(WORKLOAD.format(trials=2, members=50)), threads=threads, progress=False
    )  # compile or load the numba cache, so the baseline holds the kernels
    gc.collect()
    before = _peak_rss()
    t = time.perf_counter()
    ds = simsettle.simulate(scenario, threads=threads, progress=False)
    seconds = time.perf_counter() - t
    figures = {
        "trials": trials,
        "members": members,
        "seconds": seconds,
        "peak": _peak_rss(),
        "before": before,
        "estimate": estimate_memory(scenario),
        "dataset": int(ds.nbytes),
    }
    print(json.dumps(figures))


def run_pair(trials: int, members: int, threads: int | None) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", f"{trials}x{members}"]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{trials}x{members} failed:\n{done.stderr}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def pair(text: str) -> tuple[int, int]:
    try:
        trials, members = (int(x.replace(",", "").replace("_", "")) for x in text.split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TRIALSxMEMBERS, got {text!r}") from None
    return trials, members


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="*", type=pair, metavar="TRIALSxMEMBERS")
    parser.add_argument("--quick", action="store_true", help="100,000 x 200 and 10,000 x 200")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (all cores)")
    parser.add_argument("--child", type=pair, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(*args.child, args.threads)
        return
    pairs = args.pairs or (QUICK if args.quick else DEFAULT)

    import numpy as np

    import simsettle

    rows = [run_pair(trials, members, args.threads) for trials, members in pairs]
    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"simsettle {simsettle.__version__}, numpy {np.__version__}, {os.cpu_count()} cores; "
        "reference workload: 3 base years + 1 performance year, 4 designs; one process per row"
    )
    print()
    print(
        "| trials | members | run, s | peak RSS, MiB | RSS before the run, MiB "
        "| growth, MiB | estimate, MiB | Dataset, MiB | peak < 2 GiB |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
    for r in rows:
        print(
            f"| {r['trials']:,} | {r['members']:,} | {r['seconds']:.1f} "
            f"| {r['peak'] / MIB:,.0f} | {r['before'] / MIB:,.0f} "
            f"| {(r['peak'] - r['before']) / MIB:,.0f} | {r['estimate'] / MIB:,.0f} "
            f"| {r['dataset'] / MIB:,.0f} | {'yes' if r['peak'] < LIMIT else 'NO'} |"
        )


if __name__ == "__main__":
    main()
