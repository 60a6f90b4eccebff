"""accounts.discoverable: what a remote actor's document says about being discoverable

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a remote account stored before this, or whose document says nothing, shows
    # `discoverable: null` until it is fetched again.
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('discoverable', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('discoverable')
