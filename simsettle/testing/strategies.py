"""Hypothesis strategies for contract designs and settlement inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simsettle.scenario.contracts import StopLoss, TwoSided, UpsideOnly

__all__ = ["designs", "stop_losses", "two_sided_designs", "upside_only_designs"]

rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
small_rates = st.floats(min_value=0.0, max_value=0.2, allow_nan=False)
caps = st.none() | st.floats(min_value=0.0, max_value=0.5, allow_nan=False)
bases = st.sampled_from(["first_dollar", "above_threshold"])


def _common() -> dict[str, Any]:
    return {
        "name": st.just("d"),
        "min_savings_rate": small_rates,
        "shared_savings_rate": rates,
        "savings_cap": caps,
        "sharing_basis": bases,
    }


@st.composite
def upside_only_designs(draw: st.DrawFn) -> UpsideOnly:
    """Valid one-sided designs."""
    fields = {k: draw(v) for k, v in _common().items()}
    return UpsideOnly(kind="upside_only", **fields)


@st.composite
def two_sided_designs(draw: st.DrawFn, *, symmetric: bool | None = None) -> TwoSided:
    """Valid two-sided designs; ``symmetric=True`` gives MLR = MSR, rates and caps equal."""
    fields = {k: draw(v) for k, v in _common().items()}
    if symmetric:
        return TwoSided(
            kind="two_sided",
            min_loss_rate=None,
            shared_loss_rate=fields["shared_savings_rate"],
            loss_cap=fields["savings_cap"],
            **fields,
        )
    slr = draw(rates)
    loss_cap = draw(caps) if slr > 0 else None
    mlr = draw(st.none() | small_rates)
    return TwoSided(
        kind="two_sided", min_loss_rate=mlr, shared_loss_rate=slr, loss_cap=loss_cap, **fields
    )


def designs() -> st.SearchStrategy[UpsideOnly | TwoSided]:
    """Any valid design."""
    return st.one_of(upside_only_designs(), two_sided_designs())


@st.composite
def stop_losses(draw: st.DrawFn) -> StopLoss:
    """Valid individual stop-loss terms."""
    return StopLoss(
        attachment=draw(st.floats(min_value=1_000.0, max_value=2e6, allow_nan=False)),
        coinsurance=draw(rates),
        premium_loading=draw(st.floats(min_value=0.0, max_value=1.0, allow_nan=False)),
    )
