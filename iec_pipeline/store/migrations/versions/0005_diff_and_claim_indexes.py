"""indexes: staged rows of one action in id order (the diff's chunks); claims walk a queue in priority order

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
    op.drop_index("ix_mutation_jobs_due", table_name="mutation_jobs")
    op.create_index("ix_mutation_jobs_claim", "mutation_jobs", ["integration", "queue", "status", "priority", "id"])
    op.create_index("ix_mutation_jobs_rank", "mutation_jobs", ["integration", "type_rank", "status"])


def downgrade() -> None:
    op.drop_index("ix_mutation_jobs_rank", table_name="mutation_jobs")
    op.drop_index("ix_mutation_jobs_claim", table_name="mutation_jobs")
    op.create_index("ix_mutation_jobs_due", "mutation_jobs", ["integration", "queue", "status", "next_attempt_at"])
    op.drop_index("ix_staging_entities_action", table_name="staging_entities")
