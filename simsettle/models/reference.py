"""Slow, obviously correct twins of the random number generator and the member-level model.

Plain numpy and Python, one member and one year at a time, written from the model's description
rather than from the kernel: tests compare the kernel's per-trial aggregates with these on small
populations. Never used by the engine itself.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

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


def simulate_trial_reference(
    scenario: Scenario, key: tuple[int, int], trial: int, attachments: list[float]
) -> npt.NDArray[np.float64]:
    """Aggregates of one trial, (simulated year, field), fields as in the kernel.

    Fields: spend, member months, risk x months, members, trend index, then the summed excess of
    member cost over each attachment.
    """
    pop, cost, trend = scenario.population, scenario.cost, scenario.trend
    n_years = scenario.benchmark.base_years + scenario.performance_years
    out = np.zeros((n_years, 5 + len(attachments)))
    body_mu = math.log(cost.body_mean) - cost.body_sigma**2 / 2

    def risk_score(z: float) -> float:
        return math.exp(pop.risk_sigma * z - pop.risk_sigma**2 / 2)

    def annual_cost(u: float, z: float) -> float:
        if u < cost.zero_cost_share:
            return 0.0
        if u < cost.zero_cost_share + cost.tail_probability:
            v = (u - cost.zero_cost_share) / cost.tail_probability
            return float(cost.tail_threshold * v ** (-1.0 / cost.tail_shape))
        return math.exp(body_mu + cost.body_sigma * z)

    def add(y: int, c: float, months: float, risk: float) -> None:
        out[y, 0] += c
        out[y, 1] += months
        out[y, 2] += risk * months
        out[y, 3] += 1
        for k, a in enumerate(attachments):
            if c > a:
                out[y, 5 + k] += c - a

    index = [1.0]
    for y in range(1, n_years):
        u = _words(trial, y, 0xFFFFFFFF, 2, key)
        g, _ = _normals(u[0], u[1])
        growth = math.exp(math.log1p(trend.mean) - trend.sd**2 / 2 + trend.sd * g)
        index.append(index[-1] * growth)
    out[:, 4] = index

    for m in range(pop.members):
        z = 0.0
        is_new = True
        for y in range(n_years):
            a = _words(trial, y, m, 0, key)
            b = _words(trial, y, m, 1, key)
            e1, e2 = _normals(a[2], a[3])
            n1, n2 = _normals(b[2], b[3])
            if is_new:
                z, z_joiner = e2, e1
            else:
                z, z_joiner = (
                    pop.risk_persistence * z + math.sqrt(1 - pop.risk_persistence**2) * e1,
                    e2,
                )
            leaves = a[0] < pop.turnover
            months = 12.0 * a[1] if leaves else 12.0
            add(
                y,
                risk_score(z) * index[y] * annual_cost(b[0], n1) * months / 12,
                months,
                risk_score(z),
            )
            is_new = False
            if leaves:
                if a[0] / pop.turnover < pop.replacement:
                    z = z_joiner
                    add(
                        y,
                        risk_score(z) * index[y] * annual_cost(b[1], n2) * (12 - months) / 12,
                        12 - months,
                        risk_score(z),
                    )
                else:
                    is_new = True
    return out
