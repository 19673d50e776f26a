"""mutations: the change log the diff writes, and the diff's record of previous states

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import iec_pipeline.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mutations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('entity_uuid', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=511), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('payload', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.Column('previous', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('changed_fields', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.Column('sync_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mutations')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mutations', schema=None) as batch_op:
        batch_op.create_index('ix_mutations_entity', ['entity_type', 'entity_uuid'], unique=False)
        batch_op.create_index(batch_op.f('ix_mutations_sync_id'), ['sync_id'], unique=False)

    op.create_table('staging_changes',
    sa.Column('sync_id', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=511), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('previous', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.PrimaryKeyConstraint('sync_id', 'entity_type', 'key', name=op.f('pk_staging_changes'))
    )

def downgrade() -> None:
    op.drop_table("staging_changes")
    with op.batch_alter_table("mutations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mutations_sync_id"))
        batch_op.drop_index("ix_mutations_entity")
    op.drop_table("mutations")
