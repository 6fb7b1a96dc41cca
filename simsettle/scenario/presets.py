"""Cost presets: the spend concentration of published populations, with their sources.

A preset (``cost: {pmpm: 480, preset: commercial}``) gives the cost block its shape: the
coefficient of variation and top-5% share of a full-year survivor's cost that the engine solves
the body and the tail for (at the scenario's ``population.risk_sigma``), with a zero-cost share
and a tail shape, and the population's mortality (``population.mortality``, where not given).
They are chosen so that at the default risk spread (0.5) and departures the costliest 1%, 5% and
10% of the members enrolled all year or until death carry the published shares of spend,
decedents included (:func:`simsettle.models.departures.calendar_moments`). Fields given beside
the preset override it. ``tests/test_presets.py`` holds
each preset to its published figures: within 1 point for Medicare FFS, 2 points for the others.

The figures, and what they measure:

* ``medicare_ffs``: Medicare fee-for-service beneficiaries 65 and over, 2007 to 2018, 314.6
  million beneficiary-years: the top 1% / 5% / 10% carry 14.9% / 41.5% / 60.0% of Parts A and B
  spending (Wallis et al., EClinicalMedicine 2021, doi 10.1016/j.eclinm.2021.100873). The zero
  share (15%) is the engine's default, from CMS's DE-SynPUF (20 to 26% of beneficiaries have no
  A/B reimbursement there). Mortality 0.045: with the default turnover about 4% of the year's
  members die and carry 13.5% of spend, as KFF reports for traditional Medicare in 2014 (4%,
  13.5%, $34,529 per decedent against $9,121 per survivor). This preset is the engine's default
  cost shape and population.
* Mortality of the others: ``us_population`` 0.0098, the 3,279,857 US deaths of 2022 (NCHS,
  Deaths: Final Data for 2022) over about 333 million residents; ``commercial`` 0.003 and
  ``medicaid`` 0.005 [U: stand-ins, the US death rate under 65 (about 0.3%) and a little above
  it for Medicaid's disabled enrollees; neither source gives its population's deaths]. At these
  rates the decedents move the shares by under a point.
* ``us_population``: the US civilian noninstitutionalized population, all payers (MEPS): the top
  1% carries 21.7% in 2022 (AHRQ MEPS Statistical Brief #560), the top 5% 50.0% in 2016 (#521);
  about 14% have no expenditure (#540, 2019).
* ``commercial``: employment-based coverage, claims of 2013 to 2017: the top 1% / 5% / 10% carry
  28% / 56% / 70% of spending (EBRI Issue Brief #493); 14% of the privately insured under 65
  have no expense (MEPS Research Findings #20, 2000). Claims of one insurer's members are more
  concentrated than the household survey's: MEPS's per-payer tables (Statistical Briefs #448,
  #480) could not be read here, so this preset is the claims figure.
* ``medicaid``: Medicaid-only enrollees (not dually eligible), fiscal year 2011: the top 5%
  carry 48% of spending (GAO-15-460). Press reports of the same study give about 25% for the top
  1% and about 12% with no expenditure; the mixture reaches 22.5% for the top 1% with the top 5%
  held at 48%, and the preset targets the top 5% only.

Only the standard library is used: the scenario layer imports this at validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["PRESETS", "CostPreset", "PresetName", "concentration_warning"]

PresetName = Literal["medicare_ffs", "us_population", "commercial", "medicaid"]


@dataclass(frozen=True)
class CostPreset:
    """A published population's spend concentration and the cost shape that reproduces it."""

    label: str
    source: str
    #: Published shares of spend of the costliest 1%, 5% and 10% (None: not published).
    top1_share: float | None
    top5_share: float
    top10_share: float | None
    #: The cost block's shape: the full-year survivors' CV and top-5% share, solved for at
    #: the scenario's risk spread, and fixed fields.
    cv: float
    shape_top5_share: float
    zero_cost_share: float
    tail_shape: float
    #: The population's annual probability of death (sets population.mortality where not
    #: given); with its decedents the shape carries the published shares.
    mortality: float


#: name: (label, source) of each published population.
_SOURCES: Final[dict[str, tuple[str, str]]] = {
    "medicare_ffs": (
        "Medicare FFS, 65 and over, 2007-2018",
        "Wallis et al., EClinicalMedicine 2021, doi 10.1016/j.eclinm.2021.100873",
    ),
    "us_population": (
        "US population, all payers (MEPS), 2016-2022",
        "AHRQ MEPS Statistical Briefs #560 (2022), #521 (2016), #540 (2019)",
    ),
    "commercial": (
        "Employment-based coverage, claims 2013-2017",
        "EBRI Issue Brief #493; MEPS Research Findings #20 (zero share)",
    ),
    "medicaid": ("Medicaid-only enrollees, FY2011", "GAO-15-460"),
}
#: name: published top 1% / 5% / 10% shares (None: not published); the survivors' shape (CV,
#: top-5% share, zero-cost share, tail shape) and the mortality, fitted so that at risk_sigma
#: 0.5 and the default departures the members enrolled all year or until death carry the
#: published shares (simsettle.models.departures.calendar_moments).
_FIGURES: Final[
    dict[str, tuple[float | None, float, float | None, float, float, float, float, float]]
] = {
    "medicare_ffs": (0.149, 0.415, 0.600, 2.3872, 0.44398, 0.15, 5.0, 0.045),
    "us_population": (0.217, 0.500, None, 3.3331, 0.5085, 0.14, 4.0, 0.0098),
    "commercial": (0.28, 0.56, 0.70, 4.5596, 0.56281, 0.14, 3.0, 0.003),
    "medicaid": (None, 0.48, None, 3.25, 0.48335, 0.12, 3.0, 0.005),
}
PRESETS: Final[dict[str, CostPreset]] = {
    name: CostPreset(_SOURCES[name][0], _SOURCES[name][1], *figures)
    for name, figures in _FIGURES.items()
}

#: How far (share of spend) a cost model's top-1% or top-5% share may lie from the nearest
#: published population before a run warns that it resembles none of them.
FAR: Final = 0.10


def concentration_warning(top1_share: float, top5_share: float) -> str | None:
    """A warning when spend is concentrated unlike any published population: the top-5% share
    more than :data:`FAR` from every preset's, or the top-1% share from every published one;
    ``None`` otherwise.

    >>> concentration_warning(0.15, 0.42) is None
    True
    >>> print(concentration_warning(0.45, 0.80))  # doctest: +ELLIPSIS
    the costliest 1% / 5% of member-years carry 45.0% / 80.0% of spend: more concentrated ...
    """
    top5 = sorted(p.top5_share for p in PRESETS.values())
    top1 = sorted(p.top1_share for p in PRESETS.values() if p.top1_share is not None)
    far5 = min(abs(top5_share - t) for t in top5) > FAR
    far1 = min(abs(top1_share - t) for t in top1) > FAR
    if not (far5 or far1):
        return None
    more = top5_share > top5[-1] or top1_share > top1[-1]
    by_top5 = sorted(PRESETS.items(), key=lambda item: item[1].top5_share)
    published = ", ".join(f"{name} {p.top5_share:.1%}" for name, p in by_top5)
    return (
        f"the costliest 1% / 5% of member-years carry {top1_share:.1%} / {top5_share:.1%} of "
        f"spend: {'more' if more else 'less'} concentrated than any published population by "
        f"more than {100 * FAR:.0f} points (top 5%: {published}); check cost.tail_threshold, "
        "cv and top5_share, or use cost.preset"
    )
