"""Consents as the pipeline sees them: an in-process cache in front of the consent store.

A warm hit is a dictionary look-up (no database or Redis round trip). An entry lives at most
``ttl`` seconds (``settings.consent_cache_ttl``), the bound on staleness when an invalidation
message is lost. A committed consent change invalidates the entry at once on this instance
(``on_change``, subscribed to the consent package's change feed) and, through the Redis
channel ``walletgate:consent-invalidate``, on every other instance. Concurrent misses for one
consent share one store read; a read that raced an invalidation is neither cached nor handed to a
caller that arrived after the invalidation.

A consent in steady use never makes a call wait for the store: a hit in the last quarter of its
entry's life still answers from the cache and starts one read in the background, which renews
the entry. No entry is ever served past its ``ttl``, so the staleness bound is unchanged; only a
consent that went unused for a while is read on the request path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from consent.errors import ConsentNotFoundError
from consent.model import Consent
from gateway.background import stop_task
from gateway.errors import backend_unavailable
from gateway.metrics import Metrics

log = logging.getLogger("walletgate.consent_cache")

CHANNEL = "walletgate:consent-invalidate"


class ConsentSource(Protocol):
    async def get(self, consent_id: str) -> Consent:
        """The consent, or ``ConsentNotFoundError``."""
        ...


class ConsentCache:
    def __init__(
        self,
        source: ConsentSource,
        *,
        ttl: float,
        redis: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 100_000,
        metrics: Metrics | None = None,
    ) -> None:
        self._source, self._ttl, self._redis, self._clock = source, ttl, redis, clock
        self._max_entries = max_entries
        self._metrics = metrics
        self._entries: dict[str, tuple[float, Consent | None]] = {}
        self._generation: dict[str, int] = {}
        # Bumped whenever generations are forgotten (a sweep) or changes may have been missed (the
        # invalidation channel was lost): a read begun before then cannot tell and is not cached.
        self._epoch = 0
        self._loading: dict[str, asyncio.Future[Consent | None]] = {}
        self._renew_within = ttl / 4
        self._renewing: set[asyncio.Task[Consent | None]] = set()
        self._renewal_failed: set[str] = set()  # not tried again before the entry expires
        self._listener: asyncio.Task[None] | None = None

    async def get(self, consent_id: str) -> Consent | None:
        entry = self._entries.get(consent_id)
        now = self._clock()
        hit = entry is not None and entry[0] > now
        if self._metrics is not None:
            self._metrics.record_cache(hit)
        if hit and entry is not None:
            if (
                entry[0] - now <= self._renew_within
                and consent_id not in self._loading
                and consent_id not in self._renewal_failed
            ):
                self._renew(consent_id)
            return entry[1]
        loading = self._loading.get(consent_id)
        if loading is not None:
            return await asyncio.shield(loading)
        return await self._load(consent_id)

    def _renew(self, consent_id: str) -> None:
        """Read the consent again in the background; the entry is renewed when the read lands. A
        renewal that fails is not tried again for this entry, which then expires as it would have."""

        def renewed(task: asyncio.Task[Consent | None]) -> None:
            self._renewing.discard(task)
            if not task.cancelled() and task.exception() is not None:
                self._renewal_failed.add(consent_id)
                log.warning("renewing a cached consent failed (%s); it is read again once it expires", task.exception())

        task = asyncio.create_task(self._load(consent_id), name="consent-renew")
        self._renewing.add(task)
        task.add_done_callback(renewed)

    def _load(self, consent_id: str) -> Coroutine[Any, Any, Consent | None]:
        """Register a read now (so the next caller shares it, even before it starts) and return it."""
        future: asyncio.Future[Consent | None] = asyncio.get_running_loop().create_future()
        self._loading[consent_id] = future
        return self._read(consent_id, future, (self._epoch, self._generation.get(consent_id, 0)))

    async def _read(
        self, consent_id: str, future: asyncio.Future[Consent | None], generation: tuple[int, int]
    ) -> Consent | None:
        """Read from the store for every caller sharing ``future``; cached unless invalidated meanwhile."""
        try:
            consent: Consent | None = await self._source.get(consent_id)
        except ConsentNotFoundError:
            consent = None
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            if self._loading.get(consent_id) is future:
                del self._loading[consent_id]
        if (self._epoch, self._generation.get(consent_id, 0)) == generation:
            if len(self._entries) >= self._max_entries:
                self._sweep()
            self._entries[consent_id] = (self._clock() + self._ttl, consent)
            self._renewal_failed.discard(consent_id)
        future.set_result(consent)
        return consent

    def invalidate(self, consent_id: str) -> None:
        """Forget the consent; a read already in flight is neither cached nor shared with later callers."""
        self._entries.pop(consent_id, None)
        self._loading.pop(consent_id, None)
        self._renewal_failed.discard(consent_id)
        self._generation[consent_id] = self._generation.get(consent_id, 0) + 1

    async def on_change(self, consent: Consent) -> None:
        """Subscriber for committed consent changes: forget it here and tell every other instance."""
        self.invalidate(consent.consent_id)
        if self._redis is not None:
            try:
                await self._redis.publish(CHANNEL, consent.consent_id)
            except Exception as exc:
                _log_redis_trouble(f"could not publish the invalidation of consent {consent.consent_id}", exc)

    async def start(self) -> None:
        if self._redis is not None and self._listener is None:
            pubsub = self._redis.pubsub()
            await pubsub.subscribe(CHANNEL)
            self._listener = asyncio.create_task(self._follow(pubsub), name="consent-invalidations")

    async def stop(self) -> None:
        await stop_task(self._listener)
        self._listener = None
        renewing = list(self._renewing)
        for task in renewing:
            task.cancel()
        await asyncio.gather(*renewing, return_exceptions=True)

    async def _follow(self, pubsub: Any) -> None:
        """Apply invalidations; when the subscription is lost, resubscribe and forget everything cached."""
        redis = self._redis
        while redis is not None:
            try:
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        data = message["data"]
                        self.invalidate(data.decode() if isinstance(data, bytes) else str(data))
            except Exception as exc:
                _log_redis_trouble("consent invalidation channel lost; resubscribing every second", exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            while True:  # until subscribed again; the cache's ttl bounds staleness meanwhile
                await asyncio.sleep(1.0)
                try:
                    pubsub = redis.pubsub()
                    await pubsub.subscribe(CHANNEL)
                    break
                except Exception as exc:
                    if not backend_unavailable(exc):
                        log.warning("could not resubscribe to consent invalidations; retrying", exc_info=True)
            self._entries.clear()  # changes may have been missed while unsubscribed
            self._epoch += 1
            log.info("consent invalidations followed again")

    def _sweep(self) -> None:
        now = self._clock()
        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._generation = {k: g for k, g in self._generation.items() if k in self._entries}
        self._epoch += 1  # a read in flight may have lost the generation that an invalidation bumped
        self._renewal_failed &= self._entries.keys()


def _log_redis_trouble(message: str, exc: Exception) -> None:
    """One line when Redis cannot be reached; the traceback for anything else."""
    if backend_unavailable(exc):
        log.warning("%s (%s: %s)", message, type(exc).__name__, exc)
    else:
        log.warning(message, exc_info=exc)
