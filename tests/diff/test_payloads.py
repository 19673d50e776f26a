"""Payload building (IEC's `toIntegrationPayload`) from a store: inheritance, categories, references."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert

from iec_pipeline.common.entity_types import entity_uuid
from iec_pipeline.diff import payloads
from iec_pipeline.store import db
from iec_pipeline.store.models import Category, FamilyVariant, Product, ProductAttributeValue, ProductModel

pytestmark = pytest.mark.fast
TRACKED = {"content_hash": "h", "raw_hash": None, "fetched_at": datetime(2026, 12, 1)}
VARIANT_UUID = "5d4f1c2e-0000-4000-8000-000000000001"


@pytest.fixture
def conn(tmp_path):
    engine = db.ready_engine(f"sqlite:///{tmp_path / 'iec.db'}")
    with engine.begin() as conn:
        for code, parent in (("master", None), ("tops", "master"), ("sale", "master")):
            conn.execute(insert(Category).values(uuid=entity_uuid("category", code), code=code, parent=parent,
                                                 labels={"en_US": code.title()}, **TRACKED))  # fmt: skip
        conn.execute(insert(FamilyVariant).values(
            uuid=entity_uuid("family_variant", "by_size"), code="by_size", family="shirts",
            variant_attribute_sets=[{"level": 1, "axes": ["size"]}], **TRACKED))  # fmt: skip
        conn.execute(insert(ProductModel).values(
            uuid=entity_uuid("product_model", "tee"), code="tee", family="shirts", family_variant="by_size",
            parent=None, categories=["tops"], **TRACKED))  # fmt: skip
        conn.execute(insert(Product).values(
            uuid=VARIANT_UUID, identifier="tee-m", enabled=True, family="shirts", parent="tee", categories=["sale"],
            updated=datetime(2026, 11, 30, 8, 0, 0), **TRACKED))  # fmt: skip
        conn.execute(insert(ProductAttributeValue), [
            {"entity_type": "product_model", "entity_uuid": entity_uuid("product_model", "tee"),
             "attribute_code": "name", "channel": "", "locale": "en_US", "value": "Tee", "unit": None},
            {"entity_type": "product_model", "entity_uuid": entity_uuid("product_model", "tee"),
             "attribute_code": "color", "channel": "", "locale": "", "value": "red", "unit": None},
            {"entity_type": "product", "entity_uuid": VARIANT_UUID, "attribute_code": "color", "channel": "",
             "locale": "", "value": "blue", "unit": None},
            {"entity_type": "product", "entity_uuid": VARIANT_UUID, "attribute_code": "size", "channel": "",
             "locale": "", "value": "m", "unit": None},
        ])  # fmt: skip
        yield conn
    db.dispose_all()


def test_a_variant_inherits_its_models_values_and_its_own_win(conn):
    payload = payloads.build(conn, "product", [VARIANT_UUID], payloads.CategoryIndex(conn))[VARIANT_UUID]
    values = {(v["attribute_code"], v["locale"]): v["value"] for v in payload["values"]}
    assert values == {("name", "en_US"): "Tee", ("color", None): "blue", ("size", None): "m"}
    assert (payload["parent"], payload["root_parent"], payload["family_variant"]) == ("tee", "tee", "by_size")
    assert payload["updated_at"] == "2026-11-30T08:00:00+00:00"


def test_categories_are_described_with_those_of_the_parent_models(conn):
    payload = payloads.build(conn, "product", [VARIANT_UUID], payloads.CategoryIndex(conn))[VARIANT_UUID]
    assert payload["categories"] == [
        {"code": "sale", "labels": {"en_US": "Sale"}, "parent": "master"},
        {"code": "tops", "labels": {"en_US": "Tops"}, "parent": "master"},
    ]


def test_a_product_model_names_the_axes_below_it(conn):
    key = entity_uuid("product_model", "tee")
    payload = payloads.build(conn, "product_model", [key], payloads.CategoryIndex(conn))[key]
    assert payload["level"] == 1 and payload["variant_axes"] == ["size"] and payload["root_parent"] is None


def test_reference_data_carries_its_tracked_fields_and_a_deletion_only_its_identity(conn):
    key = entity_uuid("category", "tops")
    payload = payloads.build(conn, "category", [key], payloads.CategoryIndex(conn))[key]
    assert payload == {"uuid": key, "code": "tops", "parent": "master", "labels": {"en_US": "Tops"},
                       "position": None, "values": None, "updated_at": None}  # fmt: skip
    assert payloads.identity("product", VARIANT_UUID, "tee-m") == {"uuid": VARIANT_UUID, "identifier": "tee-m"}
