"""staging scopes remember deletions announced by events

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

    with op.batch_alter_table('staging_scopes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_keys', iec_pipeline.store.models.CanonicalJSON(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('staging_scopes', schema=None) as batch_op:
        batch_op.drop_column('deleted_keys')


