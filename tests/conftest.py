"""Shared fixtures: example scenarios and a small, fast scenario text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "scenarios" / "examples").glob("*.yaml"))
SHARED = ROOT.parent / "shared"

SMALL_SCENARIO = """\
schema_version: 1
name: small test scenario
seed: 12345
trials: 64
first_performance_year: 2026
performance_years: 2
population:
  members: 300
  turnover: 0.2
  replacement: 0.8
  risk_sigma: 0.5
  risk_persistence: 0.7
cost:
  pmpm: 900.0
trend:
  mean: 0.05
  sd: 0.03
benchmark:
  weights: [0.1, 0.3, 0.6]
  trend_rate: 0.04
designs:
  - name: one_sided
    kind: upside_only
    min_savings_rate: 0.02
    shared_savings_rate: 0.5
    savings_cap: 0.1
  - name: two_sided
    kind: two_sided
    min_savings_rate: 0.01
    min_loss_rate: 0.02
    shared_savings_rate: 0.6
    shared_loss_rate: 0.4
    savings_cap: 0.1
    loss_cap: 0.05
    sharing_basis: above_threshold
  - name: with_stop_loss
    kind: two_sided
    shared_savings_rate: 0.5
    shared_loss_rate: 0.5
    stop_loss: {attachment: 50000.0, coinsurance: 0.2, premium_loading: 0.1}
  - name: high_attachment
    kind: upside_only
    shared_savings_rate: 0.5
    stop_loss: {attachment: 150000.0}
"""

#: SMALL_SCENARIO at 1,500 trials of 30 members, with a simulated quality score, payment timing
#: and a template design, so that every kind of variable is compared; chunk sizes 1, 7, 1000 and
#: 1,500 (all) split its trials in four different ways.
REPRO_SCENARIO = (
    SMALL_SCENARIO.replace("trials: 64", "trials: 1500")
    .replace("members: 300", "members: 30")
    .replace(
        "designs:\n",
        "quality_model: {mean: 0.78, sd: 0.4, persistence: 0.7}\n"
        "timing: {completion_factor_sd: 0.007, interim_share: 0.4}\n"
        "designs:\n"
        "  - {name: enhanced, template: mssp_enhanced}\n",
    )
)
#: The chunk sizes the reproducibility tests run REPRO_SCENARIO with ("all": one chunk).
REPRO_CHUNKS = (1, 7, 1000, "all")


@pytest.fixture(scope="session")
def repro_loaded():
    """REPRO_SCENARIO, validated."""
    from simsettle.scenario import parse_scenario

    return parse_scenario(REPRO_SCENARIO, "repro.yaml")


@pytest.fixture(scope="session")
def repro_baseline(repro_loaded):
    """REPRO_SCENARIO in chunks of 64 trials on the serial kernel: what every other run of it
    must reproduce to the bit."""
    import simsettle

    return simsettle.simulate(repro_loaded, chunk_trials=64, threads=1, progress=False)


@pytest.fixture
def small_text() -> str:
    """A valid scenario small enough to simulate in well under a second."""
    return SMALL_SCENARIO


def assert_error_at(text: str, line_text: str, message: str, name: str = "s.yaml") -> None:
    """Parsing ``text`` as file ``name`` fails with a message holding ``message`` at the line
    ``line_text`` (file:line:)."""
    from simsettle import ScenarioError, parse_scenario

    line = text.splitlines().index(line_text) + 1
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, name)
    assert f"{name}:{line}:" in str(err.value), str(err.value)
    assert message in str(err.value), str(err.value)


def assert_twin_agrees(sc, trial: int):
    """The kernel's aggregates of one trial of scenario ``sc`` against the reference twin's
    (:func:`simsettle.models.reference.simulate_trial_reference`) to 1e-12, the quality field
    aside where the scenario simulates none; returns the kernel's."""
    import numpy as np

    from simsettle._kernels import records as R
    from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
    from simsettle.models.reference import simulate_trial_reference

    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    got = simulate_aggregates(inputs, key, trial, 1)[0]
    ref = simulate_trial_reference(
        sc, (int(key[0]), int(key[1])), trial, [float(a) for a in inputs.attachments]
    )
    ref[:, R.F_QUALITY] = got[:, R.F_QUALITY]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    return got


def trial_by_lanes(sc, trial: int, lanes: int):
    """One trial of ``sc`` by the GPU kernel's lane function run on the CPU, one call per lane
    (slots ``lane, lane + lanes, ...``), the lane sums added in lane order and the trial-level
    fields from :func:`~simsettle._kernels.member.system_years`: what the kernels must match."""
    import numpy as np

    from simsettle._kernels import records as R
    from simsettle._kernels.cuda import TRIAL_FIELDS, simulate_lane
    from simsettle._kernels.member import system_years
    from simsettle.models.population import compile_model, key_from_seed

    inputs = compile_model(sc)
    k0, k1 = key_from_seed(sc.seed)
    system = np.zeros((inputs.n_years, inputs.n_fields))
    record = inputs.params[()]
    system_years(k0, k1, trial, record, system)
    parts = np.zeros((lanes, inputs.n_years, inputs.n_fields))
    for lane in range(lanes):
        parts[lane, :, R.F_TREND_INDEX] = system[:, R.F_TREND_INDEX]
        parts[lane, :, R.F_CONTAGION] = system[:, R.F_CONTAGION]
        args = (record, inputs.attachments, inputs.practices, parts[lane], lane, lanes)
        simulate_lane(k0, k1, trial, *args)
    total = np.zeros((inputs.n_years, inputs.n_fields))
    for lane in range(lanes):
        total += parts[lane]
    trial_level = list(TRIAL_FIELDS)
    total[:, trial_level] = system[:, trial_level]
    return total


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-expected",
        action="store_true",
        default=False,
        help="rewrite tests/golden/*.json from the current engine instead of comparing",
    )
    parser.addoption(
        "--update-baselines",
        action="store_true",
        default=False,
        help="rewrite tests/baseline/*.png from the current figures instead of comparing",
    )


@pytest.fixture
def update_expected(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite golden files (``pytest --update-expected``)."""
    return bool(request.config.getoption("--update-expected"))


@pytest.fixture
def update_baselines(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite image baselines (``pytest --update-baselines``)."""
    return bool(request.config.getoption("--update-baselines"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the generated cases each fuzzing strategy tried (the ``FUZZ_COUNTS`` counters of
    the test modules), whether or not output is captured."""
    import sys
    from collections import Counter

    counts: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for module in list(sys.modules.values()):
        for name, into in (("FUZZ_COUNTS", counts), ("FUZZ_OUTCOMES", outcomes)):
            found = getattr(module, name, None)
            if isinstance(found, Counter) and getattr(module, "__file__", None):
                into.update(found)
    if counts:
        terminalreporter.section("generated cases")
        for name, n in sorted(counts.items()):
            split = [
                f"{k.rsplit(': ', 1)[1]} {v:,}"
                for k, v in outcomes.items()
                if k.startswith(name + ": ")
            ]
            detail = f" ({', '.join(sorted(split))})" if split else ""
            terminalreporter.write_line(f"{name}: {n:,}{detail}")
        terminalreporter.write_line(f"total: {sum(counts.values()):,}")
