"""report numbers: a short number per node (#12) that people read, beside the API's id

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('number', sa.Integer(), nullable=True))
    # Reports already kept are numbered in the order they came (ties by id).
    op.execute(
        "UPDATE reports SET number = (SELECT count(*) FROM reports AS r WHERE r.created_at < reports.created_at"
        " OR (r.created_at = reports.created_at AND r.id <= reports.id))"
    )
    with op.batch_alter_table('reports') as batch:
        batch.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint('ux_reports_number', ['number'])


def downgrade() -> None:
    with op.batch_alter_table('reports') as batch:
        batch.drop_constraint('ux_reports_number', type_='unique')
        batch.drop_column('number')
