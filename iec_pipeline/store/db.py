"""Engines and schema upgrades for the local store (SQLite by default, PostgreSQL supported)."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, DateTime, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Revisions are numbered in file names (0001_..., 0002_...): the newest is the head. A store already at
# the head is recognised with one query, without importing Alembic (every command checks the schema).
HEAD_REVISION = max(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def normalize_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the only PostgreSQL driver installed)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


SQLITE_PAGE_SIZE = 8192


@functools.cache
def get_engine(url: str) -> Engine:
    _opened.add(url)
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
            cursor = dbapi_connection.cursor()
            # Only takes on a new database. Mutation rows are large: SQLite's default page held one, half
            # empty (a first sync wrote much more, and its diff took longer).
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # a committed job or mutation survives a power cut
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection) -> None:
            # Writers take the write lock up front (two writers never deadlock upgrading a read lock);
            # readers (see `read_engine`) don't, so with WAL they never wait for a long write.
            options = connection.get_execution_options()
            if options.get("iec_read_only"):
                connection.exec_driver_sql("BEGIN")
                return
            # Staging (see `relaxed`) skips the fsync at commit; the next durable commit fsyncs the WAL anyway.
            connection.exec_driver_sql(f"PRAGMA synchronous={'NORMAL' if options.get('iec_relaxed') else 'FULL'}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def shareable(engine: Engine) -> bool:
    """Whether a worker process can open this store too (not an in-memory SQLite database)."""
    return engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:")


def database_url(engine: Engine) -> str:
    """The URL a worker process opens the same store with (password included: never log it)."""
    return engine.url.render_as_string(hide_password=False)


def read_engine(url: str) -> Engine:
    """The same engine and pool, for transactions that only read (no write lock on SQLite)."""
    return get_engine(url).execution_options(iec_read_only=True)


def relaxed(engine: Engine) -> Engine:
    """The same engine, for writes a crash may lose (staging: a fetch is redone): on SQLite its commits
    skip the fsync. Any crash of IEC's processes still keeps them; only a power cut may lose the last."""
    return engine.execution_options(iec_relaxed=True)


@functools.cache
def ready_engine(url: str) -> Engine:
    """The engine of a store whose schema is at the newest migration (upgraded once per process)."""
    upgrade(url)
    return get_engine(url)


def dispose_all() -> None:
    """Closes every engine this process opened (tests switch databases between cases)."""
    for engine in _engines():
        engine.dispose()
    get_engine.cache_clear()
    ready_engine.cache_clear()


def _engines() -> list[Engine]:
    return [get_engine(url) for url in list(_opened)]


_opened: set[str] = set()


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Creates or upgrades the store schema to the newest migration."""
    engine = get_engine(url)
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    """The migration the store is at (None: no schema yet)."""
    with engine.execution_options(iec_read_only=True).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def bulk_insert(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], skip_existing: bool = False
) -> int:
    """executemany straight to the driver: for hot paths whose JSON is already canonical text. With
    `skip_existing`, a row that would break a unique key is left out. Returns how many rows were inserted.

    Datetimes are spelled as SQLAlchemy spells them on SQLite, so SQL comparisons stay exact.
    """
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        from iec_pipeline.store.models import Base

        types = Base.metadata.tables[table].c
        dated = [i for i, name in enumerate(columns) if isinstance(types[name].type, DateTime)]
        if dated:
            spelled: dict[tuple[datetime, Any], str] = {}  # rows share a few times (a page's, a sync's)
            rows = [_sqlite_dates(row, dated, spelled) for row in rows]
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    quoted = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({", ".join([mark] * len(columns))})'
    if skip_existing:
        sql += " ON CONFLICT DO NOTHING"
    return conn.exec_driver_sql(sql, list(rows)).rowcount


def _sqlite_dates(
    row: Sequence[Any], dated: Sequence[int], spelled: dict[tuple[datetime, Any], str]
) -> tuple[Any, ...]:
    converted = list(row)
    for i in dated:
        value = converted[i]
        if isinstance(value, datetime):  # "%Y-%m-%d %H:%M:%S.%f", as SQLAlchemy writes naive datetimes
            key = (value, value.tzinfo)
            text = spelled.get(key)
            if text is None:
                text = spelled[key] = value.replace(tzinfo=None).isoformat(" ", "microseconds")
            converted[i] = text
    return tuple(converted)


@contextmanager
def transaction(url: str) -> Iterator[Connection]:
    with get_engine(url).begin() as connection:
        yield connection
