"""Population dynamics from member-years: turnover, risk spread and persistence, entrants, trend.

The estimators are moments of the engine's model (:mod:`simsettle._kernels.population`):

Arrivals and departures
    A member-year is a *mid-year arrival* when the member joined after 1 January (from the
    enrolment, or from the months: a part year followed by a year in the data; in the last data
    year a part year not preceded by one), otherwise the member *held a place at the start of
    the year*. Such a member *departs* when enrolment ends before 31 December, or when the
    member is absent from the next data year. ``turnover`` is departures per member at the start
    of a year; ``replacement`` is mid-year arrivals per departure (capped at 1). Only years
    followed by a data year count, where there are several: in the last one, departures at the
    end of the year cannot be seen. The engine draws the leaving time uniformly over the year:
    the months of the departing members are compared with that (Kolmogorov-Smirnov, or
    chi-squared on whole months).

Risk spread and persistence
    With risk scores: ``risk_sigma`` is the standard deviation of the log score and
    ``risk_persistence`` the correlation of a member's log scores a year apart, both among the
    members present at the start of the first data year (the engine's first-year population is
    stationary, and leaving does not depend on risk, so they stay a stationary sample). Without
    scores, the log annualised costs of those members, in years where both are positive, have
    covariance ``risk_sigma^2 risk_persistence^k`` at a lag of ``k`` years (the cost class and
    body draw are independent from year to year and of the risk score, so only the risk score
    carries over): with lags 1 and 2 (three or more years) both follow; with two years only the
    product, and the persistence is taken as given (default the schema's 0.75). Where the
    spread so found would by itself concentrate spend beyond the data's, :func:`cap_risk`
    lowers it (``simsettle.calibrate.fit`` decides) and takes the persistence that carries as
    much of the lag-1 covariance as the capped spread can (at most 1); the model then
    understates how much members' costs persist, and says so.

Entrants
    ``entrant_risk_ratio`` is the median risk score of new members (mid-year arrivals, and
    members starting a year after the first who were not there the year before) over that of the
    first year's members, in the same years: the difference of mean log scores, or without
    scores the ratio of their costs per member month (cost is proportional to the risk score,
    and the mean and median ratios of two lognormals with the same spread agree).

Trend
    Per-member-per-month cost by year (divided by the risk score where there are scores); the
    log growths ``g`` have mean ``mu`` and the trend is ``exp(mu + sd^2 / 2) - 1`` (the engine's
    growth factor is lognormal with mean ``1 + mean``). The year-to-year volatility ``sd`` is
    the variance of ``g`` less its member sampling variance (from the bootstrap), which needs at
    least two growths (three years); otherwise ``sd`` is taken as given (default 0.02).

Confidence intervals are percentile intervals of a member-level Poisson bootstrap (every member
keeps all its years; ``reps`` replicates, fixed seed), except the trend's, which are t
intervals over the years' growths.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import stats

from simsettle._arrays import F8
from simsettle.calibrate.data import MemberYears
from simsettle.calibrate.mixture import Interval

__all__ = ["Panel", "PopulationFit", "RiskFit", "TrendFit", "cap_risk", "fit_population"]

B8 = npt.NDArray[np.bool_]

#: Default risk persistence where the data cannot tell it (the schema's default).
DEFAULT_RISK_PERSISTENCE = 0.75
#: Default turnover where the data cannot show departures (the schema's default).
DEFAULT_TURNOVER = 0.15
#: Default year-to-year trend volatility where the data cannot tell it (the schema's default).
DEFAULT_TREND_SD = 0.02


@dataclass(frozen=True)
class Panel:
    """Member-years with their roles (see the module docstring), all arrays by row."""

    data: MemberYears
    first_year: int
    last_year: int
    prev_present: B8
    next_present: B8
    arrival: B8  # joined after 1 January
    departs: B8  # held a place at the start and left during or at the end of the year
    departs_mid: B8  # left before 31 December
    entrant: B8  # new member in its first year (arrival, or new at the start of a later year)
    initial: B8  # rows of members who held a place at the start of the first data year
    observed_exit: B8  # years whose departures can all be seen

    @classmethod
    def of(cls, data: MemberYears) -> Panel:
        member, year = data.member, data.year
        n = data.n
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = (member[1:] == member[:-1]) & (year[1:] == year[:-1] + 1)
        prev = np.zeros(n, dtype=bool)
        prev[1:] = same_next[:-1]
        first, last = int(year.min()), int(year.max())
        is_last = year == last
        known = np.isfinite(data.entry) & np.isfinite(data.exit)
        partial = data.months < 12.0 - 1e-9
        inferred_arrival = partial & np.where(is_last, ~prev & (year > first), same_next)
        arrival = np.where(known, data.entry > 1e-9, inferred_arrival)
        departs_mid = np.where(known, data.exit < 12.0 - 1e-9, partial & ~arrival)
        start = ~arrival
        departs = start & (departs_mid | (~same_next & ~is_last))
        new_at_start = start & ~prev & (year > first)
        entrant = arrival | new_at_start
        first_members = np.zeros(data.n_members, dtype=bool)
        first_members[member[(year == first) & start]] = True
        # A member who left and came back is a new member from then on: keep only the initial
        # run of consecutive years.
        run_break = np.zeros(n, dtype=bool)
        run_break[1:] = (member[1:] == member[:-1]) & ~same_next[:-1]
        broken = np.zeros(data.n_members, dtype=bool)
        broken_rows = np.flatnonzero(run_break)
        initial = first_members[member].copy()
        if broken_rows.size:
            # Rows from a member's first break on are not the initial run.
            first_break = np.full(data.n_members, np.iinfo(np.int64).max)
            np.minimum.at(first_break, member[broken_rows], year[broken_rows])
            initial &= year < first_break[member]
            broken[member[broken_rows]] = True
        observed_exit = ~is_last if last > first else np.ones(n, dtype=bool)
        return cls(
            data=data,
            first_year=first,
            last_year=last,
            prev_present=prev,
            next_present=same_next,
            arrival=arrival,
            departs=departs,
            departs_mid=departs_mid,
            entrant=entrant,
            initial=initial,
            observed_exit=observed_exit,
        )


@dataclass(frozen=True)
class RiskFit:
    """Risk spread and persistence, with how they were found."""

    risk_sigma: Interval
    risk_persistence: Interval
    sigma_method: str
    persistence_method: str
    lag_covariances: tuple[tuple[int, float, int], ...]  # (lag, covariance, pairs)
    persistence_assumed: bool
    capped: bool = False  # the spread was capped by :func:`cap_risk`
    # The bootstrap behind the intervals (:func:`cap_risk` re-derives with the same one).
    reps: int = 200
    seed: int = 9
    confidence: float = 0.95


@dataclass(frozen=True)
class TrendFit:
    """Trend by year."""

    years: tuple[int, ...]
    pmpm: tuple[float, ...]  # per unit risk where there are scores
    growth: tuple[float, ...]  # log growth between consecutive data years
    growth_sampling_sd: tuple[float, ...]
    mean: Interval
    sd: Interval
    sd_assumed: bool
    method: str
    sd_method: str = ""

    def index(self) -> dict[int, float]:
        """Each year's cost level relative to the first (the observed PMPM ratio)."""
        return {y: p / self.pmpm[0] for y, p in zip(self.years, self.pmpm, strict=True)}


@dataclass(frozen=True)
class PopulationFit:
    """Turnover, replacement, entrants and the partial-year pattern."""

    turnover: Interval
    replacement: Interval
    entrant_risk_ratio: Interval
    entrant_method: str
    members_at_start: dict[int, int]
    departures: int
    places: int
    arrivals: int
    entrants: int
    leaver_months: F8
    joiner_months: F8
    pattern_test: str
    pattern_pvalue: float


def _percentile(reps: F8, confidence: float) -> tuple[float, float]:
    finite = reps[np.isfinite(reps)]
    if finite.size < 10:
        return math.nan, math.nan
    lo, hi = np.quantile(finite, [0.5 - 0.5 * confidence, 0.5 + 0.5 * confidence])
    return float(lo), float(hi)


def _boot(
    stat: Callable[[F8], float], n_members: int, reps: int, seed: int, confidence: float
) -> Interval:
    """``stat`` at unit member weights, with a member-level Poisson bootstrap interval."""
    value = stat(np.ones(n_members))
    rng = np.random.default_rng(seed)
    out = np.array([stat(rng.poisson(1.0, n_members).astype(np.float64)) for _ in range(reps)])
    lo, hi = _percentile(out, confidence)
    sd = _nan_sd(out)
    return Interval(value, min(lo, value), max(hi, value), sd)


def _nan_sd(values: F8) -> float:
    """Standard deviation of the finite values (nan with fewer than two)."""
    finite = values[np.isfinite(values)]
    return float(np.std(finite)) if finite.size > 1 else math.nan


def _ratio(num: F8, den: F8) -> float:
    total = float(np.sum(den))
    return float(np.sum(num)) / total if total > 0 else math.nan


def fit_population(
    panel: Panel, *, reps: int = 200, seed: int = 8, confidence: float = 0.95
) -> PopulationFit:
    """Turnover, replacement and the partial-year pattern (module docstring); entrants are
    fitted by :func:`fit_entrants`."""
    d = panel.data
    m = d.member
    obs = panel.observed_exit
    start = ~panel.arrival
    dep = (panel.departs & obs).astype(np.float64)
    places = (start & obs).astype(np.float64)
    arr = (panel.arrival & obs).astype(np.float64)

    def turnover(w: F8) -> float:
        return _ratio(w[m] * dep, w[m] * places)

    def replacement(w: F8) -> float:
        value = _ratio(w[m] * arr, w[m] * dep)
        return min(value, 1.0) if math.isfinite(value) else math.nan

    t_iv = _boot(turnover, d.n_members, reps, seed, confidence)
    r_iv = _boot(replacement, d.n_members, reps, seed + 1, confidence)
    known = bool(np.all(np.isfinite(d.entry)))
    if panel.first_year == panel.last_year and not known and not np.any(d.months < 12.0 - 1e-9):
        # One year of whole-year members: departures cannot be seen at all.
        t_iv = Interval(DEFAULT_TURNOVER, math.nan, math.nan)
    if not math.isfinite(r_iv.value):
        r_iv = Interval(1.0, math.nan, math.nan)
    leavers = d.months[panel.departs & obs & (panel.departs_mid | ~panel.next_present)]
    joiners = d.months[panel.arrival]
    test, p = _pattern(leavers)
    counts = {
        y: int(np.count_nonzero(start & (d.year == y)))
        for y in range(panel.first_year, panel.last_year + 1)
    }
    return PopulationFit(
        turnover=t_iv,
        replacement=r_iv,
        entrant_risk_ratio=Interval(1.0, math.nan, math.nan),
        entrant_method="",
        members_at_start={y: c for y, c in counts.items() if c},
        departures=int(dep.sum()),
        places=int(places.sum()),
        arrivals=int(arr.sum()),
        entrants=int(panel.entrant.sum()),
        leaver_months=leavers,
        joiner_months=joiners,
        pattern_test=test,
        pattern_pvalue=p,
    )


def _pattern(months: F8) -> tuple[str, float]:
    """Test of a uniform leaving time: chi-squared on whole months, else Kolmogorov-Smirnov."""
    if months.size < 5:
        return "too few leavers to test", math.nan
    if np.allclose(months, np.round(months)):
        counts = np.bincount(np.clip(np.round(months).astype(np.int64), 1, 12), minlength=13)[1:]
        res = stats.chisquare(counts)
        return "chi-squared test of whole months against equal shares of months 1 to 12", float(
            res.pvalue
        )
    res = stats.kstest(months / 12.0, "uniform")
    return "Kolmogorov-Smirnov test against a uniform leaving time", float(res.pvalue)


def _log_score(panel: Panel) -> F8:
    """Log risk scores normalised so that the first year's members average 1."""
    d = panel.data
    assert d.risk is not None
    ref = (d.year == panel.first_year) & panel.initial
    scale = float(np.mean(d.risk[ref])) if np.any(ref) else float(np.mean(d.risk))
    return np.asarray(np.log(d.risk / scale), dtype=np.float64)


def risk_scale(panel: Panel) -> float:
    """The mean risk score of the first year's members (scores are divided by it)."""
    d = panel.data
    assert d.risk is not None
    ref = (d.year == panel.first_year) & panel.initial
    return float(np.mean(d.risk[ref])) if np.any(ref) else float(np.mean(d.risk))


def _lag_pairs(
    panel: Panel, valid: B8, lag: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Row pairs (i, j) of the same initial member ``lag`` years apart, both ``valid``."""
    d = panel.data
    n = d.n
    if lag >= n:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    i = np.arange(n - lag)
    j = i + lag
    ok = (
        (d.member[i] == d.member[j])
        & (d.year[j] == d.year[i] + lag)
        & panel.initial[i]
        & panel.initial[j]
        & valid[i]
        & valid[j]
    )
    return i[ok], j[ok]


def _pooled_cov(
    values: F8,
    year: npt.NDArray[np.int64],
    i: npt.NDArray[np.int64],
    j: npt.NDArray[np.int64],
    w: F8,
) -> float:
    """Covariance of ``values[i]`` and ``values[j]`` pooled over year pairs (weights ``w``)."""
    if i.size == 0:
        return math.nan
    num = 0.0
    den = 0.0
    for y in np.unique(year[i]):
        sel = year[i] == y
        ww = w[sel]
        tot = float(ww.sum())
        if tot <= 1.0:
            continue
        a, b = values[i[sel]], values[j[sel]]
        ma, mb = float(ww @ a) / tot, float(ww @ b) / tot
        num += float(ww @ ((a - ma) * (b - mb)))
        den += tot - 1.0
    return num / den if den > 0 else math.nan


def fit_risk(
    panel: Panel,
    log_cost: F8 | None,
    *,
    risk_sigma: float | None = None,
    risk_persistence: float | None = None,
    reps: int = 200,
    seed: int = 9,
    confidence: float = 0.95,
) -> RiskFit:
    """Risk spread and persistence (module docstring). ``log_cost``: log annualised cost (nan
    where the cost is 0), used when there are no scores."""
    d = panel.data
    m = d.member
    n_years = panel.last_year - panel.first_year + 1
    if d.risk is not None:
        ls = _log_score(panel)
        ref = panel.initial
        yrs = d.year

        def sigma(w: F8) -> float:
            ww = w[m] * ref
            tot = float(ww.sum())
            if tot <= 1:
                return math.nan
            # Pooled over years, each centred on its own mean.
            ss = 0.0
            df = 0.0
            for y in np.unique(yrs[ref]):
                sel = ref & (yrs == y)
                wy = w[m[sel]]
                t = float(wy.sum())
                if t <= 1:
                    continue
                mu = float(wy @ ls[sel]) / t
                ss += float(wy @ (ls[sel] - mu) ** 2)
                df += t - 1
            return math.sqrt(ss / df) if df > 0 else math.nan

        i1, j1 = _lag_pairs(panel, np.ones(d.n, dtype=bool), 1)

        def rho(w: F8) -> float:
            ww = w[m[i1]]
            c = _pooled_cov(ls, yrs, i1, j1, ww)
            s = sigma(w)
            return c / (s * s) if s and math.isfinite(c) else math.nan

        s_iv = _boot(sigma, d.n_members, reps, seed, confidence)
        if risk_sigma is not None:
            s_iv = Interval(risk_sigma, risk_sigma, risk_sigma, 0.0)
        if risk_persistence is not None:
            r_iv = Interval(risk_persistence, risk_persistence, risk_persistence, 0.0)
            r_method = "given"
            assumed = True
        elif i1.size >= 10:
            r_iv = _boot(rho, d.n_members, reps, seed + 1, confidence)
            r_iv = _clip(r_iv, 0.0, 1.0)
            r_method = (
                f"correlation of log risk scores a year apart, {i1.size:,} pairs of "
                "consecutive years of the first year's members"
            )
            assumed = False
        else:
            r_iv = Interval(DEFAULT_RISK_PERSISTENCE, math.nan, math.nan)
            r_method = (
                "assumed (the schema default): fewer than 10 members with scores in two "
                "consecutive years"
            )
            assumed = True
        return RiskFit(
            risk_sigma=s_iv,
            risk_persistence=r_iv,
            sigma_method="standard deviation of log risk scores of the first year's members"
            if risk_sigma is None
            else "given",
            persistence_method=r_method,
            lag_covariances=(),
            persistence_assumed=assumed,
            reps=reps,
            seed=seed,
            confidence=confidence,
        )

    # No scores: covariances of log cost at lags 1 and 2.
    assert log_cost is not None
    valid = np.isfinite(log_cost)
    lags = [k for k in (1, 2, 3) if k < n_years]
    pairs = {k: _lag_pairs(panel, valid, k) for k in lags}
    lags = [k for k in lags if pairs[k][0].size >= 10]
    lc = np.where(valid, log_cost, 0.0)

    def covs(w: F8) -> dict[int, float]:
        return {k: _pooled_cov(lc, d.year, *pairs[k], w[m[pairs[k][0]]]) for k in lags}

    cov0 = covs(np.ones(d.n_members))
    table = tuple((k, cov0[k], int(pairs[k][0].size)) for k in lags)
    weights_by_lag = {k: p for k, _, p in table}

    def solve(c: dict[int, float]) -> tuple[float, float]:
        """(sigma, rho) from lag covariances."""
        if risk_sigma is not None and risk_persistence is not None:
            return risk_sigma, risk_persistence
        c1 = c.get(1, math.nan)
        if not math.isfinite(c1):
            return math.nan, math.nan
        if risk_sigma is not None:  # the persistence follows from the lag-1 covariance
            return risk_sigma, min(max(c1 / risk_sigma**2, 0.0), 1.0) if risk_sigma > 0 else 0.0
        if risk_persistence is not None or 2 not in c:
            r = DEFAULT_RISK_PERSISTENCE if risk_persistence is None else risk_persistence
            return math.sqrt(max(c1, 0.0) / r) if r > 0 else 0.0, r
        # Least squares of n_k (c_k - s2 r^k)^2 over the lags; with lags 1 and 2 exact.
        ks = sorted(c)
        if c1 <= 0:
            return 0.0, 0.0
        r = min(max(c[2] / c1, 0.0), 0.999) if c[2] > 0 else 0.0
        if len(ks) > 2:
            # For each persistence on a grid the best spread is linear least squares.
            n = np.array([weights_by_lag[k] for k in ks], dtype=np.float64)
            cv = np.array([c[k] for k in ks])
            rs = np.linspace(0.0, 0.999, 1000)[:, None]
            powers = rs ** np.array(ks, dtype=np.float64)[None, :]
            s2 = np.maximum(
                (powers * n * cv).sum(1) / np.maximum((powers**2 * n).sum(1), 1e-300), 0
            )
            loss = (n * (cv - s2[:, None] * powers) ** 2).sum(1)
            k_best = int(np.argmin(loss))
            return math.sqrt(float(s2[k_best])), float(rs[k_best, 0])
        return (math.sqrt(c1 / r) if r > 0 else 0.0), r

    sig0, rho0 = solve(cov0)
    rng = np.random.default_rng(seed)
    boots = np.array(
        [solve(covs(rng.poisson(1.0, d.n_members).astype(np.float64))) for _ in range(reps)]
    )
    s_lo, s_hi = _percentile(boots[:, 0], confidence)
    r_lo, r_hi = _percentile(boots[:, 1], confidence)
    s_iv = Interval(sig0, min(s_lo, sig0), max(s_hi, sig0), _nan_sd(boots[:, 0]))
    r_iv = Interval(rho0, min(r_lo, rho0), max(r_hi, rho0), _nan_sd(boots[:, 1]))
    assumed = risk_persistence is not None or (2 not in cov0 and risk_sigma is None)
    if risk_persistence is not None:
        r_method = "given"
        r_iv = Interval(risk_persistence, risk_persistence, risk_persistence, 0.0)
    elif risk_sigma is not None and 1 in cov0:
        implied = cov0[1] / risk_sigma**2 if risk_sigma > 0 else math.nan
        r_method = (
            f"the covariance of members' log annualised cost a year apart ({cov0[1]:.4f}, "
            f"{table[0][2]:,} pairs) over the given risk_sigma^2"
            + (f": {implied:.3g}, capped at 1" if implied > 1 else "")
        )
    elif 2 not in cov0:
        r_method = (
            "assumed (the schema default 0.75): two years of data give only the product "
            "risk_sigma^2 x risk_persistence"
            if 1 in cov0
            else "assumed (the schema default 0.75): no member has costs in two years"
        )
        r_iv = Interval(DEFAULT_RISK_PERSISTENCE, math.nan, math.nan)
    else:
        r_method = (
            "ratio of the covariances of members' log annualised cost two years and one year "
            "apart (" + ", ".join(f"lag {k}: {p:,} pairs" for k, _, p in table) + ")"
        )
    if risk_sigma is not None:
        s_method = "given"
        s_iv = Interval(risk_sigma, risk_sigma, risk_sigma, 0.0)
    else:
        s_method = (
            "from the covariance of members' log annualised cost a year apart, "
            f"{table[0][2]:,} pairs: risk_sigma^2 x risk_persistence = {table[0][1]:.4f}"
            if table
            else "assumed: no member with a cost in two consecutive years"
        )
    if not math.isfinite(s_iv.value):
        s_iv = Interval(0.5, math.nan, math.nan)
        s_method = "assumed (the schema default 0.5): no member has costs in two consecutive years"
    return RiskFit(
        s_iv, r_iv, s_method, r_method, table, assumed, reps=reps, seed=seed, confidence=confidence
    )


def cap_risk(panel: Panel, log_cost: F8, fitted: RiskFit, cap: float) -> RiskFit:
    """``fitted`` (from the panel of costs) with the spread lowered to ``cap`` and the
    persistence re-derived so that the model carries as much of the lag-1 covariance as it can:
    ``min(1, covariance / cap^2)``, with its bootstrap interval (the bootstrap of ``fitted``:
    its ``reps``, ``seed`` and ``confidence``).

    Used where the spread the covariances call for concentrates spend beyond the data's
    (:func:`simsettle.calibrate.mixture.largest_risk_sigma`); the cap is a bound, not an
    estimate, so its interval is nan.
    """
    held = fit_risk(
        panel,
        log_cost,
        risk_sigma=cap,
        reps=fitted.reps,
        seed=fitted.seed,
        confidence=fitted.confidence,
    )
    c1 = {k: c for k, c, _ in held.lag_covariances}.get(1, math.nan)
    carried = held.risk_persistence.value * cap * cap
    sigma_method = (
        f"capped at {cap:.2f}, the largest (in steps of 0.05) at which the cost mixture can "
        "still reproduce the data's spend shares of the costliest 1%, 5% and 10% of "
        f"member-years; the costs' covariances call for {fitted.risk_sigma.value:.3g} at "
        f"persistence {fitted.risk_persistence.value:.3g} ({fitted.sigma_method}), and a "
        "lognormal risk score that wide concentrates spend "
        "beyond the data's by itself"
    )
    persistence_method = (
        f"the covariance of members' log annualised cost a year apart ({c1:.4f}) over the "
        f"capped risk_sigma^2, at most 1: the model carries {carried:.3g} of it"
    )
    return replace(
        held,
        risk_sigma=Interval(cap, math.nan, math.nan),
        sigma_method=sigma_method,
        persistence_method=persistence_method,
        persistence_assumed=False,
        capped=True,
    )


def _clip(iv: Interval, lo: float, hi: float) -> Interval:
    def c(x: float) -> float:
        return min(max(x, lo), hi) if math.isfinite(x) else x

    return Interval(c(iv.value), c(iv.lower), c(iv.upper), iv.se)


def fit_entrants(
    panel: Panel,
    *,
    reps: int = 200,
    seed: int = 10,
    confidence: float = 0.95,
) -> tuple[Interval, str]:
    """``entrant_risk_ratio`` (module docstring)."""
    d = panel.data
    m = d.member
    ent = panel.entrant
    ref = panel.initial
    years = [y for y in np.unique(d.year[ent]) if np.any(ref & (d.year == y))]
    if not years or int(ent.sum()) < 5:
        return Interval(1.0, math.nan, math.nan), (
            "assumed 1 (the schema default): fewer than 5 new members in the data"
        )
    # Each year's new members (e) and first-year members (r), compared within the year.
    groups = [(ent & (d.year == y), ref & (d.year == y)) for y in years]
    if d.risk is not None:
        ls = _log_score(panel)

        def stat(w: F8) -> float:
            num = den = 0.0
            for e, r in groups:
                we, wr = w[m[e]], w[m[r]]
                if we.sum() <= 0 or wr.sum() <= 0:
                    continue
                diff = float(we @ ls[e]) / we.sum() - float(wr @ ls[r]) / wr.sum()
                num += we.sum() * diff
                den += we.sum()
            return math.exp(num / den) if den > 0 else math.nan

        method = (
            f"difference of mean log risk scores, {int(ent.sum()):,} new members in their "
            "first year against the first year's members in the same years"
        )
    else:

        def stat(w: F8) -> float:
            num = den = 0.0
            for e, r in groups:
                we, wr = w[m[e]], w[m[r]]
                pmpm_r = _ratio(wr * d.cost[r], wr * d.months[r])
                num += float(we @ d.cost[e])
                den += float(we @ d.months[e]) * pmpm_r
            return num / den if den > 0 else math.nan

        method = (
            f"cost per member month of {int(ent.sum()):,} new members in their first year over "
            "that of the first year's members in the same years"
        )
    iv = _boot(stat, d.n_members, reps, seed, confidence)
    return _clip(iv, 0.05, 5.0), method


def fit_trend(
    panel: Panel,
    *,
    trend_sd: float | None = None,
    reps: int = 200,
    seed: int = 11,
    confidence: float = 0.95,
) -> TrendFit:
    """PMPM by year and the trend's mean and volatility (module docstring)."""
    d = panel.data
    m = d.member
    years = list(range(panel.first_year, panel.last_year + 1))
    present = [y for y in years if np.any(d.year == y)]
    scale = risk_scale(panel) if d.risk is not None else 1.0
    exposure = d.months * (d.risk / scale if d.risk is not None else 1.0)

    def pmpms(w: F8) -> F8:
        ww = w[m]
        return np.array(
            [_ratio(ww * d.cost * (d.year == y), ww * exposure * (d.year == y)) for y in present]
        )

    p0 = pmpms(np.ones(d.n_members))
    consecutive = [k for k in range(len(present) - 1) if present[k + 1] == present[k] + 1]
    g = np.array([math.log(p0[k + 1] / p0[k]) for k in consecutive])
    rng = np.random.default_rng(seed)
    boot = np.array([pmpms(rng.poisson(1.0, d.n_members).astype(np.float64)) for _ in range(reps)])
    with np.errstate(divide="ignore", invalid="ignore"):
        gb = (
            np.column_stack([np.log(boot[:, k + 1] / boot[:, k]) for k in consecutive])
            if (consecutive)
            else np.zeros((reps, 0))
        )
    samp_sd = np.array([_nan_sd(gb[:, j]) for j in range(gb.shape[1])])
    k = g.size
    zc = float(stats.norm.ppf(0.5 + 0.5 * confidence))
    if k == 0:
        sd = DEFAULT_TREND_SD if trend_sd is None else trend_sd
        return TrendFit(
            tuple(present),
            tuple(float(x) for x in p0),
            (),
            (),
            Interval(math.nan, math.nan, math.nan),
            Interval(sd, math.nan, math.nan),
            True,
            "one year of data: no trend can be estimated",
        )
    mu = float(g.mean())
    samp_var = float(np.mean(samp_sd**2))
    if trend_sd is not None:
        sd_iv = Interval(trend_sd, trend_sd, trend_sd, 0.0)
        sd_assumed = True
        sd_method = "given"
    elif k >= 2:
        var_g = float(np.var(g, ddof=1))
        sd = math.sqrt(max(var_g - samp_var, 0.0))
        lo_q, hi_q = stats.chi2.ppf([0.5 + 0.5 * confidence, 0.5 - 0.5 * confidence], k - 1)
        var_lo, var_hi = (k - 1) * var_g / lo_q, (k - 1) * var_g / hi_q
        sd_iv = Interval(
            sd,
            math.sqrt(max(var_lo - samp_var, 0.0)),
            math.sqrt(max(var_hi - samp_var, 0.0)),
        )
        sd_assumed = False
        sd_method = (
            f"variance of {k} yearly log growths less their member sampling variance "
            f"(sampling sd {math.sqrt(samp_var):.4f}, bootstrap), chi-squared interval"
        )
    else:
        sd_iv = Interval(DEFAULT_TREND_SD, math.nan, math.nan)
        sd_assumed = True
        sd_method = "the schema default: one growth cannot show its volatility"
    sd = sd_iv.value
    if k >= 2:
        se = math.sqrt(float(np.var(g, ddof=1)) / k)
        tq = float(stats.t.ppf(0.5 + 0.5 * confidence, k - 1))
    else:
        se = math.sqrt(samp_var + sd * sd)
        tq = zc
    mean = math.expm1(mu + 0.5 * sd * sd)
    mean_iv = Interval(
        mean, math.expm1(mu - tq * se + 0.5 * sd * sd), math.expm1(mu + tq * se + 0.5 * sd * sd), se
    )
    method = (
        f"mean of {k} yearly log growth{'s' if k > 1 else ''} of cost per member month"
        + (" per unit of risk score" if d.risk is not None else "")
        + (f", t interval with {k - 1} degrees of freedom" if k >= 2 else "")
    )
    return TrendFit(
        tuple(present),
        tuple(float(x) for x in p0),
        tuple(float(x) for x in g),
        tuple(float(x) for x in samp_sd),
        mean_iv,
        sd_iv,
        sd_assumed,
        method,
        sd_method,
    )
