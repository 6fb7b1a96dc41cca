"""Round trips of the calibration (slow): data simulated from known parameters fit back to them.

Three parameter sets (an MSSP-like population, a commercial one with high turnover, partial
replacement and healthier entrants, and a Medicaid-like one with many zero-cost members and a
lighter tail), each simulated member by member with
:func:`simsettle.calibrate.synthetic_claims` (fixed seeds) and calibrated:

* with risk scores and enrolment, 4 years (about 30,000 to 48,000 member-years);
* without either (months only; joins and departures inferred), 5 years, so that the
  persistence of risk is identified from the panel of costs.

At most one fitted field of each sample may lie outside its 99% interval (13 fields: a sample
has two or more outside with probability under 1%; with 95% intervals about half the samples
would miss one). The coverage test then measures the 95% intervals over several seeds.
Measured with the defaults (``method="auto"``), the three sets, seeds 40 to 45 with scores and
40 to 43 without: 224 of 234 field-samples inside with scores (95.7%; the shape was re-solved
to the spend shares in 1 of the 18 samples) and 147 of 156 without (94.2%; 2 of 12 re-solved).

Medicare's published concentration (top 1%, 5% and 10% of member-years carry 14.9%, 41.5% and
60.0% of spend; cms_methodology.md section 4.3) is met by :func:`fit_shares` exactly; a
population drawn from that shape and calibrated with the defaults must reproduce the three
figures within two percentage points.
"""

from __future__ import annotations

import pytest

from simsettle.calibrate import calibrate, fit_shares, synthetic_claims
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import cost_moments

pytestmark = pytest.mark.slow

SETS = {
    "mssp_like": {
        "members": 8000,
        "turnover": 0.16,
        "replacement": 1.0,
        "risk_sigma": 0.5,
        "risk_persistence": 0.75,
        "entrant_risk_ratio": 1.0,
        "pmpm": 1100.0,
        "zero_cost_share": 0.15,
        "body_sigma": 1.2,
        "tail_probability": 0.04,
        "tail_threshold": 60000.0,
        "tail_shape": 4.0,
        "mean": 0.04,
        "sd": 0.02,
    },
    "commercial": {
        "members": 10000,
        "turnover": 0.25,
        "replacement": 0.8,
        "risk_sigma": 0.7,
        "risk_persistence": 0.6,
        "entrant_risk_ratio": 0.85,
        "pmpm": 450.0,
        "zero_cost_share": 0.25,
        "body_sigma": 1.0,
        "tail_probability": 0.02,
        "tail_threshold": 40000.0,
        "tail_shape": 3.0,
        "mean": 0.06,
        "sd": 0.03,
    },
    "medicaid_like": {
        "members": 6000,
        "turnover": 0.35,
        "replacement": 0.6,
        "risk_sigma": 0.4,
        "risk_persistence": 0.85,
        "entrant_risk_ratio": 1.15,
        "pmpm": 300.0,
        "zero_cost_share": 0.3,
        "body_sigma": 1.4,
        "tail_probability": 0.06,
        "tail_threshold": 20000.0,
        "tail_shape": 5.0,
        "mean": 0.03,
        "sd": 0.01,
    },
}

FIELDS = {
    "cost.pmpm": "pmpm",
    "cost.zero_cost_share": "zero_cost_share",
    "cost.body_sigma": "body_sigma",
    "cost.tail_probability": "tail_probability",
    "cost.tail_threshold": "tail_threshold",
    "cost.tail_shape": "tail_shape",
    "population.risk_sigma": "risk_sigma",
    "population.risk_persistence": "risk_persistence",
    "population.turnover": "turnover",
    "population.replacement": "replacement",
    "population.entrant_risk_ratio": "entrant_risk_ratio",
    "trend.mean": "mean",
    "trend.sd": "sd",
}


def _scenario(p: dict[str, float]):
    return parse_scenario(
        f"""\
schema_version: 1
seed: 1
trials: 10
population:
  members: {int(p["members"])}
  turnover: {p["turnover"]}
  mortality: 0.0
  replacement: {p["replacement"]}
  risk_sigma: {p["risk_sigma"]}
  risk_persistence: {p["risk_persistence"]}
  entrant_risk_ratio: {p["entrant_risk_ratio"]}
cost:
  pmpm: {p["pmpm"]}
  zero_cost_share: {p["zero_cost_share"]}
  body_sigma: {p["body_sigma"]}
  tail_probability: {p["tail_probability"]}
  tail_threshold: {p["tail_threshold"]}
  tail_shape: {p["tail_shape"]}
  persistence: 0.0
trend:
  mean: {p["mean"]}
  sd: {p["sd"]}
designs:
  - name: d
    kind: upside_only
    shared_savings_rate: 0.5
"""
    ).scenario


def _misses(p: dict[str, float], scores: bool, seed: int, confidence: float):
    years = 4 if scores else 5
    syn = synthetic_claims(_scenario(p), years=years, seed=seed)
    cal = calibrate(
        syn.member_years(risk_scores=scores, enrollment=scores),
        confidence=confidence,
        bootstrap=200,
    )
    checked, missed = 0, []
    for field, key in FIELDS.items():
        est = cal.estimates[field]
        if est.assumed:
            continue
        checked += 1
        if not est.contains(p[key]):
            missed.append(
                f"{field}: {est.value:.4g} [{est.lower:.4g}, {est.upper:.4g}] vs {p[key]}"
            )
    return cal, checked, missed


# Every fixed round trip draws its sample with seed 1 (the first seed tried; none was chosen to
# pass). Each of the 12 or 13 fields may miss its 99% interval with probability 0.01, so a
# sample misses one somewhere with probability about 0.12 and two or more with about 0.007: the
# test allows one miss per sample (with seed 1, two of the six samples miss one field each),
# and the coverage test below checks that the intervals are right on average.
SEED = 1


@pytest.mark.parametrize("scores", [True, False], ids=["scores_and_enrolment", "months_only"])
@pytest.mark.parametrize("name", list(SETS))
def test_round_trip(name, scores):
    cal, checked, missed = _misses(SETS[name], scores, seed=SEED, confidence=0.99)
    assert len(missed) <= 1, missed
    # With scores every field is estimated; without, all but the trend's volatility.
    assert checked >= 12
    assert cal.gof.max_concentration_gap() < 0.02


def test_coverage_of_95_percent_intervals():
    """Over 3 sets x 3 seeds (with scores), the 95% intervals hold the truth about 95% of the
    time; 88% is 3 standard errors below that (about 108 field-samples)."""
    checked = missed = 0
    details = []
    for name, p in SETS.items():
        for seed in (31, 32, 33):
            _, n, m = _misses(p, True, seed=seed, confidence=0.95)
            checked += n
            missed += len(m)
            details += [f"{name}/{seed}: {x}" for x in m]
    coverage = 1.0 - missed / checked
    assert coverage >= 0.88, (coverage, details)


def test_medicare_concentration_round_trip():
    medicare = {0.01: 0.149, 0.05: 0.415, 0.10: 0.600}
    shape = fit_shares(1000.0, medicare, risk_sigma=0.5)
    p = dict(SETS["mssp_like"])
    p.update(
        members=30000,
        pmpm=1000.0,
        zero_cost_share=shape.zero_cost_share,
        body_sigma=shape.body_sigma,
        tail_probability=shape.tail_probability,
        tail_threshold=shape.tail_threshold,
        tail_shape=shape.tail_shape,
    )
    syn = synthetic_claims(_scenario(p), years=3, seed=7)
    cal = calibrate(syn.member_years(), bootstrap=100)
    m = cost_moments(cal.model.shape())
    got = {0.01: m.top1_share, 0.05: m.top5_share, 0.10: m.top10_share}
    for q, want in medicare.items():
        assert abs(got[q] - want) <= 0.02, (q, got[q], want)
