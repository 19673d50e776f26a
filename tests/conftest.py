"""Shared fixtures: a real akeneo-mock-server on PostgreSQL (once per session) behind a strict
Akeneo-like proxy, a throw-away store (SQLite, or PostgreSQL for the store tests), a throw-away
DAGSTER_HOME, and canary secrets that must never show up anywhere."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from devtools import akeneo_mock
from devtools.sample_catalog import AkeneoSeeder
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.store import db
from tests.support import canary
from tests.support.akeneo_proxy import AkeneoProxy
from tests.support.webhook_target import WebhookTarget

CLIENT_ID = "iec-test-client"
CANARY_SECRET = "canary-secret-7f3a9c1e"
USERNAME = "iec-test-user"
CANARY_PASSWORD = "canary-password-51be2d"
CANARIES = (CANARY_SECRET, CANARY_PASSWORD)
PG_SERVER = akeneo_mock.DEFAULT_PG
# Fixtures that start or reach a real peer: a test marked `fast` may use none of them.
PEER_FIXTURES = frozenset(
    {"mock_akeneo", "akeneo_proxy", "akeneo", "pg_database", "iec_env", "instance", "webhook_target"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keeps the `fast` marker honest: `make test-fast` must run without PostgreSQL or the mock."""
    wrong = [
        f"{item.nodeid} uses {', '.join(sorted(PEER_FIXTURES & set(item.fixturenames)))}"
        for item in items
        if item.get_closest_marker("fast") and PEER_FIXTURES & set(getattr(item, "fixturenames", ()))
    ]
    if wrong:
        raise pytest.UsageError("tests marked fast use real peers:\n  " + "\n  ".join(wrong))


canary.install()
CANARY_SWEEP = {"tests": 0, "files": 0, "bytes": 0, "seconds": 0.0}


@pytest.fixture(autouse=True)
def canary_sweep(request, tmp_path, monkeypatch) -> Iterator[None]:
    """After each test: no canary secret in what it printed or logged (captured output, logs, what it read
    from capsys/capfd, its subprocesses' output) nor in the files it wrote under tmp_path (SQLite stores,
    Dagster event logs and storage of its DAGSTER_HOME, logs). Requests `monkeypatch` so the test's
    environment is still set when it runs."""
    from tests.support.delivery import WEBHOOK_SECRET

    started = time.time() - 1.0  # mtime granularity
    canary.take_output()
    yield
    clock = time.perf_counter()
    secrets = canary.canaries(CANARIES + (WEBHOOK_SECRET,), [(CLIENT_ID, CANARY_SECRET)])
    sections = [(f"captured {when} {key}", text) for when, key, text in getattr(request.node, "_report_sections", [])]
    hits = canary.scan_texts(sections + [("output read by the test", t) for t in canary.take_output()], secrets)
    file_hits, files, size = canary.scan_files(tmp_path, started, secrets)
    CANARY_SWEEP["tests"] += 1
    CANARY_SWEEP["files"] += files
    CANARY_SWEEP["bytes"] += size
    CANARY_SWEEP["seconds"] += time.perf_counter() - clock
    if hits or file_hits:
        pytest.fail("canary secret leaked:\n  " + "\n  ".join(hits + file_hits), pytrace=False)


def pytest_terminal_summary(terminalreporter) -> None:
    if CANARY_SWEEP["tests"]:
        terminalreporter.write_line(
            f"canary sweep: {CANARY_SWEEP['tests']} tests, {CANARY_SWEEP['files']} files, "
            f"{CANARY_SWEEP['bytes'] / 1e6:.1f} MB scanned in {CANARY_SWEEP['seconds']:.2f}s"
        )


@pytest.fixture(autouse=True)
def away_from_the_checkout(tmp_path, monkeypatch) -> None:
    """Each test runs in its own directory: a `.env` that `make demo` left in the checkout (the CLI and
    Dagster read `./.env`) must not leak into a test."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def mock_akeneo(tmp_path_factory) -> Iterator[akeneo_mock.MockAkeneo]:
    name = f"akeneo_iec_test_{os.getpid()}"
    log = tmp_path_factory.mktemp("akeneo") / "mock.log"
    mock = akeneo_mock.start(name, log_path=str(log))
    yield mock
    mock.stop()
    akeneo_mock.drop_database(name)


@pytest.fixture(scope="session")
def akeneo_proxy(mock_akeneo) -> Iterator[AkeneoProxy]:
    proxy = AkeneoProxy(mock_akeneo.url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD).start()
    yield proxy
    proxy.stop()


@dataclass
class Akeneo:
    """The Akeneo the code under test talks to (`url`, through the proxy) and test-side access."""

    url: str
    mock: akeneo_mock.MockAkeneo
    proxy: AkeneoProxy

    def seeder(self) -> AkeneoSeeder:
        # Fixtures write straight to the mock: they are not the code under test.
        return AkeneoSeeder(self.mock.url)


@pytest.fixture
def akeneo(mock_akeneo, akeneo_proxy) -> Akeneo:
    mock_akeneo.clear()
    akeneo_proxy.reset()
    return Akeneo(akeneo_proxy.url, mock_akeneo, akeneo_proxy)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"iec_store_test_{os.getpid()}"
    akeneo_mock.ensure_database(name, PG_SERVER)
    yield name
    db.dispose_all()
    akeneo_mock.drop_database(name, PG_SERVER)


@pytest.fixture
def store_url(request, tmp_path) -> Iterator[str]:
    """The store for one test: SQLite by default; `indirect` parametrize with "postgresql" too."""
    backend = getattr(request, "param", "sqlite")
    if backend == "postgresql":
        name = request.getfixturevalue("pg_database")
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/{name}", autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        # A distinct URL per test, so no engine cached by an earlier test is reused.
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}?application_name=iec-{uuid.uuid4().hex[:8]}"
    else:
        url = f"sqlite:///{tmp_path / 'iec.db'}"
    yield url
    db.dispose_all()


@dataclass
class IecEnv:
    store_url: str
    dagster_home: Path
    env: dict[str, str]

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.get()


def iec_environment(work: Path, akeneo_url: str, store_url: str) -> tuple[Path, dict[str, str]]:
    """A throw-away DAGSTER_HOME under `work` and the environment IEC reads (canary secrets)."""
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home, {
        "AKENEO_URL": akeneo_url,
        "AKENEO_CLIENT_ID": CLIENT_ID,
        "AKENEO_CLIENT_SECRET": CANARY_SECRET,
        "AKENEO_USERNAME": USERNAME,
        "AKENEO_PASSWORD": CANARY_PASSWORD,
        "IEC_DATABASE_URL": store_url,
        "DAGSTER_HOME": str(home),
        "IEC_INTEGRATIONS": str(work / "integrations.yaml"),
        "IEC_MEDIA_DIR": str(work / "media"),
        "IEC_DEPLOYMENT": "test",
    }


@pytest.fixture
def iec_env(tmp_path, monkeypatch, akeneo, store_url) -> Iterator[IecEnv]:
    home, env = iec_environment(tmp_path, akeneo.url, store_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield IecEnv(store_url, home, env)


@pytest.fixture
def webhook_target(monkeypatch) -> Iterator[WebhookTarget]:
    """A local webhook target (signature checked, each Idempotency-Key applied once); its secret
    is in $HOOK_SECRET for integrations that write `secret: {env: HOOK_SECRET}`."""
    from tests.support.delivery import WEBHOOK_SECRET

    monkeypatch.setenv("HOOK_SECRET", WEBHOOK_SECRET)
    target = WebhookTarget(WEBHOOK_SECRET)
    yield target
    target.stop()


@pytest.fixture
def instance(iec_env) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.get() as inst:
        yield inst
