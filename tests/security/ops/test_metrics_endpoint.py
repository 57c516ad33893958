"""GET /metrics is not public: only the configured scrape token opens it."""

from __future__ import annotations

import urllib.error
import urllib.request

import orjson
import pytest

from tests.integration.ops.conftest import GatewayFactory
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.integration

TOKEN = "scrape-token-for-tests-0123456789"


def _get(server: ServerProcess, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback test server
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "The metrics endpoint needs Authorization: Bearer with the metrics token."),
        (
            {"Authorization": "Basic " + TOKEN},
            "The metrics endpoint needs Authorization: Bearer with the metrics token.",
        ),
        ({"Authorization": "Bearer wrong-" + TOKEN}, "The metrics token is wrong."),
        ({"Authorization": "Bearer " + TOKEN[:-1]}, "The metrics token is wrong."),
    ],
)
def test_metrics_refuses_without_the_scrape_token(
    gateway_process: GatewayFactory, headers: dict[str, str], message: str
) -> None:
    server = gateway_process(metrics_token=TOKEN)
    status, response_headers, body = _get(server, "/metrics", headers)
    assert status == 401
    assert response_headers["www-authenticate"] == 'Bearer realm="walletgate-metrics"'
    error = orjson.loads(body)
    assert error["Message"] == message
    assert error["Errors"][0]["Path"] == "Authorization"
    assert b"walletgate_requests_total" not in body


def test_metrics_is_off_when_no_token_is_configured(gateway_process: GatewayFactory) -> None:
    server = gateway_process()
    status, _, body = _get(server, "/metrics", {"Authorization": "Bearer "})
    assert status == 404
    assert orjson.loads(body)["Message"] == ("The metrics endpoint is off; set WALLETGATE_METRICS_TOKEN to turn it on.")


def test_metrics_with_the_token_shows_recorded_requests(gateway_process: GatewayFactory) -> None:
    server = gateway_process(metrics_token=TOKEN)
    _get(server, "/open-banking/v4.0/aisp/accounts")
    _get(server, "/jwks")
    status, headers, body = _get(server, "/metrics", {"Authorization": "Bearer " + TOKEN})
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    assert 'walletgate_requests_total{api="gateway",operation="/jwks",status="200",wallet=""} 1.0' in text
    assert "walletgate_request_duration_seconds_bucket" in text
    assert 'operation="/metrics"' not in text
