"""The drops sensor: webhook drops -> one debounced refresh run of exactly what changed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import orjson
import pytest

from devtools.sample_catalog import product_uuid, v
from iec_pipeline.launch import launch, run_sync
from iec_pipeline.store.db import get_engine
from iec_pipeline.webhooks.drops import list_drops
from iec_pipeline.webhooks.events import EVENT_PLATFORM, parse
from iec_pipeline.webhooks.sensor import drops_sensor
from iec_pipeline.webhooks.writer import DropWriter
from tests.support import store

PREFIX = "com.akeneo.pim.v1"


def event(kind: str, action: str, data: dict, at: datetime | None = None) -> bytes:
    return orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "pim",
            "type": f"{PREFIX}.{kind}.{action}",
            "subject": "iec",
            "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": data,
        }  # fmt: skip
    )


def drop(iec_env, *bodies: bytes, received_at: datetime | None = None) -> None:
    writer = DropWriter(get_engine(iec_env.store_url))
    try:
        for body in bodies:
            writer.write(parse(EVENT_PLATFORM, body), received_at or datetime.now(UTC).replace(tzinfo=None))
    finally:
        writer.close()


def tick(instance, cursor: str | None = None):
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": store.resource()}) as context:
        return drops_sensor(context)


@pytest.fixture
def synced(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    return store.last_mutation_id(iec_env.store_url)


def test_drops_wait_for_a_quiet_moment_then_one_run_refreshes_exactly_them(
    akeneo, iec_env, instance, synced, monkeypatch
):
    monkeypatch.setenv("IEC_DROPS_QUIET_SECONDS", "30")
    monkeypatch.setenv("IEC_DROPS_MAX_DELAY_SECONDS", "60")
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"enabled": False})
        s.upsert("product-models", "bag_tote", {"values": {"name": [v("Tote bag XL", "en_US")]}})
        s.upsert("categories", "sale", {"labels": {"en_US": "Sales"}})
        s.delete(f"products-uuid/{product_uuid('gift-card')}")
    drop(
        iec_env,
        event("product", "updated", {"product": {"uuid": product_uuid("jeans-slim")}}),
        event("product", "updated", {"product": {"uuid": product_uuid("jeans-slim")}}),  # the same change twice
        event("product-model", "updated", {"product_model": {"code": "bag_tote"}}),
        event("category", "updated", {"category": {"code": "sale"}}),
        event("product", "deleted", {"product": {"uuid": product_uuid("gift-card")}}),
    )
    assert isinstance(tick(instance), dg.SkipReason)  # still inside the quiet period
    monkeypatch.setenv("IEC_DROPS_QUIET_SECONDS", "0")
    result = tick(instance)
    assert len(result.run_requests) == 1 and json.loads(result.cursor)["last"] == 5
    request = result.run_requests[0]
    config = request.run_config["ops"]
    assert config["akeneo_products"]["config"]["keys"] == [product_uuid("jeans-slim")]
    assert list(config["akeneo_products"]["config"]["deleted"]) == [product_uuid("gift-card")]
    assert config["akeneo_product_models"]["config"]["keys"] == ["bag_tote"]
    assert set(config) == {"akeneo_products", "akeneo_product_models", "akeneo_categories"}

    akeneo.proxy.reset()
    outcome = launch(instance, request)
    assert outcome.success
    found = {(m["code"], m["operation"]): m["changed_fields"] for m in store.mutations(iec_env.store_url, since=synced)}
    assert found[("jeans-slim", "updated")] == ["enabled"]
    assert found[("bag_tote", "updated")] == ["name"]
    assert ("gift-card", "deleted") in found and ("sale", "updated") in found
    # The variants of bag_tote inherit its name: they change too.
    assert found[("bag-tote-black", "updated")] == ["name"]
    assert not akeneo.proxy.requests(r"products-uuid/" + product_uuid("gift-card"))  # deleted without a fetch
    assert {d["status"] for d in list_drops(iec_env.store_url)} == {"processed"}
    assert tick(instance, cursor=result.cursor).__class__ is dg.SkipReason  # nothing read twice


def test_a_lone_drop_is_requested_in_the_tick_that_sees_it(akeneo, iec_env, instance, synced, monkeypatch):
    """The quiet moment a tick can wait for is waited for in that tick: no second tick (5 s later) needed."""
    monkeypatch.setenv("IEC_DROPS_QUIET_SECONDS", "0.5")
    drop(iec_env, event("product", "updated", {"product": {"uuid": product_uuid("jeans-slim")}}))
    result = tick(instance)
    assert isinstance(result, dg.SensorResult) and len(result.run_requests) == 1
    assert result.run_requests[0].run_config["ops"]["akeneo_products"]["config"]["keys"] == [product_uuid("jeans-slim")]
    assert json.loads(result.cursor)["last"] == 1


def test_out_of_order_duplicate_and_stale_events_end_in_the_right_state(akeneo, iec_env, instance, synced, monkeypatch):
    monkeypatch.setenv("IEC_DROPS_QUIET_SECONDS", "0")
    earlier = datetime.now(UTC) - timedelta(minutes=10)
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("rain-jacket"), {"enabled": False})
    # Newest first, then an old "deleted" for the same product, then duplicates.
    drop(
        iec_env,
        event("product", "updated", {"product": {"uuid": product_uuid("rain-jacket")}}),
        event("product", "deleted", {"product": {"uuid": product_uuid("rain-jacket")}}, at=earlier),
        event("product", "updated", {"product": {"uuid": product_uuid("rain-jacket")}}),
    )
    outcome = launch(instance, tick(instance).run_requests[0])
    assert outcome.success
    found = store.mutations(iec_env.store_url, since=synced)
    assert [(m["code"], m["operation"], m["changed_fields"]) for m in found] == [
        ("rain-jacket", "updated", ["enabled"])
    ]

    # A deletion event older than what the store fetched since is stale: nothing happens.
    drop(iec_env, event("product", "deleted", {"product": {"uuid": product_uuid("jeans-slim")}}, at=earlier))
    request = tick(instance, cursor="3").run_requests[0]
    assert launch(instance, request).success
    assert store.row(iec_env.store_url, "product", "jeans-slim") is not None

    # An update event for a product already deleted in Akeneo: the refresh finds it gone.
    with akeneo.seeder() as s:
        s.delete(f"products-uuid/{product_uuid('old-jacket')}")
    drop(iec_env, event("product", "updated", {"product": {"uuid": product_uuid("old-jacket")}}))
    assert launch(instance, tick(instance, cursor="4").run_requests[0]).success
    assert store.row(iec_env.store_url, "product", "old-jacket") is None


def test_a_burst_of_200_events_is_one_refresh_run(akeneo, iec_env, instance, synced, monkeypatch):
    monkeypatch.setenv("IEC_DROPS_QUIET_SECONDS", "0")
    codes = ["jeans-slim", "rain-jacket", "gift-card", "old-jacket", "tshirt-classic-red-s"]
    bodies = [event("product", "updated", {"product": {"uuid": product_uuid(codes[n % 5])}}) for n in range(200)]
    drop(iec_env, *bodies)
    result = tick(instance)
    assert len(result.run_requests) == 1 and json.loads(result.cursor)["last"] == 200
    assert sorted(result.run_requests[0].run_config["ops"]["akeneo_products"]["config"]["keys"]) == sorted(
        product_uuid(c) for c in codes
    )
    assert launch(instance, result.run_requests[0]).success
    assert len([d for d in list_drops(iec_env.store_url) if d["status"] == "processed"]) == 200
