"""PostgreSQL for Dagster and for the store, as deploy/README.md tells an operator to set it up:
`deploy/dagster.postgres.yaml` as $DAGSTER_HOME/dagster.yaml, DAGSTER_PG_URL, IEC_DATABASE_URL. The
whole flow runs on it (sync -> diff -> fan-out -> delivery into the Magento sandbox, then a change
saved in Akeneo coming back through a webhook, the daemon's refresh and delivery), and the runs are
read back from PostgreSQL's own run storage."""

from __future__ import annotations

import json
import os
import time

import psycopg
import pytest

from devtools import akeneo_mock, playground
from devtools.sample_catalog import AkeneoSeeder, product_uuid, v
from tests.deploy.conftest import deploy_home, fresh_store, pg_store_url

pytestmark = pytest.mark.slow


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


def eventually(check, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - a peer not answering yet
            pass
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


@pytest.fixture
def on_postgres(tmp_path, dagster_database):
    dagster_database.clear()
    store = fresh_store("iec_store_deploy")
    akeneo = f"akeneo_iec_deploy_pg_{os.getpid()}"
    home = deploy_home(tmp_path / "dagster_home", "dagster.postgres.yaml")
    with playground.start(
        tmp_path, akeneo_database=akeneo, dagster_home=home,
        store_url=pg_store_url(store),
    ) as p:  # fmt: skip
        p.env["DAGSTER_PG_URL"] = dagster_database.url
        p.env["IEC_DROPS_QUIET_SECONDS"] = "1"
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        yield p
    akeneo_mock.drop_database(akeneo)
    akeneo_mock.drop_database(store)


def test_the_whole_flow_on_postgresql_storage_as_documented(on_postgres, dagster_database):
    p = on_postgres
    assert (p.workdir / "dagster_home" / "dagster.yaml").read_text().startswith("# Dagster instance for production")
    ok(p.iec("sync", "--full"))
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    assert p.magento("products/jeans-slim")["price"] != 39.9

    receiver = p.start_receiver()
    ok(p.iec("webhooks", "subscribe", "--url", receiver))
    p.start_daemon()
    with AkeneoSeeder(p.mock.url) as s:
        s.upsert(
            "products-uuid",
            product_uuid("jeans-slim"),
            {"values": {"price": [v([{"amount": "39.90", "currency": "EUR"}])]}},
        )
    eventually(lambda: p.magento("products/jeans-slim")["price"] == 39.9, 180, "the webhook's change in Magento")
    drops = json.loads(ok(p.iec("drops", "--json")))
    assert drops and {d["status"] for d in drops if d["entity_type"]} == {"processed"}

    # What ran, as PostgreSQL's run storage holds it (the instance's own tables, not a SQLite file).
    assert not list((p.workdir / "dagster_home").rglob("*.db"))
    with psycopg.connect(dagster_database.psycopg_url) as conn:
        runs = conn.execute("SELECT pipeline_name, status, run_body FROM runs ORDER BY create_timestamp").fetchall()
        events = conn.execute("SELECT count(*) FROM event_logs").fetchone()[0]
    by_job: dict[str, list[str]] = {}
    for job, status, _ in runs:
        by_job.setdefault(job, []).append(status)
    assert by_job["akeneo_sync"].count("SUCCESS") >= 2, by_job  # the full sync and the webhook's refresh
    assert "SUCCESS" in by_job["mutation_delivery"], by_job
    refreshes = [body for job, _, body in runs if job == "akeneo_sync" and '"refresh"' in body]
    assert refreshes, "the webhook's refresh run"
    assert events > 100
