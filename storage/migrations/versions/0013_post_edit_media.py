"""post_edit_media: which attachments each earlier version of a post had

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("post_edits") as batch:
        batch.add_column(sa.Column("media_ids", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("post_edits") as batch:
        batch.drop_column("media_ids")
