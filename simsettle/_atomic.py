"""Writing files and directories so that they appear complete or not at all.

simsettle's writers of results, checkpoints, reports, CSV tables, the calibrated scenario and
the numba cache marker go through :func:`atomic_path` (tests/test_atomic.py checks that no
other module renames files into place): the writer fills a
temporary sibling of the target, which is flushed to disk and renamed over the target only when
the writer returned. An exception (an error, Ctrl-C) removes the temporary and leaves an
existing target as it was; a process killed outright (SIGKILL, power loss) leaves at most the
temporary, which :func:`recover_interrupted_write` removes.

Names beside a target ``<name>``, in the same directory (so the rename never crosses file
systems), hidden, and recognised by :func:`recover_interrupted_write`:

- ``.<name>.<random>.part``: the temporary being written;
- ``.<name>.<random>.old``: a directory target's previous version, moved aside for the moment
  between the two renames (a directory cannot be renamed over a non-empty one).

Files and directories get the permissions a plain :func:`open` or :func:`os.mkdir` would give
them (``0o666`` or ``0o777`` less the umask), not the private ones of :mod:`tempfile`.

Imports only the standard library, so the kernel package's cache guard can use it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "recover_interrupted_write", "write_bytes", "write_text"]

_TEMPORARY = ".part"
_ASIDE = ".old"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success it replaces ``path``.

    The temporary exists when the block starts: an empty file, or with ``directory=True`` an
    empty directory, which the block may also remove and write afresh (as Zarr's ``mode="w"``
    does). When the block ends without an exception, everything under the temporary is synced
    to disk, the temporary is renamed to ``path`` and the rename is synced. A directory target
    that exists is first moved aside (``.<name>.<random>.old``) and removed once the new one is
    in place; if the second rename fails it is moved back.

    On any exception (including KeyboardInterrupt) the temporary is removed, ``path`` is left
    as it was, and the exception propagates.

    Examples
    --------
    >>> with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8") as f:  # doctest: +SKIP
    ...     f.write(text)
    """
    target = Path(path)
    tmp = _create_temporary(target, directory=directory)
    try:
        yield tmp
        _sync(tmp)
        aside = _move_into_place(tmp, target, directory=directory)
    except BaseException:
        _remove(tmp)
        raise
    _sync_directory(target.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_path`); return ``path``."""
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically, encoded, with its line ends as they are."""
    return write_bytes(path, text.encode(encoding))


def recover_interrupted_write(path: str | os.PathLike[str]) -> list[Path]:
    """Clean up after a write of ``path`` that was killed (SIGKILL, power loss) mid-way.

    Removes the temporary ``.<name>.*.part`` file or directory it left; if a directory target
    was moved aside (``.<name>.*.old``) and the new one never took its place, puts the old one
    back. Returns what it removed or restored. Call it before writing ``path`` again.
    """
    target = Path(path)
    touched = []
    for stale in target.parent.glob(f".{target.name}.*{_TEMPORARY}"):
        _remove(stale)
        touched.append(stale)
    for old in sorted(target.parent.glob(f".{target.name}.*{_ASIDE}")):
        if not target.exists():
            os.rename(old, target)
        else:
            shutil.rmtree(old, ignore_errors=True)
        touched.append(old)
    return touched


def _create_temporary(target: Path, *, directory: bool) -> Path:
    """A new, empty ``.<name>.<random>.part`` beside ``target``, with default permissions.

    Created exclusively (never an existing name, never through a symbolic link) with mode
    ``0o666`` (files) or ``0o777`` (directories), which the umask then narrows as for any file.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}{_TEMPORARY}")
        try:
            if directory:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp


def _move_into_place(tmp: Path, target: Path, *, directory: bool) -> Path | None:
    """Rename ``tmp`` to ``target``; return where a replaced directory target was moved."""
    if not directory:
        os.replace(tmp, target)
        return None
    aside = None
    if target.exists() or target.is_symlink():
        aside = tmp.with_name(tmp.name.removesuffix(_TEMPORARY) + _ASIDE)
        os.rename(target, aside)
    try:
        os.rename(tmp, target)
    except BaseException:
        if aside is not None:
            os.rename(aside, target)
        raise
    return aside


def _sync(path: Path) -> None:
    """Flush ``path`` (a file, or every file under a directory) to disk."""
    if not path.is_dir():
        _fsync(path)
        return
    for folder, _, files in os.walk(path):
        for name in files:
            _fsync(Path(folder, name))


def _fsync(file: Path) -> None:
    fd = os.open(file, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every platform can)."""
    with contextlib.suppress(OSError):
        _fsync(directory)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
