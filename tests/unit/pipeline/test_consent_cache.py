from __future__ import annotations

import asyncio
import dataclasses

from consent.model import ConsentStatus
from gateway.consent_cache import ConsentCache
from tests.unit.pipeline.conftest import MemoryConsents


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_warm_hit_does_not_read_the_store() -> None:
    store = MemoryConsents()
    store.add(consent_id="c-1")
    cache = ConsentCache(store, ttl=1.0, clock=Clock())
    for _ in range(5):
        consent = await cache.get("c-1")
        assert consent is not None
    assert store.reads == 1


async def test_entry_expires_after_ttl() -> None:
    store, clock = MemoryConsents(), Clock()
    store.add(consent_id="c-1")
    cache = ConsentCache(store, ttl=1.0, clock=clock)
    await cache.get("c-1")
    clock.now = 1.01
    await cache.get("c-1")
    assert store.reads == 2


async def test_missing_consent_is_none_and_cached() -> None:
    store = MemoryConsents()
    cache = ConsentCache(store, ttl=1.0, clock=Clock())
    assert await cache.get("nope") is None
    assert await cache.get("nope") is None
    assert store.reads == 1


async def test_change_invalidates_at_once() -> None:
    store = MemoryConsents()
    consent = store.add(consent_id="c-1")
    cache = ConsentCache(store, ttl=60.0, clock=Clock())
    await cache.get("c-1")
    revoked = dataclasses.replace(consent, status=ConsentStatus.REVOKED)
    store.consents["c-1"] = revoked
    await cache.on_change(revoked)
    fresh = await cache.get("c-1")
    assert fresh is not None
    assert fresh.status is ConsentStatus.REVOKED


async def test_concurrent_misses_share_one_read() -> None:
    store = MemoryConsents()
    store.add(consent_id="c-1")
    original = store.get

    async def slow_get(consent_id: str):
        await asyncio.sleep(0.01)
        return await original(consent_id)

    store.get = slow_get  # type: ignore[method-assign]
    cache = ConsentCache(store, ttl=1.0, clock=Clock())
    results = await asyncio.gather(*(cache.get("c-1") for _ in range(10)))
    assert all(r is not None for r in results)
    assert store.reads == 1


async def test_read_racing_an_invalidation_is_not_cached() -> None:
    store = MemoryConsents()
    consent = store.add(consent_id="c-1")
    started = asyncio.Event()
    release = asyncio.Event()
    original = store.get

    async def blocked_get(consent_id: str):
        started.set()
        await release.wait()
        return await original(consent_id)

    store.get = blocked_get  # type: ignore[method-assign]
    cache = ConsentCache(store, ttl=60.0, clock=Clock())
    task = asyncio.create_task(cache.get("c-1"))
    await started.wait()
    await cache.on_change(dataclasses.replace(consent, status=ConsentStatus.REVOKED))
    release.set()
    await task
    store.get = original  # type: ignore[method-assign]
    await cache.get("c-1")
    assert store.reads == 2
