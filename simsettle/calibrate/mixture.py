"""The engine's member cost distribution, vectorised, and its maximum-likelihood fit.

A member-year's annual cost (full year, risk and trend index factored as in the engine) is ``C =
R X``: ``R`` lognormal with mean 1 and log-sd ``risk_sigma``; ``X`` zero with probability ``z``,
a Pareto variate ``h V**(-1/alpha)`` with probability ``t`` and otherwise lognormal with mean
``m_b`` and log-sd ``s`` (:mod:`simsettle.scenario.costs` has the same model in scalar closed
forms; :class:`CostModel` gives the density too, and works on arrays).

Density of the positive part (``k = c / h``, ``Phi`` the normal cdf):

* body: ``R`` times the lognormal is lognormal with mean ``m_b`` and log-sd ``S = sqrt(s^2 +
  risk_sigma^2)``;
* tail: ``f(c) = alpha / c * k^-alpha E[R^alpha; R < k]`` with ``E[R^a; R < k] = exp(a (a - 1)
  risk_sigma^2 / 2) Phi((log k + risk_sigma^2 / 2 - a risk_sigma^2) / risk_sigma)``; with
  ``risk_sigma = 0`` the Pareto density ``alpha h^alpha c^(-alpha - 1)`` above ``h``.

Fitting (:func:`fit_mixture`)
-----------------------------
The data are annualised member-year costs ``x`` (cost x 12 / months, divided by the year's
trend index, and by the member's risk score where scores are given: then ``risk_sigma`` is 0 in
the likelihood, since ``X`` itself is observed).

* ``z`` is the share of zeros; the mean ``M = 12 pmpm`` is the data's member-month weighted mean
  (the engine derives the body's mean from ``pmpm``, so matching ``M`` makes the scenario
  reproduce the data's total spend).
* The rest maximises the likelihood of the positive costs subject to that mean: parameters the
  tail's share of the mean ``phi = t h alpha / ((alpha - 1) M)`` (logit), ``s`` (log),
  ``alpha - 1`` (log) and the threshold ``h`` (log), with ``t = phi M (alpha - 1) / (h alpha)``
  and ``m_b = M (1 - phi) / (1 - z - t)``.
* **Threshold rule.** ``h`` is the Pareto scale, a parameter of the model, chosen by profile
  likelihood: the likelihood maximised over the other parameters is evaluated at 16 candidate
  thresholds, the positive costs' quantiles from 0.75 to 0.998 (equally spaced in ``log(1 -
  p)``, kept above ``1.05 M / (1 - z)`` so that the body keeps some probability), then refined
  by bounded Brent search between the best candidate's neighbours. With ``risk_sigma`` at least
  0.1 the likelihood is smooth in ``h`` and the final fit is joint; below that (and with risk
  scores, where it is 0) the likelihood jumps at each data point above ``h`` and ``h`` is held
  at its profile optimum.
* **Small costs are censored**: a positive cost at or below the 20th percentile of the positive
  costs enters the likelihood as ``P(0 < C <= floor)``, not through its density. Their count
  still counts, but the spread of the very smallest amounts (a few dollars against a few
  hundred, which carry almost no spend) no longer steers the body's log-sd. In real data the
  smallest amounts are often more spread out on the log scale than a lognormal allows, and an
  uncensored fit then widens the body and overstates the top members' share of spend. The
  fit stays consistent for the engine's own model (censoring loses a little precision).
* A body-only model (``t = 0``) is fitted too; the tail is kept when it raises the
  log-likelihood by more than 1.
* The tail's shape is weakly identified where the risk score smooths the Pareto (no scores):
  a light tail (shape 5 and up) and a narrow bump (the shape at its bound, 100) can fit about
  equally. Its interval is therefore the profile-likelihood-ratio interval (the likelihood
  maximised over the other parameters at each shape on a grid), not a Wald interval.
* Confidence intervals: the stacked estimating equations of ``z``, ``M`` and the likelihood
  scores give a sandwich covariance, clustered by member (a member's years are dependent
  through the risk score, so the marginal likelihood is a composite likelihood and the plain
  Hessian would be too narrow). Wald intervals on the logit/log scale of each scenario field,
  mapped back. With the threshold held, its interval is the profile-likelihood-ratio interval
  (chi-squared with one degree of freedom).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import optimize, special, stats

from simsettle._arrays import F8, I8
from simsettle.calibrate.bounds import field_range
from simsettle.scenario.costs import CostMixture, CostShape, default_tail_threshold

__all__ = [
    "CostModel",
    "Interval",
    "MixtureFit",
    "fit_mixture",
    "fit_shares",
    "largest_risk_sigma",
]

#: Ranges of the fitted fields (the schema's bounds, :mod:`simsettle.calibrate.bounds`).
BODY_SIGMA_BOUNDS = field_range("cost.body_sigma")
TAIL_SHAPE_BOUNDS = field_range("cost.tail_shape")
#: Positive costs up to this quantile are censored in the likelihood (module docstring).
CENSOR_QUANTILE = 0.2
#: ``risk_sigma`` from which the likelihood is treated as smooth in the threshold.
SMOOTH_RISK_SIGMA = 0.1


@dataclass(frozen=True)
class CostModel(CostMixture):
    """The cost distribution of a member-year, ``C = R X`` (see the module docstring), on arrays.

    Its parameters and moments (``mean``, ``cv``) are those of
    :class:`~simsettle.scenario.costs.CostMixture`; this class adds the density, survival and
    partial expectations the fit and the goodness-of-fit checks evaluate on arrays of costs.
    """

    @classmethod
    def from_shape(cls, shape: CostShape) -> CostModel:
        """The distribution of a :class:`~simsettle.scenario.costs.CostShape` (the lognormal
        body and Pareto tail, which calibration fits; ValueError for other families)."""
        mix = shape.mixture
        if not mix.standard:
            raise ValueError(
                f"calibration fits the lognormal body and the Pareto tail; this shape has a "
                f"{mix.body_family} body and a {mix.tail_family} tail"
            )
        return cls(**vars(mix))

    # ----------------------------------------------------------------------------------------

    def _body_sd(self) -> float:
        return math.hypot(self.body_sigma, self.risk_sigma)

    def _log_body_mu(self) -> float:
        sd = self._body_sd()
        return math.log(self.body_mean) - 0.5 * sd * sd

    def _tail_parts(self, log_c: F8) -> tuple[F8, F8, F8]:
        """``P(T > c)``, ``E[T; T > c]`` and ``log f_T(c)`` of the tail component ``T = R P``."""
        a, h, sr = self.tail_shape, self.tail_threshold, self.risk_sigma
        lk = log_c - math.log(h)
        tmean = self.tail_mean
        if sr == 0.0:
            above = lk >= 0.0
            surv = np.where(above, np.exp(-a * np.maximum(lk, 0.0)), 1.0)
            part = tmean * np.where(above, np.exp((1.0 - a) * np.maximum(lk, 0.0)), 1.0)
            logf = np.where(above, math.log(a) - log_c - a * np.maximum(lk, 0.0), -np.inf)
            return surv, part, logf
        hv = 0.5 * sr * sr
        log_below = -a * lk + a * (a - 1.0) * hv + special.log_ndtr((lk + hv - a * sr * sr) / sr)
        surv = special.ndtr((-hv - lk) / sr) + np.exp(log_below)
        part = tmean * (special.ndtr((hv - lk) / sr) + np.exp(log_below + lk))
        logf = math.log(a) - log_c + log_below
        return surv, part, logf

    def logpdf(self, c: npt.ArrayLike) -> F8:
        """Log density of the continuous part at ``c > 0`` (it integrates to ``1 - z``)."""
        x = np.asarray(c, dtype=np.float64)
        log_c = np.log(x)
        sd = self._body_sd()
        b = self.body_probability
        lb = (
            math.log(b)
            + stats.norm.logpdf((log_c - self._log_body_mu()) / sd)
            - math.log(sd)
            - log_c
        )
        if self.tail_probability <= 0.0:
            return np.asarray(lb, dtype=np.float64)
        lt = math.log(self.tail_probability) + self._tail_parts(log_c)[2]
        return np.asarray(np.logaddexp(lb, lt), dtype=np.float64)

    def sf(self, c: npt.ArrayLike) -> F8:
        """``P(C > c)`` (``c >= 0``; at 0 it is ``1 - z``)."""
        x = np.asarray(c, dtype=np.float64)
        with np.errstate(divide="ignore"):
            log_c = np.log(np.maximum(x, 1e-300))
        sd = self._body_sd()
        out = self.body_probability * special.ndtr((self._log_body_mu() - log_c) / sd)
        if self.tail_probability > 0.0:
            out = out + self.tail_probability * self._tail_parts(log_c)[0]
        return np.asarray(out, dtype=np.float64)

    def cdf(self, c: npt.ArrayLike) -> F8:
        """``P(C <= c)``."""
        return 1.0 - self.sf(c)

    def partial(self, c: npt.ArrayLike) -> F8:
        """``E[C; C > c]`` (``c > 0``)."""
        x = np.asarray(c, dtype=np.float64)
        log_c = np.log(np.maximum(x, 1e-300))
        sd = self._body_sd()
        out = (
            self.body_probability
            * self.body_mean
            * special.ndtr((self._log_body_mu() + sd * sd - log_c) / sd)
        )
        if self.tail_probability > 0.0:
            out = out + self.tail_probability * self._tail_parts(log_c)[1]
        return np.asarray(out, dtype=np.float64)

    def ppf(self, p: npt.ArrayLike) -> F8:
        """Quantiles: the smallest ``c`` with ``P(C <= c) >= p`` (0 for ``p <= z``)."""
        q = np.atleast_1d(np.asarray(p, dtype=np.float64))
        out = np.zeros_like(q)
        pos = q > self.zero_cost_share
        if not np.any(pos):
            return out.reshape(np.shape(p))
        target = 1.0 - q[pos]  # survival to reach
        lo = np.full(target.shape, math.log(self.mean) - 60.0)
        hi = np.full(target.shape, math.log(self.mean) + 60.0)
        log_target = np.log(np.maximum(target, 1e-300))
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            s = np.log(np.maximum(self.sf(np.exp(mid)), 1e-300))
            above = s > log_target
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        out[pos] = np.exp(0.5 * (lo + hi))
        return out.reshape(np.shape(p))

    def top_share(self, q: float | npt.ArrayLike) -> F8:
        """Share of spend carried by the costliest fraction ``q`` of member-years."""
        qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
        c = self.ppf(1.0 - qs)
        with np.errstate(invalid="ignore"):
            share = (self.partial(c) + c * (qs - self.sf(c))) / self.mean
        share = np.where(qs >= 1.0 - self.zero_cost_share, 1.0, share)
        return np.asarray(np.minimum(share, 1.0), dtype=np.float64).reshape(np.shape(q))

    def sample(self, n: int, rng: np.random.Generator) -> F8:
        """``n`` independent member-year costs ``R X`` (numpy, as the engine draws them)."""
        u = rng.random(n)
        z, t = self.zero_cost_share, self.tail_probability
        s = self.body_sigma
        x = np.exp(math.log(self.body_mean) - 0.5 * s * s + s * rng.standard_normal(n))
        tail = (u >= z) & (u < z + t)
        if t > 0:
            v = (u[tail] - z) / t
            x[tail] = self.tail_threshold * v ** (-1.0 / self.tail_shape)
        x[u < z] = 0.0
        sr = self.risk_sigma
        if sr > 0:
            x *= np.exp(sr * rng.standard_normal(n) - 0.5 * sr * sr)
        return x


# --------------------------------------------------------------------------------------------
# Maximum likelihood


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval and standard error (nan where none)."""

    value: float
    lower: float
    upper: float
    se: float = math.nan

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies in ``[lower, upper]``."""
        return self.lower <= x <= self.upper


@dataclass(frozen=True)
class MixtureFit:
    """Result of :func:`fit_mixture`.

    ``model`` is the fitted distribution of the annualised cost the fit saw (with the
    ``risk_sigma`` it was fitted with); ``intervals`` maps ``zero_cost_share``, ``pmpm``,
    ``body_sigma``, ``tail_probability``, ``tail_threshold``, ``tail_shape`` (and ``body_mean``)
    to :class:`Interval`; ``loglik`` the maximised log-likelihood of the positive costs (the
    ``n_censored`` at or below ``censor_floor`` censored),
    ``loglik_no_tail`` that of the body-only model; ``threshold_method`` says how the threshold
    was settled; ``profile`` the candidate thresholds and their profile log-likelihoods.
    """

    model: CostModel
    intervals: dict[str, Interval]
    loglik: float
    loglik_no_tail: float
    has_tail: bool
    threshold_method: str
    profile: tuple[tuple[float, float], ...]
    n: int
    n_positive: int
    confidence: float
    covariance: F8
    covariance_names: tuple[str, ...]
    censor_floor: float = 0.0
    n_censored: int = 0
    shape_method: str = "maximum likelihood"


_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _loglik_each(model: CostModel, log_x: F8, log_floor: float) -> F8:
    """Each positive cost's log-likelihood; below the floor, ``log P(0 < C <= floor)``."""
    out = model.logpdf(np.exp(log_x))
    if math.isfinite(log_floor):
        below = log_x <= log_floor
        if np.any(below):
            p = (1.0 - model.zero_cost_share) - float(model.sf(np.array([math.exp(log_floor)]))[0])
            out = np.where(below, math.log(p) if p > 0.0 else -1e10, out)
    return np.where(np.isfinite(out), out, -1e10)


@dataclass(frozen=True)
class _Problem:
    """The positive costs and what is held fixed while fitting.

    Costs at or below ``exp(log_floor)`` are censored: only that they are positive and below
    the floor enters the likelihood.
    """

    log_x: F8
    z: float
    mean: float
    risk_sigma: float
    log_floor: float = -math.inf

    @property
    def uncensored(self) -> F8:
        return self.log_x[self.log_x > self.log_floor]

    @property
    def n_censored(self) -> int:
        return int(np.count_nonzero(self.log_x <= self.log_floor))

    def with_risk_sigma(self, risk_sigma: float) -> _Problem:
        return replace(self, risk_sigma=risk_sigma)

    def model(self, theta: F8, h: float) -> CostModel | None:
        """The model at unconstrained ``theta = (logit phi, log s, log(alpha - 1))``."""
        phi = float(special.expit(theta[0]))
        s = float(np.exp(theta[1]))
        a = 1.0 + float(np.exp(theta[2]))
        t = phi * self.mean * (a - 1.0) / (h * a)
        b = 1.0 - self.z - t
        if not (b > 1e-9 and phi < 1.0 and math.isfinite(s) and math.isfinite(a)):
            return None
        return CostModel(self.z, self.mean * (1.0 - phi) / b, s, t, h, a, self.risk_sigma)

    def loglik_each(self, theta: F8, h: float) -> F8:
        m = self.model(theta, h)
        if m is None:
            return np.full(self.log_x.shape, -1e10)
        return _loglik_each(m, self.log_x, self.log_floor)

    def nll(self, theta: F8, h: float) -> float:
        value = -float(np.sum(self.loglik_each(theta, h)))
        return value if math.isfinite(value) else 1e300

    def _censored_nll(self, v: F8) -> float:
        """``-n_c log P(0 < C <= floor)`` at ``v``."""
        m = self.model(v[:3], math.exp(float(v[3])))
        if m is None:
            return 1e300
        p = (1.0 - self.z) - float(m.sf(np.array([math.exp(self.log_floor)]))[0])
        return -self.n_censored * math.log(p) if p > 0.0 else 1e300

    def nll_grad(self, v: F8) -> tuple[float, F8]:
        """Negative log-likelihood and its gradient in ``v = (logit phi, log s, log(alpha - 1),
        log h)`` (the ``log h`` entry is meaningful only for ``risk_sigma > 0``)."""
        phi = float(special.expit(v[0]))
        s = math.exp(float(v[1]))
        a = 1.0 + math.exp(float(v[2]))
        h = math.exp(float(v[3]))
        mean, sr, lc = self.mean, self.risk_sigma, self.uncensored
        t = phi * mean * (a - 1.0) / (h * a)
        b = 1.0 - self.z - t
        if not (b > 1e-9 and 0.0 < phi < 1.0):
            return 1e300, np.zeros(4)
        m_b = mean * (1.0 - phi) / b
        s2 = s * s + sr * sr
        big_s = math.sqrt(s2)
        mu = math.log(m_b) - 0.5 * s2
        u = (lc - mu) / big_s
        l_body = math.log(b) - math.log(big_s) - lc - 0.5 * u * u - _LOG_SQRT_2PI
        lk = lc - math.log(h)
        if sr > 0.0:
            d = (lk + 0.5 * sr * sr - a * sr * sr) / sr
            log_cdf = special.log_ndtr(d)
            big_l = -a * lk + 0.5 * a * (a - 1.0) * sr * sr + log_cdf
            mills = np.exp(-0.5 * d * d - _LOG_SQRT_2PI - log_cdf)  # phi(d) / Phi(d)
            dl_da = -lk + 0.5 * (2.0 * a - 1.0) * sr * sr - sr * mills
            dl_dlk = -a + mills / sr
        else:
            above = lk >= 0.0
            big_l = np.where(above, -a * lk, -np.inf)
            dl_da = np.where(above, -lk, 0.0)
            dl_dlk = np.zeros_like(lk)
        if t > 0.0:
            l_tail = math.log(t) + math.log(a) - lc + big_l
            ll = np.logaddexp(l_body, l_tail)
            w_tail = np.exp(l_tail - ll)
        else:
            ll = l_body
            w_tail = np.zeros_like(lc)
        w_body = 1.0 - w_tail
        total = float(np.sum(ll))
        if not math.isfinite(total):
            return 1e300, np.zeros(4)
        # Derivatives of t, b and log m_b.
        dt = {"phi": t / phi, "a": t / (a * (a - 1.0)), "logh": -t}
        dlogmb = {
            "phi": -1.0 / (1.0 - phi) + dt["phi"] / b,
            "a": dt["a"] / b,
            "logh": dt["logh"] / b,
        }
        # Body: d l_body = -dt / b + (u / S) d mu, with d mu = d log m_b (S fixed).
        g_body = {k: -dt[k] / b + u / big_s * dlogmb[k] for k in dt}
        dl_dbig_s = -1.0 / big_s - u + u * u / big_s
        g_body_s = dl_dbig_s * (s / big_s)
        g_tail = {
            "phi": 1.0 / phi,
            "a": 1.0 / (a * (a - 1.0)) + 1.0 / a + dl_da,
            "logh": -1.0 - dl_dlk,
        }
        grad = np.array(
            [
                np.sum(w_body * g_body["phi"] + w_tail * g_tail["phi"]) * phi * (1.0 - phi),
                np.sum(w_body * g_body_s) * s,
                np.sum(w_body * g_body["a"] + w_tail * g_tail["a"]) * (a - 1.0),
                np.sum(w_body * g_body["logh"] + w_tail * g_tail["logh"]),
            ]
        )
        value, gradient = -total, -grad
        if self.n_censored:
            steps = np.array([1e-6, 1e-6, 1e-6, 1e-6])
            c0 = self._censored_nll(v)
            cg = np.zeros(4)
            for j in range(4):
                e = np.zeros(4)
                e[j] = steps[j]
                cg[j] = (self._censored_nll(v + e) - self._censored_nll(v - e)) / (2 * steps[j])
            value, gradient = value + c0, gradient + cg
        return value, gradient


_THETA_BOUNDS = [
    (-16.0, 8.0),
    (math.log(BODY_SIGMA_BOUNDS[0]), math.log(BODY_SIGMA_BOUNDS[1])),
    (math.log(TAIL_SHAPE_BOUNDS[0] - 1.0), math.log(TAIL_SHAPE_BOUNDS[1] - 1.0)),
]


_LO = np.array([b[0] for b in _THETA_BOUNDS])
_HI = np.array([b[1] for b in _THETA_BOUNDS])


def _inner(problem: _Problem, h: float, start: F8) -> tuple[F8, float]:
    """Maximise over ``(phi, s, alpha)`` at threshold ``h``.

    BFGS with the analytic gradient; the bounds (the schema's) are kept by evaluating at the
    clipped point with a quadratic penalty beyond it (faster here than L-BFGS-B).
    """
    log_h = math.log(h)

    def f(theta: F8) -> tuple[float, F8]:
        clipped = np.clip(theta, _LO, _HI)
        out = theta - clipped
        value, grad = problem.nll_grad(np.append(clipped, log_h))
        g = np.where(out != 0.0, 0.0, grad[:3]) + 2e3 * out
        return value + 1e3 * float(out @ out), g

    res = optimize.minimize(
        f,
        np.clip(start, _LO, _HI),
        jac=True,
        method="BFGS",
        options={"maxiter": 300, "gtol": 1e-4},
    )
    theta = np.clip(np.asarray(res.x, dtype=np.float64), _LO, _HI)
    return theta, -problem.nll_grad(np.append(theta, log_h))[0]


def _no_tail_model(problem: _Problem, s: float) -> CostModel:
    z = problem.z
    return CostModel(z, problem.mean / (1.0 - z), s, 0.0, problem.mean, 2.0, problem.risk_sigma)


def _fit_no_tail(problem: _Problem) -> tuple[float, float]:
    """Body-only model (``t = 0``): its ``body_sigma`` and log-likelihood."""

    def nll(log_s: float) -> float:
        m = _no_tail_model(problem, math.exp(log_s))
        return -float(np.sum(_loglik_each(m, problem.log_x, problem.log_floor)))

    res = optimize.minimize_scalar(
        nll,
        bounds=(math.log(BODY_SIGMA_BOUNDS[0]), math.log(BODY_SIGMA_BOUNDS[1])),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return math.exp(float(res.x)), -float(res.fun)


def _start(problem: _Problem) -> F8:
    lx = problem.uncensored
    cut = np.quantile(lx, 0.9)
    sd = float(np.std(lx[lx <= cut])) * 1.15
    s = math.sqrt(max(sd * sd - problem.risk_sigma**2, 0.05))
    return np.array([special.logit(0.2), math.log(min(max(s, 0.05), 3.5)), math.log(2.0)])


def _candidates(problem: _Problem, n: int = 16) -> F8:
    lx = problem.uncensored
    tail = np.exp(np.linspace(math.log(0.25), math.log(0.002), n))
    hs = np.exp(np.quantile(lx, 1.0 - tail))
    floor = 1.05 * problem.mean / (1.0 - problem.z)
    hs = np.unique(np.maximum(hs, floor))
    return hs


def _profile_fit(
    problem: _Problem,
    threshold: float | None,
    near: tuple[F8, float] | None = None,
) -> tuple[F8, float, float, list[tuple[float, float]]]:
    """Profile over the threshold: ``(theta, h, loglik, [(h, profile loglik), ...])``.

    ``near``: a previous optimum ``(theta, h)``: 7 more candidates within 15% of it, and its
    ``theta`` as the starting point.
    """
    theta = _start(problem) if near is None else near[0]
    if threshold is not None:
        theta, ll = _inner(problem, threshold, theta)
        return theta, threshold, ll, [(threshold, ll)]
    hs = _candidates(problem)
    if near is not None:
        floor = 1.05 * problem.mean / (1.0 - problem.z)
        close = np.maximum(near[1] * np.exp(np.linspace(-0.15, 0.15, 7)), floor)
        hs = np.unique(np.concatenate([hs, close]))
    prof: list[tuple[float, float, F8]] = []
    default = theta
    for h in hs:
        # Warm start from the previous candidate, unless its tail vanished (then the gradient
        # in the tail's shape is flat and the optimiser would stay there).
        theta, ll = _inner(problem, float(h), theta if theta[0] > -6.0 else default)
        prof.append((float(h), ll, theta))
    best = max(range(len(prof)), key=lambda i: prof[i][1])
    lo_h = prof[max(best - 1, 0)][0]
    hi_h = prof[min(best + 1, len(prof) - 1)][0]
    cache: dict[float, tuple[F8, float]] = {}

    def neg(log_h: float) -> float:
        got = _inner(problem, math.exp(log_h), prof[best][2])
        cache[log_h] = got
        return -got[1]

    h_best, ll_best, theta_best = prof[best]
    if hi_h > lo_h:
        res = optimize.minimize_scalar(
            neg,
            bounds=(math.log(lo_h), math.log(hi_h)),
            method="bounded",
            options={"xatol": 1e-4},
        )
        if -float(res.fun) > ll_best:
            theta_best, ll_best = cache[float(res.x)]
            h_best = math.exp(float(res.x))
    return theta_best, h_best, ll_best, [(h, ll) for h, ll, _ in prof]


def _joint(problem: _Problem, theta: F8, h: float) -> tuple[F8, float, float]:
    """Joint maximisation over ``(phi, s, alpha, h)`` from a profile optimum (smooth case)."""
    floor = math.log(1.05 * problem.mean / (1.0 - problem.z))
    lo = np.append(_LO, floor)
    hi = np.append(_HI, math.log(h) + 5.0)

    def f(v: F8) -> tuple[float, F8]:
        clipped = np.clip(v, lo, hi)
        out = v - clipped
        value, grad = problem.nll_grad(clipped)
        return value + 1e3 * float(out @ out), np.where(out != 0.0, 0.0, grad) + 2e3 * out

    v0 = np.append(theta, math.log(h))
    res = optimize.minimize(f, v0, jac=True, method="BFGS", options={"maxiter": 400, "gtol": 1e-4})
    v = np.clip(np.asarray(res.x, dtype=np.float64), lo, hi)
    start = -problem.nll_grad(v0)[0]
    end = -problem.nll_grad(v)[0]
    if end < start:
        return theta, h, start
    return v[:3], math.exp(float(v[3])), end


def _scores(f: Callable[[F8], F8], v: F8, steps: F8) -> F8:
    """Per-observation gradients of ``f`` (vector valued) by central differences: (n, p)."""
    cols = []
    for j in range(v.size):
        e = np.zeros_like(v)
        e[j] = steps[j]
        cols.append((f(v + e) - f(v - e)) / (2.0 * steps[j]))
    return np.column_stack(cols)


def _sandwich(psi: Callable[[F8], F8], v: F8, clusters: I8, n_clusters: int) -> F8:
    """Cluster-robust covariance ``A^-1 B A^-T`` of the M-estimator solving ``sum psi = 0``.

    ``psi(v)`` returns (n, p) per-observation estimating functions; ``A`` is the Jacobian of
    their sum by central differences.
    """
    p = v.size
    base = psi(v)
    steps = 1e-4 * np.maximum(1.0, np.abs(v))
    a = np.zeros((p, p))
    for j in range(p):
        e = np.zeros(p)
        e[j] = steps[j]
        a[:, j] = (psi(v + e).sum(axis=0) - psi(v - e).sum(axis=0)) / (2.0 * steps[j])
    per_cluster = np.zeros((n_clusters, p))
    np.add.at(per_cluster, clusters, base)
    b = per_cluster.T @ per_cluster
    a_inv = np.linalg.pinv(a)
    return np.asarray(a_inv @ b @ a_inv.T, dtype=np.float64)


def fit_mixture(
    x: npt.ArrayLike,
    *,
    weights: npt.ArrayLike | None = None,
    clusters: npt.ArrayLike | None = None,
    risk_sigma: float = 0.0,
    risk_sigma_se: float = 0.0,
    threshold: float | None = None,
    confidence: float = 0.95,
    tail: bool | None = None,
    censor_below: float | None = None,
    start: MixtureFit | None = None,
) -> MixtureFit:
    """Fit the engine's cost mixture to annualised member-year costs ``x`` (module docstring).

    ``weights``: member months (or months x risk score) of each member-year, for the mean;
    ``clusters``: member of each member-year, for the clustered covariance; ``risk_sigma``: the
    risk spread inside ``x`` (0 when ``x`` is already divided by risk scores), with its standard
    error ``risk_sigma_se``: where it is positive, the fit is repeated with the risk spread at
    both ends of its interval and each shape parameter's interval is the union of the three
    (the tail's shape and threshold can move a lot with the spread that smooths them);
    ``threshold``: hold the Pareto threshold instead of choosing it; ``tail``: force the tail
    in (True) or out (False); ``censor_below``: positive costs at or below this amount are
    censored in the likelihood (default: the 20th percentile of the positive costs; 0 for
    none); ``start``: an earlier fit to similar data, searched around instead of the full grid
    of candidate thresholds.
    """

    def one(
        sigma: float, tail_: bool | None, start_: MixtureFit | None, floor: float | None
    ) -> MixtureFit:
        return _fit_one(x, weights, clusters, sigma, threshold, confidence, tail_, floor, start_)

    base = one(risk_sigma, tail, start, censor_below)
    if not (risk_sigma_se > 0 and risk_sigma > 0):
        return base
    zc = float(stats.norm.ppf(0.5 + 0.5 * confidence))
    floor = base.censor_floor if base.n_censored else 0.0
    out = dict(base.intervals)
    for sigma in (max(risk_sigma - zc * risk_sigma_se, 0.0), risk_sigma + zc * risk_sigma_se):
        other = one(sigma, base.has_tail, base, floor)
        for name in ("body_sigma", "tail_probability", "tail_threshold", "tail_shape", "body_mean"):
            a, b = out.get(name), other.intervals.get(name)
            if a is None or b is None:
                continue
            lo = min(a.lower, b.lower, b.value)
            hi = max(a.upper, b.upper, b.value)
            out[name] = Interval(a.value, lo, hi, a.se)
    return replace(base, intervals=out)


def _fit_one(
    x: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    clusters: npt.ArrayLike | None,
    risk_sigma: float,
    threshold: float | None,
    confidence: float,
    tail: bool | None,
    censor_below: float | None,
    start: MixtureFit | None,
) -> MixtureFit:
    """:func:`fit_mixture` at one risk spread (every argument as there)."""
    xs = np.asarray(x, dtype=np.float64)
    n = xs.size
    if n < 20:
        raise ValueError(f"need at least 20 member-years to fit the cost model; got {n}")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    cl = (
        np.arange(n)
        if clusters is None
        else np.unique(np.asarray(clusters), return_inverse=True)[1]
    )
    n_clusters = int(cl.max()) + 1
    pos = xs > 0
    n_pos = int(pos.sum())
    if n_pos < 20:
        raise ValueError(f"need at least 20 member-years with a cost; got {n_pos}")
    z = 1.0 - n_pos / n
    mean = float(np.sum(w * xs) / np.sum(w))
    log_pos = np.log(xs[pos])
    if censor_below is None:
        log_floor = float(np.quantile(log_pos, CENSOR_QUANTILE))
    else:
        log_floor = math.log(censor_below) if censor_below > 0 else -math.inf
    problem = _Problem(log_pos, z, mean, risk_sigma, log_floor)
    s_nt, ll_nt = _fit_no_tail(problem)
    near = None
    if start is not None and start.has_tail:
        sm = start.model
        phi0 = sm.tail_probability * sm.tail_mean / sm.mean
        near = (
            np.array(
                [
                    special.logit(min(max(phi0, 1e-6), 0.99)),
                    math.log(sm.body_sigma),
                    math.log(sm.tail_shape - 1.0),
                ]
            ),
            sm.tail_threshold,
        )
    theta, h, ll, prof = _profile_fit(problem, threshold, near)
    smooth = threshold is None and risk_sigma >= SMOOTH_RISK_SIGMA
    if smooth:
        theta, h, ll = _joint(problem, theta, h)
    # Keep the tail when it raises the log-likelihood by more than 1 (a likelihood-ratio
    # statistic above 2) and carries some spend.
    degenerate = float(special.expit(theta[0])) < 1e-5
    has_tail = (ll - ll_nt > 1.0 and not degenerate) if tail is None else tail
    model = problem.model(theta, h)
    assert model is not None
    if not has_tail:
        m_b = mean / (1.0 - z)
        model = CostModel(z, m_b, s_nt, 0.0, h, model.tail_shape, risk_sigma)

    z_crit = float(stats.norm.ppf(0.5 + 0.5 * confidence))
    pos_idx = np.flatnonzero(pos)
    cl[pos_idx]

    # Stacked estimating equations over v = (logit z, log M, theta[, log h]).
    def unpack(v: F8) -> tuple[_Problem, F8, float]:
        zz = float(special.expit(v[0]))
        pr = replace(problem, z=zz, mean=math.exp(float(v[1])))
        th = v[2:5]
        hh = math.exp(float(v[5])) if v.size > 5 else h
        return pr, th, hh

    if has_tail:
        v0 = np.array(
            [special.logit(z), math.log(mean), *theta] + ([math.log(h)] if smooth else [])
        )
    else:
        v0 = np.array([special.logit(z), math.log(mean), math.log(s_nt)])

    def loglik_pos(v: F8) -> F8:
        if not has_tail:
            zz = float(special.expit(v[0]))
            pr0 = replace(problem, z=zz, mean=math.exp(float(v[1])))
            m = _no_tail_model(pr0, math.exp(float(v[2])))
            return _loglik_each(m, problem.log_x, problem.log_floor)
        pr, th, hh = unpack(v)
        return pr.loglik_each(th, hh)

    def psi(v: F8) -> F8:
        out = np.zeros((n, v.size))
        zz = float(special.expit(v[0]))
        out[:, 0] = np.where(pos, -zz, 1.0 - zz)  # d/d logit z of the zero/positive likelihood
        mm = math.exp(float(v[1]))
        out[:, 1] = w * (xs - mm) / mm
        free = np.arange(2, v.size)
        steps = 1e-4 * np.maximum(1.0, np.abs(v[free]))

        def f(u: F8) -> F8:
            vv = v.copy()
            vv[free] = u
            return loglik_pos(vv)

        out[pos_idx[:, None], free[None, :]] = _scores(f, v[free], steps)
        return out

    cov = _sandwich(psi, v0, cl, n_clusters)
    names_v = ["logit_z", "log_mean", "logit_phi", "log_body_sigma", "log_shape_m1", "log_h"]
    if not has_tail:
        names_v = ["logit_z", "log_mean", "log_body_sigma"]

    # Scenario fields as functions of v (on unconstrained scales for the Wald intervals).
    def fields(v: F8) -> dict[str, float]:
        zz = float(special.expit(v[0]))
        mm = math.exp(float(v[1]))
        if not has_tail:
            return {
                "zero_cost_share": zz,
                "pmpm": mm / 12.0,
                "body_sigma": math.exp(float(v[2])),
                "body_mean": mm / (1 - zz),
            }
        pr, th, hh = unpack(v)
        m = pr.model(th, hh)
        assert m is not None
        return {
            "zero_cost_share": zz,
            "pmpm": mm / 12.0,
            "body_sigma": m.body_sigma,
            "tail_probability": m.tail_probability,
            "tail_threshold": m.tail_threshold,
            "tail_shape": m.tail_shape,
            "body_mean": m.body_mean,
        }

    link: dict[str, tuple[Callable[[float], float], Callable[[float], float]]] = {
        "zero_cost_share": (special.logit, special.expit),
        "tail_probability": (special.logit, special.expit),
        "tail_shape": (lambda a: math.log(a - 1.0), lambda u: 1.0 + math.exp(u)),
    }
    log_link = (math.log, math.exp)
    f0 = fields(v0)
    names = list(f0)
    jac = np.zeros((len(names), v0.size))
    for j in range(v0.size):
        step = 1e-5 * max(1.0, abs(float(v0[j])))
        e = np.zeros(v0.size)
        e[j] = step
        fp, fm = fields(v0 + e), fields(v0 - e)
        for i, name in enumerate(names):
            fwd = link.get(name, log_link)[0]
            jac[i, j] = (fwd(fp[name]) - fwd(fm[name])) / (2 * step)
    cov_f = jac @ cov @ jac.T
    intervals: dict[str, Interval] = {}
    for i, name in enumerate(names):
        fwd, inv = link.get(name, log_link)
        u = fwd(f0[name])
        se_u = math.sqrt(max(cov_f[i, i], 0.0))
        lo, hi = inv(u - z_crit * se_u), inv(u + z_crit * se_u)
        # Standard error on the natural scale by the delta method.
        d = (inv(u + 1e-6) - inv(u - 1e-6)) / 2e-6
        intervals[name] = Interval(f0[name], lo, hi, abs(d) * se_u)
    method = "held at the value given"
    if threshold is None and has_tail:
        if smooth:
            method = (
                "profile likelihood over 16 candidate quantiles, refined, then joint maximum "
                "likelihood (the likelihood is smooth in the threshold); Wald interval"
            )
        else:
            lo_h, hi_h = _threshold_interval(model, n, confidence)
            intervals["tail_threshold"] = Interval(h, lo_h, hi_h)
            method = (
                "profile likelihood over 16 candidate quantiles, refined; parametric bootstrap "
                "interval (the likelihood jumps at each data point above the threshold, so the "
                "estimate behaves like a sample minimum, not like a smooth parameter)"
            )
    if has_tail:
        lo_a, hi_a = _shape_interval(problem, theta, h, ll, z_crit**2, smooth)
        old = intervals["tail_shape"]
        intervals["tail_shape"] = Interval(old.value, lo_a, hi_a, old.se)
    else:
        method = "no tail: the tail did not improve the likelihood enough"
        intervals["tail_probability"] = Interval(0.0, 0.0, 0.0, 0.0)
    if threshold is not None:
        intervals["tail_threshold"] = Interval(threshold, threshold, threshold, 0.0)
    return MixtureFit(
        model=model,
        intervals=intervals,
        loglik=ll,
        loglik_no_tail=ll_nt,
        has_tail=has_tail,
        threshold_method=method,
        profile=tuple(prof),
        n=n,
        n_positive=n_pos,
        confidence=confidence,
        covariance=cov,
        covariance_names=tuple(names_v),
        censor_floor=math.exp(log_floor) if math.isfinite(log_floor) else 0.0,
        n_censored=problem.n_censored,
    )


def fit_scales(
    model: CostModel,
    x: npt.ArrayLike,
    groups: npt.ArrayLike,
    *,
    censor_below: float = 0.0,
    reference: int = 0,
    span: float = 0.2,
) -> dict[int, float]:
    """Each group's cost level relative to the model, by maximum likelihood.

    For every group, the factor ``exp(d)`` maximising the likelihood of the group's positive ``x
    / exp(d)`` under ``model`` (the rest of the model held), searched over ``|d| <= span`` on a
    grid of 0.5% steps, then of 0.02% steps about the best, and refined; returned relative to
    the ``reference`` group's. Used to bring the years of a panel to
    the first year's cost level: under the engine's model every member-year of a year shares
    that year's systemic index, and the whole distribution (in particular a sharp Pareto
    threshold) pins the index far more precisely than the ratio of mean costs, which the
    costliest few members move by several percent.
    """
    xs = np.asarray(x, dtype=np.float64)
    gs = np.asarray(groups)
    log_floor = math.log(censor_below) if censor_below > 0 else -math.inf
    out: dict[int, float] = {}
    for g in np.unique(gs):
        sel = (gs == g) & (xs > 0)
        if np.count_nonzero(sel) < 50:
            out[int(g)] = 1.0
            continue
        lx_all = np.log(xs[sel])
        # The censored set is fixed in the group's own units; its probability moves with d.
        lx = lx_all[lx_all > log_floor]
        n_cens = int(lx_all.size - lx.size)

        def ll(d: float, lx: F8 = lx, n_cens: int = n_cens) -> float:
            dens = model.logpdf(np.exp(lx - d))
            total = float(np.sum(np.where(np.isfinite(dens), dens, -1e10))) - d * lx.size
            if n_cens:
                p = (1.0 - model.zero_cost_share) - float(
                    model.sf(np.array([math.exp(log_floor - d)]))[0]
                )
                total += n_cens * (math.log(p) if p > 0.0 else -1e10)
            return total

        coarse = np.linspace(-span, span, round(2 * span / 0.005) + 1)
        k = int(np.argmax([ll(float(d)) for d in coarse]))
        grid = np.linspace(coarse[k] - 0.005, coarse[k] + 0.005, 51)
        values = np.array([ll(float(d)) for d in grid])
        k = int(np.argmax(values))
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
        res = optimize.minimize_scalar(
            lambda d: -ll(float(d)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-6}
        )
        best = float(res.x) if -float(res.fun) > values[k] else float(grid[k])
        out[int(g)] = math.exp(best)
    # Relative to the reference group, itself matched to the model like the others (so that a
    # model whose threshold sits between the groups' does not pull them onto it).
    ref = out.get(reference, 1.0)
    return {g: v / ref for g, v in out.items()}


def _fixed_shape(problem: _Problem, v: F8, smooth: bool) -> float:
    """Log-likelihood maximised over ``phi``, ``s`` (and ``h`` when ``smooth``) with ``alpha``
    held at ``v[2]``; ``v = (logit phi, log s, log(alpha - 1), log h)``."""
    free = np.array([True, True, False, smooth])
    lo = np.append(_LO, math.log(1.05 * problem.mean / (1.0 - problem.z)))
    hi = np.append(_HI, v[3] + 5.0)

    def f(u: F8) -> tuple[float, F8]:
        full = v.copy()
        full[free] = u
        clipped = np.clip(full, lo, hi)
        out = (full - clipped)[free]
        value, grad = problem.nll_grad(clipped)
        g = np.where(out != 0.0, 0.0, grad[free]) + 2e3 * out
        return value + 1e3 * float(out @ out), g

    res = optimize.minimize(f, v[free], jac=True, method="BFGS", options={"gtol": 1e-4})
    full = v.copy()
    full[free] = res.x
    return -problem.nll_grad(np.clip(full, lo, hi))[0]


def _shape_interval(
    problem: _Problem, theta: F8, h: float, ll: float, chi2: float, smooth: bool
) -> tuple[float, float]:
    """Profile-likelihood-ratio interval of the tail's shape: where the log-likelihood,
    maximised over the other parameters, falls ``chi2 / 2`` below its maximum ``ll``."""
    target = ll - 0.5 * chi2
    v0 = np.append(theta, math.log(h))
    u_hat = float(theta[2])

    def prof(u: float, start: F8) -> tuple[float, F8]:
        v = start.copy()
        v[2] = u
        return _fixed_shape(problem, v, smooth) - target, v

    out = []
    for direction, bound in ((-1.0, float(_LO[2])), (1.0, float(_HI[2]))):
        inner, step = u_hat, 0.15
        start = v0
        found = None
        while True:
            outer = inner + direction * step
            if (outer - bound) * direction >= 0.0:
                outer = bound
            value, start = prof(outer, start)
            if value < 0.0:
                found = outer
                break
            if outer == bound:
                break
            inner, step = outer, step * 1.6
        if found is None:
            out.append(1.0 + math.exp(bound))
            continue
        a, b = sorted((inner, found))
        near = start
        root = optimize.brentq(lambda u, near=near: prof(u, near)[0], a, b, xtol=1e-3)
        out.append(1.0 + math.exp(root))
    return out[0], out[1]


def _threshold_interval(
    model: CostModel, n: int, confidence: float, reps: int = 200, seed: int = 20260
) -> tuple[float, float]:
    """Basic parametric-bootstrap interval of a threshold estimated where the likelihood jumps.

    ``reps`` samples of size ``n`` are drawn from the fitted model; in each, the threshold is
    re-estimated with the other parameters held (the threshold's estimate converges at rate
    ``n``, faster than theirs, so they can be held): the log-likelihood is evaluated with the
    threshold at each sample point within 5% of the fitted one, and the best is kept. The
    interval reflects the spread of those re-estimates about the fitted value.
    """
    h = model.tail_threshold
    rng = np.random.default_rng(seed)
    a, t = model.tail_shape, model.tail_probability
    est = np.empty(reps)
    for r in range(reps):
        x = model.sample(n, rng)
        x = np.sort(x[x > 0.5 * h])
        cand = x[(x > 0.95 * h) & (x < 1.05 * h)]
        if cand.size == 0:
            est[r] = h
            continue
        if cand.size > 300:
            cand = cand[np.linspace(0, cand.size - 1, 300).round().astype(np.int64)]
        best, best_ll = h, -np.inf
        body = replace(model, tail_probability=0.0)
        l_body = body.logpdf(x) + math.log(model.body_probability / body.body_probability)
        for c in cand:
            m = replace(model, tail_threshold=float(c))
            if model.risk_sigma == 0.0:
                sel = x >= c
                lc = np.log(x[sel])
                l_tail = math.log(t * a) + a * math.log(c) - (a + 1.0) * lc
                ll = float(np.sum(np.logaddexp(l_body[sel], l_tail) - l_body[sel]))
            else:
                ll = float(np.sum(m.logpdf(x)))
            if ll > best_ll:
                best, best_ll = float(c), ll
        est[r] = best
    lo_q, hi_q = np.quantile(est, [0.5 - 0.5 * confidence, 0.5 + 0.5 * confidence])
    return float(2 * h - hi_q), float(2 * h - lo_q)


# --------------------------------------------------------------------------------------------
# Matching the data's concentration


def _share_model(v: F8, *, z: float, mean: float, h: float, risk_sigma: float) -> CostModel | None:
    """The model of the parameters ``v = (log s, logit phi, log(alpha - 1))`` with zero share
    ``z``, mean ``mean`` and threshold ``h`` (``phi``: the tail's share of the mean); None where
    the body would keep no probability."""
    s = math.exp(float(v[0]))
    phi = float(special.expit(v[1]))
    a = 1.0 + math.exp(float(v[2]))
    t = phi * mean * (a - 1.0) / (h * a)
    b = 1.0 - z - t
    if b <= 1e-6:
        return None
    return CostModel(z, mean * (1.0 - phi) / b, s, t, h, a, risk_sigma)


def _solve_shapes(
    targets: F8,
    qs: F8,
    *,
    z: float,
    mean: float,
    h: float,
    risk_sigma: float,
    starts: list[F8],
) -> tuple[F8, float]:
    """``(log s, logit phi, log(alpha - 1))`` whose model top shares best match ``targets``
    (least squares), and the largest absolute miss."""

    def resid(v: F8) -> F8:
        m = _share_model(v, z=z, mean=mean, h=h, risk_sigma=risk_sigma)
        if m is None:
            return np.full(qs.size, 10.0)
        return np.asarray(m.top_share(qs) - targets, dtype=np.float64)

    lo = [math.log(BODY_SIGMA_BOUNDS[0]), -12.0, math.log(TAIL_SHAPE_BOUNDS[0] - 1.0)]
    hi = [math.log(BODY_SIGMA_BOUNDS[1]), 6.0, math.log(TAIL_SHAPE_BOUNDS[1] - 1.0)]
    best = None
    for v0 in starts:
        res = optimize.least_squares(resid, np.clip(v0, lo, hi), bounds=(lo, hi), xtol=1e-12)
        if best is None or res.cost < best.cost:
            best = res
        if best.cost < 1e-14:
            break
    assert best is not None
    v = np.asarray(best.x, dtype=np.float64)
    return v, float(np.max(np.abs(resid(v))))


def share_threshold(base: MixtureFit, threshold: float | None) -> float:
    """The Pareto threshold the concentration solves hold: ``threshold`` where given, else the
    likelihood fit's, or five times the mean annual cost where that fit kept no tail (the
    project's convention, 60 x pmpm, as in :func:`simsettle.scenario.costs.solve_cost`)."""
    if threshold is not None:
        return threshold
    return base.model.tail_threshold if base.has_tail else 5.0 * base.model.mean


#: Starting points of :func:`_solve_shapes`: ``(log s, logit phi, log(alpha - 1))``.
_SHARE_STARTS = [
    np.array([math.log(s0), special.logit(p0), math.log(a0)])
    for s0 in (0.8, 1.2)
    for p0 in (0.05, 0.3)
    for a0 in (1.5, 3.0)
]
#: Largest miss (fraction) for which the shares count as matched in :func:`largest_risk_sigma`.
SHARE_MATCH_TOLERANCE = 1e-4
#: Largest tail shape a match of :func:`largest_risk_sigma` may have: above it the Pareto's
#: mean lies within 5% of its threshold, a narrow bump rather than a tail.
MATCH_TAIL_SHAPE = 20.0


def _matches(v: F8, miss: float) -> bool:
    """Whether a solution of :func:`_solve_shapes` matches the shares exactly with the body's
    spread inside its bounds and a tail shape of at most :data:`MATCH_TAIL_SHAPE`."""
    s = math.exp(float(v[0]))
    a = 1.0 + math.exp(float(v[2]))
    return (
        miss <= SHARE_MATCH_TOLERANCE
        and BODY_SIGMA_BOUNDS[0] * 1.01 < s < BODY_SIGMA_BOUNDS[1] * 0.99
        and a <= MATCH_TAIL_SHAPE
    )


def largest_risk_sigma(
    targets: dict[float, float],
    *,
    zero_cost_share: float,
    mean: float,
    tail_threshold: float,
    upto: float,
    step: float = 0.05,
) -> float:
    """The largest risk spread, at most ``upto``, at which the cost mixture can still match
    the spend shares ``targets`` (top fraction of member-years -> its share of spend) exactly.

    ``upto`` itself is returned when it matches. Otherwise the spreads ``step, 2 step, ...``
    are tried upwards (each solve starting from the last match) and the last that matches is
    returned (0 if none does): a lognormal risk score concentrates spend by itself, so a data
    set whose costliest members carry less than a lognormal of spread ``upto`` gives them
    leaves the mixture nothing to solve for. A match must miss no share by more than
    :data:`SHARE_MATCH_TOLERANCE`, with the body's spread inside its bounds and a tail shape of
    at most :data:`MATCH_TAIL_SHAPE`.
    """
    if not upto > 0.0:
        return max(upto, 0.0)
    qs = np.array(sorted(targets), dtype=np.float64)
    t = np.array([targets[float(q)] for q in qs])
    kw = {"z": zero_cost_share, "mean": mean, "h": tail_threshold}
    v, miss = _solve_shapes(t, qs, risk_sigma=upto, starts=_SHARE_STARTS, **kw)
    if _matches(v, miss):
        return upto
    best, last = 0.0, None
    for k in range(1, int(upto / step + 1e-9) + 1):
        s = k * step
        if s >= upto:
            break
        starts = _SHARE_STARTS if last is None else [last]
        v, miss = _solve_shapes(t, qs, risk_sigma=s, starts=starts, **kw)
        if not _matches(v, miss):
            break
        best, last = round(s, 12), v
    return best


def fit_concentration(
    base: MixtureFit,
    annualised: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike,
    risk_sigma: float,
    qs: tuple[float, ...] = (0.01, 0.05, 0.10),
    threshold: float | None = None,
    reps: int = 200,
    seed: int = 14,
) -> MixtureFit:
    """Re-solve ``body_sigma``, ``tail_probability`` and ``tail_shape`` so that the model's
    whole-year spend shares of the costliest ``qs`` equal the data's.

    ``base`` is the likelihood fit, whose zero share, mean and threshold are kept (where it
    kept no tail, the threshold is ``threshold``, by default five times the mean annual cost,
    the convention of :func:`simsettle.scenario.costs.solve_cost`);
    ``annualised``: every member-year's annualised cost *with* its risk (the model compared is
    ``R X`` with ``risk_sigma``). The data's shares are those of the annualised costs (in the
    engine's model, a part-year member's annualised cost has the whole-year distribution). The
    intervals are delta-method intervals: the covariance of the data's shares comes from a
    member-level Poisson bootstrap, and the solution's derivatives with respect to the shares
    from re-solving at perturbed shares; ``pmpm``, ``zero_cost_share`` and ``tail_threshold``
    keep the likelihood fit's intervals.
    """
    from simsettle.calibrate.gof import boot_shares, concentration

    x = np.asarray(annualised, dtype=np.float64)
    q = np.asarray(qs, dtype=np.float64)
    targets = np.array([concentration(x, qs)[k] for k in qs])
    m0 = base.model
    z, mean, h = m0.zero_cost_share, m0.mean, share_threshold(base, threshold)
    ml = np.array(
        [
            math.log(max(m0.body_sigma, 0.02)),
            special.logit(min(max(m0.tail_probability * m0.tail_mean / mean, 1e-4), 0.9)),
            math.log(max(m0.tail_shape - 1.0, 0.05)),
        ]
    )
    starts = [ml, *_SHARE_STARTS]
    kw = {"z": z, "mean": mean, "h": h, "risk_sigma": risk_sigma}
    v, miss = _solve_shapes(targets, q, starts=starts, **kw)
    # Covariance of the data's shares (member bootstrap), then the delta method.
    boot = boot_shares(x, clusters, reps=reps, seed=seed, qs=qs)
    cov_t = np.cov(boot.T)
    jac = np.zeros((3, q.size))
    for j in range(q.size):
        step = 1e-3
        tp, tm = targets.copy(), targets.copy()
        tp[j] += step
        tm[j] -= step
        vp, _ = _solve_shapes(tp, q, starts=[v], **kw)
        vm, _ = _solve_shapes(tm, q, starts=[v], **kw)
        jac[:, j] = (vp - vm) / (2 * step)
    cov_v = jac @ cov_t @ jac.T
    s = math.exp(float(v[0]))
    phi = float(special.expit(v[1]))
    a = 1.0 + math.exp(float(v[2]))
    t = phi * mean * (a - 1.0) / (h * a)
    b = 1.0 - z - t
    model = CostModel(z, mean * (1.0 - phi) / b, s, t, h, a, base.model.risk_sigma)

    def t_of(u: F8) -> float:
        ph = float(special.expit(u[1]))
        aa = 1.0 + math.exp(float(u[2]))
        return ph * mean * (aa - 1.0) / (h * aa)

    # logit t as a function of v, for its interval.
    g = np.zeros(3)
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-6
        g[j] = (special.logit(t_of(v + e)) - special.logit(t_of(v - e))) / 2e-6
    zc = float(stats.norm.ppf(0.5 + 0.5 * base.confidence))
    se = np.sqrt(np.maximum(np.diag(cov_v), 0.0))
    se_t = math.sqrt(max(float(g @ cov_v @ g), 0.0))
    intervals = dict(base.intervals)
    intervals["body_sigma"] = Interval(
        s, math.exp(v[0] - zc * se[0]), math.exp(v[0] + zc * se[0]), s * se[0]
    )
    intervals["tail_shape"] = Interval(
        a,
        1.0 + math.exp(v[2] - zc * se[2]),
        1.0 + math.exp(v[2] + zc * se[2]),
        (a - 1.0) * se[2],
    )
    lt = float(special.logit(t))
    intervals["tail_probability"] = Interval(
        t,
        float(special.expit(lt - zc * se_t)),
        float(special.expit(lt + zc * se_t)),
        t * (1 - t) * se_t,
    )
    intervals["body_mean"] = Interval(model.body_mean, math.nan, math.nan)
    if h != m0.tail_threshold or not base.has_tail:
        intervals["tail_threshold"] = Interval(h, math.nan, math.nan)
    method = (
        "matched to the data's spend shares of the costliest 1%, 5% and 10% of member-years "
        f"(largest miss {100 * miss:.2g} percentage points), zero share, mean and threshold "
        "from the likelihood fit; delta-method interval from a member bootstrap of the shares"
    )
    return replace(base, model=model, intervals=intervals, shape_method=method, has_tail=True)


# --------------------------------------------------------------------------------------------
# Fitting to published concentration figures


def fit_shares(
    pmpm: float,
    shares: dict[float, float],
    *,
    risk_sigma: float = 0.5,
    zero_cost_share: float = 0.15,
    tail_threshold: float | None = None,
) -> CostShape:
    """The cost shape whose spend concentration matches published shares.

    ``shares`` maps a top fraction of member-years to its share of spend (Medicare FFS:
    ``{0.01: 0.149, 0.05: 0.415, 0.10: 0.600}``). ``body_sigma``, ``tail_probability`` and
    ``tail_shape`` are solved by least squares on the shares (exact where there are three),
    with ``zero_cost_share``, ``risk_sigma`` and ``tail_threshold`` (default ``60 x pmpm``,
    five times the mean annual cost) held.
    """
    if not shares:
        raise ValueError("give at least one published share")
    qs = np.array(sorted(shares))
    target = np.array([shares[q] for q in qs])
    if np.any((qs <= 0) | (qs >= 1)) or np.any((target <= qs) | (target >= 1)):
        raise ValueError("each share must lie between its fraction of members and 1")
    h = default_tail_threshold(pmpm) if tail_threshold is None else tail_threshold
    mean = 12.0 * pmpm

    kw = {"z": zero_cost_share, "mean": mean, "h": h, "risk_sigma": risk_sigma}
    starts = [
        np.array([math.log(s0), special.logit(phi0), math.log(2.0)])
        for s0 in (0.8, 1.2, 1.6)
        for phi0 in (0.05, 0.2, 0.4)
    ]
    v, _ = _solve_shapes(target, qs, starts=starts, **kw)
    m = _share_model(v, **kw)
    if m is None:  # pragma: no cover - the residual keeps the fit feasible
        raise ValueError("no feasible cost shape matches these shares")
    return CostShape(
        zero_cost_share=zero_cost_share,
        body_sigma=m.body_sigma,
        tail_probability=m.tail_probability,
        tail_threshold=h,
        tail_shape=m.tail_shape,
        risk_sigma=risk_sigma,
        pmpm=pmpm,
    )
