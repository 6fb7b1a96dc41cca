"""The elementary functions behind the quantiles (``vlog1p``, ``vexpm1``, ``vlgamma``,
``vlgamma1p``, ``mills_ratio`` of :mod:`simsettle._kernels.elementary`) against mpmath and
numpy/scipy, and the checks that the kernels call no C library transcendental (whose results
differ between glibc on the CPU and libdevice on a GPU).

The bounds are about twice the largest relative error measured on these grids (fixed seeds) and
on wider sweeps (vlog1p 4.3e-16, vexpm1 5.0e-16, vlgamma 9.2e-16, vlgamma1p 1.1e-15, mills_ratio
6.8e-16), so that a change of method shows while a different but equally good rounding does not.
"""

from __future__ import annotations

import ast
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from numba import njit
from scipy import special

from simsettle._kernels import elementary
from simsettle._kernels.elementary import mills_ratio, vexpm1, vlgamma, vlgamma1p, vlog1p

F8 = npt.NDArray[np.float64]
ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "simsettle" / "_kernels"
TINY = 2.2250738585072014e-308


@njit(error_model="numpy")
def _apply(which: int, x: F8) -> F8:
    out = np.empty_like(x)
    for i in range(x.size):
        if which == 0:
            out[i] = vlog1p(x[i])
        elif which == 1:
            out[i] = vexpm1(x[i])
        elif which == 2:
            out[i] = vlgamma(x[i])
        elif which == 3:
            out[i] = vlgamma1p(x[i])
        else:
            out[i] = mills_ratio(x[i])
    return out


def _worst(which: int, x: F8, exact: Callable[[Any], Any]) -> float:
    """The largest relative error of the function ``which`` on ``x`` against ``exact`` (mpmath)."""
    mp = pytest.importorskip("mpmath")
    got = _apply(which, x)
    worst = 0.0
    with mp.workdps(40):
        for xi, gi in zip(x.tolist(), got.tolist(), strict=True):
            ref = exact(mp.mpf(xi))
            err = abs(mp.mpf(gi) - ref)
            rel = float(err / abs(ref)) if ref != 0 else (0.0 if err == 0 else math.inf)
            worst = max(worst, rel)
    return worst


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


def test_vlog1p_is_accurate_from_minus_one_to_1e300() -> None:
    rng = _rng()
    mags = 10.0 ** rng.uniform(-300, 0, 3000)
    x = np.concatenate(
        [
            -mags * (1.0 - 2.0**-53),  # (-1, 0)
            10.0 ** rng.uniform(-300, 300, 3000),
            rng.uniform(-1.0, 3.0, 3000)[1:],
            [-1.0 + 2.0**-53, -0.5, -0.25, 1e-16, -1e-16, 2.0**-52, 1.0, 1e300, TINY, 1e-320],
        ]
    )
    assert _worst(0, x, lambda v: v.context.log1p(v)) <= 1e-15  # measured 3.3e-16


def test_vexpm1_is_accurate_up_to_709() -> None:
    rng = _rng()
    x = np.concatenate(
        [
            rng.uniform(-40.0, 40.0, 3000),
            rng.uniform(-1.0, 1.0, 3000),
            10.0 ** rng.uniform(-300, math.log10(709.0), 2000),
            -(10.0 ** rng.uniform(-300, math.log10(708.0), 2000)),
            [0.34657359, -0.34657359, 0.6931471805599453, -0.6931471805599453, 1e-300, 709.0],
        ]
    )
    assert _worst(1, x, lambda v: v.context.expm1(v)) <= 1e-15  # measured 4.3e-16


def test_vexpm1_and_vlog1p_edges() -> None:
    x = np.array([0.0, -0.0, 1e-320, -1e-320, -37.0, -40.0, -708.0, -800.0, 800.0, 709.0])
    e = _apply(1, x)
    assert e[0] == 0.0
    assert e[2] == 1e-320
    assert e[3] == -1e-320
    assert e[4] == pytest.approx(math.expm1(-37.0), rel=1e-15)
    assert (e[5:8] == -1.0).all()
    assert e[8] == e[9] == pytest.approx(math.expm1(709.0), rel=1e-15)  # clamped, finite
    lp = _apply(0, np.array([0.0, 1e-320, -1e-320, -0.5, 1.0]))
    assert lp[0] == 0.0
    assert lp[1] == 1e-320
    assert lp[2] == -1e-320
    assert lp[3] == pytest.approx(-math.log(2.0), rel=5e-16)
    assert lp[4] == pytest.approx(math.log(2.0), rel=5e-16)


def test_vlgamma_is_accurate_on_positive_normals() -> None:
    rng = _rng()
    x = np.concatenate(
        [
            10.0 ** rng.uniform(-307, 300, 3000),
            rng.uniform(TINY, 12.0, 3000),
            10.0 ** rng.uniform(-3, 2, 2000),
            [TINY, 1e-300, 0.5, 1.5, 2.5, 3.5, 9.999999999999998, 10.0, 1e6, 1e300],
        ]
    )
    assert _worst(2, x, lambda v: v.context.loggamma(v)) <= 2e-15  # measured 7.2e-16


def test_vlgamma_keeps_its_relative_precision_at_the_zeros_at_1_and_2() -> None:
    rng = _rng()
    d = np.concatenate([10.0 ** rng.uniform(-16, -1, 1500), rng.uniform(0.0, 0.1, 1500)])
    x = np.concatenate([1.0 + d, 1.0 - d, 2.0 + d, 2.0 - d])
    x = x[(x != 1.0) & (x != 2.0)]
    assert _worst(2, x, lambda v: v.context.loggamma(v)) <= 2e-15  # measured 6.8e-16
    assert _apply(2, np.array([1.0, 2.0])).tolist() == [0.0, 0.0]


def _lgamma1p_exact(a: Any) -> Any:
    """``lgamma(1 + a)``, by its series where ``1 + a`` at 40 digits would lose ``a``."""
    mp = a.context
    if abs(a) < 1e-12:
        return -mp.euler * a + mp.zeta(2) / 2 * a**2 - mp.zeta(3) / 3 * a**3
    return mp.loggamma(1 + a)


def test_vlgamma1p_is_accurate_for_small_and_large_arguments() -> None:
    rng = _rng()
    a = np.concatenate(
        [
            10.0 ** rng.uniform(-300, 300, 3000),
            -(10.0 ** rng.uniform(-300, -1e-9, 2000)),
            rng.uniform(-0.999, 3.0, 3000),
            1.0 + 10.0 ** rng.uniform(-16, -1, 1000),
            1.0 - 10.0 ** rng.uniform(-16, -1, 1000),
            [0.5, -0.5, 1.5, 1e-300, -1e-300, 1e-4, 1e6],
        ]
    )
    a = a[(a > -1.0) & (a != 0.0) & (a != 1.0)]
    assert _worst(3, a, _lgamma1p_exact) <= 2.5e-15  # measured 1.05e-15
    assert _apply(3, np.array([0.0, 1.0])).tolist() == [0.0, 0.0]


def test_mills_ratio_is_accurate_on_the_half_line() -> None:
    rng = _rng()
    x = np.concatenate(
        [
            rng.uniform(0.0, 8.0, 3000),
            10.0 ** rng.uniform(-300, 8, 2000),
            [0.0, 0.67448975, 0.6744897500000001, 2.5, 5.656854249492381, 5.656854249492382],
        ]
    )
    exact = lambda v: v.context.ncdf(-v) / v.context.npdf(v)  # noqa: E731
    assert _worst(4, x, exact) <= 1.5e-15  # measured 6.5e-16
    assert _apply(4, np.array([0.0]))[0] == pytest.approx(math.sqrt(math.pi / 2), rel=5e-16)


def test_agree_with_numpy_and_scipy_on_large_grids() -> None:
    # The C library's (within an ulp or so) on many more points than the mpmath checks.
    rng = np.random.default_rng(11)
    x = np.concatenate(
        [rng.uniform(-0.999, 10.0, 100_000), 10.0 ** rng.uniform(-300, 300, 100_000)]
    )
    np.testing.assert_allclose(_apply(0, x), np.log1p(x), rtol=1e-15, atol=0)
    x = np.concatenate([rng.uniform(-40.0, 40.0, 100_000), rng.normal(0.0, 1e-3, 100_000)])
    np.testing.assert_allclose(_apply(1, x), np.expm1(x), rtol=1e-15, atol=0)
    x = np.concatenate([rng.uniform(2.5, 1e3, 100_000), 10.0 ** rng.uniform(-300, -1, 100_000)])
    np.testing.assert_allclose(_apply(2, x), special.gammaln(x), rtol=2e-15, atol=0)
    x = rng.uniform(0.0, 30.0, 200_000)
    mills = math.sqrt(math.pi / 2) * special.erfcx(x / math.sqrt(2.0))
    np.testing.assert_allclose(_apply(4, x), mills, rtol=2e-15, atol=0)


# Attributes of math that compile to the same bits everywhere: sqrt (correctly rounded on both),
# floor and fabs (exact), and constants.
ALLOWED_MATH = {"sqrt", "floor", "fabs", "pi", "e", "tau", "inf", "nan"}


def _is_jitted(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "njit":
            return True
    return False


def _libm_uses(tree: ast.AST) -> list[str]:
    """What in ``tree`` could call a C library or libdevice transcendental: ``math.`` outside
    :data:`ALLOWED_MATH`, ``cmath``, ``np.``/``numpy.`` beyond ``np.int64`` (a conversion), and
    ``**`` (``pow``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module, name = node.value.id, node.attr
            if module == "math" and name not in ALLOWED_MATH:
                found.append(f"math.{name}")
            if module in ("cmath", "scipy", "special"):
                found.append(f"{module}.{name}")
            if module in ("np", "numpy") and name != "int64":
                found.append(f"{module}.{name}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            found.append(f"** at line {node.lineno}")
        if isinstance(node, ast.ImportFrom) and node.module in ("math", "cmath", "numpy"):
            found.append(f"from {node.module} import ...")
    return found


def test_quantiles_use_no_libm_transcendental() -> None:
    tree = ast.parse((KERNELS / "quantiles.py").read_text())
    # The whole module, its constants included (written as literals, not math.log at import).
    assert _libm_uses(tree) == []
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported.isdisjoint({"numpy", "scipy", "cmath"})
    # The check sees what it is meant to.
    bad = ast.parse("import math\ndef f(x):\n    return math.exp(x) + math.lgamma(x) + x**0.5\n")
    assert sorted(_libm_uses(bad)) == ["** at line 3", "math.exp", "math.lgamma"]


def test_elementary_kernels_use_no_libm_transcendental() -> None:
    tree = ast.parse((KERNELS / "elementary.py").read_text())
    jitted = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and _is_jitted(n)]
    names = {n.name for n in jitted}
    assert {"vexp", "vlog", "vlog1p", "vexpm1", "vlgamma", "vlgamma1p", "mills_ratio"} <= names
    for node in jitted:
        assert _libm_uses(node) == [], node.name


# Compiles the quantiles afresh (no cached code, which numba cannot show as LLVM IR) and lists the
# external functions the CPU code declares.
_IR_SCRIPT = """
import re
from simsettle._kernels.quantiles import gamma_quantile, inverse_gaussian_quantile
gamma_quantile(2.0, 0.3, 0.7)
inverse_gaussian_quantile(2.0, 0.3, 0.7)
for f in (gamma_quantile, inverse_gaussian_quantile):
    ir = "\\n".join(f.inspect_llvm().values())
    print(" ".join(sorted(set(re.findall(r'^declare[^@]*@"?([\\w.$]+)', ir, re.M)))))
"""
_LIBM = re.compile(
    r"^(llvm\.)?(exp|exp2|expm1|log|log2|log10|log1p|pow|powi|lgamma|tgamma|erf|erfc|sin|cos|"
    r"tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|cbrt|hypot)(f|\.f64|\.f32)?$"
)


def _run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` in a fresh interpreter at the repository root, with ``env`` added to this
    process's environment; it must succeed."""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_compiled_quantiles_declare_no_libm_function(tmp_path: Path) -> None:
    env = {"NUMBA_CACHE_DIR": str(tmp_path), "NUMBA_DISABLE_JIT": "0"}
    proc = _run_script(_IR_SCRIPT, env)
    lines = proc.stdout.split("\n")[:2]
    for line in lines:
        declared = line.split()
        assert "sqrt" in declared or "llvm.sqrt.f64" in declared  # the check sees the calls
        assert [name for name in declared if _LIBM.match(name)] == []


def test_elementary_exports_the_new_functions() -> None:
    for name in ("vlog1p", "vexpm1", "vlgamma", "vlgamma1p", "mills_ratio"):
        assert name in elementary.__all__


# The same on the GPU side: numba-cuda compiles the quantiles' Python source into device
# functions (as the CUDA kernel does) and the NVVM IR, before libdevice is linked, names the
# libdevice functions it calls. Needs libNVVM (numba-cuda[cu12]), not a GPU.
_CUDA_SCRIPT = """
import re
from numba import float64
import numba.cuda.dispatcher as D
from numba.cuda.compiler import compile_cuda
from simsettle._kernels import elementary as E
from simsettle._kernels.quantiles import gamma_quantile, inverse_gaussian_quantile

class Device:  # device functions are compiled for the current device: pretend an H100
    compute_capability = (9, 0)

D.get_current_device = Device
functions = [gamma_quantile, inverse_gaussian_quantile]
functions += [E.vlog1p, E.vexpm1, E.vlgamma, E.vlgamma1p, E.mills_ratio]
for f in functions:
    n = f.py_func.__code__.co_argcount
    try:  # libNVVM (numba-cuda[cu12] or a CUDA toolkit), no GPU needed
        ir = compile_cuda(f.py_func, float64, (float64,) * n, cc=(9, 0)).library.get_llvm_str()
    except Exception as e:
        if f is not functions[0]:
            raise
        print("NO TOOLKIT", type(e).__name__); raise SystemExit(0)
    print(" ".join(sorted(set(re.findall(r"^declare[^@]*@\\"?(__nv_\\w+)", ir, re.M)))))
"""


@pytest.mark.slow
def test_cuda_device_code_calls_no_libdevice_transcendental() -> None:
    pytest.importorskip("numba_cuda")
    proc = _run_script(_CUDA_SCRIPT, {"NUMBA_ENABLE_CUDASIM": "0"})
    if proc.stdout.startswith("NO TOOLKIT"):
        pytest.skip(f"no CUDA compiler libraries (numba-cuda[cu12]): {proc.stdout.strip()}")
    lines = proc.stdout.strip().split("\n")
    assert len(lines) == 7
    # fabs, floor and fmin/fmax (abs, min, max) are exact; sqrt is sqrt.rn.
    exact = {"__nv_fabs", "__nv_floor", "__nv_fmax", "__nv_fmin", "__nv_sqrt"}
    for line in lines:
        assert set(line.split()) <= exact, line
    assert "__nv_sqrt" in lines[0].split()  # the check sees the calls
