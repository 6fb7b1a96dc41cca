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
a second for the leaver's year (leave month, the joiner's class and normal pair), and a few per
trial-year for the trend and quality.

Members run ``LANES`` slots at a time in loops that LLVM vectorizes (AVX2, AVX-512): Philox,
Box-Muller with a polynomial sine and cosine, and ``exp``/``log`` of
:mod:`~simsettle._kernels.elementary` instead of the C library's opaque calls. About 30 ns per
member-year on one core of this project's machine, against 118 ns for the member-at-a-time loop
with the C library's functions (``python benchmarks/run.py``).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from simsettle._kernels import cacheguard as _cacheguard
from simsettle._kernels.elementary import vexp, vlog
from simsettle._kernels.records import (
    F_COMPLETION_Z,
    F_NAT_INDEX,
    F_QUALITY,
    F_REF_INDEX,
    F_TREND_INDEX,
    LANE_FIELDS,
    LANES,
    LF_CM_AVOIDED,
    LF_CM_MONTHS,
    LF_DEMO,
    LF_MEMBERS,
    LF_MONTHS,
    LF_RISK,
    LF_SPEND,
    N_BASE_FIELDS,
    N_LANE_FIELDS,
    N_ROWS,
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
    R_COST,
    R_COST_J,
    R_DEMO,
    R_DEMO_J,
    R_JOINER,
    R_MONTHS,
    R_NEW,
    R_PRACTICE,
    R_RATIO,
    R_RISK,
    R_RISK_J,
    R_TENURE,
    R_X,
    R_X_J,
    R_Z,
    R_ZJ,
    R_ZO,
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

__all__ = ["simulate_trials", "simulate_trials_parallel", "work_size"]

F8 = npt.NDArray[np.float64]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
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
    and drives the Pareto variate by inversion. Both branches are computed and one is selected,
    so that the lane loop vectorizes (a division by a zero ``tail_p`` is never selected).
    """
    v = (u - zero) / tail_p
    tail = tail_scale * vexp(-tail_inv_shape * vlog(v))
    body = vexp(body_mu + body_sigma * z)
    cost = tail if u < zero + tail_p else body
    return 0.0 if u < zero else cost


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
    mu = lam * vexp(frailty * e - 0.5 * frailty * frailty)
    if mu > 400.0:
        z, _ = box_muller(u32_to_unit(w2), u32_to_unit(w3))
        n = max(0, math.floor(mu + math.sqrt(mu) * z + 0.5))
    else:
        u = u32_to_unit(w2)
        p = vexp(-mu)
        f = p
        n = 0
        limit = mu + 60.0 * math.sqrt(mu) + 60.0  # rounding can leave f just below u
        while u > f and n < limit:
            n += 1
            p *= mu / n
            f += p
    if n == 0:
        return 0.0
    total = vexp(sev_mu + sev_sigma * first)
    remaining = n - 1
    block = 1
    while remaining > 0:
        v0, v1, v2, v3 = philox4x32_10(ctr, yy, mm, np.uint32(stream + 2 * block), k0, k1)
        a, b = box_muller(u32_to_unit(v0), u32_to_unit(v1))
        c, d = box_muller(u32_to_unit(v2), u32_to_unit(v3))
        for g in (a, b, c, d):
            if remaining > 0:
                total += vexp(sev_mu + sev_sigma * g)
                remaining -= 1
        block += 1
    return total


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
            index *= vexp(trend_mu + trend_sd * g1)
            ref *= vexp(ref_mu + ref_sd * (corr * g1 + corr_c * g2))
            n0, n1, _, _ = philox4x32_10(
                ctr, np.uint32(y), system, np.uint32(STREAM_NATIONAL), k0, k1
            )
            g3, _ = box_muller(u32_to_unit(n0), u32_to_unit(n1))
            nat *= vexp(nat_mu + nat_sd * (nat_corr * g1 + nat_c * g3))
            if u32_to_unit(w2) < shock_p:
                shock = shock_log
        # A shock moves this year's level only; the next year returns to the trend path.
        acc[y, F_TREND_INDEX] = index * vexp(shock) if shock != 0.0 else index
        acc[y, F_REF_INDEX] = ref * vexp(shock) if shock != 0.0 else ref
        acc[y, F_NAT_INDEX] = nat * vexp(shock) if shock != 0.0 else nat
        v0, v1, _, _ = philox4x32_10(ctr, np.uint32(y), system, np.uint32(STREAM_QUALITY), k0, k1)
        e, c = box_muller(u32_to_unit(v0), u32_to_unit(v1))
        q_x = e if y == 0 else q_rho * q_x + q_innov * e
        acc[y, F_QUALITY] = 1.0 / (1.0 + vexp(-(q_mu + q_sd * q_x)))
        acc[y, F_COMPLETION_Z] = c


@njit(cache=True, nogil=True, error_model="numpy")
def _simulate_trial(
    k0: np.uint32,
    k1: np.uint32,
    trial: int,
    params: F8,
    attachments: F8,
    practices: F8,
    work: F8,
    acc: F8,
) -> None:
    """Accumulate one trial's aggregates into ``acc`` (years x fields, zero on entry).

    Members are simulated ``LANES`` slots at a time, year by year. Each step is a loop over the
    lanes with no branch and no library call, which LLVM turns into vector instructions: the two
    Philox calls, both Box-Muller pairs, the risk and cost draws, attribution and the sums.
    Member fields are summed per lane (lane ``i`` adds slots ``i``, ``i + LANES``, ...) and the
    lanes are added in order at the end of the trial, so the order of every sum is fixed by the
    code, not by the vector width, chunk or thread. ``work`` is the lane block's scratch
    (``work_size`` float64), written before it is read.

    Every parameter is read into a local first: numba cannot prove that ``acc`` and ``work`` do
    not alias ``params``, so a read inside a loop would be repeated for every member.
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
    retain = params[P_NOCARE_RETAIN]
    payer_only = params[P_PAYER_ONLY]
    provider_only = params[P_PROVIDER_ONLY]
    cm_keep = 1.0 - params[P_CM_EFFECT]
    attribution_on = retain < 1.0 or payer_only > 0.0 or provider_only > 0.0
    zero = params[P_ZERO]
    tail_p = params[P_TAIL_P]
    tail_scale = params[P_TAIL_SCALE]
    tail_inv_shape = params[P_TAIL_INV_SHAPE]
    body_mu = params[P_BODY_MU]
    body_sigma = params[P_BODY_SIGMA]
    frequency_severity = params[P_FS_ON] > 0.5
    lam = params[P_FS_LAMBDA]
    frailty = params[P_FS_FRAILTY]
    sev_mu = params[P_FS_SEV_MU]
    sev_sigma = params[P_FS_SEV_SIGMA]
    offset = int(params[P_MEMBER_OFFSET])
    n_att = attachments.shape[0]
    n_practices = practices.shape[0]
    first_practice = N_BASE_FIELDS + n_att
    n_lane_fields = N_LANE_FIELDS + n_att
    ctr = np.uint32(trial)
    L = LANES

    _system_years(k0, k1, trial, params, acc)
    sums = (
        N_ROWS * L
    )  # lane sums of year y, field f: work[sums + (y * n_lane_fields + f) * L + lane]
    for i in range(sums, sums + n_years * n_lane_fields * L):
        work[i] = 0.0

    for base in range(0, n_members, L):
        n_valid = min(L, n_members - base)
        for i in range(N_ROWS * L):
            work[i] = 0.0  # no stale value, however unused, may be a slow subnormal or a NaN
        for lane in range(L):
            work[R_NEW * L + lane] = 1.0
            work[R_RATIO * L + lane] = 1.0
            work[R_PRACTICE * L + lane] = -1.0
        if n_practices > 0:
            # Slots are assigned to practices in order: practice k holds slots below bound k.
            p = 0
            for lane in range(n_valid):
                while p + 1 < n_practices and base + lane >= practices[p, 0]:
                    p += 1
                work[R_PRACTICE * L + lane] = p
                work[R_RATIO * L + lane] = practices[p, 1]
        for y in range(n_years):
            yy = np.uint32(y)
            entrant_y = entrant if y > 0 else 0.0  # year 0's roster is the stationary population
            index = acc[y, F_TREND_INDEX]
            programme = y >= cm_from
            # Draws and member state. The leaver's words are drawn for every lane (cheaper than
            # a branch) and used only where the occupant leaves.
            for lane in range(L):
                mm = np.uint32(offset + base + lane)
                a0, a1, a2, a3 = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_MEMBER), k0, k1)
                b0, b1, b2, b3 = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_TURNOVER), k0, k1)
                e, n = box_muller(u32_to_unit(a2), u32_to_unit(a3))
                ej, nj = box_muller(u32_to_unit(b2), u32_to_unit(b3))
                is_new = work[R_NEW * L + lane] > 0.5
                z = e + entrant_y if is_new else rho * work[R_Z * L + lane] + innov * e
                tenure = 0.0 if is_new else work[R_TENURE * L + lane] + 1.0
                u_leave = u32_to_unit(a0)
                leaves = u_leave < turnover
                # Given a departure, u_leave / turnover is uniform on (0, 1) again.
                joiner = leaves & (u_leave / turnover < replacement)
                zj = ej + entrant
                age = tenure * ageing
                work[R_ZO * L + lane] = z
                work[R_ZJ * L + lane] = zj
                work[R_MONTHS * L + lane] = 12.0 * u32_to_unit(b0) if leaves else 12.0
                work[R_JOINER * L + lane] = 1.0 if joiner else 0.0
                work[R_RISK * L + lane] = vexp(rsig * z + risk_shift + age)
                work[R_RISK_J * L + lane] = vexp(rsig * zj + risk_shift)
                work[R_DEMO * L + lane] = vexp(dsig * z + demo_shift + age) if demo_on else 0.0
                work[R_DEMO_J * L + lane] = vexp(dsig * zj + demo_shift) if demo_on else 0.0
                work[R_X * L + lane] = _annual_cost(
                    u32_to_unit(a1),
                    n,
                    zero,
                    tail_p,
                    tail_scale,
                    tail_inv_shape,
                    body_mu,
                    body_sigma,
                )
                work[R_X_J * L + lane] = _annual_cost(
                    u32_to_unit(b1),
                    nj,
                    zero,
                    tail_p,
                    tail_scale,
                    tail_inv_shape,
                    body_mu,
                    body_sigma,
                )
                # Next year's occupant: the joiner, a new entrant (vacancy), or the same member.
                work[R_Z * L + lane] = zj if joiner else z
                work[R_TENURE * L + lane] = 0.0 if joiner else tenure
                work[R_NEW * L + lane] = 1.0 if leaves != joiner else 0.0
            if frequency_severity:
                for lane in range(n_valid):
                    mm = np.uint32(offset + base + lane)
                    work[R_X * L + lane] = _compound_cost(
                        k0, k1, ctr, yy, mm, STREAM_CLAIMS, lam, frailty, sev_mu, sev_sigma
                    )
                    if work[R_JOINER * L + lane] > 0.5:
                        work[R_X_J * L + lane] = _compound_cost(
                            k0, k1, ctr, yy, mm, STREAM_CLAIMS + 1, lam, frailty, sev_mu, sev_sigma
                        )
            # Attribution, care management and the lane sums.
            o = sums + y * n_lane_fields * L
            for lane in range(L):
                mm = np.uint32(offset + base + lane)
                u_retain, u_payer, u_provider = 0.0, 1.0, 1.0  # prospective: all known to both
                v_retain, v_payer, v_provider = 0.0, 1.0, 1.0
                if attribution_on:
                    c0, c1, c2, _ = philox4x32_10(
                        ctr, yy, mm, np.uint32(STREAM_ATTRIBUTION), k0, k1
                    )
                    d0, d1, d2, _ = philox4x32_10(
                        ctr, yy, mm, np.uint32(STREAM_JOINER_ATTRIBUTION), k0, k1
                    )
                    u_retain, u_payer, u_provider = (
                        u32_to_unit(c0),
                        u32_to_unit(c1),
                        u32_to_unit(c2),
                    )
                    v_retain, v_payer, v_provider = (
                        u32_to_unit(d0),
                        u32_to_unit(d1),
                        u32_to_unit(d2),
                    )
                valid = lane < n_valid
                ratio = work[R_RATIO * L + lane]
                months = work[R_MONTHS * L + lane]
                # The occupant. A member with no care stays attributed only if retained; a
                # provider-only member is outside the settlement; a payer-only one is unmanaged.
                x = work[R_X * L + lane] * ratio
                risk = work[R_RISK * L + lane]
                attributed = (
                    valid & (u_provider >= provider_only) & ((x != 0.0) | (u_retain < retain))
                )
                managed = (
                    valid & programme & (work[R_ZO * L + lane] > cm_z) & (u_payer >= payer_only)
                )
                full = risk * index * x * (months / 12.0)
                cost = risk * index * (x * cm_keep) * (months / 12.0) if managed else full
                # The joiner, for the rest of the year.
                valid_j = valid & (work[R_JOINER * L + lane] > 0.5)
                months_j = 12.0 - months
                xj = work[R_X_J * L + lane] * ratio
                risk_j = work[R_RISK_J * L + lane]
                attributed_j = (
                    valid_j & (v_provider >= provider_only) & ((xj != 0.0) | (v_retain < retain))
                )
                managed_j = (
                    valid_j & programme & (work[R_ZJ * L + lane] > cm_z) & (v_payer >= payer_only)
                )
                full_j = risk_j * index * xj * (months_j / 12.0)
                cost_j = (
                    risk_j * index * (xj * cm_keep) * (months_j / 12.0) if managed_j else full_j
                )
                work[R_COST * L + lane] = cost if attributed else -1.0
                work[R_COST_J * L + lane] = cost_j if attributed_j else -1.0
                work[o + LF_SPEND * L + lane] += (cost if attributed else 0.0) + (
                    cost_j if attributed_j else 0.0
                )
                work[o + LF_MONTHS * L + lane] += (months if attributed else 0.0) + (
                    months_j if attributed_j else 0.0
                )
                work[o + LF_RISK * L + lane] += (risk * months if attributed else 0.0) + (
                    risk_j * months_j if attributed_j else 0.0
                )
                work[o + LF_DEMO * L + lane] += (
                    work[R_DEMO * L + lane] * months if attributed else 0.0
                ) + (work[R_DEMO_J * L + lane] * months_j if attributed_j else 0.0)
                work[o + LF_MEMBERS * L + lane] += (1.0 if attributed else 0.0) + (
                    1.0 if attributed_j else 0.0
                )
                # Care-management months count whether or not the payer attributes the member;
                # the avoided cost only where it falls in the settlement.
                work[o + LF_CM_MONTHS * L + lane] += (months if managed else 0.0) + (
                    months_j if managed_j else 0.0
                )
                work[o + LF_CM_AVOIDED * L + lane] += (
                    full - cost if attributed & managed else 0.0
                ) + (full_j - cost_j if attributed_j & managed_j else 0.0)
            for k in range(n_att):
                point = attachments[k]
                ok = o + (N_LANE_FIELDS + k) * L
                for lane in range(L):
                    work[ok + lane] += max(work[R_COST * L + lane] - point, 0.0) + max(
                        work[R_COST_J * L + lane] - point, 0.0
                    )
            if n_practices > 0:
                for lane in range(n_valid):
                    p = int(work[R_PRACTICE * L + lane])
                    for c, mo in (
                        (work[R_COST * L + lane], work[R_MONTHS * L + lane]),
                        (work[R_COST_J * L + lane], 12.0 - work[R_MONTHS * L + lane]),
                    ):
                        if c >= 0.0:
                            acc[y, first_practice + p] += c
                            acc[y, first_practice + n_practices + p] += mo

    for y in range(n_years):
        for f in range(n_lane_fields):
            total = 0.0
            o = sums + (y * n_lane_fields + f) * L
            for lane in range(L):
                total += work[o + lane]
            acc[y, LANE_FIELDS[f] if f < N_LANE_FIELDS else N_BASE_FIELDS + f - N_LANE_FIELDS] += (
                total
            )


def work_size(n_years: int, n_attachments: int) -> int:
    """float64 elements of one lane block's scratch for :func:`simulate_trials`."""
    return (N_ROWS + n_years * (N_LANE_FIELDS + n_attachments)) * LANES


@njit(cache=True, nogil=True)
def simulate_trials(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: F8,
    attachments: F8,
    practices: F8,
    work: F8,
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
    work : float64[B, work_size(n_years, k)]
        Scratch, one row per worker (here only row 0 is used); contents need not be initialised.
    out : float64[n_trials, n_years, N_BASE_FIELDS + k + 2 P]
        Aggregates per trial and simulated year (base years first). Caller guarantees: C-contiguous
        and filled with zeros.
    """
    for i in range(out.shape[0]):
        _simulate_trial(k0, k1, trial0 + i, params, attachments, practices, work[0], out[i])


@njit(cache=True, nogil=True, parallel=True)
def simulate_trials_parallel(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: F8,
    attachments: F8,
    practices: F8,
    work: F8,
    out: F8,
) -> None:
    """:func:`simulate_trials` with the trials split into ``work.shape[0]`` contiguous parts run
    on numba threads, each with its own scratch row (identical results)."""
    n = out.shape[0]
    parts = work.shape[0]
    for b in prange(parts):
        for i in range(b * n // parts, (b + 1) * n // parts):
            _simulate_trial(k0, k1, trial0 + i, params, attachments, practices, work[b], out[i])


# Before any kernel here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(simulate_trials)
