"""Deregistering a wallet finds its tokens by index (migration 0009), on SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from consent.db import open_engine, sync_url
from consent.migrate import downgrade, upgrade
from gateway.oauth.store import OAuthStore
from gateway.oauth.tables import access_tokens, refresh_tokens

pytestmark = pytest.mark.integration

CLIENT_ID_INDEXES = {
    "oauth_refresh_tokens": "ix_oauth_refresh_tokens_client_id",
    "oauth_access_tokens": "ix_oauth_access_tokens_client_id",
}
NOW = 1_800_000_000.0


def _indexes(url: str, table: str) -> set[str]:
    engine = sa.create_engine(sync_url(url))
    try:
        return {str(index["name"]) for index in sa.inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def test_migration_0009_indexes_tokens_by_client_and_downgrades_cleanly(database_url: str) -> None:
    upgrade(database_url, "0009")
    for table, index in CLIENT_ID_INDEXES.items():
        assert index in _indexes(database_url, table), table
    downgrade(database_url, "0008")
    for table, index in CLIENT_ID_INDEXES.items():
        assert index not in _indexes(database_url, table), table
    assert "ix_oauth_access_tokens_consent_id" in _indexes(database_url, "oauth_access_tokens")


def _fill(url: str, clients: int, per_client: int) -> None:
    """Live tokens of many wallets, as a busy gateway holds them, and fresh planner statistics."""
    engine = sa.create_engine(sync_url(url))
    refresh = [
        {"token_hash": f"r{c}-{n}", "client_id": f"wallet-{c}", "user_id": "alice", "consent_id": f"c{c}-{n}",
         "grant_id": f"g{c}-{n}", "scope": "openid accounts", "issued_at": NOW}
        for c in range(clients) for n in range(per_client)
    ]  # fmt: skip
    access = [
        {"jti": f"a{c}-{n}", "client_id": f"wallet-{c}", "consent_id": f"c{c}-{n}", "grant_id": f"g{c}-{n}",
         "expires_at": NOW + 300, "revoked": False}
        for c in range(clients) for n in range(per_client)
    ]  # fmt: skip
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(refresh_tokens), refresh)
            conn.execute(sa.insert(access_tokens), access)
            conn.execute(sa.text("ANALYZE oauth_refresh_tokens"))
            conn.execute(sa.text("ANALYZE oauth_access_tokens"))
    finally:
        engine.dispose()


async def _statements_of_revoke_client(url: str, client_id: str) -> list[tuple[str, Any]]:
    """The SQL (and parameters) ``revoke_client`` sends, as the driver received it."""
    engine = open_engine(url)
    sent: list[tuple[str, Any]] = []

    @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        sent.append((statement, parameters))

    try:
        revoked = await OAuthStore(engine).revoke_client(client_id, now=NOW)
    finally:
        await engine.dispose()
    assert len(revoked) == 40  # every live access token of the wallet
    return sent


def _plan(url: str, statement: str, parameters: Any) -> str:
    """PostgreSQL's plan for ``statement`` with its ``$n`` parameters bound to ``parameters``."""
    engine = sa.create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            cur = raw.cursor()
            cur.execute(f"PREPARE revoke_step AS {statement}")
            values = ", ".join(["%s"] * len(parameters))
            cur.execute(f"EXPLAIN EXECUTE revoke_step({values})", tuple(parameters))
            return "\n".join(str(row[0]) for row in cur.fetchall())
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # EXPLAIN is PostgreSQL's
async def test_revoke_client_finds_the_wallets_tokens_by_the_client_id_indexes_on_postgresql(database_url: str):
    url = database_url
    upgrade(url, "head")
    _fill(url, clients=500, per_client=40)
    sent = await _statements_of_revoke_client(url, "wallet-7")
    checked = set()
    for statement, parameters in sent:
        for table, index in CLIENT_ID_INDEXES.items():
            if f"{table} " in statement or statement.rstrip().endswith(table):
                plan = _plan(url, statement, parameters)
                assert index in plan, f"{statement}\n{plan}"
                checked.add(table)
    assert checked == set(CLIENT_ID_INDEXES)  # revoke_client's select and updates were all looked at
