"""Normalization rules (pure logic): one spelling per meaning, so no meaningless mutation."""

from decimal import Decimal

import pytest

from iec_pipeline.common.entity_types import entity_uuid
from iec_pipeline.ingest.normalize import decimal_string, normalize, normalize_values

pytestmark = pytest.mark.fast

TYPES = {
    "name": "pim_catalog_text",
    "weight": "pim_catalog_number",
    "color": "pim_catalog_simpleselect",
    "material": "pim_catalog_multiselect",
    "gallery": "pim_catalog_asset_collection",
    "price": "pim_catalog_price_collection",
    "mass": "pim_catalog_metric",
    "active": "pim_catalog_boolean",
}


def _by_decimal(value):
    """The definition `decimal_string` must agree with: Decimal's normal form, "-0" as "0"."""
    number = Decimal(str(value).strip())
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


@pytest.mark.parametrize(
    "value",
    ["19.9900", "19.99", "12", "-3.50", "0.000", "-0", "-0.00", "007", "12.", ".5", "+4", "1e3", " 5 ", "1E-2",
     "100", "10.010", 12, -7, 0, 10**30],
)  # fmt: skip

def test_decimal_string_is_decimals_normal_form(value):
    assert decimal_string(value) == _by_decimal(value)


@pytest.mark.parametrize("value", ["", "abc", "-", "1.2.3", "NaN", "Infinity", None, True, False, [1]])
def test_decimal_string_refuses_what_is_not_a_finite_number(value):
    assert decimal_string(value) is None


def _values(**entries):
    return {code: [{"scope": s, "locale": loc, "data": d} for s, loc, d in rows] for code, rows in entries.items()}


def test_values_are_sorted_emptied_ones_dropped_and_the_last_spelling_wins():
    rows = normalize_values(
        _values(
            weight=[(None, None, "12.500")],
            name=[("web", "fr_FR", "Nom"), ("web", "en_US", ""), ("web", "fr_FR", "Nom 2")],
            color=[(None, None, None)],
            material=[(None, None, ["wool", "cotton", "wool"])],
            gallery=[(None, None, ["b", "a"])],
            price=[(None, None, [{"amount": "5.10", "currency": "USD"}, {"amount": "4", "currency": "EUR"}])],
            mass=[(None, None, {"amount": "1.0", "unit": "KILOGRAM"})],
            active=[(None, None, False)],
        ),
        TYPES,
    )
    assert [tuple(r) for r in rows] == [
        ("active", "", "", False, None),
        ("gallery", "", "", ["b", "a"], None),  # an asset collection's order is data
        ("mass", "", "", "1", "KILOGRAM"),
        ("material", "", "", ["cotton", "wool"], None),  # a multiselect is a set
        ("name", "web", "fr_FR", "Nom 2", None),
        ("price", "", "", [{"amount": "4", "currency": "EUR"}, {"amount": "5.1", "currency": "USD"}], None),
        ("weight", "", "", "12.5", None),
    ]
    assert rows[0].attribute_code == "active" and rows[2].unit == "KILOGRAM"


def test_a_text_that_only_looks_like_a_number_is_kept_as_written():
    rows = normalize_values(_values(name=[(None, None, "012.50")], weight=[(None, None, "n/a")]), TYPES)
    assert [(r.attribute_code, r.value) for r in rows] == [("name", "012.50"), ("weight", "n/a")]


def test_channels_and_association_types_normalize_to_one_spelling():
    channel = normalize(
        "channel",
        {"code": "print", "locales": ["fr_FR", "en_US", "fr_FR"], "currencies": [], "category_tree": "",
         "conversion_units": {"weight": "KILOGRAM", "size": ""}, "labels": {"en_US": "Print", "de_DE": ""}},
        {},
    )  # fmt: skip
    assert channel.fields == {
        "code": "print", "labels": {"en_US": "Print"}, "locales": ["en_US", "fr_FR"], "currencies": None,
        "category_tree": None, "conversion_units": {"weight": "KILOGRAM"},
    }  # fmt: skip
    assert channel.key == entity_uuid("channel", "print") and channel.values == ()
    pack = normalize("association_type", {"code": "PACK", "is_quantified": True, "labels": {}}, {})
    assert pack.fields == {"code": "PACK", "labels": None, "is_quantified": True, "is_two_way": False}
