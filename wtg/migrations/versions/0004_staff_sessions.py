"""dashboard sessions on the server and login throttles instead of the account lockout

Revision ID: 0004
Revises: 0003

The session cookie used to carry the user id and CSRF token (signed, but readable) and could not
be ended before it expired; ``staff_sessions`` keeps one row per login (only the SHA-256 of the
random session id). ``users.failed_logins``/``locked_until`` (a lock anybody could trigger) give
way to ``login_throttles`` (growing delays per account and per client). Existing cookies stop
working: everyone logs in once more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import episodes.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("created_at", episodes.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", episodes.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", episodes.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_staff_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    with op.batch_alter_table("staff_sessions") as batch:
        batch.create_index(batch.f("ix_staff_sessions_user_id"), ["user_id"], unique=False)
        batch.create_index(batch.f("ix_staff_sessions_expires_at"), ["expires_at"], unique=False)
    op.create_table(
        "login_throttles",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", episodes.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", episodes.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttles")),
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locked_until", episodes.models.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
    op.drop_table("login_throttles")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_index(batch.f("ix_staff_sessions_expires_at"))
        batch.drop_index(batch.f("ix_staff_sessions_user_id"))
    op.drop_table("staff_sessions")
