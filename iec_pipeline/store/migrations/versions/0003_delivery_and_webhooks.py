"""integrations, connections, mutation jobs, entity mappings, webhook drops

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import iec_pipeline.store.models


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('entity_mappings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('integration', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('entity_uuid', sa.String(length=36), nullable=False),
    sa.Column('external_id', sa.String(length=255), nullable=True),
    sa.Column('external_data', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entity_mappings')),
    sa.UniqueConstraint('integration', 'entity_type', 'entity_uuid', name=op.f('uq_entity_mappings_integration_entity_type_entity_uuid'))
    )
    op.create_table('integration_connections',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('integration', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('entity_uuid', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=511), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_connections')),
    sa.UniqueConstraint('integration', 'entity_type', 'entity_uuid', name=op.f('uq_integration_connections_integration_entity_type_entity_uuid'))
    )
    op.create_table('integrations',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('driver', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('entity_types', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('priority_map', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.Column('retry_attempts', sa.Integer(), nullable=False),
    sa.Column('retry_delay_seconds', sa.Float(), nullable=False),
    sa.Column('configuration', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.Column('declared', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_integrations'))
    )
    op.create_table('mutation_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mutation_id', sa.Integer(), nullable=False),
    sa.Column('integration', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('entity_uuid', sa.String(length=36), nullable=False),
    sa.Column('lock_key', sa.String(length=36), nullable=False),
    sa.Column('order_key', sa.String(length=36), nullable=False),
    sa.Column('type_rank', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=511), nullable=False),
    sa.Column('operation', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=40), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('worker', sa.String(length=100), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('superseded_by', sa.Integer(), nullable=True),
    sa.Column('hook_state', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mutation_jobs')),
    sa.UniqueConstraint('mutation_id', 'integration', name=op.f('uq_mutation_jobs_mutation_id_integration')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('mutation_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_mutation_jobs_due', ['integration', 'queue', 'status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_mutation_jobs_entity', ['integration', 'entity_uuid', 'status'], unique=False)
        batch_op.create_index('ix_mutation_jobs_lock', ['integration', 'lock_key', 'status'], unique=False)
        batch_op.create_index('ix_mutation_jobs_order', ['integration', 'order_key', 'status'], unique=False)
        batch_op.create_index('ix_mutation_jobs_run', ['status', 'run_id'], unique=False)

    op.create_table('webhook_drops',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('scheme', sa.String(length=20), nullable=False),
    sa.Column('type', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('entity_type', sa.String(length=30), nullable=True),
    sa.Column('code_or_uuid', sa.String(length=511), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('raw_body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_drops')),
    sa.UniqueConstraint('event_id', name=op.f('uq_webhook_drops_event_id')),
    sqlite_autoincrement=True
    )



def downgrade() -> None:

    op.drop_table('webhook_drops')
    with op.batch_alter_table('mutation_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_mutation_jobs_run')
        batch_op.drop_index('ix_mutation_jobs_order')
        batch_op.drop_index('ix_mutation_jobs_lock')
        batch_op.drop_index('ix_mutation_jobs_entity')
        batch_op.drop_index('ix_mutation_jobs_due')

    op.drop_table('mutation_jobs')
    op.drop_table('integrations')
    op.drop_table('integration_connections')
    op.drop_table('entity_mappings')

