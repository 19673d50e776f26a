"""A realistic sample catalog, written into an Akeneo(-compatible) PIM through its REST API.

Used by `make demo`, the tests and the benchmarks. Three locales, two channels, prices in two
currencies, a metric, selects and multiselects, a two-level and a one-level product model with
variants, a category tree, a product without family and a disabled product.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

LOCALES = ("en_US", "fr_FR", "de_DE")
CURRENCIES = ("EUR", "USD")
CHANNELS = {
    "ecommerce": {"locales": list(LOCALES), "currencies": list(CURRENCIES), "category_tree": "master"},
    "mobile": {"locales": ["en_US", "fr_FR"], "currencies": ["EUR"], "category_tree": "master"},
}
_NS = uuid.UUID("1b2e5d7c-1f0a-4a52-9a17-0c0ffee0cafe")
# What Akeneo stamps `created` and `updated` on itself; the seeder sends them (akeneo-mock-server keeps what it gets).
STAMPED_PATHS = ("products", "products-uuid", "product-models")


def akeneo_time(moment: datetime | None = None) -> str:
    """A time as Akeneo writes it: ISO 8601, whole seconds, with its offset ("2026-12-03T15:20:01+00:00")."""
    return (moment or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def product_uuid(identifier: str) -> str:
    return str(uuid.uuid5(_NS, identifier))


def _labels(en: str, fr: str, de: str) -> dict[str, str]:
    return {"en_US": en, "fr_FR": fr, "de_DE": de}


ATTRIBUTES: list[dict[str, Any]] = [
    {"code": "sku", "type": "pim_catalog_identifier", "group": "general", "unique": True,
     "labels": _labels("SKU", "SKU", "SKU"), "is_main_identifier": True},
    {"code": "name", "type": "pim_catalog_text", "group": "general", "localizable": True,
     "labels": _labels("Name", "Nom", "Name")},
    {"code": "description", "type": "pim_catalog_textarea", "group": "marketing", "localizable": True,
     "scopable": True, "labels": _labels("Description", "Description", "Beschreibung")},
    {"code": "price", "type": "pim_catalog_price_collection", "group": "marketing", "decimals_allowed": True,
     "labels": _labels("Price", "Prix", "Preis")},
    {"code": "weight", "type": "pim_catalog_metric", "group": "technical", "metric_family": "Weight",
     "default_metric_unit": "KILOGRAM", "decimals_allowed": True, "labels": _labels("Weight", "Poids", "Gewicht")},
    {"code": "color", "type": "pim_catalog_simpleselect", "group": "general",
     "labels": _labels("Color", "Couleur", "Farbe")},
    {"code": "size", "type": "pim_catalog_simpleselect", "group": "general",
     "labels": _labels("Size", "Taille", "Größe")},
    {"code": "material", "type": "pim_catalog_multiselect", "group": "technical",
     "labels": _labels("Material", "Matière", "Material")},
    {"code": "ean", "type": "pim_catalog_text", "group": "technical", "labels": _labels("EAN", "EAN", "EAN")},
    {"code": "waterproof", "type": "pim_catalog_boolean", "group": "technical",
     "labels": _labels("Waterproof", "Imperméable", "Wasserdicht")},
    {"code": "release_date", "type": "pim_catalog_date", "group": "marketing",
     "labels": _labels("Release date", "Date de sortie", "Erscheinungsdatum")},
    {"code": "stock_qty", "type": "pim_catalog_number", "group": "technical", "decimals_allowed": False,
     "negative_allowed": False, "labels": _labels("Stock", "Stock", "Bestand")},
]  # fmt: skip

OPTIONS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "color": [
        ("red", _labels("Red", "Rouge", "Rot")),
        ("blue", _labels("Blue", "Bleu", "Blau")),
        ("green", _labels("Green", "Vert", "Grün")),
        ("black", _labels("Black", "Noir", "Schwarz")),
    ],
    "size": [(s, _labels(s, s, s)) for s in ("s", "m", "l", "xl")],
    "material": [
        ("cotton", _labels("Cotton", "Coton", "Baumwolle")),
        ("polyester", _labels("Polyester", "Polyester", "Polyester")),
        ("wool", _labels("Wool", "Laine", "Wolle")),
        ("linen", _labels("Linen", "Lin", "Leinen")),
    ],
}

FAMILIES: list[dict[str, Any]] = [
    {
        "code": "clothing",
        "attribute_as_label": "name",
        "attributes": ["sku", "name", "description", "price", "weight", "color", "size", "material", "ean",
                       "release_date", "stock_qty"],
        "attribute_requirements": {"ecommerce": ["sku", "name", "price"], "mobile": ["sku", "name"]},
        "labels": _labels("Clothing", "Vêtements", "Kleidung"),
    },
    {
        "code": "accessories",
        "attribute_as_label": "name",
        "attributes": ["sku", "name", "description", "price", "weight", "color", "material", "waterproof",
                       "stock_qty", "ean"],
        "attribute_requirements": {"ecommerce": ["sku", "name"], "mobile": ["sku"]},
        "labels": _labels("Accessories", "Accessoires", "Zubehör"),
    },
]  # fmt: skip

FAMILY_VARIANTS: dict[str, list[dict[str, Any]]] = {
    "clothing": [
        {
            "code": "clothing_color_size",
            "labels": _labels("By color and size", "Par couleur et taille", "Nach Farbe und Größe"),
            "variant_attribute_sets": [
                {"level": 1, "axes": ["color"], "attributes": ["color"]},
                {"level": 2, "axes": ["size"], "attributes": ["size", "sku", "ean", "weight", "stock_qty"]},
            ],
        }
    ],
    "accessories": [
        {
            "code": "accessories_color",
            "labels": _labels("By color", "Par couleur", "Nach Farbe"),
            "variant_attribute_sets": [
                {"level": 1, "axes": ["color"], "attributes": ["color", "sku", "stock_qty", "ean"]},
            ],
        }
    ],
}

CATEGORIES: list[dict[str, Any]] = [
    {"code": "master", "parent": None, "labels": _labels("Catalog", "Catalogue", "Katalog")},
    {"code": "clothing", "parent": "master", "labels": _labels("Clothing", "Vêtements", "Kleidung")},
    {"code": "tshirts", "parent": "clothing", "labels": _labels("T-shirts", "T-shirts", "T-Shirts")},
    {"code": "pants", "parent": "clothing", "labels": _labels("Pants", "Pantalons", "Hosen")},
    {"code": "accessories", "parent": "master", "labels": _labels("Accessories", "Accessoires", "Zubehör")},
    {"code": "bags", "parent": "accessories", "labels": _labels("Bags", "Sacs", "Taschen")},
    {"code": "sale", "parent": "master", "labels": _labels("Sale", "Soldes", "Angebote")},
]


def v(data: Any, locale: str | None = None, scope: str | None = None) -> dict[str, Any]:
    return {"locale": locale, "scope": scope, "data": data}


def names(en: str, fr: str, de: str) -> list[dict[str, Any]]:
    return [v(en, "en_US"), v(fr, "fr_FR"), v(de, "de_DE")]


def prices(eur: str, usd: str) -> list[dict[str, Any]]:
    return [v([{"amount": eur, "currency": "EUR"}, {"amount": usd, "currency": "USD"}])]


def _descriptions(en: str) -> list[dict[str, Any]]:
    return [
        v(f"{en} (web)", "en_US", "ecommerce"),
        v(f"{en} (FR web)", "fr_FR", "ecommerce"),
        v(f"{en} (DE web)", "de_DE", "ecommerce"),
        v(f"{en} (mobile)", "en_US", "mobile"),
    ]


PRODUCT_MODELS: list[dict[str, Any]] = [
    {
        "code": "tshirt_classic",
        "family": "clothing",
        "family_variant": "clothing_color_size",
        "categories": ["tshirts"],
        "values": {
            "name": names("Classic T-shirt", "T-shirt classique", "Klassisches T-Shirt"),
            "description": _descriptions("A classic cotton T-shirt"),
            "price": prices("19.99", "22.50"),
            "material": [v(["cotton"])],
            "release_date": [v("2024-03-01T00:00:00+00:00")],
        },
    },
    {"code": "tshirt_classic_red", "family": "clothing", "family_variant": "clothing_color_size",
     "parent": "tshirt_classic", "values": {"color": [v("red")]}},
    {"code": "tshirt_classic_blue", "family": "clothing", "family_variant": "clothing_color_size",
     "parent": "tshirt_classic", "categories": ["sale"], "values": {"color": [v("blue")]}},
    {
        "code": "bag_tote",
        "family": "accessories",
        "family_variant": "accessories_color",
        "categories": ["bags"],
        "values": {
            "name": names("Tote bag", "Sac cabas", "Einkaufstasche"),
            "description": _descriptions("A sturdy tote bag"),
            "price": prices("35.00", "39.00"),
            "material": [v(["linen", "cotton"])],
            "waterproof": [v(False)],
            "weight": [v({"amount": "0.4000", "unit": "KILOGRAM"})],
        },
    },
]  # fmt: skip


def _variant(identifier: str, parent: str, family: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "uuid": product_uuid(identifier), "identifier": identifier, "family": family, "parent": parent,
        "enabled": True, "values": {"sku": [v(identifier)], **values},
    }  # fmt: skip


def _simple(identifier: str, family: str | None, en: str, fr: str, de: str, **extra: Any) -> dict[str, Any]:
    values = {"sku": [v(identifier)], "name": names(en, fr, de), **extra.pop("values", {})}
    return {"uuid": product_uuid(identifier), "identifier": identifier, "family": family, "enabled": True,
            "categories": extra.pop("categories", []), "values": values, **extra}  # fmt: skip


PRODUCTS: list[dict[str, Any]] = [
    _variant("tshirt-classic-red-s", "tshirt_classic_red", "clothing",
             {"size": [v("s")], "ean": [v("4006381333931")], "weight": [v({"amount": "0.2", "unit": "KILOGRAM"})],
              "stock_qty": [v(12)]}),
    _variant("tshirt-classic-red-m", "tshirt_classic_red", "clothing",
             {"size": [v("m")], "ean": [v("4006381333932")], "weight": [v({"amount": "0.22", "unit": "KILOGRAM"})],
              "stock_qty": [v(7)]}),
    _variant("tshirt-classic-blue-s", "tshirt_classic_blue", "clothing",
             {"size": [v("s")], "ean": [v("4006381333933")], "weight": [v({"amount": "0.2", "unit": "KILOGRAM"})],
              "stock_qty": [v(3)]}),
    _variant("tshirt-classic-blue-m", "tshirt_classic_blue", "clothing",
             {"size": [v("m")], "ean": [v("4006381333934")], "weight": [v({"amount": "0.22", "unit": "KILOGRAM"})],
              "stock_qty": [v(0)]}),
    _variant("bag-tote-black", "bag_tote", "accessories", {"color": [v("black")], "stock_qty": [v(40)]}),
    _variant("bag-tote-green", "bag_tote", "accessories", {"color": [v("green")], "stock_qty": [v(15)]}),
    _simple("jeans-slim", "clothing", "Slim jeans", "Jean slim", "Schmale Jeans", categories=["pants", "sale"],
            values={"description": _descriptions("Slim fit jeans"), "price": prices("59.90", "64.00"),
                    "weight": [v({"amount": "650", "unit": "GRAM"})], "color": [v("blue")], "size": [v("m")],
                    "material": [v(["cotton", "polyester"])], "ean": [v("4006381333940")], "stock_qty": [v(25)]}),
    _simple("rain-jacket", "accessories", "Rain jacket", "Veste de pluie", "Regenjacke", categories=["accessories"],
            values={"price": prices("89.00", "95.00"), "waterproof": [v(True)], "color": [v("green")],
                    "material": [v(["polyester"])], "weight": [v({"amount": "0.5", "unit": "KILOGRAM"})]}),
    _simple("gift-card", None, "Gift card", "Carte cadeau", "Geschenkkarte", categories=["sale"]),
    _simple("old-jacket", "clothing", "Old jacket", "Vieille veste", "Alte Jacke", enabled=False,
            categories=["clothing"], values={"price": prices("10.00", "11.00"), "color": [v("black")]}),
]  # fmt: skip


class AkeneoSeeder:
    """Writes catalog data through the REST API of an Akeneo-compatible server.

    `stamp_updated`: products and product models get `updated` (and, when `seed` creates them, `created`)
    set to now, as Akeneo stamps them itself; akeneo-mock-server stores only what the client sends, and
    an incremental sync or a partition (filtered on `updated`) finds nothing without it. A time the
    caller puts in the body is kept. Off by default, so fixtures keep the catalog they always had.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str = "demo",
        secret: str = "demo",
        username: str = "demo",
        password: str = "demo",
        headers: dict[str, str] | None = None,
        timeout: float = 60,
        stamp_updated: bool = False,
        clock: Callable[[], datetime] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.stamp_updated = stamp_updated
        self.clock = clock or (lambda: datetime.now(UTC))
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, headers=headers or {}, transport=transport
        )
        token = self.http.post(
            "/api/oauth/v1/token",
            json={"grant_type": "password", "username": username, "password": password},
            auth=(client_id, secret),
        )
        token.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> AkeneoSeeder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            raise RuntimeError(
                f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
            )
        return response

    def stamp(self, body: dict[str, Any], created: bool = False) -> dict[str, Any]:
        """`body` with `updated` (and `created` when `created`) as Akeneo would stamp them, if stamping."""
        if not self.stamp_updated:
            return body
        now = akeneo_time(self.clock())
        stamps = {"created": now, "updated": now} if created else {"updated": now}
        return {**stamps, **body}

    def upsert(self, path: str, code: str, body: dict[str, Any], created: bool = False) -> None:
        if path in STAMPED_PATHS:
            body = self.stamp(body, created)
        self._check(self.http.patch(f"/api/rest/v1/{path}/{code}", json=body))

    def create(self, path: str, body: dict[str, Any]) -> None:
        self._check(self.http.post(f"/api/rest/v1/{path}", json=body))

    def delete(self, path: str) -> None:
        self._check(self.http.delete(f"/api/rest/v1/{path}"))

    def patch_products(self, products: Iterable[dict[str, Any]], batch: int = 100, created: bool = False) -> int:
        """Multi-patch (`application/vnd.akeneo.collection+json`), `batch` products a request."""
        sent = 0
        for chunk in _batches((self.stamp(p, created) for p in products), batch):
            body = "\n".join(json.dumps(p) for p in chunk)
            response = self._check(
                self.http.patch(
                    "/api/rest/v1/products",
                    content=body,
                    headers={"Content-Type": "application/vnd.akeneo.collection+json"},
                )
            )
            errors = [
                line for line in response.text.splitlines() if line and json.loads(line).get("status_code", 0) >= 400
            ]
            if errors:
                raise RuntimeError(f"multi-patch refused lines: {errors[:3]}")
            sent += len(chunk)
        return sent

    def seed_structure(self) -> None:
        for code in LOCALES:
            self.upsert("locales", code, {"code": code, "enabled": True})
        for code in CURRENCIES:
            self.upsert("currencies", code, {"code": code, "enabled": True})
        for code, channel in CHANNELS.items():
            self.upsert("channels", code, {"code": code, **channel})
        for attribute in ATTRIBUTES:
            self.upsert("attributes", attribute["code"], attribute)
        for attribute, options in OPTIONS.items():
            for order, (code, labels) in enumerate(options):
                self.upsert(f"attributes/{attribute}/options", code,
                            {"code": code, "attribute": attribute, "sort_order": order, "labels": labels})  # fmt: skip
        for family in FAMILIES:
            self.upsert("families", family["code"], family)
        for family, variants in FAMILY_VARIANTS.items():
            for variant in variants:
                self.upsert(f"families/{family}/variants", variant["code"], {**variant, "family": family})
        for category in CATEGORIES:
            self.upsert("categories", category["code"], category)

    def seed(self) -> None:
        """The whole sample catalog."""
        self.seed_structure()
        for model in PRODUCT_MODELS:
            self.upsert("product-models", model["code"], model, created=True)
        self.patch_products(PRODUCTS, created=True)


def generated_products(count: int, start: int = 0, updated: str | None = None) -> Iterator[dict[str, Any]]:
    """`count` simple clothing products with about a dozen values each (benchmarks)."""
    colors = [c for c, _ in OPTIONS["color"]]
    sizes = [s for s, _ in OPTIONS["size"]]
    materials = [m for m, _ in OPTIONS["material"]]
    for n in range(start, start + count):
        identifier = f"gen-{n:07d}"
        product = _simple(
            identifier, "clothing", f"Generated product {n}", f"Produit généré {n}", f"Erzeugtes Produkt {n}",
            categories=["clothing", "tshirts" if n % 2 else "pants"],
            values={
                "description": _descriptions(f"Generated product number {n}"),
                "price": prices(f"{10 + n % 90}.{n % 100:02d}", f"{12 + n % 90}.{n % 100:02d}"),
                "weight": [v({"amount": f"{100 + n % 900}", "unit": "GRAM"})],
                "color": [v(colors[n % len(colors)])], "size": [v(sizes[n % len(sizes)])],
                "material": [v(sorted({materials[n % 4], materials[(n // 4) % 4]}))],
                "ean": [v(f"{4000000000000 + n}")], "stock_qty": [v(n % 50)],
            },
        )  # fmt: skip
        if updated:
            product["updated"] = updated
        yield product


def _batches(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
