"""One vocabulary of dimension names, with their long names and units.

Code refers to ``Dim.TRIAL`` rather than the literal ``"trial"``; ``DIM_INFO`` supplies the
attributes that :mod:`simsettle.results` puts on each dimension coordinate.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DIM_INFO", "Dim"]


class Dim(StrEnum):
    """Dimension names of simsettle Datasets, in canonical order ``(design, trial, year)``."""

    DESIGN = "design"
    TRIAL = "trial"
    YEAR = "year"
    PAYOFF_SAVINGS_RATE = "payoff_savings_rate"
    PARTICIPANT = "participant"
    LINE = "line_of_business"
    ENROLLMENT_TYPE = "enrollment_type"
    BASE_YEAR = "base_year"


DIM_INFO: dict[Dim, dict[str, str]] = {
    Dim.DESIGN: {
        "long_name": "contract design",
        "description": "Named settlement design from the scenario file; every design is settled on "
        "the same simulated years (common random numbers).",
    },
    Dim.TRIAL: {
        "long_name": "Monte Carlo trial",
        "standard_name": "realization",
        "description": "Index of the simulated history (base years and performance years); trial i "
        "uses the random streams of counter i whatever the chunking or thread count.",
    },
    Dim.YEAR: {
        "long_name": "performance year",
        "units": "1",
        "description": "Calendar performance year settled under the contract.",
    },
    Dim.LINE: {
        "long_name": "line of business",
        "description": "Contract of a portfolio: the scenario's own first, then its other lines.",
    },
    Dim.PARTICIPANT: {
        "long_name": "participant practice",
        "description": "Practice of the entity among which earnings are distributed.",
    },
    Dim.ENROLLMENT_TYPE: {
        "long_name": "Medicare enrolment type",
        "description": "Enrolment type of the attributed members (ESRD, disabled, aged dual, aged "
        "non-dual): the benchmark is built per type and the types combined.",
    },
    Dim.BASE_YEAR: {
        "long_name": "simulated base year",
        "units": "1",
        "description": "Calendar year simulated before the first performance year, from which "
        "the benchmark is built.",
    },
    Dim.PAYOFF_SAVINGS_RATE: {
        "long_name": "savings rate of the payoff curve",
        "units": "1",
        "description": "Savings as a fraction of the benchmark at which `payoff` is evaluated.",
    },
}
