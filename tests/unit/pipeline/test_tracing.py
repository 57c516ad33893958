from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from consent.db import open_engine
from gateway.client_spans import limiter_redis, trace_clients
from gateway.errors import InvalidTokenError
from gateway.limiter.build import build_limiter
from gateway.pipeline import handle
from gateway.pipeline.call import Call
from gateway.pipeline.runtime import PipelineRuntime
from gateway.settings import Settings
from gateway.telemetry import SAMPLER, Tracing, tracing_for
from policies import load_policies
from tests.unit.pipeline.conftest import BASE


@pytest.fixture
def exporter(runtime: PipelineRuntime) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime.tracing = Tracing.with_provider(provider)
    return exporter


async def test_each_request_is_one_server_span_with_a_child_per_step(
    make_call: Callable[..., Call], exporter: InMemorySpanExporter
) -> None:
    call = make_call(path=BASE + "/accounts")
    with pytest.raises(InvalidTokenError):
        await handle(call)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    server = spans[f"GET {BASE}/accounts"]
    assert server.kind is SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["walletgate.interaction_id"] == call.interaction_id
    assert server.attributes["walletgate.operation"] == "GetAccounts"
    assert server.attributes["http.response.status_code"] == 401
    assert server.context is not None
    assert call.trace_id == format(server.context.trace_id, "032x")
    assert server.context is not None
    for step in ("route", "authenticate", "audit"):
        parent = spans[step].parent
        assert parent is not None
        assert parent.span_id == server.context.span_id
    assert "authorize" not in spans  # the refusal stopped the path


def test_tracing_is_off_without_an_exporter() -> None:
    assert tracing_for("", environ={}).enabled is False


@pytest.mark.parametrize("variable", ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
def test_a_standard_otel_endpoint_variable_turns_tracing_on(variable: str) -> None:
    tracing = tracing_for("", environ={variable: "http://127.0.0.1:4318"})
    try:
        assert tracing.enabled
    finally:
        tracing.shutdown()


def test_the_setting_names_the_trace_endpoint_under_its_base() -> None:
    tracing = tracing_for("http://collector.test:4318/", environ={})
    try:
        assert tracing.provider is not None
        exporters = [p.span_exporter for p in tracing.provider._active_span_processor._span_processors]  # type: ignore[attr-defined]
        assert [e._endpoint for e in exporters] == ["http://collector.test:4318/v1/traces"]
    finally:
        tracing.shutdown()


WALLET_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
WALLET_TRACEPARENT = f"00-{WALLET_TRACE}-00f067aa0ba902b7-01"


async def test_server_span_continues_the_wallets_traceparent(
    make_call: Callable[..., Call], exporter: InMemorySpanExporter
) -> None:
    call = make_call(path=BASE + "/accounts", headers={"traceparent": WALLET_TRACEPARENT})
    with pytest.raises(InvalidTokenError):
        await handle(call)
    server = next(s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert server.context is not None
    assert format(server.context.trace_id, "032x") == WALLET_TRACE
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert call.trace_id == WALLET_TRACE


@pytest.fixture
def shared_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A provider sampled like the gateway's own: only a server span starts a trace."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=SAMPLER)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_database_calls_in_a_request_are_client_spans_without_values(
    shared_provider: tuple[TracerProvider, InMemorySpanExporter], tmp_path: Path
) -> None:
    provider, exporter = shared_provider
    engine = open_engine(f"sqlite:///{tmp_path / 'spans.db'}")
    untrace = trace_clients(provider, engine.sync_engine, [])
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # outside a request: no span
            with provider.get_tracer("test").start_as_current_span("GET /accounts", kind=SpanKind.SERVER):
                await conn.execute(text("SELECT :token AS t"), {"token": "secret-token-value"})
                with pytest.raises(OperationalError):
                    await conn.execute(text("SELECT * FROM missing WHERE id = :id"), {"id": "secret-id"})
        untrace()
        async with engine.connect() as conn:
            with provider.get_tracer("test").start_as_current_span("GET /later", kind=SpanKind.SERVER):
                await conn.execute(text("SELECT 2"))  # hooks removed: no span
    finally:
        await engine.dispose()
    spans = exporter.get_finished_spans()
    server = next(s for s in spans if s.name == "GET /accounts")
    selects = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert [s.name for s in selects] == ["SELECT", "SELECT"]
    assert server.context is not None
    for span in selects:
        assert span.parent is not None
        assert span.parent.span_id == server.context.span_id
    ok, failed = selects
    assert ok.attributes is not None
    assert ok.attributes["db.system"] == ok.attributes["db.system.name"] == "sqlite"
    assert ok.attributes["db.operation"] == ok.attributes["db.operation.name"] == "SELECT"
    assert ok.attributes["db.query.text"] == ok.attributes["db.statement"] == "SELECT ? AS t"
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "OperationalError"
    assert not failed.events  # the driver's message is not recorded
    for span in spans:
        assert "secret" not in repr(dict(span.attributes or {}))


def test_only_a_server_span_starts_a_trace(shared_provider: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    provider, exporter = shared_provider
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("SELECT", kind=SpanKind.CLIENT) as orphan:
        assert not orphan.is_recording()
    with tracer.start_as_current_span("GET /accounts", kind=SpanKind.SERVER), tracer.start_as_current_span("route"):
        pass
    assert sorted(s.name for s in exporter.get_finished_spans()) == ["GET /accounts", "route"]


async def test_redis_clients_are_wrapped_one_by_one_and_unwrapped(
    shared_provider: tuple[TracerProvider, InMemorySpanExporter], tmp_path: Path
) -> None:
    provider, _ = shared_provider
    engine = open_engine(f"sqlite:///{tmp_path / 'spans.db'}")
    traced, untouched = (
        Redis.from_url("redis://127.0.0.1:1/0"),
        Redis.from_url("redis://127.0.0.1:1/0"),
    )  # never connects
    untrace = trace_clients(provider, engine.sync_engine, [traced, None])
    try:
        assert hasattr(traced.execute_command, "__wrapped__")
        assert not hasattr(untouched.execute_command, "__wrapped__")
        assert not hasattr(Redis.execute_command, "__wrapped__")  # the class is never patched
    finally:
        untrace()
        await engine.dispose()
    assert not hasattr(traced.execute_command, "__wrapped__")


def test_the_limiters_redis_client_is_found_behind_its_failover(settings_factory: Callable[..., Settings]) -> None:
    limiter = build_limiter(settings_factory(redis_url="redis://127.0.0.1:1/0"), load_policies().limits)
    assert isinstance(limiter_redis(limiter), Redis)
    assert limiter_redis(build_limiter(settings_factory(), load_policies().limits)) is None
