"""Priorities that keep urgent work urgent: a first sync is not urgent, a price change is, and stays
so when a later change of the same product folds it into a less urgent delivery; the queue ceilings
come from the integrations file."""

from __future__ import annotations

import yaml

from devtools.sample_catalog import product_uuid, v
from iec_pipeline.launch import run_sync
from tests.support.delivery import declare, deliver, jobs, webhook

PRICE_MAP = {"*": 150, "price": 10, "description": 240}


def _queues(iec_env, code: str | None = None) -> list[str]:
    return [j["queue"] for j in jobs(iec_env, status="pending") if code is None or j["code"] == code]


def _change(akeneo, **values) -> None:
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": values})


def test_a_first_sync_is_not_urgent_and_a_price_change_stays_urgent_when_folded(
    akeneo, iec_env, instance, webhook_target
):
    declare(iec_env, webhook("shop", webhook_target.url, priority_map=PRICE_MAP))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    assert "integrations-immediate" not in _queues(iec_env)  # 49 new entities, prices included: `*`
    deliver(iec_env, instance)

    _change(akeneo, price=[v([{"amount": "39.90", "currency": "EUR"}, {"amount": "44.00", "currency": "USD"}])])
    assert run_sync(instance, mode="full").success
    assert _queues(iec_env, "jeans-slim") == ["integrations-immediate"]
    _change(akeneo, description=[v("Slimmer", "en_US", "ecommerce")])  # low on its own
    assert run_sync(instance, mode="full").success
    newest = max((j for j in jobs(iec_env, status="pending") if j["code"] == "jeans-slim"), key=lambda j: j["id"])
    assert (newest["priority"], newest["queue"]) == (10, "integrations-immediate")  # the claim delivers this one
    deliver(iec_env, instance)
    assert {j["status"] for j in jobs(iec_env) if j["code"] == "jeans-slim"} == {"success", "superseded"}


def test_the_queue_map_of_the_integrations_file_moves_jobs_between_queues(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, priority_map=PRICE_MAP))
    with open(iec_env.env["IEC_INTEGRATIONS"]) as f:
        document = yaml.safe_load(f)
    document["queue_map"] = {"integrations-immediate": 5, "integrations-normal": 100, "integrations-low": 250}
    with open(iec_env.env["IEC_INTEGRATIONS"], "w") as f:
        yaml.safe_dump(document, f)
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    assert set(_queues(iec_env)) == {"integrations-low"}  # `*` = 150 is past the normal ceiling of 100 now
    deliver(iec_env, instance)
    _change(akeneo, price=[v([{"amount": "39.90", "currency": "EUR"}, {"amount": "44.00", "currency": "USD"}])])
    assert run_sync(instance, mode="full").success
    assert _queues(iec_env, "jeans-slim") == ["integrations-normal"]  # 10 is past the immediate ceiling of 5
