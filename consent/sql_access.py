"""The access log on SQL: what the gateway's audit step recorded, read back for the user's history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from consent.model import AccessRecord
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
        self, *, consent_id: str | None = None, user_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[AccessRecord]:
        """Newest first, for one consent and/or one user."""
        if consent_id is None and user_id is None:
            raise ValueError("access history needs a consent_id or a user_id")
        query = select(access_records)
        if consent_id is not None:
            query = query.where(access_records.c.consent_id == consent_id)
        if user_id is not None:
            query = query.where(access_records.c.user_id == user_id)
        query = query.order_by(access_records.c.at.desc(), access_records.c.id.desc())
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(max(1, min(limit, MAX_PAGE))).offset(offset))).mappings().all()
        return [access_from_row(r) for r in rows]
