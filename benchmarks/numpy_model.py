"""The engine's member-level model written the straightforward way, in vectorised numpy.

This is the comparison the engine is measured against (issue 5): the same model as
:mod:`simsettle._kernels.member`, read by name from the same parameter record
(:func:`simsettle.models.population.compile_model`), written as a careful actuary would write it
in numpy: one simulated year at a time, every quantity an array over (trials of a batch x roster
slots), numpy's default generator (:func:`numpy.random.default_rng`), float64 throughout.

It is not bit-identical to the engine (the engine uses counter-based Philox words; this uses a
sequential generator and draws only what each step needs), but it simulates the same
distributions; ``tests/test_numpy_model.py`` checks the per-trial aggregates of both agree within
Monte Carlo error. It is written independently of the kernels on purpose, and must stay so: a
second definition of the member-year rule is what lets the tests catch a mistake in the first.

Covered: turnover with a uniform leaving time and partial-year months (each stay's cost an
episode or pro rata, the exposure model), its modes (death, with a decedent's lognormal
end-of-life episode; loss of attribution, outside the year's settlement; a move), an entrant's
cost ratio, a replacement joiner for
the rest of the year, a vacancy filled by a new entrant the next year; AR(1) latent log risk with
the entrant shift and ageing by tenure; the demographic score; the mixture cost (zero mass,
Pareto tail by inversion, lognormal body) and the frequency-severity compound (Poisson count with
a lognormal frailty, lognormal severities; the engine switches to a normal approximation of the
count above a mean of 400, this uses numpy's exact Poisson sampler); care management;
attribution (retention of members with no care, payer-only and provider-only members, each
status drawn on arrival, correlated with the log risk then, and kept for the stay);
trial-level cost, reference and national indices with one-year shocks; the quality score's logit
AR(1); the completion-factor error; the excess over each stop-loss attachment.

Not covered: participant practices (``inputs.practices`` must be empty) and portfolios' member
offsets (irrelevant here: they only select disjoint Philox streams in the engine).

Command line (used by ``benchmarks/run.py`` to measure peak memory in a fresh process)::

    python benchmarks/numpy_model.py {numpy,engine} [--members 20000] [--trials 200]

prints one JSON line: the resident memory after imports and warm-up (baseline), the peak resident
memory during the run (MiB) and the run's seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from simsettle._kernels import records as R
from simsettle._kernels.records import (
    F_CM_AVOIDED,
    F_CM_MONTHS,
    F_COMPLETION_Z,
    F_CONTAGION,
    F_DEMO_RISK_MONTHS,
    F_MEMBER_MONTHS,
    F_MEMBERS,
    F_NAT_INDEX,
    F_QUALITY,
    F_REF_INDEX,
    F_RISK_MONTHS,
    F_SPEND,
    F_TREND_INDEX,
    N_BASE_FIELDS,
)
from simsettle.models.population import ModelInputs

__all__ = ["simulate_numpy"]

F8 = npt.NDArray[np.float64]
B1 = npt.NDArray[np.bool_]


def simulate_numpy(
    inputs: ModelInputs, n_trials: int, seed: int, batch_trials: int | None = None
) -> F8:
    """Per-trial aggregates of ``n_trials`` trials, shaped and laid out like the engine's.

    Parameters
    ----------
    inputs : ModelInputs
        The compiled scenario (:func:`simsettle.models.population.compile_model`).
    n_trials : int
        Trials to simulate.
    seed : int
        Seed of :func:`numpy.random.default_rng`.
    batch_trials : int, optional
        Trials simulated together; the default (all at once) is the straightforward way, and
        the fastest, at the price of memory proportional to trials x members. Smaller batches
        trade speed for memory; the distributions do not change.

    Returns
    -------
    float64 array (n_trials, n_years, n_fields)
        The fields of :data:`simsettle._kernels.records.FIELD_NAMES` (slots ``F_*``), then the
        excess over each stop-loss attachment, as
        :func:`simsettle.models.population.simulate_aggregates` returns them.
    """
    if inputs.practices.shape[0] > 0:
        raise NotImplementedError("the numpy model does not simulate participant practices")
    if n_trials < 0:
        raise ValueError(f"n_trials must be >= 0, got {n_trials}")
    batch = n_trials if batch_trials is None else int(batch_trials)
    if batch < 1 and n_trials > 0:
        raise ValueError(f"batch_trials must be >= 1, got {batch_trials}")
    rng = np.random.default_rng(seed)
    out = np.zeros((n_trials, inputs.n_years, inputs.n_fields), dtype=np.float64)
    for start in range(0, n_trials, max(batch, 1)):
        _simulate_batch(rng, inputs, out[start : start + batch])
    return out


def _system_years(rng: np.random.Generator, p: dict[str, float], out: F8) -> None:
    """Trial-level paths: cost indices with shocks, quality score, completion-factor error,
    claim contagion.

    The provider's index is 1 in the first simulated year and grows by a lognormal factor a
    year; the reference and national indices grow by factors correlated with it. A shock lifts
    (or lowers) every index in its year only. The quality score is logistic of an AR(1) logit.
    """
    n = out.shape[0]
    corr, nat_corr = p["trend_correlation"], p["national_correlation"]
    q_rho = p["quality_rho"]
    index, ref, nat = np.ones(n), np.ones(n), np.ones(n)
    q_x = np.zeros(n)
    for y in range(out.shape[1]):
        level = np.ones(n)
        if y > 0:
            g1, g2, g3 = rng.standard_normal((3, n))
            g_ref = corr * g1 + math.sqrt(max(1.0 - corr**2, 0.0)) * g2
            g_nat = nat_corr * g1 + math.sqrt(max(1.0 - nat_corr**2, 0.0)) * g3
            index = index * np.exp(p["trend_mu"] + p["trend_sd"] * g1)
            ref = ref * np.exp(p["reference_trend_mu"] + p["reference_trend_sd"] * g_ref)
            nat = nat * np.exp(p["national_trend_mu"] + p["national_trend_sd"] * g_nat)
            shocked = rng.random(n) < p["shock_probability"]
            level = np.where(shocked, math.exp(p["shock_log"]), 1.0)
        out[:, y, F_TREND_INDEX] = index * level
        out[:, y, F_REF_INDEX] = ref * level
        out[:, y, F_NAT_INDEX] = nat * level
        e = rng.standard_normal(n)
        q_x = e if y == 0 else q_rho * q_x + math.sqrt(max(1.0 - q_rho**2, 0.0)) * e
        out[:, y, F_QUALITY] = 1.0 / (1.0 + np.exp(-(p["quality_mu"] + p["quality_sd"] * q_x)))
        out[:, y, F_COMPLETION_Z] = rng.standard_normal(n)
        # The claim contagion: gamma of mean 1 and variance claim_contagion (1 without).
        v = p["claim_contagion"]
        out[:, y, F_CONTAGION] = rng.gamma(1.0 / v, v, n) if v > 0.0 else 1.0


Latent = tuple[F8, F8, F8]


def _annual_cost(
    rng: np.random.Generator,
    p: dict[str, float],
    shape: tuple[int, ...],
    latent: Latent | None = None,
    new: B1 | None = None,
    contagion: F8 | float = 1.0,
) -> tuple[F8, Latent | None]:
    """Annual cost of risk-1 members at index 1 (USD), by the scenario's cost model, and the
    members' latent normals (class, body, frailty) for next year (None without persistence).

    With cost persistence ``r`` each latent normal is a new member's own draw (``new``, or
    every member without ``latent``) or last year's moved by an AR(1) step of correlation
    ``r``; the class normal decides zero (below the zero share's quantile), tail (above ``1 -
    tail_p``'s, the Pareto variate from ``P(N > c) / tail_p``) or body (lognormal from the body
    normal). ``contagion`` (broadcast to ``shape``) multiplies the claim rate of the
    frequency-severity compound: the trial-year's claim contagion.
    """
    size = math.prod(shape)
    r = p["cost_persistence"]
    keep = math.sqrt(1.0 - r * r)

    def step(previous: F8 | None) -> F8:
        fresh = rng.standard_normal(shape)
        if previous is None or new is None:
            return fresh
        return np.where(new, fresh, r * previous + keep * fresh)

    if p["frequency_severity"] > 0.5:
        # Frequency-severity: claims ~ Poisson(lambda x frailty), frailty lognormal of mean 1;
        # each claim of the severity family; a member's cost is the sum of its claims.
        f = p["claim_frailty"]
        e = step(None if latent is None else latent[2])
        if p["claim_frailty_gamma"] > 0.5 and f > 0.0:
            frailty = rng.gamma(1.0 / (f * f), f * f, shape)  # negative-binomial counts
        else:
            frailty = np.exp(f * e - 0.5 * f * f)
        rate = p["claims_per_year"] * contagion * frailty
        if p["claim_count_form"] > 0.5:  # a binomial or zero-modified count
            claims = _counts(rng, p, np.broadcast_to(contagion, shape))
        else:
            claims = rng.poisson(rate)
        severities = _severities(rng, p, int(claims.sum()))
        owner = np.repeat(np.arange(size), claims.ravel())
        cost = np.bincount(owner, weights=severities, minlength=size).reshape(shape)
        return cost, (e, e, e)  # only the frailty's is read
    zero, tail_p = p["zero_share"], p["tail_probability"]
    cost = np.zeros(shape)
    if r == 0.0:
        # Mixture: nothing with probability zero; a Pareto high-cost claimant with probability
        # tail_p (by inversion: scale x U^(-1/alpha), U on (0, 1]); otherwise the lognormal
        # body.
        u = rng.random(shape)
        tail = (u >= zero) & (u < zero + tail_p)
        body = u >= zero + tail_p
        if p["cost_general"] > 0.5:  # another body family, or a gpd tail
            k = int(tail.sum())
            cost[tail] = _gpd(rng, p["tail_xi"], p["tail_sigma"], p["tail_scale"], k)
            cost[body] = _draws(rng, *_body_code(p), int(body.sum()))
            return cost, None
        cost[tail] = p["tail_scale"] * (1.0 - rng.random(int(tail.sum()))) ** (-p["tail_inv_shape"])
        cost[body] = rng.lognormal(p["body_mu"], p["body_sigma"], int(body.sum()))
        return cost, None
    c = step(None if latent is None else latent[0])
    b = step(None if latent is None else latent[1])
    above = special.ndtr(-c)
    tail = above <= tail_p
    body = (special.ndtr(c) >= zero) & ~tail
    if p["cost_general"] > 0.5:
        v = above[tail] / tail_p
        law = stats.genpareto(p["tail_xi"], loc=p["tail_scale"], scale=p["tail_sigma"])
        cost[tail] = law.isf(v)
        cost[body] = _quantiles(*_body_code(p), b[body])
        return cost, (c, b, c)
    cost[tail] = p["tail_scale"] * (above[tail] / tail_p) ** (-p["tail_inv_shape"])
    cost[body] = np.exp(p["body_mu"] + p["body_sigma"] * b[body])
    return cost, (c, b, c)


def _body_code(p: dict[str, float]) -> tuple[int, float, float, float]:
    """The mixture body's family code and parameters (records.SEV_*)."""
    return int(p["body_family"]), float(p["body_a"]), float(p["body_b"]), float(p["body_loc"])


def _roster(rng: np.random.Generator, p: dict[str, float], z: F8) -> tuple[B1, B1]:
    """New members' (payer-only, provider-only) status, from their latent log risk ``z``: a
    latent normal ``c z + sqrt(1 - c^2) N`` above the normal quantile of one minus the share."""

    def status(share: float, corr: float, threshold: float) -> B1:
        if share <= 0.0:
            return np.zeros(z.shape, dtype=bool)
        latent = corr * z + math.sqrt(1.0 - corr * corr) * rng.standard_normal(z.shape)
        return np.asarray(latent > threshold)

    return (
        status(p["payer_only_share"], p["payer_only_correlation"], p["payer_only_z"]),
        status(p["provider_only_share"], p["provider_only_correlation"], p["provider_only_z"]),
    )


def _add_members(
    rng: np.random.Generator,
    inputs: ModelInputs,
    acc: F8,
    *,
    programme: bool,
    z: F8,
    payer_only: B1,
    provider_only: B1,
    risk: F8,
    score: F8,
    demo: F8 | None,
    months: F8,
    x: F8,
    trial_of: npt.NDArray[np.intp] | None = None,
    scale: F8 | float = 1.0,
    terminal: F8 | None = None,
    excluded: B1 | None = None,
) -> None:
    """Attribute a group of member-years and add them to one year's aggregates ``acc``.

    ``acc`` is (batch, fields). ``risk`` is the members' true risk (their cost's multiplier),
    ``score`` their risk score. The group is either the whole roster, arrays (batch, members),
    or a list of members with ``trial_of`` giving each one's trial in the batch. ``scale``
    multiplies the cost (an entrant's cost ratio), ``terminal`` is a decedent's end-of-life
    episode added to it, ``excluded`` marks members who lost attribution (outside the year);
    ``payer_only`` and ``provider_only`` are the members' roster status (:func:`_roster`).
    """
    p = inputs.parameters()
    batch = acc.shape[0]

    def total(values: F8 | B1) -> F8:
        if trial_of is None:
            return values.sum(axis=1, dtype=np.float64)
        return np.bincount(trial_of, weights=values, minlength=batch)

    # Attribution: the payer drops a member who had no care with probability 1 - retention
    # (retrospective attribution), and never attributes a provider-only member; the provider
    # cannot manage a payer-only member. Draws are made only where the feature is on.
    attributed: B1 | None = None
    if p["provider_only_share"] > 0.0:
        attributed = ~provider_only
    if p["no_care_retention"] < 1.0:
        dropped = (x == 0.0) & (rng.random(z.shape) >= p["no_care_retention"])
        attributed = ~dropped if attributed is None else attributed & ~dropped
    if excluded is not None:
        attributed = ~excluded if attributed is None else attributed & ~excluded
    # Care management enrols members whose latent z is above the threshold (+inf: nobody).
    managed: B1 | None = None
    if programme and p["care_management_z"] < math.inf:
        managed = z > p["care_management_z"]
        managed &= ~payer_only

    # Cost: annual cost x risk score x the trial-year's cost index x share of the year enrolled;
    # care management avoids a share of a managed member's cost.
    index = acc[:, F_TREND_INDEX]
    index = index[:, None] if trial_of is None else index[trial_of]
    # Exposure: a stay shorter than a year carries the year's whole cost as one episode with
    # probability episodic_share x its share of the year, none of it with episodic_share x the
    # rest, else its share pro rata (mean and variance in proportion to the months).
    share = months / 12.0
    partial = months < 12.0
    if p["episodic_share"] > 0.0 and partial.any():
        u = rng.random(int(partial.sum()))
        part = share[partial]
        episode = u < p["episodic_share"]
        share = share.copy()
        share[partial] = np.where(episode, (u < p["episodic_share"] * part).astype(float), part)
    cost = risk * index * scale * (x * share + (0.0 if terminal is None else terminal))
    avoided = None
    if managed is not None:
        avoided = np.where(managed, cost * p["care_management_effect"], 0.0)
        cost -= avoided
        # Managed months count whether or not the payer attributes the member: the programme's
        # cost falls on the provider either way.
        acc[:, F_CM_MONTHS] += total(np.where(managed, months, 0.0))

    def attributed_total(values: F8 | B1) -> F8:
        return total(values if attributed is None else np.where(attributed, values, 0.0))

    acc[:, F_SPEND] += attributed_total(cost)
    acc[:, F_MEMBER_MONTHS] += attributed_total(months)
    acc[:, F_RISK_MONTHS] += attributed_total(score * months)
    if demo is not None:
        acc[:, F_DEMO_RISK_MONTHS] += attributed_total(demo * months)
    acc[:, F_MEMBERS] += attributed_total(np.ones_like(months))
    if avoided is not None:
        acc[:, F_CM_AVOIDED] += attributed_total(avoided)
    for k, attachment in enumerate(inputs.attachments):
        acc[:, N_BASE_FIELDS + k] += attributed_total(np.maximum(cost - attachment, 0.0))


def _simulate_batch(rng: np.random.Generator, inputs: ModelInputs, out: F8) -> None:
    """Simulate the trials of ``out`` (batch, years, fields), zero on entry, all at once."""
    p = inputs.parameters()
    batch, n_years = out.shape[0], out.shape[1]
    n = int(p["members"])
    sigma, rho = p["risk_sigma"], p["risk_rho"]
    innovation = math.sqrt(max(1.0 - rho * rho, 0.0))
    # True risks exp(sigma z - sigma^2 / 2) have mean 1 for z ~ N(0, 1). The risk score predicts
    # them from w = c z + sqrt(1 - c^2) e (e the score's noise, AR(1) like z): E[risk | w] =
    # exp(sigma c w - (sigma c)^2 / 2). Demographic scores read w shrunk by lambda (when a
    # benchmark uses them).
    risk_shift = -0.5 * sigma * sigma
    c = p["score_loading"]
    c_noise = math.sqrt(max(1.0 - c * c, 0.0))
    score_sigma = sigma * c
    demo_on = p["demographic_signal"] >= 0.0
    demo_sigma = p["demographic_signal"] * score_sigma
    entrant = p["entrant_shift"]

    def score_of(z: F8, noise: F8, age: F8 | float, s: float) -> F8:
        return np.exp(s * (c * z + c_noise * noise) - 0.5 * s * s + age)

    _system_years(rng, p, out)

    # Roster state carried from year to year, one entry per (trial, slot).
    z = np.zeros((batch, n))  # latent log risk, N(0, 1) for the population
    noise = np.zeros((batch, n))  # the risk score's noise, N(0, 1)
    tenure = np.zeros((batch, n))  # completed years of attribution
    new = np.ones((batch, n), dtype=bool)  # the slot starts the year with a new member
    payer_only = np.zeros((batch, n), dtype=bool)  # roster status, the member's for its stay
    provider_only = np.zeros((batch, n), dtype=bool)
    latent: Latent | None = None  # the members' latent cost normals (cost persistence)

    for y in range(n_years):
        acc = out[:, y, :]
        programme = y >= p["care_management_from"]

        # The year's occupants: new members draw a stationary latent score (shifted for
        # entrants after the first year); continuing members move by AR(1) and age a year.
        eps = rng.standard_normal((batch, n))
        z = np.where(new, eps + (entrant if y > 0 else 0.0), rho * z + innovation * eps)
        if c < 1.0:  # an exact score needs no noise
            eps = rng.standard_normal((batch, n))
            noise = np.where(new, eps, rho * noise + innovation * eps)
        tenure = np.where(new, 0.0, tenure + 1.0)
        fresh_payer, fresh_provider = _roster(rng, p, z)
        payer_only = np.where(new, fresh_payer, payer_only)
        provider_only = np.where(new, fresh_provider, provider_only)
        age = tenure * p["ageing_log"]
        risk = np.exp(sigma * z + risk_shift + age)
        score = score_of(z, noise, age, score_sigma) if c < 1.0 else risk
        demo = score_of(z, noise, age, demo_sigma) if demo_on else None

        # Turnover: a leaver leaves at a uniform time in the year, by death (with probability
        # death_rate / turnover), loss of attribution (attribution_loss_rate / turnover) or
        # else a move or loss of eligibility.
        leaves = rng.random((batch, n)) < p["turnover"]
        months = np.full((batch, n), 12.0)
        months[leaves] = 12.0 * rng.random(int(leaves.sum()))
        mode = np.full((batch, n), 2.0)  # uniform on (0, 1) given a departure; 2: stays
        if p["turnover"] > 0.0:
            mode[leaves] = rng.random(int(leaves.sum()))
        death = mode < p["death_rate"] / max(p["turnover"], 1e-300)
        excluded = (~death) & (
            mode < (p["death_rate"] + p["attribution_loss_rate"]) / max(p["turnover"], 1e-300)
        )
        # A decedent's end-of-life episode: lognormal with mean terminal_mean.
        s_t = p["terminal_sigma"]
        terminal = np.zeros((batch, n))
        terminal[death] = p["terminal_mean"] * rng.lognormal(
            -0.5 * s_t * s_t, s_t, int(death.sum())
        )
        # Members new to the population after the first year cost entrant_cost_ratio times.
        scale = np.where(new & (y > 0), p["entrant_cost_ratio"], 1.0)

        x, latent = _annual_cost(rng, p, (batch, n), latent, new, acc[:, F_CONTAGION, None])
        _add_members(
            rng,
            inputs,
            acc,
            programme=programme,
            z=z,
            payer_only=payer_only,
            provider_only=provider_only,
            risk=risk,
            score=score,
            demo=demo,
            months=months,
            x=x,
            scale=scale,
            terminal=terminal,
            excluded=excluded,
        )
        del risk, score, demo, x, age, eps

        # A leaver is replaced with probability `replacement` by a new member (an entrant) for
        # the rest of the year; the joiner continues in the slot next year. An unreplaced slot
        # is filled by a new entrant at the start of next year.
        trial_l, slot_l = np.nonzero(leaves)
        replaced = rng.random(trial_l.size) < p["replacement"]
        trial_j, slot_j = trial_l[replaced], slot_l[replaced]
        z_join = rng.standard_normal(trial_j.size) + entrant
        noise_join = rng.standard_normal(trial_j.size) if c < 1.0 else np.zeros(trial_j.size)
        x_join, latent_join = _annual_cost(
            rng, p, (trial_j.size,), contagion=acc[trial_j, F_CONTAGION]
        )
        risk_join = np.exp(sigma * z_join + risk_shift)
        payer_join, provider_join = _roster(rng, p, z_join)
        _add_members(
            rng,
            inputs,
            acc,
            programme=programme,
            z=z_join,
            payer_only=payer_join,
            provider_only=provider_join,
            risk=risk_join,
            score=score_of(z_join, noise_join, 0.0, score_sigma) if c < 1.0 else risk_join,
            demo=score_of(z_join, noise_join, 0.0, demo_sigma) if demo_on else None,
            months=12.0 - months[trial_j, slot_j],
            x=x_join,
            trial_of=trial_j,
            scale=p["entrant_cost_ratio"],
        )
        z[trial_j, slot_j] = z_join
        noise[trial_j, slot_j] = noise_join
        payer_only[trial_j, slot_j] = payer_join
        provider_only[trial_j, slot_j] = provider_join
        tenure[trial_j, slot_j] = 0.0
        if latent is not None and latent_join is not None:
            for kept, joined in zip(latent, latent_join, strict=True):
                kept[trial_j, slot_j] = joined
        new = np.zeros((batch, n), dtype=bool)
        new[trial_l[~replaced], slot_l[~replaced]] = True


# --------------------------------------------------------------------------------------------
# Peak-memory helper for benchmarks/run.py: one model, one workload, in a fresh process.


def _status_mib(field: str) -> float:
    """A memory line of /proc/self/status (VmRSS: now, VmHWM: peak), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) to the current RSS, where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Peak memory of one model on the reference workload."
    )
    parser.add_argument("model", choices=["numpy", "engine"])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from run import workload

    import simsettle
    from simsettle.models.population import compile_model

    scenario = workload(args.members, args.trials).scenario
    # Warm up: import everything and compile (or load the numba cache) on a tiny workload.
    if args.model == "engine":
        simsettle.simulate(workload(50, 2), threads=args.threads, progress=False)
    else:
        simulate_numpy(compile_model(workload(50, 2).scenario), 2, 0)
    # The peak is measured from here: the kernel's high-water mark is reset to the current RSS
    # (where allowed; otherwise ru_maxrss, the lifetime peak, which includes the warm-up).
    reset = _reset_peak()
    baseline = _status_mib("VmRSS")
    t = time.perf_counter()
    if args.model == "engine":
        result = simsettle.simulate(scenario, threads=args.threads, progress=False)
    else:
        result = simulate_numpy(compile_model(scenario), args.trials, scenario.seed)
    seconds = time.perf_counter() - t
    peak = (
        _status_mib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    del result
    print(json.dumps({"baseline_mib": baseline, "peak_mib": peak, "seconds": seconds}))


if __name__ == "__main__":
    main()


def _gpd(rng: np.random.Generator, xi: float, sigma: float, loc: float, n: int) -> F8:
    """Generalised Pareto claims from ``loc``: numpy's Lomax (``pareto``) scaled for xi > 0,
    an exponential at 0, inversion below."""
    if xi > 0.0:
        return loc + sigma / xi * rng.pareto(1.0 / xi, n)
    if xi == 0.0:
        return loc + sigma * rng.exponential(1.0, n)
    return loc + sigma / xi * ((1.0 - rng.random(n)) ** -xi - 1.0)


def _body(rng: np.random.Generator, code: int, a: float, b: float, loc: float, u: F8) -> F8:
    """A spliced severity's body at probabilities ``u`` (by its quantile)."""
    if code == R.SEV_LOGNORMAL:
        return np.exp(a + b * special.ndtri(u))
    if code == R.SEV_WEIBULL:
        return b * (-np.log1p(-u)) ** a
    return loc + b / a * ((1.0 - u) ** -a - 1.0)  # a lomax body (generalised Pareto, xi > 0)


def _draws(rng: np.random.Generator, code: int, a: float, b: float, loc: float, n: int) -> F8:
    """``n`` draws of a plain family (records.SEV_*, not spliced; the lognormal's ``a`` and
    ``b`` are mu and sigma) with numpy's own generators where it has one (lognormal, gamma,
    weibull, pareto as Lomax, wald)."""
    if code == R.SEV_LOGNORMAL:
        return rng.lognormal(a, b, n)
    if code == R.SEV_GAMMA:
        return rng.gamma(a, b / a, n)
    if code == R.SEV_WEIBULL:
        return b * rng.weibull(1.0 / a, n)
    if code == R.SEV_GPD:
        return _gpd(rng, a, b, loc, n)
    if code == R.SEV_INVERSE_GAUSSIAN:
        return rng.wald(a, b, n)
    assert code == R.SEV_LOGLOGISTIC
    u = rng.random(n)
    return b * (u / (1.0 - u)) ** a


def _quantiles(code: int, a: float, b: float, loc: float, z: F8) -> F8:
    """A plain family's quantiles at the probabilities of the standard normals ``z`` (scipy's
    quantile functions, each tail read from its own side)."""
    if code == R.SEV_LOGNORMAL:
        return np.exp(a + b * z)
    if code == R.SEV_GAMMA:
        law = stats.gamma(a, scale=b / a)
    elif code == R.SEV_INVERSE_GAUSSIAN:
        law = stats.invgauss(a / b, scale=b)  # IG(mu, lambda) = invgauss(mu / lambda, lambda)
    elif code == R.SEV_WEIBULL:
        law = stats.weibull_min(1.0 / a, scale=b)
    elif code == R.SEV_GPD:
        law = stats.genpareto(a, loc=loc, scale=b)
    else:
        law = stats.fisk(1.0 / a, scale=b)
    return np.where(z < 0.0, law.ppf(special.ndtr(z)), law.isf(special.ndtr(-z)))


def _severities(rng: np.random.Generator, p: np.void, n: int) -> F8:
    """``n`` claim severities of the record's family (records.SEV_*), with numpy's own
    generators where it has one (lognormal, gamma, weibull, pareto as Lomax, wald)."""
    code, a, b = int(p["severity_family"]), float(p["severity_a"]), float(p["severity_b"])
    loc = float(p["severity_loc"])
    if code == R.SEV_LOGNORMAL:
        return rng.lognormal(p["severity_mu"], p["severity_sigma"], n)
    if code != R.SEV_SPLICED:
        return _draws(rng, code, a, b, loc, n)
    # Spliced: the tail's generalised Pareto excess with its probability, else the body
    # below the threshold.
    tail = rng.random(n) < p["severity_tail_probability"]
    out = np.empty(n)
    k = int(tail.sum())
    t = float(p["severity_threshold"])
    out[tail] = _gpd(rng, float(p["severity_tail_xi"]), float(p["severity_tail_sigma"]), t, k)
    u = rng.random(n - k) * p["severity_body_cdf"]
    out[~tail] = _body(rng, int(p["severity_body_family"]), a, b, loc, u)
    return out


def _counts(rng: np.random.Generator, p: np.void, g: F8) -> npt.NDArray[np.int64]:
    """Claim counts of a ``CNT_*`` form with numpy's own generators: the base count at mean
    ``claim_count_mean x g``; zero-modified by marking the member-years with none (probability
    ``claim_zero_probability``) and redrawing the others' zeros until positive (rejection,
    where the kernel inverts)."""
    form, size = int(p["claim_count_form"]), float(p["claim_count_size"])
    mu = p["claim_count_mean"] * np.asarray(g, dtype=np.float64)

    def base(m: F8) -> npt.NDArray[np.int64]:
        if form == R.CNT_POISSON:
            return rng.poisson(m)
        if form == R.CNT_NEGATIVE_BINOMIAL:
            return rng.negative_binomial(size, size / (size + m))
        return rng.binomial(int(size), np.minimum(m / size, 1.0))

    n = base(mu)
    zero = float(p["claim_zero_probability"])
    if zero < 0.0:
        return n
    users = rng.random(mu.shape) >= zero
    todo = users & (n == 0)
    while todo.any():
        n[todo] = base(mu[todo])
        todo = users & (n == 0)
    return np.where(users, n, 0)
