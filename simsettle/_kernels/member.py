"""The member-year rule: the one definition that the CPU and the CUDA kernels both run.

Model (parameters: the record :data:`~simsettle._kernels.records.MODEL_DTYPE`, solved from the
scenario by :func:`simsettle.models.population.compile_model`):

* The roster has ``members`` slots. Each year the slot's occupant leaves with probability
  ``turnover`` at a uniform time in the year; with probability ``replacement`` a new member takes
  the slot for the rest of the year. A slot whose leaver was not replaced starts the next year with
  a new entrant. A departure is a death (probability ``death_rate``), a loss of attribution
  (``attribution_loss_rate``: the stay is outside the settlement) or a move (:func:`departure`).
  A decedent's stay adds an end-of-life episode (:func:`terminal_cost`) to its ordinary cost; an
  entrant's cost is multiplied by ``entrant_cost_ratio`` in its year of entry. Every cost is at
  the scale that makes the all-in PMPM the scenario's (``compile_model`` divides the cost
  parameters by ``Population.departure_load``).
* A member's latent log risk ``z`` is AR(1) with correlation ``risk_rho`` for continuing members
  and a stationary draw for new members (shifted by ``entrant_shift`` after the first year); its
  true risk, the multiplier of its cost, ``exp(sigma z - sigma**2 / 2) (1 + ageing)^tenure``,
  has mean 1 at tenure 0. The risk score the program uses is the calibrated prediction of the
  true risk from a noisy signal of ``z`` (its noise AR(1) like ``z``), which explains
  ``score_loading**2`` of the variance of ``z`` (:func:`member_year`).
* A member-year's annualised cost is 0 with probability ``zero_share``, ``tail_scale x Pareto``
  with probability ``tail_probability``, otherwise lognormal(``body_mu``, ``body_sigma``); or,
  with ``frequency_severity``, a Poisson-lognormal compound. With ``cost_persistence`` ``r > 0``
  a continuing member's cost is not drawn afresh each year (:func:`latent_cost`): its class
  and Pareto position follow a latent normal and its body a second one, each AR(1) with
  correlation ``r`` (:func:`ar1`; a Gaussian copula, so the annual distribution is unchanged);
  under ``frequency_severity`` the claim frailty's normal does. It is multiplied by the risk score,
  the trial-year's systemic trend index and the stay's exposure share (:func:`exposure_share`):
  1 for a full year; for a stay of ``p`` of the year, 1 with probability ``episodic p``, 0 with
  probability ``episodic (1 - p)`` and ``p`` otherwise, so that a stay's cost has mean and
  variance in proportion to its months (``episodic = 0``: pro rata).
* Attribution: a member with no care stays attributed only with probability
  ``no_care_retention`` (drawn every year); a provider-only member is outside the settlement
  and a payer-only member is unknown to the provider (never care-managed). Both statuses are
  the member's for its stay, drawn when it arrives (:func:`roster`), each possibly correlated
  with its latent log risk then. Care management removes ``care_management_effect`` (net of
  leakage) of the cost of members whose latent risk is above ``care_management_z``, from year
  ``care_management_from``.
* The systemic index is 1 in the first simulated year and grows by a lognormal factor per year,
  one draw per trial and year, shared by all members (:func:`system_years`).

Random words come from Philox4x32-10 at counter ``(trial, year, member, stream)``: one call per
member-slot-year (leave decision and mode, cost class and a Box-Muller pair for the risk and
cost normals), a second for the leaver's year (leave month, the joiner's class and normal pair;
with persistence, every year: its first normal is the innovation of a staying member's class
normal), one every year for the noise of the occupant's and a joiner's risk scores
(``STREAM_SCORE``; none when the score is exact, ``risk_score_accuracy`` 1), a third for the
leaver's year's exposure (where the occupant's and the joiner's episodes fall, a decedent's
end-of-life normal and, with persistence, the leaving occupant's class innovation), two for
attribution (the occupant's and a joiner's: retention every year, the roster status in the
member's first year), and a few per trial-year for the trend and quality.

The functions here are the rule; the kernels only lay it out. ``@njit(inline="always")``
functions are inlined into the CPU kernel's lane loops (:mod:`~simsettle._kernels.population`),
where they stay branch-free so that LLVM vectorizes them, and numba-cuda compiles the same Python
source into device functions for the GPU kernel (:mod:`~simsettle._kernels.cuda`); the member
stays of :func:`~simsettle._kernels.population.simulate_stays` run it too. Each function
takes the :class:`MemberModel` of :func:`member_model`, the record's parameters and the
quantities derived from them, read once per trial into a value (not memory), so that no read is
repeated inside a loop. The slow twins that check all this are written independently, on
purpose: :func:`simsettle.models.reference.simulate_trial_reference` and
``benchmarks/numpy_model.py``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from simsettle._kernels import cacheguard as _cacheguard
from simsettle._kernels.elementary import (
    log_norm_sf,
    log_norm_sf_branchy,
    ndtri,
    ndtri_branchy,
    vexp,
    vlog,
)
from simsettle._kernels.quantiles import gamma_quantile, inverse_gaussian_quantile
from simsettle._kernels.records import (
    CNT_BINOMIAL,
    CNT_NEGATIVE_BINOMIAL,
    CNT_POISSON,
    DEPART_ATTRIBUTION,
    DEPART_DEATH,
    DEPART_ELIGIBILITY,
    DEPART_NONE,
    F_COMPLETION_Z,
    F_CONTAGION,
    F_NAT_INDEX,
    F_QUALITY,
    F_REF_INDEX,
    F_TREND_INDEX,
    N_LANE_FIELDS,
    SEV_GAMMA,
    SEV_GPD,
    SEV_INVERSE_GAUSSIAN,
    SEV_LOGLOGISTIC,
    SEV_LOGNORMAL,
    SEV_SPLICED,
    SEV_WEIBULL,
    STREAM_ATTRIBUTION,
    STREAM_CLAIMS,
    STREAM_CONTAGION,
    STREAM_EXPOSURE,
    STREAM_FRAILTY,
    STREAM_JOINER_ATTRIBUTION,
    STREAM_MEMBER,
    STREAM_NATIONAL,
    STREAM_QUALITY,
    STREAM_SCORE,
    STREAM_SEVERITY,
    STREAM_TREND,
    STREAM_TURNOVER,
    SYSTEM_MEMBER,
)
from simsettle._kernels.rng import box_muller, philox4x32_10, u32_to_unit

__all__ = [
    "MemberModel",
    "MemberYear",
    "SlotState",
    "ar1",
    "attribution_draws",
    "body_quantile",
    "claim_mean",
    "class_normal",
    "compound_cost",
    "contagion_factor",
    "departure",
    "exposure_share",
    "first_severity",
    "frailty_normal",
    "gamma_attempt",
    "gamma_boost",
    "gamma_constants",
    "gamma_mean_one",
    "general_annual_cost",
    "general_costs",
    "general_latent_cost",
    "in_settlement",
    "innovation",
    "joiner_risks",
    "latent_cost",
    "latent_cost_branchy",
    "leaves_in_year",
    "member_model",
    "member_year",
    "normal_count",
    "poisson_count",
    "poisson_limit",
    "poisson_step",
    "practice_detail",
    "roster",
    "severity_block",
    "slot_sums",
    "slot_year",
    "start_state",
    "successor",
    "system_years",
    "tail_quantile",
    "terminal_cost",
    "words",
]

F8 = npt.NDArray[np.float64]


class MemberModel(NamedTuple):
    """The member-year rule's parameters as one value: the record's, and what follows from them.

    Built once per trial by :func:`member_model`; numba keeps it in registers.
    """

    n_members: int
    offset: int
    turnover: float
    replacement: float
    rsig: float
    rho: float
    innov: float  # sqrt(1 - rho^2): the weight of a continuing member's new normal
    risk_shift: float  # -rsig^2 / 2, so that the risk score has mean 1
    ageing: float
    demo_on: bool
    dsig: float
    demo_shift: float
    entrant: float
    retain: float
    payer_only: float
    provider_only: float
    attribution_on: bool
    cm_z: float
    cm_from: float
    cm_keep: float  # 1 - care_management_effect
    zero: float
    tail_p: float
    tail_scale: float
    tail_inv_shape: float
    body_mu: float
    body_sigma: float
    frequency_severity: bool
    lam: float
    frailty: float
    sev_mu: float
    sev_sigma: float
    episodic: float  # probability that a partial-year stay's cost is one episode
    death: float  # P(death | departure) = mortality / turnover
    exit_end: float  # P(death or loss of attribution | departure)
    inv_rep: float  # 1 / replacement (0 when replacement is 0)
    inv_norep: float  # 1 / (1 - replacement) (0 when replacement is 1)
    terminal_mean: float  # mean end-of-life episode of a decedent at risk 1 and index 1 (USD)
    terminal_sigma: float  # its log-sd
    entrant_cost: float  # an entrant's cost in the year of entry over a continuing member's
    persist: float  # cost_persistence: the AR(1) correlation of a member's latent cost normals
    persist_innov: float  # sqrt(1 - persist^2)
    persist_on: bool  # persist > 0 with the mixture: the occupant's cost follows latent normals
    zero_z: float  # the standard normal quantile of zero_share (-40 for 0)
    tail_z: float  # that of 1 - tail_probability (40 for 0)
    log_tail_scale: float  # log tail_scale (0 without a tail)
    log_tail_p: float  # log tail_probability (0 without a tail)
    loading: float  # corr of the score's signal with the latent log risk (risk_score_accuracy^.5)
    loading_innov: float  # sqrt(1 - loading^2): the weight of the score's own noise
    ssig: float  # rsig x loading: the log-sd of the risk score (regression to the mean)
    score_shift: float  # -ssig^2 / 2, so that the risk score has mean 1
    roster_corr: bool  # a roster status is correlated with the latent log risk (normal draws)
    payer_c: float  # payer_only_correlation
    payer_innov: float  # sqrt(1 - payer_c^2)
    payer_z: float  # payer-only above this normal (+inf: nobody)
    provider_c: float  # provider_only_correlation
    provider_innov: float  # sqrt(1 - provider_c^2)
    provider_z: float  # provider-only above this normal (+inf: nobody)
    gamma_frailty: bool  # the claim frailty is gamma (negative-binomial counts), else lognormal
    sev_family: int  # SEV_* code of the claim severity
    sev_a: float
    sev_b: float
    sev_loc: float
    sev_body: int  # SEV_* code of a spliced severity's body
    sev_body_cdf: float
    sev_threshold: float
    sev_tail_p: float
    sev_tail_xi: float
    sev_tail_sigma: float
    count_form: int  # 0: the mixed Poisson; else a CNT_* code (claim_count)
    count_mean: float
    count_size: float
    count_zero: float  # P(no claims) of a zero-modified count, -1 if not modified
    general: bool  # the mixture's body or tail is of another family (general_annual_cost)
    body_family: int  # SEV_* code of the mixture's body
    body_a: float
    body_b: float
    body_loc: float
    tail_xi: float  # the tail's generalised Pareto excess over tail_scale
    tail_sigma: float
    static_roster: bool  # frequency_severity on a fixed, uniform roster (MODEL_FIELDS)


class MemberYear(NamedTuple):
    """A slot's year, as :func:`member_year` draws it (fields as documented there)."""

    z: float
    tenure: float
    leaves: bool
    joiner: bool
    death: bool
    excluded: bool
    months: float
    zj: float
    risk: float
    risk_j: float
    demo: float
    demo_j: float
    x: float
    x_j: float
    class_z: float  # the occupant's latent class normal (read only with cost_persistence)
    cost_z: float  # the occupant's latent body normal (its body normal this year)
    cost_z_j: float  # the joiner's body normal
    class_u_j: float  # the joiner's class uniform (its class normal: class_normal of it)
    mu: float  # the occupant's expected-cost multiplier (true risk); ``risk`` is its score
    mu_j: float  # the joiner's
    score_e: float  # the occupant's risk-score noise normal
    score_e_j: float  # the joiner's


class SlotState(NamedTuple):
    """What a slot carries from one year to the next: about next year's occupant."""

    is_new: bool  # a new member (the stationary population in year 0, an entrant after)
    z: float  # latent log risk
    tenure: float  # years of tenure
    class_z: float  # latent cost-class normal (cost_persistence)
    cost_z: float  # latent body normal (cost_persistence)
    frailty_z: float  # latent claim-frailty normal (frequency_severity with cost_persistence)
    score_e: float  # the risk score's noise normal (risk_score_accuracy < 1)
    payer_only: bool  # the provider does not know the member (drawn at entry, for the stay)
    provider_only: bool  # the payer does not attribute the member (likewise)


@njit(cache=True, nogil=True, inline="always")
def start_state() -> SlotState:
    """A slot's state before its first year: a new member."""
    return SlotState(True, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, False)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def innovation(rho: float) -> float:
    """``sqrt(1 - rho^2)``: the weight of the new normal in an AR(1) step of correlation ``rho``
    (and of the independent part of a normal correlated ``rho`` with another)."""
    return math.sqrt(max(1.0 - rho * rho, 0.0))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def member_model(p: Any) -> MemberModel:
    """The :class:`MemberModel` of one parameter record (a ``MODEL_DTYPE`` record)."""
    rsig = p.risk_sigma
    rho = p.risk_rho
    loading = p.score_loading
    ssig = rsig * loading
    # A negative demographic signal means no benchmark uses demographic scores: skip their exp.
    # The demographic model sees a share of the risk score's signal.
    dsig = p.demographic_signal * ssig
    retain = p.no_care_retention
    payer_only = p.payer_only_share
    provider_only = p.provider_only_share
    # Computed before the call: numba cannot build a call whose arguments hold control flow.
    attribution_on = retain < 1.0 or payer_only > 0.0 or provider_only > 0.0
    turnover = p.turnover
    rep = p.replacement
    death = p.death_rate / turnover if turnover > 0.0 else 0.0
    exit_end = (p.death_rate + p.attribution_loss_rate) / turnover if turnover > 0.0 else 0.0
    inv_rep = 1.0 / rep if rep > 0.0 else 0.0
    inv_norep = 1.0 / (1.0 - rep) if rep < 1.0 else 0.0
    persist = p.cost_persistence
    persist_on = (persist > 0.0) & (p.frequency_severity < 0.5)
    has_tail = p.tail_probability > 0.0
    payer_c = p.payer_only_correlation
    provider_c = p.provider_only_correlation
    # Without any attribution rule the draws are not made (attribution_draws): no status.
    roster_corr = attribution_on & ((payer_c != 0.0) | (provider_c != 0.0))
    log_tail_scale = vlog(p.tail_scale) if has_tail else 0.0
    log_tail_p = vlog(p.tail_probability) if has_tail else 0.0
    return MemberModel(
        int(p.members),
        int(p.member_offset),
        p.turnover,
        p.replacement,
        rsig,
        rho,
        innovation(rho),
        -0.5 * rsig * rsig,
        p.ageing_log,
        p.demographic_signal >= 0.0,
        dsig,
        -0.5 * dsig * dsig,
        p.entrant_shift,
        retain,
        payer_only,
        provider_only,
        attribution_on,
        p.care_management_z,
        p.care_management_from,
        1.0 - p.care_management_effect,
        p.zero_share,
        p.tail_probability,
        p.tail_scale,
        p.tail_inv_shape,
        p.body_mu,
        p.body_sigma,
        p.frequency_severity > 0.5,
        p.claims_per_year,
        p.claim_frailty,
        p.severity_mu,
        p.severity_sigma,
        p.episodic_share,
        death,
        exit_end,
        inv_rep,
        inv_norep,
        p.terminal_mean,
        p.terminal_sigma,
        p.entrant_cost_ratio,
        persist,
        innovation(persist),
        persist_on,
        p.cost_zero_z,
        p.cost_tail_z,
        log_tail_scale,
        log_tail_p,
        loading,
        innovation(loading),
        ssig,
        -0.5 * ssig * ssig,
        roster_corr,
        payer_c,
        innovation(payer_c),
        p.payer_only_z,
        provider_c,
        innovation(provider_c),
        p.provider_only_z,
        p.claim_frailty_gamma > 0.5,
        int(p.severity_family),
        p.severity_a,
        p.severity_b,
        p.severity_loc,
        int(p.severity_body_family),
        p.severity_body_cdf,
        p.severity_threshold,
        p.severity_tail_probability,
        p.severity_tail_xi,
        p.severity_tail_sigma,
        int(p.claim_count_form),
        p.claim_count_mean,
        p.claim_count_size,
        p.claim_zero_probability,
        p.cost_general > 0.5,
        int(p.body_family),
        p.body_a,
        p.body_b,
        p.body_loc,
        p.tail_xi,
        p.tail_sigma,
        p.static_roster > 0.5,
    )


@njit(cache=True, nogil=True, inline="always")
def words(
    at: tuple[np.uint32, np.uint32, np.uint32, np.uint32, np.uint32], stream: int
) -> tuple[np.uint32, np.uint32, np.uint32, np.uint32]:
    """The four Philox words of one stream of a member-year: ``at`` is ``(k0, k1, trial, year,
    member)``, the key and the counter's first three words, and ``stream`` the fourth."""
    k0, k1, ctr, yy, mm = at
    return philox4x32_10(ctr, yy, mm, np.uint32(stream), k0, k1)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def annual_cost(m: MemberModel, u: float, z: float) -> float:
    """Annualised cost of a risk-1 member at index 1 from one class uniform and one normal.

    ``u`` selects the class; inside the tail ``(u - zero) / tail_p`` is again uniform on (0, 1)
    and drives the Pareto variate by inversion. Both branches are computed and one is selected,
    so that the lane loop vectorizes (a division by a zero ``tail_p`` is never selected).
    """
    v = (u - m.zero) / m.tail_p
    tail = m.tail_scale * vexp(-m.tail_inv_shape * vlog(v))
    body = vexp(m.body_mu + m.body_sigma * z)
    cost = tail if u < m.zero + m.tail_p else body
    return 0.0 if u < m.zero else cost


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def annual_cost_branchy(m: MemberModel, u: float, z: float) -> float:
    """:func:`annual_cost` computing only the class it returns, bit for bit (the same
    expressions), for scalar loops."""
    if u < m.zero:
        return 0.0
    if u < m.zero + m.tail_p:
        v = (u - m.zero) / m.tail_p
        return m.tail_scale * vexp(-m.tail_inv_shape * vlog(v))
    return vexp(m.body_mu + m.body_sigma * z)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def class_normal(m: MemberModel, u: float, branchy: bool = False) -> float:
    """The latent class normal of a joiner, whose cost :func:`annual_cost` drew from the class
    uniform ``u``: ``u`` rearranged so that the classes are in order of cost (zero, body, tail;
    the tail's Pareto position descending), then the normal quantile, so that
    :func:`latent_cost` of it is the joiner's cost and it carries on from there next year.

    :func:`annual_cost` reads ``u`` as zero on ``[0, zero)``, tail on ``[zero, zero + tail_p)``
    (cost falling as ``u`` rises) and body above. The rearrangement keeps the zero segment, moves
    the tail segment to the top reversed, ``p = 1 - (u - zero)``, and the body down by
    ``tail_p``: measure-preserving, so the normal is standard. In the tail ``1 - p = u - zero``
    is exact (``u`` and ``zero`` within a factor of 2), which the quantile reads there.
    ``branchy`` (a constant): the quantile by :func:`ndtri_branchy`, for scalar loops.
    """
    d = u - m.zero
    tail = (u >= m.zero) & (u < m.zero + m.tail_p)
    p = 1.0 - d if tail else (u - m.tail_p if u >= m.zero else u)
    if branchy:
        return ndtri_branchy(p, d if tail else 1.0 - p)
    return ndtri(p, d if tail else 1.0 - p)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def latent_cost(m: MemberModel, class_z: float, cost_z: float) -> float:
    """Annualised cost of a risk-1 member at index 1 under persistence: the class and the Pareto
    position from the latent class normal, the body from the latent body normal.

    Zero below ``zero_z``, tail at or above ``tail_z`` with the Pareto variate from the uniform
    ``P(N > class_z) / tail_p`` (the tail's upper end costs most), body between, lognormal with
    normal ``cost_z``; a standard normal ``class_z`` gives the classes their probabilities and
    the tail its Pareto law, so the cost has the distribution of :func:`annual_cost`. One
    ``vexp`` of the log cost of the class (the tail's ``log h - (log P(N > c) - log tail_p) /
    alpha``).
    """
    log_tail = m.log_tail_scale - m.tail_inv_shape * (log_norm_sf(class_z) - m.log_tail_p)
    log_body = m.body_mu + m.body_sigma * cost_z
    cost = vexp(log_tail if class_z >= m.tail_z else log_body)
    return 0.0 if class_z < m.zero_z else cost


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def latent_cost_branchy(m: MemberModel, class_z: float, cost_z: float) -> float:
    """:func:`latent_cost` computing only the class it returns, bit for bit (the same
    expressions; :func:`~simsettle._kernels.elementary.log_norm_sf_branchy`), for scalar
    loops."""
    if class_z < m.zero_z:
        return 0.0
    if class_z >= m.tail_z:
        return vexp(
            m.log_tail_scale - m.tail_inv_shape * (log_norm_sf_branchy(class_z) - m.log_tail_p)
        )
    return vexp(m.body_mu + m.body_sigma * cost_z)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def ar1(m: MemberModel, fresh: bool, previous: float, new: float) -> float:
    """A latent cost normal this year: a new member's own draw ``new``, else an AR(1) step from
    ``previous`` with correlation ``cost_persistence`` (``new`` itself at persistence 0)."""
    return new if fresh else m.persist * previous + m.persist_innov * new


@njit(cache=True, nogil=True)
def compound_cost(
    m: MemberModel,
    at: tuple[np.uint32, np.uint32, np.uint32, np.uint32, np.uint32],
    stream: int,
    frailty_prev: float,
    fresh: bool,
    contagion: float,
) -> tuple[float, float]:
    """Annual cost of a risk-1 member at index 1 as a frequency-severity compound, and the
    member's latent frailty normal.

    Claims ~ Poisson(lam x F x G) with a frailty F of mean 1, lognormal of log-sd ``frailty``
    or, with ``gamma_frailty``, gamma of variance ``frailty^2`` (a negative-binomial count;
    :func:`gamma_mean_one` on ``STREAM_FRAILTY``) (so the count is over-dispersed) and
    ``contagion`` G, the trial-year's factor common to
    every member (:func:`contagion_factor`; 1 without contagion); severities are
    lognormal(``sev_mu``, ``sev_sigma``), or of another family (``sev_family``,
    :func:`severity_total`). Block 0
    of the member-year's claim stream gives the frailty's normal, the count's uniform and the
    first lognormal severity; each further block (stream + 2k) gives four more. The count is
    found by inversion, or by a normal approximation when its mean exceeds 400. The frailty's
    normal is the new one for a ``fresh`` member, else AR(1) from ``frailty_prev`` with
    correlation ``cost_persistence`` (the same normal at persistence 0).
    """
    w0, w1, w2, w3 = words(at, stream)
    new, first = box_muller(u32_to_unit(w0), u32_to_unit(w1))
    e = frailty_normal(m, new, frailty_prev, fresh)
    if m.count_form != 0:
        # A binomial or zero-modified count: by inversion, from the same uniform.
        n = claim_count(m, u32_to_unit(w2), contagion)
    else:
        if m.gamma_frailty:
            # A gamma frailty of variance frailty^2: a negative-binomial count (no persistence).
            side = STREAM_FRAILTY + 256 * (stream - STREAM_CLAIMS)
            f = gamma_mean_one(at, side, m.frailty * m.frailty)
            mu = m.lam * contagion * f
        else:
            mu = claim_mean(m, e, contagion)
        n = normal_count(mu, w2, w3) if mu > 400.0 else poisson_count(mu, u32_to_unit(w2))
    if n == 0:
        return 0.0, e
    code = m.sev_family
    if code != SEV_LOGNORMAL:
        return severity_total(m, at, stream, n), e
    total = first_severity(m, first)
    remaining = n - 1
    block = 1
    while remaining > 0:
        total, remaining = severity_block(m, words(at, stream + 2 * block), total, remaining)
        block += 1
    return total, e


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def frailty_normal(m: MemberModel, new: float, frailty_prev: float, fresh: bool) -> float:
    """The member-year's claim-frailty normal: the new one ``new`` (the first normal of claim
    block 0) for a ``fresh`` member, else AR(1) from ``frailty_prev`` with correlation
    ``cost_persistence`` (:func:`compound_cost`)."""
    return new if fresh else m.persist * frailty_prev + m.persist_innov * new


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def claim_mean(m: MemberModel, e: float, contagion: float) -> float:
    """The Poisson mean of a member-year's claims with a lognormal frailty of normal ``e``:
    ``lam x contagion x F``, F of mean 1 (:func:`compound_cost`)."""
    frailty = m.frailty
    return m.lam * contagion * vexp(frailty * e - 0.5 * frailty * frailty)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def poisson_count(mu: float, u: float) -> int:
    """A Poisson count of mean ``mu`` (at most 400) from the uniform ``u``, by inversion from 0
    (:func:`compound_cost`): the walk up the distribution function from ``P(0) = e^-mu``, one
    term ``p_n = p_(n-1) mu / n`` at a time, while ``u`` is above it (at most ``mu + 60
    sqrt(mu) + 60`` steps: rounding can leave the sum just below ``u``)."""
    p = vexp(-mu)
    f = p
    n = 0
    limit = poisson_limit(mu)
    while u > f and n < limit:
        n += 1
        p, f = poisson_step(mu, n, p, f)
    return n


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def poisson_limit(mu: float) -> float:
    """The most steps of :func:`poisson_count`'s walk for the mean ``mu``."""
    return mu + 60.0 * math.sqrt(mu) + 60.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def poisson_step(mu: float, n: float, p: float, f: float) -> tuple[float, float]:
    """One step of :func:`poisson_count`'s walk to the count ``n``: its probability ``p mu /
    n`` from the last one's ``p``, and the distribution function ``f`` plus it."""
    p = p * (mu / n)
    return p, f + p


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def normal_count(mu: float, w2: np.uint32, w3: np.uint32) -> int:
    """A Poisson count of mean ``mu`` above 400 by its normal approximation, from the normal of
    words 2 and 3 of claim block 0 (:func:`compound_cost`)."""
    z, _ = box_muller(u32_to_unit(w2), u32_to_unit(w3))
    return max(0, math.floor(mu + math.sqrt(mu) * z + 0.5))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def first_severity(m: MemberModel, g: float) -> float:
    """The first lognormal claim of a member-year, from the second normal ``g`` of claim block 0
    (:func:`compound_cost`)."""
    return vexp(m.sev_mu + m.sev_sigma * g)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def severity_block(
    m: MemberModel,
    v: tuple[np.uint32, np.uint32, np.uint32, np.uint32],
    total: float,
    remaining: int,
) -> tuple[float, int]:
    """Up to four more lognormal claims from the words ``v`` of a further claim block (its two
    Box-Muller pairs, in order), added one by one to ``total`` while ``remaining`` claims are
    left; returns the new total and the claims still left (:func:`compound_cost`). Branch-free:
    a claim not drawn leaves the total as it was."""
    a, b = box_muller(u32_to_unit(v[0]), u32_to_unit(v[1]))
    c, d = box_muller(u32_to_unit(v[2]), u32_to_unit(v[3]))
    ta = vexp(m.sev_mu + m.sev_sigma * a)
    tb = vexp(m.sev_mu + m.sev_sigma * b)
    tc = vexp(m.sev_mu + m.sev_sigma * c)
    td = vexp(m.sev_mu + m.sev_sigma * d)
    total = total + ta if remaining > 0 else total
    total = total + tb if remaining > 1 else total
    total = total + tc if remaining > 2 else total
    total = total + td if remaining > 3 else total
    return total, max(remaining - 4, 0)


@njit(cache=True, nogil=True, error_model="numpy")
def claim_count(m: MemberModel, u: float, contagion: float) -> int:
    """A member-year's claim count of a ``CNT_*`` form from the uniform ``u``: the base count
    (Poisson, negative binomial or binomial of mean ``count_mean`` times the ``contagion``
    factor; (a, b, 0) class, ``p_k = (a + b / k) p_(k-1)``) found by inversion, or its
    zero-modified form: none if ``u < count_zero``, else the base count conditioned on one
    claim at least, from ``u`` rescaled to (0, 1). A variance above 400 takes a normal
    approximation with the base count's mean and variance where the count is then near normal
    (skewness below 0.05: the Poisson and the binomial; the negative binomial, whose skewness
    tends to ``2 / sqrt(r)``, only of size above 400), and so does a ``p_0`` below ``e^-700``,
    where the walk cannot start. A binomial whose probability the contagion takes to 1 or more
    has every trial claim."""
    kind = m.count_form
    size = m.count_size
    mu = m.count_mean * contagion
    if kind == CNT_BINOMIAL and mu >= size:
        return int(size)
    if kind == CNT_POISSON:
        a = 0.0
        b = mu
        log_p0 = -mu
        var = mu
    elif kind == CNT_NEGATIVE_BINOMIAL:
        beta = mu / size
        a = beta / (1.0 + beta)
        b = (size - 1.0) * a
        log_p0 = -size * vlog(1.0 + beta)
        var = mu * (1.0 + beta)
    else:
        q = mu / size
        a = -q / (1.0 - q)
        b = (size + 1.0) * q / (1.0 - q)
        log_p0 = size * vlog(1.0 - q)
        var = mu * (1.0 - q)
    zero = m.count_zero
    n = 0
    p0 = vexp(log_p0)
    p = p0
    if zero >= 0.0:
        if u < zero:
            return 0
        u = (u - zero) / (1.0 - zero)
        n = 1
        p = (a + b) * p0 / (1.0 - p0)  # P(N = 1 | N > 0)
    top = size if kind == CNT_BINOMIAL else mu + 60.0 * math.sqrt(var) + 60.0
    normal = var > 400.0 and (kind != CNT_NEGATIVE_BINOMIAL or size > 400.0)
    if normal or log_p0 < -700.0:
        z = ndtri(u, 1.0 - u)
        return min(max(n, math.floor(mu + math.sqrt(var) * z + 0.5)), int(top))
    f = p
    while u > f and n < top:  # rounding can leave f just below u
        n += 1
        p *= a + b / n
        f += p
    return n


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def neg_log_survival(u: float, s: float) -> float:
    """``-log(s)`` for ``s = 1 - u`` as rounded, accurate for small ``u`` too: the correction
    ``((s - 1) + u) / s`` undoes the rounding of ``s`` (Goldberg's ``log1p``)."""
    return ((s - 1.0) + u) / s - vlog(s)


@njit(cache=True, nogil=True, error_model="numpy")
def severity_quantile(code: int, a: float, b: float, loc: float, u: float, s: float) -> float:
    """The claim severity at probability ``u`` (``s = 1 - u``, which the upper tail reads) of
    the family ``code`` (a ``SEV_*`` code of :mod:`~simsettle._kernels.records`, parameters
    ``a``, ``b``, ``loc`` as listed there): lognormal ``exp(a + b ndtri(u))``, weibull ``b
    (-log s)^a``, loglogistic ``b (u / s)^a``, else generalised Pareto ``loc + b (s^-a - 1) /
    a`` (``loc - b log s`` at ``a`` 0, by its series near 0)."""
    if code == SEV_LOGNORMAL:
        return vexp(a + b * ndtri(u, s))
    if code == SEV_WEIBULL:
        return b * vexp(a * vlog(neg_log_survival(u, s)))
    if code == SEV_LOGLOGISTIC:
        return b * vexp(a * (vlog(u) - vlog(s)))
    big = neg_log_survival(u, s)
    x = a * big
    g = big * (1.0 + x * (0.5 + x / 6.0)) if abs(x) < 1e-4 else (vexp(x) - 1.0) / a
    return loc + b * g


@njit(cache=True, nogil=True, error_model="numpy")
def claim_severity(m: MemberModel, u: float) -> float:
    """A claim's severity at probability ``u`` (a claim block's uniform): the family's quantile,
    or a splice's: the tail's generalised Pareto excess over the threshold where ``s = 1 - u``
    is below the tail probability (its own survival ``s / p``), else the body's quantile at
    ``u / (1 - p)`` of its probability below the threshold."""
    s = 1.0 - u
    if m.sev_family != SEV_SPLICED:
        return severity_quantile(m.sev_family, m.sev_a, m.sev_b, m.sev_loc, u, s)
    if s < m.sev_tail_p:
        st = s / m.sev_tail_p
        return severity_quantile(
            SEV_GPD, m.sev_tail_xi, m.sev_tail_sigma, m.sev_threshold, 1.0 - st, st
        )
    ub = u / (1.0 - m.sev_tail_p) * m.sev_body_cdf
    return severity_quantile(m.sev_body, m.sev_a, m.sev_b, m.sev_loc, ub, 1.0 - ub)


@njit(cache=True, nogil=True, error_model="numpy")
def body_quantile(m: MemberModel, z: float) -> float:
    """A body member-year's cost of the mixture's body family at the standard normal ``z``
    (the body normal, fresh or latent): the family's quantile at ``P(N <= z)``, each side's
    probability from :func:`~simsettle._kernels.elementary.log_norm_sf` so that both are
    accurate (a lognormal: ``exp(mu + sigma z)``; gamma and inverse Gaussian by
    :mod:`~simsettle._kernels.quantiles`). No C library function: the same bits on a GPU."""
    code = m.body_family
    if code == SEV_LOGNORMAL:
        return vexp(m.body_a + m.body_b * z)
    u = vexp(log_norm_sf(-z))
    s = vexp(log_norm_sf(z))
    if code == SEV_GAMMA:
        return m.body_b / m.body_a * gamma_quantile(m.body_a, u, s)
    if code == SEV_INVERSE_GAUSSIAN:
        return m.body_a * inverse_gaussian_quantile(m.body_b / m.body_a, u, s)
    return severity_quantile(code, m.body_a, m.body_b, m.body_loc, u, s)


@njit(cache=True, nogil=True, error_model="numpy")
def tail_quantile(m: MemberModel, s: float) -> float:
    """A tail member-year's cost at survival ``s`` within the tail: ``tail_scale`` plus the
    generalised Pareto excess's quantile (the Pareto tail is ``xi = 1 / alpha``, ``sigma =
    tail_scale / alpha``)."""
    st = min(s, 1.0)
    return severity_quantile(SEV_GPD, m.tail_xi, m.tail_sigma, m.tail_scale, 1.0 - st, st)


@njit(cache=True, nogil=True, error_model="numpy")
def general_annual_cost(m: MemberModel, u: float, z: float) -> float:
    """:func:`annual_cost` for another body family or a gpd tail: the same class uniform
    ``u`` (zero, then the tail with survival ``(u - zero) / tail_p``, then the body) and body
    normal ``z``, each class's cost by its family's quantile. Scalar, with branches: the
    kernels call it outside the vectorised lane loop (``MemberModel.general``)."""
    if u < m.zero:
        return 0.0
    if u < m.zero + m.tail_p:
        return tail_quantile(m, (u - m.zero) / m.tail_p)
    return body_quantile(m, z)


@njit(cache=True, nogil=True, error_model="numpy")
def general_latent_cost(m: MemberModel, class_z: float, cost_z: float) -> float:
    """:func:`latent_cost` for another body family or a gpd tail: the class from the latent
    class normal (the tail's survival ``P(N > class_z) / tail_p``), the body from the latent
    body normal, each by its family's quantile."""
    if class_z < m.zero_z:
        return 0.0
    if class_z >= m.tail_z:
        return tail_quantile(m, vexp(log_norm_sf(class_z) - m.log_tail_p))
    return body_quantile(m, cost_z)


@njit(cache=True, nogil=True, error_model="numpy")
def general_costs(
    m: MemberModel,
    a: tuple[np.uint32, np.uint32, np.uint32, np.uint32],
    b: tuple[np.uint32, np.uint32, np.uint32, np.uint32],
    fresh: bool,
    class_prev: float,
    cost_z: float,
    persistent: bool,
) -> tuple[float, float]:
    """The occupant's and the joiner's annual costs of :func:`member_year` (``x``, ``x_j``)
    again, for another body family or a gpd tail, from the same words: ``a`` and ``b`` of the
    slot-year's member and turnover calls, whether the occupant is new, its latent class normal
    of last year and its latent body normal this year (``MemberYear.cost_z``; persistence
    only). The kernels call it where ``MemberModel.general``, after the lane loop."""
    ej, nj = box_muller(u32_to_unit(b[2]), u32_to_unit(b[3]))
    if persistent:
        x = general_latent_cost(m, ar1(m, fresh, class_prev, ej), cost_z)
    else:
        _, n = box_muller(u32_to_unit(a[2]), u32_to_unit(a[3]))
        x = general_annual_cost(m, u32_to_unit(a[1]), n)
    return x, general_annual_cost(m, u32_to_unit(b[1]), nj)


@njit(cache=True, nogil=True, error_model="numpy")
def severity_total(
    m: MemberModel,
    at: tuple[np.uint32, np.uint32, np.uint32, np.uint32, np.uint32],
    stream: int,
    n: int,
) -> float:
    """The total severity of a member-year's ``n`` (> 0) claims of a family other than the
    lognormal (which :func:`compound_cost` draws from its normals).

    Gamma and inverse Gaussian claims are closed under sums: the total of ``n`` is one draw,
    gamma of shape ``n a`` (:func:`gamma_mean_one` on ``STREAM_SEVERITY``, the joiner's 256
    further) or ``IG(n mu, n^2 lambda)`` (Michael, Schucany and Haas: the normal of words 0 and
    1 and the uniform of word 2 of claim block 1, with the root taken in its stable form).
    The others are added claim by claim, claim ``j`` at the uniform of word ``j % 4`` of claim
    block ``1 + j // 4`` (stream + 2 x block), by :func:`claim_severity`.
    """
    code = m.sev_family
    if code == SEV_GAMMA:
        shape = n * m.sev_a
        side = 256 * (stream - STREAM_CLAIMS)
        return n * m.sev_b * gamma_mean_one(at, STREAM_SEVERITY + side, 1.0 / shape)
    if code == SEV_INVERSE_GAUSSIAN:
        v0, v1, v2, _ = words(at, stream + 2)
        z, _ = box_muller(u32_to_unit(v0), u32_to_unit(v1))
        mean = n * m.sev_a
        shape = n * n * m.sev_b
        r = mean * z * z / (2.0 * shape)
        x = mean / (1.0 + r + math.sqrt(r * (r + 2.0)))
        return x if u32_to_unit(v2) * (mean + x) <= mean else mean * mean / x
    total = 0.0
    remaining = n
    block = 1
    while remaining > 0:
        v0, v1, v2, v3 = words(at, stream + 2 * block)
        for w in (v0, v1, v2, v3):
            if remaining > 0:
                total += claim_severity(m, u32_to_unit(w))
                remaining -= 1
        block += 1
    return total


#: Attempts of the gamma sampler before it gives up (each accepts with probability > 0.95).
GAMMA_ATTEMPTS = 64


@njit(cache=True, nogil=True, error_model="numpy")
def gamma_mean_one(
    at: tuple[np.uint32, np.uint32, np.uint32, np.uint32, np.uint32], stream: int, var: float
) -> float:
    """A gamma variate of mean 1 and variance ``var`` (1 for ``var`` 0) from the counters
    ``at`` (key, trial, year, member word) at streams ``stream + k``.

    Marsaglia and Tsang's method for shape ``a = 1 / var`` (for ``a < 1``: shape ``a + 1``
    times ``U^(1/a)``), one Philox call per attempt ``k``: two words make the normal, the third
    the acceptance uniform, the fourth of the first call the boost's uniform. After
    :data:`GAMMA_ATTEMPTS` rejections (probability below 0.05^64) the mean is returned.
    """
    if var <= 0.0:
        return 1.0
    a = 1.0 / var
    boost = 1.0
    if a < 1.0:
        _, _, _, w3 = words(at, stream)
        boost, a = gamma_boost(a, w3)
    d, c = gamma_constants(a)
    for k in range(GAMMA_ATTEMPTS):
        ok, dv = gamma_attempt(d, c, words(at, stream + k))
        if ok:
            return dv * boost * var
    return 1.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def gamma_boost(a: float, w3: np.uint32) -> tuple[float, float]:
    """For a shape ``a`` below 1: the boost ``U^(1/a)`` from the fourth word of the first
    attempt's call, and the shape ``a + 1`` that the attempts then draw (1 and ``a`` itself for
    ``a >= 1``; :func:`gamma_mean_one`)."""
    small = a < 1.0
    boost = vexp(vlog(u32_to_unit(w3)) / a) if small else 1.0
    return boost, (a + 1.0 if small else a)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def gamma_constants(a: float) -> tuple[float, float]:
    """Marsaglia and Tsang's ``d = a - 1/3`` and ``c = 1 / sqrt(9 d)`` for the shape ``a``."""
    d = a - 1.0 / 3.0
    return d, 1.0 / math.sqrt(9.0 * d)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def gamma_attempt(
    d: float, c: float, w: tuple[np.uint32, np.uint32, np.uint32, np.uint32]
) -> tuple[bool, float]:
    """One attempt of :func:`gamma_mean_one` from the words ``w`` of its Philox call: whether
    it is accepted, and then ``d v`` (the gamma variate of shape ``a``). Branch-free: the
    logarithm of a rejected ``v <= 0`` is computed and not read."""
    x, _ = box_muller(u32_to_unit(w[0]), u32_to_unit(w[1]))
    v = 1.0 + c * x
    positive = v > 0.0
    v = v * v * v
    ok = positive & (vlog(u32_to_unit(w[2])) < 0.5 * x * x + d - d * v + d * vlog(v))
    return ok, d * v


@njit(cache=True, nogil=True, error_model="numpy")
def contagion_factor(k0: np.uint32, k1: np.uint32, ctr: np.uint32, y: int, var: float) -> float:
    """The trial-year's claim contagion: a gamma variate of mean 1 and variance ``var`` (1 for
    ``var`` 0; :func:`gamma_mean_one` on the system member's ``STREAM_CONTAGION``), shared by
    every member's claim rate, so that the members' claim counts move together (a
    negative-binomial total for Poisson members)."""
    at = (k0, k1, ctr, np.uint32(y), np.uint32(SYSTEM_MEMBER))
    return gamma_mean_one(at, STREAM_CONTAGION, var)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def exposure_share(m: MemberModel, months: float, u: float) -> float:
    """The share of the year's annualised cost that a stay of ``months`` carries, from one
    uniform ``u``: 1 if ``u < episodic p`` (the year's episode falls in the stay), 0 if ``u <
    episodic`` (it falls outside), else ``p = months / 12`` (even accrual).

    ``E = p`` and ``E[share^2] = p^2 + episodic p (1 - p)``; with ``episodic = Var(X) / E[X^2]``
    of the annualised cost ``X`` the stay's cost ``X share`` has mean ``p E[X]`` and variance ``p
    Var(X)`` (:func:`simsettle.scenario.costs.episodic_share`). A full year (``p = 1``) gives 1
    whatever ``u``, so ``u`` may be anything there.
    """
    p = months / 12.0
    inside = 1.0 if u < m.episodic * p else 0.0
    return inside if u < m.episodic else p


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def leaves_in_year(m: MemberModel, u_leave: float) -> bool:
    """Whether the slot's occupant leaves during the year, from the uniform of the first word of
    its member call."""
    return u_leave < m.turnover


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def departure(m: MemberModel, u_leave: float) -> tuple[bool, bool, bool, bool]:
    """How the slot's occupant leaves, from the uniform of the first word of its member call.

    Returns ``(leaves, joiner, death, excluded)``. Given a departure, ``v = u_leave / turnover``
    is uniform on (0, 1): a joiner takes the slot if ``v < replacement``, and ``v`` rescaled
    within that part (``v / replacement``, or ``(v - replacement) / (1 - replacement)``) is
    uniform again and picks the mode: death in its first ``mortality / turnover``, loss of
    attribution in the next ``attribution_loss / turnover``, loss of eligibility or a move in
    the rest. So the mode is independent of whether the slot is refilled.
    """
    leaves = u_leave < m.turnover
    v = u_leave / m.turnover
    joiner = leaves & (v < m.replacement)
    w = v * m.inv_rep if joiner else (v - m.replacement) * m.inv_norep
    death = leaves & (w < m.death)
    excluded = leaves & (w >= m.death) & (w < m.exit_end)
    return leaves, joiner, death, excluded


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def joiner_risks(m: MemberModel, zj: float, hj: float) -> tuple[float, float, float]:
    """A joiner's expected-cost multiplier, risk score and demographic score (0 when not
    accumulated) from its latent log risk ``zj`` and its score's noise normal ``hj``, as
    :func:`member_year` computes the occupant's (a joiner has no tenure)."""
    mu_j = vexp(m.rsig * zj + m.risk_shift)
    w_j = m.loading * zj + m.loading_innov * hj
    risk_j = vexp(m.ssig * w_j + m.score_shift)
    demo_j = vexp(m.dsig * w_j + m.demo_shift) if m.demo_on else 0.0
    return mu_j, risk_j, demo_j


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def member_year(
    m: MemberModel,
    a: tuple[np.uint32, np.uint32, np.uint32, np.uint32],
    b: tuple[np.uint32, np.uint32, np.uint32, np.uint32],
    c: tuple[np.uint32, np.uint32, np.uint32, np.uint32],
    state: SlotState,
    later: bool,
    persistent: bool,
    mixture: bool,
    with_joiner: bool,
) -> MemberYear:
    """A slot's year: its occupant, and the joiner who takes the slot if the occupant leaves.

    ``a`` are the words of the slot-year's ``STREAM_MEMBER`` call (leave decision, cost class and
    a normal pair for risk and cost), ``b`` those of its ``STREAM_TURNOVER`` call (leave month,
    the joiner's class and normal pair), used only where the occupant leaves: a caller may pass
    any words there for an occupant that stays, unless ``persistent``; ``c`` those of its
    ``STREAM_SCORE`` call (the noise of the occupant's and the joiner's risk scores: its words
    2 and 3 are free), read only where ``m.loading < 1`` (any words otherwise). ``state`` is
    the slot's :class:`SlotState` from last year (its frailty is :func:`compound_cost`'s);
    ``later`` is False in the first simulated year, whose roster is the stationary population
    (no entrant shift or entrant cost there). ``persistent`` is ``cost_persistence > 0`` with
    the mixture (a compile-time constant in the CPU's kernel, which is compiled for each value).
    ``mixture`` False (another compile-time constant: ``frequency_severity``, whose
    :func:`compound_cost` replaces them) skips the mixture costs ``x`` and ``x_j`` (0 then).

    Returns the :class:`MemberYear` ``(z, tenure, leaves, joiner, death, excluded, months, zj,
    risk, risk_j, demo, demo_j, x, x_j, class_z, cost_z, cost_z_j, class_u_j, mu, mu_j,
    score_e, score_e_j)``: the occupant's latent log risk and years of tenure, whether it
    leaves, whether a joiner then takes the slot, whether the occupant dies or loses
    attribution (:func:`departure`), the occupant's months this year (the joiner has the rest),
    the joiner's latent log risk, both risk scores and demographic scores (0 when not
    accumulated), both annualised mixture costs at risk 1 and index 1, the occupant's latent
    cost normals (:func:`ar1`), the joiner's body normal and class uniform, both expected-cost
    multipliers and both risk scores' noise normals.

    The expected-cost multiplier (the member's true risk, which its cost follows) is ``mu =
    exp(rsig z - rsig^2 / 2) (1 + ageing)^tenure``. The risk score the program uses is the
    calibrated prediction of it from a signal ``w = loading z + sqrt(1 - loading^2) e``, with
    ``e`` the score's own noise (AR(1) with the risk's correlation, so that the score persists
    as the risk does): ``E[mu | w] = exp(ssig w - ssig^2 / 2)`` times the ageing factor, with
    ``ssig = rsig x loading``; it regresses to the mean and explains ``loading^2`` of the
    variance of log ``mu`` (``risk_score_accuracy``). At ``loading = 1`` the score is ``mu``
    itself, bit for bit. The demographic score reads the same signal. Care management selects
    on ``z``, the true risk.

    Without persistence the occupant's cost is :func:`annual_cost` of its class
    uniform and body normal; with it, :func:`latent_cost` of its latent normals, the class
    normal's innovation being the first normal of the turnover call (which otherwise only a
    leaver's joiner reads): for a leaver that one is the joiner's, and :func:`leaver_cost`
    draws the occupant's cost again from another. The two Box-Muller pairs come first: in this
    order the CPU's lane loop runs about 5% faster than occupant first, then joiner.

    ``with_joiner`` (a constant): whether the joiner's expected-cost multiplier, scores and cost
    (``mu_j``, ``risk_j``, ``demo_j``, ``x_j``) are computed; False leaves them 0 for a caller
    that computes them only where a joiner takes the slot (:func:`joiner_risks` of ``zj`` and
    ``score_e_j``, :func:`annual_cost` of ``class_u_j`` and ``cost_z_j``: the same values).
    """
    e, n = box_muller(u32_to_unit(a[2]), u32_to_unit(a[3]))
    ej, nj = box_muller(u32_to_unit(b[2]), u32_to_unit(b[3]))
    h, hj = box_muller(u32_to_unit(c[0]), u32_to_unit(c[1])) if m.loading < 1.0 else (0.0, 0.0)
    is_new = state.is_new
    z = e + (m.entrant if later else 0.0) if is_new else m.rho * state.z + m.innov * e
    score_e = h if is_new else m.rho * state.score_e + m.innov * h
    tenure = 0.0 if is_new else state.tenure + 1.0
    cost_z = ar1(m, is_new, state.cost_z, n) if persistent else n
    class_z = ar1(m, is_new, state.class_z, ej) if persistent else 0.0
    leaves, joiner, death, excluded = departure(m, u32_to_unit(a[0]))
    zj = ej + m.entrant
    age = tenure * m.ageing
    months = 12.0 * u32_to_unit(b[0]) if leaves else 12.0
    mu = vexp(m.rsig * z + m.risk_shift + age)
    w = m.loading * z + m.loading_innov * score_e
    risk = vexp(m.ssig * w + m.score_shift + age)
    demo = vexp(m.dsig * w + m.demo_shift + age) if m.demo_on else 0.0
    if not mixture:
        x = 0.0
    elif persistent:
        x = latent_cost(m, class_z, cost_z)
    else:
        x = annual_cost(m, u32_to_unit(a[1]), n)
    u_j = u32_to_unit(b[1])
    if with_joiner:
        mu_j, risk_j, demo_j = joiner_risks(m, zj, hj)
        x_j = annual_cost(m, u_j, nj) if mixture else 0.0
    else:
        mu_j = risk_j = demo_j = x_j = 0.0
    return MemberYear(
        z,
        tenure,
        leaves,
        joiner,
        death,
        excluded,
        months,
        zj,
        risk,
        risk_j,
        demo,
        demo_j,
        x,
        x_j,
        class_z,
        cost_z,
        nj,
        u_j,
        mu,
        mu_j,
        score_e,
        hj,
    )


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def leaver_normals(e2: np.uint32, e3: np.uint32) -> tuple[float, float]:
    """The normal pair of a leaver's exposure call (its words 2 and 3): the first for a
    decedent's end-of-life episode (:func:`terminal_cost`), the second for the innovation of the
    occupant's class normal under persistence (:func:`leaver_cost`)."""
    return box_muller(u32_to_unit(e2), u32_to_unit(e3))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def terminal_cost(m: MemberModel, death: bool, g: float) -> float:
    """The end-of-life episode a decedent adds to its stay's cost, at risk 1 and index 1: 0 for
    a survivor; for a decedent lognormal with mean ``terminal_mean`` (``(decedent_cost_ratio -
    1/2) x`` the annual mean, so that with the stay's ordinary cost over a mean half year a
    decedent's expected cost is ``decedent_cost_ratio`` times a full year's) and log-sd
    ``terminal_sigma``, from the normal ``g`` (:func:`leaver_normals`)."""
    s = m.terminal_sigma
    t = m.terminal_mean * vexp(s * g - 0.5 * s * s)
    return t if death else 0.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def leaver_cost(
    m: MemberModel, fresh: bool, class_prev: float, cost_z: float, g: float, branchy: bool = False
) -> tuple[float, float]:
    """A leaving occupant's latent class normal and cost under persistence, with ``g`` (the
    second of :func:`leaver_normals`) as the class normal's innovation: the turnover call's
    normal that :func:`member_year` uses for a member who stays is the joiner's here.
    ``branchy`` (a constant): the cost by :func:`latent_cost_branchy`, for scalar loops."""
    class_z = ar1(m, fresh, class_prev, g)
    if branchy:
        return class_z, latent_cost_branchy(m, class_z, cost_z)
    return class_z, latent_cost(m, class_z, cost_z)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def successor(
    s: MemberYear,
    class_z: float,
    class_z_j: float,
    frailty_z: float,
    frailty_z_j: float,
    status: tuple[bool, bool],
    status_j: tuple[bool, bool],
) -> SlotState:
    """Next year's occupant of the slot: the joiner, a new entrant (vacancy), or the same member.

    ``s`` is the slot's year (:func:`member_year`), ``class_z`` the occupant's latent class
    normal (``s.class_z``, or :func:`leaver_cost`'s), ``class_z_j`` the joiner's
    (:func:`class_normal` of its class uniform) and the frailty normals those of
    :func:`compound_cost` (any value where they are not read: without a joiner, without
    persistence, without ``frequency_severity``); ``status`` and ``status_j`` the occupant's
    and the joiner's roster status ``(payer_only, provider_only)`` this year (:func:`roster`).
    Returns the :class:`SlotState` carried to next year (a new entrant's is replaced by its own
    draws then).
    """
    j = s.joiner
    return SlotState(
        s.leaves != j,
        s.zj if j else s.z,
        0.0 if j else s.tenure,
        class_z_j if j else class_z,
        s.cost_z_j if j else s.cost_z,
        frailty_z_j if j else frailty_z,
        s.score_e_j if j else s.score_e,
        status_j[0] if j else status[0],
        status_j[1] if j else status[1],
    )


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def attribution_draws(
    m: MemberModel, at: tuple[np.uint32, np.uint32, np.uint32, np.uint32, np.uint32], stream: int
) -> tuple[float, float, float]:
    """``(u_retain, u_payer, u_provider)`` of one member-year (``(0, 1, 1)``: prospective, every
    member known to both parties, when no attribution rule is on). ``u_retain`` is read every
    year, the other two only in a member's first year (:func:`roster`)."""
    if m.attribution_on:
        c0, c1, c2, _ = words(at, stream)
        return u32_to_unit(c0), u32_to_unit(c1), u32_to_unit(c2)
    return 0.0, 1.0, 1.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def roster(
    m: MemberModel,
    fresh: bool,
    carried: tuple[bool, bool],
    draws: tuple[float, float, float],
    z: float,
    branchy: bool = False,
) -> tuple[bool, bool]:
    """A member's roster status ``(payer_only, provider_only)`` this year: ``carried`` (its
    status since it arrived) unless ``fresh``, a member in its first year, whose status is drawn
    from its :func:`attribution_draws` and its latent log risk ``z`` of that year.

    Each status is a latent normal above a threshold: ``c z + sqrt(1 - c^2) n > t``, with ``n =
    ndtri(1 - u)`` of the status's uniform ``u``, ``c`` the status's correlation with the log
    risk and ``t`` the normal quantile of one minus its share, so that the share of a standard
    normal population has the status, more of the costlier members when ``c > 0``. Without any
    correlation the test is ``u < share``, the same event without the quantile. ``branchy`` (a
    constant): the quantiles by :func:`ndtri_branchy`, for scalar loops.
    """
    _, u_payer, u_provider = draws
    if m.roster_corr and branchy:
        s_payer = m.payer_c * z + m.payer_innov * ndtri_branchy(1.0 - u_payer, u_payer)
        s_provider = m.provider_c * z + m.provider_innov * ndtri_branchy(
            1.0 - u_provider, u_provider
        )
        payer, provider = s_payer > m.payer_z, s_provider > m.provider_z
    elif m.roster_corr:
        s_payer = m.payer_c * z + m.payer_innov * ndtri(1.0 - u_payer, u_payer)
        s_provider = m.provider_c * z + m.provider_innov * ndtri(1.0 - u_provider, u_provider)
        payer, provider = s_payer > m.payer_z, s_provider > m.provider_z
    else:
        payer, provider = u_payer < m.payer_only, u_provider < m.provider_only
    return (payer if fresh else carried[0]), (provider if fresh else carried[1])


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def in_settlement(
    m: MemberModel,
    valid: bool,
    excluded: bool,
    x: float,
    terminal: float,
    mu: float,
    z: float,
    share: float,
    index: float,
    programme: bool,
    u_retain: float,
    status: tuple[bool, bool],
) -> tuple[bool, bool, float, float]:
    """Whether a member's stay is attributed and care-managed, and its cost without and with
    care management.

    A member with no care stays attributed only if retained (``u_retain``, the first of its
    :func:`attribution_draws`); a provider-only member is outside the settlement; a payer-only
    one is unmanaged (``status``, its :func:`roster` status); one that ``excluded`` (lost
    attribution during the year) is outside the year's settlement, as MSSP drops a beneficiary
    who no longer meets assignment at reconciliation. The provider manages the members it knows
    whether or not the payer attributes them at the end.

    ``x`` is the annualised cost at risk 1 and index 1 and ``terminal`` a decedent's end-of-life
    episode (:func:`terminal_cost`), both times the practice's cost ratio and an entrant's
    ``entrant_cost_ratio``; ``mu`` is the member's expected-cost multiplier (its true risk, not
    its score); ``share`` is the stay's :func:`exposure_share` of ``x``; ``valid`` is False for
    a slot past the roster or a stay that does not exist (no joiner).
    """
    payer_only, provider_only = status
    attributed = valid & (not excluded) & (not provider_only) & ((x != 0.0) | (u_retain < m.retain))
    managed = valid & programme & (z > m.cm_z) & (not payer_only)
    full = mu * index * (x * share + terminal)
    cost = full * m.cm_keep if managed else full
    return attributed, managed, full, cost


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def slot_sums(
    occupant: tuple[bool, bool, float, float, float, float, float],
    joiner: tuple[bool, bool, float, float, float, float, float],
) -> tuple[float, float, float, float, float, float, float]:
    """A slot-year's contribution to the member fields, the occupant's and the joiner's part
    added together first, in the order of ``records.LANE_FIELDS``: spend, member months, risk
    months, demographic risk months, members, care-management months, avoided cost.

    Each stay is ``(attributed, managed, full, cost, months, risk, demo)``. Care-management
    months count whether or not the payer attributes the member; the avoided cost only where it
    falls in the settlement.
    """
    attributed, managed, full, cost, months, risk, demo = occupant
    attributed_j, managed_j, full_j, cost_j, months_j, risk_j, demo_j = joiner
    return (
        (cost if attributed else 0.0) + (cost_j if attributed_j else 0.0),
        (months if attributed else 0.0) + (months_j if attributed_j else 0.0),
        (risk * months if attributed else 0.0) + (risk_j * months_j if attributed_j else 0.0),
        (demo * months if attributed else 0.0) + (demo_j * months_j if attributed_j else 0.0),
        (1.0 if attributed else 0.0) + (1.0 if attributed_j else 0.0),
        (months if managed else 0.0) + (months_j if managed_j else 0.0),
        (full - cost if attributed & managed else 0.0)
        + (full_j - cost_j if attributed_j & managed_j else 0.0),
    )


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def practice_detail(
    acc: F8,
    y: int,
    first: int,
    n_practices: int,
    p: int,
    attachments: F8,
    stay: tuple[bool, bool, float, float, float, float, float],
) -> None:
    """Add one stay to its practice's fields beyond spend and member months, for a run whose
    practices join or leave (the rules restate every performance year for its participant
    list from them): risk months, demographic risk months, members, care-management months,
    avoided cost and the excess over each attachment, at ``first + f x n_practices + p`` for
    field ``f`` (2 up; see ``records``). ``stay`` is ``(attributed, managed, avoided, cost,
    months, risk, demo)`` without ``full``: ``avoided`` is ``full - cost`` where the stay is
    attributed and managed, else 0; ``demo`` 0 where not accumulated. As :func:`slot_sums`.
    """
    attributed, managed, avoided, cost, months, risk, demo = stay
    at = first + p
    if attributed:
        acc[y, at + 2 * n_practices] += risk * months
        acc[y, at + 3 * n_practices] += demo * months
        acc[y, at + 4 * n_practices] += 1.0
        acc[y, at + 6 * n_practices] += avoided
        for k in range(attachments.shape[0]):
            acc[y, at + (N_LANE_FIELDS + k) * n_practices] += max(cost - attachments[k], 0.0)
    if managed:
        acc[y, at + 5 * n_practices] += months


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def slot_year(
    m: MemberModel,
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    y: int,
    mm: np.uint32,
    state: SlotState,
    index: float,
    ratio: float,
    contagion: float,
) -> tuple[
    tuple[bool, bool, float, float, float, float, float],
    bool,
    tuple[bool, bool, float, float, float, float, float],
    SlotState,
    int,
]:
    """One slot-year, from its draws to its stays, for the layouts that run one slot at a time
    (a GPU thread; the member stays of calibration's synthetic claims).

    ``state`` is the slot's :class:`SlotState` carried from last year (:func:`start_state`
    before the first), ``index`` the year's cost index, ``ratio`` the slot's practice cost
    ratio (1 without practices) and ``contagion`` the year's claim contagion (1: none).
    Returns the occupant's stay, whether a joiner took the slot, the
    joiner's stay (each stay ``(attributed, managed, full, cost, months, risk, demo)``; the
    joiner's is not ``attributed`` where there is none), the state carried to next year, and how
    the occupant left (``DEPART_*`` of
    :mod:`~simsettle._kernels.records`). The leaver's words and the claims are drawn only where
    they are used; the CPU's lane loop draws them for every lane
    instead (a branch costs a vector loop more than a Philox call), with the same results.
    """
    yy = np.uint32(y)
    at = (k0, k1, ctr, yy, mm)
    later = y > 0  # year 0's roster is the stationary population
    programme = y >= m.cm_from
    a = words(at, STREAM_MEMBER)
    # The leaver's words only where the occupant leaves (a branch costs a GPU thread less than a
    # Philox call); member_year and exposure_share read them only there.
    leaving = leaves_in_year(m, u32_to_unit(a[0]))
    persistent = m.persist_on
    b = words(at, STREAM_TURNOVER) if leaving | persistent else a
    e = words(at, STREAM_EXPOSURE) if leaving else a
    c = words(at, STREAM_SCORE) if m.loading < 1.0 else a  # an exact score draws no noise
    s = member_year(m, a, b, c, state, later, persistent, True, True)
    joiner, death, excluded, months, x, x_j = s.joiner, s.death, s.excluded, s.months, s.x, s.x_j
    g_terminal, g_class = leaver_normals(e[2], e[3])
    class_z = s.class_z
    if m.general:
        x, x_j = general_costs(m, a, b, state.is_new, state.class_z, s.cost_z, persistent)
    if leaving & persistent:
        class_z, x = leaver_cost(m, state.is_new, state.class_z, s.cost_z, g_class)
        if m.general:
            x = general_latent_cost(m, class_z, s.cost_z)
    frailty_z = frailty_z_j = 0.0
    if m.frequency_severity:
        x, frailty_z = compound_cost(m, at, STREAM_CLAIMS, state.frailty_z, state.is_new, contagion)
        if joiner:
            x_j, frailty_z_j = compound_cost(m, at, STREAM_CLAIMS + 1, 0.0, True, contagion)
    class_z_j = class_normal(m, s.class_u_j) if joiner & persistent else 0.0
    months_j = 12.0 - months
    load = ratio * (m.entrant_cost if state.is_new & later else 1.0)
    u_draws = attribution_draws(m, at, STREAM_ATTRIBUTION)
    v_draws = attribution_draws(m, at, STREAM_JOINER_ATTRIBUTION)
    carried = (state.payer_only, state.provider_only)
    status = roster(m, state.is_new, carried, u_draws, s.z)
    status_j = roster(m, True, carried, v_draws, s.zj)
    attributed, managed, full, cost = in_settlement(
        m,
        True,
        excluded,
        x * load,
        terminal_cost(m, death, g_terminal) * load,
        s.mu,
        s.z,
        exposure_share(m, months, u32_to_unit(e[0])),
        index,
        programme,
        u_draws[0],
        status,
    )
    attributed_j, managed_j, full_j, cost_j = in_settlement(
        m,
        joiner,
        False,
        x_j * ratio * m.entrant_cost,
        0.0,
        s.mu_j,
        s.zj,
        exposure_share(m, months_j, u32_to_unit(e[1])),
        index,
        programme,
        v_draws[0],
        status_j,
    )
    mode = DEPART_DEATH if death else (DEPART_ATTRIBUTION if excluded else DEPART_ELIGIBILITY)
    return (
        (attributed, managed, full, cost, months, s.risk, s.demo),
        joiner,
        (attributed_j, managed_j, full_j, cost_j, months_j, s.risk_j, s.demo_j),
        successor(s, class_z, class_z_j, frailty_z, frailty_z_j, status, status_j),
        mode if s.leaves else DEPART_NONE,
    )


@njit(cache=True, nogil=True)
def system_years(k0: np.uint32, k1: np.uint32, trial: int, p: Any, acc: F8) -> None:
    """Trial-level draws of every year: cost indices, shocks and the quality score.

    The provider's annual log growth is ``mu + sd g1``; the reference population's is
    ``mu_ref + sd_ref (corr g1 + sqrt(1 - corr^2) g2)`` with (g1, g2) the two normals of one
    Philox call, whose third word decides a systemic shock (a one-year level shift of all
    indices). The national population's is ``mu_nat + sd_nat (corr_nat g1 + sqrt(1 - corr_nat^2)
    g3)`` with g3 from a call of its own. The quality score's logit is AR(1) around its mean,
    from another call whose other normal is the year's completion-factor error. ``p`` is the
    parameter record; ``acc`` (years x fields) receives the trial-level fields.
    """
    ctr = np.uint32(trial)
    system = np.uint32(SYSTEM_MEMBER)
    corr, nat_corr, q_rho = p.trend_correlation, p.national_correlation, p.quality_rho
    corr_c, nat_c, q_innov = innovation(corr), innovation(nat_corr), innovation(q_rho)
    index = 1.0
    ref = 1.0
    nat = 1.0
    q_x = 0.0
    for y in range(acc.shape[0]):
        w0, w1, w2, _ = philox4x32_10(ctr, np.uint32(y), system, np.uint32(STREAM_TREND), k0, k1)
        shock = 0.0
        if y > 0:
            g1, g2 = box_muller(u32_to_unit(w0), u32_to_unit(w1))
            index *= vexp(p.trend_mu + p.trend_sd * g1)
            ref *= vexp(p.reference_trend_mu + p.reference_trend_sd * (corr * g1 + corr_c * g2))
            n0, n1, _, _ = philox4x32_10(
                ctr, np.uint32(y), system, np.uint32(STREAM_NATIONAL), k0, k1
            )
            g3, _ = box_muller(u32_to_unit(n0), u32_to_unit(n1))
            nat *= vexp(p.national_trend_mu + p.national_trend_sd * (nat_corr * g1 + nat_c * g3))
            if u32_to_unit(w2) < p.shock_probability:
                shock = p.shock_log
        # A shock moves this year's level only; the next year returns to the trend path.
        acc[y, F_TREND_INDEX] = index * vexp(shock) if shock != 0.0 else index
        acc[y, F_REF_INDEX] = ref * vexp(shock) if shock != 0.0 else ref
        acc[y, F_NAT_INDEX] = nat * vexp(shock) if shock != 0.0 else nat
        v0, v1, _, _ = philox4x32_10(ctr, np.uint32(y), system, np.uint32(STREAM_QUALITY), k0, k1)
        e, c = box_muller(u32_to_unit(v0), u32_to_unit(v1))
        q_x = e if y == 0 else q_rho * q_x + q_innov * e
        acc[y, F_QUALITY] = 1.0 / (1.0 + vexp(-(p.quality_mu + p.quality_sd * q_x)))
        acc[y, F_COMPLETION_Z] = c
        acc[y, F_CONTAGION] = contagion_factor(k0, k1, ctr, y, p.claim_contagion)


# Before any function here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(system_years)
