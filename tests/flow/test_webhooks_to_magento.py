"""Webhooks end to end: Akeneo's Event Platform -> receiver -> drops sensor -> refresh ->
delivery -> Magento, with the real Dagster daemon running, and surviving a daemon restart."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import dagster as dg
import httpx
import pytest

from devtools import akeneo_mock, playground
from devtools.sample_catalog import AkeneoSeeder, generated_products, product_uuid, v


def eventually(check: Callable[[], bool], timeout: float = 120, what: str = "") -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if check():
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture
def live(tmp_path):
    database = f"akeneo_iec_webhooks_{os.getpid()}"
    with playground.start(tmp_path, akeneo_database=database) as p:
        p.env["IEC_DROPS_QUIET_SECONDS"] = "2"
        p.env["IEC_DROPS_MAX_DELAY_SECONDS"] = "30"  # the mock posts a burst over several seconds
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        ok(p.iec("sync", "--full"))
        ok(p.iec("deliver", "--wait", "--timeout", "300"))
        receiver = p.start_receiver()
        subscribed = json.loads(ok(p.iec("webhooks", "subscribe", "--url", receiver)))
        assert p.env["AKENEO_WEBHOOK_SECRET"] not in json.dumps(subscribed)
        p.daemon = p.start_daemon()
        yield p
    akeneo_mock.drop_database(database)


def magento_price(p, sku: str) -> float:
    return p.magento(f"products/{sku}")["price"]


def test_changes_saved_in_akeneo_reach_magento_through_webhooks_and_the_daemon(live):
    p = live
    with AkeneoSeeder(p.mock.url) as s:
        s.upsert(
            "products-uuid",
            product_uuid("jeans-slim"),
            {"values": {"price": [v([{"amount": "39.90", "currency": "EUR"}])]}},
        )
        s.upsert("product-models", "bag_tote", {"values": {"name": [v("Tote bag XL", "en_US")]}})
        s.upsert("categories", "sale", {"labels": {"fr_FR": "Promotions"}})
        s.delete(f"products-uuid/{product_uuid('old-jacket')}")
    eventually(lambda: magento_price(p, "jeans-slim") == 39.9, what="the new price in Magento")
    eventually(lambda: p.magento("products/bag_tote")["name"] == "Tote bag XL", what="the model's name")
    eventually(lambda: p.magento("products/bag-tote-black")["name"] == "Tote bag XL", what="a variant inherits it")
    sale = next(c for c in p.magento("categories")["children_data"][0]["children_data"] if c["name"] == "Sale")
    eventually(lambda: p.magento(f"categories/{sale['id']}", store="fr")["name"] == "Promotions", what="category label")

    def gone() -> bool:
        try:
            p.magento("products/old-jacket")
        except httpx.HTTPStatusError as error:
            return error.response.status_code == 404
        return False

    eventually(gone, what="the deleted product gone from Magento")
    drops = json.loads(ok(p.iec("drops", "--json")))
    assert drops and {d["status"] for d in drops if d["entity_type"]} == {"processed"}
    assert {"product", "product_model", "category"} <= {d["entity_type"] for d in drops}

    # Daemon down while events arrive: nothing is lost, the sensor picks them up after a restart.
    p.stop_process(p.daemon)
    with AkeneoSeeder(p.mock.url) as s:
        s.upsert(
            "products-uuid",
            product_uuid("rain-jacket"),
            {"values": {"price": [v([{"amount": "79.00", "currency": "EUR"}])]}},
        )
    eventually(lambda: any(d["status"] == "new" for d in json.loads(ok(p.iec("drops", "--json")))), 30, "a new drop")
    assert magento_price(p, "rain-jacket") == 89.0
    p.daemon = p.start_daemon()
    eventually(lambda: magento_price(p, "rain-jacket") == 79.0, what="the change made while the daemon was down")

    # A burst of 200 events: one refresh run, everything delivered.
    with dg.DagsterInstance.from_config(p.env["DAGSTER_HOME"]) as instance:
        before = len(instance.get_runs(filters=dg.RunsFilter(tags={"iec/sync-mode": "refresh"})))
    with AkeneoSeeder(p.mock.url) as s:
        s.patch_products(generated_products(200))
    eventually(lambda: len(p.magento("products?searchCriteria[pageSize]=300")["items"]) >= 211, 180, "200 new products")
    with dg.DagsterInstance.from_config(p.env["DAGSTER_HOME"]) as instance:
        refreshes = instance.get_runs(filters=dg.RunsFilter(tags={"iec/sync-mode": "refresh"}))
    burst = refreshes[: len(refreshes) - before]
    assert len(burst) == 1, [r.tags.get("iec/drops") for r in burst]
    jobs = json.loads(ok(p.iec("jobs", "--json")))
    assert {j["status"] for j in jobs} <= {"success", "superseded"}
