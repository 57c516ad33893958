"""SIGTERM on a real uvicorn process: new requests get 503, the one in flight still finishes."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.ops.conftest import GatewayFactory, log_text

pytestmark = pytest.mark.integration


def _get(url: str, timeout: float = 10) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback test server
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read())


def _start_slow(url: str, seconds: float, marker: Path, results: list[Any]) -> threading.Thread:
    """Send a request the server holds for ``seconds``; return once the app is handling it."""
    query = urllib.parse.urlencode({"seconds": seconds, "marker": str(marker)})
    thread = threading.Thread(target=lambda: results.append(_get(f"{url}/_ops_test/slow?{query}", timeout=30)))
    thread.start()
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, "the slow request never reached the app"
        time.sleep(0.02)
    return thread


def _refused_within(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _get(url, timeout=2)
        except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
            return True
        time.sleep(0.05)
    return False


def test_draining_refuses_new_requests_while_the_in_flight_one_completes(
    gateway_process: GatewayFactory, tmp_path: Path
) -> None:
    server = gateway_process(shutdown_grace="4")
    assert server.proc is not None
    slow_result: list[tuple[int, dict[str, str], Any]] = []
    slow = _start_slow(server.url, 5, tmp_path / "in-flight", slow_result)

    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    status, headers, body = _get(server.url + "/open-banking/v4.0/aisp/accounts")
    assert status == 503
    assert headers["retry-after"] == "1"
    assert body["Message"] == "This gateway instance is shutting down; retry the request."
    assert body["Errors"][0]["ErrorCode"] == "U000"

    status, _, body = _get(server.url + "/readyz")
    assert status == 503
    assert "draining" in body["failed"]
    assert body["checks"]["draining"]["detail"] == "shutting down; not taking new requests (1 in flight)"
    assert _get(server.url + "/healthz")[0] == 200

    slow.join(30)
    assert slow_result == [(200, slow_result[0][1], {"slept": True})]
    server.proc.wait(30)
    assert "Application shutdown complete" in log_text(server)


def test_without_grace_sigterm_closes_the_listener_but_finishes_the_request(
    gateway_process: GatewayFactory, tmp_path: Path
) -> None:
    server = gateway_process()
    assert server.proc is not None
    slow_result: list[tuple[int, dict[str, str], Any]] = []
    slow = _start_slow(server.url, 3, tmp_path / "in-flight", slow_result)
    server.proc.send_signal(signal.SIGTERM)
    assert _refused_within(server.url + "/healthz", 10), "the listener stayed open after SIGTERM"
    assert slow.is_alive(), "the in-flight request ended before the listener closed"
    slow.join(30)
    assert [status for status, _, _ in slow_result] == [200]
    server.proc.wait(30)
