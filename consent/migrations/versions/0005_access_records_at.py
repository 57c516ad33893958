"""Access records get an index on ``at`` alone.

The CDR reports (``gateway/cdr_facts.py``, ``gateway/cdr_metrics.py``) read access records by time
range across every consent and user; the two indexes that lead with ``consent_id`` or ``user_id``
cannot serve that, so without this one each report scans the table.

On PostgreSQL the index is built ``CONCURRENTLY`` (outside the migration's transaction): a plain
``CREATE INDEX`` would block every write to ``access_records`` (the audit of every proxied call)
while it builds, for as long as a large table takes.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index("ix_access_records_at", "access_records", ["at"], postgresql_concurrently=True)
    else:
        op.create_index("ix_access_records_at", "access_records", ["at"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index("ix_access_records_at", table_name="access_records", postgresql_concurrently=True)
    else:
        op.drop_index("ix_access_records_at", table_name="access_records")
