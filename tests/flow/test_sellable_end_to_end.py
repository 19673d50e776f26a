"""Products a shop can sell, end to end with real parts: Akeneo (akeneo-mock-server on PostgreSQL, its media
files served by devtools.akeneo_media) -> `iec sync` -> the store (PostgreSQL) -> `iec deliver` -> the Magento
sandbox with two websites, read back through Magento's REST API.

The catalog is sample_catalog's `seed()` plus `seed_shop()`: images with roles (products and product models),
a care sheet as a URL, RELATED/UPSELL/X_SELL links, a PACK bundle as a grouped product, stock from
`stock_qty`, the ecommerce and mobile channels on websites 1 and 2, two sibling categories whose French
labels are equal. Then an image replaced, an association removed, an association to a product Akeneo
creates later, and a replay of everything that must upload and download nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from devtools import akeneo_mock, playground
from devtools.sample_catalog import BUNDLE, PACKED, SHOP_ASSOCIATIONS, AkeneoSeeder, _simple, picture, product_uuid

STORE_DATABASE = f"iec_sellable_store_{os.getpid()}"
EMPTY = {"products": [], "product_models": [], "groups": []}


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture
def shop(tmp_path) -> Iterator[playground.Playground]:
    akeneo_database = f"akeneo_iec_sellable_{os.getpid()}"
    akeneo_mock.drop_database(STORE_DATABASE)
    akeneo_mock.ensure_database(STORE_DATABASE)
    store = f"postgresql+psycopg://postgres@127.0.0.1:5432/{STORE_DATABASE}"
    try:
        with playground.start(tmp_path, akeneo_database=akeneo_database, store_url=store, sellable=True) as p:
            yield p
    finally:
        akeneo_mock.drop_database(akeneo_database)
        akeneo_mock.drop_database(STORE_DATABASE)


def custom(item: dict) -> dict:
    return {a["attribute_code"]: a["value"] for a in item.get("custom_attributes") or []}


def gallery(p: playground.Playground, sku: str) -> dict[str, dict]:
    """File name (as uploaded, before Magento's dispersion and _N suffixes) -> the gallery entry."""
    return {e["file"].rsplit("/", 1)[-1]: e for e in p.magento(f"products/{sku}/media")}


def links(item: dict, kind: str) -> dict[str, float | None]:
    return {
        link["linked_product_sku"]: (link.get("extension_attributes") or {}).get("qty")
        for link in item.get("product_links") or []
        if link["link_type"] == kind
    }


def job_status(p: playground.Playground) -> dict[str, list[dict]]:
    by_code: dict[str, list[dict]] = {}
    for job in json.loads(ok(p.iec("jobs", "--json"))):
        by_code.setdefault(job["code"], []).append(job)
    return by_code


def category_ids(node: dict, found: dict[str, int] | None = None) -> dict[str, int]:
    found = {} if found is None else found
    found[node["name"]] = node["id"]
    for child in node.get("children_data") or []:
        category_ids(child, found)
    return found


def test_a_catalog_a_shop_can_sell_reaches_magento_and_stays_in_step(shop):
    p = shop
    with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
        seeder.seed()
        seeded = seeder.seed_shop()
    ok(p.iec("sync", "--full"))
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    jobs = json.loads(ok(p.iec("jobs", "--json")))
    assert {j["status"] for j in jobs} == {"success"}, [j for j in jobs if j["status"] != "success"]

    # Images with roles: a product's two image attributes; a configurable gets its root model's image.
    jeans = gallery(p, "jeans-slim")
    assert set(jeans) == {"jeans-slim-front.png", "jeans-slim-back.png"}
    assert sorted(jeans["jeans-slim-front.png"]["types"]) == ["image", "small_image", "thumbnail"]
    assert jeans["jeans-slim-back.png"]["types"] == []
    for model, filename in (("tshirt_classic", "tshirt-classic.png"), ("bag_tote", "bag-tote.png")):
        entries = list(gallery(p, model).values())
        assert [e["file"].rsplit("/", 1)[-1] for e in entries] == [filename]
        assert sorted(entries[0]["types"]) == ["image", "small_image", "thumbnail"]
    # Every file Akeneo holds was downloaded once, however many products (variants included) show it.
    downloads = p.media.stats()["downloads"]
    images = {code for (_, attribute), code in seeded.files.items() if attribute.endswith("_image")}
    assert set(downloads) == images and set(downloads.values()) == {1}

    # A file attribute: a URL where the shop's customers download it.
    item = p.magento("products/jeans-slim")
    care = seeded.files[("jeans-slim", "care_sheet")]
    assert custom(item)["care_sheet"] == f"{playground.FILE_BASE_URL}/{care}"

    # Links of the three kinds (a model's configurable as a target, and a model's own links).
    assert links(item, "related") == {"bag_tote": None}
    assert links(item, "upsell") == {"tshirt_classic": None}
    assert links(item, "crosssell") == {"gift-card": None}
    assert links(p.magento("products/tshirt_classic"), "crosssell") == {"jeans-slim": None}

    # The quantified PACK association: a grouped product with its associated products' quantities.
    bundle = p.magento(f"products/{BUNDLE}")
    assert bundle["type_id"] == "grouped"
    assert links(bundle, "associated") == {sku: float(qty) for sku, qty in PACKED.items()}

    # Stock on create: from stock_qty, or the configured default for a product without one.
    stock = {sku: p.magento(f"stockItems/{sku}") for sku in ("jeans-slim", "tshirt-classic-blue-m", "gift-card")}
    assert (stock["jeans-slim"]["qty"], stock["jeans-slim"]["is_in_stock"]) == (25, True)
    assert (stock["tshirt-classic-blue-m"]["qty"], stock["tshirt-classic-blue-m"]["is_in_stock"]) == (0, False)
    assert (stock["gift-card"]["qty"], stock["gift-card"]["is_in_stock"]) == (10, True)

    # Two websites, each with its channel's values: ecommerce on website 1's views, mobile on website 2's.
    assert item["extension_attributes"]["website_ids"] == [1, 2]
    descriptions = {s: custom(p.magento("products/jeans-slim", store=s)).get("description") for s in
                    ("default", "fr", "mobile")}  # fmt: skip
    assert descriptions == {"default": "Slim fit jeans (web)", "fr": "Slim fit jeans (FR web)",
                            "mobile": "Slim fit jeans (mobile)"}  # fmt: skip

    # Category URL keys per store view, unique among siblings: bags and backpacks are both "Sacs" in French.
    ids = category_ids(p.magento("categories"))
    keys = {
        (name, store): custom(p.magento(f"categories/{ids[name]}", store=store)).get("url_key")
        for name in ("Bags", "Backpacks")
        for store in ("all", "fr", "de")
    }
    assert (keys["Bags", "all"], keys["Backpacks", "all"]) == ("bags", "backpacks")
    # whichever was saved second gets its code appended
    assert {keys["Bags", "fr"], keys["Backpacks", "fr"]} in ({"sacs", "sacs-backpacks"}, {"sacs", "sacs-bags"})
    assert (keys["Bags", "de"], keys["Backpacks", "de"]) == ("taschen", "rucksacke")
    assert p.sandbox("stats")["schema_errors"] == 0

    # A new main image and a removed association; rain-jacket now points at a product Akeneo has not made yet.
    new_picture = picture((10, 20, 90), tag="second shoot")
    back_id = jeans["jeans-slim-back.png"]["id"]
    with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
        new_code = seeder.upload_media("product", "jeans-slim", "main_image", "jeans-slim-front-2.png", new_picture)
        seeder.upsert("products-uuid", product_uuid("jeans-slim"),
                      {"associations": {**SHOP_ASSOCIATIONS["jeans-slim"], "X_SELL": EMPTY}})  # fmt: skip
        seeder.upsert("products-uuid", product_uuid("rain-jacket"), {"associations": {
            "RELATED": {**EMPTY, "products": [product_uuid("rain-hat")]}}})  # fmt: skip
    bytes_before = p.sandbox("stats")["media_bytes"]
    ok(p.iec("sync", "--full"))
    ok(p.iec("deliver"))  # one pass: rain-jacket waits for its target
    waiting = job_status(p)["rain-jacket"][-1]
    assert waiting["status"] == "pending" and "not yet in Magento" in waiting["last_error"]
    assert links(p.magento("products/rain-jacket"), "related") == {}

    jeans = gallery(p, "jeans-slim")
    assert set(jeans) == {"jeans-slim-front-2.png", "jeans-slim-back.png"}  # the former front image is gone
    assert sorted(jeans["jeans-slim-front-2.png"]["types"]) == ["image", "small_image", "thumbnail"]
    assert jeans["jeans-slim-back.png"]["id"] == back_id  # untouched
    assert p.sandbox("stats")["media_bytes"] - bytes_before == len(new_picture)  # only the new image uploaded
    assert p.media.downloads(new_code) == 1
    item = p.magento("products/jeans-slim")
    assert links(item, "crosssell") == {} and links(item, "related") == {"bag_tote": None}

    # The target appears in Akeneo: once delivered, the waiting link follows.
    with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
        hat = _simple("rain-hat", "accessories", "Rain hat", "Chapeau de pluie", "Regenhut", categories=["accessories"])
        seeder.upsert("products-uuid", hat["uuid"], hat, created=True)
    ok(p.iec("sync", "--full"))
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    assert links(p.magento("products/rain-jacket"), "related") == {"rain-hat": None}

    # Everything delivered again with nothing changed: no image uploaded, nothing downloaded from Akeneo.
    bytes_before, downloads_before = p.sandbox("stats")["media_bytes"], p.media.stats()["downloads"]
    replayed = json.loads(ok(p.iec("integrations", "replay", "shop", "--json")))
    assert replayed["jobs"] > 20
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    jobs = json.loads(ok(p.iec("jobs", "--json")))  # every job since the start, the replay's included
    assert {j["status"] for j in jobs} == {"success"}, [j for j in jobs if j["status"] != "success"]
    assert p.sandbox("stats")["media_bytes"] == bytes_before
    assert p.media.stats()["downloads"] == downloads_before
    assert len(gallery(p, "jeans-slim")) == 2 and p.sandbox("stats")["schema_errors"] == 0
