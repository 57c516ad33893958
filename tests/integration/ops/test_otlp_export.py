"""Metrics leave over OTLP/HTTP to a collector: a real loopback HTTP server stands in for it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from gateway.metrics import Metrics
from gateway.settings import Settings

pytestmark = pytest.mark.integration


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    received: list[tuple[str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def _names(body: bytes) -> set[str]:
    request = ExportMetricsServiceRequest.FromString(body)
    return {m.name for rm in request.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}


def test_metrics_are_exported_to_the_configured_otlp_endpoint(
    collector: tuple[str, list[tuple[str, bytes]]], settings_factory: Callable[..., Settings]
) -> None:
    url, received = collector
    metrics = Metrics.from_settings(settings_factory(otlp_endpoint=url), environ={})
    metrics.record_request("uk-ob-accounts-v4", "GetAccounts", "wallet-1", 200, 0.01)
    metrics.record_token_issued("client_credentials")
    assert metrics.exporting
    metrics.shutdown()
    assert received, "nothing reached the collector"
    path, body = received[-1]
    assert path == "/v1/metrics"
    assert {"walletgate.requests", "walletgate.request.duration", "walletgate.tokens.issued"} <= _names(body)


def test_the_standard_otel_variable_turns_export_on(
    collector: tuple[str, list[tuple[str, bytes]]],
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", url + "/custom/metrics")
    metrics = Metrics.from_settings(settings_factory())
    metrics.record_cache(hit=True)
    metrics.shutdown()
    assert [path for path, _ in received] == ["/custom/metrics"]


def test_without_an_endpoint_nothing_is_exported(settings_factory: Callable[..., Settings]) -> None:
    metrics = Metrics.from_settings(settings_factory(), environ={})
    metrics.record_cache(hit=False)
    assert "walletgate_consent_cache_lookups_total" in metrics.prometheus_text().decode()
    assert not metrics.exporting
    metrics.shutdown()
