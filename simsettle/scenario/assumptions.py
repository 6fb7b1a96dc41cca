"""The assumptions a scenario rests on: rule values the engine could not verify against a
primary source, and simplifications of a program's rule, that a reader of its results should
know (the report's "Assumptions" row, the run summary, the results' ``assumptions`` attribute).

Each entry names the scenario field it comes from and says what is assumed. Sources and the
verification level ([V], [S], [U]) of every program value are in docs/methodology.md, section 2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simsettle.scenario.contracts import AnyDesign, TwoSided, UpsideOnly
from simsettle.scenario.schema import Scenario
from simsettle.scenario.templates import mssp_policy

__all__ = ["Assumption", "assumptions"]


@dataclass(frozen=True)
class Assumption:
    """One assumption: the field it comes from, and what is assumed."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def _designs(scenario: Scenario) -> list[tuple[str, AnyDesign]]:
    """Every design of the scenario with its path, each year's terms apart."""
    out: list[tuple[str, AnyDesign]] = []
    for d in scenario.all_designs:
        years = getattr(d, "by_year", None) or (d,)
        for p, y in enumerate(years):
            where = f"designs.{d.name}" + (f".by_year[{p}]" if len(years) > 1 else "")
            out.append((where, y))
    return out


def _design_assumptions(where: str, d: AnyDesign) -> list[Assumption]:
    out: list[Assumption] = []
    template = d.template or ""
    year = d.performance_year
    if template.startswith("mssp_") and year is not None and 2021 <= year <= 2025:
        policy = mssp_policy(year)
        if policy.quality_standard == 0.40:
            out.append(
                Assumption(
                    f"{where}.quality.standard",
                    "the quality performance standard of PY2021-25 is a percentile of MIPS "
                    "scores CMS does not publish; 0.40 is a stand-in [U]",
                )
            )
    if template == "reach_global" and year is not None:
        if year in (2023, 2024):
            out.append(
                Assumption(
                    f"{where}.discount",
                    f"the REACH Global discount for PY{year} (3% / 3.5%) is not verified [U]",
                )
            )
        if year >= 2026:
            out.append(
                Assumption(
                    f"{where}.savings_bands",
                    "PY2026 narrowed the first Global band to 10%; the bands above it keep the "
                    "PY2021-25 shares [U]",
                )
            )
    quality = getattr(d, "quality", None)
    if template.startswith("reach_") and quality is not None and quality.withhold > 0:
        out.append(
            Assumption(
                f"{where}.quality.withhold",
                "the withhold is earned back in proportion to the quality score [U]",
            )
        )
    if isinstance(d, UpsideOnly | TwoSided):
        sl = d.stop_loss
        if sl is not None and (sl.upper_attachment is not None or sl.charged_to == "benchmark"):
            out.append(
                Assumption(
                    f"{where}.stop_loss",
                    "CMS's REACH stop-loss attachment points, coinsurance and charge were not "
                    "found in a primary source: the scenario's values are assumptions [U]",
                )
            )
        if sl is not None and sl.budget_neutrality_factor != 1.0:
            out.append(
                Assumption(
                    f"{where}.stop_loss.budget_neutrality_factor",
                    "pooled over the electing ACOs after the year; taken as given [S/U]",
                )
            )
        if d.capitation_advance is not None:
            out.append(
                Assumption(
                    f"{where}.capitation_advance",
                    "the advance less the capitated claims is netted at settlement; REACH's "
                    "base/enhanced PCC formulas and APO are not modelled [S/U]",
                )
            )
    return out


def assumptions(scenario: Scenario) -> list[Assumption]:
    """The assumptions ``scenario`` rests on, in the order of its fields (none: [])."""
    out: list[Assumption] = []
    b = scenario.benchmark
    if b.template == "mssp_from_2024":
        out.append(
            Assumption(
                "benchmark.trend_rate",
                "the ACPT is the scenario's trend_rate (CMS: 4.9% for 2024 starters [S]); the "
                "template weighs it one third, though CMS cut the weight to one sixth for "
                "PY2024 [S]",
            )
        )
    if (
        b.template is not None
        and b.template.startswith("mssp_")
        and scenario.population.enrollment_types is None
    ):
        out.append(
            Assumption(
                "benchmark",
                "one enrolment type: CMS computes the benchmark, its caps and adjustments per "
                "enrolment type (ESRD, disabled, aged dual, aged non-dual) and combines them",
            )
        )
    if b.v28_change is not None:
        out.append(
            Assumption(
                "benchmark.v28_change",
                "the provider's risk-score change under CMS-HCC V28 is the scenario's; CMS does "
                "not publish it per ACO [U]",
            )
        )
    if b.acpt_band is not None:
        out.append(
            Assumption(
                "benchmark.acpt_band",
                "the ACPT's bounds are the CY2027 PFS proposal (CMS-1848-P), not law [S]",
            )
        )
    if b.template is not None and b.template.startswith("reach_"):
        out.append(
            Assumption(
                "benchmark.template",
                "REACH's blend weights and regional ceiling are from secondary sources [S]; "
                "the ceiling's floor is not modelled",
            )
        )
    if b.coding_intensity_cap is not None:
        out.append(
            Assumption(
                "benchmark.coding_intensity_cap",
                "REACH's coding intensity factor as the engine applies it (coding growth since "
                "the last base year, after the caps, up to the ceiling) is not verified [U]",
            )
        )
    if b.trend_method == "retrospective":
        out.append(
            Assumption(
                "benchmark.retrospective_threshold",
                "the retrospective trend adjustment's corridors reported from PY2024 are not "
                "modelled: beyond the threshold the realized trend replaces the prospective one "
                "[S/U]",
            )
        )
    if b.health_equity is not None:
        out.append(
            Assumption(
                "benchmark.health_equity",
                "the HEBA amounts and which deciles lose are from secondary sources ($30 up, "
                "$6 down; another says $10) [S/U]",
            )
        )
    t = scenario.truncation
    if t is not None and t.percentile is not None:
        out.append(
            Assumption(
                "truncation.percentile",
                "the percentile of the simulated population (of each enrolment type's, with "
                "types), not of national FFS spend by enrolment type as CMS truncates",
            )
        )
    for where, d in _designs(scenario):
        out += _design_assumptions(where, d)
    # One entry per field and text: a design's years, and designs, often repeat one.
    groups: dict[tuple[str, str], list[str]] = {}
    for a in out:
        where = re.sub(r"\.by_year\[\d+\]", "", a.where)
        match = re.fullmatch(r"designs\.([^.]+)(\..*)?", where)
        if match is None:
            groups.setdefault((where, a.text), [])
            continue
        names = groups.setdefault((f"designs.*{match.group(2) or ''}", a.text), [])
        if match.group(1) not in names:
            names.append(match.group(1))
    unique = []
    for (where, text), names in groups.items():
        if names:
            who = names[0] if len(names) == 1 else "{" + ", ".join(names) + "}"
            where = where.replace("*", who, 1)
        unique.append(Assumption(where, text))
    return unique
