"""Consent changes reach their subscribers once committed, whatever becomes of the caller."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from consent.changes import ConsentChanges
from consent.model import Consent, ConsentStatus

NOW = datetime(2026, 12, 6, tzinfo=UTC)
REVOKED = Consent(
    consent_id="c-1",
    client_id="wallet-1",
    status=ConsentStatus.REVOKED,
    permissions=frozenset({"ReadAccountsBasic"}),
    purposes=("aggregation",),
    created_at=NOW,
    updated_at=NOW,
    status_updated_at=NOW,
)


async def test_subscribers_are_told_even_when_the_publisher_is_cancelled_meanwhile() -> None:
    changes, told, slow_started = ConsentChanges(), [], asyncio.Event()

    async def slow(consent: Consent) -> None:
        slow_started.set()
        await asyncio.sleep(0.01)
        told.append(("slow", consent.consent_id))

    async def revoke_tokens(consent: Consent) -> None:
        told.append(("tokens", consent.consent_id))

    changes.subscribe(slow)
    changes.subscribe(revoke_tokens)
    publisher = asyncio.create_task(changes.publish(REVOKED))
    await slow_started.wait()
    publisher.cancel()  # a shutdown in the middle of an expiry sweep
    with contextlib.suppress(asyncio.CancelledError):
        await publisher
    await asyncio.sleep(0.05)
    assert told == [("slow", "c-1"), ("tokens", "c-1")]
