"""The CUDA path (simsettle[gpu]) against the CPU kernel.

* Without numba-cuda: the CUDA kernel's lane function (an ordinary @njit function) against the
  reference model, and against the CPU kernel: to the bit with the CPU's lanes added in lane
  order, within 1e-12 with other lane counts; the gate's checks and its install hint.
* With numba-cuda (without a GPU): the kernel itself on numba's CUDA simulator, in a subprocess
  (NUMBA_ENABLE_CUDASIM must be set before numba.cuda is first imported, and must not leak into
  the other tests); tiny sizes, since the simulator runs every thread as a Python thread.
* With numba-cuda's toolkit (libNVVM, the ``cu12`` extra; still no GPU needed): the PTX the gate
  compiles has no contracted multiply-adds.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simsettle._kernels import records as R
from simsettle._kernels.cuda import TRIAL_FIELDS
from simsettle.models import gpu
from simsettle.models.population import compile_model, key_from_seed, simulate_aggregates
from simsettle.models.reference import simulate_trial_reference
from simsettle.scenario import parse_scenario
from tests.conftest import trial_by_lanes

# The lane function's first compile alone takes about a minute on a 2-core CI machine: the
# whole module runs in the slow pass (.ci/run runs `pytest -m slow` after the default run).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HAS_NUMBA_CUDA = importlib.util.find_spec("numba_cuda") is not None
needs_numba_cuda = pytest.mark.skipif(
    not HAS_NUMBA_CUDA, reason="numba-cuda is not installed (pip install numba-cuda, or [gpu])"
)

# Every mechanism of the model: retrospective attribution with payer-only and
# provider-only members (correlated with risk), leakage, care management, ageing, entrants and
# their cost ratio, deaths and losses of attribution, demographic scores, shocks, quality,
# participant practices, and the two stop-loss attachments of the small scenario.
EVERY_MECHANISM = {
    "members: 300": "members: 40\n  ageing: 0.02\n  entrant_risk_ratio: 1.3\n"
    "  mortality: 0.06\n  attribution_loss: 0.05\n  decedent_cost_ratio: 5.0\n"
    "  entrant_cost_ratio: 0.8\n  risk_score_accuracy: 0.6\n"
    "  demographic_signal: 0.5\n  attribution: {method: retrospective, "
    "payer_only_share: 0.2, provider_only_share: 0.1, payer_only_correlation: 0.5, "
    "provider_only_correlation: -0.3, leakage_share: 0.2}",
    "  sd: 0.03\n": "  sd: 0.03\n  reference_mean: 0.03\n  reference_sd: 0.02\n"
    "  correlation: 0.6\n  shock_probability: 0.5\n  shock_size: -0.1\n",
    "  trend_rate: 0.04": "  trend_rate: 0.04\n  risk_model: demographic",
    "designs:": "care_management: {high_risk_share: 0.2, effect: 0.1, cost_pmpm: 20.0}\n"
    "quality_model: {mean: 0.8, sd: 0.4, persistence: 0.5}\n"
    "participants: {practices: [{name: a, share: 0.3, cost_ratio: 0.8}, "
    "{name: b, share: 0.7, cost_ratio: 1.1}]}\ndesigns:",
}
FREQUENCY_SEVERITY = {
    **EVERY_MECHANISM,
    # A mean of 30 claims a year, sometimes hundreds, takes several blocks of claim draws; the
    # claim contagion is a trial field the lanes read.
    "  pmpm: 900.0": "  pmpm: 900.0\n  model: frequency_severity\n"
    "  claims_per_year: 30.0\n  claim_dispersion: 1.5\n  contagion: 0.5",
}
# Claim severity families: a spliced severity (weibull body, generalised Pareto tail: the
# quantiles of both, and the splice's branch) and inverse Gaussian sums (a square root, one
# draw a member-year).
SPLICED_SEVERITY = {
    **FREQUENCY_SEVERITY,
    "  contagion: 0.5": "  contagion: 0.5\n  severity: {family: spliced, threshold: 2000, "
    "tail_probability: 0.05, body: {family: weibull, shape: 0.8}, "
    "tail: {family: gpd, shape: 0.3, scale: 1500}}",
}
INVERSE_GAUSSIAN_SEVERITY = {
    **FREQUENCY_SEVERITY,
    "  contagion: 0.5": "  contagion: 0.5\n  severity: {family: inverse_gaussian, cv: 2.5}",
}
# Claim counts by inversion: a binomial with contagion, a zero-modified negative binomial.
BINOMIAL_COUNTS = {
    **FREQUENCY_SEVERITY,
    "  pmpm: 900.0": "  pmpm: 900.0\n  model: frequency_severity\n  claims_per_year: 30.0\n"
    "  claim_count: binomial\n  claim_trials: 300\n  contagion: 0.1",
}
ZERO_MODIFIED_COUNTS = {
    **FREQUENCY_SEVERITY,
    "  pmpm: 900.0": "  pmpm: 900.0\n  model: frequency_severity\n  claims_per_year: 30.0\n"
    "  claim_frailty: gamma\n  claim_dispersion: 1.5\n  claim_zero_probability: 0.3",
}
# The member-cost mixture's families: a gamma body (the own gamma quantile) with a gpd tail,
# persistent (every mechanism: the latent normals through the families' quantiles).
MIXTURE_FAMILIES = {
    **EVERY_MECHANISM,
    "  pmpm: 900.0": "  pmpm: 900.0\n  body_family: gamma\n  body_cv: 1.4\n"
    "  tail_family: gpd\n  tail_shape: 0.2\n  tail_scale: 20000.0",
}
INVERSE_GAUSSIAN_BODY = {
    "members: 300": "members: 40",
    "  pmpm: 900.0": "  pmpm: 900.0\n  body_family: inverse_gaussian\n  body_cv: 2.0\n"
    "  persistence: 0.0",
}
# A practice that leaves after the first performance year: every member field per practice.
PRACTICE_CHURN = {
    **EVERY_MECHANISM,
    "designs:": EVERY_MECHANISM["designs:"].replace(
        "cost_ratio: 0.8}", "cost_ratio: 0.8, leaves: 2027}"
    ),
}
# The cases the lane function is checked on, on the CPU.
LANE_CASES = [
    "mixture",
    "every_mechanism",
    "frequency_severity",
    "spliced_severity",
    "binomial_counts",
    "mixture_families",
]
# name: (scenario edits, first trial, trials, threads per block, threads per trial, blocks)
CASES: dict[str, tuple[dict[str, str], int, int, int, int, int | None]] = {
    # The default mixture model with turnover, replacement and two stop-loss attachments; two
    # trials per block and one block for three trials: the second round has an idle group.
    "mixture": ({"members: 300": "members: 40"}, 5, 3, 2 * R.LANES, R.LANES, 1),
    "every_mechanism": (EVERY_MECHANISM, 0, 2, R.LANES, R.LANES, None),
    "frequency_severity": (FREQUENCY_SEVERITY, 9, 2, R.LANES, R.LANES, None),
    "practice_churn": (PRACTICE_CHURN, 4, 2, R.LANES, R.LANES, None),
    "spliced_severity": (SPLICED_SEVERITY, 6, 2, R.LANES, R.LANES, None),
    "inverse_gaussian_severity": (INVERSE_GAUSSIAN_SEVERITY, 1, 2, R.LANES, R.LANES, None),
    "binomial_counts": (BINOMIAL_COUNTS, 2, 2, R.LANES, R.LANES, None),
    "zero_modified_counts": (ZERO_MODIFIED_COUNTS, 8, 2, R.LANES, R.LANES, None),
    "mixture_families": (MIXTURE_FAMILIES, 7, 2, R.LANES, R.LANES, None),
    "inverse_gaussian_body": (INVERSE_GAUSSIAN_BODY, 3, 2, R.LANES, R.LANES, None),
    # Fewer members than lanes (idle threads), a trial counter above 2**31.
    "idle_threads": ({"members: 300": "members: 20"}, 2**31 + 3, 2, 32, 32, None),
    # Four lanes a trial, two trials a block: another order of addition.
    "four_lanes": (EVERY_MECHANISM, 3, 2, 8, 4, None),
}


def _scenario(edits: dict[str, str]):
    from conftest import SMALL_SCENARIO

    text = SMALL_SCENARIO
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new)
    return parse_scenario(text).scenario


def _cpu(name: str) -> np.ndarray:
    edits, trial0, n_trials, *_ = CASES[name]
    sc = _scenario(edits)
    return simulate_aggregates(compile_model(sc), key_from_seed(sc.seed), trial0, n_trials)


def _practice_fields(inputs) -> list[int]:
    """Every per-practice field: spend and months, or every member field with churn."""
    return list(range(R.N_BASE_FIELDS + int(inputs.attachments.shape[0]), inputs.n_fields))


def _lanes(name: str, trial: int, lanes: int) -> np.ndarray:
    """One trial by the kernel's lane function on the CPU: lane sums added in lane order."""
    edits, *_ = CASES[name]
    return trial_by_lanes(_scenario(edits), trial, lanes)


# --------------------------------------------------------------------------------------------
# the lane function on the CPU (no numba-cuda needed)


@pytest.mark.parametrize("lanes", [1, R.LANES])
@pytest.mark.parametrize(
    "name",
    LANE_CASES,
)
def test_lane_function_matches_reference_model(name, lanes):
    edits, trial0, *_ = CASES[name]
    sc = _scenario(edits)
    inputs = compile_model(sc)
    key = key_from_seed(sc.seed)
    ref = simulate_trial_reference(
        sc, (int(key[0]), int(key[1])), trial0, [float(a) for a in inputs.attachments]
    )
    if not sc.quality_model:
        ref[:, R.F_QUALITY] = _lanes(name, trial0, lanes)[:, R.F_QUALITY]
    np.testing.assert_allclose(_lanes(name, trial0, lanes), ref, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "name",
    LANE_CASES,
)
def test_cpu_lanes_added_in_lane_order_are_the_cpu_kernel(name):
    edits, trial0, n_trials, *_ = CASES[name]
    inputs = compile_model(_scenario(edits))
    want = _cpu(name)
    practice = _practice_fields(inputs)
    exact = [f for f in range(inputs.n_fields) if f not in practice]
    for i in range(n_trials):
        got = _lanes(name, trial0 + i, R.LANES)
        np.testing.assert_array_equal(got[:, exact], want[i][:, exact])
        # The CPU adds the practices' fields slot by slot, across its lanes.
        np.testing.assert_allclose(got[:, practice], want[i][:, practice], rtol=1e-12, atol=0)


@pytest.mark.parametrize("lanes", [1, 4, 64])
@pytest.mark.parametrize(
    "name",
    LANE_CASES,
)
def test_other_lane_counts_agree_with_the_cpu_kernel(name, lanes):
    trial0 = CASES[name][1]
    got = _lanes(name, trial0, lanes)
    want = _cpu(name)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(got[:, R.F_MEMBERS], want[:, R.F_MEMBERS])  # counts: exact


# --------------------------------------------------------------------------------------------
# the gate


def test_gate_checks_inputs_before_it_needs_cuda():
    inputs = compile_model(_scenario({}))
    key = key_from_seed(1)
    with pytest.raises(ValueError, match="trials"):
        gpu.simulate_aggregates_cuda(inputs, key, -1, 3)
    with pytest.raises(ValueError, match="trials"):
        gpu.simulate_aggregates_cuda(inputs, key, 2**32 - 1, 3)
    with pytest.raises(ValueError, match="power of two"):
        gpu.simulate_aggregates_cuda(inputs, key, 0, 3, lanes=12)
    with pytest.raises(ValueError, match="multiple of lanes"):
        gpu.simulate_aggregates_cuda(inputs, key, 0, 3, block=40, lanes=16)
    with pytest.raises(ValueError, match="grid"):
        gpu.simulate_aggregates_cuda(inputs, key, 0, 3, grid=0)


def test_gate_names_the_extra_without_numba_cuda(monkeypatch):
    find_spec = importlib.util.find_spec

    def no_numba_cuda(name, *args, **kwargs):
        return None if name == "numba_cuda" else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", no_numba_cuda)
    inputs = compile_model(_scenario({}))
    with pytest.raises(ImportError, match=r"pip install 'simsettle\[gpu\]'"):
        gpu.simulate_aggregates_cuda(inputs, key_from_seed(1), 0, 2)
    assert not gpu.cuda_available()


def _run(code: str, *args: str, simulator: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1" if simulator else "0"}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
        check=False,
    )


@needs_numba_cuda
def test_gate_says_when_there_is_no_gpu():
    code = (
        "from numba import cuda\n"
        "if cuda.is_available():\n"
        "    print('GPU'); raise SystemExit(0)\n"
        "from simsettle.errors import SimulationError\n"
        "from simsettle.models.gpu import simulate_aggregates_cuda\n"
        "from simsettle.models.population import compile_model, key_from_seed\n"
        "from simsettle.scenario import parse_scenario\n"
        "import sys; sys.path.insert(0, 'tests')\n"
        "from conftest import SMALL_SCENARIO\n"
        "sc = parse_scenario(SMALL_SCENARIO).scenario\n"
        "try:\n"
        "    simulate_aggregates_cuda(compile_model(sc), key_from_seed(1), 0, 2)\n"
        "except SimulationError as e:\n"
        "    print('ERROR', e)\n"
    )
    proc = _run(code, simulator=False)
    assert proc.returncode == 0, proc.stderr
    if proc.stdout.strip() == "GPU":
        pytest.skip("a CUDA GPU is available here")
    assert "ERROR no CUDA GPU is available" in proc.stdout
    assert "NUMBA_ENABLE_CUDASIM=1" in proc.stdout


# --------------------------------------------------------------------------------------------
# the kernel on numba's CUDA simulator

SIMULATE = """\
import json, sys
import numpy as np
sys.path.insert(0, "tests")
import test_gpu as T
from simsettle._kernels import cuda as K
from simsettle.models import gpu as G
from simsettle.models.population import compile_model, key_from_seed

results = {}
for name in json.loads(sys.argv[1]):
    edits, trial0, n_trials, block, lanes, grid = T.CASES[name]
    sc = T._scenario(edits)
    args = (compile_model(sc), key_from_seed(sc.seed), trial0, n_trials)
    results[name] = G.simulate_aggregates_cuda(*args, block=block, lanes=lanes, grid=grid)
    if name == "mixture":
        # Again, with the lane sums done a few fields at a time (4, 4, 4, 2 of 14).
        K._REDUCE_DOUBLES = 4 * block
        G._KERNELS.clear()
        results["mixture_in_passes"] = G.simulate_aggregates_cuda(
            *args, block=block, lanes=lanes, grid=grid
        )
        K._REDUCE_DOUBLES = 4096
        G._KERNELS.clear()
np.savez(sys.argv[2], **results)
"""


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> dict[str, np.ndarray]:
    if not HAS_NUMBA_CUDA:
        pytest.skip("numba-cuda is not installed (pip install numba-cuda, or [gpu])")
    path = tmp_path_factory.mktemp("cudasim") / "aggregates.npz"
    proc = _run(SIMULATE, json.dumps(list(CASES)), str(path), simulator=True)
    assert proc.returncode == 0, proc.stderr
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", [*CASES, "mixture_in_passes"])
def test_simulated_kernel_matches_cpu(simulated, name):
    base = name.removesuffix("_in_passes")
    edits, _, _, _, lanes, _ = CASES[base]
    got = simulated[name]
    want = _cpu(base)
    assert got.shape == want.shape
    # Trial-level draws: the same code on the same words (the simulator runs the CPU's libm).
    trial = list(TRIAL_FIELDS)
    np.testing.assert_array_equal(got[:, :, trial], want[:, :, trial])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(got[:, :, R.F_MEMBERS], want[:, :, R.F_MEMBERS])
    if lanes == R.LANES:
        # The CPU's order of addition: every field but the practices' to the bit.
        practice = _practice_fields(compile_model(_scenario(edits)))
        exact = [f for f in range(got.shape[2]) if f not in practice]
        np.testing.assert_array_equal(got[:, :, exact], want[:, :, exact])
    assert got[:, :, R.F_SPEND].min() > 0


def test_simulated_cases_exercise_the_model(simulated):
    every = simulated["every_mechanism"]
    assert every[:, 3:, R.F_CM_MONTHS].sum() > 0  # care management from the performance years
    assert every[:, :, R.F_CM_AVOIDED].sum() > 0
    assert np.ptp(every[:, :, R.F_QUALITY]) > 0
    first = R.N_BASE_FIELDS + 2  # two attachments, then two practices' spend and months
    assert np.all(every[:, :, first : first + 4] > 0)
    assert simulated["mixture"][:, :, R.N_BASE_FIELDS].sum() > 0  # excess over 50,000 USD
    members = simulated["idle_threads"][:, :, R.F_MEMBERS]
    assert members.min() >= 20
    churn = simulated["practice_churn"]  # every member field of two practices
    assert churn.shape[2] == R.N_BASE_FIELDS + 2 + 2 * (R.N_LANE_FIELDS + 2)
    assert np.all(churn[:, :, first : first + 2 * 5] > 0)  # spend to members, both practices


# --------------------------------------------------------------------------------------------
# PTX: no contracted multiply-adds (needs libNVVM, not a GPU)

PTX = """\
import re, sys
from numba import cuda

def probe(x):
    x[0] = 1.0

try:  # libNVVM and NVRTC (numba-cuda[cu12] or a CUDA toolkit), no GPU needed
    cuda.compile_ptx(probe, "void(float64[::1])", cc=(9, 0))
except Exception as e:
    print("NO TOOLKIT", type(e).__name__, str(e).splitlines()[0]); raise SystemExit(0)
import numba.cuda.dispatcher as D
from simsettle._kernels import cuda as K
from simsettle.models import gpu as G

class Device:  # device functions are compiled for the current device: pretend an H100
    compute_capability = (9, 0)

D.get_current_device = Device
captured = []
cuda.jit = lambda sig, **options: captured.append
K.make_kernel(4, 1, 1, 128, 16)
ptx = {}
for contract in (True, False):
    if contract:
        ptx[contract], _ = cuda.compile_ptx(captured[0], K.KERNEL_SIGNATURE, cc=(9, 0))
    else:
        with G._no_fma_contraction(cuda):
            ptx[contract], _ = cuda.compile_ptx(captured[0], K.KERNEL_SIGNATURE, cc=(9, 0))
for contract, text in ptx.items():
    counts = [len(re.findall(r"\\b" + re.escape(op) + r"\\b", text))
              for op in ("fma.rn.f64", "mul.f64", "add.f64", "mul.rn.f64", "add.rn.f64")]
    print(int(contract), *counts)
"""


@needs_numba_cuda
def test_kernel_ptx_has_no_contracted_multiply_adds():
    proc = _run(PTX, simulator=False)
    assert proc.returncode == 0, proc.stderr
    if proc.stdout.startswith("NO TOOLKIT"):
        pytest.skip(f"no CUDA compiler libraries (numba-cuda[cu12]): {proc.stdout.strip()}")
    rows = {int(r[0]): [int(x) for x in r[1:]] for r in map(str.split, proc.stdout.splitlines())}
    fma_default, mul_default, add_default, _, _ = rows[1]
    fma, mul, add, mul_rn, add_rn = rows[0]
    # NVVM's default contracts; -fma=0 leaves only libdevice's explicit fma and marks every
    # multiply and add .rn, which ptxas may not fuse either. The model calls no libdevice
    # function that has one (its exp and log are _kernels.elementary's, sqrt is sqrt.rn), so on
    # an H200 (numba-cuda 0.30.4, CUDA 13) none is left at all.
    assert fma_default > fma >= 0
    assert mul_default > 0
    assert add_default > 0
    assert mul == add == 0
    assert mul_rn > 0
    assert add_rn > 0


@needs_numba_cuda
def test_simulate_on_the_device_gives_the_cpu_results():
    # simsettle.simulate(device="cuda") end to end, on the simulator: every result variable
    # equals the CPU run's (the trial-level and member sums are bit-identical at 16 lanes).
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "import simsettle\n"
        "from simsettle.scenario import parse_scenario\n"
        "from simsettle.scenario.paths import parse_override\n"
        "sys.path.insert(0, 'tests')\n"
        "from conftest import SMALL_SCENARIO\n"
        "loaded = parse_scenario(SMALL_SCENARIO, 's.yaml', "
        "[parse_override('population.members=40'), parse_override('trials=3')])\n"
        "import simsettle.runner as runner\n"
        "cpu_kernel = runner.simulate_aggregates\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('the CPU kernel ran')\n"
        "runner.simulate_aggregates = refuse\n"
        "gpu = simsettle.simulate(loaded, device='cuda', progress=False)\n"
        "runner.simulate_aggregates = cpu_kernel\n"
        "cpu = simsettle.simulate(loaded, threads=1, progress=False)\n"
        "bad = [str(n) for n in cpu.data_vars\n"
        "       if not np.array_equal(cpu[n].values, gpu[n].values, equal_nan=True)]\n"
        "print(json.dumps(bad))\n"
    )
    proc = _run(code, simulator=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_device_is_checked():
    from conftest import SMALL_SCENARIO

    import simsettle
    from simsettle.scenario import parse_scenario

    loaded = parse_scenario(SMALL_SCENARIO, "s.yaml")
    with pytest.raises(ValueError, match="device must be"):
        simsettle.simulate(loaded, device="tpu", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot be combined with client"):
        simsettle.simulate(loaded, device="cuda", client=object(), progress=False)
