"""The occupancy arithmetic benchmarks/gpu.py reports (no GPU needed): CUDA's occupancy
calculator on Hopper's limits (65,536 registers, 2,048 threads and 32 blocks per
multiprocessor, registers allocated 256 at a time per warp)."""

from __future__ import annotations

import pytest

from simsettle.models.gpu import theoretical_occupancy


@pytest.mark.parametrize(
    ("registers", "block", "want"),
    [
        (128, 128, 0.25),  # 4,096 registers a warp: 16 warps, 4 blocks of 4 warps
        (64, 128, 0.5),
        (40, 128, 0.75),  # 1,280 a warp: 51 warps, 12 whole blocks = 48 warps
        (255, 256, 0.125),  # 8,160 -> 8,192 a warp: 8 warps, one block of 8
        (32, 1024, 1.0),  # threads bind: 2 blocks of 1,024
        (16, 32, 0.5),  # blocks bind: 32 blocks of 1 warp
    ],
)
def test_occupancy_by_hand(registers, block, want):
    assert theoretical_occupancy(registers, block) == want


def test_shared_memory_can_bind():
    # 100 KiB a block: 2 blocks in 228 KiB, 8 warps of 64.
    assert theoretical_occupancy(32, 128, shared_bytes=100 * 1024) == 0.125
