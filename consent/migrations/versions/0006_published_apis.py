"""Published APIs move from each instance's data folder into the database.

``walletgate apis publish`` and ``PUT /admin/apis/{name}`` store the policy and OpenAPI texts
here; every gateway instance, whatever its data folder, picks a new version up within a second
(``gateway/publishing.py``).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consent.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_apis",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("openapi", sa.Text(), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("published_apis")
