"""House style of simsettle figures: design colours, money and percentage tick formatters.

Importing this module does not import matplotlib; only the tick formatter factories do.

Conventions (reference/ecosystem.md section 5): money as ``$1.2M`` with a true minus sign
(U+2212, ``−$2.0M``), percentages without trailing zeros, one colour per design kept the same
across every chart of a run.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.ticker import FuncFormatter

__all__ = [
    "LINESTYLES",
    "MINUS",
    "PALETTE",
    "design_colors",
    "design_linestyles",
    "format_money",
    "format_percent",
    "money_formatter",
    "percent_formatter",
]

MINUS = "\u2212"
"""The true minus sign used in money and percentage labels."""

# Okabe & Ito (2008) colour-blind safe palette, without black and yellow (poor on white),
# followed by a few darker tones for runs with many designs.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#7F3C8D",  # purple
    "#3B6E2E",  # dark green
    "#8C6D31",  # brown
    "#555555",  # grey
)

# Solid for the first design, then dash patterns, so that designs whose curves coincide (the
# upside of an upside-only and a two-sided design often does) stay visible.
LINESTYLES: tuple[str | tuple[float, tuple[float, ...]], ...] = (
    "-",
    (0.0, (6.0, 2.5)),
    (0.0, (3.0, 1.5, 1.0, 1.5)),
    (0.0, (1.2, 1.2)),
)

_UNITS: tuple[tuple[float, str], ...] = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def design_colors(labels: Iterable[Hashable]) -> dict[str, str]:
    """Colour of each design, by position in ``labels``.

    Pass all the design labels of a Dataset (``ds.design.values``), not a subset, so that a
    design keeps its colour in every chart drawn from that Dataset.

    Parameters
    ----------
    labels : iterable
        Design labels in Dataset order.

    Returns
    -------
    dict of str to str
        ``{label: "#RRGGBB"}``; the palette repeats after ten designs.
    """
    return {str(label): PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def design_linestyles(
    labels: Iterable[Hashable],
) -> dict[str, str | tuple[float, tuple[float, ...]]]:
    """Line style of each design, by position in ``labels`` (solid, then dash patterns).

    Used with :func:`design_colors` for line charts, where curves of different designs may
    coincide.
    """
    return {str(label): LINESTYLES[i % len(LINESTYLES)] for i, label in enumerate(labels)}


def format_money(x: float) -> str:
    """Format an amount in USD as ``$950``, ``$12.3K``, ``$1.2M``, ``$3.4B`` or ``−$2.0M``.

    Amounts below $1,000 are shown in whole dollars, larger ones with one decimal and a
    K/M/B/T suffix. Negative amounts get a true minus sign; anything that rounds to zero is
    ``$0``.
    """
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return f"{MINUS if x < 0 else ''}$∞"
    mag = abs(x)
    text = ""
    for i, (scale, suffix) in enumerate(_UNITS):
        if mag >= scale * 0.99995:
            value = round(mag / scale, 1)
            if value >= 1000.0 and i > 0:  # 999.96K rounds up to the next unit
                scale, suffix = _UNITS[i - 1]
                value = round(mag / scale, 1)
            text = f"${value:.1f}{suffix}"
            break
    else:
        whole = round(mag)
        if whole >= 1000:
            text = "$1.0K"
        elif whole == 0:
            return "$0"
        else:
            text = f"${whole:d}"
    return f"{MINUS}{text}" if x < 0 else text


def format_percent(p: float, decimals: int | None = None) -> str:
    """Format a probability (a fraction) as a percentage.

    Parameters
    ----------
    p : float
        Fraction, ``0.372`` for 37.2%.
    decimals : int, optional
        Fixed number of decimals. By default up to three significant digits without trailing
        zeros (``10%``, ``1%``, ``0.1%``, ``37.2%``).

    Returns
    -------
    str
        For example ``"37.2%"``; a fixed-decimal value that is positive but rounds to zero is
        shown as ``"<0.1%"`` (for ``decimals=1``).
    """
    if math.isnan(p):
        return "n/a"
    pct = 100.0 * p
    if decimals is not None:
        text = f"{abs(pct):.{decimals}f}"
        if abs(pct) > 0.0 and float(text) == 0.0:
            return f"<{10.0**-decimals:.{decimals}f}%"
    elif abs(pct) >= 1000.0:
        text = f"{abs(pct):.0f}"
    else:
        text = f"{abs(pct):.3g}"
    sign = MINUS if pct < 0 and float(text) != 0.0 else ""
    return f"{sign}{text}%"


def money_formatter() -> FuncFormatter:
    """Tick formatter for money axes: ``$950``, ``$12.3K``, ``$1.2M``, ``−$2.0M``.

    Examples
    --------
    >>> money_formatter()(-2.0e6, 0)
    '−$2.0M'
    """
    from matplotlib.ticker import FuncFormatter

    def _fmt(x: float, pos: int | None = None) -> str:
        return format_money(float(x))

    return FuncFormatter(_fmt)


def percent_formatter() -> FuncFormatter:
    """Tick formatter for probability axes holding fractions: ``0.05 -> "5%"``.

    Works on linear and log axes (``0.001 -> "0.1%"``).
    """
    from matplotlib.ticker import FuncFormatter

    def _fmt(x: float, pos: int | None = None) -> str:
        return format_percent(float(x))

    return FuncFormatter(_fmt)
