"""Tell whoever listens that a consent changed (after the change is committed).

The gateway subscribes token revocation and cache invalidation here, so ``consent`` never
imports ``gateway``. Subscribers run in order; one that fails is logged and the rest still run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from consent.model import Consent

log = logging.getLogger("walletgate.consent.changes")

Subscriber = Callable[[Consent], Awaitable[None]]


class ConsentChanges:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(consent)`` after every committed change; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    async def publish(self, consent: Consent) -> None:
        """Tell every subscriber; runs to the end even when the caller is cancelled meanwhile (a shutdown
        in the middle of an expiry sweep): the change is committed, so its tokens must be revoked and
        every instance's cache told, whatever becomes of the caller."""
        await asyncio.shield(self._notify(consent))

    async def _notify(self, consent: Consent) -> None:
        for callback in tuple(self._subscribers):
            try:
                await callback(consent)
            except Exception:
                log.exception("consent change subscriber %r failed for %s", callback, consent.consent_id)
