"""scheduler: the virtual clock's anchor

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:10:00

APScheduler's own job table (``apscheduler_jobs``) is created by its SQLAlchemyJobStore on the
same database when the scheduler first starts; it is not part of our models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import episodes.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scheduler_clock',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('scale', sa.Float(), nullable=False),
    sa.Column('virtual_start', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('real_start', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_clock'))
    )


def downgrade() -> None:
    op.drop_table('scheduler_clock')
