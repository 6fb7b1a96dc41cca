"""Contract rules: canonical term records, gates in front of the settlement kernels, benchmark."""

from simsettle.rules.benchmark import build_benchmark
from simsettle.rules.settle import settle, settle_design
from simsettle.rules.stop_loss import stop_loss_premium, stop_loss_recovery
from simsettle.rules.terms import compile_terms

__all__ = [
    "build_benchmark",
    "compile_terms",
    "settle",
    "settle_design",
    "stop_loss_premium",
    "stop_loss_recovery",
]
