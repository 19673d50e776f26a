"""integrations: disabled_at, missed_since (what an integration enabled again missed), on_disconnect;
integration_connections: credentials_env (a connection's own credentials, by environment prefix)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("missed_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("on_disconnect", sa.String(10), nullable=False, server_default="keep"))


    with op.batch_alter_table("integration_connections") as batch:
        batch.add_column(sa.Column("credentials_env", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integration_connections") as batch:
        batch.drop_column("credentials_env")
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("on_disconnect")
        batch.drop_column("missed_since")
        batch.drop_column("disabled_at")
