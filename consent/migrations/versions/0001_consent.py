"""Consent tables: consents, their hash-chained events, idempotency keys, access records.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("status", sa.String(4), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.Column("status_updated_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=True),
        sa.Column("transaction_from", _UTC, nullable=True),
        sa.Column("transaction_to", _UTC, nullable=True),
        sa.Column("frequency_per_day", sa.Integer(), nullable=False),
        sa.Column("marketing_opt_in", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("consent_id", name="pk_consents"),
    )
    op.create_index("ix_consents_client_id_created_at", "consents", ["client_id", "created_at"])
    op.create_index("ix_consents_user_id_created_at", "consents", ["user_id", "created_at"])
    op.create_index("ix_consents_status_expires_at", "consents", ["status", "expires_at"])
    op.create_index("ix_consents_status_created_at", "consents", ["status", "created_at"])
    op.create_table(
        "consent_events",
        sa.Column("consent_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("actor", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.consent_id"],
            name="fk_consent_events_consent_id_consents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consent_id", "seq", name="pk_consent_events"),
    )
    op.create_table(
        "consent_idempotency",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(64), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consents.consent_id"],
            name="fk_consent_idempotency_consent_id_consents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "key", name="pk_consent_idempotency"),
    )
    op.create_table(
        "access_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("interaction_id", sa.String(64), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(64), nullable=True),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("api", sa.String(64), nullable=False),
        sa.Column("operation_id", sa.String(128), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("account_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response_bytes", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_access_records"),
    )
    op.create_index("ix_access_records_consent_id_at", "access_records", ["consent_id", "at"])
    op.create_index("ix_access_records_user_id_at", "access_records", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_access_records_user_id_at", table_name="access_records")
    op.drop_index("ix_access_records_consent_id_at", table_name="access_records")
    op.drop_table("access_records")
    op.drop_table("consent_idempotency")
    op.drop_table("consent_events")
    op.drop_index("ix_consents_status_created_at", table_name="consents")
    op.drop_index("ix_consents_status_expires_at", table_name="consents")
    op.drop_index("ix_consents_user_id_created_at", table_name="consents")
    op.drop_index("ix_consents_client_id_created_at", table_name="consents")
    op.drop_table("consents")
