from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.errors import InvalidTokenError
from gateway.pipeline import handle
from gateway.pipeline.call import Call
from gateway.pipeline.runtime import PipelineRuntime
from gateway.telemetry import Tracing, tracing_for
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
    assert tracing_for("").enabled is False


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
