"""Gate in front of the settlement kernel: every check, cast and per-year term.

:func:`settle` takes a design's compiled :class:`~simsettle.rules.terms.Terms` (it compiles a
design it is given) and nothing else of the design, turns it and the facts of each (trial, year)
-- attributed members, participant revenue, the quality score and standards met, loss relief --
into per-element corridors, factors and caps, then calls
:func:`simsettle._kernels.settle.settle_terms`.

Numerical safety. Every input is checked finite (and in range) before the kernel runs, and a
bad one is named with the first element that fails; after it, the gate checks that every step
is finite and that the steps add up to the settlement. The kernel computes in float64 and adds
the five parts (shared amount, sequestration, cap adjustment, loss relief, withhold) in at most
four roundings, each within ``eps/2`` of the parts' magnitudes: ``|settlement - sum(parts)| <=
2 eps x sum(|parts|)`` for an exact sum (``eps`` = 2**-52; plus ``tiny`` = 2.2e-308 for
subnormal amounts). The gate checks the looser ``CONSERVATION_ULPS x (eps x sum(|parts|) +
tiny)`` (its own sum adds roundings) and raises :class:`~simsettle.errors.SimulationError`
naming the design if it fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simsettle._kernels import settle as _settle
from simsettle._kernels.records import N_STEPS, S_SETTLEMENT, STEP_NAMES
from simsettle.errors import SimulationError
from simsettle.rules._checks import EPS, TINY, first_bad, show
from simsettle.rules.terms import CorridorSource, Terms, as_terms, corridor_in_force
from simsettle.scenario.contracts import AnyDesign

__all__ = [
    "CONSERVATION_ULPS",
    "STEP_NAMES",
    "YearFacts",
    "check_steps",
    "loss_guardrail",
    "settle",
    "settlement",
]

F8 = npt.NDArray[np.float64]
B1 = npt.NDArray[np.bool_]

#: Bound on ``|settlement - sum(parts)|`` in units of ``eps x sum(|parts|)``: the kernel's
#: four roundings (after = shared + seq; cap = capped - after; total + withhold; and relief)
#: plus the check's own four additions, rounded up.
CONSERVATION_ULPS = 8.0
#: Elements checked at a time after the kernel (bounds the temporaries of a large run).
_CHECK_BLOCK = 1 << 20


@dataclass(frozen=True)
class YearFacts:
    """Facts of each settled year that terms may depend on; each broadcasts to the benchmark.

    Attributes
    ----------
    members : attributed (assigned) members, count; needed by ``msr_table``,
        ``variable_msr_below`` and ``below_msr_min_members``.
    revenue : participant revenue, USD; needed by revenue-based caps.
    quality_score : replaces the design's ``quality.score`` (fraction).
    met_standard, met_alternative : whether the quality standard and the alternative standard
        were met, replacing ``score >= standard`` and ``below_standard == scale_by_score``
        (for replaying published results).
    loss_relief : replaces the design's ``loss_reduction`` (fraction of shared losses forgiven).
    """

    members: npt.ArrayLike | None = None
    revenue: npt.ArrayLike | None = None
    quality_score: npt.ArrayLike | None = None
    met_standard: npt.ArrayLike | None = None
    met_alternative: npt.ArrayLike | None = None
    loss_relief: npt.ArrayLike | None = None


def _array(
    value: npt.ArrayLike,
    shape: tuple[int, ...],
    name: str,
    *,
    lo: float = -math.inf,
    hi: float = math.inf,
) -> F8:
    a = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    finite = np.isfinite(a)
    if not np.all(finite):
        raise ValueError(f"{name} must be finite everywhere; {first_bad(a, ~finite)}")
    outside = (a < lo) | (a > hi)
    if np.any(outside):
        raise ValueError(
            f"{name} must lie in [{lo}, {hi}]; got values from {a.min()} to {a.max()} "
            f"({first_bad(a, outside)})"
        )
    return np.ascontiguousarray(a, dtype=np.float64).reshape(-1)


def _fraction(given: npt.ArrayLike | None, default: float, shape: tuple[int, ...], name: str) -> F8:
    """A fact that replaces a design's fraction where it is given, checked within [0, 1]."""
    return _array(default if given is None else given, shape, name, lo=0.0, hi=1.0)


def _flag(value: npt.ArrayLike, shape: tuple[int, ...]) -> B1:
    return np.broadcast_to(np.asarray(value, dtype=np.bool_), shape).reshape(-1)


def _members(facts: YearFacts, shape: tuple[int, ...], why: str) -> F8:
    if facts.members is None:
        raise ValueError(f"{why} needs the number of attributed members (YearFacts.members)")
    return _array(facts.members, shape, "members", lo=0.0)


def _corridors(terms: Terms, facts: YearFacts, shape: tuple[int, ...]) -> tuple[F8, F8]:
    """(MSR, MLR) per element: the corridor in force."""
    if terms.corridor.source == CorridorSource.FIXED:
        return corridor_in_force(terms.corridor, None, (int(np.prod(shape)),))
    why = "an MSSP-table corridor (msr_table, variable_msr_below)"
    return corridor_in_force(terms.corridor, _members(facts, shape, why))


def _quality_factors(terms: Terms, facts: YearFacts, shape: tuple[int, ...]) -> tuple[F8, F8, F8]:
    """(savings factor, loss factor, score) per element."""
    n = int(np.prod(shape))
    q = terms.quality
    if q is None:
        return np.ones(n), np.ones(n), np.ones(n)
    score = _fraction(facts.quality_score, q.score, shape, "quality_score")
    met = (score >= q.standard) if facts.met_standard is None else _flag(facts.met_standard, shape)
    if facts.met_alternative is None:
        alternative = np.full(n, q.scale_below)
    else:
        alternative = _flag(facts.met_alternative, shape) & q.scale_below
    sav = np.where(met, 1.0, np.where(alternative, score, 0.0))
    if q.score_weight != 0.0:
        sav = sav * ((1.0 - q.score_weight) + q.score_weight * score)
    loss = np.ones(n)
    if q.loss_rate is not None:
        lr = q.loss_rate
        rate = np.clip(1.0 - lr.slope * score, lr.floor, lr.ceiling)
        loss = np.where(met | alternative, rate, lr.failed)
    return sav, loss, score


def _cap(
    fraction: float | None,
    revenue_fraction: float | None,
    benchmark: F8,
    facts: YearFacts,
    shape: tuple[int, ...],
) -> F8:
    cap = np.full(benchmark.shape, math.inf)
    if fraction is not None:
        cap = np.minimum(cap, fraction * benchmark)
    if revenue_fraction is not None:
        if facts.revenue is None:
            raise ValueError("a revenue-based cap needs participant revenue (YearFacts.revenue)")
        revenue = _array(facts.revenue, shape, "revenue", lo=0.0)
        cap = np.minimum(cap, revenue_fraction * revenue)
    return cap


def settle(
    contract: Terms | AnyDesign,
    benchmark: npt.ArrayLike,
    savings: npt.ArrayLike,
    facts: YearFacts | None = None,
) -> F8:
    """The settlement of each element and the steps that lead to it (USD).

    Parameters
    ----------
    contract : Terms, or a design of any kind
        The compiled terms of a design (a design is compiled first); nothing else of the design
        is read.
    benchmark : array_like
        The benchmark the design settles against (after any discount), USD, positive.
    savings : array_like, same shape
        Benchmark minus settled spend, USD.
    facts : YearFacts, optional
        Attributed members, revenue, quality and relief of each element, where the design's terms
        need them.

    Returns
    -------
    float64 array, ``benchmark.shape + (N_STEPS,)``
        Along the last axis the columns of :data:`STEP_NAMES`: the settlement (> 0: the payer
        pays the provider), then its parts -- shared savings or losses, sequestration, the cap
        adjustment, loss relief and the quality withhold -- which add up to it.
    """
    terms = as_terms(contract)
    facts = facts if facts is not None else YearFacts()
    b = np.asarray(benchmark, dtype=np.float64)
    s = np.asarray(savings, dtype=np.float64)
    if b.shape != s.shape:
        raise ValueError(f"benchmark and savings must have the same shape: {b.shape} vs {s.shape}")
    good = np.isfinite(b) & (b > 0)
    if not np.all(good):
        raise ValueError(
            f"benchmark must be positive and finite everywhere; {first_bad(b, ~good)} "
            f"(design {terms.name!r})"
        )
    finite = np.isfinite(s)
    if not np.all(finite):
        raise ValueError(
            f"savings must be finite everywhere; {first_bad(s, ~finite)} (design {terms.name!r})"
        )
    shape = b.shape
    n = b.size
    bf = np.ascontiguousarray(b).reshape(-1)
    sf = np.ascontiguousarray(s).reshape(-1)
    msr, mlr = _corridors(terms, facts, shape)
    sav_factor, loss_factor, score = _quality_factors(terms, facts, shape)
    corridor = terms.corridor
    below = np.zeros(n)
    if corridor.below_msr_share > 0.0:
        members = _members(facts, shape, "below_msr_share")
        below = np.where(members >= corridor.below_msr_min_members, corridor.below_msr_share, 0.0)
    savings_cap = _cap(terms.savings_cap, terms.savings_cap_revenue, bf, facts, shape)
    loss_cap = _cap(terms.loss_cap, terms.loss_cap_revenue, bf, facts, shape)
    relief = _fraction(facts.loss_relief, terms.loss_relief, shape, "loss_relief")
    withhold_rate = terms.quality.withhold if terms.quality is not None else 0.0
    withhold = -withhold_rate * bf * (1.0 - score)
    out = np.empty((n, N_STEPS), dtype=np.float64)
    _settle.settle_terms(
        terms.sav_lo,
        terms.sav_hi,
        terms.sav_share,
        terms.loss_lo,
        terms.loss_hi,
        terms.loss_share,
        terms.first_dollar,
        terms.sequestration,
        bf,
        sf,
        np.ascontiguousarray(msr),
        np.ascontiguousarray(mlr),
        np.ascontiguousarray(sav_factor),
        np.ascontiguousarray(below),
        np.ascontiguousarray(loss_factor),
        np.ascontiguousarray(savings_cap),
        np.ascontiguousarray(loss_cap),
        relief,
        np.ascontiguousarray(withhold),
        out,
    )
    check_steps(out, terms.name)
    return out.reshape((*shape, N_STEPS))


def check_steps(steps: F8, name: str) -> None:
    """Raise :class:`~simsettle.errors.SimulationError` unless every step in ``steps`` (n,
    N_STEPS) is finite and the parts add up to the settlement within
    ``CONSERVATION_ULPS x eps x sum(|parts|)``; ``name`` is the design, for the message."""
    for start in range(0, steps.shape[0], _CHECK_BLOCK):
        block = steps[start : start + _CHECK_BLOCK]
        finite = np.isfinite(block)
        if not np.all(finite):
            row, col = np.unravel_index(int(np.argmax(~finite)), block.shape)
            raise SimulationError(
                f"design {name!r}: the {STEP_NAMES[col]} step of element {start + int(row)} "
                f"is {show(block[row, col])}; the benchmark or savings are too large for float64"
            )
        parts = block[:, 1:]
        gap = np.abs(block[:, S_SETTLEMENT] - parts.sum(axis=1))
        bound = CONSERVATION_ULPS * (EPS * np.abs(parts).sum(axis=1) + TINY)
        broken = gap > bound
        if np.any(broken):
            at = int(np.argmax(broken))
            raise SimulationError(
                f"design {name!r}: the settlement of element {start + at} "
                f"({show(block[at, S_SETTLEMENT])}) is not the sum of its parts "
                f"{tuple(float(x) for x in parts[at])}; please report this scenario"
            )


def settlement(
    contract: Terms | AnyDesign,
    benchmark: npt.ArrayLike,
    savings: npt.ArrayLike,
    facts: YearFacts | None = None,
) -> F8:
    """Just the settlement column of :func:`settle`."""
    return settle(contract, benchmark, savings, facts)[..., S_SETTLEMENT]


def loss_guardrail(primary: F8, fallback: F8) -> F8:
    """MSSP's ACPT loss guardrail (42 CFR 425.652(b)(5)): where the settlement steps
    ``primary`` (against the benchmark updated with the ACPT) owe shared losses, those of
    ``fallback`` (the same year against the benchmark updated by the realized two-way blend)
    apply instead if they owe less, and nothing is owed or paid where the fallback owes
    nothing (savings, or a loss within the corridor). Both are ``(..., N_STEPS)`` as
    :func:`settle` returns them; the result's steps still add up to its settlement."""
    owed = primary[..., S_SETTLEMENT] < 0.0
    less = fallback[..., S_SETTLEMENT] > primary[..., S_SETTLEMENT]
    out = np.where((owed & less)[..., None], fallback, primary)
    none = owed & (fallback[..., S_SETTLEMENT] >= 0.0)
    out[none] = 0.0
    result: F8 = out
    return result
