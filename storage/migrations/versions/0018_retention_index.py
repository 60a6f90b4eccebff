"""retention: posts indexed by audience, origin and age, for the retention worker

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_posts_retention", "posts", ["visibility", "local", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_posts_retention", table_name="posts")
