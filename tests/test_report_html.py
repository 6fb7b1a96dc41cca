"""The committee report: self-contained HTML page, its PDF, and the `report` command."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from _synthetic import DESIGNS, make_dataset, make_participant_dataset, make_sweep_dataset
from matplotlib.image import imread
from typer.testing import CliRunner

from simsettle.plot import format_money
from simsettle.report import Report, build_report, render_html, write_html, write_pdf
from simsettle.report.pdf import compose_pages

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr", "area", "base"}
YAML = 'name: "test <scenario> & co"\nseed: 20260101\ndesigns:\n  - {name: two_sided}\n'


class Page(HTMLParser):
    """Parses the report and keeps what the tests look at; fails on unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        # tables: data-table -> list of rows; a row is a list of (tag, class, text)
        self.tables: dict[str, list[list[tuple[str, str, str]]]] = {}
        self._table: str | None = None
        self._row: list[tuple[str, str, str]] | None = None
        self._cell: list[Any] | None = None
        self._in_tbody = False
        # design paragraphs: (heading text, paragraph text)
        self.designs: list[tuple[str, str]] = []
        self._design: list[str] | None = None
        self._capture: str | None = None
        self.pre: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self._table = a.get("data-table")
            if self._table is not None:
                self.tables[self._table] = []
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = [tag, a.get("class") or "", []]
        elif tag == "span" and self._cell is not None:
            self._cell[2].append(f"[{a.get('class')}]")
        elif tag == "section" and a.get("class") == "design":
            self._design = []
        elif tag in ("h3", "p") and self._design is not None:
            self._capture = tag
            self._design.append("")
        elif tag == "pre":
            self._capture = "pre"
            self.pre.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append((self._cell[0], self._cell[1], "".join(self._cell[2])))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_tbody = False
        elif tag == "table":
            self._table = None
        elif tag == "section" and self._design is not None:
            self.designs.append((self._design[0], self._design[1]))
            self._design = None
        elif tag == self._capture:
            self._capture = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell[2].append(data)
        if self._capture == "pre":
            self.pre[-1] += data
        elif self._capture is not None and self._design is not None:
            self._design[-1] += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert page.errors == []
    assert page.stack == []
    return page


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    out = make_dataset(n_trials=1000, n_years=1)
    out.attrs |= {
        "scenario_yaml": YAML,
        "scenario_sha256": "ab" * 32,
        "scenario_source": "scenarios/test.yaml",
        "history": "2026-01-02T03:04:05+00:00 simsettle run scenarios/test.yaml -o r.nc",
        "rng": "philox4x32-10",
    }
    return out


@pytest.fixture(scope="module")
def report(ds: xr.Dataset) -> Report:
    return build_report(ds)


@pytest.fixture(scope="module")
def page(report: Report) -> Page:
    return parse(render_html(report))


def test_html_is_well_formed_and_self_contained(page: Page, report: Report) -> None:
    html = render_html(report)
    assert html.startswith("<!DOCTYPE html>")
    names = [t for t, _ in page.tags]
    assert names.count("html") == names.count("head") == names.count("body") == 1
    assert "script" not in names
    assert "link" not in names
    for _, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith("data:"), value
    assert "http://" not in html
    assert "https://" not in html
    sections = [a["id"] for t, a in page.tags if t == "section" and "id" in a]
    assert sections == [
        "recommendation",
        "run",
        "summary",
        "figures",
        "precision",
        "charts",
        "scenario",
    ]


def test_one_png_per_chart(page: Page, report: Report) -> None:
    imgs = [a for t, a in page.tags if t == "img"]
    # the frontier (in the recommendation), three distributions, the exceedance curves and
    # the comparison (no payoff curves, one year, no participants, no sweep in this Dataset)
    assert len(imgs) == len(report.charts) == len(DESIGNS) + 3
    keys = [c.key for c in report.charts]
    assert keys == ["frontier", *(f"distribution_{d}" for d in DESIGNS), "exceedance", "compare"]
    for a in imgs:
        src = a["src"]
        assert src is not None
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data.startswith(PNG_MAGIC)
        img = imread(io.BytesIO(data))
        assert img.shape[1] > 1000  # 192 dpi on a chart several inches wide
        assert float(img[..., :3].std()) > 0.05  # not blank
        # displayed at its size in CSS pixels (half the PNG's pixels)
        assert abs(int(a["width"] or 0) - img.shape[1] / 2) <= 1
        assert a["alt"]
    figures = [a.get("id") for t, a in page.tags if t == "figure"]
    assert figures == [f"chart-{k}" for k in keys]
    captions = [a for t, a in page.tags if t == "figcaption"]
    assert len(captions) == len(imgs)


def test_tables_have_a_row_per_design_and_every_figure_its_se(page: Page) -> None:
    assert set(page.tables) == {"decision", "settlement", "tail", "probabilities", "precision"}
    for key in ("decision", "settlement", "tail", "probabilities"):
        rows = page.tables[key]
        assert len(rows) == len(DESIGNS)
        for row in rows:
            cells = row[1:]
            assert cells
            for tag, cls, text in cells:
                assert tag == "td"
                if cls == "empty":
                    continue
                assert re.fullmatch(r"\[v\][^\[]+\[se\]±\xa0[^\[]+", text), text
    assert len(page.tables["precision"]) == len(DESIGNS)


def _design_names(rows: list[list[tuple[str, str, str]]]) -> list[str]:
    return [re.sub(r"\[[A-Za-z]+\]", "", r[0][2]) for r in rows]


def test_table_rows_name_the_designs_in_order(page: Page) -> None:
    for key in ("settlement", "tail", "probabilities", "precision"):
        assert _design_names(page.tables[key]) == list(DESIGNS)


def test_table_figures_match_independent_statistics(ds: xr.Dataset, page: Page) -> None:
    for row, d in zip(page.tables["settlement"], DESIGNS, strict=True):
        x = ds.settlement.sel(design=d).values.ravel()
        values = [re.findall(r"\[v\]([^\[]+)\[se\]±\xa0(.+)", c[2])[0] for c in row[1:]]
        mean, q05, q50, q95 = values
        se = x.std(ddof=1) / np.sqrt(x.size)  # one year per trial: the textbook SE
        assert mean == (format_money(x.mean()), format_money(se))
        assert q05[0] == format_money(np.quantile(x, 0.05))
        assert q50[0] == format_money(np.quantile(x, 0.5))
        assert q95[0] == format_money(np.quantile(x, 0.95))
    for row, d in zip(page.tables["probabilities"], DESIGNS, strict=True):
        x = ds.settlement.sel(design=d).values.ravel()
        pays = re.findall(r"\[v\]([^\[]+)\[se\]", row[1][2])[0]
        assert pays == f"{100 * np.mean(x < 0):.1f}%"


def test_paragraph_per_design_matches_quantiles(ds: xr.Dataset, page: Page) -> None:
    assert [h.strip() for h, _ in page.designs] == list(DESIGNS)
    text = {h.strip(): p for h, p in page.designs}
    for d in DESIGNS:
        x = ds.settlement.sel(design=d).values.ravel()
        q05, q95 = np.quantile(x, [0.05, 0.95])
        p = text[d]
        assert p.startswith("In 9 years of 10 ")
        assert f"{100 * np.mean(x > 0):.1f}%" in p
        if d == "upside_only":
            assert q05 == 0
            assert f"the provider receives between $0 and {format_money(q95)}." in p
            assert "It never pays: the design is upside-only." in p
            assert "−" not in p  # amounts in words carry no sign
        else:
            assert q05 < 0 < q95
            assert (
                f"between the provider paying {format_money(-q05)} and receiving "
                f"{format_money(q95)}." in p
            )
            assert f"In 1 year of 20 it pays {format_money(-q05)} or more" in p
            assert f"It pays anything at all in {100 * np.mean(x < 0):.1f}% of years" in p
            # mean of the provider's worst 5% of years (payments), without the sign
            worst = np.sort(x)[: int(0.05 * x.size)]
            assert f"({format_money(-worst.mean())} on average in those years)" in p
        mean = x.mean()
        verb = "receives" if mean > 0 else "pays"
        assert f"On average it {verb} {format_money(abs(mean))} a year" in p


def test_run_facts_and_scenario(ds: xr.Dataset, page: Page) -> None:
    text = "".join(page.text)
    for fact in ("ab" * 32, "20260101", "scenarios/test.yaml", "philox4x32-10", "1,000"):
        assert fact in text
    assert "2026-01-02 03:04 UTC: simsettle run scenarios/test.yaml -o r.nc" in text
    assert "simsettle 0.0.test" in text  # version of the run, from the attributes
    assert page.pre == [YAML]  # the scenario text, unescaped by the parser: it was escaped


def test_names_from_the_results_are_escaped(ds: xr.Dataset) -> None:
    odd = ["<b>x</b>", "<script>alert(1)</script>", 'a"b & c']
    sub = ds.isel(design=[0, 1, 2]).assign_coords(design=np.array(odd, dtype=object))
    sub.attrs["title"] = "<i>title</i>"
    html = render_html(build_report(sub))
    p = parse(html)
    tags = {t for t, _ in p.tags}
    assert "b" not in tags
    assert "i" not in tags
    assert "script" not in tags
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert [h.strip() for h, _ in p.designs] == odd
    assert _design_names(p.tables["settlement"]) == odd
    assert "<script" not in html
    alts = [a["alt"] for t, a in p.tags if t == "img"]
    assert "Distribution of the settlement: <b>x</b>" in alts  # attribute escaped, parsed back


def test_never_paying_and_always_zero_designs_read_right(ds: xr.Dataset) -> None:
    zero = ds.isel(design=[0]).copy()
    zero["settlement"] = zero["settlement"] * 0.0
    # a design that shares losses (no loss cap) but never paid any
    kind = ("design", np.array(["two_sided"], dtype=object))
    r = build_report(zero.assign_coords(kind=kind, loss_cap=("design", [np.nan])), charts=False)
    (d,) = r.designs
    assert d.paragraph.startswith("In at least 9 years of 10 no money changes hands.")
    assert "It never pays in any simulated year." in d.paragraph
    # a design that always pays: amounts in words, no minus signs
    pays = ds.isel(design=[1]).copy()
    pays["settlement"] = -abs(pays["settlement"]) - 1000.0
    (d,) = build_report(pays, charts=False).designs
    x = pays.settlement.values.ravel()
    assert (
        f"the provider pays between {format_money(-np.quantile(x, 0.95))} and "
        f"{format_money(-np.quantile(x, 0.05))}." in d.paragraph
    )
    assert "On average it pays" in d.paragraph
    assert "−" not in d.paragraph


def test_convergence_verdict(ds: xr.Dataset) -> None:
    strict = build_report(ds, charts=False, money_precision=0.001, prob_precision=0.001)
    for d in strict.designs:
        assert not d.converged
        assert d.trials_needed is not None
        assert d.trials_needed > ds.sizes["trial"]
        assert d.verdict.startswith("Not enough trials for: ")
        assert f"About {d.trials_needed:,} trials would do." in d.verdict
    loose = build_report(ds, charts=False, money_precision=0.5, prob_precision=0.5)
    for d in loose.designs:
        assert d.converged
        assert d.trials_needed is None
        assert d.verdict == "Enough trials: every figure is within its target."


def test_design_selection_and_errors(ds: xr.Dataset) -> None:
    r = build_report(ds, design=["two_sided", "upside_only"], charts=False)
    assert [d.design for d in r.designs] == ["two_sided", "upside_only"]
    assert ("Designs", "2 of the 3 in the results") in r.facts
    with pytest.raises(ValueError, match="unknown design"):
        build_report(ds, design="nope")
    with pytest.raises(ValueError, match="not a simsettle results Dataset"):
        build_report(xr.Dataset({"x": ("t", np.arange(3.0))}))
    with pytest.raises(ValueError, match="money_precision"):
        build_report(ds, money_precision=0.0)


def test_charts_follow_the_data() -> None:
    from simsettle.report.content import _chart_plan

    years = make_participant_dataset(n_trials=100, n_years=3)
    keys = [key for key, *_ in _chart_plan(years, years, [])]
    assert keys == [
        "frontier",
        *(f"distribution_{d}" for d in DESIGNS),
        "exceedance",
        "compare",
        "fan_1",  # three designs: fan charts of at most two designs each
        "fan_2",
        "participants",
    ]
    r = build_report(years, charts=False)
    assert "Each of the 100 trials simulates 3 performance years" in r.years_note
    sweep = make_sweep_dataset(n_trials=100)
    base = sweep.sel(min_savings_rate=0.02, trend_mean=0.03, members=5000.0)
    dims = ["min_savings_rate", "trend_mean", "members"]
    keys = [key for key, *_ in _chart_plan(sweep, base, dims)]
    assert keys[-4:] == ["tornado_1", "tornado_2", "heatmap_1", "heatmap_2"]
    r = build_report(sweep, charts=False)
    assert "base case (minimum savings rate 2%, mean cost trend 3%, members 5,000)" in (
        r.years_note
    )
    assert ("Swept", "minimum savings rate: 0%, 1%, 2%, 3% (base 2%)") in r.facts


@pytest.mark.slow
def test_every_kind_of_chart_renders() -> None:
    for ds in (
        make_participant_dataset(n_trials=200, n_years=3),
        make_sweep_dataset(n_trials=200),
    ):
        r = build_report(ds)
        assert r.charts
        for chart in r.charts:
            img = imread(io.BytesIO(chart.png))
            assert float(img[..., :3].std()) > 0.02, chart.key


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_pdf(report: Report, tmp_path: Path) -> None:
    path = write_pdf(report, tmp_path / "sub" / "r.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    # 1 the recommendation, 2 run facts and words, 3 key figures, 4 precision; 5 the frontier
    # chart (no room left for it on page 1), 6-7 the three distributions; 8 the wide
    # exceedance chart on a landscape page of its own; 9 the comparison; 10 the scenario
    assert _pdf_pages(data) == len(compose_pages(report)) == 10
    boxes = re.findall(rb"/MediaBox \[ ?0 0 (\d+) (\d+) ?\]", data)
    assert boxes == [(b"612", b"792")] * 7 + [(b"792", b"612")] + [(b"612", b"792")] * 2
    again = write_pdf(report, tmp_path)  # a directory: report.pdf in it
    assert again == tmp_path / "report.pdf"
    assert again.read_bytes() == data  # reproducible


def test_write_html_to_a_directory_or_file(report: Report, tmp_path: Path) -> None:
    assert write_html(report, tmp_path / "new") == tmp_path / "new" / "report.html"
    assert (
        write_html(report, tmp_path / "page.html")
        .read_text(encoding="utf-8")
        .startswith("<!DOCTYPE html>")
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "page.html"]  # no temp files


# ------------------------------------------------------------------ looking at it rendered

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFTOPPM = shutil.which("pdftoppm")


def _not_blank(png: Path) -> None:
    img = imread(png)
    assert img.shape[0] > 200
    assert img.shape[1] > 200
    rgb = img[..., :3]
    assert float(rgb.std()) > 0.02, png.name
    assert float((rgb.mean(axis=2) < 0.5).mean()) > 0.001, png.name  # some dark ink


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)")
def test_html_renders_in_headless_chromium(report: Report, tmp_path: Path) -> None:
    html = write_html(report, tmp_path / "report.html")
    shot = tmp_path / "shot.png"
    assert CHROMIUM is not None
    run = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1280,4000",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    _not_blank(shot)
    img = imread(shot)
    assert img.shape[:2] == (4000, 1280)
    # the charts are drawn: the first design's blue appears somewhere on the page
    blue = np.array([0x00, 0x72, 0xB2]) / 255.0
    assert (np.abs(img[..., :3] - blue).sum(axis=2) < 0.1).sum() > 100


@pytest.mark.slow
@pytest.mark.skipif(
    PDFTOPPM is None, reason="pdftoppm is not installed (apt install poppler-utils)"
)
def test_pdf_renders_with_pdftoppm(report: Report, tmp_path: Path) -> None:
    pdf = write_pdf(report, tmp_path / "report.pdf")
    assert PDFTOPPM is not None
    subprocess.run(
        [PDFTOPPM, "-png", "-r", "60", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(compose_pages(report))
    for png in pages:
        _not_blank(png)
    pdftotext = shutil.which("pdftotext")
    if pdftotext is not None:  # the text is real text, in the fonts embedded
        text = subprocess.run(
            [pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        for d in DESIGNS:
            assert d in text
        assert "In 9 years of 10" in text


# ------------------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def results_file(ds: xr.Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from simsettle.results import RESULTS_FORMAT

    path = tmp_path_factory.mktemp("results") / "r.nc"
    ds.assign_attrs(simsettle_results_format=RESULTS_FORMAT).to_netcdf(path)
    return path


@pytest.mark.slow
def test_cli_report_writes_html_pdf_and_charts(results_file: Path, tmp_path: Path) -> None:
    from simsettle.cli import app

    out = tmp_path / "rep"
    res = CliRunner().invoke(app, ["report", str(results_file), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert f"wrote {out / 'report.html'}" in res.stdout
    assert f"wrote {out / 'report.pdf'}" in res.stdout
    assert (out / "exceedance.png").read_bytes().startswith(PNG_MAGIC)


def test_cli_report_design_and_no_pdf(results_file: Path, tmp_path: Path) -> None:
    from simsettle.cli import app

    out = tmp_path / "rep"
    args = ["report", str(results_file), "-o", str(out), "--no-pdf", "-d", "two_sided"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert not (out / "report.pdf").exists()
    page = parse((out / "report.html").read_text(encoding="utf-8"))
    assert _design_names(page.tables["settlement"]) == ["two_sided"]
    assert sorted(p.name for p in out.glob("distribution_*.png")) == ["distribution_two_sided.png"]


def test_cli_report_errors(results_file: Path, tmp_path: Path) -> None:
    from simsettle.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["report", str(results_file), "-o", str(tmp_path / "a"), "-d", "x"])
    assert res.exit_code == 2
    assert "unknown design(s) ['x']" in res.stderr
    assert not (tmp_path / "a").exists()
    res = runner.invoke(app, ["report", str(tmp_path / "missing.nc"), "-o", str(tmp_path / "b")])
    assert res.exit_code == 2
    assert "missing.nc" in res.stderr
    assert "Traceback" not in res.output


def _row(**kw: float) -> dict[str, float]:
    base = {
        "mean": 0.0,
        "mean_se": 1.0,
        "prob_zero": 0.0,
        "var_provider_99": 0.0,
        "tvar_provider_99": 0.0,
        "tvar_provider_95": 0.0,
    }
    return base | kw


@pytest.mark.parametrize(
    ("row", "says"),
    [
        (  # provider pays, rarely: below 1 year in 20, the 1-in-100 year is given
            _row(
                q05=0.0,
                q95=2.0e6,
                prob_loss=0.03,
                prob_savings=0.4,
                prob_zero=0.57,
                var_provider_99=1.5e6,
                tvar_provider_99=1.8e6,
                mean=5.0e5,
                mean_se=2.0e4,
            ),
            [
                "In 9 years of 10 the provider receives between $0 and $2.0M.",
                "It pays in fewer than 1 year of 20; in 1 year of 100 it pays $1.5M or more "
                "($1.8M on average in those years).",
                "It pays anything at all in 3.0% of years and receives a payment in 40.0%; in "
                "the other 57.0% nothing changes hands.",
                "On average it receives $500.0K a year (standard error $20.0K).",
            ],
        ),
        (  # always receives something
            _row(q05=1.0e5, q95=9.0e5, prob_loss=0.0, prob_savings=1.0, mean=4.0e5),
            [
                "In 9 years of 10 the provider receives between $100.0K and $900.0K.",
                "It never pays in any simulated year.",
                "It receives a payment in 100.0% of years.",
            ],
        ),
        (  # a stop-loss that gains on average; a mean within its standard error
            _row(
                q05=-1.0e6,
                q95=1.0e6,
                prob_loss=0.4,
                prob_savings=0.4,
                prob_zero=0.2,
                tvar_provider_95=1.2e6,
                mean=1.0e3,
                mean_se=5.0e4,
                stop_loss_net=2.5e4,
            ),
            [
                "On average it comes out about even ($1.0K a year, standard error $50.0K).",
                "Its stop-loss recovers $25.0K a year more than its premium, on average.",
            ],
        ),
    ],
)
def test_paragraph_cases(row: dict[str, float], says: list[str]) -> None:
    from simsettle.report.content import _paragraph

    text = _paragraph(row, no_losses=None, stop_loss="stop_loss_net" in row)
    for sentence in says:
        assert sentence in text


def test_the_reason_a_design_never_pays_names_its_terms():
    from simsettle.report.content import _why_no_losses

    view = xr.Dataset(
        coords={
            "design": ["up", "capped", "two"],
            "kind": ("design", ["upside_only", "two_sided", "two_sided"]),
            "loss_cap": ("design", [0.0, 0.0, 0.05]),
        }
    )
    assert _why_no_losses(view, "up") == "the design is upside-only"
    # A two-sided design whose loss cap is 0 shares no losses, but is not upside-only.
    assert _why_no_losses(view, "capped") == "the design shares no losses"
    assert _why_no_losses(view, "two") is None
    assert _why_no_losses(view.drop_vars("loss_cap"), "up") is None
