"""The store schema: Alembic migrations build exactly the models, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from iec_pipeline.store import db
from iec_pipeline.store.models import Base


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_migrations_build_the_models_and_downgrade_cleanly(store_url):
    db.upgrade(store_url)
    db.upgrade(store_url)  # idempotent: every command runs it
    engine = db.get_engine(store_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    with engine.begin() as conn:
        config = db.alembic_config(store_url)
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def test_the_head_revision_is_alembics_head(store_url):
    """`upgrade` skips Alembic when the store is at HEAD_REVISION: it must be Alembic's own head."""
    script = ScriptDirectory.from_config(db.alembic_config(store_url))
    assert script.get_heads() == [db.HEAD_REVISION]
    db.upgrade(store_url)
    assert db.current_revision(db.get_engine(store_url)) == db.HEAD_REVISION


def test_a_new_sqlite_store_uses_8_kb_pages_and_wal(store_url):
    """A ~2 KB mutation filled half a 4 KB page; an existing store keeps the page size it was made with."""
    db.upgrade(store_url)
    with db.get_engine(store_url).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA page_size").scalar() == db.SQLITE_PAGE_SIZE == 8192
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
