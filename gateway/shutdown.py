"""Graceful shutdown: stop taking new requests, let the ones in flight finish.

The sequence on SIGTERM (Kubernetes, compose, systemd):

1. ``Drain.begin()``: ``/readyz`` answers 503 so the load balancer takes this replica out, and
   ``DrainMiddleware`` refuses every new request with 503 + ``Retry-After`` (the Open Banking
   error body; nginx's ``proxy_next_upstream http_503`` retries idempotent calls elsewhere).
   ``/healthz`` keeps answering 200 so the orchestrator does not kill a draining process.
2. After ``settings.shutdown_grace`` seconds uvicorn's own handler runs: it closes the listening
   socket and waits for the connections still answering a request.
3. The app's lifespan shutdown closes the back-ends once nothing is in flight.

uvicorn installs its signal handlers before the lifespan starts, so ``install_signal_drain``
(called from the lifespan) wraps them; outside the main thread (tests running uvicorn in a
thread) it does nothing and ``Drain.begin()`` is called directly.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import ServiceUnavailableError, handle_error

ALWAYS_ANSWERED = frozenset({"/healthz", "/readyz"})  # probes: never refused, never counted in flight
RETRY_AFTER_SECONDS = 1


class Drain:
    """The draining flag and the count of requests in flight, shared by middleware and probes."""

    __slots__ = ("draining", "in_flight")

    def __init__(self) -> None:
        self.draining = False
        self.in_flight = 0

    def begin(self) -> None:
        self.draining = True

    def refusal(self) -> ServiceUnavailableError:
        """What a request that arrives while draining is answered (503; it may be retried elsewhere)."""
        return ServiceUnavailableError(
            "This gateway instance is shutting down; retry the request.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
        )


class DrainMiddleware:
    """Count requests in flight; while draining, refuse new ones with 503 and ``Connection: close``."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ALWAYS_ANSWERED:
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            response = await handle_error(Request(scope), self.drain.refusal())
            await response(scope, receive, send)
            return
        self.drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.in_flight -= 1


Handler = Callable[[int, FrameType | None], Any]


def install_signal_drain(drain: Drain, grace: float) -> Callable[[], None]:
    """Wrap the current SIGTERM/SIGINT handlers (uvicorn's) so a signal starts draining first.

    SIGTERM hands over to the wrapped handler after ``grace`` seconds; SIGINT (Ctrl-C) and a
    second signal hand over at once. Returns a function that puts the wrapped handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    wrapped: dict[int, Handler] = {}
    for handled in (signal.SIGTERM, signal.SIGINT):
        current = signal.getsignal(handled)
        if callable(current):
            wrapped[handled] = current
    timers: list[threading.Timer] = []

    def on_signal(sig: int, frame: FrameType | None) -> None:
        handover = wrapped[sig]
        if sig == signal.SIGTERM and not drain.draining and grace > 0:
            drain.begin()
            timer = threading.Timer(grace, handover, args=(sig, None))
            timer.daemon = True
            timers.append(timer)
            timer.start()
            return
        drain.begin()
        handover(sig, frame)

    for signum in wrapped:
        signal.signal(signum, on_signal)

    def restore() -> None:
        for timer in timers:
            timer.cancel()
        for signum, handler in wrapped.items():
            if signal.getsignal(signum) is on_signal:
                signal.signal(signum, handler)

    return restore
