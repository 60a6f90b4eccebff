"""reports as the client API files them: category, cited rules, and whether a copy was forwarded
to the reported account's node (a Flag from the instance actor)

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("category", sa.String(16), nullable=False, server_default="other"))
        batch.add_column(sa.Column("rule_ids", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("forwarded", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("forwarded")
        batch.drop_column("rule_ids")
        batch.drop_column("category")
