"""Dependencies point down only: policies ← consent ← gateway; sandbox imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "policies": {"consent", "gateway", "sandbox"},
    "consent": {"gateway", "sandbox"},
    "gateway": {"sandbox"},
    "sandbox": {"gateway", "consent", "policies"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_layers_below_it(package: str) -> None:
    upward: list[str] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        upward.extend(f"{path.relative_to(ROOT)} imports {name}" for name in sorted(bad))
    assert upward == []
