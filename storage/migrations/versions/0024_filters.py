"""content filters (Mastodon's filters v2): filters, their keywords and the posts they name

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_filters",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("contexts", sa.String(128), nullable=False),
        sa.Column("action", sa.String(8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_content_filters_account_id", "content_filters", ["account_id"])
    op.create_table(
        "filter_keywords",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("filter_id", sa.BigInteger(), sa.ForeignKey("content_filters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("keyword", sa.String(512), nullable=False),
        sa.Column("whole_word", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_filter_keywords_filter_id", "filter_keywords", ["filter_id"])
    op.create_table(
        "filter_statuses",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("filter_id", sa.BigInteger(), sa.ForeignKey("content_filters.id", ondelete="CASCADE"), nullable=False),
        sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("filter_id", "post_id", name="ux_filter_statuses_pair"),
    )
    op.create_index("ix_filter_statuses_filter_id", "filter_statuses", ["filter_id"])
    op.create_index("ix_filter_statuses_post_id", "filter_statuses", ["post_id"])


def downgrade() -> None:
    op.drop_table("filter_statuses")
    op.drop_table("filter_keywords")
    op.drop_table("content_filters")
