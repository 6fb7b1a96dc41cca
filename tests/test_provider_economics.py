"""The provider's own economics: its net result beside the settlement, its own stop-loss at a
quoted price, and the margin it forgoes on the care it avoids."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import simsettle
from simsettle.errors import ScenarioError
from simsettle.exact import not_exact
from simsettle.scenario import parse_scenario

SCENARIO = """\
schema_version: 1
name: provider economics
seed: 5
trials: 200
first_performance_year: 2026
performance_years: 2
population: {members: 800, turnover: 0.15}
cost: {pmpm: 900.0}
provider:
  ffs_revenue_share: 0.4
  ffs_margin: 0.3
  infrastructure_pmpm: 4.0
  infrastructure_annual: 150000.0
care_management: {effect: 0.1, cost_pmpm: 40.0}
designs:
  - name: plain
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
  - name: reach_style
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 100000.0, premium_loading: 0.1}
  - name: own_pmpm
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 100000.0, premium_pmpm: 12.0, borne_by: provider}
  - name: own_aggregate
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    aggregate_stop_loss: {attachment: 1.05, premium_annual: 90000.0, borne_by: provider}
"""


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return simsettle.simulate(parse_scenario(SCENARIO, "provider.yaml"), progress=False)


def _twin(ds: xr.Dataset, sc: simsettle.scenario.Scenario) -> xr.DataArray:  # type: ignore[name-defined]
    """provider_net written out from the results' own variables, in plain numpy."""
    p = sc.provider
    settlement = ds["settlement"].values
    recovery = ds["stop_loss_recovery"].values
    premium = ds["stop_loss_premium"].values
    own = np.zeros_like(settlement)
    for i, d in enumerate(sc.designs):
        for layer in (d.stop_loss, d.aggregate_stop_loss):
            if layer is not None and layer.borne_by == "provider":
                own[i] = recovery[i] - premium[i]
    costs = (
        ds["care_management_cost"].values
        + p.infrastructure_pmpm * ds["member_months"].values
        + p.infrastructure_annual
        + p.ffs_revenue_share * p.ffs_margin * ds["care_management_savings"].values
    )
    return settlement + own - costs[None]


def test_the_net_result_is_the_settlement_plus_own_stop_loss_less_own_costs(
    ds: xr.Dataset,
) -> None:
    sc = parse_scenario(SCENARIO, "provider.yaml").scenario
    np.testing.assert_allclose(ds["provider_net"].values, _twin(ds, sc), rtol=1e-12, atol=1e-6)
    forgone = 0.4 * 0.3 * ds["care_management_savings"]
    np.testing.assert_allclose(
        ds["forgone_margin"].sel(design="plain").values, forgone.values, rtol=1e-12
    )
    for name in ("provider_net", "provider_costs", "forgone_margin", "provider_stop_loss_net"):
        attrs = ds[name].attrs
        assert attrs["units"] == "USD"
        assert attrs["long_name"]
        assert attrs["description"]
    assert float(ds["provider_stop_loss_net"].sel(design=["plain", "reach_style"]).max()) == 0.0


def test_a_stop_loss_the_provider_buys_leaves_the_settlement_as_it_is(ds: xr.Dataset) -> None:
    plain = ds["settlement"].sel(design="plain").values
    np.testing.assert_array_equal(ds["settlement"].sel(design="own_pmpm").values, plain)
    np.testing.assert_array_equal(ds["settlement"].sel(design="own_aggregate").values, plain)
    # REACH-style, charged through the settlement, moves it
    assert not np.array_equal(ds["settlement"].sel(design="reach_style").values, plain)


def test_quoted_premiums_are_the_price_times_exposure(ds: xr.Dataset) -> None:
    np.testing.assert_allclose(
        ds["stop_loss_premium"].sel(design="own_pmpm").values,
        12.0 * ds["member_months"].values,
        rtol=1e-15,
    )
    assert np.all(ds["stop_loss_premium"].sel(design="own_aggregate").values == 90_000.0)
    # the loading's premium is the same in every trial of a year
    reach = ds["stop_loss_premium"].sel(design="reach_style").values
    assert np.all(reach == reach[:1])


def test_no_economics_no_provider_variables() -> None:
    plain = (
        SCENARIO.split("provider:")[0]
        + "designs:"
        + SCENARIO.split("designs:")[1].split("  - name: reach_style")[0]
    )
    ds = simsettle.simulate(parse_scenario(plain, "plain.yaml"), trials=4, progress=False)
    assert "provider_net" not in ds.data_vars


@pytest.mark.parametrize(
    ("stop_loss", "message"),
    [
        ("{attachment: 1.0e5, premium_loading: 0.1, premium_pmpm: 5.0}", "give the premium once"),
        ("{attachment: 1.0e5, premium_pmpm: 5.0, premium_annual: 1.0e4}", "give the premium once"),
        ("{attachment: 1.0e5, borne_by: payer}", "borne_by"),
        ("{attachment: 1.0e5, premium_pmpm: -1.0}", "premium_pmpm"),
    ],
)
def test_bad_stop_loss_prices_are_refused(stop_loss: str, message: str) -> None:
    text = SCENARIO.replace(
        "stop_loss: {attachment: 100000.0, premium_loading: 0.1}", f"stop_loss: {stop_loss}"
    )
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text, "bad.yaml")


def test_the_exact_oracle_refuses_what_it_does_not_price() -> None:
    sc = parse_scenario(SCENARIO, "provider.yaml").scenario
    reasons = " ".join(not_exact(sc))
    assert "a quoted premium is not supported" in reasons
    assert "borne_by: provider is not supported" in reasons


def test_a_portfolio_line_without_economics_nets_its_settlement() -> None:
    loaded = simsettle.load_scenario(
        "scenarios/examples/portfolio.yaml",
        {"provider": {"infrastructure_annual": 50000.0}, "trials": 20},
    )
    ds = simsettle.simulate(loaded, progress=False)
    lines = ds["line"].values
    primary = [str(d) for d, line in zip(ds["design"].values, lines, strict=True) if line == "mssp"]
    other = [str(d) for d, line in zip(ds["design"].values, lines, strict=True) if line != "mssp"]
    assert primary
    assert other
    np.testing.assert_array_equal(
        ds["provider_net"].sel(design=other).values, ds["settlement"].sel(design=other).values
    )
    np.testing.assert_allclose(
        ds["provider_net"].sel(design=primary).values,
        ds["settlement"].sel(design=primary).values - 50000.0,
        rtol=1e-12,
    )


def test_the_report_weighs_the_providers_net_result_beside_the_settlement(
    ds: xr.Dataset,
) -> None:
    from simsettle.report.decision import recommend
    from simsettle.stats import decide, statistic

    r = recommend(ds)
    assert "provider's mean net result" in r.headline[0]
    expected = decide(ds, var="provider_net")
    assert r.rule == expected.attrs["rule"]
    assert str(expected["design"].values[0]) in r.headline[0]
    columns = list(r.table.columns)
    assert "Provider's net result" in columns
    net = statistic(ds, "mean", var="provider_net")["value"]
    cells = dict(r.table.rows)["own_pmpm"]
    shown = cells[columns.index("Provider's net result")].text
    assert shown == simsettle.plot.format_money(float(net.sel(design="own_pmpm")))
    # the payer still weighs the settlement
    payer = recommend(ds, party="payer")
    assert "mean settlement" in payer.headline[0]


def test_fig_frontier_weighs_the_net_result(ds: xr.Dataset) -> None:
    from simsettle.plot import fig_frontier

    axis = fig_frontier(ds, var="provider_net").axes[0]
    assert axis.get_ylabel().startswith("Mean net result per year")
    assert "loss of the net result" in axis.get_xlabel()


@pytest.mark.parametrize(
    ("specific", "aggregate", "net_of_specific"),
    [
        ("provider", "provider", True),
        ("settlement", "settlement", True),
        ("settlement", "provider", True),
        ("provider", "settlement", False),  # the settlement does not see the provider's own
    ],
)
def test_the_aggregate_layer_attaches_on_the_claims_its_owner_sees(
    specific: str, aggregate: str, net_of_specific: bool
) -> None:
    text = SCENARIO.replace(
        "stop_loss: {attachment: 100000.0, premium_loading: 0.1}",
        f"stop_loss: {{attachment: 100000.0, borne_by: {specific}}}\n"
        f"    aggregate_stop_loss: {{attachment: 0.98, borne_by: {aggregate}}}",
    )
    ds = simsettle.simulate(parse_scenario(text, "layers.yaml"), trials=60, progress=False)
    d = ds.sel(design="reach_style")
    claims = d["actual_spend"] - (d["specific_stop_loss_recovery"] if net_of_specific else 0.0)
    expected = np.maximum(claims - 0.98 * d["settlement_benchmark"], 0.0)
    np.testing.assert_allclose(
        d["aggregate_stop_loss_recovery"].values, expected.values, rtol=1e-12, atol=1e-6
    )


def test_a_quoted_premiums_net_has_the_plain_mean_standard_error(ds: xr.Dataset) -> None:
    from simsettle.stats import statistic

    net = ds["stop_loss_recovery"] - ds["stop_loss_premium"]
    one = net.sel(design="own_pmpm").sum("year")  # the trial is the independent unit
    expected = float(one.std(ddof=1)) / np.sqrt(one.size) / ds.sizes["year"]
    se = float(statistic(ds, "stop_loss_net")["se"].sel(design="own_pmpm"))
    assert se == pytest.approx(expected, rel=1e-9)
    assert list(ds["stop_loss_pricing"].values) == ["", "loading", "pmpm", ""]
    assert list(ds["aggregate_stop_loss_pricing"].values) == ["", "", "", "annual"]
    assert list(ds["stop_loss_borne_by"].values) == ["", "settlement", "provider", ""]
    # a quoted premium has no loading to show
    assert np.isnan(float(ds["stop_loss_premium_loading"].sel(design="own_pmpm")))
