"""The calibrated scenario as YAML text, each number with a comment saying where it came from."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from simsettle import _atomic
from simsettle._version import __version__
from simsettle.calibrate.bounds import field_range
from simsettle.errors import ScenarioError
from simsettle.scenario.io import validation_issues
from simsettle.scenario.schema import Scenario
from simsettle.scenario.writer import dump_scenario

if TYPE_CHECKING:
    from simsettle.calibrate.data import MemberYears
    from simsettle.calibrate.fit import Calibration, Estimate
    from simsettle.calibrate.gof import GoodnessOfFit
    from simsettle.calibrate.mixture import CostModel, MixtureFit

__all__ = ["scenario_text", "short_number", "summary_text", "write_text"]

#: Fields written as fitted but within their schema range; the money amounts are written after
#: moving them to the first base year's level, and are not clipped.
_MONEY = ("cost.pmpm", "cost.tail_threshold")

_Path = tuple[str | int, ...]


def _round(x: float) -> float:
    """``x`` to 6 significant digits, the precision the scenario is written with."""
    return float(f"{x:.6g}")


def short_number(x: float, missing: str = "nan") -> str:
    """``x`` for a sentence or a table: thousands separated from 1,000 up, else 4 digits."""
    if not math.isfinite(x):
        return missing
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _explain(estimate: Estimate, confidence: float, extra: str = "") -> list[str]:
    """The comment above a written field: the estimate, its interval and its source."""
    if estimate.assumed:
        head = f"{short_number(estimate.value)} (not estimated from the data): {estimate.source}"
    else:
        head = (
            f"{short_number(estimate.value)}, {confidence:.0%} CI {short_number(estimate.lower)} "
            f"to {short_number(estimate.upper)}: {estimate.source}"
        )
    return [head + (f". {extra}" if extra else "")]


def _clip(name: str, value: float, notes: list[str]) -> float:
    if name in _MONEY:
        return value
    lo, hi = field_range(name)
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
    """The calibrated scenario, built as a :class:`~simsettle.scenario.Scenario` and written by
    :func:`~simsettle.scenario.writer.dump_scenario` with a comment on where each number came
    from (the caller reads the text back with ``parse_scenario``).

    Numbers are written to 6 significant digits. Raises
    :class:`~simsettle.errors.ScenarioError` when the fitted values break a schema rule.
    """
    years = data.years
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    if years == (0,):  # no year column
        span = "one year"
    source = Path(data.source).name if data.source else "member-level data"
    title = name or f"Calibrated from {source}"
    e = estimates
    vals = {k: _clip(k, v.value, notes) for k, v in e.items()}
    y0 = years[0]
    comments: dict[_Path, list[str]] = {
        (): [
            f"Calibrated by simsettle {__version__} (simsettle calibrate) from {source}: "
            f"{data.n:,} member-years of {data.n_members:,} members, {span}. Intervals are "
            f"{confidence:.0%} confidence intervals; the methods are in the simsettle.calibrate "
            "module documentation and the goodness of fit in the calibration report. Values "
            "marked 'not estimated from the data' are defaults or values given.",
        ],
        ("first_performance_year",): [
            f"The year after the last data year ({years[-1]})."
            if years[-1] > 0
            else "The data have no year: the schema's default."
        ],
        ("population", "members"): [
            f"Members holding a place at the start of {years[-1]}, the last data year."
            if years[-1] > 0
            else "Members holding a place at the start of the data's year."
        ],
    }
    population: dict[str, object] = {"members": int(members)}
    for key in ("turnover", "replacement", "risk_sigma", "risk_persistence", "entrant_risk_ratio"):
        population[key] = _round(vals[f"population.{key}"])
        comments["population", key] = _explain(e[f"population.{key}"], confidence)
    population["mortality"] = 0.0
    comments["population", "mortality"] = [
        "Not estimated: the data do not say who died. Decedents are among the other "
        "departures and their excess cost is in cost.pmpm (the all-in level); give mortality "
        "and decedent_cost_ratio to model deaths apart."
    ]
    moved = abs(level_factor - 1.0) > 1e-12
    cost: dict[str, object] = {"pmpm": _round(vals["cost.pmpm"] * level_factor)}
    comments["cost", "pmpm"] = _explain(
        e["cost.pmpm"],
        confidence,
        f"Written for {first_base}, the first of the 3 base years before {first_performance_year}: "
        f"the {y0} level x {level_factor:.6g} (the fitted trend)."
        if moved
        else "",
    )
    fitted = ("zero_cost_share", "body_sigma", "tail_probability", "tail_threshold", "tail_shape")
    for key in fitted if cost_fit.has_tail else fitted[:3]:
        extra = ""
        if key == "tail_threshold":
            cost[key] = _round(vals["cost.tail_threshold"] * level_factor)
            extra = f"USD a year at the {y0} level; written at the {first_base} level"
            extra = extra if moved else "USD a year"
        else:
            cost[key] = _round(vals[f"cost.{key}"])
        comments["cost", key] = _explain(e[f"cost.{key}"], confidence, extra)
    if not cost_fit.has_tail:
        cost["tail_probability"] = 0.0
    cost["persistence"] = _round(vals["cost.persistence"])
    comments["cost", "persistence"] = _explain(e["cost.persistence"], confidence)
    trend = {"mean": _round(vals["trend.mean"]), "sd": _round(vals["trend.sd"])}
    comments["trend", "mean"] = _explain(e["trend.mean"], confidence)
    comments["trend", "sd"] = _explain(e["trend.sd"], confidence)
    comments["benchmark", "weights"] = [
        "MSSP-like: three base years weighted 10/30/60, trended at the fitted trend. Not "
        "fitted: review against the contract."
    ]
    comments["designs", 0] = ["A placeholder: replace with the contract's designs."]
    top = gof.top_data
    trailing: dict[_Path, list[str]] = {
        ("population",): ["Not fitted: ageing (0) and attribution (prospective)."],
        ("cost",): [
            "Fit: costliest 1% / 5% / 10% of member-years carry "
            f"{top[0.01].value:.1%} / {top[0.05].value:.1%} / {top[0.10].value:.1%} of spend in "
            f"the data, {gof.top_model[0.01]:.1%} / {gof.top_model[0.05]:.1%} / "
            f"{gof.top_model[0.10]:.1%} in the model at the data's member months; CV of "
            f"annualised cost {gof.cv_data:.2f} (data) and {gof.cv_model:.2f} (model)."
        ],
    }
    if notes:
        trailing[()] = ["Notes:", *[f"- {n}" for n in notes]]
    scenario = _validated(
        {
            "schema_version": 1,
            "name": title[:200],
            "description": f"Population, cost and trend fitted to {source} ({span}); the design "
            "is a placeholder to replace with the contract's terms.",
            "seed": seed,
            "trials": trials,
            "first_performance_year": first_performance_year,
            "performance_years": 1,
            "population": population,
            "cost": cost,
            "trend": trend,
            "benchmark": {"weights": [0.1, 0.3, 0.6], "trend_rate": trend["mean"]},
            "designs": [
                {
                    "name": "one_sided_placeholder",
                    "kind": "upside_only",
                    "min_savings_rate": 0.02,
                    "shared_savings_rate": 0.5,
                    "savings_cap": 0.1,
                }
            ],
        }
    )
    return dump_scenario(scenario, comments=comments, trailing=trailing, digits=6)


def _validated(data: dict[str, object]) -> Scenario:
    """``data`` as a scenario; a broken schema rule is a :class:`ScenarioError`."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_issues(exc, data, "<calibrated scenario>")) from None


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (a temporary sibling renamed into place)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return _atomic.write_text(p, text)


def summary_text(cal: Calibration) -> str:
    """The estimates and the concentration check as a plain-text table."""
    conf = f"{cal.confidence:.0%} CI"
    rows = [("field", "value", conf, "")]
    for key, est in cal.estimates.items():
        ci = (
            ("capped" if est.source.startswith("capped") else "assumed")
            if est.assumed
            else f"{short_number(est.lower)} to {short_number(est.upper)}"
        )
        rows.append((key, short_number(est.value), ci, ""))
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
