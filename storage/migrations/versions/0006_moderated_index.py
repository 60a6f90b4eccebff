"""partial indexes on moderated accounts: timelines exclude them without scanning accounts

Revision ID: 0006
Revises: 0005
"""
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The same predicates the timeline queries write (node/visibility.py), so both SQLite and
# PostgreSQL can prove the index covers them.
SUSPENDED: dict[str, Any] = {"sqlite_where": sa.text("suspended = 1"), "postgresql_where": sa.text("suspended = true")}
MODERATED: dict[str, Any] = {"sqlite_where": sa.text("suspended = 1 OR silenced = 1"),
             "postgresql_where": sa.text("suspended = true OR silenced = true")}


def upgrade() -> None:
    op.create_index('ix_accounts_suspended', 'accounts', ['id'], **SUSPENDED)
    op.create_index('ix_accounts_moderated', 'accounts', ['id'], **MODERATED)


def downgrade() -> None:
    op.drop_index('ix_accounts_moderated', table_name='accounts')
    op.drop_index('ix_accounts_suspended', table_name='accounts')
