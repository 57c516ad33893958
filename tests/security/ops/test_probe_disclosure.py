"""``/readyz`` answers anyone who reaches the gateway (the shipped nginx passes every path on), so a
failed check names the check and the kind of failure, never the back-end's address or its driver's
message; the operator finds the whole message in the log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from consent.db import open_engine
from gateway.clock import system_clock
from gateway.health import probe_routes
from gateway.oauth.keys import KeyRing
from gateway.services import Services
from gateway.settings import Settings
from policies import load_policies
from tests.support.servers import free_port


def _probe(tmp_path: Path, settings: Settings, database_url: str, redis_url: str) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = open_engine(database_url)
        redis = Redis.from_url(redis_url)
        keys = KeyRing.load_or_create(tmp_path / "signing.jwks.json")
        app.state.services = Services(settings, load_policies(), keys, system_clock, engine, redis)
        yield
        await redis.aclose()
        await engine.dispose()

    return Starlette(routes=probe_routes(), lifespan=lifespan)


def test_a_failed_readiness_check_does_not_tell_the_caller_where_the_back_end_is(
    tmp_path: Path, settings_factory: Callable[..., Settings], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()  # nothing listens there
    caplog.set_level(logging.WARNING, "walletgate.health")
    app = _probe(tmp_path, settings_factory(), sqlite_url, f"redis://127.0.0.1:{port}/0")
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    detail = response.json()["checks"]["redis"]["detail"]
    assert "ConnectionError" in detail
    assert str(port) not in response.text
    assert "127.0.0.1" not in response.text
    assert any(str(port) in record.getMessage() for record in caplog.records)  # the operator still sees it
