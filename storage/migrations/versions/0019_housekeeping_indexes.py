"""housekeeping: indexes on what the prune worker asks of growing tables (node/housekeeping.py),
and on the foreign keys a removed post's rows cascade along

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_posts_local_id", "posts", ["local", "id"]),  # peers' posts, oldest first
    ("ix_posts_reblog", "posts", ["reblog_of_id"]),  # boosts of a post (kept by one; cascaded)
    ("ix_notifications_post", "notifications", ["post_id"]),
    ("ix_home_entries_post", "home_entries", ["post_id"]),
    ("ix_tombstones_deleted", "tombstones", ["deleted_at"]),
    ("ix_web_sessions_expires", "web_sessions", ["expires_at"]),
    ("ix_oauth_codes_expires", "oauth_codes", ["expires_at"]),
    ("ix_idempotency_keys_created", "idempotency_keys", ["created_at"]),
    ("ix_jobs_finished", "jobs", ["status", "updated_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
