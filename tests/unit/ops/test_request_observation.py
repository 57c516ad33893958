"""The access log and request metrics read what the pipeline leaves on ``request.state``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway.interaction import InteractionIdMiddleware
from gateway.logs import ACCESS_LOGGER
from gateway.metrics import Metrics
from gateway.observation import RequestObservationMiddleware


@dataclass(frozen=True)
class _Operation:
    operation_id: str


async def proxied(request: Request) -> Response:
    """Stands in for the pipeline: it labels the request, then answers."""
    request.state.api = "uk-ob-accounts-v4"
    request.state.operation = _Operation("GetAccountBalances")  # the object is fine too
    request.state.wallet = "wallet-1"
    request.state.consent_id = "aac-123"
    request.state.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    return PlainTextResponse("ok")


async def plain(request: Request) -> Response:
    return PlainTextResponse("plain")


async def crash(request: Request) -> Response:
    raise RuntimeError("boom")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def client(metrics: Metrics) -> TestClient:
    app = Starlette(
        routes=[
            Route("/accounts/{account_id}/balances", proxied),
            Route("/clients/{client_id}", plain),
            Route("/crash", crash),
        ],
        middleware=[
            Middleware(InteractionIdMiddleware),
            Middleware(RequestObservationMiddleware, metrics=metrics),
        ],
    )
    return TestClient(app, raise_server_exceptions=False)


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == ACCESS_LOGGER]


def test_access_line_carries_the_pipeline_labels_and_the_route_template(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, ACCESS_LOGGER)
    response = client.get("/accounts/22289/balances?fromBookingDateTime=2026-01-01")
    (record,) = _access(caplog)
    assert record.route == "/accounts/{account_id}/balances"  # type: ignore[attr-defined]
    assert record.status == 200  # type: ignore[attr-defined]
    assert record.api == "uk-ob-accounts-v4"  # type: ignore[attr-defined]
    assert record.operation == "GetAccountBalances"  # type: ignore[attr-defined]
    assert record.client_id == "wallet-1"  # type: ignore[attr-defined]
    assert record.consent_id == "aac-123"  # type: ignore[attr-defined]
    assert record.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"  # type: ignore[attr-defined]
    assert record.interaction_id == response.headers["x-fapi-interaction-id"]  # type: ignore[attr-defined]
    assert record.getMessage() == "GET /accounts/{account_id}/balances 200"


def test_a_failing_request_is_logged_and_counted_as_500(
    client: TestClient, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, ACCESS_LOGGER)
    assert client.get("/crash").status_code == 500
    assert [r.status for r in _access(caplog)] == [500]  # type: ignore[attr-defined]
    assert 'operation="/crash",status="500"' in metrics.prometheus_text().decode()


def test_metrics_use_the_pipeline_labels(client: TestClient, metrics: Metrics) -> None:
    client.get("/accounts/22289/balances")
    text = metrics.prometheus_text().decode()
    assert (
        'walletgate_requests_total{api="uk-ob-accounts-v4",operation="GetAccountBalances",status="200",'
        'wallet="wallet-1"} 1.0'
    ) in text


def test_metrics_label_routes_by_template_and_never_by_raw_path(client: TestClient, metrics: Metrics) -> None:
    client.get("/clients/abc")
    client.get("/clients/def")
    client.get("/no/such/path/4111111111111111")
    text = metrics.prometheus_text().decode()
    assert (
        'walletgate_requests_total{api="gateway",operation="/clients/{client_id}",status="200",wallet=""} 2.0' in text
    )
    assert 'operation="unrouted",status="404"' in text
    assert "abc" not in text
    assert "4111111111111111" not in text
