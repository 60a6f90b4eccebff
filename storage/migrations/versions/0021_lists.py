"""lists: an account's lists of people it follows, and their members (storage/models/lists.py)

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lists",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("replies_policy", sa.String(16), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lists_account", "lists", ["account_id", "id"])
    op.create_table(
        "list_accounts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("list_id", sa.BigInteger(), sa.ForeignKey("lists.id", ondelete="CASCADE"), nullable=False),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("follow_id", sa.BigInteger(), sa.ForeignKey("follows.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("list_id", "account_id", name="ux_list_accounts_pair"),
    )
    op.create_index("ix_list_accounts_account", "list_accounts", ["account_id"])
    op.create_index("ix_list_accounts_follow_id", "list_accounts", ["follow_id"])


def downgrade() -> None:
    op.drop_table("list_accounts")
    op.drop_table("lists")
