"""account preferences: default audience, sensitive and language of new posts, how media and
content warnings are shown (Mastodon's /api/v1/preferences)

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_preferences",
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("default_audience", sa.String(16), nullable=True),
        sa.Column("default_sensitive", sa.Boolean(), nullable=False),
        sa.Column("default_language", sa.String(16), nullable=True),
        sa.Column("expand_media", sa.String(16), nullable=False),
        sa.Column("expand_spoilers", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("account_preferences")
