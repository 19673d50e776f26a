"""A realistic sample catalog, written into an Akeneo(-compatible) PIM through its REST API.

Used by `make demo`, the tests and the benchmarks. Three locales, two channels, prices in two
currencies, a metric, selects and multiselects, a two-level and a one-level product model with
variants, a category tree, a product without family and a disabled product.

`AkeneoSeeder.seed_shop()` adds, after `seed()`, what makes products a shop can sell: image and file
attributes with small generated PNGs (and a PDF) uploaded through Akeneo's media API, association
types (RELATED, UPSELL, X_SELL and the quantified PACK) with associations of each kind, a bundle
product grouping others with quantities, and a category whose French label its sibling already has.
`seed()` alone stays the catalog the tests count.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx

from devtools.png import png

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


# --- the shop extras (`AkeneoSeeder.seed_shop`) -----------------------------------------------------

SHOP_ATTRIBUTES: list[dict[str, Any]] = [
    {"code": "main_image", "type": "pim_catalog_image", "group": "marketing", "allowed_extensions": ["png", "jpg"],
     "labels": _labels("Main image", "Image principale", "Hauptbild")},
    {"code": "back_image", "type": "pim_catalog_image", "group": "marketing", "allowed_extensions": ["png", "jpg"],
     "labels": _labels("Back view", "Vue de dos", "Rückansicht")},
    {"code": "care_sheet", "type": "pim_catalog_file", "group": "technical", "allowed_extensions": ["pdf"],
     "labels": _labels("Care sheet", "Fiche d'entretien", "Pflegehinweise")},
]  # fmt: skip

ASSOCIATION_TYPES: list[dict[str, Any]] = [
    {"code": "RELATED", "labels": _labels("Related", "Associé", "Verwandt"), "is_quantified": False},
    {"code": "UPSELL", "labels": _labels("Upsell", "Montée en gamme", "Upselling"), "is_quantified": False},
    {"code": "X_SELL", "labels": _labels("Cross sell", "Vente croisée", "Cross-Selling"), "is_quantified": False},
    {"code": "PACK", "labels": _labels("Pack", "Lot", "Paket"), "is_quantified": True},
]

# `bags` is "Sacs" in French too: two sibling categories whose French URL keys must differ.
SHOP_CATEGORIES: list[dict[str, Any]] = [
    {"code": "backpacks", "parent": "accessories", "labels": _labels("Backpacks", "Sacs", "Rucksäcke")},
]

BUNDLE = "starter-kit"  # a product whose quantified PACK association makes a Magento grouped product
PACKED: dict[str, int] = {"jeans-slim": 1, "tshirt-classic-red-m": 2, "bag-tote-black": 1}

SHOP_PRODUCTS: list[dict[str, Any]] = [
    _simple(BUNDLE, "accessories", "Starter kit", "Kit de départ", "Starterset", categories=["sale"],
            values={"description": _descriptions("Jeans, two T-shirts and a tote bag"),
                    "price": prices("109.00", "119.00")},
            quantified_associations={"PACK": {
                "products": [{"uuid": product_uuid(sku), "quantity": qty} for sku, qty in PACKED.items()],
                "product_models": []}}),
]  # fmt: skip


def _associated(products: Iterable[str] = (), models: Iterable[str] = ()) -> dict[str, list[str]]:
    return {"products": [product_uuid(p) for p in products], "product_models": list(models), "groups": []}


# identifier -> associations (products-uuid API: target products by uuid, models by code)
SHOP_ASSOCIATIONS: dict[str, dict[str, Any]] = {
    "jeans-slim": {
        "RELATED": _associated(models=["bag_tote"]),
        "UPSELL": _associated(models=["tshirt_classic"]),
        "X_SELL": _associated(["gift-card"]),
    },
}
# product model code -> associations (a root model's links are its configurable's)
SHOP_MODEL_ASSOCIATIONS: dict[str, dict[str, Any]] = {"tshirt_classic": {"X_SELL": _associated(["jeans-slim"])}}


@dataclass(frozen=True)
class ShopFile:
    """A file `seed_shop` uploads: whose value (a product's identifier or a model's code), which attribute."""

    owner: str  # "product" or "product_model"
    code: str
    attribute: str
    filename: str
    content: bytes
    mime_type: str = "image/png"


def picture(rgb: tuple[int, int, int], tag: str = "") -> bytes:
    """A 48x48 product picture of ~7 KB (noise keeps it from compressing to nothing)."""
    return png(48, 48, rgb, noise=24, tag=tag)


CARE_SHEET = (b"%PDF-1.4\n% IEC sample care sheet\n1 0 obj << /Type /Catalog >> endobj\n"
              b"Wash at 30 degrees. Do not tumble dry.\n%%EOF\n")  # fmt: skip

SHOP_FILES: list[ShopFile] = [
    ShopFile("product", "jeans-slim", "main_image", "jeans-slim-front.png", picture((40, 60, 140))),
    ShopFile("product", "jeans-slim", "back_image", "jeans-slim-back.png", picture((30, 45, 110))),
    ShopFile("product", "jeans-slim", "care_sheet", "jeans-slim-care.pdf", CARE_SHEET, "application/pdf"),
    ShopFile("product", BUNDLE, "main_image", "starter-kit.png", picture((220, 180, 40))),
    ShopFile("product_model", "tshirt_classic", "main_image", "tshirt-classic.png", picture((200, 30, 30))),
    ShopFile("product_model", "bag_tote", "main_image", "bag-tote.png", picture((120, 100, 60))),
]


@dataclass
class ShopSeeded:
    """What `seed_shop` wrote: Akeneo's file code per (owner code, attribute)."""

    files: dict[tuple[str, str], str] = field(default_factory=dict)

    def summary(self) -> str:
        images = sum(1 for (_, attribute) in self.files if attribute.endswith("_image"))
        associated = len(SHOP_ASSOCIATIONS) + len(SHOP_PRODUCTS) + len(SHOP_MODEL_ASSOCIATIONS)
        return (
            f"{len(SHOP_ATTRIBUTES)} attributes (2 images, 1 file), {len(ASSOCIATION_TYPES)} association types, "
            f"{len(SHOP_CATEGORIES)} category, {len(SHOP_PRODUCTS)} bundle product, {images} images and "
            f"{len(self.files) - images} file uploaded, associations on {associated} products and models"
        )


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

    def upload_media(
        self,
        owner: str,
        code: str,
        attribute: str,
        filename: str,
        content: bytes,
        mime_type: str = "image/png",
        media_url: str | None = None,
        locale: str | None = None,
        scope: str | None = None,
    ) -> str:
        """`POST media-files` (multipart `product` or `product_model` JSON + `file`), which makes the new
        file the value of `attribute` as Akeneo does; answers the file's code (from `Location`). `media_url`:
        where media files are served (devtools.akeneo_media's layer), when it is not this seeder's server."""
        if owner == "product":
            target: dict[str, Any] = {"uuid": product_uuid(code)}
        elif owner == "product_model":
            target = {"code": code}
        else:
            raise ValueError(f"owner is product or product_model, not {owner!r}")
        target.update({"attribute": attribute, "scope": scope, "locale": locale})
        url = f"{(media_url or str(self.http.base_url)).rstrip('/')}/api/rest/v1/media-files"
        response = self._check(self.http.post(
            url, files={owner: (None, json.dumps(target), "application/json"), "file": (filename, content, mime_type)}
        ))  # fmt: skip
        location = response.headers["Location"]
        return unquote(location.split("/api/rest/v1/media-files/", 1)[1])

    def seed_shop(self, media_url: str | None = None) -> ShopSeeded:
        """After `seed()`: image and file attributes (in both families) with their files uploaded, association
        types and associations (a quantified PACK making a bundle), a category sharing its sibling's French
        label. `media_url`: the media layer (akeneo-mock-server alone stubs uploads)."""
        for attribute in SHOP_ATTRIBUTES:
            self.upsert("attributes", attribute["code"], attribute)
        extra = [a["code"] for a in SHOP_ATTRIBUTES]
        for family in FAMILIES:
            self.upsert("families", family["code"], {"code": family["code"],
                                                     "attributes": family["attributes"] + extra})  # fmt: skip
        for kind in ASSOCIATION_TYPES:
            self.upsert("association-types", kind["code"], kind)
        for category in SHOP_CATEGORIES:
            self.upsert("categories", category["code"], category)
        for product in SHOP_PRODUCTS:
            self.upsert("products-uuid", product["uuid"], product, created=True)
        for identifier, associations in SHOP_ASSOCIATIONS.items():
            self.upsert("products-uuid", product_uuid(identifier), {"associations": associations})
        for code, associations in SHOP_MODEL_ASSOCIATIONS.items():
            self.upsert("product-models", code, {"associations": associations})
        seeded = ShopSeeded()
        for f in SHOP_FILES:
            seeded.files[(f.code, f.attribute)] = self.upload_media(
                f.owner, f.code, f.attribute, f.filename, f.content, f.mime_type, media_url
            )
        return seeded


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
