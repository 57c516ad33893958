"""Published APIs in the database: the one place every gateway instance reads them from.

A row holds an API's policy and OpenAPI document as the texts that were checked and published,
and a ``version`` that changes on every publish (a random token, so two publishers racing on
one name never leave two instances believing they hold the same text). Instances compare the
versions once a second and fetch only the rows that changed (``gateway.publishing``).

``exclusive()`` runs one publish at a time across every instance (a transaction holding a
PostgreSQL advisory lock; on SQLite, which one process owns, a lock in that process), so the
checks a publish makes against the stored APIs still hold when it writes: two admins publishing
overlapping base paths at once get one refusal, not two rows that clash.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consent.tables import published_apis

_PUBLISH_LOCK = 0x5747_5055_424C  # pg_advisory_xact_lock key of publishing ("WGPUBL")
_LOCAL_LOCKS: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class StoredApi:
    name: str
    policy: str
    openapi: str
    version: str


class PublishedApiStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[AsyncConnection]:
        """A transaction no other publish runs beside (see the module); pass it to ``load`` and ``put``."""
        if self.engine.dialect.name == "postgresql":
            async with self.engine.begin() as conn:
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK})
                yield conn
            return
        lock = _LOCAL_LOCKS.setdefault(self.engine, asyncio.Lock())
        async with lock, self.engine.begin() as conn:
            yield conn

    async def put(
        self, name: str, policy: str, openapi: str, *, at: datetime, conn: AsyncConnection | None = None
    ) -> str:
        """Add or replace the API ``name``; returns its new version. ``conn``: inside ``exclusive()``."""
        version = uuid.uuid4().hex
        values = {"name": name, "policy": policy, "openapi": openapi, "version": version, "published_at": at}
        insert: Any = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(published_apis).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[published_apis.c.name],
            set_={key: statement.excluded[key] for key in ("policy", "openapi", "version", "published_at")},
        )
        if conn is not None:
            await conn.execute(statement)
            return version
        async with self.engine.begin() as own:
            await own.execute(statement)
        return version

    async def delete(self, name: str) -> bool:
        """Withdraw the API ``name``; False when none was stored under that name."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(published_apis).where(published_apis.c.name == name))
        return bool(result.rowcount)

    async def versions(self) -> dict[str, str]:
        """The version of every stored API, by name: one small query, made once a second per instance."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(published_apis.c.name, published_apis.c.version))
        return {name: version for name, version in rows}

    async def load(self, names: Iterable[str] | None = None, *, conn: AsyncConnection | None = None) -> list[StoredApi]:
        """The stored APIs named (every one when ``names`` is None), by name. ``conn``: inside ``exclusive()``."""
        query = select(
            published_apis.c.name, published_apis.c.policy, published_apis.c.openapi, published_apis.c.version
        )
        if names is not None:
            query = query.where(published_apis.c.name.in_(list(names)))
        query = query.order_by(published_apis.c.name)
        if conn is not None:
            rows = list(await conn.execute(query))
        else:
            async with self.engine.connect() as own:
                rows = list(await own.execute(query))
        return [StoredApi(name, policy, openapi, version) for name, policy, openapi, version in rows]
