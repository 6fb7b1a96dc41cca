"""The ``simsettle`` command line: a thin layer over the public API that notebooks use.

Exit codes: 0 ok, 1 run failure, 2 usage or scenario-validation error. Heavy modules (numba,
xarray, matplotlib) are imported inside the commands that need them.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from simsettle._version import __version__
from simsettle.errors import ScenarioError, SimulationError

app = typer.Typer(
    name="simsettle",
    help="Simulate value-based-care contract settlements from a scenario file.\n\n"
    "Example: simsettle run scenarios/examples/mssp_style.yaml -o results.nc && "
    "simsettle report results.nc -o report/",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def _err(message: str) -> None:
    typer.echo(message, err=True)


def _print_issues(exc: ScenarioError) -> None:
    for issue in exc.issues:
        _err(str(issue))


@app.command()
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(help="Scenario files (YAML).", show_default=False, metavar="FILE..."),
    ],
) -> None:
    """Check scenario files; print each problem as FILE:LINE:COL: field.path: message.

    Exits 0 when every file is valid, 2 otherwise.

    Example: simsettle validate scenarios/examples/*.yaml
    """
    from simsettle.scenario import load_scenario

    failed = False
    for f in files:
        try:
            load_scenario(f)
        except ScenarioError as exc:
            _print_issues(exc)
            failed = True
        else:
            typer.echo(f"{f}: ok")
    if failed:
        raise typer.Exit(EXIT_USAGE)


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the JSON Schema of scenario files (for editor autocompletion).

    Example: simsettle schema -o scenario.schema.json
    """
    from simsettle.scenario import scenario_json_schema_text

    text = scenario_json_schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def _check_output_path(out: Path, scenario: Path) -> None:
    from simsettle.results import check_output_path

    if out.exists() and scenario.exists() and out.resolve() == scenario.resolve():
        _err(f"{out}: refusing to write results over the scenario file itself")
        raise typer.Exit(EXIT_USAGE)
    try:
        check_output_path(out)
    except (ValueError, FileNotFoundError) as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except ImportError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None


@app.command()
def run(
    scenario: Annotated[
        Path, typer.Argument(help="Scenario file (YAML).", show_default=False, metavar="SCENARIO")
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Results: a .nc file (NetCDF) or a .zarr directory (Zarr store)."
        ),
    ] = Path("results.nc"),
    trials: Annotated[
        int | None, typer.Option("--trials", min=1, help="Override the scenario's trials.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Override the scenario's seed.")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="numba threads (default: all cores).")
    ] = None,
    chunk_trials: Annotated[
        int | None, typer.Option("--chunk-trials", min=1, help="Trials per kernel call.")
    ] = None,
    progress: Annotated[
        bool | None,
        typer.Option("--progress/--no-progress", help="Progress bar (default: runs over 2 s)."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Run on a local dask cluster of N processes."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Run on the dask cluster at this scheduler address."),
    ] = None,
) -> None:
    """Simulate a scenario, settle every design and write the results (NetCDF or Zarr).

    Example: simsettle run scenarios/examples/mssp_style.yaml -o results.nc --trials 10000

    A .zarr output name writes a Zarr directory store (chunked by trial); simsettle convert
    turns it into one NetCDF file and back.

    On a dask cluster: --workers 4 (a local cluster) or --scheduler tcp://host:8786; results are
    the same to the bit.
    """
    from simsettle.scenario import load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        _print_issues(exc)
        raise typer.Exit(EXIT_USAGE) from None
    _check_output_path(out, scenario)

    from simsettle.report import format_cost_moments, format_summary
    from simsettle.results import sweep_base, write_results
    from simsettle.runner import simulate

    words = ["simsettle", "run", str(scenario), "-o", str(out)]
    for flag, value in [
        ("--trials", trials),
        ("--seed", seed),
        ("--threads", threads),
        ("--chunk-trials", chunk_trials),
    ]:
        if value is not None:
            words += [flag, str(value)]
    command = " ".join(shlex.quote(w) for w in words)
    if workers is not None and scheduler is not None:
        _err("give --workers or --scheduler, not both")
        raise typer.Exit(EXIT_USAGE)
    client = None
    try:
        if workers is not None:
            from simsettle.runner import local_cluster

            client = local_cluster(workers)
        elif scheduler is not None:
            from dask.distributed import Client

            client = Client(scheduler)  # type: ignore[no-untyped-call]
    except (ImportError, OSError, TimeoutError) as exc:
        _err(f"cannot start or reach the dask cluster: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    try:
        ds = simulate(
            loaded,
            trials=trials,
            seed=seed,
            threads=threads,
            chunk_trials=chunk_trials,
            progress=progress,
            command=command,
            client=client,
        )
    except ScenarioError as exc:  # an override broke a limit
        _print_issues(exc)
        raise typer.Exit(EXIT_USAGE) from None
    except SimulationError as exc:
        _err(f"run failed: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    except ValueError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        if client is not None:
            cluster = client.cluster if workers is not None else None
            client.close()
            if cluster is not None:
                cluster.close()
    try:
        write_results(ds, out)
    except (OSError, ValueError) as exc:
        _err(f"{out}: could not write results: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    if ds.attrs.get("sweep_dims"):
        typer.echo(f"swept: {ds.attrs['sweep_dims']}; the summary is at the base of each")
    typer.echo(format_summary(sweep_base(ds)))
    typer.echo(format_cost_moments(ds))
    typer.echo(f"wrote {out}")


@app.command()
def convert(
    src: Annotated[
        Path,
        typer.Argument(
            help="Results from simsettle run (.nc file or .zarr store).",
            show_default=False,
            metavar="SRC",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="Where to write: a .nc file or a .zarr directory.",
            show_default=False,
        ),
    ],
) -> None:
    """Convert results between a Zarr store and one NetCDF file (the suffixes say which).

    Data and attributes are copied unchanged, chunk by chunk, and written atomically.

    Example: simsettle convert results.zarr -o results.nc
    """
    from simsettle.results import convert_results

    try:
        path = convert_results(src, out)
    except (ValueError, FileNotFoundError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except (ImportError, OSError) as exc:
        _err(f"{out}: could not convert results: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    typer.echo(f"wrote {path}")


@app.command()
def report(
    results: Annotated[
        Path,
        typer.Argument(
            help="Results from simsettle run (.nc file or .zarr store).",
            show_default=False,
            metavar="RESULTS",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the charts.")] = Path(
        "report"
    ),
) -> None:
    """Write charts (settlement distribution per design, exceedance curve) and print a summary.

    Example: simsettle report results.nc -o report/
    """
    from simsettle.report import format_summary, write_report
    from simsettle.results import open_results

    try:
        ds = open_results(results)
    except (OSError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    if out.exists() and not out.is_dir():
        _err(f"{out}: exists and is not a directory")
        raise typer.Exit(EXIT_USAGE)
    paths = write_report(ds, out)
    typer.echo(format_summary(ds))
    for p in paths:
        typer.echo(f"wrote {p}")


@app.command("mssp-replay")
def mssp_replay(
    puf: Annotated[
        Path,
        typer.Argument(help="CMS MSSP ACO results PUF (CSV).", show_default=False, metavar="PUF"),
    ],
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
    differ with the reason; writes one CSV row per ACO.

    Example: simsettle mssp-replay py2023_aco_results_puf.csv --performance-year 2023 -o replay.csv
    """
    from simsettle.replay import replay_puf, summarize, write_replay_csv

    if not puf.is_file():
        _err(f"{puf}: no such file")
        raise typer.Exit(EXIT_USAGE)
    if out.is_dir():
        _err(f"{out}: is a directory; give a file name such as {out / 'replay.csv'}")
        raise typer.Exit(EXIT_USAGE)
    if not out.parent.is_dir():
        _err(f"{out}: output directory {out.parent} does not exist")
        raise typer.Exit(EXIT_USAGE)
    try:
        rows = replay_puf(puf, performance_year)
    except (OSError, ValueError) as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
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
    try:
        write_replay_csv(rows, out)
    except OSError as exc:
        _err(f"{out}: could not write the replay: {exc}")
        raise typer.Exit(EXIT_FAILURE) from None
    typer.echo(f"wrote {out}")


@app.command()
def version() -> None:
    """Print the simsettle version.

    Example: simsettle version
    """
    typer.echo(f"simsettle {__version__}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
