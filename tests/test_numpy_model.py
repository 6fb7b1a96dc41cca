"""The numpy twin of the member-level model (benchmarks/numpy_model.py) against the engine.

The two use different random numbers (numpy's default generator against counter-based Philox),
so they agree in distribution, not in bits: for every field and year, the per-trial aggregates'
means agree within 4.5 combined standard errors and their standard deviations within 4.5
standard errors of the log ratio (estimated from each sample's kurtosis: about 14% for roughly
normal aggregates at 1,000 trials, wider for the heavy-tailed stop-loss excess); and the
correlations of consecutive years' aggregates within 4.5 standard errors of Fisher's z. The
perturbation tests check that the comparison has power: a slightly changed parameter fails it.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from simsettle._kernels import records as R
from simsettle.models.population import ModelInputs, compile_model, simulate_aggregates
from simsettle.scenario import parse_scenario

ROOT = Path(__file__).resolve().parent.parent


def _load_numpy_model():
    """benchmarks/ is not a package: load the module from its file."""
    spec = importlib.util.spec_from_file_location(
        "numpy_model", ROOT / "benchmarks" / "numpy_model.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("numpy_model", module)
    spec.loader.exec_module(module)
    return module


simulate_numpy = _load_numpy_model().simulate_numpy

K = 4.5  # standard errors allowed: with ~300 comparisons, a false alarm is about 1 in 500

REFERENCE = """\
schema_version: 1
seed: 1
trials: 10
first_performance_year: 2026
population: {members: 2000, turnover: 0.15}
cost: {pmpm: 1000.0}
designs:
  - {name: two_sided, template: commercial_two_sided}
  - {name: two_sided_sl, template: commercial_two_sided,
     stop_loss: {attachment: 250000.0, coinsurance: 0.1, premium_loading: 0.2}}
"""

CHURN = """\
schema_version: 1
seed: 2
trials: 10
first_performance_year: 2026
performance_years: 2
population:
  members: 2000
  turnover: 0.3
  replacement: 0.5
  ageing: 0.03
  entrant_risk_ratio: 0.8
  risk_sigma: 0.6
  risk_persistence: 0.6
  risk_score_accuracy: 0.5
  demographic_signal: 0.5
cost: {pmpm: 900.0, tail_probability: 0.03, tail_shape: 3.0}
trend: {mean: 0.05, sd: 0.03, reference_mean: 0.04, correlation: 0.5,
        national_correlation: 0.3, shock_probability: 0.2, shock_size: -0.1}
benchmark: {risk_model: demographic}
quality_model: {mean: 0.8, sd: 0.4, persistence: 0.6}
designs:
  - {name: low, template: commercial_two_sided,
     stop_loss: {attachment: 100000.0, coinsurance: 0.1, premium_loading: 0.2}}
  - {name: high, template: commercial_two_sided,
     stop_loss: {attachment: 300000.0, coinsurance: 0.1, premium_loading: 0.2}}
"""

ATTRIBUTION = """\
schema_version: 1
seed: 3
trials: 10
first_performance_year: 2026
population:
  members: 2000
  turnover: 0.2
  attribution_loss: 0.05
  entrant_risk_ratio: 1.15
  entrant_cost_ratio: 0.85
  attribution: {method: retrospective, payer_only_share: 0.2, provider_only_share: 0.1,
                payer_only_correlation: 0.5, provider_only_correlation: 0.4,
                leakage_share: 0.2}
cost: {pmpm: 1050.0, zero_cost_share: 0.25}
care_management: {high_risk_share: 0.1, effect: 0.2, cost_pmpm: 40.0}
designs:
  - {name: two_sided, template: commercial_two_sided}
"""

FREQUENCY_SEVERITY = """\
schema_version: 1
seed: 4
trials: 10
first_performance_year: 2026
population:
  members: 1000
  turnover: 0.2
  replacement: 0.7
  attribution: {method: blended, no_care_retention: 0.4, payer_only_share: 0.1}
cost: {pmpm: 1100.0, model: frequency_severity, claims_per_year: 6.0, claim_dispersion: 1.5,
       severity_sigma: 1.4, contagion: 0.05}
care_management: {high_risk_share: 0.08, effect: 0.15, start: all_years}
designs:
  - {name: sl, template: commercial_two_sided,
     stop_loss: {attachment: 150000.0, coinsurance: 0.1, premium_loading: 0.2}}
"""

# Claim severity families: a splice (weibull body, generalised Pareto tail: the engine's
# quantiles, numpy's weibull and Lomax) and inverse Gaussian claims (the engine's sum of a
# member-year's claims in one draw, numpy's wald claim by claim).
SPLICED_SEVERITY = FREQUENCY_SEVERITY.replace(
    "severity_sigma: 1.4,",
    "severity: {family: spliced, threshold: 6000, tail_probability: 0.04, "
    "body: {family: weibull, shape: 0.7}, tail: {family: gpd, shape: 0.3, scale: 4000}},",
)
INVERSE_GAUSSIAN_SEVERITY = FREQUENCY_SEVERITY.replace(
    "severity_sigma: 1.4,", "severity: {family: inverse_gaussian, cv: 2.5},"
)

# Claim-count families: a binomial with contagion (numpy's binomial at q x the year's factor)
# and a zero-modified negative binomial (numpy's, with the zeros of the members who claim
# redrawn until positive, where the kernel inverts).
BINOMIAL_COUNTS = FREQUENCY_SEVERITY.replace(
    "claim_dispersion: 1.5,", "claim_count: binomial, claim_trials: 20,"
)
ZERO_MODIFIED_COUNTS = FREQUENCY_SEVERITY.replace(
    "claim_dispersion: 1.5,",
    "claim_zero_probability: 0.4, claim_frailty: gamma, claim_dispersion: 0.7,",
).replace(", contagion: 0.05}", "}")

# The member-cost mixture's families: a gamma body with a bounded gpd tail, persistent (the
# engine's quantiles of its latent normals, numpy's scipy quantiles of its own), and an inverse
# Gaussian body with a heavy gpd tail drawn afresh each year (numpy's wald and Lomax).
MIXTURE_FAMILIES = CHURN.replace(
    "cost: {pmpm: 900.0, tail_probability: 0.03, tail_shape: 3.0}",
    "cost: {pmpm: 900.0, tail_probability: 0.03, body_family: gamma, body_cv: 1.6, "
    "tail_family: gpd, tail_shape: -0.2, tail_scale: 90000.0}",
)
MEMORYLESS_FAMILIES = REFERENCE.replace(
    "cost: {pmpm: 1000.0}",
    "cost: {pmpm: 1000.0, body_family: inverse_gaussian, body_cv: 2.5, tail_family: gpd, "
    "tail_shape: 0.3, tail_scale: 25000.0, persistence: 0.0}",
)

SCENARIOS = {
    "reference": REFERENCE,
    "mixture_families": MIXTURE_FAMILIES,
    "memoryless_families": MEMORYLESS_FAMILIES,
    "churn": CHURN,
    "attribution": ATTRIBUTION,
    "frequency_severity": FREQUENCY_SEVERITY,
    "spliced_severity": SPLICED_SEVERITY,
    "inverse_gaussian_severity": INVERSE_GAUSSIAN_SEVERITY,
    "binomial_counts": BINOMIAL_COUNTS,
    "zero_modified_counts": ZERO_MODIFIED_COUNTS,
}
TRIALS = 1000


def _inputs(name: str) -> ModelInputs:
    return compile_model(parse_scenario(SCENARIOS[name]).scenario)


def _field_name(f: int) -> str:
    return R.FIELD_NAMES[f] if f < R.N_BASE_FIELDS else f"excess_{f - R.N_BASE_FIELDS}"


def mismatches(a: np.ndarray, b: np.ndarray, k: float = K) -> list[str]:
    """(field, year) cells where two samples of per-trial aggregates disagree beyond MC error.

    ``a`` and ``b`` are (trials, years, fields). Means: |mean_a - mean_b| <= k x the standard
    error of the difference. Spreads: |log(sd_a / sd_b)| <= k x its standard error, from each
    sample's kurtosis (Var(log s) ~ (kurtosis - 1) / (4 n)). Constant cells must match exactly.
    Persistence: the correlation of years y and y + 1 agrees within k standard errors of
    Fisher's z.
    """
    assert a.shape[1:] == b.shape[1:]
    bad = []
    for f in range(a.shape[2]):
        for y in range(a.shape[1]):
            x1, x2 = a[:, y, f], b[:, y, f]
            n1, n2 = x1.size, x2.size
            m1, m2 = x1.mean(), x2.mean()
            v1, v2 = x1.var(ddof=1), x2.var(ddof=1)
            cell = f"{_field_name(f)}[year {y}]"
            scale = max(abs(m1), abs(m2), 1.0)
            if v1 <= (1e-12 * scale) ** 2 or v2 <= (1e-12 * scale) ** 2:
                if not (v1 == v2 == 0.0 or max(v1, v2) <= (1e-12 * scale) ** 2):
                    bad.append(f"{cell}: variance {v1:.4g} against {v2:.4g}")
                elif not math.isclose(m1, m2, rel_tol=1e-12, abs_tol=1e-12):
                    bad.append(f"{cell}: constant {m1:.6g} against {m2:.6g}")
                continue
            se = math.sqrt(v1 / n1 + v2 / n2)
            if abs(m1 - m2) > k * se:
                bad.append(f"{cell}: mean {m1:.6g} against {m2:.6g} ({(m1 - m2) / se:+.1f} SE)")
            kurt1 = np.mean((x1 - m1) ** 4) / np.mean((x1 - m1) ** 2) ** 2
            kurt2 = np.mean((x2 - m2) ** 4) / np.mean((x2 - m2) ** 2) ** 2
            se_log = math.sqrt((kurt1 - 1.0) / (4 * n1) + (kurt2 - 1.0) / (4 * n2))
            log_ratio = 0.5 * math.log(v1 / v2)
            if abs(log_ratio) > k * se_log:
                bad.append(
                    f"{cell}: sd {math.sqrt(v1):.4g} against {math.sqrt(v2):.4g} "
                    f"(ratio {math.exp(log_ratio):.3f}, {log_ratio / se_log:+.1f} SE)"
                )
    # Persistence: the correlation of consecutive years' aggregates, by Fisher's z.
    for f in range(a.shape[2]):
        for y in range(a.shape[1] - 1):
            r = []
            for x in (a, b):
                if np.std(x[:, y, f]) == 0.0 or np.std(x[:, y + 1, f]) == 0.0:
                    break
                r.append(np.corrcoef(x[:, y, f], x[:, y + 1, f])[0, 1])
            if len(r) < 2:
                continue
            se = math.sqrt(1.0 / (a.shape[0] - 3) + 1.0 / (b.shape[0] - 3))
            if abs(math.atanh(r[0]) - math.atanh(r[1])) > k * se:
                bad.append(
                    f"{_field_name(f)}[years {y}, {y + 1}]: "
                    f"correlation {r[0]:.3f} against {r[1]:.3f}"
                )
    return bad


def _engine(inputs: ModelInputs, n: int = TRIALS) -> np.ndarray:
    key = (np.uint32(12345), np.uint32(678))
    return simulate_aggregates(inputs, key, 0, n, parallel=False)


def _numpy(inputs: ModelInputs, n: int = TRIALS, seed: int = 2024) -> np.ndarray:
    # Batches keep the frequency-severity claim arrays small; results do not depend on them.
    return simulate_numpy(inputs, n, seed, batch_trials=250)


@pytest.fixture(scope="module")
def engine_runs() -> dict[str, np.ndarray]:
    return {name: _engine(_inputs(name)) for name in SCENARIOS}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_numpy_model_matches_the_engine(name, engine_runs):
    inputs = _inputs(name)
    got = _numpy(inputs)
    expected = engine_runs[name]
    assert got.shape == expected.shape == (TRIALS, inputs.n_years, inputs.n_fields)
    bad = mismatches(expected, got)
    assert not bad, f"{name}: numpy model and engine disagree:\n" + "\n".join(bad)


def _perturbed(inputs: ModelInputs, name: str, value: float) -> ModelInputs:
    params = inputs.params.copy()
    params[name] = value
    return replace(inputs, params=params)


@pytest.mark.parametrize(
    ("name", "parameter", "value", "field"),
    [
        ("reference", "turnover", 0.17, R.F_MEMBERS),  # 0.15 in the scenario
        ("churn", "replacement", 0.55, R.F_MEMBERS),  # 0.5
        ("churn", "risk_rho", 0.7, R.F_RISK_MONTHS),  # 0.6: entrants' shift fades slower
        ("attribution", "care_management_effect", 0.23, R.F_CM_AVOIDED),  # 0.2
        ("attribution", "terminal_mean", 45_000.0, R.F_SPEND),  # 32,227: decedents' episode
        ("attribution", "attribution_loss_rate", 0.08, R.F_MEMBERS),  # 0.05
        ("churn", "quality_rho", 0.75, R.F_QUALITY),  # 0.6: only the years' correlation moves
        ("spliced_severity", "severity_tail_probability", 0.07, R.F_SPEND),  # 0.04
        ("zero_modified_counts", "claim_zero_probability", 0.45, R.F_SPEND),  # 0.4
        ("mixture_families", "tail_xi", 0.0, R.F_SPEND),  # -0.2
    ],
)
def test_comparison_detects_a_perturbed_parameter(name, parameter, value, field, engine_runs):
    # The comparison has power: a small change of one parameter in the numpy model fails it,
    # in the field the parameter drives.
    bad = mismatches(engine_runs[name], _numpy(_perturbed(_inputs(name), parameter, value)))
    assert any(cell.startswith(_field_name(field) + "[") for cell in bad), bad


def test_batches_and_seeds():
    inputs = _inputs("churn")
    whole = simulate_numpy(inputs, 40, 7)
    batched = simulate_numpy(inputs, 40, 7, batch_trials=15)
    assert whole.shape == batched.shape == (40, inputs.n_years, inputs.n_fields)
    np.testing.assert_array_equal(whole, simulate_numpy(inputs, 40, 7))  # seeded
    assert not np.array_equal(whole, batched)  # a different draw order, the same model
    assert simulate_numpy(inputs, 0, 7).shape == (0, inputs.n_years, inputs.n_fields)


def test_practices_are_not_simulated():
    inputs = _inputs("reference")
    with_practices = replace(inputs, practices=np.array([[2000.0, 1.0]]))
    with pytest.raises(NotImplementedError, match="practices"):
        simulate_numpy(with_practices, 2, 0)
