"""The stopping rule of a run to a stated precision (``simulate(precision=...)``).

A committee reads a few statistics of each design: the mean settlement, the probabilities that
the provider pays and that it receives, the 5% and 95% quantiles, and how each design differs
from each other one on the same simulated years. :class:`Precision` states how small their
Monte Carlo standard errors must be; :func:`precision_table` measures them on a results
Dataset, one row per statistic, design and (for the paired differences) pair, with the target
each must meet. The runner (:func:`simsettle.simulate`) adds chunks of trials until every row
meets its target or the trial limit is reached.

Targets: money statistics (the mean, the quantiles and their paired differences) against
``se`` (USD) or ``relative`` (a fraction of the mean benchmark, the scale the contract's
corridors are written in: 0.001 is a tenth of a percent of the benchmark), whichever is given
(both: the larger, so that the looser one binds); probabilities against ``probability_se``.
With ``control_variates`` the means and probabilities (and their differences) are estimated
with the cost indices as controls (:func:`simsettle.stats.controlled`), whose smaller standard
errors reach the target on fewer trials; quantiles keep their plain estimate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import xarray as xr

from simsettle.results import derived_dataset
from simsettle.stats.compare import PAIRED_DEFAULT_BY, paired
from simsettle.stats.control import CONTROLLED_STATISTICS, controlled
from simsettle.stats.registry import parse_statistic_name
from simsettle.stats.tables import statistic

__all__ = ["Precision", "next_trials", "precision_table", "stopping_attrs"]

_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?"


@dataclass(frozen=True)
class Precision:
    """How precise a run's statistics must be before it stops.

    Attributes
    ----------
    se : float, optional
        Largest standard error, USD, of the money statistics (the mean settlement, its 5% and
        95% quantiles, and the paired differences of these between designs).
    relative : float, optional
        The same as a fraction of the mean benchmark (0.001: 0.1% of the benchmark).
        At least one of ``se`` and ``relative`` is required.
    probability_se : float, default 0.0025
        Largest standard error of the probabilities (and their paired differences): 0.0025
        is a 95% interval of about +/- half a percentage point.
    statistics : tuple of str, default ("mean", "q05", "q95", "prob_loss", "prob_savings")
        The statistics checked, named as :func:`~simsettle.stats.describe` names them.
    paired : bool, default True
        Also check every pair of designs' differences (on common random numbers).
    control_variates : bool, default False
        Estimate the means and probabilities with the cost indices as control variates.
    min_trials, max_trials : int
        The first check's trials, and the most the run may use (it stops there, recording
        that the target was not met).
    """

    se: float | None = None
    relative: float | None = None
    probability_se: float = 0.0025
    statistics: tuple[str, ...] = PAIRED_DEFAULT_BY
    paired: bool = True
    control_variates: bool = False
    min_trials: int = 1000
    max_trials: int = 200_000

    def __post_init__(self) -> None:
        if self.se is None and self.relative is None:
            raise ValueError("a precision needs se (USD) or relative (a fraction of the benchmark)")
        for name in ("se", "relative", "probability_se"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"precision {name} must be a positive number, got {value!r}")
        for name in ("min_trials", "max_trials"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"precision {name} must be a whole number, got {value!r}")
        if not 2 <= self.min_trials <= self.max_trials:
            raise ValueError(
                "a run to a precision needs at least 2 trials, and min_trials <= max_trials "
                f"(the trial limit); got {self.min_trials} and {self.max_trials}"
            )
        if not self.statistics:
            raise ValueError("a precision needs at least one statistic")
        for name in self.statistics:
            _, base, _ = parse_statistic_name(name)
            if base not in ("mean", "quantile") and not base.startswith("prob_"):
                raise ValueError(
                    f"precision statistic {name!r}: choose means, quantiles (q05) or "
                    "probabilities (prob_loss, prob_savings)"
                )

    @classmethod
    def parse(cls, text: str, **options: Any) -> Precision:
        """From the command line's ``--precision``: ``25000`` (USD) or ``0.1%`` (of the
        benchmark)."""
        s = text.strip().replace(",", "").replace("_", "")
        m = re.fullmatch(rf"({_NUMBER})\s*%", s)
        if m:
            return cls(relative=float(m.group(1)) / 100.0, **options)
        m = re.fullmatch(rf"\$?\s*({_NUMBER})\s*(?:USD)?", s, flags=re.IGNORECASE)
        if m:
            return cls(se=float(m.group(1)), **options)
        raise ValueError(
            f"precision {text!r}: give a standard error in USD (25000) or a percentage of the "
            "mean benchmark (0.1%)"
        )

    @classmethod
    def coerce(cls, value: Precision | str | float | Mapping[str, Any]) -> Precision:
        """A :class:`Precision` from itself, its text, a number (USD) or its fields."""
        if isinstance(value, Precision):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        if isinstance(value, Mapping):
            fields = dict(value)
            if isinstance(fields.get("statistics"), str):
                fields["statistics"] = (fields["statistics"],)
            if "statistics" in fields:
                fields["statistics"] = tuple(fields["statistics"])
            return cls(**fields)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                f"precision {value!r}: give a Precision, its text ('0.1%', '25000'), a standard "
                "error in USD or a mapping of its fields"
            )
        return cls(se=float(value))

    def describe(self) -> str:
        """The rule in words, as the results record it."""
        money = []
        if self.se is not None:
            money.append(f"${self.se:,.0f}")
        if self.relative is not None:
            money.append(f"{self.relative * 100:.4g}% of the mean benchmark")
        rule = (
            f"standard errors of {', '.join(self.statistics)}"
            + (" and of every paired difference between designs" if self.paired else "")
            + f" at most {' or '.join(money)} (money) and {self.probability_se:g} "
            "(probabilities)"
        )
        if self.control_variates:
            rule += "; means and probabilities with the cost indices as control variates"
        return rule + f"; from {self.min_trials:,} trials, at most {self.max_trials:,}"

    def to_attrs(self) -> dict[str, Any]:
        """The rule's fields, for the results' attributes."""
        fields = asdict(self)
        fields["statistics"] = list(self.statistics)
        return fields


def _money_target(ds: xr.Dataset, rule: Precision) -> xr.DataArray:
    """The money target per design (and sweep cell): the larger of ``se`` and ``relative`` x
    the design's mean benchmark (``settlement_benchmark``: a portfolio line's own, after any
    discount)."""
    targets = []
    if rule.se is not None:
        targets.append(xr.DataArray(rule.se))
    if rule.relative is not None:
        bench = ds["settlement_benchmark"]
        other = [d for d in bench.dims if d in ("trial", "year")]
        targets.append(rule.relative * abs(bench.mean(other)))
    if len(targets) == 1:
        return targets[0]
    larger: xr.DataArray = xr.apply_ufunc(np.maximum, targets[0], targets[1])
    return larger


def _controlled(rule: Precision, name: str) -> bool:
    """Whether the rule estimates ``name`` with control variates."""
    return rule.control_variates and parse_statistic_name(name)[1] in CONTROLLED_STATISTICS


def _estimate(
    ds: xr.Dataset, name: str, rule: Precision, baseline: str | None, diffs: xr.Dataset | None
) -> tuple[xr.DataArray, xr.DataArray]:
    """``(value, se)`` per design of a statistic, or of its difference from ``baseline``
    (``diffs``: :func:`paired` against it, of every statistic not controlled)."""
    _, base, level = parse_statistic_name(name)
    if _controlled(rule, name):
        out = controlled(ds, base, baseline=baseline)
        return out["value"], out["se"]
    if baseline is None:
        out = statistic(ds, base, level=level)
        return out["value"], out["se"]
    assert diffs is not None  # paired() of every statistic not controlled
    return diffs[f"{name}_diff"], diffs[f"{name}_diff_se"]


def precision_table(ds: xr.Dataset, rule: Precision) -> xr.Dataset:
    """The standard error of every checked statistic against its target.

    Returns
    -------
    xarray.Dataset
        Dimension ``check`` (one row per statistic and design, and per statistic and pair of
        designs with ``paired``), coordinates ``statistic``, ``design`` and ``baseline`` (""
        for a design's own statistic), and ``value``, ``se``, ``target`` and ``ratio``
        (``se / target``; where a sweep adds dimensions, the row holds the worst cell). The
        rule is met when every ratio is at most 1.
    """
    money = _money_target(ds, rule)
    designs = [str(d) for d in ds["design"].values]
    # A portfolio's lines are different contracts: only designs of one line are paired.
    line = (
        dict(zip(designs, (str(x) for x in ds["line"].values), strict=True))
        if "line" in ds.coords and ds["line"].dims == ("design",)
        else dict.fromkeys(designs, "")
    )
    pairs: list[str | None] = [None]
    if rule.paired:
        pairs += designs[:-1]
    rows: dict[str, list[Any]] = {
        k: [] for k in ("statistic", "design", "baseline", "unit", "value", "se", "target", "ratio")
    }
    for baseline in pairs:
        plain = [name for name in rule.statistics if not _controlled(rule, name)]
        diffs = paired(ds, baseline, by=plain) if baseline is not None and plain else None
        for name in rule.statistics:
            _, base, _ = parse_statistic_name(name)
            value, se = _estimate(ds, name, rule, baseline, diffs)
            target = xr.full_like(se, rule.probability_se) if base.startswith("prob_") else money
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (se / target).fillna(np.inf)
            others = [d for d in ratio.dims if d != "design"]
            later = designs if baseline is None else designs[designs.index(baseline) + 1 :]
            if baseline is not None:
                later = [d for d in later if line[d] == line[baseline]]
            for design in later:
                r = ratio.sel(design=design)
                at = {d: int(i) for d, i in r.argmax(others).items()} if others else {}
                rows["statistic"].append(name)
                rows["design"].append(design)
                rows["baseline"].append(baseline or "")
                rows["unit"].append("1" if base.startswith("prob_") else "USD")
                rows["value"].append(float(value.sel(design=design).isel(at)))
                rows["se"].append(float(se.sel(design=design).isel(at)))
                t = target.sel(design=design) if "design" in target.dims else target
                rows["target"].append(float(t.isel({k: v for k, v in at.items() if k in t.dims})))
                rows["ratio"].append(float(r.isel(at)))
    attrs = {"long_name": "", "units": "", "description": ""}

    def var(key: str, long_name: str, units: str, desc: str) -> xr.DataArray:
        return xr.DataArray(
            np.array(rows[key], dtype=np.float64),
            dims="check",
            attrs=attrs | {"long_name": long_name, "units": units, "description": desc},
        )

    # A row's unit is USD for money statistics and 1 for probabilities: the coordinate "unit".
    per_row = "the row's unit (coordinate unit: USD, or 1 for a probability)"
    data: dict[Hashable, xr.DataArray] = {
        "value": var("value", "estimate", per_row, "The statistic, or the paired difference."),
        "se": var("se", "Monte Carlo standard error", per_row, "Trial-clustered."),
        "target": var("target", "largest standard error allowed", per_row, rule.describe()),
        "ratio": var("ratio", "standard error / target", "1", "At most 1 where the row is met."),
    }
    coord_attrs = {
        "statistic": ("statistic", "The statistic, named as describe() names it."),
        "design": ("design", "The design whose statistic (or difference) the row checks."),
        "baseline": ("baseline design", "The design the difference is from; '' for none."),
        "unit": ("unit", "USD for money statistics, 1 for probabilities."),
    }
    coords = {
        k: (
            "check",
            np.array(rows[k], dtype=object),
            {"long_name": long_name, "units": "1", "description": desc},
        )
        for k, (long_name, desc) in coord_attrs.items()
    }
    out = derived_dataset(data, {"title": "Precision of the run", "rule": rule.describe()})
    return out.assign_coords(coords)


def next_trials(trials: int, worst_ratio: float, chunk: int, limit: int) -> int:
    """The next check's trials: enough for the worst row by ``1 / sqrt(trials)`` scaling,
    with a 10% margin, at least one chunk more and at most four times as many (a small run's
    standard errors of quantiles are rough), in whole chunks, at most ``limit``."""
    want = trials * (worst_ratio**2 if math.isfinite(worst_ratio) else 4.0) * 1.1
    want = min(max(want, trials + chunk), 4.0 * trials)
    chunks = math.ceil(want / chunk)
    return int(min(limit, chunks * chunk))


#: Why a run to a precision stopped: the rule was met, the trial limit was reached, or the
#: next check would not fit in memory (the last check's results stand).
STOP_REASONS = ("met", "limit", "memory")


def stopping_attrs(
    rule: Precision, history: Sequence[tuple[int, float]], stop: str
) -> dict[str, Any]:
    """The results' record of the stopping rule, of each check and of why it stopped."""
    import json

    if stop not in STOP_REASONS:
        raise ValueError(f"stop must be one of {STOP_REASONS}, got {stop!r}")
    return {
        "precision_rule": rule.describe(),
        "precision_settings": json.dumps(rule.to_attrs()),
        "precision_checks": json.dumps([{"trials": n, "worst_ratio": r} for n, r in history]),
        "precision_met": int(stop == "met"),
        "precision_stopped": stop,
    }
