"""Contract rules: canonical terms, the settlement gate, benchmark, stop-loss, MSR tables."""

from simsettle.rules.benchmark import build_benchmark
from simsettle.rules.msr import mssp_msr
from simsettle.rules.settle import STEP_NAMES, YearFacts, settle, settlement
from simsettle.rules.stop_loss import stop_loss_premium, stop_loss_recovery
from simsettle.rules.terms import Terms, compile_terms

__all__ = [
    "STEP_NAMES",
    "Terms",
    "YearFacts",
    "build_benchmark",
    "compile_terms",
    "mssp_msr",
    "settle",
    "settlement",
    "stop_loss_premium",
    "stop_loss_recovery",
]
