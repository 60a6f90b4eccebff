"""scheduled statuses and the uploads reserved for them

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_statuses",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("spoiler_text", sa.Text(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("in_reply_to_id", sa.BigInteger(), nullable=True),
        sa.Column("media_ids", sa.Text(), nullable=False),
        sa.Column("application_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
    )
    op.create_index("ix_scheduled_due", "scheduled_statuses", ["scheduled_at"])
    op.create_index("ix_scheduled_account", "scheduled_statuses", ["account_id", "id"])
    op.create_table(
        "scheduled_media",
        sa.Column("media_id", sa.BigInteger(),
                  sa.ForeignKey("media_attachments.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scheduled_id", sa.BigInteger(),
                  sa.ForeignKey("scheduled_statuses.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_index("ix_scheduled_media_scheduled_id", "scheduled_media", ["scheduled_id"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_media_scheduled_id", table_name="scheduled_media")
    op.drop_table("scheduled_media")
    op.drop_index("ix_scheduled_account", table_name="scheduled_statuses")
    op.drop_index("ix_scheduled_due", table_name="scheduled_statuses")
    op.drop_table("scheduled_statuses")
