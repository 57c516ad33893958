"""Migrating an empty database to head gives exactly the tables the metadata describes."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import consent.tables
import gateway.oauth.tables
import gateway.oauth.tables_identity  # noqa: F401 - registers the gateway's tables on the one metadata
from consent.db import metadata, sync_url
from consent.migrate import alembic_config, downgrade, upgrade

CONSENT_TABLES = {
    t.name
    for t in (
        consent.tables.consents,
        consent.tables.consent_events,
        consent.tables.consent_idempotency,
        consent.tables.access_records,
    )
}


def test_migration_history_has_one_head(database_url: str) -> None:
    assert len(ScriptDirectory.from_config(alembic_config(database_url)).get_heads()) == 1


def test_empty_database_migrated_to_head_matches_the_metadata(database_url: str) -> None:
    assert {"consents", "oauth_clients", "identity_users"} <= set(metadata.tables)  # the whole database
    upgrade(database_url, "head")
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_migration_0001_creates_the_consent_tables_and_downgrades_cleanly(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = sa.create_engine(sync_url(database_url))
    try:
        assert set(sa.inspect(engine).get_table_names()) >= CONSENT_TABLES
        downgrade(database_url, "base")
        assert not CONSENT_TABLES & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _access_record_indexes(engine: sa.Engine) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(engine).get_indexes("access_records")}


def test_migration_0005_indexes_access_records_by_time_and_downgrades_cleanly(database_url: str) -> None:
    upgrade(database_url, "0005")
    engine = sa.create_engine(sync_url(database_url))
    try:
        assert "ix_access_records_at" in _access_record_indexes(engine)
        downgrade(database_url, "0004")
        assert "ix_access_records_at" not in _access_record_indexes(engine)
        assert "ix_access_records_consent_id_at" in _access_record_indexes(engine)
    finally:
        engine.dispose()


def _consent_row(consent_id: str, status: str) -> dict[str, object]:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    return {
        "consent_id": consent_id, "client_id": "wallet-1", "user_id": "alice", "status": status,
        "permissions": ["ReadBalances"], "purposes": ["aggregation"], "account_ids": [], "recipients": [],
        "created_at": at, "updated_at": at, "status_updated_at": at, "expires_at": None, "transaction_from": None,
        "transaction_to": None, "frequency_per_day": 4, "marketing_opt_in": False, "version": 1, "head_hash": "0" * 64,
    }  # fmt: skip


def _opt_ins(engine: sa.Engine) -> dict[str, bool | None]:
    table = consent.tables.consents
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table.c.consent_id, table.c.marketing_opt_in)).all()
    return {str(consent_id): answer for consent_id, answer in rows}


def test_migration_0008_forgets_the_opt_in_of_consents_never_answered_and_downgrades_cleanly(
    database_url: str,
) -> None:
    upgrade(database_url, "0007")
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.begin() as conn:
            conn.execute(
                consent.tables.consents.insert(),
                [_consent_row("c-awau", "AWAU"), _consent_row("c-rjct", "RJCT"), _consent_row("c-auth", "AUTH")],
            )
        upgrade(database_url, "0008")
        assert _opt_ins(engine) == {"c-awau": None, "c-rjct": None, "c-auth": False}
        downgrade(database_url, "0007")
        assert _opt_ins(engine) == {"c-awau": False, "c-rjct": False, "c-auth": False}
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("consents")}
        assert columns["marketing_opt_in"]["nullable"] is False
    finally:
        engine.dispose()
