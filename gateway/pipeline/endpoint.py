"""Where a published API's call becomes a ``Call``: ``serve`` reads the request and runs the pipeline.

``gateway.pipeline.lane`` hands it the calls to published APIs; ``start_pipeline`` builds what the
pipeline holds while the gateway runs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from gateway.body_limit import DEFAULT_MAX_BODY_BYTES
from gateway.consent_cache import ConsentCache
from gateway.errors import PayloadTooLargeError, ServiceUnavailableError, interaction_id
from gateway.oauth.http import wire_path
from gateway.pipeline import handle
from gateway.pipeline.audit_writer import AuditWriter
from gateway.pipeline.call import Call
from gateway.pipeline.headers import RequestHeaders
from gateway.pipeline.runtime import PipelineRuntime
from gateway.published_store import PublishedApiStore
from gateway.publishing import PublishedApis
from gateway.services import Services
from gateway.settings import SettingsError
from gateway.upstream import UpstreamClient

MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES


async def serve(request: Request) -> Response:
    services: Services = request.app.state.services
    runtime = services.pipeline
    if runtime is None:
        raise ServiceUnavailableError("The gateway is starting; retry later.")
    scope = request.scope
    path = _url_path(scope["path"])
    query = scope["query_string"].decode("latin-1")
    call = Call(
        services=services,
        runtime=runtime,
        method=request.method,
        path=path,
        url=services.settings.issuer_url + wire_path(scope) + (f"?{query}" if query else ""),  # DPoP htu
        headers=RequestHeaders(scope),
        query=request.query_params,
        body=await _body(request),
        client_ip=request.client.host if request.client else None,
        interaction_id=interaction_id(request),
        started=time.perf_counter(),
    )
    try:
        return await handle(call)
    finally:
        _leave_facts(request, call)


def _leave_facts(request: Request, call: Call) -> None:
    """What the access log and request metrics label a call with (they read ``request.state``)."""
    state = request.state
    state.api, state.operation = call.api, call.operation
    if call.trace_id is not None:
        state.trace_id = call.trace_id
    if call.token is not None:
        state.wallet, state.consent_id = call.token.client_id, call.token.consent_id


def _url_path(path: str) -> str:
    """The decoded path as ``request.url.path`` gives it (the characters that would end a path escaped),
    without building the whole URL."""
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


async def _body(request: Request) -> bytes:
    """The request body, refused past ``MAX_BODY_BYTES`` without reading the rest. A request that declares
    neither a length nor chunks has none (RFC 9112 §6.3): nothing is read."""
    headers = request.headers
    declared = headers.get("content-length", "")
    if not declared and "transfer-encoding" not in headers:
        return b""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLargeError(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def start_pipeline(services: Services, *, passthrough: bool = False) -> Callable[[], Awaitable[None]]:
    """Build the pipeline's back-ends into ``services.pipeline``; returns the function that stops them.

    ``passthrough`` (benchmark only, refused in production mode) turns every step but routing off.
    """
    settings = services.settings
    if passthrough and not settings.demo:
        raise SettingsError(["pipeline passthrough is for benchmarks only; refused in production mode"])
    if services.consents is None:
        raise SettingsError(["the consent store must be built before the pipeline"])
    consents = ConsentCache(
        services.consents, ttl=settings.consent_cache_ttl, redis=services.redis, metrics=services.metrics
    )
    unsubscribe = services.consent_changes.subscribe(consents.on_change)
    runtime = PipelineRuntime(
        published=PublishedApis(
            settings,
            services.policies.apis,
            services.policies.permissions,
            store=PublishedApiStore(services.engine),
            policies=services.policies,
        ),
        upstream=UpstreamClient(metrics=services.metrics),
        consents=consents,
        audit=AuditWriter(services.consents.record_access),
        tracing=services.tracing,
        passthrough=passthrough,
    )
    await runtime.start()
    services.pipeline = runtime

    async def stop() -> None:
        unsubscribe()
        services.pipeline = None
        await runtime.stop()

    return stop
