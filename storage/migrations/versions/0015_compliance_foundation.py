"""compliance and directory foundation: legal holds, sealed posts, profile fields, directory attributes of
accounts, account deletion mark

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_DIRECTORY = ("title", "department", "location", "organization", "manager")


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("case_name", sa.String(128), nullable=False),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_legal_holds_account", "legal_holds", ["account_id", "released_at"])
    op.create_index("ix_legal_holds_case", "legal_holds", ["case_name"])
    op.create_table(
        "sealed_posts",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("post_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("uri", sa.String(2048), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=False),
    )
    op.create_index("ix_sealed_posts_account", "sealed_posts", ["account_id", "post_id"])
    op.create_table(
        "account_fields",
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("accounts") as batch:
        for name in _DIRECTORY:
            batch.add_column(sa.Column(name, sa.String(255), nullable=False, server_default=""))
        batch.add_column(sa.Column("employee_number", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("employee_number")
        for name in reversed(_DIRECTORY):
            batch.drop_column(name)
    op.drop_table("account_fields")
    op.drop_index("ix_sealed_posts_account", table_name="sealed_posts")
    op.drop_table("sealed_posts")
    op.drop_index("ix_legal_holds_case", table_name="legal_holds")
    op.drop_index("ix_legal_holds_account", table_name="legal_holds")
    op.drop_table("legal_holds")
