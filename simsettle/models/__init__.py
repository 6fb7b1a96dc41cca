"""Python gates in front of the simulation kernels: every check, cast and allocation."""

from simsettle.models.population import ModelInputs, compile_model, simulate_aggregates

__all__ = ["ModelInputs", "compile_model", "simulate_aggregates"]
