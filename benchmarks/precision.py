"""Seconds to a precise answer: runs to a stated precision, with and without control variates.

Usage: python benchmarks/precision.py [--scenario scenarios/examples/shocks_and_trend.yaml]
                                      [--members 2000] [--target 0.02%] [--repeats 3]

Each row runs ``simsettle.simulate(..., precision=rule)`` (the stopping rule of
simsettle.stats.precision: chunks of 1,000 trials are added until every standard error meets
its target) and reports the median seconds of ``--repeats`` runs and the trials it stopped at.
Two rules: the means alone at ``--target`` (each design's and every paired difference: where
the control variates apply fully), and the committee's full set at five times that (the means,
the 5% and 95% quantiles, the probabilities of paying and receiving at a standard error of
0.01, and their paired differences; the quantiles are not controlled, so they gain least).
A run's standard errors are estimates, so the trial count it stops at moves a little from seed
to seed; the seed is the scenario's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from _table import print_table

import simsettle
from simsettle.stats.precision import Precision

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "scenarios" / "examples" / "shocks_and_trend.yaml"


def seconds_to(path: Path, members: int, rule: Precision, repeats: int) -> tuple[float, int]:
    """Median seconds of ``repeats`` runs to ``rule``, and the trials the run stopped at."""
    times, trials = [], 0
    for _ in range(repeats):
        t = time.perf_counter()
        ds = simsettle.simulate(
            path, precision=rule, overrides=[f"population.members={members}"], progress=False
        )
        times.append(time.perf_counter() - t)
        trials = int(ds.sizes["trial"])
        if not ds.attrs["precision_met"]:
            trials = -trials
    return statistics.median(times), trials


def precision_rows(
    path: Path = DEFAULT, members: int = 2000, target: str = "0.02%", repeats: int = 3
) -> list[tuple[str, str]]:
    """The table's rows: seconds (and trials) to each rule, plain and with control variates."""
    simsettle.simulate(path, trials=20, overrides=["population.members=50"], progress=False)
    base = Precision.parse(target, max_trials=400_000)
    rules = {
        "means and their paired differences": Precision.parse(
            target, statistics=("mean",), max_trials=400_000
        ),
        "the committee's statistics (money at 5x that, probabilities at se 0.01)": Precision(
            se=None if base.se is None else 5 * base.se,
            relative=None if base.relative is None else 5 * base.relative,
            probability_se=0.01,
            max_trials=400_000,
        ),
    }
    rows = []
    for label, rule in rules.items():
        plain = seconds_to(path, members, rule, repeats)
        cv = seconds_to(
            path, members, Precision.coerce({**rule.to_attrs(), "control_variates": True}), repeats
        )

        def cell(r: tuple[float, int]) -> str:
            met = "" if r[1] > 0 else " (not met)"
            return f"{r[0]:.1f} s, {abs(r[1]):,} trials{met}"

        name = f"{path.stem} at {members:,} members, standard errors <= {target}: {label}"
        rows += [
            (f"seconds to precision, {name}, plain", cell(plain)),
            (f"seconds to precision, {name}, control variates", cell(cv)),
            ("  plain / control variates, seconds", f"{plain[0] / cv[0]:.2f}x"),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=DEFAULT)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--target", default="0.02%", help="USD or a share of the benchmark")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print_table(precision_rows(args.scenario, args.members, args.target, args.repeats))


if __name__ == "__main__":
    main()
