"""node names: what peer nodes call themselves, and remote accounts' counts as their server gives them

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "peer_names",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("posts_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("followers_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("following_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("following_count")
        batch.drop_column("followers_count")
        batch.drop_column("posts_count")
    op.drop_table("peer_names")
