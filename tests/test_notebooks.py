"""Every notebook in notebooks/ (jupytext py:percent) runs from top to bottom.

Each ``notebooks/*.py`` is converted to ipynb with jupytext and executed with nbclient in a
fresh kernel whose working directory is the notebooks folder, with a small trial count
(``SIMSETTLE_NOTEBOOK_TRIALS``). A failing cell fails the test with that cell's source and
traceback. Notebooks that read the MSSP public use files are skipped when
``../shared/data/mssp`` (beside the repository) is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.py"))
MSSP_DIR = ROOT.parent / "shared" / "data" / "mssp"
TRIALS = "200"
CELL_TIMEOUT_S = 480
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _needs_mssp(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return "shared/data/mssp" in text or '"shared" / "data" / "mssp"' in text


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _needs_mssp(path) and not MSSP_DIR.is_dir():
        pytest.skip(f"{path.name} needs the MSSP public use files in {MSSP_DIR}, which is absent")
    # jupyter_core warns about its path migration on import unless this is set.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    # The dev extra installs these: a missing one is a broken install, not a reason to skip.
    import ipykernel  # noqa: F401
    import jupytext
    import nbclient
    from nbclient.exceptions import CellExecutionError

    # The kernel inherits this process's environment.
    monkeypatch.setenv("SIMSETTLE_NOTEBOOK_TRIALS", TRIALS)
    monkeypatch.delenv("SIMSETTLE_NOTEBOOK_FIGDIR", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: a cell failed:\n{_ANSI.sub('', str(exc))}", pytrace=False)
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: error outputs: {errors}"
