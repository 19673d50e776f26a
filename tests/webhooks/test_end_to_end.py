"""End to end with the real akeneo-mock-server: `subscribe()` registers the receiver through Akeneo's API
(behind the strict OAuth proxy), a change made through the mock's REST API is signed and posted by the
mock, and the receiver records the drop with the right entity type, code or uuid and action."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from iec_pipeline.webhooks.drops import list_drops
from iec_pipeline.webhooks.receiver import PATH
from iec_pipeline.webhooks.subscribe import IEC_EVENT_TYPES, subscribe
from tests.conftest import CANARY_PASSWORD, CANARY_SECRET, CLIENT_ID, USERNAME
from tests.webhooks.conftest import SECONDARY, SECRET, drop_rows


@pytest.fixture(autouse=True)
def _unsubscribe_afterwards(akeneo):
    """Leave no subscription pointing at a receiver that is about to stop."""
    yield
    for subscriber in ("iec", "legacy"):
        httpx.delete(f"{akeneo.mock.url}/api/v1/subscribers/{subscriber}")


def _wait_for_drops(store_url: str, count: int, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        drops = list_drops(store_url)
        if len(drops) >= count or time.monotonic() > deadline:
            return drops
        time.sleep(0.05)


def _subscribe(akeneo, receiver, **options) -> dict:
    return subscribe(akeneo.url, CLIENT_ID, CANARY_SECRET, USERNAME, CANARY_PASSWORD,
                     target_url=receiver.endpoint, **({"secret": SECRET} | options))  # fmt: skip


def test_change_in_akeneo_becomes_a_drop(akeneo, receiver):
    result = _subscribe(akeneo, receiver, secondary_secret=SECONDARY)
    assert result["subscriber"] == "created" and result["subscription"] == "created"
    assert result["url"] == receiver.endpoint and set(result["events"]) == set(IEC_EVENT_TYPES)
    assert SECRET not in str(result) and SECONDARY not in str(result)
    assert akeneo.proxy.requests("POST /api/v1/subscribers")  # went through the OAuth-checking proxy

    product = str(uuid.uuid4())
    with akeneo.seeder() as seeder:
        seeder.upsert("products-uuid", product, {"identifier": "e2e-sku", "enabled": True})
        assert len(_wait_for_drops(receiver.store_url, 1)) == 1
        seeder.upsert("products-uuid", product, {"enabled": False})
        assert len(_wait_for_drops(receiver.store_url, 2)) == 2
        seeder.upsert("categories", "e2e_shoes", {"code": "e2e_shoes", "parent": None, "labels": {"en_US": "Shoes"}})
        assert len(_wait_for_drops(receiver.store_url, 3)) == 3
        seeder.delete(f"products-uuid/{product}")
        drops = _wait_for_drops(receiver.store_url, 4)

    assert [(d["type"], d["entity_type"], d["code_or_uuid"], d["status"]) for d in drops] == [
        ("com.akeneo.pim.v1.product.created", "product", product, "new"),
        ("com.akeneo.pim.v1.product.updated", "product", product, "new"),
        ("com.akeneo.pim.v1.category.created", "category", "e2e_shoes", "new"),
        ("com.akeneo.pim.v1.product.deleted", "product", product, "new"),
    ]
    assert [row.action for row in drop_rows(receiver.store_url)] == ["created", "updated", "created", "deleted"]
    logs = httpx.get(f"{akeneo.mock.url}/api/v1/logs", params={"subscriber_id": "iec"}).json()["items"]
    assert {entry["status_code"] for entry in logs} == {200}  # the mock saw every delivery acknowledged


def test_subscribe_is_idempotent_and_rotates_the_secret(akeneo, receiver):
    first = _subscribe(akeneo, receiver)
    again = _subscribe(akeneo, receiver, secret=SECONDARY)  # rotated: the receiver knows both secrets
    assert (first["subscriber"], first["subscription"]) == ("created", "created")
    assert (again["subscriber"], again["subscription"]) == ("updated", "updated")
    subscriptions = httpx.get(f"{akeneo.mock.url}/api/v1/subscribers/iec/subscriptions").json()["items"]
    assert len(subscriptions) == 1 and subscriptions[0]["config"]["url"] == receiver.endpoint
    assert subscriptions[0]["config"]["secret"] == {"primary": SECONDARY}  # no stale secondary left behind

    with akeneo.seeder() as seeder:
        seeder.upsert("attributes", "e2e_color", {"code": "e2e_color", "type": "pim_catalog_simpleselect",
                                                  "group": "other"})  # fmt: skip
        assert len(_wait_for_drops(receiver.store_url, 1)) == 1
        seeder.upsert("attributes/e2e_color/options", "red", {"code": "red", "attribute": "e2e_color"})
        drops = _wait_for_drops(receiver.store_url, 2)
    assert [(d["entity_type"], d["code_or_uuid"]) for d in drops] == [
        ("attribute", "e2e_color"),
        ("attribute_option", "e2e_color.red"),
    ]


def test_legacy_events_api_from_the_mock(akeneo, receiver):
    """The mock's legacy Events API (subscriber secret, `product.*` actions) through the same endpoint."""
    mock = akeneo.mock.url
    httpx.post(f"{mock}/api/v1/subscribers", json={"id": "legacy", "secret": SECRET}).raise_for_status()
    httpx.post(f"{mock}/api/v1/subscribers/legacy/subscriptions",
               json={"id": "legacy-sub", "events": ["product.created", "product.removed"],
                     "config": {"url": receiver.url + PATH}}).raise_for_status()  # fmt: skip
    product = str(uuid.uuid4())
    with akeneo.seeder() as seeder:
        seeder.upsert("products-uuid", product, {"identifier": "legacy-sku"})
        assert len(_wait_for_drops(receiver.store_url, 1)) == 1
        seeder.delete(f"products-uuid/{product}")
        drops = _wait_for_drops(receiver.store_url, 2)
    assert [(d["type"], d["entity_type"], d["code_or_uuid"]) for d in drops] == [
        ("product.created", "product", product),
        ("product.removed", "product", product),
    ]
