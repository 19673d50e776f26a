"""What an entity needs in a target before it can land there: its family and variant, its parent
models, its categories and their ancestors, the attributes of its family and the options its values
name. A new connection sends these along when the integration has not received them yet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection, select

from iec_pipeline.common.batches import chunks
from iec_pipeline.common.entity_types import entity_uuid
from iec_pipeline.store.models import (
    Category,
    Family,
    FamilyVariant,
    Product,
    ProductAttribute,
    ProductAttributeValue,
    ProductModel,
)

SELECTS = ("pim_catalog_simpleselect", "pim_catalog_multiselect")


def _rows(conn: Connection, columns, where_column, values: Iterable[str]) -> list:
    found = []
    for chunk in chunks(sorted(set(values)), 500):
        found += conn.execute(select(*columns).where(where_column.in_(chunk))).all()
    return found


def dependencies(conn: Connection, entity_type: str, uuids: Iterable[str]) -> dict[str, set[str]]:
    """entity type -> uuids of what `uuids` (of `entity_type`) depend on, themselves included."""
    need: dict[str, set[str]] = defaultdict(set)
    need[entity_type] |= set(uuids)
    families, variants, models, categories, valued = set(), set(), set(), set(), []
    if entity_type == "product":
        columns = (Product.family, Product.parent, Product.categories)
        for family, parent, cats in _rows(conn, columns, Product.uuid, uuids):
            families.add(family)
            models.add(parent)
            categories.update(cats or ())
        valued.append(("product", set(uuids)))
    if entity_type == "product_model":
        models |= {code for (code,) in _rows(conn, (ProductModel.code,), ProductModel.uuid, uuids)}
    models.discard(None)
    seen_models: set[str] = set()
    while models - seen_models:  # up the model tree (two levels in Akeneo)
        batch = models - seen_models
        seen_models |= batch
        columns = (ProductModel.uuid, ProductModel.family, ProductModel.family_variant, ProductModel.parent,
                   ProductModel.categories)  # fmt: skip
        for uuid, family, variant, parent, cats in _rows(conn, columns, ProductModel.code, batch):
            need["product_model"].add(uuid)
            families.add(family)
            variants.add(variant)
            categories.update(cats or ())
            if parent:
                models.add(parent)
    valued.append(("product_model", need["product_model"]))
    if entity_type == "family_variant":
        families |= {f for (f,) in _rows(conn, (FamilyVariant.family,), FamilyVariant.uuid, uuids)}
    if entity_type == "category":
        categories |= {c for (c,) in _rows(conn, (Category.code,), Category.uuid, uuids)}
    families.discard(None)
    variants.discard(None)
    need["family"] |= {entity_uuid("family", f) for f in families}
    need["family_variant"] |= {entity_uuid("family_variant", v) for v in variants}
    attributes = {a for (found,) in _rows(conn, (Family.attributes,), Family.code, families) for a in found or ()}
    need["attribute"] |= {entity_uuid("attribute", a) for a in attributes}
    need["category"] |= {entity_uuid("category", c) for c in _with_ancestors(conn, categories)}
    need["attribute_option"] |= _options(conn, valued)
    return {entity_type: keys for entity_type, keys in need.items() if keys}


def _with_ancestors(conn: Connection, codes: set[str]) -> set[str]:
    found, frontier = set(), set(codes)
    while frontier:
        found |= frontier
        parents = {p for (p,) in _rows(conn, (Category.parent,), Category.code, frontier) if p}
        frontier = parents - found
    return found


def _options(conn: Connection, valued: list[tuple[str, set[str]]]) -> set[str]:
    """Option uuids the select values of these entities name."""
    query = select(ProductAttribute.code).where(ProductAttribute.type.in_(SELECTS))
    selects = set(conn.execute(query).scalars())
    options = set()
    for owner_type, uuids in valued:
        columns = (ProductAttributeValue.attribute_code, ProductAttributeValue.value)
        for chunk in chunks(sorted(uuids), 500):
            rows = conn.execute(
                select(*columns).where(
                    ProductAttributeValue.entity_type == owner_type,
                    ProductAttributeValue.entity_uuid.in_(chunk),
                    ProductAttributeValue.attribute_code.in_(selects),
                )
            )
            for attribute, value in rows:
                for option in value if isinstance(value, list) else [value]:
                    if isinstance(option, str):
                        options.add(entity_uuid("attribute_option", f"{attribute}.{option}"))
    return options
