"""SCIM provisioning: bearer tokens (hashed), provisioned people's resources beside their
accounts, the directory's groups and members; timelines leave out disabled accounts as they do
suspended ones (partial indexes replaced)

Revision ID: 0017
Revises: 0016
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# The predicates node/visibility.py writes, so both engines can prove the index covers them.
HIDDEN: dict[str, Any] = {"sqlite_where": sa.text("suspended = 1 OR disabled = 1"),
                          "postgresql_where": sa.text("suspended = true OR disabled = true")}
UNLISTED: dict[str, Any] = {"sqlite_where": sa.text("suspended = 1 OR silenced = 1 OR disabled = 1"),
                            "postgresql_where": sa.text("suspended = true OR silenced = true OR disabled = true")}
SUSPENDED: dict[str, Any] = {"sqlite_where": sa.text("suspended = 1"), "postgresql_where": sa.text("suspended = true")}
MODERATED: dict[str, Any] = {"sqlite_where": sa.text("suspended = 1 OR silenced = 1"),
                             "postgresql_where": sa.text("suspended = true OR silenced = true")}


def upgrade() -> None:
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "scim_users",
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("scim_id", sa.String(36), nullable=False, unique=True),
        sa.Column("user_name", sa.String(255), nullable=False),
        sa.Column("user_name_key", sa.String(255), nullable=False, unique=True),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scim_users_external_id", "scim_users", ["external_id"])
    op.create_table(
        "scim_groups",
        sa.Column("scim_id", sa.String(36), primary_key=True),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_scim_groups_external_id", "scim_groups", ["external_id"])
    op.create_table(
        "scim_group_members",
        sa.Column("group_id", sa.String(36), sa.ForeignKey("scim_groups.scim_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("member_id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("display", sa.String(255), nullable=False),
    )
    op.create_index("ix_scim_group_members_member_id", "scim_group_members", ["member_id"])
    op.drop_index("ix_accounts_moderated", table_name="accounts")
    op.drop_index("ix_accounts_suspended", table_name="accounts")
    op.create_index("ix_accounts_hidden", "accounts", ["id"], **HIDDEN)
    op.create_index("ix_accounts_unlisted", "accounts", ["id"], **UNLISTED)


def downgrade() -> None:
    op.drop_index("ix_accounts_unlisted", table_name="accounts")
    op.drop_index("ix_accounts_hidden", table_name="accounts")
    op.create_index("ix_accounts_suspended", "accounts", ["id"], **SUSPENDED)
    op.create_index("ix_accounts_moderated", "accounts", ["id"], **MODERATED)
    op.drop_index("ix_scim_group_members_member_id", table_name="scim_group_members")
    op.drop_table("scim_group_members")
    op.drop_index("ix_scim_groups_external_id", table_name="scim_groups")
    op.drop_table("scim_groups")
    op.drop_index("ix_scim_users_external_id", table_name="scim_users")
    op.drop_table("scim_users")
    op.drop_table("scim_tokens")
