"""simsettle.plot comparison and sweep figures: fig_compare, fig_fan, fig_participants,
fig_tornado, fig_heatmap (content, arguments, errors, reproducible output)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from _synthetic import (
    DESIGNS,
    PRACTICES,
    SWEEP,
    make_dataset,
    make_participant_dataset,
    make_sweep_dataset,
)
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import to_hex
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from simsettle.plot import (
    design_colors,
    fig_compare,
    fig_fan,
    fig_heatmap,
    fig_participants,
    fig_tornado,
    format_percent,
)
from simsettle.plot.sweeps import STATISTICS, _estimate
from simsettle.stats import summary


def _value_of(da: xr.DataArray, stat: str) -> xr.DataArray:
    return _estimate(da, stat)[0]


SAVE = {"dpi": 100, "format": "png", "metadata": {"Software": None}}


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=800, n_years=1)


@pytest.fixture(scope="module")
def years() -> xr.Dataset:
    ds = make_dataset(n_trials=400, n_years=4)
    ds.attrs["scenario_yaml"] = "benchmark:\n  agreement_years: 2\n"
    return ds


@pytest.fixture(scope="module")
def parts() -> xr.Dataset:
    return make_participant_dataset(n_trials=500, n_years=2)


@pytest.fixture(scope="module")
def sweep() -> xr.Dataset:
    return make_sweep_dataset(n_trials=300)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, **SAVE)
    return buf.getvalue()


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _violins(fig: Figure) -> list[PolyCollection]:
    return [c for ax in fig.axes for c in ax.collections if isinstance(c, PolyCollection)]


# ------------------------------------------------------------------------- fig_compare


def test_compare_marks_every_design(ds: xr.Dataset) -> None:
    fig = fig_compare(ds)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    colors = design_colors(DESIGNS)
    violins = _violins(fig)
    assert [to_hex(v.get_facecolor()[0], keep_alpha=False) for v in violins] == [
        colors[d].lower() for d in DESIGNS
    ]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    for d, label in zip(DESIGNS, labels, strict=True):
        x = ds.settlement.sel(design=d).values.ravel()
        assert label.startswith(d)
        assert f"P(pay losses) = {format_percent(np.mean(x < 0), 1)}" in label
        assert f"P(= 0) = {format_percent(np.mean(x == 0), 1)}" in label
    texts = "\n".join(_texts(fig))
    q05, q95 = np.quantile(ds.settlement.sel(design="two_sided").values, [0.05, 0.95])
    from simsettle.plot import format_money

    assert f"5%: {format_money(q05)}" in texts
    assert f"95%: {format_money(q95)}" in texts
    assert "800 trials" in ax.get_title(loc="right")
    assert ax.xaxis.get_major_formatter()(-2.0e6, 0) == "−$2.0M"
    # the mean of each design is marked (black diamonds)
    means = [float(np.asarray(ln.get_xdata())[0]) for ln in ax.lines if ln.get_marker() == "D"]
    np.testing.assert_allclose(means, [float(ds.settlement.sel(design=d).mean()) for d in DESIGNS])
    assert any(list(ln.get_xdata()) == [0.0, 0.0] and ln.get_linestyle() == "--" for ln in ax.lines)


def test_compare_box_spans_the_quartiles(ds: xr.Dataset) -> None:
    fig = fig_compare(ds, design="two_sided", kind="box")
    (ax,) = fig.axes
    (box,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    q25, q75 = np.quantile(ds.settlement.sel(design="two_sided").values, [0.25, 0.75])
    assert box.get_x() == pytest.approx(q25)
    assert box.get_x() + box.get_width() == pytest.approx(q75)
    assert not _violins(fig)


def test_compare_subset_keeps_colors(ds: xr.Dataset) -> None:
    fig = fig_compare(ds, design=["two_sided_capped", "upside_only"])
    colors = design_colors(DESIGNS)
    assert [to_hex(v.get_facecolor()[0], keep_alpha=False) for v in _violins(fig)] == [
        colors["two_sided_capped"].lower(),
        colors["upside_only"].lower(),
    ]


def test_compare_errors(ds: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="kind"):
        fig_compare(ds, kind="bars")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="per-design variable 'nope'"):
        fig_compare(ds, var="nope")
    with pytest.raises(ValueError, match="per-design variable 'benchmark'"):
        fig_compare(ds, var="benchmark")
    with pytest.raises(KeyError, match="nope"):
        fig_compare(ds, design="nope")
    with pytest.raises(ValueError, match="trend"):
        fig_compare(xr.concat([ds, ds], dim="trend"))


# ----------------------------------------------------------------------------- fig_fan


def test_fan_bands_are_yearly_quantiles(years: xr.Dataset) -> None:
    fig = fig_fan(years, design="two_sided")
    spend_ax, settle_ax = fig.axes
    assert settle_ax.get_title(loc="left") == "two_sided"
    x = years.settlement.sel(design="two_sided").transpose("trial", "year").values
    median = next(ln for ln in settle_ax.lines if ln.get_label() == "median")
    np.testing.assert_array_equal(median.get_xdata(), years.year.values)
    np.testing.assert_allclose(median.get_ydata(), np.median(x, axis=0))
    bands = [c for c in settle_ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # 90% and 50%
    outer = bands[0].get_paths()[0].vertices[:, 1]
    assert outer.max() == pytest.approx(np.quantile(x, 0.95, axis=0).max())
    assert outer.min() == pytest.approx(np.quantile(x, 0.05, axis=0).min())
    # P(provider pays) per year along the top
    texts = _texts(fig)
    for p in (x < 0).mean(axis=0):
        assert format_percent(float(p), 0) in texts
    # benchmark and spend per member month
    mm = years.member_months.values
    spend = next(ln for ln in spend_ax.lines if ln.get_label() == "actual spend (median)")
    np.testing.assert_allclose(spend.get_ydata(), np.median(years.actual_spend.values / mm, axis=0))
    assert spend_ax.yaxis.get_major_formatter()(1050.0, 0) == "$1,050"
    # renewal after two years of a two-year agreement: between the 2nd and 3rd year
    renewal = [ln for ax in fig.axes for ln in ax.lines if list(ln.get_xdata()) == [2027.5, 2027.5]]
    assert len(renewal) == 2
    assert "renewal" in fig.get_suptitle()


def test_fan_defaults_to_first_design_and_no_renewal(years: xr.Dataset) -> None:
    plain = years.copy()
    plain.attrs = {k: v for k, v in years.attrs.items() if k != "scenario_yaml"}
    fig = fig_fan(plain)
    assert fig.axes[1].get_title(loc="left") == DESIGNS[0]
    assert "renewal" not in fig.get_suptitle()


def test_fan_small_multiples_share_the_money_axis(years: xr.Dataset) -> None:
    fig = fig_fan(years, design=list(DESIGNS))
    assert len(fig.axes) == 1 + len(DESIGNS)
    panels = fig.axes[1:]
    assert [a.get_title(loc="left") for a in panels] == list(DESIGNS)
    assert len({a.get_ylim() for a in panels}) == 1
    colors = design_colors(DESIGNS)
    for a, d in zip(panels, DESIGNS, strict=True):
        median = next(ln for ln in a.lines if ln.get_label() == "median")
        assert to_hex(median.get_color()) == colors[d].lower()


def test_fan_single_year_is_drawn_as_boxes(ds: xr.Dataset) -> None:
    fig = fig_fan(ds, design="two_sided")
    settle_ax = fig.axes[1]
    boxes = [p for p in settle_ax.patches if isinstance(p, Rectangle)]
    x = ds.settlement.sel(design="two_sided").values.ravel()
    q05, q25, q75, q95 = np.quantile(x, [0.05, 0.25, 0.75, 0.95])
    spans = sorted((b.get_y(), b.get_y() + b.get_height()) for b in boxes)
    np.testing.assert_allclose(spans, sorted([(q05, q95), (q25, q75)]))
    lo, hi = settle_ax.get_xlim()
    assert lo < 2026 < hi


def test_fan_into_axes_and_errors(years: xr.Dataset) -> None:
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    assert fig_fan(years, design="two_sided", ax=ax1) is fig
    assert fig_fan(years, ax=ax2, panel="spend") is fig
    assert ax1.get_xlabel() == "Performance year"
    with pytest.raises(ValueError, match="one panel each"):
        fig_fan(years, design=list(DESIGNS), ax=ax1)
    with pytest.raises(ValueError, match="two panels"):
        fig_fan(years, ax=ax1, panel="both")
    with pytest.raises(ValueError, match="panel must be"):
        fig_fan(years, panel="top")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="per-design variable 'nope'"):
        fig_fan(years, var="nope")
    with pytest.raises(ValueError, match="spend panel needs"):
        fig_fan(years.drop_vars("actual_spend"))
    with pytest.raises(ValueError, match="'year' dimension"):
        fig_fan(years.isel(year=0, drop=True))
    with pytest.raises(KeyError, match="nope"):
        fig_fan(years, design="nope")
    # the settlement panel alone needs no spend variables
    fig_fan(years.drop_vars(["actual_spend", "benchmark"]), panel="settlement")


# --------------------------------------------------------------------- fig_participants


def test_participants_sorted_with_shares(parts: xr.Dataset) -> None:
    fig = fig_participants(parts, design="two_sided")
    (ax,) = fig.axes
    payout = parts.participant_payout.sel(design="two_sided")
    means = payout.mean(("trial", "year")).to_series().sort_values(ascending=False)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert [label.split("\n")[0] for label in labels] == list(means.index)
    shares = dict(PRACTICES)
    for label in labels:
        name = label.split("\n")[0]
        assert f"{format_percent(shares[name], 1)} of member months" in label
    texts = _texts(fig)
    for p in means.index:
        x = payout.sel(participant=p).values
        assert any(f"P(pays) = {format_percent(np.mean(x < 0), 1)}" in t for t in texts)
    assert "performance method" in fig.get_suptitle()
    assert ax.get_title(loc="left") == "two_sided"
    assert len(_violins(fig)) == len(PRACTICES)


def test_participants_several_designs(parts: xr.Dataset) -> None:
    fig = fig_participants(parts, kind="box")
    (ax,) = fig.axes
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(PRACTICES) * len(DESIGNS)
    colors = design_colors(DESIGNS)
    assert {to_hex(b.get_facecolor(), keep_alpha=False) for b in boxes} == {
        c.lower() for c in colors.values()
    }
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend_texts[: len(DESIGNS)] == list(DESIGNS)


def test_participants_errors(ds: xr.Dataset, parts: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="participants:"):
        fig_participants(ds)
    with pytest.raises(ValueError, match="kind"):
        fig_participants(parts, kind="strip")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="nope"):
        fig_participants(parts, design="nope")
    fig = Figure()
    ax = fig.add_subplot()
    assert fig_participants(parts, design="upside_only", ax=ax) is fig
    assert ax.get_title(loc="left") == "Participant payouts: upside_only"


# ------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("stat", STATISTICS)
def test_statistic_matches_stats_summary(ds: xr.Dataset, stat: str) -> None:
    got = _value_of(ds.settlement, stat)
    want = summary(ds)[stat]
    np.testing.assert_allclose(got.sel(design=list(DESIGNS)), want.sel(design=list(DESIGNS)))


def test_sweep_figures_of_a_dask_backed_sweep(sweep: xr.Dataset) -> None:
    pytest.importorskip("dask")
    lazy = sweep.chunk({"trial": 100, "members": 1})
    for stat in STATISTICS:
        np.testing.assert_allclose(
            _value_of(lazy.settlement, stat).values, _value_of(sweep.settlement, stat).values
        )
    fig = fig_heatmap(lazy, x="members", y="trend_mean", stat="q05")
    eager = fig_heatmap(sweep, x="members", y="trend_mean", stat="q05")
    assert _texts(fig) == _texts(eager)
    assert isinstance(fig_tornado(lazy, stat="q95"), Figure)


def test_statistic_rejects_unknown(ds: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="stat must be one of"):
        _value_of(ds.settlement, "median")


# -------------------------------------------------------------------------- fig_tornado


def _stat_at(sweep: xr.Dataset, design: str, stat: str, **where: float) -> float:
    base = {"min_savings_rate": 0.02, "trend_mean": 0.03, "members": 5000.0}
    da = sweep.settlement.sel(design=design).sel({**base, **where})
    return float(_value_of(da, stat))


def test_tornado_bars_span_low_and_high(sweep: xr.Dataset) -> None:
    fig = fig_tornado(sweep, design="two_sided")
    (ax,) = fig.axes
    base = _stat_at(sweep, "two_sided", "mean")
    assert ax.lines[0].get_xdata()[0] == pytest.approx(base)  # the base line
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == 2 * len(SWEEP)
    # ticks from the top: sorted by swing
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    swings = {}
    for dim, (values, attrs) in SWEEP.items():
        lo = _stat_at(sweep, "two_sided", "mean", **{dim: min(values)})
        hi = _stat_at(sweep, "two_sided", "mean", **{dim: max(values)})
        swings[str(attrs["long_name"])] = max(lo, hi, base) - min(lo, hi, base)
        row = labels.index(str(attrs["long_name"]))
        low_bar, high_bar = (b for b in bars if abs(b.get_y() + b.get_height() / 2 - row) < 0.3)
        low_bar, high_bar = sorted((low_bar, high_bar), key=lambda b: b.get_y())
        assert low_bar.get_x() == pytest.approx(base)
        assert low_bar.get_x() + low_bar.get_width() == pytest.approx(lo)
        assert high_bar.get_x() + high_bar.get_width() == pytest.approx(hi)
    assert labels == sorted(swings, key=lambda k: -swings[k])
    assert "(base 2%)" in ax.get_yticklabels()[labels.index("minimum savings rate")].get_text()
    assert "2,000 to 10,000 (base 5,000)" in "\n".join(t.get_text() for t in ax.get_yticklabels())
    assert "Sensitivity of mean settlement" in fig.get_suptitle()


@pytest.mark.parametrize("stat", STATISTICS)
def test_tornado_every_statistic(sweep: xr.Dataset, stat: str) -> None:
    fig = fig_tornado(sweep, stat=stat)  # type: ignore[arg-type]
    assert len(fig.axes) == len(DESIGNS)
    base = _stat_at(sweep, DESIGNS[1], stat)
    assert fig.axes[1].lines[0].get_xdata()[0] == pytest.approx(base)
    if stat.startswith("prob"):
        assert fig.axes[0].xaxis.get_major_formatter()(0.05, 0) == "5%"
    else:
        assert fig.axes[0].xaxis.get_major_formatter()(-2.0e6, 0) == "−$2.0M"


def test_tornado_whiskers_are_95_percent_monte_carlo_intervals(sweep: xr.Dataset) -> None:
    """Each bar but a base one ends in a whisker of 1.96 standard errors either side; with one
    year per trial the mean's is the textbook ``std / sqrt(trials)``."""
    assert sweep.sizes["year"] == 1
    fig = fig_tornado(sweep, design="two_sided")
    (ax,) = fig.axes
    whiskers = sorted(
        (float(seg[0][0]), float(seg[1][0]))
        for c in ax.containers
        if isinstance(c, ErrorbarContainer)
        for col in c.lines[2]
        for seg in col.get_segments()
    )
    base = {"min_savings_rate": 0.02, "trend_mean": 0.03, "members": 5000.0}
    want = []
    for dim, (values, _) in SWEEP.items():
        for v in (min(values), max(values)):
            if v == base[dim]:
                continue
            x = sweep.settlement.sel(design="two_sided").sel({**base, dim: v}).values.ravel()
            half = 1.959963984540054 * x.std(ddof=1) / np.sqrt(x.size)
            want.append((x.mean() - half, x.mean() + half))
    np.testing.assert_allclose(whiskers, sorted(want), rtol=1e-9)
    x = sweep.settlement.sel(design="two_sided").sel(base).values.ravel()
    assert ax.get_xlabel().endswith(
        f"(base ${x.mean() / 1e6:.1f}M ± ${1.96 * x.std(ddof=1) / np.sqrt(x.size) / 1e3:.1f}K)"
    )
    assert "95% Monte Carlo interval" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_tornado_errors(ds: xr.Dataset, sweep: xr.Dataset) -> None:
    with pytest.raises(ValueError, match=r"needs a sweep.*sweep_dims.*xr\.concat"):
        fig_tornado(ds)
    with pytest.raises(ValueError, match="stat must be one of"):
        fig_tornado(sweep, stat="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not in Dataset"):
        fig_tornado(sweep, var="nope")
    bad = sweep.copy()
    bad.attrs["sweep_dims"] = "min_savings_rate shared_loss_rate"
    with pytest.raises(ValueError, match="shared_loss_rate"):
        fig_tornado(bad)
    bad = sweep.copy()
    bad["members"].attrs["sweep_base"] = 7000.0
    with pytest.raises(ValueError, match="sweep_base"):
        fig_tornado(bad)
    fig = Figure()
    ax = fig.add_subplot()
    with pytest.raises(ValueError, match="one panel each"):
        fig_tornado(sweep, ax=ax)
    assert fig_tornado(sweep, design="upside_only", ax=ax) is fig


# -------------------------------------------------------------------------- fig_heatmap


def test_heatmap_cells(sweep: xr.Dataset) -> None:
    fig = fig_heatmap(sweep, x="min_savings_rate", y="trend_mean", design="two_sided")
    ax = fig.axes[0]
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    want = (
        sweep.settlement.sel(design="two_sided", members=5000.0)
        .mean(("trial", "year"))
        .transpose("trend_mean", "min_savings_rate")
        .values
    )
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(want.shape), want)
    # diverging scale centred on zero for a signed money statistic
    assert mesh.norm.vmin == pytest.approx(-mesh.norm.vmax)
    assert mesh.get_cmap().name == "RdBu"
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == want.size
    assert sum("(base)" in t for t in texts) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0%", "1%", "2%", "3%"]
    assert ax.get_xlabel() == "minimum savings rate"
    assert ax.get_ylabel() == "mean cost trend"
    assert "held at base: members 5,000" in ax.get_title(loc="right")
    assert len(fig.axes) == 2  # the map and its colour bar
    # The caption gives the largest standard error of the cells: std / sqrt(trials), one year.
    cells = sweep.settlement.sel(design="two_sided", members=5000.0)
    se = (cells.std(("trial", "year"), ddof=1) / np.sqrt(cells.sizes["trial"])).max()
    assert f"Monte Carlo SE of a cell up to ${float(se) / 1e3:.1f}K" in ax.get_title(loc="right")


def test_heatmap_probability_and_designs(sweep: xr.Dataset) -> None:
    fig = fig_heatmap(
        sweep, x="members", y="min_savings_rate", design=list(DESIGNS), stat="prob_loss"
    )
    assert len(fig.axes) == len(DESIGNS) + 1  # the maps and one shared colour bar
    meshes = [
        c for ax in fig.axes[: len(DESIGNS)] for c in ax.collections if isinstance(c, QuadMesh)
    ]
    assert len(meshes) == len(DESIGNS)
    assert len({(m.norm.vmin, m.norm.vmax) for m in meshes}) == 1  # shared scale
    assert meshes[0].norm.vmin == 0.0
    assert meshes[0].get_cmap().name == "Reds"


def test_heatmap_defaults_to_first_design(sweep: xr.Dataset) -> None:
    fig = fig_heatmap(sweep, x="members", y="trend_mean", stat="std")
    assert fig.axes[0].get_title(loc="left") == DESIGNS[0]


def test_heatmap_errors(ds: xr.Dataset, sweep: xr.Dataset) -> None:
    with pytest.raises(ValueError, match=r"fig_heatmap needs a sweep.*sweep_dims"):
        fig_heatmap(ds, x="min_savings_rate", y="trend_mean")
    with pytest.raises(ValueError, match="x='shared_loss_rate' is not a sweep dimension"):
        fig_heatmap(sweep, x="shared_loss_rate", y="trend_mean")
    with pytest.raises(ValueError, match="two different"):
        fig_heatmap(sweep, x="members", y="members")
    with pytest.raises(ValueError, match="stat must be one of"):
        fig_heatmap(sweep, x="members", y="trend_mean", stat="max")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="nope"):
        fig_heatmap(sweep, x="members", y="trend_mean", design="nope")
    fig = Figure()
    ax = fig.add_subplot()
    with pytest.raises(ValueError, match="one panel each"):
        fig_heatmap(sweep, x="members", y="trend_mean", design=list(DESIGNS), ax=ax)
    assert fig_heatmap(sweep, x="members", y="trend_mean", ax=ax) is fig


def test_swept_dataset_needs_a_selection_for_the_other_figures(sweep: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="select one value first"):
        fig_compare(sweep)
    one = sweep.sel(min_savings_rate=0.02, trend_mean=0.03, members=5000.0)
    assert isinstance(fig_compare(one), Figure)


# --------------------------------------------------------------- determinism, real data


@pytest.mark.parametrize(
    "make",
    [
        lambda d: fig_compare(d["ds"]),
        lambda d: fig_compare(d["ds"], kind="box"),
        lambda d: fig_fan(d["years"], design=["two_sided", "upside_only"]),
        lambda d: fig_participants(d["parts"]),
        lambda d: fig_tornado(d["sweep"]),
        lambda d: fig_heatmap(d["sweep"], x="min_savings_rate", y="members"),
    ],
    ids=["compare", "compare_box", "fan", "participants", "tornado", "heatmap"],
)
def test_png_is_byte_reproducible(
    make: object, ds: xr.Dataset, years: xr.Dataset, parts: xr.Dataset, sweep: xr.Dataset
) -> None:
    data = {"ds": ds, "years": years, "parts": parts, "sweep": sweep}
    fig = make(data)  # type: ignore[operator]
    first = _png(fig)
    assert _png(fig) == first
    assert _png(make(data)) == first  # type: ignore[operator]


def test_figures_of_a_simulated_run() -> None:
    import simsettle

    example = Path(__file__).resolve().parent.parent / "scenarios/examples/participants.yaml"
    run = simsettle.simulate(example, trials=60, progress=False)
    for fig in (
        fig_participants(run),
        fig_compare(run),
        fig_fan(run, design=list(run.design.values)),
    ):
        assert isinstance(fig, Figure)
        assert len(_png(fig)) > 10_000
    assert "performance method" in fig_participants(run).get_suptitle()
