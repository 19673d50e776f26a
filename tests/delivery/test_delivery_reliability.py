"""Delivery under faults and concurrency (reliability-tests.md rows 1, 4, 5, 16), hooks, the contract suite."""

from __future__ import annotations

import threading
import time

import dagster as dg
import pytest

from devtools.sample_catalog import generated_products, product_uuid, v
from drivers import registry
from drivers.models import MutationData
from drivers.testing import DriverContractSuite
from drivers.webhook import WebhookDriver
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.requests import delivery_run_request
from iec_pipeline.delivery.run import DeliveryConfig, deliver
from iec_pipeline.delivery.sensor import delivery_sensor
from iec_pipeline.launch import launch, run_sync
from iec_pipeline.store.db import get_engine
from tests.support import hooked_driver, store
from tests.support.delivery import WEBHOOK_SECRET, declare, jobs, webhook
from tests.support.delivery import deliver as deliver_all


def test_a_stalled_run_whose_lease_expired_changes_nothing_when_it_completes(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    engine = get_engine(iec_env.store_url)
    with engine.begin() as conn:
        stalled = ledger.claim(conn, "shop", None, "stalled-run", 100, lease_seconds=0.5)
    assert len(stalled) == 10
    time.sleep(0.6)
    deliver_all(iec_env, instance)  # the lease ran out: another run takes and delivers them
    assert {j["status"] for j in jobs(iec_env)} == {"success"}
    from drivers.models import DeliveryResult

    with engine.begin() as conn:  # the stalled run finally reports: a permanent failure for everything
        late = ledger.record(conn, "shop", "stalled-run", stalled, [DeliveryResult.permanent("late")] * 10, 3, 1)
    assert late.ignored == 10 and late.dead == 0
    assert {j["status"] for j in jobs(iec_env)} == {"success"}


def test_runs_launched_from_sensor_ticks_deliver_everything(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    for _ in range(5):
        with dg.build_sensor_context(instance=instance, resources={"store": store.resource()}) as context:
            requests = delivery_sensor(context).run_requests
        if not requests:
            break
        for request in requests:  # launched and executed, as the daemon would, in this process
            integration, queue = request.tags["iec/integration"], request.tags["iec/queue"]
            launched = delivery_run_request(integration, queue, linger_seconds=0)
            result = launch(instance, launched)
            assert result.success
            assert instance.get_run_by_id(result.run_id).tags["iec/queue"] == queue
    assert {j["status"] for j in jobs(iec_env)} == {"success"}
    assert len(webhook_target.state.applied) == 49
    assert set(webhook_target.state.requests_per_key.values()) == {1}


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_concurrent_runs_on_one_database_deliver_each_job_once_one_request_per_entity(
    akeneo, iec_env, instance, webhook_target
):
    declare(
        iec_env, webhook("shop", webhook_target.url, entity_types=["product"], priority_map={"*": 150, "price": 10})
    )
    webhook_target.state.delay = 0.01
    with akeneo.seeder() as seeder:
        seeder.seed_structure()
        seeder.patch_products(generated_products(300))
    assert run_sync(instance, mode="full").success
    with akeneo.seeder() as s:  # a second wave: some products change again (price: immediate queue)
        cheaper = {"price": [v([{"amount": "1.00", "currency": "EUR"}])]}
        s.patch_products(
            {"identifier": f"gen-{n:07d}", "uuid": product_uuid(f"gen-{n:07d}"), "values": cheaper}
            for n in range(0, 300, 3)
        )
    assert run_sync(instance, mode="full").success
    engine = get_engine(iec_env.store_url)
    errors: list[BaseException] = []

    def worker(name: str, queue: str | None) -> None:
        try:
            deliver(engine, name, "shop", DeliveryConfig(queue=queue, batch_size=25, linger_seconds=0))
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [
        threading.Thread(target=worker, args=(f"run-{i}", q))
        for i, q in enumerate([None, None, "integrations-immediate", "integrations-normal"])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    statuses = {j["status"] for j in jobs(iec_env)}
    assert statuses <= {"success", "superseded"}, statuses
    assert set(webhook_target.state.requests_per_key.values()) == {1}  # no job sent twice
    assert webhook_target.state.max_in_flight_per_entity == 1
    delivered = [b["code"] for b in webhook_target.state.applied.values()]
    assert len(set(delivered)) == 300


def test_one_poison_mutation_among_many_ends_dead_without_blocking_the_others(
    akeneo, iec_env, instance, webhook_target
):
    declare(
        iec_env,
        webhook("shop", webhook_target.url, entity_types=["product"], retry_attempts=2, retry_delay_seconds=0.1),
    )
    webhook_target.state.respond = lambda body: 500 if body["code"] == "gen-0000042" else None
    with akeneo.seeder() as seeder:
        seeder.seed_structure()
        seeder.patch_products(generated_products(400))
    assert run_sync(instance, mode="full").success
    deliver_all(iec_env, instance)
    by_status: dict[str, list[str]] = {}
    for j in jobs(iec_env):
        by_status.setdefault(j["status"], []).append(j["code"])
    assert by_status["dead"] == ["gen-0000042"]
    assert len(by_status["success"]) == 399


def test_sync_and_async_hooks(akeneo, iec_env, instance, webhook_target, monkeypatch):
    real = registry.discover()
    monkeypatch.setattr(registry, "discover", lambda: {**real, "hooked": hooked_driver.HookedDriver})
    monkeypatch.setattr(registry, "get", lambda name: registry.discover()[name])
    hooked_driver.CALLS.clear()
    spec = webhook("audited", webhook_target.url, entity_types=["product"])
    spec["driver"] = "hooked"
    declare(iec_env, spec)
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver_all(iec_env, instance)
    by_code = {j["code"]: j for j in jobs(iec_env)}
    assert by_code["gift-card"]["status"] == "superseded"
    assert "vetoed by hook: gift cards are sold elsewhere" in by_code["gift-card"]["last_error"]
    assert {j["status"] for c, j in by_code.items() if c != "gift-card"} == {"success"}
    assert all(b["payload"]["stamped_by"] == "hook" for b in webhook_target.state.applied.values())
    assert sorted(c for h, c in hooked_driver.CALLS if h == "after") == sorted(c for c in by_code if c != "gift-card")
    runs = instance.get_runs(filters=dg.RunsFilter(job_name="async_hooks"))
    assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)


class TestWebhookDriverContract(DriverContractSuite):
    @pytest.fixture
    def driver(self, webhook_target):
        return WebhookDriver(url=webhook_target.url, secret=WEBHOOK_SECRET, timeout_seconds=5)

    @pytest.fixture
    def sample_mutations(self):
        return [
            MutationData(mutation_id=i, entity_type=t, entity_uuid=f"00000000-0000-0000-0000-00000000000{i}",
                         code=f"code-{i}", operation="created", payload={"code": f"code-{i}"}, changed_fields=["code"])
            for i, t in enumerate(["attribute", "category", "product"], start=1)
        ]  # fmt: skip


def test_a_variant_and_its_configurable_are_never_in_flight_in_two_runs(akeneo, iec_env, instance, webhook_target):
    from sqlalchemy import text

    from drivers.models import entity_uuid

    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product_model", "product"]))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    engine = get_engine(iec_env.store_url)
    with engine.connect() as conn:
        locks = dict(conn.execute(text("SELECT code, lock_key FROM mutation_jobs")).all())
    root = entity_uuid("product_model", "tshirt_classic")
    assert locks["tshirt_classic"] == locks["tshirt_classic_red"] == locks["tshirt-classic-blue-m"] == root
    assert locks["bag-tote-black"] == entity_uuid("product_model", "bag_tote")
    assert locks["jeans-slim"] == product_uuid("jeans-slim")

    with engine.begin() as conn:  # run A takes the root model only
        conn.execute(text("UPDATE mutation_jobs SET next_attempt_at = '2999-01-01' WHERE code != 'tshirt_classic'"))
        assert [c.code for c in ledger.claim(conn, "shop", None, "run-a", 100, 60)] == ["tshirt_classic"]
        conn.execute(text("UPDATE mutation_jobs SET next_attempt_at = '2000-01-01' WHERE status = 'pending'"))
    with engine.begin() as conn:  # run B may not touch anything under that configurable meanwhile
        taken = {c.code for c in ledger.claim(conn, "shop", None, "run-b", 100, 60)}
    assert {"jeans-slim", "bag_tote"} <= taken  # unrelated records go ahead
    assert not {"tshirt_classic_red", "tshirt-classic-red-s", "tshirt-classic-blue-m"} & taken
    assert "bag-tote-black" not in taken  # a variant waits for its configurable (older, due) to land first
