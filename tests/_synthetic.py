"""A small synthetic results Dataset shaped like the one :mod:`simsettle.results` builds.

For the stats, plot and report tests only: the settlement rules here are a simplified stand-in
(first-dollar sharing, caps as a fraction of the benchmark, no stop-loss), good enough to give
the distributions their real features: a point mass at exactly zero inside the corridor,
masses at the caps and an upside-only design that never pays.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

DESIGNS = ("upside_only", "two_sided", "two_sided_capped")
SEED = 20260101


def _attrs(long_name: str, units: str, description: str) -> dict[str, str]:
    return {"long_name": long_name, "units": units, "description": description}


def make_dataset(n_trials: int = 4000, n_years: int = 1, seed: int = SEED) -> xr.Dataset:
    """Three designs x ``n_trials`` trials x ``n_years`` performance years.

    ``upside_only`` has about 40% exact zeros (savings rate below its 2% MSR) and no negative
    settlement; ``two_sided`` has a 2% corridor on both sides; ``two_sided_capped`` adds caps of
    2% (savings) and 1% (losses) of the benchmark.
    """
    rng = np.random.default_rng(seed)
    shape = (n_trials, n_years)
    benchmark = 1.2e8 * np.exp(rng.normal(0.0, 0.05, shape))
    # P(savings_rate < 0.02) = Phi(-0.25) ~ 0.40 for the upside-only MSR.
    savings_rate_gross = rng.normal(0.03, 0.04, shape)
    actual_spend = benchmark * (1.0 - savings_rate_gross)
    member_months = np.round(rng.normal(120_000.0, 1_500.0, shape))
    attributed_members = np.round(member_months / 12.0)
    risk_score = rng.normal(1.0, 0.02, shape)
    stop_loss_recovery = np.zeros(shape)
    stop_loss_premium = np.zeros(shape)
    savings = benchmark - (actual_spend - stop_loss_recovery + stop_loss_premium)
    savings_rate = savings / benchmark

    kind = np.array(["upside_only", "two_sided", "two_sided"])
    msr = np.array([0.02, 0.02, 0.02])
    mlr = np.array([np.nan, 0.02, 0.02])
    ssr = np.array([0.5, 0.5, 0.6])
    slr = np.array([0.0, 0.4, 0.4])
    savings_cap = np.array([np.nan, np.nan, 0.02])
    # as the results write them: a design that shares no losses has a loss cap of 0
    loss_cap = np.array([0.0, np.nan, 0.01])

    shared_savings = np.empty((len(DESIGNS), *shape))
    shared_losses = np.empty((len(DESIGNS), *shape))
    for i in range(len(DESIGNS)):
        up = np.where(savings_rate >= msr[i], ssr[i] * savings, 0.0)
        if np.isfinite(savings_cap[i]):
            up = np.minimum(up, savings_cap[i] * benchmark)
        if kind[i] == "two_sided":
            down = np.where(savings_rate <= -mlr[i], slr[i] * -savings, 0.0)
        else:
            down = np.zeros(shape)
        if np.isfinite(loss_cap[i]):
            down = np.minimum(down, loss_cap[i] * benchmark)
        shared_savings[i] = up
        shared_losses[i] = down
    settlement = shared_savings - shared_losses

    ddims = ("design", "trial", "year")
    tdims = ("trial", "year")

    def per_design(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, (len(DESIGNS), *shape)).copy()

    data_vars = {
        "settlement": (
            ddims,
            settlement,
            _attrs(
                "settlement",
                "USD",
                "Net payment; positive = payment from payer to provider, negative = provider "
                "pays back shared losses.",
            ),
        ),
        "shared_savings": (
            ddims,
            shared_savings,
            _attrs("shared savings", "USD", "Shared savings paid to the provider (>= 0)."),
        ),
        "shared_losses": (
            ddims,
            shared_losses,
            _attrs("shared losses", "USD", "Shared losses paid by the provider (>= 0)."),
        ),
        "savings": (
            ddims,
            per_design(savings),
            _attrs("savings", "USD", "Benchmark minus spend net of stop-loss."),
        ),
        "savings_rate": (
            ddims,
            per_design(savings_rate),
            _attrs("savings rate", "1", "Savings as a fraction of the benchmark."),
        ),
        "stop_loss_recovery": (
            ddims,
            per_design(stop_loss_recovery),
            _attrs("stop-loss recovery", "USD", "Stop-loss reimbursement."),
        ),
        "stop_loss_premium": (
            ddims,
            per_design(stop_loss_premium),
            _attrs("stop-loss premium", "USD", "Stop-loss premium."),
        ),
        "benchmark": (tdims, benchmark, _attrs("benchmark", "USD", "Financial benchmark.")),
        "actual_spend": (tdims, actual_spend, _attrs("actual spend", "USD", "Total spend.")),
        "member_months": (
            tdims,
            member_months,
            _attrs("member months", "1", "Attributed member months."),
        ),
        "attributed_members": (
            tdims,
            attributed_members,
            _attrs("attributed members", "1", "Attributed members."),
        ),
        "risk_score": (tdims, risk_score, _attrs("risk score", "1", "Mean risk score.")),
    }
    coords = {
        "design": ("design", np.array(DESIGNS, dtype=object)),
        "trial": ("trial", np.arange(n_trials)),
        "year": ("year", np.arange(2026, 2026 + n_years)),
        "kind": ("design", kind.astype(object)),
        "min_savings_rate": ("design", msr),
        "min_loss_rate": ("design", mlr),
        "shared_savings_rate": ("design", ssr),
        "shared_loss_rate": ("design", slr),
        "savings_cap": ("design", savings_cap),
        "loss_cap": ("design", loss_cap),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs = {
        "title": "synthetic simsettle results for tests",
        "seed": seed,
        "simsettle_version": "0.0.test",
    }
    return ds


#: The participant practices of :func:`make_participant_dataset`: name, share of lives.
PRACTICES = (("efficient_group", 0.40), ("community_clinics", 0.35), ("specialty_heavy", 0.25))


def make_participant_dataset(
    n_trials: int = 1000, n_years: int = 1, seed: int = SEED
) -> xr.Dataset:
    """:func:`make_dataset` plus participant variables, as a scenario with ``participants``.

    Each trial-year's settlement is split among :data:`PRACTICES` in proportions that vary
    around their shares of lives (a stand-in for the performance method), so the payouts of a
    trial-year add up to the settlement; ``participant_member_months`` follow the shares.
    """
    ds = make_dataset(n_trials=n_trials, n_years=n_years, seed=seed)
    rng = np.random.default_rng(seed + 1)
    names = [p for p, _ in PRACTICES]
    shares = np.array([s for _, s in PRACTICES])
    # (participant, trial, year) weights summing to one over participants
    weights = rng.dirichlet(60.0 * shares, size=(n_trials, n_years)).transpose(2, 0, 1)
    settlement = ds["settlement"].values  # (design, trial, year)
    payout = settlement[:, None, :, :] * weights[None, :, :, :]
    member_months = ds["member_months"].values[None, :, :] * shares[:, None, None]
    ds = ds.assign_coords(participant=("participant", np.array(names, dtype=object)))
    ds["participant_payout"] = (
        ("design", "participant", "trial", "year"),
        payout,
        _attrs("participant payout", "USD", "The practice's part of the settlement."),
    )
    ds["participant_member_months"] = (
        ("participant", "trial", "year"),
        member_months,
        _attrs("participant member months", "1", "Attributed member months of the practice."),
    )
    ds.attrs["scenario_yaml"] = "participants:\n  method: performance\n"
    return ds


#: Sweep dimensions of :func:`make_sweep_dataset`: name -> (values, attrs).
SWEEP: dict[str, tuple[list[float], dict[str, object]]] = {
    "min_savings_rate": (
        [0.0, 0.01, 0.02, 0.03],
        {
            "long_name": "minimum savings rate",
            "units": "1",
            "sweep_path": "designs[*].min_savings_rate",
            "sweep_base": 0.02,
        },
    ),
    "trend_mean": (
        [0.03, 0.04, 0.05],
        {"long_name": "mean cost trend", "units": "1", "sweep_path": "trend.mean"},
    ),
    "members": (
        [2000.0, 5000.0, 10000.0],
        {
            "long_name": "members",
            "units": "1",
            "sweep_path": "population.members",
            "sweep_base": 5000.0,
        },
    ),
}


def make_sweep_dataset(n_trials: int = 400, seed: int = SEED) -> xr.Dataset:
    """A parameter sweep shaped as sweeps will be: the three :data:`DESIGNS` x trial x year x
    ``min_savings_rate`` x ``trend_mean`` x ``members`` (see :data:`SWEEP`).

    ``min_savings_rate`` (base 0.02) applies to every design (the design coordinate of that
    name gives way to the dimension); a higher ``trend_mean`` (base: first value, 0.03) lowers
    savings; fewer ``members`` (base 5,000) widen them. Common random numbers: the same normal
    draws at every sweep point. ``ds.attrs["sweep_dims"]`` lists the sweep dimensions.
    """
    rng = np.random.default_rng(seed)
    n_years = 1
    z = rng.standard_normal((n_trials, n_years))
    benchmark = 1.2e8 * np.exp(rng.normal(0.0, 0.03, (n_trials, n_years)))
    msr = np.array(SWEEP["min_savings_rate"][0])
    trend = np.array(SWEEP["trend_mean"][0])
    members = np.array(SWEEP["members"][0])
    # (trial, year, trend, members)
    rate = (
        0.025
        - 0.8 * (trend[None, None, :, None] - 0.03)
        + z[:, :, None, None] * 0.035 * np.sqrt(5000.0 / members[None, None, None, :])
    )
    savings = rate * benchmark[:, :, None, None]
    r = rate[:, :, None, :, :]  # (trial, year, msr, trend, members)
    s = savings[:, :, None, :, :]
    m = msr[None, None, :, None, None]
    bm = benchmark[:, :, None, None, None]
    up = np.where(r >= m, 0.5 * s, 0.0)
    down = np.where(r <= -np.maximum(m, 0.01), 0.4 * -s, 0.0)
    upside = up
    two_sided = up - down
    capped = np.minimum(np.where(r >= m, 0.6 * s, 0.0), 0.02 * bm) - np.minimum(down, 0.01 * bm)
    settlement = np.stack([upside, two_sided, capped])  # (design, trial, year, msr, trend, mem)
    sweep_dims = tuple(SWEEP)
    ds = xr.Dataset(
        {
            "settlement": (
                ("design", "trial", "year", *sweep_dims),
                settlement,
                _attrs(
                    "settlement",
                    "USD",
                    "Net payment; positive = payment from payer to provider.",
                ),
            ),
            "savings_rate": (
                ("trial", "year", "trend_mean", "members"),
                rate,
                _attrs("savings rate", "1", "Savings as a fraction of the benchmark."),
            ),
            "benchmark": (("trial", "year"), benchmark, _attrs("benchmark", "USD", "Benchmark.")),
        },
        coords={
            "design": ("design", np.array(DESIGNS, dtype=object)),
            "trial": ("trial", np.arange(n_trials)),
            "year": ("year", np.arange(2026, 2026 + n_years)),
            "kind": ("design", np.array(["upside_only", "two_sided", "two_sided"], dtype=object)),
            **{
                name: (name, np.array(values, dtype=np.float64), dict(attrs))
                for name, (values, attrs) in SWEEP.items()
            },
        },
    )
    ds.attrs = {
        "title": "synthetic simsettle sweep for tests",
        "seed": seed,
        "simsettle_version": "0.0.test",
        "sweep_dims": " ".join(sweep_dims),
    }
    return ds
