"""The one atomic-write helper (simsettle._atomic), and that no other module writes its own."""

from __future__ import annotations

import ast
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simsettle._atomic import atomic_path, recover_interrupted_write, write_bytes, write_text

PACKAGE = Path(__file__).resolve().parent.parent / "simsettle"
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]+\.part$")


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


class Boom(Exception):
    pass


def _fail_midway(
    target: Path, write: Callable[[Path], object], error: type[BaseException] = Boom, **kw: bool
) -> None:
    """Write ``target`` through :func:`atomic_path` and raise ``error`` after ``write(tmp)``."""
    with atomic_path(target, **kw) as tmp:
        write(tmp)
        raise error


# --------------------------------------------------------------------------------------------
# files


def test_write_bytes_and_text(tmp_path: Path) -> None:
    assert write_bytes(tmp_path / "a.bin", b"\x00\x01") == tmp_path / "a.bin"
    assert write_text(tmp_path / "b.txt", "é\r\nx\n") == tmp_path / "b.txt"
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_bytes() == "é\r\nx\n".encode()  # line ends kept as given
    write_text(tmp_path / "b.txt", "new")
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "new"
    assert _listing(tmp_path) == ["a.bin", "b.txt"]


def test_the_temporary_is_a_hidden_sibling_until_the_block_ends(tmp_path: Path) -> None:
    target = tmp_path / "r.nc"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path
        match = TEMPORARY.match(tmp.name)
        assert match is not None
        assert match["name"] == "r.nc"
        assert tmp.is_file()
        assert tmp.read_bytes() == b""
        tmp.write_bytes(b"data")
        assert not target.exists()
    assert target.read_bytes() == b"data"
    assert _listing(tmp_path) == ["r.nc"]


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_a_failed_write_leaves_no_partial_file_and_keeps_the_old_one(
    tmp_path: Path, error: type[BaseException]
) -> None:
    target = tmp_path / "out.csv"
    target.write_bytes(b"old")
    with pytest.raises(error):
        _fail_midway(target, lambda tmp: tmp.write_bytes(b"half of the new"), error)
    assert target.read_bytes() == b"old"
    assert _listing(tmp_path) == ["out.csv"]

    with pytest.raises(Boom):
        _fail_midway(tmp_path / "new.csv", lambda tmp: tmp.write_bytes(b"partial"))
    assert _listing(tmp_path) == ["out.csv"]


def test_a_failed_rename_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.txt"
    target.write_bytes(b"old")

    def failing(src: object, dst: object) -> None:
        raise OSError("rename failed")

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="rename failed"):
        write_text(target, "new")
    assert target.read_bytes() == b"old"
    assert _listing(tmp_path) == ["out.txt"]


# --------------------------------------------------------------------------------------------
# directories


def _store(path: Path, content: str) -> None:
    (path / "sub").mkdir(parents=True, exist_ok=True)
    (path / "sub" / "chunk").write_text(content, encoding="utf-8")
    (path / "meta.json").write_text(content, encoding="utf-8")


def _contents(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_a_directory_replaces_the_old_one_whole(tmp_path: Path) -> None:
    target = tmp_path / "r.zarr"
    target.mkdir()
    _store(target, "old")
    (target / "only-in-old").write_text("x", encoding="utf-8")
    with atomic_path(target, directory=True) as tmp:
        assert tmp.is_dir()
        assert list(tmp.iterdir()) == []
        _store(tmp, "new")
        assert _contents(target)["meta.json"] == "old"
    assert _contents(target) == {"meta.json": "new", "sub/chunk": "new"}
    assert _listing(tmp_path) == ["r.zarr"]


def test_a_directory_the_writer_removed_and_wrote_again(tmp_path: Path) -> None:
    """Writers such as Zarr's mode="w" may remove the empty temporary and create it afresh."""
    target = tmp_path / "r.zarr"
    with atomic_path(target, directory=True) as tmp:
        tmp.rmdir()
        _store(tmp, "new")
    assert _contents(target) == {"meta.json": "new", "sub/chunk": "new"}


def test_a_failed_directory_write_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "r.zarr"
    target.mkdir()
    _store(target, "old")
    with pytest.raises(Boom):
        _fail_midway(target, lambda tmp: _store(tmp, "new"), directory=True)
    assert _contents(target) == {"meta.json": "old", "sub/chunk": "old"}
    assert _listing(tmp_path) == ["r.zarr"]


def test_a_failed_directory_rename_puts_the_old_one_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.zarr"
    target.mkdir()
    _store(target, "old")
    rename = os.rename
    moved = []

    def failing(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src).name.endswith(".part"):
            raise OSError("rename failed")
        moved.append(Path(dst).name)
        rename(src, dst)

    monkeypatch.setattr(os, "rename", failing)
    with pytest.raises(OSError, match="rename failed"), atomic_path(target, directory=True) as tmp:
        _store(tmp, "new")
    monkeypatch.undo()
    assert moved[0].endswith(".old")  # the old store was moved aside, then back
    assert moved[1] == "r.zarr"
    assert _contents(target) == {"meta.json": "old", "sub/chunk": "old"}
    assert _listing(tmp_path) == ["r.zarr"]


# --------------------------------------------------------------------------------------------
# permissions


@pytest.fixture
def umask() -> Iterator[None]:
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
@pytest.mark.usefixtures("umask")
def test_results_get_the_permissions_of_a_plain_open(tmp_path: Path) -> None:
    write_text(tmp_path / "f.txt", "x")
    with (tmp_path / "plain.txt").open("w", encoding="utf-8"):
        pass
    (tmp_path / "plain").mkdir()
    with atomic_path(tmp_path / "d", directory=True) as tmp:
        (tmp / "x").write_text("x", encoding="utf-8")

    def mode(name: str) -> int:
        return (tmp_path / name).stat().st_mode & 0o777

    assert mode("f.txt") == mode("plain.txt") == 0o640  # not the 0o600 of tempfile.mkstemp
    assert mode("d") == mode("plain") == 0o750  # not the 0o700 of tempfile.mkdtemp


# --------------------------------------------------------------------------------------------
# recovery after a kill


def test_recover_removes_temporaries_and_restores_a_store_moved_aside(tmp_path: Path) -> None:
    (tmp_path / ".r.nc.1a2b.part").write_bytes(b"half")
    (tmp_path / ".r.zarr.3c4d.part").mkdir()
    aside = tmp_path / ".r.zarr.3c4d.old"
    aside.mkdir()
    _store(aside, "old")
    (tmp_path / ".other.nc.5e6f.part").write_bytes(b"not ours")
    assert sorted(p.name for p in recover_interrupted_write(tmp_path / "r.nc")) == [
        ".r.nc.1a2b.part"
    ]
    touched = recover_interrupted_write(tmp_path / "r.zarr")
    assert sorted(p.name for p in touched) == [".r.zarr.3c4d.old", ".r.zarr.3c4d.part"]
    assert _contents(tmp_path / "r.zarr") == {"meta.json": "old", "sub/chunk": "old"}
    assert _listing(tmp_path) == [".other.nc.5e6f.part", "r.zarr"]


def test_recover_drops_an_old_store_once_the_new_one_is_in_place(tmp_path: Path) -> None:
    (tmp_path / "r.zarr").mkdir()
    _store(tmp_path / "r.zarr", "new")
    (tmp_path / ".r.zarr.77.old").mkdir()
    assert [p.name for p in recover_interrupted_write(tmp_path / "r.zarr")] == [".r.zarr.77.old"]
    assert _contents(tmp_path / "r.zarr")["meta.json"] == "new"
    assert _listing(tmp_path) == ["r.zarr"]


# --------------------------------------------------------------------------------------------
# no second copy


#: Calls that make a file appear under its final name; only simsettle/_atomic.py makes them.
RENAMING = {
    ("os", "replace"),
    ("os", "rename"),
    ("os", "renames"),
    ("os", "fsync"),
    ("shutil", "move"),
    ("tempfile", "mkstemp"),
    ("tempfile", "mkdtemp"),
    ("tempfile", "NamedTemporaryFile"),
}


def _renaming_calls(path: Path) -> list[str]:
    """``module.function`` calls and ``from module import function`` imports of
    :data:`RENAMING` in ``path``, as ``line: name``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            found += [
                f"{node.lineno}: {node.module}.{a.name}"
                for a in node.names
                if (node.module, a.name) in RENAMING
            ]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in RENAMING
        ):
            found.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return found


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "_atomic.py")


def test_only_the_helper_renames_files_into_place() -> None:
    found = {
        p.relative_to(PACKAGE).as_posix(): calls for p in SOURCES if (calls := _renaming_calls(p))
    }
    assert found == {}, "write through simsettle._atomic.atomic_path instead"
    assert _renaming_calls(PACKAGE / "_atomic.py"), "the check found nothing in the helper"


def test_the_renaming_check_can_fail(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os\nimport tempfile\nfrom shutil import move\n\n\n"
        "def f(a, b):\n    os.replace(a, b)\n    return tempfile.mkstemp()\n",
        encoding="utf-8",
    )
    assert _renaming_calls(probe) == ["3: shutil.move", "7: os.replace", "8: tempfile.mkstemp"]
