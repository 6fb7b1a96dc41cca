"""Named templates: real programs' settlement designs expanded into the building blocks.

A design that names a ``template`` gets that program's parameters; any field the design also
gives overrides the template's. The expansion happens before validation, so an override obeys the
same rules as a hand-written design, and errors point at the override's line in the file.

Sources (see docs/methodology.md, section 2; [V] verified against primary text or
reproduced from CMS data, [S] one good secondary source, [U] unverified: a parameter with a
documented default the user can override):

* MSSP BASIC A-E and ENHANCED: 42 CFR 425.605, 425.610; SPEC-v11 (CMS, Shared Savings and Losses
  ... Methodology Specifications v11, Jan 2023) sections 4.2-4.3, Tables 5-6 [V].
* MSSP year-by-year policy (sequestration, quality standard, loss relief): :data:`MSSP_POLICY`.
* ACO REACH Professional and Global: corridor bands PY2021-2025 (Pearl Health) [S]; Global
  discount by year [S/U]; quality withhold 2% (5% from PY2026) [S].
* ACA risk corridors 2014-2016: 42 USC 18062 [V]. Medicare Part D corridors 2008+: 42 USC
  1395w-115(e) [V].
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MSSP_LOW_REVENUE_RATIO",
    "MSSP_POLICY",
    "TEMPLATES",
    "MsspYearPolicy",
    "expand_template",
    "mssp_policy",
    "template_names",
]

#: A template: performance year -> design fields.
Builder = Callable[[int], dict[str, Any]]


@dataclass(frozen=True)
class MsspYearPolicy:
    """MSSP rules that changed by performance year (docs/methodology.md, section 13)."""

    sequestration: float  # share of shared savings withheld
    loss_relief: float  # share of shared losses forgiven (COVID-19 EUC policy)
    quality_regime: str  # "scaled" (<=2020), "gate" (2021-22), "alternative" (2023+)
    quality_standard: float  # score treated as meeting the QPS in simulations [U before 2026]
    low_revenue_half_rate: bool  # 425.605(h): half rate below the MSR (agreements from 2024)


#: MSSP policy by performance year. Sequestration 2% except the CARES Act moratorium years whose
#: payments fell in May 2020 - Mar 2022 (PY2019-2020) [V, PUF back-tests]; shared losses forgiven
#: in full for PY2020-2022 and by 5/12 in PY2023 (the PHE ended in May) [V, PUFs]; quality
#: regimes per 42 CFR 425.512 [V]; the PY2026 standard is 73.85 [V]; earlier years' standards
#: were percentiles of MIPS scores that the PUF does not publish, so 0.40 is a documented
#: stand-in [U].
MSSP_POLICY: Mapping[int, MsspYearPolicy] = {
    2019: MsspYearPolicy(0.00, 0.0, "scaled", 0.0, False),
    2020: MsspYearPolicy(0.00, 1.0, "scaled", 0.0, False),
    2021: MsspYearPolicy(0.02, 1.0, "gate", 0.40, False),
    2022: MsspYearPolicy(0.02, 1.0, "gate", 0.40, False),
    2023: MsspYearPolicy(0.02, 5.0 / 12.0, "alternative", 0.40, False),
    2024: MsspYearPolicy(0.02, 0.0, "alternative", 0.40, True),
    2025: MsspYearPolicy(0.02, 0.0, "alternative", 0.40, True),
    2026: MsspYearPolicy(0.02, 0.0, "alternative", 0.7385, True),
}


def mssp_policy(year: int) -> MsspYearPolicy:
    """The policy of ``year``; years after the table use the latest entry."""
    if year < min(MSSP_POLICY):
        raise ValueError(
            f"MSSP templates cover performance years {min(MSSP_POLICY)} and later; got {year}"
        )
    return MSSP_POLICY[min(year, max(MSSP_POLICY))]


def _mssp_quality(policy: MsspYearPolicy, score: float) -> dict[str, Any]:
    if policy.quality_regime == "scaled":
        return {"score": score, "standard": 0.0, "scale_savings_rate": True}
    below = "scale_by_score" if policy.quality_regime == "alternative" else "no_savings"
    return {"score": score, "standard": policy.quality_standard, "below_standard": below}


def _mssp_common(year: int, score: float) -> dict[str, Any]:
    policy = mssp_policy(year)
    return {
        "performance_year": year,
        "sharing_basis": "first_dollar",  # SPEC-v11 4.3 step 7
        "sequestration": policy.sequestration,
        "savings_cap": 0.10,  # BASIC performance payment limit, 425.605(d)
        "quality": _mssp_quality(policy, score),
    }


# BASIC two-sided loss limits: share of participant revenue, capped at a share of benchmark.
_BASIC_LOSS_LIMITS = {"C": (0.02, 0.01), "D": (0.04, 0.02), "E": (0.08, 0.04)}


def _mssp_basic(level: str) -> Builder:
    def build(year: int) -> dict[str, Any]:
        d = _mssp_common(year, 1.0)
        if level in ("A", "B"):
            d.update(kind="upside_only", shared_savings_rate=0.40, msr_table="mssp")
        else:
            revenue_limit, benchmark_limit = _BASIC_LOSS_LIMITS[level]
            d.update(
                kind="two_sided",
                shared_savings_rate=0.50,
                shared_loss_rate=0.30,  # fixed, not scaled by quality: 425.605(d)(1)(iii)
                min_savings_rate=0.02,  # the ACO elects 0-2% or the variable MSR/MLR; override
                variable_msr_below=5000,  # SPEC-v11 4.2.3
                loss_cap=benchmark_limit,
                loss_cap_revenue=revenue_limit,
                loss_reduction=mssp_policy(year).loss_relief,
            )
        return d

    return build


def _mssp_enhanced(year: int) -> dict[str, Any]:
    d = _mssp_common(year, 1.0)
    d["quality"] = {
        **d["quality"],
        "loss_rate": {"slope": 0.75, "floor": 0.40, "ceiling": 0.75, "failed": 0.75},
    }
    d.update(
        kind="two_sided",
        shared_savings_rate=0.75,
        min_savings_rate=0.02,
        variable_msr_below=5000,
        savings_cap=0.20,  # 425.610(e)(2)
        loss_cap=0.15,  # 425.610(g)
        loss_reduction=mssp_policy(year).loss_relief,
    )
    return d


# ACO REACH (PY2021-2025 bands; the provider's marginal share by band of the savings/loss rate).
_REACH_PROFESSIONAL_BANDS = [
    {"up_to": 0.05, "share": 0.50},
    {"up_to": 0.10, "share": 0.35},
    {"up_to": 0.15, "share": 0.15},
    {"share": 0.05},
]
_REACH_GLOBAL_BANDS = [
    {"up_to": 0.25, "share": 1.00},
    {"up_to": 0.35, "share": 0.50},
    {"up_to": 0.50, "share": 0.25},
    {"share": 0.10},
]
#: Global discount by year: 2% PY2021-22 [S], 3% PY2023 and 3.5% PY2024 [U], 4% PY2025-26 [S].
REACH_GLOBAL_DISCOUNT = {2021: 0.02, 2022: 0.02, 2023: 0.03, 2024: 0.035, 2025: 0.04, 2026: 0.04}


def _reach_year(year: int) -> int:
    return min(max(year, min(REACH_GLOBAL_DISCOUNT)), max(REACH_GLOBAL_DISCOUNT))


def _reach(option: str) -> Builder:
    def build(year: int) -> dict[str, Any]:
        y = _reach_year(year)
        withhold = 0.05 if y >= 2026 else 0.02
        quality = {"score": 1.0, "withhold": withhold}
        if option == "professional":
            bands: list[dict[str, Any]] = _REACH_PROFESSIONAL_BANDS
            discount = 0.0
        else:
            bands = [dict(b) for b in _REACH_GLOBAL_BANDS]
            if y >= 2026:
                # PY2026 narrowed the first Global band to 10%; the bands above it were not
                # verified [U], so the 10-35% range keeps the 50% share.
                bands[0]["up_to"] = 0.10
            discount = REACH_GLOBAL_DISCOUNT[y]
        return {
            "kind": "two_sided",
            "performance_year": year,
            "sharing_basis": "first_dollar",
            "savings_bands": bands,
            "loss_bands": bands,
            "discount": discount,
            "sequestration": 0.02,  # on savings only (NGACO/REACH) [S]
            "quality": quality,
        }

    return build


def _corridors(inner: float, outer: float) -> Builder:
    """A statutory risk corridor, the same both ways: the plan keeps all of its gain or loss
    against the target within ``inner`` of it, half from ``inner`` to ``outer``, a fifth beyond
    (the payer takes 0%, 50%, 80%)."""

    def build(year: int) -> dict[str, Any]:
        bands = [{"up_to": inner, "share": 1.0}, {"up_to": outer, "share": 0.5}, {"share": 0.2}]
        return {
            "kind": "two_sided",
            "performance_year": year,
            "savings_bands": bands,
            "loss_bands": bands,
        }

    return build


#: Generic commercial savings terms: a 2% MSR, 50% sharing, savings capped at 10% of the benchmark.
_COMMERCIAL_SAVINGS: Mapping[str, float] = {
    "min_savings_rate": 0.02,
    "shared_savings_rate": 0.50,
    "savings_cap": 0.10,
}


def _commercial_upside(year: int) -> dict[str, Any]:
    return {"kind": "upside_only", "performance_year": year, **_COMMERCIAL_SAVINGS}


def _commercial_two_sided(year: int) -> dict[str, Any]:
    # The same savings terms, and losses shared at 50% up to 5% of the benchmark.
    return {
        "kind": "two_sided",
        "performance_year": year,
        **_COMMERCIAL_SAVINGS,
        "shared_loss_rate": 0.50,
        "loss_cap": 0.05,
    }


TEMPLATES: Mapping[str, tuple[Builder, str]] = {
    "mssp_basic_a": (_mssp_basic("A"), "MSSP BASIC level A: one-sided, 40%, variable MSR, 10% cap"),
    "mssp_basic_b": (_mssp_basic("B"), "MSSP BASIC level B: as level A"),
    "mssp_basic_c": (
        _mssp_basic("C"),
        "MSSP BASIC level C: 50%/30%, loss limit 2% of revenue capped at 1% of benchmark",
    ),
    "mssp_basic_d": (
        _mssp_basic("D"),
        "MSSP BASIC level D: loss limit 4% of revenue, 2% of benchmark",
    ),
    "mssp_basic_e": (
        _mssp_basic("E"),
        "MSSP BASIC level E: loss limit 8% of revenue, 4% of benchmark",
    ),
    "mssp_enhanced": (
        _mssp_enhanced,
        "MSSP ENHANCED: 75%, loss rate 1 - 0.75 x quality within 40-75%, caps 20%/15% of benchmark",
    ),
    "reach_professional": (_reach("professional"), "ACO REACH Professional: 50/35/15/5% bands"),
    "reach_global": (_reach("global"), "ACO REACH Global: 100/50/25/10% bands, discount"),
    # 42 USC 18062: no transfer within 3% of the target, 50% of 3-8%, 80% beyond 8%.
    "aca_risk_corridors": (_corridors(0.03, 0.08), "ACA risk corridors 2014-2016: 3%/8%, 50%/80%"),
    # 42 USC 1395w-115(e), 2008+: the plan bears all within 5%, 50% of 5-10%, 20% beyond 10%.
    "part_d_corridors": (
        _corridors(0.05, 0.10),
        "Medicare Part D risk corridors 2008+: 5%/10%, 50%/80%",
    ),
    "commercial_upside_only": (
        _commercial_upside,
        "Generic commercial one-sided: 2% MSR, 50%, 10% cap",
    ),
    "commercial_two_sided": (
        _commercial_two_sided,
        "Generic commercial two-sided: 2% corridor, 50%/50%, caps 10%/5%",
    ),
}


def template_names() -> list[str]:
    """The template names, sorted."""
    return sorted(TEMPLATES)


#: MSSP "low revenue ACO" (42 CFR 425.20): participants' Parts A and B FFS revenue below 35% of
#: the assigned beneficiaries' Parts A and B FFS expenditures (the benchmark, here) [S].
MSSP_LOW_REVENUE_RATIO = 0.35


def expand_template(
    design: Mapping[str, Any], default_year: int, *, revenue_ratio: float | None = None
) -> dict[str, Any]:
    """The design mapping with its template's fields filled in; the design's own keys win.

    The template's rules year is the design's ``performance_year``, else ``default_year``. With
    the provider's ``revenue_ratio`` (participant revenue / benchmark), an MSSP template in a year
    with the low-revenue half rate (425.605(h), agreement periods from 2024) gives a low-revenue
    ACO (ratio below :data:`MSSP_LOW_REVENUE_RATIO`) half the sharing rate on savings below the
    MSR once it has 5,000 assigned beneficiaries.

    Raises ``KeyError`` for an unknown template name and ``ValueError`` for a year the template
    does not cover (the loader turns both into positioned errors).
    """
    name = design["template"]
    if name not in TEMPLATES:
        raise KeyError(name)
    build, _ = TEMPLATES[name]
    year = design.get("performance_year", default_year)
    if not isinstance(year, int) or isinstance(year, bool):
        year = default_year
    out = build(year)
    if (
        name.startswith("mssp_")
        and revenue_ratio is not None
        and revenue_ratio < MSSP_LOW_REVENUE_RATIO
        and mssp_policy(year).low_revenue_half_rate
    ):
        out.update(below_msr_share=0.5, below_msr_min_members=5000)
    for key, value in design.items():
        # A quality block merges into the template's, so `quality: {score: 0.8}` keeps the rest.
        if (
            key == "quality"
            and isinstance(value, Mapping)
            and isinstance(out.get("quality"), Mapping)
        ):
            out["quality"] = {**out["quality"], **value}
        else:
            out[key] = value
    return out
