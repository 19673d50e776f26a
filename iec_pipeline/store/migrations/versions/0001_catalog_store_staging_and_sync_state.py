"""catalog store, staging and sync state

Revision ID: 0001
Revises: 
"""

import sqlalchemy as sa
from alembic import op

import iec_pipeline.store.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attribute_options',
    sa.Column('code', sa.String(length=511), nullable=False),
    sa.Column('attribute', sa.String(length=255), nullable=False),
    sa.Column('option_code', sa.String(length=255), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=True),
    sa.Column('labels', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_attribute_options')),
    sa.UniqueConstraint('code', name=op.f('uq_attribute_options_code'))
    )
    with op.batch_alter_table('attribute_options', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attribute_options_attribute'), ['attribute'], unique=False)

    op.create_table('categories',
    sa.Column('code', sa.String(length=255), nullable=False),
    sa.Column('parent', sa.String(length=255), nullable=True),
    sa.Column('labels', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('values', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_categories_code'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_parent'), ['parent'], unique=False)

    op.create_table('families',
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('attribute_as_label', sa.String(length=255), nullable=True),
    sa.Column('attribute_as_image', sa.String(length=255), nullable=True),
    sa.Column('attributes', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('attribute_requirements', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('labels', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_families')),
    sa.UniqueConstraint('code', name=op.f('uq_families_code'))
    )
    op.create_table('family_variants',
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('family', sa.String(length=100), nullable=False),
    sa.Column('labels', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('variant_attribute_sets', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_family_variants')),
    sa.UniqueConstraint('code', name=op.f('uq_family_variants_code'))
    )
    with op.batch_alter_table('family_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_variants_family'), ['family'], unique=False)

    op.create_table('product_attribute_values',
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_uuid', sa.String(length=36), nullable=False),
    sa.Column('attribute_code', sa.String(length=255), nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('locale', sa.String(length=20), nullable=False),
    sa.Column('value', iec_pipeline.store.models.CanonicalJSON(), nullable=False),
    sa.Column('unit', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('entity_type', 'entity_uuid', 'attribute_code', 'channel', 'locale', name=op.f('pk_product_attribute_values')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('product_attribute_values', schema=None) as batch_op:
        batch_op.create_index('ix_product_attribute_values_attribute_code', ['attribute_code'], unique=False)

    op.create_table('product_attributes',
    sa.Column('code', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('group', sa.String(length=100), nullable=True),
    sa.Column('labels', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('localizable', sa.Boolean(), nullable=True),
    sa.Column('scopable', sa.Boolean(), nullable=True),
    sa.Column('unique', sa.Boolean(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=True),
    sa.Column('metric_family', sa.String(length=100), nullable=True),
    sa.Column('default_metric_unit', sa.String(length=100), nullable=True),
    sa.Column('decimals_allowed', sa.Boolean(), nullable=True),
    sa.Column('negative_allowed', sa.Boolean(), nullable=True),
    sa.Column('available_locales', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('properties', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_product_attributes')),
    sa.UniqueConstraint('code', name=op.f('uq_product_attributes_code'))
    )
    op.create_table('product_models',
    sa.Column('code', sa.String(length=255), nullable=False),
    sa.Column('family', sa.String(length=100), nullable=True),
    sa.Column('family_variant', sa.String(length=100), nullable=True),
    sa.Column('parent', sa.String(length=255), nullable=True),
    sa.Column('categories', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('associations', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('quantified_associations', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_product_models')),
    sa.UniqueConstraint('code', name=op.f('uq_product_models_code'))
    )
    with op.batch_alter_table('product_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_models_parent'), ['parent'], unique=False)

    op.create_table('products',
    sa.Column('identifier', sa.String(length=255), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=True),
    sa.Column('family', sa.String(length=100), nullable=True),
    sa.Column('parent', sa.String(length=255), nullable=True),
    sa.Column('categories', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('groups', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('associations', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('quantified_associations', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_identifier'), ['identifier'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_parent'), ['parent'], unique=False)

    op.create_table('staging_entities',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sync_id', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('code', sa.String(length=511), nullable=False),
    sa.Column('content_hash', sa.String(length=40), nullable=False),
    sa.Column('raw_hash', sa.String(length=40), nullable=True),
    sa.Column('updated', sa.DateTime(), nullable=True),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.Column('fields', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('values', sa.Text(), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staging_entities'))
    )
    with op.batch_alter_table('staging_entities', schema=None) as batch_op:
        batch_op.create_index('ix_staging_entities_sync', ['sync_id', 'entity_type', 'key'], unique=False)

    op.create_table('staging_scopes',
    sa.Column('sync_id', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('requested_keys', iec_pipeline.store.models.CanonicalJSON(), nullable=True),
    sa.Column('window_start', sa.DateTime(), nullable=True),
    sa.Column('window_end', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('max_updated', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('sync_id', 'entity_type', name=op.f('pk_staging_scopes'))
    )
    op.create_table('sync_state',
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('watermark', sa.DateTime(), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(), nullable=True),
    sa.Column('last_full_sync_at', sa.DateTime(), nullable=True),
    sa.Column('last_sync_id', sa.String(length=64), nullable=True),
    sa.Column('last_mode', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('entity_type', name=op.f('pk_sync_state'))
    )


def downgrade() -> None:
    op.drop_table('sync_state')
    op.drop_table('staging_scopes')
    with op.batch_alter_table('staging_entities', schema=None) as batch_op:
        batch_op.drop_index('ix_staging_entities_sync')

    op.drop_table('staging_entities')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_identifier'))
        batch_op.drop_index(batch_op.f('ix_products_parent'))
        batch_op.drop_index(batch_op.f('ix_products_family'))

    op.drop_table('products')
    with op.batch_alter_table('product_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_models_parent'))

    op.drop_table('product_models')
    op.drop_table('product_attributes')
    with op.batch_alter_table('product_attribute_values', schema=None) as batch_op:
        batch_op.drop_index('ix_product_attribute_values_attribute_code')

    op.drop_table('product_attribute_values')
    with op.batch_alter_table('family_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_variants_family'))

    op.drop_table('family_variants')
    op.drop_table('families')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_parent'))

    op.drop_table('categories')
    with op.batch_alter_table('attribute_options', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attribute_options_attribute'))

    op.drop_table('attribute_options')
