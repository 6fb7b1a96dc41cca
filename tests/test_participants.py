"""Distribution of earnings to participant practices."""

from __future__ import annotations

import numpy as np
import pytest

import simsettle
from simsettle.rules.participants import distribute
from simsettle.scenario import parse_scenario
from simsettle.scenario.schema import Participants
from tests.conftest import SMALL_SCENARIO

PRACTICES = [
    {"name": "a", "share": 0.5},
    {"name": "b", "share": 0.3, "quality_factor": 0.5},
    {"name": "c", "share": 0.2},
]


def one(method, settlement, spend, months, base_share, benchmark=100.0):
    terms = Participants(practices=PRACTICES, method=method)
    return distribute(
        terms,
        np.array([[settlement]]),
        np.array([[benchmark]]),
        np.array([[spend]], dtype=float),
        np.array([[months]], dtype=float),
        np.array([base_share], dtype=float),
    )[0, 0]


def test_lives():
    got = one("lives", 10.0, [50, 30, 20], [600, 300, 100], [0.5, 0.3, 0.2])
    np.testing.assert_allclose(got, [6.0, 3.0, 1.0])


def test_performance_against_own_share_of_the_target():
    # Target shares 50/30/20 of a 100 benchmark = 50/30/20. Spend 40/33/17: own savings
    # 10/-3/3 -> the savings of 12 are shared 10:0:3 by the practices that saved.
    got = one("performance", 12.0, [40, 33, 17], [1, 1, 1], [0.5, 0.3, 0.2])
    np.testing.assert_allclose(got, [12 * 10 / 13, 0.0, 12 * 3 / 13])
    # A loss is carried by the practices that overspent: only b here.
    np.testing.assert_allclose(
        one("performance", -5.0, [40, 33, 17], [1, 1, 1], [0.5, 0.3, 0.2]), [0.0, -5.0, 0.0]
    )
    # Nobody saved on their own: fall back to lives.
    np.testing.assert_allclose(
        one("performance", 4.0, [50, 30, 20], [2, 1, 1], [0.5, 0.3, 0.2]), [2.0, 1.0, 1.0]
    )


def test_quality_pool():
    # Member months 1:1:1 weighted by quality factors 1, 0.5, 1: savings 10 -> 4, 2, 4; losses by
    # lives.
    np.testing.assert_allclose(
        one("quality_pool", 10.0, [1, 1, 1], [1, 1, 1], [0.3] * 3), [4.0, 2.0, 4.0]
    )
    np.testing.assert_allclose(
        one("quality_pool", -9.0, [1, 1, 1], [1, 1, 1], [0.3] * 3), [-3.0, -3.0, -3.0]
    )


@pytest.mark.parametrize("method", ["lives", "performance", "quality_pool"])
def test_payouts_add_up_to_the_settlement_in_simulation(method):
    text = SMALL_SCENARIO.replace(
        "designs:",
        f"""participants:
  method: {method}
  practices:
    - {{name: north, share: 0.5, cost_ratio: 0.9}}
    - {{name: south, share: 0.3}}
    - {{name: west, share: 0.2, cost_ratio: 1.2, quality_factor: 0.8}}
designs:""",
    )
    ds = simsettle.simulate(parse_scenario(text), progress=False)
    assert ds.participant_payout.dims == ("design", "participant", "trial", "year")
    assert list(ds.participant.values) == ["north", "south", "west"]
    np.testing.assert_allclose(
        ds.participant_payout.sum("participant"), ds.settlement, rtol=1e-12, atol=1e-6
    )
    # Practices' spend and months are the entity's, split.
    np.testing.assert_allclose(ds.participant_spend.sum("participant"), ds.actual_spend, rtol=1e-12)
    np.testing.assert_allclose(
        ds.participant_member_months.sum("participant"), ds.member_months, rtol=1e-12
    )
    # Slots are split 150/90/60; turnover makes months only approximately proportional.
    months = ds.participant_member_months.sum(("trial", "year"))
    np.testing.assert_allclose(months / months.sum(), [0.5, 0.3, 0.2], atol=0.005)


def test_practice_shares_must_sum_to_one():
    text = SMALL_SCENARIO.replace(
        "designs:",
        """participants:
  practices: [{name: a, share: 0.5}, {name: b, share: 0.4}]
designs:""",
    )
    with pytest.raises(simsettle.ScenarioError, match="sum to 1"):
        parse_scenario(text)
