"""episodes.planned_slot_at: the season file's slot, kept apart from the effective slot

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import episodes.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.add_column(
            sa.Column("planned_slot_at", episodes.models.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE episodes SET planned_slot_at = slot_at")


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("planned_slot_at")
