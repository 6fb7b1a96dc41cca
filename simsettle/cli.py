"""The ``simsettle`` command line: a thin layer over the public API that notebooks use.

Exit codes, the same for every command: 0 ok; 1 run failure (the simulation failed or was
refused for memory, the results or another output could not be written); 2 usage or validation
error (bad options or ``--set`` overrides, a scenario that does not validate, an input file that
is missing or not what the command reads). Heavy modules (numba, xarray, matplotlib) are
imported inside the commands that need them, so ``--help`` and ``validate`` stay fast.

Help texts put their examples in a paragraph that starts with ``\b`` (click's "do not rewrap"
mark), so each example stays on one line.
"""

from __future__ import annotations

import enum
import os
import re
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from simsettle._version import __version__
from simsettle.errors import ScenarioError, SimulationError

if TYPE_CHECKING:
    import xarray as xr

    from simsettle.scenario.paths import Override

app = typer.Typer(
    name="simsettle",
    help="Simulate value-based-care contract settlements from a scenario file.\n\n"
    "Example:\n\n"
    "\b\n"
    "  simsettle validate scenarios/examples/mssp_style.yaml\n"
    "  simsettle run scenarios/examples/mssp_style.yaml -o results.nc\n"
    "  simsettle compare results.nc --by mean,prob_loss\n"
    "  simsettle report results.nc -o report/\n\n"
    "Exit codes: 0 ok, 1 run failure (simulation, memory or writing the output), "
    "2 usage or validation error (options, --set, scenario, input file).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"simsettle {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the simsettle version and exit.",
        ),
    ] = False,
) -> None:
    """Simulate value-based-care contract settlements from a scenario file."""


EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
#: A run stopped by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention).
EXIT_INTERRUPTED = 130


#: Seconds an interrupted run has to clean up before it exits regardless
#: (:func:`_interrupt_deadline`).
INTERRUPT_GRACE_S = 20.0


def _err(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def _interrupt_deadline(grace: float = INTERRUPT_GRACE_S) -> Iterator[None]:
    """Ctrl-C and SIGTERM interrupt the run (KeyboardInterrupt: it cleans up, keeping its
    finished trials), and the process ends within ``grace`` seconds whatever happens next.

    Python raises the interrupt wherever the main thread is; between a lock's acquisition and
    its release (a file library's, say) that can leave the lock held, and the clean-up, or
    the interpreter's exit, then waits for it for ever. On the first signal a timer starts
    that, if the process is still alive ``grace`` seconds later, exits with 130 at once. That
    loses nothing: results and checkpoints are renamed into place whole, and the next run
    removes a temporary file left behind. (The command line only: a notebook's kernel must
    never be ended like this.)
    """
    import signal
    import threading

    from simsettle._signals import handling

    started: list[threading.Timer] = []

    def give_up() -> None:
        os.write(
            2,
            f"interrupted: clean-up did not finish within {grace:g} s; exiting now (the next "
            "run removes any temporary file)\n".encode(),
        )
        os._exit(EXIT_INTERRUPTED)

    def interrupt(signum: int, frame: object) -> None:
        if not started:
            timer = threading.Timer(grace, give_up)
            timer.daemon = True
            timer.start()
            started.append(timer)
        raise KeyboardInterrupt(f"interrupted by signal {signum}")

    with handling(interrupt, (signal.SIGINT, signal.SIGTERM)):
        yield


def _print_issues(exc: ScenarioError) -> None:
    for issue in exc.issues:
        _err(str(issue))


#: An expected failure of a command: ``(exception types, exit code, message prefix)``.
Failure = tuple[type[Exception] | tuple[type[Exception], ...], int, str]


@contextmanager
def _exit_on(*failures: Failure) -> Iterator[None]:
    """Report an expected failure of the block as one line on stderr and exit with its code.

    The failures are tried in order, like ``except`` clauses: the first whose types match
    prints its prefix and the exception's message (a ``KeyError``'s key unquoted) and exits
    with its code. Any other exception propagates, to :func:`main`'s one-line report.
    """
    try:
        yield
    except Exception as exc:
        for errors, code, prefix in failures:
            if isinstance(exc, errors):
                detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                _err(f"{prefix}{detail}")
                raise typer.Exit(code) from None
        raise


def _write_failure(path: Path, what: str) -> Failure:
    """The failure of writing ``what`` to ``path`` (an ``OSError``): exit 1."""
    return (OSError, EXIT_FAILURE, f"{path}: could not write {what}: ")


#: Reading a file that is missing or not what the command reads: exit 2.
BAD_INPUT: Failure = ((OSError, ValueError), EXIT_USAGE, "error: ")


def _argument(metavar: str, help: str) -> Any:
    """A positional argument as every command declares one: its metavar, no default shown."""
    return typer.Argument(help=help, show_default=False, metavar=metavar)


def _whole(minimum: int, help: str) -> Any:
    """An optional whole-number option (``None`` when not given) at least ``minimum``, named
    after its parameter (``chunk_trials`` is ``--chunk-trials``)."""
    return typer.Option(min=minimum, help=help)


def _repeatable(*names: str, metavar: str, help: str) -> Any:
    """A repeatable option (a list, ``None`` when not given): its metavar, no default shown."""
    return typer.Option(*names, metavar=metavar, show_default=False, help=help)


#: The results file or store a command reads.
RESULTS_HELP = "Results from simsettle run (.nc file or .zarr store)."


#: ``--set KEY.PATH=VALUE``, on ``run`` and ``validate``.
SetOption = Annotated[
    list[str] | None,
    _repeatable(
        "--set",
        metavar="KEY.PATH=VALUE",
        help="Set a scenario field before validation; repeat for more. The value is YAML: "
        "--set population.turnover=0.2, --set designs.two_sided.min_savings_rate=0.02, "
        "--set 'designs.*.shared_savings_rate=0.6', --set 'benchmark.weights=[0.2, 0.3, 0.5]'.",
    ),
]


#: ``--force``, on ``run`` and ``convert`` (:func:`_check_output_path` never lets it replace the
#: input).
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace an output that exists and is not simsettle results (never the input).",
    ),
]


def _parse_overrides(sets: list[str] | None) -> list[Override]:
    """``--set`` texts -> overrides; a malformed one is a usage error (exit 2)."""
    from simsettle.scenario.paths import PathError, parse_override

    with _exit_on((PathError, EXIT_USAGE, "--set: ")):
        return [parse_override(text) for text in sets or ()]


def _split_list(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values, in order, without blanks."""
    return [v.strip() for value in values or () for v in value.split(",") if v.strip()]


def _check_output_file(path: Path, example: str | None = None) -> None:
    """A file to be written: not a directory, in a directory that exists (else exit 2).

    ``example``: a file name to suggest when ``path`` is a directory.
    """
    if path.is_dir():
        such_as = f" such as {path / example}" if example else ""
        _err(f"{path}: is a directory; give a file name{such_as}")
        raise typer.Exit(EXIT_USAGE)
    if not path.parent.is_dir():
        _err(f"{path}: output directory {path.parent} does not exist")
        raise typer.Exit(EXIT_USAGE)


@app.command()
def validate(
    files: Annotated[list[Path], _argument("FILE", "Scenario files (YAML).")],
    sets: SetOption = None,
) -> None:
    """Check scenario files; print each problem as FILE:LINE:COL: field.path: message.

    Checks every value of a sweep too, and the file as --set would change it, so an override
    can be checked without running (a problem in an overridden value is reported at the
    override: --set population.turnover=1.5:1:1: population.turnover: ...).

    Exits 0 when every file is valid, 2 otherwise.

    Example:

    \b
      simsettle validate scenarios/examples/*.yaml
      simsettle validate scenarios/examples/mssp_style.yaml --set population.turnover=0.25
    """
    from simsettle.scenario import load_scenario

    overrides = _parse_overrides(sets)
    failed = False
    for f in files:
        try:
            loaded = load_scenario(f, overrides)
            if loaded.scenario.sweep:
                from simsettle.scenario.sweep import plan_sweep

                plan_sweep(loaded)
        except ScenarioError as exc:
            _print_issues(exc)
            failed = True
        else:
            typer.echo(f"{f}: ok")
    if failed:
        raise typer.Exit(EXIT_USAGE)


@app.command()
def exact(
    file: Annotated[Path, _argument("FILE", "Scenario file (YAML).")],
    year: Annotated[
        int | None,
        typer.Option(help="Calendar performance year (default: the first).", min=1900, max=3000),
    ] = None,
    sets: SetOption = None,
) -> None:
    """The exact settlement of each design, without simulation, where the scenario has one.

    A fixed benchmark, members who all stay the year (turnover 0, prospective attribution), a
    deterministic trend, and the mixture cost model or a compound Poisson frequency-severity
    total: the year's spend distribution by FFT on a lattice, each design's settlement by the
    engine's own rules. Prints the expected settlement with the bound the discretisation
    leaves, the chance of paying and of receiving, and quantiles (simsettle.exact).

    Exits 2 naming the fields where the scenario has no exact settlement.

    Example:

    \b
      simsettle exact my_deal.yaml --year 2027
    """
    from simsettle.exact import NotExactError, exact_settlement
    from simsettle.report.summary import format_exact
    from simsettle.scenario import load_scenario

    overrides = _parse_overrides(sets)
    try:
        loaded = load_scenario(file, overrides)
    except ScenarioError as exc:
        _print_issues(exc)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        results = exact_settlement(loaded.scenario, year=year)
    except (NotExactError, ValueError) as exc:
        _err(f"{file}: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(format_exact(results))
    ignored = []
    if loaded.scenario.sweep:
        ignored.append("sweep (the file's own values are settled)")
    if loaded.scenario.timing is not None:
        ignored.append("timing (the final settlement is shown)")
    if ignored:
        typer.echo("Not applied here: " + "; ".join(ignored) + ".")


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of scenario files (for editor autocompletion).

    Exit codes: 0 ok; 1 the file could not be written; 2 an output path in a missing directory.

    Example:

    \b
      simsettle schema -o scenario.schema.json
    """
    from simsettle.scenario import scenario_json_schema_text

    text = scenario_json_schema_text()
    if output is None:
        typer.echo(text, nl=False)
        return
    _check_output_file(output)
    from simsettle._atomic import write_text

    with _exit_on(_write_failure(output, "the schema")):
        write_text(output, text)


def _check_output_path(out: Path, source: Path, *, force: bool = False) -> None:
    """Refuse, before any work, an output that would overwrite the input (never allowed) or a
    file or store that is not simsettle results (unless ``--force``)."""
    from simsettle.safety import check_results_target

    with _exit_on(
        ((ValueError, FileNotFoundError, PermissionError), EXIT_USAGE, ""),
        (ImportError, EXIT_FAILURE, "error: "),
    ):
        check_results_target(out, inputs=[source], force=force)


@app.command()
def run(
    scenario: Annotated[Path, _argument("SCENARIO", "Scenario file (YAML).")],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Results: a .nc file (NetCDF) or a .zarr directory (Zarr store)."
        ),
    ] = Path("results.nc"),
    trials: Annotated[int | None, _whole(1, "Override the scenario's trials.")] = None,
    seed: Annotated[int | None, _whole(0, "Override the scenario's seed.")] = None,
    sets: SetOption = None,
    threads: Annotated[int | None, _whole(1, "numba threads (default: all cores).")] = None,
    chunk_trials: Annotated[int | None, _whole(1, "Trials per kernel call.")] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: runs over 2 s)."),
    ] = None,
    workers: Annotated[int | None, _whole(1, "Run on a local dask cluster of N processes.")] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on the dask cluster at this scheduler address."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted run of the same command from its finished trials.",
        ),
    ] = False,
    gpu: Annotated[
        bool,
        typer.Option("--gpu", help="Simulate on a CUDA GPU (needs the gpu extra)."),
    ] = False,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="Run until the standard errors of the mean, the 5%/95% quantiles, the "
            "chances of paying and receiving (at most 0.0025) and every paired difference "
            "are at most this: USD (25000) or a percentage of the mean benchmark (0.1%); "
            "--trials is then the most it may use (default 200,000).",
        ),
    ] = None,
    control_variates: Annotated[
        bool,
        typer.Option(
            "--control-variates",
            help="With --precision: estimate means and probabilities with the cost indices "
            "as control variates (fewer trials for the same precision).",
        ),
    ] = False,
    force: ForceOption = False,
) -> None:
    """Simulate a scenario, settle every design and write the results (NetCDF or Zarr).

    Ends with a one-screen summary per design (at the base point of a sweep): mean, its Monte
    Carlo standard error, percentiles and the chances of paying losses and receiving savings,
    then the precision, the output and the time taken. simsettle compare ranks every design
    and sweep cell; simsettle report writes the committee report.

    --set changes a field of the scenario for this run (repeatable); the results record each
    override and the scenario text as run. A .zarr output name writes a Zarr directory store
    (chunked by trial); simsettle convert turns it into one NetCDF file and back. On a dask
    cluster: --workers 4 (a local cluster) or --scheduler tcp://host:8786; results are the same
    to the bit.

    --precision stops when the answer is precise enough instead of after a fixed number of
    trials: chunks are added until every standard error meets the target (the results record
    the rule and each check, and equal a fixed run of the trials it stopped at, bit for bit).

    Nothing is lost: finished trials are kept beside the output (.NAME.partial) until the
    results are written, atomically; after Ctrl-C, a kill or a crash, the same command with
    --resume finishes the run, to the same results bit for bit.

    Exit codes: 0 written; 1 the run failed or would not fit in memory, or the results could
    not be written; 2 bad options, --set or scenario; 130 interrupted (resumable).

    Example:

    \b
      simsettle run scenarios/examples/mssp_style.yaml -o results.nc --trials 10000
      simsettle run scenarios/examples/mssp_style.yaml -o r.nc --set population.turnover=0.25
      simsettle run scenarios/examples/mssp_style.yaml -o results.nc --resume
      simsettle run scenarios/examples/mssp_style.yaml -o r.nc --precision 0.1% --trials 50000
    """
    from simsettle.scenario import load_scenario

    started = time.perf_counter()
    overrides = _parse_overrides(sets)
    try:
        loaded = load_scenario(scenario, overrides)
    except ScenarioError as exc:
        _print_issues(exc)
        raise typer.Exit(EXIT_USAGE) from None
    _check_output_path(out, scenario, force=force)

    from simsettle.runner import run_to_file

    # The settings given as numbers: passed on to the run and recorded in its command, whose
    # words (and their order) the results keep.
    numbers = {"trials": trials, "seed": seed, "threads": threads, "chunk_trials": chunk_trials}
    words = ["simsettle", "run", str(scenario), "-o", str(out)]
    for text in sets or ():
        words += ["--set", text]
    flags = (("--resume", resume), ("--gpu", gpu), ("--control-variates", control_variates))
    words += [flag for flag, given in flags if given]
    if precision is not None:
        words += ["--precision", precision]
    rule = None
    if precision is not None:
        from simsettle.stats.precision import Precision

        try:
            rule = Precision.parse(precision, control_variates=control_variates)
        except ValueError as exc:
            _err(f"error: --precision: {exc}")
            raise typer.Exit(EXIT_USAGE) from None
    elif control_variates:
        _err("error: --control-variates goes with --precision")
        raise typer.Exit(EXIT_USAGE)
    for key, value in numbers.items():
        if value is not None:
            words += ["--" + key.replace("_", "-"), str(value)]
    command = " ".join(shlex.quote(w) for w in words)
    if workers is not None and scheduler is not None:
        _err("give --workers or --scheduler, not both")
        raise typer.Exit(EXIT_USAGE)
    client = None
    with _exit_on(
        (
            (ImportError, OSError, TimeoutError),
            EXIT_FAILURE,
            "cannot start or reach the dask cluster: ",
        )
    ):
        if workers is not None:
            from simsettle.runner import local_cluster

            client = local_cluster(workers)
        elif scheduler is not None:
            from dask.distributed import Client

            client = Client(scheduler)  # type: ignore[no-untyped-call]
    try:
        with _interrupt_deadline():
            ds = run_to_file(
                loaded,
                out,
                resume=resume,
                progress=progress,
                command=command,
                client=client,
                device="cuda" if gpu else "cpu",
                precision=rule,
                **numbers,
            )
    except KeyboardInterrupt:
        _err(
            f"interrupted: {out} was not written; the finished trials are kept, and the same "
            "command with --resume continues from them"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except ScenarioError as exc:  # an override broke a limit
        _print_issues(exc)
        raise typer.Exit(EXIT_USAGE) from None
    except SimulationError as exc:
        _err(f"run failed: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except ValueError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except (MemoryError, OSError) as exc:
        _err(f"run failed: {type(exc).__name__}: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    finally:
        if client is not None:
            cluster = client.cluster if workers is not None else None
            client.close()
            if cluster is not None:
                cluster.close()
    typer.echo(run_summary(ds, out, time.perf_counter() - started))


#: Designs the summary at the end of ``run`` lists; simsettle compare shows every one.
SUMMARY_DESIGNS = 8


def _plain_value(value: object) -> str:
    """A coordinate value for a table cell: 250000.0 -> 250,000, 0.005 -> 0.005."""
    if isinstance(value, float):  # numpy's float64 too
        if value.is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.6g}"
    return str(value)


def run_summary(ds: xr.Dataset, out: Path, elapsed: float) -> str:
    """The screen ``simsettle run`` ends with (at most about 20 lines).

    The settlement table of up to :data:`SUMMARY_DESIGNS` designs, at the base point of a sweep,
    with where to see the rest; the Monte Carlo precision of the means; the cost model's
    achieved moments; the output path and the time taken.
    """
    import math

    from simsettle.plot._style import format_money
    from simsettle.report import (
        format_assumptions,
        format_benchmark,
        format_benchmark_adjustments,
        format_capitation,
        format_cost_moments,
        format_participants,
        format_stopping,
        format_summary,
        format_truncation,
    )
    from simsettle.results import sweep_base
    from simsettle.stats import statistic

    base = sweep_base(ds)
    compare = f"simsettle compare {shlex.quote(str(out))}"
    n_designs = int(base.sizes.get("design", 0))
    shown = base.isel(design=slice(0, SUMMARY_DESIGNS)) if n_designs > SUMMARY_DESIGNS else base
    lines = [format_summary(shown).rstrip("\n")]
    if n_designs > SUMMARY_DESIGNS:
        lines.append(
            f"... and {n_designs - SUMMARY_DESIGNS} more designs; all {n_designs} ranked: {compare}"
        )
    dims = [d for d in str(ds.attrs.get("sweep_dims", "")).split() if d in ds.sizes]
    if dims:
        cells = math.prod(int(ds.sizes[d]) for d in dims) * max(n_designs, 1)
        at = ", ".join(f"{d}={_plain_value(base[d].values.item())}" for d in dims)
        lines.append(
            f"Swept {', '.join(dims)}: the table is at the base point ({at}); "
            f"all {cells:,} design x sweep cells ranked: {compare}"
        )
    se = statistic(base, "mean")["se"]
    finite = [float(x) for x in se.values.ravel() if math.isfinite(float(x))]
    trials = int(ds.sizes.get("trial", 0))
    if finite:
        lines.append(
            f"Monte Carlo precision ({trials:,} trials, the years of a trial counted together): "
            f"each mean is within ±{format_money(1.96 * max(finite))} at 95% confidence; "
            "4x the trials halve that."
        )
    else:
        lines.append("Monte Carlo precision: unknown; the standard errors need at least 2 trials.")
    stopping = format_stopping(ds)
    if stopping:
        lines.append(stopping)
    moments = format_cost_moments(ds)
    if moments:
        lines.append(moments)
    for line in (
        format_benchmark(ds),
        format_benchmark_adjustments(ds),
        format_truncation(ds),
        format_capitation(ds),
        format_assumptions(ds),
    ):
        if line:
            lines.append(line)
    participants = format_participants(ds)
    if participants:
        lines.append(participants)
    lines.append(f"wrote {out} in {elapsed:.1f} s")
    return "\n".join(lines)


@app.command()
def convert(
    src: Annotated[Path, _argument("SRC", RESULTS_HELP)],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Where to write: a .nc file or a .zarr directory.",
            show_default=False,
        ),
    ],
    force: ForceOption = False,
) -> None:
    """Convert results between a Zarr store and one NetCDF file (the suffixes say which).

    Data and attributes are copied unchanged, chunk by chunk, and written atomically.

    Exit codes: 0 ok; 1 the output could not be written (or zarr is not installed); 2 a source
    that is not simsettle results, or a bad output name.

    Example:

    \b
      simsettle convert results.zarr -o results.nc
    """
    from simsettle.results import convert_results

    _check_output_path(out, src, force=force)
    with _exit_on(
        ((ValueError, FileNotFoundError), EXIT_USAGE, "error: "),
        ((ImportError, OSError), EXIT_FAILURE, f"{out}: could not convert results: "),
    ):
        path = convert_results(src, out)
    typer.echo(f"wrote {path}")


class Party(enum.StrEnum):
    """Whose interest ``simsettle compare`` ranks for."""

    provider = "provider"
    payer = "payer"


#: Rows ``simsettle compare`` prints when --top is not given.
COMPARE_ROWS = 20


class Rule(enum.StrEnum):
    """How ``simsettle compare`` orders rows."""

    dominance = "dominance"
    sort = "sort"


@app.command()
def compare(
    results: Annotated[Path, _argument("RESULTS", RESULTS_HELP)],
    by: Annotated[
        list[str] | None,
        _repeatable(
            "--by",
            metavar="STAT[,STAT...]",
            help="Statistics to weigh (comma-separated or repeated). Names as in "
            "simsettle.stats.describe: mean, std, q05, q50, q95 (q<P>, any percent), "
            "var_provider_95, tvar_provider_99, var_payer_95, tvar_payer_95 (any level), "
            "prob_loss, prob_savings, prob_zero, prob_savings_cap, prob_loss_cap, "
            "prob_corridor, stop_loss_net. Default: mean,var_provider_95 (--for payer: "
            "mean,var_payer_95); with --rule sort: mean,prob_loss,var_provider_95 (--for "
            "payer: mean,prob_savings,var_payer_95).",
        ),
    ] = None,
    party: Annotated[
        Party,
        typer.Option(
            "--for",
            help="Whose interest 'better' means. For the provider a higher mean, quantile, "
            "prob_savings, var_payer/tvar_payer and stop_loss_net and a lower prob_loss, "
            "var_provider/tvar_provider; for the payer the reverse.",
        ),
    ] = Party.provider,
    rule: Annotated[
        Rule,
        typer.Option(
            "--rule",
            help="dominance: rows that another row beats on some --by statistic and loses "
            "to on none (beyond paired Monte Carlo error) are marked dominated and put last, "
            "the mean/tail frontier is marked, then rows sort on the statistics in turn. "
            "sort: sort on the first statistic, the next only break ties.",
        ),
    ] = Rule.dominance,
    limit: Annotated[
        str | None,
        typer.Option(
            "--limit",
            metavar="STAT<=X",
            show_default=False,
            help="Rows that keep this limit come first: 'var_provider_95<=3e6' (best mean "
            "with a 1-in-20 loss of at most $3M), 'prob_loss<=0.1', 'mean>=0'. Amounts may be "
            "written 3000000, 3e6, $3M or 250K.",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="DESIGN",
            show_default=False,
            help="Give each row's difference from this design (in the same sweep cell) with "
            "its paired standard error [default: the first design].",
        ),
    ] = None,
    ascending: Annotated[
        bool | None,
        typer.Option(
            "--ascending/--descending",
            show_default=False,
            help="With --rule sort: sort every --by statistic this way instead of the --for "
            "party's sense.",
        ),
    ] = None,
    design: Annotated[
        list[str] | None,
        _repeatable(
            "--design",
            "-d",
            metavar="NAME",
            help="Compare only these designs (comma-separated or repeated).",
        ),
    ] = None,
    top: Annotated[
        int | None,
        typer.Option(
            "--top",
            min=1,
            show_default=False,
            help=f"Rows to keep (default: print {COMPARE_ROWS}, and every row to --csv).",
        ),
    ] = None,
    var: Annotated[
        str, typer.Option("--var", help="Variable to describe (settlement or another).")
    ] = "settlement",
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            show_default=False,
            help="Also write the rows to this CSV file, with standard errors, paired "
            "differences and the design parameters, unrounded; units in the header.",
        ),
    ] = None,
    xlsx_out: Annotated[
        Path | None,
        typer.Option(
            "--xlsx",
            metavar="FILE",
            show_default=False,
            help="Also write the rows to this Excel workbook (one sheet, units in the header, "
            "the rule and the run's facts on a second sheet).",
        ),
    ] = None,
) -> None:
    """Weigh designs (and every cell of a sweep) on several statistics, and say which to prefer.

    One row per design, or per combination of design and swept values. By default (--rule
    dominance) a row is dominated when another row is better on some --by statistic and
    worse on none, each beyond the paired Monte Carlo error of the difference (every design
    settles the same simulated years); dominated rows come last and name the rows that
    dominate them; rows on the efficient frontier of the first two statistics (by default
    the mean settlement against the 1-in-20 loss) are marked. Each statistic has its Monte
    Carlo standard error (SE), and its difference from the baseline design its paired SE.
    The rule used is printed under the table. The same in Python:
    simsettle.stats.decide(ds, ...), and simsettle.stats.paired(ds, baseline) for the
    differences.

    Exit codes: 0 ok; 1 a file could not be written; 2 an unknown statistic, design or
    variable, a malformed limit, or a file that is not simsettle results.

    Example:

    \b
      simsettle compare results.nc
      simsettle compare results.nc --limit 'var_provider_95<=3e6' --baseline basic_b
      simsettle compare results.nc --for payer --by mean,tvar_payer_99 -d two_sided,enhanced
      simsettle compare results.nc --rule sort --by prob_loss,mean --top 10 --csv ranking.csv
    """
    from simsettle.stats import (
        DECIDE_DEFAULT_BY,
        RANK_DEFAULT_BY,
        decide,
        parse_statistic_name,
        rank,
    )

    defaults = DECIDE_DEFAULT_BY if rule is Rule.dominance else RANK_DEFAULT_BY
    names = _split_list(by) or list(defaults[party.value])
    with _exit_on((ValueError, EXIT_USAGE, "--by: ")):
        for name in names:
            parse_statistic_name(name)
    parsed_limit = None
    if limit is not None:
        if rule is not Rule.dominance:
            _err("--limit: a limit needs --rule dominance")
            raise typer.Exit(EXIT_USAGE)
        with _exit_on((ValueError, EXIT_USAGE, "--limit: ")):
            parsed_limit = _parse_limit(limit, party.value)
    if ascending is not None and rule is Rule.dominance:
        _err("--ascending/--descending: only with --rule sort (dominance reads --for)")
        raise typer.Exit(EXIT_USAGE)
    for out in (csv_out, xlsx_out):
        if out is not None:
            _check_output_file(out)
    ds = _open_results(results)
    designs = _split_list(design) or None
    with _exit_on(((KeyError, ValueError), EXIT_USAGE, "error: ")):
        if rule is Rule.sort:
            table = rank(
                ds, names, party=party.value, ascending=ascending, designs=designs, top=top, var=var
            )
        else:
            chosen = designs or [str(d) for d in ds["design"].values]
            table = decide(
                ds,
                names,
                party=party.value,
                limit=parsed_limit,
                baseline=baseline or chosen[0],
                designs=designs,
                var=var,
            )
            table.attrs["rows"] = table.sizes["rank"]
            if top is not None:
                table = table.isel(rank=slice(0, top))
    shown = COMPARE_ROWS if top is None else top
    if rule is Rule.sort:
        typer.echo(_format_ranking(ds, table, results, shown))
    else:
        typer.echo(_format_decision(ds, table, results, shown))
    if csv_out is not None:
        with _exit_on(_write_failure(csv_out, "the ranking")):
            _write_ranking_csv(table, csv_out)
        typer.echo(f"wrote {csv_out}")
    if xlsx_out is not None:
        with _exit_on(
            (ImportError, EXIT_FAILURE, "error: "), _write_failure(xlsx_out, "the workbook")
        ):
            _write_ranking_xlsx(ds, table, xlsx_out)
        typer.echo(f"wrote {xlsx_out}")


_AMOUNT = re.compile(
    r"^\s*(-?)\s*\$?\s*([0-9][0-9,_]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)\s*([kKmMbB]?)\s*$"
)


def _parse_limit(text: str, party: Literal["provider", "payer"]) -> tuple[str, float]:
    """``"var_provider_95<=3e6"`` -> ``("var_provider_95", 3e6)``, the operator checked
    against the statistic's sense for ``party``."""
    from simsettle.stats import REGISTRY, parse_statistic_name

    m = re.match(r"^\s*([A-Za-z0-9_ ]+?)\s*(<=|>=|<|>)\s*(.+)$", text)
    if m is None:
        raise ValueError(f"expected STAT<=X or STAT>=X (as var_provider_95<=3e6), got {text!r}")
    name, op, raw = m.groups()
    column, stat, _ = parse_statistic_name(name)
    amount = _AMOUNT.match(raw)
    if amount is None:
        raise ValueError(f"{raw!r} is not an amount (write 3000000, 3e6, $3M or 250K)")
    sign, digits, suffix = amount.groups()
    value = float(digits.replace(",", "").replace("_", ""))
    value *= {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}[suffix.lower()]
    value = -value if sign else value
    sense = REGISTRY[stat].sense(party)
    if sense == 0:
        raise ValueError(f"{column} favours neither party: it cannot be a limit")
    wanted = "<" if sense < 0 else ">"
    if op[0] != wanted:
        better = "lower" if sense < 0 else "higher"
        raise ValueError(
            f"{column} is better {better} for the {party}: a limit on it is {column}{wanted}=X"
        )
    return column, value


def _diff_cell(row: xr.Dataset, name: str, units: str) -> tuple[str, str]:
    diff = float(row[f"{name}_diff"])
    se = float(row[f"{name}_diff_se"])
    if diff == 0.0 and se == 0.0:
        return "0", "±0"
    text = _format_cell(diff, units, name)
    if diff > 0:
        text = "+" + text
    if bool(row[f"{name}_within_error"]):
        text = "~" + text
    return text, "±" + _format_cell(se, units, name)


def _verdict(row: xr.Dataset, frontier: bool) -> str:
    parts = []
    if bool(row["dominated"]):
        by = str(row["dominated_by"].item()).split(", ")
        more = f" and {len(by) - 2} more" if len(by) > 2 else ""
        parts.append(f"dominated by {', '.join(by[:2])}{more}")
    elif frontier and bool(row["on_frontier"]):
        parts.append("frontier")
    if "limit_status" in row:
        parts.append(f"limit {row['limit_status'].item()}")
    return "; ".join(parts) or "-"


def _statistic_cells(
    row: xr.Dataset, table: xr.Dataset, keys: list[str], stats: list[str]
) -> list[str]:
    """Rank, design and sweep values, then each statistic and its SE, of one table row."""
    cells = [str(int(row["rank"])), *(_plain_value(row[k].values.item()) for k in keys)]
    for name in stats:
        units = str(table[name].attrs.get("units", ""))
        cells.append(_format_cell(float(row[name]), units, name))
        cells.append("±" + _format_cell(float(row[f"{name}_se"]), units, name))
    return cells


def _fixed_width(
    title: str, header: list[str], body: list[list[str]], text_cols: int, *, last_left: bool
) -> list[str]:
    """The title, header, a rule, the body and a rule, in columns: the text columns (and the
    last one with ``last_left``) left-aligned, numbers right-aligned."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [
            c.ljust(w) if 0 < i < text_cols or (last_left and i == len(cells) - 1) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "-" * len(line(header))
    return [title, line(header), rule, *(line(r) for r in body), rule]


def _more_rows(shown: int, total: int) -> list[str]:
    if shown >= total:
        return []
    return [
        f"... {total - shown:,} more rows: --top {total} prints them all, --csv FILE writes them."
    ]


def _format_decision(ds: xr.Dataset, table: xr.Dataset, source: Path, rows: int) -> str:
    """A decision (:func:`simsettle.stats.decide`) as a fixed-width table, with the rule."""
    keys, _ = _row_coords(table)
    stats = [s.strip() for s in str(table.attrs["decided_by"]).split(",")]
    base = str(table.attrs.get("baseline", ""))
    header = ["rank", *keys]
    for name in stats:
        header += [name, "SE"]
    for name in stats if base else ():
        header += [f"{name}_diff", "SE"]
    header.append("verdict")
    frontier = len(stats) >= 2
    body = []
    for i in range(min(rows, table.sizes["rank"])):
        row = table.isel(rank=i)
        cells = _statistic_cells(row, table, keys, stats)
        for name in stats if base else ():
            cells += _diff_cell(row, name, str(table[name].attrs.get("units", "")))
        cells.append(_verdict(row, frontier))
        body.append(cells)
    total = int(table.attrs.get("rows", table.sizes["rank"]))
    trials = int(ds.sizes.get("trial", 0))
    years = int(ds.sizes.get("year", 1))
    what = ("design" if keys == ["design"] else "row") + ("s" if total != 1 else "")
    title = (
        f"{source}: {total:,} {what} weighed for the {table.attrs['party']} on "
        f"{', '.join(stats)} ({trials:,} trials x {years} year{'s' if years != 1 else ''})"
        + (f"; differences from {base}" if base else "")
    )
    out = _fixed_width(title, header, body, 1 + len(keys), last_left=True)
    out += _more_rows(len(body), total)
    out.append(f"Rule: {table.attrs['rule']}")
    if frontier:
        out.append(
            f"frontier: no other row is at least as good on both {stats[0]} and {stats[1]} "
            "and better on one."
        )
    out.append("SE: Monte Carlo standard error (95% interval about ±2 SE).")
    if base:
        out.append(
            f"_diff: the row minus {base} in the same simulated years, with its paired SE; "
            "~ marks a difference within Monte Carlo error."
        )
    return "\n".join(out)


def _open_results(path: Path) -> xr.Dataset:
    """:func:`simsettle.results.open_results`; exit 2 for a file that is missing or not
    simsettle results, 1 when the library that reads it is not installed."""
    from simsettle.results import open_results

    with _exit_on(BAD_INPUT, (ImportError, EXIT_FAILURE, "error: ")):
        return open_results(path)


def _row_coords(table: xr.Dataset) -> tuple[list[str], list[str]]:
    """(design and sweep coordinates, other design coordinates) of a ranking, in order."""
    keys = [c for c in str(table.attrs.get("row_dims", "")).split() if c in table.coords]
    others = [str(c) for c in table.coords if c not in keys and c != "rank"]
    return keys, others


def _format_cell(value: float, units: str, name: str) -> str:
    from simsettle.plot._style import format_money, format_percent

    if units == "USD":
        return format_money(value)
    if name.startswith("prob_"):
        return format_percent(value, 1)
    return f"{value:.4g}"


def _format_ranking(ds: xr.Dataset, table: xr.Dataset, source: Path, rows: int) -> str:
    """The ranking as a fixed-width table with a title and a note on precision."""
    keys, _ = _row_coords(table)
    stats = [str(v) for v in table.data_vars if not str(v).endswith("_se")]
    header = ["rank", *keys]
    for name in stats:
        header += [name, "SE"]
    body = [
        _statistic_cells(table.isel(rank=i), table, keys, stats)
        for i in range(min(rows, table.sizes["rank"]))
    ]
    total = int(table.attrs.get("rows", table.sizes["rank"]))
    trials = int(ds.sizes.get("trial", 0))
    years = int(ds.sizes.get("year", 1))
    title = (
        f"{source}: {total:,} rows ranked for the {table.attrs['party']} by "
        f"{table.attrs['ranked_by']} ({trials:,} trials x {years} year{'s' if years != 1 else ''})"
    )
    out = _fixed_width(title, header, body, 1 + len(keys), last_left=False)
    out += _more_rows(len(body), total)
    out.append("SE: Monte Carlo standard error (95% interval about ±2 SE). Every row settles")
    out.append("the same simulated years, so differences between rows are more precise.")
    return "\n".join(out)


def _ranking_columns(table: xr.Dataset) -> list[Any]:
    """The columns of a ranking or decision (:mod:`simsettle.report.export`), in order: rank,
    design and sweep coordinates, the statistics, then the design parameters."""
    from simsettle.report.export import dataset_columns

    keys, others = _row_coords(table)
    return dataset_columns(table, ["rank", *keys, *table.data_vars, *others])


def _write_ranking_csv(table: xr.Dataset, path: Path) -> None:
    """Every row of a ranking as CSV (unrounded, units in the header), written atomically."""
    from simsettle.report.export import write_csv

    write_csv(_ranking_columns(table), path)


def _write_ranking_xlsx(ds: xr.Dataset, table: xr.Dataset, path: Path) -> None:
    """A ranking as an Excel workbook, with the rule and the run's facts on a notes sheet."""
    from simsettle.report.export import write_xlsx

    notes = {
        "results": str(ds.attrs.get("title", "")),
        "scenario_sha256": str(ds.attrs.get("scenario_sha256", "")),
        "seed": str(ds.attrs.get("seed", "")),
        "trials": str(ds.sizes.get("trial", "")),
        "years": str(ds.sizes.get("year", "")),
        "party": str(table.attrs.get("party", "")),
        "statistics": str(table.attrs.get("decided_by", table.attrs.get("ranked_by", ""))),
        "rule": str(table.attrs.get("rule", "sorted on the statistics in turn")),
        "baseline": str(table.attrs.get("baseline", "")),
        "simsettle": __version__,
    }
    write_xlsx({"compare": _ranking_columns(table)}, path, notes)


@app.command()
def report(
    results: Annotated[Path, _argument("RESULTS", RESULTS_HELP)],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Directory for report.html, report.pdf, charts.")
    ] = Path("report"),
    design: Annotated[
        list[str] | None,
        _repeatable(
            "--design", "-d", metavar="NAME", help="Report only this design (repeat for more)."
        ),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write report.pdf.")] = True,
    party: Annotated[
        Party,
        typer.Option("--for", help="Whose decision the first page leads with."),
    ] = Party.provider,
    sensitivity: Annotated[
        bool,
        typer.Option(
            "--sensitivity/--no-sensitivity",
            help="Work out what would change the answer: from the sweep, or by simulating "
            "the scenario again with the cost trend, its volatility and the member count "
            "moved (up to 1,000 trials each; seconds).",
        ),
    ] = True,
    csv_out: Annotated[
        bool,
        typer.Option(
            "--csv", help="Also write the report's tables as CSV files (units in headers)."
        ),
    ] = False,
    xlsx_out: Annotated[
        bool,
        typer.Option("--xlsx", help="Also write the report's tables as report.xlsx."),
    ] = False,
) -> None:
    """Write the committee report (self-contained HTML, its PDF, chart PNGs); print a summary.

    report.html is one file (charts embedded, no scripts, nothing fetched). It opens with a
    recommendation: the designs side by side in dollars and percent of benchmark, each one's
    difference from the first design with its paired standard error, which designs are
    dominated and why (the rule of simsettle compare), the mean/1-in-20-loss frontier chart
    and what would change the answer. Then the run's facts, a paragraph per design in plain
    words, the key figures with their Monte Carlo standard errors, whether the trial count is
    enough, the charts and the scenario; report.pdf is the same on US Letter pages.

    Example:

    \b
      simsettle report results.nc -o report/
      simsettle report results.nc -o report/ --for payer --xlsx
      simsettle report results.nc -o report/ --design two_sided --no-pdf
    """
    from simsettle.report import format_summary, write_report

    ds = _open_results(results)
    if out.exists() and not out.is_dir():
        _err(f"{out}: exists and is not a directory")
        raise typer.Exit(EXIT_USAGE)
    with _exit_on((ValueError, EXIT_USAGE, "error: "), _write_failure(out, "the report")):
        paths = write_report(
            ds,
            out,
            design=design or None,
            pdf=pdf,
            party=party.value,
            sensitivity=sensitivity,
            csv=csv_out,
            xlsx=xlsx_out,
        )
    typer.echo(format_summary(ds.sel(design=list(dict.fromkeys(design))) if design else ds))
    for p in paths:
        typer.echo(f"wrote {p}")


@app.command("mssp-replay")
def mssp_replay(
    puf: Annotated[Path, _argument("PUF", "CMS MSSP ACO results PUF (CSV).")],
    performance_year: Annotated[
        int,
        typer.Option("--performance-year", min=2012, help="Performance year the PUF covers."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV of every ACO's replay.")] = Path(
        "replay.csv"
    ),
) -> None:
    """Replay CMS's published MSSP results with the engine's templates and compare.

    Prints the share of ACOs whose earned savings or losses the engine reproduces (all rows, and
    rows whose result does not depend on unpublished participant revenue) and the rows that
    differ with the reason; where the file publishes the benchmark adjustments (RegAdj,
    PriorSavAdj, FinalAdjCat: PY2024 onwards), whether the engine chooses the adjustment CMS
    applied for every ACO; writes one CSV row per ACO.

    Exit codes: 0 ok; 1 the CSV could not be written; 2 a missing or malformed PUF, or a bad
    output name.

    Example:

    \b
      simsettle mssp-replay py2023_aco_results_puf.csv --performance-year 2023 -o replay.csv
    """
    from simsettle.replay import replay_puf, summarize, write_replay_csv
    from simsettle.replay.adjustments import check_adjustments, format_adjustment_check
    from simsettle.replay.puf import read_puf

    if not puf.is_file():
        _err(f"{puf}: no such file")
        raise typer.Exit(EXIT_USAGE)
    _check_output_file(out, example="replay.csv")
    with _exit_on(BAD_INPUT):
        rows = replay_puf(puf, performance_year)
    summary = summarize(rows)
    typer.echo(
        f"{puf} (PY{performance_year}): {summary.agree} of {summary.total} ACOs agree "
        f"({summary.match_rate:.1%})"
    )
    typer.echo(
        f"  not depending on unpublished revenue (and no mid-year termination): "
        f"{summary.agree_comparable} of {summary.comparable} ({summary.match_rate_comparable:.1%})"
    )
    if summary.disagreeing:
        typer.echo("Rows that differ:")
        typer.echo(f"  {'ACO_ID':<8} {'track':<5} {'published':>15} {'computed':>15}  reason")
        for r in summary.disagreeing:
            published = "-" if r.published is None else f"{r.published:,.0f}"
            typer.echo(
                f"  {r.aco_id:<8} {r.track:<5} {published:>15} {r.computed:>15,.2f}  "
                f"{r.reason or 'no known reason'}"
            )
    with _exit_on(BAD_INPUT):
        check = check_adjustments(read_puf(puf, performance_year))
    if check.rows:
        for line in format_adjustment_check(check):
            typer.echo(line)
    with _exit_on(_write_failure(out, "the replay")):
        write_replay_csv(rows, out)
    typer.echo(f"wrote {out}")


@app.command()
def version() -> None:
    """Print the simsettle version.

    Example:

    \b
      simsettle version
    """
    typer.echo(f"simsettle {__version__}")


@app.command("calibrate")
def calibrate_command(
    claims: Annotated[
        Path, _argument("CLAIMS", "Member-level claims: CSV, or Parquet with pyarrow installed.")
    ],
    out: Annotated[Path, typer.Option("--output", "-o", help="Scenario file to write (YAML).")],
    enrollment: Annotated[
        Path | None,
        typer.Option("--enrollment", "-e", help="Enrolment spans (CSV or Parquet)."),
    ] = None,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", help="Goodness-of-fit report [default: OUTPUT.report.html]."),
    ] = None,
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report.")] = False,
    column: Annotated[
        list[str] | None,
        _repeatable(
            "--column",
            metavar="NAME=COLUMN",
            help="NAME=COLUMN of the claims file; A+B adds columns.",
        ),
    ] = None,
    enrollment_column: Annotated[
        list[str] | None,
        _repeatable(
            "--enrollment-column", metavar="NAME=COLUMN", help="NAME=COLUMN of the enrolment file."
        ),
    ] = None,
    risk_sigma: Annotated[
        float | None, typer.Option(help="Hold population.risk_sigma at this value.")
    ] = None,
    risk_persistence: Annotated[
        float | None,
        typer.Option(help="Hold population.risk_persistence (2 years without scores: assumed)."),
    ] = None,
    trend_sd: Annotated[
        float | None, typer.Option(help="Hold trend.sd (fewer than 3 years: assumed).")
    ] = None,
    tail_threshold: Annotated[
        float | None, typer.Option(help="Hold cost.tail_threshold (USD a year).")
    ] = None,
    method: Annotated[
        str,
        typer.Option(
            help="auto: the likelihood fit, re-solved to the data's spend shares of the "
            "costliest 1/5/10% where it misses one by more than --share-tolerance; "
            "likelihood; or concentration: always match those shares.",
            metavar="auto|likelihood|concentration",
        ),
    ] = "auto",
    share_tolerance: Annotated[
        float,
        typer.Option(help="Largest miss of a spend share that auto accepts (fraction)."),
    ] = 0.01,
    confidence: Annotated[float, typer.Option(help="Level of the intervals.")] = 0.95,
    name: Annotated[str | None, typer.Option(help="Name of the scenario.")] = None,
) -> None:
    """Fit a scenario's population, cost and trend to member-level claims.

    Reads member_id, year, allowed, member_months and optionally risk_score (one row per
    member-year, or per claim or member-month: rows are added up); writes the scenario with
    comments saying where each number came from, and an HTML goodness-of-fit report. Exits 2
    on bad input (each problem printed as FILE:ROW: column 'NAME': message), 1 if the fit fails.

    Example:

    \b
      simsettle calibrate claims.csv --enrollment enrollment.csv -o scenario.yaml
    """
    from simsettle.calibrate.command import run_calibrate

    code = run_calibrate(
        claims,
        out,
        enrollment=enrollment,
        report=report_file,
        write_report=not no_report,
        columns=column or [],
        enrollment_columns=enrollment_column or [],
        risk_sigma=risk_sigma,
        risk_persistence=risk_persistence,
        trend_sd=trend_sd,
        tail_threshold=tail_threshold,
        method=method,
        share_tolerance=share_tolerance,
        confidence=confidence,
        name=name,
        echo=typer.echo,
        err=_err,
    )
    if code:
        raise typer.Exit(code)


def main() -> None:
    """Console-script entry point.

    An unexpected error prints one line (its type and the first line of its message) and exits
    1: no traceback, so no data a run holds is ever dumped on the screen or into a log. Set
    ``SIMSETTLE_DEBUG=1`` for the full traceback.
    """
    debug = os.environ.get("SIMSETTLE_DEBUG", "") not in ("", "0")
    try:
        app()
    except Exception as exc:
        if debug:
            raise
        first = (str(exc).splitlines() or [""])[0][:200].encode("ascii", "replace").decode()
        _err(
            f"simsettle: internal error ({type(exc).__name__}: {first}); set SIMSETTLE_DEBUG=1 "
            "for the traceback, and please report it"
        )
        raise SystemExit(EXIT_FAILURE) from None


if __name__ == "__main__":  # pragma: no cover
    main()
