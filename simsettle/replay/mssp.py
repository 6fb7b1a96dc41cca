"""Replay CMS's published MSSP results with the engine's own templates and rules.

For every ACO in a results PUF (:func:`simsettle.replay.puf.read_puf`) :func:`replay_rows` builds
the design a scenario file would get from the ACO's track template (BASIC A-E ``mssp_basic_a`` ..
``mssp_basic_e``, ENHANCED ``mssp_enhanced``) through the scenario models, settles the published
inputs with :func:`simsettle.rules.settle.settle` and compares the result with CMS's
``EarnSaveLoss``. The published outcomes (:attr:`PufRow.published`) are never used as inputs.

What comes from the PUF (all inputs):

* benchmark ``ABtotBnchmk``; savings = ``ABtotBnchmk - ABtotExp``; members ``N_AB``;
  quality score ``QualScore``, ``Met_QPS`` and ``Met_AltQPS`` (missing counts as not met when
  ``Met_QPS`` is not met).
* The MSR/MLR election of two-sided ACOs. CMS publishes only the MSR in force (``MinSavPerc``).
  A two-sided ACO with at least 5,000 beneficiaries whose ``MinSavPerc`` is one of the fixed
  options 0, 0.5, 1.0, 1.5 or 2.0% (compared after rounding the fraction to 4 decimals) is on that
  symmetric fixed MSR/MLR; any other value means the variable MSR/MLR (``msr_table: mssp``).
  Below 5,000 beneficiaries the template's ``variable_msr_below`` applies the variable table
  anyway (SPEC-v11 4.2.3). One-sided ACOs use the template's variable MSR. The MSR in force is
  recorded (:attr:`ReplayRow.computed_msr`) and a row is flagged when it differs from the
  published ``MinSavPerc`` by more than 0.005 percentage points (half the PUF's last digit).
* Loss relief for extreme and uncontrollable circumstances from ``DisAdj``. The design is first
  settled without relief to get the capped shared loss (steps ``shared + cap``); the relief
  fraction is then ``min(1, |DisAdj| / |capped loss|)``, and 1 when ``|DisAdj|`` is within its
  whole-dollar rounding ($0.50) of the loss. A row with a shared loss and no
  ``DisAdj`` gets the policy year's default (:data:`~simsettle.scenario.templates.MSSP_POLICY`);
  :func:`~simsettle.replay.puf.read_puf` reads a blank ``DisAdj`` as 0, so a zero counts as "not
  published". In the PY2022 and PY2023 files every row with a shared loss has a ``DisAdj``, and
  the ``DisAdj`` ratio reproduces CMS where the policy default does not: PY2023 ratios range from
  0.4169 to 0.4201 around the PHE's 5/12 (counties and months differ by ACO) and A1539's is 0.742
  (a further disaster); the default 5/12 reproduces 4 of PY2023's 20 loss rows, the ratio 17
  (the other 3 depend on revenue). PY2022 forgave all losses (ratio 1.0, which the default also
  gives). In a year whose policy forgives every loss (PY2020-2022) the relief is 1 whatever
  ``DisAdj`` says: nothing is owed, so the result cannot depend on the revenue-based loss limit
  (A1070, PY2022: ``DisAdj`` is the loss after the revenue limit, a ratio of 0.27 to the loss
  computed without it). Elsewhere, where a BASIC revenue limit bound, the ratio understates the
  relief because the denominator lacks the revenue limit; such rows are marked as depending on
  revenue (below).
* ``ReducedSS`` (PY2024 onwards, 42 CFR 425.605(h)): low-revenue ACOs below the MSR share at half
  the rate (``below_msr_share=0.5``, ``below_msr_min_members=5000``).

What the PUF cannot tell: participant revenue. BASIC C/D/E loss limits are the lower of a share of
participant fee-for-service revenue and a share of the benchmark; only the latter is computable.
Those rows are settled without the revenue limit (``loss_cap_revenue=None``) and marked
:attr:`ReplayRow.depends_on_revenue` when the revenue limit could bind, i.e. the row owes a shared
loss that is not fully forgiven. Rows affected by a mid-year termination are flagged too: CMS
pro-rates or forfeits their result. Neither kind counts as comparable in :func:`summarize`.

Agreement: ``|computed - EarnSaveLoss| <= max($2, 0.1% of |EarnSaveLoss|)``. CMS publishes
whole dollars; the unrounded computed value is compared.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from simsettle._atomic import atomic_path
from simsettle.replay.puf import PufRow, read_puf
from simsettle.rules.settle import STEP_NAMES, YearFacts, settle
from simsettle.rules.terms import compile_terms, corridor_in_force
from simsettle.scenario.contracts import DESIGN_KINDS, AnyDesign
from simsettle.scenario.templates import expand_template

__all__ = [
    "FIXED_MSR_OPTIONS",
    "REPLAY_CSV_COLUMNS",
    "TRACK_TEMPLATES",
    "ReplayRow",
    "ReplaySummary",
    "agrees",
    "replay_puf",
    "replay_rows",
    "summarize",
    "write_replay_csv",
]

#: ``Current_Track`` -> the template whose rules the replay uses.
TRACK_TEMPLATES: Final[Mapping[str, str]] = {
    "A": "mssp_basic_a",
    "B": "mssp_basic_b",
    "C": "mssp_basic_c",
    "D": "mssp_basic_d",
    "E": "mssp_basic_e",
    "EN": "mssp_enhanced",
}

#: Fixed symmetric MSR/MLR options a two-sided ACO may elect (SPEC-v11 4.2.2), as fractions.
FIXED_MSR_OPTIONS: Final[frozenset[float]] = frozenset({0.0, 0.005, 0.01, 0.015, 0.02})

#: Columns of :func:`write_replay_csv`, in order.
REPLAY_CSV_COLUMNS: Final[tuple[str, ...]] = (
    "ACO_ID",
    "track",
    "n_ab",
    "published_EarnSaveLoss",
    "computed",
    "difference",
    "agree",
    "depends_on_revenue",
    "reason",
)

REASON_REVENUE: Final = "loss limit depends on participant revenue, not published"
REASON_TERMINATION: Final = (
    "mid-year termination (Impact_Mid_Year_Termination): CMS pro-rates or forfeits the result"
)
REASON_UNPUBLISHED: Final = "EarnSaveLoss not published"

_FIXED_ELECTION_MIN_MEMBERS: Final = 5000  # SPEC-v11 4.2.3
_MSR_TOLERANCE: Final = 0.005 / 100 + 1e-12  # 0.005 percentage points, as a fraction
_ABS_TOLERANCE: Final = 2.0  # USD
_REL_TOLERANCE: Final = 0.001
_DOLLAR_ROUNDING: Final = 0.5  # USD: PUF money columns are rounded to whole dollars
_SETTLEMENT: Final = STEP_NAMES.index("settlement")
_SHARED: Final = STEP_NAMES.index("shared")
_CAP: Final = STEP_NAMES.index("cap")


@dataclass(frozen=True)
class ReplayRow:
    """One ACO's replay: CMS's published earned amount next to the engine's."""

    aco_id: str
    """``ACO_ID``."""
    track: str
    """``Current_Track``: ``"A"`` .. ``"E"`` or ``"EN"``."""
    n_ab: int
    """``N_AB``: assigned beneficiaries."""
    published: float | None
    """``EarnSaveLoss`` as published (whole USD; losses negative); ``None`` when blank."""
    computed: float
    """The engine's settlement, USD, unrounded."""
    difference: float | None
    """``computed - published``, USD; ``None`` when nothing was published."""
    agree: bool
    """Whether :func:`agrees` holds for ``computed`` and ``published``."""
    depends_on_revenue: bool
    """The result may depend on participant revenue, which the PUF does not publish."""
    reason: str
    """Why the row may not or does not reproduce CMS (``"; "``-separated); ``""`` when none."""
    computed_msr: float
    """The minimum savings rate the replay applied (fraction)."""
    line: int
    """Line of the ACO's row in the PUF."""

    @property
    def terminated(self) -> bool:
        """Whether the row was flagged for a mid-year termination."""
        return REASON_TERMINATION in self.reason

    @property
    def comparable(self) -> bool:
        """Whether the published result follows from published inputs alone: it does not depend
        on participant revenue, no mid-year termination, and ``EarnSaveLoss`` was published."""
        return not self.depends_on_revenue and not self.terminated and self.published is not None


@dataclass(frozen=True)
class ReplaySummary:
    """How many rows of a replay reproduce CMS.

    ``comparable`` rows are those whose result does not depend on unpublished participant
    revenue and that were not affected by a mid-year termination (see
    :attr:`ReplayRow.comparable`).
    """

    total: int
    agree: int
    comparable: int
    agree_comparable: int
    disagreeing: tuple[ReplayRow, ...]
    """Every row that does not agree, comparable or not, in replay order."""

    @property
    def match_rate(self) -> float:
        """``agree / total`` (NaN when there are no rows)."""
        return self.agree / self.total if self.total else math.nan

    @property
    def match_rate_comparable(self) -> float:
        """``agree_comparable / comparable`` (NaN when no row is comparable)."""
        return self.agree_comparable / self.comparable if self.comparable else math.nan


def agrees(computed: float, published: float | None) -> bool:
    """``|computed - published| <= max(2, 0.001 x |published|)``; False when unpublished.

    >>> agrees(2883145.53, 2883146.0), agrees(100.0, 103.0)
    (True, False)
    """
    if published is None:
        return False
    return abs(computed - published) <= max(_ABS_TOLERANCE, _REL_TOLERANCE * abs(published))


def replay_puf(path: str | Path, performance_year: int) -> list[ReplayRow]:
    """Read a results PUF and replay every ACO (see :func:`replay_rows`).

    Raises :class:`ValueError` for a file :func:`~simsettle.replay.puf.read_puf` cannot read or a
    row the replay cannot settle, and :class:`OSError` when the file cannot be opened.
    """
    return replay_rows(read_puf(path, performance_year), performance_year)


def replay_rows(rows: Sequence[PufRow], performance_year: int) -> list[ReplayRow]:
    """Settle each PUF row with its track's template and compare with ``EarnSaveLoss``.

    Raises :class:`ValueError` naming the line and ACO for a row of another performance year, a
    track without a template (the legacy Tracks 1, 2, 3 and 1+), or inputs the engine rejects.
    """
    return [_replay_one(row, performance_year) for row in rows]


def summarize(rows: Iterable[ReplayRow]) -> ReplaySummary:
    """Count the rows that agree, overall and among the comparable ones."""
    rows = list(rows)
    comparable = [r for r in rows if r.comparable]
    return ReplaySummary(
        total=len(rows),
        agree=sum(r.agree for r in rows),
        comparable=len(comparable),
        agree_comparable=sum(r.agree for r in comparable),
        disagreeing=tuple(r for r in rows if not r.agree),
    )


def write_replay_csv(rows: Iterable[ReplayRow], path: str | Path) -> None:
    """Write one CSV row per ACO (:data:`REPLAY_CSV_COLUMNS`), atomically.

    The rows go to a temporary file in the target's directory that then replaces ``path``; on
    any error the temporary file is removed and ``path`` is left as it was. Money is written to
    the cent, flags as ``true``/``false``.
    """
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(REPLAY_CSV_COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r.aco_id,
                    r.track,
                    r.n_ab,
                    "" if r.published is None else _money(r.published),
                    _money(r.computed),
                    "" if r.difference is None else _money(r.difference),
                    _flag(r.agree),
                    _flag(r.depends_on_revenue),
                    r.reason,
                ]
            )


# --------------------------------------------------------------------------------------------
# One row


def _replay_one(row: PufRow, year: int) -> ReplayRow:
    where = f"line {row.line}: ACO {row.aco_id}"
    if row.performance_year != year:
        raise ValueError(
            f"{where}: the row is for performance year {row.performance_year}, not {year}"
        )
    template = TRACK_TEMPLATES.get(row.track)
    if template is None:
        known = ", ".join(TRACK_TEMPLATES)
        raise ValueError(
            f"{where}: track {row.track!r} has no template; the replay covers the BASIC levels "
            f"and ENHANCED ({known})"
        )
    reasons: list[str] = []
    try:
        design, revenue_limited = _design(row, template, year)
        terms = compile_terms(design)
        facts = _facts(row, reasons)
        steps = settle(
            terms,
            row.benchmark,
            row.benchmark - row.expenditure,
            YearFacts(**facts, loss_relief=0.0),
        )
        capped_loss = float(steps[_SHARED] + steps[_CAP])
        relief = 0.0
        if capped_loss < 0.0:
            if terms.loss_relief >= 1.0:
                # The year's policy forgave every shared loss (COVID-19, PY2020-2022): nothing
                # is owed whatever the loss limit, so the result does not depend on revenue.
                relief = 1.0
            elif row.dis_adj != 0.0:
                # DisAdj is published in whole dollars: forgiveness within its rounding is full.
                full = abs(row.dis_adj) + _DOLLAR_ROUNDING >= abs(capped_loss)
                relief = 1.0 if full else abs(row.dis_adj) / abs(capped_loss)
            else:
                relief = terms.loss_relief  # no DisAdj published: the policy default
            steps = settle(
                terms,
                row.benchmark,
                row.benchmark - row.expenditure,
                YearFacts(**facts, loss_relief=relief),
            )
        elif row.dis_adj != 0.0:
            reasons.append("DisAdj published but the replay computes no shared loss")
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None

    if row.guardrail and float(steps[_SETTLEMENT]) >= 0.0:
        # The ACPT's loss guardrail (42 CFR 425.652(b)(5)): losses against the benchmark with
        # the ACPT (the flag), none against the two-way benchmark the file publishes: the ACO
        # neither shares losses nor savings.
        steps = np.zeros_like(steps)
    computed = float(steps[_SETTLEMENT])
    msr = float(corridor_in_force(terms.corridor, row.n_ab)[0])
    if row.msr is not None and abs(msr - row.msr) > _MSR_TOLERANCE:
        reasons.append(f"MSR {msr:.4%} differs from the published MinSavPerc {row.msr:.2%}")
    depends = revenue_limited and capped_loss < 0.0 and relief < 1.0
    if depends:
        reasons.append(REASON_REVENUE)
    if row.mid_year_termination:
        reasons.append(REASON_TERMINATION)
    published = row.published.earn_save_loss
    if published is None:
        reasons.append(REASON_UNPUBLISHED)
    return ReplayRow(
        aco_id=row.aco_id,
        track=row.track,
        n_ab=row.n_ab,
        published=published,
        computed=computed,
        difference=None if published is None else computed - published,
        agree=agrees(computed, published),
        depends_on_revenue=depends,
        reason="; ".join(reasons),
        computed_msr=msr,
        line=row.line,
    )


def _design(row: PufRow, template: str, year: int) -> tuple[AnyDesign, bool]:
    """The ACO's design from its template, and whether the template limits losses by revenue."""
    spec: dict[str, Any] = {"name": row.aco_id, "template": template, "performance_year": year}
    base = expand_template(spec, year)
    two_sided = base["kind"] == "two_sided"
    revenue_limited = two_sided and base.get("loss_cap_revenue") is not None
    if two_sided:
        if revenue_limited:
            spec["loss_cap_revenue"] = None  # participant revenue is not published
        elected = None if row.msr is None else round(row.msr, 4)
        if elected in FIXED_MSR_OPTIONS and row.n_ab >= _FIXED_ELECTION_MIN_MEMBERS:
            spec["min_savings_rate"] = elected  # symmetric: the MLR follows
        else:
            spec["msr_table"] = "mssp"
    if row.reduced_ss:
        spec["below_msr_share"] = 0.5  # 42 CFR 425.605(h)
        spec["below_msr_min_members"] = 5000
    expanded = expand_template(spec, year)
    design = DESIGN_KINDS[expanded["kind"]](**expanded)
    return design, revenue_limited


def _facts(row: PufRow, reasons: list[str]) -> dict[str, Any]:
    """YearFacts fields (all but loss relief) from the row's inputs."""
    met_alternative: bool | None = row.met_alt_qps
    if met_alternative is None and row.met_qps is False:
        met_alternative = False
    if row.quality_score is None:
        reasons.append("QualScore not published: the template's score is used")
    if row.met_qps is None:
        reasons.append("Met_QPS not published: the template's quality standard decides")
    return {
        "members": row.n_ab,
        "quality_score": row.quality_score,
        "met_standard": row.met_qps,
        "met_alternative": met_alternative,
    }


def _money(x: float) -> str:
    return f"{x:.2f}"


def _flag(x: bool) -> str:
    return "true" if x else "false"
