"""staff controls: post corrections, the edit history of the four-eyes rule, withdrawals

Revision ID: 0006
Revises: 0005

A refused post gets its own text and rendition (``posts.text_override``, ``profile_override``)
and its own approval (``correction``, ``correction_approved``, ``correction_approved_by``).
``episode_edits`` remembers who changed an episode's texts, subtitles or media (or a post's
correction) and at which revision, so an approver who edited since the last approval is refused.
``withdrawals`` holds the requests to take an episode back from the platforms, approved by a
second person.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import episodes.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("text_override", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("profile_override", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("correction", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("correction_approved", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("correction_approved_by", sa.String(length=100),
                                   nullable=True))
    op.create_table(
        "episode_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("at", episodes.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"],
                                name=op.f("fk_episode_edits_episode_id_episodes"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"],
                                name=op.f("fk_episode_edits_post_id_posts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_episode_edits")),
    )
    with op.batch_alter_table("episode_edits") as batch:
        batch.create_index(batch.f("ix_episode_edits_episode_id"), ["episode_id"], unique=False)
    op.create_table(
        "withdrawals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("episode_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", episodes.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", episodes.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("posts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["episode_id"], ["episodes.id"],
                                name=op.f("fk_withdrawals_episode_id_episodes"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawals")),
    )
    with op.batch_alter_table("withdrawals") as batch:
        batch.create_index(batch.f("ix_withdrawals_episode_id"), ["episode_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("withdrawals") as batch:
        batch.drop_index(batch.f("ix_withdrawals_episode_id"))
    op.drop_table("withdrawals")
    with op.batch_alter_table("episode_edits") as batch:
        batch.drop_index(batch.f("ix_episode_edits_episode_id"))
    op.drop_table("episode_edits")
    with op.batch_alter_table("posts") as batch:
        for name in ("correction_approved_by", "correction_approved", "correction",
                     "profile_override", "text_override"):
            batch.drop_column(name)
