"""Races between syncs, delivery runs, retries and webhook refreshes: what must hold when they overlap."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import text

from devtools.sample_catalog import product_uuid, v
from drivers.models import DeliveryResult
from iec_pipeline.common.entity_types import NAMES
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.run import DeliveryConfig, deliver
from iec_pipeline.delivery.sensor import delivery_sensor
from iec_pipeline.diff.apply import apply_sync
from iec_pipeline.ingest.akeneo import AkeneoClient
from iec_pipeline.ingest.fetch import fetch
from iec_pipeline.ingest.plan import FetchPlan
from iec_pipeline.launch import deliver_due, run_sync
from iec_pipeline.store.db import get_engine
from iec_pipeline.webhooks.sensor import drops_sensor
from tests.conftest import CANARY_PASSWORD, CANARY_SECRET, CLIENT_ID, USERNAME
from tests.support import store
from tests.support.delivery import declare, jobs, webhook
from tests.support.delivery import deliver as deliver_all
from tests.webhooks.test_drops_sensor import drop, event


def _seeded(akeneo, instance) -> None:
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success


def test_a_slow_full_sync_does_not_bring_back_what_a_refresh_deleted_meanwhile(akeneo, iec_env, instance):
    _seeded(akeneo, instance)
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("rain-jacket"), {"enabled": False})
    engine = get_engine(iec_env.store_url)
    client = AkeneoClient(akeneo.url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD)
    fetch(client, engine, "slow-full-sync", FetchPlan("product", "full", "full"))  # sees the jacket, changed
    with akeneo.seeder() as s:
        s.delete(f"products-uuid/{product_uuid('rain-jacket')}")
    assert run_sync(instance, mode="refresh", keys={"product": [product_uuid("rain-jacket")]}).success
    assert store.row(iec_env.store_url, "product", "rain-jacket") is None
    late = apply_sync(engine, "slow-full-sync")  # the full sync's diff comes last, with its older snapshot
    assert late.counts.get("product", {}).get("created", 0) == 0
    assert store.row(iec_env.store_url, "product", "rain-jacket") is None


def test_a_first_sync_applied_after_another_sync_stored_some_of_its_items_creates_each_once(akeneo, iec_env, instance):
    # A first sync stages its products as presumed `create` (the store holds none); a refresh stores one of
    # them, newer, before the first sync's diff runs: that diff must neither create it again nor overwrite it.
    with akeneo.seeder() as seeder:
        seeder.seed()
    others = [name for name in NAMES if name != "product"]
    assert run_sync(instance, mode="full", entity_types=others).success
    engine = get_engine(iec_env.store_url)
    client = AkeneoClient(akeneo.url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD)
    fetched = fetch(client, engine, "first-sync", FetchPlan("product", "full", "full")).fetched
    with engine.connect() as conn:
        presumed = conn.execute(
            text("SELECT COUNT(*) FROM staging_entities WHERE sync_id = 'first-sync' AND action = 'create'")
        ).scalar_one()
    assert presumed == fetched > 1
    jacket = product_uuid("rain-jacket")
    with akeneo.seeder() as s:
        s.upsert("products-uuid", jacket, {"enabled": False})
    assert run_sync(instance, mode="refresh", keys={"product": [jacket]}).success
    late = apply_sync(engine, "first-sync")
    assert late.counts["product"]["created"] == fetched - 1
    created = [m for m in store.mutations(iec_env.store_url) if m["entity_type"] == "product"]
    assert sorted(m["entity_uuid"] for m in created) == sorted({m["entity_uuid"] for m in created})  # once each
    assert store.row(iec_env.store_url, "product", "rain-jacket")["enabled"] is False  # the refresh's newer state


def test_a_product_deleted_and_recreated_under_its_sku_is_deleted_first(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    _seeded(akeneo, instance)
    deliver_all(iec_env, instance)
    with akeneo.seeder() as s:
        s.delete(f"products-uuid/{product_uuid('gift-card')}")
        s.create("products-uuid", {"uuid": "0b8e1f9e-0000-4000-8000-000000000001", "identifier": "gift-card",
                                   "family": None, "values": {"sku": [v("gift-card")]}})  # fmt: skip
    assert run_sync(instance, mode="full").success
    pending = {(j["operation"], j["code"]) for j in jobs(iec_env, status="pending")}
    assert pending == {("deleted", "gift-card"), ("created", "gift-card")}
    engine = get_engine(iec_env.store_url)
    with engine.begin() as conn:  # the deletion goes first; the creation waits for it, retries included
        first = ledger.claim(conn, "shop", None, "run-1", 100, 60)
        assert [(c.code, c.entity_uuid) for c in first] == [("gift-card", product_uuid("gift-card"))]
        ledger.record(conn, "shop", "run-1", first, [DeliveryResult.retryable("503")], 5, 30)
    with engine.begin() as conn:
        assert ledger.claim(conn, "shop", None, "run-2", 100, 60) == []


def test_a_stalled_run_sends_nothing_it_no_longer_owns(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    _seeded(akeneo, instance)
    engine = get_engine(iec_env.store_url)
    with engine.begin() as conn:
        stalled = ledger.claim(conn, "shop", None, "stalled", 100, lease_seconds=0.2)
    time.sleep(0.3)
    with engine.begin() as conn:
        assert ledger.requeue_orphans(conn, lambda run_id: None) == len(stalled)
        taken = ledger.claim(conn, "shop", None, "healthy", 100, 60)
        assert {c.job_id for c in taken} == {c.job_id for c in stalled}
    with engine.connect() as conn:
        assert ledger.still_owned(conn, "stalled", [c.job_id for c in stalled]) == set()
        assert ledger.still_owned(conn, "healthy", [c.job_id for c in taken]) == {c.job_id for c in taken}


def test_retrying_a_dead_job_never_sends_an_older_state_after_a_newer_one(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], retry_attempts=0))
    webhook_target.state.respond = lambda body: (
        500 if body["code"] == "jeans-slim" and body["payload"].get("enabled") is False else None
    )
    _seeded(akeneo, instance)
    deliver_all(iec_env, instance)
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"enabled": False})
    assert run_sync(instance, mode="full").success
    deliver_all(iec_env, instance)  # fails at once: dead
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"enabled": True, "values": {"ean": [v("123")]}})
    assert run_sync(instance, mode="full").success
    deliver_all(iec_env, instance)  # the newer state is delivered
    with get_engine(iec_env.store_url).begin() as conn:
        assert ledger.retry_dead(conn) == 0  # the dead one is superseded, not sent again
    statuses = [j["status"] for j in jobs(iec_env) if j["code"] == "jeans-slim"]
    assert statuses == ["success", "superseded", "success"]


def test_a_failing_hook_fails_its_mutation_not_the_integration(akeneo, iec_env, instance, webhook_target, monkeypatch):
    from drivers import registry
    from tests.support import hooked_driver

    real = registry.discover()
    monkeypatch.setattr(registry, "discover", lambda: {**real, "hooked": hooked_driver.HookedDriver})
    monkeypatch.setattr(registry, "get", lambda name: registry.discover()[name])
    original = hooked_driver.HookedDriver.stamp_and_filter

    def broken(self, mutation, context):
        if mutation.code == "jeans-slim":
            raise KeyError("price")
        return original(self, mutation, context)

    monkeypatch.setattr(hooked_driver.HookedDriver, "stamp_and_filter", broken)
    spec = webhook("audited", webhook_target.url, entity_types=["product"], retry_attempts=1, retry_delay_seconds=0.1)
    spec["driver"] = "hooked"
    declare(iec_env, spec)
    _seeded(akeneo, instance)
    stats = deliver(get_engine(iec_env.store_url), "run-1", "audited", DeliveryConfig(linger_seconds=0))
    assert stats.delivered == 8 and stats.retried == 1  # gift-card vetoed, jeans-slim's hook failed
    jeans = next(j for j in jobs(iec_env) if j["code"] == "jeans-slim")
    assert jeans["status"] == "pending" and "hook failed: KeyError" in jeans["last_error"]


def test_a_group_whose_run_ended_with_work_left_gets_a_new_run(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url))
    _seeded(akeneo, instance)

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": store.resource()}) as ctx:
            return delivery_sensor(ctx)

    first = tick(None)
    keys = {r.run_key for r in first.run_requests}
    # Those runs ended without delivering (nothing happened): the same groups are still due.
    second = tick(first.cursor)
    assert {r.tags["iec/queue"] for r in second.run_requests} == {r.tags["iec/queue"] for r in first.run_requests}
    assert not keys & {r.run_key for r in second.run_requests}
    assert tick(first.cursor).run_requests[0].run_key in {r.run_key for r in second.run_requests}  # same cursor


def test_jobs_of_a_disabled_integration_wait_without_spinning(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    _seeded(akeneo, instance)
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], enabled=False))
    from iec_pipeline.common.settings import Settings
    from iec_pipeline.routing import integrations

    engine = get_engine(iec_env.store_url)
    with engine.begin() as conn:
        integrations.sync_to_store(conn, integrations.load(Settings.from_env().integrations_file))
    started = time.monotonic()
    outcome = deliver_due(instance, engine, wait=True, timeout=60)
    assert not outcome.timed_out and outcome.runs == [] and time.monotonic() - started < 10
    assert {j["status"] for j in jobs(iec_env)} == {"pending"}  # kept for when it is enabled again


def test_drops_of_a_failed_refresh_are_asked_for_again(akeneo, iec_env, instance, monkeypatch):
    monkeypatch.setenv("IEC_DROPS_QUIET_SECONDS", "0")
    _seeded(akeneo, instance)
    long_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    drop(iec_env, event("product", "updated", {"product": {"uuid": product_uuid("jeans-slim")}}), received_at=long_ago)

    def tick(cursor):
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": store.resource()}) as ctx:
            return drops_sensor(ctx)

    first = tick(None)
    assert len(first.run_requests) == 1
    # That run failed (it is never run here): the drop is still `new`, behind the cursor.
    again = tick(first.cursor)
    assert len(again.run_requests) == 1
    assert again.run_requests[0].run_key != first.run_requests[0].run_key
    assert again.run_requests[0].run_config == first.run_requests[0].run_config
    assert json.loads(again.cursor)["retries"] == 1
    with get_engine(iec_env.store_url).connect() as conn:
        assert conn.execute(text("SELECT status FROM webhook_drops")).scalar() == "new"


def test_deleting_a_product_model_deletes_what_hangs_below_it(akeneo, iec_env, instance):
    _seeded(akeneo, instance)
    before = store.last_mutation_id(iec_env.store_url)
    with akeneo.seeder() as s:
        s.delete("product-models/bag_tote")
    assert run_sync(instance, mode="refresh", keys={"product_model": ["bag_tote"]}).success
    found = {(m["code"], m["operation"]) for m in store.mutations(iec_env.store_url, since=before)}
    assert found == {("bag_tote", "deleted"), ("bag-tote-black", "deleted"), ("bag-tote-green", "deleted")}
    assert store.row(iec_env.store_url, "product", "bag-tote-black") is None
