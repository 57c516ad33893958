"""The consent tables, registered on the one ``consent.db.metadata``.

Migration ``0001`` creates them with explicit ``op.create_table`` calls that mirror these
definitions (``0004`` adds ``access_records.attended``, ``0005`` the index on ``access_records.at``, ``0007``
``access_records.complete``);
``tests/integration/consent/test_migrations.py`` proves the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
    true,
)

from consent.db import metadata


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every back-end (SQLite stores it naive; we read it back as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


consents = Table(
    "consents",
    metadata,
    Column("consent_id", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=True),
    Column("status", String(4), nullable=False),
    Column("permissions", JSON, nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("account_ids", JSON, nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("status_updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("transaction_from", UtcDateTime, nullable=True),
    Column("transaction_to", UtcDateTime, nullable=True),
    Column("frequency_per_day", Integer, nullable=False),
    Column("marketing_opt_in", Boolean, nullable=True),  # None: the user was never asked to opt in
    Column("version", Integer, nullable=False),
    # Hash of the newest event: deleting the tail of a chain is caught by verify_chain.
    Column("head_hash", String(64), nullable=False),
    Index("ix_consents_client_id_created_at", "client_id", "created_at"),
    Index("ix_consents_user_id_created_at", "user_id", "created_at"),
    Index("ix_consents_status_expires_at", "status", "expires_at"),
    Index("ix_consents_status_created_at", "status", "created_at"),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("consent_id", String(64), ForeignKey("consents.consent_id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(16), nullable=False),
    Column("actor_id", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changes", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("consent_id", "seq", name="pk_consent_events"),
)

consent_idempotency = Table(
    "consent_idempotency",
    metadata,
    Column("client_id", String(64), nullable=False),
    Column("key", String(128), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("consent_id", String(64), ForeignKey("consents.consent_id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("client_id", "key", name="pk_consent_idempotency"),
)

access_records = Table(
    "access_records",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("interaction_id", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("consent_id", String(64), nullable=True),
    Column("user_id", String(64), nullable=True),
    Column("api", String(64), nullable=False),
    Column("operation_id", String(128), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", Text, nullable=False),
    Column("account_ids", JSON, nullable=False),
    Column("status", Integer, nullable=False),
    Column("response_bytes", Integer, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("record_count", Integer, nullable=True),
    Column("attended", Boolean, nullable=False, server_default=false()),
    Column("complete", Boolean, nullable=False, server_default=true()),
    Index("ix_access_records_consent_id_at", "consent_id", "at"),
    Index("ix_access_records_user_id_at", "user_id", "at"),
    Index("ix_access_records_at", "at"),  # the CDR reports' time ranges (migration 0005)
)

published_apis = Table(
    "published_apis",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("policy", Text, nullable=False),
    Column("openapi", Text, nullable=False),
    Column("version", String(32), nullable=False),
    Column("published_at", UtcDateTime, nullable=False),
)
