"""Every portal page in English and Chinese: screenshots (test artifacts) and axe-core with no serious violations.

The axe context bypasses the Content-Security-Policy only so that axe's own script can be injected;
screenshots come from an ordinary context, so they show the pages as the policy leaves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.conftest import AXE, screenshot
from tests.browser.demo import Demo
from tests.browser.pages import walk_pages

AXE_CHECKED = {"login", "authorize", "dashboard", "detail", "revoke-confirmation"}
USERS = {"en": "bob", "zh": "chen"}


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    assert len(found["passes"]) > 10, page.url  # axe really looked at the page
    return [
        {"page": page.url, "id": v["id"], "impact": v["impact"], "nodes": [n["html"] for n in v["nodes"]][:3]}
        for v in found["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_page_is_captured_in_both_languages(
    demo: Demo, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    page = new_context(lang).new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    seen: list[str] = []

    def visit(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == lang, (name, page.url)
        seen.append(name)
        assert screenshot(page, name, lang).stat().st_size > 0

    walk_pages(page, demo, "alice", lang, visit)
    assert seen == ["login", "authorize", "dashboard", "detail", "revoke-confirmation"]
    assert errors == []  # e.g. nothing refused by the Content-Security-Policy


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_have_no_serious_accessibility_violations(
    demo: Demo, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    page = new_context(lang, bypass_csp=True).new_page()
    violations: list[dict[str, Any]] = []

    def visit(name: str) -> None:
        if name in AXE_CHECKED:
            violations.extend(serious_violations(page))

    walk_pages(page, demo, USERS[lang], lang, visit)
    assert violations == [], json.dumps(violations, indent=1, ensure_ascii=False)
