"""Every ``WALLETGATE_*`` variable the documentation or the deploy files name is one the gateway accepts
(``tests/unit/foundation/test_readme.py`` checks the other way: every setting is in the README)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(p for p in (ROOT / "deploy").rglob("*") if p.is_file())]
)
# A name ending in "_" is a prefix the text talks about (WALLETGATE_TEST_...), not a variable.
_NAME = re.compile(r"\bWALLETGATE_[A-Z0-9_]*[A-Z0-9]\b")


def _named() -> list[tuple[str, str]]:
    found = set()
    for path in DOCUMENTS:
        for name in _NAME.findall(path.read_text(encoding="utf-8", errors="replace")):
            found.add((str(path.relative_to(ROOT)), name))
    return sorted(found)


def _refused_as_unknown(name: str) -> bool:
    try:
        load_settings(environ={name: ""})
    except SettingsError as exc:
        return any("unknown setting" in problem for problem in exc.problems)
    return False


@pytest.mark.parametrize(("document", "name"), _named(), ids=lambda v: v)
def test_every_documented_variable_is_accepted(document: str, name: str) -> None:
    assert not _refused_as_unknown(name), f"{document} names {name}, which walletgate refuses as unknown"
