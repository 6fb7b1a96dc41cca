"""Results files: NetCDF4 or Zarr 3, written atomically, checked before they are read.

:func:`write_results` writes through :func:`simsettle._atomic.atomic_path` (a failed or
interrupted write leaves no partial file and never damages an existing one);
:func:`open_results` refuses what is not a complete simsettle results file before any library
decodes it: a NetCDF file's HDF5 superblock is parsed first, a Zarr store's metadata is read as
JSON and its codecs checked against :data:`ZARR_CODECS`. :func:`convert_results` copies
between the two formats.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from simsettle._atomic import atomic_path, recover_interrupted_write
from simsettle.results.schema import _D, _T, _Y, RESULTS_FORMAT

__all__ = [
    "NETCDF_SUFFIXES",
    "TRIAL_CHUNK",
    "ZARR_CODECS",
    "ZARR_SUFFIX",
    "ResultsFormat",
    "check_output_path",
    "check_zarr_store",
    "convert_results",
    "open_results",
    "recover_interrupted_write",
    "results_format",
    "write_results",
]

#: The formats results are written in, named by the path's suffix (:func:`results_format`).
ResultsFormat = Literal["netcdf", "zarr"]

#: File-name suffixes of NetCDF results; ``.zarr`` names a Zarr directory store.
NETCDF_SUFFIXES = (".nc", ".nc4", ".netcdf")
ZARR_SUFFIX = ".zarr"

#: Trials per stored chunk, in both formats (a few MiB per chunk of a (design, trial, year)
#: variable; a reader of one design or a range of trials touches few chunks).
TRIAL_CHUNK = 65_536

_INSTALL_HINT = "pip install 'simsettle[dask]'"


def results_format(path: str | os.PathLike[str]) -> ResultsFormat:
    """The format a results path names: ``"netcdf"`` for ``.nc`` (``.nc4``, ``.netcdf``),
    ``"zarr"`` for ``.zarr`` (a directory store).

    >>> results_format("runs/r.zarr"), results_format("r.nc")
    ('zarr', 'netcdf')
    """
    suffix = Path(path).suffix.lower()
    if suffix == ZARR_SUFFIX:
        return "zarr"
    if suffix in NETCDF_SUFFIXES:
        return "netcdf"
    raise ValueError(
        f"{path}: unknown results format {suffix or '(no suffix)'}; use a .nc file name "
        "(NetCDF) or a .zarr directory name (Zarr)"
    )


def _is_zarr_store(p: Path) -> bool:
    return p.is_dir() and any((p / n).is_file() for n in ("zarr.json", ".zgroup", ".zattrs"))


def _require(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"{what} needs the {module} package: {_INSTALL_HINT}")


def check_output_path(path: str | os.PathLike[str]) -> ResultsFormat:
    """Check that results can be written at ``path`` (before a long run); returns the format.

    Raises
    ------
    ValueError
        If the suffix names no results format, ``path`` is a directory where a NetCDF file is
        asked for, or it exists and is not a Zarr store where a Zarr store is asked for (an
        existing store is replaced; anything else is never deleted).
    FileNotFoundError
        If the directory that would hold ``path`` does not exist.
    ImportError
        If Zarr is asked for and the zarr package is not installed.
    """
    target = Path(path)
    if target.is_dir() and target.suffix.lower() != ZARR_SUFFIX:
        raise ValueError(
            f"{target}: is a directory; give a file name such as {target / 'results.nc'}"
        )
    fmt = results_format(target)
    if fmt == "zarr":
        if (target.exists() or target.is_symlink()) and not _is_zarr_store(target):
            raise ValueError(f"{target}: exists and is not a Zarr store; refusing to replace it")
        _require("zarr", "writing Zarr results")
    directory = target.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"{target}: output directory {directory} does not exist")
    return fmt


def _stored_chunks(var: xr.Variable) -> tuple[int, ...]:
    return tuple(
        max(1, min(n, TRIAL_CHUNK) if d == _T else n)
        for d, n in zip(var.dims, var.shape, strict=True)
    )


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    return {
        str(name): {
            "zlib": True,
            "complevel": 1,
            "shuffle": True,
            "chunksizes": _stored_chunks(var.variable),
        }
        for name, var in ds.data_vars.items()
    }


def _plain(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` without the encodings it was read with, its (small) coordinates in memory."""
    ds = ds.drop_encoding()
    coords = {}
    for name, c in ds.coords.items():
        if c.chunks is not None or c.dtype.kind == "U":
            c = c.compute()
            # Labels are variable-length strings, as to_dataset makes them (fixed-width ones,
            # which lazy reads can give, have no Zarr 3 specification yet).
            coords[name] = c.astype(object) if c.dtype.kind == "U" else c
    return ds.assign_coords(coords) if coords else ds


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then deliver them (main thread only).

    Python raises an interrupt wherever the main thread is. Inside a file library that can be
    between taking a lock and releasing it: a CI run once stopped in xarray's NetCDF writer with
    its HDF5 lock held, and closing the file then waited on that lock for ever. The block's
    handlers only note the signal; when it ends, the handler that was in place gets it (the
    command line's raises KeyboardInterrupt), before the temporary file is renamed, so the
    caller removes it as after any interrupt.
    """
    import signal

    from simsettle._signals import handling

    caught: list[int] = []

    def hold(signum: int, frame: object) -> None:
        caught.append(signum)

    previous = None
    try:
        with handling(hold, (signal.SIGINT, signal.SIGTERM)) as previous:
            yield
    finally:
        if caught and previous is not None:
            first = signal.Signals(caught[0])
            handler = previous[first]
            if callable(handler):
                handler(first, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(first)


def _write_netcdf(ds: xr.Dataset, target: Path) -> None:
    with atomic_path(target) as tmp, _interrupts_held():
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))


def _write_zarr(ds: xr.Dataset, target: Path) -> None:
    # Dask-backed variables (results opened lazily) are rechunked to the stored chunks, which
    # zarr needs for safe writes; in-memory ones are split by zarr itself.
    chunked = {
        name: var.variable.chunk(dict(zip(var.dims, _stored_chunks(var.variable), strict=True)))
        for name, var in ds.data_vars.items()
        if var.chunks is not None
    }
    if chunked:
        ds = ds.assign(chunked)
    encoding = {str(n): {"chunks": _stored_chunks(v.variable)} for n, v in ds.data_vars.items()}
    # Consolidated metadata is not part of the Zarr 3 specification (zarr warns); a results
    # store has a few dozen arrays, so reading their metadata one by one costs little.
    with atomic_path(target, directory=True) as tmp, _interrupts_held():
        ds.to_zarr(tmp, mode="w", encoding=encoding, consolidated=False, zarr_format=3)


def write_results(ds: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` atomically: NetCDF4 for a ``.nc`` path, a Zarr store for a ``.zarr`` path.

    Results go to a temporary name in the same directory and are renamed into place only when
    complete, so an interrupted or failed write leaves no partial file or store and never damages
    an existing one (an existing Zarr store is moved aside, replaced, then removed). Data are
    stored in chunks of :data:`TRIAL_CHUNK` trials; a dask-backed Dataset (from
    ``open_results(..., lazy=True)``) is written chunk by chunk without loading it whole.

    Raises
    ------
    ValueError, FileNotFoundError, ImportError
        As :func:`check_output_path`, before anything is written.
    """
    target = Path(path)
    fmt = check_output_path(target)
    ds = _plain(ds)
    if fmt == "zarr":
        _write_zarr(ds, target)
    else:
        _write_netcdf(ds, target)
    return target


def _check_format(p: Path, ds: xr.Dataset, noun: str) -> None:
    fmt = ds.attrs.get("simsettle_results_format")
    if fmt is None:
        raise ValueError(f"{p}: not a simsettle results {noun} (no simsettle_results_format attr)")
    if isinstance(fmt, np.ndarray) and fmt.size == 1:
        fmt = fmt.reshape(-1)[0]
    if not isinstance(fmt, int | np.integer) or isinstance(fmt, bool | np.bool_):
        shown = repr(fmt) if len(repr(fmt)) <= 40 else repr(fmt)[:37] + "..."
        raise ValueError(
            f"{p}: not a simsettle results {noun} (simsettle_results_format is {shown}, not a "
            "format number)"
        )
    if int(fmt) != RESULTS_FORMAT:
        raise ValueError(f"{p}: results format {fmt}; this simsettle reads format {RESULTS_FORMAT}")
    settlement = ds.variables.get("settlement")
    if settlement is None or not {_D, _T, _Y} <= set(map(str, settlement.dims)):
        raise ValueError(
            f"{p}: not a complete simsettle results {noun} (no settlement variable over "
            f"{_D}, {_T} and {_Y})"
        )


#: Zarr v3 codecs a results store may use (what :func:`write_results` writes, and the other
#: standard ones). Anything else -- a pickle codec above all -- is refused before zarr reads a
#: chunk, so opening a store from elsewhere can never unpickle its data.
ZARR_CODECS = frozenset(
    {"bytes", "zstd", "blosc", "gzip", "crc32c", "transpose", "vlen-utf8", "vlen-bytes"}
)
_ZARR_SHARDING = "sharding_indexed"
_MAX_ZARR_METADATA = 16 * 1024 * 1024


def _zarr_codec_names(codecs: Any) -> list[str]:
    """Every codec name in a Zarr v3 ``codecs`` list, sharding's inner lists included."""
    if not isinstance(codecs, list):
        raise ValueError("its codecs are not a list")
    names: list[str] = []
    for codec in codecs:
        name = codec.get("name") if isinstance(codec, dict) else codec
        if not isinstance(name, str):
            raise ValueError(f"a codec without a name: {str(codec)[:60]}")
        names.append(name)
        if name == _ZARR_SHARDING and isinstance(codec, dict):
            config = codec.get("configuration") or {}
            for key in ("codecs", "index_codecs"):
                names += _zarr_codec_names(config.get(key, []))
    return names


def check_zarr_store(path: str | os.PathLike[str]) -> None:
    """Check a Zarr store's metadata before reading it: a Zarr v3 group whose arrays use only
    :data:`ZARR_CODECS` (no pickled objects, no storage transformers).

    Raises
    ------
    ValueError
        Naming the store and what is wrong with it.
    """
    p = Path(path)
    root = p / "zarr.json"
    if not root.is_file():
        v2 = any((p / n).is_file() for n in (".zgroup", ".zarray", ".zattrs"))
        what = "a Zarr v2 store (simsettle writes Zarr v3)" if v2 else "no zarr.json"
        raise ValueError(f"{p}: not a readable Zarr results store ({what})")
    for meta in sorted(p.rglob("zarr.json")):
        where = meta.parent.relative_to(p).as_posix() or "/"
        try:
            if meta.stat().st_size > _MAX_ZARR_METADATA:
                raise ValueError("metadata file too large")
            doc = json.loads(meta.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("zarr_format") != 3:
                raise ValueError("not Zarr v3 metadata")
            node = doc.get("node_type")
            if meta == root and node != "group":
                raise ValueError(f"the root is a Zarr {node}, not a group")
            if node == "array":
                if doc.get("storage_transformers"):
                    raise ValueError("storage transformers are not supported")
                for name in _zarr_codec_names(doc.get("codecs", [])):
                    if name not in ZARR_CODECS and name != _ZARR_SHARDING:
                        raise ValueError(
                            f"codec {name!r} is not one simsettle reads "
                            f"({', '.join(sorted(ZARR_CODECS))})"
                        )
        except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(f"{p}: not a readable Zarr results store ({where}: {exc})") from None


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _check_netcdf_file(p: Path) -> None:
    """Refuse, before the NetCDF library opens it, a file that is neither HDF5 (NetCDF-4) nor
    classic NetCDF, or an HDF5 file shorter than its superblock says (truncated).

    This matters beyond the message: when netCDF-C fails half-way through opening a damaged
    HDF5 file it can leave the file open inside HDF5, and a later open of the same file,
    rewritten in place, may then crash the process.
    """
    try:
        size = p.stat().st_size
        with p.open("rb") as fh:
            head = fh.read(4)
            if head[:3] == b"CDF" and head[3:4] in (b"\x01", b"\x02", b"\x05"):
                return  # classic NetCDF (the library reads these without HDF5)
            offset = 0
            while offset + 8 <= size:  # the superblock: at 0, 512, 1024, 2048, ...
                fh.seek(offset)
                block = fh.read(64)
                if block[:8] == _HDF5_SIGNATURE:
                    _check_superblock(p, block, offset, size)
                    return
                offset = 512 if offset == 0 else offset * 2
    except OSError as exc:
        raise ValueError(f"{p}: not a readable NetCDF results file ({_reason(exc)})") from None
    raise ValueError(
        f"{p}: not a readable NetCDF results file (no HDF5 or NetCDF signature in its "
        f"{size:,} bytes)"
    )


def _check_superblock(p: Path, block: bytes, offset: int, size: int) -> None:
    version = block[8] if len(block) > 8 else -1
    if version in (0, 1):
        width, start = (block[13] if len(block) > 13 else 0), 24 if version == 0 else 28
    elif version in (2, 3):
        width, start = (block[9] if len(block) > 9 else 0), 12
    else:
        return  # a future superblock: let the library judge
    if width not in (2, 4, 8) or len(block) < start + 3 * width:
        raise ValueError(f"{p}: not a readable NetCDF results file (damaged HDF5 superblock)")
    base, _, eof = (
        int.from_bytes(block[start + k * width : start + (k + 1) * width], "little")
        for k in range(3)
    )
    undefined = (1 << (8 * width)) - 1
    if eof == undefined:
        return
    needed = (offset if base == undefined else base) + eof
    if size < needed:
        raise ValueError(
            f"{p}: not a readable NetCDF results file (truncated: {size:,} of {needed:,} bytes)"
        )


def _reason(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def open_results(path: str | os.PathLike[str], *, lazy: bool = False) -> xr.Dataset:
    """Read results written by :func:`write_results`: a NetCDF file or a Zarr directory store.

    By default the data are loaded into memory (and the file closed). With ``lazy=True`` the
    variables are dask arrays in the stored chunks and nothing is read until used, for runs
    larger than memory (needs dask); close the Dataset when done with it.

    Before a reader touches it, a NetCDF file must carry the HDF5 or NetCDF signature and be as
    long as its HDF5 superblock says (a truncated copy is refused by name), and a Zarr store
    must be Zarr v3 with only :data:`ZARR_CODECS` (so nothing is ever unpickled); whatever the
    readers then raise on a damaged file becomes the same ``ValueError``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a complete simsettle results file or store of a format this version reads
        (the message starts with the path and says what is wrong).
    ImportError
        If ``lazy=True`` without dask, or a Zarr store without zarr, installed.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such results file or store: {p}")
    if lazy:
        _require("dask", "open_results(lazy=True)")
    chunks: dict[str, int] | None = {} if lazy else None  # {}: the stored chunks
    zarr = p.is_dir()
    noun, kind = ("store", "Zarr results store") if zarr else ("file", "NetCDF results file")
    ds: xr.Dataset
    if zarr:
        _require("zarr", "reading Zarr results")
        check_zarr_store(p)
    else:
        _check_netcdf_file(p)
    # A damaged or foreign file makes the readers raise almost anything (netCDF4: RuntimeError
    # "NetCDF: HDF error", AttributeError; zarr: its own errors): all of it means "not a
    # readable results file".
    try:
        if zarr:
            ds = xr.open_zarr(p, consolidated=False, chunks=chunks, zarr_format=3)
        else:
            ds = xr.open_dataset(p, engine="netcdf4", chunks=chunks)
    except Exception as exc:
        raise ValueError(f"{p}: not a readable {kind} ({_reason(exc)})") from None
    try:
        _check_format(p, ds, noun)
        if not lazy:
            try:
                ds.load()
            except Exception as exc:
                raise ValueError(f"{p}: not a readable {kind} ({_reason(exc)})") from None
    except BaseException:
        with contextlib.suppress(Exception):
            ds.close()
        raise
    if not lazy:
        ds.close()  # the data are in memory
    return ds


def convert_results(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy results to another file or store; the formats follow the suffixes (``.nc``,
    ``.zarr``), so this converts a Zarr store to one NetCDF file and back.

    Streams chunk by chunk when dask is installed (the source is opened lazily), so results
    larger than memory convert. Data, coordinates and attributes are kept as they are.
    """
    s, d = Path(src), Path(dst)
    if s.exists() and d.exists() and s.resolve() == d.resolve():
        raise ValueError(f"{d}: is the source itself; give another name")
    check_output_path(d)
    ds = open_results(s, lazy=importlib.util.find_spec("dask") is not None)
    try:
        return write_results(ds, d)
    finally:
        ds.close()
