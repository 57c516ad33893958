"""Tracing: one OpenTelemetry server span per proxied request, a child span per pipeline step.

With no exporter configured (``settings.otlp_endpoint`` empty) tracing is off and the
pipeline skips span bookkeeping entirely, so it costs nothing on the hot path. With one,
spans go over OTLP/HTTP to ``{otlp_endpoint}/v1/traces`` in batches from a background thread.
Only a server span starts a trace: database and Redis spans (``gateway/client_spans.py``) are
kept as children of a request and dropped when a call happens outside one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

INSTRUMENTATION = "walletgate.pipeline"


W3C = TraceContextTextMapPropagator()  # traceparent/tracestate in, and out to the bank


@dataclass(frozen=True, slots=True)
class Tracing:
    tracer: Tracer
    enabled: bool
    provider: SdkTracerProvider | None = None  # owned here when this module built it (flushed on shutdown)

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()

    @classmethod
    def off(cls) -> Tracing:
        return cls(trace.NoOpTracer(), enabled=False)

    @classmethod
    def with_provider(cls, provider: trace.TracerProvider) -> Tracing:
        return cls(provider.get_tracer(INSTRUMENTATION), enabled=True)

    @contextlib.contextmanager
    def server_span(
        self, name: str, attributes: Mapping[str, str], carrier: Mapping[str, str] | None = None
    ) -> Iterator[trace.Span]:
        """The call's server span, continuing the wallet's W3C ``traceparent`` when it sent one."""
        parent = W3C.extract(carrier) if carrier is not None else None
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.SERVER, attributes=dict(attributes)
        ) as span:
            yield span

    @contextlib.contextmanager
    def step(self, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[trace.Span]:
        with self.tracer.start_as_current_span(name, kind=kind) as span:
            yield span


class _RequestsStartTraces(Sampler):
    """A trace starts at a server span; a client call outside any request (sweeper, probe) is not kept."""

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.SERVER:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "RequestsStartTraces"


SAMPLER = ParentBased(root=_RequestsStartTraces())  # a child follows its parent (the wallet's sampled flag too)


def tracing_for(
    otlp_endpoint: str, service_name: str = "walletgate", environ: Mapping[str, str] | None = None
) -> Tracing:
    """OTLP/HTTP span export when an endpoint is configured, else tracing off.

    The setting wins; without it, the standard ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` turns export on, and the exporter reads its ``OTEL_*`` variables itself.
    """
    environ = os.environ if environ is None else environ
    standard = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not otlp_endpoint and not standard:
        return Tracing.off()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = SdkTracerProvider(resource=Resource.create({"service.name": service_name}), sampler=SAMPLER)
    endpoint = otlp_endpoint.rstrip("/") + "/v1/traces" if otlp_endpoint else None
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider.get_tracer(INSTRUMENTATION), enabled=True, provider=provider)


def finish_server_span(span: trace.Span, attributes: Mapping[str, str | int], status: int) -> None:
    for key, value in attributes.items():
        span.set_attribute(key, value)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
