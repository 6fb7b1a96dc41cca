"""The engine's choice of benchmark adjustment against CMS's, for every ACO of a results file.

From PY2024 the MSSP results PUF publishes, for each ACO, its regional adjustment as computed
(``RegAdj``, USD per capita, whether applied or not), its prior savings adjustment
(``PriorSavAdj``, ``"-"`` where it has none) and the adjustment applied (``FinalAdjCat``). The
engine's rule, :func:`simsettle.rules.benchmark.choose_adjustment`, picks one from the first two:

* agreement periods from 2024 (42 CFR 425.652(a)(8) as amended by the CY2024 PFS): the higher of
  a positive regional adjustment and an eligible prior savings adjustment; the prior savings
  adjustment where the regional one is negative or zero; none where neither is positive;
* earlier agreement periods: the regional adjustment, whatever its sign (no prior savings
  adjustment; a negative one applies, capped).

:func:`check_adjustments` applies the rule to the published inputs and compares with
``FinalAdjCat``. The agreement period's start is ``Current_Start_Date``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from simsettle.replay.puf import PufRow
from simsettle.rules.benchmark import ADJUSTMENT_KINDS, choose_adjustment

__all__ = [
    "CMS_ADJUSTMENT_LABELS",
    "AdjustmentCheck",
    "AdjustmentRow",
    "check_adjustments",
    "format_adjustment_check",
]

#: ``FinalAdjCat``'s labels for the engine's kinds (:data:`ADJUSTMENT_KINDS`).
CMS_ADJUSTMENT_LABELS: Final[dict[str, str]] = {
    "none": "No Adjustment",
    "regional": "Regional Adjustment",
    "prior_savings": "Prior Savings Adjustment",
}
_FROM_LABEL: Final = {v.lower(): k for k, v in CMS_ADJUSTMENT_LABELS.items()}


@dataclass(frozen=True)
class AdjustmentRow:
    """One ACO: the published inputs, CMS's choice and the engine's."""

    aco_id: str
    agreement_start_year: int | None
    regional: float
    """``RegAdj``, USD per capita."""
    prior_savings: float | None
    """``PriorSavAdj``, USD per capita; ``None`` where the ACO has none."""
    published: str
    """The engine's name of ``FinalAdjCat`` (``"none"``, ``"regional"``, ``"prior_savings"``)."""
    computed: str
    """The engine's choice from ``regional`` and ``prior_savings``."""
    applied: float
    """The adjustment the engine's choice adds, USD per capita."""
    line: int

    @property
    def agree(self) -> bool:
        """Whether the engine chose what CMS applied."""
        return self.published == self.computed


@dataclass(frozen=True)
class AdjustmentCheck:
    """Every ACO of a file with ``FinalAdjCat``, and the counts."""

    rows: tuple[AdjustmentRow, ...]

    @property
    def agree(self) -> int:
        """ACOs whose adjustment the engine chose as CMS did."""
        return sum(r.agree for r in self.rows)

    @property
    def published_counts(self) -> dict[str, int]:
        """ACOs by the adjustment CMS applied."""
        counts = Counter(r.published for r in self.rows)
        return {kind: counts.get(kind, 0) for kind in ADJUSTMENT_KINDS}

    @property
    def disagreeing(self) -> tuple[AdjustmentRow, ...]:
        """The rows where the engine's choice differs from CMS's."""
        return tuple(r for r in self.rows if not r.agree)


def _start_year(text: str | None) -> int | None:
    """The year of ``Current_Start_Date`` (``"1/1/2024"``, ``"07/01/2019"``, ``"2024-01-01"``)."""
    if not text:
        return None
    years = re.findall(r"(?<!\d)(\d{4})(?!\d)", text)
    return int(years[0]) if years else None


def check_adjustments(rows: Iterable[PufRow]) -> AdjustmentCheck:
    """The engine's choice of benchmark adjustment for every row that publishes
    ``FinalAdjCat`` and ``RegAdj`` (none for older files).

    Raises :class:`ValueError` naming the line and ACO for a ``FinalAdjCat`` label the engine
    does not know, or a row without an agreement start date.
    """
    out: list[AdjustmentRow] = []
    for row in rows:
        label = row.published.final_adjustment
        if label is None or row.regional_adjustment is None:
            continue
        published = _FROM_LABEL.get(label.strip().lower())
        if published is None:
            raise ValueError(
                f"line {row.line} ({row.aco_id}): unknown FinalAdjCat {label!r}; expected one of "
                f"{', '.join(repr(v) for v in CMS_ADJUSTMENT_LABELS.values())}"
            )
        start = _start_year(row.agreement_start)
        if start is None:
            raise ValueError(
                f"line {row.line} ({row.aco_id}): Current_Start_Date {row.agreement_start!r} "
                "has no year; the rule depends on the agreement period's start"
            )
        from_2024 = start >= 2024
        psa = row.prior_savings_adjustment
        # Before 2024 no prior savings adjustment exists; from 2024 one that is not positive
        # means the ACO is not eligible.
        prior = psa if from_2024 and psa is not None and psa > 0 else math.nan
        applied, kind = choose_adjustment(row.regional_adjustment, prior, drop_negative=from_2024)
        out.append(
            AdjustmentRow(
                aco_id=row.aco_id,
                agreement_start_year=start,
                regional=row.regional_adjustment,
                prior_savings=psa,
                published=published,
                computed=ADJUSTMENT_KINDS[int(kind)],
                applied=float(applied),
                line=row.line,
            )
        )
    return AdjustmentCheck(rows=tuple(out))


def format_adjustment_check(check: AdjustmentCheck) -> list[str]:
    """Lines for the CLI: the agreement count, CMS's counts, and each disagreeing row."""
    counts = check.published_counts
    lines = [
        f"Benchmark adjustment (FinalAdjCat): the engine's choice agrees for {check.agree} of "
        f"{len(check.rows)} ACOs (CMS applied: regional {counts['regional']}, prior savings "
        f"{counts['prior_savings']}, none {counts['none']})"
    ]
    for r in check.disagreeing:
        psa = "-" if r.prior_savings is None else f"{r.prior_savings:,.0f}"
        lines.append(
            f"  {r.aco_id:<8} start {r.agreement_start_year} RegAdj {r.regional:,.0f} "
            f"PriorSavAdj {psa}: CMS {r.published}, engine {r.computed}"
        )
    return lines
