"""Walking a user through every portal page in a real browser: login, authorization, dashboard, detail, revoke."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, Route

from tests.browser.conftest import log_in
from tests.support.demo import Demo, WalletCli

WALLET_REDIRECTS = "http://127.0.0.1:8765/**"


def capture_wallet_redirects(page: Page) -> list[str]:
    """Answer the wallet's redirect URI in the browser and keep the URLs (nobody listens on that port)."""
    seen: list[str] = []

    def answer(route: Route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="The wallet received the answer.")

    page.route(WALLET_REDIRECTS, answer)
    return seen


def wait_for(redirects: list[str], page: Page, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not redirects and time.monotonic() < deadline:
        page.wait_for_timeout(100)


def walk_pages(
    page: Page, demo: Demo, user: str, lang: str, visit: Callable[[str], None], wallet_file: Path | None = None
) -> None:
    """Show ``user`` each page in ``lang`` (approving one account of a new consent); ``visit(name)`` on each.

    The consent is the demo wallet's, or that of the wallet in ``wallet_file``.
    """
    redirects = capture_wallet_redirects(page)
    wallet = WalletCli(wallet_file or demo.wallet_file)
    page.goto(wallet.start_consent())
    if lang != "en":
        here = quote(page.url.removeprefix(demo.issuer), safe="")
        page.goto(f"{demo.issuer}/language?lang={lang}&next={here}")
    visit("login")
    log_in(page, user)
    visit("authorize")
    page.locator("input[name=account_id]").first.check()
    page.click("button[name=decision][value=approve]")
    wait_for(redirects, page)
    assert redirects, page.url
    wallet.callback(redirects[-1])
    page.goto(f"{demo.issuer}/dashboard")
    visit("dashboard")
    page.locator("article.consent a").first.click()
    page.wait_for_load_state()
    visit("detail")
    page.get_by_role("link", name=page.locator(".button.danger").first.inner_text()).click()
    page.wait_for_load_state()
    visit("revoke-confirmation")
