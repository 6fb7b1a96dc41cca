"""Checkpoints of a run in progress: every finished chunk of trials, kept until the run is done.

A run's result is a pure function of its scenario, seed, trial count and simsettle version: the
aggregates of trials ``t0 .. t0 + n - 1`` are the same whenever and wherever they are computed.
So a run killed at any moment resumes from the chunks it finished and gives the same result to
the bit as a run that was never interrupted.

Layout of a checkpoint directory: ``manifest.json`` (what run it belongs to) and one
``.npy`` file per finished chunk, each written atomically (:mod:`simsettle._atomic`), so a
file is there complete or not at all. Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from simsettle._atomic import atomic_path, write_text
from simsettle.errors import SimulationError

__all__ = ["Checkpoint", "checkpoint_dir"]

_MANIFEST = "manifest.json"


def checkpoint_dir(out: str | os.PathLike[str]) -> Path:
    """The checkpoint directory of a run whose result goes to ``out``: ``.<name>.partial``
    beside it."""
    p = Path(out)
    return p.with_name(f".{p.name}.partial")


class Checkpoint:
    """Finished chunks of one run, in ``directory``.

    ``identity`` describes the run (scenario hash, seed, trials, chunking, model parameters,
    version); :meth:`open` with ``resume=True`` refuses a directory of another run.
    """

    def __init__(self, directory: Path, identity: dict[str, Any]) -> None:
        self.directory = directory
        self.identity = identity

    @classmethod
    def open(
        cls, directory: str | os.PathLike[str], identity: dict[str, Any], *, resume: bool
    ) -> Checkpoint:
        """Start a checkpoint in ``directory``, or continue the one there when ``resume``.

        Without ``resume`` an existing checkpoint is discarded. With it, a checkpoint of a
        different run (another scenario text, seed, trial count, chunk size or version) raises
        :class:`~simsettle.errors.SimulationError`; no checkpoint at all starts afresh.
        """
        d = Path(directory)
        manifest = d / _MANIFEST
        if resume and manifest.is_file():
            try:
                found = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SimulationError(f"{d}: unreadable checkpoint manifest ({exc})") from None
            if found != identity:
                differ = sorted(
                    k for k in set(found) | set(identity) if found.get(k) != identity.get(k)
                )
                raise SimulationError(
                    f"{d} is the checkpoint of a different run (it differs in "
                    f"{', '.join(differ)}); run without --resume to start again, which "
                    "discards it"
                )
            return cls(d, identity)
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
        write_text(manifest, json.dumps(identity, indent=1, sort_keys=True))
        return cls(d, identity)

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.npy"

    def load(self, key: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64] | None:
        """The saved chunk ``key``, or None if it was not finished (or is not of ``shape``)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None  # unreadable: compute it again
        if arr.shape != shape or arr.dtype != np.float64:
            return None
        return np.asarray(arr, dtype=np.float64)

    def save(self, key: str, arr: npt.NDArray[np.float64]) -> None:
        """Keep chunk ``key`` (atomically: complete or absent)."""
        with atomic_path(self._path(key)) as tmp, tmp.open("wb") as fh:
            np.save(fh, np.ascontiguousarray(arr), allow_pickle=False)

    def remove(self) -> None:
        """Delete the checkpoint (after the result is safely written)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def params_digest(*arrays: npt.NDArray[Any]) -> str:
    """SHA-256 of arrays' bytes (the model parameters a checkpoint's chunks were computed with)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(str(a.shape).encode())
    return h.hexdigest()
