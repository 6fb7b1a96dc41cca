"""Every figure of simsettle.plot against a baseline PNG in tests/baseline/.

Each case draws one figure from a small synthetic Dataset (tests/_synthetic.py; no simulation,
so the baselines do not move when the kernel's random mapping changes) with matplotlib's
default style, DejaVu Sans (bundled with matplotlib) and no metadata, saves it at 100 dpi (the
figures' own dpi, at which their layout is computed) and compares it with
``matplotlib.testing.compare.compare_images`` at ``TOL`` (RMS of the pixel difference, 0-255).

On a mismatch the test fails naming three files in its pytest tmp directory: the expected
image, the actual one and their difference (``*-failed-diff.png``).

Regenerate the baselines after an intended change to a figure (or to the synthetic data) with::

    pytest tests/test_plot_images.py --update-baselines

then look at every rewritten PNG before committing it.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib as mpl
import matplotlib.style
import pytest
import xarray as xr
from _synthetic import make_dataset, make_participant_dataset, make_sweep_dataset
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from matplotlib.testing.exceptions import ImageComparisonFailure

from simsettle.plot import (
    fig_compare,
    fig_distribution,
    fig_exceedance,
    fig_fan,
    fig_frontier,
    fig_heatmap,
    fig_participants,
    fig_payoff,
    fig_tornado,
)

BASELINE = Path(__file__).resolve().parent / "baseline"
DPI = 100
TOL = 3.0
#: On top of matplotlib's default style (which already fixes hinting, antialiasing and sizes):
#: the font, and a fixed hash salt should a case ever be saved as SVG.
RC = {"font.family": ["DejaVu Sans"], "svg.hashsalt": "simsettle"}
SAVE = {"dpi": DPI, "format": "png", "metadata": {"Software": None}}


@pytest.fixture(scope="module")
def one_year() -> xr.Dataset:
    return make_dataset(n_trials=600, n_years=1)


@pytest.fixture(scope="module")
def four_years() -> xr.Dataset:
    ds = make_dataset(n_trials=300, n_years=4)
    ds.attrs["scenario_yaml"] = "benchmark:\n  agreement_years: 2\n"
    return ds


@pytest.fixture(scope="module")
def participants() -> xr.Dataset:
    return make_participant_dataset(n_trials=400, n_years=1)


@pytest.fixture(scope="module")
def sweep() -> xr.Dataset:
    return make_sweep_dataset(n_trials=300)


def _payoff_figure() -> Figure:
    import simsettle
    from simsettle.scenario import TwoSided, UpsideOnly

    designs = [
        UpsideOnly(
            kind="upside_only",
            name="one_sided",
            min_savings_rate=0.02,
            shared_savings_rate=0.5,
            savings_cap=0.1,
        ),
        TwoSided(
            kind="two_sided",
            name="two_sided",
            min_savings_rate=0.02,
            shared_savings_rate=0.6,
            shared_loss_rate=0.4,
            loss_cap=0.05,
        ),
    ]
    return fig_payoff(simsettle.payoff(designs))


Case = Callable[[pytest.FixtureRequest], Figure]

CASES: dict[str, Case] = {
    "distribution_one": lambda r: fig_distribution(
        r.getfixturevalue("one_year"), design="two_sided_capped"
    ),
    "distribution_all": lambda r: fig_distribution(r.getfixturevalue("one_year")),
    "exceedance": lambda r: fig_exceedance(r.getfixturevalue("one_year")),
    "frontier": lambda r: fig_frontier(r.getfixturevalue("one_year")),
    "payoff": lambda r: _payoff_figure(),
    "compare_violin": lambda r: fig_compare(r.getfixturevalue("one_year")),
    "compare_box": lambda r: fig_compare(r.getfixturevalue("one_year"), kind="box"),
    "fan": lambda r: fig_fan(r.getfixturevalue("four_years"), design="two_sided"),
    "fan_designs": lambda r: fig_fan(
        r.getfixturevalue("four_years"), design=["upside_only", "two_sided_capped"]
    ),
    "fan_one_year": lambda r: fig_fan(r.getfixturevalue("one_year")),
    "participants": lambda r: fig_participants(r.getfixturevalue("participants")),
    "tornado": lambda r: fig_tornado(
        r.getfixturevalue("sweep"), design=["two_sided", "upside_only"]
    ),
    "heatmap": lambda r: fig_heatmap(
        r.getfixturevalue("sweep"),
        x="min_savings_rate",
        y="trend_mean",
        design="two_sided",
        stat="q05",
    ),
}


@pytest.fixture
def pinned_style() -> Iterator[None]:
    """matplotlib's default style with the pinned settings, whatever the user's matplotlibrc."""
    with mpl.style.context("default"), mpl.rc_context(RC):
        yield


def _render(case: str, request: pytest.FixtureRequest) -> bytes:
    buf = io.BytesIO()
    CASES[case](request).savefig(buf, **SAVE)
    return buf.getvalue()


@pytest.mark.usefixtures("pinned_style")
@pytest.mark.parametrize("case", sorted(CASES))
def test_figure_matches_baseline(
    case: str, request: pytest.FixtureRequest, tmp_path: Path, update_baselines: bool
) -> None:
    expected = BASELINE / f"{case}.png"
    png = _render(case, request)
    if update_baselines:
        BASELINE.mkdir(exist_ok=True)
        expected.write_bytes(png)
        return
    if not expected.exists():
        pytest.fail(
            f"{expected} is missing; create it with "
            "`pytest tests/test_plot_images.py --update-baselines`"
        )
    actual = tmp_path / f"{case}.png"
    actual.write_bytes(png)
    kept = tmp_path / f"{case}-expected.png"
    shutil.copyfile(expected, kept)
    try:
        result = compare_images(str(kept), str(actual), tol=TOL)
    except ImageComparisonFailure as exc:  # different image sizes
        pytest.fail(f"{case}: {exc}\n  expected: {kept}\n  actual:   {actual}")
    if result is not None:
        diff = tmp_path / f"{case}-failed-diff.png"
        pytest.fail(
            f"{case} differs from its baseline (tol={TOL}): {result}\n"
            f"  expected: {kept}\n  actual:   {actual}\n  diff:     {diff}\n"
            "If the change is intended, run "
            "`pytest tests/test_plot_images.py --update-baselines` and look at the new PNG."
        )


@pytest.mark.usefixtures("pinned_style")
@pytest.mark.parametrize("case", sorted(CASES))
def test_figure_is_byte_reproducible(case: str, request: pytest.FixtureRequest) -> None:
    first = _render(case, request)
    assert _render(case, request) == first
    assert b"Software" not in first


def test_every_figure_function_has_a_baseline() -> None:
    import simsettle.plot

    functions = {name for name in simsettle.plot.__all__ if name.startswith("fig_")}
    assert {f"fig_{case.split('_')[0]}" for case in CASES} == functions
