"""index: a claim reads pending jobs per (queue, rank, priority) in id order, each range cut at its
structure bound, the oldest due job of a structural rank the first of its ranges (replaces
ix_mutation_jobs_claim and ix_mutation_jobs_rank)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ["integration", "status", "queue", "type_rank", "priority", "id", "next_attempt_at"]


def upgrade() -> None:
    op.create_index("ix_mutation_jobs_pending", "mutation_jobs", COLUMNS)
    op.drop_index("ix_mutation_jobs_claim", table_name="mutation_jobs")
    op.drop_index("ix_mutation_jobs_rank", table_name="mutation_jobs")


def downgrade() -> None:
    op.create_index("ix_mutation_jobs_rank", "mutation_jobs", ["integration", "type_rank", "status"])
    op.create_index("ix_mutation_jobs_claim", "mutation_jobs", ["integration", "queue", "status", "priority", "id"])
    op.drop_index("ix_mutation_jobs_pending", table_name="mutation_jobs")
