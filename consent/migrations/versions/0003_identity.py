"""Identity tables: registered clients, built-in users, login failures and challenges, portal sessions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("client_name", sa.String(200), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("token_endpoint_auth_method", sa.String(32), nullable=False),
        sa.Column("jwks", sa.JSON(), nullable=True),
        sa.Column("jwks_uri", sa.Text(), nullable=True),
        sa.Column("tls_client_auth_subject_dn", sa.Text(), nullable=True),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("default_purpose", sa.String(64), nullable=False),
        sa.Column("software_id", sa.String(200), nullable=True),
        sa.Column("token_endpoint_auth_signing_alg", sa.String(16), nullable=True),
        sa.Column("id_token_signed_response_alg", sa.String(16), nullable=False),
        sa.Column("dpop_bound_access_tokens", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registration_token_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name="pk_oauth_clients"),
    )
    op.create_table(
        "identity_users",
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_identity_users"),
    )
    op.create_table(
        "identity_login_failures",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity_login_failures"),
    )
    op.create_index("ix_identity_login_failures_key_at", "identity_login_failures", ["key", "at"])
    op.create_table(
        "identity_login_challenges",
        sa.Column("challenge", sa.String(64), nullable=False),
        sa.Column("next_path", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=True),
        sa.Column("verifier_hash", sa.String(64), nullable=True),
        sa.Column("binding_hash", sa.String(64), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("challenge", name="pk_identity_login_challenges"),
    )
    op.create_table(
        "identity_sessions",
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name="pk_identity_sessions"),
    )
    op.create_index("ix_identity_sessions_expires_at", "identity_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_identity_sessions_expires_at", table_name="identity_sessions")
    op.drop_table("identity_sessions")
    op.drop_table("identity_login_challenges")
    op.drop_index("ix_identity_login_failures_key_at", table_name="identity_login_failures")
    op.drop_table("identity_login_failures")
    op.drop_table("identity_users")
    op.drop_table("oauth_clients")
