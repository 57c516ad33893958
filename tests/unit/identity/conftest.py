"""Fixtures for identity tests: an engine with the identity tables created directly."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.testclient import TestClient

from consent.db import metadata, open_engine
from consent.errors import ConsentError
from gateway.clock import FrozenClock
from gateway.errors import GatewayError, handle_error
from gateway.interaction import InteractionIdMiddleware
from gateway.oauth import login_delegation, registration, tables_identity
from gateway.oauth.keys import KeyRing, generate_jwk, public_jwk, write_private_file
from gateway.oauth.users import UserStore
from gateway.portal import login
from gateway.services import Services
from gateway.settings import Settings
from policies import load_policies


@pytest.fixture
async def identity_engine(sqlite_url: str) -> AsyncIterator[object]:
    engine = open_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: metadata.create_all(sync, tables=list(tables_identity.IDENTITY_TABLES)))
    yield engine
    await engine.dispose()


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def identity_app(
    settings: Settings, database_url: str, clock: FrozenClock, extra_routes: Sequence[BaseRoute] = ()
) -> Starlette:
    """Only the identity routes, over hand-built Services (independent of other endpoints)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = open_engine(database_url)
        async with engine.begin() as conn:
            await conn.run_sync(lambda s: metadata.create_all(s, tables=list(tables_identity.IDENTITY_TABLES)))
        services = Services(
            settings=settings,
            policies=load_policies(settings.policies_dir),
            keys=KeyRing.load_or_create(settings.data_dir / "keys" / "signing.jwks.json"),
            clock=clock,
            engine=engine,
        )
        services.users = UserStore(engine, clock=clock, hasher=FAST_HASHER)
        app.state.services = services
        yield
        await engine.dispose()

    return Starlette(
        routes=[*registration.routes(), *login.routes(), *login_delegation.routes(), *extra_routes],
        middleware=[Middleware(InteractionIdMiddleware)],
        exception_handlers={GatewayError: handle_error, ConsentError: handle_error, Exception: handle_error},
        lifespan=lifespan,
    )


@pytest.fixture
def make_client(sqlite_url, frozen_clock, settings_factory) -> Iterator[Callable[..., TestClient]]:
    """A started TestClient over https://testserver (so Secure cookies flow) for the identity routes."""
    opened: list[TestClient] = []

    def make(*, extra_routes: Sequence[BaseRoute] = (), **overrides: Any) -> TestClient:
        overrides.setdefault("issuer", "https://testserver")
        client = TestClient(
            identity_app(settings_factory(**overrides), sqlite_url, frozen_clock, extra_routes),
            base_url="https://testserver",
            raise_server_exceptions=False,
            follow_redirects=False,
        )
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def production_settings(settings_factory, tmp_path) -> Settings:
    """Production-mode settings with the key files production insists on."""
    keys = tmp_path / "signing.jwks.json"
    write_private_file(keys, {"keys": [generate_jwk("ES256") | {"use_state": "current"}]})
    directory = tmp_path / "directory.jwks.json"
    directory.write_text(json.dumps({"keys": [public_jwk(generate_jwk("ES256"))]}))
    settings: Settings = settings_factory(
        mode="production",
        issuer="https://gateway.example",
        signing_keys_file=str(keys),
        directory_jwks_file=str(directory),
        database_url=f"sqlite:///{tmp_path / 'walletgate.db'}",
        redis_url="redis://127.0.0.1:6379/0",  # production requires one; nothing here connects to it
    )
    return settings
