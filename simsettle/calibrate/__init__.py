"""Calibration from member-level data: claims and enrolment in, a fitted scenario out.

``simsettle.calibrate(claims, ...)`` (this module is callable: it runs :func:`calibrate`) reads
member-level annual or monthly allowed cost with member months, optional risk scores and years,
fits the engine's own model to it and returns a :class:`Calibration`: the estimates with
confidence intervals, the scenario file's text (with comments saying where each number came
from) and the goodness of fit, which :meth:`Calibration.write_report` renders as HTML.

* Files and errors: :mod:`simsettle.calibrate.data` (:func:`read_claims`,
  :class:`CalibrationDataError` naming row and column).
* The cost distribution and its maximum-likelihood fit, and the fit to published concentration
  figures: :mod:`simsettle.calibrate.mixture` (:class:`CostModel`, :func:`fit_mixture`,
  :func:`fit_shares`).
* Turnover, risk, persistence, entrants and trend: :mod:`simsettle.calibrate.panel`.
* Round trips: :func:`synthetic_claims` draws member-level claims and enrolment from a
  scenario through the engine's own member-year rule and random numbers
  (:mod:`simsettle.calibrate.synthetic`).

For type checkers, import the function: ``from simsettle.calibrate import calibrate``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from simsettle.calibrate.data import (
    CalibrationDataError,
    DataIssue,
    MemberYears,
    member_years,
    read_claims,
)
from simsettle.calibrate.fit import Calibration, Estimate, calibrate
from simsettle.calibrate.gof import concentration
from simsettle.calibrate.mixture import CostModel, Interval, fit_mixture, fit_shares
from simsettle.calibrate.synthetic import SyntheticClaims, synthetic_claims

__all__ = [
    "Calibration",
    "CalibrationDataError",
    "CostModel",
    "DataIssue",
    "Estimate",
    "Interval",
    "MemberYears",
    "SyntheticClaims",
    "calibrate",
    "concentration",
    "fit_mixture",
    "fit_shares",
    "member_years",
    "read_claims",
    "synthetic_claims",
]


class _CallableModule(types.ModuleType):
    """Lets ``simsettle.calibrate(...)`` call :func:`calibrate` while the package's other names
    stay reachable as ``simsettle.calibrate.synthetic_claims`` and so on."""

    def __call__(self, *args: Any, **kwargs: Any) -> Calibration:
        return calibrate(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
