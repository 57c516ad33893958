"""The user's whole journey in a real browser against a real `walletgate demo` and the demo wallet's client.

The wallet asks → alice logs in, picks two of her four accounts, leaves marketing alone, approves →
the wallet reads → the dashboard shows the consent and what was read → pause (wallet refused) →
resume (wallet reads again) → stop after a confirmation page (wallet refused).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.conftest import log_in, screenshot
from tests.support.demo import Demo, WalletCli

SHARED = ("acc-alice-current", "acc-alice-savings")
NOT_SHARED = ("acc-alice-card", "acc-alice-travel")


def capture_wallet_redirects(page: Page) -> list[str]:
    """Answer the wallet's redirect URI in the browser and keep the URLs (nobody listens on that port)."""
    seen: list[str] = []

    def answer(route: Route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="The wallet received the answer.")

    page.route("http://127.0.0.1:8765/**", answer)
    return seen


def wait_for_access_history(page: Page, url: str, timeout: float = 15.0) -> None:
    """The audit writer records reads a moment after they happen; reload until the table shows them."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.locator("#access-history tbody tr").count() > 0 or time.monotonic() > deadline:
            return
        time.sleep(0.5)


def approve_two_accounts(page: Page, authorize_url: str) -> list[str]:
    redirects = capture_wallet_redirects(page)
    page.goto(authorize_url)
    screenshot(page, "login", "en")
    log_in(page, "alice")
    expect(page.locator("h1")).to_contain_text("Demo Budget Wallet asks to see some of your account data")
    boxes = page.locator("input[name=account_id]")
    assert boxes.count() >= 3
    for index in range(boxes.count()):
        expect(boxes.nth(index)).not_to_be_checked()
    marketing = page.locator("input[name=marketing_opt_in]")
    assert marketing.count() == 0 or not marketing.is_checked()
    screenshot(page, "authorize", "en")
    for account in SHARED:
        page.check(f"input[name=account_id][value={account}]")
    page.click("button[name=decision][value=approve]")
    page.wait_for_timeout(200)
    deadline = time.monotonic() + 10
    while not redirects and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    return redirects


def test_user_approves_watches_pauses_resumes_and_stops_a_wallet(
    demo: Demo, new_context: Callable[..., BrowserContext]
) -> None:
    wallet = WalletCli(demo.wallet_file)
    page = new_context("en").new_page()
    redirects = approve_two_accounts(page, wallet.start_consent())
    assert len(redirects) == 1, (redirects, page.url)
    assert "code=" in redirects[0], redirects
    wallet.callback(redirects[0])

    read = wallet.accounts()
    assert read.returncode == 0, read.stderr
    assert all(a in read.stdout for a in SHARED), read.stdout
    assert not any(a in read.stdout for a in NOT_SHARED), read.stdout

    page.goto(f"{demo.issuer}/dashboard")
    consent = page.locator("article.consent").first
    expect(page.locator("h2").first).to_have_text("Demo Budget Wallet")
    expect(consent).to_contain_text("Active")
    expect(consent).to_contain_text("acc-alice-current, acc-alice-savings")
    screenshot(page, "dashboard", "en")
    consent.get_by_role("link").click()
    detail_url = page.url
    wait_for_access_history(page, detail_url)
    expect(page.locator("#access-history")).to_contain_text("Get accounts")
    expect(page.locator("#consent-status")).to_have_text("Active")
    screenshot(page, "detail", "en")

    page.get_by_role("button", name="Pause access").click()
    expect(page.locator("#consent-status")).to_have_text("Paused")
    expect(page.get_by_role("status")).to_contain_text("Access is paused")
    screenshot(page, "detail-paused", "en")
    refused = wallet.accounts()
    assert refused.returncode == 1
    assert "refused: 403" in refused.stderr, refused.stderr

    page.get_by_role("button", name="Resume access").click()
    expect(page.locator("#consent-status")).to_have_text("Active")
    again = wallet.accounts()
    assert again.returncode == 0, again.stderr

    page.get_by_role("link", name="Stop access").click()
    expect(page.locator("h1")).to_have_text("Stop Demo Budget Wallet seeing your data?")
    expect(page.locator(".consequences")).to_contain_text("can ask it to delete")
    screenshot(page, "revoke-confirmation", "en")
    page.get_by_role("button", name="Yes, stop access").click()
    expect(page.locator("#consent-status")).to_have_text("Stopped")
    expect(page.locator("table").first).to_contain_text("Stopped")
    after = wallet.accounts()  # revoking also revokes the wallet's tokens: 401, or 403 for the consent
    assert after.returncode == 1
    assert re.search(r"refused: 40[13] ", after.stderr), after.stderr
