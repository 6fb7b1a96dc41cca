"""Individual (specific) stop-loss: recoveries from the kernel's excess, and the premium."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle.scenario.contracts import AggregateStopLoss, StopLoss

__all__ = ["aggregate_stop_loss_recovery", "stop_loss_premium", "stop_loss_recovery"]

F8 = npt.NDArray[np.float64]


def stop_loss_recovery(terms: StopLoss, excess: npt.ArrayLike) -> F8:
    """Recovery (USD) = (1 - coinsurance) x the summed member excess over the attachment."""
    x = np.asarray(excess, dtype=np.float64)
    if not np.all(np.isfinite(x) & (x >= 0)):
        raise ValueError("stop-loss excess must be finite and non-negative")
    return (1.0 - terms.coinsurance) * x


def aggregate_stop_loss_recovery(
    terms: AggregateStopLoss, spend: npt.ArrayLike, benchmark: npt.ArrayLike
) -> F8:
    """Recovery (USD) = (1 - coinsurance) x spend above ``attachment x benchmark``."""
    s = np.asarray(spend, dtype=np.float64)
    b = np.asarray(benchmark, dtype=np.float64)
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(b))):
        raise ValueError("spend and benchmark must be finite")
    return (1.0 - terms.coinsurance) * np.maximum(s - terms.attachment * b, 0.0)


def stop_loss_premium(
    terms: StopLoss | AggregateStopLoss, recovery: npt.ArrayLike, *, axis: int = 0
) -> F8:
    """Premium (USD) = (1 + loading) x expected recovery, the mean over trials along ``axis``.

    The expected recovery is estimated from all simulated trials of the same year, so every trial
    of a year pays the same premium.
    """
    r = np.asarray(recovery, dtype=np.float64)
    expected = r.mean(axis=axis, keepdims=True)
    return np.broadcast_to((1.0 + terms.premium_loading) * expected, r.shape).copy()
