"""The seeder stamps `created` and `updated` as Akeneo would, when asked (the demo asks); `seed_shop`'s extras."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from devtools.akeneo_media import _multipart
from devtools.sample_catalog import (
    BUNDLE,
    PACKED,
    PRODUCT_MODELS,
    PRODUCTS,
    SHOP_FILES,
    AkeneoSeeder,
    akeneo_time,
    product_uuid,
)

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


class ShopRecorder(Recorder):
    """The Recorder, plus Akeneo's media upload: multipart `product`/`product_model` JSON + `file`."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[tuple[str, dict, str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/rest/v1/media-files":
            return super().__call__(request)
        fields = _multipart(request.headers["content-type"], request.read())
        owner = next(name for name in ("product", "product_model") if name in fields)
        filename, _, content = fields["file"]
        self.uploads.append((owner, json.loads(fields[owner][2]), filename, content))
        code = f"a/b/c/d/{len(self.uploads)}_{filename}"
        return httpx.Response(201, headers={"Location": f"http://akeneo.test/api/rest/v1/media-files/{code}"})


def test_seed_shop_adds_media_associations_and_a_bundle_and_leaves_seed_as_it_was():
    recorder = ShopRecorder()
    with seeder(recorder, stamp_updated=True) as s:
        seeded = s.seed_shop()
    families = recorder.bodies("/api/rest/v1/families")
    assert {f["code"] for f in families} == {"clothing", "accessories"}
    assert all({"main_image", "back_image", "care_sheet"} <= set(f["attributes"]) for f in families)
    kinds = {b["code"]: b["is_quantified"] for b in recorder.bodies("/api/rest/v1/association-types")}
    assert kinds == {"RELATED": False, "UPSELL": False, "X_SELL": False, "PACK": True}
    bundle = next(b for b in recorder.bodies("/api/rest/v1/products-uuid") if b.get("identifier") == BUNDLE)
    packed = bundle["quantified_associations"]["PACK"]["products"]
    assert {p["uuid"]: p["quantity"] for p in packed} == {product_uuid(k): q for k, q in PACKED.items()}
    assert "created" in bundle and "updated" in bundle
    # One upload per file, naming the product by uuid (a model by code), the attribute, no locale or scope.
    assert len(recorder.uploads) == len(SHOP_FILES) == len(seeded.files)
    for (owner, target, filename, content), f in zip(recorder.uploads, SHOP_FILES, strict=True):
        key = {"uuid": product_uuid(f.code)} if f.owner == "product" else {"code": f.code}
        assert (owner, target, filename, content) == (f.owner, {**key, "attribute": f.attribute, "scope": None,
                                                                "locale": None}, f.filename, f.content)  # fmt: skip
    assert seeded.files[("jeans-slim", "care_sheet")] == "a/b/c/d/3_jeans-slim-care.pdf"
    assert all(f.content.startswith(b"\x89PNG") for f in SHOP_FILES if f.attribute.endswith("_image"))
