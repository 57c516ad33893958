"""Access records say whether the whole response reached the wallet.

``complete`` is false when a relayed body ended early: the bank broke it off, or the wallet
hung up before the end. A user's history then says the data was shared in part, with the bytes
that were sent. Rows written before this revision read as complete, which is what every call
but a broken-off relay is.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_records") as batch:
        batch.add_column(sa.Column("complete", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("access_records") as batch:
        batch.drop_column("complete")
