from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from consent.db import sync_url
from consent.migrate import downgrade, upgrade

pytestmark = pytest.mark.integration

IDENTITY = {
    "oauth_clients",
    "identity_users",
    "identity_login_failures",
    "identity_login_challenges",
    "identity_sessions",
}


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_0003_creates_and_drops_the_identity_tables(database_url):
    upgrade(database_url, "0003")
    assert _tables(database_url) >= IDENTITY
    downgrade(database_url, "0002")
    assert not IDENTITY & _tables(database_url)


def test_migration_0003_matches_the_table_definitions(database_url):
    from gateway.oauth import tables_identity

    upgrade(database_url, "0003")
    engine = create_engine(sync_url(database_url))
    try:
        inspector = inspect(engine)
        for table in tables_identity.IDENTITY_TABLES:
            migrated = {c["name"] for c in inspector.get_columns(table.name)}
            assert migrated == {c.name for c in table.columns}, table.name
    finally:
        engine.dispose()
