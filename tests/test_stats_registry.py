"""simsettle.stats.registry: a statistic is one entry, and every reader picks a new one up."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import xarray as xr
from _synthetic import make_dataset, make_sweep_dataset

from simsettle.stats import (
    LEVEL_STATISTICS,
    REGISTRY,
    STATISTICS,
    Statistic,
    describe,
    parse_statistic_name,
    rank,
    register,
    statistic,
    summary,
)
from simsettle.stats.registry import probability

THRESHOLD = 1.0e6


@pytest.fixture
def big_payment() -> Iterator[Statistic]:
    """A statistic the library lacks, registered as one entry (and removed afterwards)."""
    entry = register(
        Statistic(
            "prob_big_payment",
            probability(lambda x: x > THRESHOLD),
            "trial-clustered binomial standard error.",
            long_name="probability that the provider receives more than $1M",
            short="P(provider receives > $1M)",
            description="Probability that the provider receives more than 1,000,000: "
            "P({var} > 1e6).",
            provider=1,
            units="1",
            summary=True,
            event="{var} > 1e6",
        )
    )
    yield entry
    del REGISTRY[entry.name]


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=500, n_years=2)


def test_a_registered_statistic_reaches_every_reader(
    ds: xr.Dataset, big_payment: Statistic
) -> None:
    x = ds.settlement.sel(design="two_sided").values
    expected = np.mean(x > THRESHOLD)
    assert 0 < expected < 1
    one = statistic(ds, "prob_big_payment")
    assert float(one["value"].sel(design="two_sided")) == expected
    assert one["value"].attrs["units"] == "1"
    assert one.attrs["se_method"] == big_payment.se_method
    # the clustered error of a mean of indicators, as for every probability
    assert float(one["se"].sel(design="two_sided")) == pytest.approx(
        float(
            statistic(ds.assign(settlement=(ds.settlement > THRESHOLD) * 1.0), "mean")["se"].sel(
                design="two_sided"
            )
        )
    )
    assert "prob_big_payment" in STATISTICS
    assert "prob_big_payment" not in LEVEL_STATISTICS
    assert parse_statistic_name("prob_big_payment") == (
        "prob_big_payment",
        "prob_big_payment",
        None,
    )
    for table in (describe(ds), summary(ds)):
        xr.testing.assert_identical(
            table["prob_big_payment"], one["value"].rename("prob_big_payment")
        )
        xr.testing.assert_identical(
            table["prob_big_payment_se"], one["se"].rename("prob_big_payment_se")
        )
    best = rank(ds, "prob_big_payment")
    assert best.attrs["ranked_by"] == "prob_big_payment descending"  # provider: higher is better
    assert list(best["prob_big_payment"].values) == sorted(best["prob_big_payment"].values)[::-1]
    assert rank(ds, "prob_big_payment", party="payer").attrs["ranked_by"].endswith("ascending")


def test_a_registered_statistic_reaches_the_charts(big_payment: Statistic) -> None:
    from simsettle.plot import fig_tornado

    sweep = make_sweep_dataset(n_trials=100)
    fig = fig_tornado(sweep, design="two_sided", stat="prob_big_payment")
    assert "P(provider receives > $1M)" in fig.axes[0].get_xlabel()
    assert fig.axes[0].xaxis.get_major_formatter()(0.05, 0) == "5%"


def test_register_refuses_a_taken_name(big_payment: Statistic) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register(big_payment)
    with pytest.raises(ValueError, match="identifier"):
        Statistic("big payment", big_payment.estimate, "", "", "", "")


def test_registry_is_what_the_public_names_show() -> None:
    assert list(STATISTICS) == list(REGISTRY)
    assert set(LEVEL_STATISTICS) == {n for n, e in REGISTRY.items() if e.levels is not None}
    for name, entry in REGISTRY.items():
        assert entry.sense("payer") == -entry.sense("provider"), name
        assert STATISTICS[name] == entry.description.format(var="var")
