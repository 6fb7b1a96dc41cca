"""Keep numba's on-disk cache in step with every kernel source, not only the defining file's.

numba keys a cached kernel on its own source file alone: a kernel that inlines functions from
another module (Philox and Box-Muller from ``rng``, ``exp`` and ``log`` from ``elementary``)
would keep running the old compiled code after only that other module changed, as after a
``git pull`` into an editable install. :func:`check`, called by every kernel module as it is
imported (before any kernel is loaded or compiled), keeps a digest of all the kernel sources
next to the cache files and, where it differs, removes the kernel cache files there so that
each kernel compiles afresh once.

Imports only the standard library (and :mod:`simsettle._atomic`, which does too).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

from simsettle._atomic import write_text

__all__ = ["MARKER", "check", "sources_digest"]

_HERE = Path(__file__).resolve().parent
#: Name of the file holding the digest of the sources the cached kernels were built from.
MARKER = "simsettle-kernel-sources.sha256"
_CHECKED: set[str] = set()
_DIGEST: list[str] = []


def sources_digest() -> str:
    """SHA-256 of every kernel module's name and source (computed once per process)."""
    if not _DIGEST:
        h = hashlib.sha256()
        for path in sorted(_HERE.glob("*.py")):
            h.update(path.name.encode())
            h.update(b"\0")
            h.update(path.read_bytes())
        _DIGEST.append(h.hexdigest())
    return _DIGEST[0]


def check(*dispatchers: Any) -> None:
    """Clear the kernel cache files in each dispatcher's cache folder whose digest is stale.

    Best effort: a folder numba cannot tell (``NUMBA_DISABLE_JIT``, no cache) or that cannot be
    written is left alone; each folder is checked once per process.
    """
    digest = sources_digest()
    stems = tuple(f"{p.stem}." for p in _HERE.glob("*.py"))
    for dispatcher in dispatchers:
        try:
            folder = str(dispatcher._cache._cache_path)
        except AttributeError:
            continue
        if folder in _CHECKED:
            continue
        _CHECKED.add(folder)
        marker = os.path.join(folder, MARKER)
        try:
            with open(marker, encoding="ascii") as f:
                if f.read().strip() == digest:
                    continue
        except OSError:
            pass
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.startswith(stems) and name.endswith((".nbi", ".nbc")):
                with contextlib.suppress(OSError):
                    os.remove(os.path.join(folder, name))
        with contextlib.suppress(OSError):
            write_text(marker, digest + "\n", encoding="ascii")
