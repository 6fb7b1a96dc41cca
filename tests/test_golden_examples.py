"""Golden numbers of every example scenario: a change to the engine that moves them is visible.

Each example runs with 300 trials; the per-design summary and the first trials' settlements are
compared with tests/golden/<example>.json to 1e-10 relative (bit-identical on one machine;
the tolerance allows a different libm). After an intended change, rewrite them with
``pytest tests/test_golden_examples.py --update-expected`` and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import simsettle
from tests.conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden"
TRIALS = 300


def _numbers(path: Path) -> dict[str, object]:
    ds = simsettle.simulate(path, trials=TRIALS, progress=False)
    out: dict[str, object] = {
        "trials": TRIALS,
        "seed": int(ds.attrs["seed"]),
        "actual_spend_sum": float(ds.actual_spend.sum()),
        "benchmark_sum": float(ds.benchmark.sum()),
        "designs": {},
    }
    designs: dict[str, object] = {}
    for d in ds.design.values:
        s = ds.settlement.sel(design=d).values.ravel()
        designs[str(d)] = {
            "mean": float(s.mean()),
            "quantiles": [float(x) for x in np.quantile(s, [0.05, 0.5, 0.95])],
            "prob_loss": float((s < 0).mean()),
            "prob_savings": float((s > 0).mean()),
            "first": [float(x) for x in s[:8]],
        }
    out["designs"] = designs
    return out


def _close(got: object, want: object, where: str) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict)
        assert set(got) == set(want), where
        for k in want:
            _close(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list)
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-10, abs=1e-6), where
    else:
        assert got == want, where


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_matches_golden_numbers(example: Path, update_expected: bool) -> None:
    path = GOLDEN / f"{example.stem}.json"
    got = _numbers(example)
    if update_expected or not path.exists():
        if not update_expected:
            pytest.fail(f"{path} is missing; create it with --update-expected")
        path.write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")
        return
    _close(got, json.loads(path.read_text(encoding="utf-8")), example.stem)
