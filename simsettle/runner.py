"""Runs a scenario: trials in chunks through the member-level kernel, then every design settled.

This module decides how kernels run (serial or numba ``prange`` threads) and in what chunks.
Neither choice changes a single bit of the result: random numbers are counter-based and indexed by
the global trial number, and each trial's aggregates are summed in a fixed order.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter, ValidationError

from simsettle.errors import Issue, MemoryLimitError, ResultsWriteError, ScenarioError
from simsettle.models.population import (
    ModelInputs,
    compile_model,
    key_from_seed,
    simulate_aggregates,
)
from simsettle.options import OPTIONS
from simsettle.rules.designs import combine_lines, settle_designs
from simsettle.scenario.contracts import AnyDesign
from simsettle.scenario.io import LoadedScenario, load_scenario
from simsettle.scenario.paths import Overrides
from simsettle.scenario.schema import Scenario

if TYPE_CHECKING:
    import xarray as xr

    from simsettle.checkpoint import Checkpoint
    from simsettle.scenario.sweep import DesignGrid, SweepPlan
    from simsettle.stats.precision import Precision

__all__ = [
    "ProgressCallback",
    "available_memory",
    "estimate_memory",
    "local_cluster",
    "payoff",
    "plan_chunks",
    "resolve_scenario",
    "run_to_file",
    "simulate",
    "warm_cache",
]

#: Called as ``progress(done_trials, total_trials)`` after each chunk.
ProgressCallback = Callable[[int, int], None]


def plan_chunks(n_trials: int, chunk_trials: int) -> list[tuple[int, int]]:
    """``(first_trial, n)`` pairs covering ``range(n_trials)`` in order."""
    if n_trials < 1 or chunk_trials < 1:
        raise ValueError(f"need positive trials and chunk size, got {n_trials}, {chunk_trials}")
    return [(t0, min(chunk_trials, n_trials - t0)) for t0 in range(0, n_trials, chunk_trials)]


def resolve_scenario(
    scenario: LoadedScenario | Scenario | str | os.PathLike[str],
    *,
    trials: int | None = None,
    seed: int | None = None,
    overrides: Overrides = (),
) -> LoadedScenario:
    """A validated scenario with its text, from a path, a model or a loaded scenario.

    ``overrides`` set fields as ``--set`` does (see :func:`~simsettle.load_scenario`);
    ``trials`` and ``seed`` override the file's values (validated by the same rules); the
    results record the values used.
    """
    if isinstance(scenario, LoadedScenario):
        loaded = scenario.with_changes(overrides) if overrides else scenario
    elif isinstance(scenario, Scenario):
        loaded = LoadedScenario(
            scenario=scenario, text=scenario.to_text(), source="<Scenario object>"
        )
        if overrides:
            loaded = loaded.with_changes(overrides)
    else:
        loaded = load_scenario(Path(scenario), overrides)
    update: dict[str, int] = {}
    if trials is not None:
        update["trials"] = trials
    if seed is not None:
        update["seed"] = seed
    if update:
        # Check each override against its field's own constraints, then copy: the rest of the
        # scenario is already validated.
        issues = []
        for name, value in update.items():
            field = Scenario.model_fields[name]
            try:
                TypeAdapter(Annotated[int, field]).validate_python(value, strict=True)
            except ValidationError as exc:
                for e in exc.errors(include_url=False):
                    issues.append(
                        Issue(loaded.source, 1, 1, name, f"override {value!r}: {e['msg']}")
                    )
        if issues:
            raise ScenarioError(issues)
        sc = loaded.scenario.model_copy(update=update)
        loaded = LoadedScenario(
            scenario=sc, text=loaded.text, source=loaded.source, overrides=loaded.overrides
        )
    return loaded


def _max_threads() -> int:
    import numba

    # The size of numba's thread pool (NUMBA_NUM_THREADS, default: the number of cores).
    return int(getattr(numba.config, "NUMBA_NUM_THREADS"))  # noqa: B009 - untyped config


@contextmanager
def _numba_threads(threads: int | None) -> Iterator[int]:
    import numba

    if threads is None:
        yield _max_threads()
        return
    n = min(int(threads), _max_threads())
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(old)


class _DelayedTqdm:
    """A tqdm bar that appears only once a run has taken ``delay`` seconds."""

    def __init__(self, total: int, delay: float) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=total,
            delay=delay,
            unit="trial",
            desc="simulating",
            leave=False,
            dynamic_ncols=True,
        )
        self._done = 0

    def __call__(self, done: int, total: int) -> None:
        if total != self._bar.total:  # a run to a precision raises its target as it goes
            self._bar.total = total  # drawn at the next update, once the delay has passed
        self._bar.update(done - self._done)
        self._done = done

    def close(self) -> None:
        self._bar.close()


_GIB = 2.0**30
# float64 arrays per (design, trial, performance year): the settled benchmark, recovery, premium,
# savings and 6 settlement steps (rules.designs.settle_designs); 3 more with payment timing
# (estimated settlement, interim payment, present value); and the shared savings and losses,
# savings rate, sequestered and withhold that results.to_dataset derives from them.
_SETTLED, _SETTLED_TIMING, _DERIVED = 10, 3, 5
# Per (trial, performance year): the design-independent outcomes and the working arrays of
# settling one design (the settlement gate's corridors, factors, caps and steps; measured about
# 25), more with timing (a second settlement on estimated spend).
_WORKING, _WORKING_TIMING, _OUTCOMES = 30, 15, 12
# Allocator slack and arrays too small to count one by one (payoff curves, coordinates).
_SAFETY = 1.15
_FIXED = 4 * 2**20


def _estimate(
    sc: Scenario, inputs: Sequence[ModelInputs], chunk_trials: int, n_designs: int | None = None
) -> int:
    """Peak bytes of a run: the largest of its phases (simulate, settle, label), in float64s,
    settling ``n_designs`` designs (default: ``sc``'s)."""
    t, yp = sc.trials, sc.performance_years
    d = len(sc.all_designs) if n_designs is None else n_designs
    timing = sc.timing is not None
    practices = 0 if sc.participants is None else len(sc.participants.practices)
    # The kernel's aggregates (trial, simulated year, field), one line at a time.
    agg = max(t * i.n_years * i.n_fields for i in inputs)
    chunk = max(min(chunk_trials, t) * i.n_years * i.n_fields for i in inputs)
    dty, ty = d * t * yp, t * yp
    # Each stop-loss layer's recovery and premium apart where a design has an aggregate layer.
    layers = 4 if any(getattr(x, "aggregate_stop_loss", None) for x in sc.all_designs) else 0
    settled = dty * (_SETTLED + layers + (_SETTLED_TIMING if timing else 0))
    simulating = agg + chunk + (settled if len(inputs) > 1 else 0)
    # Settling: the aggregates, every design's settled arrays, one design's working arrays; the
    # participants' payouts (design, practice, trial, year) stacked from a list, and the
    # distribution's working arrays.
    settling = (
        agg * (2 if sc.truncation is not None else 1)  # truncation works on a copy
        + settled
        + ty * (_WORKING + (_WORKING_TIMING if timing else 0))
        + ty * practices * (2 * d + 10)
    )
    # Labelling: the settled arrays, the derived ones, a portfolio's concatenated copies; the
    # practices' spend and months are views that keep the aggregates alive.
    labelling = (
        settled * (2 if len(inputs) > 1 else 1)
        + dty * _DERIVED
        + ty * (_OUTCOMES + 4 * len(inputs))
        + (agg + ty * practices * d if practices else 0)
    )
    return int(_SAFETY * 8 * max(simulating, settling, labelling)) + _FIXED


def estimate_memory(
    scenario: LoadedScenario | Scenario | str | os.PathLike[str],
    *,
    trials: int | None = None,
    chunk_trials: int | None = None,
) -> int:
    """Bytes a run of ``scenario`` will hold at its peak: the results and working arrays.

    Counts the kernel's per-trial aggregates, every (design, trial, year) array of the settled
    results and the Dataset, the working arrays of settling one design at a time, and a safety
    margin; not the interpreter and its libraries (a few hundred MiB). Memory does not grow with
    the number of members: the kernel streams over them. :func:`simulate` refuses a run whose
    estimate exceeds the memory available (or option ``memory_limit``).

    ``trials`` overrides the scenario's trial count, ``chunk_trials`` the option of that name.
    """
    loaded = resolve_scenario(scenario, trials=trials)
    sc = loaded.scenario
    inputs = [
        compile_model(view, n_base_years=sc.simulated_base_years) for _, view in sc.line_views()
    ]
    chunk = chunk_trials if chunk_trials is not None else OPTIONS["chunk_trials"]
    return _estimate(sc, inputs, chunk)


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _inactive_file(path: str, key: str) -> int:
    try:
        with open(path, encoding="ascii") as fh:
            for line in fh:
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return 0


def _cgroup_available() -> int | None:
    """Room left under this container's cgroup memory limit (v2, then v1), if it has one."""
    for limit_file, usage_file, stat_file, key in (
        ("memory.max", "memory.current", "memory.stat", "inactive_file"),
        (
            "memory/memory.limit_in_bytes",
            "memory/memory.usage_in_bytes",
            "memory/memory.stat",
            "total_inactive_file",
        ),
    ):
        limit = _read_int(f"/sys/fs/cgroup/{limit_file}")
        usage = _read_int(f"/sys/fs/cgroup/{usage_file}")
        if limit is None or usage is None or limit >= 2**60:  # "max" or a huge number: none
            continue
        # The page cache the kernel can reclaim does not count (as container runtimes do).
        used = usage - _inactive_file(f"/sys/fs/cgroup/{stat_file}", key)
        return max(limit - used, 0)
    return None


def available_memory() -> int | None:
    """Bytes of memory a new run can use now, or None where it cannot be told.

    Linux: ``MemAvailable`` from ``/proc/meminfo`` (and no more than the room left under a
    cgroup memory limit); elsewhere psutil where installed, else the free physical pages.
    """
    available: int | None = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        available = None
    if available is None:
        try:
            import psutil

            available = int(psutil.virtual_memory().available)
        except ImportError:
            try:
                available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
            except (ValueError, OSError, AttributeError):
                available = None
    room = _cgroup_available()
    if room is not None:
        available = room if available is None else min(available, room)
    return available


def _check_memory(
    sc: Scenario,
    inputs: Sequence[ModelInputs],
    chunk_trials: int,
    points: int = 1,
    n_designs: int | None = None,
) -> None:
    """Refuse, before simulating, a run whose arrays would not fit in memory.

    A sweep of ``points`` simulations holds every point's results, then their combination;
    each point settles ``n_designs`` designs (its design variants; default: ``sc``'s designs).
    """
    limit = OPTIONS["memory_limit"]
    where = "the memory limit (option memory_limit)"
    if limit is None:
        limit = available_memory()
        where = "available"
        if limit is None:
            return
    d = len(sc.all_designs) if n_designs is None else n_designs
    needed = _estimate(sc, inputs, chunk_trials, d) * (1 if points == 1 else 2 * points)
    if needed <= limit:
        return
    swept = f" x {points} sweep points" if points > 1 else ""
    raise MemoryLimitError(
        f"this run needs about {needed / _GIB:.1f} GiB of memory for its results "
        f"({sc.trials:,} trials x {d} designs{swept} x "
        f"{sc.performance_years} performance years) and {limit / _GIB:.1f} GiB is {where}. "
        "Run fewer trials "
        "(--trials), fewer designs or performance years, or on a machine with more memory "
        "(memory does not depend on the number of members). To run anyway, raise the limit: "
        "simsettle.set_options(memory_limit=BYTES).",
        needed=needed,
        available=limit,
    )


def simulate(
    scenario: LoadedScenario | Scenario | str | os.PathLike[str],
    *,
    trials: int | None = None,
    seed: int | None = None,
    chunk_trials: int | None = None,
    threads: int | None = None,
    progress: bool | ProgressCallback | None = None,
    command: str | None = None,
    client: Any = None,
    device: Literal["cpu", "cuda"] = "cpu",
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overrides: Overrides = (),
    precision: Precision | str | float | Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Simulate a scenario and settle every design; returns the labelled results.

    Parameters
    ----------
    scenario : path, Scenario or LoadedScenario
        What to simulate.
    trials, seed : int, optional
        Override the scenario's trial count and seed.
    overrides : list of str, or mapping, optional
        Fields set before validation, as ``simsettle run --set`` sets them:
        ``["designs.two_sided.min_savings_rate=0.01"]`` or ``{"population.turnover": 0.2}``
        (see :func:`~simsettle.load_scenario`). The results record them.
    chunk_trials : int, optional
        Trials per kernel call (default: option ``chunk_trials``). Does not change results.
    threads : int, optional
        numba threads (default: option ``threads``; None = all cores). Does not change results.
    progress : bool or callable, optional
        True/False for a tqdm bar; None shows it only if the run takes more than 2 s; a callable
        is called as ``progress(done_trials, total_trials)`` after each chunk.
    command : str, optional
        The command line recorded in the ``history`` attribute.
    device : {"cpu", "cuda"}, default "cpu"
        ``"cuda"`` runs the member kernel on the GPU (the ``gpu`` extra, numba-cuda): the same
        random numbers and arithmetic, the same aggregates to the bit (tested on numba's CUDA
        simulator). Not combined with ``client``.
    checkpoint : path, optional
        Keep every finished chunk of trials in this directory (see :mod:`simsettle.checkpoint`);
        with ``resume=True`` chunks already there are not computed again, and the result is the
        same to the bit as an uninterrupted run's. The directory is left in place: remove it
        once the result is written (:func:`run_to_file` does all of this).
    resume : bool, default False
        Continue the checkpoint in ``checkpoint`` (which must be of this same run).
    client : dask.distributed.Client, optional
        Run the chunks as tasks on this dask cluster (serial kernels; workers should run with
        ``NUMBA_NUM_THREADS=1``, see :func:`local_cluster`). Does not change results.
    precision : Precision, str, float or mapping, optional
        Run until the statistics a committee reads are this precise
        (:class:`~simsettle.stats.precision.Precision`; ``"0.1%"``: standard errors of at most
        0.1% of the mean benchmark; ``25000``: at most $25,000), instead of a fixed number of
        trials: chunks of trials are added until every standard error meets its target, or
        ``max_trials`` is reached. The result is the same, to the bit, as a run of the trial
        count it stopped at (``trials`` replaces the rule's ``max_trials``); its attributes
        record the rule and each check (``precision_rule``, ``precision_checks``,
        ``precision_met``).

    Returns
    -------
    xarray.Dataset
        Dims ``(design, trial, year)``; see :mod:`simsettle.results` for the variables.
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and client is not None:
        raise ValueError("device='cuda' runs in this process; it cannot be combined with client")
    chunk = chunk_trials if chunk_trials is not None else OPTIONS["chunk_trials"]
    run: dict[str, Any] = {
        "threads": threads,
        "command": command,
        "client": client,
        "device": device,
    }
    if precision is not None:
        return _simulate_to_precision(
            scenario,
            precision,
            trials=trials,
            seed=seed,
            overrides=overrides,
            chunk=chunk,
            progress=progress,
            checkpoint=checkpoint,
            resume=resume,
            **run,
        )
    loaded = resolve_scenario(scenario, trials=trials, seed=seed, overrides=overrides)
    return _simulate(
        loaded, chunk, progress=progress, store=None, checkpoint=checkpoint, resume=resume, **run
    )


def _compile(
    loaded: LoadedScenario,
) -> tuple[
    SweepPlan | None,
    Sequence[Scenario],
    Sequence[DesignGrid | None],
    list[list[tuple[str, Scenario, ModelInputs]]],
]:
    """The run's sweep plan (None without a sweep), its points (a sweep's, or the scenario),
    each point's design grid and each one's compiled lines."""
    sc = loaded.scenario
    plan = None
    points: Sequence[Scenario] = (sc,)
    grids: Sequence[DesignGrid | None] = (None,)
    if sc.sweep:
        from simsettle.scenario.sweep import plan_sweep

        plan = plan_sweep(loaded)
        points = [point.scenario for point in plan.points]
        # A point settles its design variants only where the sweep has design axes; a sweep of
        # model fields alone settles the scenario's designs, a portfolio's lines' included.
        grids = [point.designs if point.designs.axes else None for point in plan.points]
    # The model is compiled once per point and line of business, here, and read by all below.
    compiled = [
        compile_lines(point, None if grid is None else grid.designs)
        for point, grid in zip(points, grids, strict=True)
    ]
    return plan, points, grids, compiled


class _Kept:
    """Chunks of aggregates kept between the checks of a run to a precision: in the run's
    checkpoint if it has one, else in memory. Each check's run reads the chunks simulated
    before and simulates only the new ones."""

    def __init__(self, disk: Checkpoint | None) -> None:
        self.disk = disk
        self.arrays: dict[str, npt.NDArray[np.float64]] = {}

    def load(self, key: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64] | None:
        if self.disk is not None:
            return self.disk.load(key, shape)
        return self.arrays.get(key)

    def save(self, key: str, arr: npt.NDArray[np.float64]) -> None:
        if self.disk is not None:
            self.disk.save(key, arr)
        else:
            self.arrays[key] = arr


def _simulate_to_precision(
    scenario: LoadedScenario | Scenario | str | os.PathLike[str],
    precision: Precision | str | float | Mapping[str, Any],
    *,
    trials: int | None,
    seed: int | None,
    overrides: Overrides,
    chunk: int,
    progress: bool | ProgressCallback | None,
    checkpoint: str | os.PathLike[str] | None,
    resume: bool,
    **run: Any,
) -> xr.Dataset:
    """:func:`simulate` with a stopping rule: runs of growing trial counts on the same chunks,
    each checked against the rule (:func:`~simsettle.stats.precision.precision_table`)."""
    from simsettle.stats.precision import (
        Precision,
        next_trials,
        precision_table,
        stopping_attrs,
    )

    rule = Precision.coerce(precision)
    if chunk < 1:
        raise ValueError(f"chunk_trials must be a positive integer, got {chunk}")
    if trials is not None:
        rule = dataclasses.replace(rule, max_trials=trials, min_trials=min(rule.min_trials, trials))
    limit = rule.max_trials
    first = resolve_scenario(scenario, trials=limit, seed=seed, overrides=overrides)
    disk = None
    if checkpoint is not None:
        # The chunks depend on neither the rule nor the trial limit (their keys hold the first
        # trial and the count): a resumed run may tighten or loosen either.
        _, points, _, compiled = _compile(first)
        extra = {"trials": "a run to a precision"}
        disk = _open_checkpoint(
            checkpoint, first, points, compiled, chunk, resume=resume, extra=extra
        )
    kept = _Kept(disk)
    n = min(limit, math.ceil(rule.min_trials / chunk) * chunk)
    history: list[tuple[int, float]] = []
    show = progress if progress is not None else OPTIONS["progress"]
    bar = None if callable(show) or show is False else _DelayedTqdm(n, 0.0 if show else 2.0)
    seen = 0

    def report(done: int, total: int) -> None:
        # Each check counts from its first trial again, reused chunks included: report what
        # is done so far, never less than before, out of the current check's total.
        nonlocal seen
        seen = max(seen, done)
        target = bar if bar is not None else show
        if callable(target):
            target(seen, max(seen, total))

    ds = None
    stop = "met"
    try:
        while True:
            loaded = resolve_scenario(first, trials=n)
            ds = None  # the previous check's results: freed before the next are built
            try:
                ds = _simulate(loaded, chunk, progress=report, store=kept, **run)
            except MemoryLimitError:
                if not history:
                    raise
                # The last check's results stand (its chunks are kept: nothing is simulated
                # again), and say why the run stopped there.
                n = history[-1][0]
                loaded = resolve_scenario(first, trials=n)
                ds = _simulate(loaded, chunk, progress=report, store=kept, **run)
                stop = "memory"
                break
            table = precision_table(ds, rule)
            worst = float(table["ratio"].max())
            history.append((n, worst))
            if worst <= 1.0:
                break
            if n >= limit:
                stop = "limit"
                break
            n = next_trials(n, worst, chunk, limit)
    finally:
        if bar is not None:
            bar.close()
    ds.attrs.update(stopping_attrs(rule, history, stop))
    return ds


def _simulate(
    loaded: LoadedScenario,
    chunk: int,
    *,
    progress: bool | ProgressCallback | None,
    store: Checkpoint | _Kept | None,
    threads: int | None,
    command: str | None,
    client: Any,
    device: str,
    checkpoint: str | os.PathLike[str] | None = None,
    resume: bool = False,
) -> xr.Dataset:
    """:func:`simulate` of a resolved scenario, its chunks read from ``store`` where there
    (or from the ``checkpoint`` directory, opened here)."""
    sc = loaded.scenario
    plan, points, grids, compiled = _compile(loaded)
    lines_per_point = len(sc.line_views())
    total = sc.trials * lines_per_point * len(points)
    n_designs = None if grids[0] is None else len(grids[0].flat)
    _check_memory(
        points[0], [inputs for _, _, inputs in compiled[0]], chunk, len(points), n_designs
    )
    if checkpoint is not None:
        store = _open_checkpoint(checkpoint, loaded, points, compiled, chunk, resume=resume)
    show = progress if progress is not None else OPTIONS["progress"]
    bar: _DelayedTqdm | None = None
    callback: ProgressCallback | None
    if callable(show):
        callback = show
    elif show is False:
        callback = None
    else:
        bar = _DelayedTqdm(total, delay=0.0 if show else 2.0)
        callback = bar
    results = []
    try:
        with _numba_threads(threads if threads is not None else OPTIONS["threads"]) as n_threads:
            for p, point in enumerate(points):

                def report(done: int, p: int = p) -> None:
                    if callback is not None:
                        callback(p * sc.trials * lines_per_point + done, total)

                results.append(
                    _simulate_point(
                        loaded,
                        point,
                        compiled[p],
                        chunk,
                        n_threads > 1,
                        client,
                        report,
                        command=command,
                        device=device,
                        store=store,
                        point=p,
                        designs=grids[p],
                    )
                )
    finally:
        if bar is not None:
            bar.close()
    if plan is None:
        return results[0]
    from simsettle.results import combine_sweep

    return combine_sweep(results, plan)


def compile_lines(
    sc: Scenario, designs: Sequence[AnyDesign] | None = None
) -> list[tuple[str, Scenario, ModelInputs]]:
    """``(name, view, inputs)`` of each line of business of ``sc``, compiled once for the run.

    Each line of a portfolio has its own members (disjoint counter words, from ``member_offset``)
    and shares the trial-level draws; a single contract is the one-line case. ``designs`` are
    the primary line's designs to settle in place of ``sc``'s (a sweep point's variants).
    """
    lines = []
    offset = 0
    for k, (name, view) in enumerate(sc.line_views()):
        settled = designs if k == 0 else None
        inputs = compile_model(
            view, member_offset=offset, designs=settled, n_base_years=sc.simulated_base_years
        )
        lines.append((name, view, inputs))
        offset += view.population.members
    return lines


def _simulate_point(
    loaded: LoadedScenario,
    sc: Scenario,
    lines: Sequence[tuple[str, Scenario, ModelInputs]],
    chunk: int,
    parallel: bool,
    client: Any,
    report: Callable[[int], None],
    *,
    command: str | None,
    device: str = "cpu",
    store: Checkpoint | _Kept | None = None,
    point: int = 0,
    designs: DesignGrid | None = None,
) -> xr.Dataset:
    """Simulate and settle one scenario (a sweep's point, or the whole run).

    ``designs`` are a sweep point's designs at every combination of the design axes, settled
    and labelled in place of the scenario's own.
    """
    from simsettle.results import to_dataset

    key = key_from_seed(sc.seed)
    chunks = plan_chunks(sc.trials, chunk)
    settled = []
    for k, (name, view, inputs) in enumerate(lines):

        def line_report(done: int, k: int = k) -> None:
            report(k * sc.trials + done)

        aggregates = _simulate_line(
            inputs,
            key,
            chunks,
            parallel=parallel,
            client=client,
            device=device,
            store=store,
            prefix=f"p{point}-l{k}",
            report=line_report,
        )
        # The variants are the primary line's (the schema refuses design sweeps in a portfolio).
        variants = None if designs is None or k > 0 else designs.flat
        settled.append((name, settle_designs(view, inputs, aggregates, variants)))
        del aggregates  # the next line's, or the Dataset, may use the room
    combined = settled[0][1] if len(settled) == 1 else combine_lines(settled)
    if sc is not loaded.scenario:  # a sweep's point: its designs, the file's text
        loaded = LoadedScenario(
            scenario=sc, text=loaded.text, source=loaded.source, overrides=loaded.overrides
        )
    return to_dataset(
        combined,
        loaded,
        seed=sc.seed,
        trials=sc.trials,
        inputs=lines[0][2],
        command=command,
        designs=designs,
    )


def _simulate_line(
    inputs: ModelInputs,
    key: tuple[np.uint32, np.uint32],
    chunks: list[tuple[int, int]],
    *,
    parallel: bool,
    client: Any,
    device: str,
    store: Checkpoint | _Kept | None,
    prefix: str,
    report: Callable[[int], None],
) -> npt.NDArray[np.float64]:
    """One line's aggregates, chunk by chunk: from the checkpoint where finished, else computed
    (in process, on the GPU or as dask tasks) and checkpointed."""
    n_trials = chunks[-1][0] + chunks[-1][1]
    aggregates = np.empty((n_trials, inputs.n_years, inputs.n_fields), dtype=np.float64)
    todo = []
    done = 0
    for t0, n in chunks:
        saved = None
        if store is not None:
            saved = store.load(f"{prefix}-t{t0}-n{n}", (n, inputs.n_years, inputs.n_fields))
        if saved is None:
            todo.append((t0, n))
        else:
            aggregates[t0 : t0 + n] = saved
            done += n
    if done:
        report(done)

    def keep(t0: int, n: int, arr: npt.NDArray[np.float64]) -> None:
        nonlocal done
        aggregates[t0 : t0 + n] = arr
        if store is not None:
            store.save(f"{prefix}-t{t0}-n{n}", arr)
        done += n
        report(done)

    if device == "cuda":
        from simsettle.models.gpu import simulate_aggregates_cuda

        for t0, n in todo:
            keep(t0, n, simulate_aggregates_cuda(inputs, key, t0, n))
    elif client is None:
        for t0, n in todo:
            keep(t0, n, simulate_aggregates(inputs, key, t0, n, parallel=parallel))
    elif todo:
        _run_on_cluster(client, inputs, key, todo, keep)
    return aggregates


def _open_checkpoint(
    directory: str | os.PathLike[str],
    loaded: LoadedScenario,
    points: Sequence[Scenario],
    compiled: Sequence[Sequence[tuple[str, Scenario, ModelInputs]]],
    chunk: int,
    *,
    resume: bool,
    extra: Mapping[str, Any] | None = None,
) -> Checkpoint:
    """The run's checkpoint, identified by everything its aggregates depend on (and
    ``extra``: a run to a precision's rule)."""
    from simsettle._version import __version__
    from simsettle.checkpoint import Checkpoint, params_digest

    arrays = []
    for lines in compiled:
        for _, _, inputs in lines:
            # The record's bytes as float64 words: the digest of the parameter vector it was.
            vector = inputs.params.reshape(1).view(np.float64)
            arrays += [vector, inputs.attachments, inputs.practices]
    sc = loaded.scenario
    identity = {
        "simsettle_version": __version__,
        "scenario_sha256": loaded.sha256,
        "seed": sc.seed,
        "trials": sc.trials,
        "chunk_trials": chunk,
        "points": len(points),
        "model_parameters_sha256": params_digest(*arrays),
    }
    if extra:
        identity |= dict(extra)
    return Checkpoint.open(directory, identity, resume=resume)


def run_to_file(
    scenario: LoadedScenario | Scenario | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    **options: Any,
) -> xr.Dataset:
    """Simulate ``scenario`` and write the results to ``out``, losing nothing on interruption.

    Finished chunks are kept in :func:`~simsettle.checkpoint.checkpoint_dir` ``(out)`` while
    the run goes; the results are written atomically (complete, or not at all), then the
    checkpoint is removed. A run killed at any point leaves either no ``out`` or the previous
    complete one; ``resume=True`` (``simsettle run --resume``) finishes it from its checkpoint
    to the same result, to the bit, as an uninterrupted run. ``options`` are
    :func:`simulate`'s.
    """
    from simsettle.checkpoint import checkpoint_dir
    from simsettle.results import recover_interrupted_write, write_results

    recover_interrupted_write(out)
    directory = checkpoint_dir(out)
    with _terminate_as_interrupt():
        ds = simulate(scenario, checkpoint=directory, resume=resume, **options)
        try:
            write_results(ds, out)
        except (OSError, ValueError) as exc:
            raise ResultsWriteError(f"{out}: could not write results: {exc}") from exc
    shutil.rmtree(directory, ignore_errors=True)
    return ds


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt here, as SIGINT does, so that a terminated run cleans up
    its temporary files like an interrupted one (the main thread only, and only where SIGTERM
    has its default action: a handler the caller installed, such as the command line's, which
    also bounds the clean-up's time, is left in place)."""
    import signal

    from simsettle._signals import handling

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    with handling(interrupt, (signal.SIGTERM,)):
        yield


def _run_on_cluster(
    client: Any,
    inputs: ModelInputs,
    key: tuple[np.uint32, np.uint32],
    chunks: list[tuple[int, int]],
    keep: Callable[[int, int, npt.NDArray[np.float64]], None],
) -> None:
    """Chunks as dask tasks running the serial kernel; ``keep(t0, n, aggregates)`` takes each
    result as it arrives (results land by global trial index, so the order does not matter)."""
    from dask.distributed import as_completed

    # Compile (or load from numba's cache) in this process first, so that workers on this
    # machine load the cached kernel instead of compiling it at the same time.
    simulate_aggregates(inputs, key, 0, 1, parallel=False)
    futures = {
        client.submit(simulate_aggregates, inputs, key, t0, n, pure=False): (t0, n)
        for t0, n in chunks
    }
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        t0, n = futures[future]
        keep(t0, n, future.result())


_WARM_SCENARIO = """\
schema_version: 1
seed: 0
trials: 2
population: {members: 20}
cost: {pmpm: 1000.0}
designs:
  - {name: d, kind: two_sided, min_savings_rate: 0.0, min_loss_rate: 0.0,
     shared_savings_rate: 0.5, shared_loss_rate: 0.5,
     stop_loss: {attachment: 1000.0, coinsurance: 0.1}}
"""


def warm_cache() -> None:
    """Compile every kernel, or load it from numba's on-disk cache, in this process.

    Kernels have one signature whatever the scenario, so a tiny run covers them all. Called
    before dask workers start, so that they load the cache instead of all compiling at once.
    """
    from simsettle.scenario.io import parse_scenario

    loaded = parse_scenario(_WARM_SCENARIO, "<warm-up>")
    for threads in (1, 2):
        simulate(loaded, threads=threads, progress=False)


def local_cluster(workers: int) -> Any:
    """A dask ``Client`` on a local cluster of ``workers`` single-threaded worker processes.

    Workers get ``NUMBA_NUM_THREADS=1`` (dask sets OpenMP/MKL to 1 but not numba); the numba
    cache is warmed first (:func:`warm_cache`). Close the client and its cluster with
    ``client.close(); client.cluster.close()``.
    """
    try:
        from dask.distributed import Client, LocalCluster
    except ModuleNotFoundError as exc:  # pragma: no cover - dask is an optional extra
        raise ImportError(
            "running on a dask cluster needs the dask extra: pip install 'simsettle[dask]'"
        ) from exc
    warm_cache()
    # The Nanny's ``env`` is set in the worker process before the worker starts, and numba reads
    # NUMBA_NUM_THREADS again when it first compiles or launches threads there. Not
    # ``distributed.nanny.pre-spawn-environ``: the Nanny writes that into this process's
    # ``os.environ`` and never restores it, so numba here then refuses to compile ("Cannot set
    # NUMBA_NUM_THREADS to a different value once the threads have been launched").
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        env={"NUMBA_NUM_THREADS": "1"},
    )
    return Client(cluster)  # type: ignore[no-untyped-call]


def payoff(
    designs: LoadedScenario | Scenario | Sequence[AnyDesign] | str | os.PathLike[str],
    *,
    rates: npt.ArrayLike | None = None,
    members: float = 10_000.0,
    revenue_ratio: float | None = None,
) -> xr.Dataset:
    """Payoff curves (settlement as a fraction of the benchmark by savings rate) of any designs.

    ``designs`` is a list of design models, or a scenario (path or object) whose designs to use.
    For :func:`simsettle.plot.fig_payoff`. ``members`` sets size-based minimum savings rates and
    ``revenue_ratio`` revenue-based caps (a scenario's own ratio is used when it has one).

    >>> from simsettle.scenario import UpsideOnly
    >>> d = UpsideOnly(kind="upside_only", name="u", min_savings_rate=0.02,
    ...                shared_savings_rate=0.5, savings_cap=0.1)
    >>> float(payoff([d]).payoff.sel(design="u", payoff_savings_rate=0.04))
    0.02
    """
    from simsettle.results import payoff_dataset
    from simsettle.rules.payoff import DEFAULT_PAYOFF_RATES, payoff_table

    if isinstance(designs, LoadedScenario | Scenario | str | os.PathLike):
        sc = resolve_scenario(designs).scenario
        chosen: Sequence[AnyDesign] = sc.designs
        if revenue_ratio is None:
            revenue_ratio = sc.provider.revenue_ratio
    else:
        chosen = list(designs)
    grid = DEFAULT_PAYOFF_RATES if rates is None else np.asarray(rates, dtype=np.float64)
    table = payoff_table(chosen, grid, members=members, revenue_ratio=revenue_ratio)
    return payoff_dataset(chosen, grid, table)
