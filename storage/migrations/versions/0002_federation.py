"""federation: remote actor keys, inbox log, tombstones, peer health, job ordering

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('followers_uri', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=2048), nullable=True))
        batch_op.add_column(sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint('uq_accounts_key_id', ['key_id'])
    _restore_handle_index()
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ordering_key', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('target', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_jobs_ordering', ['ordering_key', 'id'], unique=False)
        batch_op.create_index('ix_jobs_target', ['queue', 'target', 'status'], unique=False)
    op.create_table('inbox_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('activity_id', sa.String(length=2048), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('actor_uri', sa.String(length=2048), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('origin', 'activity_id', name='ux_inbox_log_activity')
    )
    op.create_table('tombstones',
    sa.Column('uri', sa.String(length=2048), nullable=False),
    sa.Column('actor_uri', sa.String(length=2048), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('uri')
    )
    op.create_table('peers',
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('breaker_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dead', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('domain')
    )


    op.create_table('blocks',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('uri', sa.String(length=2048), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account_id', 'target_id', name='ux_blocks_pair')
    )
    op.create_index('ix_blocks_target_id', 'blocks', ['target_id'])
    op.create_table('reports',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('reporter_id', sa.BigInteger(), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('post_ids', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('uri', sa.String(length=2048), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reporter_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reports_target_id', 'reports', ['target_id'])


def downgrade() -> None:
    op.drop_index('ix_reports_target_id', table_name='reports')
    op.drop_table('reports')
    op.drop_index('ix_blocks_target_id', table_name='blocks')
    op.drop_table('blocks')
    op.drop_table('peers')
    op.drop_table('tombstones')
    op.drop_table('inbox_log')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_target')
        batch_op.drop_index('ix_jobs_ordering')
        batch_op.drop_column('target')
        batch_op.drop_column('ordering_key')
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_accounts_key_id', type_='unique')
        batch_op.drop_column('fetched_at')
        batch_op.drop_column('key_id')
        batch_op.drop_column('followers_uri')
    _restore_handle_index()


def _restore_handle_index() -> None:
    # SQLite's batch mode rebuilds the table and cannot carry expression indexes over.
    op.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS ux_accounts_handle "
        "ON accounts (lower(username), coalesce(domain, ''))"
    )
