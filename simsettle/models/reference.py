"""Slow, obviously correct twins of the random number generator and the member-level model.

Plain numpy and Python, one member and one year at a time, written from the model's description
rather than from the kernel: tests compare the kernel's per-trial aggregates with these on small
populations. Never used by the engine itself. This is a second definition of the member-year rule
of :mod:`simsettle._kernels.member`, independent on purpose, and must stay so: sharing code with
the kernel would let a mistake in one pass unseen in both.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from simsettle._kernels import records as R
from simsettle.models.laws import mixture_laws
from simsettle.scenario.frequency import CountLaw
from simsettle.scenario.schema import Scenario

__all__ = ["philox4x32_10_reference", "simulate_trial_reference"]

_MASK32 = 0xFFFFFFFF


def philox4x32_10_reference(counter: npt.ArrayLike, key: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """Philox4x32-10 of Salmon et al. (2011) on rows of 4-word counters, vectorised in numpy.

    ``counter``: (..., 4) unsigned 32-bit words; ``key``: 2 words. Returns (..., 4) uint32.
    """
    c = np.asarray(counter, dtype=np.uint64) & _MASK32
    k = [int(x) & _MASK32 for x in np.asarray(key, dtype=np.uint64).reshape(2)]
    x0, x1, x2, x3 = (c[..., i].copy() for i in range(4))
    for _ in range(10):
        hi0_lo0 = np.uint64(0xD2511F53) * x0
        hi1_lo1 = np.uint64(0xCD9E8D57) * x2
        hi0, lo0 = hi0_lo0 >> np.uint64(32), hi0_lo0 & np.uint64(_MASK32)
        hi1, lo1 = hi1_lo1 >> np.uint64(32), hi1_lo1 & np.uint64(_MASK32)
        x0, x1, x2, x3 = hi1 ^ x1 ^ np.uint64(k[0]), lo1, hi0 ^ x3 ^ np.uint64(k[1]), lo0
        k = [(k[0] + 0x9E3779B9) & _MASK32, (k[1] + 0xBB67AE85) & _MASK32]
    return np.stack([x0, x1, x2, x3], axis=-1).astype(np.uint32)


def _words(trial: int, year: int, member: int, stream: int, key: tuple[int, int]) -> list[float]:
    """The four uniforms on (0, 1) of one counter."""
    w = philox4x32_10_reference([trial, year, member, stream], key)
    return [(int(x) + 0.5) / 2**32 for x in w]


def _normals(u1: float, u2: float) -> tuple[float, float]:
    r = math.sqrt(-2.0 * math.log(u1))
    return r * math.cos(2.0 * math.pi * u2), r * math.sin(2.0 * math.pi * u2)


def _gamma_mean_one(
    trial: int,
    year: int,
    var: float,
    key: tuple[int, int],
    member: int = 0xFFFFFFFF,
    stream: int = 1024,
) -> float:
    """Gamma of mean 1 and variance ``var`` by Marsaglia and Tsang's method, attempt ``k`` on
    stream ``stream + k`` of ``member`` (the boost for a shape below 1 from the first attempt's
    fourth word); 1 for ``var`` 0. The claim contagion: the system member, streams 1024 on."""
    if var <= 0:
        return 1.0
    a = 1 / var
    boost = 1.0
    if a < 1:
        boost = _words(trial, year, member, stream, key)[3] ** (1 / a)
        a += 1
    d = a - 1 / 3
    c = 1 / math.sqrt(9 * d)
    for k in range(64):
        u = _words(trial, year, member, stream + k, key)
        x, _ = _normals(u[0], u[1])
        v = (1 + c * x) ** 3
        if 1 + c * x > 0 and math.log(u[2]) < x * x / 2 + d - d * v + d * math.log(v):
            return d * v * boost * var
    return 1.0


def _poisson_count(mu: float, w: list[float]) -> int:
    """A Poisson count of mean ``mu`` from the claim block's words ``w``: by inversion of
    word 2, or above a mean of 400 the normal of words 2 and 3, rounded."""
    if mu > 400:
        z, _ = _normals(w[2], w[3])
        return max(0, math.floor(mu + math.sqrt(mu) * z + 0.5))
    p = math.exp(-mu)
    cdf, n = p, 0
    while w[2] > cdf and n < mu + 60 * math.sqrt(mu) + 60:
        n += 1
        p *= mu / n
        cdf += p
    return n


def _count_by_inverse(count: CountLaw, u: float, contagion: float) -> int:
    """A binomial or zero-modified claim count from the uniform ``u`` by scipy's inverse
    distribution function (the least ``k`` with ``F(k) >= u``): none below the zero
    probability, else the base count at ``p_0 + u' (1 - p_0)``, ``u'`` the rescaled uniform
    (the count conditioned on one claim at least). The kernel's walk along the recursion
    approximates means above 400 by a normal; the twin does not (its tests stay below)."""
    from scipy import stats

    mu, size = count.base_mean * contagion, count.size
    if count.family == "binomial":
        if mu >= size:
            return int(size)
        base = stats.binom(int(size), mu / size)
    elif count.family == "negative_binomial":
        base = stats.nbinom(size, size / (size + mu))
    else:
        base = stats.poisson(mu)
    zero = count.zero_probability
    if zero is None:
        return int(base.ppf(u))
    if u < zero:
        return 0
    p0 = float(base.pmf(0))
    return max(1, int(base.ppf(p0 + (u - zero) / (1 - zero) * (1 - p0))))


def simulate_trial_reference(
    scenario: Scenario, key: tuple[int, int], trial: int, attachments: list[float]
) -> npt.NDArray[np.float64]:
    """Aggregates of one trial, (simulated year, field), fields as in the kernel.

    Fields: spend, member months, risk x months, members, trend index, reference index,
    demographic risk x months, care-management months, quality score, care-management avoided
    cost, completion-factor normal, national index, then the summed excess of member cost over
    each attachment and the practices' spend and member months.
    """
    pop, cost, trend = scenario.population, scenario.cost, scenario.trend
    n_base = scenario.simulated_base_years
    n_years = n_base + scenario.performance_years
    # The member lanes: the participant practices, or the enrolment types (share, cost ratio).
    types = pop.enrollment_types
    practices: list[Any] = (
        list(types)
        if types is not None
        else []
        if scenario.participants is None
        else list(scenario.participants.practices)
    )
    n_att = len(attachments)
    # Per practice: spend and member months; where practices join or leave, every member
    # field (spend, months, risk months, demographic risk months, members, managed months,
    # avoided cost) and the excess over each attachment; every field per enrolment type.
    part = scenario.participants
    detail = types is not None or (
        part is not None and (part.churns or scenario.truncation is not None)
    )
    n_per_practice = 7 + n_att if detail else 2
    base = R.N_BASE_FIELDS
    out = np.zeros((n_years, base + n_att + n_per_practice * len(practices)))

    def practice_field(f: int, practice: int) -> int:
        return base + n_att + f * len(practices) + practice

    # Practice of each member slot: slots are handed out in order of the practices' shares.
    bounds = np.rint(np.cumsum([p.share for p in practices]) * pop.members)
    if practices:
        bounds[-1] = pop.members
    # Costs are scaled so that the expected cost per member-month, decedents and partial years
    # included, is pmpm: per slot-year, expected cost and months (in years) of the occupant
    # (stays, moves, dies, loses attribution) and of a joiner.
    t, a_loss = pop.turnover, pop.attribution_loss
    d = pop.mortality if pop.mortality is not None else min(0.045, t)
    exp_cost = (
        (1 - t) + (t - d - a_loss) / 2 + d * pop.decedent_cost_ratio + t * pop.replacement / 2
    )
    exp_years = (1 - t) + (t - a_loss) / 2 + t * pop.replacement / 2
    load = exp_cost / exp_years
    # The lognormal body's log-sd (given as body_sigma, body_shape or body_cv).
    body_sigma = cost.resolved_body_shape if cost.body_family == "lognormal" else 0.0
    body_mu = (
        math.log(cost.body_mean / load) - body_sigma**2 / 2
        if cost.model == "mixture"
        else 0.0  # the mixture's fields are unused
    )
    # The risk score is the calibrated prediction of the true risk exp(sigma z - sigma^2 / 2)
    # from the signal w = c z + sqrt(1 - c^2) e, c^2 = risk_score_accuracy, e the score's own
    # noise: E[exp(sigma z) | w] = exp(sigma c w + sigma^2 (1 - c^2) / 2), so the score is
    # exp(sigma c w - (sigma c)^2 / 2). The demographic score reads the same signal.
    c_score = math.sqrt(pop.risk_score_accuracy)
    c_noise = math.sqrt(1 - pop.risk_score_accuracy)
    score_sigma = pop.risk_sigma * c_score
    demo_sigma = pop.demographic_signal * score_sigma
    entrant = math.log(pop.entrant_risk_ratio) / pop.risk_sigma if pop.risk_sigma > 0 else 0.0
    cm = scenario.care_management
    cm_threshold = math.inf
    if cm is not None and cm.high_risk_share > 0:
        cm_threshold = NormalDist().inv_cdf(1 - cm.high_risk_share)
    cm_first_year = n_base if cm is not None and cm.start == "performance_years" else 0

    def true_risk(z: float, tenure: float) -> float:
        growth: float = (1 + pop.ageing) ** tenure
        return math.exp(pop.risk_sigma * z - pop.risk_sigma**2 / 2) * growth

    def risk_score(z: float, noise: float, tenure: float) -> float:
        growth: float = (1 + pop.ageing) ** tenure
        w = c_score * z + c_noise * noise
        return math.exp(score_sigma * w - score_sigma**2 / 2) * growth

    def demographic_score(z: float, noise: float, tenure: float) -> float:
        if not scenario.benchmark.uses_demographic_scores:
            return 0.0  # not accumulated unless the benchmark uses it
        growth: float = (1 + pop.ageing) ** tenure
        w = c_score * z + c_noise * noise
        return math.exp(demo_sigma * w - demo_sigma**2 / 2) * growth

    rho_c = cost.persistence
    keep_c = math.sqrt(1 - rho_c**2)

    def compound_cost(y: int, m: int, stream: int, previous: float | None) -> tuple[float, float]:
        # Claims ~ Poisson(lambda x lognormal frailty), severities lognormal; block 0 of the
        # claim stream: frailty, the count's uniform, the first severity; block k: 4 more. The
        # frailty's normal is a new member's own draw, or an AR(1) step from last year's.
        w = _words(trial, y, m, stream, key)
        e, first = _normals(w[0], w[1])
        if previous is not None:
            e = rho_c * previous + keep_c * e
        f = cost.claim_dispersion
        count = cost.count_law
        if count is not None:
            n = _count_by_inverse(count, w[2], contagion[y])
        else:
            if cost.claim_frailty == "gamma":
                # Gamma frailty of variance f^2 on its own streams (2**30 on, joiners 256
                # further).
                side = 0x40000000 + 256 * (stream - 16)
                frailty = _gamma_mean_one(trial, y, f * f, key, m, side)
                mu = cost.claims_per_year * contagion[y] * frailty
            else:
                mu = cost.claims_per_year * contagion[y] * math.exp(f * e - f * f / 2)
            n = _poisson_count(mu, w)
        if n == 0:
            return 0.0, e
        assert law is not None
        if law.family != "lognormal":
            return severity_total(y, m, stream, n), e
        sigma = law.shape
        sev_mu = math.log(12 * cost.pmpm / load / cost.claims_per_year) - sigma**2 / 2
        normals = [first]
        block = 1
        while len(normals) < n:
            v = _words(trial, y, m, stream + 2 * block, key)
            normals += [*_normals(v[0], v[1]), *_normals(v[2], v[3])]
            block += 1
        return sum((math.exp(sev_mu + sigma * g) for g in normals[:n]), 0.0), e

    # Claim severities of the other families, in the scenario's own parameters (the module
    # simsettle.scenario.severity's table), at the kernels' level (1 / load).
    law = cost.severity_law.scaled(1 / load) if cost.model == "frequency_severity" else None

    def quantile(family: str, shape: float, scale: float, u: float) -> float:
        return float(_quantile(family, shape, scale, u))

    def _quantile(family: str, shape: float, scale: float, u: float) -> Any:
        s = 1 - u
        if family == "lognormal":
            return scale * math.exp(shape * NormalDist().inv_cdf(u))
        if family == "weibull":
            return scale * (-math.log1p(-u)) ** (1 / shape)
        if family == "lomax":
            return scale * (s ** (-1 / shape) - 1)
        if family == "pareto":
            return scale * s ** (-1 / shape)
        if family == "gpd":
            return scale * (s**-shape - 1) / shape if shape != 0 else -scale * math.log(s)
        if family == "loglogistic":
            return scale * (u / s) ** (1 / shape)
        raise AssertionError(family)

    def claim(u: float) -> float:
        assert law is not None
        if law.family != "spliced":
            return quantile(law.family, law.shape, law.scale, u)
        p, t = law.tail_probability, law.threshold
        if 1 - u < p:  # the tail: the threshold plus a generalised Pareto excess
            return t + quantile("gpd", law.tail_xi, law.tail_sigma, 1 - (1 - u) / p)
        return quantile(law.body, law.shape, law.scale, u / (1 - p) * law.body_cdf)

    def severity_total(y: int, m: int, stream: int, n: int) -> float:
        # Gamma and inverse Gaussian: the total of n claims in one draw (gamma of shape n a on
        # streams 0x50000000 on, the joiner's 256 further; IG(n mu, n^2 lambda) from claim
        # block 1 by Michael, Schucany and Haas). The others claim by claim: claim j at word
        # j % 4 of claim block 1 + j // 4.
        assert law is not None
        if law.family == "gamma":
            side = 256 * (stream - 16)
            g = _gamma_mean_one(trial, y, 1 / (n * law.shape), key, m, 0x50000000 + side)
            return n * law.mean * g
        if law.family == "inverse_gaussian":
            w = _words(trial, y, m, stream + 2, key)
            z, _ = _normals(w[0], w[1])
            mu, lam = n * law.scale, n * n * law.shape * law.scale
            v = z * z
            x = (
                mu
                + mu * mu * v / (2 * lam)
                - mu / (2 * lam) * math.sqrt(4 * mu * lam * v + (mu * v) ** 2)
            )
            return x if w[2] <= mu / (mu + x) else mu * mu / x
        total = 0.0
        for j in range(n):
            total += claim(_words(trial, y, m, stream + 2 * (1 + j // 4), key)[j % 4])
        return total

    # Another body family, or a gpd tail: each class's cost by its law's quantile (scipy's),
    # the body's at the probability of its normal, the tail's at its survival within the tail.
    general = cost.model == "mixture" and not cost.shape(0.0).mixture.standard
    body_law, tail_law = (
        mixture_laws(cost.shape(0.0).mixture, 1 / load) if general else (None, None)
    )
    threshold = cost.tail_threshold / load

    def body(z: float) -> float:
        assert body_law is not None
        if z < 0:
            return float(body_law.ppf(0.5 * math.erfc(-z / math.sqrt(2))))
        return float(body_law.isf(0.5 * math.erfc(z / math.sqrt(2))))

    def tail(v: float) -> float:
        assert tail_law is not None
        return threshold + float(tail_law.isf(v))

    def annual_cost(u: float, z: float) -> float:
        if u < cost.zero_cost_share:
            return 0.0
        if u < cost.zero_cost_share + cost.tail_probability:
            v = (u - cost.zero_cost_share) / cost.tail_probability
            if general:
                return tail(v)
            return float(cost.tail_threshold / load * v ** (-1.0 / cost.tail_shape))
        return body(z) if general else math.exp(body_mu + body_sigma * z)

    # Persistence: a member's cost follows a latent class normal (zero, body or tail, and the
    # place in the tail) and the body's normal, each moving from year to year by an AR(1) step
    # with correlation cost.persistence. The class normal's innovation is the first normal of
    # the turnover call for a member who stays, the second of the exposure call's pair for one
    # who leaves. A joiner's cost is drawn from its class uniform; its class normal for next
    # year is that uniform put in order of cost (zero, body, then the tail with its costliest
    # end at the top) and read as a normal.
    zero, tail_p = cost.zero_cost_share, cost.tail_probability
    persistent = rho_c > 0 and cost.model != "frequency_severity"

    def class_normal(u: float) -> float:
        if u < zero:
            return NormalDist().inv_cdf(u)
        if u < zero + tail_p:
            return -NormalDist().inv_cdf(u - zero)  # the top of the scale, reversed
        return NormalDist().inv_cdf(u - tail_p)

    def persistent_cost(c: float, b: float) -> float:
        below = 0.5 * math.erfc(-c / math.sqrt(2))
        above = 0.5 * math.erfc(c / math.sqrt(2))
        if below < zero:
            return 0.0
        if above <= tail_p:
            v = above / tail_p
            if general:
                return tail(v)
            return float(cost.tail_threshold / load * v ** (-1.0 / cost.tail_shape))
        return body(b) if general else math.exp(body_mu + body_sigma * b)

    def member_cost(
        y: int,
        m: int,
        stream: int,
        u: float,
        n: float,
        g: float,
        latent: tuple[float, float, float] | None,
    ) -> tuple[float, tuple[float, float, float]]:
        """The annualised cost and the member's latent normals (class, body, frailty): u and n
        the class uniform and body normal, g the class normal's innovation; latent is last
        year's, None for a new member."""
        c, b = g, n
        if latent is not None:
            c = rho_c * latent[0] + keep_c * c
            b = rho_c * latent[1] + keep_c * b
        if frequency_severity:
            x, f = compound_cost(y, m, stream, None if latent is None else latent[2])
            return x, (c, b, f)
        x = persistent_cost(c, b) if persistent else annual_cost(u, n)
        return x, (c, b, 0.0)

    frequency_severity = cost.model == "frequency_severity"
    # Exposure: a partial-year stay carries the year's cost as one episode (all or none) with
    # probability c = 1 - E[X]^2 / E[X^2], else its share of the year.
    if cost.partial_year == "pro_rata":
        episodic = 0.0
    elif frequency_severity:
        # E[S^2] / E[S]^2 of the severity (inf without a variance: every stay is one episode).
        sev_mean, sev_second = cost.severity_law.moments()
        ratio = sev_second / sev_mean**2 / cost.claims_per_year
        # E[F^2] of the frailty: exp(phi^2) lognormal, 1 + phi^2 gamma.
        phi = cost.claim_dispersion
        second_f = 1 + phi**2 if cost.claim_frailty == "gamma" else math.exp(phi**2)
        episodic = 1.0 - 1.0 / (ratio + second_f)
        drawn = cost.count_law
        if drawn is not None:
            # E[X^2] / E[X]^2 = 1 + CV_s^2 / E[N] + Var(N) / E[N]^2 of a drawn count.
            cv_s2 = sev_second / sev_mean**2 - 1
            episodic = 1.0 - 1.0 / (1 + cv_s2 / drawn.mean + drawn.variance / drawn.mean**2)
    elif general:
        # E[X^2] from scipy's moments of the body and of the tail, h + Y.
        b_law, t_law = mixture_laws(cost.shape(0.0).mixture)
        h = cost.tail_threshold
        second = (1 - cost.zero_cost_share - cost.tail_probability) * b_law.moment(2)
        if cost.tail_probability > 0:
            second += cost.tail_probability * (h * h + 2 * h * t_law.mean() + t_law.moment(2))
        episodic = 1.0 - (12 * cost.pmpm) ** 2 / second
    elif cost.tail_probability > 0 and cost.tail_shape <= 2:
        episodic = 1.0
    else:
        body_p = 1 - cost.zero_cost_share - cost.tail_probability
        second = body_p * cost.body_mean**2 * math.exp(body_sigma**2)
        if cost.tail_probability > 0:
            alpha = cost.tail_shape
            second += cost.tail_probability * cost.tail_threshold**2 * alpha / (alpha - 2)
        episodic = 1.0 - (12 * cost.pmpm) ** 2 / second

    def exposure(months: float, u: float) -> float:
        p = months / 12
        if u < episodic * p:
            return 1.0
        if u < episodic:
            return 0.0
        return p

    att = pop.attribution
    attribution_on = (
        att.retention < 1.0 or att.payer_only_share > 0.0 or att.provider_only_share > 0.0
    )
    roster_correlated = att.payer_only_correlation != 0 or att.provider_only_correlation != 0

    def has_status(u: float, share: float, corr: float, z: float) -> bool:
        # A status is a latent normal, correlated corr with the log risk z on arrival, above
        # the normal quantile of 1 - share; without any correlation, u < share.
        if not roster_correlated:
            return u < share
        if share <= 0.0 or share >= 1.0:
            return share >= 1.0
        normal = NormalDist()
        latent = corr * z + math.sqrt(1 - corr**2) * normal.inv_cdf(1 - u)
        return latent > normal.inv_cdf(1 - share)

    def roster(words: list[float], z: float) -> tuple[bool, bool]:
        # A new member's (payer-only, provider-only) status, kept for its stay.
        if not attribution_on:
            return False, False
        return (
            has_status(words[1], att.payer_only_share, att.payer_only_correlation, z),
            has_status(words[2], att.provider_only_share, att.provider_only_correlation, z),
        )

    def add(
        y: int,
        z: float,
        noise: float,
        tenure: float,
        x: float,
        months: float,
        words: list[float],
        status: tuple[bool, bool],
        slot: int,
        u_exposure: float,
        *,
        entrant: bool = False,
        mode: str = "stays",
        terminal_normal: float = 0.0,
    ) -> None:
        # Attribution: drop a member with no care unless retained; payer-only members are not
        # managed; provider-only members are outside the settlement.
        u_retain = words[0] if attribution_on else 0.0
        payer_only, provider_only = status
        scale = pop.entrant_cost_ratio if entrant else 1.0
        practice = int(np.searchsorted(bounds, slot, side="right")) if practices else -1
        if practice >= 0:
            scale = practices[practice].cost_ratio * scale
        x = x * scale
        # A decedent adds an end-of-life episode, lognormal, whose mean tops up the ordinary
        # cost of the mean half year enrolled to decedent_cost_ratio full years.
        terminal = 0.0
        if mode == "death":
            s_t = pop.terminal_cost_sigma
            t_mean = (pop.decedent_cost_ratio - 0.5) * 12 * cost.pmpm / load
            terminal = t_mean * math.exp(s_t * terminal_normal - s_t**2 / 2) * scale
        attributed = not provider_only and mode != "attribution"
        if x == 0.0 and u_retain >= att.retention:
            attributed = False
        risk = risk_score(z, noise, tenure)
        full = true_risk(z, tenure) * index[y] * (x * exposure(months, u_exposure) + terminal)
        managed = cm is not None and y >= cm_first_year and z > cm_threshold and not payer_only
        # The programme acts only on the spend within the provider's reach.
        avoided = cm.effect * (1 - att.leakage_share) if cm is not None else 0.0
        c = full * (1 - avoided) if managed else full
        if not attributed:
            if managed:
                out[y, 7] += months
                if detail and practice >= 0:
                    out[y, practice_field(5, practice)] += months
            return
        out[y, 0] += c
        out[y, 1] += months
        out[y, 2] += risk * months
        out[y, 3] += 1
        out[y, 6] += demographic_score(z, noise, tenure) * months
        if managed:
            out[y, 7] += months
            out[y, 9] += full - c
        for k, a in enumerate(attachments):
            if c > a:
                out[y, base + k] += c - a
        if practice >= 0:
            out[y, practice_field(0, practice)] += c
            out[y, practice_field(1, practice)] += months
        if detail and practice >= 0:
            out[y, practice_field(2, practice)] += risk * months
            out[y, practice_field(3, practice)] += demographic_score(z, noise, tenure) * months
            out[y, practice_field(4, practice)] += 1
            if managed:
                out[y, practice_field(5, practice)] += months
                out[y, practice_field(6, practice)] += full - c
            for k, a in enumerate(attachments):
                out[y, practice_field(7 + k, practice)] += max(c - a, 0.0)

    # Trial-level draws: provider and reference trend, shocks, quality.
    ref_mean = trend.mean if trend.reference_mean is None else trend.reference_mean
    ref_sd = trend.sd if trend.reference_sd is None else trend.reference_sd
    nat_mean = ref_mean if trend.national_mean is None else trend.national_mean
    nat_sd = ref_sd if trend.national_sd is None else trend.national_sd
    index, reference, national = [1.0], [1.0], [1.0]
    level, ref_level, nat_level = 1.0, 1.0, 1.0
    for y in range(1, n_years):
        u = _words(trial, y, 0xFFFFFFFF, 2, key)
        g1, g2 = _normals(u[0], u[1])
        level *= math.exp(math.log1p(trend.mean) - trend.sd**2 / 2 + trend.sd * g1)
        g_ref = trend.correlation * g1 + math.sqrt(1 - trend.correlation**2) * g2
        ref_level *= math.exp(math.log1p(ref_mean) - ref_sd**2 / 2 + ref_sd * g_ref)
        v = _words(trial, y, 0xFFFFFFFF, 6, key)
        g3, _ = _normals(v[0], v[1])
        g_nat = trend.national_correlation * g1 + math.sqrt(1 - trend.national_correlation**2) * g3
        nat_level *= math.exp(math.log1p(nat_mean) - nat_sd**2 / 2 + nat_sd * g_nat)
        shock = 1 + trend.shock_size if u[2] < trend.shock_probability else 1.0
        index.append(level * shock)
        reference.append(ref_level * shock)
        national.append(nat_level * shock)
    out[:, 4] = index
    out[:, 5] = reference
    out[:, 11] = national
    contagion = [_gamma_mean_one(trial, y, cost.contagion, key) for y in range(n_years)]
    out[:, R.F_CONTAGION] = contagion
    qm = scenario.quality_model
    x = 0.0
    for y in range(n_years):
        u = _words(trial, y, 0xFFFFFFFF, 3, key)
        e, out[y, 10] = _normals(u[0], u[1])
        if qm is None:
            out[y, 8] = 0.5
            continue
        x = e if y == 0 else qm.persistence * x + math.sqrt(1 - qm.persistence**2) * e
        out[y, 8] = 1 / (1 + math.exp(-(math.log(qm.mean / (1 - qm.mean)) + qm.sd * x)))

    for m in range(pop.members):
        z = 0.0
        noise = 0.0  # the risk score's noise: AR(1) with the risk's correlation
        tenure = 0
        is_new = True
        latent: tuple[float, float, float] | None = None
        status = (False, False)  # (payer-only, provider-only), drawn on arrival
        for y in range(n_years):
            # Every member-year: leave decision, cost class, a normal pair for risk and cost.
            a = _words(trial, y, m, 0, key)
            e, n = _normals(a[2], a[3])
            # Every member-year: the noise of the occupant's and a joiner's risk scores.
            h, h_joiner = _normals(*_words(trial, y, m, 8, key)[:2])
            if is_new:
                # The first year's roster is the stationary population; later arrivals are
                # entrants.
                z = e + (entrant if y > 0 else 0.0)
                noise = h
                tenure = 0
            else:
                z = pop.risk_persistence * z + math.sqrt(1 - pop.risk_persistence**2) * e
                noise = pop.risk_persistence * noise + math.sqrt(1 - pop.risk_persistence**2) * h
                tenure += 1
            leaves = a[0] < pop.turnover
            # A leaver's year only: leave month, joiner's cost class and normal pair.
            b = _words(trial, y, m, 1, key) if leaves or persistent else [0.0] * 4
            # ... and where the occupant's and the joiner's episodes fall, and the normal of a
            # decedent's end-of-life episode.
            ex = _words(trial, y, m, 7, key) if leaves else [0.5] * 4
            months = 12.0 * b[0] if leaves else 12.0
            # Given a departure a[0] / turnover is uniform: its first `replacement` part brings
            # a joiner; within the part it falls in, rescaled to (0, 1), the first
            # mortality / turnover is a death, the next attribution_loss / turnover a loss of
            # attribution, the rest a loss of eligibility or a move.
            mode = "stays"
            replaced = False
            if leaves:
                given = a[0] / pop.turnover
                replaced = given < pop.replacement
                if replaced:
                    within = given / pop.replacement
                else:
                    within = (given - pop.replacement) / (1 - pop.replacement)
                if within < d / pop.turnover:
                    mode = "death"
                elif within < (d + pop.attribution_loss) / pop.turnover:
                    mode = "attribution"
                else:
                    mode = "eligibility"
            g = 0.0
            if persistent:
                g = _normals(ex[2], ex[3])[1] if leaves else _normals(b[2], b[3])[0]
            x, latent = member_cost(y, m, 16, a[1], n, g, None if is_new else latent)
            attribution = _words(trial, y, m, 4, key)
            if is_new:
                status = roster(attribution, z)
            add(
                y,
                z,
                noise,
                tenure,
                x,
                months,
                attribution,
                status,
                m,
                ex[0],
                entrant=is_new and y > 0,
                mode=mode,
                terminal_normal=_normals(ex[2], ex[3])[0],
            )
            is_new = False
            if leaves:
                if replaced:
                    e_joiner, n_joiner = _normals(b[2], b[3])
                    z = e_joiner + entrant
                    noise = h_joiner
                    tenure = 0
                    attribution = _words(trial, y, m, 5, key)
                    status = roster(attribution, z)
                    x_joiner, latent = member_cost(
                        y, m, 17, b[1], n_joiner, class_normal(b[1]), None
                    )
                    add(
                        y,
                        z,
                        noise,
                        0,
                        x_joiner,
                        12 - months,
                        attribution,
                        status,
                        m,
                        ex[1],
                        entrant=True,
                    )
                else:
                    is_new = True
    return out
