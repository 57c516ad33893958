from __future__ import annotations

import asyncio
import dataclasses

import pytest

from consent.model import Consent, ConsentStatus
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


class HeldStore(MemoryConsents):
    """A read takes the consent as it is when the read begins, then, once ``hold`` is set, waits
    for ``release`` before answering, so a test can act while a read is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.hold, self.release, self.failing = False, asyncio.Event(), False

    async def get(self, consent_id: str) -> Consent:
        if self.failing:
            self.reads += 1
            raise ConnectionError("the database is gone")
        consent = await super().get(consent_id)
        if self.hold:
            await self.release.wait()
        return consent


async def _warm() -> tuple[HeldStore, Clock, ConsentCache]:
    """A cache (ttl 1 s) holding consent c-1, read once from the store at time 0."""
    store, clock = HeldStore(), Clock()
    store.add(consent_id="c-1")
    cache = ConsentCache(store, ttl=1.0, clock=clock)
    await cache.get("c-1")
    return store, clock, cache


async def _settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_hit_in_the_last_quarter_of_its_life_answers_from_the_cache_and_renews_it() -> None:
    store, clock, cache = await _warm()
    clock.now = 0.8
    assert await cache.get("c-1") is not None
    assert store.reads == 1  # answered before the store was asked again
    await _settled()
    assert store.reads == 2
    clock.now = 1.5  # past the first entry's life, inside the renewed one's
    await cache.get("c-1")
    assert store.reads == 2


async def test_a_hit_early_in_its_life_does_not_renew() -> None:
    store, clock, cache = await _warm()
    clock.now = 0.7
    await cache.get("c-1")
    await _settled()
    assert store.reads == 1


async def test_an_entry_is_never_served_past_its_life_while_its_renewal_is_in_flight() -> None:
    store, clock, cache = await _warm()
    consent = store.consents["c-1"]
    store.hold = True
    clock.now = 0.9
    await cache.get("c-1")  # starts the renewal, which the store holds
    store.consents["c-1"] = dataclasses.replace(consent, status=ConsentStatus.REVOKED)
    clock.now = 1.01
    waiting = asyncio.create_task(cache.get("c-1"))
    await _settled()
    assert not waiting.done()  # the old entry is not served: the call waits for the read in flight
    store.release.set()
    fresh = await waiting
    assert fresh is not None
    assert fresh.status is ConsentStatus.REVOKED


async def test_a_renewal_racing_an_invalidation_is_not_cached() -> None:
    store, clock, cache = await _warm()
    consent = store.consents["c-1"]
    store.hold = True
    clock.now = 0.9
    await cache.get("c-1")
    await _settled()  # the renewal has read the consent as it was and waits to answer
    await cache.on_change(dataclasses.replace(consent, status=ConsentStatus.PAUSED))
    store.release.set()
    await _settled()
    store.hold = False
    await cache.get("c-1")
    assert store.reads == 3  # the renewed value was dropped: the next call read the store itself


async def test_a_failed_renewal_keeps_the_entry_until_it_expires_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock, cache = await _warm()
    store.failing = True
    clock.now = 0.8
    assert await cache.get("c-1") is not None
    await _settled()
    assert [r.getMessage() for r in caplog.records if "renewing" in r.getMessage()] == [
        "renewing a cached consent failed (the database is gone); it is read again once it expires"
    ]
    clock.now = 1.01
    with pytest.raises(ConnectionError):
        await cache.get("c-1")


async def test_stop_cancels_a_renewal_in_flight() -> None:
    store, clock, cache = await _warm()
    store.hold = True
    clock.now = 0.9
    await cache.get("c-1")
    await _settled()
    await cache.stop()
    assert not cache._renewing


async def test_a_call_after_an_invalidation_does_not_share_a_read_begun_before_it() -> None:
    store = HeldStore()
    consent = store.add(consent_id="c-1")
    cache = ConsentCache(store, ttl=60.0, clock=Clock())
    store.hold = True
    before = asyncio.create_task(cache.get("c-1"))  # reads the consent as it was
    await _settled()
    store.consents["c-1"] = revoked = dataclasses.replace(consent, status=ConsentStatus.REVOKED)
    await cache.on_change(revoked)
    after = asyncio.create_task(cache.get("c-1"))
    await _settled()
    store.release.set()
    await before
    fresh = await after
    assert fresh is not None
    assert fresh.status is ConsentStatus.REVOKED


async def test_a_failed_renewal_is_not_tried_again_for_the_same_entry() -> None:
    store, clock, cache = await _warm()
    store.failing = True
    for now in (0.8, 0.85, 0.9, 0.95):
        clock.now = now
        await cache.get("c-1")
        await _settled()
    assert store.reads == 2  # the first read, and one renewal


async def test_a_renewal_is_tried_again_once_the_consent_was_read_afresh() -> None:
    store, clock, cache = await _warm()
    store.failing = True
    clock.now = 0.8
    await cache.get("c-1")
    await _settled()
    store.failing = False
    clock.now = 1.01
    await cache.get("c-1")  # expired: read on the call's path, which succeeds
    clock.now = 1.9
    await cache.get("c-1")
    await _settled()
    assert store.reads == 4  # first read, failed renewal, fresh read, renewal


async def test_many_calls_in_the_last_quarter_start_one_renewal() -> None:
    store, clock, cache = await _warm()
    clock.now = 0.8
    await asyncio.gather(*(cache.get("c-1") for _ in range(32)))  # before any renewal has started
    await _settled()
    assert store.reads == 2
