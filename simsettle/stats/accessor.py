"""The ``settle`` Dataset accessor: the functions of :mod:`simsettle.stats` as methods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import xarray as xr

from simsettle.results.frames import design_parameters, to_dataframe
from simsettle.stats.compare import decide, paired
from simsettle.stats.control import controlled
from simsettle.stats.precision import precision_table
from simsettle.stats.rank import rank
from simsettle.stats.tables import convergence, describe, statistic, summary

__all__ = ["SettleAccessor"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Method(Generic[_P, _R]):
    """A function of a Dataset, read on an accessor as a method of the accessor's Dataset:
    the signature, defaults and documentation are the function's, written once."""

    def __init__(self, func: Callable[Concatenate[xr.Dataset, _P], _R]) -> None:
        self._func = func
        self.__doc__ = f":func:`{func.__module__}.{func.__name__}` of this Dataset."

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> _Method[_P, _R]: ...

    @overload
    def __get__(self, obj: SettleAccessor, owner: type[Any]) -> Callable[_P, _R]: ...

    def __get__(
        self, obj: SettleAccessor | None, owner: type[Any]
    ) -> _Method[_P, _R] | Callable[_P, _R]:
        if obj is None:
            return self
        func, ds = self._func, obj._ds

        def method(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            return func(ds, *args, **kwargs)

        method.__name__ = func.__name__
        method.__doc__ = func.__doc__
        return method


@xr.register_dataset_accessor("settle")  # type: ignore[no-untyped-call]
class SettleAccessor:
    """``ds.settle``: the functions of :mod:`simsettle.stats` as methods of a Dataset.

    Registered when :mod:`simsettle.stats` is imported. Each method calls the function of the
    same name with ``ds`` as its first argument, and takes the function's other arguments.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import simsettle.stats  # registers the accessor
    >>> ds = xr.Dataset(
    ...     {"settlement": (("design", "trial", "year"), [[[-4.0], [0.0], [2.0], [6.0]]])},
    ...     coords={"design": ["two_sided"], "trial": np.arange(4), "year": [2026]},
    ... )
    >>> float(ds.settle.statistic("prob_savings")["value"].sel(design="two_sided"))
    0.5
    """

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    statistic = _Method(statistic)
    describe = _Method(describe)
    convergence = _Method(convergence)
    controlled = _Method(controlled)
    precision_table = _Method(precision_table)
    rank = _Method(rank)
    summary = _Method(summary)
    paired = _Method(paired)
    decide = _Method(decide)
    to_dataframe = _Method(to_dataframe)
    design_parameters = _Method(design_parameters)
