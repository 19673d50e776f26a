"""Writes drops to `webhook_drops`: one transaction per call, committed durably before it returns.

- Deduplication relies on the UNIQUE `event_id` (`INSERT .. ON CONFLICT (event_id) DO NOTHING`), never on a
  read-then-write, so concurrent deliveries of one event store one row; the return value counts new rows.
- Writes are serialized (one process-wide lock; on PostgreSQL also a transaction advisory lock shared by
  every receiver process), so ids are committed in increasing order: a reader's cursor `id > N` never skips
  a row committed later with a smaller id.
- SQLite: one long-lived connection with synchronous=FULL (the WAL is fsynced at each commit: an
  acknowledged event survives kill -9 and power loss) and BEGIN IMMEDIATE from the store's engine.
  Blocking: call it from a worker thread.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from iec_pipeline.webhooks.events import Drop

COLUMNS = ("event_id", "scheme", "type", "subject", "entity_type", "code_or_uuid", "action", "occurred_at",
           "received_at", "raw_body", "status")  # fmt: skip
PG_WRITE_LOCK = "SELECT pg_advisory_xact_lock(7310592101)"  # an arbitrary constant key: "webhook drops"


class DropWriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO webhook_drops ({', '.join(COLUMNS)}) VALUES ({', '.join([mark] * len(COLUMNS))}) "
            "ON CONFLICT (event_id) DO NOTHING"
        )
        self._lock = threading.Lock()
        self._connection: Connection | None = None

    def write(self, drops: list[Drop], received_at: datetime) -> int:
        """Stores the drops of one request atomically; returns how many were new (the rest were duplicates)."""
        rows = [self._row(drop, received_at) for drop in drops]
        with self._lock:
            if not self.sqlite:
                with self.engine.begin() as conn:
                    conn.exec_driver_sql(PG_WRITE_LOCK)
                    return sum(conn.exec_driver_sql(self.sql, row).rowcount for row in rows)
            conn = self._sqlite_connection()
            try:
                with conn.begin():
                    return sum(conn.exec_driver_sql(self.sql, row).rowcount for row in rows)
            except BaseException:
                self._connection = None  # start clean next time (locked database, disk full, ...)
                conn.close()
                raise

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def _sqlite_connection(self) -> Connection:
        if self._connection is None:
            conn = self.engine.connect()
            conn.connection.driver_connection.execute("PRAGMA synchronous=FULL")  # outside any transaction
            self._connection = conn
        return self._connection

    def _row(self, drop: Drop, received_at: datetime) -> tuple[Any, ...]:
        values = (drop.event_id, drop.scheme, drop.type, drop.subject, drop.entity_type, drop.code_or_uuid,
                  drop.action, drop.occurred_at, received_at, drop.raw_body, drop.status)  # fmt: skip
        if self.sqlite:  # spelled as SQLAlchemy's DateTime spells it on SQLite, so ORM reads and SQL compare
            values = tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in values)
        return values
