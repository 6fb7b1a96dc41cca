"""The calibrated scenario as YAML text, each number with a comment saying where it came from."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from simsettle._version import __version__

if TYPE_CHECKING:
    from simsettle.calibrate.data import MemberYears
    from simsettle.calibrate.fit import Calibration, Estimate
    from simsettle.calibrate.gof import GoodnessOfFit
    from simsettle.calibrate.mixture import CostModel, MixtureFit

__all__ = ["scenario_text", "summary_text", "write_text"]

WIDTH = 100

#: Schema bounds the written values are kept within.
BOUNDS: dict[str, tuple[float, float]] = {
    "population.turnover": (0.0, 1.0),
    "population.replacement": (0.0, 1.0),
    "population.risk_sigma": (0.0, 3.0),
    "population.risk_persistence": (0.0, 1.0),
    "population.entrant_risk_ratio": (0.01, 5.0),
    "cost.zero_cost_share": (0.0, 0.99),
    "cost.body_sigma": (0.01, 4.0),
    "cost.tail_probability": (0.0, 0.99),
    "cost.tail_shape": (1.02, 100.0),
    "trend.mean": (-0.5, 1.0),
    "trend.sd": (0.0, 1.0),
}


def _num(x: float) -> str:
    """A number for YAML: 6 significant digits, never in a form YAML would read as text."""
    if x == 0:
        return "0.0"
    text = f"{x:.6g}"
    if "e" in text or "E" in text:
        mant, exp = text.split("e")
        if "." not in mant:
            mant += ".0"
        return f"{mant}e{int(exp)}"
    if "." not in text:
        text += ".0"
    return text


def _short(x: float) -> str:
    if not math.isfinite(x):
        return "nan"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _comment(lines: Sequence[str], indent: str) -> list[str]:
    out = []
    for line in lines:
        wrapped = textwrap.wrap(
            line, WIDTH - len(indent) - 2, break_long_words=False, break_on_hyphens=False
        )
        out += [f"{indent}# {w}" for w in wrapped or [""]]
    return out


def _field(
    key: str,
    value: str,
    estimate: Estimate | None,
    indent: str,
    confidence: float,
    extra: str = "",
) -> list[str]:
    lines: list[str] = []
    if estimate is not None:
        if estimate.assumed:
            head = f"{_short(estimate.value)} (not estimated from the data): {estimate.source}"
        else:
            head = (
                f"{_short(estimate.value)}, {confidence:.0%} CI {_short(estimate.lower)} to "
                f"{_short(estimate.upper)}: {estimate.source}"
            )
        lines.append(head + (f". {extra}" if extra else ""))
    elif extra:
        lines.append(extra)
    return [*_comment(lines, indent), f"{indent}{key}: {value}"]


def _clip(name: str, value: float, notes: list[str]) -> float:
    lo, hi = BOUNDS.get(name, (-math.inf, math.inf))
    if value < lo or value > hi:
        clipped = min(max(value, lo), hi)
        notes.append(f"{name} {value:.6g} is outside the schema's range; written as {clipped:g}")
        return clipped
    return value


def scenario_text(
    *,
    data: MemberYears,
    estimates: dict[str, Estimate],
    cost_fit: MixtureFit,
    model: CostModel,
    members: int,
    first_performance_year: int,
    first_base: int,
    level_factor: float,
    confidence: float,
    name: str | None,
    seed: int,
    trials: int,
    notes: list[str],
    gof: GoodnessOfFit,
) -> str:
    """The scenario file (validated by the caller with ``parse_scenario``)."""
    years = data.years
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    if years == (0,):  # no year column
        span = "one year"
    source = Path(data.source).name if data.source else "member-level data"
    title = name or f"Calibrated from {source}"
    e = estimates
    vals = {k: _clip(k, v.value, notes) for k, v in e.items()}
    y0 = years[0]
    out: list[str] = []
    out += _comment(
        [
            f"Calibrated by simsettle {__version__} (simsettle calibrate) from {source}: "
            f"{data.n:,} member-years of {data.n_members:,} members, {span}. Intervals are "
            f"{confidence:.0%} confidence intervals; the methods are in the simsettle.calibrate "
            "module documentation and the goodness of fit in the calibration report. Values "
            "marked 'not estimated from the data' are defaults or values given.",
        ],
        "",
    )
    out += [
        "schema_version: 1",
        f"name: {json.dumps(title[:200])}",
        "description: "
        + json.dumps(
            f"Population, cost and trend fitted to {source} ({span}); the design is a "
            "placeholder to replace with the contract's terms."
        ),
        f"seed: {seed}",
        f"trials: {trials}",
        *_comment(
            [
                f"The year after the last data year ({years[-1]})."
                if years[-1] > 0
                else "The data have no year: the schema's default."
            ],
            "",
        ),
        f"first_performance_year: {first_performance_year}",
        "performance_years: 1",
        "population:",
    ]
    ind = "  "
    out += _field(
        "members",
        str(int(members)),
        None,
        ind,
        confidence,
        f"Members holding a place at the start of {years[-1]}, the last data year."
        if years[-1] > 0
        else "Members holding a place at the start of the data's year.",
    )
    for key in (
        "turnover",
        "replacement",
        "risk_sigma",
        "risk_persistence",
        "entrant_risk_ratio",
    ):
        name_ = f"population.{key}"
        out += _field(key, _num(vals[name_]), e[name_], ind, confidence)
    out += _comment(["Not fitted: ageing (0) and attribution (prospective)."], ind)
    out.append("cost:")
    pmpm = vals["cost.pmpm"] * level_factor
    move = (
        f"Written for {first_base}, the first of the 3 base years before {first_performance_year}: "
        f"the {y0} level x {level_factor:.6g} (the fitted trend)."
        if abs(level_factor - 1.0) > 1e-12
        else ""
    )
    out += _field("pmpm", _num(pmpm), e["cost.pmpm"], ind, confidence, move)
    out += _field(
        "zero_cost_share",
        _num(vals["cost.zero_cost_share"]),
        e["cost.zero_cost_share"],
        ind,
        confidence,
    )
    out += _field(
        "body_sigma", _num(vals["cost.body_sigma"]), e["cost.body_sigma"], ind, confidence
    )
    if cost_fit.has_tail:
        out += _field(
            "tail_probability",
            _num(vals["cost.tail_probability"]),
            e["cost.tail_probability"],
            ind,
            confidence,
        )
        threshold = vals["cost.tail_threshold"] * level_factor
        out += _field(
            "tail_threshold",
            _num(threshold),
            e["cost.tail_threshold"],
            ind,
            confidence,
            f"USD a year at the {y0} level; written at the {first_base} level"
            if abs(level_factor - 1.0) > 1e-12
            else "USD a year",
        )
        out += _field(
            "tail_shape", _num(vals["cost.tail_shape"]), e["cost.tail_shape"], ind, confidence
        )
    else:
        out += _field("tail_probability", "0.0", e["cost.tail_probability"], ind, confidence)
    top = gof.top_data
    out += _comment(
        [
            "Fit: costliest 1% / 5% / 10% of member-years carry "
            f"{top[0.01].value:.1%} / {top[0.05].value:.1%} / {top[0.10].value:.1%} of spend in "
            f"the data, {gof.top_model[0.01]:.1%} / {gof.top_model[0.05]:.1%} / "
            f"{gof.top_model[0.10]:.1%} in the model at the data's member months; CV of "
            f"annualised cost {gof.cv_data:.2f} (data) and {gof.cv_model:.2f} (model)."
        ],
        ind,
    )
    out.append("trend:")
    out += _field("mean", _num(vals["trend.mean"]), e["trend.mean"], ind, confidence)
    out += _field("sd", _num(vals["trend.sd"]), e["trend.sd"], ind, confidence)
    out.append("benchmark:")
    out += _comment(
        [
            "MSSP-like: three base years weighted 10/30/60, trended at the fitted trend. Not "
            "fitted: review against the contract."
        ],
        ind,
    )
    out += [
        f"{ind}weights: [0.1, 0.3, 0.6]",
        f"{ind}trend_rate: {_num(vals['trend.mean'])}",
        "designs:",
    ]
    out += _comment(["A placeholder: replace with the contract's designs."], ind)
    out += [
        f"{ind}- name: one_sided_placeholder",
        f"{ind}  kind: upside_only",
        f"{ind}  min_savings_rate: 0.02",
        f"{ind}  shared_savings_rate: 0.5",
        f"{ind}  savings_cap: 0.1",
    ]
    if notes:
        out += _comment(["Notes:", *[f"- {n}" for n in notes]], "")
    return "\n".join(out) + "\n"


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary sibling renamed into place)."""
    from simsettle._atomic import write_text as write_atomically

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(p, text)


def summary_text(cal: Calibration) -> str:
    """The estimates and the concentration check as a plain-text table."""
    conf = f"{cal.confidence:.0%} CI"
    rows = [("field", "value", conf, "")]
    for key, est in cal.estimates.items():
        ci = (
            ("capped" if est.source.startswith("capped") else "assumed")
            if est.assumed
            else f"{_short(est.lower)} to {_short(est.upper)}"
        )
        rows.append((key, _short(est.value), ci, ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)).rstrip() for r in rows]
    g = cal.gof
    lines.append("")
    lines.append("share of spend   data (CI)                 model   gap")
    for q in (0.01, 0.05, 0.10):
        d = g.top_data[q]
        lines.append(
            f"top {q:>4.0%}         {d.value:6.1%} ({d.lower:5.1%} to {d.upper:5.1%})   "
            f"{g.top_model[q]:6.1%}  {100 * (g.top_model[q] - d.value):+5.1f} pp"
        )
    lines.append(f"CV of annualised cost: data {g.cv_data:.2f}, model {g.cv_model:.2f}")
    if g.tail is not None:
        lines.append(
            f"tail above {g.tail.threshold:,.0f} ({g.tail.n_exceed:,} member-years): "
            f"Cramer-von Mises p = {g.tail.cvm_pvalue:.3g}"
        )
    for n in cal.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines) + "\n"
