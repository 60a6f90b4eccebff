"""the indexes of boosts hold boosts only: one boost per account and post, boosts of a post

Revision ID: 0029
Revises: 0028

The unique constraint (account_id, reblog_of_id) covered every post, and an author's own posts
(reblog_of_id NULL) all shared one key. SQLite's planner read `account_id = ? AND reblog_of_id
IS NULL` as a one-row lookup on that index, so an author's outbox, featured and tag pages read
every post of the author and sorted them, where the (account_id, id) index pages them in order;
and through the index of reblog_of_id, `reblog_of_id IS NULL` looked selective where it is nearly
every post (a search read every post of the node for each hit). Both indexes serve lookups of
boosts only (`reblog_of_id = ?` implies it is not NULL), and now hold only boosts.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

BOOSTS: dict[str, Any] = {"sqlite_where": sa.text("reblog_of_id IS NOT NULL"),
                          "postgresql_where": sa.text("reblog_of_id IS NOT NULL")}


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("ux_posts_one_boost", type_="unique")
    op.create_index("ux_posts_one_boost", "posts", ["account_id", "reblog_of_id"], unique=True, **BOOSTS)
    op.drop_index("ix_posts_reblog", table_name="posts")
    op.create_index("ix_posts_reblog", "posts", ["reblog_of_id"], **BOOSTS)


def downgrade() -> None:
    op.drop_index("ix_posts_reblog", table_name="posts")
    op.create_index("ix_posts_reblog", "posts", ["reblog_of_id"])
    op.drop_index("ux_posts_one_boost", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.create_unique_constraint("ux_posts_one_boost", ["account_id", "reblog_of_id"])
