"""Headless Debian Chromium driven by Playwright, a real ``walletgate demo`` per module, screenshots and axe-core.

Run ``bash scripts/browser`` first: it installs Chromium, a CJK font and axe-core (npm) when missing.
Without Chromium or axe-core the tests skip, saying what is missing; under CI=true they fail instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.demo import Demo
from tests.support.servers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / ".browser-deps" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCALES = {"en": "en-GB", "zh": "zh-CN"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    missing = [str(path) for path in (CHROMIUM, AXE) if not path.exists()]
    if missing:
        message = f"{', '.join(missing)} missing: run `bash scripts/browser` first"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One Chromium for the session; Playwright gives each launch a fresh temporary profile directory."""
    found = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield found
    found.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    running = Demo(tmp_path_factory.mktemp("demo")).start()
    yield running
    running.stop()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Browser contexts (separate cookie jars) in a language; closed after the test."""
    opened: list[BrowserContext] = []

    def make(lang: str = "en", **options: Any) -> BrowserContext:
        context = browser.new_context(locale=LOCALES[lang], **options)
        context.set_default_timeout(15_000)
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


def screenshot(page: Page, name: str, lang: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>-<lang>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]', '-', name.lower())}-{lang}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page: Page, user: str) -> None:
    """Fill the portal's login form (the page must be showing it) and wait for the next page."""
    page.fill("#username", user)
    page.fill("#password", f"{user}-demo")
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")
