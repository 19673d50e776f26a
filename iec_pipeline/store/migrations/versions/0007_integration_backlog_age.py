"""integrations: max_backlog_age_seconds (the integration asset's backlog check)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("max_backlog_age_seconds", sa.Float(), nullable=False, server_default="3600"))


def downgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("max_backlog_age_seconds")
