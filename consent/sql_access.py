"""The access log on SQL: what the gateway's audit step recorded, read back for the user's history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from consent.model import AccessPage, AccessPosition, AccessRecord
from consent.sql_rows import ACCESS_COPY_COLUMNS, access_copy_row, access_from_row, access_row
from consent.tables import access_records

MAX_PAGE = 500


class SqlAccessLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(self, records: Sequence[AccessRecord]) -> None:
        """Insert a batch of records in one transaction: on PostgreSQL (asyncpg) by ``COPY``, elsewhere
        by one multi-row insert. ``COPY`` takes half the CPU of the insert (~1 ms for 200 records
        instead of ~2.2), and the audit writer's flush runs on the gateway's event loop."""
        if not records:
            return
        async with self.engine.begin() as conn:
            if conn.dialect.driver == "asyncpg":
                driver: Any = (await conn.get_raw_connection()).driver_connection
                await driver.copy_records_to_table(
                    access_records.name, records=[access_copy_row(r) for r in records], columns=ACCESS_COPY_COLUMNS
                )
            else:
                await conn.execute(insert(access_records), [access_row(r) for r in records])

    async def history(
        self,
        *,
        consent_id: str | None = None,
        user_id: str | None = None,
        limit: int = 100,
        after: AccessPosition | None = None,
    ) -> AccessPage:
        """Newest first by ``(at, id)``, for one consent and/or one user: up to ``limit`` records, those
        that come after ``after`` in that order (from the newest when None), and where the next page starts.

        The indexes on ``(consent_id, at)`` and ``(user_id, at)`` serve it: ``at <= after.at`` bounds the
        index scan and the ``id`` tie-break is sorted within one ``at`` (PostgreSQL's incremental sort)."""
        if consent_id is None and user_id is None:
            raise ValueError("access history needs a consent_id or a user_id")
        at, row_id = access_records.c.at, access_records.c.id
        query = select(access_records)
        if consent_id is not None:
            query = query.where(access_records.c.consent_id == consent_id)
        if user_id is not None:
            query = query.where(access_records.c.user_id == user_id)
        if after is not None:
            query = query.where(at <= after.at, or_(at < after.at, row_id < after.id))
        size = max(1, min(limit, MAX_PAGE))
        query = query.order_by(at.desc(), row_id.desc()).limit(size + 1)  # one more: is there a next page?
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        page = rows[:size]
        following = AccessPosition(page[-1]["at"], page[-1]["id"]) if len(rows) > size else None
        return AccessPage(tuple(access_from_row(r) for r in page), following)
