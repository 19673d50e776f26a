"""What a shop needs to sell, as the magento2 driver plans it (pure): websites fed by channels, website
prices, stock, the media gallery, and the configuration that says so."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from drivers.magento2.config import Magento2Config, StockConfig
from drivers.magento2.mapping import (
    GLOBAL,
    AttributeInfo,
    MappingSettings,
    digest,
    plan_scope,
    product_scopes,
    stock_item,
)
from drivers.magento2.media import DEFAULT_ROLES, plan_media, wanted_images
from drivers.magento2.site import Site

pytestmark = pytest.mark.fast

TYPES = {
    "name": "pim_catalog_text",
    "description": "pim_catalog_textarea",
    "price": "pim_catalog_price_collection",
    "qty": "pim_catalog_number",
    "main_image": "pim_catalog_image",
    "back_image": "pim_catalog_image",
    "packshots": "pim_catalog_asset_collection",
}
BUILTIN = {"name", "description", "price"}


class Refs:
    def attribute(self, code: str) -> AttributeInfo | None:
        if code not in TYPES:
            return None
        skipped = TYPES[code] in ("pim_catalog_image", "pim_catalog_asset_collection")
        family = "packshot_family" if code == "packshots" else None
        return AttributeInfo(code, code, TYPES[code], 100, skipped=skipped, reference_data_name=family)

    def option_id(self, attribute: str, option: str) -> str | None:
        return None

    def category_id(self, code: str) -> int | None:
        return None

    def attribute_set_id(self, family: str) -> int | None:
        return 9

    def family_image(self, family: str | None) -> str | None:
        return "main_image" if family == "clothing" else None


def value(attribute: str, data: Any, locale: str | None = None, channel: str | None = None) -> dict[str, Any]:
    return {"attribute_code": attribute, "locale": locale, "channel": channel, "value": data}


TWO_WEBSITES = MappingSettings(
    channel="ecommerce",
    currency="EUR",
    default_locale="en_US",
    store_views={"en_US": "default", "fr_FR": "fr"},
    more_store_views={"b2b": "en_US"},
    website_ids=(1, 2),
    channel_websites={"ecommerce": (1,), "b2b": (2,)},
    store_websites={"default": 1, "fr": 1, "b2b": 2},
    website_currencies={1: "EUR", 2: "USD"},
)
PRODUCT = {
    "identifier": "tee",
    "family": "clothing",
    "values": [
        value("name", "Tee", "en_US"),
        value("name", "T-shirt", "fr_FR"),
        value("description", "For everyone", "en_US", "ecommerce"),
        value("description", "Bulk packs of 50", "en_US", "b2b"),
        value("description", "Pour tous", "fr_FR", "ecommerce"),
        value("price", [{"amount": "20", "currency": "EUR"}, {"amount": "22", "currency": "USD"}]),
    ],
}


def test_each_website_gets_its_channels_values_and_every_website_has_the_product():
    scopes = product_scopes(PRODUCT, "simple", TWO_WEBSITES, Refs())
    assert scopes[GLOBAL]["description"] == "For everyone"
    assert scopes[GLOBAL]["website_ids"] == [1, 2]
    assert scopes["fr"] == {"name": "T-shirt", "description": "Pour tous", "url_key": "t-shirt-tee"}
    # The b2b view shares the global locale: it gets only what its channel says differently.
    assert scopes["b2b"] == {"description": "Bulk packs of 50"}
    assert "default" not in scopes  # same locale and channel as the global scope: nothing of its own


def test_with_global_price_scope_no_store_view_gets_a_price():
    scopes = product_scopes(PRODUCT, "simple", TWO_WEBSITES, Refs())
    assert scopes[GLOBAL]["price"] == 20.0
    assert all("price" not in fields for scope, fields in scopes.items() if scope != GLOBAL)


def test_with_website_price_scope_each_website_gets_its_price_in_its_base_currency_through_one_view():
    settings = MappingSettings(**{**TWO_WEBSITES.__dict__, "price_scope": "website"})
    assert settings.price_stores == {"b2b": 2, "default": 1}
    scopes = product_scopes(PRODUCT, "simple", settings, Refs())
    assert scopes[GLOBAL]["price"] == 20.0
    assert scopes["default"] == {"price": 20.0}
    assert scopes["b2b"]["price"] == 22.0
    assert "price" not in scopes["fr"]


def test_the_site_names_every_problem_of_the_configuration_at_once():
    settings = MappingSettings(**{**TWO_WEBSITES.__dict__, "price_scope": "website", "website_ids": (1, 2, 3),
                                  "more_store_views": {"b2b": "en_US", "gone": "de_DE"}})  # fmt: skip
    site = Site(store_ids={"default": 1, "fr": 2, "b2b": 3}, store_websites={"default": 1, "fr": 1, "b2b": 2})
    problems = site.problems(settings)
    assert any("gone" in p for p in problems)
    assert any("website(s) 3 have no store view in Magento" in p for p in problems)
    assert any("price_scope website" in p and "3" in p for p in problems)


def test_stock_is_given_to_new_products_or_follows_the_quantity_attribute():
    fixed = MappingSettings("ecommerce", "EUR", "en_US", stock=StockConfig(default_qty=5, is_in_stock=True))
    assert stock_item(PRODUCT, "simple", fixed, new=True) == {"qty": 5.0, "is_in_stock": True}
    assert stock_item(PRODUCT, "simple", fixed, new=False) is None
    assert stock_item(PRODUCT, "configurable", fixed, new=True) == {"is_in_stock": True}
    by_attribute = MappingSettings("ecommerce", "EUR", "en_US", stock=StockConfig(qty_attribute="qty"))
    counted = {**PRODUCT, "values": [*PRODUCT["values"], value("qty", "0")]}
    assert stock_item(counted, "simple", by_attribute, new=False) == {"qty": 0.0, "is_in_stock": False}
    msi = MappingSettings("ecommerce", "EUR", "en_US", stock=StockConfig(msi_source_code="warehouse"))
    assert stock_item(PRODUCT, "simple", msi, new=True) is None  # source items instead
    assert stock_item(PRODUCT, "simple", MappingSettings("ecommerce", "EUR", "en_US"), new=True) is None
    nothing = MappingSettings("ecommerce", "EUR", "en_US", stock=StockConfig())
    assert stock_item(PRODUCT, "simple", nothing, new=True) == {"qty": 0.0, "is_in_stock": False}


IMAGES = {
    **PRODUCT,
    "values": [
        *PRODUCT["values"],
        value("main_image", "a/b/c/d/abcd_front.png"),
        value("back_image", "e/f/0/1/ef01_back.png"),
        value("packshots", ["shot_zeta", "shot_alpha"]),  # a collection's order is Akeneo's: the first is main
    ],
}


def test_without_image_roles_the_familys_image_attribute_gets_the_main_roles_else_the_first_image():
    settings = MappingSettings("ecommerce", "EUR", "en_US", store_views={"fr_FR": "fr"})
    scopes = product_scopes(IMAGES, "simple", settings, Refs())
    images = wanted_images(IMAGES, scopes, settings, Refs())
    assert [(i.key, i.file_code, i.roles) for i in images] == [
        ("back_image", "e/f/0/1/ef01_back.png", ()),
        ("main_image", "a/b/c/d/abcd_front.png", DEFAULT_ROLES),  # clothing's attribute_as_image
    ]  # asset collections only when `asset_images` lists them
    assert images[0].labels == {GLOBAL: "Tee", "fr": "T-shirt"}
    no_family = {**IMAGES, "family": None}
    assert [i.roles for i in wanted_images(no_family, scopes, settings, Refs())] == [DEFAULT_ROLES, ()]


def test_image_roles_and_asset_collections_follow_the_configuration():
    settings = MappingSettings("ecommerce", "EUR", "en_US", image_roles={"main_image": ("image", "thumbnail"),
                               "packshots": ("small_image",)}, asset_images=("packshots",))  # fmt: skip
    images = wanted_images(IMAGES, {GLOBAL: {"name": "Tee"}}, settings, Refs())
    assert [(i.key, i.asset, i.roles) for i in images] == [
        ("back_image", None, ()),
        ("main_image", None, ("image", "thumbnail")),
        ("packshots/shot_zeta", ("packshot_family", "shot_zeta"), ("small_image",)),
        ("packshots/shot_alpha", ("packshot_family", "shot_alpha"), ()),
    ]


def test_an_unchanged_gallery_plans_nothing_a_changed_file_or_a_removed_image_plans_work():
    settings = MappingSettings("ecommerce", "EUR", "en_US")
    images = wanted_images(IMAGES, {GLOBAL: {"name": "Tee"}}, settings, Refs())
    assert plan_media(images, {}) is not None
    sent = {
        i.key: {"source": i.source, "sha256": "x", "entry_id": n, "roles": list(i.roles), "position": i.position,
                "labels": dict(i.labels)}
        for n, i in enumerate(images, start=1)
    }  # fmt: skip
    assert plan_media(images, {"media": sent}) is None
    replaced = {**sent, "main_image": {**sent["main_image"], "source": "old/code.png"}}
    assert plan_media(images, {"media": replaced}) is not None
    extra = {**sent, "gone_image": {"source": "z", "entry_id": 9}}
    assert plan_media(images, {"media": extra}).remove == ["gone_image"]


def config(**fields: Any) -> dict[str, Any]:
    return {"base_url": "https://shop.example.com", "token": "t", **fields}


def test_the_configuration_names_every_problem_of_the_new_fields():
    with pytest.raises(ValidationError) as raised:
        Magento2Config.model_validate(config(
            channel_websites={"b2b": [2], "print": [2]},
            image_roles={"main_image": ["image"], "back_image": ["image", "hero"]},
            file_attributes="url",
            association_map={"UPSELL": "upsale"},
            stock={"default_qty": -1},
        ))  # fmt: skip
    text = str(raised.value)
    for expected in ("website 2 is fed by two channels", "hero", "upsale", "default_qty"):
        assert expected in text, expected


def test_channel_websites_must_feed_the_global_channel_and_file_urls_need_a_base():
    with pytest.raises(ValidationError) as raised:
        Magento2Config.model_validate(config(channel_websites={"b2b": [2]}, file_attributes="url"))
    assert "must map `channel` (ecommerce)" in str(raised.value)
    assert "file_base_url" in str(raised.value)
    ok = Magento2Config.model_validate(config(channel_websites={"ecommerce": [1], "b2b": [2, 3]}))
    assert ok.websites == [1, 2, 3]
    assert Magento2Config.model_validate(config()).websites == [1]  # website_ids, as before


def test_iec_integrations_validate_names_every_problem_of_the_new_fields(tmp_path):
    shop = {"name": "shop", "driver": "magento2", "configuration": {
        "base_url": "https://shop.example.com", "token": {"env": "SHOP_TOKEN"},
        "channel_websites": {"mobile": [2]}, "image_roles": {"main_image": ["hero"]},
        "association_map": {"UPSELL": "upsale"}, "stock": {"default_qty": -1},
    }}  # fmt: skip
    (tmp_path / "integrations.yaml").write_text(yaml.safe_dump({"integrations": [shop]}))
    env = {"PATH": "/usr/bin:/bin", "IEC_INTEGRATIONS": str(tmp_path / "integrations.yaml"),
           "IEC_DATABASE_URL": f"sqlite:///{tmp_path}/iec.db", "SHOP_TOKEN": "canary-7f3a"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "integrations", "validate"], env=env,
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    for expected in ("configuration.image_roles", "hero", "configuration.association_map", "upsale",
                     "configuration.stock.default_qty"):  # fmt: skip
        assert expected in result.stderr, (expected, result.stderr)
    assert "canary-7f3a" not in result.stdout + result.stderr


def test_a_website_price_that_disappears_is_not_replaced_by_the_global_price_in_another_currency():
    change = plan_scope("b2b", {"description": "x"}, {"price": digest(22.0), "description": digest("x")},
                        (), {"price": 20.0})  # fmt: skip
    assert "price" not in change.send
    names = plan_scope("fr", {}, {"name": digest("Tee FR")}, (), {"name": "Tee"})
    assert names.send == {"name": "Tee"}  # other fields still fall back to the global value
