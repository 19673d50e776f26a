"""channels and association_types (reference data synced like categories); media_files (Akeneo media
files downloaded for deliveries, content-addressed on disk)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

import iec_pipeline.store.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _tracked(table: str) -> list:
    """The columns every synced entity carries, and its primary key."""
    return [
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=40), nullable=False),
        sa.Column("raw_hash", sa.String(length=40), nullable=True),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("code", name=op.f(f"uq_{table}_code")),
    ]


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", iec_pipeline.store.models.CanonicalJSON(), nullable=True),
        sa.Column("locales", iec_pipeline.store.models.CanonicalJSON(), nullable=True),
        sa.Column("currencies", iec_pipeline.store.models.CanonicalJSON(), nullable=True),
        sa.Column("category_tree", sa.String(length=255), nullable=True),
        sa.Column("conversion_units", iec_pipeline.store.models.CanonicalJSON(), nullable=True),
        *_tracked("channels"),
    )
    op.create_table(
        "association_types",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("labels", iec_pipeline.store.models.CanonicalJSON(), nullable=True),
        sa.Column("is_quantified", sa.Boolean(), nullable=True),
        sa.Column("is_two_way", sa.Boolean(), nullable=True),
        *_tracked("association_types"),
    )
    op.create_table(
        "media_files",
        sa.Column("code", sa.String(length=1000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=1000), nullable=False),
        sa.Column("mime_type", sa.String(length=255), nullable=False),
        sa.Column("downloaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_media_files")),
    )
    with op.batch_alter_table("media_files", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_files_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("media_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_files_sha256"))
    op.drop_table("media_files")
    op.drop_table("association_types")
    op.drop_table("channels")
