"""Philox4x32-10: published known-answer vectors, the numpy twin, and the variate helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

from simsettle._kernels.elementary import vexp, vlog
from simsettle._kernels.rng import box_muller, cos_sin_2pi, philox4x32_10, u32_to_unit
from simsettle.models.population import key_from_seed
from simsettle.models.reference import philox4x32_10_reference

# Random123 kat_vectors, "philox4x32 10": counter, key, expected output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (
        (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF),
        (0xFFFFFFFF, 0xFFFFFFFF),
        (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD),
    ),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@njit(cache=True)
def _philox_many(counters, k0, k1, out):  # type: ignore[no-untyped-def]
    for i in range(counters.shape[0]):
        r = philox4x32_10(counters[i, 0], counters[i, 1], counters[i, 2], counters[i, 3], k0, k1)
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = r


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_known_answers(counter, key, expected):
    got = philox4x32_10(*(np.uint32(c) for c in counter), np.uint32(key[0]), np.uint32(key[1]))
    assert tuple(int(x) for x in got) == expected


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_reference_philox_known_answers(counter, key, expected):
    got = philox4x32_10_reference(np.array([counter]), np.array(key))
    assert tuple(int(x) for x in got[0]) == expected


def test_kernel_matches_reference_on_random_counters():
    rng = np.random.default_rng(0)
    counters = rng.integers(0, 2**32, size=(5000, 4), dtype=np.uint64).astype(np.uint32)
    key = rng.integers(0, 2**32, size=2, dtype=np.uint64).astype(np.uint32)
    out = np.empty_like(counters)
    _philox_many(counters, key[0], key[1], out)
    np.testing.assert_array_equal(out, philox4x32_10_reference(counters, key))


def test_key_from_seed_uses_seedsequence():
    k = key_from_seed(2026)
    expected = np.random.SeedSequence(2026).generate_state(2, np.uint32)
    assert (int(k[0]), int(k[1])) == (int(expected[0]), int(expected[1]))
    assert key_from_seed(1) != key_from_seed(2)
    with pytest.raises(ValueError, match="non-negative"):
        key_from_seed(-1)


def test_unit_interval_is_open():
    assert u32_to_unit(np.uint32(0)) == 0.5 / 2**32
    assert u32_to_unit(np.uint32(0xFFFFFFFF)) == 1.0 - 0.5 / 2**32
    assert 0.0 < u32_to_unit(np.uint32(0)) < u32_to_unit(np.uint32(0xFFFFFFFF)) < 1.0


def test_stream_is_uniform_and_normals_are_normal():
    n = 200_000
    counters = np.zeros((n, 4), dtype=np.uint32)
    counters[:, 0] = np.arange(n, dtype=np.uint32)
    counters[:, 3] = 7
    out = np.empty_like(counters)
    _philox_many(counters, np.uint32(1), np.uint32(2), out)
    u = (out.astype(np.float64) + 0.5) / 2**32
    # Every word is uniform: Kolmogorov-Smirnov on each column.
    for j in range(4):
        assert stats.kstest(u[:, j], "uniform").pvalue > 1e-4
    z = np.array([box_muller(a, b) for a, b in u[:20_000, :2]]).ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(z.mean()) < 4 / math.sqrt(z.size)
    # Words of one call are uncorrelated.
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 4 / math.sqrt(n)


@njit
def _cos_sin_many(u, c, s):
    for i in range(u.size):
        c[i], s[i] = cos_sin_2pi(u[i])


def test_cos_sin_2pi_is_accurate_on_every_word_and_exact_at_quarter_turns():
    # Every value u32_to_unit can return, thinned, plus both ends of every octant.
    words = np.arange(0, 2**32, 4099, dtype=np.float64)
    u = np.concatenate([(words + 0.5) / 2**32, np.arange(9) / 8, np.arange(9) / 8 + 2**-33])
    c, s = np.empty_like(u), np.empty_like(u)
    _cos_sin_many(u, c, s)
    # 2 pi u in long double (pi to 20 digits, not the double pi) judges a double to under an ulp.
    t = 2 * np.longdouble("3.14159265358979323846") * u.astype(np.longdouble)
    assert np.max(np.abs(c - np.cos(t))) < 3e-16
    assert np.max(np.abs(s - np.sin(t))) < 3e-16
    np.testing.assert_array_equal(c[-18:-9:2], [1.0, 0.0, -1.0, 0.0, 1.0])
    np.testing.assert_array_equal(s[-18:-9:2], [0.0, 1.0, 0.0, -1.0, 0.0])
    assert np.max(np.abs(c * c + s * s - 1.0)) < 5e-16


@njit
def _elementary_many(x, out_exp, u, out_log):
    for i in range(x.size):
        out_exp[i] = vexp(x[i])
    for i in range(u.size):
        out_log[i] = vlog(u[i])


def test_vexp_and_vlog_agree_with_numpy_to_a_few_ulp():
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-708, 709, 200_000), rng.normal(0, 3, 200_000), [0.0, 1.0]])
    words = rng.integers(0, 2**32, 200_000).astype(np.float64)
    u = np.concatenate([(words + 0.5) / 2**32, rng.uniform(1e-300, 1e300, 1000), [1.0, 2.0]])
    e, lg = np.empty_like(x), np.empty_like(u)
    _elementary_many(x, e, u, lg)
    assert np.max(np.abs(e / np.exp(x) - 1.0)) < 5e-16
    nonzero = np.abs(np.log(u)) > 0
    assert np.max(np.abs(lg[nonzero] / np.log(u[nonzero]) - 1.0)) < 5e-16
    assert e[-2] == 1.0
    assert lg[-2] == 0.0
    assert lg[-1] == np.log(2.0)
    # Clamped instead of overflowing or flushing to zero.
    _elementary_many(np.array([800.0, -800.0]), e[:2], u[:0], lg[:0])
    assert np.isfinite(e[:2]).all()
    assert (e[:2] > 0).all()
