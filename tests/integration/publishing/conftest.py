"""The published-API store on a migrated database (SQLite and PostgreSQL, by ``database_url``), and
gateway instances' live sets over it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from consent.db import open_engine
from consent.migrate import upgrade
from gateway.published_store import PublishedApiStore, StoredApi
from gateway.publishing import PublishedApis
from policies import SHIPPED, load_policies

POLICIES = load_policies(SHIPPED)


class CountingStore(PublishedApiStore):
    """The real store, counting how often the texts are fetched."""

    loads = 0

    async def load(self, names: Iterable[str] | None = None, *, conn: AsyncConnection | None = None) -> list[StoredApi]:
        self.loads += 1
        return await super().load(names, conn=conn)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[CountingStore]:
    upgrade(database_url)
    engine = open_engine(database_url)
    try:
        yield CountingStore(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def instance(settings_factory: Callable[..., Any], store: PublishedApiStore, tmp_path: Path) -> Callable[[str], Any]:
    """A gateway instance's live set, with a data folder of its own."""

    def make(folder: str) -> PublishedApis:
        settings = settings_factory(data_dir=tmp_path / folder)
        return PublishedApis(settings, POLICIES.apis, POLICIES.permissions, store=store)

    return make
