"""ARCHITECTURE.md stays true: every file or folder it names exists, and the recipe for a contract
kind names at most four files."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _named_paths(text: str) -> list[str]:
    """Backticked tokens that name a path in the repository (a slash or a file suffix)."""
    out = []
    for token in re.findall(r"`([^`\s]+)`", text):
        if token.startswith("../") or "<" in token or "(" in token:
            continue  # outside the repository, a pattern, or a call
        if "/" in token or re.search(r"\.(py|md|json|png)$", token):
            out.append(token)
    return out


def _where(token: str) -> list[Path]:
    # A bare file name in a table row is named relative to that row's folder; look it up
    # anywhere in the package or the repository's top level.
    if "/" in token:
        return [ROOT / token.rstrip("/")]
    return [*ROOT.glob(token), *(ROOT / "simsettle").rglob(token)]


def test_every_named_path_exists():
    named = _named_paths(TEXT)
    assert len(named) > 30  # the check reads the document's paths, not nothing
    missing = [t for t in named if not any(p.exists() for p in _where(t))]
    assert missing == []


def test_the_check_catches_a_missing_path():
    assert _named_paths("see `simsettle/no_such_module.py` and `x`") == [
        "simsettle/no_such_module.py"
    ]
    assert not any(p.exists() for p in _where("simsettle/no_such_module.py"))


def test_contract_kind_recipe_names_at_most_four_files():
    recipe = TEXT.split("**A contract kind**", 1)[1].split("**A member-level mechanism**", 1)[0]
    steps = re.findall(r"^\d+\. `([^`]+)`", recipe, flags=re.MULTILINE)
    assert 1 <= len(steps) <= 4, steps
