"""The demo wallet (``python -m sandbox.wallet``) with its default permissions reads transactions through the gateway.

The walkthrough in the README: `consent` (alice logs in and approves every account), then
`accounts`. The default request must be one the gateway can serve: UK OB transaction reads need
ReadTransactionsBasic (or Detail) together with Credits and/or Debits.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import pytest
import requests

from sandbox.wallet.client import AISP, Wallet
from tests.support.demo import Demo, WalletCli

pytestmark = pytest.mark.e2e


@dataclass
class Browser:
    """Alice's browser on the demo's loopback origin: keeps by hand the Secure cookies Python's jars drop there."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def go(self, method: str, url: str, **options: Any) -> requests.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        target = url if url.startswith("http") else self.base + url
        response = requests.request(method, target, headers=headers, allow_redirects=False, timeout=30, **options)
        for raw in response.raw.headers.getlist("Set-Cookie"):
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(raw).items()})
        return response


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"the page has no {name} field"
    return html.unescape(match.group(1))


def _approve_every_account(browser: Browser, authorize_url: str) -> tuple[str, list[str]]:
    """Log in as alice from the authorization URL and approve with every account; the redirect back and the accounts."""
    to_login = browser.go("GET", authorize_url)
    assert to_login.status_code == 303, to_login.text
    login = browser.go("GET", to_login.headers["location"])
    form = {"username": "alice", "password": "alice-demo", "csrf_token": _field(login.text, "csrf_token")}
    back = browser.go("POST", "/login", data=form | {"next": _field(login.text, "next")})
    assert back.status_code in (302, 303), back.text
    screen = browser.go("GET", back.headers["location"])
    assert screen.status_code == 200, screen.text
    accounts = re.findall(r'name="account_id" value="([^"]+)"', screen.text)
    assert accounts, "the screen lists no accounts"
    decision = [("request_uri", _field(screen.text, "request_uri")), ("csrf", _field(screen.text, "csrf"))]
    decision += [("decision", "approve"), *(("account_id", a) for a in accounts)]
    answer = browser.go("POST", "/authorize/decision", data=decision)
    assert answer.status_code == 303, answer.text
    return answer.headers["location"], accounts


@dataclass
class Approved:
    cli: WalletCli
    accounts: list[str]


@pytest.fixture(scope="module")
def approved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Approved]:
    """`walletgate demo`, and the demo wallet's default consent approved by alice for all her accounts."""
    demo = Demo(tmp_path_factory.mktemp("demo-wallet")).start()
    try:
        cli = WalletCli(demo.wallet_file)
        callback, accounts = _approve_every_account(Browser(demo.issuer), cli.start_consent())
        cli.callback(callback)
        yield Approved(cli, accounts)
    finally:
        demo.stop()


def test_default_consent_reads_each_accounts_transactions_through_the_gateway(approved: Approved) -> None:
    wallet = Wallet(approved.cli.wallet_file)
    token = wallet.access_token()
    present = {"x-fapi-customer-ip-address": "198.51.100.7"}  # attended: leaves the unattended daily quota alone
    for account_id in approved.accounts:
        response = wallet.api("GET", f"{AISP}/accounts/{account_id}/transactions", token, extra=present)
        assert response.status == 200, response.body
        transactions = response.body["Data"]["Transaction"]
        assert transactions, f"no transactions for {account_id}"
        assert {t["AccountId"] for t in transactions} == {account_id}


def test_accounts_command_prints_transactions_for_every_account(approved: Approved) -> None:
    done = approved.cli.accounts()
    assert done.returncode == 0, done.stderr
    assert "refused" not in done.stdout, done.stdout
    counts = [int(n) for n in re.findall(r"^ {4}(\d+) transactions on the first page$", done.stdout, re.MULTILINE)]
    assert len(counts) == len(approved.accounts), done.stdout
    assert all(n > 0 for n in counts), done.stdout
