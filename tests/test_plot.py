"""simsettle.plot: formatters, colours, figure content and reproducible PNG output."""

from __future__ import annotations

import io

import numpy as np
import pytest
import xarray as xr
from _synthetic import DESIGNS, make_dataset
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text

from simsettle.plot import (
    design_colors,
    design_linestyles,
    fig_distribution,
    fig_exceedance,
    format_percent,
    money_formatter,
    percent_formatter,
)

SAVE = {"dpi": 110, "metadata": {"Software": None}}


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=4000, n_years=1)


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", **SAVE)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-2.0e6, "−$2.0M"),
        (950.0, "$950"),
        (12_300.0, "$12.3K"),
        (1.2e6, "$1.2M"),
        (3.4e9, "$3.4B"),
        (-500_000.0, "−$500.0K"),
        (0.0, "$0"),
        (-0.3, "$0"),
        (999.7, "$1.0K"),
        (999_960.0, "$1.0M"),
        (-12.0, "−$12"),
    ],
)
def test_money_formatter(value: float, text: str) -> None:
    assert money_formatter()(value, 0) == text


def test_money_formatter_uses_true_minus() -> None:
    label = money_formatter()(-1.0e6, 0)
    assert label[0] == "\u2212"
    assert "-" not in label


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.05, "5%"), (0.1, "10%"), (0.01, "1%"), (0.001, "0.1%"), (0.372, "37.2%"), (1.0, "100%")],
)
def test_percent_formatter(value: float, text: str) -> None:
    assert percent_formatter()(value, 0) == text


def test_format_percent_fixed_decimals() -> None:
    assert format_percent(0.3721, 1) == "37.2%"
    assert format_percent(0.0, 1) == "0.0%"
    assert format_percent(0.00001, 1) == "<0.1%"


def test_design_colors_are_distinct_and_positional() -> None:
    colors = design_colors(DESIGNS)
    assert list(colors) == list(DESIGNS)
    assert len(set(colors.values())) == len(DESIGNS)
    # positional: the same position gets the same colour whatever the label
    assert design_colors(["x", "y"])["y"] == colors[DESIGNS[1]]
    styles = design_linestyles(DESIGNS)
    assert styles[DESIGNS[0]] == "-"
    assert styles[DESIGNS[1]] != "-"


def test_distribution_single_design_annotations(ds: xr.Dataset) -> None:
    x = ds.settlement.sel(design="upside_only").values.ravel()
    fig = fig_distribution(ds, design="upside_only")
    assert isinstance(fig, Figure)
    texts = "\n".join(_texts(fig))
    assert f"P(settlement = 0) = {100 * np.mean(x == 0):.1f}%" in texts
    assert f"P(receive savings) = {100 * np.mean(x > 0):.1f}%" in texts
    assert "P(pay losses) = 0.0%" in texts
    (ax,) = fig.axes
    assert ax.get_title(loc="left") == "upside_only"
    caption = ax.get_title(loc="right")
    assert "4,000 trials" in caption
    assert str(ds.attrs["seed"]) in caption


def test_distribution_excludes_zero_mass(ds: xr.Dataset) -> None:
    x = ds.settlement.sel(design="two_sided").values.ravel()
    fig = fig_distribution(ds, design="two_sided")
    (ax,) = fig.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    heights = np.array([b.get_height() for b in bars])
    # bar heights are shares of all trials; the zeros are not among them
    assert heights.sum() == pytest.approx(np.mean(x != 0), rel=1e-12)
    assert heights.max() < np.mean(x == 0)
    assert to_hex(bars[0].get_facecolor()) == design_colors(DESIGNS)["two_sided"].lower()
    zero_lines = [
        ln for ln in ax.lines if isinstance(ln, Line2D) and list(ln.get_xdata()) == [0.0, 0.0]
    ]
    assert zero_lines
    assert ax.xaxis.get_major_formatter()(-2.0e6, 0) == "−$2.0M"
    assert ax.yaxis.get_major_formatter()(0.05, 0) == "5%"


def test_distribution_caps_annotated(ds: xr.Dataset) -> None:
    fig = fig_distribution(ds, design="two_sided_capped")
    texts = "\n".join(_texts(fig))
    assert "P(at savings cap) = " in texts
    assert "P(at loss cap) = " in texts
    assert "cap" not in "\n".join(_texts(fig_distribution(ds, design="two_sided")))


def test_distribution_several_designs(ds: xr.Dataset) -> None:
    fig = fig_distribution(ds)
    (ax,) = fig.axes
    steps = [p for p in ax.patches if isinstance(p, Polygon)]
    colors = design_colors(DESIGNS)
    assert [to_hex(p.get_edgecolor()) for p in steps] == [colors[d].lower() for d in DESIGNS]
    legend = ax.get_legend()
    assert legend is not None
    labels = [t.get_text() for t in legend.get_texts()]
    assert len(labels) == len(DESIGNS)
    for d, label in zip(DESIGNS, labels, strict=True):
        x = ds.settlement.sel(design=d).values.ravel()
        assert label.startswith(d)
        assert f"P(settlement = 0) = {100 * np.mean(x == 0):.1f}%" in label


def test_distribution_subset_keeps_colors(ds: xr.Dataset) -> None:
    fig = fig_distribution(ds, design=["two_sided_capped", "two_sided"])
    (ax,) = fig.axes
    steps = [p for p in ax.patches if isinstance(p, Polygon)]
    colors = design_colors(DESIGNS)
    assert [to_hex(p.get_edgecolor()) for p in steps] == [
        colors["two_sided_capped"].lower(),
        colors["two_sided"].lower(),
    ]


def test_draws_into_given_axes(ds: xr.Dataset) -> None:
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    assert fig_distribution(ds, design="two_sided", ax=ax1) is fig
    assert fig_exceedance(ds, ax=ax2) is fig
    assert len(fig.axes) == 2
    assert ax1.patches
    assert ax2.get_yscale() == "log"
    assert ax2.get_xlabel().startswith("Provider pays")


def test_subfigure_axes_return_root_figure(ds: xr.Dataset) -> None:
    fig = Figure()
    sub = fig.subfigures(1, 2)[0]
    ax = sub.add_subplot()
    assert fig_distribution(ds, design="two_sided", ax=ax) is fig


def test_unknown_design(ds: xr.Dataset) -> None:
    with pytest.raises(KeyError, match="nope"):
        fig_distribution(ds, design="nope")
    with pytest.raises(KeyError, match="nope"):
        fig_exceedance(ds, design=["two_sided", "nope"])


def test_sweep_dimension_must_be_selected(ds: xr.Dataset) -> None:
    swept = xr.concat([ds, ds], dim="trend")
    with pytest.raises(ValueError, match="trend"):
        fig_distribution(swept, design="two_sided")


def test_exceedance_curves(ds: xr.Dataset) -> None:
    fig = fig_exceedance(ds)
    losses_ax, savings_ax = fig.axes
    assert losses_ax.get_yscale() == "log"
    colors = design_colors(DESIGNS)
    labels = [t.get_text() for t in losses_ax.get_legend().get_texts()]
    assert labels == ["upside_only (never pays)", "two_sided", "two_sided_capped"]

    x = ds.settlement.sel(design="two_sided").values.ravel()
    curve = next(ln for ln in losses_ax.lines if ln.get_label() == "two_sided")
    assert to_hex(curve.get_color()) == colors["two_sided"].lower()
    xs = np.asarray(curve.get_xdata(orig=True), dtype=float)
    ps = np.asarray(curve.get_ydata(orig=True), dtype=float)
    losses = np.sort(-x[x < 0])
    np.testing.assert_array_equal(xs[1:], losses)
    assert ps[0] == pytest.approx(np.mean(x < 0))  # P(pays anything)
    assert ps[-1] == pytest.approx(1 / x.size)  # largest loss: 1 in N
    # P(pay >= the loss level) = k/N at every point of the curve
    np.testing.assert_allclose(ps[1:], [np.mean(-x >= v) for v in losses])

    upside = next(ln for ln in savings_ax.lines if ln.get_label() == "upside_only")
    ys = np.asarray(upside.get_ydata(orig=True), dtype=float)
    assert ys[0] == pytest.approx(np.mean(ds.settlement.sel(design="upside_only").values > 0))
    texts = "\n".join(_texts(fig))
    for guide in ("1 in 10", "1 in 20", "1 in 100"):
        assert guide in texts
    assert "4,000 trials" in texts


def test_exceedance_side_argument(ds: xr.Dataset) -> None:
    fig = fig_exceedance(ds, side="savings")
    (ax,) = fig.axes
    assert ax.get_xlabel().startswith("Provider receives")
    with pytest.raises(ValueError, match="two panels"):
        fig_exceedance(ds, ax=ax, side="both")


def test_png_is_a_readable_picture(ds: xr.Dataset, tmp_path: object) -> None:
    fig = fig_distribution(ds, design="two_sided")
    w, h = fig.get_size_inches()
    img = imread(io.BytesIO(_png(fig)), format="png")
    assert img.shape == (round(h * 110), round(w * 110), 4)
    assert float(img[..., :3].std()) > 0.01


@pytest.mark.parametrize("kind", ["distribution", "distributions", "exceedance"])
def test_png_is_byte_reproducible(ds: xr.Dataset, kind: str) -> None:
    def make() -> Figure:
        if kind == "distribution":
            return fig_distribution(ds, design="two_sided_capped")
        if kind == "distributions":
            return fig_distribution(ds)
        return fig_exceedance(ds)

    fig = make()
    first = _png(fig)
    assert _png(fig) == first
    assert _png(make()) == first  # a fresh figure gives the same bytes
    assert b"Software" not in first


def test_fig_payoff_draws_each_design_curve(tmp_path):
    import simsettle
    from simsettle.plot import fig_payoff
    from simsettle.scenario import TwoSided, UpsideOnly

    designs = [
        UpsideOnly(
            kind="upside_only",
            name="one",
            min_savings_rate=0.02,
            shared_savings_rate=0.5,
            savings_cap=0.1,
        ),
        TwoSided(
            kind="two_sided",
            name="two",
            shared_savings_rate=0.5,
            shared_loss_rate=0.3,
            loss_cap=0.04,
        ),
    ]
    ds = simsettle.payoff(designs)
    fig = fig_payoff(ds)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "one" in labels
    assert "two" in labels
    two = next(line for line in ax.get_lines() if line.get_label() == "two")
    x, y = (np.asarray(v, dtype=float) for v in two.get_data())
    # Losses past the 4% cap are flat; 30% of losses below it.
    assert y[np.argmin(np.abs(x + 0.25))] == pytest.approx(-0.04)
    assert y[np.argmin(np.abs(x + 0.10))] == pytest.approx(-0.03)
    path = tmp_path / "payoff.png"
    fig.savefig(path, dpi=80, metadata={"Software": None})
    img = imread(path)
    assert img.shape[0] > 200
    assert float(img[..., :3].std()) > 0.01
    with pytest.raises(KeyError, match="payoff"):
        fig_payoff(ds.drop_vars("payoff"))


# ------------------------------------------------------------------ finishing of every chart


def _all_figures() -> dict[str, Figure]:
    from _synthetic import make_participant_dataset, make_sweep_dataset

    from simsettle.plot import (
        fig_compare,
        fig_fan,
        fig_heatmap,
        fig_participants,
        fig_tornado,
    )

    ds3 = make_dataset(n_trials=300, n_years=3)
    sweep = make_sweep_dataset(n_trials=200)
    return {
        "distribution": fig_distribution(ds3, design="two_sided_capped"),
        "exceedance": fig_exceedance(ds3),
        "compare": fig_compare(ds3),
        "fan": fig_fan(ds3),
        "participants": fig_participants(make_participant_dataset()),
        "tornado": fig_tornado(sweep),
        "heatmap": fig_heatmap(sweep, x="members", y="trend_mean"),
    }


def test_every_chart_is_plain_text() -> None:
    """Money labels carry dollar signs; two in one label (``$100.0K: +$0``, the tornado's)
    must not be typeset as mathematics, which would drop them. (The money axis' tick labels,
    which matplotlib makes as it draws, carry one sign each: never mathematics.)"""
    figs = _all_figures()
    for name, fig in figs.items():
        fig.draw_without_rendering()
        ticks = {
            id(label)
            for ax in fig.axes
            for tick in (*ax.xaxis.get_major_ticks(), *ax.xaxis.get_minor_ticks())
            for label in (tick.label1, tick.label2)
        }
        money = [t for t in fig.findobj(Text) if "$" in t.get_text() and id(t) not in ticks]
        assert money or name == "exceedance", name
        assert not [t.get_text() for t in money if t.get_parse_math()], name


def test_long_design_names_are_wrapped_not_overlapping() -> None:
    """A design name wider than its panel is wrapped, so that panel titles side by side (the
    fan chart's small multiples) stay clear of each other; a chart whose title would run into
    its run caption is widened instead."""
    from matplotlib.transforms import Bbox

    from simsettle.plot import fig_compare, fig_fan

    long = "Commercial upside-only with stop-loss at $250,000 per member"
    ds = make_dataset(n_trials=300, n_years=3).assign_coords(
        design=["MSSP Enhanced track with a 2% corridor and 75% sharing", "two_sided", long]
    )
    fig = fig_fan(ds, design=[long, "two_sided"])
    fig.draw_without_rendering()
    boxes: list[Bbox] = []
    for ax in fig.axes:
        left = ax.get_title(loc="left")
        if left.replace("\n", " ") in (long, "two_sided"):
            (box,) = [t.get_window_extent() for t in ax.findobj(Text) if t.get_text() == left]
            assert box.width <= ax.bbox.width + 1.0
            boxes.append(box)
    assert len(boxes) == 2
    assert not boxes[0].overlaps(boxes[1])
    assert any("\n" in ax.get_title(loc="left") for ax in fig.axes)
    fig = fig_compare(ds)
    fig.draw_without_rendering()
    (ax,) = fig.axes
    left, right = ax.get_title(loc="left"), ax.get_title(loc="right")
    (a,) = [t.get_window_extent() for t in ax.findobj(Text) if t.get_text() == left]
    (b,) = [t.get_window_extent() for t in ax.findobj(Text) if t.get_text() == right]
    assert a.x1 <= b.x0


def test_distribution_standard_error_keeps_a_trials_years_together() -> None:
    """The text box's MC SE: three years that repeat their trial's first give sqrt(3) times
    the error that treating the 3 x 400 years as independent would."""
    from simsettle.plot import format_money

    ds = make_dataset(n_trials=400, n_years=3)
    first = ds.settlement.isel(year=0, drop=True)
    ds = ds.assign(settlement=first.broadcast_like(ds.settlement).transpose(*ds.settlement.dims))
    x = ds.settlement.sel(design="two_sided").mean("year").values
    sd = float(np.std(x, ddof=1))
    text = "\n".join(_texts(fig_distribution(ds, design="two_sided")))
    assert f"(MC SE {format_money(sd / np.sqrt(400))})" in text
    assert f"(MC SE {format_money(sd / np.sqrt(1200))})" not in text


def test_distribution_bars_stay_clear_of_the_text_box() -> None:
    """Most values in one bin at the far left, under the probability box of a capped design
    (its cap lines make the box tall): the y axis is raised until that bar ends below the box
    (it would reach 66% of the axes height, above the box's lower edge at 65%)."""
    from matplotlib.axes import Axes

    ds = make_dataset(n_trials=2000, n_years=1)
    rng = np.random.default_rng(3)
    values = np.where(rng.random(2000) < 0.8, -4.0e6, rng.normal(2.0e6, 1.0e6, 2000))
    ds = ds.assign(
        settlement=ds.settlement.copy(
            data=np.broadcast_to(values[None, :, None], ds.settlement.shape)
        )
    )
    for ax in (None, Figure(figsize=(7.2, 4.4), layout="constrained").add_subplot()):
        fig = fig_distribution(ds, design="two_sided_capped", ax=ax)
        fig.draw_without_rendering()
        (axis,) = fig.axes
        assert isinstance(axis, Axes)
        (box,) = [t.get_bbox_patch() for t in axis.texts if t.get_bbox_patch() is not None]
        extent = box.get_window_extent()
        bottom = axis.transAxes.inverted().transform(extent.get_points())[0, 1]
        x0, x1 = axis.transData.inverted().transform(extent.get_points())[:, 0]
        lo, hi = axis.get_ylim()
        under = [
            (p.get_height() - lo) / (hi - lo)
            for p in axis.patches
            if isinstance(p, Rectangle) and p.get_x() < x1 and p.get_x() + p.get_width() > x0
        ]
        assert max(under) > 0.5  # the tall bar is under the box
        assert max(under) < bottom
