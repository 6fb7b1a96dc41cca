"""Expanding a scenario's ``sweep`` into the runs that make it, every value checked up front.

A sweep over design fields needs one simulation: each design is validated once per combination of
the design axes (its "variants", which keep the design's name and carry the swept values) and
all are settled on the same simulated years. A sweep over any
other field (population, cost, trend, benchmark) simulates again once per combination of those
axes, with the same seed, so every point uses the same random numbers. :func:`plan_sweep`
validates every combination before anything runs; a bad value is reported at its sweep entry.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from simsettle.errors import Issue, ScenarioError
from simsettle.scenario._base import field_units
from simsettle.scenario.contracts import DESIGN_KINDS, Design
from simsettle.scenario.io import LoadedScenario, _yaml, error_at, locate, validation_issues
from simsettle.scenario.paths import Override, PathError, apply_override
from simsettle.scenario.schema import Scenario, SweepAxis, SweepValue

__all__ = ["AxisPlan", "DesignGrid", "SweepPlan", "SweepPoint", "Variant", "plan_sweep"]

#: Combinations (model points x design variants) a sweep may expand to.
MAX_COMBINATIONS = 100_000


@dataclass(frozen=True)
class AxisPlan:
    """One swept parameter as the results label it."""

    dim: str
    path: str
    values: tuple[SweepValue, ...]
    base: SweepValue
    is_design: bool
    description: str
    units: str


@dataclass(frozen=True)
class Variant:
    """One design at one combination of the design axes: the validated design, under its own
    name, and the swept values it was validated with."""

    design: Design
    #: ``(dim, value)`` of each design axis, in the order of the scenario's ``sweep``.
    at: tuple[tuple[str, SweepValue], ...] = ()

    @property
    def label(self) -> str:
        """The design's name and its swept values, for messages (``two_sided at
        min_savings_rate = 0.02``); the name alone when nothing is swept."""
        if not self.at:
            return self.design.name
        values = ", ".join(f"{dim} = {value!r}" for dim, value in self.at)
        return f"{self.design.name} at {values}"


@dataclass(frozen=True)
class DesignGrid:
    """The designs a simulation settles: each design of the file at every combination of the
    design axes.

    ``variants[j][k]`` is design ``j`` at the ``k``-th combination, in ``itertools.product``
    order of the axes' values (the last axis fastest), so that ``variants[j]`` reshaped to
    :attr:`shape` is indexed by the design axes. Without design axes each design has one
    variant, itself.
    """

    axes: tuple[AxisPlan, ...]
    variants: tuple[tuple[Variant, ...], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The designs' names, as in the file."""
        return tuple(row[0].design.name for row in self.variants)

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values of each design axis."""
        return tuple(len(a.values) for a in self.axes)

    @property
    def n_variants(self) -> int:
        """Variants per design (the product of :attr:`shape`)."""
        return len(self.variants[0])

    @property
    def flat(self) -> tuple[Variant, ...]:
        """Every variant, design-major: the order in which they are settled."""
        return tuple(v for row in self.variants for v in row)

    @property
    def designs(self) -> tuple[Design, ...]:
        """The validated design of every variant, in the order of :attr:`flat`."""
        return tuple(v.design for v in self.flat)


@dataclass(frozen=True)
class SweepPoint:
    """One simulation of a sweep: a combination of the model axes.

    ``scenario`` is the file's scenario with the point's model-axis values, the run's trials
    and seed, no ``sweep``, and its designs at the design axes' base values; ``designs`` are
    what the point settles.
    """

    scenario: Scenario
    designs: DesignGrid


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep: one :class:`SweepPoint` per combination of the model axes, in
    ``itertools.product`` order (the last axis fastest)."""

    axes: tuple[AxisPlan, ...]
    points: tuple[SweepPoint, ...]

    @property
    def model_axes(self) -> tuple[AxisPlan, ...]:
        """Axes that are simulated again."""
        return tuple(a for a in self.axes if not a.is_design)

    @property
    def design_axes(self) -> tuple[AxisPlan, ...]:
        """Axes that are only settled again."""
        return tuple(a for a in self.axes if a.is_design)


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_plain(v) for v in node]
    return node


def _field(path: str) -> tuple[str, str]:
    """(description, units) of the schema field a path ends at: its description and the units
    it declares (:class:`~simsettle.scenario._base.Units`; ``"1"`` where it declares none)."""
    model: Any = Scenario
    info = None
    units = "1"
    for part in path.split("."):
        key = part.split("[")[0]
        if key == "designs" and model is Scenario:
            model = tuple(DESIGN_KINDS.values())
            continue
        models = model if isinstance(model, tuple) else (model,)
        owners = [m for m in models if key in m.model_fields]
        if not owners:
            # a design's name, an index or a wildcard: stay on the same model
            continue
        info = owners[0].model_fields[key]
        units = field_units(owners[0], key)
        ann = info.annotation
        nested = [
            a
            for a in getattr(ann, "__args__", (ann,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        model = nested[0] if nested else None
        if model is None:
            break
    description = (info.description or "") if info is not None else ""
    return description, units


def plan_sweep(loaded: LoadedScenario) -> SweepPlan:
    """Every run of ``loaded``'s sweep, validated.

    Raises
    ------
    ScenarioError
        If a swept value, or a combination of them, does not validate: the issue is placed at
        the sweep entry and says which value failed.
    """
    sc = loaded.scenario
    source = loaded.source
    raw = _yaml().load(loaded.text)
    base = _plain(raw)
    base.pop("sweep", None)
    axes = tuple(sc.sweep)
    model_axes = [(i, a) for i, a in enumerate(axes) if not a.is_design]
    design_axes = [(i, a) for i, a in enumerate(axes) if a.is_design]
    n_model = 1
    for _, a in model_axes:
        n_model *= len(a.grid)
    n_design = 1
    for _, a in design_axes:
        n_design *= len(a.grid)
    names = tuple(d.name for d in sc.designs)
    total = n_model * n_design * len(names)
    if total > MAX_COMBINATIONS:
        raise error_at(
            raw,
            ("sweep",),
            source,
            f"the sweep makes {total:,} design settlements per trial "
            f"({n_model:,} simulations x {n_design:,} combinations x {len(names)} "
            f"designs); at most {MAX_COMBINATIONS:,}",
        )

    def build(data: dict[str, Any], settings: list[tuple[int, SweepAxis, SweepValue]]) -> Scenario:
        overridden = []
        for i, axis, value in settings:
            origin = Override(axis.path, value, f"sweep.{i}")
            try:
                locs = apply_override(data, axis.path, value)
            except PathError as exc:
                line, col = locate(raw, ("sweep", i, "path"))
                message = str(exc).removeprefix(f"{axis.path}: ")
                issue = Issue(source, line, col, f"sweep.{i}.path", message)
                raise ScenarioError([issue]) from None
            overridden += [(loc, origin) for loc in locs]
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            issues = validation_issues(exc, raw, source, overridden)
            values = ", ".join(f"{a.dim} = {v!r}" for _, a, v in settings)
            placed = []
            for issue in issues:
                if issue.file.startswith("sweep."):
                    i = int(issue.file.split(".")[1])
                    line, col = locate(raw, ("sweep", i, "values"))
                    issue = Issue(source, line, col, issue.path, f"with {values}: {issue.message}")
                else:
                    issue = Issue(
                        issue.file,
                        issue.line,
                        issue.column,
                        issue.path,
                        f"with {values}: {issue.message}",
                    )
                placed.append(issue)
            raise ScenarioError(placed) from None

    plans = []
    for axis in axes:
        description, units = _field(axis.path)
        plans.append(
            AxisPlan(
                dim=axis.dim,
                path=axis.path,
                values=axis.grid,
                base=axis.base_value,
                is_design=axis.is_design,
                description=description,
                units=units,
            )
        )
    grid_axes = tuple(plans[i] for i, _ in design_axes)
    combinations = list(itertools.product(*(a.grid for _, a in design_axes)))
    base_combination = combinations.index(tuple(a.base_value for _, a in design_axes))
    points = []
    for model_values in itertools.product(*(a.grid for _, a in model_axes)):
        model_settings = [(i, a, v) for (i, a), v in zip(model_axes, model_values, strict=True)]
        model_data = copy.deepcopy(base)
        # Every combination is validated as a whole scenario: a design's template is expanded,
        # and its revenue caps checked, with the scenario's own fields, which a model axis may
        # have set.
        validated = [
            build(
                copy.deepcopy(model_data),
                model_settings
                + [(i, a, v) for (i, a), v in zip(design_axes, design_values, strict=True)],
            )
            for design_values in combinations
        ]
        variants = tuple(
            tuple(
                Variant(
                    scenario.designs[j],
                    tuple((a.dim, v) for a, v in zip(grid_axes, values, strict=True)),
                )
                for scenario, values in zip(validated, combinations, strict=True)
            )
            for j in range(len(names))
        )
        # The run's own trials and seed (simulate(trials=, seed=) may override the file's).
        update = {"sweep": (), "trials": sc.trials, "seed": sc.seed}
        points.append(
            SweepPoint(
                scenario=validated[base_combination].model_copy(update=update),
                designs=DesignGrid(axes=grid_axes, variants=variants),
            )
        )
    return SweepPlan(axes=tuple(plans), points=tuple(points))
