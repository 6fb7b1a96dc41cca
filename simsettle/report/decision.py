"""The report's first page: designs side by side, how each differs from the baseline, which
are dominated and why, and what would change the answer.

Built on :func:`simsettle.stats.decide` (the stated rule: dominance beyond paired Monte Carlo
error, the frontier of the mean settlement against the party's 1-in-20 loss) and
:func:`simsettle.stats.paired` (each design against the baseline, the first design, on the
common random numbers they share), and on :mod:`simsettle.report.sensitivity`. Every figure
keeps its standard error; a difference keeps its paired one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import xarray as xr

from simsettle.plot._style import format_money, format_percent
from simsettle.report._types import Estimate, KeyTable
from simsettle.report.sensitivity import Sensitivity, measure
from simsettle.stats import decide, paired, statistic

__all__ = ["Recommendation", "recommend"]

Party = Literal["provider", "payer"]
_NBSP = "\u00a0"
_PM = f"±{_NBSP}"
_SHARE = "settlement_share"


@dataclass(frozen=True)
class Recommendation:
    """What the first page says."""

    party: str
    baseline: str
    headline: tuple[str, ...]
    table: KeyTable
    reasons: tuple[str, ...]
    rule: str
    sensitivity: KeyTable | None
    sensitivity_text: tuple[str, ...]
    sensitivity_note: str
    inputs: tuple[Sensitivity, ...] = ()


#: (the mean, the loss, the difference column's word, the variable) in words, per measure.
_WORDS = {
    "settlement": ("mean settlement", "loss", "Mean", "settlement"),
    "provider_net": ("provider's mean net result", "net loss", "Net result", "net result"),
}
_MEASURE_SHARE = "measure_share"


def _with_share(ds: xr.Dataset, var: str) -> xr.Dataset:
    """``ds`` with the settlement, and ``var``, as fractions of the benchmark settled against."""
    bench = ds["settlement_benchmark"] if "settlement_benchmark" in ds else ds["benchmark"]
    bench = bench.where(bench > 0)
    share = (ds["settlement"] / bench).assign_attrs(
        long_name="settlement as a share of the benchmark",
        units="1",
        description="settlement / settlement_benchmark of the same design, trial and year.",
    )
    of = (ds[var] / bench).assign_attrs(
        long_name=f"{var} as a share of the benchmark",
        units="1",
        description=f"{var} / settlement_benchmark of the same design, trial and year.",
    )
    return ds.assign({_SHARE: share, _MEASURE_SHARE: of})


def _money(value: float, se: float) -> Estimate:
    return Estimate(format_money(value), f"{_PM}{format_money(se)}")


def _share(value: float, se: float) -> Estimate:
    return Estimate(format_percent(value, 2), f"{_PM}{100 * se:.2f}{_NBSP}pp")


def _signed(value: float) -> str:
    text = format_money(value)
    return "0" if text == "$0" else ("+" + text if value > 0 else text)


def _diff(value: float, se: float, within: bool) -> Estimate:
    note = f",{_NBSP}within{_NBSP}error" if within and se > 0 else ""
    return Estimate(_signed(value), f"{_PM}{format_money(se)}{_NBSP}paired{note}")


def _verdict(table: xr.Dataset, design: str) -> str:
    row = table.swap_dims(rank="design").sel(design=design)
    if bool(row["dominated"]):
        return "dominated by " + str(row["dominated_by"].item())
    rank = int(row["rank"])
    return ("first" if rank == 1 else "frontier") if bool(row["on_frontier"]) else "-"


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def recommend(
    ds: xr.Dataset,
    *,
    party: Party = "provider",
    sensitivities: Sequence[Sensitivity] = (),
    sensitivity_note: str = "",
) -> Recommendation:
    """The first page of the report for ``ds`` (one point: a sweep's base case).

    Parameters
    ----------
    ds : xarray.Dataset
        Results at one point (dims ``design``, ``trial``, ``year``).
    party : {"provider", "payer"}
        Whose decision the page leads with (both parties' verdicts are in the table).
    sensitivities, sensitivity_note
        From :func:`simsettle.report.sensitivity.sensitivity`.
    """
    other: Party = "payer" if party == "provider" else "provider"
    designs = [str(d) for d in ds["design"].values]
    base = designs[0]
    loss = f"var_{party}_95"
    mine_var, their_var = measure(ds, party), measure(ds, other)
    data = _with_share(ds, mine_var)
    mine = decide(ds, party=party, baseline=base, var=mine_var)
    theirs = decide(ds, party=other, var=their_var)
    mean = statistic(ds, "mean")
    var = statistic(ds, f"var_{party}", var=mine_var, level=0.95)
    mean_share = statistic(data, "mean", var=_SHARE)
    var_share = statistic(data, f"var_{party}", var=_MEASURE_SHARE, level=0.95)
    what = _WORDS[mine_var]
    by_design = mine.swap_dims(rank="design")

    def pick(stat: xr.Dataset, d: str) -> tuple[float, float]:
        return float(stat["value"].sel(design=d)), float(stat["se"].sel(design=d))

    def versus(d: str, name: str) -> Estimate:
        if d == base:
            return Estimate("baseline", None)
        r = by_design.sel(design=d)
        return _diff(
            float(r[f"{name}_diff"]), float(r[f"{name}_diff_se"]), bool(r[f"{name}_within_error"])
        )

    net = statistic(ds, "mean", var="provider_net") if "provider_net" in ds.data_vars else None
    rows: list[tuple[str, tuple[Estimate, ...]]] = []
    for d in designs:
        own = () if net is None else (_money(*pick(net, d)),)
        cells = (
            _money(*pick(mean, d)),
            _share(*pick(mean_share, d)),
            *own,
            _money(*pick(var, d)),
            _share(*pick(var_share, d)),
            versus(d, "mean"),
            versus(d, loss),
            Estimate(_verdict(mine, d), None),
            Estimate(_verdict(theirs, d), None),
        )
        rows.append((d, cells))
    table = KeyTable(
        key="decision",
        title="The designs side by side",
        caption=f"Mean settlement per performance year and the {party}'s 1-in-20 {what[1]} "
        f"(value-at-risk 95% of the {_WORDS[mine_var][3]}), in dollars and as a share of the "
        f"benchmark settled against; then each design's difference from {base} in the same "
        "simulated years, with its "
        "paired standard error (much smaller than either design's own, since every design "
        "settles the same years); and each party's verdict by the rule below. Under each "
        "figure: ± one Monte Carlo standard error."
        + (
            " Provider's net result: the settlement plus the provider's own stop-loss recovery "
            "less its premium, less its own costs (care management, infrastructure, "
            "fee-for-service margin forgone), a year on average."
            if net is not None
            else ""
        ),
        columns=(
            "Mean settlement",
            "Mean, % of benchmark",
            *(() if net is None else ("Provider's net result",)),
            f"{party.capitalize()}'s 1-in-20 {what[1]}",
            "Loss, % of benchmark",
            f"{what[2]} vs {base}",
            f"1-in-20 {what[1]} vs {base}",
            f"For the {party}",
            f"For the {other}",
        ),
        rows=tuple(rows),
    )

    first = str(mine["design"].values[0])
    frontier = [str(d) for d, f, dom in zip(
        mine["design"].values, mine["on_frontier"].values, mine["dominated"].values, strict=True
    ) if f and not dom]  # fmt: skip
    dominated = [str(d) for d, dom in zip(mine["design"].values, mine["dominated"].values,
                                          strict=True) if dom]  # fmt: skip
    headline = [
        f"For the {party}, weighing the {what[0]} against the {party}'s 1-in-20 {what[1]}, "
        f"{first} comes first by the rule below" + _margin(ds, mine, mine_var, what[0]) + "."
    ]
    if len(frontier) > 1:
        headline.append(
            f"{_names(frontier)} are on the frontier: none is better than another on both, so "
            f"choosing among them is choosing how much 1-in-20 loss to accept for a higher mean."
        )
    if dominated:
        headline.append(
            f"{_names(dominated)} {'is' if len(dominated) == 1 else 'are'} dominated: another "
            "design is better on one of the two and no worse on the other, beyond Monte Carlo "
            "error."
        )
    else:
        headline.append("No design is dominated beyond Monte Carlo error.")
    between = [d for d in designs if d not in frontier and d not in dominated]
    if between:
        headline.append(
            f"{_names(between)} {'is' if len(between) == 1 else 'are'} not dominated beyond "
            "Monte Carlo error, but another design is at least as good on both in the point "
            "estimates."
        )
    their_first = str(theirs["design"].values[0])
    headline.append(
        f"For the {other}, {their_first} comes first" + (" too." if their_first == first else ".")
    )

    reasons = []
    for d in dominated:
        by = str(by_design.sel(design=d)["dominated_by"].item()).split(", ")[0]
        p = paired(ds, by, ["mean", loss], designs=[d], var=mine_var).sel(design=d)
        dm, dm_se = float(p["mean_diff"]), float(p["mean_diff_se"])
        dv, dv_se = float(p[f"{loss}_diff"]), float(p[f"{loss}_diff_se"])
        reasons.append(
            f"{d} against {by}: the {what[0]} is {format_money(abs(dm))} "
            f"{'lower' if dm < 0 else 'higher'} ({_PM}{format_money(dm_se)} paired)"
            + (" (within error)" if abs(dm) <= 1.96 * dm_se else "")
            + f" and the {party}'s 1-in-20 {what[1]} {format_money(abs(dv))} "
            f"{'higher' if dv > 0 else 'lower'} ({_PM}{format_money(dv_se)} paired)"
            + (" (within error)" if abs(dv) <= 1.96 * dv_se else "")
            + "."
        )

    sens_table = None
    sens_text = []
    if sensitivities:
        sens_rows: list[tuple[str, tuple[Estimate, ...]]] = []
        for s in sensitivities:
            sens_cells = (
                Estimate(_input_value(s, s.low.value), None),
                Estimate(s.low.first, None),
                _money(s.low.mean, s.low.mean_se),
                Estimate(_input_value(s, s.high.value), None),
                Estimate(s.high.first, None),
                _money(s.high.mean, s.high.mean_se),
            )
            sens_rows.append((f"{s.label} (base {_input_value(s, s.base)})", sens_cells))
            if s.changes_answer:
                flips = [
                    f"at {_input_value(s, e.value)} {e.first} comes first"
                    for e in (s.low, s.high)
                    if e.first != s.base_first
                ]
                sens_text.append(f"The {s.label} would change the answer: {_names(flips)}.")
        base_first = sensitivities[0].base_first
        if not sens_text:
            sens_text.append(
                f"None of these inputs changes which design comes first ({base_first}) at "
                "either end; they move how much it settles."
            )
        sens_table = KeyTable(
            key="sensitivity",
            title="What would change the answer",
            caption=f"The inputs the decision is most sensitive to, largest first, each moved "
            f"down and up with the others held: the design that comes first for the {party} "
            f"there, and the {what[0]} there of {base_first} (first at the base case). "
            + sensitivity_note,
            columns=("Low", "First", f"{base_first} mean", "High", "First", f"{base_first} mean"),
            rows=tuple(sens_rows),
            row_label="Input",
        )
    return Recommendation(
        party=party,
        baseline=base,
        headline=tuple(headline),
        table=table,
        reasons=tuple(reasons),
        rule=str(mine.attrs["rule"]),
        sensitivity=sens_table,
        sensitivity_text=tuple(sens_text),
        sensitivity_note=sensitivity_note,
        inputs=tuple(sensitivities),
    )


def _margin(ds: xr.Dataset, table: xr.Dataset, var: str, words: str) -> str:
    """ ", ahead of X by less than Monte Carlo error on ...", where the first two rows' means
    are within paired Monte Carlo error of each other."""
    if table.sizes["rank"] < 2:
        return ""
    first, second = (str(d) for d in table["design"].values[:2])
    p = paired(ds, first, "mean", designs=[second], var=var).sel(design=second)
    if not bool(p["mean_within_error"]):
        return ""
    return f" (ahead of {second} by less than Monte Carlo error on the {words})"


def _input_value(s: Sensitivity, x: float) -> str:
    if s.units == "USD":
        return format_money(x)
    if s.percent:
        return format_percent(x, 1)
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:g}"
