"""Two gateway instances sharing Redis: a change seen by one is forgotten by the other at once."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

from redis.asyncio import Redis

from consent.model import ConsentStatus
from gateway.consent_cache import ConsentCache
from tests.unit.pipeline.conftest import MemoryConsents


async def _sees_revoked(cache: ConsentCache, tries: int) -> None:
    """Poll ``cache`` (10 ms apart) until consent c-1 reads as revoked; fail after ``tries``."""
    for _ in range(tries):
        seen = await cache.get("c-1")
        if seen is not None and seen.status is ConsentStatus.REVOKED:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"consent c-1 still reads {seen.status if seen else None} after {tries} tries")


async def test_consent_change_invalidates_the_cache_of_another_instance(redis_url: str) -> None:
    store = MemoryConsents()
    consent = store.add(consent_id="c-1")
    redis_a, redis_b = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a = ConsentCache(store, ttl=60.0, redis=redis_a)
    b = ConsentCache(store, ttl=60.0, redis=redis_b)
    await a.start()
    await b.start()
    try:
        await b.get("c-1")
        revoked = dataclasses.replace(consent, status=ConsentStatus.REVOKED)
        store.consents["c-1"] = revoked
        await a.on_change(revoked)  # instance A committed the change
        await _sees_revoked(b, tries=100)
    finally:
        await a.stop()
        await b.stop()
        await redis_a.aclose()
        await redis_b.aclose()


async def test_lost_subscription_is_renewed_and_the_cache_forgotten(redis_url: str) -> None:
    store = MemoryConsents()
    consent = store.add(consent_id="c-1")
    name = f"wg-test-{uuid.uuid4().hex[:8]}"
    subscriber, admin = Redis.from_url(redis_url, client_name=name), Redis.from_url(redis_url)
    cache = ConsentCache(store, ttl=60.0, redis=subscriber)
    await cache.start()
    try:
        await cache.get("c-1")
        for client in await admin.client_list():
            if client.get("name") == name:
                await admin.client_kill_filter(_id=client["id"])
        store.consents["c-1"] = dataclasses.replace(consent, status=ConsentStatus.REVOKED)
        await _sees_revoked(cache, tries=300)  # the listener waits a second before resubscribing
    finally:
        await cache.stop()
        await subscriber.aclose()
        await admin.aclose()
