"""SIGTERM on a real uvicorn process: new requests get 503, the one in flight still finishes."""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
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


def test_draining_refuses_new_requests_while_the_in_flight_one_completes(gateway_process: GatewayFactory) -> None:
    server = gateway_process(shutdown_grace="2")
    assert server.proc is not None
    slow_result: list[tuple[int, dict[str, str], Any]] = []
    slow = threading.Thread(target=lambda: slow_result.append(_get(server.url + "/_ops_test/slow?seconds=3")))
    slow.start()
    time.sleep(0.5)  # the slow request is now in flight

    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    status, headers, body = _get(server.url + "/open-banking/v4.0/aisp/accounts")
    assert status == 503
    assert headers["retry-after"] == "1"
    assert body["Message"] == "This gateway instance is shutting down; retry the request."
    assert body["Errors"][0]["ErrorCode"] == "U028"

    status, _, body = _get(server.url + "/readyz")
    assert status == 503
    assert "draining" in body["failed"]
    assert body["checks"]["draining"]["detail"] == "shutting down; not taking new requests (1 in flight)"
    assert _get(server.url + "/healthz")[0] == 200

    slow.join(15)
    assert slow_result == [(200, slow_result[0][1], {"slept": True})]
    server.proc.wait(15)
    assert "Application shutdown complete" in log_text(server)


def test_without_grace_sigterm_closes_the_listener_but_finishes_the_request(gateway_process: GatewayFactory) -> None:
    server = gateway_process()
    assert server.proc is not None
    slow_result: list[int] = []
    slow = threading.Thread(target=lambda: slow_result.append(_get(server.url + "/_ops_test/slow?seconds=2")[0]))
    slow.start()
    time.sleep(0.5)
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    with pytest.raises(urllib.error.URLError):
        _get(server.url + "/healthz", timeout=2)
    slow.join(15)
    assert slow_result == [200]
    server.proc.wait(15)
