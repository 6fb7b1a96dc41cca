"""Gate for the member-level kernels: scenario -> named parameter record, then checked calls."""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from simsettle._kernels import population as _pop
from simsettle._kernels import records as R
from simsettle.models.departures import calendar_quantile
from simsettle.rules.terms import compile_terms
from simsettle.scenario.contracts import AnyDesign
from simsettle.scenario.frequency import CountLaw
from simsettle.scenario.schema import Cost, Scenario
from simsettle.scenario.severity import SeverityLaw, mean_factor, tail_excess

__all__ = [
    "ModelInputs",
    "check_inputs",
    "compile_model",
    "expected_indices",
    "key_from_seed",
    "simulate_aggregates",
    "simulate_stays",
    "truncation_thresholds",
]


@dataclass(frozen=True)
class ModelInputs:
    """Everything the member kernels need, built once per run (and line of business).

    ``params`` is the named parameter record, a 0-d array of
    :data:`~simsettle._kernels.records.MODEL_DTYPE` (``params["turnover"]``); ``attachments``
    the sorted unique stop-loss attachment points of all designs; ``practices`` the participant
    practices' slot bounds and cost ratios; ``n_years`` the number of simulated years (base
    years, then performance years); ``practice_detail`` whether the kernels sum every member
    field per practice (practices join or leave: :attr:`practice_width`).
    """

    params: npt.NDArray[np.void]
    attachments: npt.NDArray[np.float64]
    practices: npt.NDArray[np.float64]
    n_base_years: int
    n_performance_years: int
    practice_detail: bool = False
    #: The truncation threshold of each simulated year (USD; each is one of ``attachments``),
    #: () without truncation.
    truncation: tuple[float, ...] = ()
    #: With enrolment types (the practice lanes are the types): each type's threshold of each
    #: simulated year (type, year), each one of ``attachments``; () without truncation.
    type_truncation: tuple[tuple[float, ...], ...] = ()

    @property
    def n_years(self) -> int:
        """Simulated years per trial: base years then performance years."""
        return self.n_base_years + self.n_performance_years

    def parameters(self) -> dict[str, float]:
        """The model's parameters by name, as the results record them."""
        return {name: float(self.params[name]) for name in R.MODEL_DTYPE.names or ()}

    @property
    def practice_width(self) -> int:
        """Aggregate fields per practice: spend and member months; with ``practice_detail``
        (practices join or leave) every member field and the excess over each attachment."""
        if self.practice_detail:
            return R.N_LANE_FIELDS + int(self.attachments.shape[0])
        return 2

    @property
    def n_fields(self) -> int:
        """Aggregate fields per trial-year: the base fields, one excess per attachment, and
        :attr:`practice_width` per practice (``records`` lays them out)."""
        n_practices = int(self.practices.shape[0])
        return R.N_BASE_FIELDS + int(self.attachments.shape[0]) + self.practice_width * n_practices

    @property
    def practice_fields(self) -> tuple[slice, slice]:
        """Fields of the practices' spend and member months."""
        first = R.N_BASE_FIELDS + int(self.attachments.shape[0])
        n = int(self.practices.shape[0])
        return slice(first, first + n), slice(first + n, first + 2 * n)


#: Parameters that may be infinite: thresholds that nobody (or everybody) passes.
_MAY_BE_INFINITE = frozenset({"care_management_z", "payer_only_z", "provider_only_z"})


def _upper_quantile(share: float) -> float:
    """The standard normal quantile of ``1 - share``: +inf for 0 (nobody above), -inf for 1."""
    if share <= 0.0:
        return math.inf
    if share >= 1.0:
        return -math.inf
    return -NormalDist().inv_cdf(share)


def _latent_quantile(share: float) -> float:
    """The standard normal quantile of ``share``, -40 for 0 and 40 for 1 (beyond any latent
    normal the kernels draw)."""
    if share <= 0.0:
        return -40.0
    if share >= 1.0:
        return 40.0
    return NormalDist().inv_cdf(share)


def stop_loss_attachments(
    designs: Sequence[AnyDesign], extra: Sequence[float] = ()
) -> npt.NDArray[np.float64]:
    """Sorted unique attachment points (USD) named by ``designs``' compiled terms, and the
    ``extra`` points (the truncation thresholds)."""
    every = [y for d in designs for y in (getattr(d, "by_year", None) or (d,))]
    compiled = [compile_terms(d).stop_loss for d in every]
    points = {sl.attachment for sl in compiled if sl is not None} | set(extra)
    points |= {sl.upper_attachment for sl in compiled if sl is not None and sl.upper_attachment}
    return np.array(sorted(points), dtype=np.float64)


def truncation_thresholds(scenario: Scenario, n_years: int) -> tuple[float, ...]:
    """The truncation threshold of each simulated year (USD per member-year), () without
    truncation: ``threshold`` or the ``percentile`` of the first year's member-year cost,
    grown at the truncation's ``trend_rate`` (default: none for a threshold, ``trend.mean`` for
    a percentile)."""
    t = scenario.truncation
    if t is None:
        return ()
    if t.threshold is not None:
        base = t.threshold
        rate = 0.0 if t.trend_rate is None else t.trend_rate
    else:
        assert t.percentile is not None
        pop, cost = scenario.population, scenario.cost
        shape = cost.shape(pop.risk_sigma)
        episodic = cost.partial_year == "exposure"
        # The kernels draw every cost at 1 / departure_load of the shape's scale.
        base = calendar_quantile(shape, pop, t.percentile, episodic) / pop.departure_load
        if not (base > 0.0 and math.isfinite(base)):
            raise ValueError(
                f"the {t.percentile} percentile of member-year cost is {base}: below it lie "
                "the member-years with no cost; give a higher truncation.percentile"
            )
        rate = scenario.trend.mean if t.trend_rate is None else t.trend_rate
    return tuple(base * (1.0 + rate) ** y for y in range(n_years))


def compile_model(
    scenario: Scenario,
    *,
    member_offset: int = 0,
    designs: Sequence[AnyDesign] | None = None,
    n_base_years: int | None = None,
) -> ModelInputs:
    """Solve the scenario's cost, population and trend blocks into the kernel's parameters.

    ``member_offset`` is the first member counter word: lines of business of a portfolio use
    disjoint member streams and share the trial-level (trend, shock, quality) draws.
    ``designs`` are the designs whose stop-loss attachments the kernel sums the excess over
    (a sweep point's design variants; default: the scenario's designs). ``n_base_years`` are
    the base years simulated before the performance years (default: those the scenario's
    benchmarks read, :attr:`Scenario.simulated_base_years`; a portfolio's lines share the
    portfolio's).
    """
    n_base = scenario.simulated_base_years if n_base_years is None else n_base_years
    if n_base < scenario.benchmark.base_years:
        raise ValueError(
            f"the benchmark reads {scenario.benchmark.base_years} base years; {n_base} given"
        )
    pop, cost, trend = scenario.population, scenario.cost, scenario.trend
    p = np.zeros((), dtype=R.MODEL_DTYPE)
    p["members"] = float(pop.members)
    p["turnover"] = pop.turnover
    p["replacement"] = pop.replacement
    p["risk_sigma"] = pop.risk_sigma
    p["risk_rho"] = pop.risk_persistence
    p["zero_share"] = cost.zero_cost_share
    p["tail_probability"] = cost.tail_probability
    # Every member's cost is scaled by 1 / load so that the all-in PMPM, decedents and partial
    # years included, is cost.pmpm (Population.departure_load).
    load = pop.departure_load
    p["tail_scale"] = cost.tail_threshold / load
    p["tail_inv_shape"] = 1.0 / cost.tail_shape if cost.tail_family == "pareto" else 0.0
    # The body is lognormal with mean cost.body_mean / load: mu = log(mean) - sigma^2 / 2.
    # (Under frequency_severity the mixture's fields are unused and need not make a body.)
    mixture = cost.model == "mixture"
    sigma = cost.resolved_body_shape if cost.body_family == "lognormal" else cost.body_sigma
    p["body_mu"] = math.log(cost.body_mean / load) - 0.5 * sigma**2 if mixture else 0.0
    p["body_sigma"] = sigma
    if mixture and not cost.shape(pop.risk_sigma).mixture.standard:
        for name, value in general_fields(cost, load).items():
            p[name] = value
    # Growth factors lognormal with mean 1 + trend.mean (the reference's likewise).
    p["trend_mu"] = math.log1p(trend.mean) - 0.5 * trend.sd**2
    p["trend_sd"] = trend.sd
    ref_mean = trend.mean if trend.reference_mean is None else trend.reference_mean
    ref_sd = trend.sd if trend.reference_sd is None else trend.reference_sd
    p["reference_trend_mu"] = math.log1p(ref_mean) - 0.5 * ref_sd**2
    p["reference_trend_sd"] = ref_sd
    p["trend_correlation"] = trend.correlation
    nat_mean = ref_mean if trend.national_mean is None else trend.national_mean
    nat_sd = ref_sd if trend.national_sd is None else trend.national_sd
    p["national_trend_mu"] = math.log1p(nat_mean) - 0.5 * nat_sd**2
    p["national_trend_sd"] = nat_sd
    p["national_correlation"] = trend.national_correlation
    p["shock_probability"] = trend.shock_probability
    p["shock_log"] = math.log1p(trend.shock_size)
    p["ageing_log"] = math.log1p(pop.ageing)
    # The risk score predicts the expected-cost multiplier from a signal correlated
    # sqrt(risk_score_accuracy) with its latent z (MemberModel.loading).
    p["score_loading"] = math.sqrt(pop.risk_score_accuracy)
    # New members' latent z is shifted so that their median expected cost is entrant_risk_ratio
    # times (their median score: entrant_risk_ratio ** risk_score_accuracy times).
    p["entrant_shift"] = (
        math.log(pop.entrant_risk_ratio) / pop.risk_sigma if pop.risk_sigma > 0 else 0.0
    )
    # Demographic scores are only accumulated when the benchmark uses them (-1: skip).
    p["demographic_signal"] = (
        pop.demographic_signal if scenario.benchmark.uses_demographic_scores else -1.0
    )
    p["no_care_retention"] = pop.attribution.retention
    att = pop.attribution
    p["payer_only_share"] = att.payer_only_share
    p["provider_only_share"] = att.provider_only_share
    # A roster status is a latent normal above its share's upper quantile (member.roster).
    p["payer_only_correlation"] = att.payer_only_correlation
    p["payer_only_z"] = _upper_quantile(att.payer_only_share)
    p["provider_only_correlation"] = att.provider_only_correlation
    p["provider_only_z"] = _upper_quantile(att.provider_only_share)
    p["member_offset"] = float(member_offset)
    if cost.model == "frequency_severity":
        severity_mean = 12.0 * cost.pmpm / load / cost.claims_per_year
        p["frequency_severity"] = 1.0
        p["claims_per_year"] = cost.claims_per_year
        p["claim_frailty"] = cost.claim_dispersion
        p["claim_contagion"] = cost.contagion
        p["claim_frailty_gamma"] = 1.0 if cost.claim_frailty == "gamma" else 0.0
        count = cost.count_law
        if count is not None:
            for name, value in count_fields(count).items():
                p[name] = value
        law = cost.severity_law
        if law.family == "lognormal":
            # Drawn from the claim blocks' normals (SEV_LOGNORMAL), whether given as
            # severity_sigma or as severity: {family: lognormal}.
            p["severity_mu"] = math.log(severity_mean) - 0.5 * law.shape**2
            p["severity_sigma"] = law.shape
        else:
            for name, value in severity_fields(law.scaled(1.0 / load)).items():
                p[name] = value
    # A partial-year stay's cost: one episode with this probability, else pro rata.
    p["episodic_share"] = cost.episodic_share
    # Departure modes, and the decedent's end-of-life episode: its mean tops up the ordinary
    # cost of the mean half year to decedent_cost_ratio times a full year's.
    p["death_rate"] = pop.death_rate
    p["attribution_loss_rate"] = pop.attribution_loss
    p["terminal_mean"] = (pop.decedent_cost_ratio - 0.5) * cost.annual_mean / load
    p["terminal_sigma"] = pop.terminal_cost_sigma
    p["entrant_cost_ratio"] = pop.entrant_cost_ratio
    # Persistence: the latent class normal's thresholds (member.latent_cost), the tail's by
    # the complement so that it is exact for a small tail probability; without a zero class or
    # a tail, +-40, beyond any latent normal (a Box-Muller normal is below 6.8 in size).
    p["cost_persistence"] = cost.persistence
    # (A share of 1 is possible only under frequency_severity, which reads neither.)
    p["cost_zero_z"] = _latent_quantile(cost.zero_cost_share)
    p["cost_tail_z"] = -_latent_quantile(cost.tail_probability)
    cm = scenario.care_management
    p["care_management_z"] = math.inf
    if cm is not None and cm.high_risk_share > 0.0:
        # Enrol the high_risk_share of members with the highest latent risk z ~ N(0, 1).
        p["care_management_z"] = (
            -math.inf
            if cm.high_risk_share >= 1.0
            else NormalDist().inv_cdf(1.0 - cm.high_risk_share)
        )
    # The programme acts on the spend within the provider's reach only.
    p["care_management_effect"] = 0.0 if cm is None else cm.effect * (1.0 - att.leakage_share)
    p["care_management_from"] = (
        float(n_base) if cm is not None and cm.start == "performance_years" else 0.0
    )
    # A frequency-severity roster that never changes, of members with one expected cost, score
    # and care: nothing the member draws give can change a result, and the trial loop skips
    # them (tests/test_compound_lanes.py runs both ways, to the bit).
    p["static_roster"] = float(
        p["frequency_severity"] > 0.5
        and p["turnover"] == 0.0
        and p["risk_sigma"] == 0.0
        and p["care_management_z"] == math.inf
        and p["no_care_retention"] >= 1.0
        and p["payer_only_share"] == 0.0
        and p["provider_only_share"] == 0.0
    )
    qm = scenario.quality_model
    if qm is not None:
        p["quality_mu"] = math.log(qm.mean / (1.0 - qm.mean))
        p["quality_sd"] = qm.sd
        p["quality_rho"] = qm.persistence
    # The care-management and roster thresholds alone may be infinite (nobody, or everybody).
    bad = [
        name
        for name in R.MODEL_DTYPE.names or ()
        if np.isnan(p[name]) or (name not in _MAY_BE_INFINITE and not np.isfinite(p[name]))
    ]
    if bad:  # pragma: no cover - the scenario models rule this out
        raise ValueError(f"model parameters are not all finite: {bad} in {p!r}")
    truncation = truncation_thresholds(scenario, n_base + scenario.performance_years)
    part = scenario.participants
    types = pop.enrollment_types
    type_truncation: tuple[tuple[float, ...], ...] = ()
    if types is not None and truncation:
        # A percentile of the type's cost, which is the population's times its cost ratio; a
        # threshold in dollars is the same for every type.
        scale = scenario.truncation is not None and scenario.truncation.percentile is not None
        type_truncation = tuple(
            tuple(x * t.cost_ratio if scale else x for x in truncation) for t in types
        )
    return ModelInputs(
        params=p,
        attachments=stop_loss_attachments(
            scenario.designs if designs is None else designs,
            truncation + tuple(x for row in type_truncation for x in row),
        ),
        practices=practice_table(scenario),
        n_base_years=n_base,
        n_performance_years=scenario.performance_years,
        # Every member field per practice where practices join or leave, and where their
        # spend is truncated (the excess over the threshold, per practice); every member field
        # per enrolment type, whose benchmarks are built apart.
        practice_detail=types is not None
        or (part is not None and (part.churns or bool(truncation))),
        truncation=truncation,
        type_truncation=type_truncation,
    )


def practice_table(scenario: Scenario) -> npt.NDArray[np.float64]:
    """(P, 2): each practice's exclusive upper member slot and its cost ratio; with enrolment
    types, each type's (the kernels' lanes are then the types)."""
    part = scenario.participants
    types = scenario.population.enrollment_types
    lanes: list[tuple[float, float]]
    if types is not None:
        lanes = [(t.share, t.cost_ratio) for t in types]
    elif part is not None:
        lanes = [(p.share, p.cost_ratio) for p in part.practices]
    else:
        return np.zeros((0, 2), dtype=np.float64)
    n = scenario.population.members
    bounds = np.rint(np.cumsum([share for share, _ in lanes]) * n)
    bounds[-1] = n
    return np.column_stack([bounds, [ratio for _, ratio in lanes]]).astype(np.float64)


def expected_indices(inputs: ModelInputs) -> tuple[npt.NDArray[np.float64], ...]:
    """The exact expectation of the systemic cost index and of the reference population's
    in each simulated year (base years first), from the parameters the kernel draws by.

    Year ``y``'s index is the product of ``y`` lognormal growth factors of mean ``1 + mean``
    (:func:`~simsettle._kernels.member.system_years`: ``exp(mu + sd g)`` with ``mu = log(1 +
    mean) - sd^2 / 2``), each independent, times that year's shock factor ``exp(shock_log)``
    with probability ``shock_probability`` (from the second year on), so ``E[index_y] =
    exp(y (mu + sd^2 / 2)) (1 - p + p exp(shock_log))``. These are the known means the control
    variates of :func:`simsettle.stats.controlled` correct the settlement's mean by.
    """
    p = inputs.params
    years = np.arange(inputs.n_years, dtype=np.float64)
    prob = float(p["shock_probability"])
    shock = np.where(years > 0, 1.0 - prob + prob * math.exp(float(p["shock_log"])), 1.0)
    out = []
    for mu, sd in (("trend_mu", "trend_sd"), ("reference_trend_mu", "reference_trend_sd")):
        growth = float(p[mu]) + 0.5 * float(p[sd]) ** 2
        out.append(np.exp(years * growth) * shock)
    return tuple(out)


def key_from_seed(seed: int) -> tuple[np.uint32, np.uint32]:
    """The Philox key for a root seed, through :class:`numpy.random.SeedSequence`."""
    value = operator.index(seed)
    if value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    k = np.random.SeedSequence(value).generate_state(2, np.uint32)
    return np.uint32(k[0]), np.uint32(k[1])


def check_inputs(
    inputs: ModelInputs, trial0: int, n_trials: int
) -> tuple[npt.NDArray[np.void], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The one check of a member kernel's inputs, for the CPU and the GPU gates alike.

    Returns the parameter record as the kernels take it (a one-element ``MODEL_DTYPE`` array:
    numba's parallel loops take arrays of records, not records), and the attachments and
    practices as C-contiguous float64 arrays.
    """
    if trial0 < 0 or n_trials < 0 or trial0 + n_trials > 2**32:
        raise ValueError(f"trials must lie in [0, 2**32); got trial0={trial0}, n_trials={n_trials}")
    params = np.asarray(inputs.params)
    if params.dtype != R.MODEL_DTYPE or params.shape != ():
        raise ValueError(
            f"params must be a 0-d array of records.MODEL_DTYPE, got {params.dtype} {params.shape}"
        )
    attachments = np.ascontiguousarray(inputs.attachments, dtype=np.float64)
    if attachments.ndim != 1 or not np.all(attachments > 0):
        raise ValueError(f"attachments must be a 1-d array of positive USD, got {attachments!r}")
    if params["members"] + params["member_offset"] >= 2**32 - 1:
        raise ValueError("members must be below 2**32 - 1 (the counter word)")
    practices = np.ascontiguousarray(inputs.practices, dtype=np.float64).reshape(-1, 2)
    return np.ascontiguousarray(params.reshape(1)), attachments, practices


#: The CPU entry point of each (parallel, cost rule): the memoryless mixture (""), the
#: persistent mixture and frequency_severity (:func:`simsettle._kernels.population.persists`,
#: :func:`~simsettle._kernels.population.compounds`).
_KERNELS = {
    (False, ""): _pop.simulate_trials,
    (False, "persistent"): _pop.simulate_trials_persistent,
    (False, "compound"): _pop.simulate_trials_compound,
    (True, ""): _pop.simulate_trials_parallel,
    (True, "persistent"): _pop.simulate_trials_parallel_persistent,
    (True, "compound"): _pop.simulate_trials_parallel_compound,
}


def simulate_aggregates(
    inputs: ModelInputs,
    key: tuple[np.uint32, np.uint32],
    trial0: int,
    n_trials: int,
    *,
    parallel: bool = False,
) -> npt.NDArray[np.float64]:
    """Aggregates of trials ``trial0 .. trial0 + n_trials - 1``.

    Returns
    -------
    float64 array (n_trials, n_years, n_fields)
        Per trial and simulated year (base years first): the fields of
        :data:`simsettle._kernels.records.FIELD_NAMES`, then the excess over each attachment.
    """
    params, attachments, practices = check_inputs(inputs, trial0, n_trials)
    out = np.zeros((n_trials, inputs.n_years, inputs.n_fields), dtype=np.float64)
    size = _pop.work_size(inputs.n_years, int(attachments.shape[0]))
    # One entry point per cost rule, each compiled with only its own rule.
    rule = "persistent" if _pop.persists(params) else "compound" if _pop.compounds(params) else ""
    if parallel:
        import numba

        # One scratch row per thread: the parallel kernel splits the trials into that many parts.
        parts = max(1, min(numba.get_num_threads(), n_trials))
        work = np.empty((parts, size), dtype=np.float64)
        kernel = _KERNELS[True, rule]
    else:
        work = np.empty((1, size), dtype=np.float64)
        kernel = _KERNELS[False, rule]
    kernel(key[0], key[1], trial0, params, attachments, practices, work, out)
    return out


def simulate_stays(
    inputs: ModelInputs, key: tuple[np.uint32, np.uint32], trial: int = 0
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Every member stay of one trial, by the engine's member-year rule (no aggregation).

    For member-level claims (:func:`simsettle.calibrate.synthetic_claims`): the same random
    numbers and arithmetic as :func:`simulate_aggregates`, whose member fields are these rows'
    sums over the attributed stays. Participants (practices) are not laid out.

    Returns
    -------
    stays : float64 array (rows, N_STAY_COLUMNS)
        The stays that exist, occupant and joiner of each slot-year, in the columns
        ``records.ST_*``, ordered by slot, then year, occupant before joiner.
    system : float64 array (n_years, N_BASE_FIELDS)
        The trial-level draws: the cost indices (``F_TREND_INDEX``, ...), quality, completion.
    """
    if inputs.practices.shape[0]:
        raise ValueError("simulate_stays lays out no participant practices")
    params, _, _ = check_inputs(inputs, trial, 1)
    n_members = int(inputs.params["members"])
    system = np.zeros((inputs.n_years, R.N_BASE_FIELDS), dtype=np.float64)
    out = np.zeros((2 * n_members * inputs.n_years, R.N_STAY_COLUMNS), dtype=np.float64)
    _pop.simulate_stays(key[0], key[1], trial, params, system, out)
    return out[out[:, R.ST_PRESENT] > 0.5], system


def _severity_params(family: str, shape: float, scale: float) -> tuple[int, float, float, float]:
    """A family's ``SEV_*`` code and its kernel parameters ``(a, b, loc)``
    (:mod:`simsettle._kernels.records`): lomax and pareto are generalised Pareto laws, ``xi =
    1 / alpha`` and ``sigma = theta / alpha`` from 0 (lomax) or from ``theta`` (pareto)."""
    if family == "lognormal":
        return R.SEV_LOGNORMAL, math.log(scale), shape, 0.0
    if family == "gamma":
        return R.SEV_GAMMA, shape, shape * scale, 0.0
    if family == "weibull":
        return R.SEV_WEIBULL, 1.0 / shape, scale, 0.0
    if family == "lomax":
        return R.SEV_GPD, 1.0 / shape, scale / shape, 0.0
    if family == "pareto":
        return R.SEV_GPD, 1.0 / shape, scale / shape, scale
    if family == "gpd":
        return R.SEV_GPD, shape, scale, 0.0
    if family == "inverse_gaussian":
        return R.SEV_INVERSE_GAUSSIAN, scale, shape * scale, 0.0
    if family == "loglogistic":
        return R.SEV_LOGLOGISTIC, 1.0 / shape, scale, 0.0
    raise ValueError(f"unknown severity family {family!r}")


def severity_fields(law: SeverityLaw) -> dict[str, float]:
    """The model record's ``severity_*`` fields of a resolved claim severity (USD at the
    kernels' level, the departure load taken out). A plain lognormal maps to ``SEV_LOGNORMAL``
    here (a quantile, as a splice's body); :func:`compile_model` draws it from the claim
    blocks' normals instead (``severity_mu``, ``severity_sigma``)."""
    if law.spliced:
        code, a, b, loc = _severity_params(law.body, law.shape, law.scale)
        return {
            "severity_family": float(R.SEV_SPLICED),
            "severity_a": a,
            "severity_b": b,
            "severity_loc": loc,
            "severity_body_family": float(code),
            "severity_body_cdf": law.body_cdf,
            "severity_threshold": law.threshold,
            "severity_tail_probability": law.tail_probability,
            "severity_tail_xi": law.tail_xi,
            "severity_tail_sigma": law.tail_sigma,
        }
    code, a, b, loc = _severity_params(law.family, law.shape, law.scale)
    return {
        "severity_family": float(code),
        "severity_a": a,
        "severity_b": b,
        "severity_loc": loc,
    }


def general_fields(cost: Cost, load: float) -> dict[str, float]:
    """The model record's fields of a mixture whose body is not lognormal or whose tail is a
    gpd (``cost_general``; :func:`~simsettle._kernels.member.general_annual_cost`), at the
    kernels' level (USD divided by the departure load): the body family's ``SEV_*`` code and
    parameters at the scale that makes its mean ``cost.body_mean / load``, and the tail as a
    generalised Pareto excess over ``tail_scale`` (a Pareto tail's ``xi = 1 / alpha``, ``sigma
    = tail_scale / alpha``)."""
    shape = cost.resolved_body_shape
    scale = cost.body_mean / load / mean_factor(cost.body_family, shape)
    code, a, b, loc = _severity_params(cost.body_family, shape, scale)
    xi, sigma = tail_excess(
        cost.tail_threshold / load,
        cost.tail_family,
        cost.tail_shape,
        None if cost.tail_scale is None else cost.tail_scale / load,
    )
    return {
        "cost_general": 1.0,
        "body_family": float(code),
        "body_a": a,
        "body_b": b,
        "body_loc": loc,
        "tail_xi": xi,
        "tail_sigma": sigma,
    }


def count_fields(law: CountLaw) -> dict[str, float]:
    """The model record's ``claim_count_*`` fields of a count drawn by inversion (a binomial or
    zero-modified one; :mod:`simsettle.scenario.frequency`)."""
    forms = {"poisson": R.CNT_POISSON, "negative_binomial": R.CNT_NEGATIVE_BINOMIAL}
    zero = law.zero_probability
    return {
        "claim_count_form": float(forms.get(law.family, R.CNT_BINOMIAL)),
        "claim_count_mean": law.base_mean,
        "claim_count_size": law.size,
        "claim_zero_probability": -1.0 if zero is None else zero,
    }
