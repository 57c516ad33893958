"""Keyboard-only login and approval (Tab, Space, Enter), and the pages at 200% zoom with no sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.pages import capture_wallet_redirects, wait_for, walk_pages
from tests.support.demo import Demo, WalletCli

MAX_TABS = 40
FOCUSED = "() => { const e = document.activeElement; return e ? e.outerHTML.slice(0, 200) : ''; }"


def tab_to(page: Page, selector: str) -> None:
    """Press Tab until the element matching ``selector`` has the focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement !== null && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}; focus is on {page.evaluate(FOCUSED)}")


def test_user_logs_in_and_approves_with_the_keyboard_only(
    demo: Demo, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context("en").new_page()
    redirects = capture_wallet_redirects(page)
    page.goto(WalletCli(demo.wallet_file).start_consent())

    tab_to(page, "#username")
    page.keyboard.type("dara")
    tab_to(page, "#password")
    page.keyboard.type("dara-demo")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    tab_to(page, "input[name=account_id]")
    page.keyboard.press("Space")
    assert page.locator("input[name=account_id]").first.is_checked()
    tab_to(page, "button[name=decision][value=approve]")
    page.keyboard.press("Enter")
    wait_for(redirects, page)
    assert len(redirects) == 1, page.url
    assert "code=" in redirects[0]


def test_focus_is_visible_on_the_approve_button(demo: Demo, new_context: Callable[..., BrowserContext]) -> None:
    page = new_context("en").new_page()
    page.goto(WalletCli(demo.wallet_file).start_consent())
    tab_to(page, "button[type=submit]")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_pages_fit_a_narrow_window_at_200_percent_zoom(
    demo: Demo, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    """A 1280-pixel window at 200% zoom is 640 CSS pixels wide at device scale 2."""
    page = new_context(lang, viewport={"width": 640, "height": 900}, device_scale_factor=2).new_page()
    overflowing: list[tuple[str, int, int]] = []

    def visit(name: str) -> None:
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if widths[0] > widths[1]:
            overflowing.append((name, widths[0], widths[1]))

    walk_pages(page, demo, {"en": "emeka", "zh": "chen"}[lang], lang, visit)
    assert overflowing == []
