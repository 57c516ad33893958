"""A revoked consent is never served from the consent cache once the revocation reached this instance,
whatever else the cache does meanwhile (here: sweeping itself when full)."""

from __future__ import annotations

import asyncio
import dataclasses

from consent.model import Consent, ConsentStatus
from gateway.consent_cache import ConsentCache
from tests.unit.pipeline.conftest import MemoryConsents


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class HeldStore(MemoryConsents):
    """A read of ``held`` takes the consent as it is when the read begins, then waits for ``release``."""

    def __init__(self, held: str) -> None:
        super().__init__()
        self.held, self.started, self.release = held, asyncio.Event(), asyncio.Event()

    async def get(self, consent_id: str) -> Consent:
        consent = await super().get(consent_id)
        if consent_id == self.held:
            self.started.set()
            await self.release.wait()
        return consent


async def test_a_read_begun_before_a_revocation_is_not_cached_when_the_cache_swept_meanwhile() -> None:
    store = HeldStore(held="c-1")
    consent = store.add(consent_id="c-1")
    store.add(consent_id="c-2")
    store.add(consent_id="c-3")
    cache = ConsentCache(store, ttl=60.0, clock=Clock(), max_entries=1)
    await cache.get("c-2")  # the cache is full
    begun = asyncio.create_task(cache.get("c-1"))  # reads c-1 while it is still authorised
    await store.started.wait()
    revoked = dataclasses.replace(consent, status=ConsentStatus.REVOKED)
    store.consents["c-1"] = revoked
    await cache.on_change(revoked)
    await cache.get("c-3")  # a full cache sweeps itself
    store.release.set()
    await begun
    fresh = await cache.get("c-1")
    assert fresh is not None
    assert fresh.status is ConsentStatus.REVOKED
