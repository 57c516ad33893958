"""Migration 0004 adds ``access_records.attended`` (SQLite and PostgreSQL), old rows read as unattended."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from consent.db import sync_url
from consent.migrate import downgrade, upgrade

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)


def _old_row() -> dict[str, Any]:
    return {
        "interaction_id": "i-old", "at": AT, "client_id": "wallet-1", "consent_id": None, "user_id": None,
        "api": "accounts", "operation_id": "GetAccounts", "method": "GET", "path": "/accounts",
        "account_ids": [], "status": 200, "response_bytes": 2, "latency_ms": 1.0, "record_count": None,
    }  # fmt: skip


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("access_records")}


def test_migration_0004_adds_attended_and_old_records_read_as_unattended(database_url: str) -> None:
    upgrade(database_url, "0003")
    engine = sa.create_engine(sync_url(database_url))
    try:
        old = sa.Table("access_records", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(old.insert(), [_old_row()])
        upgrade(database_url, "0004")
        with engine.connect() as conn:
            attended = conn.execute(sa.text("SELECT attended FROM access_records")).scalar_one()
        assert attended in (False, 0)
    finally:
        engine.dispose()


def test_migration_0004_downgrades_to_the_table_without_attended(database_url: str) -> None:
    upgrade(database_url, "0004")
    engine = sa.create_engine(sync_url(database_url))
    try:
        assert "attended" in _columns(engine)
        downgrade(database_url, "0003")
        engine.dispose()
        assert "attended" not in _columns(engine)
        assert {i["name"] for i in sa.inspect(engine).get_indexes("access_records")} >= {
            "ix_access_records_consent_id_at",
            "ix_access_records_user_id_at",
        }
    finally:
        engine.dispose()


async def test_access_log_keeps_whether_the_customer_was_present(database_url: str) -> None:
    from consent.db import open_engine
    from consent.model import AccessRecord
    from consent.sql_access import SqlAccessLog

    upgrade(database_url, "head")
    engine = open_engine(database_url)
    log = SqlAccessLog(engine)
    base = {k: v for k, v in _old_row().items() if k != "account_ids"}
    try:
        await log.record([
            AccessRecord(**{**base, "interaction_id": "present", "user_id": "alice"}, account_ids=(), attended=True),
            AccessRecord(**{**base, "interaction_id": "absent", "user_id": "alice"}, account_ids=()),
        ])  # fmt: skip
        history = await log.history(user_id="alice")
    finally:
        await engine.dispose()
    assert {r.interaction_id: r.attended for r in history} == {"present": True, "absent": False}
