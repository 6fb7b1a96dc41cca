"""File helpers of the report writers: where to write, and writing without partial files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["target_file", "write_atomic"]


def target_file(path: str | Path, name: str) -> Path:
    """``path`` itself, or ``path / name`` when ``path`` is a directory.

    A path that is an existing directory, or that does not exist and has no suffix, is taken
    as a directory and created (with parents); otherwise the file's parent is created.
    """
    out = Path(path)
    if out.is_dir() or (not out.suffix and not out.exists()):
        out.mkdir(parents=True, exist_ok=True)
        return out / name
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it into place.

    A failure leaves no partial file and keeps an existing ``path`` as it was.
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
