"""accounts connected in the browser, authorizations in progress, password links

Revision ID: 0005
Revises: 0004

``account_connections`` keeps the non-secret facts of a connection made in the dashboard (page,
Instagram account, channel, instance, granted scopes, when its tokens lapse) and its health; the
tokens go to the secrets store. ``oauth_flows`` holds one row per authorization in progress (the
SHA-256 of its state, bound to the staff session). ``password_links`` are invitations and
password resets (the SHA-256 of the link's token).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import episodes.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('account_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('api_base', sa.String(length=500), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('remote_id', sa.String(length=200), nullable=False),
    sa.Column('remote_name', sa.String(length=300), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('connected_by', sa.String(length=100), nullable=False),
    sa.Column('connected_at', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('token_expires_at', episodes.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refresh_expires_at', episodes.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_at', episodes.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('check_ok', sa.Boolean(), nullable=True),
    sa.Column('check_message', sa.Text(), nullable=False),
    sa.Column('warned', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('updated_at', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_connections')),
    sa.UniqueConstraint('account', name=op.f('uq_account_connections_account'))
    )
    op.create_table('oauth_flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('session_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('platform', sa.String(length=32), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('redirect_uri', sa.String(length=500), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('created_at', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_oauth_flows_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_flows')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_oauth_flows_state_hash'))
    )
    with op.batch_alter_table('oauth_flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_flows_expires_at'), ['expires_at'], unique=False)

    op.create_table('password_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', episodes.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_links_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_links_token_hash'))
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_links_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_links_user_id'))

    op.drop_table('password_links')
    with op.batch_alter_table('oauth_flows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_flows_expires_at'))

    op.drop_table('oauth_flows')
    op.drop_table('account_connections')
