"""The pooled HTTP client to the banks' upstreams, with timeouts, bounded retries and circuit breakers.

One ``aiohttp.ClientSession`` per process (keep-alive connection pool), opened by the app's
lifespan. Only idempotent methods are retried, and only when the connection could not be
made (aiohttp itself resends an idempotent call once when a kept-alive connection was found
closed). Each upstream has a circuit breaker: after
``failure_threshold`` consecutive failures it opens, and calls are refused at once with 503
and ``Retry-After`` until ``open_seconds`` have passed; then one trial call decides. Failures
become ``UpstreamError`` (502) with a message that says nothing of the upstream's internals.

A body is read whole (at most ``max_body_bytes``) unless the caller's ``stream`` test accepts the
answer when its headers arrive: then it is handed over as an ``UpstreamStream`` to relay chunk by
chunk as the bank sends them (a statement file, say), with no size cap and no copy held.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import NoReturn

import aiohttp
from yarl import URL

from gateway.errors import ServiceUnavailableError, UpstreamError
from gateway.metrics import Metrics

log = logging.getLogger("walletgate.upstream")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A connection that could not be made is safe to retry. A kept-alive connection found closed
# is resent once by aiohttp itself (idempotent methods only), so it is not retried here again.
_RETRYABLE = (aiohttp.ClientConnectorError,)


class UpstreamInterruptedError(Exception):
    """The bank's body broke off (connection dropped, read timeout) while it was being relayed."""


class UpstreamStream:
    """An answer whose body is relayed as it arrives; ``close`` (idempotent) gives its connection back
    when the body was read to the end, and drops it otherwise. A body that breaks off raises
    ``UpstreamInterruptedError`` and is charged to the upstream's breaker and error metric."""

    __slots__ = ("_response", "finished", "interrupted")

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.finished = False
        self.interrupted: Callable[[], None] | None = None  # set by the client: what a broken-off body costs

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            if self.interrupted is not None:
                self.interrupted()
            raise UpstreamInterruptedError(f"{type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        if self.finished:
            return
        self.finished = True
        if not self._response.content.at_eof():
            self._response.close()
        self._response.release()
        await self._response.wait_for_close()


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes
    stream: UpstreamStream | None = None  # set instead of ``body`` when the caller's ``stream`` test accepted it


StreamTest = Callable[[int, Mapping[str, str]], bool]  # (status, headers) → relay the body as it arrives


class _UnreadableError(Exception):
    """An answer the gateway will not read (too large, compressed though it asked for none, or a redirect).

    The bank is answering, so its breaker is not charged; ``kind`` is the metric's, ``reason`` the
    wallet's."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


_IDENTITY = frozenset({"", "identity"})


def _too_large(cap: int) -> _UnreadableError:
    return _UnreadableError("too_large", f"is larger than the gateway reads ({cap} bytes)")


@dataclass(frozen=True, slots=True)
class UpstreamOptions:
    connect_timeout: float = 2.0
    read_timeout: float = 10.0
    retries: int = 2  # extra attempts for idempotent methods on connect errors
    failure_threshold: int = 5
    open_seconds: float = 10.0
    pool_size: int = 256
    max_body_bytes: int = 16 * 1024 * 1024


class CircuitBreaker:
    """Closed → (threshold consecutive failures) → open → (open_seconds) → half-open → one trial."""

    def __init__(self, threshold: int, open_seconds: float, clock: Callable[[], float]) -> None:
        self._threshold, self._open_seconds, self._clock = threshold, open_seconds, clock
        self._failures = 0
        self._open_until = 0.0
        self._trial = False

    def before(self) -> None:
        """Refuse with 503 while open; let exactly one trial through once the wait is over."""
        if self._failures < self._threshold:
            return
        remaining = self._open_until - self._clock()
        if remaining > 0 or self._trial:
            retry = max(1, math.ceil(remaining))
            raise ServiceUnavailableError(
                "The bank is not answering; retry later.", headers={"Retry-After": str(retry)}
            )
        self._trial = True

    def success(self) -> None:
        self._failures, self._trial = 0, False

    def failure(self) -> None:
        self._failures += 1
        self._trial = False
        if self._failures >= self._threshold:
            self._open_until = self._clock() + self._open_seconds

    @property
    def recovering(self) -> bool:
        """A failure or trial is on record: the next success closes the breaker."""
        return self._failures > 0

    @property
    def is_open(self) -> bool:
        return self._failures >= self._threshold and self._open_until > self._clock()


class UpstreamClient:
    def __init__(
        self,
        options: UpstreamOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.options = options or UpstreamOptions()
        self._clock = clock
        self._metrics = metrics
        self._session: aiohttp.ClientSession | None = None
        self._breakers: dict[str, CircuitBreaker] = {}

    async def start(self) -> None:
        if self._session is None:
            o = self.options
            connector = aiohttp.TCPConnector(limit=o.pool_size, limit_per_host=o.pool_size, ttl_dns_cache=300)
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=o.connect_timeout, sock_read=o.read_timeout)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=False,
                headers={"Accept-Encoding": "identity"},  # a body is read, validated and filtered as sent
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def breaker(self, upstream: str) -> CircuitBreaker:
        breaker = self._breakers.get(upstream)
        if breaker is None:
            o = self.options
            breaker = self._breakers[upstream] = CircuitBreaker(o.failure_threshold, o.open_seconds, self._clock)
        return breaker

    async def request(
        self,
        upstream: str,
        method: str,
        url: str | URL,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        stream: StreamTest | None = None,
    ) -> UpstreamResponse:
        """One call to ``upstream`` (the breaker's key, e.g. its base URL). 5xx → ``UpstreamError``.

        A 2xx answer that ``stream`` accepts comes back with ``stream`` set; the caller must close it. A redirect
        is never followed (it could lead the call, and the gateway's assertion, to any host): it is a 502.
        """
        if self._session is None:
            raise ServiceUnavailableError("The gateway is starting or stopping; retry later.")
        breaker = self.breaker(upstream)
        try:
            breaker.before()
        except ServiceUnavailableError:
            self._note(upstream, "circuit_open", breaker)
            raise
        attempts = 1 + (self.options.retries if method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                response = await self._once(method, url, params, headers, body, stream)
            except _RETRYABLE as exc:
                if attempt + 1 < attempts:
                    await asyncio.sleep(0.01 * (attempt + 1))
                    continue
                self._fail(upstream, breaker, "connect", f"{method} {url} failed: {exc!r}")
            except TimeoutError:
                self._fail(upstream, breaker, "timeout", f"{method} {url} timed out")
            except _UnreadableError as exc:
                log.warning("upstream %s: %s %s: %s", upstream, method, url, exc.reason)
                self._note(upstream, exc.kind, breaker)
                raise UpstreamError(f"The bank's answer {exc.reason}; quote the Id when you report it.") from None
            except aiohttp.ClientError as exc:
                self._fail(upstream, breaker, "connect", f"{method} {url} failed: {exc!r}")
            if response.status >= 500:
                self._fail(upstream, breaker, "status_5xx", f"{method} {url} answered {response.status}")
            if breaker.recovering:
                self._note(upstream, None, breaker)
            breaker.success()
            if response.stream is not None:
                response.stream.interrupted = lambda: self._interrupted(upstream, breaker)
            return response
        raise UpstreamError()  # pragma: no cover - the loop always returns or raises

    def _fail(self, upstream: str, breaker: CircuitBreaker, kind: str, what: str) -> NoReturn:
        breaker.failure()
        log.warning("upstream %s: %s", upstream, what)
        self._note(upstream, kind, breaker)
        raise UpstreamError() from None

    def _interrupted(self, upstream: str, breaker: CircuitBreaker) -> None:
        breaker.failure()
        self._note(upstream, "interrupted", breaker)

    def _note(self, upstream: str, kind: str | None, breaker: CircuitBreaker) -> None:
        if self._metrics is None:
            return
        if kind is not None:
            self._metrics.record_upstream_error(upstream, kind)
        self._metrics.record_circuit_state(upstream, "open" if breaker.is_open else "closed")

    async def _once(
        self,
        method: str,
        url: str | URL,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        stream: StreamTest | None = None,
    ) -> UpstreamResponse:
        session = self._session
        if session is None:
            raise aiohttp.ClientConnectionError("session closed")
        context = session.request(method, url, params=params or None, headers=headers, data=body, allow_redirects=False)
        response = await context.__aenter__()
        handed_over = False
        try:
            if 300 <= response.status < 400:
                raise _UnreadableError(
                    "redirect", f"is a redirect ({response.status}), which the gateway does not follow"
                )
            if stream is not None and response.status < 400 and stream(response.status, response.headers):
                handed_over = True
                return UpstreamResponse(response.status, response.headers, b"", UpstreamStream(response))
            encoding = response.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in _IDENTITY:
                raise _UnreadableError("compressed", f"is compressed ({encoding}) although the gateway asked for none")
            cap = self.options.max_body_bytes
            if response.content_length is not None:
                if response.content_length > cap:
                    raise _too_large(cap)
                return UpstreamResponse(response.status, response.headers, await response.read())
            chunks, size = [], 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > cap:
                    raise _too_large(cap)
                chunks.append(chunk)
            return UpstreamResponse(response.status, response.headers, b"".join(chunks))
        finally:
            if not handed_over:
                await context.__aexit__(None, None, None)
