"""One access-log line and one set of request metrics per request, from one reading of what it did.

``RequestObservationMiddleware`` times every request and, once its response has gone out (or it
failed: 500), logs the access line (logger ``walletgate.access``, see ``gateway.logs``) and
records the request metrics (``Metrics.record_request``), both from the same ``request_facts``.
Proxied calls take the pipeline's own lane (``gateway.pipeline.lane``), which calls
``observe_request`` itself. Probes are logged at DEBUG; ``/healthz``, ``/readyz`` and
``/metrics`` are not counted in the metrics.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import ACCESS_LOGGER, current_trace_id, request_facts
from gateway.metrics import Metrics

_PROBES = frozenset({"/healthz", "/readyz"})  # logged at debug: orchestrators call them every few seconds
_UNOBSERVED_PATHS = frozenset({*_PROBES, "/metrics"})
_log = logging.getLogger(ACCESS_LOGGER)


def observe_request(scope: Scope, status: int, seconds: float, metrics: Metrics, trace_id: str | None = None) -> None:
    """Log the access line and record the metrics of one finished request."""
    facts = request_facts(scope, status, seconds)
    path = scope["path"]
    level = logging.DEBUG if path in _PROBES else logging.INFO
    if _log.isEnabledFor(level):
        _log.log(
            level,
            "%s %s %s",
            facts.method,
            facts.route,
            facts.status,
            extra={
                "interaction_id": facts.interaction_id,
                "trace_id": facts.trace_id or trace_id,
                "method": facts.method,
                "route": facts.route,
                "status": facts.status,
                "latency_ms": round(facts.seconds * 1000, 2),
                "api": facts.api,
                "operation": facts.operation,
                "client_id": facts.wallet,
                "consent_id": facts.consent_id,
            },
        )
    if path not in _UNOBSERVED_PATHS:
        operation = facts.operation or facts.template or "unrouted"  # never a raw path: unbounded labels
        metrics.record_request(facts.api or "gateway", operation, facts.wallet or "", status, facts.seconds)


class RequestObservationMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        trace_id = current_trace_id()

        async def send_and_note(message: Message) -> None:
            nonlocal status, trace_id
            if message["type"] == "http.response.start":
                status = message["status"]
                trace_id = current_trace_id() or trace_id
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            observe_request(scope, status, time.perf_counter() - started, self.metrics, trace_id)
