"""simsettle.report: the report directory (HTML, PDF, PNGs), summary tables, light imports.

The HTML page and the PDF themselves are tested in test_report_html.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from _synthetic import DESIGNS, make_dataset
from matplotlib.image import imread

from simsettle.plot import format_money
from simsettle.report import format_summary, safe_filename, summary_table, write_report


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    return make_dataset(n_trials=2000, n_years=1)


def test_write_report_files(ds: xr.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "new" / "report"
    paths = write_report(ds.isel(trial=slice(0, 500)), out)
    assert [p.name for p in paths] == [
        "report.html",
        "report.pdf",
        "frontier.png",
        "distribution_upside_only.png",
        "distribution_two_sided.png",
        "distribution_two_sided_capped.png",
        "exceedance.png",
        "compare.png",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert paths[0].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert paths[1].read_bytes().startswith(b"%PDF-")
    for p in paths[2:]:
        assert p.parent == out
        img = imread(p)
        assert img.ndim == 3
        assert img.shape[2] == 4
        assert img.shape[1] > 600  # 110 dpi on a figure several inches wide
        assert float(img[..., :3].std()) > 0.01


@pytest.mark.slow
def test_write_report_is_reproducible(ds: xr.Dataset, tmp_path: Path) -> None:
    first = write_report(ds, tmp_path / "a")
    second = write_report(ds, tmp_path / "b")
    for p, q in zip(first, second, strict=True):
        assert p.read_bytes() == q.read_bytes(), p.name


def test_write_report_without_pdf_or_png(ds: xr.Dataset, tmp_path: Path) -> None:
    small = ds.isel(trial=slice(0, 300), design=[1])
    paths = write_report(small, tmp_path, pdf=False, png=False)
    assert [p.name for p in paths] == ["report.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_write_report_sanitises_labels(ds: xr.Dataset, tmp_path: Path) -> None:
    odd = ds.isel(design=[0, 1, 2], trial=slice(0, 300)).assign_coords(
        design=np.array(["../up side", "up/side", "MSSP 50%"], dtype=object)
    )
    paths = write_report(odd, tmp_path, pdf=False)[1:]
    names = [p.name for p in paths]
    assert len(set(names)) == len(names)
    for p in paths:
        assert p.parent == tmp_path
        assert re.fullmatch(r"[A-Za-z0-9_.-]+\.png", p.name), p.name
        assert p.exists()
    assert names[0] == "frontier.png"
    assert names[1:4] == [
        "distribution_up_side.png",
        "distribution_up_side-2.png",
        "distribution_MSSP_50_.png",
    ]


@pytest.mark.parametrize(
    ("label", "stem"),
    [
        ("two_sided", "two_sided"),
        ("MSSP level E 2.5%", "MSSP_level_E_2.5_"),
        ("../etc/passwd", "etc_passwd"),
        ("...", "design"),
        ("é", "design"),
    ],
)
def test_safe_filename(label: str, stem: str) -> None:
    assert safe_filename(label) == stem


def test_format_summary(ds: xr.Dataset) -> None:
    text = format_summary(ds)
    lines = text.splitlines()
    header = lines[1]
    for col in (
        "design",
        "mean",
        "MC SE of mean",
        "P5",
        "P50",
        "P95",
        "P(pay losses)",
        "P(receive savings)",
    ):
        assert col in header
    for d in DESIGNS:
        x = ds.settlement.sel(design=d).values.ravel()
        row = next(line for line in lines if line.split()[0] == d)
        assert format_money(float(np.mean(x))) in row
        assert format_money(float(np.quantile(x, 0.05))) in row
        assert f"{100 * np.mean(x < 0):.1f}%" in row
    two_sided = next(line for line in lines if line.startswith("two_sided "))
    assert "−$" in two_sided  # P5 is a loss, with a true minus sign
    assert "2,000 trials" in text
    assert str(ds.attrs["seed"]) in text


def test_format_summary_standard_error_keeps_a_trials_years_together() -> None:
    """Three performance years that repeat their trial's first: the mean's standard error is
    the trial means' spread over the square root of the trials, sqrt(3) times what treating
    the 3 x 400 years as independent draws would give."""
    ds = make_dataset(n_trials=400, n_years=3)
    first = ds.settlement.isel(year=0, drop=True)
    ds = ds.assign(settlement=first.broadcast_like(ds.settlement).transpose(*ds.settlement.dims))
    text = format_summary(ds)
    for d in DESIGNS:
        row = next(line for line in text.splitlines() if line.split()[0] == d)
        trial_means = ds.settlement.sel(design=d).mean("year").values
        sd = float(np.std(trial_means, ddof=1))
        assert format_money(sd / np.sqrt(400)) in row.split()[2]
        assert format_money(sd / np.sqrt(1200)) not in row.split()[2]


def test_summary_table(ds: xr.Dataset) -> None:
    from rich.console import Console
    from rich.table import Table

    table = summary_table(ds)
    assert isinstance(table, Table)
    assert table.row_count == len(DESIGNS)
    assert [str(c.header) for c in table.columns] == [
        "design",
        "mean",
        "MC SE of mean",
        "P5",
        "P50",
        "P95",
        "P(pay losses)",
        "P(receive savings)",
    ]
    console = Console(width=160, record=True, color_system=None)
    console.print(table)
    rendered = console.export_text()
    for d in DESIGNS:
        assert d in rendered


def test_stats_and_report_import_no_matplotlib() -> None:
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import simsettle.stats, simsettle.report, simsettle.plot\n"
        "from _synthetic import make_dataset\n"
        "text = simsettle.report.format_summary(make_dataset(n_trials=50))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'rich'))\n"
        "print(heavy)\n"
        "raise SystemExit(1 if heavy or 'two_sided' not in text else 0)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_format_summary_of_a_sweep_is_at_its_base_point() -> None:
    from _synthetic import make_sweep_dataset

    sweep = make_sweep_dataset(n_trials=200)
    text = format_summary(sweep)
    assert "At the base point of the sweep: min_savings_rate=0.02, trend_mean=0.03" in text
    base = sweep.sel(min_savings_rate=0.02, trend_mean=0.03, members=5000.0)
    x = base.settlement.sel(design="two_sided").values.ravel()
    row = next(line for line in text.splitlines() if line.startswith("two_sided "))
    assert format_money(float(np.mean(x))) in row
