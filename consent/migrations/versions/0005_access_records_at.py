"""Access records get an index on ``at`` alone.

The CDR reports (``gateway/cdr_facts.py``, ``gateway/cdr_metrics.py``) read access records by time
range across every consent and user; the two indexes that lead with ``consent_id`` or ``user_id``
cannot serve that, so without this one each report scans the table.

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
    op.create_index("ix_access_records_at", "access_records", ["at"])


def downgrade() -> None:
    op.drop_index("ix_access_records_at", table_name="access_records")
