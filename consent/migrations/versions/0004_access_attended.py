"""Access records say whether the customer was present (CDR attended/unattended traffic).

``attended`` is true when the wallet sent ``x-fapi-customer-ip-address``. Rows written before
this revision did not record it and read as unattended (``false``), the CDR's default for
traffic that does not show the customer was there.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_records") as batch:
        batch.add_column(sa.Column("attended", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("access_records") as batch:
        batch.drop_column("attended")
