"""conversation_states: what each account did with its conversations (read, removed)

The conversations themselves are derived from direct posts (node/conversations.py); only the
read position and what the account removed from its list need keeping.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_states',
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('read_up_to', sa.BigInteger(), nullable=False),
    sa.Column('removed_up_to', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'conversation_id')
    )


def downgrade() -> None:
    op.drop_table('conversation_states')
