"""Gate for the CUDA kernel: the member-level model on one NVIDIA GPU (optional extra ``[gpu]``).

:func:`simulate_aggregates_cuda` returns what :func:`simsettle.models.population.
simulate_aggregates` returns, from the same Philox streams and the same model code (see
:mod:`simsettle._kernels.cuda`). With the default ``lanes`` (the CPU kernel's ``LANES``) the
members are added in the CPU's order, so the aggregates are the CPU's to the bit wherever the
arithmetic is the same: everywhere on the simulator; on a GPU, up to the device's ``exp``/``log``
(libdevice against the host's libm) in the trial-level draws and the frequency-severity compound,
and the practices' fields, which the CPU adds in another order. Everything agrees within 1e-12
relative.

numba-cuda is imported only here, on first use. ``NUMBA_ENABLE_CUDASIM=1`` (set before
:mod:`numba.cuda` is first imported) runs the kernel on numba's CUDA simulator, on the CPU and
slowly: that is how the tests check it on machines without a GPU.

FMA contraction: libNVVM contracts a multiply feeding an add into a fused multiply-add by default
(its ``-fma=1``), even with ``fastmath=False``, and numba-cuda 0.30 exposes no option to turn it
off (NVIDIA/numba-cuda#118; a ``fma=`` argument is proposed in NVIDIA/numba-cuda#839). The gate
therefore compiles its kernels with ``-fma=0`` by wrapping ``numba.cuda.cudadrv.nvvm.compile_ir``
for the duration of the compilation only (with ``lto=False``, so that NVVM emits the final PTX;
PTX from ``-fma=0`` carries ``mul.rn``/``add.rn``, which ptxas does not fuse either).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from simsettle._kernels import records as R
from simsettle.errors import SimulationError
from simsettle.models.population import ModelInputs, check_inputs

__all__ = [
    "cuda_available",
    "kernel_resources",
    "simulate_aggregates_cuda",
    "theoretical_occupancy",
]

DEFAULT_BLOCK = 128
_KERNELS: dict[tuple[int, ...], Any] = {}
_LOCK = threading.Lock()
INSTALL_HINT = (
    "the GPU path needs numba-cuda and a CUDA toolkit: pip install 'simsettle[gpu]' "
    "(numba-cuda[cu12]); without a GPU, NUMBA_ENABLE_CUDASIM=1 runs it on numba's simulator"
)


def _cuda() -> Any:
    """:mod:`numba.cuda` from numba-cuda, or an ImportError that names the extra."""
    # numba itself still ships a deprecated CUDA target that numba-cuda replaces: ask for the
    # package by name so that the error says what to install.
    if importlib.util.find_spec("numba_cuda") is None:
        raise ImportError(INSTALL_HINT)
    from numba import cuda

    return cuda


def cuda_available() -> bool:
    """Whether :func:`simulate_aggregates_cuda` can run here (a GPU, or the simulator)."""
    try:
        cuda = _cuda()
    except ImportError:
        return False
    return bool(cuda.is_available())


@contextmanager
def _no_fma_contraction(cuda: Any) -> Iterator[None]:
    """Compile with libNVVM's ``-fma=0`` inside the block (no effect on the simulator)."""
    if cuda.config.ENABLE_CUDASIM:
        yield
        return
    from numba.cuda.cudadrv import nvvm

    original: Callable[..., Any] = nvvm.compile_ir

    def compile_ir(llvmir: Any, **options: Any) -> Any:
        options.setdefault("fma", False)
        return original(llvmir, **options)

    nvvm.compile_ir = compile_ir
    try:
        yield
    finally:
        nvvm.compile_ir = original


def _kernel(
    cuda: Any, layout: tuple[int, int, int, int, int, int], max_registers: int | None
) -> Any:
    """The compiled kernel for one layout (years, attachments, practices, block, lanes, fields
    per practice)."""
    from simsettle._kernels import cuda as _kernels

    key = (*layout, -1 if max_registers is None else max_registers)
    with _LOCK:
        kernel = _KERNELS.get(key)
        if kernel is None:
            options: dict[str, Any] = {}
            if not cuda.config.ENABLE_CUDASIM:  # the simulator takes no compiler options
                # lto=False: NVVM emits the final PTX, under -fma=0.
                options["lto"] = False
                if max_registers is not None:
                    options["max_registers"] = max_registers
            with _no_fma_contraction(cuda):
                kernel = _kernels.make_kernel(*layout, **options)
            _KERNELS[key] = kernel
    return kernel


def theoretical_occupancy(
    registers: int,
    block: int,
    *,
    shared_bytes: int = 0,
    sm_registers: int = 65536,
    sm_threads: int = 2048,
    sm_blocks: int = 32,
    sm_shared_bytes: int = 228 * 1024,
    register_granularity: int = 256,
) -> float:
    """The share of a multiprocessor's warp slots a kernel can keep resident (CUDA's
    occupancy calculator): blocks per multiprocessor are limited by registers (allocated per
    warp, in units of ``register_granularity``), by threads, by blocks and by shared memory.
    The defaults are Hopper's (H100, H200: compute capability 9.0)."""
    warps = -(-block // 32)
    per_warp = -(-registers * 32 // register_granularity) * register_granularity
    by_registers = (sm_registers // per_warp) // warps if per_warp else sm_blocks
    by_shared = sm_shared_bytes // shared_bytes if shared_bytes else sm_blocks
    blocks = min(by_registers, sm_threads // (warps * 32), sm_blocks, by_shared)
    return blocks * warps * 32 / sm_threads


def kernel_resources(
    inputs: ModelInputs, *, block: int = DEFAULT_BLOCK, lanes: int = R.LANES
) -> dict[str, float]:
    """Registers per thread, local (spilled) and shared bytes of the compiled kernel for
    ``inputs``' layout, and its theoretical occupancy on this device (needs a GPU; NaN on
    the simulator, which compiles nothing)."""
    cuda = _cuda()
    if cuda.config.ENABLE_CUDASIM:
        nan = float("nan")
        keys = ("registers", "local_bytes", "shared_bytes", "occupancy", "multiprocessors")
        return dict.fromkeys(keys, nan)
    n_att, n_prac = int(inputs.attachments.shape[0]), int(inputs.practices.shape[0])
    kernel = _kernel(
        cuda, (inputs.n_years, n_att, n_prac, block, lanes, inputs.practice_width), None
    )

    def one(value: Any) -> int:
        # The dispatcher answers per signature: a dict when not given one; it has exactly one.
        return int(next(iter(value.values())) if isinstance(value, dict) else value)

    registers = one(kernel.get_regs_per_thread())
    shared = one(kernel.get_shared_mem_per_block())
    local = one(kernel.get_local_mem_per_thread())
    device = cuda.get_current_device()
    occupancy = theoretical_occupancy(
        registers,
        block,
        shared_bytes=shared,
        sm_registers=int(device.MAX_REGISTERS_PER_MULTIPROCESSOR),
        sm_threads=int(device.MAX_THREADS_PER_MULTI_PROCESSOR),
        sm_shared_bytes=int(device.MAX_SHARED_MEMORY_PER_MULTIPROCESSOR),
    )
    return {
        "registers": registers,
        "local_bytes": local,
        "shared_bytes": shared,
        "occupancy": occupancy,
        "multiprocessors": int(device.MULTIPROCESSOR_COUNT),
    }


def simulate_aggregates_cuda(
    inputs: ModelInputs,
    key: tuple[np.uint32, np.uint32],
    trial0: int,
    n_trials: int,
    *,
    block: int = DEFAULT_BLOCK,
    lanes: int = R.LANES,
    grid: int | None = None,
    max_registers: int | None = None,
) -> npt.NDArray[np.float64]:
    """Aggregates of trials ``trial0 .. trial0 + n_trials - 1``, simulated on the GPU.

    Parameters
    ----------
    inputs, key, trial0, n_trials
        As for :func:`simsettle.models.population.simulate_aggregates`.
    block : int
        Threads per block, a multiple of ``lanes`` up to 1024.
    lanes : int
        Threads per trial, a power of two; thread ``l`` simulates the member slots ``l, l +
        lanes, ...``. The default, the CPU kernel's ``LANES``, adds the members in the CPU's
        order; more lanes put more threads on each trial (for runs of few trials).
    grid : int, optional
        Blocks to launch (default: enough for every trial at once); with fewer, each group of
        lanes takes several trials in turn.
    max_registers : int, optional
        Registers per thread the compiler may use (default: its choice; fewer registers, more
        threads resident per multiprocessor, some spilled to local memory).

    Returns
    -------
    float64 array (n_trials, n_years, n_fields)
        The same layout as the CPU gate's.

    Raises
    ------
    ImportError
        numba-cuda is not installed (the ``simsettle[gpu]`` extra).
    SimulationError
        No CUDA GPU is available and the simulator is not enabled.
    """
    if lanes < 1 or lanes & (lanes - 1):
        raise ValueError(f"lanes must be a power of two, got {lanes}")
    if block < lanes or block > 1024 or block % lanes:
        raise ValueError(f"block must be a multiple of lanes={lanes} up to 1024, got {block}")
    if grid is not None and grid < 1:
        raise ValueError(f"grid must be a positive number of blocks, got {grid}")
    params, attachments, practices = check_inputs(inputs, trial0, n_trials)
    shape = (n_trials, inputs.n_years, inputs.n_fields)
    cuda = _cuda()
    if not cuda.is_available():
        raise SimulationError(
            "no CUDA GPU is available (numba.cuda.is_available() is False); set "
            "NUMBA_ENABLE_CUDASIM=1 before numba.cuda is imported to use the simulator"
        )
    if n_trials == 0:
        return np.zeros(shape, dtype=np.float64)
    n_att, n_prac = int(attachments.shape[0]), int(practices.shape[0])
    width = inputs.practice_width
    kernel = _kernel(cuda, (inputs.n_years, n_att, n_prac, block, lanes, width), max_registers)
    # The kernel reads only the first n_att / n_prac rows: pad empty inputs to one row, so no
    # zero-size device allocation is made.
    d_attachments = cuda.to_device(attachments if n_att else np.zeros(1))
    d_practices = cuda.to_device(practices if n_prac else np.zeros((1, 2)))
    d_out = cuda.to_device(np.zeros(shape, dtype=np.float64))
    groups = block // lanes
    blocks = min(-(-n_trials // groups), 2**31 - 1) if grid is None else grid
    kernel[blocks, block](
        np.uint32(key[0]), np.uint32(key[1]), trial0, params[0], d_attachments, d_practices, d_out
    )
    out: npt.NDArray[np.float64] = d_out.copy_to_host()
    return out
