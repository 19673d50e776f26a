"""The seeder stamps `created` and `updated` as Akeneo would, when asked (the demo asks)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from devtools.sample_catalog import PRODUCT_MODELS, PRODUCTS, AkeneoSeeder, akeneo_time, product_uuid

pytestmark = pytest.mark.fast

NOW = datetime(2026, 12, 3, 15, 20, 1, 654321, tzinfo=UTC)


class Recorder:
    """An Akeneo stand-in that records what the seeder sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/oauth/v1/token":
            return httpx.Response(200, json={"access_token": "t"})
        body = request.content.decode()
        if request.headers.get("content-type") == "application/vnd.akeneo.collection+json":
            lines = [json.loads(line) for line in body.splitlines()]
            self.sent += [(request.method, request.url.path, line) for line in lines]
            return httpx.Response(200, text="\n".join(json.dumps({"line": 1, "status_code": 201}) for _ in lines))
        self.sent.append((request.method, request.url.path, json.loads(body) if body else None))
        return httpx.Response(204)

    def bodies(self, prefix: str) -> list[dict]:
        return [body for _, path, body in self.sent if path.startswith(prefix)]


def seeder(recorder: Recorder, **options) -> AkeneoSeeder:
    return AkeneoSeeder("http://akeneo.test", transport=httpx.MockTransport(recorder), clock=lambda: NOW, **options)


def test_akeneo_time_is_iso_8601_in_whole_seconds_with_its_offset():
    assert akeneo_time(NOW) == "2026-12-03T15:20:01+00:00"
    assert akeneo_time(NOW.astimezone(timezone(timedelta(hours=2)))) == "2026-12-03T15:20:01+00:00"
    assert datetime.fromisoformat(akeneo_time()).tzinfo is not None


def test_seed_stamps_created_and_updated_on_products_and_models_only():
    recorder = Recorder()
    with seeder(recorder, stamp_updated=True) as s:
        s.seed()
    stamp = "2026-12-03T15:20:01+00:00"
    models, products = recorder.bodies("/api/rest/v1/product-models"), recorder.bodies("/api/rest/v1/products")
    assert len(models) == len(PRODUCT_MODELS) and len(products) == len(PRODUCTS)
    assert all(body["created"] == body["updated"] == stamp for body in models + products)
    others = [body for _, path, body in recorder.sent if not path.startswith(("/api/rest/v1/product",))]
    assert others and not any("updated" in body or "created" in body for body in others)


def test_a_later_change_gets_updated_only_and_a_time_given_is_kept():
    recorder = Recorder()
    with seeder(recorder, stamp_updated=True) as s:
        s.upsert("products-uuid", product_uuid("gift-card"), {"enabled": False})
        s.upsert("product-models", "bag_tote", {"updated": "2020-01-02T03:04:05+00:00"})
        s.upsert("categories", "sale", {"code": "sale"})
    assert [body for _, _, body in recorder.sent] == [
        {"updated": "2026-12-03T15:20:01+00:00", "enabled": False},
        {"updated": "2020-01-02T03:04:05+00:00"},
        {"code": "sale"},
    ]


def test_without_stamping_the_catalog_is_sent_as_written():
    recorder = Recorder()
    with seeder(recorder) as s:
        s.seed()
    assert not any("updated" in body or "created" in body for _, _, body in recorder.sent)
