"""Tracing: one OpenTelemetry server span per proxied request, a child span per pipeline step.

With no exporter configured (``settings.otlp_endpoint`` empty) tracing is off and the
pipeline skips span bookkeeping entirely, so it costs nothing on the hot path. Exporters and
metrics are configured in their own module; ``Tracing`` only needs a tracer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

INSTRUMENTATION = "walletgate.pipeline"


@dataclass(frozen=True, slots=True)
class Tracing:
    tracer: Tracer
    enabled: bool

    @classmethod
    def off(cls) -> Tracing:
        return cls(trace.NoOpTracer(), enabled=False)

    @classmethod
    def with_provider(cls, provider: trace.TracerProvider) -> Tracing:
        return cls(provider.get_tracer(INSTRUMENTATION), enabled=True)

    @contextlib.contextmanager
    def server_span(self, name: str, attributes: Mapping[str, str]) -> Iterator[trace.Span]:
        with self.tracer.start_as_current_span(name, kind=SpanKind.SERVER, attributes=dict(attributes)) as span:
            yield span

    @contextlib.contextmanager
    def step(self, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Iterator[trace.Span]:
        with self.tracer.start_as_current_span(name, kind=kind) as span:
            yield span


def tracing_for(otlp_endpoint: str) -> Tracing:
    """Tracing through the global provider when an exporter is configured, else off."""
    if not otlp_endpoint:
        return Tracing.off()
    return Tracing.with_provider(trace.get_tracer_provider())


def finish_server_span(span: trace.Span, attributes: Mapping[str, str | int], status: int) -> None:
    for key, value in attributes.items():
        span.set_attribute(key, value)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
