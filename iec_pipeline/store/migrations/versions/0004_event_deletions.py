"""deletions: announced by events (staging scopes), remembered (tombstones); Akeneo's clock per fetch

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import iec_pipeline.store.models


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("entity_type", sa.String(length=30), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "uuid", name=op.f("pk_tombstones")),
    )

    with op.batch_alter_table('staging_scopes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_keys', iec_pipeline.store.models.CanonicalJSON(), nullable=True))
        batch_op.add_column(sa.Column("server_started_at", sa.DateTime(), nullable=True))




def downgrade() -> None:
    op.drop_table("tombstones")

    with op.batch_alter_table('staging_scopes', schema=None) as batch_op:
        batch_op.drop_column("server_started_at")
        batch_op.drop_column('deleted_keys')


