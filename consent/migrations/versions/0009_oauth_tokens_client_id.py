"""Refresh tokens and access-token records get an index on ``client_id``.

Deregistering a wallet (``gateway.oauth.store.OAuthStore.revoke_client``: ``DELETE /register``,
``walletgate clients delete``) revokes its refresh tokens and live access tokens by client id;
without these indexes each deregistration scans both tables, and refresh tokens are never swept.
Pushed requests and codes get none: the sweeper deletes them an hour after they expire (a
minute or so after they were made), so those tables stay small.

On PostgreSQL the indexes are built ``CONCURRENTLY`` (outside the migration's transaction), as
in 0005: a plain ``CREATE INDEX`` would block every token issued while it builds.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_oauth_refresh_tokens_client_id", "oauth_refresh_tokens"),
    ("ix_oauth_access_tokens_client_id", "oauth_access_tokens"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table in _INDEXES:
                op.create_index(name, table, ["client_id"], postgresql_concurrently=True)
    else:
        for name, table in _INDEXES:
            op.create_index(name, table, ["client_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table in _INDEXES:
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
    else:
        for name, table in _INDEXES:
            op.drop_index(name, table_name=table)
