"""Migrating an empty database to head gives exactly the tables the metadata describes.

Other engineers' revisions (0002 oauth, 0003 identity) land in parallel: the test compares the
whole metadata when the revision chain is complete, and the consent tables at 0001 otherwise.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

import consent.tables
from consent.db import metadata, sync_url
from consent.migrate import alembic_config, downgrade, upgrade

ROOT = Path(__file__).resolve().parents[3]
GATEWAY_TABLE_MODULES = ("gateway.oauth.tables", "gateway.oauth.tables_identity")
CONSENT_TABLES = {
    t.name for t in (consent.tables.consents, consent.tables.consent_events, consent.tables.consent_idempotency)
} | {consent.tables.access_records.name}


def _import_gateway_tables() -> None:
    for name in GATEWAY_TABLE_MODULES:
        if (ROOT / (name.replace(".", "/") + ".py")).exists():
            importlib.import_module(name)


def _target(url: str) -> tuple[str, set[str] | None]:
    """head and every table when the chain is whole; else 0001 and the consent tables only."""
    try:
        ScriptDirectory.from_config(alembic_config(url)).get_current_head()
        _import_gateway_tables()
        return "head", None
    except CommandError:
        return "0001", CONSENT_TABLES


def _table_of(diff: Any) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if isinstance(part, sa.Table):
            return str(part.name)
        if name:
            return str(name)
    return item[2] if len(item) > 2 and isinstance(item[2], str) else None


def _diffs(url: str, tables: set[str] | None) -> list[Any]:
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(ctx, metadata)
    finally:
        engine.dispose()
    return [d for d in diffs if tables is None or _table_of(d) in tables]


def test_empty_database_migrated_to_head_matches_the_metadata(database_url: str) -> None:
    revision, tables = _target(database_url)
    upgrade(database_url, revision)
    assert _diffs(database_url, tables) == []


def test_migration_0001_creates_the_consent_tables_and_downgrades_cleanly(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = sa.create_engine(sync_url(database_url))
    try:
        assert set(sa.inspect(engine).get_table_names()) >= CONSENT_TABLES
        downgrade(database_url, "base")
        assert not CONSENT_TABLES & set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
