"""media: pictures and files attached to posts, and accounts' avatars and headers

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_attachments",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("posts.id", ondelete="SET NULL"), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("failure", sa.String(255), nullable=True),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("storage_key", sa.String(255), nullable=True),
        sa.Column("preview_key", sa.String(255), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("preview_width", sa.Integer(), nullable=True),
        sa.Column("preview_height", sa.Integer(), nullable=True),
        sa.Column("focus_x", sa.Float(), nullable=False),
        sa.Column("focus_y", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("blurhash", sa.String(255), nullable=True),
        sa.Column("remote_url", sa.String(2048), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_media_post", "media_attachments", ["post_id", "position"])
    op.create_index("ix_media_account", "media_attachments", ["account_id", "id"])
    op.create_index("ix_media_storage_key", "media_attachments", ["storage_key"], unique=True)
    op.create_index("ix_media_preview_key", "media_attachments", ["preview_key"], unique=True)
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("avatar_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("header_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("header_id")
        batch.drop_column("avatar_id")
    op.drop_table("media_attachments")
