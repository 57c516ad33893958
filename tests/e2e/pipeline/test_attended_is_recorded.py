"""Each access record says whether the customer was present: the wallet sent ``x-fapi-customer-ip-address``."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from consent.db import open_engine
from consent.tables import access_records
from tests.e2e.pipeline.harness import BASE, Stack, Wallet


async def _attended_by_interaction(database_url: str, consent_id: str) -> dict[str, bool]:
    engine = open_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(access_records.c.interaction_id, access_records.c.attended).where(
                access_records.c.consent_id == consent_id
            )
            return {interaction: bool(attended) for interaction, attended in await conn.execute(query)}
    finally:
        await engine.dispose()


def _recorded(stack: Stack, consent_id: str, count: int) -> dict[str, bool]:
    """The consent's access records once ``count`` are written (the audit writer flushes off the request path)."""
    deadline = time.monotonic() + 10
    while True:
        records = asyncio.run(_attended_by_interaction(stack.database_url, consent_id))
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.2)


def test_a_call_with_the_customers_address_is_recorded_attended_and_one_without_is_not(
    stack: Stack, wallet: Wallet
) -> None:
    consent = wallet.consent({"ReadAccountsBasic"}, ("acc-alice-current",))
    present = wallet.get(BASE + "/accounts", consent)
    absent = wallet.get(BASE + "/accounts", consent, attended=False)
    assert (present.status_code, absent.status_code) == (200, 200)
    records = _recorded(stack, consent.consent_id, 2)
    assert records == {
        present.headers["x-fapi-interaction-id"]: True,
        absent.headers["x-fapi-interaction-id"]: False,
    }
