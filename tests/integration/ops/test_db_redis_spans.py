"""A proxied call's trace holds its database and Redis calls; with tracing off nothing is hooked in.

The first test runs the gateway and the sandbox bank as real processes (tests/e2e/pipeline/harness.py)
with Redis on loopback, and a loopback HTTP server stands in for the OpenTelemetry collector.
The others run the app's lifespan in-process and look at what it installed, and run one
statement on each database back-end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from consent.db import open_engine
from consent.migrate import upgrade
from gateway.app import create_app
from gateway.client_spans import limiter_redis, trace_clients
from gateway.services import Services
from gateway.settings import Settings
from gateway.telemetry import SAMPLER
from tests.e2e.pipeline.harness import BASE, Stack, Wallet, start_stack
from tests.integration.ops.test_otlp_export import collector

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
__all__ = ["collector"]  # the loopback OTLP/HTTP collector: yields its URL and the (path, body) pairs it received
Collector = tuple[str, list[tuple[str, bytes]]]

CURRENT, SAVINGS = "acc-alice-current", "acc-alice-savings"


@dataclass(frozen=True)
class _Span:
    span_id: bytes
    parent_id: bytes
    name: str
    attributes: dict[str, str | int | float | bool]


def _spans(received: list[tuple[str, bytes]]) -> list[_Span]:
    spans = []
    for body in [body for path, body in list(received) if path == "/v1/traces"]:
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans:
            for scope in resource.scope_spans:
                for s in scope.spans:
                    attributes = {a.key: _value(a.value) for a in s.attributes}
                    spans.append(_Span(s.span_id, s.parent_span_id, s.name, attributes))
    return spans


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value") or "string_value")


def _descendants(spans: list[_Span], root: _Span) -> list[tuple[int, _Span]]:
    """``root``'s subtree, depth first, as (depth, span)."""
    tree: list[tuple[int, _Span]] = []

    def walk(span: _Span, depth: int) -> None:
        tree.append((depth, span))
        for child in [s for s in spans if s.parent_id == span.span_id]:
            walk(child, depth + 1)

    walk(root, 0)
    return tree


def render(tree: list[tuple[int, _Span]]) -> str:
    """The span tree as indented text, each span with its database attributes."""
    shown = ("db.system", "db.operation.name", "db.statement", "server.address", "server.port")
    lines = []
    for depth, span in tree:
        facts = " ".join(f"{k}={span.attributes[k]!r}" for k in shown if k in span.attributes)
        lines.append(f"{'  ' * depth}{span.name}  {facts}".rstrip())
    return "\n".join(lines)


@pytest.fixture
def traced_stack(tmp_path: Path, redis_url: str, collector: Collector) -> Iterator[Stack]:
    env = {
        "WALLETGATE_OTLP_ENDPOINT": collector[0],
        "WALLETGATE_REDIS_URL": redis_url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    stack = start_stack(tmp_path, extra_env=env)
    try:
        yield stack
    finally:
        stack.stop()


def test_a_proxied_calls_trace_holds_its_database_and_redis_calls(traced_stack: Stack, collector: Collector) -> None:
    wallet = Wallet(traced_stack)
    try:
        consent = wallet.consent({"ReadAccountsDetail"}, (CURRENT, SAVINGS))
        token = wallet.token(consent)
        proof = wallet.proof("GET", BASE + "/accounts", token)
        response = wallet.get(BASE + "/accounts", consent, token=token, proof=proof)  # a cold consent cache
    finally:
        wallet.close()
    assert response.status_code == 200, response.text
    numbers = [i["Identification"] for a in response.json()["Data"]["Account"] for i in a["Account"]]
    assert numbers
    tree = _wait_for_tree(collector[1], f"GET {BASE}/accounts")
    print("\n" + render(tree))  # the span tree shown in the closing note
    below = [span for depth, span in tree if depth > 0]
    database = [s for s in below if s.attributes.get("db.system") == "sqlite"]
    redis = [s for s in below if s.attributes.get("db.system") == "redis"]
    assert database, render(tree)
    assert {"SELECT"} <= {s.attributes["db.operation.name"] for s in database}
    assert "EVALSHA" in {s.name for s in redis}, render(tree)  # the limiter's client: limits and the DPoP jti
    assert all(s.attributes["server.address"] == "127.0.0.1" for s in redis)
    for secret in (token, proof, *numbers):
        for span in _spans(collector[1]):
            assert all(secret not in str(value) for value in span.attributes.values()), span.name


def _wait_for_tree(
    received: list[tuple[str, bytes]], server_name: str, timeout: float = 20.0
) -> list[tuple[int, _Span]]:
    """The server span's subtree once its database and Redis children have been exported."""
    deadline = time.monotonic() + timeout
    tree: list[tuple[int, _Span]] = []
    while time.monotonic() < deadline:
        spans = _spans(received)
        roots = [s for s in spans if s.name == server_name]
        if roots:
            tree = _descendants(spans, roots[0])
            systems = {s.attributes.get("db.system") for _, s in tree}
            if {"sqlite", "redis"} <= systems and any(s.name == "upstream" for _, s in tree):
                return tree
        time.sleep(0.2)
    raise AssertionError(f"no complete trace for {server_name} within {timeout} s:\n{render(tree)}")


def _hooked(services: Services) -> dict[str, bool]:
    shared: Any = services.redis
    limiter_client: Any = limiter_redis(services.limiter)
    return {
        "database": bool(list(services.engine.sync_engine.dispatch.before_cursor_execute)),
        "redis": hasattr(shared.execute_command, "__wrapped__"),
        "limiter": hasattr(limiter_client.execute_command, "__wrapped__"),
    }


@pytest.fixture
def app_settings(settings_factory: Callable[..., Settings], tmp_path: Path, redis_url: str) -> Callable[..., Settings]:
    database_url = f"sqlite:///{tmp_path / 'walletgate.db'}"
    upgrade(database_url)
    return lambda **more: settings_factory(database_url=database_url, redis_url=redis_url, **more)


def test_tracing_hooks_each_client_while_the_app_runs_and_unhooks_them_on_stop(
    app_settings: Callable[..., Settings], collector: Collector
) -> None:
    with TestClient(create_app(app_settings(otlp_endpoint=collector[0]))) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        assert services.tracing.enabled
        assert services.pipeline is not None
        assert services.pipeline.tracing is services.tracing  # one provider for pipeline, database and Redis
        assert _hooked(services) == {"database": True, "redis": True, "limiter": True}
        assert not hasattr(Redis.execute_command, "__wrapped__")  # instances are wrapped, never the class

        shared: Any = services.redis

        async def ping_in_a_request() -> None:
            with services.tracing.server_span("GET /probe", {}):
                await shared.ping()
            await shared.ping()  # outside a request: no span

        client.portal.call(ping_in_a_request)  # type: ignore[union-attr]
        assert services.tracing.provider is not None
        services.tracing.provider.force_flush()
        spans = _spans(collector[1])
        (probe,) = [s for s in spans if s.name == "GET /probe"]
        (ping,) = [s for s in spans if s.name == "PING"]  # the shared client
        assert ping.parent_id == probe.span_id
    assert _hooked(services) == {"database": False, "redis": False, "limiter": False}
    assert not hasattr(Redis.execute_command, "__wrapped__")


def test_without_tracing_nothing_is_hooked_in(app_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(app_settings(otlp_endpoint=""))) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        assert not services.tracing.enabled
        assert _hooked(services) == {"database": False, "redis": False, "limiter": False}
        assert not hasattr(Redis.execute_command, "__wrapped__")


async def test_database_spans_on_each_back_end_name_the_system_and_server(database_url: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=SAMPLER)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    engine = open_engine(database_url)
    untrace = trace_clients(provider, engine.sync_engine, [])
    try:
        with provider.get_tracer("test").start_as_current_span("GET /accounts", kind=SpanKind.SERVER):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT :account AS a"), {"account": "40400187654321"})
    finally:
        untrace()
        await engine.dispose()
    (span,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    attributes = dict(span.attributes or {})
    backend = make_url(database_url).get_backend_name()
    assert attributes["db.system.name"] == backend
    assert attributes["db.operation.name"] == "SELECT"
    assert "40400187654321" not in repr(attributes)
    if backend == "postgresql":
        assert attributes["server.address"] == make_url(database_url).host
        assert isinstance(attributes["server.port"], int)
