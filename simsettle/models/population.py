"""Gate for the member-level kernel: scenario -> parameter vector, then checked kernel calls."""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from simsettle._kernels import population as _pop
from simsettle._kernels import records as R
from simsettle.scenario.schema import Scenario

__all__ = ["ModelInputs", "compile_model", "key_from_seed", "simulate_aggregates"]


@dataclass(frozen=True)
class ModelInputs:
    """Everything the kernel needs, as validated arrays.

    ``params`` is float64[N_PARAMS] (slots in :mod:`simsettle._kernels.records`); ``attachments``
    the sorted unique stop-loss attachment points of all designs; ``n_years`` the number of
    simulated years (base years, then performance years).
    """

    params: npt.NDArray[np.float64]
    attachments: npt.NDArray[np.float64]
    practices: npt.NDArray[np.float64]
    n_base_years: int
    n_performance_years: int

    @property
    def n_years(self) -> int:
        """Simulated years per trial: base years then performance years."""
        return self.n_base_years + self.n_performance_years

    @property
    def n_fields(self) -> int:
        """Aggregate fields per trial-year: the base fields plus one excess per attachment."""
        n_practices = int(self.practices.shape[0])
        return R.N_BASE_FIELDS + int(self.attachments.shape[0]) + 2 * n_practices

    @property
    def practice_fields(self) -> tuple[slice, slice]:
        """Fields of the practices' spend and member months."""
        first = R.N_BASE_FIELDS + int(self.attachments.shape[0])
        n = int(self.practices.shape[0])
        return slice(first, first + n), slice(first + n, first + 2 * n)


def stop_loss_attachments(scenario: Scenario) -> npt.NDArray[np.float64]:
    """Sorted unique attachment points (USD) named by the scenario's designs."""
    points = {d.stop_loss.attachment for d in scenario.designs if d.stop_loss is not None}
    return np.array(sorted(points), dtype=np.float64)


def compile_model(scenario: Scenario, *, member_offset: int = 0) -> ModelInputs:
    """Solve the scenario's cost, population and trend blocks into the kernel's parameters.

    ``member_offset`` is the first member counter word: lines of business of a portfolio use
    disjoint member streams and share the trial-level (trend, shock, quality) draws.
    """
    pop, cost, trend = scenario.population, scenario.cost, scenario.trend
    p = np.zeros(R.N_PARAMS, dtype=np.float64)
    p[R.P_MEMBERS] = float(pop.members)
    p[R.P_TURNOVER] = pop.turnover
    p[R.P_REPLACEMENT] = pop.replacement
    p[R.P_RISK_SIGMA] = pop.risk_sigma
    p[R.P_RISK_RHO] = pop.risk_persistence
    p[R.P_ZERO] = cost.zero_cost_share
    p[R.P_TAIL_P] = cost.tail_probability
    p[R.P_TAIL_SCALE] = cost.tail_threshold
    p[R.P_TAIL_INV_SHAPE] = 1.0 / cost.tail_shape
    # The body is lognormal with mean cost.body_mean: mu = log(mean) - sigma^2 / 2.
    p[R.P_BODY_MU] = math.log(cost.body_mean) - 0.5 * cost.body_sigma**2
    p[R.P_BODY_SIGMA] = cost.body_sigma
    # Growth factors lognormal with mean 1 + trend.mean (the reference's likewise).
    p[R.P_TREND_MU] = math.log1p(trend.mean) - 0.5 * trend.sd**2
    p[R.P_TREND_SD] = trend.sd
    ref_mean = trend.mean if trend.reference_mean is None else trend.reference_mean
    ref_sd = trend.sd if trend.reference_sd is None else trend.reference_sd
    p[R.P_REF_TREND_MU] = math.log1p(ref_mean) - 0.5 * ref_sd**2
    p[R.P_REF_TREND_SD] = ref_sd
    p[R.P_TREND_CORR] = trend.correlation
    nat_mean = ref_mean if trend.national_mean is None else trend.national_mean
    nat_sd = ref_sd if trend.national_sd is None else trend.national_sd
    p[R.P_NAT_TREND_MU] = math.log1p(nat_mean) - 0.5 * nat_sd**2
    p[R.P_NAT_TREND_SD] = nat_sd
    p[R.P_NAT_CORR] = trend.national_correlation
    p[R.P_SHOCK_P] = trend.shock_probability
    p[R.P_SHOCK_LOG] = math.log1p(trend.shock_size)
    p[R.P_AGEING] = math.log1p(pop.ageing)
    # New members' latent z is shifted so their median score is entrant_risk_ratio times.
    p[R.P_ENTRANT_SHIFT] = (
        math.log(pop.entrant_risk_ratio) / pop.risk_sigma if pop.risk_sigma > 0 else 0.0
    )
    # Demographic scores are only accumulated when the benchmark uses them (-1: skip).
    p[R.P_DEMO_LAMBDA] = (
        pop.demographic_signal if scenario.benchmark.risk_model == "demographic" else -1.0
    )
    p[R.P_NOCARE_RETAIN] = pop.attribution.retention
    p[R.P_PAYER_ONLY] = pop.attribution.payer_only_share
    p[R.P_PROVIDER_ONLY] = pop.attribution.provider_only_share
    p[R.P_MEMBER_OFFSET] = float(member_offset)
    if cost.model == "frequency_severity":
        severity_mean = 12.0 * cost.pmpm / cost.claims_per_year
        p[R.P_FS_ON] = 1.0
        p[R.P_FS_LAMBDA] = cost.claims_per_year
        p[R.P_FS_FRAILTY] = cost.claim_dispersion
        p[R.P_FS_SEV_MU] = math.log(severity_mean) - 0.5 * cost.severity_sigma**2
        p[R.P_FS_SEV_SIGMA] = cost.severity_sigma
    cm = scenario.care_management
    p[R.P_CM_Z] = math.inf
    if cm is not None and cm.high_risk_share > 0.0:
        # Enrol the high_risk_share of members with the highest latent risk z ~ N(0, 1).
        p[R.P_CM_Z] = (
            -math.inf
            if cm.high_risk_share >= 1.0
            else NormalDist().inv_cdf(1.0 - cm.high_risk_share)
        )
    p[R.P_CM_EFFECT] = 0.0 if cm is None else cm.effect
    p[R.P_CM_FROM] = (
        float(scenario.benchmark.base_years)
        if cm is not None and cm.start == "performance_years"
        else 0.0
    )
    qm = scenario.quality_model
    if qm is not None:
        p[R.P_QUAL_MU] = math.log(qm.mean / (1.0 - qm.mean))
        p[R.P_QUAL_SD] = qm.sd
        p[R.P_QUAL_RHO] = qm.persistence
    finite = np.isfinite(np.delete(p, R.P_CM_Z))
    if not np.all(finite) or np.isnan(p[R.P_CM_Z]):  # pragma: no cover - models rule this out
        raise ValueError(f"model parameters are not all finite: {p!r}")
    return ModelInputs(
        params=p,
        attachments=stop_loss_attachments(scenario),
        practices=practice_table(scenario),
        n_base_years=scenario.benchmark.base_years,
        n_performance_years=scenario.performance_years,
    )


def practice_table(scenario: Scenario) -> npt.NDArray[np.float64]:
    """(P, 2): each practice's exclusive upper member slot and its cost ratio."""
    part = scenario.participants
    if part is None:
        return np.zeros((0, 2), dtype=np.float64)
    n = scenario.population.members
    bounds = np.rint(np.cumsum([p.share for p in part.practices]) * n)
    bounds[-1] = n
    return np.column_stack([bounds, [p.cost_ratio for p in part.practices]]).astype(np.float64)


def key_from_seed(seed: int) -> tuple[np.uint32, np.uint32]:
    """The Philox key for a root seed, through :class:`numpy.random.SeedSequence`."""
    value = operator.index(seed)
    if value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    k = np.random.SeedSequence(value).generate_state(2, np.uint32)
    return np.uint32(k[0]), np.uint32(k[1])


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
    if trial0 < 0 or n_trials < 0 or trial0 + n_trials > 2**32:
        raise ValueError(f"trials must lie in [0, 2**32); got trial0={trial0}, n_trials={n_trials}")
    params = np.ascontiguousarray(inputs.params, dtype=np.float64)
    attachments = np.ascontiguousarray(inputs.attachments, dtype=np.float64)
    if params.shape != (R.N_PARAMS,):
        raise ValueError(f"params must have shape ({R.N_PARAMS},), got {params.shape}")
    if attachments.ndim != 1 or not np.all(attachments > 0):
        raise ValueError(f"attachments must be a 1-d array of positive USD, got {attachments!r}")
    if params[R.P_MEMBERS] + params[R.P_MEMBER_OFFSET] >= 2**32 - 1:
        raise ValueError("members must be below 2**32 - 1 (the counter word)")
    out = np.zeros((n_trials, inputs.n_years, inputs.n_fields), dtype=np.float64)
    practices = np.ascontiguousarray(inputs.practices, dtype=np.float64).reshape(-1, 2)
    size = _pop.work_size(inputs.n_years, int(attachments.shape[0]))
    if parallel:
        import numba

        # One scratch row per thread: the parallel kernel splits the trials into that many parts.
        parts = max(1, min(numba.get_num_threads(), n_trials))
        work = np.empty((parts, size), dtype=np.float64)
        _pop.simulate_trials_parallel(
            key[0], key[1], trial0, params, attachments, practices, work, out
        )
    else:
        work = np.empty((1, size), dtype=np.float64)
        _pop.simulate_trials(key[0], key[1], trial0, params, attachments, practices, work, out)
    return out
