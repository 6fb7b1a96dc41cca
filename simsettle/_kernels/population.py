"""The CPU member kernel: every member of every year of every trial, aggregated per trial-year.

The member-year rule itself lives in :mod:`simsettle._kernels.member` (shared with the CUDA
kernel); this module lays it out for the CPU. Members run ``LANES`` slots at a time in loops that
LLVM vectorizes (AVX2, AVX-512): Philox, Box-Muller with a polynomial sine and cosine, and
``exp``/``log`` of :mod:`~simsettle._kernels.elementary` instead of the C library's opaque
calls. On one core of this project's AMD EPYC machines, about 61 ns per member-year for the
memoryless member, 80 ns with persistent cost (``cost.persistence``, the default) and 115 ns
with every mechanism of issue 14 on (``benchmarks/run.py``'s workload; a noisy score, rosters
correlated with risk, practice churn). Draws that only an arriving member needs (its roster
status) are made in a separate, out-of-line pass over the lanes that need them
(:func:`_arrivals`): in the trial's loops they cost every member-year, vectorised or not.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange

from simsettle._kernels import cacheguard as _cacheguard
from simsettle._kernels import member as M
from simsettle._kernels.elementary import vexp
from simsettle._kernels.records import (
    DEPART_NONE,
    F_CONTAGION,
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
    R_AVOIDED,
    R_AVOIDED_J,
    R_BODY_Z,
    R_CLAIM_F,
    R_CLAIM_G,
    R_CLAIM_LIMIT,
    R_CLAIM_MU,
    R_CLAIM_N,
    R_CLAIM_P,
    R_CLAIM_U,
    R_CLASS_PREV,
    R_CLASS_U_J,
    R_CLASS_Z,
    R_COST,
    R_COST_J,
    R_COST_Z,
    R_DEATH,
    R_DEMO,
    R_DEMO_J,
    R_EXCLUDED,
    R_FRAILTY_Z,
    R_FRESH,
    R_JOINER,
    R_LIST,
    R_LOAD,
    R_MANAGED,
    R_MANAGED_J,
    R_MONTHS,
    R_MU,
    R_MU_J,
    R_NEW,
    R_PAYER_J,
    R_PAYER_ONLY,
    R_PRACTICE,
    R_PROVIDER_J,
    R_PROVIDER_ONLY,
    R_RATIO,
    R_RETAIN,
    R_RETAIN_J,
    R_RISK,
    R_RISK_J,
    R_SCORE_E,
    R_SHARE,
    R_SHARE_J,
    R_TENURE,
    R_TERMINAL,
    R_X,
    R_X_J,
    R_Z,
    R_ZJ,
    R_ZO,
    SEV_GAMMA,
    SEV_LOGNORMAL,
    ST_ATTRIBUTED,
    ST_COST,
    ST_DEPARTURE,
    ST_ENTRY,
    ST_EXIT,
    ST_JOINER,
    ST_NEW,
    ST_PRESENT,
    ST_RISK,
    ST_SLOT,
    ST_YEAR,
    STREAM_ATTRIBUTION,
    STREAM_CLAIMS,
    STREAM_EXPOSURE,
    STREAM_JOINER_ATTRIBUTION,
    STREAM_MEMBER,
    STREAM_SCORE,
    STREAM_SEVERITY,
    STREAM_TURNOVER,
)
from simsettle._kernels.rng import box_muller, u32_to_unit

__all__ = [
    "compounds",
    "persists",
    "simulate_stays",
    "simulate_trials",
    "simulate_trials_compound",
    "simulate_trials_parallel",
    "simulate_trials_parallel_compound",
    "simulate_trials_parallel_persistent",
    "simulate_trials_persistent",
    "work_size",
]

F8 = npt.NDArray[np.float64]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lane_year(
    m: M.MemberModel,
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    yy: np.uint32,
    first: int,
    lane: int,
    later: bool,
    persistent: bool,
    compound: bool,
    work: F8,
) -> None:
    """One lane of the vector loop of a year's draws and member state: the member-year rule
    (:func:`~simsettle._kernels.member.member_year`) on the lane's state in ``work``, its
    results and next year's state written back. ``first`` is the lane block's first member
    counter word; ``persistent`` and ``compound`` are compile-time constants (see
    :func:`simulate_trials`)."""
    L = LANES
    at = (k0, k1, ctr, yy, np.uint32(first + lane))
    a = M.words(at, STREAM_MEMBER)
    b = M.words(at, STREAM_TURNOVER)
    c = M.words(at, STREAM_SCORE) if m.loading < 1.0 else a  # an exact score draws no noise
    is_new = work[R_NEW * L + lane] > 0.5
    state = M.SlotState(
        is_new,
        work[R_Z * L + lane],
        work[R_TENURE * L + lane],
        work[R_CLASS_Z * L + lane],
        work[R_COST_Z * L + lane],
        work[R_FRAILTY_Z * L + lane],
        work[R_SCORE_E * L + lane],
        work[R_PAYER_ONLY * L + lane] > 0.5,
        work[R_PROVIDER_ONLY * L + lane] > 0.5,
    )
    # The joiner's multiplier, scores and cost are left to the leavers' loop (few lanes have a
    # joiner): from R_ZJ, R_CLASS_U_J and the joiner's normals, which are next year's R_SCORE_E
    # and R_COST_Z where a joiner takes the slot. Under frequency_severity the mixture's costs
    # are not computed at all (the compound lanes give them).
    s = M.member_year(m, a, b, c, state, later, persistent, not compound, False)
    work[R_ZO * L + lane] = s.z
    work[R_ZJ * L + lane] = s.zj
    work[R_MONTHS * L + lane] = s.months
    work[R_JOINER * L + lane] = 1.0 if s.joiner else 0.0
    work[R_RISK * L + lane] = s.risk
    work[R_MU * L + lane] = s.mu
    work[R_DEMO * L + lane] = s.demo
    work[R_X * L + lane] = s.x
    work[R_SHARE * L + lane] = 1.0  # a full year; a leaver's below
    work[R_SHARE_J * L + lane] = 1.0
    # The occupant's cost scale: an entrant's ratio (the practice's is read below).
    work[R_LOAD * L + lane] = m.entrant_cost if is_new & later else 1.0
    work[R_DEATH * L + lane] = 1.0 if s.death else 0.0
    work[R_EXCLUDED * L + lane] = 1.0 if s.excluded else 0.0
    work[R_TERMINAL * L + lane] = 0.0
    work[R_FRESH * L + lane] = 1.0 if is_new else 0.0
    work[R_CLASS_U_J * L + lane] = s.class_u_j
    if persistent:
        # What the leavers' loop reads to draw a leaving occupant's cost again.
        work[R_CLASS_PREV * L + lane] = state.class_z
        work[R_BODY_Z * L + lane] = s.cost_z
    # A leaver's class normal and the frailty normals are filled in by the leavers' and the
    # claims loops, the roster status by the attribution loop.
    nxt = M.successor(s, s.class_z, 0.0, 0.0, 0.0, (False, False), (False, False))
    work[R_Z * L + lane] = nxt.z
    work[R_TENURE * L + lane] = nxt.tenure
    work[R_NEW * L + lane] = 1.0 if nxt.is_new else 0.0
    work[R_CLASS_Z * L + lane] = nxt.class_z
    work[R_COST_Z * L + lane] = nxt.cost_z
    work[R_SCORE_E * L + lane] = nxt.score_e


@njit(cache=True, nogil=True, error_model="numpy")
def _static_lanes(m: M.MemberModel, y: int, work: F8) -> None:
    """What :func:`_lane_year` writes for a year ``y`` of a static roster (``m.static_roster``:
    no turnover, no risk spread, no care management or attribution rule), without its draws,
    which cannot change a result there: every occupant stays the whole year, new in year 0
    only, with tenure ``y``; its expected-cost multiplier, risk score and demographic score are
    :func:`~simsettle._kernels.member.member_year`'s at zero latent risk and score noise, the
    same to the bit at any (``0 x z`` is a signed zero, which the shift and the ageing term
    absorb, and ``exp`` of either zero is 1). The latent risk ``R_ZO`` stays 0: it is read only
    by care management and the roster rules, both off. The occupant's cost ``R_X`` is the
    compound lanes'."""
    L = LANES
    fresh = 1.0 if y == 0 else 0.0
    for lane in range(L):
        work[R_MONTHS * L + lane] = 12.0
        work[R_JOINER * L + lane] = 0.0
        work[R_X * L + lane] = 0.0
        work[R_SHARE * L + lane] = 1.0
        work[R_SHARE_J * L + lane] = 1.0
        work[R_LOAD * L + lane] = 1.0  # an entrant's ratio: nobody enters after year 0
        work[R_DEATH * L + lane] = 0.0
        work[R_EXCLUDED * L + lane] = 0.0
        work[R_TERMINAL * L + lane] = 0.0
        work[R_FRESH * L + lane] = fresh
    if y > 0 and m.ageing == 0.0:
        return  # the scores of year 0 stand: nothing else moves them
    age = float(y) * m.ageing  # tenure y: member_year's tenure x ageing
    mu = vexp(m.rsig * 0.0 + m.risk_shift + age)
    w = m.loading * 0.0 + m.loading_innov * 0.0
    risk = vexp(m.ssig * w + m.score_shift + age)
    demo = vexp(m.dsig * w + m.demo_shift + age) if m.demo_on else 0.0
    for lane in range(L):
        work[R_RISK * L + lane] = risk
        work[R_MU * L + lane] = mu
        work[R_DEMO * L + lane] = demo


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _occupant(
    m: M.MemberModel,
    lane: int,
    valid: bool,
    excluded: bool,
    ratio: float,
    index: float,
    programme: bool,
    status: tuple[bool, bool],
    work: F8,
) -> tuple[bool, bool, float, float]:
    """:func:`~simsettle._kernels.member.in_settlement` of a lane's occupant from its rows (its
    cost scaled by the practice's ``ratio`` and its entrant ratio)."""
    L = LANES
    load = ratio * work[R_LOAD * L + lane]
    return M.in_settlement(
        m,
        valid,
        excluded,
        work[R_X * L + lane] * load,
        work[R_TERMINAL * L + lane] * load,
        work[R_MU * L + lane],
        work[R_ZO * L + lane],
        work[R_SHARE * L + lane],
        index,
        programme,
        work[R_RETAIN * L + lane],
        status,
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _static_sums(
    m: M.MemberModel, n_valid: int, index: float, programme: bool, o: int, work: F8
) -> None:
    """The lane sums of a static roster's year (:func:`_static_lanes`) from ``o``, as the trial
    loop's settlement loop adds them, to the bit, with what is known there: every occupant is
    attributed (no rule, no exclusion) and unmanaged (no care management), stays all year and
    has no joiner. So the occupant's spend, months, risk and demographic months and count are
    added (the joiner's part of each is 0 and adds nothing: a sum that starts at +0 is not
    moved by a zero of either sign) and care management's two fields not at all; the costs go
    to ``R_COST`` (``R_COST_J`` -1: no joiner) for the attachments and the practices."""
    L = LANES
    for lane in range(n_valid):
        ratio = work[R_RATIO * L + lane]
        _, _, _, cost = _occupant(
            m, lane, True, False, ratio, index, programme, (False, False), work
        )
        months = work[R_MONTHS * L + lane]
        work[R_COST * L + lane] = cost
        work[R_COST_J * L + lane] = -1.0
        work[o + LF_SPEND * L + lane] += cost
        work[o + LF_MONTHS * L + lane] += months
        work[o + LF_RISK * L + lane] += work[R_RISK * L + lane] * months
        work[o + LF_DEMO * L + lane] += work[R_DEMO * L + lane] * months
        work[o + LF_MEMBERS * L + lane] += 1.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _draw_status(
    m: M.MemberModel,
    at: tuple[np.uint32, np.uint32, np.uint32, np.uint32, np.uint32],
    lane: int,
    work: F8,
    branchy: bool,
) -> None:
    """An arriving occupant's roster status into the roster rows (``branchy``: in a scalar loop,
    a constant; see :func:`~simsettle._kernels.member.roster`)."""
    L = LANES
    status = M.roster(
        m,
        True,
        (False, False),
        M.attribution_draws(m, at, STREAM_ATTRIBUTION),
        work[R_ZO * L + lane],
        branchy,
    )
    work[R_PAYER_ONLY * L + lane] = 1.0 if status[0] else 0.0
    work[R_PROVIDER_ONLY * L + lane] = 1.0 if status[1] else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _arrivals(
    m: M.MemberModel,
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    yy: np.uint32,
    first: int,
    n_valid: int,
    later: bool,
    work: F8,
) -> None:
    """The roster statuses of the members who arrive this year, drawn when they arrive and kept
    for their stay (:func:`~simsettle._kernels.member.roster`): the occupants in their first
    year (every lane in the first simulated year, ``R_FRESH`` ones later), into the roster rows
    (which otherwise carry the status the occupant arrived with), and the joiners, with their
    retention uniforms, into the joiner's rows. ``first`` is the lane block's first member
    counter word.

    Out of line: written in the trial's loops, this code cost every member-year 15 to 20% (AMD
    EPYC, one core) even in runs where no roster rule is on; and the lanes are listed before
    they are drawn for, because a loop that tests each lane is vectorised with the test as a
    mask, drawing for every lane (11 ns per lane-year for none).
    """
    L = LANES
    if later:
        # The few lanes whose occupant is new are listed first, so that the draws run for them
        # only (a loop that tests each lane would be vectorized, drawing for every lane).
        for i in range(_list_lanes(work, R_FRESH, n_valid)):
            lane = int(work[R_LIST * L + i])
            _draw_status(m, (k0, k1, ctr, yy, np.uint32(first + lane)), lane, work, True)
    else:
        for lane in range(L):  # every member arrives: a vector loop, with no branch
            _draw_status(m, (k0, k1, ctr, yy, np.uint32(first + lane)), lane, work, False)
    for i in range(_list_lanes(work, R_JOINER, n_valid)):
        lane = int(work[R_LIST * L + i])
        at = (k0, k1, ctr, yy, np.uint32(first + lane))
        v_draws = M.attribution_draws(m, at, STREAM_JOINER_ATTRIBUTION)
        status_j = M.roster(m, True, (False, False), v_draws, work[R_ZJ * L + lane], True)
        work[R_PAYER_J * L + lane] = 1.0 if status_j[0] else 0.0
        work[R_PROVIDER_J * L + lane] = 1.0 if status_j[1] else 0.0
        work[R_RETAIN_J * L + lane] = v_draws[0]


@njit(cache=True, nogil=True, inline="always")
def _list_lanes(work: F8, row: int, n_valid: int) -> int:
    """Write the lanes below ``n_valid`` whose ``row`` is set into the ``R_LIST`` row, in order;
    return how many."""
    L = LANES
    k = 0
    for lane in range(n_valid):
        if work[row * L + lane] > 0.5:
            work[R_LIST * L + k] = lane
            k += 1
    return k


@njit(cache=True, nogil=True, error_model="numpy")
def _retention(
    m: M.MemberModel,
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    yy: np.uint32,
    first: int,
    work: F8,
) -> None:
    """The occupants' retention uniforms (``R_RETAIN``), read by retrospective attribution only:
    prospective attribution retains everyone (``retain`` 1) and leaves the row at 0."""
    L = LANES
    for lane in range(L):
        at = (k0, k1, ctr, yy, np.uint32(first + lane))
        work[R_RETAIN * L + lane] = M.attribution_draws(m, at, STREAM_ATTRIBUTION)[0]


@njit(cache=True, nogil=True, error_model="numpy")
def _compound_lanes(
    m: M.MemberModel,
    k0: np.uint32,
    k1: np.uint32,
    ctr: np.uint32,
    yy: np.uint32,
    first: int,
    n_valid: int,
    contagion: float,
    work: F8,
) -> None:
    """The occupants' costs of a lane block's year under ``frequency_severity`` with a Poisson
    count and a lognormal frailty: :func:`~simsettle._kernels.member.compound_cost` of every
    lane, to the bit, into ``R_X`` (and the frailty normal into ``R_FRAILTY_Z``), laid out in
    passes over the lanes so that the draws run in vector loops.

    1. Claim block 0 of every lane (vector): the frailty normal, the Poisson mean, the count's
       uniform and the first claim's normal. Without a frailty every lane has the same mean,
       computed once, and the block's normals are drawn only for lognormal claims.
    2. The counts (scalar: inversion is a walk of data-dependent length; a mean above 400 takes
       the normal approximation from the block's words 2 and 3).
    3. The severities. Gamma: the first attempt of every lane's gamma of shape ``n a`` (vector;
       a lane without claims draws it for one claim and takes 0; a claim's shape of 1 or more
       skips the boost's log and exp), then the lanes whose attempt was rejected (under 5%)
       again by :func:`~simsettle._kernels.member.severity_total`.
       Lognormal: the first claim of every lane, then each further claim block in a vector
       loop, each lane adding the claims it has (:func:`~simsettle._kernels.member.
       severity_block`). Other families: claim by claim, lane by lane.

    ``first`` is the lane block's first member counter word; lanes from ``n_valid`` on are
    computed and not read. Written as one scalar loop of ``compound_cost``, the frequency-
    severity member-year cost four times as much (``benchmarks/compound.py``).
    """
    L = LANES
    lognormal = m.sev_family == SEV_LOGNORMAL
    if m.frailty > 0.0:
        for lane in range(n_valid):
            at = (k0, k1, ctr, yy, np.uint32(first + lane))
            w = M.words(at, STREAM_CLAIMS)
            new, g = box_muller(u32_to_unit(w[0]), u32_to_unit(w[1]))
            fresh = work[R_FRESH * L + lane] > 0.5
            e = M.frailty_normal(m, new, work[R_FRAILTY_Z * L + lane], fresh)
            work[R_FRAILTY_Z * L + lane] = e
            work[R_CLAIM_MU * L + lane] = M.claim_mean(m, e, contagion)
            work[R_CLAIM_U * L + lane] = u32_to_unit(w[2])
            work[R_CLAIM_G * L + lane] = g
    else:
        # No frailty: every lane's Poisson mean is claim_mean's at any normal (exp(+-0) is 1),
        # the frailty normal is never read, and the block's normals only by lognormal claims.
        # (A test of lognormal inside one loop cost gamma claims 13%: two loops, one call each.)
        mu = M.claim_mean(m, 0.0, contagion)
        for lane in range(n_valid):
            work[R_CLAIM_MU * L + lane] = mu
        if lognormal:
            for lane in range(n_valid):
                w = M.words((k0, k1, ctr, yy, np.uint32(first + lane)), STREAM_CLAIMS)
                _, g = box_muller(u32_to_unit(w[0]), u32_to_unit(w[1]))
                work[R_CLAIM_U * L + lane] = u32_to_unit(w[2])
                work[R_CLAIM_G * L + lane] = g
        else:
            for lane in range(n_valid):
                w = M.words((k0, k1, ctr, yy, np.uint32(first + lane)), STREAM_CLAIMS)
                work[R_CLAIM_U * L + lane] = u32_to_unit(w[2])
    # The counts: every lane walks up its Poisson distribution function together, one term a
    # step, until no lane's uniform is above its sum (vector loops; a lane that stops keeps its
    # count, so each lane takes the steps of poisson_count). A mean above 400 (normal
    # approximation, scalar) and the lanes past the roster take no step.
    if m.frailty > 0.0:
        for lane in range(n_valid):
            mu = work[R_CLAIM_MU * L + lane]
            p = vexp(-mu)
            work[R_CLAIM_P * L + lane] = p
            work[R_CLAIM_F * L + lane] = p
            work[R_CLAIM_N * L + lane] = 0.0
            walks = (mu <= 400.0) & (lane < n_valid)
            work[R_CLAIM_LIMIT * L + lane] = M.poisson_limit(mu) if walks else 0.0
    else:  # one mean for every lane: its walk's start and limit once
        mu = work[R_CLAIM_MU * L]
        p = vexp(-mu)
        limit = M.poisson_limit(mu) if mu <= 400.0 else 0.0
        for lane in range(n_valid):
            work[R_CLAIM_P * L + lane] = p
            work[R_CLAIM_F * L + lane] = p
            work[R_CLAIM_N * L + lane] = 0.0
            work[R_CLAIM_LIMIT * L + lane] = limit
    k = 0.0
    stepped = True
    while stepped:
        k += 1.0
        stepped = False
        for lane in range(n_valid):
            n = work[R_CLAIM_N * L + lane]
            p = work[R_CLAIM_P * L + lane]
            f = work[R_CLAIM_F * L + lane]
            go = (work[R_CLAIM_U * L + lane] > f) & (n < work[R_CLAIM_LIMIT * L + lane])
            p_next, f_next = M.poisson_step(work[R_CLAIM_MU * L + lane], k, p, f)
            work[R_CLAIM_P * L + lane] = p_next if go else p
            work[R_CLAIM_F * L + lane] = f_next if go else f
            work[R_CLAIM_N * L + lane] = k if go else n
            stepped |= go
    top = 0.0  # the largest mean, then the most claims of a lane
    for lane in range(n_valid):
        top = max(top, work[R_CLAIM_MU * L + lane])
    if top > 400.0:
        for lane in range(n_valid):
            mu = work[R_CLAIM_MU * L + lane]
            if mu > 400.0:
                at = (k0, k1, ctr, yy, np.uint32(first + lane))
                _, _, w2, w3 = M.words(at, STREAM_CLAIMS)
                work[R_CLAIM_N * L + lane] = M.normal_count(mu, w2, w3)
    top = 0.0
    for lane in range(n_valid):
        top = max(top, work[R_CLAIM_N * L + lane])
    most = int(top)
    if most == 0:
        for lane in range(n_valid):
            work[R_X * L + lane] = 0.0
        return
    code = m.sev_family
    if code == SEV_GAMMA:
        # severity_total's gamma of shape n a by its first attempt (a lane without claims
        # draws for one claim and takes 0). A claim's shape a of 1 or more makes every n a at
        # least 1: no boost (gamma_boost gives 1 and the shape, and times 1 is exact), so its
        # log and exp are skipped. Two loops written out: the attempt in an inlined helper
        # stopped the loop from vectorizing (108 against 81 ns per member-year).
        if m.sev_a < 1.0:
            for lane in range(n_valid):
                at = (k0, k1, ctr, yy, np.uint32(first + lane))
                n = work[R_CLAIM_N * L + lane]
                shape = max(n, 1.0) * m.sev_a
                var = 1.0 / shape
                w = M.words(at, STREAM_SEVERITY)
                boost, a = M.gamma_boost(1.0 / var, w[3])
                d, c = M.gamma_constants(a)
                ok, dv = M.gamma_attempt(d, c, w)
                x = n * m.sev_b * (dv * boost * var)
                work[R_X * L + lane] = x if n > 0.0 else 0.0
                work[R_CLAIM_U * L + lane] = 1.0 if ok | (n == 0.0) else 0.0
        else:
            for lane in range(n_valid):
                at = (k0, k1, ctr, yy, np.uint32(first + lane))
                n = work[R_CLAIM_N * L + lane]
                shape = max(n, 1.0) * m.sev_a
                var = 1.0 / shape
                w = M.words(at, STREAM_SEVERITY)
                d, c = M.gamma_constants(1.0 / var)
                ok, dv = M.gamma_attempt(d, c, w)
                x = n * m.sev_b * (dv * 1.0 * var)
                work[R_X * L + lane] = x if n > 0.0 else 0.0
                work[R_CLAIM_U * L + lane] = 1.0 if ok | (n == 0.0) else 0.0
        for lane in range(n_valid):
            if work[R_CLAIM_U * L + lane] < 0.5:  # rejected: the whole sampler, scalar
                at = (k0, k1, ctr, yy, np.uint32(first + lane))
                n_claims = int(work[R_CLAIM_N * L + lane])
                work[R_X * L + lane] = M.severity_total(m, at, STREAM_CLAIMS, n_claims)
    elif code == SEV_LOGNORMAL:
        for lane in range(n_valid):
            x = M.first_severity(m, work[R_CLAIM_G * L + lane])
            work[R_X * L + lane] = x if work[R_CLAIM_N * L + lane] > 0.0 else 0.0
        for block in range(1, (most + 2) // 4 + 1):  # blocks 1.. hold claims 2 to most
            for lane in range(n_valid):
                at = (k0, k1, ctr, yy, np.uint32(first + lane))
                remaining = int(work[R_CLAIM_N * L + lane]) - 1 - 4 * (block - 1)
                total, _ = M.severity_block(
                    m, M.words(at, STREAM_CLAIMS + 2 * block), work[R_X * L + lane], remaining
                )
                work[R_X * L + lane] = total
    else:
        for lane in range(n_valid):
            at = (k0, k1, ctr, yy, np.uint32(first + lane))
            n_claims = int(work[R_CLAIM_N * L + lane])
            work[R_X * L + lane] = (
                M.severity_total(m, at, STREAM_CLAIMS, n_claims) if n_claims > 0 else 0.0
            )


@njit(cache=True, nogil=True)
def persists(params: Any) -> bool:
    """Whether a member's mixture cost persists (``cost_persistence > 0``, not
    ``frequency_severity``), by the rule's own :class:`~simsettle._kernels.member.MemberModel`:
    which of :func:`simulate_trials` and :func:`simulate_trials_persistent` (and their parallel
    twins) a run calls."""
    return M.member_model(params[0]).persist_on


@njit(cache=True, nogil=True)
def compounds(params: Any) -> bool:
    """Whether the member cost is ``frequency_severity`` (never persistent, :func:`persists`):
    :func:`simulate_trials_compound` and its parallel twin run it, whose lane loop skips the
    mixture's costs."""
    return M.member_model(params[0]).frequency_severity


@njit(cache=True, nogil=True, error_model="numpy")
def _simulate_trial(
    k0: np.uint32,
    k1: np.uint32,
    trial: int,
    params: Any,
    attachments: F8,
    practices: F8,
    work: F8,
    acc: F8,
    persistent: bool,
    compound: bool,
) -> None:
    """Accumulate one trial's aggregates into ``acc`` (years x fields, zero on entry).

    Members are simulated ``LANES`` slots at a time, year by year. Each step is a loop over the
    lanes with no branch and no library call, which LLVM turns into vector instructions: the
    Philox calls, both Box-Muller pairs, the risk and cost draws, attribution and the sums.
    Member fields are summed per lane (lane ``i`` adds slots ``i``, ``i + LANES``, ...) and the
    lanes are added in order at the end of the trial, so the order of every sum is fixed by the
    code, not by the vector width, chunk or thread. ``work`` is the lane block's scratch
    (``work_size`` float64), written before it is read.

    The parameters are read once, into the :class:`~simsettle._kernels.member.MemberModel` value
    ``m``: numba cannot prove that ``acc`` and ``work`` do not alias the record, so a read
    inside a loop would be repeated for every member.

    ``persistent`` (the record's ``cost_persistence > 0`` with the mixture) is a compile-time
    constant: the trial is compiled once for each value, each with only its own cost rule. Both
    rules in one function, switched at run time, cost the rule without persistence 35% on an AMD
    EPYC (71 against 53 ns per member-year on one core), whatever the branch taken.
    ``compound`` (``frequency_severity``, never persistent) is a third rule: the lane loop
    skips the mixture's costs, which :func:`_compound_lanes` replaces (a quarter of the
    frequency-severity member-year's time on an Intel Xeon, ``benchmarks/compound.py``). On a
    static roster (``m.static_roster``, compound only) the member draws, the joiners' and
    leavers' loops and most of the settlement's tests are skipped (:func:`_static_lanes`,
    :func:`_static_sums`; 128 against 61 ns per member-year of the textbook compound case on
    one core of an Intel Xeon, with the compound lanes' own short cuts).
    """
    numba.literally(persistent)  # type: ignore[attr-defined]  # public, not in __all__
    numba.literally(compound)  # type: ignore[attr-defined]
    record = params[0]
    m = M.member_model(record)
    n_years = acc.shape[0]
    n_members = m.n_members
    offset = m.offset
    n_att = attachments.shape[0]
    n_practices = practices.shape[0]
    first_practice = N_BASE_FIELDS + n_att
    # Every member field per practice where practices join or leave, else spend and months.
    detail = n_practices > 0 and acc.shape[1] > first_practice + 2 * n_practices
    n_lane_fields = N_LANE_FIELDS + n_att
    ctr = np.uint32(trial)
    L = LANES

    # A static roster (frequency_severity only): the member draws, the joiners' and leavers'
    # loops and most of the settlement's tests are skipped (_static_lanes, _static_sums).
    static = compound and m.static_roster
    M.system_years(k0, k1, trial, record, acc)
    sums = (
        N_ROWS * L
    )  # lane sums of year y, field f: work[sums + (y * n_lane_fields + f) * L + lane]
    for i in range(sums, sums + n_years * n_lane_fields * L):
        work[i] = 0.0

    for base in range(0, n_members, L):
        n_valid = min(L, n_members - base)
        for i in range(N_ROWS * L):
            work[i] = 0.0  # no stale value, however unused, may be a slow subnormal or a NaN
        for lane in range(n_valid):
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
            later = y > 0  # year 0's roster is the stationary population
            index = acc[y, F_TREND_INDEX]
            contagion = acc[y, F_CONTAGION]
            programme = y >= m.cm_from
            # Draws and member state. The leaver's words are drawn for every lane (cheaper than
            # a branch) and used only where the occupant leaves. One loop for each cost rule,
            # so that each computes only its own (the flag is a constant in each).
            if static:
                _static_lanes(m, y, work)
            else:
                for lane in range(L):
                    _lane_year(
                        m, k0, k1, ctr, yy, offset + base, lane, later, persistent, compound, work
                    )
            if m.general:
                # Another body family or a gpd tail: the costs again by the families'
                # quantiles, from the same words (scalar, out of the vector loop).
                for lane in range(n_valid):
                    at = (k0, k1, ctr, yy, np.uint32(offset + base + lane))
                    x, x_j = M.general_costs(
                        m,
                        M.words(at, STREAM_MEMBER),
                        M.words(at, STREAM_TURNOVER),
                        work[R_FRESH * L + lane] > 0.5,
                        work[R_CLASS_PREV * L + lane],
                        work[R_BODY_Z * L + lane],
                        persistent,
                    )
                    work[R_X * L + lane] = x
                    work[R_X_J * L + lane] = x_j
            if m.frequency_severity:
                if m.count_form == 0 and not m.gamma_frailty:
                    _compound_lanes(m, k0, k1, ctr, yy, offset + base, n_valid, contagion, work)
                else:
                    for lane in range(n_valid):
                        at = (k0, k1, ctr, yy, np.uint32(offset + base + lane))
                        x, f = M.compound_cost(
                            m,
                            at,
                            STREAM_CLAIMS,
                            work[R_FRAILTY_Z * L + lane],
                            work[R_FRESH * L + lane] > 0.5,
                            contagion,
                        )
                        work[R_X * L + lane] = x
                        work[R_FRAILTY_Z * L + lane] = f
                for lane in range(0 if static else n_valid):  # a static roster has no joiner
                    if work[R_JOINER * L + lane] > 0.5:
                        at = (k0, k1, ctr, yy, np.uint32(offset + base + lane))
                        x_j, f_j = M.compound_cost(m, at, STREAM_CLAIMS + 1, 0.0, True, contagion)
                        work[R_X_J * L + lane] = x_j
                        work[R_FRAILTY_Z * L + lane] = f_j
            # Roster statuses are drawn when a member arrives (out of line: few members do).
            if m.attribution_on:
                _arrivals(m, k0, k1, ctr, yy, offset + base, n_valid, later, work)
            # Exposure shares of the leavers' stays only (about turnover of the lanes): a scalar
            # loop over them costs less than a Philox call in every lane of the vector loop.
            for lane in range(0 if static else n_valid):  # nobody leaves a static roster
                months = work[R_MONTHS * L + lane]
                if months < 12.0:
                    if work[R_JOINER * L + lane] > 0.5:
                        # The joiner's quantities that member_year leaves to this loop (its
                        # normals are next year's state: the joiner takes the slot).
                        mu_j, risk_j, demo_j = M.joiner_risks(
                            m, work[R_ZJ * L + lane], work[R_SCORE_E * L + lane]
                        )
                        work[R_MU_J * L + lane] = mu_j
                        work[R_RISK_J * L + lane] = risk_j
                        work[R_DEMO_J * L + lane] = demo_j
                        if not (m.general or m.frequency_severity):  # else drawn above
                            work[R_X_J * L + lane] = M.annual_cost_branchy(
                                m, work[R_CLASS_U_J * L + lane], work[R_COST_Z * L + lane]
                            )
                    at = (k0, k1, ctr, yy, np.uint32(offset + base + lane))
                    e = M.words(at, STREAM_EXPOSURE)
                    work[R_SHARE * L + lane] = M.exposure_share(m, months, u32_to_unit(e[0]))
                    work[R_SHARE_J * L + lane] = M.exposure_share(
                        m, 12.0 - months, u32_to_unit(e[1])
                    )
                    death = work[R_DEATH * L + lane] > 0.5
                    if not (death or persistent):
                        continue  # the normal pair is read by decedents and persistence only
                    g_terminal, g_class = M.leaver_normals(e[2], e[3])
                    work[R_TERMINAL * L + lane] = M.terminal_cost(m, death, g_terminal)
                    if persistent:
                        # The leaving occupant's cost again, with its own class innovation; the
                        # slot's next class normal is the joiner's, if any.
                        class_z, x = M.leaver_cost(
                            m,
                            work[R_FRESH * L + lane] > 0.5,
                            work[R_CLASS_PREV * L + lane],
                            work[R_BODY_Z * L + lane],
                            g_class,
                            True,
                        )
                        if m.general:
                            x = M.general_latent_cost(m, class_z, work[R_BODY_Z * L + lane])
                        work[R_X * L + lane] = x
                        work[R_CLASS_Z * L + lane] = (
                            M.class_normal(m, work[R_CLASS_U_J * L + lane], True)
                            if work[R_JOINER * L + lane] > 0.5
                            else class_z
                        )
            # Attribution, care management and the lane sums. The roster rows hold this year's
            # occupant's status on entry and next year's on exit.
            o = sums + y * n_lane_fields * L
            if m.retain < 1.0:
                _retention(m, k0, k1, ctr, yy, offset + base, work)
            if static:
                _static_sums(m, n_valid, index, programme, o, work)
            for lane in range(0 if static else n_valid):
                status = (
                    work[R_PAYER_ONLY * L + lane] > 0.5,
                    work[R_PROVIDER_ONLY * L + lane] > 0.5,
                )
                joined = work[R_JOINER * L + lane] > 0.5
                payer_j = work[R_PAYER_J * L + lane]
                provider_j = work[R_PROVIDER_J * L + lane]
                status_j = (payer_j > 0.5, provider_j > 0.5)
                # Next year's occupant's status: the joiner's where one takes the slot.
                work[R_PAYER_ONLY * L + lane] = payer_j if joined else work[R_PAYER_ONLY * L + lane]
                work[R_PROVIDER_ONLY * L + lane] = (
                    provider_j if joined else work[R_PROVIDER_ONLY * L + lane]
                )
                valid = lane < n_valid
                ratio = work[R_RATIO * L + lane]
                months = work[R_MONTHS * L + lane]
                months_j = 12.0 - months
                risk = work[R_RISK * L + lane]
                risk_j = work[R_RISK_J * L + lane]
                excluded = work[R_EXCLUDED * L + lane] > 0.5
                attributed, managed, full, cost = _occupant(
                    m, lane, valid, excluded, ratio, index, programme, status, work
                )
                attributed_j, managed_j, full_j, cost_j = M.in_settlement(
                    m,
                    valid & joined,
                    False,
                    work[R_X_J * L + lane] * ratio * m.entrant_cost,
                    0.0,
                    work[R_MU_J * L + lane],
                    work[R_ZJ * L + lane],
                    work[R_SHARE_J * L + lane],
                    index,
                    programme,
                    work[R_RETAIN_J * L + lane],
                    status_j,
                )
                work[R_COST * L + lane] = cost if attributed else -1.0
                work[R_COST_J * L + lane] = cost_j if attributed_j else -1.0
                if detail:  # read by the practices' loop only with churn
                    work[R_MANAGED * L + lane] = 1.0 if managed else 0.0
                    work[R_MANAGED_J * L + lane] = 1.0 if managed_j else 0.0
                    work[R_AVOIDED * L + lane] = full - cost if attributed & managed else 0.0
                    work[R_AVOIDED_J * L + lane] = (
                        full_j - cost_j if attributed_j & managed_j else 0.0
                    )
                occupant_stay = (
                    attributed,
                    managed,
                    full,
                    cost,
                    months,
                    risk,
                    work[R_DEMO * L + lane],
                )
                joiner_stay = (
                    attributed_j,
                    managed_j,
                    full_j,
                    cost_j,
                    months_j,
                    risk_j,
                    work[R_DEMO_J * L + lane],
                )
                s0, s1, s2, s3, s4, s5, s6 = M.slot_sums(occupant_stay, joiner_stay)
                work[o + LF_SPEND * L + lane] += s0
                work[o + LF_MONTHS * L + lane] += s1
                work[o + LF_RISK * L + lane] += s2
                work[o + LF_DEMO * L + lane] += s3
                work[o + LF_MEMBERS * L + lane] += s4
                work[o + LF_CM_MONTHS * L + lane] += s5
                work[o + LF_CM_AVOIDED * L + lane] += s6
            for k in range(n_att):
                point = attachments[k]
                ok = o + (N_LANE_FIELDS + k) * L
                for lane in range(n_valid):
                    work[ok + lane] += max(work[R_COST * L + lane] - point, 0.0) + max(
                        work[R_COST_J * L + lane] - point, 0.0
                    )
            if n_practices > 0:
                for lane in range(n_valid):
                    p = int(work[R_PRACTICE * L + lane])
                    for c, mo, managed, avoided, risk, demo in (
                        (
                            work[R_COST * L + lane],
                            work[R_MONTHS * L + lane],
                            work[R_MANAGED * L + lane],
                            work[R_AVOIDED * L + lane],
                            work[R_RISK * L + lane],
                            work[R_DEMO * L + lane],
                        ),
                        (
                            work[R_COST_J * L + lane],
                            12.0 - work[R_MONTHS * L + lane],
                            work[R_MANAGED_J * L + lane],
                            work[R_AVOIDED_J * L + lane],
                            work[R_RISK_J * L + lane],
                            work[R_DEMO_J * L + lane],
                        ),
                    ):
                        if c >= 0.0:
                            acc[y, first_practice + p] += c
                            acc[y, first_practice + n_practices + p] += mo
                        if detail:
                            stay = (c >= 0.0, managed > 0.5, avoided, c, mo, risk, demo)
                            M.practice_detail(
                                acc, y, first_practice, n_practices, p, attachments, stay
                            )

    for y in range(n_years):
        for f in range(n_lane_fields):
            total = 0.0
            o = sums + (y * n_lane_fields + f) * L
            for lane in range(L):
                total += work[o + lane]
            acc[y, LANE_FIELDS[f] if f < N_LANE_FIELDS else N_BASE_FIELDS + f - N_LANE_FIELDS] += (
                total
            )


@njit(cache=True, nogil=True, inline="always")
def _stay(
    row: F8,
    slot: int,
    year: int,
    joiner: bool,
    new: bool,
    entry: float,
    exit_: float,
    risk: float,
    cost: float,
    attributed: bool,
    present: bool,
    departure: int,
) -> None:
    """Write one stay into ``row`` (the ``ST_*`` columns)."""
    row[ST_SLOT] = slot
    row[ST_YEAR] = year
    row[ST_JOINER] = 1.0 if joiner else 0.0
    row[ST_NEW] = 1.0 if new else 0.0
    row[ST_ENTRY] = entry
    row[ST_EXIT] = exit_
    row[ST_RISK] = risk
    row[ST_COST] = cost
    row[ST_ATTRIBUTED] = 1.0 if attributed else 0.0
    row[ST_PRESENT] = 1.0 if present else 0.0
    row[ST_DEPARTURE] = departure


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_stays(
    k0: np.uint32, k1: np.uint32, trial: int, params: Any, system: F8, out: F8
) -> None:
    """Every member stay of one trial, row by row, by the member-year rule (no aggregation).

    ``system`` (years x ``N_BASE_FIELDS``, zeros) receives the trial-level draws
    (``system_years``); ``out`` (2 x members x years, ``N_STAY_COLUMNS``) one row per slot-year
    and party, the occupant's at ``2 (slot x years + year)`` and the joiner's after it, in the
    ``ST_*`` columns. The same draws and arithmetic as :func:`simulate_trials`, one slot at a
    time and without practices: its sums over attributed rows are that kernel's member fields.
    """
    record = params[0]
    m = M.member_model(record)
    n_years = system.shape[0]
    ctr = np.uint32(trial)
    M.system_years(k0, k1, trial, record, system)
    for slot in range(m.n_members):
        mm = np.uint32(m.offset + slot)
        state = M.start_state()
        for y in range(n_years):
            occupant, joined, joiner, nxt, departure = M.slot_year(
                m, k0, k1, ctr, y, mm, state, system[y, F_TREND_INDEX], 1.0, system[y, F_CONTAGION]
            )
            attributed, _, _, cost, months, risk, _ = occupant
            attributed_j, _, _, cost_j, _, risk_j, _ = joiner
            row = 2 * (slot * n_years + y)
            _stay(
                out[row],
                slot,
                y,
                False,
                state.is_new,
                0.0,
                months,
                risk,
                cost,
                attributed,
                True,
                departure,
            )
            _stay(
                out[row + 1],
                slot,
                y,
                True,
                True,
                months,
                12.0,
                risk_j,
                cost_j,
                attributed_j,
                joined,
                DEPART_NONE,
            )
            state = nxt


def work_size(n_years: int, n_attachments: int) -> int:
    """float64 elements of one lane block's scratch for :func:`simulate_trials`."""
    return (N_ROWS + n_years * (N_LANE_FIELDS + n_attachments)) * LANES


@njit(cache=True, nogil=True)
def simulate_trials(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: Any,
    attachments: F8,
    practices: F8,
    work: F8,
    out: F8,
) -> None:
    """Simulate trials ``trial0 .. trial0 + out.shape[0] - 1`` serially, for a memoryless
    member cost (:func:`persists` false; :func:`simulate_trials_persistent` otherwise).

    Parameters
    ----------
    k0, k1 : uint32
        Philox key from the scenario seed.
    trial0 : int
        Global index of the first trial of this chunk (the counter word, not a chunk offset).
    params : MODEL_DTYPE[1]
        The model's parameter record (:data:`simsettle._kernels.records.MODEL_DTYPE`), read by
        name.
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

    Each cost rule has its own entry points, so that numba compiles only the one a run uses:
    both rules in one function, switched at run time, cost the memoryless one a third of its
    speed, and compiling both doubles the first run's compile time.
    """
    for i in range(out.shape[0]):
        _simulate_trial(
            k0, k1, trial0 + i, params, attachments, practices, work[0], out[i], False, False
        )


@njit(cache=True, nogil=True)
def simulate_trials_persistent(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: Any,
    attachments: F8,
    practices: F8,
    work: F8,
    out: F8,
) -> None:
    """:func:`simulate_trials` for a persistent member cost (:func:`persists` true)."""
    for i in range(out.shape[0]):
        _simulate_trial(
            k0, k1, trial0 + i, params, attachments, practices, work[0], out[i], True, False
        )


@njit(cache=True, nogil=True, parallel=True)
def simulate_trials_parallel(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: Any,
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
            _simulate_trial(
                k0, k1, trial0 + i, params, attachments, practices, work[b], out[i], False, False
            )


@njit(cache=True, nogil=True, parallel=True)
def simulate_trials_parallel_persistent(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: Any,
    attachments: F8,
    practices: F8,
    work: F8,
    out: F8,
) -> None:
    """:func:`simulate_trials_parallel` for a persistent member cost (:func:`persists` true)."""
    n = out.shape[0]
    parts = work.shape[0]
    for b in prange(parts):
        for i in range(b * n // parts, (b + 1) * n // parts):
            _simulate_trial(
                k0, k1, trial0 + i, params, attachments, practices, work[b], out[i], True, False
            )


@njit(cache=True, nogil=True)
def simulate_trials_compound(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: Any,
    attachments: F8,
    practices: F8,
    work: F8,
    out: F8,
) -> None:
    """:func:`simulate_trials` for ``frequency_severity`` (:func:`compounds` true)."""
    for i in range(out.shape[0]):
        _simulate_trial(
            k0, k1, trial0 + i, params, attachments, practices, work[0], out[i], False, True
        )


@njit(cache=True, nogil=True, parallel=True)
def simulate_trials_parallel_compound(
    k0: np.uint32,
    k1: np.uint32,
    trial0: int,
    params: Any,
    attachments: F8,
    practices: F8,
    work: F8,
    out: F8,
) -> None:
    """:func:`simulate_trials_parallel` for ``frequency_severity`` (:func:`compounds` true)."""
    n = out.shape[0]
    parts = work.shape[0]
    for b in prange(parts):
        for i in range(b * n // parts, (b + 1) * n // parts):
            _simulate_trial(
                k0, k1, trial0 + i, params, attachments, practices, work[b], out[i], False, True
            )


# Before any kernel here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(simulate_trials)
