"""Member-level claims and enrolment simulated from a scenario, in numpy, for round trips.

The engine's kernel returns only per-trial aggregates; calibration needs member-years. This
draws one trial of the scenario's population, member by member, with numpy's generator,
following the model of :mod:`simsettle._kernels.population` (and its slow twin,
:func:`simsettle.models.reference.simulate_trial_reference`) step for step, though not with the
engine's random numbers:

* ``members`` roster places. Each year a place's occupant leaves with probability ``turnover``
  at a uniform time ``12 U`` months into the year; with probability ``replacement`` a joiner
  takes the place for the rest of the year (and is its occupant from the next year); a place
  left empty gets a new member at the start of the next year.
* Latent log risk ``z``: standard normal for the first year's roster, ``e + shift`` for every
  later new member and every joiner (``shift = log(entrant_risk_ratio) / risk_sigma``), and
  ``rho z + sqrt(1 - rho^2) e`` for a continuing member; the score is ``exp(risk_sigma z -
  risk_sigma^2 / 2) (1 + ageing)^tenure``.
* Cost of a member-year: ``risk x index x X x months / 12`` with ``X`` the mixture (0, Pareto
  tail, lognormal body) or the frequency-severity compound, drawn afresh every year; ``index``
  the systemic trend index (1 in the first year, lognormal growth factors, one-year shocks).
* Attribution: a member-year with no cost stays only with probability ``no_care_retention``
  (prospective: always), and a ``provider_only_share`` of member-years are not attributed.

Care management, participants and portfolios are not simulated (a scenario with them is
refused).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from simsettle.calibrate.data import MemberYears, member_years
from simsettle.scenario.schema import Scenario

__all__ = ["SyntheticClaims", "synthetic_claims"]

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]


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
        """Write ``member_id, year, allowed, member_months[, risk_score]`` as CSV."""
        with Path(path).open("w", encoding="utf-8", newline="") as f:
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
        reader takes them.
        """
        with Path(path).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["member_id", "year", "start_month", "end_month"])
            for i in range(self.n):
                start = f"{self.entry[i] + 1.0:.12g}"
                end = f"{max(self.exit[i], 1e-6):.12g}"
                w.writerow([str(self.member_id[i]), int(self.year[i]), start, end])


def _mixture_draw(scenario: Scenario, n: int, rng: np.random.Generator) -> F8:
    cost = scenario.cost
    if cost.model == "frequency_severity":
        lam = cost.claims_per_year
        f = cost.claim_dispersion
        counts = rng.poisson(lam * np.exp(f * rng.standard_normal(n) - 0.5 * f * f))
        sev_sigma = cost.severity_sigma
        sev_mu = math.log(12.0 * cost.pmpm / lam) - 0.5 * sev_sigma**2
        total = int(counts.sum())
        sev = np.exp(sev_mu + sev_sigma * rng.standard_normal(total))
        owner = np.repeat(np.arange(n), counts)
        out = np.zeros(n)
        np.add.at(out, owner, sev)
        return out
    z, t = cost.zero_cost_share, cost.tail_probability
    s = cost.body_sigma
    u = rng.random(n)
    x = np.exp(math.log(cost.body_mean) - 0.5 * s * s + s * rng.standard_normal(n))
    tail = (u >= z) & (u < z + t)
    if t > 0:
        x[tail] = cost.tail_threshold * ((u[tail] - z) / t) ** (-1.0 / cost.tail_shape)
    x[u < z] = 0.0
    return x


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
    ``members`` overrides the population size.
    """
    if scenario.care_management is not None:
        raise ValueError("synthetic_claims does not simulate care management; remove it")
    if scenario.participants is not None or scenario.portfolio is not None:
        raise ValueError("synthetic_claims simulates one population: no participants or portfolio")
    pop, trend = scenario.population, scenario.trend
    n_years = scenario.benchmark.base_years + scenario.performance_years if years is None else years
    if n_years < 1:
        raise ValueError(f"years must be at least 1; got {n_years}")
    y0 = (
        scenario.first_performance_year - scenario.benchmark.base_years
        if first_year is None
        else first_year
    )
    n = pop.members if members is None else int(members)
    if n < 1:
        raise ValueError(f"members must be at least 1; got {n}")
    rng = np.random.default_rng(seed)
    sigma, rho = pop.risk_sigma, pop.risk_persistence
    innov = math.sqrt(max(1.0 - rho * rho, 0.0))
    shift = math.log(pop.entrant_risk_ratio) / sigma if sigma > 0 else 0.0
    ageing = math.log1p(pop.ageing)
    att = pop.attribution
    retain, provider_only = att.retention, att.provider_only_share

    # Systemic index: 1 in the first year, then lognormal growth (mean 1 + trend.mean).
    mu = math.log1p(trend.mean) - 0.5 * trend.sd**2
    level = 1.0
    index: dict[int, float] = {}
    for y in range(n_years):
        if y > 0:
            level *= math.exp(mu + trend.sd * rng.standard_normal())
        shock = y > 0 and rng.random() < trend.shock_probability
        index[y0 + y] = level * (1.0 + trend.shock_size) if shock else level

    z = np.zeros(n)
    tenure = np.zeros(n)
    is_new = np.ones(n, dtype=bool)
    ids = np.arange(n, dtype=np.int64)
    next_id = n
    out: dict[str, list[npt.NDArray[np.generic]]] = {
        k: [] for k in ("id", "year", "cost", "months", "risk", "entry", "exit")
    }

    def emit(sel_ids: I8, year: int, x: F8, months: F8, risk: F8, entry: F8, exit_: F8) -> None:
        cost = risk * index[year] * x * months / 12.0
        keep = ((x != 0.0) | (rng.random(x.size) < retain)) & (rng.random(x.size) >= provider_only)
        out["id"].append(sel_ids[keep])
        out["year"].append(np.full(int(keep.sum()), year, dtype=np.int64))
        out["cost"].append(cost[keep])
        out["months"].append(months[keep])
        out["risk"].append(risk[keep])
        out["entry"].append(entry[keep])
        out["exit"].append(exit_[keep])

    for y in range(n_years):
        year = y0 + y
        e = rng.standard_normal(n)
        z = np.where(is_new, e + (shift if y > 0 else 0.0), rho * z + innov * e)
        tenure = np.where(is_new, 0.0, tenure + 1.0)
        u_leave = rng.random(n)
        leaves = u_leave < pop.turnover
        joiner = leaves & (u_leave / max(pop.turnover, 1e-300) < pop.replacement)
        months = np.where(leaves, 12.0 * rng.random(n), 12.0)
        risk = np.exp(sigma * z - 0.5 * sigma * sigma + tenure * ageing)
        x = _mixture_draw(scenario, n, rng)
        emit(ids, year, x, months, risk, np.zeros(n), months)
        # Joiners for the rest of the year.
        nj = int(joiner.sum())
        j_ids = np.arange(next_id, next_id + nj, dtype=np.int64)
        next_id += nj
        zj = rng.standard_normal(nj) + shift
        risk_j = np.exp(sigma * zj - 0.5 * sigma * sigma)
        xj = _mixture_draw(scenario, nj, rng)
        mj = 12.0 - months[joiner]
        emit(j_ids, year, xj, mj, risk_j, months[joiner], np.full(nj, 12.0))
        # Next year's occupants: the joiner, a new member (vacancy), or the same member.
        z = z.copy()
        z[joiner] = zj
        tenure[joiner] = 0.0
        ids = ids.copy()
        ids[joiner] = j_ids
        vacancy = leaves & ~joiner
        nv = int(vacancy.sum())
        ids[vacancy] = np.arange(next_id, next_id + nv, dtype=np.int64)
        next_id += nv
        is_new = vacancy

    width = len(str(next_id))
    all_ids = np.concatenate(out["id"]).astype(np.int64)
    return SyntheticClaims(
        member_id=np.char.add("M", np.char.zfill(all_ids.astype(str), width)),
        year=np.concatenate(out["year"]).astype(np.int64),
        allowed=np.concatenate(out["cost"]).astype(np.float64),
        member_months=np.concatenate(out["months"]).astype(np.float64),
        risk_score=np.concatenate(out["risk"]).astype(np.float64),
        entry=np.concatenate(out["entry"]).astype(np.float64),
        exit=np.concatenate(out["exit"]).astype(np.float64),
        index=index,
    )
