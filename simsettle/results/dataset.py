"""Building results Datasets: the settled arrays labelled, with their provenance.

:func:`to_dataset` is where a run's Dataset is made (dims, design coordinates from the
designs, variables with the attributes of :mod:`~simsettle.results.schema`, and the global
attributes of :func:`make_attrs`: provenance, seed, random number generator, versions);
:func:`payoff_dataset` and :func:`derived_dataset` make the payoff curves and the Datasets of
statistics.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from simsettle._kernels import records as R
from simsettle._version import __version__
from simsettle.dims import DIM_INFO, Dim
from simsettle.errors import SimulationError
from simsettle.models.departures import calendar_moments, departure_figures
from simsettle.models.persistence import persistence_moments
from simsettle.models.risk import score_r2
from simsettle.models.roster import programme_reach, spend_share_without
from simsettle.results.schema import (
    _B,
    _COORD_ATTRS,
    _D,
    _DPT,
    _E,
    _L,
    _P,
    _PAYOFF,
    _T,
    _TY,
    _Y,
    RESULTS_FORMAT,
    SIGN_CONVENTION,
    VAR_ATTRS,
)
from simsettle.results.sweeps import label_design_axes
from simsettle.rules.participants import participant_lists
from simsettle.rules.terms import compile_terms
from simsettle.scenario.assumptions import assumptions
from simsettle.scenario.contracts import Design
from simsettle.scenario.costs import CostShape
from simsettle.scenario.io import LoadedScenario
from simsettle.scenario.presets import PRESETS, concentration_warning
from simsettle.scenario.schema import Scenario
from simsettle.scenario.severity import SHAPE_MEANING

if TYPE_CHECKING:
    from simsettle.models.population import ModelInputs
    from simsettle.rules.designs import Settled
    from simsettle.scenario.sweep import DesignGrid

__all__ = [
    "achieved_cost_moments",
    "derived_dataset",
    "make_attrs",
    "payoff_dataset",
    "to_dataset",
]


def _design_row(d: Design) -> dict[str, Any]:
    """One design's coordinate values, read from its compiled terms (the first performance
    year's, for terms that change by year; its ``template`` then names each year's in turn)."""
    row = compile_terms(d).coords()
    by_year = getattr(d, "by_year", None)
    if by_year is not None:
        names = [y.template or "custom" for y in by_year]
        row["template"] = " > ".join(n for i, n in enumerate(names) if i == 0 or names[i - 1] != n)
    return row


def _design_coords(designs: Sequence[Design]) -> dict[str, Any]:
    """The design parameters as non-dimension coordinates on ``design``."""
    rows = [_design_row(d) for d in designs]
    coords: dict[str, Any] = {}
    for name, attrs in _COORD_ATTRS.items():
        values = [row[name] for row in rows]
        dtype = object if isinstance(values[0], str) else np.float64
        coords[name] = (_D, np.array(values, dtype=dtype), attrs)
    return coords


def _versions() -> dict[str, str]:
    import numba

    return {
        "simsettle_version": __version__,
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
        "numba_version": numba.__version__,
        "xarray_version": xr.__version__,
    }


def _roster_figures(scenario: Scenario) -> dict[str, float | str | None]:
    """The roster discrepancy's figures for the run summary (none without one)."""
    att, p = scenario.population.attribution, scenario.population
    if not (att.payer_only_share or att.provider_only_share or att.leakage_share):
        return {}
    out: dict[str, float | str | None] = {
        "payer_only_share": att.payer_only_share,
        "payer_only_correlation": att.payer_only_correlation,
        "provider_only_share": att.provider_only_share,
        "provider_only_correlation": att.provider_only_correlation,
        "leakage_share": att.leakage_share,
        "settled_spend_share": spend_share_without(
            att.provider_only_share, att.provider_only_correlation, p.risk_sigma
        ),
    }
    cm = scenario.care_management
    if cm is not None and cm.high_risk_share > 0.0:
        out["programme_reach"] = programme_reach(
            att.payer_only_share,
            att.payer_only_correlation,
            cm.high_risk_share,
            p.risk_sigma,
            leakage_share=att.leakage_share,
        )
    return out


def achieved_cost_moments(scenario: Scenario) -> dict[str, float | str | None]:
    """The cost model's achieved moments (per member-year, risk included, first year).

    The moments are over the members enrolled all year or until death, decedents included
    (:func:`simsettle.models.departures.calendar_moments`); ``pmpm`` is the scenario's all-in
    PMPM. ``decedent_members_share``, ``decedent_spend_share`` and ``decedent_cost_ratio`` are
    decedents' share of the year's members and spend and their cost against a survivor's
    (:func:`~simsettle.models.departures.departure_figures`). For the frequency-severity model
    the CV is that of a full-year survivor and the spend shares are left out (None): they have
    no closed form there. ``preset`` names the cost block's preset (with
    its published shares, ``preset_top1_share`` ...); ``warning`` says when the spend shares are
    unlike any published population's (:func:`simsettle.scenario.presets.concentration_warning`).
    With ``cost.persistence`` (mixture), ``persistence_top1_retained`` is the share of the
    costliest 1% of continuing members there again the next year and ``persistence_corr`` the
    correlation of their cost a year apart
    (:func:`~simsettle.models.persistence.persistence_moments`). ``risk_score_accuracy`` is the
    population's, ``risk_score_r2`` the risk score's individual R-squared for annual cost and
    ``true_risk_r2`` the true risk's, the most a score could explain
    (:func:`simsettle.models.risk.score_r2`, at the CV above). With a roster discrepancy,
    ``payer_only_share``, ``payer_only_correlation``, ``provider_only_share``,
    ``provider_only_correlation`` and ``leakage_share`` are the population's;
    ``settled_spend_share`` is the share of expected spend the settlement counts (members not
    provider-only) and, with a care-management programme, ``programme_reach`` the share of the
    cost a programme that knew and reached every member would avoid that it avoids, both for
    members in their first year (:mod:`simsettle.models.roster`).
    """
    c, p = scenario.cost, scenario.population
    fig = departure_figures(p)
    out: dict[str, float | str | None] = {
        "preset": c.preset,
        "decedent_members_share": fig.members_share,
        "decedent_spend_share": fig.spend_share,
        "decedent_cost_ratio": fig.ratio_to_survivors,
        "risk_score_accuracy": p.risk_score_accuracy,
        **_roster_figures(scenario),
    }
    if c.preset is not None:
        published = PRESETS[c.preset]
        out["preset_label"] = published.label
        out["preset_source"] = published.source
        out["preset_top1_share"] = published.top1_share
        out["preset_top5_share"] = published.top5_share
        out["preset_top10_share"] = published.top10_share
    if c.model == "frequency_severity":
        cv = c.compound_cv
        cv2 = math.exp(p.risk_sigma**2) * (1.0 + cv * cv) - 1.0
        frailty = (
            f", a {c.claim_frailty} frailty of "
            f"{'sd' if c.claim_frailty == 'gamma' else 'log-sd'} {c.claim_dispersion:g}"
            if c.claim_dispersion > 0.0
            else ", Poisson"
        )
        count = c.count_law
        if count is not None:
            if c.claim_count == "binomial":
                frailty = f", binomial of {c.claim_trials} trials"
            if count.zero_probability is not None:
                frailty += f", none in {count.zero_probability:.1%} of member-years"
        out["claims"] = (
            f"{c.claims_per_year:g} a year at risk 1{frailty}; severity {c.severity_law.describe()}"
        )
        return {
            "pmpm": c.pmpm,
            "cv": math.sqrt(cv2),
            "risk_score_r2": score_r2(p.risk_sigma, p.risk_score_accuracy, math.sqrt(cv2)),
            "true_risk_r2": score_r2(p.risk_sigma, 1.0, math.sqrt(cv2)),
            "top1_share": None,
            "top5_share": None,
            "top10_share": None,
            "zero_share": None,
            "warning": None,
            **out,
        }
    shape = c.shape(p.risk_sigma)
    if not shape.mixture.standard:
        out["body"] = _body_phrase(shape)
    m = calendar_moments(shape, p, episodic=c.partial_year == "exposure")
    if c.persistence > 0.0:
        pm = persistence_moments(shape, c.persistence, p.risk_persistence)
        out["persistence"] = c.persistence
        out["persistence_top1_retained"] = pm.top1_retained
        out["persistence_corr"] = pm.corr
    return {
        "pmpm": c.pmpm,
        "cv": m.cv,
        "risk_score_r2": score_r2(p.risk_sigma, p.risk_score_accuracy, m.cv),
        "true_risk_r2": score_r2(p.risk_sigma, 1.0, m.cv),
        "top1_share": m.top1_share,
        "top5_share": m.top5_share,
        "top10_share": m.top10_share,
        "zero_share": m.zero_share,
        "warning": concentration_warning(m.top1_share, m.top5_share),
        **out,
    }


def make_attrs(
    loaded: LoadedScenario,
    *,
    seed: int,
    trials: int,
    inputs: ModelInputs,
    command: str | None = None,
) -> dict[str, Any]:
    """Global attributes: provenance, seed, random number generator, versions, conventions."""
    sc = loaded.scenario
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    what = command if command is not None else "simsettle.simulate()"
    attrs: dict[str, Any] = {
        "title": sc.name or Path(loaded.source).stem,
        "Conventions": "CF-1.11",
        "source": f"simsettle {__version__}",
        "history": f"{now} {what}",
        "simsettle_results_format": RESULTS_FORMAT,
        "scenario_source": loaded.source,
        "scenario_yaml": loaded.text,
        "scenario_sha256": loaded.sha256,
        "seed": int(seed),
        "trials": int(trials),
        "rng": "philox4x32-10",
        "rng_key_derivation": "numpy.random.SeedSequence(seed).generate_state(2, uint32); "
        "counter = (trial, simulated year, member slot, stream)",
        "base_years": inputs.n_base_years,
        "benchmark_rule": sc.benchmark.describe(sc.first_performance_year),
        "assumptions": json.dumps([str(a) for a in assumptions(sc)]),
        "cost_moments": json.dumps(achieved_cost_moments(sc)),
        "sign_convention": SIGN_CONVENTION,
        "money_units": "USD (nominal; 'USD' is not a UDUNITS unit)",
        "model_parameters": json.dumps(
            {
                "params": inputs.parameters(),
                "stop_loss_attachments": [float(x) for x in inputs.attachments],
            }
        ),
    }
    if loaded.overrides:
        attrs["scenario_overrides"] = json.dumps(list(loaded.overrides))
    attrs.update(_versions())
    if inputs.truncation:
        # The truncation threshold of each performance year (USD per member-year).
        nb = inputs.n_base_years
        attrs["truncation_thresholds"] = json.dumps([float(x) for x in inputs.truncation[nb:]])
        t = sc.truncation
        assert t is not None
        attrs["truncation_rule"] = (
            f"the {t.percentile:.4g} percentile of member-year cost"
            if t.percentile is not None
            else "a threshold in USD"
        )
        if inputs.type_truncation and t.percentile is not None:
            attrs["truncation_rule"] += (
                " (of the type with cost ratio 1; each enrolment type's is scaled by its ratio)"
            )
    return attrs


def to_dataset(
    settled: Settled,
    loaded: LoadedScenario,
    *,
    seed: int,
    trials: int,
    inputs: ModelInputs,
    command: str | None = None,
    designs: DesignGrid | None = None,
) -> xr.Dataset:
    """Label the settled arrays: the one place simsettle builds a Dataset.

    ``designs`` are a sweep point's designs at every combination of the design axes, in the
    order settled: the ``design`` dim is then followed by one dim per design axis
    (:func:`~simsettle.results.sweeps.label_design_axes`). Default: the scenario's designs.
    """
    sc = loaded.scenario
    settled_designs = sc.all_designs if designs is None else designs.designs
    names = [d.name for d in sc.all_designs] if designs is None else list(designs.names)
    steps = settled.steps
    settlement = steps[..., R.S_SETTLEMENT]
    # Per-design variables first, so the Dataset's dims read (design, trial, year).
    data: dict[str, tuple[tuple[str, ...], np.ndarray[Any, Any]]] = {
        "settlement": (_DPT, settlement),
        "shared_savings": (_DPT, np.maximum(settlement, 0.0)),
        "shared_losses": (_DPT, np.maximum(-settlement, 0.0)),
        "savings": (_DPT, settled.savings),
        "savings_rate": (_DPT, settled.savings / settled.settlement_benchmark),
        "settlement_benchmark": (_DPT, settled.settlement_benchmark),
        "sequestered": (_DPT, -steps[..., R.S_SEQUESTRATION]),
        "cap_adjustment": (_DPT, steps[..., R.S_CAP]),
        "loss_relief": (_DPT, steps[..., R.S_LOSS_RELIEF]),
        "quality_withhold": (_DPT, -steps[..., R.S_WITHHOLD]),
        "stop_loss_recovery": (_DPT, settled.stop_loss_recovery),
        "stop_loss_premium": (_DPT, settled.stop_loss_premium),
        "payoff": ((_D, _PAYOFF), settled.payoff),
        "benchmark": (_TY, settled.benchmark),
        "actual_spend": (_TY, settled.actual_spend),
        "member_months": (_TY, settled.member_months),
        "attributed_members": (_TY, settled.attributed_members),
        "risk_score": (_TY, settled.risk_score),
        "trend_index": (_TY, settled.trend_index),
        "reference_index": (_TY, settled.reference_index),
    }
    # Variables a scenario has only with timing, participants, lines of business, a portfolio,
    # quality or care management, in the order they are stored.
    optional: dict[str, tuple[tuple[str, ...], np.ndarray[Any, Any] | None]] = {
        "settlement_estimated": (_DPT, settled.settlement_estimated),
        "interim_payment": (_DPT, settled.interim_payment),
        "settlement_pv": (_DPT, settled.settlement_pv),
        "capitation_advance": (_DPT, settled.capitation_advance),
        "capitated_claims": (_DPT, settled.capitated_claims),
        "capitation_reconciliation": (_DPT, settled.capitation_reconciliation),
        "participant_payout": ((_D, _P, _T, _Y), settled.participant_payout),
        "participant_spend": ((_P, _T, _Y), settled.participant_spend),
        "participant_member_months": ((_P, _T, _Y), settled.participant_member_months),
        "line_benchmark": ((_L, _T, _Y), settled.line_benchmark),
        "line_actual_spend": ((_L, _T, _Y), settled.line_actual_spend),
        "line_member_months": ((_L, _T, _Y), settled.line_member_months),
        "line_truncated_spend": ((_L, _T, _Y), settled.line_truncated_spend),
        "portfolio_settlement": (_TY, settled.portfolio_settlement),
        "quality_score": (_TY, settled.quality_score),
        "care_management_cost": (_TY, settled.care_management_cost),
        "care_management_savings": (_TY, settled.care_management_savings),
        "truncated_spend": (_TY, settled.truncated_spend),
        "regional_adjustment": (_TY, settled.regional_adjustment),
        "prior_savings_adjustment": (_TY, settled.prior_savings_adjustment),
        "benchmark_adjustment": (_TY, settled.benchmark_adjustment),
        "type_benchmark": ((_E, _T, _Y), settled.type_benchmark),
        "type_spend": ((_E, _T, _Y), settled.type_spend),
        "type_member_months": ((_E, _T, _Y), settled.type_member_months),
        "claim_contagion": (_TY, settled.claim_contagion),
        "expected_trend_index": ((_Y,), settled.expected_trend_index),
        "expected_reference_index": ((_Y,), settled.expected_reference_index),
        "base_trend_index": ((_T, _B), settled.base_trend_index),
        "base_reference_index": ((_T, _B), settled.base_reference_index),
        "expected_base_trend_index": ((_B,), settled.expected_base_trend_index),
        "expected_base_reference_index": ((_B,), settled.expected_base_reference_index),
        "specific_stop_loss_recovery": (_DPT, settled.specific_stop_loss_recovery),
        "specific_stop_loss_premium": (_DPT, settled.specific_stop_loss_premium),
        "aggregate_stop_loss_recovery": (_DPT, settled.aggregate_stop_loss_recovery),
        "aggregate_stop_loss_premium": (_DPT, settled.aggregate_stop_loss_premium),
        "provider_net": (_DPT, settled.provider_net),
        "provider_costs": (_DPT, settled.provider_costs),
        "forgone_margin": (_DPT, settled.forgone_margin),
        "provider_stop_loss_net": (_DPT, settled.provider_stop_loss_net),
    }
    data.update({name: (dims, a) for name, (dims, a) in optional.items() if a is not None})
    if sc.participants is not None:
        lists = participant_lists(sc.participants, sc.first_performance_year, len(sc.years))
        data["participant_active"] = ((_P, _Y), np.ascontiguousarray(lists.T))
    for name, (_, arr) in data.items():
        if not np.all(np.isfinite(arr)):
            raise SimulationError(f"{name} has non-finite values; please report this scenario")
    coords: dict[str, Any] = {
        _D: (_D, np.array(names, dtype=object), DIM_INFO[Dim.DESIGN]),
        _T: (_T, np.arange(trials, dtype=np.int64), DIM_INFO[Dim.TRIAL]),
        _Y: (_Y, np.array(sc.years, dtype=np.int64), DIM_INFO[Dim.YEAR]),
        _PAYOFF: (_PAYOFF, settled.payoff_rates, DIM_INFO[Dim.PAYOFF_SAVINGS_RATE]),
    }
    nb = inputs.n_base_years
    if nb:
        first = sc.first_performance_year - nb
        coords[_B] = (_B, np.arange(first, first + nb, dtype=np.int64), DIM_INFO[Dim.BASE_YEAR])
    if sc.participants is not None:
        practices = [p.name for p in sc.participants.practices]
        coords[_P] = (_P, np.array(practices, dtype=object), DIM_INFO[Dim.PARTICIPANT])
    types = sc.population.enrollment_types
    if types is not None:
        coords[_E] = (
            _E,
            np.array([t.name for t in types], dtype=object),
            DIM_INFO[Dim.ENROLLMENT_TYPE],
        )
    if settled.lines:
        coords[_L] = (_L, np.array(settled.lines, dtype=object), DIM_INFO[Dim.LINE])
        coords["line"] = (
            _D,
            np.array(settled.design_line, dtype=object),
            {"long_name": "line of business", "description": "Portfolio line of the design."},
        )
    if designs is None:
        coords.update(_design_coords(settled_designs))
    else:
        data, grid_coords = label_design_axes(designs, data, _design_coords(settled_designs))
        coords.update(grid_coords)
        if designs.n_variants > 1:
            # A design sweep's results list their coordinates as they always have: the other
            # dimensions in the order the variables meet them, then ``design`` and the rest.
            axes = {a.dim for a in designs.axes}
            lead = [
                d
                for d in dict.fromkeys(d for dims, _ in data.values() for d in dims)
                if d in coords and d != _D and d not in axes
            ]
            coords = {k: coords[k] for k in (*lead, *(k for k in coords if k not in lead))}
    ds = xr.Dataset(
        {name: (dims, arr, dict(VAR_ATTRS[name])) for name, (dims, arr) in data.items()},
        coords=coords,
        attrs=make_attrs(loaded, seed=seed, trials=trials, inputs=inputs, command=command),
    )
    if sc.participants is not None:
        # Whether each year's benchmark follows its participant list (participants.restate).
        ds["participant_active"].attrs["benchmark_restated"] = int(sc.participants.restate)
    return ds


def payoff_dataset(
    designs: Sequence[Design], rates: np.ndarray[Any, Any], table: np.ndarray[Any, Any]
) -> xr.Dataset:
    """Payoff curves of ``designs`` as a Dataset shaped like a results file's ``payoff``."""
    names = [d.name for d in designs]
    coords: dict[str, Any] = {
        _D: (_D, np.array(names, dtype=object), DIM_INFO[Dim.DESIGN]),
        _PAYOFF: (_PAYOFF, np.asarray(rates, dtype=np.float64), DIM_INFO[Dim.PAYOFF_SAVINGS_RATE]),
        **_design_coords(designs),
    }
    return xr.Dataset(
        {"payoff": ((_D, _PAYOFF), np.asarray(table, dtype=np.float64), dict(VAR_ATTRS["payoff"]))},
        coords=coords,
        attrs={
            "title": "Payoff curves",
            "source": f"simsettle {__version__}",
            "sign_convention": SIGN_CONVENTION,
        },
    )


def derived_dataset(
    data_vars: Mapping[Hashable, xr.DataArray], attrs: Mapping[str, Any]
) -> xr.Dataset:
    """A Dataset of quantities derived from results (statistics), checked for documentation.

    Every variable must already carry ``long_name``, ``units`` and ``description``.
    """
    for name, var in data_vars.items():
        missing = [k for k in ("long_name", "units", "description") if not var.attrs.get(k)]
        if missing:
            raise ValueError(f"derived variable {name!r} lacks attrs {missing}")
    return xr.Dataset(dict(data_vars), attrs=dict(attrs))


def _body_phrase(shape: CostShape) -> str:
    """The body's and the tail's families in a phrase, for a mixture of other families."""
    mix = shape.mixture
    meaning = SHAPE_MEANING.get(mix.body_family, "log-sd sigma")
    body = f"a {mix.body_family} body ({meaning} {mix.body_sigma:.3g})"
    if mix.tail_family == "pareto":
        tail = f"a Pareto tail of alpha {mix.tail_shape:.3g}"
    else:
        tail = f"a gpd tail of xi {mix.tail_shape:.3g} and scale ${mix.tail_scale:,.0f}"
    return f"{body}; {tail} above ${mix.tail_threshold:,.0f}"
