"""What the program's risk score knows: closed forms of the imperfect-score model.

A member's true risk (the multiplier of its expected cost) is ``R = exp(s z - s^2 / 2)`` with
``z`` standard normal and ``s = population.risk_sigma``. The program's score predicts it from a
signal ``w = c z + sqrt(1 - c^2) e`` with its own noise ``e``, ``c^2 =
population.risk_score_accuracy``: the score is ``S = E[R | w] = exp(s c w - (s c)^2 / 2)``
(:func:`simsettle._kernels.member.member_year`). So ``E[R | S] = S``: the score is calibrated
and regresses to the mean, with log-sd ``s c``.

Two consequences, each derived by hand here and checked against the simulation in
``tests/test_risk_score.py``:

* The score's individual R-squared for annual cost. Annual cost is ``C = R X`` with ``X``
  independent of ``R`` (and of the noise), so ``E[C | S] = S E[C]`` and ``Cov(S, C) = E[C]
  Var(S)``; hence ``R^2 = Corr(S, C)^2 = Var(S) / CV(C)^2 = (exp(s^2 c^2) - 1) / CV(C)^2``
  (:func:`score_r2`). The true risk's is the same at ``c = 1``: the most any score can explain.
* Risk adjustment of a group whose log risk differs. A group whose latent ``z`` is shifted by
  ``d`` (entrants with ``entrant_risk_ratio = exp(s d)``) has mean true risk ``exp(s d)`` and
  mean score ``E[exp(s c (c (z + d) + ...) - (s c)^2 / 2)] = exp(s c^2 d)``: the score sees
  ``c^2`` of the difference in log risk, and the group's cost per unit of score is
  ``entrant_risk_ratio^(1 - c^2)`` times the population's (:func:`unadjusted_ratio`).
"""

from __future__ import annotations

import math

__all__ = ["score_r2", "unadjusted_ratio"]


def score_r2(risk_sigma: float, accuracy: float, cv: float) -> float:
    """Individual R-squared of the risk score for annual cost: ``(exp(risk_sigma^2 accuracy)
    - 1) / cv^2``, ``cv`` the coefficient of variation of members' annual cost (risk included).
    At ``accuracy = 1``, the share of the variance that the members' true risk explains."""
    if cv <= 0.0:
        raise ValueError(f"cv must be positive, got {cv}")
    return math.expm1(risk_sigma**2 * accuracy) / cv**2


def unadjusted_ratio(risk_ratio: float, accuracy: float) -> float:
    """A group's expected cost per unit of risk score relative to the population's, when its
    median true risk is ``risk_ratio`` times the population's: ``risk_ratio^(1 - accuracy)``
    (1 for an exact score; ``risk_ratio`` for a score that knows nothing)."""
    if risk_ratio <= 0.0:
        raise ValueError(f"risk_ratio must be positive, got {risk_ratio}")
    return float(risk_ratio ** (1.0 - accuracy))
