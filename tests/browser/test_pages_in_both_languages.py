"""Every portal page in English and Chinese: screenshots (test artifacts) and axe-core with no serious violations.

The axe context bypasses the Content-Security-Policy only so that axe's own script can be injected;
screenshots come from an ordinary context, so they show the pages as the policy leaves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page

from tests.browser.conftest import AXE, log_in, screenshot
from tests.browser.pages import walk_pages
from tests.support.demo import Demo

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


def test_wallet_named_like_a_script_never_runs_in_the_browser(
    demo: Demo, new_context: Callable[..., BrowserContext]
) -> None:
    wallet_file = demo.register_wallet("<script>alert(1)</script><img src=x onerror=alert(2)>", "script-wallet")
    page = new_context("en").new_page()
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    shown: list[str] = []

    def visit(name: str) -> None:
        if name != "login":
            shown.append(name)
            assert "<script>alert(1)</script>" in page.locator("main").inner_text(), name
            assert page.locator("main script, main img").count() == 0, name

    walk_pages(page, demo, "dara", "en", visit, wallet_file=wallet_file)
    assert shown == ["authorize", "dashboard", "detail", "revoke-confirmation"]
    assert dialogs == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_empty_dashboard_and_unknown_consent_pages_are_accessible(
    demo: Demo, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    page = new_context(lang, bypass_csp=True).new_page()
    page.goto(f"{demo.issuer}/dashboard?lang={lang}")
    log_in(page, "emeka")
    assert page.locator("article.consent").count() == 0
    screenshot(page, "dashboard-empty", lang)
    violations = serious_violations(page)
    page.goto(f"{demo.issuer}/dashboard/consents/no-such-consent?lang={lang}")
    screenshot(page, "consent-not-found", lang)
    violations += serious_violations(page)
    assert violations == [], json.dumps(violations, indent=1, ensure_ascii=False)
