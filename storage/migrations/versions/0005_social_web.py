"""mutes, bookmarks, markers, web sessions, shared node settings; moderation flags

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode): SQLite's table rebuild would drop ux_accounts_handle.
    op.add_column('accounts', sa.Column('suspended', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('accounts', sa.Column('silenced', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('reports', sa.Column('resolution', sa.Text(), server_default='', nullable=False))
    op.create_table('mutes',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('notifications', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'target_id', name='ux_mutes_pair')
    )
    op.create_index('ix_mutes_target_id', 'mutes', ['target_id'])
    op.create_table('bookmarks',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('post_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'post_id', name='ux_bookmarks_pair')
    )
    op.create_index('ix_bookmarks_post_id', 'bookmarks', ['post_id'])
    op.create_table('markers',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('timeline', sa.String(length=32), nullable=False),
    sa.Column('last_read_id', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'timeline')
    )
    op.create_table('web_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('credentials_version', sa.Integer(), nullable=False),
    sa.Column('user_agent', sa.String(length=512), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_web_sessions_account_id', 'web_sessions', ['account_id'])
    op.create_table('node_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('node_settings')
    op.drop_index('ix_web_sessions_account_id', table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_table('markers')
    op.drop_index('ix_bookmarks_post_id', table_name='bookmarks')
    op.drop_table('bookmarks')
    op.drop_index('ix_mutes_target_id', table_name='mutes')
    op.drop_table('mutes')
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('resolution')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('silenced')
        batch.drop_column('suspended')
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_accounts_handle "
        "ON accounts (lower(username), coalesce(domain, ''))"
    )
