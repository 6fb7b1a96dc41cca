"""simsettle: what a value-based-care contract's settlement can do to its parties.

Public API: :func:`load_scenario`, :func:`simulate`, :func:`open_results`, :func:`write_results`,
:func:`payoff`, :func:`set_options`, ``calibrate(...)`` (the callable module
:mod:`simsettle.calibrate`: fit a scenario to member-level claims) and :mod:`simsettle.exact`
(the exact settlement of the simple cases that have one, without simulation). Heavy modules (numba,
xarray, matplotlib, scipy) load only when a name that needs them is first used (PEP 562), so
``import simsettle`` and ``simsettle validate`` stay fast.

The ``settle`` Dataset accessor (:mod:`simsettle.stats`) is registered as soon as simsettle can
hand out a Dataset: when :func:`simulate`, :func:`payoff`, :func:`open_results` or
:func:`write_results` is first used, and at ``import simsettle`` itself when xarray is already
imported. (Registering it unconditionally would import xarray, pandas and scipy, about a second,
on every ``import simsettle``.)
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

from simsettle._version import __version__
from simsettle.errors import MemoryLimitError, ScenarioError, SimulationError
from simsettle.options import get_options, set_options
from simsettle.scenario import load_scenario, parse_scenario

if "xarray" in sys.modules:  # cheap now: register ds.settle for the user's own Datasets
    import simsettle.stats  # noqa: F401

if TYPE_CHECKING:
    from simsettle import calibrate, exact
    from simsettle.results import open_results, write_results
    from simsettle.runner import payoff, simulate

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "MemoryLimitError",
    "ScenarioError",
    "SimulationError",
    "__version__",
    "calibrate",
    "exact",
    "get_options",
    "load_scenario",
    "open_results",
    "parse_scenario",
    "payoff",
    "set_options",
    "simulate",
    "write_results",
]

#: Modules exported as themselves (``simsettle.calibrate`` is callable).
_LAZY_MODULES = {"calibrate": "simsettle.calibrate", "exact": "simsettle.exact"}

_LAZY = {
    "simulate": "simsettle.runner",
    "payoff": "simsettle.runner",
    "open_results": "simsettle.results",
    "write_results": "simsettle.results",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        import importlib

        module = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = module
        return module
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        importlib.import_module("simsettle.stats")  # the ds.settle accessor
        globals()[name] = value
        return value
    raise AttributeError(f"module 'simsettle' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
