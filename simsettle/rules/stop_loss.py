"""Individual (specific) stop-loss: recoveries from the kernel's excess, and the premium.

Conservation: the recovery is ``(1 - coinsurance)`` of an excess that is a part of spend (each
member's cost above the attachment, at most the cost itself), so ``0 <= recovery <= spend`` and
the provider retains ``spend - recovery >= 0``; ``recovery + retained == spend`` within one
rounding (``eps x spend``). Inputs are checked finite (and the excess non-negative) with the
first bad element named; the premium's mean over ``n`` trials is a float64 sum of non-negative
recoveries, relative error at most ``n x eps`` (ample for ``n < 2**40``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle.rules._checks import first_bad, require_finite
from simsettle.scenario.contracts import AggregateStopLoss, StopLoss

__all__ = ["aggregate_stop_loss_recovery", "stop_loss_premium", "stop_loss_recovery"]

F8 = npt.NDArray[np.float64]


def stop_loss_recovery(
    terms: StopLoss,
    excess: npt.ArrayLike,
    upper_excess: npt.ArrayLike | None = None,
    *,
    neutrality: bool = True,
) -> F8:
    """Recovery (USD) = (1 - coinsurance) x the summed member excess over the attachment; with
    an upper attachment, (1 - coinsurance) x the excess between the two plus (1 -
    upper_coinsurance) x ``upper_excess``, the excess over the upper one; times the
    budget-neutrality factor (``neutrality``; the premium is priced without it)."""
    x = np.asarray(excess, dtype=np.float64)
    good = np.isfinite(x) & (x >= 0)
    if not np.all(good):
        raise ValueError(f"stop-loss excess must be finite and non-negative; {first_bad(x, ~good)}")
    if terms.upper_attachment is None:
        rec = (1.0 - terms.coinsurance) * x
    else:
        if upper_excess is None:
            raise ValueError("a stop-loss with an upper attachment needs the excess over it")
        u = np.asarray(upper_excess, dtype=np.float64)
        good = np.isfinite(u) & (u >= 0) & (u <= x * (1.0 + 4.0 * np.finfo(np.float64).eps))
        if not np.all(good):
            raise ValueError(
                "the excess over the upper attachment must be finite, non-negative and at most "
                f"the excess over the attachment; {first_bad(u, ~good)}"
            )
        between = np.maximum(x - u, 0.0)
        rec = (1.0 - terms.coinsurance) * between + (1.0 - terms.upper_coinsurance) * u
    if neutrality and terms.budget_neutrality_factor != 1.0:
        rec = terms.budget_neutrality_factor * rec
    return rec


def aggregate_stop_loss_recovery(
    terms: AggregateStopLoss, spend: npt.ArrayLike, benchmark: npt.ArrayLike
) -> F8:
    """Recovery (USD) = (1 - coinsurance) x ``spend`` above ``attachment x benchmark``;
    ``spend`` is the claims net of individual recoveries (the design gate passes them)."""
    s = np.asarray(spend, dtype=np.float64)
    b = np.asarray(benchmark, dtype=np.float64)
    require_finite(s, "aggregate stop-loss: spend")
    require_finite(b, "aggregate stop-loss: benchmark")
    return (1.0 - terms.coinsurance) * np.maximum(s - terms.attachment * b, 0.0)


def stop_loss_premium(
    terms: StopLoss | AggregateStopLoss,
    recovery: npt.ArrayLike,
    *,
    axis: int = 0,
    member_months: npt.ArrayLike | None = None,
) -> F8:
    """Premium (USD), the shape of ``recovery``.

    - ``premium_pmpm`` (a quoted price): ``premium_pmpm x member_months`` of each trial-year;
    - ``premium_annual``: the same amount every trial-year;
    - else ``(1 + loading) x`` the expected recovery, the mean over trials along ``axis``: it
      is estimated from all simulated trials of the same year, so every trial of a year pays
      the same premium.
    """
    r = np.asarray(recovery, dtype=np.float64)
    require_finite(r, "stop-loss recovery")
    if terms.premium_pmpm is not None:
        if member_months is None:
            raise ValueError("a premium per member month needs the member months")
        mm = np.asarray(member_months, dtype=np.float64)
        require_finite(mm, "stop-loss member months")
        return np.broadcast_to(terms.premium_pmpm * mm, r.shape).copy()
    if terms.premium_annual is not None:
        return np.full(r.shape, terms.premium_annual)
    expected = r.mean(axis=axis, keepdims=True)
    return np.broadcast_to((1.0 + terms.premium_loading) * expected, r.shape).copy()
