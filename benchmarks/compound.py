"""The textbook compound case (issue 18, item 4): simsettle's frequency-severity model against
plain numpy and GEMAct, in claims per second. Prints one markdown table.

Usage: python benchmarks/compound.py [--aggregates 1000000] [--repeats 3] [--members 50]
                                     [--families gamma,lognormal] [--no-gemact]
                                     [--gemact-repeats 1]

The case: 50 members, each with a Poisson(1) number of claims a year, so about 50 claims per
aggregate, and one million aggregates; claim severity gamma or lognormal with mean $1,200 and CV 1
(gamma of shape 1). simsettle runs it as a scenario (``CASE``): one performance year, no base
years (a fixed benchmark), no turnover, deaths, risk spread, trend, frailty or persistence, so
each trial's spend is one compound aggregate of 50 Poisson(1) member counts (a static roster:
the kernel skips the member draws, which cannot change it); it is timed as

* the aggregates: ``simsettle.models.population.simulate_aggregates`` of all the trials in one
  call (the member kernel alone), on 1 and on 2 numba threads;
* the whole run: ``simsettle.simulate`` (chunks, the kernel, settling the scenario's one design,
  the xarray Dataset), on 1 and on 2 threads.

The engine's claims are counted as trials x simulated years x members x claims_per_year (the
expected number: the kernel does not report its count; numpy's realised count of the same case
is within 0.01% of it at a million aggregates), every simulated year counted. Gamma claims are
drawn as one gamma variate of shape ``n a`` per member-year with claims (the family is closed
under sums); lognormal claims one by one. Plain numpy (one thread) is the four lines of the
issue, timed together: ``poisson(1, (n, 50))`` summed per aggregate, the family's draw for each
claim (``gamma`` or ``lognormal``), ``repeat`` and ``bincount`` to add the claims per aggregate.
GEMAct (if importable) runs its Monte Carlo aggregate loss (``aggr_loss_dist_method="mc"``) with
a Poisson(50) frequency and the same severity. Every figure is the median of interleaved repeats
in this one run, after a warm-up that compiles (or loads) the kernels.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from _table import print_table

import simsettle
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario import parse_scenario

MEAN_CLAIM = 1200.0  # USD: 12 x pmpm / claims_per_year
CV = 1.0

CASE = """\
schema_version: 1
name: textbook compound case
seed: 1
trials: {trials}
first_performance_year: 2026
performance_years: 1
population: {{members: {members}, turnover: 0.0, risk_sigma: 0.0}}
cost:
  pmpm: {pmpm}
  model: frequency_severity
  claims_per_year: 1.0
  claim_dispersion: 0.0
  persistence: 0.0
  severity: {{family: {family}, cv: {cv}}}
trend: {{mean: 0.0, sd: 0.0}}
benchmark: {{method: fixed, pmpm: {pmpm}}}
designs:
  - {{name: two_sided, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5}}
"""


def compound_scenario(family: str, trials: int, members: int = 50) -> Any:
    """The textbook case as a loaded scenario: ``members`` Poisson(1) members, one year."""
    text = CASE.format(trials=trials, members=members, pmpm=MEAN_CLAIM / 12.0, family=family, cv=CV)
    return parse_scenario(text)


def numpy_compound(rng: np.random.Generator, family: str, n: int, members: int) -> int:
    """The four lines of plain numpy; returns the number of claims drawn."""
    counts = rng.poisson(1.0, (n, members)).sum(axis=1)
    if family == "gamma":  # shape 1 / CV^2, scale mean / shape
        sev = rng.gamma(1.0 / CV**2, MEAN_CLAIM * CV**2, counts.sum())
    else:
        sigma = float(np.sqrt(np.log1p(CV**2)))
        sev = rng.lognormal(np.log(MEAN_CLAIM) - 0.5 * sigma**2, sigma, counts.sum())
    np.bincount(np.repeat(np.arange(n), counts), weights=sev, minlength=n)
    return int(counts.sum())


def gemact_compound(family: str, n: int, members: int) -> Callable[[], None] | str:
    """GEMAct's Monte Carlo aggregate loss of the case, or why it cannot run."""
    try:
        from gemact import Frequency, LossModel, Severity
    except ImportError as e:
        return f"not installed ({e}); pip install gemact"
    if family == "gamma":
        severity = Severity(dist="gamma", par={"a": 1.0 / CV**2, "scale": MEAN_CLAIM * CV**2})
    else:
        sigma = float(np.sqrt(np.log1p(CV**2)))
        scale = MEAN_CLAIM * np.exp(-0.5 * sigma**2)
        severity = Severity(dist="lognormal", par={"shape": sigma, "scale": scale})
    frequency = Frequency(dist="poisson", par={"mu": float(members)})

    def run() -> None:
        LossModel(
            severity=severity,
            frequency=frequency,
            aggr_loss_dist_method="mc",
            n_sim=n,
            random_state=1,
        )

    return run


def compound_rows(
    aggregates: int = 1_000_000,
    repeats: int = 3,
    members: int = 50,
    families: tuple[str, ...] = ("gamma", "lognormal"),
    gemact: bool = True,
    gemact_repeats: int = 1,
) -> list[tuple[str, str]]:
    """The rows of the compound case's table (see the module docstring): seconds and claims per
    second of simsettle's aggregates and whole run (1 and 2 threads), plain numpy and GEMAct,
    and the ratios against numpy. Medians of ``repeats`` interleaved repeats (GEMAct:
    ``gemact_repeats``, at most ``repeats``)."""
    logging.disable(logging.INFO)  # GEMAct logs every step at INFO
    n = aggregates
    max_threads = numba.config.NUMBA_NUM_THREADS
    threads = (1, 2) if max_threads >= 2 else (1,)
    times: dict[tuple[str, str], list[float]] = {}
    claims_np: dict[str, list[int]] = {}
    expected: dict[str, float] = {}
    runs: list[tuple[str, str, Callable[[], Any]]] = []
    gemact_note: dict[str, str] = {}
    for family in families:
        loaded = compound_scenario(family, n, members)
        inputs = compile_model(loaded.scenario)
        key = key_from_seed(loaded.scenario.seed)
        expected[family] = n * inputs.n_years * members * float(inputs.params["claims_per_year"])
        small = compound_scenario(family, 20, members)
        for t in threads:  # compile or load the cache
            numba.set_num_threads(t)
            simulate_aggregates(inputs, key, 0, 20, parallel=t > 1)
            simsettle.simulate(small, threads=t, progress=False)
        for t in threads:

            def agg(t: int = t, inputs: Any = inputs, key: Any = key) -> None:
                numba.set_num_threads(t)
                simulate_aggregates(inputs, key, 0, n, parallel=t > 1)

            def run(t: int = t, loaded: Any = loaded) -> None:
                simsettle.simulate(loaded, threads=t, progress=False)

            runs.append((family, f"aggregates, {t} thread{'s' if t > 1 else ''}", agg))
            runs.append((family, f"simulate(), {t} thread{'s' if t > 1 else ''}", run))
        rng = np.random.default_rng(1)
        claims_np[family] = []

        def plain(family: str = family, rng: np.random.Generator = rng) -> None:
            claims_np[family].append(numpy_compound(rng, family, n, members))

        runs.append((family, "numpy", plain))
        if gemact:
            job = gemact_compound(family, n, members)
            if isinstance(job, str):
                gemact_note[family] = job
            else:
                runs.append((family, "GEMAct", job))
    numba.set_num_threads(max_threads)
    for r in range(repeats):
        for family, what, fn in runs:
            if what == "GEMAct" and r >= gemact_repeats:
                continue
            start = time.perf_counter()
            fn()
            times.setdefault((family, what), []).append(time.perf_counter() - start)
    numba.set_num_threads(max_threads)

    rows: list[tuple[str, str]] = []
    for family in families:
        label = f"{family} (CV {CV:g})"
        med = {what: statistics.median(ts) for (f, what), ts in times.items() if f == family}
        claims = expected[family]
        realised = statistics.median(claims_np[family])
        np_rate = realised / med["numpy"]
        for what in [w for w in med if w not in ("numpy", "GEMAct")]:
            rate = claims / med[what]
            rows.append(
                (
                    f"{label}: simsettle {what}, s / M claims/s / vs numpy",
                    f"{med[what]:.2f} / {rate / 1e6:.1f} / {rate / np_rate:.2f}x",
                )
            )
        rows.append(
            (
                f"{label}: plain numpy (poisson, {family}, repeat + bincount; 1 thread), "
                "s / M claims/s",
                f"{med['numpy']:.2f} / {np_rate / 1e6:.1f}",
            )
        )
        if "GEMAct" in med:
            rate = claims / med["GEMAct"]
            reps = len(times[(family, "GEMAct")])
            rows.append(
                (
                    f"{label}: GEMAct Monte Carlo ({reps} run{'s' if reps > 1 else ''}), "
                    "s / M claims/s / vs numpy",
                    f"{med['GEMAct']:.2f} / {rate / 1e6:.1f} / {rate / np_rate:.2f}x",
                )
            )
        elif family in gemact_note:
            rows.append((f"{label}: GEMAct", gemact_note[family]))
        best = max(
            claims / med[w] for w in med if w.startswith("simulate()") or w.startswith("agg")
        )
        whole = max(claims / med[w] for w in med if w.startswith("simulate()"))
        rows.append(
            (
                f"{label}: simsettle / numpy claims/s, whole run (best threads) / aggregates",
                f"{whole / np_rate:.2f}x / {best / np_rate:.2f}x",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aggregates", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--families", default="gamma,lognormal")
    parser.add_argument("--no-gemact", action="store_true", help="skip GEMAct")
    parser.add_argument(
        "--gemact-repeats", type=int, default=1, help="GEMAct runs (about 30 s each)"
    )
    args = parser.parse_args()
    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    rows = compound_rows(
        args.aggregates,
        args.repeats,
        args.members,
        families,
        not args.no_gemact,
        args.gemact_repeats,
    )
    try:
        from importlib.metadata import version

        gemact_version = version("gemact")
    except Exception:  # not installed, or no metadata
        gemact_version = "not installed"
    print_table(
        rows,
        f"GEMAct {gemact_version}; {args.members} members x Poisson(1) claims, "
        f"{args.aggregates:,} aggregates, medians of {args.repeats} interleaved repeats",
    )


if __name__ == "__main__":
    main()
