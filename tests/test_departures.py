"""Death and other departures, and entrants' cost (issue 14, item 2).

Expectations are derived by hand in :mod:`simsettle.models.departures` (its table of a slot's
year); the kernel's member stays are held to them within Monte Carlo error, and the Medicare
defaults to the published figures: about 4% of traditional Medicare beneficiaries die in a
year, cost 3.8 times a survivor ($34,529 against $9,121 in 2014) and carry 13.5% of spending
(KFF 2016), and the top 1% / 5% / 10% of beneficiaries carry 14.9% / 41.5% / 60.0% of spending
(Wallis et al. 2021), decedents included.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsettle._kernels import member as M
from simsettle._kernels import records as R
from simsettle.errors import ScenarioError
from simsettle.models.departures import calendar_moments, departure_figures
from simsettle.models.population import compile_model, key_from_seed, simulate_stays
from simsettle.scenario import parse_scenario
from simsettle.scenario.costs import CostShape, cost_moments
from simsettle.scenario.schema import Population

TEXT = """\
schema_version: 1
seed: 5
trials: 10
first_performance_year: 2026
performance_years: 1
population:
  members: {members}
{population}
cost: {{pmpm: 1000.0}}
trend: {{mean: 0.0, sd: 0.0}}
designs:
  - {{name: d, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5}}
"""


def _scenario(members: int = 1000, **population: object):
    lines = "\n".join(f"  {k}: {v}" for k, v in population.items())
    return parse_scenario(TEXT.format(members=members, population=lines)).scenario


def _stays(sc, seed: int = 17) -> np.ndarray:
    """Every stay of the first simulated year (the stationary population)."""
    stays, _ = simulate_stays(compile_model(sc), key_from_seed(seed))
    return stays[(stays[:, R.ST_YEAR] == 0) & (stays[:, R.ST_PRESENT] == 1)]


def _shape(sc) -> CostShape:
    """The scenario's survivors' cost shape, at its risk spread."""
    c = sc.cost
    return CostShape(
        c.zero_cost_share,
        c.body_sigma,
        c.tail_probability,
        c.tail_threshold,
        c.tail_shape,
        sc.population.risk_sigma,
        c.pmpm,
    )


def _mean_and_se(x: np.ndarray) -> tuple[float, float]:
    return float(x.mean()), float(x.std(ddof=1) / math.sqrt(x.size))


# ---- the hand-derived figures ------------------------------------------------------------


def test_departure_figures_by_hand():
    pop = Population(members=10)  # turnover 0.15, mortality 0.045, ratio 3.4, replacement 1
    fig = departure_figures(pop)
    # Members: 0.85 stay, 0.105 move, 0.045 die, 0.15 join: 1.15 in all.
    assert fig.members_share == pytest.approx(0.045 / 1.15, rel=1e-12)
    # Spend (full-year survivor = 1): 0.85 + 0.105 / 2 + 0.045 x 3.4 + 0.15 / 2 = 1.1305.
    assert fig.spend_share == pytest.approx(0.153 / 1.1305, rel=1e-12)
    # A survivor costs 0.9775 / 1.105 of a full year on average.
    assert fig.ratio_to_survivors == pytest.approx(3.4 * 1.105 / 0.9775, rel=1e-12)
    assert fig.full_year_share == pytest.approx(0.045 / 0.895, rel=1e-12)
    # The engine's cost scale: cost over months, 1.1305 / 1.0.
    assert pop.departure_load == pytest.approx(1.1305, rel=1e-12)
    assert Population(members=10, mortality=0.0).departure_load == 1.0


def test_medicare_defaults_reproduce_the_published_figures():
    # Closed form and the exact mixture of survivors and decedents, at the default scenario.
    sc = _scenario()
    fig = departure_figures(sc.population)
    assert fig.members_share == pytest.approx(0.04, abs=0.005)  # KFF: about 4%
    assert fig.ratio_to_survivors == pytest.approx(34_529 / 9_121, abs=0.1)  # 3.79
    assert 0.13 <= fig.spend_share <= 0.14  # KFF: 13.5%
    shape = _shape(sc)
    m = calendar_moments(shape, sc.population)
    published = (0.149, 0.415, 0.600)
    for got, want in zip((m.top1_share, m.top5_share, m.top10_share), published, strict=True):
        assert got == pytest.approx(want, abs=0.01)


def test_simulated_decedents_match_the_figures_and_the_concentration():
    # 200,000 slots of the default population, drawn by the kernel.
    sc = _scenario(members=200_000)
    stays = _stays(sc)
    cost = stays[:, R.ST_COST]
    mode = stays[:, R.ST_DEPARTURE]
    dead = mode == R.DEPART_DEATH
    fig = departure_figures(sc.population)
    n = stays.shape[0]
    share = dead.mean()
    assert share == pytest.approx(fig.members_share, abs=4 * math.sqrt(share * (1 - share) / n))
    # Decedents' share of spend and their cost over a survivor's: the spread of these ratios
    # is dominated by the costs' CV (about 2.3) over sqrt(members).
    assert cost[dead].sum() / cost.sum() == pytest.approx(fig.spend_share, abs=0.006)
    ratio = cost[dead].mean() / cost[~dead].mean()
    assert ratio == pytest.approx(fig.ratio_to_survivors, rel=0.04)
    # Against a full-year survivor of the same risk score, exactly the field's ratio.
    full = (mode == R.DEPART_NONE) & (stays[:, R.ST_JOINER] == 0)
    per_risk = cost / stays[:, R.ST_RISK]
    d_mean, d_se = _mean_and_se(per_risk[dead])
    f_mean, f_se = _mean_and_se(per_risk[full])
    assert d_mean / f_mean == pytest.approx(
        3.4, abs=4 * 3.4 * math.hypot(d_se / d_mean, f_se / f_mean)
    )
    # The all-in PMPM is pmpm: the survivors' costs are scaled by 1 / departure_load.
    months = (stays[:, R.ST_EXIT] - stays[:, R.ST_ENTRY])[stays[:, R.ST_ATTRIBUTED] == 1]
    pmpm = cost[stays[:, R.ST_ATTRIBUTED] == 1].sum() / months.sum()
    assert pmpm == pytest.approx(1000.0, rel=0.015)
    # Concentration over the members enrolled all year or until death: within Monte Carlo
    # error of the closed form, and within a point of Medicare's published figures.
    counted = np.sort(cost[full | dead])[::-1]
    shape = _shape(sc)
    closed = calendar_moments(shape, sc.population)
    for q, want, published in zip(
        (1, 5, 10),
        (closed.top1_share, closed.top5_share, closed.top10_share),
        (0.149, 0.415, 0.600),
        strict=True,
    ):
        got = counted[: counted.size * q // 100].sum() / counted.sum()
        assert got == pytest.approx(want, abs=0.012), q
        assert got == pytest.approx(published, abs=0.01 + 0.005), q


# ---- the modes ---------------------------------------------------------------------------


def test_modes_have_their_rates_and_do_not_depend_on_replacement():
    sc = _scenario(
        members=100_000, turnover=0.3, mortality=0.06, attribution_loss=0.09, replacement=0.5
    )
    stays = _stays(sc)
    occupants = stays[stays[:, R.ST_JOINER] == 0]
    mode = occupants[:, R.ST_DEPARTURE]
    n = occupants.shape[0]
    for value, rate in (
        (R.DEPART_DEATH, 0.06),
        (R.DEPART_ATTRIBUTION, 0.09),
        (R.DEPART_ELIGIBILITY, 0.15),
        (R.DEPART_NONE, 0.70),
    ):
        got = float((mode == value).mean())
        assert got == pytest.approx(rate, abs=4 * math.sqrt(rate * (1 - rate) / n)), value
    # A slot refilled by a joiner: its occupant died as often as in one left empty.
    joined = np.zeros(n, dtype=bool)
    joiners = stays[stays[:, R.ST_JOINER] == 1]
    joined[np.searchsorted(occupants[:, R.ST_SLOT], joiners[:, R.ST_SLOT])] = True
    leavers = mode != R.DEPART_NONE
    a = (mode[leavers & joined] == R.DEPART_DEATH).mean()
    b = (mode[leavers & ~joined] == R.DEPART_DEATH).mean()
    se = math.sqrt(0.2 * 0.8 * (1 / (leavers & joined).sum() + 1 / (leavers & ~joined).sum()))
    assert abs(a - b) < 4 * se
    # A member who loses attribution is outside the year's settlement; a decedent is in it.
    assert not occupants[mode == R.DEPART_ATTRIBUTION, R.ST_ATTRIBUTED].any()
    assert occupants[mode == R.DEPART_DEATH, R.ST_ATTRIBUTED].all()


def test_entrants_cost_ratio_scales_exactly_their_costs():
    base = _scenario(members=3000, turnover=0.2, mortality=0.0)
    low = _scenario(members=3000, turnover=0.2, mortality=0.0, entrant_cost_ratio=0.7)
    a = simulate_stays(compile_model(base), key_from_seed(3))[0]
    b = simulate_stays(compile_model(low), key_from_seed(3))[0]
    present = a[:, R.ST_PRESENT] == 1
    joiner = a[:, R.ST_JOINER] == 1
    # Entrants: every joiner, and a new start-of-year occupant after the first year.
    entrant = present & (joiner | ((a[:, R.ST_NEW] == 1) & (a[:, R.ST_YEAR] > 0)))
    assert entrant.sum() > 500
    np.testing.assert_allclose(b[entrant, R.ST_COST], 0.7 * a[entrant, R.ST_COST], rtol=1e-12)
    np.testing.assert_array_equal(b[~entrant, R.ST_COST], a[~entrant, R.ST_COST])


def test_death_adds_an_end_of_life_episode_to_the_ordinary_cost():
    # The same draws with the episode (of no spread, so exactly its mean) and without it
    # (decedent_cost_ratio 1/2): the two differ in the cost scale 1 / departure_load of every
    # member, and a decedent's cost also by its episode, risk x terminal_mean in year 0.
    with_episode = _scenario(members=5000, turnover=0.2, mortality=0.1, terminal_cost_sigma=0.0)
    without = _scenario(members=5000, turnover=0.2, mortality=0.1, decedent_cost_ratio=0.5)
    a, b = _stays(with_episode), _stays(without)
    scale = without.population.departure_load / with_episode.population.departure_load
    dead = a[:, R.ST_DEPARTURE] == R.DEPART_DEATH
    assert dead.sum() > 300
    ordinary = b[:, R.ST_COST] * scale
    np.testing.assert_allclose(a[~dead, R.ST_COST], ordinary[~dead], rtol=1e-12)
    episode = (a[dead, R.ST_COST] - ordinary[dead]) / a[dead, R.ST_RISK]
    load = with_episode.population.departure_load
    np.testing.assert_allclose(episode, (3.4 - 0.5) * 12_000.0 / load, rtol=1e-9)


def test_modes_must_fit_in_turnover_and_mortality_defaults_within_it():
    assert _scenario(turnover=0.02).population.death_rate == 0.02
    assert _scenario(turnover=0.3).population.death_rate == 0.045
    with pytest.raises(ScenarioError, match=r"population\.mortality.*exceeds turnover 0\.05"):
        _scenario(turnover=0.05, mortality=0.04, attribution_loss=0.02)
    with pytest.raises(ScenarioError, match=r"population\.attribution_loss"):
        _scenario(turnover=0.05, attribution_loss=0.06)


def test_without_deaths_the_calendar_moments_are_the_survivors():
    shape = CostShape(0.15, 1.2, 0.04, 60_000.0, 4.0, 0.5, 1000.0)
    assert calendar_moments(shape, Population(members=10, mortality=0.0)) == cost_moments(shape)


# ---- properties --------------------------------------------------------------------------


def _model(turnover: float, replacement: float, mortality: float, loss: float) -> M.MemberModel:
    sc = _scenario(
        turnover=turnover, replacement=replacement, mortality=mortality, attribution_loss=loss
    )
    record = compile_model(sc).params
    return M.member_model(np.ascontiguousarray(record.reshape(1))[0])


@st.composite
def _rates(draw: st.DrawFn) -> tuple[float, float, float, float]:
    turnover = draw(st.floats(0.01, 1.0))
    mortality = draw(st.floats(0.0, 1.0)) * turnover
    loss = draw(st.floats(0.0, 1.0)) * (turnover - mortality)
    return turnover, draw(st.floats(0.0, 1.0)), mortality, loss


@settings(max_examples=40, deadline=None)
@given(rates=_rates())
def test_departure_partitions_the_leavers(rates):
    # Over a fine grid of the leave uniform: only leavers die or lose attribution, never
    # both; each mode's share of the grid is its rate, to the grid's resolution.
    turnover, replacement, mortality, loss = rates
    m = _model(turnover, replacement, mortality, loss)
    n = 20_000
    out = np.array([M.departure(m, (i + 0.5) / n) for i in range(n)], dtype=bool)
    leaves, joiner, death, excluded = out.T
    assert not (death & ~leaves).any()
    assert not (excluded & ~leaves).any()
    assert not (joiner & ~leaves).any()
    assert not (death & excluded).any()
    tol = 4.0 / n
    assert leaves.mean() == pytest.approx(turnover, abs=tol)
    assert death.mean() == pytest.approx(mortality, abs=tol)
    assert excluded.mean() == pytest.approx(loss, abs=tol)
    assert joiner.mean() == pytest.approx(turnover * replacement, abs=tol)


@settings(max_examples=40, deadline=None)
@given(
    rates=_rates(),
    ratio=st.floats(0.5, 20.0),
)
def test_load_is_one_without_departure_costs_and_grows_with_the_decedent_ratio(rates, ratio):
    turnover, replacement, mortality, loss = rates
    pop = Population(
        members=10,
        turnover=turnover,
        replacement=replacement,
        mortality=mortality,
        attribution_loss=loss,
        decedent_cost_ratio=ratio,
    )
    higher = pop.model_copy(update={"decedent_cost_ratio": min(ratio * 1.5, 20.0)})
    assert higher.departure_load >= pop.departure_load
    fig = departure_figures(pop)
    assert 0.0 <= fig.members_share <= 1.0
    assert 0.0 <= fig.spend_share <= 1.0
    if mortality == 0.0:
        assert pop.departure_load == pytest.approx(1.0, rel=1e-12)
        assert fig.spend_share == 0.0
