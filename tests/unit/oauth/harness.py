"""A running gateway (Starlette TestClient), a small bank upstream, and a wallet that talks to both.

The bank upstream is a real aiohttp server on a loopback port that lists each user's
accounts (it reads the user from the gateway assertion). The logged-in user comes from a
``test-user`` cookie: the portal's own login is tested by its owner.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import hashlib
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from aiohttp import web
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.testclient import TestClient

from consent.db import open_engine
from consent.errors import ConsentError
from consent.migrate import upgrade
from consent.model import NewConsent
from consent.sql import SqlConsentStore
from gateway.clock import FrozenClock
from gateway.errors import GatewayError, handle_error
from gateway.interaction import InteractionIdMiddleware
from gateway.oauth.clients import Client
from gateway.oauth.keys import KeyRing
from gateway.oauth.wiring import consent_token_revoker, oauth_routes, start_oauth
from gateway.services import Services
from gateway.settings import Settings
from policies import load_policies
from tests.support.servers import free_port
from tests.unit.oauth.keys import WalletKey

ISSUER = "http://testserver"
REDIRECT_URI = "https://wallet.example/cb"
ACCOUNTS = {
    "alice": [
        {"AccountId": "acc-alice-1", "Currency": "GBP", "AccountSubType": "CurrentAccount", "Nickname": "Bills",
         "Account": [{"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "40400412345678"}]},
        {"AccountId": "acc-alice-2", "Currency": "GBP", "AccountSubType": "Savings", "Nickname": "Rainy day",
         "Account": [{"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "40400487654321"}]},
    ],
    "bob": [{"AccountId": "acc-bob-1", "Currency": "GBP", "AccountSubType": "CurrentAccount"}],
}  # fmt: skip


async def _accounts(request: web.Request) -> web.Response:
    assertion = request.headers.get("x-walletgate-assertion", "")
    claims = jwt.decode(assertion, options={"verify_signature": False})
    return web.json_response({"Data": {"Account": ACCOUNTS.get(claims["sub"], [])}})


async def start_bank(port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/open-banking/v4.0/aisp/accounts", _accounts)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _cookie_user(request: Request) -> str | None:
    return request.cookies.get("test-user")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Wallet:
    """A registered wallet driving the gateway over HTTP, the way a wallet app would."""

    gateway: Gateway
    client_id: str
    key: WalletKey = field(default_factory=WalletKey)
    dpop_key: WalletKey = field(default_factory=WalletKey)
    redirect_uri: str = REDIRECT_URI

    def assertion(self, **overrides: Any) -> str:
        return self.key.assertion(self.client_id, ISSUER, now=self.gateway.clock(), **overrides)

    def auth(self, **overrides: Any) -> dict[str, str]:
        return {
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": self.assertion(**overrides),
        }

    def proof(self, method: str, path: str, **kwargs: Any) -> str:
        kwargs.setdefault("now", self.gateway.clock())
        return self.dpop_key.dpop(method, ISSUER + path, **kwargs)

    def post(self, path: str, form: dict[str, str], *, dpop: str | None = "auto", auth: bool = True) -> Any:
        headers = {}
        if dpop == "auto":
            headers["DPoP"] = self.proof("POST", path)
        elif dpop is not None:
            headers["DPoP"] = dpop
        body = ({**self.auth()} if auth else {}) | form
        return self.gateway.http.post(path, data=body, headers=headers)

    def client_credentials(self) -> dict[str, Any]:
        response = self.post("/token", {"grant_type": "client_credentials", "scope": "accounts"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def par(self, consent_id: str, *, dpop: str | None = None, **params: str) -> Any:
        """Push an authorization request for ``consent_id`` (with a DPoP proof when ``dpop`` is given)."""
        verifier = params.pop("verifier", "v" * 43)
        form = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid accounts",
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
            "state": "st-1",
            "nonce": "n-1",
            "authorization_details": f'[{{"type":"account_access_consent","consent_id":"{consent_id}"}}]',
        } | params
        return self.post("/par", {k: v for k, v in form.items() if v is not None}, dpop=dpop)

    def request_uri(self, consent_id: str, **params: str) -> str:
        response = self.par(consent_id, **params)
        assert response.status_code == 201, response.text
        return str(response.json()["request_uri"])

    def approve(self, request_uri: str, user: str = "alice", accounts: tuple[str, ...] = ("acc-alice-1",)) -> str:
        """Drive /authorize as the logged-in user and approve; returns the code."""
        http = self.gateway.http
        http.cookies.set("test-user", user)
        page = http.get("/authorize", params={"client_id": self.client_id, "request_uri": request_uri})
        assert page.status_code == 200, page.text
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        form = {"request_uri": request_uri, "csrf": csrf, "decision": "approve", "account_id": list(accounts)}
        answer = http.post("/authorize/decision", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        return query["code"][0]

    def code(self, consent_id: str | None = None, **params: str) -> str:
        consent_id = consent_id or self.gateway.consent(self.client_id)
        return self.approve(self.request_uri(consent_id, **params))

    def redeem(self, code: str, *, verifier: str = "v" * 43, **extra: str) -> Any:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        return self.post("/token", form | {"code_verifier": verifier} | extra)


@dataclass
class Gateway:
    http: TestClient
    services: Services
    clock: FrozenClock
    bank: web.AppRunner | None = None

    def run(self, coro_fn: Any, *args: Any, **kwargs: Any) -> Any:
        portal = self.http.portal
        assert portal is not None
        return portal.call(lambda: coro_fn(*args, **kwargs))

    def register(self, client_id: str | None = None, **fields: Any) -> Wallet:
        wallet = Wallet(self, client_id or "wallet-" + secrets.token_hex(4))
        defaults: dict[str, Any] = {
            "client_name": "Pocket Wallet",
            "redirect_uris": (REDIRECT_URI,),
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": wallet.key.jwks(),
        }
        client = Client(client_id=wallet.client_id, **(defaults | fields))
        self.run(self.services.clients.create, client)
        return wallet

    def consent(self, client_id: str, permissions: tuple[str, ...] = ("ReadAccountsDetail", "ReadBalances")) -> str:
        return self.consent_for(client_id, permissions=permissions)

    def consent_for(
        self,
        client_id: str,
        *,
        purposes: tuple[str, ...] = ("aggregation",),
        permissions: tuple[str, ...] = ("ReadAccountsDetail", "ReadBalances"),
    ) -> str:
        assert self.services.consents is not None
        new = NewConsent(
            client_id=client_id,
            permissions=frozenset(permissions),
            purposes=purposes,
            expires_at=datetime.fromtimestamp(self.clock(), UTC) + timedelta(days=90),
        )
        return str(self.run(self.services.consents.create, new).consent_id)


def oauth_app(settings: Settings, clock: FrozenClock) -> Starlette:
    """The authorization server alone, wired as ``gateway.app`` wires it (its own tests stay independent)."""
    policies = load_policies(settings.policies_dir)
    keys = KeyRing.load_or_create(settings.data_dir / "keys" / "signing.jwks.json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = open_engine(settings.effective_database_url)
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        services = Services(settings=settings, policies=policies, keys=keys, clock=clock, engine=engine, redis=redis)
        services.consents = SqlConsentStore(engine, policies, clock, changes=services.consent_changes)
        stop = await start_oauth(services, consents=services.consents, session_user=_cookie_user)
        services.consent_changes.subscribe(consent_token_revoker(services))
        app.state.services = services
        try:
            yield
        finally:
            await stop()
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

    handlers: dict[Any, Any] = {GatewayError: handle_error, ConsentError: handle_error, Exception: handle_error}
    return Starlette(
        routes=oauth_routes(),
        middleware=[Middleware(InteractionIdMiddleware)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )


@functools.cache
def _migrated_template() -> Path:
    """One SQLite file migrated to head per test session; each test gets a copy."""
    folder = tempfile.mkdtemp(prefix="wg-oauth-template-")
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "template.db"
    upgrade(f"sqlite:///{path}", "head")
    return path


def running_gateway(tmp_path: Path, settings_factory: Any, **overrides: Any) -> Iterator[Gateway]:
    shutil.copyfile(_migrated_template(), tmp_path / "oauth.db")
    database = f"sqlite:///{tmp_path / 'oauth.db'}"
    bank_port = free_port()
    settings = settings_factory(
        issuer=ISSUER, database_url=database, upstream_url=f"http://127.0.0.1:{bank_port}", **overrides
    )
    clock = FrozenClock(datetime.now(UTC).timestamp())
    app = oauth_app(settings, clock)
    with TestClient(app, base_url=ISSUER, client=("127.0.0.1", 50000)) as http:
        gateway = Gateway(http, app.state.services, clock)
        gateway.bank = gateway.run(start_bank, bank_port)
        assert gateway.services.oauth is not None
        try:
            yield gateway
        finally:
            gateway.run(gateway.bank.cleanup)
