"""staging: an index for reading one action's staged rows in id order (the diff's chunks)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_staging_entities_action", "staging_entities", ["sync_id", "entity_type", "action", "id"])


def downgrade() -> None:
    op.drop_index("ix_staging_entities_action", table_name="staging_entities")
