"""A whole gateway in process (registration, authorization server, consent API and API pipeline) in front
of a small bank, and a wallet that registered itself with ``POST /register`` and holds live grants."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from starlette.testclient import TestClient

from consent.migrate import upgrade
from gateway.app import create_app
from gateway.clock import FrozenClock
from gateway.oauth.directory import ensure_demo_directory, issue_software_statement
from gateway.portal.sessions import cookie_name
from tests.support.servers import free_port
from tests.unit.oauth.harness import ISSUER, REDIRECT_URI, Gateway, Wallet

ADMIN_TOKEN = "bank-resource-server-token"
ACCOUNTS = "/open-banking/v4.0/aisp/accounts"
CONSENTS = "/open-banking/v4.0/aisp/account-access-consents"


async def _accounts(request: web.Request) -> web.Response:
    accounts = [{"AccountId": f"acc-alice-{n}", "Currency": "GBP", "AccountTypeCode": "CACC"} for n in (1, 2)]
    return web.json_response({"Data": {"Account": accounts}})


async def start_bank(port: int) -> web.AppRunner:
    """A bank that answers every user's account list with alice's two accounts (as UK OB v4 shapes it)."""
    app = web.Application()
    app.router.add_get("/open-banking/v4.0/aisp/accounts", _accounts)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@dataclass
class Registered:
    """A wallet registered over HTTP, and what it needs to manage its registration (RFC 7592)."""

    wallet: Wallet
    uri: str
    token: str

    def delete(self) -> Any:
        """``DELETE /register/{client_id}`` with the registration access token."""
        return self.wallet.gateway.http.delete(self.uri, headers={"Authorization": f"Bearer {self.token}"})


@dataclass
class Grants:
    """What a wallet holds before it deregisters: tokens, a pushed request, an unredeemed code."""

    consent_id: str
    access_token: str
    refresh_token: str
    client_credentials_token: str
    pending_consent_id: str
    pending_request_uri: str
    unredeemed_code: str


def running_stack(folder: Path, settings_factory: Any, clock: FrozenClock, **overrides: Any) -> Iterator[Gateway]:
    """The gateway app on a migrated SQLite file in ``folder``, its bank on a loopback port."""
    database = overrides.pop("database_url", f"sqlite:///{folder / 'walletgate.db'}")
    upgrade(database)
    bank_port = free_port()
    settings = settings_factory(
        issuer=ISSUER,
        database_url=database,
        upstream_url=f"http://127.0.0.1:{bank_port}",
        admin_token=ADMIN_TOKEN,
        **overrides,
    )
    ensure_demo_directory(settings.data_dir)
    with TestClient(create_app(settings, clock=clock), base_url=ISSUER, client=("127.0.0.1", 50000)) as http:
        gateway = Gateway(http, http.app.state.services, clock)  # type: ignore[attr-defined]
        gateway.bank = gateway.run(start_bank, bank_port)
        try:
            yield gateway
        finally:
            gateway.run(gateway.bank.cleanup)


UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def clear_walletgate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command reads the environment: only its flags (and what a test sets) may configure it."""
    for name in os.environ:
        if name.startswith("WALLETGATE_") and not name.startswith("WALLETGATE_TEST_"):
            monkeypatch.delenv(name)


def stack_sharing_redis(
    folder: Path, settings_factory: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Gateway]:
    """A gateway on Redis, caching consents for a minute (only Redis can tell it anything sooner), its
    clock the wall clock's as a command's is; the command's environment names the same Redis, as a
    deployment's does."""
    monkeypatch.setenv("WALLETGATE_REDIS_URL", redis_url)
    clock = FrozenClock(time.time())
    yield from running_stack(folder, settings_factory, clock, redis_url=redis_url, consent_cache_ttl=60.0)


def register(gateway: Gateway) -> Registered:
    """Register a new wallet through ``POST /register`` with a statement of the demo directory."""
    wallet = Wallet(gateway, client_id="")
    statement = issue_software_statement(
        gateway.services.settings.data_dir, redirect_uris=[REDIRECT_URI], jwks=wallet.key.jwks(), now=gateway.clock()
    )
    response = gateway.http.post("/register", json={"software_statement": statement})
    assert response.status_code == 201, response.text
    body = response.json()
    wallet.client_id = body["client_id"]
    return Registered(wallet, body["registration_client_uri"], body["registration_access_token"])


def log_in(gateway: Gateway, user: str = "alice") -> None:
    """Give the test client a portal session for ``user`` (the login page is tested by its owner)."""
    session_id, _ = gateway.run(gateway.services.sessions.create, user)
    gateway.http.cookies.set(cookie_name(gateway.services.settings), session_id)


def hold_grants(wallet: Wallet) -> Grants:
    """Drive the whole flow once so the wallet holds one of everything a client can be granted."""
    gateway = wallet.gateway
    log_in(gateway)
    consent_id = gateway.consent(wallet.client_id)
    tokens = wallet.redeem(wallet.code(consent_id)).json()
    unredeemed = wallet.code(gateway.consent(wallet.client_id))
    pending_consent_id = gateway.consent(wallet.client_id)
    return Grants(
        consent_id=consent_id,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_credentials_token=wallet.client_credentials()["access_token"],
        pending_consent_id=pending_consent_id,
        pending_request_uri=wallet.request_uri(pending_consent_id),
        unredeemed_code=unredeemed,
    )


def call_api(wallet: Wallet, token: str, method: str = "GET", path: str = ACCOUNTS, **kwargs: Any) -> Any:
    """A call through the gateway with ``token`` and a DPoP proof for it, the customer present."""
    headers = {
        "Authorization": f"DPoP {token}",
        "DPoP": wallet.proof(method, path, access_token=token),
        "x-fapi-customer-ip-address": "198.51.100.7",
    } | kwargs.pop("headers", {})
    return wallet.gateway.http.request(method, path, headers=headers, **kwargs)


def introspect(gateway: Gateway, token: str) -> dict[str, Any]:
    """What the bank's resource server learns about ``token`` from ``/introspect``."""
    response = gateway.http.post(
        "/introspect", data={"token": token}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())
