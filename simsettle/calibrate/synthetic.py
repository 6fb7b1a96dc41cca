"""Member-level claims and enrolment simulated from a scenario, for round trips.

The engine's kernel returns only per-trial aggregates; calibration needs member-years. This
draws one trial of the scenario's population through the engine's own member-year rule
(:mod:`simsettle._kernels.member`, by :func:`simsettle.models.population.simulate_stays`), with
the engine's random numbers (trial 0 of ``seed``), and gives each stay a member identity:

* ``members`` roster places. Each year a place's occupant leaves with probability ``turnover``
  at a uniform time into the year; with probability ``replacement`` a joiner (a new member)
  takes the place for the rest of the year and is its occupant from the next year; a place left
  empty gets a new member at the start of the next year.
* Risk scores, costs (mixture or frequency-severity), the systemic trend index and attribution
  (members with no care retained with probability ``no_care_retention``; provider-only members
  outside the settlement) are the engine's; only attributed stays are member-years of the data.

Care management, participants and portfolios are not simulated (a scenario with them is
refused).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simsettle._arrays import F8, I8
from simsettle._atomic import atomic_path
from simsettle.calibrate.data import MemberYears, member_years
from simsettle.scenario.schema import Scenario

__all__ = ["SyntheticClaims", "synthetic_claims"]


@dataclass(frozen=True)
class SyntheticClaims:
    """Simulated member-years (one row each) and the trend index that was drawn.

    ``entry`` and ``exit``: months from 1 January at which the member joined and left within
    the year; ``risk_score`` the member's score (mean 1 over the stationary population);
    ``index`` the systemic cost index of each year.
    """

    member_id: npt.NDArray[np.str_]
    year: I8
    allowed: F8
    member_months: F8
    risk_score: F8
    entry: F8
    exit: F8
    index: dict[int, float]

    @property
    def n(self) -> int:
        """Number of member-years."""
        return int(self.year.shape[0])

    def member_years(self, *, risk_scores: bool = True, enrollment: bool = True) -> MemberYears:
        """As :class:`~simsettle.calibrate.data.MemberYears`, optionally without the scores or
        without the enrolment times (then only the months are known)."""
        return member_years(
            self.member_id,
            self.allowed,
            self.member_months,
            year=self.year,
            risk_score=self.risk_score if risk_scores else None,
            entry=self.entry if enrollment else None,
            exit=self.exit if enrollment else None,
            source="synthetic claims",
        )

    def write_claims(self, path: str | Path, *, risk_scores: bool = True) -> None:
        """Write ``member_id, year, allowed, member_months[, risk_score]`` as CSV (atomically)."""
        with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                ["member_id", "year", "allowed", "member_months"]
                + (["risk_score"] if risk_scores else [])
            )
            for i in range(self.n):
                row = [
                    str(self.member_id[i]),
                    int(self.year[i]),
                    f"{self.allowed[i]:.2f}",
                    f"{self.member_months[i]:.6g}",
                ]
                if risk_scores:
                    row.append(f"{self.risk_score[i]:.6g}")
                w.writerow(row)

    def write_enrollment(self, path: str | Path) -> None:
        """Write ``member_id, year, start_month, end_month`` as CSV.

        The months are exact, and so fractional where a member joined or left during a month:
        ``start_month`` is one plus the months from 1 January at which the member joined,
        ``end_month`` the months at which it left (1 and 12 for a whole year), as the enrolment
        reader takes them. Written atomically.
        """
        with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["member_id", "year", "start_month", "end_month"])
            for i in range(self.n):
                start = f"{self.entry[i] + 1.0:.12g}"
                end = f"{max(self.exit[i], 1e-6):.12g}"
                w.writerow([str(self.member_id[i]), int(self.year[i]), start, end])


def synthetic_claims(
    scenario: Scenario,
    *,
    years: int | None = None,
    seed: int = 0,
    members: int | None = None,
    first_year: int | None = None,
) -> SyntheticClaims:
    """One simulated history of the scenario's population, member by member (module docstring).

    ``years`` simulated years (default: the scenario's base and performance years), starting in
    ``first_year`` (default: the first base year, ``first_performance_year - base_years``);
    ``members`` overrides the population size; ``seed`` keys the random numbers (the history is
    trial 0 of a run with that seed).
    """
    if scenario.care_management is not None:
        raise ValueError("synthetic_claims does not simulate care management; remove it")
    if scenario.participants is not None or scenario.portfolio is not None:
        raise ValueError("synthetic_claims simulates one population: no participants or portfolio")
    n_years = scenario.benchmark.base_years + scenario.performance_years if years is None else years
    if n_years < 1:
        raise ValueError(f"years must be at least 1; got {n_years}")
    y0 = (
        scenario.first_performance_year - scenario.benchmark.base_years
        if first_year is None
        else first_year
    )
    n = scenario.population.members if members is None else int(members)
    if n < 1:
        raise ValueError(f"members must be at least 1; got {n}")
    # The engine (numba) is loaded only when claims are drawn: ``import simsettle.calibrate``
    # stays light.
    from simsettle._kernels import records as R
    from simsettle.models.population import compile_model, key_from_seed, simulate_stays

    inputs = compile_model(scenario)
    params = inputs.params.copy()
    params["members"] = float(n)
    inputs = replace(inputs, params=params, n_base_years=n_years, n_performance_years=0)
    stays, system = simulate_stays(inputs, key_from_seed(seed))
    index = {y0 + y: float(system[y, R.F_TREND_INDEX]) for y in range(n_years)}

    # Member identities: the first year's roster is members 0 .. n - 1; a joiner, and a new
    # member filling a vacancy, get the next unused number; a joiner is its place's occupant
    # from the next year on.
    year = stays[:, R.ST_YEAR].astype(np.int64)
    joins = stays[:, R.ST_JOINER] > 0.5
    slot = stays[:, R.ST_SLOT].astype(np.int64)
    ids = np.empty(stays.shape[0], dtype=np.int64)
    current = np.arange(n, dtype=np.int64)
    next_id = n
    order = []
    for y in range(n_years):
        occupants = np.flatnonzero((year == y) & ~joins)  # one per place, by place
        if y > 0:
            new = stays[occupants, R.ST_NEW] > 0.5
            current[new] = np.arange(next_id, next_id + int(new.sum()))
            next_id += int(new.sum())
        ids[occupants] = current
        joiners = np.flatnonzero((year == y) & joins)
        ids[joiners] = np.arange(next_id, next_id + joiners.size)
        next_id += joiners.size
        current[slot[joiners]] = ids[joiners]
        order += [occupants, joiners]
    rows = np.concatenate(order)
    rows = rows[stays[rows, R.ST_ATTRIBUTED] > 0.5]
    kept = stays[rows]
    width = len(str(next_id))
    return SyntheticClaims(
        member_id=np.char.add("M", np.char.zfill(ids[rows].astype(str), width)),
        year=y0 + year[rows],
        allowed=kept[:, R.ST_COST].copy(),
        member_months=kept[:, R.ST_EXIT] - kept[:, R.ST_ENTRY],
        risk_score=kept[:, R.ST_RISK].copy(),
        entry=kept[:, R.ST_ENTRY].copy(),
        exit=kept[:, R.ST_EXIT].copy(),
        index=index,
    )
