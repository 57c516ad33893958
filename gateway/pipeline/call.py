"""``Call``: one proxied request as it moves through the pipeline.

Each step reads what earlier steps set and fills in its own fields: ``route`` sets
``api``/``operation``/``path_params``, ``authenticate`` sets ``token``, ``authorize`` sets
``consent`` and ``window``, ``limit`` sets ``rate_limit_headers``, ``proxy`` sets the
``upstream_*`` fields, ``validate_response``/``minimise`` set ``response_body`` (and ``minimise``
``record_count`` and ``accounts_read``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from consent.errors import ConsentError
from gateway.errors import GatewayError
from gateway.limiter import Hit, OneTimeKey
from gateway.logs import UNFINISHED_ON_PURPOSE
from gateway.upstream import UpstreamInterruptedError

log = logging.getLogger("walletgate.upstream")

if TYPE_CHECKING:
    from starlette.datastructures import Headers, QueryParams

    from consent.model import Consent
    from gateway.pipeline.runtime import PipelineRuntime
    from gateway.services import Services
    from gateway.upstream import UpstreamStream
    from policies.apis import Operation, PublishedApi


@dataclass(frozen=True, slots=True)
class AccessToken:
    """The verified claims of an RFC 9068 access token that the pipeline uses."""

    jti: str
    client_id: str
    subject: str
    scope: frozenset[str]
    expires_at: float
    consent_id: str | None = None
    jkt: str | None = None  # cnf.jkt: DPoP key thumbprint
    x5t_s256: str | None = None  # cnf.x5t#S256: mTLS certificate thumbprint


@dataclass(slots=True)
class Call:
    services: Services
    runtime: PipelineRuntime
    method: str
    path: str  # the path as received at the gateway
    url: str  # the full URL as the wallet addressed it (DPoP htu)
    headers: Headers
    query: QueryParams
    body: bytes
    client_ip: str | None
    interaction_id: str
    started: float  # time.perf_counter() at arrival
    # route
    api: PublishedApi | None = None
    operation: Operation | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    upstream_path: str = ""  # the path after the API's base path
    # authenticate
    token: AccessToken | None = None
    proof_jti: OneTimeKey | None = None  # the DPoP proof's jti, spent by the limit step (one Redis trip)
    # authorize
    consent: Consent | None = None
    permissions: frozenset[str] = frozenset()  # the consent's permissions, Detail expanded to Basic
    # The accounts this call asks about: the path account, or every selected one for a bulk call (the bank's
    # assertion names them all).
    account_ids: tuple[str, ...] = ()
    window: tuple[datetime | None, datetime | None] = (None, None)  # booking-date window after clipping
    # limit
    attended: bool = False  # x-fapi-customer-ip-address present: the user is there
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    daily_counted: tuple[Hit, ...] = ()  # the daily (frequencyPerDay) hits counted, given back if the bank fails
    counted_on_day: int = 0  # the UTC day (days since the epoch) they were counted on
    # proxy
    forward_headers: dict[str, str] | None = None  # what the bank is sent (``prepare_upstream``)
    upstream_query: dict[str, str] = field(default_factory=dict)  # query sent upstream (window clipped)
    upstream_status: int | None = None
    upstream_headers: dict[str, str] = field(default_factory=dict)
    upstream_body: bytes = b""
    upstream_stream: UpstreamStream | None = None  # a body relayed as it arrives (see ``proxy``), not read whole
    upstream_ms: float = 0.0
    # validate_response / minimise
    response_json: Any = None  # parsed upstream JSON, filtered in place by minimise
    response_body: bytes | None = None  # what the wallet receives
    record_count: int | None = None
    # A served bulk call: the accounts whose records the wallet received (the access record names these).
    # None when the answer was not filtered record by record: the record names ``account_ids``.
    accounts_read: tuple[str, ...] | None = None
    # tracing (only when an exporter is configured)
    trace_id: str | None = None
    # audit
    error: BaseException | None = None
    status: int | None = None  # status sent to the wallet
    streaming: bool = False  # the response relays ``upstream_stream``: the call is settled when it ends
    streamed_bytes: int = 0
    relayed_to_the_end: bool = False  # the relayed body's last byte was sent

    def response(self, settle: Callable[[Call], Awaitable[None]]) -> Response:
        """What the wallet receives once every step has passed. A relayed body calls ``settle`` when it ends."""
        status = self.upstream_status or 502
        headers = {"x-fapi-interaction-id": self.interaction_id, "Cache-Control": "no-store", **self.rate_limit_headers}
        self.status = status
        media_type = self.upstream_headers.get("content-type", "application/json")
        if self.upstream_stream is not None:
            self.streaming = True
            for name in _RELAYED_HEADERS:
                if name in self.upstream_headers:
                    headers[name] = self.upstream_headers[name]
            return _RelayedResponse(self, settle, status, headers, media_type)
        body = self.response_body if self.response_body is not None else self.upstream_body
        return Response(body, status, headers, media_type)

    @property
    def response_bytes(self) -> int:
        return self.streamed_bytes if self.streaming else len(self.response_body or b"")

    @property
    def complete(self) -> bool:
        """The whole response reached the wallet: false when a relayed body ended early (bank or wallet)."""
        return self.relayed_to_the_end if self.streaming else True

    def fail(self, exc: BaseException) -> None:
        """Remember a refusal for the audit record (the error handler renders it)."""
        self.error = exc
        self.status = exc.status if isinstance(exc, GatewayError | ConsentError) else 500
        if isinstance(exc, GatewayError) and self.rate_limit_headers:
            for name, value in self.rate_limit_headers.items():
                exc.headers.setdefault(name, value)


_RELAYED_HEADERS = ("content-length", "content-disposition", "content-encoding")


class _RelayedResponse(StreamingResponse):
    """The bank's body sent on as it arrives; when it ends (or the wallet leaves) the upstream
    connection is released and the call settled, with the bytes actually sent."""

    def __init__(
        self,
        call: Call,
        settle: Callable[[Call], Awaitable[None]],
        status: int,
        headers: dict[str, str],
        media_type: str,
    ) -> None:
        self._call, self._settle = call, settle
        super().__init__(self._relay(), status, headers, media_type)

    async def _relay(self) -> AsyncIterator[bytes]:
        stream = self._call.upstream_stream
        if stream is None:
            return
        async for chunk in stream.chunks():
            self._call.streamed_bytes += len(chunk)
            yield chunk
        self._call.relayed_to_the_end = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except UpstreamInterruptedError as exc:
            # Returning without the body's end has the server close the connection: the wallet sees an
            # incomplete body (chunked, or short of its Content-Length), never a file that looks whole.
            call = self._call
            api = call.api.name if call.api else "?"
            UNFINISHED_ON_PURPOSE.set(True)
            log.warning(
                "upstream %s: the body of interaction %s ended early after %d bytes (%s); the wallet's "
                "connection is closed",
                api,
                call.interaction_id,
                call.streamed_bytes,
                exc,
            )
        finally:
            if self._call.upstream_stream is not None:
                await self._call.upstream_stream.close()
            await self._settle(self._call)
