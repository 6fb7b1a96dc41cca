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
    loss_cap = np.array([np.nan, np.nan, 0.01])

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
