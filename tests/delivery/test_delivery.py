"""Integrations, fan-out and delivery: real Dagster runs, a real local webhook target."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import dagster as dg
import pytest

from devtools.sample_catalog import product_uuid, v
from iec_pipeline.delivery.requests import due_requests
from iec_pipeline.delivery.sensor import delivery_sensor
from iec_pipeline.launch import run_sync
from iec_pipeline.store.db import get_engine
from tests.support import store
from tests.support.delivery import WEBHOOK_SECRET, declare, deliver, jobs, webhook
from tests.support.webhook_target import WebhookTarget


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_fan_out_to_two_integrations_and_deliver_everything(akeneo, iec_env, instance, webhook_target):
    other = WebhookTarget(WEBHOOK_SECRET)
    try:
        declare(
            iec_env,
            webhook("everything", webhook_target.url),
            webhook("products-only", other.url, entity_types=["product"]),
        )
        with akeneo.seeder() as seeder:
            seeder.seed()
        assert run_sync(instance, mode="full").success
        assert len(jobs(iec_env, integration="everything")) == 49
        assert len(jobs(iec_env, integration="products-only")) == 10
        deliver(iec_env, instance)
        assert {j["status"] for j in jobs(iec_env)} == {"success"}
        assert sum(webhook_target.state.effects.values()) == 49
        assert set(webhook_target.state.requests_per_key.values()) == {1}  # each job sent once
        assert set(other.state.requests_per_key.values()) == {1}
        assert sorted(other.applied_codes()) == sorted(j["code"] for j in jobs(iec_env, integration="products-only"))
        assert len(other.state.applied) == 10 and webhook_target.state.bad_signatures == 0
        body = next(b for b in webhook_target.state.applied.values() if b["code"] == "jeans-slim")
        assert (
            body["entity_type"] == "product"
            and body["operation"] == "created"
            and body["payload"]["identifier"] == "jeans-slim"
        )
    finally:
        other.stop()


def test_priority_decides_the_queue_and_the_run_tags(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    with akeneo.seeder() as s:
        s.upsert(
            "products-uuid",
            product_uuid("jeans-slim"),
            {"values": {"price": [v([{"amount": "49.90", "currency": "EUR"}])]}},
        )
        s.upsert(
            "products-uuid", product_uuid("rain-jacket"), {"values": {"description": [v("Dry", "en_US", "ecommerce")]}}
        )
        s.upsert("products-uuid", product_uuid("gift-card"), {"values": {"name": [v("Gift card!", "en_US")]}})
    assert run_sync(instance, mode="full").success
    pending = {j["code"]: j for j in jobs(iec_env, status="pending")}
    assert (pending["jeans-slim"]["priority"], pending["jeans-slim"]["queue"]) == (10, "integrations-immediate")
    assert (pending["gift-card"]["priority"], pending["gift-card"]["queue"]) == (150, "integrations-normal")
    assert (pending["rain-jacket"]["priority"], pending["rain-jacket"]["queue"]) == (240, "integrations-low")

    requests = due_requests(instance, _store_resource().engine(), counters={}).requests
    tags = {r.tags["iec/queue"]: r.tags for r in requests}
    assert set(tags) == {"integrations-immediate", "integrations-normal", "integrations-low"}
    assert tags["integrations-immediate"]["dagster/priority"] > tags["integrations-low"]["dagster/priority"]
    assert all(t["iec/integration"] == "shop" for t in tags.values())
    assert len({r.run_key for r in requests}) == 3

    # The real sensor, evaluated against the instance: the same requests, and a cursor.
    with dg.build_sensor_context(instance=instance, resources={"store": _store_resource()}) as context:
        result = delivery_sensor(context)
    assert sorted(r.tags["iec/queue"] for r in result.run_requests) == sorted(tags)
    assert json.loads(result.cursor)


def _store_resource():
    return store.resource()


def test_retry_then_success_and_a_permanent_error_ends_dead_then_requeue(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], retry_attempts=3))
    failures = Counter()

    def respond(body):
        if body["code"] == "jeans-slim" and failures["jeans-slim"] < 2:
            failures["jeans-slim"] += 1
            return 503
        if body["code"] == "gift-card" and not respond.fixed:
            return 422
        return None

    respond.fixed = False
    webhook_target.state.respond = respond
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    by_code = {j["code"]: j for j in jobs(iec_env)}
    assert by_code["jeans-slim"]["status"] == "success" and by_code["jeans-slim"]["attempts"] == 3
    dead = by_code["gift-card"]
    assert dead["status"] == "dead" and dead["attempts"] == 1
    assert "HTTP 422" in dead["last_error"] and "scripted 422" in dead["last_error"]

    respond.fixed = True
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET}
    retried = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "jobs", "retry", "--dead"], env=env,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert retried.returncode == 0 and "1 dead job(s) pending again" in retried.stdout
    deliver(iec_env, instance)
    assert {j["status"] for j in jobs(iec_env)} == {"success"}


def test_sigkill_between_send_and_record_is_delivered_once(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET, "IEC_CRASH_AT": "delivery.after_send"}
    crashed = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "deliver"], env=env, capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert crashed.returncode == -9
    sent_before_crash = len(webhook_target.state.requests)
    assert sent_before_crash > 0
    assert {j["status"] for j in jobs(iec_env)} >= {"running"}  # sent, never recorded
    deliver(iec_env, instance)  # finds the dead worker at once, delivers again
    assert {j["status"] for j in jobs(iec_env)} == {"success"}
    # Sent twice: only jobs the killed run had sent (their answer never recorded), each exactly once more.
    sent_by_killed_run = {r.key for r in webhook_target.state.requests[:sent_before_crash]}
    again = webhook_target.sent_more_than_once()
    assert again and set(again) <= sent_by_killed_run and set(again.values()) == {2}, again
    assert all(n == 1 for k, n in webhook_target.state.requests_per_key.items() if k not in sent_by_killed_run)
    assert set(webhook_target.state.effects.values()) == {1}  # the receiver applied each effect once
    assert len(webhook_target.state.applied) == 49


def test_jobs_of_one_entity_are_delivered_in_order_never_in_parallel(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    webhook_target.state.delay = 0.05
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    for n in range(3):  # three changes of one product before anything is delivered
        with akeneo.seeder() as s:
            s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"stock_qty": [v(100 + n)]}})
        assert run_sync(instance, mode="full").success
    jeans = [j for j in jobs(iec_env) if j["code"] == "jeans-slim"]
    assert [j["status"] for j in jeans] == ["success", "pending", "pending", "pending"]
    deliver(iec_env, instance)
    jeans = [j for j in jobs(iec_env) if j["code"] == "jeans-slim"]
    assert [j["status"] for j in jeans] == ["success", "superseded", "superseded", "success"]
    received = webhook_target.by_entity()["jeans-slim"]
    assert received == sorted(received) and received[-1] == jeans[-1]["mutation_id"]
    last = webhook_target.state.requests[-1].body
    assert (
        last["payload"]["values"]
        and next(x["value"] for x in last["payload"]["values"] if x["attribute_code"] == "stock_qty") == "102"
    )
    assert webhook_target.state.max_in_flight_per_entity == 1


def test_scope_connected_only_fans_out_connected_entities(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("b2b", webhook_target.url, entity_types=["product"], scope="connected"))
    with akeneo.seeder() as seeder:
        seeder.seed()
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET}
    added = subprocess.run(
        [sys.executable, "-m", "iec_pipeline.cli", "connections", "add", "b2b", "product",
         product_uuid("jeans-slim"), product_uuid("rain-jacket")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert run_sync(instance, mode="full").success
    assert sorted(j["code"] for j in jobs(iec_env)) == ["jeans-slim", "rain-jacket"]


OK_CONFIG = {"url": "http://x", "secret": {"env": "HOOK_SECRET"}}


def _bad(**fields) -> dict:
    return {"name": "a", "driver": "webhook", "configuration": OK_CONFIG, **fields}


@pytest.mark.parametrize(
    ("integration", "expected"),
    [
        (_bad(driver="magento9"), "integration 'a': driver: driver 'magento9' is not installed"),
        (_bad(configuration={"secret": {"env": "HOOK_SECRET"}}), "integration 'a': configuration.url: Field required"),
        (
            _bad(configuration={**OK_CONFIG, "secret": {"env": "NOT_SET_ANYWHERE"}}),
            "integration 'a': configuration.secret: environment variable NOT_SET_ANYWHERE is not set",
        ),
        (
            _bad(configuration={**OK_CONFIG, "timeout_seconds": "soon"}),
            "integration 'a': configuration.timeout_seconds: Input should be a valid number",
        ),
        (
            _bad(configuration={**OK_CONFIG, "secret": WEBHOOK_SECRET}),
            "integration 'a': configuration.secret: is a secret; write it as {env: VARIABLE}",
        ),
        (_bad(retry_attempts=-1), "integration 'a': retry_attempts: Input should be greater than or equal to 0"),
        (
            _bad(entity_types=["product", "pricelist"]),
            "integration 'a': entity_types: Value error, unknown entity type(s) pricelist",
        ),
        (_bad(colour="red"), "integration 'a': colour: Extra inputs are not permitted"),
        (
            _bad(configuration={**OK_CONFIG, "url": 42}),
            "integration 'a': configuration.url: Input should be a valid string",
        ),
    ],
)
def test_every_invalid_configuration_is_named_and_no_secret_printed(iec_env, webhook_target, integration, expected):
    declare(iec_env, integration, {"name": "a" if integration["name"] != "a" else "b", "driver": "webhook",
                                   "configuration": {"url": "http://y", "secret": {"env": "HOOK_SECRET"}}})  # fmt: skip
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET}
    result = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "integrations", "validate"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1
    assert expected in result.stderr
    assert WEBHOOK_SECRET not in result.stdout + result.stderr


def test_duplicate_names_are_refused(iec_env, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url), webhook("shop", webhook_target.url))
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET}
    result = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "integrations", "validate"], env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 1 and "integration 'shop': name: declared twice" in result.stderr


def test_a_disabled_integration_gets_no_new_jobs_and_keeps_its_history(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], enabled=False))
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"enabled": False})
    assert run_sync(instance, mode="full").success
    assert len(jobs(iec_env)) == 10 and {j["status"] for j in jobs(iec_env)} == {"success"}


def test_cli_deliver_and_jobs_json_and_no_secret_anywhere(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET}
    delivered = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "deliver", "--wait", "--timeout", "120"],
                               env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert delivered.returncode == 0, delivered.stderr[-2000:]
    listed = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "jobs", "--integration", "shop", "--json"],
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    rows = json.loads(listed.stdout)
    assert len(rows) == 10 and {r["status"] for r in rows} == {"success"}
    assert set(rows[0]) == {"id", "mutation_id", "integration", "entity_type", "code", "operation", "status",
                            "priority", "queue", "attempts", "last_error"}  # fmt: skip
    everything = delivered.stdout + delivered.stderr + listed.stdout + listed.stderr
    assert WEBHOOK_SECRET not in everything
    runs = instance.get_runs()
    assert all(WEBHOOK_SECRET not in json.dumps(r.run_config) + json.dumps(r.tags) for r in runs)
    for path in iec_env.dagster_home.rglob("*"):
        if path.is_file():
            assert WEBHOOK_SECRET.encode() not in path.read_bytes(), f"secret found in {path}"
    with get_engine(iec_env.store_url).connect() as conn:
        from sqlalchemy import text

        dumped = json.dumps([list(r) for r in conn.execute(text("SELECT * FROM mutation_jobs"))], default=str)
        dumped += json.dumps([list(r) for r in conn.execute(text("SELECT * FROM integrations"))], default=str)
    assert WEBHOOK_SECRET not in dumped
