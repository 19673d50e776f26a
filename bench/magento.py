"""Magento delivery benchmark (the `magento2` driver) against the sandbox with `write_delay_ms=50`.

Every write waits 50 ms, like Magento's ~1 s product save scaled down, and concurrent writes overlap
(PHP-FPM workers). 5,000 generated simple products (a family, two categories, selects, a
multiselect, a metric, prices, names and descriptions in three locales) are delivered after their
attributes, options, family and categories (not timed), three ways:

(a) a sequential baseline: plain httpx, one request at a time, the same bodies the driver sends
    (global scope, then the fr and de store views);
(b) the driver with max_concurrency 8;
(c) the driver with bulk=True (async bulk API).

Targets: (b) >= 6x (a), (c) >= 20x (a). The baseline's rate is measured on the first
`--baseline-products` products (one request at a time, its rate does not depend on how many).

Images case: 1,000 products with 3 images of about 50 KB each (distinct PNGs, read from disk the way
the delivery's MediaSource hands them over once downloaded from Akeneo), each product saved in its
three scopes and its images uploaded: (d) a sequential baseline (plain httpx, the driver's requests one
at a time: the three saves, one POST /media per image and its label in the two other store views),
(e) the driver with max_concurrency 8 (target >= 6x), then (f) the same
products delivered again unchanged: bytes uploaded (target 0, counted by the sandbox).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from devtools.png import png, tagged
from devtools.ports import free_port
from devtools.sample_catalog import ATTRIBUTES, CATEGORIES, FAMILIES, OPTIONS
from drivers.context import InMemoryMappings, IntegrationContext, MediaFile
from drivers.magento2 import Magento2Driver
from drivers.magento2.mapping import GLOBAL, product_body, product_scopes
from drivers.magento2.products import sku_of
from drivers.magento2.refs import MappingRefs
from drivers.models import DeliveryResult, MutationData, entity_uuid

TOKEN = "bench-magento-token"
STORE_VIEWS = {"en_US": "default", "fr_FR": "fr", "de_DE": "de"}
WRITE_DELAY_MS = 50


# --------------------------------------------------------------------------- the catalog


def _mutation(n: int, entity_type: str, code: str, payload: dict[str, Any], uuid: str | None = None) -> MutationData:
    uuid = uuid or entity_uuid(entity_type, code)
    payload = {"uuid": uuid, **payload}
    changed = sorted(k for k in payload if k not in ("uuid", "values")) + sorted(
        {v["attribute_code"] for v in payload.get("values", [])}
    )
    return MutationData(
        mutation_id=n, entity_type=entity_type, entity_uuid=uuid, code=code, operation="created",
        payload=payload, changed_fields=changed,
    )  # fmt: skip


def structure() -> list[MutationData]:
    """Attributes, options, families and categories of the sample catalog, as IEC would send them."""
    out: list[MutationData] = []
    for a in ATTRIBUTES:
        payload = {
            "code": a["code"], "type": a["type"], "group": a.get("group"), "labels": a.get("labels"),
            "localizable": a.get("localizable"), "scopable": a.get("scopable"), "unique": a.get("unique"),
            "metric_family": a.get("metric_family"), "default_metric_unit": a.get("default_metric_unit"),
        }  # fmt: skip
        out.append(_mutation(len(out) + 1, "attribute", a["code"], payload))
    for attribute, options in OPTIONS.items():
        for order, (code, labels) in enumerate(options):
            payload = {"code": f"{attribute}.{code}", "attribute": attribute, "option_code": code,
                       "sort_order": order, "labels": labels}  # fmt: skip
            out.append(_mutation(len(out) + 1, "attribute_option", f"{attribute}.{code}", payload))
    for family in FAMILIES:
        payload = {
            "code": family["code"], "attributes": sorted(family["attributes"]), "labels": family["labels"],
            "attribute_as_label": "name", "attribute_requirements": family["attribute_requirements"],
        }  # fmt: skip
        out.append(_mutation(len(out) + 1, "family", family["code"], payload))
    for category in CATEGORIES:
        payload = {"code": category["code"], "parent": category["parent"], "labels": category["labels"]}
        out.append(_mutation(len(out) + 1, "category", category["code"], payload))
    return out


def _value(code: str, value: Any, locale: str | None = None, channel: str | None = None, unit: str | None = None):
    return {"attribute_code": code, "channel": channel, "locale": locale, "value": value, "unit": unit}


def products(count: int, first_id: int = 1000) -> list[MutationData]:
    """`count` simple clothing products in IEC's payload shape (what the diff would produce)."""
    colors = [c for c, _ in OPTIONS["color"]]
    sizes = [s for s, _ in OPTIONS["size"]]
    materials = [m for m, _ in OPTIONS["material"]]
    out = []
    for n in range(count):
        sku = f"bench-{n:06d}"
        category = "tshirts" if n % 2 else "pants"
        values = [
            _value("color", colors[n % len(colors)]),
            *[_value("description", f"Product number {n} ({loc})", loc, "ecommerce") for loc in STORE_VIEWS],
            _value("description", f"Product number {n} (mobile)", "en_US", "mobile"),
            _value("ean", f"{4000000000000 + n}"),
            _value("material", sorted({materials[n % 4], materials[(n // 4) % 4]})),
            _value("name", f"Benchmark product {n}", "en_US"),
            _value("name", f"Produit de test {n}", "fr_FR"),
            _value("name", f"Testprodukt {n}", "de_DE"),
            _value(
                "price",
                [
                    {"amount": f"{10 + n % 90}.{n % 100:02d}", "currency": "EUR"},
                    {"amount": f"{12 + n % 90}.{n % 100:02d}", "currency": "USD"},
                ],
            ),  # fmt: skip
            _value("size", sizes[n % len(sizes)]),
            _value("sku", sku),
            _value("stock_qty", str(n % 50)),
            _value("weight", str(100 + n % 900), unit="GRAM"),
        ]
        payload = {
            "identifier": sku, "enabled": True, "family": "clothing", "parent": None, "root_parent": None,
            "family_variant": None, "groups": [], "completeness": None, "values": values,
            "categories": [{"code": c, "labels": {}, "parent": None} for c in ("clothing", category)],
            "associations": {}, "updated_at": None,
        }  # fmt: skip
        out.append(_mutation(first_id + n, "product", sku, payload, uuid=entity_uuid("bench-product", sku)))
    return out


# ---------------------------------------------------------------------------- the sandbox


@contextmanager
def sandbox() -> Iterator[str]:
    """The sandbox in its own process (its CPU work must not compete with the client's threads)."""
    port = free_port()
    command = [sys.executable, "-m", "devtools.magento_sandbox", "--port", str(port), "--token", TOKEN,
               "--write-delay-ms", str(WRITE_DELAY_MS)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/__sandbox/stats", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Magento sandbox did not start") from None
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _control(base_url: str, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, f"{base_url}/__sandbox/{path}", timeout=60, **kwargs)
    response.raise_for_status()
    return response.json()


def _driver(base_url: str, **settings: Any) -> Magento2Driver:
    return Magento2Driver(base_url=base_url, token=TOKEN, store_views=STORE_VIEWS, **settings)


def _apply(mappings: InMemoryMappings, batch: list[MutationData], results: list[DeliveryResult]) -> int:
    """What IEC does with the results: mappings saved; returns how many did not succeed."""
    failed = 0
    for m, r in zip(batch, results, strict=True):
        if r.status != "success":
            failed += 1
        elif r.external_id is not None or r.external_data is not None:
            mappings.save(m.entity_type, m.entity_uuid, r.external_id, r.external_data)
    return failed


def prepared(base_url: str, media: Any = None) -> IntegrationContext:
    """A fresh Magento with the structure delivered (not timed); the context holds its mappings."""
    _control(base_url, "POST", "reset")
    _control(base_url, "POST", "config", json={"write_delay_ms": 0})
    context = IntegrationContext(integration="bench", mappings=InMemoryMappings("bench"))
    if media is not None:
        context.media = media
    driver = _driver(base_url)
    driver.open(context)
    batch = structure()
    if media is not None:
        batch += image_structure(len(batch) + 1)
    failed = _apply(context.mappings, batch, driver.handle_batch(batch, context))
    driver.close()
    if failed:
        raise RuntimeError(f"{failed} structure mutations failed")
    _control(base_url, "POST", "config", json={"write_delay_ms": WRITE_DELAY_MS})
    return context


# ------------------------------------------------------------------------------- the runs


def bodies(context: IntegrationContext, batch: list[MutationData]) -> list[tuple[str, str, dict]]:
    """The driver's own mapping of each product: (scope, sku, body), global scope first."""
    settings = _driver("http://unused").mapping_settings()
    refs = MappingRefs(context.mappings, settings)
    refs.prefetch(batch)
    out = []
    for m in batch:
        scopes = product_scopes(m.payload, "simple", settings, refs)
        for scope in [GLOBAL, *sorted(set(scopes) - {GLOBAL})]:
            out.append((scope, sku_of(m), product_body(sku_of(m), scopes[scope])))
    return out


def sequential(base_url: str, batch: list[MutationData]) -> tuple[float, int]:
    context = prepared(base_url)
    requests = bodies(context, batch)
    started = time.monotonic()
    with httpx.Client(base_url=f"{base_url}/rest", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
        for scope, sku, body in requests:
            http.put(f"/{scope}/V1/products/{quote(sku, safe='')}", json=body).raise_for_status()
    return time.monotonic() - started, len(batch)


def with_driver(base_url: str, batch: list[MutationData], chunk: int, **settings: Any) -> tuple[float, int]:
    return _deliver(base_url, prepared(base_url), batch, chunk, **settings)


def _deliver(
    base_url: str, context: IntegrationContext, batch: list[MutationData], chunk: int, **settings: Any
) -> tuple[float, int]:
    driver = _driver(base_url, **settings)
    driver.open(context)
    started = time.monotonic()
    failed = 0
    for start in range(0, len(batch), chunk):
        part = batch[start : start + chunk]
        failed += _apply(context.mappings, part, driver.handle_batch(part, context))
    seconds = time.monotonic() - started
    driver.close()
    if failed:
        raise RuntimeError(f"{failed} products failed with {settings}")
    stats = _control(base_url, "GET", "stats")
    if stats["schema_errors"] or stats["max_in_flight_per_sku"] > 1:
        raise RuntimeError(f"sandbox saw schema errors or overlapping writes: {stats}")
    return seconds, len(batch)


# ----------------------------------------------------------------------------- the images case

IMAGE_ATTRIBUTES = ("picture_front", "picture_back", "picture_side")


class DiskMedia:
    """A MediaSource over files already on disk (what the delivery's source hands over after its one
    download from Akeneo): the benchmark measures Magento delivery, not Akeneo."""

    def __init__(self, root: Path) -> None:
        self.root, self.files = root, {}

    def add(self, code: str, data: bytes) -> None:
        sha = hashlib.sha256(data).hexdigest()
        path = self.root / sha
        path.write_bytes(data)
        self.files[code] = MediaFile(code, sha, len(data), code.rsplit("_", 1)[-1], "image/png", path)

    def file(self, code: str) -> MediaFile:
        return self.files[code]

    def asset_file(self, asset_family: str, asset_code: str) -> MediaFile | None:
        return None


def image_products(count: int, media: DiskMedia) -> list[MutationData]:
    """`products(count)` with three distinct ~50 KB PNGs each (three pictures, tagged per product)."""
    pictures = [png(128, 128, rgb, noise=256) for rgb in ((180, 40, 40), (40, 180, 40), (40, 40, 180))]
    out = []
    for m in products(count, first_id=100_000):
        values = list(m.payload["values"])
        for attribute, picture in zip(IMAGE_ATTRIBUTES, pictures, strict=True):
            code = f"{m.code[-2:]}/{attribute}/{m.code}_{attribute}.png"
            media.add(code, tagged(picture, f"{m.code}/{attribute}"))
            values.append(_value(attribute, code))
        out.append(m.model_copy(update={"payload": {**m.payload, "values": values}}))
    return out


def image_structure(first_id: int) -> list[MutationData]:
    return [
        _mutation(first_id + n, "attribute", code, {"code": code, "type": "pim_catalog_image", "labels": {}})
        for n, code in enumerate(IMAGE_ATTRIBUTES)
    ]


def sequential_images(base_url: str, batch: list[MutationData], media: DiskMedia) -> tuple[float, int]:
    """The requests the driver makes, one at a time: the three scope saves, then per image its upload and
    its label in each store view whose product name differs."""
    context = prepared(base_url, media)
    requests = bodies(context, batch)
    by_sku = {sku_of(m): m for m in batch}
    started = time.monotonic()
    with httpx.Client(base_url=f"{base_url}/rest", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
        for index, (scope, sku, body) in enumerate(requests):
            path = f"/V1/products/{quote(sku, safe='')}"
            http.put(f"/{scope}{path}", json=body).raise_for_status()
            if index + 1 < len(requests) and requests[index + 1][1] == sku:
                continue  # the product's last scope saved: its images now
            labels = {s: b["product"]["name"] for s, k, b in requests if k == sku and "name" in b["product"]}
            for position, attribute in enumerate(IMAGE_ATTRIBUTES):
                code = next(v["value"] for v in by_sku[sku].payload["values"] if v["attribute_code"] == attribute)
                picture = media.file(code)
                entry = {"media_type": "image", "label": labels[GLOBAL], "position": position, "disabled": False,
                         "types": ["image", "small_image", "thumbnail"] if position == 0 else [],
                         "content": {"base64_encoded_data": base64.b64encode(picture.read_bytes()).decode(),
                                     "type": "image/png", "name": picture.filename}}  # fmt: skip
                entry_id = http.post(f"/all{path}/media", json={"entry": entry}).raise_for_status().json()
                for store, label in sorted(labels.items()):
                    if store != GLOBAL and label != labels[GLOBAL]:
                        update = {k: v for k, v in entry.items() if k != "content"} | {"id": entry_id, "label": label}
                        http.put(f"/{store}{path}/media/{entry_id}", json={"entry": update}).raise_for_status()
    return time.monotonic() - started, len(batch)


def images_case(base_url: str, count: int, baseline_count: int, chunk: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-media-") as root:
        media = DiskMedia(Path(root))
        batch = image_products(count, media)
        size = sum(f.size for f in media.files.values()) / len(media.files)
        seconds, done = sequential_images(base_url, batch[: min(baseline_count, count)], media)
        base_rate = done / seconds
        print(f"magento (d) images, sequential baseline (3 saves, 3 uploads of {size / 1024:.0f} KB, 6 labels): "
              f"{base_rate:6.2f} products/s ({done:,} in {seconds:.1f}s)", flush=True)  # fmt: skip
        context = prepared(base_url, media)
        seconds, done = _deliver(base_url, context, batch, chunk, max_concurrency=8)
        rate = done / seconds
        print(f"magento (e) images, driver max_concurrency 8:       {rate:6.2f} products/s ({done:,} in {seconds:.1f}s)"
              f" = {rate / base_rate:5.1f}x baseline (target >= 6x)", flush=True)  # fmt: skip
        before = _control(base_url, "GET", "stats")
        again = [m.model_copy(update={"operation": "updated", "mutation_id": m.mutation_id + count}) for m in batch]
        redelivery, _ = _deliver(base_url, context, again, chunk, max_concurrency=8)
        after = _control(base_url, "GET", "stats")
        uploaded = after["media_bytes"] - before["media_bytes"]
        requests = after["requests"] - before["requests"]
        print(f"magento (f) images, unchanged re-delivery: {uploaded:,} image bytes uploaded (target 0), "
              f"{requests:,} requests, {redelivery:.1f}s", flush=True)  # fmt: skip
    return {
        "image_products": count,
        "image_kb": round(size / 1024, 1),
        "images_baseline_products_per_s": round(base_rate, 2),
        "images_products_per_s": round(rate, 2),
        "images_ratio": round(rate / base_rate, 2),
        "images_redelivery_bytes": uploaded,
        "images_redelivery_requests": requests,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.magento", description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--baseline-products", type=int, default=500, help="products the baseline rate is measured on")
    parser.add_argument("--chunk", type=int, default=500, help="mutations per handle_batch call (IEC's batch)")
    parser.add_argument("--image-products", type=int, default=1000, help="products of the images case (0: skip)")
    parser.add_argument("--image-baseline-products", type=int, default=100)
    parser.add_argument("--only-images", action="store_true", help="run the images case alone")
    args, _ = parser.parse_known_args(argv)
    batch = products(args.products)
    if args.only_images:
        with sandbox() as base_url:
            return images_case(base_url, args.image_products, args.image_baseline_products, args.chunk)
    with sandbox() as base_url:
        seconds, count = sequential(base_url, batch[: min(args.baseline_products, len(batch))])
        base_rate = count / seconds
        print(f"magento (a) sequential baseline, plain httpx, one request at a time: {base_rate:8.1f} products/s "
              f"({count:,} products, 3 requests each, in {seconds:.1f}s)", flush=True)  # fmt: skip
        seconds, count = with_driver(base_url, batch, args.chunk, max_concurrency=8)
        concurrent_rate = count / seconds
        print(f"magento (b) driver, max_concurrency 8:                      {concurrent_rate:8.1f} products/s "
              f"({count:,} in {seconds:.1f}s) = {concurrent_rate / base_rate:5.1f}x baseline (target >= 6x)",
              flush=True)  # fmt: skip
        seconds, count = with_driver(base_url, batch, args.chunk, bulk=True, batch_size=250, timeout_seconds=120)
        bulk_rate = count / seconds
        print(f"magento (c) driver, bulk=True:                              {bulk_rate:8.1f} products/s "
              f"({count:,} in {seconds:.1f}s) = {bulk_rate / base_rate:5.1f}x baseline (target >= 20x)",
              flush=True)  # fmt: skip
        images = (
            images_case(base_url, args.image_products, args.image_baseline_products, args.chunk)
            if args.image_products
            else {}
        )
    return {
        **images,
        "products": len(batch),
        "baseline_products_per_s": round(base_rate, 2),
        "concurrent_products_per_s": round(concurrent_rate, 2),
        "bulk_products_per_s": round(bulk_rate, 2),
        "concurrent_ratio": round(concurrent_rate / base_rate, 2),
        "bulk_ratio": round(bulk_rate / base_rate, 2),
    }


if __name__ == "__main__":
    main()
