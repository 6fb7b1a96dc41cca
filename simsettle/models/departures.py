"""What the departure modes do to a year's population: decedents' share of members and spend,
their cost against survivors', and the spend concentration with decedents included.

The member kernel (:mod:`simsettle._kernels.member`) draws the modes; this module gives their
expected effect in a stationary year (the first simulated year: no trend, no entrant shift,
no ageing), for the run summary, the presets and the tests. Per roster slot and year, with
turnover ``T``, mortality ``d``, attribution loss ``a``, replacement ``rho`` and decedent cost
ratio ``r``, in units of a full-year survivor's expected cost (at the same risk score, which is
independent of the modes):

=====================  ===========  ==============  ==================
member                 probability  expected cost   expected months/12
=====================  ===========  ==============  ==================
stays all year         1 - T        1               1
moves, loses elig.     T - d - a    1/2             1/2
dies                   d            r               1/2
loses attribution      a            (outside the settlement)
joiner after a leaver  T rho        1/2             1/2
=====================  ===========  ==============  ==================

A decedent's cost is its ordinary cost over its stay (the exposure share ``B`` of the annual
draw ``X``, mean 1/2) plus an end-of-life episode ``T_e``, lognormal with mean ``r - 1/2``.

The concentration of spend is measured, as Wallis et al. (2021) measure Medicare's, over the
members enrolled all year or until death: a share ``d' = d / (1 - T + d)`` of them are
decedents. Their cost ``R (B X + T_e)`` has no closed form, so :func:`calendar_moments` mixes the
survivors' exact distribution (:func:`simsettle.scenario.costs.cost_moments`) with a fixed,
seeded sample of 100,000 decedents (the shares are then exact to about 0.03 points of spend and
the same on every call); the mean and CV are exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simsettle.models.laws import body_log_quantile, mixture_laws
from simsettle.scenario.costs import (
    CostMoments,
    CostShape,
    _root_decreasing,
    cost_distribution,
    cost_moments,
    episodic_share,
    top_share_of,
)
from simsettle.scenario.schema import Population

__all__ = ["DepartureFigures", "calendar_moments", "calendar_quantile", "departure_figures"]

#: Decedents drawn for :func:`calendar_moments`, and the seed of their fixed sample.
DECEDENT_SAMPLE = 100_000
_SEED = 20_141_231


@dataclass(frozen=True)
class DepartureFigures:
    """Decedents in a stationary year, as KFF reports them for traditional Medicare.

    ``members_share``: decedents over the year's members (everyone in the settlement at some
    time in the year); ``spend_share``: their share of spend; ``ratio_to_survivors``: a
    decedent's mean cost over a surviving member's (partial years included); ``full_year_share``:
    decedents among the members enrolled all year or until death (the concentration's base).
    """

    members_share: float
    spend_share: float
    ratio_to_survivors: float
    full_year_share: float


def departure_figures(pop: Population) -> DepartureFigures:
    """The :class:`DepartureFigures` of a population, from the table in the module docstring."""
    t, d, a, rho = pop.turnover, pop.death_rate, pop.attribution_loss, pop.replacement
    r = pop.decedent_cost_ratio
    survivors = (1.0 - t) + (t - d - a) + t * rho
    survivor_cost = (1.0 - t) + 0.5 * (t - d - a) + 0.5 * t * rho
    members = survivors + d
    spend = survivor_cost + d * r
    return DepartureFigures(
        members_share=d / members if members > 0.0 else 0.0,
        spend_share=d * r / spend if spend > 0.0 else 0.0,
        ratio_to_survivors=r * survivors / survivor_cost if survivor_cost > 0.0 else math.nan,
        full_year_share=d / (1.0 - t + d) if 1.0 - t + d > 0.0 else 0.0,
    )


def _decedent_sample(shape: CostShape, ratio: float, sigma: float, c: float) -> np.ndarray:
    """Costs of :data:`DECEDENT_SAMPLE` decedents, ``R (B X + T_e)``, at the shape's scale,
    sorted; ``c`` is the exposure model's episodic share (0: pro rata)."""
    rng = np.random.Generator(np.random.PCG64(_SEED))
    n = DECEDENT_SAMPLE
    mix = shape.mixture
    u = rng.random(n)
    g = rng.standard_normal(n)
    tail_p = mix.tail_probability
    # (The numerator is held to [0, tail_p], the tail's segment, outside which v is not used:
    # no overflow for a tiny, even subnormal, tail_p on either side.)
    v = np.clip(u - mix.zero_cost_share, 0.0, tail_p) / tail_p if tail_p > 0.0 else np.ones(n)
    if mix.standard:
        body = mix.body_mean * np.exp(mix.body_sigma * g - 0.5 * mix.body_sigma**2)
        tail = mix.tail_threshold * np.maximum(v, 1e-300) ** (-1.0 / mix.tail_shape)
    else:  # the families' quantiles: the body's at the normal's probability
        _, tail_law = mixture_laws(mix)
        body = np.exp(body_log_quantile(mix)(g))
        tail = mix.tail_threshold + tail_law.isf(np.maximum(v, 1e-300))
    x = np.where(
        u < mix.zero_cost_share, 0.0, np.where(u < mix.zero_cost_share + tail_p, tail, body)
    )
    # The stay's exposure share of X: the year's episode inside (c p), outside (c (1 - p)) or
    # pro rata, at a uniform time of death.
    p = rng.random(n)
    w = rng.random(n)
    share = np.where(w < c * p, 1.0, np.where(w < c, 0.0, p))
    end = (ratio - 0.5) * mix.mean * np.exp(sigma * rng.standard_normal(n) - 0.5 * sigma**2)
    s = shape.risk_sigma
    risk = np.exp(s * rng.standard_normal(n) - 0.5 * s * s)
    return np.sort(risk * (share * x + end))


def _calendar_tail(
    shape: CostShape, pop: Population, episodic: bool
) -> tuple[Callable[[float], tuple[float, float]], float]:
    """``log c -> (P(C > c), E[C; C > c])`` over the member-years enrolled all year or until
    death, decedents by their sample (:func:`_decedent_sample`), and the mass above 0."""
    dist = cost_distribution(shape)
    dp = departure_figures(pop).full_year_share
    if dp <= 0.0:
        return dist.survival_and_partial, 1.0 - shape.zero_cost_share
    c = episodic_share(shape.mixture.cv) if episodic else 0.0
    sample = _decedent_sample(shape, pop.decedent_cost_ratio, pop.terminal_cost_sigma, c)
    above = np.concatenate([np.cumsum(sample[::-1])[::-1], [0.0]])  # sum of sample[i:]
    n = sample.size

    def survival_and_partial(log_c: float) -> tuple[float, float]:
        surv, partial = dist.survival_and_partial(log_c)
        i = int(np.searchsorted(sample, math.exp(log_c), side="right"))
        return (
            (1.0 - dp) * surv + dp * (n - i) / n,
            (1.0 - dp) * partial + dp * float(above[i]) / n,
        )

    positive = (1.0 - dp) * (1.0 - shape.zero_cost_share) + dp * float(np.mean(sample > 0.0))
    return survival_and_partial, positive


def calendar_quantile(shape: CostShape, pop: Population, q: float, episodic: bool = True) -> float:
    """The ``q`` quantile of a member-year's cost over the members enrolled all year or until
    death (at ``shape``'s scale: divide by ``Population.departure_load`` for the kernels' USD).

    Solves ``P(C > c) = 1 - q`` on ``log c`` (bounded bracketing, then regula falsi: a
    :class:`~simsettle.scenario.costs.SolverError` rather than a hang); 0 where ``q`` falls in
    the atom at zero cost.
    """
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must lie strictly between 0 and 1, got {q!r}")
    survival_and_partial, positive = _calendar_tail(shape, pop, episodic)
    if 1.0 - q >= positive:
        return 0.0
    log_p = math.log1p(-q)

    def f(x: float) -> float:
        return math.log(max(survival_and_partial(x)[0], 1e-300)) - log_p

    return math.exp(_root_decreasing(f, math.log(shape.mixture.mean)))


def calendar_moments(shape: CostShape, pop: Population, episodic: bool = True) -> CostMoments:
    """Moments of a member-year's cost over the members enrolled all year or until death.

    ``shape`` is the survivors' full-year cost shape (risk included); ``pop`` gives the
    decedents' share, cost ratio and end-of-life spread; ``episodic`` is False for ``cost.
    partial_year: pro_rata``. With no deaths this is :func:`cost_moments` itself.
    """
    plain = cost_moments(shape)
    fig = departure_figures(pop)
    dp = fig.full_year_share
    if dp <= 0.0:
        return plain
    mix = shape.mixture
    r, sigma = pop.decedent_cost_ratio, pop.terminal_cost_sigma
    ex = mix.mean
    ex2 = (plain.cv**2 + 1.0) * ex * ex / math.exp(shape.risk_sigma**2)  # E[X^2]
    c = episodic_share(mix.cv) if episodic else 0.0
    end = (r - 0.5) * ex
    d2 = math.exp(shape.risk_sigma**2) * (
        (1.0 / 3.0 + c / 6.0) * ex2 + end * ex + end * end * math.exp(sigma * sigma)
    )
    mean = (1.0 - dp) * ex + dp * r * ex
    second = (1.0 - dp) * (plain.cv**2 + 1.0) * ex * ex + dp * d2
    survival_and_partial, positive = _calendar_tail(shape, pop, episodic)
    costly = not mix.standard  # (its top shares are quadratures)
    top1, top5, top10 = (
        top_share_of(survival_and_partial, mean, positive, q, costly=costly)
        for q in (0.01, 0.05, 0.1)
    )
    return CostMoments(
        mean_annual=mean,
        pmpm=mean / 12.0,
        cv=math.sqrt(max(second / (mean * mean) - 1.0, 0.0)),
        top1_share=top1,
        top5_share=top5,
        top10_share=top10,
        zero_share=(1.0 - dp) * shape.zero_cost_share,
    )
