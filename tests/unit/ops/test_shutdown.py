"""DrainMiddleware: counts requests in flight and refuses new ones while draining."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway.shutdown import Drain, DrainMiddleware, install_signal_drain


def _app(drain: Drain, seen: list[int]) -> DrainMiddleware:
    async def hello(request: Request) -> Response:
        seen.append(drain.in_flight)
        return PlainTextResponse("hello")

    routes = [Route(path, hello) for path in ("/hello", "/healthz", "/readyz", "/oauth/token")]
    return DrainMiddleware(Starlette(routes=routes), drain)


def test_requests_are_counted_while_in_flight() -> None:
    drain, seen = Drain(), list[int]()
    client = TestClient(_app(drain, seen))
    assert client.get("/hello").text == "hello"
    assert seen == [1]
    assert drain.in_flight == 0


def test_draining_refuses_new_api_requests_with_503_and_retry_after() -> None:
    drain, seen = Drain(), list[int]()
    drain.begin()
    response = TestClient(_app(drain, seen)).get("/hello", headers={"x-fapi-interaction-id": "ignored"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["connection"] == "close"
    body = response.json()
    assert body["Code"] == "503 ServiceUnavailable"
    assert body["Message"] == "This gateway instance is shutting down; retry the request."
    assert body["Errors"][0]["ErrorCode"] == "U000"
    assert seen == []


def test_draining_refuses_oauth_requests_in_the_oauth_error_format() -> None:
    drain, seen = Drain(), list[int]()
    drain.begin()
    response = TestClient(_app(drain, seen)).get("/oauth/token")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response.headers["retry-after"] == "1"


def test_probes_still_answer_while_draining() -> None:
    drain, seen = Drain(), list[int]()
    drain.begin()
    client = TestClient(_app(drain, seen))
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_sigterm_starts_draining_and_hands_over_after_the_grace() -> None:
    drain, handed = Drain(), threading.Event()

    def previous(sig: int, frame: FrameType | None) -> None:
        handed.set()

    before = signal.signal(signal.SIGTERM, previous)
    try:
        restore = install_signal_drain(drain, grace=0.3)
        started = time.monotonic()
        signal.raise_signal(signal.SIGTERM)
        assert drain.draining
        assert not handed.is_set()
        assert handed.wait(5)
        assert time.monotonic() - started >= 0.25
        restore()
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_second_sigterm_hands_over_at_once() -> None:
    drain, calls = Drain(), []

    def previous(sig: int, frame: FrameType | None) -> None:
        calls.append(sig)

    before = signal.signal(signal.SIGTERM, previous)
    try:
        restore = install_signal_drain(drain, grace=30)
        signal.raise_signal(signal.SIGTERM)
        assert calls == []
        signal.raise_signal(signal.SIGTERM)
        assert calls == [signal.SIGTERM]
        restore()
    finally:
        signal.signal(signal.SIGTERM, before)
