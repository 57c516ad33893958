"""Access records are written off the request path, and a clean stop of the gateway loses none."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from consent.db import open_engine
from consent.tables import access_records
from tests.e2e.pipeline.harness import BASE, Wallet, start_stack


async def _count(database_url: str, consent_id: str) -> int:
    engine = open_engine(database_url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(access_records).where(access_records.c.consent_id == consent_id)
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


def test_clean_stop_writes_every_queued_access_record(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    try:
        wallet = Wallet(stack)
        consent = wallet.consent({"ReadAccountsBasic"}, ("acc-alice-current",))
        statuses = [wallet.get(BASE + "/accounts", consent).status_code for _ in range(8)]
        wallet.close()
        _bank, gateway = stack.processes
        gateway.stop()  # SIGTERM: uvicorn runs the lifespan's shutdown (then re-raises the signal)
    except BaseException:
        stack.stop()
        raise
    stack.stop()
    assert statuses.count(200) >= 1
    assert asyncio.run(_count(stack.database_url, consent.consent_id)) == len(statuses)
