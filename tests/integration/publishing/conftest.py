"""The published-API store on a migrated database (SQLite and PostgreSQL, by ``database_url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pytest

from consent.db import open_engine
from consent.migrate import upgrade
from gateway.published_store import PublishedApiStore, StoredApi


class CountingStore(PublishedApiStore):
    """The real store, counting how often the texts are fetched."""

    loads = 0

    async def load(self, names: Iterable[str] | None = None) -> list[StoredApi]:
        self.loads += 1
        return await super().load(names)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[CountingStore]:
    upgrade(database_url)
    engine = open_engine(database_url)
    try:
        yield CountingStore(engine)
    finally:
        await engine.dispose()
