"""grouped notifications (notifications.group_key) and people's own domain blocks

Existing notifications become `ungrouped-<id>`, as Mastodon's migration leaves old ones.

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("group_key", sa.String(64), nullable=True))
    op.execute("UPDATE notifications SET group_key = 'ungrouped-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("group_key", existing_type=sa.String(64), nullable=False)
    op.create_index("ix_notifications_group", "notifications", ["account_id", "group_key", "id"])
    op.create_table(
        "user_domain_blocks",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("account_id", "domain", name="ux_user_domain_blocks_pair"),
    )


def downgrade() -> None:
    op.drop_table("user_domain_blocks")
    op.drop_index("ix_notifications_group", "notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("group_key")
