"""Who the provider knows and who the payer counts: closed forms of the roster model.

A member's roster status (payer-only: attributed by the payer, unknown to the provider;
provider-only: the provider's, outside the settlement) is drawn when it arrives and kept for its
stay (:func:`simsettle._kernels.member.roster`): the member has the status when ``S = c z +
sqrt(1 - c^2) n > t``, ``z`` its latent log risk then, ``n`` a standard normal of its own, ``c``
the status's correlation (``attribution.payer_only_correlation`` or
``provider_only_correlation``) and ``t = Phi^-1(1 - share)``. A member ``k`` years later has
log risk ``z_k`` correlated ``rho^k`` with ``z`` (``population.risk_persistence``), so its status
is correlated ``r = c rho^k`` with its current log risk.

Its true risk (the multiplier of its expected cost) is ``R = exp(s z - s^2 / 2)``, ``s =
population.risk_sigma``. Weighting by ``R`` tilts the standard normal ``z`` to ``N(s, 1)``
(``exp(s z - s^2 / 2) phi(z) = phi(z - s)``) and, given ``z``, leaves ``S`` as it was; so under
the tilt ``S`` is ``N(r s, 1)``, correlated ``r`` with ``z``. Hence, each derived here by hand and
checked against the simulation in ``tests/test_rosters.py``:

* The share of expected spend carried by members without the status (for provider-only: the
  spend in the settlement) is ``P(S <= t)`` under the tilt, ``Phi(t - r s)``
  (:func:`spend_share_without`); ``1 - share`` when ``r = 0``.
* A care-management programme enrols members whose log risk is above ``a = Phi^-1(1 -
  high_risk_share)`` and reaches only those the provider knows. The share of the avoided cost of
  a programme that knew everyone is ``(1 - leakage) P(S <= t, z > a) / P(z > a)`` under the
  tilt, ``(1 - leakage) (Phi(t') - Phi2(t', a'; r)) / (1 - Phi(a'))`` with ``t' = t - r s``, ``a'
  = a - s`` and ``Phi2`` the standard bivariate normal distribution function
  (:func:`programme_reach`); ``(1 - leakage) (1 - payer_only_share)`` when ``r = 0``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from scipy import integrate

__all__ = ["programme_reach", "spend_share_without"]

_N = NormalDist()


def _threshold(share: float) -> float:
    """``Phi^-1(1 - share)``, +-inf at the ends."""
    if share <= 0.0:
        return math.inf
    if share >= 1.0:
        return -math.inf
    return -_N.inv_cdf(share)


def _below_above(t: float, a: float, r: float) -> float:
    """``P(S <= t, Z > a)`` for standard normals ``S``, ``Z`` correlated ``r``.

    ``integral over z > a of phi(z) Phi((t - r z) / sqrt(1 - r^2))``, by quadrature; at ``|r| =
    1`` (``S = +-Z``) directly.
    """
    if math.isinf(t):
        return 0.0 if t < 0 else 1.0 - _N.cdf(a) if math.isfinite(a) else float(a < 0)
    if math.isinf(a):
        return 0.0 if a > 0 else _N.cdf(t)
    if r >= 1.0:
        return max(_N.cdf(t) - _N.cdf(a), 0.0)
    if r <= -1.0:
        return 1.0 - _N.cdf(max(a, -t))
    scale = math.sqrt(1.0 - r * r)
    value, _ = integrate.quad(
        lambda z: _N.pdf(z) * _N.cdf((t - r * z) / scale), a, math.inf, epsabs=1e-13
    )
    return float(value)


def _check(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def spend_share_without(
    share: float, correlation: float, risk_sigma: float, *, tenure_correlation: float = 1.0
) -> float:
    """The share of expected spend of the members without a roster status held by ``share`` of
    them, correlated ``correlation`` with the log risk on arrival: ``Phi(t - r s)``.

    ``tenure_correlation`` is the correlation of the members' log risk now with their log risk on
    arrival (1 in their first year, ``risk_persistence^k`` ``k`` years on); ``r = correlation x
    tenure_correlation``. For provider-only members, the share of the provider's expected spend
    that the settlement counts.
    """
    _check("share", share, 0.0, 1.0)
    _check("correlation", correlation, -1.0, 1.0)
    _check("tenure_correlation", tenure_correlation, -1.0, 1.0)
    if risk_sigma < 0.0:
        raise ValueError(f"risk_sigma must be non-negative, got {risk_sigma}")
    t = _threshold(share)
    if math.isinf(t):
        return 0.0 if t < 0 else 1.0
    return _N.cdf(t - correlation * tenure_correlation * risk_sigma)


def programme_reach(
    payer_only_share: float,
    correlation: float,
    high_risk_share: float,
    risk_sigma: float,
    *,
    leakage_share: float = 0.0,
    tenure_correlation: float = 1.0,
) -> float:
    """The share of the cost a care-management programme would avoid if the provider knew every
    member and reached all their spend, that it avoids with ``payer_only_share`` of the members
    unknown to it (correlated ``correlation`` with the log risk on arrival) and
    ``leakage_share`` of a known member's spend out of its reach.

    ``(1 - leakage) (Phi(t') - Phi2(t', a'; r)) / (1 - Phi(a'))``, with ``t = Phi^-1(1 -
    payer_only_share)``, ``a = Phi^-1(1 - high_risk_share)``, ``t' = t - r s``, ``a' = a - s``,
    ``r = correlation x tenure_correlation`` (see :func:`spend_share_without`).
    """
    _check("payer_only_share", payer_only_share, 0.0, 1.0)
    _check("correlation", correlation, -1.0, 1.0)
    _check("high_risk_share", high_risk_share, 0.0, 1.0)
    _check("leakage_share", leakage_share, 0.0, 1.0)
    _check("tenure_correlation", tenure_correlation, -1.0, 1.0)
    if risk_sigma < 0.0:
        raise ValueError(f"risk_sigma must be non-negative, got {risk_sigma}")
    if high_risk_share <= 0.0:
        raise ValueError("high_risk_share must be positive: a programme that enrols nobody")
    r = correlation * tenure_correlation
    t = _threshold(payer_only_share) - r * risk_sigma
    a = _threshold(high_risk_share) - risk_sigma
    enrolled = 1.0 - _N.cdf(a) if math.isfinite(a) else 1.0
    return (1.0 - leakage_share) * _below_above(t, a, r) / enrolled
