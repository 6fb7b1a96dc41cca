"""Where simsettle may write: output paths checked before a long run starts.

:func:`check_results_target` is what ``simsettle run`` (and ``convert``) should call with the
results path, the input files and the ``--force`` flag. It adds to
:func:`simsettle.results.check_output_path` (the suffix names a format, the directory exists,
an existing Zarr path is a store) the checks that protect the user's files:

* never over an input: the results path may not be the scenario (or results) file being read,
  by any name -- a symlink, a hard link, ``./x/../scenario.yaml`` -- nor a directory that
  contains one (a Zarr store is replaced whole). ``force`` does not lift this;
* never outside ``within`` (the directory the user named, when the caller has one) unless
  ``force``: a path that leaves it through ``..`` or a symlink is refused;
* never over a file or store that is not simsettle results unless ``force``: a NetCDF file or
  a Zarr store from elsewhere is someone's data;
* the directory must be writable, so a run does not fail at its end.

:func:`safe_child` joins a file name generated from data (a design's name, a chart's) to an
output directory and refuses any name that would leave it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from simsettle.results import ResultsFormat, check_output_path

__all__ = ["OutputPathError", "check_results_target", "is_results", "safe_child"]


class OutputPathError(ValueError):
    """An output path simsettle refuses to write (``force`` says whether ``--force`` would
    allow it)."""

    def __init__(self, message: str, *, force: bool) -> None:
        super().__init__(message)
        self.force = force


def _real(path: Path) -> Path:
    """``path`` with symlinks and ``..`` resolved, as far as it exists."""
    return Path(os.path.realpath(path))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
    except ValueError:
        return False
    return True


def is_results(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds simsettle results (a NetCDF file or Zarr store with the
    ``simsettle_results_format`` attribute); reads only the metadata."""
    p = Path(path)
    if p.is_dir():
        try:
            doc = json.loads((p / "zarr.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        attrs = doc.get("attributes") if isinstance(doc, dict) else None
        return isinstance(attrs, dict) and "simsettle_results_format" in attrs
    try:
        import netCDF4

        with netCDF4.Dataset(p, "r") as nc:
            return "simsettle_results_format" in nc.ncattrs()
    except Exception:  # not NetCDF, unreadable, damaged: not results
        return False


def check_results_target(
    out: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str]] = (),
    within: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> ResultsFormat:
    """Check that results may be written at ``out`` before a run starts; returns the format.

    Parameters
    ----------
    out : path
        The results file (``.nc``) or store (``.zarr``).
    inputs : paths
        Files the command reads (the scenario; the source results of a conversion): ``out``
        may never be one of them or contain one, whatever ``force`` says.
    within : path, optional
        The directory the results must stay inside (``out`` resolved, symlinks followed).
    force : bool
        Write outside ``within`` and over a file or store that is not simsettle results
        (``--force``).

    Raises
    ------
    OutputPathError
        A ``ValueError`` saying why, with ``force`` telling whether ``--force`` would allow it.
    ValueError, FileNotFoundError, ImportError
        As :func:`simsettle.results.check_output_path`.
    PermissionError
        If the output directory is not writable.
    """
    target = Path(out)
    real = _real(target)
    for item in inputs:
        source = Path(item)
        if _same_file(target, source) or real == _real(source):
            raise OutputPathError(
                f"{target}: is the input {source} itself; refusing to write results over it "
                "(choose another name)",
                force=False,
            )
        if target.is_dir() and _inside(_real(source), real):
            raise OutputPathError(
                f"{target}: contains the input {source}; writing results there would delete "
                "it (choose another name)",
                force=False,
            )
    if within is not None and not force:
        base = _real(Path(within))
        if not _inside(real, base):
            raise OutputPathError(
                f"{target}: is outside {within} (it resolves to {real}); pass --force to "
                "write there",
                force=True,
            )
    fmt = check_output_path(target)
    if not force and (target.exists() or target.is_symlink()) and not is_results(target):
        what = "store" if target.is_dir() else "file"
        raise OutputPathError(
            f"{target}: exists and is not a simsettle results {what}; refusing to replace it "
            "(pass --force to replace it)",
            force=True,
        )
    directory = target.parent
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"{target}: cannot write to the directory {directory}")
    return fmt


def safe_child(directory: str | os.PathLike[str], name: str) -> Path:
    """``directory / name`` for a file name made from data, refusing any name that is not a
    plain file name (a separator, ``..``, a NUL, an empty name) or that leaves ``directory``
    through a symlink.

    >>> safe_child("report", "settlement.png").as_posix()
    'report/settlement.png'
    """
    bad = (
        not name
        or name in {".", ".."}
        or "\x00" in name
        or "/" in name
        or (os.sep in name)
        or (os.altsep is not None and os.altsep in name)
    )
    if bad:
        raise OutputPathError(f"{name!r} is not a plain file name", force=False)
    base = Path(directory)
    path = base / name
    if (path.is_symlink() or path.exists()) and not _inside(_real(path), _real(base)):
        raise OutputPathError(f"{path}: leads outside {base}", force=False)
    return path
