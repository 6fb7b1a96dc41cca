"""The exact settlement of the cases that have one, without simulation.

For a population of ``N`` members who all stay the year (no turnover, no deaths, prospective
attribution), a deterministic cost trend and a fixed, negotiated benchmark, the year's spend is
the sum of ``N`` independent member-year costs, each the scenario's cost distribution (risk
included) at the year's cost level; under ``frequency_severity`` with no risk spread each member
is a compound Poisson (no claim frailty) or negative-binomial (a gamma frailty) total, and with
claim contagion (the year's gamma factor on every member's claim rate) the year's total of
Poisson members is a compound negative-binomial one; a binomial or zero-modified member count
(``cost.claim_count``, ``claim_zero_probability``) enters by its generating function
(:func:`_pgf`), and the claim severity may be of any family (``cost.severity``, each in closed
form: :func:`_severity_member`). Its distribution is computed as
``aggregate`` and R's ``actuar`` compute one: each member's cost (or claim severity) is
discretised on a lattice of step ``h``, the member's truncated and stop-loss-net cost is
taken on the lattice, and the ``N``-fold convolution (or the compound) is done by FFT with
exponential tilting (Grübel and Hermesmeier 1999), in a window that holds the sum's bulk.
Every design's settlement is then the engine's own rule
(:func:`simsettle.rules.settle.settlement`) applied to each lattice point, and its
expectation, chances and quantiles follow.

Error statement. Three discretisations are made. ``lower`` rounds each member's cost down to
the lattice and ``upper`` rounds it up, so that the lattice sums bracket the true spend on every
draw; the settlement never rises with spend, so the true expected settlement lies between the
two values (``bound``), up to the mass outside the window. ``central`` keeps each member's mean
(local moment matching, actuar's ``unbiased``); its error is of second order in ``h`` where
the settlement is smooth and of first order where it jumps (a minimum savings rate that pays
from the first dollar), and is estimated by repeating it at ``2 h`` (``error_estimate``: the
difference, which bounds a first-order error); where the lattices bracket the spend, the
central value is held within the bracket.
``outside`` is the probability the sum falls outside the window (the missing mass, which the
tilting keeps from folding back in), plus the members' cost beyond the lattice.

Stop-loss premiums are ``(1 + loading)`` times the exact expected recovery (the engine uses the
Monte Carlo mean over its trials, which has this expectation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import interpolate, special

from simsettle.rules.settle import YearFacts, settlement
from simsettle.rules.terms import Terms, compile_terms
from simsettle.scenario.contracts import AnyDesign
from simsettle.scenario.costs import CostShape, cost_moments
from simsettle.scenario.frequency import CountLaw
from simsettle.scenario.mixed import Component, excess_parts, family_parts, risk_mixed_parts
from simsettle.scenario.schema import Scenario
from simsettle.scenario.severity import SeverityLaw, mean_factor

__all__ = [
    "ExactSettlement",
    "Lattice",
    "NotExactError",
    "exact_settlement",
    "not_exact",
    "spend_lattice",
]

F8 = npt.NDArray[np.float64]
_Parts = Callable[[F8], tuple[F8, F8]]  # x -> (P(X > x), E[X; X > x])

#: Lattice points of the sum's window (an FFT length).
DEFAULT_POINTS = 2**20
#: Exponential tilt over the window: mass beyond it folds back damped by exp(-TILT).
TILT = 12.0
#: The window: from the mean less LOW standard deviations to the mean plus HIGH.
LOW, HIGH = 10.0, 30.0
_METHODS = ("lower", "central", "upper")


class NotExactError(ValueError):
    """The scenario is not one of the cases with an exact settlement; the message names the
    fields that make it so."""


def not_exact(scenario: Scenario) -> list[str]:
    """Why ``scenario`` has no exact settlement here: one line per field, empty if it has one."""
    pop, cost, trend, b = scenario.population, scenario.cost, scenario.trend, scenario.benchmark
    why: list[tuple[bool, str]] = [
        (b.method != "fixed", "benchmark.method: a historical benchmark is itself random"),
        (
            b.method == "fixed" and b.risk_adjustment,
            "benchmark.risk_adjustment: the risk-adjusted target moves with the mean score",
        ),
        (pop.turnover > 0.0, "population.turnover: members must stay the whole year (0)"),
        (pop.death_rate > 0.0, "population.mortality: no deaths"),
        (pop.attribution_loss > 0.0, "population.attribution_loss: must be 0"),
        (
            pop.attribution.method != "prospective",
            "population.attribution.method: prospective (a member with no care stays)",
        ),
        (
            pop.attribution.provider_only_share > 0.0,
            "population.attribution.provider_only_share: must be 0 (members outside the "
            "settlement make their number random)",
        ),
        (trend.sd > 0.0, "trend.sd: the cost trend must be deterministic (0)"),
        (trend.shock_probability > 0.0, "trend.shock_probability: no shocks (0)"),
        (scenario.care_management is not None, "care_management: not supported"),
        (scenario.participants is not None, "participants: not supported"),
        (
            scenario.population.enrollment_types is not None,
            "population.enrollment_types: not supported",
        ),
        (scenario.portfolio is not None, "portfolio: not supported"),
        (scenario.quality_model is not None, "quality_model: give each design a quality.score"),
    ]
    if cost.model == "mixture":
        why.append(
            (
                math.isinf(cost.shape(pop.risk_sigma).mixture.cv),
                "cost: the member's cost has no variance (a tail_shape of 2 or less, a gpd "
                "tail of xi 1/2 or more, or a body family without one), which sizes the "
                "lattice's window here",
            )
        )
    if cost.model == "frequency_severity":
        why += [
            (
                pop.risk_sigma > 0.0,
                "population.risk_sigma: the compound frequency-severity total needs no risk "
                "spread (0)",
            ),
            (
                cost.claim_count == "binomial" and cost.contagion > 0.0,
                "cost.contagion: not with a binomial count (the members' counts given the "
                "year's factor are not closed together)",
            ),
            (
                math.isinf(cost.severity_law.cv),
                "cost.severity: the claim severity has no variance, which sizes the lattice's "
                "window here (a lighter tail: lomax or pareto shape above 2, gpd xi below 1/2, "
                "loglogistic beta above 2)",
            ),
            (
                cost.claim_dispersion > 0.0 and cost.claim_frailty == "lognormal",
                "cost.claim_dispersion: a lognormal frailty has no closed-form count (0, or "
                "claim_frailty: gamma, a negative-binomial count)",
            ),
            (
                cost.claim_dispersion > 0.0 and cost.contagion > 0.0,
                "cost.contagion: not with a claim frailty (the two gamma mixings are not "
                "closed together)",
            ),
        ]
        if cost.contagion > 0.0:
            # With contagion the members are independent only given the year's factor: the
            # total is exact, a member's own share of it (truncation, its stop-loss) is not here.
            why.append(
                (
                    scenario.truncation is not None,
                    "truncation: not with cost.contagion (a member's truncated cost needs the "
                    "year's contagion integrated out)",
                )
            )
            why += [
                (
                    True,
                    f"designs.{d.name}.stop_loss: not with cost.contagion (an individual "
                    "stop-loss needs the year's contagion integrated out; an aggregate layer "
                    "is exact)",
                )
                for d in scenario.designs
                if compile_terms(d).stop_loss is not None
            ]
    for design in scenario.designs:
        terms = compile_terms(design)
        if getattr(design, "by_year", None) is not None:
            why.append((True, f"designs.{design.name}.by_year: terms by year are not supported"))
        if terms.capitation_pmpm is not None:
            why.append((True, f"designs.{design.name}.capitation_pmpm: not supported"))
        for key, layer in (
            ("stop_loss", terms.stop_loss),
            ("aggregate_stop_loss", terms.aggregate_stop_loss),
        ):
            if layer is None:
                continue
            if layer.premium_pmpm is not None or layer.premium_annual is not None:
                why.append(
                    (True, f"designs.{design.name}.{key}: a quoted premium is not supported")
                )
            if layer.borne_by != "settlement":
                why.append(
                    (True, f"designs.{design.name}.{key}.borne_by: provider is not supported")
                )
        sl = terms.stop_loss
        if sl is not None:
            for field, bad in (
                ("upper_attachment", sl.upper_attachment is not None),
                ("charged_to", sl.charged_to != "spend"),
                ("budget_neutrality_factor", sl.budget_neutrality_factor != 1.0),
            ):
                if bad:
                    why.append((True, f"designs.{design.name}.stop_loss.{field}: not supported"))
    return [reason for bad, reason in why if bad]


# ------------------------------------------------------------------ member distributions


@dataclass(frozen=True)
class _Member:
    """A member-year's cost at the year's level: ``P(C > x)`` and ``E[C; C > x]`` of arrays,
    its mean and standard deviation (USD)."""

    parts: Callable[[F8], tuple[F8, F8]]  # x -> (P(C > x), E[C; C > x])
    mean: float
    sd: float

    def survival(self, x: F8) -> F8:
        """``P(C > x)``."""
        return self.parts(x)[0]

    def partial(self, x: F8) -> F8:
        """``E[C; C > x]``."""
        return self.parts(x)[1]


def _mixture_member(scenario: Scenario, scale: float) -> _Member:
    """The mixture cost model with the population's risk spread, times ``scale``: the
    vectorised twin of :class:`simsettle.scenario.costs._Dist` (tests hold them equal)."""
    pop, cost = scenario.population, scenario.cost
    shape = cost.shape(pop.risk_sigma)
    mix = shape.mixture
    if not mix.standard:
        return _general_mixture_member(shape, scale)
    body_p = mix.body_probability
    sd = math.hypot(mix.body_sigma, mix.risk_sigma)
    log_mean = math.log(mix.body_mean * scale)
    sr, a, t = mix.risk_sigma, mix.tail_shape, mix.tail_probability
    h = mix.tail_threshold * scale
    tail_mean = mix.tail_mean * scale

    def parts(x: F8) -> tuple[F8, F8]:
        # At x = 0 the logarithms are -inf and the formulas undefined: that point is replaced.
        with np.errstate(all="ignore"):
            return _parts(x)

    def _parts(x: F8) -> tuple[F8, F8]:
        log_x = np.log(np.maximum(x, 0.0))
        centre = log_mean - log_x
        surv = body_p * special.ndtr((centre - 0.5 * sd * sd) / sd)
        part = body_p * math.exp(log_mean) * special.ndtr((centre + 0.5 * sd * sd) / sd)
        if t > 0.0:
            lk = log_x - math.log(h)
            if sr == 0.0:
                k = np.exp(np.minimum(lk, 700.0))
                ts = np.where(lk < 0.0, 1.0, k ** (-a))
                tp = np.where(lk < 0.0, tail_mean, tail_mean * k ** (1.0 - a))
            else:
                half = 0.5 * sr * sr
                above = special.ndtr((-half - lk) / sr)
                e_above = special.ndtr((half - lk) / sr)
                log_below = (
                    -a * lk
                    + a * (a - 1.0) * half
                    + special.log_ndtr((lk + half - a * sr * sr) / sr)
                )
                below = np.exp(log_below)
                ts = above + below
                tp = tail_mean * (e_above + np.exp(log_below + lk))
            surv = surv + t * ts
            part = part + t * tp
        # At x <= 0: every member-year with a cost, and the whole mean.
        positive = x > 0.0
        return (
            np.where(positive, surv, 1.0 - mix.zero_cost_share),
            np.where(positive, part, mix.mean * scale),
        )

    m = cost_moments(shape)
    mean = mix.mean * scale
    return _Member(parts=parts, mean=mean, sd=m.cv * mean)


def _general_mixture_member(shape: CostShape, scale: float) -> _Member:
    """The mixture with a body of another family or a gpd tail, times ``scale``: each
    component's ``P(R X > x)`` and ``E[R X; R X > x]`` by quadrature over the risk score
    (:func:`simsettle.scenario.mixed.risk_mixed_parts`, about 1e-10; the twin of
    :class:`simsettle.scenario.costs._GeneralDist`)."""
    mix = shape.mixture
    body = Component.family(mix.body_family, mix.body_sigma, mix.body_scale * scale)
    xi, sigma = mix.tail_excess
    tail = Component.excess(mix.tail_threshold * scale, xi, sigma * scale)
    b, t, sr = mix.body_probability, mix.tail_probability, mix.risk_sigma

    def direct(x: F8) -> tuple[F8, F8]:
        x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
        surv, part = risk_mixed_parts(body, sr, x)
        surv, part = b * surv, b * part
        if t > 0.0:
            ts, tp = risk_mixed_parts(tail, sr, x)
            surv, part = surv + t * ts, part + t * tp
        return surv, part

    def parts(x: F8) -> tuple[F8, F8]:
        # A lattice of many points: the quadrature at knots, spaced _KNOTS_PER_LOG to a unit
        # of log x, and a cubic spline in log x between them. With a risk spread both parts
        # are smooth in log x (the spread smooths the tail's kink at the threshold); within
        # 1e-9 of the quadrature (tests/test_exact.py).
        x = np.asarray(x, dtype=np.float64)
        positive = x > 0.0
        if sr == 0.0 or x.size <= _DIRECT_POINTS or not positive.any():
            return direct(x)
        lo, hi = float(x[positive].min()), float(x[positive].max())
        n = int(min(max(_KNOTS_PER_LOG * math.log(hi / lo), 64.0), _MAX_KNOTS))
        if n >= x.size:
            return direct(x)
        log_knots = np.linspace(math.log(lo), math.log(hi), n)
        s_k, p_k = direct(np.exp(log_knots))
        log_x = np.log(np.where(positive, x, lo))
        surv = interpolate.CubicSpline(log_knots, s_k)(log_x)
        part = interpolate.CubicSpline(log_knots, p_k)(log_x)
        at_zero = direct(np.zeros(1))
        return (
            np.where(positive, np.clip(surv, 0.0, 1.0), at_zero[0][0]),
            np.where(positive, np.maximum(part, 0.0), at_zero[1][0]),
        )

    mean = mix.mean * scale
    return _Member(parts=parts, mean=mean, sd=mix.cv * mean)


#: Up to this many points the general mixture's parts are the quadrature's at each point.
_DIRECT_POINTS = 4096
#: Else at knots this dense in log x (per unit), at most _MAX_KNOTS, splined between.
_KNOTS_PER_LOG = 1024.0
_MAX_KNOTS = 24_576


# ------------------------------------------------------------------ lattices


def _plain_parts(family: str, shape: float, scale: float) -> tuple[_Parts, float]:
    """``x -> (P(X > x), E[X; X > x])`` and the mean of a plain severity family (the scenario's
    parameters: :mod:`simsettle.scenario.severity`), in closed form
    (:func:`simsettle.scenario.mixed.family_parts`)."""

    def parts(x: F8) -> tuple[F8, F8]:
        return family_parts(family, shape, scale, x)

    return parts, scale * mean_factor(family, shape)


def _gpd_parts(xi: float, sigma: float, loc: float) -> _Parts:
    """A generalised Pareto law's ``x -> (P(X > x), E[X; X > x])`` from ``loc``
    (:func:`simsettle.scenario.mixed.excess_parts`)."""

    def parts(x: F8) -> tuple[F8, F8]:
        return excess_parts(loc, xi, sigma, x)

    return parts


def _severity_member(law: SeverityLaw) -> _Member:
    """A claim severity's :class:`_Member`: a plain family's, or a splice's (the body's parts
    below the threshold renormalised, the tail's generalised Pareto excess above it)."""
    mean, second = law.moments()
    sd = math.sqrt(max(second - mean * mean, 0.0))
    if not law.spliced:
        plain, _ = _plain_parts(law.family, law.shape, law.scale)
        return _Member(plain, mean, sd)
    body, _ = _plain_parts(law.body, law.shape, law.scale)
    p, t = law.tail_probability, law.threshold
    tail = _gpd_parts(law.tail_xi, law.tail_sigma, t)
    s_t, e_t = (float(v[0]) for v in body(np.array([t])))
    f_t = 1.0 - s_t
    tail_mean = t + law.tail_sigma / (1.0 - law.tail_xi)

    def parts(x: F8) -> tuple[F8, F8]:
        x = np.asarray(x, dtype=np.float64)
        s_b, e_b = body(np.minimum(x, t))
        s_tl, e_tl = tail(x)
        below = x < t
        # Below t: P(X > x) = p + (1 - p) P(x < B <= t) / F(t), and E[X; X > x] the body's
        # E[B; x < B <= t] / F(t) plus the whole tail's mean.
        surv = np.where(below, p + (1.0 - p) * (s_b - s_t) / f_t, p * s_tl)
        partial = np.where(below, (1.0 - p) * (e_b - e_t) / f_t + p * tail_mean, p * e_tl)
        return surv, partial

    return _Member(parts, mean, sd)


def _discretise(d: _Member, step: float, n: int) -> dict[str, F8]:
    """The pmf on ``0, step, ..., (n - 1) step`` of ``d`` rounded down (``lower``), up
    (``upper``) and mean-preservingly (``central``); the mass beyond the last point is put on
    it (lower, central) or left out (upper: it is counted in ``outside``)."""
    x = step * np.arange(n + 1, dtype=np.float64)
    surv, partial = d.parts(x)
    cdf = 1.0 - surv
    # Upper: P(X_up = k h) = P((k - 1) h < X <= k h); the atom at 0 is cdf[0].
    upper = np.empty(n)
    upper[0] = cdf[0]
    upper[1:] = np.diff(cdf[:n])
    # Lower: P(X_low = k h) = P(k h <= X < (k + 1) h); no atom lies above 0.
    lower = np.diff(cdf[: n + 1])
    lower[0] = cdf[1]
    lower[-1] += surv[n]
    # Central, local moment matching: E[min(X, x)] = E[X] - E[X; X > x] + x P(X > x).
    lev = d.mean - partial + x * surv
    lev[0] = 0.0
    central = np.empty(n)
    central[0] = 1.0 - lev[1] / step
    central[1:] = (2.0 * lev[1:n] - lev[0 : n - 1] - lev[2 : n + 1]) / step
    # The last point takes the rest (the mass beyond the lattice, negligible by design).
    central[-1] = max(0.0, 1.0 - float(central[:-1].sum()))
    central = np.maximum(central, 0.0)
    # The differences of n expected values round to about n x eps x E[X] / h of mass (1e-9 at
    # a million points): put back to 1, or an N-fold power makes it N times that.
    central /= central.sum()
    return {"lower": np.maximum(lower, 0.0), "central": central, "upper": np.maximum(upper, 0.0)}


def _member_terms(
    p: F8, step: float, method: str, cut: float | None, attachment: float | None, coins: float
) -> F8:
    """The pmf of ``h(X)``, ``h(x) = min(x, cut) - (1 - coins) (min(x, cut) - attachment)+``
    (truncation, then the individual stop-loss's recovery), rounded back to the lattice as
    ``method`` says (``h`` does not decrease, so the bracket holds)."""
    if cut is None and attachment is None:
        return p
    x = step * np.arange(p.size, dtype=np.float64)
    y = x if cut is None else np.minimum(x, cut)
    if attachment is not None:
        y = y - (1.0 - coins) * np.maximum(y - attachment, 0.0)
    k = y / step
    lo = np.floor(k).astype(np.int64)
    out = np.zeros_like(p)
    if method == "lower":
        np.add.at(out, lo, p)
    elif method == "upper":
        np.add.at(out, np.minimum(np.ceil(k).astype(np.int64), p.size - 1), p)
    else:
        w = k - lo
        np.add.at(out, lo, p * (1.0 - w))
        np.add.at(out, np.minimum(lo + 1, p.size - 1), p * w)
    return out


@dataclass(frozen=True)
class Lattice:
    """The distribution of a year's total on ``start + step x k``, ``k < pmf.size``, by the
    three discretisations (USD; see the module docstring), and the mass outside it."""

    start: float
    step: float
    lower: F8
    central: F8
    upper: F8
    outside: float
    #: Whether ``lower`` and ``upper`` bracket the sum. Rounding every member (or claim) moves
    #: the sum by up to ``count x step``; where that cannot fit in the window with the points
    #: given, they are the central lattice and no bound is claimed.
    bracketed: bool = True

    @property
    def values(self) -> F8:
        """The lattice points (USD)."""
        return self.start + self.step * np.arange(self.central.size, dtype=np.float64)

    def mean(self, method: str = "central") -> float:
        """The mean of the total by ``method`` (over the mass inside the window)."""
        pmf = getattr(self, method)
        return float(np.dot(pmf, self.values) / pmf.sum())


def _pgf(count: CountLaw, z: npt.NDArray[np.complex128]) -> npt.NDArray[np.complex128]:
    """The probability generating function of a binomial or zero-modified claim count at
    ``z`` (``|z| <= 1``): the base's, ``exp(mu (z - 1))``, ``(1 - beta (z - 1))^-r`` or ``(1 +
    q (z - 1))^m`` (an integer power, no branch cut), and zero-modified ``p0M + (1 - p0M)
    (P(z) - p0) / (1 - p0)``."""
    mu, size = count.base_mean, count.size
    if count.family == "poisson":
        base = np.exp(mu * (z - 1.0))
    elif count.family == "negative_binomial":
        base = np.exp(-size * np.log(1.0 - mu / size * (z - 1.0)))
    else:
        base = (1.0 + mu / size * (z - 1.0)) ** int(size)
    zero = count.zero_probability
    if zero is None:
        return np.asarray(base, dtype=np.complex128)
    p0 = count.p0
    return np.asarray(zero + (1.0 - zero) * (base - p0) / (1.0 - p0), dtype=np.complex128)


def _sum_of(
    member: F8,
    n_members: float,
    start: int,
    compound: float | None,
    contagion: float = 0.0,
    count: CountLaw | None = None,
) -> F8:
    """The pmf of the sum of ``n_members`` independent copies of ``member`` (or, with
    ``compound``, of a Poisson(``compound``) number of them, mixed over a gamma ``contagion``
    of mean 1 and that variance: a negative-binomial number) on ``start + k``, ``k <
    member.size``, by FFT with an exponential tilt (the lattice step is 1 here)."""
    n = member.size
    theta = TILT / n
    j = np.arange(n, dtype=np.float64)
    phi = np.fft.rfft(member * np.exp(-theta * j))
    if count is not None:
        total = _pgf(count, phi.astype(np.complex128))
    elif compound is None:
        total = np.exp(n_members * np.log(phi.astype(np.complex128)))
    elif contagion > 0.0:
        # E[exp(c G (phi - 1))] = (1 - v c (phi - 1))^(-1/v); the base's real part is >= 1.
        total = np.exp(-np.log(1.0 - contagion * compound * (phi - 1.0)) / contagion)
    else:
        total = np.exp(compound * (phi - 1.0))
    q = np.fft.irfft(total, n)
    # Index k of the window holds the sum's value start + k, which the circular convolution
    # holds at (start + k) mod n; untilt by the value itself.
    k = (start + np.arange(n)) % n
    out = q[k] * np.exp(theta * (start + np.arange(n, dtype=np.float64)))
    return np.asarray(np.maximum(out, 0.0), dtype=np.float64)


@dataclass(frozen=True)
class _Year:
    """What one performance year's members look like (USD)."""

    index: int  # 0-based performance year
    scale: float  # cost level: trend and ageing since the first performance year
    cut: float | None  # truncation threshold
    members: int


def _years(scenario: Scenario) -> list[_Year]:
    from simsettle.models.population import truncation_thresholds

    pop, trend = scenario.population, scenario.trend
    cuts = truncation_thresholds(scenario, scenario.performance_years)
    return [
        _Year(
            index=y,
            scale=((1.0 + trend.mean) * (1.0 + pop.ageing)) ** y / pop.departure_load,
            cut=cuts[y] if cuts else None,
            members=pop.members,
        )
        for y in range(scenario.performance_years)
    ]


def _member_pmfs(
    scenario: Scenario,
    year: _Year,
    step: float,
    n: int,
    attachment: float | None,
    coins: float,
    *,
    truncate: bool = True,
) -> dict[str, F8]:
    """Each discretisation's pmf of one member's cost after truncation (unless ``truncate``
    is false) and the individual stop-loss, on ``0, step, ...``."""
    cut = year.cut if truncate else None
    cost = scenario.cost
    out: dict[str, F8] = {}
    if cost.model == "frequency_severity":
        pmfs = _discretise(_severity_member(cost.severity_law.scaled(year.scale)), step, n)
        # A gamma frailty of variance d^2 makes the member's count negative binomial.
        d2 = cost.claim_dispersion**2 if cost.claim_frailty == "gamma" else 0.0
        count = cost.count_law
        members = {
            m: _sum_of(p, 1.0, 0, cost.claims_per_year, d2, count=count) for m, p in pmfs.items()
        }
        # The lower and central compounds are whole distributions: their FFT rounding put back
        # to 1 (the upper one leaves its tail out on purpose).
        for m in ("lower", "central"):
            members[m] = members[m] / members[m].sum()
    else:
        members = _discretise(_mixture_member(scenario, year.scale), step, n)
    for method, member in members.items():
        out[method] = _member_terms(member, step, method, cut, attachment, coins)
    return out


def _member_moments(scenario: Scenario, year: _Year) -> tuple[float, float]:
    """Mean and standard deviation of one member-year's cost (before truncation), USD."""
    cost = scenario.cost
    if cost.model == "frequency_severity" and cost.count_law is not None:
        count = cost.count_law
        s_mean, s_second = cost.severity_law.scaled(year.scale).moments()
        var = count.mean * (s_second - s_mean**2) + count.variance * s_mean**2
        return 12.0 * cost.pmpm * year.scale, math.sqrt(var)
    if cost.model == "frequency_severity":
        _, second = cost.severity_law.scaled(year.scale).moments()
        lam = cost.claims_per_year
        var_f = cost.claim_dispersion**2 if cost.claim_frailty == "gamma" else 0.0
        mean = 12.0 * cost.pmpm * year.scale
        return mean, math.sqrt(lam * second + var_f * mean * mean)
    d = _mixture_member(scenario, year.scale)
    return d.mean, d.sd


def _lev(scenario: Scenario, year: _Year, x: float) -> float:
    """E[min(C, x)] of one member-year's cost (USD), exact."""
    cost = scenario.cost
    if cost.model == "frequency_severity":
        raise NotImplementedError  # the compound's is taken from its central lattice
    d = _mixture_member(scenario, year.scale)
    arr = np.array([x])
    return float(d.mean - d.partial(arr)[0] + x * d.survival(arr)[0])


def spend_lattice(
    scenario: Scenario,
    year: int | None = None,
    *,
    attachment: float | None = None,
    coinsurance: float = 0.0,
    points: int = DEFAULT_POINTS,
    step_factor: float = 1.0,
) -> Lattice:
    """The distribution of a performance year's spend as the settlement sees it (after any
    truncation), net of an individual stop-loss recovery at ``attachment`` (coinsurance
    ``coinsurance``) where given, before premiums.

    ``year`` is the calendar performance year (default: the first). Raises
    :class:`NotExactError` naming the fields where the scenario has no exact distribution.
    """
    reasons = not_exact(scenario)
    if reasons:
        raise NotExactError("no exact settlement: " + "; ".join(reasons))
    first = scenario.first_performance_year
    y = 0 if year is None else year - first
    if not 0 <= y < scenario.performance_years:
        raise ValueError(f"year must be a performance year, {first} to {scenario.years[-1]}")
    yr = _years(scenario)[y]
    mean, sd = _member_moments(scenario, yr)
    n_members = yr.members
    total_mean, total_sd = n_members * mean, math.sqrt(n_members) * sd
    cost = scenario.cost
    if cost.model == "frequency_severity" and cost.contagion > 0.0:
        return _contagion_lattice(scenario, yr, points, step_factor)
    # The window holds the sum of what the settlement sees (net of truncation and the
    # individual stop-loss), by each discretisation (rounding moves the lower and upper sums by
    # up to N h): a first lattice, from the untouched cost's moments, gives their moments.
    step0 = (total_mean + HIGH * total_sd) / points
    first_pass = _member_pmfs(scenario, yr, step0, points, attachment, coinsurance)
    x = step0 * np.arange(points, dtype=np.float64)
    moments = {m: (float(np.dot(p, x)), float(np.dot(p, x * x))) for m, p in first_pass.items()}
    mean = moments["central"][0]
    spread = math.sqrt(n_members * max(m2 - m1 * m1 for m1, m2 in moments.values()))
    # The lower and upper sums lie N x (shift per unit step) x step below and above the
    # central one: the window's width w = base + 2 N shift h with h = w / points.
    shift = (moments["upper"][0] - moments["lower"][0]) / step0
    base = (LOW + HIGH) * spread
    bracketed = 4.0 * n_members * shift < points
    width = base / (1.0 - 2.0 * n_members * shift / points) if bracketed else base
    lo = max(0.0, n_members * mean - LOW * spread - (width - base) / 2.0)
    step = step_factor * width / points
    start = int(lo // step)
    pmfs = _member_pmfs(scenario, yr, step, points, attachment, coinsurance)
    upper = pmfs["upper"]
    if not bracketed:
        pmfs = dict.fromkeys(pmfs, pmfs["central"])
    totals = {m: _sum_of(p, float(n_members), start, None) for m, p in pmfs.items()}
    return replace(_lattice(start, step, totals, n_members, upper), bracketed=bracketed)


def _lattice(
    start: int, step: float, totals: dict[str, F8], count: float, upper_part: F8
) -> Lattice:
    """The :class:`Lattice` of ``totals``; ``outside`` is the sum's mass missing from the
    window plus ``count`` times the mass the upper lattice of each of the ``count`` parts
    (members, or claims) leaves beyond its last point."""
    tail = max(0.0, 1.0 - float(upper_part.sum()))
    # Each discretisation's mass inside the window: 1 less what lies outside it, never more.
    # More, or much less, means the window missed the sum's bulk (which the tilt would fold
    # back amplified): refused, not reported as a number.
    masses = {m: float(p.sum()) for m, p in totals.items()}
    bad = {m: v for m, v in masses.items() if not 1.0 - 1e-4 <= v <= 1.0 + 1e-4}
    if bad:
        raise ValueError(
            f"the lattice's window misses the sum (mass inside it: {bad}); give more points "
            "or report this scenario"
        )
    outside = max(abs(1.0 - v) for v in masses.values()) + count * tail
    return Lattice(
        start=start * step,
        step=step,
        lower=totals["lower"],
        central=totals["central"],
        upper=totals["upper"],
        outside=outside,
    )


def _contagion_lattice(scenario: Scenario, yr: _Year, points: int, step_factor: float) -> Lattice:
    """The year's total claims with contagion: the compound of the claim severities with a
    Poisson(``N lambda G``) count, ``G`` gamma of mean 1 and variance ``cost.contagion`` -- a
    negative-binomial count, whose transform is closed: no quadrature over ``G``. The window
    holds ``G`` between its 1e-12 and 1 - 1e-12 quantiles."""
    from scipy.stats import gamma

    cost = scenario.cost
    v = cost.contagion
    mean, sd = _member_moments(scenario, yr)
    n_members = yr.members
    g_lo, g_hi = (float(g) for g in gamma.ppf([1e-12, 1.0 - 1e-12], 1.0 / v, scale=v))
    spread = math.sqrt(n_members * g_hi) * sd
    rate = n_members * cost.claims_per_year
    # Rounding each claim moves the lower and upper sums by up to (claims) x step: about
    # rate x g_hi x step at most (the window widens for it, where the points allow).
    base = n_members * mean * (g_hi - g_lo) + (LOW + HIGH) * spread
    count = rate * g_hi
    bracketed = 4.0 * count < points
    width = base / (1.0 - 2.0 * count / points) if bracketed else base
    lo = max(0.0, n_members * mean * g_lo - LOW * spread - (width - base) / 2.0)
    step = step_factor * width / points
    start = int(lo // step)
    pmfs = _discretise(_severity_member(cost.severity_law.scaled(yr.scale)), step, points)
    upper = pmfs["upper"]
    if not bracketed:
        pmfs = dict.fromkeys(pmfs, pmfs["central"])
    totals = {m: _sum_of(p, 1.0, start, rate, v) for m, p in pmfs.items()}
    # (The mean claim count stands for the count; G beyond its quantiles adds 2e-12.)
    lat = _lattice(start, step, totals, rate, upper)
    return replace(lat, outside=lat.outside + 2e-12, bracketed=bracketed)


# ------------------------------------------------------------------ settlements


@dataclass(frozen=True)
class ExactSettlement:
    """One design's exact settlement of one performance year (USD; > 0: the payer pays)."""

    design: str
    year: int
    benchmark: float  # the settlement benchmark (after the design's discount)
    mean: float  # expected settlement (central lattice, held within the bound)
    bound: tuple[float, float]  # the true expectation lies within (nan: too many members or
    # claims for the points to bracket; Lattice.bracketed)
    error_estimate: float  # |central(h) - central(2 h)|: first order, for settlements with jumps
    prob_loss: float  # P(settlement < 0)
    prob_savings: float  # P(settlement > 0)
    quantiles: dict[float, float]  # of the settlement
    expected_spend: float  # before truncation and stop-loss, exact
    expected_truncated: float  # spend left out by truncation
    expected_specific_recovery: float
    expected_aggregate_recovery: float
    specific_premium: float
    aggregate_premium: float
    step: float  # lattice step, USD
    outside: float  # mass outside the lattice's window (probability)


def _settle_lattice(
    terms: Terms,
    lattice: Lattice,
    method: str,
    b: float,
    members: int,
    revenue: float | None,
    specific_premium: float,
    aggregate_premium: float | None,
) -> tuple[F8, F8, float]:
    """(pmf, settlement at each point, expected aggregate recovery) by ``method``, over the
    points that hold mass (at least 1e-18 of the largest: the rest is FFT rounding)."""
    full = getattr(lattice, method)
    keep = full > 1e-18 * full.max()
    pmf, x = full[keep], lattice.values[keep]
    agg = terms.aggregate_stop_loss
    agg_rec = np.zeros_like(x)
    if agg is not None:
        agg_rec = (1.0 - agg.coinsurance) * np.maximum(x - agg.attachment * b, 0.0)
    expected_agg = float(np.dot(pmf, agg_rec) / pmf.sum())
    premium = specific_premium
    if agg is not None:
        premium += (
            (1.0 + agg.premium_loading) * expected_agg
            if aggregate_premium is None
            else aggregate_premium
        )
    settled = x - agg_rec + premium
    facts = YearFacts(
        members=np.full(x.shape, float(members)),
        revenue=None if revenue is None else np.full(x.shape, revenue),
    )
    values = settlement(terms, np.full(x.shape, b), b - settled, facts)
    return pmf, values, expected_agg


def _quantile(values: F8, pmf: F8, q: float) -> float:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(pmf[order]) / pmf.sum()
    return float(values[order][min(int(np.searchsorted(cum, q)), cum.size - 1)])


def exact_settlement(
    scenario: Scenario,
    designs: Sequence[str] | None = None,
    *,
    year: int | None = None,
    points: int = DEFAULT_POINTS,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
) -> list[ExactSettlement]:
    """The exact settlement of each design (``designs``: their names; default all) in one
    performance year (``year``, calendar; default the first), without simulation.

    Raises :class:`NotExactError` naming the fields where the scenario is not such a case.
    """
    reasons = not_exact(scenario)
    if reasons:
        raise NotExactError("no exact settlement: " + "; ".join(reasons))
    chosen: list[AnyDesign] = list(scenario.designs)
    if designs is not None:
        known = {d.name: d for d in scenario.designs}
        missing = [n for n in designs if n not in known]
        if missing:
            raise ValueError(f"unknown design(s) {missing}; the scenario has {sorted(known)}")
        chosen = [known[n] for n in designs]
    first = scenario.first_performance_year
    y = 0 if year is None else year - first
    yr = _years(scenario)[y] if 0 <= y < scenario.performance_years else None
    if yr is None:
        raise ValueError(f"year must be a performance year, {first} to {scenario.years[-1]}")
    b_terms = scenario.benchmark
    growth = (1.0 + b_terms.trend_rate) ** y
    if b_terms.pmpm is not None:
        program_benchmark = b_terms.pmpm * 12.0 * yr.members * growth
    else:
        assert b_terms.total is not None
        program_benchmark = b_terms.total * growth
    mean, _ = _member_moments(scenario, yr)
    n = yr.members
    ratio = scenario.provider.revenue_ratio
    out = []
    # The lattices of each individual stop-loss (designs without one share theirs).
    cache: dict[tuple[float | None, float], list[Lattice]] = {}
    for design in chosen:
        terms = compile_terms(design)
        b = program_benchmark * (1.0 - terms.discount)
        sl = terms.stop_loss
        attachment = None if sl is None else sl.attachment
        coins = 0.0 if sl is None else sl.coinsurance
        if (attachment, coins) not in cache:
            cache[attachment, coins] = [
                spend_lattice(
                    scenario,
                    first + y,
                    attachment=attachment,
                    coinsurance=coins,
                    points=points,
                    step_factor=f,
                )
                for f in (1.0, 2.0)
            ]
        lattices = cache[attachment, coins]
        lat = lattices[0]
        # Exact member expectations where the cost model has them; the compound's from its
        # central lattice of one member.
        spec_rec, truncated = _member_expectations(scenario, yr, attachment, coins, lat.step)
        spec_rec, truncated = n * spec_rec, n * truncated
        spec_prem = 0.0 if sl is None else (1.0 + sl.premium_loading) * spec_rec
        revenue = None if ratio is None else ratio * program_benchmark
        pmf, values, expected_agg = _settle_lattice(
            terms, lat, "central", b, n, revenue, spec_prem, None
        )
        agg = terms.aggregate_stop_loss
        agg_prem = 0.0 if agg is None else (1.0 + agg.premium_loading) * expected_agg
        # The bracket: the upper lattice (more spend) gives the lower settlement; premiums
        # from the other side's expected recovery keep it a bracket.
        lo_pmf, lo_vals, _ = _settle_lattice(
            terms, lat, "upper", b, n, revenue, spec_prem, _agg_premium(terms, lat, "upper", b)
        )
        hi_pmf, hi_vals, _ = _settle_lattice(
            terms, lat, "lower", b, n, revenue, spec_prem, _agg_premium(terms, lat, "lower", b)
        )
        mean_settlement = float(np.dot(pmf, values) / pmf.sum())
        coarse_pmf, coarse_vals, _ = _settle_lattice(
            terms, lattices[1], "central", b, n, revenue, spec_prem, None
        )
        coarse = float(np.dot(coarse_pmf, coarse_vals) / coarse_pmf.sum())
        bound = (
            (
                float(np.dot(lo_pmf, lo_vals) / lo_pmf.sum()),
                float(np.dot(hi_pmf, hi_vals) / hi_pmf.sum()),
            )
            if lat.bracketed
            else (math.nan, math.nan)
        )
        if lat.bracketed:
            # Where the settlement jumps (a minimum savings rate that pays from the first
            # dollar), central's error is first order in h and can leave the bracket, which
            # holds the truth: held within it, it only comes closer.
            mean_settlement = min(max(mean_settlement, bound[0]), bound[1])
        total = pmf.sum()
        out.append(
            ExactSettlement(
                design=design.name,
                year=first + y,
                benchmark=b,
                mean=mean_settlement,
                bound=bound,
                error_estimate=abs(mean_settlement - coarse),
                prob_loss=float(pmf[values < 0.0].sum() / total),
                prob_savings=float(pmf[values > 0.0].sum() / total),
                quantiles={q: _quantile(values, pmf, q) for q in quantiles},
                expected_spend=n * mean,
                expected_truncated=truncated,
                expected_specific_recovery=spec_rec,
                expected_aggregate_recovery=expected_agg,
                specific_premium=spec_prem,
                aggregate_premium=agg_prem,
                step=lat.step,
                outside=lat.outside,
            )
        )
    return out


def _agg_premium(terms: Terms, lat: Lattice, method: str, b: float) -> float | None:
    """The aggregate layer's premium from one side's expected recovery (None: no layer)."""
    agg = terms.aggregate_stop_loss
    if agg is None:
        return None
    pmf = getattr(lat, method)
    rec = (1.0 - agg.coinsurance) * np.maximum(lat.values - agg.attachment * b, 0.0)
    # The bracket's other side: more recovery is more premium and less settlement.
    expected = float(np.dot(pmf, rec) / pmf.sum())
    return (1.0 + agg.premium_loading) * expected


def _member_expectations(
    scenario: Scenario, year: _Year, attachment: float | None, coins: float, step: float
) -> tuple[float, float]:
    """One member's expected individual stop-loss recovery and truncated amount (USD): exact
    for the mixture model, from a fine central lattice for the compound."""
    cut = year.cut
    if cut is None and attachment is None:
        return 0.0, 0.0
    if scenario.cost.model == "frequency_severity":
        mean, sd = _member_moments(scenario, year)
        fine = max(mean + 200.0 * sd, 4.0 * (attachment or 0.0), 2.0 * (cut or 0.0)) / 2**18
        p = _member_pmfs(scenario, year, fine, 2**18, None, 0.0, truncate=False)["central"]
        x = fine * np.arange(p.size, dtype=np.float64)
        # The compound's mass beyond the lattice (its heavy tail) lies above any v read here.
        beyond = max(0.0, 1.0 - float(p.sum()))

        def lev(v: float) -> float:
            return float(np.dot(p, np.minimum(x, v))) + beyond * v

        # The mean is exact; the lattice's (which ends where the claims' heavy tail does not)
        # is read only below the attachment and the threshold.
        full = mean
    else:

        def lev(v: float) -> float:
            return _lev(scenario, year, v)

        full = _member_moments(scenario, year)[0]
    truncated = 0.0 if cut is None else full - lev(cut)
    recovery = 0.0
    if attachment is not None:
        top = full if cut is None else lev(cut)
        if cut is None or attachment < cut:
            recovery = (1.0 - coins) * (top - lev(attachment))
    return recovery, truncated
