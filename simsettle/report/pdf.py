"""The committee report as a PDF, composed page by page with matplotlib.

Why matplotlib and not a browser printing the HTML: matplotlib is already a dependency and is
present wherever simsettle runs (CI included, where no browser is installed), so the PDF comes
out the same on every machine, byte for byte for the same report (no creation date is
written), and the tests check the real thing. Printing ``report.html`` from a browser gives
the HTML's look instead; the page has a print style sheet for that.

Layout (US Letter): the text pages come first (title, run facts, one paragraph per design, the
key tables with the standard error under every figure, the precision verdicts), then the
charts with their captions, two to a page where they fit and a landscape page for a wide one,
then the scenario text in a monospaced font. Every page has a footer with the report title
and "page i of n". Charts are the PNGs of the HTML page, placed at their full resolution.
Text is measured with matplotlib's own font metrics (DejaVu Sans, embedded as TrueType) to
wrap paragraphs and size the table columns.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr

from simsettle._atomic import atomic_path
from simsettle.report._files import target_file
from simsettle.report.content import Chart, DesignText, Estimate, KeyTable, Report, build_report

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

__all__ = ["write_pdf"]

_LETTER = (8.5, 11.0)
_MARGIN = 0.6  # inches, every side
_FOOTER = 0.35  # inches reserved above the bottom margin
_SANS = "DejaVu Sans"
_MONO = "DejaVu Sans Mono"
_INK = "#1c1d1f"
_GREY = "#4a4d52"
_LIGHT = "#60646a"
_RULE = "#9aa0a6"
_HAIR = "#dcdfe3"
_BLUE = "#0072B2"

Weight = Literal["normal", "bold"]


@dataclass(frozen=True)
class _Style:
    size: float
    weight: Weight = "normal"
    color: str = _INK
    family: str = _SANS

    @property
    def line(self) -> float:
        """Line height in inches."""
        return self.size * 1.38 / 72.0


_H1 = _Style(19.0, "bold")
_SUB = _Style(10.5, color=_GREY)
_H2 = _Style(13.0, "bold")
_H3 = _Style(10.5, "bold")
_BODY = _Style(9.5)
_NOTE = _Style(8.5, color=_GREY)
_CAPTION = _Style(8.0, color=_GREY)
_FOOT = _Style(7.5, color=_LIGHT)
_YAML = _Style(7.2, family=_MONO)


class _Doc:
    """A flow of pages: a cursor moves down each page, new pages open as needed."""

    def __init__(self) -> None:
        from matplotlib.textpath import TextToPath

        self.pages: list[Figure] = []
        self.fig: Figure | None = None
        self.size = _LETTER
        self.y = _MARGIN
        self.kind = ""
        # unhinted outline metrics, as the PDF draws them (Agg's hinted ones run wide)
        self._metrics = TextToPath()
        self._fonts: dict[_Style, FontProperties] = {}
        self._widths: dict[tuple[str, _Style], float] = {}
        #: keys of the charts already placed in the text (the first page's frontier chart)
        self.placed: set[str] = set()

    # -- pages

    def new_page(self, kind: str = "text", *, landscape: bool = False) -> None:
        from matplotlib.figure import Figure

        self.size = (_LETTER[1], _LETTER[0]) if landscape else _LETTER
        self.fig = Figure(figsize=self.size)
        self.pages.append(self.fig)
        self.y = _MARGIN
        self.kind = kind

    @property
    def width(self) -> float:
        return self.size[0] - 2 * _MARGIN

    @property
    def bottom(self) -> float:
        return self.size[1] - _MARGIN - _FOOTER

    def room(self) -> float:
        return self.bottom - self.y if self.fig is not None else 0.0

    def ensure(self, height: float) -> None:
        """Open a new page (of the current kind) unless ``height`` inches are left."""
        if self.fig is None or height > self.room() + 1e-9:
            self.new_page(self.kind or "text")

    def gap(self, height: float) -> None:
        if self.fig is not None and self.y > _MARGIN + 1e-9:
            self.y = min(self.y + height, self.bottom)

    # -- measuring

    def font(self, style: _Style) -> FontProperties:
        if style not in self._fonts:
            from matplotlib.font_manager import FontProperties

            self._fonts[style] = FontProperties(
                family=style.family, size=style.size, weight=style.weight
            )
        return self._fonts[style]

    def measure(self, text: str, style: _Style) -> float:
        """Width of ``text`` in inches (cached)."""
        if not text:
            return 0.0
        key = (text, style)
        width = self._widths.get(key)
        if width is None:
            w, _, _ = self._metrics.get_text_width_height_descent(
                text, self.font(style), ismath=False
            )
            width = self._widths[key] = float(w) / 72.0
        return width

    def wrap(self, text: str, width: float, style: _Style, first: float = 0.0) -> list[str]:
        """Greedy word wrap to ``width`` inches (``first`` less on the first line).

        Lines break at plain spaces only (a no-break space keeps ``± $1.2K`` together);
        a word too long for a line is cut.
        """
        lines: list[str] = []

        def room() -> float:
            return width - first if not lines else width

        space = self.measure(" ", style)
        for para in text.split("\n"):
            line, used = "", 0.0
            for word in para.split(" "):
                w = self.measure(word, style)
                # word widths add up (with a space between) to well within a point per line
                if line and used + space + w <= room():
                    line, used = f"{line} {word}", used + space + w
                    continue
                if not line and w <= room():
                    line, used = word, w
                    continue
                if line:
                    lines.append(line)
                while self.measure(word, style) > room() and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and self.measure(word[:cut], style) > room():
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                line, used = word, self.measure(word, style)
            lines.append(line)
        return lines

    # -- drawing (x, y in inches from the top left; y is the top of the line)

    def text(
        self, x: float, y: float, text: str, style: _Style, *, ha: str = "left", **kw: Any
    ) -> None:
        assert self.fig is not None
        w, h = self.size
        baseline = y + 0.82 * style.size / 72.0
        self.fig.text(
            x / w,
            1.0 - baseline / h,
            text,
            ha=ha,
            va="baseline",
            fontproperties=self.font(style),
            color=kw.pop("color", style.color),
            parse_math=False,
            **kw,
        )

    def rule(self, x0: float, x1: float, y: float, color: str, width: float = 0.6) -> None:
        from matplotlib.lines import Line2D

        assert self.fig is not None
        w, h = self.size
        self.fig.add_artist(
            Line2D(
                [x0 / w, x1 / w],
                [1.0 - y / h, 1.0 - y / h],
                transform=self.fig.transFigure,
                color=color,
                linewidth=width,
            )
        )

    def swatch(self, x: float, y: float, color: str, size: float) -> None:
        from matplotlib.patches import Rectangle

        assert self.fig is not None
        w, h = self.size
        side = 0.72 * size / 72.0
        top = y + 0.12 * size / 72.0
        self.fig.add_artist(
            Rectangle(
                (x / w, 1.0 - (top + side) / h),
                side / w,
                side / h,
                transform=self.fig.transFigure,
                facecolor=color,
                edgecolor="none",
            )
        )

    # -- flowing blocks

    def lines(self, lines: Sequence[str], style: _Style, *, x: float = _MARGIN) -> None:
        for line in lines:
            self.ensure(style.line)
            self.text(x, self.y, line, style)
            self.y += style.line

    def paragraph(
        self, text: str, style: _Style = _BODY, *, indent: float = 0.0, after: float = 0.08
    ) -> None:
        self.lines(self.wrap(text, self.width - indent, style), style, x=_MARGIN + indent)
        self.y += after

    def heading(self, text: str, need: float = 0.0) -> None:
        """A section heading, on a new page unless ``need`` inches fit below it (and at
        least three lines of text)."""
        page = self.size[1] - 2 * _MARGIN - _FOOTER
        head = _H2.line + 0.28
        self.ensure(head + min(max(need, 3 * _BODY.line), page - head))
        self.gap(0.16)
        self.text(_MARGIN, self.y, text, _H2)
        self.y += _H2.line + 0.02
        self.rule(_MARGIN, _MARGIN + self.width, self.y, _BLUE, 1.3)
        self.y += 0.1


# ------------------------------------------------------------------------------ text pages


def _front(doc: _Doc, report: Report) -> None:
    doc.new_page()
    doc.lines(doc.wrap(report.title, doc.width, _H1), _H1)
    doc.y += 0.02
    doc.paragraph(report.subtitle, _SUB, after=0.05)

    if report.recommendation is not None:
        _recommendation(doc, report)
        doc.new_page()
    doc.heading("The run")
    label_w = max(doc.measure(k, _Style(8.5, "bold")) for k, _ in report.facts) + 0.18
    for label, value in report.facts:
        style = _Style(8.0, family=_MONO) if label == "Scenario SHA-256" else _Style(8.5)
        lines = doc.wrap(value, doc.width - label_w, style)
        doc.ensure(len(lines) * style.line)
        doc.text(_MARGIN, doc.y, label, _Style(8.5, "bold", _GREY))
        for line in lines:
            doc.text(_MARGIN + label_w, doc.y, line, style)
            doc.y += max(style.line, _Style(8.5).line)
        doc.y += 0.02

    doc.heading("In plain words")
    doc.paragraph(f"{report.years_note} {report.sign_note}", _NOTE, after=0.06)
    for d in report.designs:
        _design_heading(doc, d, _H3)
        doc.paragraph(d.paragraph, _BODY, after=0.1)


def _recommendation(doc: _Doc, report: Report) -> None:
    """The first page: the decision in words, the designs side by side, why the dominated
    ones are, the rule and what would change the answer."""
    r = report.recommendation
    assert r is not None
    colors = {d.design: d.color for d in report.designs}
    doc.heading("Recommendation")
    doc.paragraph(" ".join(r.headline), _BODY, after=0.04)
    _table(doc, r.table, colors)
    for reason in r.reasons:
        doc.paragraph(f"•{_NBSP}{reason}", _BODY, indent=0.12, after=0.03)
    doc.paragraph(f"Rule: {r.rule}", _NOTE, after=0.06)
    if r.sensitivity is not None:
        doc.paragraph(" ".join(r.sensitivity_text), _BODY, after=0.02)
        _table(doc, r.sensitivity, colors)
    elif r.sensitivity_note:
        doc.paragraph(r.sensitivity_note, _NOTE, after=0.06)
    frontier = [(i, c) for i, c in enumerate(report.charts, start=1) if c.key == "frontier"]
    for number, chart in frontier:
        cap = _caption_height(doc, number, chart, doc.width)
        scale = min(_fit_width(chart, doc.width), (doc.room() - cap - 0.2) / chart.height_in)
        if scale < 0.55:  # too small to read here: it stays among the charts
            continue
        doc.y += 0.1
        _draw_chart(doc, chart, scale)
        _caption(doc, number, chart)
        doc.placed.add(chart.key)


def _design_heading(doc: _Doc, d: DesignText, style: _Style, suffix: str = "") -> None:
    doc.ensure(style.line + 2 * _BODY.line)
    doc.gap(0.04)
    doc.swatch(_MARGIN, doc.y, d.color, style.size)
    doc.text(_MARGIN + 0.19, doc.y, d.design + suffix, style)
    doc.y += style.line


@dataclass(frozen=True)
class _Columns:
    style: _Style
    se_style: _Style
    head_style: _Style
    design_w: float
    widths: list[float]
    headers: list[list[str]]


_PAD = 0.1  # inches between columns
_NBSP = "\u00a0"


def _fit_columns(doc: _Doc, table: KeyTable) -> _Columns:
    """Column widths (and font size) so that the table fills the page width.

    The largest font at which every column fits is used; the number columns then share the
    width left over (up to 1.4 inches each), and headers wrap within their columns.
    """
    cols = _Columns(_Style(8.5), _Style(7.0), _Style(7.5, "bold"), 0.0, [], [])
    for size in (8.5, 8.0, 7.5, 7.0, 6.5):
        style = _Style(size, "bold")
        se_style = _Style(size - 1.5, color=_LIGHT)
        head = _Style(size - 1.0, "bold", _GREY)
        widths: list[float] = []
        for j, title in enumerate(table.columns):
            cells = [cells[j] for _, cells in table.rows]
            need = max(
                # a cell without a standard error (a word, a verdict) may wrap
                max(
                    doc.measure(c.text, style)
                    if c.se is not None
                    else max(doc.measure(w, style) for w in c.text.split(" "))
                    for c in cells
                ),
                max(doc.measure(c.se or "", se_style) for c in cells),
                max(doc.measure(word, head) for word in title.split()),
            )
            widths.append(max(need, 0.6))
        design_need = max(
            [doc.measure(table.row_label, head)]
            + [doc.measure(d, _Style(size, "bold")) + 0.19 for d, _ in table.rows]
        )
        room = doc.width - sum(w + _PAD for w in widths)
        design_w = min(design_need, max(room, 1.0))
        if design_w + sum(w + _PAD for w in widths) <= doc.width or size == 6.5:
            spare = doc.width - design_w - sum(w + _PAD for w in widths)
            if spare > 0:
                widths = [min(w + spare / len(widths), max(w, 1.4)) for w in widths]
            headers = [doc.wrap(t, w, head) for t, w in zip(table.columns, widths, strict=True)]
            cols = _Columns(style, se_style, head, design_w, widths, headers)
            break
    return cols


def _table_height(doc: _Doc, table: KeyTable) -> float:
    """Height of the whole table (title, header, rows, caption) in inches."""
    cols = _fit_columns(doc, table)
    head_h = max(len(h) for h in cols.headers) * cols.head_style.line + 0.06
    rows = 0.0
    for design, cells in table.rows:
        rows += _row_height(doc, cols, table, design, cells)
    caption_h = len(doc.wrap(table.caption, doc.width, _CAPTION)) * _CAPTION.line + 0.16
    return 0.06 + _H3.line + 0.04 + head_h + 0.05 + rows + caption_h


def _swatched(table: KeyTable) -> bool:
    """Whether the rows are designs (with their colour swatch)."""
    return table.row_label == "Design"


def _row_names(doc: _Doc, cols: _Columns, table: KeyTable, name: str) -> list[str]:
    indent = 0.19 if _swatched(table) else 0.0
    return doc.wrap(name, cols.design_w - indent, _Style(cols.style.size, "bold"))


def _word_lines(doc: _Doc, cols: _Columns, cell: Estimate, width: float) -> list[str]:
    return doc.wrap(cell.text, width, _Style(cols.style.size, color=_LIGHT))


def _row_height(
    doc: _Doc, cols: _Columns, table: KeyTable, name: str, cells: Sequence[Estimate]
) -> float:
    words = max(
        [
            len(_word_lines(doc, cols, c, w))
            for c, w in zip(cells, cols.widths, strict=True)
            if c.se is None
        ],
        default=1,
    )
    names = len(_row_names(doc, cols, table, name))
    return (
        max(names * cols.style.line, cols.style.line + cols.se_style.line, words * cols.style.line)
        + 0.08
    )


def _table(doc: _Doc, table: KeyTable, colors: dict[str, str]) -> None:
    cols = _fit_columns(doc, table)
    head_lines = max(len(h) for h in cols.headers)
    head_h = head_lines * cols.head_style.line + 0.06
    title_h = _H3.line + 0.04

    def header() -> None:
        doc.text(_MARGIN, doc.y, table.title, _H3)
        doc.y += title_h
        top = doc.y + (head_lines - 1) * cols.head_style.line
        doc.text(_MARGIN, top, table.row_label, cols.head_style)
        x = _MARGIN + cols.design_w
        for width, lines in zip(cols.widths, cols.headers, strict=True):
            x += _PAD + width
            y = top - (len(lines) - 1) * cols.head_style.line
            for line in lines:
                doc.text(x, y, line, cols.head_style, ha="right")
                y += cols.head_style.line
        doc.y += head_h
        doc.rule(_MARGIN, _MARGIN + doc.width, doc.y, _RULE, 1.0)
        doc.y += 0.05

    heights = [_row_height(doc, cols, table, d, c) for d, c in table.rows]
    whole = _table_height(doc, table)
    page = _LETTER[1] - 2 * _MARGIN - _FOOTER
    # keep the table on one page when it fits on one; else at least its first row
    first = heights[0] if heights else 0.0
    doc.ensure(whole if whole <= page else title_h + head_h + 0.05 + first + 0.2)
    doc.gap(0.06)
    header()
    indent = 0.19 if _swatched(table) else 0.0
    for (design, cells), row_h in zip(table.rows, heights, strict=True):
        if row_h > doc.room():
            doc.new_page()
            header()
        if indent:
            doc.swatch(_MARGIN, doc.y, colors.get(design, "#777777"), cols.style.size)
        y = doc.y
        for name in _row_names(doc, cols, table, design):
            doc.text(_MARGIN + indent, y, name, _Style(cols.style.size, "bold"))
            y += cols.style.line
        x = _MARGIN + cols.design_w
        for width, cell in zip(cols.widths, cells, strict=True):
            x += _PAD + width
            _cell(doc, x, doc.y, cell, cols, width)
        doc.y += row_h
        doc.rule(_MARGIN, _MARGIN + doc.width, doc.y - 0.04, _HAIR, 0.5)
    doc.y += 0.04
    doc.paragraph(table.caption, _CAPTION, after=0.12)


def _cell(doc: _Doc, x: float, y: float, cell: Estimate, cols: _Columns, width: float) -> None:
    if cell.se is None:
        for line in _word_lines(doc, cols, cell, width):
            doc.text(x, y, line, _Style(cols.style.size, color=_LIGHT), ha="right")
            y += cols.style.line
        return
    doc.text(x, y, cell.text, cols.style, ha="right")
    doc.text(x, y + cols.style.line, cell.se, cols.se_style, ha="right")


_VERDICT = _Style(8.5)
_VERDICT_HEAD = _Style(9.5, "bold")


def _figures(doc: _Doc, report: Report) -> None:
    first = _table_height(doc, report.tables[0]) if report.tables else 0.0
    doc.heading("Key figures", need=first)
    colors = {d.design: d.color for d in report.designs}
    for table in report.tables:
        _table(doc, table, colors)
    # the precision section stays on one page when it fits on one
    section = len(doc.wrap(report.precision_note, doc.width, _NOTE)) * _NOTE.line + 0.06
    for d in report.designs:
        lines = doc.wrap(d.verdict, doc.width - 0.19, _VERDICT)
        section += _VERDICT_HEAD.line + 0.04 + len(lines) * _VERDICT.line + 0.06
    doc.heading("Monte Carlo precision", need=section)
    doc.paragraph(report.precision_note, _NOTE, after=0.06)
    for d in report.designs:
        flag = (
            "enough trials"
            if d.converged
            else (
                f"about {d.trials_needed:,} trials needed"
                if d.trials_needed is not None
                else "not enough trials"
            )
        )
        _design_heading(doc, d, _VERDICT_HEAD, f" — {flag}")
        doc.paragraph(d.verdict, _VERDICT, indent=0.19, after=0.06)


# ------------------------------------------------------------------------------ charts


_MIN_SHRINK = 0.8  # charts may shrink to 80% of their width-fitted size to share a page


def _fit_width(chart: Chart, width: float) -> float:
    return min(1.0, width / chart.width_in)


def _caption_lines(doc: _Doc, number: int, chart: Chart, width: float) -> tuple[str, list[str]]:
    """The bold lead (``Figure n. Title.``) and the wrapped caption lines after it."""
    lead = f"Figure {number}. {chart.title}."
    bold = _Style(_CAPTION.size, "bold", _INK)
    lead_w = doc.measure(lead, bold) + doc.measure(" ", _CAPTION)
    if lead_w > width * 0.8:  # a very long title gets lines of its own
        return lead, doc.wrap(chart.caption, width, _CAPTION)
    return lead, doc.wrap(chart.caption, width, _CAPTION, first=lead_w)


def _caption_height(doc: _Doc, number: int, chart: Chart, width: float) -> float:
    lead, lines = _caption_lines(doc, number, chart, width)
    bold = _Style(_CAPTION.size, "bold", _INK)
    extra = len(doc.wrap(lead, width, bold)) if doc.measure(lead, bold) > width * 0.8 else 0
    return 0.12 + (len(lines) + extra) * _CAPTION.line + 0.3


def _plan_charts(
    doc: _Doc, charts: Sequence[Chart], first: int = 1
) -> list[tuple[bool, list[int], float]]:
    """Pages of charts: ``(landscape, chart indices, shrink)``.

    A chart wider than the portrait text width gets a landscape page of its own; the others
    are stacked on portrait pages, as many as fit with a common shrink of at least
    :data:`_MIN_SHRINK` (charts never grow).
    """
    pw, ph = _LETTER
    width = pw - 2 * _MARGIN
    heading = _H2.line + 0.14
    pages: list[tuple[bool, list[int], float]] = []
    group: list[int] = []

    def shrink(indices: list[int], first_page: bool) -> float:
        avail = ph - 2 * _MARGIN - _FOOTER - (heading if first_page else 0.0)
        caps = sum(_caption_height(doc, i + first, charts[i], width) for i in indices)
        heights = sum(charts[i].height_in * _fit_width(charts[i], width) for i in indices)
        return min(1.0, (avail - caps) / heights) if heights > 0 else 1.0

    def flush() -> None:
        if group:
            pages.append((False, list(group), shrink(group, not pages)))
            group.clear()

    for i, chart in enumerate(charts):
        if chart.width_in > width + 0.5:
            flush()
            pages.append((True, [i], 1.0))
            continue
        if group and shrink([*group, i], not pages) < _MIN_SHRINK:
            flush()
        group.append(i)
    flush()
    return pages


def _charts(doc: _Doc, charts: Sequence[Chart], first: int = 1) -> None:
    """The charts section; ``first`` is the first chart's figure number."""
    for n, (landscape, indices, shrink) in enumerate(_plan_charts(doc, charts, first)):
        doc.new_page("charts", landscape=landscape)
        if n == 0:
            doc.text(_MARGIN, doc.y, "Charts", _H2)
            doc.y += _H2.line + 0.02
            doc.rule(_MARGIN, _MARGIN + doc.width, doc.y, _BLUE, 1.3)
            doc.y += 0.12
        for i in indices:
            chart = charts[i]
            scale = _fit_width(chart, doc.width) * shrink
            if landscape:
                cap = _caption_height(doc, i + first, chart, doc.width)
                scale = min(scale, (doc.bottom - doc.y - cap) / chart.height_in)
            _draw_chart(doc, chart, scale)
            _caption(doc, i + first, chart)
            doc.y += 0.3


def _draw_chart(doc: _Doc, chart: Chart, scale: float) -> None:
    """The chart's PNG at ``scale``, centred at the cursor; the cursor moves below it."""
    from matplotlib.image import imread

    w, h = chart.width_in * scale, chart.height_in * scale
    assert doc.fig is not None
    pixels = np.asarray(imread(io.BytesIO(chart.png)))
    rgb = np.round(pixels[..., :3] * 255.0).astype(np.uint8)
    pw, ph = doc.size
    x = _MARGIN + (doc.width - w) / 2.0
    ax = doc.fig.add_axes((x / pw, 1.0 - (doc.y + h) / ph, w / pw, h / ph))
    ax.imshow(rgb, interpolation="none", aspect="auto")
    ax.set_axis_off()
    doc.y += h + 0.12


def _caption(doc: _Doc, number: int, chart: Chart) -> None:
    lead, lines = _caption_lines(doc, number, chart, doc.width)
    bold = _Style(_CAPTION.size, "bold", _INK)
    lead_w = doc.measure(lead, bold) + doc.measure(" ", _CAPTION)
    if lead_w > doc.width * 0.8:
        for line in doc.wrap(lead, doc.width, bold):
            doc.text(_MARGIN, doc.y, line, bold)
            doc.y += _CAPTION.line
        lead_w = 0.0
    else:
        doc.text(_MARGIN, doc.y, lead, bold)
    for k, line in enumerate(lines):
        doc.text(_MARGIN + (lead_w if k == 0 else 0.0), doc.y, line, _CAPTION)
        doc.y += _CAPTION.line


def _scenario(doc: _Doc, text: str) -> None:
    doc.new_page("scenario")
    doc.text(_MARGIN, doc.y, "The scenario", _H2)
    doc.y += _H2.line + 0.02
    doc.rule(_MARGIN, _MARGIN + doc.width, doc.y, _BLUE, 1.3)
    doc.y += 0.1
    doc.paragraph("The scenario file as run (its SHA-256 is in the run facts).", _NOTE, after=0.08)
    cont = "↪ "
    for raw in text.expandtabs(4).splitlines() or [""]:
        if doc.measure(raw, _YAML) <= doc.width:
            pieces = [raw]  # as it is, spacing included
        else:
            body = raw.lstrip(" ")
            indent = raw[: len(raw) - len(body)]
            room = doc.width - doc.measure(indent + cont, _YAML)
            wrapped = doc.wrap(body, room, _YAML)
            pieces = [indent + wrapped[0]] + [indent + cont + p for p in wrapped[1:]]
        for piece in pieces:
            doc.ensure(_YAML.line)
            doc.text(_MARGIN, doc.y, piece, _YAML)
            doc.y += _YAML.line


def _footers(doc: _Doc, report: Report) -> None:
    n = len(doc.pages)
    title = report.title if len(report.title) <= 90 else report.title[:89] + "…"
    for i, fig in enumerate(doc.pages):
        w, h = (float(x) for x in fig.get_size_inches())
        y = 1.0 - (h - _MARGIN + 0.05) / h
        kw: dict[str, Any] = {
            "fontsize": _FOOT.size,
            "color": _FOOT.color,
            "family": _SANS,
            "parse_math": False,
            "va": "baseline",
        }
        fig.text(_MARGIN / w, y, title, ha="left", **kw)
        fig.text(1.0 - _MARGIN / w, y, f"page {i + 1} of {n}", ha="right", **kw)


def compose_pages(report: Report) -> list[Figure]:
    """The PDF's pages as matplotlib Figures (US Letter; landscape for wide charts)."""
    doc = _Doc()
    _front(doc, report)
    _figures(doc, report)
    # a chart placed on the first page keeps its number but is not repeated
    # (the frontier chart is the first of the charts)
    _charts(doc, [c for c in report.charts if c.key not in doc.placed], 1 + len(doc.placed))
    if report.scenario_yaml is not None:
        _scenario(doc, report.scenario_yaml)
    _footers(doc, report)
    return doc.pages


def write_pdf(report: Report | xr.Dataset, path: str | Path = "report.pdf") -> Path:
    """Write the report as a PDF (US Letter pages composed with matplotlib).

    Parameters
    ----------
    report, path
        As for :func:`~simsettle.report.write_html`; a directory gets ``report.pdf``.

    Returns
    -------
    pathlib.Path
        The file written. The same report gives the same bytes (no creation date is stored).
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_pdf import PdfPages

    if isinstance(report, xr.Dataset):
        report = build_report(report)
    out = target_file(path, "report.pdf")
    metadata = {
        "Title": report.title,
        "Subject": report.subtitle,
        "Creator": report.generator,
        "Producer": None,
        "CreationDate": None,
    }

    with mpl.rc_context({"pdf.fonttype": 42, "pdf.compression": 6}):
        pages = compose_pages(report)
        with atomic_path(out) as tmp, PdfPages(tmp, metadata=metadata) as pdf:
            for page in pages:
                pdf.savefig(page)
    return out
