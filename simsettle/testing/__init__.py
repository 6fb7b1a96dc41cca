"""Hypothesis strategies and helpers for testing code that uses simsettle (needs hypothesis)."""
