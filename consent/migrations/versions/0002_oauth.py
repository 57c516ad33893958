"""Authorization-server tables: pushed requests, codes, refresh tokens, issued access tokens.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_par_requests",
        sa.Column("request_uri", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("request_uri", name="pk_oauth_par_requests"),
    )
    op.create_table(
        "oauth_codes",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(128), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("dpop_jkt", sa.String(64), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("auth_time", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_oauth_codes"),
    )
    op.create_table(
        "oauth_refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(128), nullable=False),
        sa.Column("grant_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("cnf_jkt", sa.String(64), nullable=True),
        sa.Column("cnf_x5t", sa.String(64), nullable=True),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_oauth_refresh_tokens"),
    )
    op.create_index("ix_oauth_refresh_tokens_consent_id", "oauth_refresh_tokens", ["consent_id"])
    op.create_index("ix_oauth_refresh_tokens_grant_id", "oauth_refresh_tokens", ["grant_id"])
    op.create_table(
        "oauth_access_tokens",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(128), nullable=True),
        sa.Column("grant_id", sa.String(64), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name="pk_oauth_access_tokens"),
    )
    op.create_index("ix_oauth_access_tokens_consent_id", "oauth_access_tokens", ["consent_id"])
    op.create_index("ix_oauth_access_tokens_grant_id", "oauth_access_tokens", ["grant_id"])
    op.create_index("ix_oauth_access_tokens_expires_at", "oauth_access_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_access_tokens")
    op.drop_table("oauth_refresh_tokens")
    op.drop_table("oauth_codes")
    op.drop_table("oauth_par_requests")
