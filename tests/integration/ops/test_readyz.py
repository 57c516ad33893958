"""/readyz against real back-ends: live ones pass, a closed port fails with the check named.

The probes are mounted on a bare Starlette app whose ``Services`` point where each test says,
because the full gateway refuses to start at all when its database is unreachable; readiness
is about back-ends that are lost while the gateway runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
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

pytestmark = pytest.mark.integration

Probe = Callable[..., TestClient]


@pytest.fixture
def probe(tmp_path: Path, settings_factory: Callable[..., Settings]) -> Iterator[Probe]:
    clients: list[TestClient] = []
    keys = KeyRing.load_or_create(tmp_path / "signing.jwks.json")
    policies = load_policies()

    def make(database_url: str, redis_url: str = "", draining: bool = False) -> TestClient:
        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            engine = open_engine(database_url)
            redis = Redis.from_url(redis_url) if redis_url else None
            services = Services(settings_factory(), policies, keys, system_clock, engine, redis)
            if draining:
                services.drain.begin()
            app.state.services = services
            yield
            if redis is not None:
                await redis.aclose()
            await engine.dispose()

        client = TestClient(Starlette(routes=probe_routes(), lifespan=lifespan))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_readyz_is_ready_with_live_postgres_and_redis(probe: Probe, postgres_url: str, redis_url: str) -> None:
    response = probe(postgres_url, redis_url).get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert body["failed"] == []
    assert set(body["checks"]) == {"database", "redis", "policies"}
    assert body["checks"]["database"]["detail"] == "postgresql answered SELECT 1"
    assert body["checks"]["redis"]["detail"] == "PING answered"
    assert response.headers["cache-control"] == "no-store"


def test_readyz_without_redis_configured_skips_the_redis_check(probe: Probe, sqlite_url: str) -> None:
    response = probe(sqlite_url).get("/readyz")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "policies"}


def test_readyz_names_a_dead_database(probe: Probe, redis_url: str) -> None:
    dead = f"postgresql://postgres:pw-not-logged@127.0.0.1:{free_port()}/walletgate"
    response = probe(dead, redis_url).get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["redis"]["ok"] is True
    assert "pw-not-logged" not in response.text


def test_readyz_names_a_dead_redis(probe: Probe, sqlite_url: str) -> None:
    response = probe(sqlite_url, f"redis://127.0.0.1:{free_port()}/0").get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["redis"]
    assert "ConnectionError" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_names_both_when_both_are_dead(probe: Probe) -> None:
    dead_db = f"postgresql://postgres@127.0.0.1:{free_port()}/walletgate"
    response = probe(dead_db, f"redis://127.0.0.1:{free_port()}/0").get("/readyz")
    assert response.status_code == 503
    assert sorted(response.json()["failed"]) == ["database", "redis"]


def test_readyz_reports_draining_while_healthz_stays_alive(probe: Probe, sqlite_url: str) -> None:
    client = probe(sqlite_url, draining=True)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["draining"]
    assert client.get("/healthz").json() == {"status": "alive"}
