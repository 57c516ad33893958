"""A consent records the marketing opt-in only when the user was asked for it.

``marketing_opt_in`` becomes nullable: true or false is the user's answer to the separate opt-in
of a purpose that needs one (marketing); NULL means the question was never put (no such purpose
was asked for, or the user has not answered the request at all). Consents still awaiting the
user, or rejected, were never asked and become NULL. Other rows keep the false they were written
with: which purposes needed an opt-in is policy, which a migration cannot read.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_consents = sa.table("consents", sa.column("status", sa.String()), sa.column("marketing_opt_in", sa.Boolean()))
_UNANSWERED = ("AWAU", "RJCT")


def upgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("marketing_opt_in", existing_type=sa.Boolean(), nullable=True)
    op.execute(_consents.update().where(_consents.c.status.in_(_UNANSWERED)).values(marketing_opt_in=None))


def downgrade() -> None:
    op.execute(_consents.update().where(_consents.c.marketing_opt_in.is_(None)).values(marketing_opt_in=False))
    with op.batch_alter_table("consents") as batch:
        batch.alter_column("marketing_opt_in", existing_type=sa.Boolean(), nullable=False)
