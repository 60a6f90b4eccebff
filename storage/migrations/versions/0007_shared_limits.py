"""limit states and serving processes: the node's limits hold across its processes

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('limit_states',
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('level', sa.Float(), nullable=False),
    sa.Column('stamp', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index('ix_limit_states_stamp', 'limit_states', ['stamp'])
    op.create_table('serving_processes',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_serving_processes_seen_at', 'serving_processes', ['seen_at'])


def downgrade() -> None:
    op.drop_index('ix_serving_processes_seen_at', table_name='serving_processes')
    op.drop_table('serving_processes')
    op.drop_index('ix_limit_states_stamp', table_name='limit_states')
    op.drop_table('limit_states')
