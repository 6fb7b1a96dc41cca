"""The member kernel against its floor: the random numbers and transcendental functions that one
member-year of the every-mechanism model needs, timed in the kernel's own loop shape.

Usage: python benchmarks/floor.py [--members 20000] [--trials 8] [--repeats 11]

The kernel is ``simulate_aggregates`` (per-trial aggregates, no settlement) on benchmarks/run.py's
reference workload with every population mechanism on (``workload(..., every=True)``: 5 simulated
years). The floor is a numba kernel of the same shape: ``prange`` over trials, then years, then
blocks of ``LANES`` member slots, an inner loop over the lanes that LLVM vectorises; Philox4x32-10
of ``simsettle._kernels.rng`` at the kernel's counter ``(trial, year, member, stream)`` and key;
``u32_to_unit``, ``box_muller``, ``vexp``, ``vlog`` and ``ndtri`` of the kernel; every result
summed into per-lane sums, added into a per-trial aggregate at the end of the trial (so nothing is
optimised away), and nothing else. Counts per member-year (:data:`NEEDED`, :data:`PERFORMED`)
are expectations: the whole part of each is done for every lane, the fraction in a loop over
that share of the lane blocks (a full vector loop over the lanes once every ``1 / frac``
blocks), as a kernel that queued the lanes needing a draw across blocks would do, without the
queue.

Two floors:

* **needed**: what the model's results depend on (:data:`NEEDED`): e.g. a joiner's exps only
  for the 15% of slot-years with a joiner, a zero-cost member's cost no exp at all.
* **performed**: what the kernel computes (:data:`PERFORMED`, counted by running the kernel as
  plain Python with counting wrappers; see ``count_calls``): its vector loop computes the
  joiner's and both cost branches for every lane.

Every time is the median of interleaved repeats in one run (kernel, floors, kernel, ...), at 1
and 2 numba threads. ``floor_rows()`` returns the table's rows for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np
from _table import print_table

from simsettle._kernels.records import LANES

#: Per member-year of the every-mechanism workload (turnover 0.15 with replacement 1, so every
#: leaver has a joiner; persistent cost; a noisy risk score; rosters, the payer-only one
#: correlated with risk; 5 simulated years, the first a fresh roster), what the results need:
#: Philox: member, turnover (the class innovation under persistence) and score calls every
#: year (3), a leaver's exposure call (0.15), roster calls for year 0's arrivals (1/5) and
#: joiners (0.15): 3.5. Box-Muller pairs: those of the three yearly calls and the leaver's
#: exposure call: 3.15. exp: true risk and risk score (2), the occupant's cost unless zero
#: (0.85), a joiner's risk, score and nonzero cost (0.15 x 2.85), a decedent's end-of-life
#: episode (0.045): 3.3225. log (beyond Box-Muller's): the Pareto tail's position, occupant and
#: joiner (0.056 x 1.15): 0.0644. ndtri: a joiner's class normal (0.15) and the correlated
#: payer-only status of each arrival (0.35; the provider-only status has no correlation, a
#: uniform against the share): 0.5.
NEEDED = {"philox": 3.5, "box_muller": 3.15, "exp": 3.3225, "log": 0.0644, "ndtri": 0.5}
#: What the kernel performs per member-year (counted): the vector loop's 3 Philox calls, 3
#: Box-Muller pairs, 8 exps (risk and score of occupant and joiner, the occupant's latent cost
#: with its log_norm_sf, the joiner's tail and body) and 2 logs; per leaver (0.15) the exposure
#: call, its pair, 3 exps (end-of-life, the leaver's latent cost), a log and the joiner's class
#: ndtri; per arrival (0.35) a Philox call and two ndtri. Counted before commit 45b299e moved
#: the joiner's multiplier, scores and cost out of the vector loop into the leavers' (about 4
#: exps a lane fewer, about 0.6 more per leaver): to be recounted (count_calls); until then this
#: floor overstates what the kernel performs.
PERFORMED = {"philox": 3.5, "box_muller": 3.15, "exp": 8.45, "log": 2.15, "ndtri": 0.85}

STREAMS = (0, 1, 8, 4, 5, 7)  # member, turnover, score, attribution, joiner's, exposure


def _source(counts: dict[str, float]) -> str:
    """Source of a floor kernel with the whole parts of ``counts`` for every lane and one vector
    loop per fraction, run for that share of the lane blocks."""
    whole = {k: int(v) for k, v in counts.items()}
    frac = {k: v - int(v) for k, v in counts.items()}
    lines = [
        "def kernel(k0, k1, n_members, n_years, work, out):",
        "    L = LANES",
        "    for t in prange(out.shape[0]):",
        "        w = work[numba.get_thread_id()]",
        "        for i in range(L):",
        "            w[i] = 0.0",
        "        ctr = np.uint32(t)",
        *[f"        due_{k} = 0.0" for k, v in frac.items() if v > 0.0],
        "        for y in range(n_years):",
        "            yy = np.uint32(y)",
        "            for base in range(0, n_members, L):",
        "                for lane in range(L):",
        "                    mm = np.uint32(base + lane)",
        "                    acc = 0.0",
    ]
    body = []
    units: list[str] = []
    for j in range(whole["philox"]):
        s = STREAMS[j % len(STREAMS)]
        body.append(f"w0, w1, w2, w3 = philox4x32_10(ctr, yy, mm, np.uint32({s}), k0, k1)")
        for q in range(4):
            body.append(f"u{j}_{q} = u32_to_unit(w{q})")
            units.append(f"u{j}_{q}")
    normals: list[str] = []
    for j in range(whole["box_muller"]):
        a, b = units[(2 * j) % len(units)], units[(2 * j + 1) % len(units)]
        body.append(f"g{j}a, g{j}b = box_muller({a}, {b})")
        normals += [f"g{j}a", f"g{j}b"]
    terms = [*units, *normals]
    for j in range(whole["exp"]):
        body.append(f"acc += vexp(0.5 * {normals[j % len(normals)]} - 0.125)")
    for j in range(whole["log"]):
        body.append(f"acc += vlog({units[(j + 1) % len(units)]})")
    for j in range(whole["ndtri"]):
        u = units[(j + 2) % len(units)]
        body.append(f"acc += ndtri({u}, 1.0 - {u})")
    body.append("acc += " + " + ".join(terms))
    lines += ["                    " + b for b in body]
    lines.append("                    w[lane] += acc")
    # The fractions: a full vector of LANES lanes whenever the share f of the lanes seen so far
    # since the last one reaches LANES (as a kernel that queues the lanes needing a draw
    # across blocks would), so that each runs at full vector width.
    for kind, f in frac.items():
        if f <= 0.0:
            continue
        lines += [
            f"                due_{kind} += {f * LANES!r}",
            f"                if due_{kind} >= L:",
            f"                    due_{kind} -= L",
            "                    for lane in range(L):",
            "                        mm = np.uint32(base + lane)",
        ]
        if kind == "philox":
            lines += [
                "                        w0, w1, w2, w3 = philox4x32_10(ctr, yy, mm, np.uint32(5),"
                " k0, k1)",
                "                        w[lane] += u32_to_unit(w0) + u32_to_unit(w1) +"
                " u32_to_unit(w2) + u32_to_unit(w3)",
            ]
        else:
            # Inputs from the lane's counter words (cheap integer work, not a Philox call).
            lines += [
                "                        u = u32_to_unit(np.uint32(mm * np.uint32(2654435761)"
                " + yy))",
                "                        v = u32_to_unit(np.uint32(mm * np.uint32(2246822519)"
                " + ctr))",
            ]
            op = {
                "box_muller": "a, b = box_muller(u, v)\n                        w[lane] += a + b",
                "exp": "w[lane] += vexp(0.5 * u - 0.125)",
                "log": "w[lane] += vlog(u)",
                "ndtri": "w[lane] += ndtri(u, 1.0 - u)",
            }[kind]
            lines.append("                        " + op)
    lines += [
        "        total = 0.0",
        "        for i in range(L):",
        "            total += w[i]",
        "        out[t] = total",
    ]
    return "\n".join(lines) + "\n"


def _module(counts: dict[str, float]) -> Any:
    """The floor kernel of ``counts`` as a module written to a file (its name the hash of its
    source), so that numba caches it like the engine's kernels: a kernel compiled in the
    process that runs it was measured at about half the speed of the same kernel loaded from
    numba's cache (the engine's kernel too), so both sides are timed as loaded from the cache
    (see :func:`warm`)."""
    source = (
        "import numba\nimport numpy as np\nfrom numba import njit, prange\n"
        "from simsettle._kernels.elementary import ndtri, vexp, vlog\n"
        "from simsettle._kernels.records import LANES\n"
        "from simsettle._kernels.rng import box_muller, philox4x32_10, u32_to_unit\n\n\n"
        "@njit(parallel=True, nogil=True, error_model='numpy', cache=True)\n" + _source(counts)
    )
    name = "floor_" + hashlib.sha256(source.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "simsettle-floor"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(source)
        tmp.replace(path)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # numba's cache imports the module by name
    return importlib.import_module(name)


def make_floor(counts: dict[str, float]) -> Callable[..., None]:
    """The floor kernel of ``counts`` (per member-year: philox, box_muller, exp, log, ndtri)."""
    kernel: Callable[..., None] = _module(counts).kernel
    return kernel


def warm() -> None:
    """Compile (or load) the floor kernels and the engine's kernel once, here: run in a child
    process by :func:`measure`, so that the measuring process loads all of them from the cache."""
    work = np.zeros((numba.config.NUMBA_NUM_THREADS, LANES))
    out = np.zeros(1)
    for counts in (NEEDED, PERFORMED):
        make_floor(counts)(np.uint32(1), np.uint32(2), LANES, 1, work, out)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run import workload

    from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates

    scenario = workload(LANES, 1, every=True).scenario
    simulate_aggregates(compile_model(scenario), key_from_seed(scenario.seed), 0, 1, parallel=True)


def measure(members: int, trials: int, repeats: int) -> dict[str, dict[int, float]]:
    """ns per member-year of the kernel and both floors, at 1 and 2 threads: medians of
    interleaved repeats."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run import workload

    from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates

    scenario = workload(members, trials, every=True).scenario
    inputs = compile_model(scenario)
    key = key_from_seed(scenario.seed)
    years = inputs.n_years
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    here = os.path.dirname(os.path.abspath(__file__))
    code = f"import sys; sys.path.insert(0, {here!r}); import floor; floor.warm()"
    subprocess.run([sys.executable, "-c", code], check=True)
    floors = {"needed": make_floor(NEEDED), "performed": make_floor(PERFORMED)}
    work = np.zeros((numba.config.NUMBA_NUM_THREADS, LANES))
    out = np.zeros(trials)

    def run_floor(kernel: Callable[..., None]) -> Callable[[], None]:
        return lambda: kernel(k0, k1, members, years, work, out)

    fns: dict[str, Callable[[], Any]] = {
        "kernel": lambda: simulate_aggregates(inputs, key, 0, trials, parallel=True),
        **{f"floor, {name}": run_floor(k) for name, k in floors.items()},
    }
    simulate_aggregates(inputs, key, 0, 1, parallel=True)  # compile or load
    for k in floors.values():
        k(k0, k1, LANES, years, work, out[:1])
    times: dict[str, dict[int, list[float]]] = {name: {1: [], 2: []} for name in fns}
    for _ in range(repeats):
        for threads in (1, 2):
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            for name, fn in fns.items():
                t = time.perf_counter()
                fn()
                times[name][threads].append(time.perf_counter() - t)
    member_years = members * trials * years
    return {
        name: {th: statistics.median(ts) / member_years * 1e9 for th, ts in per.items()}
        for name, per in times.items()
    }


def floor_rows(members: int = 20_000, trials: int = 8, repeats: int = 11) -> list[tuple[str, str]]:
    """Rows ``(measure, value)`` of the kernel, its floors and their ratios."""
    ns = measure(members, trials, repeats)
    rows: list[tuple[str, str]] = []
    label = f"every mechanism, {members:,} members x {trials} trials x 5 years"
    for threads in (1, 2):
        kernel = ns["kernel"][threads]
        needed = ns["floor, needed"][threads]
        performed = ns["floor, performed"][threads]
        rows += [
            (f"kernel, ns per member-year ({label}), {threads} thread(s)", f"{kernel:.1f}"),
            (f"floor (needed draws and functions), ns per member-year, {threads}", f"{needed:.1f}"),
            (
                f"floor (performed, as counted before 45b299e), ns per member-year, {threads}",
                f"{performed:.1f}",
            ),
            (f"kernel / floor (needed), {threads} thread(s) (goal 1.5)", f"{kernel / needed:.2f}"),
            (f"kernel / floor (performed), {threads} thread(s)", f"{kernel / performed:.2f}"),
        ]
    counts = ", ".join(f"{k} {v:g}" for k, v in NEEDED.items())
    rows.append(("needed per member-year", counts))
    counts = ", ".join(f"{k} {v:g}" for k, v in PERFORMED.items())
    rows.append(("performed per member-year", counts))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    print_table(floor_rows(args.members, args.trials, args.repeats))


if __name__ == "__main__":
    main()
