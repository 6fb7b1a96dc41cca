"""Claim-count families of the frequency-severity model: the binomial and the zero-modified
Poisson, negative binomial and binomial (``cost.claim_count``, ``claim_trials``,
``claim_zero_probability``).

The count law's moments and recursion against scipy; the kernel's counts against scipy's
probabilities (a chi-square test); the engine against the reference twin (scipy's inverse
distribution function) to the bit, and against the exact oracle within Monte Carlo error
(tests/test_exact.py); the scenario's rules.
"""

from __future__ import annotations

import math
import re

import numba
import numpy as np
import pytest
from scipy import stats

from simsettle import ScenarioError, parse_scenario
from simsettle._kernels import member as M
from simsettle._kernels import records as R
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.scenario.frequency import CountLaw, count_law
from simsettle.scenario.schema import Cost
from tests.conftest import SMALL_SCENARIO, assert_twin_agrees

# (family, size, zero probability): the binomial, and every family zero-modified, above and
# below its own probability of no claims (zero-inflated and zero-deflated).
LAWS = [
    ("binomial", 12.0, None),
    ("binomial", 5.0, None),
    ("poisson", 0.0, 0.6),
    ("poisson", 0.0, 0.01),
    ("negative_binomial", 2.0, 0.7),
    ("negative_binomial", 0.5, 0.2),
    ("binomial", 20.0, 0.3),
    ("binomial", 20.0, 0.0),
]
MEAN = 3.0


def _scipy_pmf(law: CountLaw, k: np.ndarray) -> np.ndarray:
    mu, size = law.base_mean, law.size
    if law.family == "poisson":
        pmf = stats.poisson(mu).pmf(k)
    elif law.family == "negative_binomial":
        pmf = stats.nbinom(size, size / (size + mu)).pmf(k)
    else:
        pmf = stats.binom(int(size), mu / size).pmf(k)
    zero = law.zero_probability
    if zero is None:
        return pmf
    p0 = pmf[0] if k[0] == 0 else law.p0
    return np.where(k == 0, zero, (1.0 - zero) * pmf / (1.0 - p0))


def _ids(case) -> str:
    return f"{case[0]}-{case[1]:g}-{case[2]}"


@pytest.mark.parametrize("case", LAWS, ids=_ids)
def test_the_law_is_scipys(case) -> None:
    """The base mean solved for the mean count; mean, variance and the (a, b) recursion."""
    law = count_law(case[0], MEAN, case[1], case[2])
    k = np.arange(2000)
    pmf = _scipy_pmf(law, k)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    mean = float((k * pmf).sum())
    assert mean == pytest.approx(MEAN, rel=1e-10)
    assert law.mean == pytest.approx(MEAN, rel=1e-10)
    assert law.variance == pytest.approx(float((k * k * pmf).sum()) - mean**2, rel=1e-9)
    a, b = law.ab
    rec = [law.p0]
    for j in range(1, 12):
        rec.append((a + b / j) * rec[-1])
    base = _scipy_pmf(CountLaw(law.family, law.base_mean, law.size), np.arange(12))
    np.testing.assert_allclose(rec, base, rtol=1e-10, atol=1e-300)


def _record(law: CountLaw) -> np.void:
    from simsettle.models.population import count_fields

    rec = np.zeros((), dtype=R.MODEL_DTYPE)
    for name, value in count_fields(law).items():
        rec[name] = value
    return rec.reshape(1)[0]


@numba.njit(cache=False)
def _draw_counts(record, contagion: float, size: int) -> np.ndarray:
    m = M.member_model(record)
    out = np.empty(size, dtype=np.int64)
    for i in range(size):
        out[i] = M.claim_count(m, (i + 0.5) / size, contagion)
    return out


@pytest.mark.parametrize("case", LAWS, ids=_ids)
def test_the_kernels_inversion_is_the_laws(case) -> None:
    """The kernel's counts at an even grid of 200,000 uniforms (a quasi-random sample: each
    count's share is its probability within 1 / 200,000) against scipy's pmf."""
    law = count_law(case[0], MEAN, case[1], case[2])
    n = 200_000
    got = np.bincount(_draw_counts(_record(law), 1.0, n), minlength=60)[:60] / n
    want = _scipy_pmf(law, np.arange(60))
    np.testing.assert_allclose(got, want, atol=2.0 / n)


def test_the_contagion_scales_a_binomials_probability() -> None:
    """A year's factor 1.5 on a binomial of mean 3 in 12 trials: binomial(12, 0.375); and a
    factor that takes q to 1 or more gives every trial."""
    law = count_law("binomial", MEAN, 12.0)
    n = 200_000
    got = np.bincount(_draw_counts(_record(law), 1.5, n), minlength=13) / n
    np.testing.assert_allclose(got, stats.binom(12, 0.375).pmf(np.arange(13)), atol=2.0 / n)
    assert set(_draw_counts(_record(law), 4.0, 100)) == {12}


@pytest.mark.parametrize(
    "case",
    [
        ("poisson", 0.0, 0.2),
        ("negative_binomial", 500.0, 0.1),
        ("binomial", 5000.0, None),
        # Skewed (size 2): walked exactly, not approximated.
        ("negative_binomial", 2.0, 0.1),
    ],
)
def test_large_means_take_a_normal_approximation_with_the_laws_moments(case) -> None:
    """Above a variance of 400 the kernel draws a near-normal count from a normal of the base
    count's mean and variance (the twins do not follow it there), and walks a skewed negative
    binomial exactly: the mean and variance of 200,000 counts of mean 1,000."""
    law = count_law(case[0], 1000.0, case[1], case[2])
    n = 200_000
    x = _draw_counts(_record(law), 1.0, n).astype(np.float64)
    # The even grid of uniforms gives the exact quantiles: the error is the approximation's.
    assert abs(x.mean() - law.mean) < 5.0 * math.sqrt(law.variance / n)
    assert x.var() == pytest.approx(law.variance, rel=0.02)
    if case[1] == 2.0:  # exact: the grid's counts are the law's quantiles
        pmf = _scipy_pmf(law, np.arange(200))
        got = np.bincount(x.astype(np.int64), minlength=200)[:200] / n
        np.testing.assert_allclose(got, pmf, atol=2.0 / n)
    if law.zero_probability is not None:
        assert np.mean(x == 0) == pytest.approx(law.zero_probability, abs=2.0 / n)


# ------------------------------------------------------------------ the engine


def _scenario(count: str, members: int = 30, extra: str = ""):
    text = SMALL_SCENARIO.replace("members: 300", f"members: {members}").replace(
        "  pmpm: 900.0\n",
        f"  pmpm: 900.0\n  model: frequency_severity\n  claims_per_year: 4.0\n{count}{extra}",
    )
    return parse_scenario(text).scenario


ENGINE = {
    "binomial": "  claim_count: binomial\n  claim_trials: 10\n",
    "binomial_contagion": "  claim_count: binomial\n  claim_trials: 60\n  contagion: 0.05\n",
    "zero_modified_poisson": "  claim_zero_probability: 0.55\n",
    "zero_modified_negative_binomial": "  claim_zero_probability: 0.4\n"
    "  claim_frailty: gamma\n  claim_dispersion: 0.8\n",
    "zero_modified_binomial": "  claim_count: binomial\n  claim_trials: 8\n"
    "  claim_zero_probability: 0.05\n  severity: {family: gamma, cv: 1.5}\n",
}


@pytest.mark.parametrize("name", list(ENGINE))
@pytest.mark.parametrize("trial", [0, 2**31 + 9])
def test_kernel_matches_its_reference_twin(name: str, trial: int) -> None:
    sc = _scenario(ENGINE[name])
    assert_twin_agrees(sc, trial)


def test_the_mean_cost_is_kept() -> None:
    """The zero-modified count keeps the mean count, so the spend keeps 12 x pmpm: 2,000
    trials of 30 Poisson-like members with 55% non-users."""
    sc = _scenario(ENGINE["zero_modified_poisson"], extra="  severity_sigma: 1.0\n")
    sc = sc.model_copy(
        update={
            "population": sc.population.model_copy(
                update={"turnover": 0.0, "risk_sigma": 0.0, "mortality": 0.0}
            )
        }
    )
    inputs = compile_model(sc)
    agg = simulate_aggregates(inputs, key_from_seed(sc.seed), 0, 2000)
    spend = agg[:, 0, R.F_SPEND] / agg[:, 0, R.F_TREND_INDEX]
    want = 30 * 12 * 900.0 / sc.population.departure_load
    se = spend.std(ddof=1) / math.sqrt(spend.size)
    assert abs(spend.mean() - want) < 4.0 * se, (spend.mean(), want, se)


def test_the_member_cv_uses_the_counts_variance() -> None:
    """CV^2 = CV_s^2 / E[N] + Var(N) / E[N]^2: a binomial of 4 in 10 trials (variance 2.4)
    and lognormal claims of CV 1."""
    c = Cost(
        pmpm=900.0,
        model="frequency_severity",
        claims_per_year=4.0,
        claim_count="binomial",
        claim_trials=10,
        severity={"family": "lognormal", "cv": 1.0},
    )
    assert c.claim_dispersion == 0.0
    assert c.compound_cv == pytest.approx(math.sqrt(1.0 / 4.0 + 2.4 / 16.0), rel=1e-12)


@pytest.mark.parametrize(
    ("count", "message"),
    [
        ("  claim_count: binomial\n", "needs claim_trials"),
        ("  claim_trials: 5\n", "claim_count: binomial"),
        ("  claim_count: binomial\n  claim_trials: 3\n", "a mean of at most 3"),
        ("  claim_count: binomial\n  claim_trials: 10\n  claim_dispersion: 0.5\n", "beta-binomial"),
        ("  claim_zero_probability: 0.8\n  claims_per_year: 0.1\n", "a mean above 0.2"),
        ("  claim_zero_probability: 0.3\n  contagion: 0.1\n", "not with contagion"),
        ("  claim_zero_probability: 0.3\n  claim_dispersion: 0.5\n", "not on a lognormal frailty"),
        ("  claim_count: binomial\n  claim_trials: 5\n  contagion: 0.5\n", "above 1 in up to"),
    ],
)
def test_bad_counts_are_refused_at_the_field(count: str, message: str) -> None:
    mean = "" if "claims_per_year" in count else "  claims_per_year: 4.0\n"
    text = SMALL_SCENARIO.replace(
        "  pmpm: 900.0\n", f"  pmpm: 900.0\n  model: frequency_severity\n{mean}{count}"
    )
    with pytest.raises(ScenarioError, match=message) as err:
        parse_scenario(text)
    assert re.match(r"<string>:\d+:\d+: cost\.", str(err.value)), str(err.value)


def test_counts_need_the_frequency_severity_model() -> None:
    for field in ("claim_count: binomial", "claim_trials: 4", "claim_zero_probability: 0.2"):
        text = SMALL_SCENARIO.replace("  pmpm: 900.0\n", f"  pmpm: 900.0\n  {field}\n")
        with pytest.raises(ScenarioError, match="needs model: frequency_severity"):
            parse_scenario(text)
