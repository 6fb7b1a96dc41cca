"""What would change the answer: the inputs a decision between designs is most sensitive to.

:func:`sensitivity` moves each of a few inputs down and up, one at a time, and weighs the
designs again (:func:`simsettle.stats.decide`) at each end: which design comes first for the
party, and what the design that comes first at the base case settles on average there. The
inputs are ranked by how far that mean moves.

- For a sweep, the inputs are the swept fields, each at its lowest and highest value with the
  others at their base values (nothing is simulated).
- Otherwise the scenario recorded in the results is simulated again with each input moved
  (:data:`DEFAULT_INPUTS`: the cost trend, its year-to-year volatility and the population's
  size) with the results' own seed, with at most ``trials`` trials and only the results'
  designs. The random numbers are counter-based and indexed by trial, so a moved run draws the
  same numbers as the first ``trials`` trials of the results: a change is the input's, not
  the draws'.

The design "first at the base case" is the one the results themselves put first (all their
trials), as the report's headline does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from simsettle.errors import ScenarioError
from simsettle.results import sweep_base
from simsettle.stats import decide, statistic

__all__ = ["DEFAULT_INPUTS", "Input", "Sensitivity", "measure", "sensitivity"]

Party = Literal["provider", "payer"]


@dataclass(frozen=True)
class Input:
    """An input to move: its scenario path, its words, and its low and high values as
    functions of the base value."""

    path: str
    label: str
    low: Callable[[float], float]
    high: Callable[[float], float]
    percent: bool = False
    integer: bool = False

    def at(self, value: float) -> float | int:
        """``value`` as the field takes it (``0.05 + 0.01`` as ``0.06``, not
        ``0.060000000000000005``)."""
        return round(value) if self.integer else round(value, 12)


#: The inputs moved when the results are not a sweep: the expected cost trend (one point
#: down and up: the provider's performance against the benchmark's trend), the systemic
#: volatility of the trend (one point down, floored at 0, and up) and the population's size
#: (halved and doubled: the member-level noise).
DEFAULT_INPUTS: tuple[Input, ...] = (
    Input("trend.mean", "expected cost trend", lambda x: x - 0.01, lambda x: x + 0.01, True),
    Input("trend.sd", "year-to-year trend volatility", lambda x: max(0.0, x - 0.01),
          lambda x: x + 0.01, True),
    Input("population.members", "attributed members", lambda x: x / 2, lambda x: 2 * x,
          integer=True),
)  # fmt: skip


@dataclass(frozen=True)
class End:
    """One end of a moved input: its value, the design first there, and the mean settlement
    (with its standard error) there of the design first at the base case."""

    value: float
    first: str
    mean: float
    mean_se: float


@dataclass(frozen=True)
class Sensitivity:
    """One input moved down and up."""

    label: str
    base: float
    percent: bool
    units: str
    low: End
    high: End
    base_first: str

    @property
    def swing(self) -> float:
        """How far the base case's first design's mean settlement moves, low to high."""
        return abs(self.high.mean - self.low.mean)

    @property
    def changes_answer(self) -> bool:
        """Whether another design comes first at either end."""
        return self.base_first not in (self.low.first, self.high.first) or (
            self.low.first != self.high.first
        )


def _first_and_mean(ds: xr.Dataset, party: Party, recommended: str) -> tuple[str, float, float]:
    """The design first for ``party`` in ``ds``, and ``recommended``'s mean (and its standard
    error) there, of the variable the party's decision weighs."""
    var = measure(ds, party)
    table = decide(ds, party=party, var=var)
    first = str(table["design"].values[0])
    m = statistic(ds.sel(design=[recommended]), "mean", var=var)
    return first, float(m["value"].item()), float(m["se"].item())


def measure(ds: xr.Dataset, party: Party) -> str:
    """The variable a party's decision weighs: the provider's net result where the results
    have the provider's own economics (its costs and its own stop-loss), else the settlement."""
    return (
        "provider_net" if party == "provider" and "provider_net" in ds.data_vars else "settlement"
    )


def _first(ds: xr.Dataset, party: Party) -> str:
    return str(decide(ds, party=party, var=measure(ds, party))["design"].values[0])


def _value(data: Any, path: str) -> float | None:
    for key in path.split("."):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return float(data) if isinstance(data, int | float) and not isinstance(data, bool) else None


def sensitivity(
    ds: xr.Dataset,
    *,
    party: Party = "provider",
    inputs: Sequence[Input] = DEFAULT_INPUTS,
    trials: int = 1000,
    top: int = 3,
) -> tuple[list[Sensitivity], str]:
    """The inputs the decision between ``ds``'s designs is most sensitive to, most first.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (a sweep's, or a run whose attributes hold its scenario).
    party : {"provider", "payer"}
        Whose decision (:func:`~simsettle.stats.decide`'s default statistics for the party).
    inputs : sequence of Input
        The inputs to move when ``ds`` is not a sweep.
    trials : int, default 1000
        Most trials simulated for each moved input.
    top : int, default 3
        How many inputs to return.

    Returns
    -------
    (list of Sensitivity, str)
        The inputs, largest swing first, and a note saying how they were found (or why
        there are none).
    """
    base = sweep_base(ds)
    base_first = _first(base, party)
    sweep = [d for d in str(ds.attrs.get("sweep_dims", "")).split() if d in ds.dims]
    out: list[Sensitivity] = []
    if sweep:
        for dim in sweep:
            values = np.asarray(ds[dim].values)
            if values.size < 2 or values.dtype.kind not in "iuf":
                continue  # a swept family or flag has no low and high end
            others = {d: base[d].values.item() for d in sweep if d != dim}
            ends = []
            for value in (values.min(), values.max()):
                cell = ds.sel({dim: value, **others})
                first, mean, se = _first_and_mean(cell, party, base_first)
                ends.append(End(float(value), first, mean, se))
            units = str(ds[dim].attrs.get("units", ""))
            out.append(
                Sensitivity(
                    label=str(ds[dim].attrs.get("long_name", dim)),
                    base=float(base[dim].values.item()),
                    percent=units == "1" and bool(np.all(np.abs(values.astype(float)) <= 1)),
                    units=units,
                    low=ends[0],
                    high=ends[1],
                    base_first=base_first,
                )
            )
        note = (
            "From the sweep: each swept input at its lowest and highest value, the others at "
            "their base values."
        )
    else:
        text = ds.attrs.get("scenario_yaml")
        if not text:
            return [], "The results do not hold their scenario, so no input was moved."
        from simsettle.runner import simulate
        from simsettle.scenario import parse_scenario

        try:
            loaded = parse_scenario(str(text), str(ds.attrs.get("scenario_source", "<results>")))
        except ScenarioError as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            return [], (
                "The scenario recorded in the results does not validate with this simsettle "
                f"({first}), so no input was moved."
            )
        n = min(trials, int(ds.sizes["trial"]))
        # The run's own seed (a --seed or simulate(seed=...) is not in the scenario's text),
        # so that the moved runs share the results' random numbers.
        seed = {"seed": int(ds.attrs["seed"])} if "seed" in ds.attrs else {}
        designs = [str(d) for d in ds["design"].values]
        data = loaded.scenario.model_dump(mode="python")
        for item in inputs:
            x = _value(data, item.path)
            if x is None:
                continue
            ends = []
            for move in (item.low, item.high):
                value = item.at(move(x))
                try:
                    moved = loaded.with_changes({item.path: value}, trials=n, **seed)
                except ScenarioError:
                    break  # the moved value is outside the field's range: not this input
                run = simulate(moved, progress=False).sel(design=designs)
                first, mean, se = _first_and_mean(run, party, base_first)
                ends.append(End(float(value), first, mean, se))
            if len(ends) == 2:
                out.append(
                    Sensitivity(
                        label=item.label,
                        base=x,
                        percent=item.percent,
                        units="1",
                        low=ends[0],
                        high=ends[1],
                        base_first=base_first,
                    )
                )
        note = (
            f"Each input moved down and up, one at a time, and the scenario simulated again "
            f"on the same random numbers (the first {n:,} trials of the results' seed)."
        )
    out.sort(key=lambda s: -s.swing if math.isfinite(s.swing) else 0.0)
    return out[:top], note
