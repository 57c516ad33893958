"""A real ``walletgate demo`` driven over plain HTTP: a tiny cookie-keeping client, login, approval, consents.

The demo's issuer is http://127.0.0.1, where browsers keep ``Secure`` cookies; Python's cookie jar
does not, so ``PortalClient`` keeps the cookies itself (name → value, as a browser on loopback would).
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

from tests.support.demo import Demo, WalletCli

XSS_NAME = "<script>alert(1)</script>"


@dataclass
class PortalClient:
    """One browser: its cookies, its language, redirects followed by hand (so tests can see them)."""

    base: str
    accept_language: str = "en-GB"
    cookies: dict[str, str] = field(default_factory=dict)
    raw_set_cookies: list[str] = field(default_factory=list)

    def request(self, method: str, url: str, **options: Any) -> requests.Response:
        headers = {"Accept-Language": self.accept_language, **options.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        target = url if url.startswith("http") else self.base + url
        response = requests.request(method, target, headers=headers, allow_redirects=False, timeout=30, **options)
        for raw in response.raw.headers.getlist("Set-Cookie"):
            self.raw_set_cookies.append(raw)
            for name, morsel in SimpleCookie(raw).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, url: str, **options: Any) -> requests.Response:
        return self.request("GET", url, **options)

    def post(self, url: str, **options: Any) -> requests.Response:
        return self.request("POST", url, **options)

    def follow(self, url: str) -> requests.Response:
        """GET ``url`` and follow redirects on this site; stops at the first redirect leaving it."""
        response = self.get(url)
        while response.is_redirect:
            location = response.headers["location"]
            if location.startswith("http") and not location.startswith(self.base):
                return response
            response = self.get(location)
        return response

    def log_in(self, user: str, next_path: str = "/dashboard") -> requests.Response:
        page = self.get("/login", params={"next": next_path})
        form = {"username": user, "password": f"{user}-demo", "csrf_token": field_value(page.text, "csrf_token")}
        response = self.post("/login", data=form | {"next": next_path})
        assert response.status_code == 303, response.text
        return response


def field_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"the page has no {name} field"
    return html.unescape(match.group(1))


def approve(client: PortalClient, wallet: WalletCli, accounts: tuple[str, ...]) -> str:
    """The user's first approved consent: ``wallet`` may see ``accounts``; returns the consent id."""
    screen = client.follow(wallet.start_consent())
    assert screen.status_code == 200, screen.text
    form = {"request_uri": field_value(screen.text, "request_uri"), "csrf": field_value(screen.text, "csrf")}
    answer = client.post(
        "/authorize/decision", data=[*form.items(), *(("account_id", a) for a in accounts), ("decision", "approve")]
    )
    assert answer.is_redirect, answer.text
    wallet.callback(answer.headers["location"])
    dashboard = client.get("/dashboard")
    found = re.findall(r'href="/dashboard/consents/([^"?]+)', dashboard.text)
    assert len(found) == 1, dashboard.text  # consents still awaiting authorisation are not listed
    return str(found[0])


@dataclass
class PortalWorld:
    demo: Demo
    xss_wallet: WalletCli
    alice_consent: str
    xss_screen: requests.Response


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PortalWorld]:
    """One demo for the package: a wallet named like a script, and an approved consent of alice's."""
    demo = Demo(tmp_path_factory.mktemp("portal-demo")).start()
    try:
        xss = WalletCli(demo.register_wallet(XSS_NAME, "xss-wallet"))
        alice = PortalClient(demo.issuer)
        alice.log_in("alice")
        screen = alice.follow(xss.start_consent())
        consent = approve(alice, xss, ("acc-alice-current",))
        yield PortalWorld(demo, xss, consent, screen)
    finally:
        demo.stop()


def logged_in(world: PortalWorld, user: str, accept_language: str = "en-GB") -> PortalClient:
    client = PortalClient(world.demo.issuer, accept_language)
    client.log_in(user)
    return client


def consent_status(client: PortalClient, consent_id: str) -> str:
    page = client.get(f"/dashboard/consents/{consent_id}")
    assert page.status_code == 200, page.text
    match = re.search(r'id="consent-status"[^>]*>([^<]+)<', page.text)
    assert match, page.text
    return match.group(1).strip()
