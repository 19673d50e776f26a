"""Runs `akeneo-mock-server` (PyPI; an Akeneo-compatible server written by others) on loopback.

Used by `make demo`, the tests and the benchmarks: a real HTTP peer with its own PostgreSQL
database, started and stopped by whoever needs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import psycopg
from psycopg import sql

from devtools.ports import free_port

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"


def ensure_database(name: str, server: str = DEFAULT_PG) -> bool:
    """Creates the database if missing; True when it was created (and needs the mock's schema)."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def _has_schema(name: str, server: str) -> bool:
    with psycopg.connect(f"{server}/{name}", autocommit=True) as conn:
        return conn.execute("SELECT to_regclass('public.products') IS NOT NULL").fetchone()[0]


def drop_database(name: str, server: str = DEFAULT_PG) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def clear_database(name: str, server: str = DEFAULT_PG) -> None:
    """Empties every table of a mock database (faster than a new database per test)."""
    with psycopg.connect(f"{server}/{name}", autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if tables:
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in tables)))


@dataclass
class MockAkeneo:
    """A running akeneo-mock-server process."""

    database: str
    port: int
    process: subprocess.Popen
    server: str = DEFAULT_PG

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def clear(self) -> None:
        clear_database(self.database, self.server)

    def __enter__(self) -> MockAkeneo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(database: str, port: int | None = None, server: str = DEFAULT_PG, log_path: str | None = None) -> MockAkeneo:
    """Starts the mock on loopback against `database` (created if missing) and waits until it answers.

    An existing database keeps its data (the mock's own init endpoint would truncate it).
    """
    ensure_database(database, server)
    needs_schema = not _has_schema(database, server)
    port = port or free_port()
    env = {**os.environ, "AKENEO_DATABASE_URL": f"{server}/{database}"}
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "akeneo_mock_server.app:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    mock = MockAkeneo(database, port, process, server)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"akeneo-mock-server exited with code {process.returncode} (log: {log_path})")
        try:
            if httpx.get(f"{mock.url}/_admin/status", timeout=5).status_code == 200:
                if needs_schema:
                    httpx.post(f"{mock.url}/_admin/init_db", timeout=30).raise_for_status()
                return mock
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    mock.stop()
    raise RuntimeError("akeneo-mock-server did not answer within 30 s")
