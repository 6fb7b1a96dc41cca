"""The member-level model on CUDA GPUs (numba-cuda), giving the CPU kernel's aggregates.

Nothing here needs numba-cuda at import: :func:`simulate_lane` is an ordinary ``@njit``
function, and :func:`make_kernel` imports :mod:`numba.cuda` only when it builds a kernel.

* :func:`simulate_lane` is one lane of :func:`simsettle._kernels.population._simulate_trial`
  (member slots ``first, first + stride, ...``): the member-year rule of
  :mod:`~simsettle._kernels.member`, which the CPU kernel runs too, with the same counters,
  streams and words and the same per-lane sums. numba-cuda compiles a CPU ``@njit`` function
  called from a kernel into a device function from its Python source, so the CPU and the GPU
  run one definition of the rule; only its layout differs (the CPU runs a block of lanes
  through a shared scratch array, a GPU thread one slot at a time).
* The kernel built by :func:`make_kernel` gives each trial a group of ``lanes`` threads (several
  groups per block; the grid strides over the trials). The group's lane 0 draws the trial-level
  years (:func:`~simsettle._kernels.member.system_years`) and shares the cost index; thread
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

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from numba import njit

from simsettle._kernels import cacheguard as _cacheguard
from simsettle._kernels import member as M
from simsettle._kernels.records import (
    F_COMPLETION_Z,
    F_CONTAGION,
    F_NAT_INDEX,
    F_QUALITY,
    F_REF_INDEX,
    F_TREND_INDEX,
    LANE_FIELDS,
    MODEL_DTYPE,
    N_BASE_FIELDS,
    N_LANE_FIELDS,
)

__all__ = ["KERNEL_SIGNATURE", "TRIAL_FIELDS", "make_kernel", "simulate_lane"]

F8 = npt.NDArray[np.float64]

cuda: Any = None  # numba.cuda, bound by make_kernel: a module global, so the simulator swaps it

# Fields drawn once per trial-year (by a group's lane 0), not summed over members.
TRIAL_FIELDS = (F_TREND_INDEX, F_REF_INDEX, F_QUALITY, F_COMPLETION_Z, F_NAT_INDEX, F_CONTAGION)
# The lanes' sums pass through shared memory (block x width) float64 at a time, at most this many.
_REDUCE_DOUBLES = 4096
#: (k0, k1, trial0, the parameter record (a MODEL_DTYPE record, which numba-cuda copies to the
#: device and passes by reference), attachments, practices, out).
KERNEL_SIGNATURE = numba.void(
    numba.uint32,
    numba.uint32,
    numba.int64,
    numba.from_dtype(MODEL_DTYPE),
    numba.float64[::1],
    numba.float64[:, ::1],
    numba.float64[:, :, ::1],
)


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_lane(
    k0: np.uint32,
    k1: np.uint32,
    trial: int,
    record: Any,
    attachments: F8,
    practices: F8,
    acc: F8,
    first: int,
    stride: int,
) -> None:
    """Add member slots ``first, first + stride, ...`` of one trial to ``acc`` (years x fields).

    ``record`` is the model's parameter record (a ``MODEL_DTYPE`` record); ``acc[:,
    F_TREND_INDEX]`` and ``acc[:, F_CONTAGION]`` must hold the trial's cost index and claim
    contagion (from ``system_years``). The member-year
    rule is :mod:`~simsettle._kernels.member`'s, as on the CPU, laid out one slot at a time: the
    same words and the same sums, the occupant's and the joiner's part of a slot-year added
    together first. With ``stride = LANES`` it reproduces the CPU's lane sum of lane ``first`` to
    the bit (tests/test_gpu.py checks it). The practices' fields are the exception: the CPU adds
    them in slot order across lanes. Unlike the CPU, a thread draws the leaver's words and the
    claims only where it needs them (a branch costs a GPU thread less than a Philox call).
    """
    m = M.member_model(record)
    n_years = acc.shape[0]
    n_att = attachments.shape[0]
    n_practices = practices.shape[0]
    first_practice = N_BASE_FIELDS + n_att
    # Every member field per practice where practices join or leave, else spend and months.
    detail = n_practices > 0 and acc.shape[1] > first_practice + 2 * n_practices
    ctr = np.uint32(trial)

    p = 0
    for slot in range(first, m.n_members, stride):
        mm = np.uint32(m.offset + slot)
        # Slots are assigned to practices in order: practice k holds slots below bound k (the
        # slots of a lane increase, so the search goes on from the last one's practice).
        ratio = 1.0
        if n_practices > 0:
            while p + 1 < n_practices and slot >= practices[p, 0]:
                p += 1
            ratio = practices[p, 1]
        state = M.start_state()
        for y in range(n_years):
            occupant, _, joiner, state, _ = M.slot_year(
                m, k0, k1, ctr, y, mm, state, acc[y, F_TREND_INDEX], ratio, acc[y, F_CONTAGION]
            )
            sums = M.slot_sums(occupant, joiner)
            for f in range(N_LANE_FIELDS):
                acc[y, LANE_FIELDS[f]] += sums[f]
            attributed, managed, full, cost, months, risk, demo = occupant
            attributed_j, managed_j, full_j, cost_j, months_j, risk_j, demo_j = joiner
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
                if detail:
                    a_occ = full - cost if attributed & managed else 0.0
                    a_join = full_j - cost_j if attributed_j & managed_j else 0.0
                    stay = (attributed, managed, a_occ, cost, months, risk, demo)
                    M.practice_detail(acc, y, first_practice, n_practices, p, attachments, stay)
                    stay_j = (attributed_j, managed_j, a_join, cost_j, months_j, risk_j, demo_j)
                    M.practice_detail(acc, y, first_practice, n_practices, p, attachments, stay_j)


@njit(cache=True, nogil=True, inline="always")
def _device_record(record: Any) -> Any:
    """The parameter record as the kernel received it (on a GPU: a reference to device memory)."""
    return record


def _simulator_record(record: Any) -> Any:  # pragma: no cover - runs in the simulator's threads
    """The numpy record inside the simulator's fake device array."""
    return record._ary


def make_kernel(
    n_years: int,
    n_attachments: int,
    n_practices: int,
    block: int,
    lanes: int,
    practice_width: int = 2,
    **jit_options: Any,
) -> Any:
    """The kernel ``(k0, k1, trial0, params, attachments, practices, out)`` for one layout.

    ``params`` is the parameter record, a ``MODEL_DTYPE`` record (``inputs.params[()]``).

    ``out`` is float64[n_trials, n_years, N_BASE_FIELDS + n_attachments + practice_width x
    n_practices]: ``practice_width`` fields per practice, 2 (spend, member months) or, where
    practices join or leave, ``N_LANE_FIELDS + n_attachments`` (see ``records``).
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
    n_fields = N_BASE_FIELDS + n_attachments + practice_width * n_practices
    groups = block // lanes  # trials a block simulates at a time
    width = min(n_fields, max(1, _REDUCE_DOUBLES // block))  # fields summed per pass
    n_passes = (n_fields + width - 1) // width
    n_att_alloc = max(n_attachments, 1)  # a shared array of size 0 would be dynamic memory
    n_prac_alloc = max(n_practices, 1)
    f_trend, f_contagion = F_TREND_INDEX, F_CONTAGION
    f_ref, f_quality, f_completion, f_nat = F_REF_INDEX, F_QUALITY, F_COMPLETION_Z, F_NAT_INDEX
    # The simulator runs the kernel as Python and hands it the record wrapped as a fake device
    # array, which the @njit functions cannot take: they get the numpy record inside it.
    host_record = _simulator_record if cuda.config.ENABLE_CUDASIM else _device_record
    float64 = numba.float64

    @cuda.jit(KERNEL_SIGNATURE, **jit_options)  # type: ignore[untyped-decorator]
    def kernel(
        k0: np.uint32,
        k1: np.uint32,
        trial0: int,
        params: Any,
        attachments: F8,
        practices: F8,
        out: F8,
    ) -> None:  # pragma: no cover - runs on the device, or in the simulator's threads
        tid = cuda.threadIdx.x
        g = tid // lanes
        lane = tid % lanes
        # The parameter record stays in global memory (member_model reads each field once per
        # trial); the arrays are copied to shared memory once per block and the model reads
        # them from there (the simulator passes only real arrays to the @njit functions).
        record = host_record(params)
        att_all = cuda.shared.array(n_att_alloc, float64)
        prac_all = cuda.shared.array((n_prac_alloc, 2), float64)
        index = cuda.shared.array((groups, n_years), float64)
        contagion = cuda.shared.array((groups, n_years), float64)
        part = cuda.shared.array((block, width), float64)
        acc = cuda.local.array((n_years, n_fields), float64)
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
                M.system_years(k0, k1, trial, record, acc)
                for y in range(n_years):
                    index[g, y] = acc[y, f_trend]
                    contagion[g, y] = acc[y, f_contagion]
            cuda.syncthreads()
            if active:
                for y in range(n_years):
                    acc[y, f_trend] = index[g, y]
                    acc[y, f_contagion] = contagion[g, y]
                simulate_lane(k0, k1, trial, record, att, prac, acc, lane, lanes)
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
                    out[i, y, f_contagion] = acc[y, f_contagion]

    return kernel


# Before any kernel here is loaded from numba's cache: clear the cache if any kernel source
# changed since it was built (numba itself watches only this file).
_cacheguard.check(simulate_lane)
