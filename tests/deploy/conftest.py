"""The deployment topology's peers: a fresh PostgreSQL database for Dagster's storage (per session),
and Redis from the Debian package on a free loopback port (per session; `make test` installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devtools import akeneo_mock
from devtools.ports import free_port
from iec_pipeline.common.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"


def dagster_pg_url(database: str) -> str:
    """The URL an operator puts in DAGSTER_PG_URL (deploy/dagster.postgres.yaml): psycopg2's driver."""
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{database}"


@dataclass
class DagsterDatabase:
    name: str

    @property
    def url(self) -> str:
        return dagster_pg_url(self.name)

    @property
    def psycopg_url(self) -> str:
        return f"{akeneo_mock.DEFAULT_PG}/{self.name}"

    def clear(self) -> None:
        import psycopg

        with psycopg.connect(self.psycopg_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")


@pytest.fixture(scope="session")
def dagster_database() -> Iterator[DagsterDatabase]:
    """A fresh database for Dagster's run, event log and schedule storage (this session's only)."""
    name = f"iec_dagster_test_{os.getpid()}"
    akeneo_mock.drop_database(name)
    akeneo_mock.ensure_database(name)
    yield DagsterDatabase(name)
    akeneo_mock.drop_database(name)


def fresh_store(name: str) -> str:
    """A new, empty PostgreSQL database `<name>_<pid>` for IEC's store (`pg_store_url` gives its URL)."""
    database = f"{name}_{os.getpid()}"
    akeneo_mock.drop_database(database)
    akeneo_mock.ensure_database(database)
    return database


def pg_store_url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def deploy_home(home: Path, config: str) -> Path:
    """An operator's DAGSTER_HOME: `deploy/<config>` copied as its dagster.yaml, as deploy/README.md says."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEPLOY / config, home / "dagster.yaml")
    return home


@dataclass
class Redis:
    port: int
    process: subprocess.Popen | None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def flush(self) -> None:
        import redis

        redis.Redis(port=self.port).flushall()


def start_redis(workdir: Path, port: int | None = None) -> Redis:
    """redis-server (Debian's package) on a free loopback port, no persistence; `make test` and
    `.ci/run` install it when missing (scripts/ensure-redis)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run scripts/ensure-redis (make test does)")
    server = Redis(port or free_port(), None)
    log = open(workdir / "redis.log", "ab")  # noqa: SIM115 - closed with the process
    server.process = subprocess.Popen(
        [binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=log, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not server.ping():
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start (see {workdir / 'redis.log'})")
        time.sleep(0.1)
    return server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[Redis]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    assert server.process is not None
    server.process.terminate()
    server.process.wait(timeout=30)
