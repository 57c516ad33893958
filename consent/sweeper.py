"""Expire lapsed consents in the background, so expiry is recorded even for consents nobody reads."""

from __future__ import annotations

import asyncio
import logging

from consent.store import ConsentStore

log = logging.getLogger("walletgate.consent.sweeper")


async def sweep_forever(store: ConsentStore, interval: float) -> None:
    """Run ``store.sweep_expired()`` every ``interval`` seconds until cancelled; a failed sweep is retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            expired = await store.sweep_expired()
        except Exception:
            log.exception("consent sweep failed; retrying in %s s", interval)
            continue
        if expired:
            log.info("expired %d consents", expired)
