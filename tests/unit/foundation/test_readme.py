"""The README's settings table is the one the settings source generates."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import describe

README = Path(__file__).resolve().parents[3] / "README.md"


def test_readme_lists_every_setting_with_its_default() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("<!-- settings:start") : text.index("<!-- settings:end -->")]
    rows = [f"| `{name}` | `{default}` |" if default else f"| `{name}` | |" for name, default, _ in describe()]
    missing = [row for row in rows if row not in table]
    assert missing == [], "run scripts/readme-settings"


def test_readme_names_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "make demo" in text
    assert "make test" in text
