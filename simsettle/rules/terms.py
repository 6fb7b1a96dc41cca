"""Contract designs compiled into one complete record before any kernel runs.

:func:`compile_terms` turns a validated design of any kind into :class:`Terms`: everything the
settlement needs and nothing it has to look up again -- the corridor and where its values come
from, the banded sharing of savings and losses, sequestration, the caps, the quality rule and
withhold, loss relief, the settlement benchmark (discount, capitation) and the stop-loss terms.
The settlement gate (:func:`simsettle.rules.settle.settle`), the run
(:mod:`simsettle.rules.designs`), the results' design coordinates, the MSSP replay, the reference
twin and the report all read this record; none of them asks what kind of design it came from.

Canonical forms keep the kernel free of branches on the kind: a flat sharing rate is one band
``[0, inf)``; a design that shares no losses has one loss band at 0%, an infinite minimum loss
rate and a loss cap of 0; an absent cap is ``None`` here and infinite in the gate. Where the
corridor's values come from is an :class:`~enum.IntEnum` (:class:`CorridorSource`), and
:func:`corridor_in_force` is the one place that works out the MSR and MLR in force.

Each design kind has one compiler in :data:`COMPILERS`, keyed by the model's ``kind`` tag; a new
kind adds its model to :mod:`simsettle.scenario.contracts` and its compiler here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from simsettle.rules.msr import mssp_msr
from simsettle.scenario.contracts import (
    AggregateStopLoss,
    AnyDesign,
    Band,
    EpisodeReconciliation,
    StopLoss,
    TwoSided,
    UpsideOnly,
)

__all__ = [
    "COMPILERS",
    "Corridor",
    "CorridorSource",
    "LossRate",
    "QualityRule",
    "Terms",
    "as_terms",
    "compile_bands",
    "compile_terms",
    "corridor_in_force",
]

F8 = npt.NDArray[np.float64]


def compile_bands(bands: tuple[Band, ...]) -> tuple[F8, F8, F8]:
    """``(lo, hi, share)`` arrays: band k covers rates ``[lo[k], hi[k])``, the last to inf."""
    lo, hi, share = [], [], []
    previous = 0.0
    for band in bands:
        upper = math.inf if band.up_to is None else band.up_to
        lo.append(previous)
        hi.append(upper)
        share.append(band.share)
        previous = upper
    if hi and not math.isinf(hi[-1]):
        # Beyond the last band's end nothing more is shared.
        lo.append(hi[-1])
        hi.append(math.inf)
        share.append(0.0)
    return (
        np.array(lo, dtype=np.float64),
        np.array(hi, dtype=np.float64),
        np.array(share, dtype=np.float64),
    )


class CorridorSource(IntEnum):
    """Where the minimum savings (loss) rate of each settled year comes from."""

    #: ``min_savings_rate`` and ``min_loss_rate`` as written.
    FIXED = 0
    #: MSSP's size-based table on the year's attributed members (SPEC-v11 Table 5), MLR = MSR.
    MSSP_TABLE = 1
    #: The fixed rates, but the MSSP table in a year with fewer than ``table_below`` members
    #: (MSSP two-sided fixed MSR/MLR, SPEC-v11 section 4.2.3).
    MSSP_TABLE_BELOW = 2


@dataclass(frozen=True)
class Corridor:
    """The minimum savings / loss rate corridor and the sharing of savings below it."""

    source: CorridorSource
    min_savings_rate: float  # fraction of the benchmark
    min_loss_rate: float  # fraction of the benchmark; inf when no losses are shared
    table_below: int  # members; the threshold of MSSP_TABLE_BELOW (0 otherwise)
    below_msr_share: float  # factor on the sharing rate for savings below the MSR
    below_msr_min_members: int  # members needed for below_msr_share to apply

    @property
    def shares_losses(self) -> bool:
        """Whether losses can reach the corridor at all."""
        return not math.isinf(self.min_loss_rate)


@dataclass(frozen=True)
class LossRate:
    """Shared loss rate from the quality score: ``clip(1 - slope x score, floor, ceiling)``,
    ``failed`` when neither standard is met."""

    slope: float
    floor: float
    ceiling: float
    failed: float


@dataclass(frozen=True)
class QualityRule:
    """How the quality score acts on a settled year.

    The savings factor is 1 when the score meets ``standard``, the score itself below it when
    ``scale_below`` (the alternative standard), else 0; it is then multiplied by
    ``(1 - score_weight) + score_weight x score`` (``score_weight`` 1: the rate times the score,
    MSSP before PY2021; 0.1: at most a 10% reduction, CMS episode models). ``loss_rate`` sets the
    loss factor; ``withhold`` (fraction of the benchmark) is withheld and earned back in
    proportion to the score.
    """

    score: float
    standard: float
    scale_below: bool
    score_weight: float
    loss_rate: LossRate | None
    withhold: float


@dataclass(frozen=True)
class Terms:
    """The compiled, complete terms of one design: what the settlement of a year needs.

    Rates and caps are fractions (of the benchmark, or of participant revenue for the
    ``*_revenue`` caps), ``None`` for no cap; money is USD.
    """

    name: str
    kind: str  # the design's kind tag, for labels only: no rule reads it
    template: str  # template the design was expanded from, "" if none
    sharing: str  # "flat" (one rate as written) or "banded"
    sav_lo: F8
    sav_hi: F8
    sav_share: F8
    loss_lo: F8
    loss_hi: F8
    loss_share: F8
    first_dollar: bool
    sequestration: float
    corridor: Corridor
    quality: QualityRule | None
    savings_cap: float | None
    savings_cap_revenue: float | None
    loss_cap: float | None
    loss_cap_revenue: float | None
    loss_relief: float  # share of capped shared losses forgiven
    discount: float  # taken off the benchmark before savings are measured
    capitation_pmpm: float | None  # a fixed budget replacing the benchmark (USD PMPM, year 1)
    stop_loss: StopLoss | None
    aggregate_stop_loss: AggregateStopLoss | None

    @property
    def shares_losses(self) -> bool:
        """Whether the design can owe shared losses."""
        return self.corridor.shares_losses

    def coords(self) -> dict[str, Any]:
        """The design's parameters as scalars, one per design coordinate of the results.

        NaN means "not set" (no cap, no stop-loss, a corridor set by the MSSP table); a design
        that shares no losses has shared loss rate and loss cap 0.
        """
        table = self.corridor.source == CorridorSource.MSSP_TABLE
        quality_loss_rate = self.quality is not None and self.quality.loss_rate is not None
        sl = self.stop_loss
        mlr = self.corridor.min_loss_rate
        return {
            "kind": self.kind,
            "template": self.template,
            "sharing": self.sharing,
            "min_savings_rate": math.nan if table else self.corridor.min_savings_rate,
            "shared_savings_rate": float(self.sav_share[0]),
            "savings_cap": _opt(self.savings_cap),
            "savings_cap_revenue": _opt(self.savings_cap_revenue),
            "sharing_basis": "first_dollar" if self.first_dollar else "above_threshold",
            "sequestration": self.sequestration,
            "discount": self.discount,
            "assumed_quality_score": math.nan if self.quality is None else self.quality.score,
            "stop_loss_attachment": _opt(sl.attachment if sl else None),
            "stop_loss_coinsurance": _opt(sl.coinsurance if sl else None),
            "stop_loss_premium_loading": _opt(
                sl.premium_loading if sl and _pricing(sl) == "loading" else None
            ),
            "stop_loss_pricing": _pricing(sl),
            "stop_loss_borne_by": sl.borne_by if sl else "",
            "aggregate_stop_loss_attachment": _opt(
                self.aggregate_stop_loss.attachment if self.aggregate_stop_loss else None
            ),
            "aggregate_stop_loss_pricing": _pricing(self.aggregate_stop_loss),
            "aggregate_stop_loss_borne_by": (
                self.aggregate_stop_loss.borne_by if self.aggregate_stop_loss else ""
            ),
            "min_loss_rate": math.nan if table or math.isinf(mlr) else mlr,
            "shared_loss_rate": math.nan if quality_loss_rate else float(self.loss_share[0]),
            "loss_cap": _opt(self.loss_cap),
            "loss_cap_revenue": _opt(self.loss_cap_revenue),
        }


def _pricing(layer: StopLoss | AggregateStopLoss | None) -> str:
    """How a stop-loss layer's premium is set: loading, pmpm or annual ('' for none)."""
    if layer is None:
        return ""
    if layer.premium_pmpm is not None:
        return "pmpm"
    if layer.premium_annual is not None:
        return "annual"
    return "loading"


def _opt(v: float | None) -> float:
    return math.nan if v is None else float(v)


def corridor_in_force(
    corridor: Corridor, members: npt.ArrayLike | None, shape: tuple[int, ...] = ()
) -> tuple[F8, F8]:
    """The MSR and MLR in force (fractions) of each settled year.

    ``members`` are the attributed members of each year; a fixed corridor does not need them
    and gives arrays of ``shape`` (or of the members' shape). This is the one definition of the
    corridor in force: the settlement gate, the reference twin and the MSSP replay call it.
    """
    source = corridor.source
    if source == CorridorSource.FIXED or members is None:
        if source != CorridorSource.FIXED:
            raise ValueError(
                "an MSSP-table corridor (msr_table, variable_msr_below) needs the number of "
                "attributed members (YearFacts.members)"
            )
        shape = shape if members is None else np.shape(members)
        return (
            np.full(shape, corridor.min_savings_rate),
            np.full(shape, corridor.min_loss_rate),
        )
    n = np.asarray(members, dtype=np.float64)
    table = mssp_msr(n)
    if source == CorridorSource.MSSP_TABLE:
        msr = table.copy()
        mlr = table.copy()
    else:
        small = n < corridor.table_below
        msr = np.where(small, table, corridor.min_savings_rate)
        mlr = np.where(small, table, corridor.min_loss_rate)
    if not corridor.shares_losses:
        mlr = np.full(n.shape, math.inf)
    return msr, mlr


def _quality(design: UpsideOnly | TwoSided) -> QualityRule | None:
    q = design.quality
    if q is None:
        return None
    lr = q.loss_rate
    return QualityRule(
        score=q.score,
        standard=q.standard,
        scale_below=q.below_standard == "scale_by_score",
        score_weight=1.0 if q.scale_savings_rate else 0.0,
        loss_rate=None if lr is None else LossRate(lr.slope, lr.floor, lr.ceiling, lr.failed),
        withhold=q.withhold,
    )


def _corridor(design: UpsideOnly | TwoSided, min_loss_rate: float) -> Corridor:
    if design.msr_table == "mssp":
        source = CorridorSource.MSSP_TABLE
    elif design.variable_msr_below is not None:
        source = CorridorSource.MSSP_TABLE_BELOW
    else:
        source = CorridorSource.FIXED
    return Corridor(
        source=source,
        min_savings_rate=design.min_savings_rate,
        min_loss_rate=min_loss_rate,
        table_below=design.variable_msr_below or 0,
        below_msr_share=design.below_msr_share,
        below_msr_min_members=design.below_msr_min_members,
    )


def _shared_terms(design: UpsideOnly | TwoSided) -> dict[str, Any]:
    """The fields every MSSP-style design (upside-only or two-sided) fills the same way."""
    sav_lo, sav_hi, sav_share = compile_bands(design.savings_bands_effective)
    return {
        "name": design.name,
        "kind": design.kind,
        "template": design.template or "",
        "sharing": "flat" if design.savings_bands is None else "banded",
        "sav_lo": sav_lo,
        "sav_hi": sav_hi,
        "sav_share": sav_share,
        "first_dollar": design.sharing_basis == "first_dollar",
        "sequestration": float(design.sequestration),
        "quality": _quality(design),
        "savings_cap": design.savings_cap,
        "savings_cap_revenue": design.savings_cap_revenue,
        "discount": design.discount,
        "stop_loss": design.stop_loss,
        "aggregate_stop_loss": design.aggregate_stop_loss,
    }


def _compile_upside_only(design: UpsideOnly) -> Terms:
    loss_lo, loss_hi, loss_share = np.zeros(1), np.full(1, math.inf), np.zeros(1)
    return Terms(
        **_shared_terms(design),
        loss_lo=loss_lo,
        loss_hi=loss_hi,
        loss_share=loss_share,
        corridor=_corridor(design, math.inf),
        loss_cap=0.0,
        loss_cap_revenue=None,
        loss_relief=0.0,
        capitation_pmpm=None,
    )


def _compile_two_sided(design: TwoSided) -> Terms:
    loss_lo, loss_hi, loss_share = compile_bands(design.loss_bands_effective)
    return Terms(
        **_shared_terms(design),
        loss_lo=loss_lo,
        loss_hi=loss_hi,
        loss_share=loss_share,
        corridor=_corridor(design, design.effective_min_loss_rate),
        loss_cap=design.loss_cap,
        loss_cap_revenue=design.loss_cap_revenue,
        loss_relief=design.loss_reduction,
        capitation_pmpm=design.capitation_pmpm,
    )


def _compile_episode_reconciliation(design: EpisodeReconciliation) -> Terms:
    """Episode reconciliation as canonical terms: one band at 100% each way from the first
    dollar, no corridor, the CQS adjustment as the quality rule and the stop-gain / stop-loss
    limits as the caps (applied after the adjustment, as in 42 CFR 512.550).

    The CQS reduces a gain by ``g x (1 - CQS)``: a savings factor ``(1 - g) + g x CQS``, the
    quality rule's score weight ``g`` with a standard of 0 (always met). It reduces a repayment
    by ``l x CQS``: the loss factor ``clip(1 - l x CQS, 1 - l, 1)``.
    """
    losses = design.stop_loss_limit is not None
    flat = compile_bands((Band(share=1.0),))
    no_loss = (np.zeros(1), np.full(1, math.inf), np.zeros(1))
    loss_lo, loss_hi, loss_share = flat if losses else no_loss
    reduction = design.quality_reduction_loss
    return Terms(
        name=design.name,
        kind=design.kind,
        template=design.template or "",
        sharing="flat",
        sav_lo=flat[0],
        sav_hi=flat[1],
        sav_share=flat[2],
        loss_lo=loss_lo,
        loss_hi=loss_hi,
        loss_share=loss_share,
        first_dollar=True,
        sequestration=0.0,
        corridor=Corridor(
            source=CorridorSource.FIXED,
            min_savings_rate=0.0,
            min_loss_rate=0.0 if losses else math.inf,
            table_below=0,
            below_msr_share=0.0,
            below_msr_min_members=0,
        ),
        quality=QualityRule(
            score=design.quality_score,
            standard=0.0,
            scale_below=False,
            score_weight=design.quality_reduction_gain,
            loss_rate=LossRate(reduction, 1.0 - reduction, 1.0, 1.0) if reduction > 0 else None,
            withhold=0.0,
        ),
        savings_cap=design.stop_gain,
        savings_cap_revenue=None,
        loss_cap=design.stop_loss_limit if losses else 0.0,
        loss_cap_revenue=None,
        loss_relief=0.0,
        discount=design.discount,
        capitation_pmpm=None,
        stop_loss=None,
        aggregate_stop_loss=None,
    )


#: One compiler per design kind, keyed by the model's ``kind`` tag.
COMPILERS: dict[str, Callable[[Any], Terms]] = {
    "upside_only": _compile_upside_only,
    "two_sided": _compile_two_sided,
    "episode_reconciliation": _compile_episode_reconciliation,
}


def compile_terms(design: AnyDesign) -> Terms:
    """The compiled :class:`Terms` of a validated design of any kind."""
    return COMPILERS[design.kind](design)


def as_terms(contract: Terms | AnyDesign) -> Terms:
    """``contract`` itself if it is compiled already, else its compiled terms."""
    return contract if isinstance(contract, Terms) else compile_terms(contract)
