"""Contract designs: how a simulated performance year is settled.

A design is a tagged union on ``kind``. ``upside_only`` shares savings only; ``two_sided`` also
shares losses. Both may carry an individual (specific) stop-loss. Every rate is a fraction of the
benchmark (0.02 means 2%); money is in USD.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from simsettle.scenario._base import SettleModel

__all__ = ["Design", "StopLoss", "TwoSided", "UpsideOnly"]

Rate = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
DesignName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$",
        description="Unique name of the design; becomes a label of the `design` dimension.",
    ),
]


class StopLoss(SettleModel):
    """Individual (specific) stop-loss built into the contract.

    For every member and year, cost above ``attachment`` is the excess; the stop-loss reimburses
    ``(1 - coinsurance)`` of it, and that recovery is removed from the spend the design settles on.
    The premium, ``(1 + premium_loading)`` times the expected recovery of the year (the Monte Carlo
    mean over all trials), is added to it.
    """

    attachment: float = Field(
        gt=0.0,
        allow_inf_nan=False,
        description="Attachment point: annual allowed cost per member above which the stop-loss "
        "responds, in USD per member per year.",
    )
    coinsurance: Rate = Field(
        default=0.0,
        description="Share of the excess above the attachment that the provider still pays "
        "(fraction, 0 to 1); the stop-loss reimburses the rest.",
    )
    premium_loading: float = Field(
        default=0.0,
        ge=0.0,
        le=10.0,
        allow_inf_nan=False,
        description="Premium loading over expected recoveries (fraction): premium = "
        "(1 + premium_loading) x expected recovery, in USD per year.",
    )


class _DesignBase(SettleModel):
    name: DesignName
    min_savings_rate: Rate = Field(
        default=0.0,
        description="Minimum savings rate (MSR): savings below this fraction of the benchmark are "
        "not shared (fraction of benchmark, 0 to 1).",
    )
    shared_savings_rate: Rate = Field(
        description="Share of savings paid to the provider once the MSR is met (fraction, 0 to 1)."
    )
    savings_cap: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Cap on shared savings as a fraction of the benchmark (fraction, 0 to 1); "
        "omit for no cap.",
    )
    sharing_basis: Literal["first_dollar", "above_threshold"] = Field(
        default="first_dollar",
        description="`first_dollar`: once the MSR (MLR) is met the sharing rate applies to all "
        "savings (losses), as in MSSP; `above_threshold`: only to the part beyond the MSR (MLR).",
    )
    stop_loss: StopLoss | None = Field(
        default=None, description="Optional individual stop-loss (see StopLoss)."
    )


class UpsideOnly(_DesignBase):
    """One-sided shared savings: the provider never pays losses."""

    kind: Literal["upside_only"] = Field(description="Design type tag: `upside_only`.")


class TwoSided(_DesignBase):
    """Two-sided shared savings and losses, each behind its own corridor and cap."""

    kind: Literal["two_sided"] = Field(description="Design type tag: `two_sided`.")
    min_loss_rate: Rate | None = Field(
        default=None,
        description="Minimum loss rate (MLR): losses below this fraction of the benchmark are not "
        "shared (fraction, 0 to 1); omit for the same value as `min_savings_rate` (symmetric).",
    )
    shared_loss_rate: Rate = Field(
        description="Share of losses the provider pays back once the MLR is met (fraction, 0 to 1)."
    )
    loss_cap: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        allow_inf_nan=False,
        description="Cap on shared losses as a fraction of the benchmark (fraction, 0 to 1); "
        "omit for no cap.",
    )

    @property
    def effective_min_loss_rate(self) -> float:
        """The MLR in force: ``min_loss_rate``, or ``min_savings_rate`` when it was omitted."""
        return self.min_savings_rate if self.min_loss_rate is None else self.min_loss_rate


Design = Annotated[UpsideOnly | TwoSided, Field(discriminator="kind")]
