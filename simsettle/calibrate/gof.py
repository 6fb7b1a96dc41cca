"""Goodness of fit of a calibration: concentration, CV, the tail, persistence, risk dependence.

* **Concentration**: the share of spend of the costliest 1%, 5% and 10% of member-years in the
  data (actual cost, every member-year; interval by a bootstrap of member-years), against the
  fitted model drawn at the data's own member months and years, partial years by the engine's
  exposure model (Monte Carlo, at least 400,000 draws) and against the model's closed form
  for whole years (:func:`simsettle.scenario.costs.cost_moments`, what a scenario run
  reports).
* **CV** of annualised cost (cost x 12 / months, at the first year's cost level) of the full
  years, data against the model's closed form. The tail test, the zero share and the
  persistence read the full years too: a partial year's cost is lumpier than its share of a
  year's (:func:`simsettle.calibrate.fit._full_years`).
* **Tail test**: above the 95th percentile ``u`` of the positive costs that were fitted, the
  fitted model's conditional distribution function turns the data into values that should be
  uniform; a Cramer-von Mises test checks that (its p-value is approximate, the parameters
  being estimated from the same data: it tends to be too large). And a generalized Pareto
  distribution fitted to the excesses over ``u`` gives a shape ``xi`` (with a Wald interval)
  to compare with the same fit to 50,000 draws of the fitted model above ``u`` (not with
  ``1 / tail_shape``: near the threshold the lognormal body, and the risk score, make the
  excesses of the mixture look heavier than the Pareto component alone).
* **Persistence**: the correlation of members' annualised cost in two full years a year
  apart, data (with a member bootstrap interval) against the model's, from the risk score's
  persistence and the cost's (:func:`simsettle.models.persistence.persistence_moments`; without
  the cost's, ``(exp(rho sigma^2) - 1) / CV^2``).
* **Risk dependence** (with scores): the slope of log annualised cost on log risk score among
  member-years with a cost (the engine's is 1), with a member-clustered interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from simsettle._arrays import F8, I8
from simsettle.calibrate.mixture import CostModel, Interval
from simsettle.models.persistence import persistence_moments
from simsettle.scenario.costs import cost_moments, episodic_share

__all__ = ["GoodnessOfFit", "TailTest", "concentration", "goodness_of_fit"]

TOP = (0.01, 0.05, 0.10)


@dataclass(frozen=True)
class TailTest:
    """The fitted tail against the data above ``threshold``."""

    threshold: float
    n_exceed: int
    cvm_statistic: float
    cvm_pvalue: float
    gpd_shape: Interval
    model_gpd_shape: float  # the same fit to draws of the model above the threshold
    pareto_shape: float  # 1 / tail_shape


@dataclass(frozen=True)
class GoodnessOfFit:
    """Data against the fitted model (see the module docstring)."""

    top_data: dict[float, Interval]
    top_model: dict[float, float]  # at the data's months, Monte Carlo
    top_model_full_year: dict[float, float]  # closed form
    cv_data: float
    cv_model: float
    zero_data: float
    zero_model: float
    tail: TailTest | None
    persistence_data: float
    persistence_interval: Interval  # the data's, with its member bootstrap interval
    persistence_model: float
    cost_persistence: float  # the model's cost.persistence behind persistence_model
    persistence_pairs: int
    risk_slope: Interval | None
    qq_data: F8
    qq_model: F8
    fitted_values: F8  # the positive annualised costs the mixture was fitted to

    def max_concentration_gap(self) -> float:
        """Largest absolute gap between data and model top shares (fraction)."""
        return max(abs(self.top_data[q].value - self.top_model[q]) for q in TOP)


def concentration(cost: npt.ArrayLike, qs: tuple[float, ...] = TOP) -> dict[float, float]:
    """Share of total cost carried by the costliest fraction ``q`` of the values."""
    c = np.sort(np.asarray(cost, dtype=np.float64))[::-1]
    total = float(c.sum())
    out = {}
    for q in qs:
        k = q * c.size
        whole = math.floor(k)
        part = float(c[:whole].sum()) + (k - whole) * (float(c[whole]) if whole < c.size else 0.0)
        out[q] = part / total if total > 0 else math.nan
    return out


def boot_shares(
    cost: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    reps: int,
    seed: int,
    qs: tuple[float, ...] = TOP,
) -> F8:
    """``(reps, len(qs))`` bootstrap replicates of :func:`concentration`, resampling members.

    A member's years are dependent (the risk score persists), so the member is the unit: each
    replicate weighs every member by a Poisson(1) count (the Poisson bootstrap), and the share
    of the costliest ``q`` is that of the heaviest member-years up to a weight of ``q`` of the
    total.
    """
    x = np.asarray(cost, dtype=np.float64)
    cl = np.unique(np.asarray(clusters), return_inverse=True)[1]
    n_cl = int(cl.max()) + 1 if cl.size else 0
    rng = np.random.default_rng(seed)
    order = np.argsort(x)[::-1]
    xs, cls = x[order], cl[order]
    out = np.empty((reps, len(qs)))
    for r in range(reps):
        w = rng.poisson(1.0, n_cl).astype(np.float64)[cls]
        cum_w = np.cumsum(w)
        cum_c = np.cumsum(w * xs)
        total_w, total_c = cum_w[-1], cum_c[-1]
        for j, q in enumerate(qs):
            k = int(np.searchsorted(cum_w, q * total_w))
            out[r, j] = cum_c[min(k, xs.size - 1)] / total_c if total_c > 0 else math.nan
    return out


def top_interval(
    cost: F8, clusters: npt.ArrayLike, *, reps: int, seed: int, confidence: float
) -> dict[float, Interval]:
    """The data's spend shares of the costliest 1%, 5% and 10% of member-years, each with its
    percentile interval from the member bootstrap (:func:`boot_shares`)."""
    base = concentration(cost)
    boots = boot_shares(cost, clusters, reps=reps, seed=seed)
    out = {}
    for j, q in enumerate(TOP):
        lo, hi = np.nanquantile(boots[:, j], [0.5 - 0.5 * confidence, 0.5 + 0.5 * confidence])
        out[q] = Interval(base[q], float(lo), float(hi), float(np.nanstd(boots[:, j])))
    return out


def model_top(
    full_model: CostModel, year_index: F8, months: F8, seed: int = 13
) -> dict[float, float]:
    """The model's spend shares of the costliest 1%, 5% and 10% of member-years, at the data's
    months and year levels (Monte Carlo, at least 400,000 draws).

    A partial year costs ``C B`` with the engine's exposure share ``B``
    (:func:`simsettle.scenario.costs.episodic_share` of the member-year cost without the risk
    score): the year's cost as one episode, nothing, or its share of the year.
    """
    rng = np.random.default_rng(seed)
    reps = max(1, math.ceil(400_000 / year_index.size))
    c = episodic_share(full_model.with_risk_sigma(0.0).cv)
    p = months / 12.0

    def draw() -> F8:
        u = rng.random(p.size)
        share = np.where(u < c, (u < c * p).astype(np.float64), p)
        return full_model.sample(year_index.size, rng) * year_index * share

    return concentration(np.concatenate([draw() for _ in range(reps)]))


def _gpd_shape(excess: F8, confidence: float) -> Interval:
    """Generalized Pareto shape of ``excess`` (> 0) by maximum likelihood, Wald interval."""
    if excess.size < 20:
        return Interval(math.nan, math.nan, math.nan)
    scale0 = float(np.mean(excess))

    def nll(v: F8) -> float:
        xi, log_s = float(v[0]), float(v[1])
        return -float(np.sum(stats.genpareto.logpdf(excess, xi, scale=math.exp(log_s))))

    res = optimize.minimize(
        nll,
        np.array([0.2, math.log(scale0)]),
        method="Nelder-Mead",
        options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 2000},
    )
    v = np.asarray(res.x)
    h = np.zeros((2, 2))
    eps = np.array([1e-3, 1e-3])
    for i in range(2):
        for j in range(2):
            ei = np.zeros(2)
            ej = np.zeros(2)
            ei[i], ej[j] = eps[i], eps[j]
            h[i, j] = (
                nll(v + ei + ej) - nll(v + ei - ej) - nll(v - ei + ej) + nll(v - ei - ej)
            ) / (4 * eps[i] * eps[j])
    try:
        cov = np.linalg.inv(h)
        se = math.sqrt(max(float(cov[0, 0]), 0.0))
    except np.linalg.LinAlgError:
        se = math.nan
    zc = float(stats.norm.ppf(0.5 + 0.5 * confidence))
    xi = float(v[0])
    return Interval(xi, xi - zc * se, xi + zc * se, se)


def tail_test(values: F8, model: CostModel, confidence: float, seed: int = 13) -> TailTest | None:
    """:class:`TailTest` of the positive ``values`` under ``model`` above their 95th
    percentile."""
    pos = values[values > 0]
    if pos.size < 200:
        return None
    u = float(np.quantile(pos, 0.95))
    above = pos[pos > u]
    s_u = float(model.sf(np.array([u]))[0])
    pit = 1.0 - model.sf(above) / s_u
    res = stats.cramervonmises(np.clip(pit, 0.0, 1.0), "uniform")
    # The model's excesses over u, drawn by inversion of its conditional distribution.
    rng = np.random.default_rng(seed)
    v = rng.random(50_000)
    draws = model.ppf(1.0 - s_u * v)
    model_xi = _gpd_shape(draws[draws > u] - u, confidence).value
    return TailTest(
        threshold=u,
        n_exceed=int(above.size),
        cvm_statistic=float(res.statistic),
        cvm_pvalue=float(res.pvalue),
        gpd_shape=_gpd_shape(above - u, confidence),
        model_gpd_shape=model_xi,
        pareto_shape=1.0 / model.tail_shape if model.tail_probability > 0 else 0.0,
    )


def _clustered_slope(y: F8, x: F8, clusters: I8, confidence: float) -> Interval:
    """OLS slope of ``y`` on ``x`` with a cluster-robust standard error."""
    xc = x - x.mean()
    yc = y - y.mean()
    sxx = float(xc @ xc)
    if sxx <= 0:
        return Interval(math.nan, math.nan, math.nan)
    beta = float(xc @ yc) / sxx
    resid = yc - beta * xc
    _, inv = np.unique(clusters, return_inverse=True)
    s = np.zeros(int(inv.max()) + 1)
    np.add.at(s, inv, xc * resid)
    se = math.sqrt(float(s @ s)) / sxx
    zc = float(stats.norm.ppf(0.5 + 0.5 * confidence))
    return Interval(beta, beta - zc * se, beta + zc * se, se)


def goodness_of_fit(
    *,
    cost: F8,
    months: F8,
    year_index: F8,
    annualised: F8,
    fitted: F8,
    fitted_model: CostModel,
    full_model: CostModel,
    risk_persistence: float,
    pairs: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    cost_persistence: float = 0.0,
    clusters: I8,
    log_risk: F8 | None,
    confidence: float,
    top_data: dict[float, Interval] | None = None,
    seed: int = 12,
) -> GoodnessOfFit:
    """Data against model (module docstring).

    ``cost``/``months``: each member-year's actual cost and months; ``year_index``: its year's
    cost level relative to the first; ``annualised``: cost x 12 / months / index; ``fitted``:
    the values the mixture was fitted to (divided by the risk score where there are scores);
    ``fitted_model``: the mixture fitted to them; ``full_model``: the whole cost model
    (``R X``); ``pairs``: row pairs of members a year apart; ``log_risk``: normalised log
    scores, if any.
    """
    if top_data is None:
        top_data = top_interval(cost, clusters, reps=200, seed=seed, confidence=confidence)
    top_model = model_top(full_model, year_index, months, seed + 1)
    m = cost_moments(full_model.shape())
    top_full = {0.01: m.top1_share, 0.05: m.top5_share, 0.10: m.top10_share}
    full = np.isfinite(annualised)  # the full years (partial years are nan: see fit.py)
    cv_data = float(np.std(annualised[full]) / np.mean(annualised[full]))
    i, j = pairs
    if i.size >= 10:
        a, b = annualised[i], annualised[j]
        persistence_data = float(np.corrcoef(a, b)[0, 1])
        # Member bootstrap of the correlation (a member is one pair of years per year pair).
        rng = np.random.default_rng(seed + 2)
        reps = []
        for _ in range(200):
            w = rng.poisson(1.0, clusters.max() + 1)[clusters[i]].astype(np.float64)
            tot = w.sum()
            ma, mb = (w @ a) / tot, (w @ b) / tot
            cov = w @ ((a - ma) * (b - mb))
            reps.append(cov / math.sqrt((w @ (a - ma) ** 2) * (w @ (b - mb) ** 2)))
        lo, hi = np.quantile(reps, [0.5 - 0.5 * confidence, 0.5 + 0.5 * confidence])
        persistence_interval = Interval(
            persistence_data, min(float(lo), persistence_data), max(float(hi), persistence_data)
        )
    else:
        persistence_data = math.nan
        persistence_interval = Interval(math.nan, math.nan, math.nan)
    s2 = full_model.risk_sigma**2
    cv_model = full_model.cv
    if cost_persistence > 0.0 and math.isfinite(cv_model):
        persistence_model = persistence_moments(
            full_model.shape(), cost_persistence, risk_persistence
        ).corr
    else:
        persistence_model = (
            (math.expm1(risk_persistence * s2)) / cv_model**2 if cv_model > 0 else 0.0
        )
    pos = fitted[fitted > 0]
    probs = (np.arange(1, pos.size + 1) - 0.5) / pos.size
    qq_model = fitted_model.ppf(
        fitted_model.zero_cost_share + (1.0 - fitted_model.zero_cost_share) * probs
    )
    slope = None
    if log_risk is not None:
        ok = annualised > 0
        slope = _clustered_slope(np.log(annualised[ok]), log_risk[ok], clusters[ok], confidence)
    return GoodnessOfFit(
        top_data=top_data,
        top_model=top_model,
        top_model_full_year=top_full,
        cv_data=cv_data,
        cv_model=cv_model,
        zero_data=float(np.mean(fitted[full] == 0)),
        zero_model=fitted_model.zero_cost_share,
        tail=tail_test(fitted[full], fitted_model, confidence),
        persistence_data=persistence_data,
        persistence_interval=persistence_interval,
        persistence_model=persistence_model,
        cost_persistence=cost_persistence,
        persistence_pairs=int(i.size),
        risk_slope=slope,
        qq_data=np.sort(pos),
        qq_model=qq_model,
        fitted_values=pos,
    )
