"""The member-level model on CUDA GPUs (numba-cuda), giving the CPU kernel's aggregates.

Nothing here needs numba-cuda at import: :func:`simulate_lane` is an ordinary ``@njit``
function, and :func:`make_kernel` imports :mod:`numba.cuda` only when it builds a kernel.

* :func:`simulate_lane` is one lane of :func:`simsettle._kernels.population._simulate_trial`
  (member slots ``first, first + stride, ...``): the same counters, streams and words, the same
  arithmetic through the same helpers (``philox4x32_10``, ``box_muller``, ``vexp``,
  ``_annual_cost``, ``_compound_cost``), and the same per-lane sums. numba-cuda compiles a CPU
  ``@njit`` function called from a kernel into a device function from its Python source, so the
  CPU and the GPU run one definition of each helper; the lane body itself is written out again
  here, scalar, because the CPU's is a loop over lanes sharing a scratch array.
* The kernel built by :func:`make_kernel` gives each trial a group of ``lanes`` threads (several
  groups per block; the grid strides over the trials). The group's lane 0 draws the trial-level
  years (:func:`~simsettle._kernels.population._system_years`) and shares the cost index; thread
  ``l`` runs the slots ``l, l + lanes, ...`` into its own accumulator (years x fields, in local
  memory); the lanes' sums are then added in lane order in shared memory (no atomics), so a run
  is reproducible to the bit. With ``lanes = LANES`` that is the CPU's order of addition too,
  and every member field but the practices' (which the CPU adds in slot order) is the CPU's to
  the bit wherever the arithmetic is (always on the simulator; on a GPU, see below). With other
  ``lanes`` the sums agree within a few ulp per addition, well inside 1e-12 relative.

Floating point on the device: ``fastmath`` stays off, and the gate compiles the kernel with
NVVM's ``-fma=0`` (numba-cuda 0.30 has no option for it; see :mod:`simsettle.models.gpu`), so no
multiply and add are contracted into a fused multiply-add, which would change last bits. Every
``exp`` and ``log`` of the model is :mod:`~simsettle._kernels.elementary`'s ``vexp``/``vlog``,
plain arithmetic, and ``sqrt`` is correctly rounded on both, so the arithmetic gives the same bits
on the device as on the host.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import njit

from simsettle._kernels import cacheguard as _cacheguard
from simsettle._kernels.elementary import vexp
from simsettle._kernels.population import _annual_cost, _compound_cost, _system_years
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
    N_PARAMS,
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
    P_NOCARE_RETAIN,
    P_PAYER_ONLY,
    P_PROVIDER_ONLY,
    P_REPLACEMENT,
    P_RISK_RHO,
    P_RISK_SIGMA,
    P_TAIL_INV_SHAPE,
    P_TAIL_P,
    P_TAIL_SCALE,
    P_TURNOVER,
    P_ZERO,
    STREAM_ATTRIBUTION,
    STREAM_CLAIMS,
    STREAM_JOINER_ATTRIBUTION,
    STREAM_MEMBER,
    STREAM_TURNOVER,
)
from simsettle._kernels.rng import box_muller, philox4x32_10, u32_to_unit

__all__ = ["KERNEL_SIGNATURE", "TRIAL_FIELDS", "make_kernel", "simulate_lane"]

F8 = npt.NDArray[np.float64]

cuda: Any = None  # numba.cuda, bound by make_kernel: a module global, so the simulator swaps it

# Fields drawn once per trial-year (by a group's lane 0), not summed over members.
TRIAL_FIELDS = (F_TREND_INDEX, F_REF_INDEX, F_QUALITY, F_COMPLETION_Z, F_NAT_INDEX)
# The lanes' sums pass through shared memory (block x width) float64 at a time, at most this many.
_REDUCE_DOUBLES = 4096
KERNEL_SIGNATURE = (
    "void(uint32, uint32, int64, float64[::1], float64[::1], float64[:, ::1], float64[:, :, ::1])"
)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_lane(
    k0: np.uint32,
    k1: np.uint32,
    trial: int,
    params: F8,
    attachments: F8,
    practices: F8,
    acc: F8,
    first: int,
    stride: int,
) -> None:
    """Add member slots ``first, first + stride, ...`` of one trial to ``acc`` (years x fields).

    ``acc[:, F_TREND_INDEX]`` must hold the trial's cost index (from ``_system_years``). One
    lane of ``_simulate_trial``'s lane block, slot after slot: the same words, the same
    arithmetic (``vexp``, ``box_muller``, ``_annual_cost``, ``_compound_cost``) and the same
    sums, the occupant's and the joiner's part of a slot-year added together first. With
    ``stride = LANES`` it reproduces the CPU's lane sum of lane ``first`` to the bit; keep the two
    in step (tests/test_gpu.py checks it). The practices' fields are the exception: the CPU adds
    them in slot order across lanes.
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
    ctr = np.uint32(trial)

    p = 0
    for m in range(first, n_members, stride):
        mm = np.uint32(offset + m)
        # Slots are assigned to practices in order: practice k holds slots below bound k (the
        # slots of a lane increase, so the search goes on from the last one's practice).
        ratio = 1.0
        if n_practices > 0:
            while p + 1 < n_practices and m >= practices[p, 0]:
                p += 1
            ratio = practices[p, 1]
        is_new = True
        z_next = 0.0
        tenure_next = 0.0
        for y in range(n_years):
            yy = np.uint32(y)
            entrant_y = entrant if y > 0 else 0.0  # year 0's roster is the stationary population
            index = acc[y, F_TREND_INDEX]
            programme = y >= cm_from
            a0, a1, a2, a3 = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_MEMBER), k0, k1)
            e, n = box_muller(u32_to_unit(a2), u32_to_unit(a3))
            z = e + entrant_y if is_new else rho * z_next + innov * e
            tenure = 0.0 if is_new else tenure_next + 1.0
            u_leave = u32_to_unit(a0)
            leaves = u_leave < turnover
            age = tenure * ageing
            risk = vexp(rsig * z + risk_shift + age)
            demo = vexp(dsig * z + demo_shift + age) if demo_on else 0.0
            if frequency_severity:
                x = _compound_cost(
                    k0, k1, ctr, yy, mm, STREAM_CLAIMS, lam, frailty, sev_mu, sev_sigma
                )
            else:
                x = _annual_cost(
                    u32_to_unit(a1),
                    n,
                    zero,
                    tail_p,
                    tail_scale,
                    tail_inv_shape,
                    body_mu,
                    body_sigma,
                )
            # A leaver's words: the month, and the joiner's cost class and normal pair.
            months = 12.0
            joiner = False
            zj = 0.0
            risk_j = 0.0
            demo_j = 0.0
            x_j = 0.0
            if leaves:
                b0, b1, b2, b3 = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_TURNOVER), k0, k1)
                months = 12.0 * u32_to_unit(b0)
                # Given a departure, u_leave / turnover is uniform on (0, 1) again.
                joiner = u_leave / turnover < replacement
                if joiner:
                    ej, nj = box_muller(u32_to_unit(b2), u32_to_unit(b3))
                    zj = ej + entrant
                    risk_j = vexp(rsig * zj + risk_shift)
                    demo_j = vexp(dsig * zj + demo_shift) if demo_on else 0.0
                    if frequency_severity:
                        x_j = _compound_cost(
                            k0, k1, ctr, yy, mm, STREAM_CLAIMS + 1, lam, frailty, sev_mu, sev_sigma
                        )
                    else:
                        x_j = _annual_cost(
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
            z_next = zj if joiner else z
            tenure_next = 0.0 if joiner else tenure
            is_new = leaves and not joiner
            u_retain, u_payer, u_provider = 0.0, 1.0, 1.0  # prospective: all known to both
            v_retain, v_payer, v_provider = 0.0, 1.0, 1.0
            if attribution_on:
                c0, c1, c2, _ = philox4x32_10(ctr, yy, mm, np.uint32(STREAM_ATTRIBUTION), k0, k1)
                d0, d1, d2, _ = philox4x32_10(
                    ctr, yy, mm, np.uint32(STREAM_JOINER_ATTRIBUTION), k0, k1
                )
                u_retain, u_payer, u_provider = u32_to_unit(c0), u32_to_unit(c1), u32_to_unit(c2)
                v_retain, v_payer, v_provider = u32_to_unit(d0), u32_to_unit(d1), u32_to_unit(d2)
            # The occupant. A member with no care stays attributed only if retained; a
            # provider-only member is outside the settlement; a payer-only one is unmanaged.
            x = x * ratio
            attributed = (u_provider >= provider_only) and ((x != 0.0) or (u_retain < retain))
            managed = programme and (z > cm_z) and (u_payer >= payer_only)
            full = risk * index * x * (months / 12.0)
            cost = risk * index * (x * cm_keep) * (months / 12.0) if managed else full
            # The joiner, for the rest of the year.
            months_j = 12.0 - months
            xj = x_j * ratio
            attributed_j = (
                joiner and (v_provider >= provider_only) and ((xj != 0.0) or (v_retain < retain))
            )
            managed_j = joiner and programme and (zj > cm_z) and (v_payer >= payer_only)
            full_j = risk_j * index * xj * (months_j / 12.0)
            cost_j = risk_j * index * (xj * cm_keep) * (months_j / 12.0) if managed_j else full_j
            acc[y, F_SPEND] += (cost if attributed else 0.0) + (cost_j if attributed_j else 0.0)
            acc[y, F_MEMBER_MONTHS] += (months if attributed else 0.0) + (
                months_j if attributed_j else 0.0
            )
            acc[y, F_RISK_MONTHS] += (risk * months if attributed else 0.0) + (
                risk_j * months_j if attributed_j else 0.0
            )
            acc[y, F_DEMO_RISK_MONTHS] += (demo * months if attributed else 0.0) + (
                demo_j * months_j if attributed_j else 0.0
            )
            acc[y, F_MEMBERS] += (1.0 if attributed else 0.0) + (1.0 if attributed_j else 0.0)
            # Care-management months count whether or not the payer attributes the member; the
            # avoided cost only where it falls in the settlement.
            acc[y, F_CM_MONTHS] += (months if managed else 0.0) + (months_j if managed_j else 0.0)
            acc[y, F_CM_AVOIDED] += (full - cost if attributed and managed else 0.0) + (
                full_j - cost_j if attributed_j and managed_j else 0.0
            )
            c_occ = cost if attributed else -1.0
            c_join = cost_j if attributed_j else -1.0
            for k in range(n_att):
                point = attachments[k]
                acc[y, N_BASE_FIELDS + k] += max(c_occ - point, 0.0) + max(c_join - point, 0.0)
            if n_practices > 0:
                if attributed:
                    acc[y, first_practice + p] += cost
                    acc[y, first_practice + n_practices + p] += months
                if attributed_j:
                    acc[y, first_practice + p] += cost_j
                    acc[y, first_practice + n_practices + p] += months_j


def make_kernel(
    n_years: int,
    n_attachments: int,
    n_practices: int,
    block: int,
    lanes: int,
    **jit_options: Any,
) -> Any:
    """The kernel ``(k0, k1, trial0, params, attachments, practices, out)`` for one layout.

    ``out`` is float64[n_trials, n_years, N_BASE_FIELDS + n_attachments + 2 n_practices].
    Launch it with ``block`` threads per block and any number of blocks: each group of ``lanes``
    threads (a power of two dividing ``block``) simulates one trial at a time, thread ``l`` the
    slots ``l, l + lanes, ...``; the groups of the grid stride over the trials. The shapes are
    compile-time constants (local and shared arrays need them), so a kernel is built, and
    compiled for :data:`KERNEL_SIGNATURE`, per layout. Needs numba-cuda; ``jit_options`` go to
    :func:`numba.cuda.jit` (the gate decides them: see :mod:`simsettle.models.gpu`).
    """
    if lanes < 1 or lanes & (lanes - 1) or block < lanes or block % lanes:
        raise ValueError(
            f"lanes must be a power of two dividing block; got lanes={lanes}, block={block}"
        )
    global cuda  # bound on first use: the CUDA target is an optional extra
    from numba import cuda as _cuda

    cuda = _cuda
    n_fields = N_BASE_FIELDS + n_attachments + 2 * n_practices
    groups = block // lanes  # trials a block simulates at a time
    width = min(n_fields, max(1, _REDUCE_DOUBLES // block))  # fields summed per pass
    n_passes = (n_fields + width - 1) // width
    n_att_alloc = max(n_attachments, 1)  # a shared array of size 0 would be dynamic memory
    n_prac_alloc = max(n_practices, 1)
    f_trend = F_TREND_INDEX
    f_ref, f_quality, f_completion, f_nat = F_REF_INDEX, F_QUALITY, F_COMPLETION_Z, F_NAT_INDEX
    float64 = numba.float64

    @cuda.jit(KERNEL_SIGNATURE, **jit_options)  # type: ignore[untyped-decorator]
    def kernel(
        k0: np.uint32,
        k1: np.uint32,
        trial0: int,
        params: F8,
        attachments: F8,
        practices: F8,
        out: F8,
    ) -> None:  # pragma: no cover - runs on the device, or in the simulator's threads
        tid = cuda.threadIdx.x
        g = tid // lanes
        lane = tid % lanes
        # The inputs are copied to shared memory once per block: the model reads them from
        # there (and the simulator passes only real arrays to the @njit functions).
        par = cuda.shared.array(N_PARAMS, float64)
        att_all = cuda.shared.array(n_att_alloc, float64)
        prac_all = cuda.shared.array((n_prac_alloc, 2), float64)
        index = cuda.shared.array((groups, n_years), float64)
        part = cuda.shared.array((block, width), float64)
        acc = cuda.local.array((n_years, n_fields), float64)
        for j in range(tid, N_PARAMS, block):
            par[j] = params[j]
        for j in range(tid, n_attachments, block):
            att_all[j] = attachments[j]
        for j in range(tid, n_practices, block):
            prac_all[j, 0] = practices[j, 0]
            prac_all[j, 1] = practices[j, 1]
        att = att_all[:n_attachments]
        prac = prac_all[:n_practices]
        cuda.syncthreads()
        n_trials = out.shape[0]
        n_rounds = (n_trials + groups - 1) // groups
        # Every thread of a block runs the same rounds (the barriers need them all); a group
        # whose trial is past the end only takes part in the barriers.
        for r in range(cuda.blockIdx.x, n_rounds, cuda.gridDim.x):
            i = r * groups + g
            active = i < n_trials
            trial = trial0 + i
            for y in range(n_years):
                for f in range(n_fields):
                    acc[y, f] = 0.0
            if active and lane == 0:
                _system_years(k0, k1, trial, par, acc)
                for y in range(n_years):
                    index[g, y] = acc[y, f_trend]
            cuda.syncthreads()
            if active:
                for y in range(n_years):
                    acc[y, f_trend] = index[g, y]
                simulate_lane(k0, k1, trial, par, att, prac, acc, lane, lanes)
            # The lanes' sums are added in lane order, one field per thread of the group: the
            # CPU's order when lanes == LANES, and the same on every run.
            for y in range(n_years):
                for c in range(n_passes):
                    f0 = c * width
                    for j in range(width):
                        part[tid, j] = acc[y, f0 + j] if f0 + j < n_fields else 0.0
                    cuda.syncthreads()
                    if active:
                        for j in range(lane, min(width, n_fields - f0), lanes):
                            total = 0.0
                            for k in range(lanes):
                                total += part[g * lanes + k, j]
                            out[i, y, f0 + j] = total
                    cuda.syncthreads()
            # The trial-level fields, over their sums (the barrier above orders the writes).
            if active and lane == 0:
                for y in range(n_years):
                    out[i, y, f_trend] = acc[y, f_trend]
                    out[i, y, f_ref] = acc[y, f_ref]
                    out[i, y, f_quality] = acc[y, f_quality]
                    out[i, y, f_completion] = acc[y, f_completion]
                    out[i, y, f_nat] = acc[y, f_nat]

    return kernel


# Before any kernel here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(simulate_lane)
