"""Practice churn and selection (issue 14 item 7): participant practices join and leave between
performance years with their members, and each year's benchmark is restated for that year's
participant list, as CMS restates it.

The hand-derived expectation. Practices of equal size whose members differ only by a cost
ratio ``c_p`` (the same risk distribution): a list ``L`` spends ``c_L x pmpm`` per member month
in expectation, ``c_L`` the mean ratio over ``L``, in every year. Its restated history is its own
base years, ``c_L x pmpm``; the regional adjustment moves it by ``w`` towards the regional cost
``r x pmpm`` (``w`` the weight, under its cap), so the benchmark is ``(1 - w) c_L pmpm + w r pmpm``
and the expected savings per member month are ``w (r - c_L) pmpm``. Dropping the costliest
practice lowers ``c_L``: with restatement the entity gains ``w`` of the drop in its own cost
level, not all of it (Lyu, Chernew and McWilliams, Health Affairs 2023, on the regional
adjustment after 2017); without a regional adjustment it gains nothing in expectation.
"""

from __future__ import annotations

import numpy as np
import pytest

import simsettle
from simsettle._kernels import records as R
from simsettle.errors import ScenarioError
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.rules.participants import participant_lists, restated_aggregates
from simsettle.scenario import load_scenario, parse_scenario

TEXT = """\
schema_version: 1
seed: 31
trials: {trials}
first_performance_year: 2026
performance_years: 2
population:
  members: {members}
  turnover: 0.1
cost: {{pmpm: 1000.0}}
trend: {{mean: 0.0, sd: 0.0}}
benchmark:
  weights: [1.0]
  trend_rate: 0.0
{regional}
participants:
{restate}  practices:
    - {{name: lean, share: 0.3333333333333333, cost_ratio: 0.8}}
    - {{name: middle, share: 0.3333333333333333, cost_ratio: 1.0}}
    - {{name: costly, share: 0.3333333333333334, cost_ratio: 1.4{leaves}}}
{programme}
designs:
  - {{name: linear, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5,
     min_savings_rate: 0.0, min_loss_rate: 0.0{stop_loss}}}
"""
REGIONAL = (
    "  regional_cost_ratio: 1.0\n  regional_weight_lower: 0.5\n  regional_weight_higher: 0.5\n"
    "  regional_cap: 1.0"
)


def _text(
    *,
    leaves: int | None = 2027,
    regional: bool = True,
    programme: bool = False,
    stop_loss: bool = False,
    trials: int = 300,
    members: int = 6000,
    restate: bool = True,
) -> str:
    return TEXT.format(
        restate="" if restate else "  restate: false\n",
        trials=trials,
        members=members,
        regional=REGIONAL if regional else "",
        leaves="" if leaves is None else f", leaves: {leaves}",
        programme="care_management: {high_risk_share: 0.1, effect: 0.2, start: all_years}"
        if programme
        else "",
        stop_loss=", stop_loss: {attachment: 40000.0, coinsurance: 0.0}" if stop_loss else "",
    )


def _run(**kw):
    return simsettle.simulate(parse_scenario(_text(**kw)).scenario, progress=False)


def test_every_practice_field_adds_up_to_the_entity():
    # With churn the kernel sums every member field per practice; over the practices they are
    # the entity's fields (up to the order of the sums).
    sc = parse_scenario(_text(programme=True, stop_loss=True, trials=4, members=900)).scenario
    inputs = compile_model(sc)
    assert inputs.practice_detail
    agg = simulate_aggregates(inputs, key_from_seed(sc.seed), 0, 4)
    n_att = int(inputs.attachments.shape[0])
    assert n_att == 1
    first = R.N_BASE_FIELDS + n_att
    per = agg[..., first:].reshape(*agg.shape[:2], R.N_LANE_FIELDS + n_att, 3)
    for f, field in enumerate([*R.LANE_FIELDS, R.N_BASE_FIELDS]):
        np.testing.assert_allclose(per[..., f, :].sum(axis=-1), agg[..., field], rtol=1e-12)
        assert np.all(per[..., f, :] >= 0)
    assert per[..., 5, :].min() > 0  # managed months in every practice
    assert per[..., 7, :].sum() > 0  # and some excess over the attachment
    # Restated for the first two practices: their sums, the third's fields zero.
    two = restated_aggregates(agg, n_att, np.array([True, True, False]))
    np.testing.assert_allclose(two[..., R.F_SPEND], per[..., 0, 0] + per[..., 0, 1], rtol=1e-15)
    assert np.all(two[..., first + 2 :: 3][..., : R.N_LANE_FIELDS + n_att] == 0)
    np.testing.assert_array_equal(two[..., R.F_TREND_INDEX], agg[..., R.F_TREND_INDEX])


def test_the_list_of_every_year_settles_as_a_fixed_list_would():
    # Before the practice leaves, the restated benchmark and spend are the unchanged ones.
    churn = _run(trials=40, members=1500)
    fixed = _run(leaves=None, trials=40, members=1500)
    first = churn.isel(year=0)
    np.testing.assert_allclose(first.benchmark, fixed.isel(year=0).benchmark, rtol=1e-12)
    np.testing.assert_allclose(first.actual_spend, fixed.isel(year=0).actual_spend, rtol=1e-12)
    np.testing.assert_allclose(first.settlement, fixed.isel(year=0).settlement, rtol=1e-9)
    # After it leaves: two thirds of the members, their own benchmark; the leaver gets nothing.
    months = churn.member_months.isel(year=1) / fixed.member_months.isel(year=1)
    assert float(months.mean()) == pytest.approx(2 / 3, abs=0.01)
    gone = churn.sel(participant="costly").isel(year=1)
    assert float(abs(gone.participant_payout).max()) == 0.0
    assert float(gone.participant_member_months.max()) == 0.0
    payout = churn.participant_payout.isel(year=1).sum("participant")
    np.testing.assert_allclose(payout, churn.settlement.isel(year=1), rtol=1e-9, atol=1e-6)


def _savings_pmpm(ds) -> tuple[np.ndarray, np.ndarray]:
    per = (ds.benchmark - ds.actual_spend) / ds.member_months
    return per.isel(year=0).values, per.isel(year=1).values


@pytest.mark.parametrize("regional", [True, False])
def test_dropping_the_costliest_practice_gains_what_the_regional_weight_predicts(regional):
    w = 0.5 if regional else 0.0
    pmpm = 1000.0  # a cost ratio 1's
    keep_all, dropped = _savings_pmpm(_run(regional=regional))
    _, stayed = _savings_pmpm(_run(regional=regional, leaves=None))
    c_all, c_kept = (0.8 + 1.0 + 1.4) / 3, (0.8 + 1.0) / 2
    for got, c in ((keep_all, c_all), (dropped, c_kept), (stayed, c_all)):
        se = got.std(ddof=1) / np.sqrt(got.size)
        assert abs(got.mean() - w * (1.0 - c) * pmpm) < 4 * se + 0.5, (got.mean(), se, c)
    # The gain of the drop on the same draws: w times the fall in the list's cost level.
    gain = dropped - stayed
    se = gain.std(ddof=1) / np.sqrt(gain.size)
    assert abs(gain.mean() - w * (c_all - c_kept) * pmpm) < 4 * se + 0.5


def test_without_restatement_the_entity_keeps_the_whole_drop():
    # A benchmark fixed on the first year's list: the base years stay those of all three
    # practices, so dropping the costliest gains the whole fall in cost level, (c_all - c_kept)
    # x pmpm per member month, with no regional adjustment; the year before is unchanged.
    pmpm = 1000.0
    fixed = _run(regional=False, restate=False)
    restated = _run(regional=False)
    np.testing.assert_array_equal(
        fixed.benchmark.isel(year=0).values, restated.benchmark.isel(year=0).values
    )
    before, after = _savings_pmpm(fixed)
    c_all, c_kept = (0.8 + 1.0 + 1.4) / 3, (0.8 + 1.0) / 2
    for got, want in ((before, 0.0), (after, (c_all - c_kept) * pmpm)):
        se = got.std(ddof=1) / np.sqrt(got.size)
        assert abs(got.mean() - want) < 4 * se + 0.5, (got.mean(), se, want)
    # The spend is the same either way; only the benchmark differs.
    np.testing.assert_array_equal(fixed.actual_spend.values, restated.actual_spend.values)


def test_the_results_mark_each_years_participants():
    ds = _run(trials=4, members=300)
    active = ds.participant_active
    assert active.dims == ("participant", "year")
    np.testing.assert_array_equal(active.values, [[True, True], [True, True], [True, False]])
    assert active.attrs["units"] == "1"
    assert "participant" in active.attrs["description"]


def test_the_run_summary_names_the_schedule_and_the_benchmark_rule():
    from simsettle.report import format_participants

    churn = _run(trials=4, members=300)
    assert format_participants(churn) == (
        "Participants: costly leaves in 2027; each performance year's benchmark is restated "
        "for that year's participants (CMS)."
    )
    fixed = _run(trials=4, members=300, restate=False)
    assert fixed.participant_active.attrs["benchmark_restated"] == 0
    assert format_participants(fixed).endswith(
        "the benchmark stays that of the first year's participants (not restated)."
    )
    assert format_participants(_run(trials=4, members=300, leaves=None)) == ""


def test_the_participants_chart_shows_a_leaver_over_its_years():
    from simsettle.plot import fig_participants
    from simsettle.plot._style import format_percent

    churn = _run(trials=40, members=600)
    fig = fig_participants(churn, design="linear")
    (ax,) = fig.axes
    labels = {t.get_text().split("\n")[0]: t.get_text() for t in ax.get_yticklabels()}
    assert labels["costly"].endswith("\n2026 only")
    assert "only" not in labels["lean"]
    # Its marks are those of the year it takes part in, not the zeros after it left.
    first = churn.participant_payout.sel(design="linear", participant="costly").isel(year=0)
    texts = [t.get_text() for t in ax.texts]
    assert any(f"P(= 0) = {format_percent(float((first == 0).mean()), 1)}" in t for t in texts)


def test_participant_lists():
    sc = parse_scenario(_text()).scenario
    assert sc.participants is not None
    lists = participant_lists(sc.participants, 2026, 2)
    np.testing.assert_array_equal(lists, [[True, True, True], [True, True, False]])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("leaves: 2027", "leaves: 2026"),
        ("leaves: 2027", "leaves: 2031"),
        ("cost_ratio: 0.8}", "cost_ratio: 0.8, joins: 2025}"),
    ],
)
def test_a_schedule_outside_the_performance_years_is_refused(edit, message, tmp_path):
    text = _text().replace(edit, message)
    path = tmp_path / "churn.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=r"churn\.yaml:\d+:\d+: participants\.practices\.\d"):
        load_scenario(path)


def test_a_year_without_participants_is_refused(tmp_path):
    text = _text().replace("cost_ratio: 0.8}", "cost_ratio: 0.8, leaves: 2027}")
    text = text.replace("cost_ratio: 1.0}", "cost_ratio: 1.0, leaves: 2027}")
    path = tmp_path / "churn.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="no practice is a participant in performance year"):
        load_scenario(path)
