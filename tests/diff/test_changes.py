"""`changed_fields`, flattened as IEC's TracksEavChanges reports them."""

from __future__ import annotations

import pytest

from iec_pipeline.common.entity_types import get
from iec_pipeline.diff.changes import changed_fields, present_fields

pytestmark = pytest.mark.fast

PRODUCT = get("product")


def value(code, data, locale=None, channel=None, unit=None):
    return {"attribute_code": code, "channel": channel, "locale": locale, "value": data, "unit": unit}


def product(**fields):
    return {"identifier": "p1", "enabled": True, "family": "shirts", "values": [], **fields}


def test_a_change_in_any_locale_or_channel_of_a_value_is_its_attribute():
    before = {"k": product(values=[value("name", "Shirt", "en_US"), value("name", "Chemise", "fr_FR")])}
    after = {"k": product(values=[value("name", "Shirt", "en_US"), value("name", "Chemise bleue", "fr_FR")])}
    assert changed_fields(PRODUCT, before, after) == {"k": ["name"]}


def test_an_emptied_value_and_a_new_one_are_changes_too():
    before = {"k": product(values=[value("color", "red")])}
    after = {"k": product(values=[value("size", "m")])}
    assert changed_fields(PRODUCT, before, after) == {"k": ["color", "size"]}


def test_top_level_fields_and_category_order():
    before = {"k": product(categories=[{"code": "b"}, {"code": "a"}])}
    after = {"k": product(categories=[{"code": "a"}, {"code": "b"}], enabled=False)}
    assert changed_fields(PRODUCT, before, after) == {"k": ["enabled"]}  # same categories, another order


def test_volatile_fields_are_not_changes_and_every_key_of_after_is_answered():
    before = {"k": product(updated_at="2026-01-01T00:00:00+00:00")}
    after = {"k": product(updated_at="2026-02-01T00:00:00+00:00"), "new": product()}
    assert changed_fields(PRODUCT, before, after) == {"k": [], "new": ["enabled", "family", "identifier"]}


def test_a_unit_change_is_a_change():
    before = {"k": product(values=[value("weight", "1", unit="KILOGRAM")])}
    after = {"k": product(values=[value("weight", "1", unit="GRAM")])}
    assert changed_fields(PRODUCT, before, after) == {"k": ["weight"]}


def test_flattened_dict_fields_report_their_keys():
    attribute = get("attribute")
    before = {"k": {"code": "a", "properties": {"max_characters": 10, "validation_rule": "email", "wysiwyg": True}}}
    after = {"k": {"code": "a", "properties": {"max_characters": 20, "wysiwyg": True}}}
    assert changed_fields(attribute, before, after) == {"k": ["max_characters", "validation_rule"]}


def test_a_created_or_deleted_entity_lists_every_field_it_carries():
    payload = product(values=[value("name", "Shirt", "en_US")], parent=None, categories=[])
    assert present_fields(PRODUCT, {"k": payload}) == {"k": ["enabled", "family", "identifier", "name"]}
