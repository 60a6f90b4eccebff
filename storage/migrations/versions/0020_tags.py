"""followed tags, featured tags, dismissed suggestions

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _created() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "followed_tags",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), sa.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
        _created(),
        sa.UniqueConstraint("tag_id", "account_id", name="ux_followed_tags_pair"),
    )
    op.create_index("ix_followed_tags_account_id", "followed_tags", ["account_id"])
    op.create_table(
        "featured_tags",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tag_id", sa.BigInteger(), sa.ForeignKey("tags.id", ondelete="CASCADE"), nullable=False),
        _created(),
        sa.UniqueConstraint("account_id", "tag_id", name="ux_featured_tags_pair"),
    )
    op.create_table(
        "dismissed_suggestions",
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("target_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        _created(),
    )


def downgrade() -> None:
    op.drop_table("dismissed_suggestions")
    op.drop_table("featured_tags")
    op.drop_index("ix_followed_tags_account_id", table_name="followed_tags")
    op.drop_table("followed_tags")
