"""The exact settlement (simsettle.exact) against closed forms and against the Monte Carlo
engine (issue 15 item 5).

The engine and the oracle share nothing but the scenario and the settlement rules: the engine
draws members, the oracle convolves a discretised member distribution by FFT. Each design's
expected settlement, chance of paying and stop-loss recoveries are held to agree within
Monte Carlo error (4 standard errors, plus the oracle's own stated bound), on cases that span
the cost models, truncation, the stop-loss layers, capped and banded corridors, MSSP's
size-based corridor and an episode model.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import simsettle
from simsettle import parse_scenario
from simsettle.exact import (
    NotExactError,
    _discretise,
    _mixture_member,
    _severity_member,
    exact_settlement,
    not_exact,
    spend_lattice,
)
from simsettle.rules.settle import YearFacts, settlement
from simsettle.rules.terms import compile_terms
from simsettle.scenario.costs import cost_distribution
from simsettle.scenario.severity import plain_law

BASE = """schema_version: 1
seed: {seed}
trials: {trials}
first_performance_year: 2026
performance_years: {years}
population: {{members: {members}, turnover: 0.0, risk_sigma: {risk_sigma}, ageing: 0.01}}
cost: {cost}
trend: {{mean: 0.05, sd: 0.0}}
benchmark: {{method: fixed, pmpm: {target}, trend_rate: 0.04}}
{extra}designs:
{designs}"""

MIXTURE = "{pmpm: 1000.0}"
COMPOUND = (
    "{pmpm: 800.0, model: frequency_severity, claims_per_year: 6.0, claim_dispersion: 0.0, "
    "severity_sigma: 1.6}"
)

DESIGNS = {
    "upside": "{name: upside, kind: upside_only, min_savings_rate: 0.02, "
    "shared_savings_rate: 0.5, savings_cap: 0.1}",
    "capped_corridor": "{name: capped_corridor, kind: two_sided, min_savings_rate: 0.02, "
    "shared_savings_rate: 0.6, shared_loss_rate: 0.6, savings_cap: 0.05, loss_cap: 0.04}",
    "stop_loss": "{name: stop_loss, kind: two_sided, shared_savings_rate: 0.5, "
    "shared_loss_rate: 0.5, stop_loss: {attachment: 60000.0, coinsurance: 0.1, "
    "premium_loading: 0.2}}",
    "layers": "{name: layers, kind: two_sided, shared_savings_rate: 0.5, shared_loss_rate: 0.5, "
    "stop_loss: {attachment: 60000.0}, aggregate_stop_loss: {attachment: 0.97, "
    "premium_loading: 0.3}}",
    "bands": "{name: bands, kind: two_sided, "
    "savings_bands: [{up_to: 0.03, share: 0.0}, {up_to: 0.08, share: 0.5}, {share: 0.8}], "
    "loss_bands: [{up_to: 0.03, share: 0.0}, {up_to: 0.08, share: 0.5}, {share: 0.8}]}",
    "mssp": "{name: mssp, template: mssp_enhanced, quality: {score: 0.8}}",
    "aggregate": "{name: aggregate, kind: two_sided, shared_savings_rate: 0.5, "
    "shared_loss_rate: 0.5, aggregate_stop_loss: {attachment: 1.05, premium_loading: 0.3}}",
    "episode": "{name: episode, kind: episode_reconciliation, discount: 0.02}",
}


def _text(
    cost: str = MIXTURE,
    designs: tuple[str, ...] = tuple(DESIGNS),
    *,
    members: int = 1000,
    trials: int = 4000,
    years: int = 1,
    target: float = 1010.0,
    risk_sigma: float = 0.6,
    extra: str = "",
    seed: int = 11,
) -> str:
    return BASE.format(
        seed=seed,
        trials=trials,
        years=years,
        members=members,
        risk_sigma=risk_sigma,
        cost=cost,
        target=target,
        extra=extra,
        designs="\n".join(f"  - {DESIGNS[d]}" for d in designs),
    )


def _scenario(*args, **kwargs):
    return parse_scenario(_text(*args, **kwargs)).scenario


def _controlled(f: np.ndarray, controls: list[tuple[np.ndarray, float]]) -> tuple[float, float]:
    """The Monte Carlo mean of ``f`` with control variates (samples whose exact means the
    oracle knows: the year's spend, the stop-loss recovery), and its standard error. The
    controls take out the part of the sampling error that the year's realised spend explains,
    which every design of one run shares; the estimate stays unbiased."""
    x = np.column_stack([c - c.mean() for c, _ in controls])
    beta, *_ = np.linalg.lstsq(x, f - f.mean(), rcond=None)
    shift = np.array([c.mean() - mu for c, mu in controls])
    residual = f - f.mean() - x @ beta
    se = residual.std(ddof=1 + len(controls)) / math.sqrt(f.size)
    return float(f.mean() - shift @ beta), float(se)


def _with_exact_premium(sc, ds, r, y: int) -> np.ndarray:
    """The engine's settlements of the year, each with the exact stop-loss premium in place of
    the engine's (the Monte Carlo mean of the recoveries, itself a sample mean): the engine's
    own rule on its own draws, savings moved by the premiums' difference. Without a premium,
    the engine's settlements."""
    design = ds.sel(design=r.design).isel(year=y)
    premium = design.stop_loss_premium.values
    exact = r.specific_premium + r.aggregate_premium
    if not premium.any() and exact == 0.0:
        return np.asarray(design.settlement.values)
    terms = compile_terms(next(d for d in sc.designs if d.name == r.design))
    facts = YearFacts(members=design.attributed_members.values)
    savings = design.savings.values + (premium - exact)
    return settlement(terms, design.settlement_benchmark.values, savings, facts)


def _agree(sc, year: int | None = None, *, points: int = 2**19) -> int:
    """Every design's exact mean settlement, chance of paying and recoveries within Monte
    Carlo error of the engine's; returns how many designs were compared."""
    ds = simsettle.simulate(sc, progress=False)
    y = 0 if year is None else year - sc.first_performance_year
    spend = ds.actual_spend.isel(year=y).values
    for r in exact_settlement(sc, year=year, points=points):
        spend_se = spend.std(ddof=1) / math.sqrt(spend.size)
        assert abs(spend.mean() - r.expected_spend) <= 4.0 * spend_se
        rec = ds.stop_loss_recovery.sel(design=r.design).isel(year=y).values
        want = r.expected_specific_recovery + r.expected_aggregate_recovery
        rec_se = rec.std(ddof=1) / math.sqrt(rec.size)
        assert abs(rec.mean() - want) <= 4.0 * rec_se + 1e-6 * want + 1.0, (r.design, rec.mean())
        controls = [(spend, r.expected_spend)]
        if rec.std() > 0.0:
            controls.append((rec, want))
        s = _with_exact_premium(sc, ds, r, y)
        mean, se = _controlled(s, controls)
        # The central value, within Monte Carlo error and its own estimated error; the bound
        # (rigorous, wider) holds it and the engine's mean.
        # (1e-5 of the benchmark: the lattice's own error where the controls leave no Monte
        # Carlo error at all, a linear design; Richardson's estimate misses part of it.)
        slack = 4.0 * se + 4.0 * r.error_estimate + 1e-5 * r.benchmark
        assert abs(mean - r.mean) <= slack, (r.design, mean, r.mean, se, r.error_estimate)
        assert r.bound[0] <= r.mean <= r.bound[1], r
        assert r.bound[0] - 4.0 * se <= mean <= r.bound[1] + 4.0 * se, (r.design, mean, r)
        for indicator, p_exact in ((s < 0, r.prob_loss), (s > 0, r.prob_savings)):
            p_mc, p_se = _controlled(indicator.astype(np.float64), controls)
            assert abs(p_mc - p_exact) <= 4.0 * p_se + 0.002, (r.design, p_mc, p_exact, p_se)
        if "truncated_spend" in ds:
            cut = ds.truncated_spend.isel(year=y).values
            cut_se = cut.std(ddof=1) / math.sqrt(cut.size)
            assert abs(cut.mean() - r.expected_truncated) <= 4.0 * cut_se + 1.0
    return ds.sizes["design"]


# ---------------------------------------------------------------- against the engine


def test_mixture_designs_agree_with_the_engine() -> None:
    """Upside only, a capped two-sided corridor, an individual stop-loss layer, both layers,
    banded corridors, MSSP ENHANCED (size-based corridor, quality) and an episode model."""
    assert _agree(_scenario(designs=tuple(d for d in DESIGNS if d != "aggregate"))) == 7


def test_a_later_year_agrees_at_its_trend_ageing_and_agreed_target() -> None:
    sc = _scenario(designs=("capped_corridor", "stop_loss"), years=2, trials=3000)
    assert _agree(sc, year=2027) == 2


def test_truncation_at_a_threshold_agrees_with_the_engine() -> None:
    extra = "truncation: {threshold: 90000.0}\n"
    sc = _scenario(designs=("capped_corridor", "stop_loss", "layers"), extra=extra)
    assert _agree(sc) == 3


def test_truncation_at_a_percentile_agrees_with_the_engine() -> None:
    extra = "truncation: {percentile: 0.99}\n"
    sc = _scenario(designs=("upside", "stop_loss"), extra=extra, target=960.0)
    assert _agree(sc) == 2


def test_compound_poisson_agrees_with_the_engine() -> None:
    sc = _scenario(
        COMPOUND, ("capped_corridor", "stop_loss", "bands"), risk_sigma=0.0, target=810.0
    )
    assert _agree(sc) == 3


def test_negative_binomial_members_agree_with_the_engine() -> None:
    """A gamma claim frailty (sd 0.5): each member's count negative binomial, the member's
    compound by its closed transform, then truncated and net of its stop-loss on the lattice."""
    cost = COMPOUND.replace("claim_dispersion: 0.0", "claim_dispersion: 0.5, claim_frailty: gamma")
    extra = "truncation: {threshold: 150000.0}\n"
    designs = ("capped_corridor", "stop_loss", "layers")
    sc = _scenario(cost, designs, risk_sigma=0.0, target=810.0, extra=extra)
    assert _agree(sc) == 3


def test_compound_with_contagion_agrees_with_the_engine() -> None:
    """The year's claim count negative binomial (Poisson members, a common gamma factor):
    the compound's transform is closed, and the engine's draws agree with it."""
    cost = COMPOUND.replace("}", ", contagion: 0.04}")
    designs = ("upside", "capped_corridor", "aggregate", "episode")
    sc = _scenario(cost, designs, risk_sigma=0.0, target=810.0)
    assert _agree(sc) == 4
    # An individual stop-loss or a truncation would need the factor integrated out per member.
    with_layer = _scenario(cost, ("stop_loss",), risk_sigma=0.0)
    assert [r.split(":")[0] for r in not_exact(with_layer)] == ["designs.stop_loss.stop_loss"]


# Claim severity families (cost.severity), each against the engine on two or three designs:
# 17 design-cases, among them stop-loss layers, a capped two-sided corridor and bands.
SEVERITIES = {
    "gamma": ("{family: gamma, cv: 2.5}", ("capped_corridor", "stop_loss")),
    "weibull": ("{family: weibull, shape: 0.6}", ("upside", "layers")),
    "lomax": ("{family: lomax, shape: 3.5}", ("stop_loss", "bands")),
    "pareto": ("{family: pareto, shape: 2.8}", ("capped_corridor", "aggregate")),
    "gpd": ("{family: gpd, shape: 0.2}", ("upside", "stop_loss")),
    "inverse_gaussian": ("{family: inverse_gaussian, cv: 2.0}", ("capped_corridor", "layers")),
    "loglogistic": ("{family: loglogistic, shape: 3.5}", ("upside", "stop_loss")),
    "spliced": (
        "{family: spliced, threshold: 12000, tail_probability: 0.02, "
        "body: {family: lognormal, shape: 1.0}, tail: {family: pareto, shape: 2.6}}",
        ("capped_corridor", "stop_loss", "bands"),
    ),
}


@pytest.mark.parametrize("family", list(SEVERITIES))
def test_severity_families_agree_with_the_engine(family: str) -> None:
    """A compound Poisson of each severity family (the engine's claim by claim, or its sums in
    one draw for gamma and inverse Gaussian; the oracle's discretised in closed form)."""
    severity, designs = SEVERITIES[family]
    cost = COMPOUND.replace("severity_sigma: 1.6", f"severity: {severity}")
    sc = _scenario(cost, designs, risk_sigma=0.0, target=810.0, members=300)
    assert _agree(sc) == len(designs)


# The member-cost mixture's body and tail families (cost.body_family, cost.tail_family), each
# against the engine on two designs: 12 design-cases, among them stop-loss layers, a capped
# two-sided corridor and bands.
MIXTURES = {
    "gamma_body": ("body_family: gamma, body_cv: 1.5", ("capped_corridor", "stop_loss")),
    "weibull_body": ("body_family: weibull, body_shape: 0.7", ("upside", "layers")),
    "inverse_gaussian_body": (
        "body_family: inverse_gaussian, body_cv: 2.0",
        ("capped_corridor", "bands"),
    ),
    "loglogistic_body": ("body_family: loglogistic, body_shape: 3.0", ("upside", "stop_loss")),
    "gpd_tail": (
        "tail_family: gpd, tail_shape: 0.25, tail_scale: 30000.0",
        ("capped_corridor", "layers"),
    ),
    "lomax_body_bounded_tail": (
        "body_family: lomax, body_shape: 3.5, tail_family: gpd, tail_shape: -0.25, "
        "tail_scale: 80000.0",
        ("stop_loss", "bands"),
    ),
}


@pytest.mark.parametrize("name", list(MIXTURES))
def test_mixture_families_agree_with_the_engine(name: str) -> None:
    """The mixture with a body of another family or a gpd tail (the engine's quantiles of its
    normals; the oracle's risk-mixed parts by quadrature, splined on the lattice). The gamma
    body's spend is truncated at its 99th percentile, which the engine finds from the family's
    own distribution (models.departures.calendar_quantile)."""
    families, designs = MIXTURES[name]
    extra = "truncation: {percentile: 0.99}\n" if name == "gamma_body" else ""
    sc = _scenario(f"{{pmpm: 1000.0, {families}}}", designs, extra=extra)
    assert _agree(sc) == len(designs)


def test_the_splined_mixture_is_the_quadrature() -> None:
    """On a lattice the general mixture's parts are splined between quadrature knots: within
    1e-9 (relative) of the quadrature at each point."""
    sc = _scenario(
        "{pmpm: 1000.0, body_family: gamma, body_cv: 1.5, tail_family: gpd, "
        "tail_shape: 0.2, tail_scale: 30000.0}"
    )
    member = _mixture_member(sc, 1.0)
    x = np.linspace(0.0, 3e6, 2**17)
    surv, partial = member.parts(x)
    pick = np.random.default_rng(3).choice(x.size, 300, replace=False)
    s_direct, p_direct = member.parts(x[pick])  # few points: the quadrature itself
    np.testing.assert_allclose(surv[pick], s_direct, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(partial[pick], p_direct, rtol=1e-9, atol=1e-300)


# Claim-count families: the member's compound by the count's generating function.
COUNTS = {
    "binomial": ("claim_count: binomial, claim_trials: 10", ("capped_corridor", "stop_loss")),
    "zero_modified_poisson": ("claim_zero_probability: 0.5", ("upside", "layers")),
    "zero_modified_negative_binomial": (
        "claim_zero_probability: 0.3, claim_frailty: gamma, claim_dispersion: 0.5",
        ("bands", "stop_loss"),
    ),
    "zero_deflated_binomial": (
        "claim_count: binomial, claim_trials: 12, claim_zero_probability: 0.0005, "
        "severity: {family: gamma, cv: 2.0}",
        ("capped_corridor", "aggregate"),
    ),
}


@pytest.mark.parametrize("name", list(COUNTS))
def test_count_families_agree_with_the_engine(name: str) -> None:
    """Binomial and zero-modified members (the engine's counts by inversion, the oracle's by
    the generating function), 8 design-cases."""
    count, designs = COUNTS[name]
    cost = COMPOUND.replace("claim_dispersion: 0.0, ", "").replace(
        "severity_sigma: 1.6", count if "severity" in count else f"{count}, severity_sigma: 1.6"
    )
    sc = _scenario(cost, designs, risk_sigma=0.0, target=810.0, members=300)
    assert _agree(sc) == len(designs)


def test_a_jump_in_the_settlement_keeps_the_central_value_in_its_bracket() -> None:
    """MSSP pays from the first dollar once savings pass the minimum savings rate: a jump,
    where the central lattice's error is first order in h. With the jump near the bulk of the
    spend (log-logistic claims, 300 members) central fell 1.9 USD outside the rigorous
    bracket; it is held within it, and the error estimate covers the distance to it."""
    cost = COMPOUND.replace("severity_sigma: 1.6", "severity: {family: loglogistic, shape: 5.0}")
    sc = _scenario(cost, ("mssp",), risk_sigma=0.0, target=810.0, members=300)
    (r,) = exact_settlement(sc, points=2**19)
    assert r.bound[0] <= r.mean <= r.bound[1]
    assert r.bound[1] - r.bound[0] < 0.01 * r.benchmark * 1e-3


def test_a_severity_without_a_variance_is_refused() -> None:
    cost = COMPOUND.replace("severity_sigma: 1.6", "severity: {family: lomax, shape: 1.8}")
    sc = _scenario(cost, ("upside",), risk_sigma=0.0)
    assert [r.split(":")[0] for r in not_exact(sc)] == ["cost.severity"]


@pytest.mark.parametrize(
    ("cost", "members", "bracketed"), [(MIXTURE, 20_000, True), (COMPOUND, 100_000, False)]
)
def test_a_large_population_is_placed_in_its_window(
    cost: str, members: int, bracketed: bool
) -> None:
    """A linear design (no corridor, no cap) settles half of benchmark less net spend: its
    exact mean is known from the exact expected spend, recovery and premium. The window holds
    the net spend (the stop-loss takes about 4% off it here, tens of standard deviations at
    this size); where the points cannot bracket the rounding of every member or claim, no
    bound is claimed."""
    sc = _scenario(cost, ("stop_loss",), members=members, risk_sigma=0.0 if "freq" in cost else 0.6)
    (r,) = exact_settlement(sc, points=2**19)
    net = r.expected_spend - r.expected_specific_recovery + r.specific_premium
    want = 0.5 * (r.benchmark - net)
    assert abs(r.mean - want) <= 4.0 * r.error_estimate + 1e-6 * r.benchmark, (r.mean, want)
    assert r.outside < 1e-4
    if bracketed:
        assert r.bound[0] <= want <= r.bound[1]
    else:
        assert all(math.isnan(b) for b in r.bound)


# ---------------------------------------------------------------- closed forms


def test_the_lattices_bracket_and_keep_the_mean() -> None:
    """Central keeps each member's mean, lower and upper bracket it; the sum's mean is N times
    the member's, its variance N times the member's."""
    sc = _scenario(designs=("upside",))
    lat = spend_lattice(sc, points=2**18)
    n, d = 1000, _mixture_member(sc, 1.0)
    assert lat.mean("lower") < lat.mean("central") < lat.mean("upper")
    assert lat.mean("central") == pytest.approx(n * d.mean, rel=2e-6)
    assert lat.mean("upper") - lat.mean("lower") <= n * lat.step * (1 + 1e-9)
    var = float(np.dot(lat.central, (lat.values - lat.mean()) ** 2) / lat.central.sum())
    assert math.sqrt(var) == pytest.approx(math.sqrt(n) * d.sd, rel=2e-3)
    assert lat.outside < 1e-6


def test_the_compound_poisson_lattice_has_the_compound_moments() -> None:
    """Compound Poisson: mean lambda E[X], variance lambda E[X^2], per member and summed."""
    sc = _scenario(COMPOUND, ("upside",), risk_sigma=0.0)
    lat = spend_lattice(sc, points=2**18)
    lam, sigma = 6.0 * 1000, 1.6
    severity = 12.0 * 800.0 / 6.0
    mean = lam * severity
    var = lam * severity**2 * math.exp(sigma**2)
    got_var = float(np.dot(lat.central, (lat.values - lat.mean()) ** 2) / lat.central.sum())
    assert lat.mean() == pytest.approx(mean, rel=1e-5)
    assert got_var == pytest.approx(var, rel=5e-3)


def test_the_vectorised_mixture_is_the_scalar_one() -> None:
    sc = _scenario()
    pop, cost = sc.population, sc.cost
    scalar = cost_distribution(cost.shape(pop.risk_sigma))
    member = _mixture_member(sc, 1.0)
    x = np.array([1.0, 500.0, 12_000.0, 80_000.0, 1e6, 1e8])
    surv, partial = member.parts(x)
    for i, xi in enumerate(x):
        s, p = scalar.survival_and_partial(math.log(xi))
        assert surv[i] == pytest.approx(s, rel=1e-12, abs=1e-300)
        assert partial[i] == pytest.approx(p, rel=1e-12, abs=1e-300)


def test_the_discretisations_of_a_lognormal() -> None:
    """Lower and upper differ by one step at most, central keeps the mean exactly."""
    d = _severity_member(plain_law("lognormal", 0.8, 1000.0 * math.exp(0.32)))
    step, n = 25.0, 4096
    pmf = _discretise(d, step, n)
    x = step * np.arange(n)
    means = {m: float(np.dot(p, x)) for m, p in pmf.items()}
    assert means["lower"] < d.mean < means["upper"]
    assert means["upper"] - means["lower"] <= step * (1 + 1e-9)
    # Exactly, but for the mass beyond the lattice (put on its last point).
    beyond = float(d.partial(np.array([step * n]))[0])
    assert 0.0 < beyond < 1e-6 * d.mean
    assert abs(means["central"] - d.mean) <= beyond
    for p in pmf.values():
        assert p.min() >= 0.0
    assert pmf["lower"].sum() == pytest.approx(1.0, abs=1e-12)
    assert pmf["central"].sum() == pytest.approx(1.0, abs=1e-12)
    # The upper lattice leaves out the mass beyond its last point (counted as outside).
    left_out = float(d.survival(np.array([step * (n - 1)]))[0])
    assert pmf["upper"].sum() == pytest.approx(1.0 - left_out, abs=1e-12)


# ---------------------------------------------------------------- what is not exact


def test_a_scenario_without_an_exact_settlement_is_refused_naming_the_fields() -> None:
    text = (
        _text(designs=("upside",), members=100, trials=10, risk_sigma=0.5, target=1000.0)
        .replace("turnover: 0.0", "turnover: 0.1")
        .replace("sd: 0.0", "sd: 0.02")
        .replace("{method: fixed, pmpm: 1000.0, trend_rate: 0.04}", "{weights: [0.5, 0.5]}")
    )
    sc = parse_scenario(text).scenario
    reasons = not_exact(sc)
    assert [r.split(":")[0] for r in reasons] == [
        "benchmark.method",
        "population.turnover",
        "population.mortality",
        "trend.sd",
    ]
    with pytest.raises(NotExactError, match=r"population\.turnover"):
        exact_settlement(sc)
    compound = _scenario(COMPOUND.replace("claim_dispersion: 0.0", "claim_dispersion: 0.3"))
    assert [r.split(":")[0] for r in not_exact(compound)] == [
        "population.risk_sigma",
        "cost.claim_dispersion",
    ]
    assert not_exact(_scenario()) == []


def test_cli_prints_the_exact_table(tmp_path) -> None:
    from typer.testing import CliRunner

    from simsettle.cli import app

    path = tmp_path / "deal.yaml"
    path.write_text(_text(designs=("capped_corridor",), members=500, trials=10))
    got = CliRunner().invoke(app, ["exact", str(path)])
    assert got.exit_code == 0, got.output
    assert "capped_corridor" in got.output
    assert "Exact settlement of 2026" in got.output
    assert "Not applied here" not in got.output
    swept = path.read_text() + "\nsweep:\n  - {path: cost.pmpm, values: [1000.0, 1100.0]}\n"
    path.write_text(swept)
    got = CliRunner().invoke(app, ["exact", str(path)])
    assert got.exit_code == 0, got.output
    assert "Not applied here: sweep (the file's own values are settled)." in got.output
    bad = path.read_text().replace("turnover: 0.0", "turnover: 0.2")
    path.write_text(bad)
    got = CliRunner().invoke(app, ["exact", str(path)])
    assert got.exit_code == 2
    assert "population.turnover" in got.output


def test_the_module_is_part_of_the_public_api() -> None:
    assert simsettle.exact.exact_settlement is exact_settlement
    assert "exact" in dir(simsettle)


def test_the_example_is_an_exact_case() -> None:
    """scenarios/examples/exact_check.yaml is one `simsettle exact` can settle."""
    from tests.conftest import ROOT

    loaded = simsettle.load_scenario(ROOT / "scenarios" / "examples" / "exact_check.yaml")
    assert not_exact(loaded.scenario) == []
