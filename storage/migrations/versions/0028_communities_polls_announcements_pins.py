"""communities (Group accounts), polls, announcements and pinned posts

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _account(name: str, *, nullable: bool = False, ondelete: str = "CASCADE", primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete=ondelete),
                     nullable=nullable, primary_key=primary_key)


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("actor_type", sa.String(16), nullable=False, server_default="Person"))
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("community_id", sa.BigInteger(), nullable=True))
        batch.create_foreign_key("fk_posts_community_id_accounts", "accounts", ["community_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_posts_community", "posts", ["community_id", "id"])
    op.create_table(
        "communities",
        _account("account_id", primary_key=True),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False, server_default=""),
        _account("created_by", nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "community_moderators",
        sa.Column("community_id", sa.BigInteger(), sa.ForeignKey("communities.account_id", ondelete="CASCADE"), primary_key=True),
        _account("account_id", primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_community_moderators_account_id", "community_moderators", ["account_id"])
    op.create_table(
        "community_invites",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("community_id", sa.BigInteger(), sa.ForeignKey("communities.account_id", ondelete="CASCADE"), nullable=False),
        _account("account_id"),
        _account("invited_by", nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("community_id", "account_id", name="ux_community_invites_pair"),
    )
    op.create_index("ix_community_invites_account_id", "community_invites", ["account_id"])
    op.create_table(
        "polls",
        sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("voters_count", sa.Integer(), nullable=False),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "poll_votes",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("polls.post_id", ondelete="CASCADE"), nullable=False),
        _account("account_id"),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(2048), nullable=True, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("post_id", "account_id", "choice", name="ux_poll_votes_choice"),
    )
    op.create_index("ix_poll_votes_post_id", "poll_votes", ["post_id"])
    op.create_index("ix_poll_votes_account_id", "poll_votes", ["account_id"])
    op.create_table(
        "announcements",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("starts_at", _TS, nullable=True),
        sa.Column("ends_at", _TS, nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("organization_wide", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(255), nullable=True),
        sa.Column("uri", sa.String(2048), nullable=True, unique=True),
        _account("created_by", nullable=True, ondelete="SET NULL"),
        sa.Column("published_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "announcement_reads",
        sa.Column("announcement_id", sa.BigInteger(), sa.ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True),
        _account("account_id", primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "announcement_reactions",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("announcement_id", sa.BigInteger(), sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False),
        _account("account_id"),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("announcement_id", "account_id", "name", name="ux_announcement_reactions"),
    )
    op.create_index("ix_announcement_reactions_announcement_id", "announcement_reactions", ["announcement_id"])
    op.create_table(
        "pinned_posts",
        _account("account_id", primary_key=True),
        sa.Column("post_id", sa.BigInteger(), sa.ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
        _account("pinned_by", nullable=True, ondelete="SET NULL"),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_pinned_posts_post_id", "pinned_posts", ["post_id"])


def downgrade() -> None:
    for table in ("pinned_posts", "announcement_reactions", "announcement_reads", "announcements", "poll_votes",
                  "polls", "community_invites", "community_moderators", "communities"):
        op.drop_table(table)
    op.drop_index("ix_posts_community", "posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("fk_posts_community_id_accounts", type_="foreignkey")
        batch.drop_column("community_id")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("actor_type")
