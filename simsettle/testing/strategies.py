"""Hypothesis strategies for contract designs and settlement inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from simsettle.scenario.contracts import Band, StopLoss, TwoSided, UpsideOnly

__all__ = [
    "bands",
    "designs",
    "qualities",
    "stop_losses",
    "two_sided_designs",
    "upside_only_designs",
]

rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
small_rates = st.floats(min_value=0.0, max_value=0.2, allow_nan=False)
caps = st.none() | st.floats(min_value=0.0, max_value=0.5, allow_nan=False)
bases = st.sampled_from(["first_dollar", "above_threshold"])


@st.composite
def bands(draw: st.DrawFn, *, max_bands: int = 5) -> tuple[Band, ...]:
    """Valid banded corridors: increasing ends, the last open or closed."""
    n = draw(st.integers(1, max_bands))
    widths = draw(st.lists(st.floats(0.005, 0.3, allow_nan=False), min_size=n, max_size=n))
    shares = draw(st.lists(rates, min_size=n, max_size=n))
    ends: list[float | None] = []
    total = 0.0
    for w in widths:
        total += w
        ends.append(round(total, 6))
    if draw(st.booleans()):
        ends[-1] = None
    out = []
    previous = 0.0
    for end, share in zip(ends, shares, strict=True):
        if end is not None and end <= previous:  # rounding collapsed a band
            continue
        out.append(Band(up_to=end, share=share))
        previous = end if end is not None else previous
    return tuple(out) if out else (Band(share=shares[0]),)


@st.composite
def qualities(draw: st.DrawFn, *, losses: bool = False) -> dict[str, Any]:
    """A quality block as a mapping (score, standard, regime, optional loss rate, withhold)."""
    q: dict[str, Any] = {
        "score": draw(rates),
        "standard": draw(rates),
        "below_standard": draw(st.sampled_from(["no_savings", "scale_by_score"])),
        "scale_savings_rate": draw(st.booleans()),
        "withhold": draw(st.sampled_from([0.0, 0.0, 0.02, 0.05])),
    }
    if losses and draw(st.booleans()):
        floor = draw(st.floats(0.0, 0.6, allow_nan=False))
        q["loss_rate"] = {
            "slope": draw(rates),
            "floor": floor,
            "ceiling": draw(st.floats(floor, 1.0, allow_nan=False)),
            "failed": draw(rates),
        }
    return q


def _common(draw: st.DrawFn, *, rich: bool, losses: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": "d",
        "min_savings_rate": draw(small_rates),
        "savings_cap": draw(caps),
        "sharing_basis": draw(bases),
    }
    if rich and draw(st.booleans()):
        d["savings_bands"] = draw(bands())
    else:
        d["shared_savings_rate"] = draw(rates)
    if rich:
        d["sequestration"] = draw(st.sampled_from([0.0, 0.02]))
        if draw(st.booleans()):
            d["quality"] = draw(qualities(losses=losses))
        if d["sharing_basis"] == "first_dollar" and draw(st.booleans()):
            d["below_msr_share"] = draw(rates)
    return d


@st.composite
def upside_only_designs(draw: st.DrawFn, *, rich: bool = True) -> UpsideOnly:
    """Valid one-sided designs; ``rich`` adds bands, quality, sequestration, below-MSR sharing."""
    return UpsideOnly(kind="upside_only", **_common(draw, rich=rich, losses=False))


@st.composite
def two_sided_designs(draw: st.DrawFn, *, symmetric: bool = False, rich: bool = True) -> TwoSided:
    """Valid two-sided designs; ``symmetric=True`` gives a design with f(-x) = -f(x)."""
    if symmetric:
        d = _common(draw, rich=False, losses=True)
        if rich and draw(st.booleans()):
            d.pop("shared_savings_rate")
            d["savings_bands"] = d["loss_bands"] = draw(bands())
        else:
            d["shared_loss_rate"] = d["shared_savings_rate"]
        d["loss_cap"] = d["savings_cap"]
        return TwoSided(kind="two_sided", **d)
    d = _common(draw, rich=rich, losses=True)
    if "quality" not in d or "loss_rate" not in d["quality"]:
        if rich and draw(st.booleans()):
            d["loss_bands"] = draw(bands())
        else:
            d["shared_loss_rate"] = draw(rates)
    d["loss_cap"] = draw(caps)
    d["min_loss_rate"] = draw(st.none() | small_rates)
    if rich:
        d["loss_reduction"] = draw(st.sampled_from([0.0, 5 / 12, 1.0]))
    return TwoSided(kind="two_sided", **d)


def designs(*, rich: bool = True) -> st.SearchStrategy[UpsideOnly | TwoSided]:
    """Any valid design."""
    return st.one_of(upside_only_designs(rich=rich), two_sided_designs(rich=rich))


@st.composite
def stop_losses(draw: st.DrawFn) -> StopLoss:
    """Valid individual stop-loss terms."""
    return StopLoss(
        attachment=draw(st.floats(min_value=1_000.0, max_value=2e6, allow_nan=False)),
        coinsurance=draw(rates),
        premium_loading=draw(st.floats(min_value=0.0, max_value=1.0, allow_nan=False)),
    )
