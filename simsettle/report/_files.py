"""Where the report writers write (they write through :mod:`simsettle._atomic`)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["target_file"]


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
