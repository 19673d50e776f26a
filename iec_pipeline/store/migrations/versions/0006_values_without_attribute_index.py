"""values: no secondary index on attribute_code (it doubled what every sync writes for one check)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_product_attribute_values_attribute_code", table_name="product_attribute_values")


def downgrade() -> None:
    op.create_index("ix_product_attribute_values_attribute_code", "product_attribute_values", ["attribute_code"])
