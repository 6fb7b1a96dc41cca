"""The statistics registry: one entry per statistic, and everything that shows one reads it.

An entry, :class:`Statistic`, holds all there is to know about one statistic: how it is
estimated together with its Monte Carlo standard error (``estimate``, ``se_method``), the
variables it reads, which way is better for the provider (the payer's way is the reverse:
the settlement is a transfer between the two), its long name, short label, unit and
description, and where it appears (the levels :func:`~simsettle.stats.describe` gives it,
whether :func:`~simsettle.stats.summary` shows it). :func:`~simsettle.stats.statistic`,
:func:`~simsettle.stats.describe`, :func:`~simsettle.stats.summary`,
:func:`~simsettle.stats.rank`, the charts of :mod:`simsettle.plot` and the committee report
find statistics only here, so adding one is one :func:`register` call (and its test); a
statistic registered at run time is picked up the same way.

Names: a statistic without a level is named by its key (``mean``, ``prob_loss``); one with a
level by its prefix and the level in percent, as :func:`quantile_name` writes it (``q05``,
``var_provider_95``, ``tvar_payer_99_5``); :func:`parse_statistic_name` reads such a name back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

import xarray as xr

from simsettle.stats.mcse import (
    Sample,
    cluster_se,
    indicator,
    mean_and_se,
    quantile_and_psi,
    quantile_and_se,
    quantile_probes,
    tail_and_psi,
    tail_and_se,
)

__all__ = [
    "LEVEL_STATISTICS",
    "REGISTRY",
    "STATISTICS",
    "Estimator",
    "Statistic",
    "parse_statistic_name",
    "quantile_name",
    "register",
]

#: ``estimate(ds, sample, level) -> (value, se)``: the estimate over the sample's pooled
#: dimensions and its Monte Carlo standard error (trial-clustered), both keeping the other
#: dimensions. ``sample`` is the described variable; ``level`` is None for a statistic without
#: one and a checked probability in (0, 1) otherwise.
Estimator = Callable[[xr.Dataset, Sample, "float | None"], tuple[xr.DataArray, xr.DataArray]]
#: :func:`~simsettle.stats.mcse.tail_and_se` or :func:`~simsettle.stats.mcse.tail_and_psi`.
Estimator3 = Callable[[Sample, xr.DataArray, float], tuple[xr.DataArray, xr.DataArray]]

Sense = Literal[-1, 0, 1]
Party = Literal["provider", "payer"]


def quantile_name(q: float) -> str:
    """Name of the summary variable that holds quantile ``q``.

    Whole percentages get two digits (``0.05 -> "q05"``, ``0.5 -> "q50"``, ``0.95 -> "q95"``,
    ``1.0 -> "q100"``); fractional ones use an underscore for the decimal point
    (``0.995 -> "q99_5"``, ``0.025 -> "q02_5"``).

    Parameters
    ----------
    q : float
        Probability in ``[0, 1]``.

    Returns
    -------
    str
        The variable name.
    """
    if not 0.0 <= q <= 1.0 or math.isnan(q):
        raise ValueError(f"quantile must be within [0, 1], got {q!r}")
    pct = round(q * 100.0, 6)
    whole = int(pct)
    if pct == whole:
        return f"q{whole:02d}"
    frac = f"{pct - whole:.6f}"[2:].rstrip("0")
    return f"q{whole:02d}_{frac}"


def _percentile_words(level: float) -> str:
    """``"median"`` at 0.5, else ``"5th percentile of"``, ``"99.5th percentile of"``."""
    if level == 0.5:
        return "median"
    pct = f"{level * 100:.4g}"
    last = int(pct[-1]) if "." not in pct and not (len(pct) > 1 and pct[-2] == "1") else 0
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(last, "th")
    return f"{pct}{suffix} percentile of"


@dataclass(frozen=True)
class Statistic:
    """One statistic: its estimator and standard error, what it reads, and how it is shown.

    Attributes
    ----------
    name : str
        Key in :data:`REGISTRY`, and the name of its column when it takes no level.
    estimate : Estimator
        ``(ds, sample, level) -> (value, se)``, see :data:`Estimator`.
    se_method : str
        How the standard error is worked out, in words (the ``se_method`` attribute).
    long_name : str
        ``long_name`` of the value; ``{long_name}`` stands for the described variable's and
        ``{level}`` for the level (``0.95``).
    short : str
        Label in charts and report tables (lower case; charts capitalise it):
        ``{long_name}`` as above, ``{percentile}`` for ``median`` or ``5th percentile of``,
        ``{pct}`` for the level in percent (``95%``).
    description : str
        What it is (the ``description`` attribute); ``{var}`` stands for the variable's name.
    provider : {-1, 0, 1}
        Which way is better for the provider: +1 higher, -1 lower, 0 neither (spread, years
        of no payment, caps and corridor binding). The payer's sense is the reverse.
    units : str, optional
        Units of the value, ``"1"`` for a probability; None: the units of the first variable
        it reads (the described one unless ``reads`` is given).
    reads : tuple of str
        Variables read in place of the described one (``prob_savings_cap`` reads
        ``cap_adjustment``); :func:`~simsettle.stats.describe` leaves the statistic out of a
        Dataset that lacks one.
    levels : {"quantiles", "levels"}, optional
        None for a statistic without a level; else which argument of
        :func:`~simsettle.stats.describe` gives its levels: its ``quantiles`` or its
        (value-at-risk) ``levels``.
    prefix : str
        Column name before the level in percent (default ``name + "_"``; ``q`` for quantiles).
    summary : bool
        Whether :func:`~simsettle.stats.summary` shows it.
    event : str, optional
        For a probability, the event in terms of ``{var}`` (``{var} < 0``): a chart of a
        variable other than the settlement labels it ``P(event)`` instead of ``short``.
    probes : callable, optional
        ``(sample, level) -> probabilities`` of the linear quantiles ``estimate`` reads, so
        that a table computes every statistic's quantiles in one pass.
    influence : Estimator, optional
        ``(ds, sample, level) -> (value, psi)``: the estimate and its influence values, one
        per pooled observation (NaN where it is missing), whose trial-clustered standard
        error (:func:`~simsettle.stats.mcse.cluster_se`) is ``estimate``'s. Paired
        differences between designs (:func:`~simsettle.stats.paired`) need it: the standard
        error of a difference is that of the difference of the two designs' ``psi``.
    """

    name: str
    estimate: Estimator
    se_method: str
    long_name: str
    short: str
    description: str
    provider: Sense = 0
    units: str | None = None
    reads: tuple[str, ...] = ()
    levels: Literal["quantiles", "levels"] | None = None
    prefix: str = ""
    summary: bool = False
    event: str | None = None
    probes: Callable[[Sample, float], Sequence[float]] | None = None
    influence: Estimator | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"a statistic's name must be an identifier, got {self.name!r}")
        if self.levels is not None and not self.prefix:
            object.__setattr__(self, "prefix", f"{self.name}_")

    def column(self, level: float | None) -> str:
        """The name of the statistic at ``level``, as :func:`~simsettle.stats.describe` writes
        its column: ``mean``, ``q05``, ``var_provider_99_5``."""
        if self.levels is None or level is None:
            return self.name
        return self.prefix + quantile_name(level)[1:]

    def sense(self, party: Party) -> int:
        """+1 when a higher value is better for ``party``, -1 lower, 0 neither."""
        return self.provider if party == "provider" else -self.provider

    def label(self, var: str, long_name: str, level: float | None = None) -> str:
        """The short label of the statistic of ``var`` at ``level`` (charts, tables)."""
        if self.event is not None and var != "settlement":
            return f"P({self.event.format(var=var)})"
        return self.short.format(
            long_name=long_name,
            percentile="" if level is None else _percentile_words(level),
            pct="" if level is None else f"{level * 100:.4g}%",
        )

    def attrs(
        self, var: str, long_name: str, units: str, level: float | None
    ) -> tuple[str, str, str]:
        """(long name, units, description) of the value; ``units`` are the variable's."""
        text = self.long_name.format(
            long_name=long_name, level="" if level is None else f"{level:.4g}"
        )
        desc = self.description.format(var=var)
        if level is not None:
            desc = f"{desc} level = {level:.6g}."
        return text, self.units or units, desc


#: Every statistic, by name, in the order :func:`~simsettle.stats.describe` lists them.
REGISTRY: dict[str, Statistic] = {}


def register(entry: Statistic, *, replace: bool = False) -> Statistic:
    """Add ``entry`` to :data:`REGISTRY` (at the end), and return it.

    Raises
    ------
    ValueError
        If a statistic of that name is registered already (and not ``replace``), or its
        column names could be read as another statistic's.
    """
    if entry.name in REGISTRY and not replace:
        raise ValueError(f"a statistic named {entry.name!r} is registered already")
    clash = [
        o.name
        for o in REGISTRY.values()
        if o.name != entry.name and o.levels and entry.levels and o.prefix == entry.prefix
    ]
    if clash:
        raise ValueError(f"{entry.name!r} and {clash[0]!r} share the prefix {entry.prefix!r}")
    REGISTRY[entry.name] = entry
    return entry


class _Descriptions(Mapping[str, str]):
    """A live view of :data:`REGISTRY`: each statistic's description, ``var`` for the
    described variable."""

    def __getitem__(self, name: str) -> str:
        return REGISTRY[name].description.format(var="var")

    def __iter__(self) -> Iterator[str]:
        return iter(list(REGISTRY))

    def __len__(self) -> int:
        return len(REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


class _LevelNames(AbstractSet[str]):
    """A live view of :data:`REGISTRY`: the names of the statistics that take a level."""

    def __contains__(self, name: object) -> bool:
        entry = REGISTRY.get(name) if isinstance(name, str) else None
        return entry is not None and entry.levels is not None

    def __iter__(self) -> Iterator[str]:
        return iter([n for n, e in REGISTRY.items() if e.levels is not None])

    def __len__(self) -> int:
        return sum(e.levels is not None for e in REGISTRY.values())

    def __repr__(self) -> str:
        return f"frozenset({sorted(self)!r})"


#: Every statistic :func:`~simsettle.stats.statistic` computes, with what it is (``var`` is
#: the described variable, ``level`` the probability level); a live view of :data:`REGISTRY`.
STATISTICS: Mapping[str, str] = _Descriptions()

#: The statistics that need a ``level`` (a live view of :data:`REGISTRY`).
LEVEL_STATISTICS: AbstractSet[str] = _LevelNames()

_LEVEL_DIGITS = re.compile(r"\d{1,3}(?:_\d+)?")


def _statistic_forms() -> str:
    forms = [
        e.name if e.levels is None else f"{e.prefix}<{'P' if e.levels == 'quantiles' else 'L'}>"
        for e in REGISTRY.values()
    ]
    return (
        f"{', '.join(forms)} (<P> a probability, <L> a level, in percent: q05, q99_5, "
        "var_provider_95, tvar_payer_99_5)"
    )


def parse_statistic_name(name: str) -> tuple[str, str, float | None]:
    """Read a column name of :func:`~simsettle.stats.describe` as a statistic and its level.

    Parameters
    ----------
    name : str
        ``mean``, ``std``, ``prob_loss``, ... (the keys of :data:`STATISTICS` that take no
        level), ``q<P>`` for a quantile at ``P`` percent (``q05``, ``q50``, ``q99_5``) or
        ``var_provider_<L>``, ``tvar_provider_<L>``, ``var_payer_<L>``, ``tvar_payer_<L>`` with
        ``<L>`` the level in percent (``var_provider_95``, ``tvar_payer_99_5``): the prefix of a
        statistic with a level and the level.

    Returns
    -------
    tuple
        ``(canonical name, statistic, level)``: the name as :func:`~simsettle.stats.describe`
        writes it (``q5`` becomes ``q05``), the key of :data:`STATISTICS` and the level (None
        for a statistic without one).

    Raises
    ------
    ValueError
        If the name is none of these (the message lists the valid forms), or its level is not
        strictly between 0 and 100 percent.

    Examples
    --------
    >>> parse_statistic_name("var_provider_99_5")
    ('var_provider_99_5', 'var_provider', 0.995)
    >>> parse_statistic_name("q5")
    ('q05', 'quantile', 0.05)
    """
    text = name.strip()
    plain = REGISTRY.get(text)
    if plain is not None and plain.levels is None:
        return text, text, None
    for entry in REGISTRY.values():
        digits = text[len(entry.prefix) :]
        if entry.levels is None or not text.startswith(entry.prefix):
            continue
        if not _LEVEL_DIGITS.fullmatch(digits):
            continue
        whole, _, frac = digits.partition("_")
        level = float(f"{whole}.{frac}" if frac else whole) / 100.0
        if not 0.0 < level < 1.0:
            raise ValueError(f"statistic {name!r}: the level must lie strictly between 0 and 100%")
        return entry.column(level), entry.name, level
    raise ValueError(f"unknown statistic {name!r}; choose from {_statistic_forms()}")


# --------------------------------------------------------------------------------------------
# the statistics

_CLUSTER = "trial-clustered influence-function (sandwich) standard error, "
_ORDER_STATISTICS = (
    "order statistics: sparsity 1/f(q) from the difference quotient of the quantiles at level "
    "-/+ the Hall-Sheather bandwidth, times the trial-clustered standard error of the empirical "
    "distribution function at q."
)
_BINOMIAL = _CLUSTER + "psi = 1{event} - p (binomial, with trials as the independent units)."


def _at(level: float | None) -> float:
    assert level is not None, "a statistic with levels is called with one"
    return level


def _mean(ds: xr.Dataset, s: Sample, level: float | None) -> tuple[xr.DataArray, xr.DataArray]:
    return mean_and_se(s.x, s)


def _std(ds: xr.Dataset, s: Sample, level: float | None) -> tuple[xr.DataArray, xr.DataArray]:
    x = s.x
    mean = x.mean(s.dims)
    std = x.std(s.dims, ddof=1)
    positive = std.where(std > 0)
    psi = ((x - mean) ** 2 - std**2) / (2.0 * positive)
    return std, cluster_se(psi, s.within).where(std > 0, 0.0)


def _quantile(ds: xr.Dataset, s: Sample, level: float | None) -> tuple[xr.DataArray, xr.DataArray]:
    return quantile_and_se(s, _at(level))


def _var_provider(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    q, se = quantile_and_se(s, 1.0 - _at(level))
    return 0.0 - q, se  # 0.0 - q: no negative zeros


def _loss_tail(sign: float, method: Estimator3) -> Estimator:
    """The tail value-at-risk of a party's loss ``sign * x`` by ``method`` (its value and
    standard error, or its value and influence values)."""

    def estimate(
        ds: xr.Dataset, s: Sample, level: float | None
    ) -> tuple[xr.DataArray, xr.DataArray]:
        return method(s, s.x if sign > 0 else -s.x, _at(level))

    return estimate


_tvar_provider = _loss_tail(-1.0, tail_and_se)
_tvar_payer = _loss_tail(1.0, tail_and_se)


def _mean_psi(ds: xr.Dataset, s: Sample, level: float | None) -> tuple[xr.DataArray, xr.DataArray]:
    mean = s.x.mean(s.dims)
    return mean, s.x - mean


def _std_psi(ds: xr.Dataset, s: Sample, level: float | None) -> tuple[xr.DataArray, xr.DataArray]:
    x = s.x
    mean = x.mean(s.dims)
    std = x.std(s.dims, ddof=1)
    psi = ((x - mean) ** 2 - std**2) / (2.0 * std.where(std > 0))
    return std, psi.where(std > 0, 0.0).where(x.notnull())


def _quantile_psi(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    return quantile_and_psi(s, _at(level))


def _var_provider_psi(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    q, psi = quantile_and_psi(s, 1.0 - _at(level))
    return 0.0 - q, 0.0 - psi


_tvar_provider_psi = _loss_tail(-1.0, tail_and_psi)
_tvar_payer_psi = _loss_tail(1.0, tail_and_psi)


def _indicator_psi(
    event: xr.DataArray, valid: xr.DataArray, s: Sample
) -> tuple[xr.DataArray, xr.DataArray]:
    ind = indicator(event, valid)
    p = ind.mean(s.dims)
    return p, ind - p


def probability_influence(
    event: Callable[[xr.DataArray], xr.DataArray], of: str | None = None
) -> Estimator:
    """The influence values of :func:`probability`'s estimator: ``1{event} - p``."""

    def influence(
        ds: xr.Dataset, s: Sample, level: float | None
    ) -> tuple[xr.DataArray, xr.DataArray]:
        x = s.x if of is None else ds[of]
        return _indicator_psi(event(x), x.notnull(), s)

    return influence


def probability(event: Callable[[xr.DataArray], xr.DataArray], of: str | None = None) -> Estimator:
    """The estimator of ``P(event)``: the mean of the event's indicator, with the binomial
    standard error clustered by trial. ``event`` maps the variable ``of`` (the described one
    when None) to a boolean array; a missing observation counts in neither."""

    def estimate(
        ds: xr.Dataset, s: Sample, level: float | None
    ) -> tuple[xr.DataArray, xr.DataArray]:
        x = s.x if of is None else ds[of]
        return mean_and_se(indicator(event(x), x.notnull()), s)

    return estimate


def _corridor_event(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray]:
    """(inside the corridor: savings but no settlement, where both are defined)."""
    settlement = ds["settlement"]
    withheld = ds["quality_withhold"] if "quality_withhold" in ds.data_vars else 0.0
    savings = ds["savings"]
    event = (savings != 0) & (settlement + withheld == 0)
    return event, settlement.notnull() & savings.notnull()


def _prob_corridor(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    return mean_and_se(indicator(*_corridor_event(ds)), s)


def _prob_corridor_psi(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    return _indicator_psi(*_corridor_event(ds), s)


def _stop_loss_net(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    net, psi = _stop_loss_net_psi(ds, s, level)
    return net, cluster_se(psi, s.within)


def _layer_psi(
    rec: xr.DataArray, prem: xr.DataArray, quoted: xr.DataArray | bool, s: Sample
) -> xr.DataArray:
    """Influence values of one stop-loss layer's mean net (recovery less premium).

    A loading premium of a year is (1 + loading) x the mean recovery over the trials of that
    year: a Monte Carlo mean itself, so the estimate is (1 - k) x mean recovery with
    k = premium / mean recovery, and its influence is (1 - k) (rec - mean rec). A quoted premium
    (``quoted``: per member month or a year) is fixed or moves with the exposure, so the net is
    a plain mean: influence net - mean net.
    """
    rec_bar = rec.mean("trial")
    k = prem.mean("trial") / rec_bar.where(rec_bar > 0)
    loading = ((1.0 - k) * (rec - rec_bar)).fillna(0.0)
    net = rec - prem
    fixed = net - net.mean(s.dims)
    psi = fixed.where(quoted, loading) if quoted is not False else loading
    return psi.where(rec.notnull() & prem.notnull())


def _quoted(ds: xr.Dataset, layer: str) -> xr.DataArray | bool:
    """Whether a layer's premium is quoted, per design (results of before quoted premiums:
    never)."""
    name = f"{layer}_pricing"
    if name not in ds.coords:
        return False
    pricing = ds.coords[name]
    return (pricing == "pmpm") | (pricing == "annual")


def _stop_loss_net_psi(
    ds: xr.Dataset, s: Sample, level: float | None
) -> tuple[xr.DataArray, xr.DataArray]:
    rec = ds["stop_loss_recovery"]
    prem = ds["stop_loss_premium"]
    net = (rec - prem).mean(s.dims)
    if "specific_stop_loss_recovery" in ds.data_vars:  # each layer apart
        psi = _layer_psi(
            ds["specific_stop_loss_recovery"],
            ds["specific_stop_loss_premium"],
            _quoted(ds, "stop_loss"),
            s,
        ) + _layer_psi(
            ds["aggregate_stop_loss_recovery"],
            ds["aggregate_stop_loss_premium"],
            _quoted(ds, "aggregate_stop_loss"),
            s,
        )
    else:
        psi = _layer_psi(rec, prem, _quoted(ds, "stop_loss"), s)
    return net, psi


def _probes(s: Sample, level: float) -> Sequence[float]:
    return quantile_probes(s, level)


def _probes_below(s: Sample, level: float) -> Sequence[float]:
    return quantile_probes(s, 1.0 - level)


def _tail(party: Party, estimate: Estimator, influence: Estimator, description: str) -> Statistic:
    """The tail value-at-risk of ``party``: ``tvar_provider`` or ``tvar_payer``."""
    return Statistic(
        f"tvar_{party}",
        estimate,
        _CLUSTER + f"psi = v + (L - v)_+ / (1 - level) - tvar, L the {party}'s loss and v its "
        "lower empirical level-quantile (Rockafellar-Uryasev).",
        long_name=f"{{level}} tail value-at-risk of the {party} ({{long_name}})",
        short=f"{party} TVaR {{pct}}",
        description=description,
        provider=-1 if party == "provider" else 1,
        levels="levels",
        influence=influence,
    )


for _entry in (
    Statistic(
        "mean",
        _mean,
        _CLUSTER + "psi = x - mean.",
        long_name="mean {long_name}",
        short="mean {long_name}",
        description="Mean of {var} over the pooled sample.",
        provider=1,
        summary=True,
        influence=_mean_psi,
    ),
    Statistic(
        "std",
        _std,
        _CLUSTER + "psi = ((x - mean)^2 - std^2) / (2 std) (delta method).",
        long_name="standard deviation of {long_name}",
        short="standard deviation of {long_name}",
        description="Sample standard deviation (ddof=1) of {var} over the pooled sample.",
        summary=True,
        influence=_std_psi,
    ),
    Statistic(
        "quantile",
        _quantile,
        _ORDER_STATISTICS,
        long_name="{level} quantile of {long_name}",
        short="{percentile} {long_name}",
        description="Quantile of {var} at probability level (linear interpolation between "
        "order statistics, numpy's default).",
        provider=1,
        levels="quantiles",
        prefix="q",
        summary=True,
        probes=_probes,
        influence=_quantile_psi,
    ),
    Statistic(
        "var_provider",
        _var_provider,
        _ORDER_STATISTICS,
        long_name="{level} value-at-risk of the provider ({long_name})",
        short="provider VaR {pct}",
        description="Value-at-risk of the provider at level: the provider's loss -{var} that is "
        "exceeded with probability 1 - level, i.e. -quantile({var}, 1 - level), a positive "
        "amount paid by the provider (negative: even the worst 1 - level outcomes are payments "
        "to the provider).",
        provider=-1,
        levels="levels",
        probes=_probes_below,
        influence=_var_provider_psi,
    ),
    _tail(
        "provider",
        _tvar_provider,
        _tvar_provider_psi,
        "Tail value-at-risk (conditional tail expectation, expected shortfall) of the provider "
        "at level: the mean of the provider's loss -{var} over its worst 1 - level fraction of "
        "outcomes (the boundary observation weighted fractionally), a positive amount paid by "
        "the provider; never below var_provider.",
    ),
    Statistic(
        "var_payer",
        _quantile,
        _ORDER_STATISTICS,
        long_name="{level} value-at-risk of the payer ({long_name})",
        short="payer VaR {pct}",
        description="Value-at-risk of the payer at level: the payer's loss {var} (a payment to "
        "the provider) exceeded with probability 1 - level, i.e. quantile({var}, level).",
        provider=1,
        levels="levels",
        probes=_probes,
        influence=_quantile_psi,
    ),
    _tail(
        "payer",
        _tvar_payer,
        _tvar_payer_psi,
        "Tail value-at-risk of the payer at level: the mean of {var} over its largest 1 - level "
        "fraction of outcomes; never below var_payer.",
    ),
    Statistic(
        "prob_loss",
        probability(lambda x: x < 0),
        _BINOMIAL,
        long_name="probability that the provider pays",
        short="P(provider pays)",
        description="Probability that the provider pays: P({var} < 0).",
        provider=-1,
        units="1",
        summary=True,
        event="{var} < 0",
        influence=probability_influence(lambda x: x < 0),
    ),
    Statistic(
        "prob_savings",
        probability(lambda x: x > 0),
        _BINOMIAL,
        long_name="probability that the provider receives a payment",
        short="P(provider receives)",
        description="Probability that the provider receives a payment: P({var} > 0).",
        provider=1,
        units="1",
        summary=True,
        event="{var} > 0",
        influence=probability_influence(lambda x: x > 0),
    ),
    Statistic(
        "prob_zero",
        probability(lambda x: x == 0),
        _BINOMIAL,
        long_name="probability of no payment",
        short="P(no payment)",
        description="Probability of no payment: P({var} == 0).",
        units="1",
        summary=True,
        event="{var} = 0",
        influence=probability_influence(lambda x: x == 0),
    ),
    Statistic(
        "prob_savings_cap",
        probability(lambda cap: cap < 0, of="cap_adjustment"),
        _BINOMIAL,
        long_name="probability that the savings cap binds",
        short="P(savings cap binds)",
        description="Probability that the savings cap binds: P(cap_adjustment < 0) (the "
        "settlement rules make the cap adjustment non-zero exactly when a cap cuts the shared "
        "amount).",
        units="1",
        reads=("cap_adjustment",),
        influence=probability_influence(lambda cap: cap < 0, of="cap_adjustment"),
    ),
    Statistic(
        "prob_loss_cap",
        probability(lambda cap: cap > 0, of="cap_adjustment"),
        _BINOMIAL,
        long_name="probability that the loss cap binds",
        short="P(loss cap binds)",
        description="Probability that the loss cap binds: P(cap_adjustment > 0).",
        units="1",
        reads=("cap_adjustment",),
        influence=probability_influence(lambda cap: cap > 0, of="cap_adjustment"),
    ),
    Statistic(
        "prob_corridor",
        _prob_corridor,
        _BINOMIAL,
        long_name="probability of falling inside the corridor",
        short="P(inside corridor)",
        description="Probability that the year falls inside the minimum savings/loss "
        "corridor: P(savings != 0 and settlement + quality_withhold == 0), i.e. there were "
        "savings or losses but none were shared (for an upside-only design, every loss year).",
        units="1",
        reads=("settlement", "savings"),
        influence=_prob_corridor_psi,
    ),
    Statistic(
        "stop_loss_net",
        _stop_loss_net,
        _CLUSTER + "psi = (1 - k) (recovery - mean recovery), k = premium / mean recovery of "
        "the year: the premium is (1 + loading) x the Monte Carlo mean recovery, so it moves "
        "with the recoveries and the estimate is -loading x mean recovery.",
        long_name="expected stop-loss recovery net of premium",
        short="stop-loss net",
        description="Expected stop-loss recovery net of premium: mean of stop_loss_recovery - "
        "stop_loss_premium, the provider's expected gain from its stop-loss (0 without "
        "stop-loss; -loading x mean recovery when the premium is (1 + loading) x the mean "
        "recovery).",
        provider=1,
        reads=("stop_loss_recovery", "stop_loss_premium"),
        influence=_stop_loss_net_psi,
    ),
):
    register(_entry)
