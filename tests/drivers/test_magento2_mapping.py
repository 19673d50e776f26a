"""The pure payload mapping of the magento2 driver: value formats, scopes, url keys, what an update sends."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.magento2.mapping import (
    GLOBAL,
    AttributeInfo,
    MappingSettings,
    Unresolved,
    attribute_body,
    category_create_body,
    category_names,
    emptied_fields,
    format_value,
    option_body,
    plan_scope,
    product_body,
    product_scopes,
    slug,
    url_key,
    weight_for_magento,
)

pytestmark = pytest.mark.fast

SETTINGS = MappingSettings(
    channel="ecommerce",
    currency="EUR",
    default_locale="en_US",
    store_views={"en_US": "default", "fr_FR": "fr", "de_DE": "de"},
    website_ids=(1,),
)
TYPES = {
    "name": "pim_catalog_text",
    "description": "pim_catalog_textarea",
    "ean": "pim_catalog_text",
    "color": "pim_catalog_simpleselect",
    "material": "pim_catalog_multiselect",
    "waterproof": "pim_catalog_boolean",
    "release_date": "pim_catalog_date",
    "stock_qty": "pim_catalog_number",
    "length": "pim_catalog_metric",
    "special": "pim_catalog_price_collection",
    "picture": "pim_catalog_image",
}


class FakeRefs:
    def __init__(self, options: dict[str, str] | None = None, categories: dict[str, int] | None = None) -> None:
        self.options = options if options is not None else {"color.red": "31", "material.cotton": "41",
                                                            "material.wool": "9"}  # fmt: skip
        self.categories = categories if categories is not None else {"tshirts": 8, "sale": 12}

    def attribute(self, code: str) -> AttributeInfo | None:
        if code not in TYPES:
            return None
        unit = "KILOGRAM" if code == "length" else None
        return AttributeInfo(code, code, TYPES[code], 200, skipped=code == "picture", default_metric_unit=unit)

    def option_id(self, attribute: str, option: str) -> str | None:
        return self.options.get(f"{attribute}.{option}")

    def category_id(self, code: str) -> int | None:
        return self.categories.get(code)

    def attribute_set_id(self, family: str) -> int | None:
        return {"clothing": 21}.get(family)


def val(code: str, value: Any, locale: str | None = None, channel: str | None = None, unit: str | None = None):
    return {"attribute_code": code, "channel": channel, "locale": locale, "value": value, "unit": unit}


def product(**extra: Any) -> dict[str, Any]:
    values = [
        val("sku", "tee-1"),
        val("name", "Classic T-shirt", "en_US"),
        val("name", "T-shirt classique", "fr_FR"),
        val("name", "Klassisches T-Shirt", "de_DE"),
        val("description", "Soft (web)", "en_US", "ecommerce"),
        val("description", "Doux (web)", "fr_FR", "ecommerce"),
        val("description", "Soft (mobile)", "en_US", "mobile"),
        val("price", [{"amount": "19.99", "currency": "EUR"}, {"amount": "22.5", "currency": "USD"}]),
        val("weight", "650", unit="GRAM"),
        val("color", "red"),
        val("material", ["cotton", "wool"]),
        val("waterproof", False),
        val("release_date", "2024-03-01T00:00:00+00:00"),
        val("stock_qty", "12"),
        val("picture", "a/b/c.jpg"),
    ]
    return {"identifier": "tee-1", "enabled": True, "family": "clothing", "values": values,
            "categories": [{"code": "tshirts", "labels": {}, "parent": "clothing"}], **extra}  # fmt: skip


# --------------------------------------------------------------------------- small helpers


def test_slug_is_magentos_url_key_format() -> None:
    assert slug("Klassisches T-Shirt") == "klassisches-t-shirt"
    assert slug("Größe Été  / 2") == "grosse-ete-2"
    assert slug("") == "" and slug(None) == ""


def test_url_key_is_unique_per_product_and_stable() -> None:
    assert url_key("Classic T-shirt", "tshirt-classic-red-s") == "classic-t-shirt-tshirt-classic-red-s"
    assert url_key("Classic T-shirt", "tshirt-classic-red-s") != url_key("Classic T-shirt", "tshirt-classic-red-m")
    assert url_key("", "ABC_1") == "abc-1"
    assert len(url_key("x" * 500, "sku")) < 140


def test_weights_are_converted_to_magentos_unit() -> None:
    assert weight_for_magento("650", "GRAM") == 0.65
    assert weight_for_magento("0.2", "KILOGRAM") == 0.2
    assert weight_for_magento("1", "POUND") == pytest.approx(0.453592)
    assert weight_for_magento("1", "KILOGRAM", "lbs") == pytest.approx(2.204623)
    assert weight_for_magento("not a number", "GRAM") is None


@pytest.mark.parametrize(
    ("code", "value", "unit", "expected"),
    [
        ("color", "red", None, "31"),
        ("material", ["wool", "cotton"], None, "9,41"),  # ids, comma-joined
        ("waterproof", False, None, "0"),
        ("waterproof", True, None, "1"),
        ("release_date", "2024-03-01T00:00:00+00:00", None, "2024-03-01"),
        ("stock_qty", "12", None, "12"),
        ("length", "1500", "GRAM", "1.5"),  # a metric in the attribute's default unit
        ("special", [{"amount": "5.5", "currency": "USD"}, {"amount": "4.9", "currency": "EUR"}], None, "4.9"),
        ("special", [{"amount": "5.5", "currency": "USD"}], None, None),  # no price in the currency
        ("ean", "4006381333931", None, "4006381333931"),
    ],
)

def test_value_formats(code: str, value: Any, unit: str | None, expected: Any) -> None:
    refs = FakeRefs()
    missing: list[str] = []
    assert format_value(refs.attribute(code), val(code, value, unit=unit), SETTINGS, refs, missing) == expected
    assert missing == []


def test_a_missing_option_is_reported_not_guessed() -> None:
    refs, missing = FakeRefs(), []
    assert format_value(refs.attribute("color"), val("color", "teal"), SETTINGS, refs, missing) is None
    assert missing == ["option color.teal"]


# ------------------------------------------------------------------------------- products


def test_global_scope_gets_default_locale_and_shared_values() -> None:
    scopes = product_scopes(product(), "simple", SETTINGS, FakeRefs())
    main = scopes[GLOBAL]
    assert main["name"] == "Classic T-shirt"
    assert main["description"] == "Soft (web)"  # the configured channel, not mobile
    assert main["price"] == 19.99 and main["weight"] == 0.65
    assert main["color"] == "31" and main["material"] == "9,41"
    assert main["waterproof"] == "0" and main["release_date"] == "2024-03-01" and main["stock_qty"] == "12"
    assert main["url_key"] == "classic-t-shirt-tee-1"
    assert main["status"] == 1 and main["visibility"] == 4 and main["type_id"] == "simple"
    assert main["attribute_set_id"] == 21 and main["website_ids"] == [1]
    assert main["category_links"] == [{"position": 0, "category_id": "8"}]
    assert "picture" not in main and "sku" not in main


def test_store_views_get_only_their_localized_values() -> None:
    scopes = product_scopes(product(), "simple", SETTINGS, FakeRefs())
    assert scopes["fr"] == {
        "name": "T-shirt classique",
        "description": "Doux (web)",
        "url_key": "t-shirt-classique-tee-1",
    }
    assert scopes["de"] == {"name": "Klassisches T-Shirt", "url_key": "klassisches-t-shirt-tee-1"}
    assert "default" not in scopes  # the default locale's view inherits the global values


def test_variants_configurables_disabled_and_familyless_products() -> None:
    variant = product_scopes(product(parent="tee_red", root_parent="tee"), "variant", SETTINGS, FakeRefs())[GLOBAL]
    assert variant["visibility"] == 1 and variant["price"] == 19.99 and variant["name"]
    configurable = product_scopes(product(code="tee"), "configurable", SETTINGS, FakeRefs())[GLOBAL]
    assert configurable["type_id"] == "configurable" and "price" not in configurable and "weight" not in configurable
    disabled = product_scopes(product(enabled=False), "simple", SETTINGS, FakeRefs())[GLOBAL]
    assert disabled["status"] == 2
    bare = {"identifier": "gift", "enabled": True, "family": None, "values": [val("name", "Carte", "fr_FR")]}
    main = product_scopes(bare, "simple", SETTINGS, FakeRefs())[GLOBAL]
    assert main["attribute_set_id"] == 4 and main["price"] == 0.0 and main["name"] == "Carte"


def test_unresolved_references_are_listed_together() -> None:
    refs = FakeRefs(options={}, categories={})
    with pytest.raises(Unresolved) as raised:
        product_scopes(product(values=[val("color", "red"), val("mystery", "x")]), "simple", SETTINGS, refs)
    assert raised.value.missing == ["attribute mystery", "category tshirts", "option color.red"]
    with pytest.raises(Unresolved, match="family shoes"):
        product_scopes(product(family="shoes", values=[]), "simple", SETTINGS, FakeRefs())


def test_emptied_values_are_cleared_where_they_were() -> None:
    before = product()
    fr_description = ("description", "fr_FR")
    after = product(values=[v for v in before["values"] if (v["attribute_code"], v["locale"]) != fr_description])
    before["values"].append(val("ean", "123"))
    cleared = emptied_fields(after, before, ["ean", "description"], SETTINGS, FakeRefs())
    assert cleared == {GLOBAL: {"ean"}, "fr": {"description"}}
    # Without the previous state, an emptied attribute is cleared in the global scope.
    assert emptied_fields(after, None, ["ean", "enabled"], SETTINGS, FakeRefs()) == {GLOBAL: {"ean"}}


def test_an_update_sends_only_what_changed_and_clears_what_is_gone() -> None:
    first = plan_scope(GLOBAL, {"name": "A", "price": 1.0, "ean": "1"}, None)
    assert first.send == {"name": "A", "price": 1.0, "ean": "1"}
    same = plan_scope(GLOBAL, {"name": "A", "price": 1.0, "ean": "1"}, first.hashes)
    assert same.send == {} and same.hashes == first.hashes
    changed = plan_scope(GLOBAL, {"name": "A", "price": 2.0}, first.hashes)
    assert changed.send == {"price": 2.0, "ean": None}
    assert set(changed.hashes) == {"name", "price"}
    # A store view that loses a localized value gets the global one (REST cannot "use default").
    store = plan_scope("fr", {"name": "B"}, None)
    gone = plan_scope("fr", {}, store.hashes, global_fields={"name": "A"})
    assert gone.send == {"name": "A"}
    assert plan_scope("fr", {}, gone.hashes, global_fields={"name": "A"}).send == {}


def test_product_body_splits_fields() -> None:
    body = product_body("tee-1", {"name": "A", "price": 2.0, "website_ids": [1], "color": "31", "ean": None})
    assert body == {
        "product": {
            "sku": "tee-1",
            "name": "A",
            "price": 2.0,
            "extension_attributes": {"website_ids": [1]},
            "custom_attributes": [{"attribute_code": "color", "value": "31"}, {"attribute_code": "ean", "value": None}],
        }
    }


# ------------------------------------------------------------------------ other entities


def test_attribute_body_input_scope_and_labels() -> None:
    payload = {"code": "description", "type": "pim_catalog_textarea", "localizable": True, "scopable": True,
               "labels": {"en_US": "Description", "fr_FR": "Description FR", "it_IT": "Descrizione"}}  # fmt: skip
    body = attribute_body(payload, "description", SETTINGS, {"en_US": 1, "fr_FR": 2, "de_DE": 3})["attribute"]
    assert body["frontend_input"] == "textarea" and body["scope"] == "store"
    assert body["default_frontend_label"] == "Description"
    assert body["frontend_labels"] == [
        {"store_id": 1, "label": "Description"},
        {"store_id": 2, "label": "Description FR"},
    ]
    number = attribute_body({"code": "qty", "type": "pim_catalog_number"}, "qty", SETTINGS, {})["attribute"]
    assert number["frontend_input"] == "text" and number["scope"] == "global"
    assert (
        attribute_body({"code": "m", "type": "pim_catalog_multiselect"}, "m", SETTINGS, {})["attribute"][
            "frontend_input"
        ]
        == "multiselect"
    )


def test_option_and_category_bodies() -> None:
    payload = {"code": "color.red", "option_code": "red", "sort_order": 2, "labels": {"en_US": "Red", "fr_FR": "Rouge"}}
    option = option_body(payload, {"en_US": 1, "fr_FR": 2})["option"]
    assert option["label"] == "red" and option["sort_order"] == 2  # the admin label is the stable option code
    assert option["store_labels"] == [{"store_id": 1, "label": "Red"}, {"store_id": 2, "label": "Rouge"}]
    names = category_names({"code": "pants", "labels": {"en_US": "Pants", "fr_FR": "Pantalons"}}, SETTINGS)
    assert names == {GLOBAL: "Pants", "fr": "Pantalons"}
    body = category_create_body(2, "Pants", "pants")["category"]
    assert body["parent_id"] == 2 and body["custom_attributes"] == [{"attribute_code": "url_key", "value": "pants"}]
