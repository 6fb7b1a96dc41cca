"""Truncation of each member's annual cost for the settlement (``Scenario.truncation``).

The kernels sum, per trial and simulated year, each member-year's cost above every attachment
point; the truncation threshold of year ``y`` is one of them, ``T_y``. Truncating every member's
cost at ``T_y`` takes ``E_T = sum_m max(c_m - T_y, 0)`` off the year's spend, and turns the
excess over a stop-loss attachment ``A`` into that of the truncated cost::

    sum_m max(min(c_m, T) - A, 0) = E_A - E_T   (A < T),   0   (A >= T)

term by term (for ``c_m > T`` both sides are ``T - A``), so the sums of the kernels give the
truncated ones exactly, up to float64 rounding: the difference of two sums of non-negative
terms, clipped at 0 for the rounding. Where practices carry every member field (the kernels'
``practice_detail`` layout), each practice's spend and excess are truncated by its own excess,
so restated lists and the practices' payouts see truncated spend too.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from simsettle._kernels import records as R
from simsettle.models.population import ModelInputs

__all__ = ["truncate"]

F8 = npt.NDArray[np.float64]


def truncate(inputs: ModelInputs, aggregates: F8) -> tuple[F8, F8]:
    """The aggregates with every member's cost truncated at its year's threshold, and the
    amount taken off the spend of the entity and of each practice, (trial, simulated year,
    1 + practice) USD (the entity first; the practices where they carry every member field).

    ``aggregates`` is (trial, simulated year, field) in ``inputs``' layout; without truncation
    it is returned unchanged with zeros.
    """
    if not inputs.truncation:
        return aggregates, np.zeros((*aggregates.shape[:2], 1))
    if inputs.type_truncation:
        return _truncate_by_type(inputs, aggregates)
    if len(inputs.truncation) != aggregates.shape[1]:
        raise ValueError(
            f"{len(inputs.truncation)} truncation thresholds for {aggregates.shape[1]} years"
        )
    points = [float(a) for a in inputs.attachments]
    n_att = len(points)
    n_practices = int(inputs.practices.shape[0])
    out = aggregates.copy()
    # Column groups: the entity's, then each practice's (practice_detail) -- (spend column,
    # first excess column, stride between attachments).
    groups = [(R.F_SPEND, R.N_BASE_FIELDS, 1)]
    if n_practices and inputs.practice_detail:
        first = R.N_BASE_FIELDS + n_att
        groups += [
            (
                first + R.LF_SPEND * n_practices + p,
                first + R.N_LANE_FIELDS * n_practices + p,
                n_practices,
            )
            for p in range(n_practices)
        ]
    elif n_practices:
        raise ValueError("truncating the practices' spend needs the practice_detail layout")
    removed = np.zeros((*aggregates.shape[:2], len(groups)))
    for y, threshold in enumerate(inputs.truncation):
        t = points.index(threshold)
        for g, (spend, excess, stride) in enumerate(groups):
            over = aggregates[:, y, excess + t * stride]
            out[:, y, spend] = np.maximum(aggregates[:, y, spend] - over, 0.0)
            removed[:, y, g] = aggregates[:, y, spend] - out[:, y, spend]
            for k, point in enumerate(points):
                col = excess + k * stride
                out[:, y, col] = (
                    np.maximum(aggregates[:, y, col] - over, 0.0) if point < threshold else 0.0
                )
    return out, removed


def _truncate_by_type(inputs: ModelInputs, aggregates: F8) -> tuple[F8, F8]:
    """Truncation with enrolment types (the lanes are the types): each type's spend and excess
    at its own threshold (``inputs.type_truncation``), and the entity's spend and excess the
    sums of its types'. The amount taken off is (trial, year, 1 + type), the entity first."""
    points = [float(a) for a in inputs.attachments]
    n_types = int(inputs.practices.shape[0])
    if len(inputs.type_truncation) != n_types:
        raise ValueError(
            f"{len(inputs.type_truncation)} types' thresholds for {n_types} enrolment types"
        )
    first = R.N_BASE_FIELDS + len(points)
    out = aggregates.copy()
    removed = np.zeros((*aggregates.shape[:2], 1 + n_types))
    for p, thresholds in enumerate(inputs.type_truncation):
        spend = first + R.LF_SPEND * n_types + p
        excess = first + R.N_LANE_FIELDS * n_types + p
        for y, threshold in enumerate(thresholds):
            over = aggregates[:, y, excess + points.index(threshold) * n_types]
            out[:, y, spend] = np.maximum(aggregates[:, y, spend] - over, 0.0)
            removed[:, y, 1 + p] = aggregates[:, y, spend] - out[:, y, spend]
            for k, point in enumerate(points):
                col = excess + k * n_types
                out[:, y, col] = (
                    np.maximum(aggregates[:, y, col] - over, 0.0) if point < threshold else 0.0
                )
    # The entity's fields: the sums of its types' (every member is of one type).
    out[:, :, R.F_SPEND] = out[:, :, first + R.LF_SPEND * n_types :][:, :, :n_types].sum(axis=-1)
    for k in range(len(points)):
        lanes = first + (R.N_LANE_FIELDS + k) * n_types
        out[:, :, R.N_BASE_FIELDS + k] = out[:, :, lanes : lanes + n_types].sum(axis=-1)
    removed[:, :, 0] = removed[:, :, 1:].sum(axis=-1)
    return out, removed
