"""The magento2 driver against the Magento sandbox: images added, replaced, removed and never uploaded
twice; stock on create; two websites fed by two channels, with website prices."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.magento_sandbox.testing import SandboxHandle, running_sandbox
from devtools.png import png
from drivers.context import InMemoryMappings, IntegrationContext, MediaFile, MediaUnavailable
from drivers.magento2 import Magento2Driver
from drivers.models import MutationData, entity_uuid
from tests.drivers.magento_support import deliver, deliver_until_done

TYPES = {"name": "pim_catalog_text", "price": "pim_catalog_price_collection", "main_image": "pim_catalog_image",
         "back_image": "pim_catalog_image", "qty": "pim_catalog_number",
         "description": "pim_catalog_textarea"}  # fmt: skip
_ids = iter(range(1, 1_000_000))
TOKEN = "sellable-sandbox-token"


class Files:
    """A MediaSource over files a test puts in: counts what drivers ask for."""

    def __init__(self, root: Path) -> None:
        self.root, self.blobs, self.asked, self.broken = root, {}, [], set()
        self.types: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, code: str, data: bytes) -> str:
        self.blobs[code] = data
        return code

    def file(self, code: str) -> MediaFile:
        with self._lock:
            self.asked.append(code)
        if code in self.broken or code not in self.blobs:
            raise MediaUnavailable(f"media file {code}: download failed")
        data = self.blobs[code]
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / sha
        path.write_bytes(data)
        name = code.rsplit("/", 1)[-1].split("_", 1)[-1]
        return MediaFile(code, sha, len(data), name, self.types.get(code, "image/png"), path)

    def asset_file(self, asset_family: str, asset_code: str) -> MediaFile | None:
        return None


def mutation(entity_type: str, code: str, payload: dict[str, Any], operation: str = "created",
             uid: str | None = None, changed: list[str] | None = None) -> MutationData:  # fmt: skip
    return MutationData(mutation_id=next(_ids), entity_type=entity_type,
                        entity_uuid=uid or entity_uuid(entity_type, code), code=code, operation=operation,
                        payload=payload, changed_fields=changed or [])  # fmt: skip


def attributes() -> list[MutationData]:
    return [
        mutation("attribute", code, {"code": code, "type": kind, "labels": {"en_US": code.title()},
                                     "localizable": code in ("name", "description"),
                                     "scopable": code == "description"})  # fmt: skip
        for code, kind in TYPES.items()
    ]


def value(attribute: str, data: Any, locale: str | None = None, channel: str | None = None) -> dict[str, Any]:
    return {"attribute_code": attribute, "locale": locale, "channel": channel, "value": data}


class Product:
    def __init__(self, sku: str) -> None:
        self.sku, self.uuid = sku, str(uuid.uuid4())

    def __call__(self, *values: dict[str, Any], operation: str = "created") -> MutationData:
        payload = {"identifier": self.sku, "enabled": True, "values": [value("name", self.sku.title(), "en_US"),
                   *values]}  # fmt: skip
        return mutation("product", self.sku, payload, operation, uid=self.uuid, changed=["values"])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(token=TOKEN, websites={"base": ["default", "fr"], "b2b": ["b2b"]},
                         base_currencies={"b2b": "USD"}) as sb:  # fmt: skip
        yield sb


@pytest.fixture
def sb(sandbox: SandboxHandle) -> SandboxHandle:
    sandbox.reset()
    return sandbox


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def setup(sb: SandboxHandle, files: Files, **config: Any) -> tuple[Magento2Driver, IntegrationContext]:
    driver = Magento2Driver(base_url=sb.base_url, token=TOKEN, store_views={"en_US": "default", "fr_FR": "fr"},
                            **config)  # fmt: skip
    context = IntegrationContext("shop", InMemoryMappings("shop"), media=files)
    results = deliver(driver, attributes(), context)
    assert {r.status for r in results} == {"success"}
    return driver, context


def media(sb: SandboxHandle, sku: str, store: str = "all") -> list[dict[str, Any]]:
    with sb.client() as client:
        response = client.get(f"/{store}/V1/products/{sku}/media")
        response.raise_for_status()
        return sorted(response.json(), key=lambda e: e["position"])


def uploads(sb: SandboxHandle) -> tuple[int, int, int]:
    """Media POSTs: requests, request bytes, image bytes stored."""
    stats = sb.stats()
    media_posts = stats["by_operation"].get("PostV1ProductsSkuMedia") or {}
    return media_posts.get("requests", 0), media_posts.get("bytes_in", 0), stats["media_bytes"]


def test_images_are_added_with_roles_replaced_removed_and_an_unchanged_redelivery_uploads_nothing(sb, files):
    driver, context = setup(sb, files, image_roles={"main_image": ["image", "small_image", "thumbnail"],
                                                    "back_image": ["swatch_image"]})  # fmt: skip
    front, back = files.put("1/a/front_tee.png", png(16, 16, (200, 0, 0))), files.put("2/b/back_tee.png", png())
    tee = Product("tee")
    assert deliver(driver, [tee(value("main_image", front), value("back_image", back))], context)[0].status == "success"
    entries = media(sb, "tee")
    assert [e["types"] for e in entries] == [["swatch_image"], ["image", "small_image", "thumbnail"]]
    assert all(e["file"].endswith(".png") and e["label"] == "Tee" for e in entries)
    first_bytes = uploads(sb)

    again = deliver(driver, [tee(value("main_image", front), value("back_image", back), operation="updated")], context)
    assert again[0].status == "success"
    assert uploads(sb) == first_bytes  # not a byte more
    assert files.asked == [back, front]  # no download either

    before = {e["id"] for e in entries}
    new_front = files.put("3/c/front2_tee.png", png(16, 16, (0, 200, 0)))
    deliver(driver, [tee(value("main_image", new_front), value("back_image", back), operation="updated")], context)
    entries = media(sb, "tee")
    assert len(entries) == 2 and entries[1]["types"] == ["image", "small_image", "thumbnail"]
    assert entries[0]["id"] in before and entries[1]["id"] not in before  # the front replaced, the back kept
    assert uploads(sb)[0] == first_bytes[0] + 1

    deliver(driver, [tee(value("main_image", new_front), operation="updated")], context)
    assert [e["types"] for e in media(sb, "tee")] == [["image", "small_image", "thumbnail"]]


def test_the_same_bytes_under_a_new_file_code_are_not_uploaded_again(sb, files):
    driver, context = setup(sb, files)
    picture = png(12, 12, (1, 2, 3))
    tee = Product("tee")
    deliver(driver, [tee(value("main_image", files.put("1/a/x_tee.png", picture)))], context)
    sent = uploads(sb)
    result = deliver(driver, [tee(value("main_image", files.put("9/z/y_tee.png", picture)), operation="updated")],
                     context)  # fmt: skip
    assert result[0].status == "success"
    assert uploads(sb) == sent
    assert len(media(sb, "tee")) == 1


def test_a_failed_download_is_retryable_names_the_file_and_keeps_the_product(sb, files):
    driver, context = setup(sb, files)
    code = files.put("4/d/broken_tee.png", png())
    files.broken.add(code)
    tee = Product("tee")
    result = deliver(driver, [tee(value("main_image", code))], context)[0]
    assert result.status == "retryable" and code in (result.message or "")
    with sb.client() as client:
        assert client.get("/all/V1/products/tee").status_code == 200  # saved; only its image waits
    files.broken.clear()
    assert deliver(driver, [tee(value("main_image", code))], context)[0].status == "success"
    assert len(media(sb, "tee")) == 1


def test_stock_is_given_to_new_products_and_follows_the_quantity_attribute(sb, files):
    driver, context = setup(sb, files, stock={"default_qty": 7, "is_in_stock": True})
    deliver(driver, [Product("fixed")()], context)
    counted_driver, counted_context = setup(sb, files, stock={"qty_attribute": "qty"})
    counted = Product("counted")
    deliver(counted_driver, [counted(value("qty", "3"))], counted_context)
    deliver(counted_driver, [counted(value("qty", "0"), operation="updated")], counted_context)
    with sb.client() as client:
        fixed = client.get("/V1/stockItems/fixed").json()
        assert (fixed["qty"], fixed["is_in_stock"]) == (7, True)
        now = client.get("/V1/stockItems/counted").json()
        assert (now["qty"], now["is_in_stock"]) == (0, False)


def test_msi_source_items_instead_of_stock_item(sb, files):
    driver, context = setup(sb, files, stock={"qty_attribute": "qty", "msi_source_code": "default"})
    item = Product("msi")
    assert deliver(driver, [item(value("qty", "4"))], context)[0].status == "success"
    with sb.client() as client:
        found = client.get("/V1/inventory/source-items", params={
            "searchCriteria[filterGroups][0][filters][0][field]": "sku",
            "searchCriteria[filterGroups][0][filters][0][value]": "msi"}).json()  # fmt: skip
    assert [(i["source_code"], i["quantity"], i["status"]) for i in found["items"]] == [("default", 4, 1)]


def test_two_channels_feed_two_websites_with_their_own_values_and_prices(sb, files):
    driver, context = setup(sb, files, channel_websites={"ecommerce": [1], "b2b": [2]},
                            store_view_locales={"b2b": "en_US"}, price_scope="website")  # fmt: skip
    sb.configure(price_scope="website")  # the shop scopes prices per website (catalog/price/scope)
    tee = Product("tee")
    result = deliver_until_done(driver, [tee(
        value("description", "For everyone", "en_US", "ecommerce"),
        value("description", "Packs of 50", "en_US", "b2b"),
        value("price", [{"amount": "20", "currency": "EUR"}, {"amount": "22", "currency": "USD"}]),
    )], context)  # fmt: skip
    assert {r.status for r in result.values()} == {"success"}, result
    with sb.client() as client:
        base = client.get("/default/V1/products/tee").json()
        b2b = client.get("/b2b/V1/products/tee").json()
    assert sorted(base["extension_attributes"]["website_ids"]) == [1, 2]

    def attribute(product: dict[str, Any], code: str) -> Any:
        return next((a["value"] for a in product.get("custom_attributes") or [] if a["attribute_code"] == code), None)

    assert attribute(base, "description") == "For everyone"
    assert attribute(b2b, "description") == "Packs of 50"
    assert base["price"] == 20 and b2b["price"] == 22


def test_with_a_global_price_scope_no_price_reaches_a_store_view(sb, files):
    driver, context = setup(sb, files, channel_websites={"ecommerce": [1], "b2b": [2]},
                            store_view_locales={"b2b": "en_US"})  # fmt: skip
    tee = Product("tee")
    deliver_until_done(driver, [tee(value("price", [{"amount": "20", "currency": "EUR"},
                                                    {"amount": "22", "currency": "USD"}]))], context)  # fmt: skip
    with sb.client() as client:
        assert client.get("/b2b/V1/products/tee").json()["price"] == 20
    store_saves = [r for r in sb.requests() if r["method"] == "PUT" and r["store_code"] not in (None, "all")]
    assert store_saves == []


def test_a_gallery_interrupted_at_any_step_is_finished_without_uploading_an_image_twice(sb, files):
    driver, context = setup(sb, files)
    tee = Product("tee")
    front = files.put("1/a/front_tee.png", png(16, 16, (200, 0, 0)))
    # The French label fails after the upload landed: the retry only writes the label.
    sb.set_faults([{"method": "PUT", "path": r"^/fr/V1/products/tee/media/", "status": 503, "times": 1}])
    assert deliver(driver, [tee(value("main_image", front), value("name", "Tee FR", "fr_FR"))], context)[0].status \
        == "retryable"  # fmt: skip
    assert deliver(driver, [tee(value("main_image", front), value("name", "Tee FR", "fr_FR"))], context)[0].status \
        == "success"  # fmt: skip
    assert uploads(sb)[0] == 1 and len(media(sb, "tee")) == 1
    assert media(sb, "tee", "fr")[0]["label"] == "Tee FR"

    # A replacement whose delete of the former entry fails: the retry deletes it, uploads nothing more.
    new_front = files.put("2/b/front2_tee.png", png(16, 16, (0, 0, 200)))
    sb.set_faults([{"method": "DELETE", "path": r"^/all/V1/products/tee/media/", "status": 503, "times": 1}])
    changed = tee(value("main_image", new_front), value("name", "Tee FR", "fr_FR"), operation="updated")
    assert deliver(driver, [changed], context)[0].status == "retryable"
    assert len(media(sb, "tee")) == 2  # both, for now
    assert deliver(driver, [changed], context)[0].status == "success"
    assert uploads(sb)[0] == 2 and len(media(sb, "tee")) == 1


def test_an_upload_that_landed_though_magento_did_not_answer_in_time_is_adopted_not_repeated(sb, files):
    driver, context = setup(sb, files, timeout_seconds=0.5)
    tee = Product("tee")
    assert deliver(driver, [tee()], context)[0].status == "success"
    front = files.put("1/a/front_tee.png", png(16, 16, (200, 0, 0)))
    sb.set_faults([{"method": "POST", "path": r"^/all/V1/products/tee/media$", "status": None, "hang_ms": 1500,
                    "times": 1}])  # fmt: skip
    result = deliver(driver, [tee(value("main_image", front), operation="updated")], context)[0]
    assert result.status == "retryable" and "no answer" in (result.message or "")
    time.sleep(1.5)  # the hung request is processed: the image is in Magento
    assert deliver(driver, [tee(value("main_image", front), operation="updated")], context)[0].status == "success"
    assert uploads(sb)[0] == 1
    entries = media(sb, "tee")
    assert len(entries) == 1 and entries[0]["types"] == ["image", "small_image", "thumbnail"]


def test_file_names_magento_refuses_are_cleaned_and_types_it_refuses_are_skipped(sb, files):
    driver, context = setup(sb, files)
    odd = files.put("1/a/IMG (1): front.png", png())
    tee = Product("tee")
    assert deliver(driver, [tee(value("main_image", odd))], context)[0].status == "success"
    assert media(sb, "tee")[0]["file"].endswith(".png")
    webp = files.put("2/b/back.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    files.types = {webp: "image/webp"}
    result = deliver(driver, [tee(value("main_image", odd), value("back_image", webp), operation="updated")], context)
    assert result[0].status == "success"
    assert len(media(sb, "tee")) == 1  # the webp is not sent (Magento takes jpeg, png, gif)
    again = deliver(driver, [tee(value("main_image", odd), value("back_image", webp), operation="updated")], context)
    assert again[0].status == "success" and files.asked.count(webp) == 1  # skipped once, not retried


def test_a_product_deleted_by_hand_in_magento_is_sent_again_whole_when_only_its_image_changed(sb, files):
    driver, context = setup(sb, files)
    tee = Product("tee")
    assert deliver(driver, [tee(value("main_image", files.put("1/a/front_tee.png", png())))], context)[0].status \
        == "success"  # fmt: skip
    with sb.client() as client:
        client.delete("/all/V1/products/tee").raise_for_status()
    replaced = files.put("2/b/front2_tee.png", png(16, 16, (0, 90, 0)))
    assert deliver(driver, [tee(value("main_image", replaced), operation="updated")], context)[0].status == "success"
    entries = media(sb, "tee")
    assert len(entries) == 1 and entries[0]["types"] == ["image", "small_image", "thumbnail"]
