"""Fixtures for identity tests: an engine with the identity tables created directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from consent.db import metadata, open_engine
from gateway.oauth import tables_identity


@pytest.fixture
async def identity_engine(sqlite_url: str) -> AsyncIterator[object]:
    engine = open_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: metadata.create_all(sync, tables=list(tables_identity.IDENTITY_TABLES)))
    yield engine
    await engine.dispose()
