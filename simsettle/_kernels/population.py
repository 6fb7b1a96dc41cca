"""Member-level simulation: every member of every year of every trial, aggregated per trial-year.

Model (parameters in :mod:`simsettle._kernels.records`, solved from the scenario by
:mod:`simsettle.models.population`):

* The roster has ``members`` slots. Each year the slot's occupant leaves with probability
  ``turnover`` at a uniform time in the year; with probability ``replacement`` a new member takes
  the slot for the rest of the year. A slot whose leaver was not replaced starts the next year with
  a new entrant.
* Log risk scores are AR(1) with correlation ``rho`` for continuing members and stationary draws
  for new members; the score ``exp(sigma z - sigma**2 / 2)`` has mean 1.
* A member-year's annualised cost is 0 with probability ``zero``, ``scale x Pareto`` with
  probability ``tail_p``, otherwise lognormal(``body_mu``, ``body_sigma``); it is multiplied by the
  risk score, the trial-year's systemic trend index and the share of the year enrolled.
* The systemic index is 1 in the first simulated year and grows by a lognormal factor per year,
  one draw per trial and year, shared by all members.

Random words come from Philox4x32-10 at counter ``(trial, year, member, stream)``: one call per
member-slot-year (leave decision, cost class and a Box-Muller pair for the risk and cost normals),
a second only in a year the occupant leaves (leave month, the joiner's class and normal pair), and
a few per trial-year for the trend and quality. Cost per member-year, serial, on this project's
2-core machine: about 40 ns, of which the normal pair (log, sqrt and the polynomial sine and
cosine of :func:`~simsettle._kernels.rng.cos_sin_2pi`) is 12 ns and the risk score's ``exp``
5 ns; the library ``sin``/``cos`` cost 19 ns a pair on random input alone.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from simsettle._kernels.records import (
    F_CM_AVOIDED,
    F_CM_MONTHS,
    F_COMPLETION_Z,
    F_DEMO_RISK_MONTHS,
    F_MEMBER_MONTHS,
    F_MEMBERS,
    F_NAT_INDEX,
    F_QUALITY,
    F_REF_INDEX,
    F_RISK_MONTHS,
    F_SPEND,
    F_TREND_INDEX,
    N_BASE_FIELDS,
    P_AGEING,
    P_BODY_MU,
    P_BODY_SIGMA,
    P_CM_EFFECT,
    P_CM_FROM,
    P_CM_Z,
    P_DEMO_LAMBDA,
    P_ENTRANT_SHIFT,
    P_FS_FRAILTY,
    P_FS_LAMBDA,
    P_FS_ON,
    P_FS_SEV_MU,
    P_FS_SEV_SIGMA,
    P_MEMBER_OFFSET,
    P_MEMBERS,
    P_NAT_CORR,
    P_NAT_TREND_MU,
    P_NAT_TREND_SD,
    P_NOCARE_RETAIN,
    P_PAYER_ONLY,
    P_PROVIDER_ONLY,
    P_QUAL_MU,
    P_QUAL_RHO,
    P_QUAL_SD,
    P_REF_TREND_MU,
    P_REF_TREND_SD,
    P_REPLACEMENT,
    P_RISK_RHO,
    P_RISK_SIGMA,
    P_SHOCK_LOG,
    P_SHOCK_P,
    P_TAIL_INV_SHAPE,
    P_TAIL_P,
    P_TAIL_SCALE,
    P_TREND_CORR,
    P_TREND_MU,
    P_TREND_SD,
    P_TURNOVER,
    P_ZERO,
    STREAM_ATTRIBUTION,
    STREAM_CLAIMS,
    STREAM_JOINER_ATTRIBUTION,
    STREAM_MEMBER,
    STREAM_NATIONAL,
    STREAM_QUALITY,
    STREAM_TREND,
    STREAM_TURNOVER,
    SYSTEM_MEMBER,
)
from simsettle._kernels.rng import box_muller, philox4x32_10, u32_to_unit

__all__ = ["simulate_trials", "simulate_trials_parallel"]

F8 = npt.NDArray[np.float64]


@njit(cache=True, nogil=True, inline="always")
def _annual_cost(
    u: float,
    z: float,
    zero: float,
    tail_p: float,
    tail_scale: float,
    tail_inv_shape: float,
    body_mu: float,
    body_sigma: float,
) -> float:
    """Annualised cost of a risk-1 member at index 1 from one class uniform and one normal.

    ``u`` selects the class; inside the tail ``(u - zero) / tail_p`` is again uniform on (0, 1)
    and drives the Pareto variate by inversion.
    """
    if u < zero:
        return 0.0
    if u < zero + tail_p:
        v = (u - zero) / tail_p
        return float(tail_scale * v ** (-tail_inv_shape))
    return math.exp(body_mu + body_sigma * z)


@njit(cache=True, nogil=True)
def _compound_cost(
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    yy: np.uint32,
    mm: np.uint32,
    stream: int,
    lam: float,
    frailty: float,
    sev_mu: float,
    sev_sigma: float,
) -> float:
    """Annual cost of a risk-1 member at index 1 as a frequency-severity compound.

    Claims ~ Poisson(lam x F) with a lognormal frailty F of mean 1 and log-sd ``frailty`` (so
    the count is over-dispersed); severities are lognormal(``sev_mu``, ``sev_sigma``). Block 0
    of the member-year's claim stream gives the frailty, the count's uniform and the first
    severity; each further block (stream + 2k) gives four more severities. The count is found
    by inversion, or by a normal approximation when its mean exceeds 400.
    """
    w0, w1, w2, w3 = philox4x32_10(ctr, yy, mm, np.uint32(stream), k0, k1)
    e, first = box_muller(u32_to_unit(w0), u32_to_unit(w1))
    mu = lam * math.exp(frailty * e - 0.5 * frailty * frailty)
    if mu > 400.0:
        z, _ = box_muller(u32_to_unit(w2), u32_to_unit(w3))
        n = max(0, math.floor(mu + math.sqrt(mu) * z + 0.5))
    else:
        u = u32_to_unit(w2)
        p = math.exp(-mu)
        f = p
        n = 0
        limit = mu + 60.0 * math.sqrt(mu) + 60.0  # rounding can leave f just below u
        while u > f and n < limit:
            n += 1
            p *= mu / n
            f += p
    if n == 0:
        return 0.0
    total = math.exp(sev_mu + sev_sigma * first)
    remaining = n - 1
    block = 1
    while remaining > 0:
        v0, v1, v2, v3 = philox4x32_10(ctr, yy, mm, np.uint32(stream + 2 * block), k0, k1)
        a, b = box_muller(u32_to_unit(v0), u32_to_unit(v1))
        c, d = box_muller(u32_to_unit(v2), u32_to_unit(v3))
        for g in (a, b, c, d):
            if remaining > 0:
                total += math.exp(sev_mu + sev_sigma * g)
                remaining -= 1
        block += 1
    return total


@njit(cache=True, nogil=True, inline="always")
def _draw_cost(
    cost: tuple[float, float, float, float, float, float],
    compound: tuple[float, float, float, float],
    frequency_severity: bool,
    u: float,
    normal: float,
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    yy: np.uint32,
    mm: np.uint32,
    claim_stream: int,
) -> float:
    """Annualised cost of a risk-1 member at index 1, by the scenario's cost model.

    ``cost`` holds the mixture's (zero, tail_p, tail_scale, tail_inv_shape, body_mu,
    body_sigma); ``compound`` the frequency-severity model's (lambda, frailty, sev_mu,
    sev_sigma).
    """
    if frequency_severity:
        lam, frailty, sev_mu, sev_sigma = compound
        return _compound_cost(k0, k1, ctr, yy, mm, claim_stream, lam, frailty, sev_mu, sev_sigma)
    zero, tail_p, tail_scale, tail_inv_shape, body_mu, body_sigma = cost
    return _annual_cost(u, normal, zero, tail_p, tail_scale, tail_inv_shape, body_mu, body_sigma)


@njit(cache=True, nogil=True, inline="always")
def _add_member(
    acc: F8,
    y: int,
    cost: float,
    months: float,
    risk: float,
    demo: float,
    managed: bool,
    avoided: float,
    attachments: F8,
) -> None:
    acc[y, F_SPEND] += cost
    acc[y, F_MEMBER_MONTHS] += months
    acc[y, F_RISK_MONTHS] += risk * months
    acc[y, F_DEMO_RISK_MONTHS] += demo * months
    acc[y, F_MEMBERS] += 1.0
    if managed:
        acc[y, F_CM_MONTHS] += months
        acc[y, F_CM_AVOIDED] += avoided
    for k in range(attachments.shape[0]):
        excess = cost - attachments[k]
        if excess > 0.0:
            acc[y, N_BASE_FIELDS + k] += excess


@njit(cache=True, nogil=True)
def _system_years(k0: np.uint32, k1: np.uint32, trial: int, params: F8, acc: F8) -> None:
    """Trial-level draws of every year: cost indices, shocks and the quality score.

    The provider's annual log growth is ``mu + sd g1``; the reference population's is
    ``mu_ref + sd_ref (corr g1 + sqrt(1 - corr^2) g2)`` with (g1, g2) the two normals of one
    Philox call, whose third word decides a systemic shock (a one-year level shift of all
    indices). The national population's is ``mu_nat + sd_nat (corr_nat g1 + sqrt(1 - corr_nat^2)
    g3)`` with g3 from a call of its own. The quality score's logit is AR(1) around its mean,
    from another call whose other normal is the year's completion-factor error.
    """
    ctr = np.uint32(trial)
    system = np.uint32(SYSTEM_MEMBER)
    trend_mu = params[P_TREND_MU]
    trend_sd = params[P_TREND_SD]
    ref_mu = params[P_REF_TREND_MU]
    ref_sd = params[P_REF_TREND_SD]
    corr = params[P_TREND_CORR]
    corr_c = math.sqrt(max(1.0 - corr * corr, 0.0))
    shock_p = params[P_SHOCK_P]
    shock_log = params[P_SHOCK_LOG]
    q_mu = params[P_QUAL_MU]
    q_sd = params[P_QUAL_SD]
    q_rho = params[P_QUAL_RHO]
    q_innov = math.sqrt(max(1.0 - q_rho * q_rho, 0.0))
    nat_mu = params[P_NAT_TREND_MU]
    nat_sd = params[P_NAT_TREND_SD]
    nat_corr = params[P_NAT_CORR]
    nat_c = math.sqrt(max(1.0 - nat_corr * nat_corr, 0.0))
    index = 1.0
    ref = 1.0
    nat = 1.0
    q_x = 0.0
    for y in range(acc.shape[0]):
        w0, w1, w2, _ = philox4x32_10(ctr, np.uint32(y), system, np.uint32(STREAM_TREND), k0, k1)
        shock = 0.0
        if y > 0:
            g1, g2 = box_muller(u32_to_unit(w0), u32_to_unit(w1))
            index *= math.exp(trend_mu + trend_sd * g1)
            ref *= math.exp(ref_mu + ref_sd * (corr * g1 + corr_c * g2))
            n0, n1, _, _ = philox4x32_10(
                ctr, np.uint32(y), system, np.uint32(STREAM_NATIONAL), k0, k1
            )
            g3, _ = box_muller(u32_to_unit(n0), u32_to_unit(n1))
            nat *= math.exp(nat_mu + nat_sd * (nat_corr * g1 + nat_c * g3))
            if u32_to_unit(w2) < shock_p:
                shock = shock_log
        # A shock moves this year's level only; the next year returns to the trend path.
        acc[y, F_TREND_INDEX] = index * math.exp(shock) if shock != 0.0 else index
        acc[y, F_REF_INDEX] = ref * math.exp(shock) if shock != 0.0 else ref
        acc[y, F_NAT_INDEX] = nat * math.exp(shock) if shock != 0.0 else nat
        v0, v1, _, _ = philox4x32_10(ctr, np.uint32(y), system, np.uint32(STREAM_QUALITY), k0, k1)
        e, c = box_muller(u32_to_unit(v0), u32_to_unit(v1))
        q_x = e if y == 0 else q_rho * q_x + q_innov * e
        acc[y, F_QUALITY] = 1.0 / (1.0 + math.exp(-(q_mu + q_sd * q_x)))
        acc[y, F_COMPLETION_Z] = c


@njit(cache=True, nogil=True, inline="always")
def _member_year(
    acc: F8,
    y: int,
    risk: float,
    demo: float,
    months: float,
    x: float,
    managed_by_risk: bool,
    attribution: tuple[float, float, float],
    rules: tuple[float, float, float, float],
    attachments: F8,
    practices: F8,
    practice: int,
) -> None:
    """Attribute one member's year and add it to the aggregates.

    ``x`` is the annualised cost at risk 1 and index 1; ``attribution`` three uniforms: whether a
    member with no care stays attributed (retrospective attribution drops them), whether the
    provider does not know the member (payer-only: no care management), and whether the payer
    does not attribute a member the provider manages (provider-only: outside the settlement).
    ``rules`` holds the shares they are compared with (retention, payer-only, provider-only) and
    care management's effect on cost. With participant practices, the member's practice
    (``practice`` >= 0) scales its cost by the practice's cost ratio and receives its spend and
    member months.
    """
    u_retain, u_payer, u_provider = attribution
    retain, payer_only, provider_only, cm_effect = rules
    attributed = u_provider >= provider_only
    if x == 0.0 and u_retain >= retain:
        attributed = False
    managed = managed_by_risk and u_payer >= payer_only
    index = acc[y, F_TREND_INDEX]
    if practice >= 0:
        x = x * practices[practice, 1]
    cost = risk * index * x * (months / 12.0)
    avoided = 0.0
    if managed:
        full = cost
        cost = risk * index * (x * (1.0 - cm_effect)) * (months / 12.0)
        avoided = full - cost
    if attributed:
        _add_member(acc, y, cost, months, risk, demo, managed, avoided, attachments)
        if practice >= 0:
            first = N_BASE_FIELDS + attachments.shape[0]
            acc[y, first + practice] += cost
            acc[y, first + practices.shape[0] + practice] += months
    elif managed:
        acc[y, F_CM_MONTHS] += months  # the programme's cost falls outside the settlement


@njit(cache=True, nogil=True, inline="always")
def _attribution_draws(
    on: bool,
    ctr: np.uint32,
    yy: np.uint32,
    mm: np.uint32,
    stream: int,
    k0: np.uint32,
    k1: np.uint32,
) -> tuple[float, float, float]:
    if not on:
        return 0.0, 1.0, 1.0  # prospective, every member known to both sides
    w0, w1, w2, _ = philox4x32_10(ctr, yy, mm, np.uint32(stream), k0, k1)
    return u32_to_unit(w0), u32_to_unit(w1), u32_to_unit(w2)


@njit(cache=True, nogil=True)
def _simulate_trial(
    k0: np.uint32,
    k1: np.uint32,
    trial: int,
    params: F8,
    attachments: F8,
    practices: F8,
    acc: F8,
) -> None:
    """Accumulate one trial's aggregates into ``acc`` (years x fields, zero on entry).

    Every parameter is read into a local first: ``acc`` is written in the member loop, and
    numba cannot prove that it does not alias ``params``, so a read inside the loop would be
    repeated for every member.
    """
    n_years = acc.shape[0]
    n_members = int(params[P_MEMBERS])
    turnover = params[P_TURNOVER]
    replacement = params[P_REPLACEMENT]
    rsig = params[P_RISK_SIGMA]
    rho = params[P_RISK_RHO]
    innov = math.sqrt(max(1.0 - rho * rho, 0.0))
    risk_shift = -0.5 * rsig * rsig
    ageing = params[P_AGEING]
    cm_z = params[P_CM_Z]
    cm_from = params[P_CM_FROM]
    # A negative demographic signal means no benchmark uses demographic scores: skip their exp.
    demo_on = params[P_DEMO_LAMBDA] >= 0.0
    dsig = params[P_DEMO_LAMBDA] * rsig
    demo_shift = -0.5 * dsig * dsig
    entrant = params[P_ENTRANT_SHIFT]
    rules = (
        params[P_NOCARE_RETAIN],
        params[P_PAYER_ONLY],
        params[P_PROVIDER_ONLY],
        params[P_CM_EFFECT],
    )
    attribution_on = rules[0] < 1.0 or rules[1] > 0.0 or rules[2] > 0.0
    cost = (
        params[P_ZERO],
        params[P_TAIL_P],
        params[P_TAIL_SCALE],
        params[P_TAIL_INV_SHAPE],
        params[P_BODY_MU],
        params[P_BODY_SIGMA],
    )
    compound = (
        params[P_FS_LAMBDA],
        params[P_FS_FRAILTY],
        params[P_FS_SEV_MU],
        params[P_FS_SEV_SIGMA],
    )
    frequency_severity = params[P_FS_ON] > 0.5
    ctr = np.uint32(trial)

    _system_years(k0, k1, trial, params, acc)

    practice = -1
    offset = int(params[P_MEMBER_OFFSET])
    for m in range(n_members):
        mm = np.uint32(offset + m)
        # Slots are assigned to practices in order: practice k holds slots below bound k.
        while practice + 1 < practices.shape[0] and (practice < 0 or m >= practices[practice, 0]):
            practice += 1
        z = 0.0
        tenure = 0.0
        new_member = True
        for y in range(n_years):
            yy = np.uint32(y)
            # Every member-year: leave decision, cost class and a normal pair (risk, cost).
            a0, a1, a2, a3 = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_MEMBER), k0, k1)
            e, n = box_muller(u32_to_unit(a2), u32_to_unit(a3))
            programme = y >= cm_from
            if new_member:
                # The first year's roster is the stationary population; later arrivals are
                # entrants.
                z = e + entrant if y > 0 else e
                tenure = 0.0
            else:
                z = rho * z + innov * e
                tenure += 1.0
            age = tenure * ageing
            u_leave = u32_to_unit(a0)
            leaves = u_leave < turnover
            # A leaver's year only: leave month, the joiner's cost class and normal pair.
            b0 = b1 = b2 = b3 = np.uint32(0)
            months = 12.0
            if leaves:
                b0, b1, b2, b3 = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_TURNOVER), k0, k1)
                months = 12.0 * u32_to_unit(b0)
            x = _draw_cost(
                cost,
                compound,
                frequency_severity,
                u32_to_unit(a1),
                n,
                k0,
                k1,
                ctr,
                yy,
                mm,
                STREAM_CLAIMS,
            )
            _member_year(
                acc,
                y,
                math.exp(rsig * z + risk_shift + age),
                math.exp(dsig * z + demo_shift + age) if demo_on else 0.0,
                months,
                x,
                programme and z > cm_z,
                _attribution_draws(attribution_on, ctr, yy, mm, STREAM_ATTRIBUTION, k0, k1),
                rules,
                attachments,
                practices,
                practice,
            )
            new_member = False
            if leaves:
                # Given a departure, u_leave / turnover is uniform on (0, 1) again.
                if u_leave / turnover < replacement:
                    ej, nj = box_muller(u32_to_unit(b2), u32_to_unit(b3))
                    z = ej + entrant
                    tenure = 0.0
                    xj = _draw_cost(
                        cost,
                        compound,
                        frequency_severity,
                        u32_to_unit(b1),
                        nj,
                        k0,
                        k1,
                        ctr,
                        yy,
                        mm,
                        STREAM_CLAIMS + 1,
                    )
                    _member_year(
                        acc,
                        y,
                        math.exp(rsig * z + risk_shift),
                        math.exp(dsig * z + demo_shift) if demo_on else 0.0,
                        12.0 - months,
                        xj,
                        programme and z > cm_z,
                        _attribution_draws(
                            attribution_on, ctr, yy, mm, STREAM_JOINER_ATTRIBUTION, k0, k1
                        ),
                        rules,
                        attachments,
                        practices,
                        practice,
                    )
                else:
                    new_member = True


@njit(cache=True, nogil=True)
def simulate_trials(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: F8,
    attachments: F8,
    practices: F8,
    out: F8,
) -> None:
    """Simulate trials ``trial0 .. trial0 + out.shape[0] - 1`` serially.

    Parameters
    ----------
    k0, k1 : uint32
        Philox key from the scenario seed.
    trial0 : int
        Global index of the first trial of this chunk (the counter word, not a chunk offset).
    params : float64[N_PARAMS]
        Model parameters, slots named in ``records``.
    attachments : float64[k]
        Stop-loss attachment points (USD per member-year); excess over each is accumulated.
    practices : float64[P, 2]
        Participant practices: the exclusive upper member slot of each (increasing) and its
        cost ratio; P = 0 for none. Their spend and member months follow the excess fields.
    out : float64[n_trials, n_years, N_BASE_FIELDS + k]
        Aggregates per trial and simulated year (base years first). Caller guarantees: C-contiguous
        and filled with zeros.
    """
    for i in range(out.shape[0]):
        _simulate_trial(k0, k1, trial0 + i, params, attachments, practices, out[i])


@njit(cache=True, nogil=True, parallel=True)
def simulate_trials_parallel(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: F8,
    attachments: F8,
    practices: F8,
    out: F8,
) -> None:
    """:func:`simulate_trials` with trials spread over numba threads (identical results)."""
    for i in prange(out.shape[0]):
        _simulate_trial(k0, k1, trial0 + i, params, attachments, practices, out[i])
