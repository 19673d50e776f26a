"""The Akeneo entity types IEC tracks, and what the rest of the code needs to know about each.

One registry, read by ingestion (endpoint, pagination), the store (table), the diff (tracked
fields) and payloads. Order matters: it is dependency order (an option needs its attribute,
a product its family, categories and parent model), used for fetching, applying and delivering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from iec_pipeline.store import models


@dataclass(frozen=True)
class EntityType:
    name: str  # IEC's entity_type: product, product_model, ...
    asset: str  # the Dagster fetch asset
    model: type[models.Base]
    code_column: str  # the human code: identifier for products, code otherwise
    fields: tuple[str, ...]  # top-level fields the diff tracks (store columns of the same names)
    has_values: bool = False  # EAV values in product_attribute_values
    windowed: bool = False  # Akeneo can filter it on `updated` (incremental sync, backfill)
    flatten: tuple[str, ...] = ()  # dict fields whose keys are reported as changed fields
    # A new entity's payload reads only other types: the diff can write and record it in one pass.
    # (A product model's payload reads its parent model, which may be new in the same sync.)
    streams_creates: bool = True

    @property
    def table(self):
        return self.model.__table__


_ASSOC = ("categories", "associations", "quantified_associations")

ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType(
        "attribute",
        "akeneo_attributes",
        models.ProductAttribute,
        "code",
        (
            "code",
            "type",
            "group",
            "labels",
            "localizable",
            "scopable",
            "unique",
            "sort_order",
            "metric_family",
            "default_metric_unit",
            "decimals_allowed",
            "negative_allowed",
            "available_locales",
            "properties",
        ),
        flatten=("properties",),
    ),
    EntityType(
        "attribute_option",
        "akeneo_attribute_options",
        models.AttributeOption,
        "code",
        ("code", "attribute", "option_code", "sort_order", "labels"),
    ),
    EntityType(
        "family",
        "akeneo_families",
        models.Family,
        "code",
        ("code", "attribute_as_label", "attribute_as_image", "attributes", "attribute_requirements", "labels"),
    ),
    EntityType(
        "family_variant",
        "akeneo_family_variants",
        models.FamilyVariant,
        "code",
        ("code", "family", "labels", "variant_attribute_sets"),
    ),
    EntityType(
        "category",
        "akeneo_categories",
        models.Category,
        "code",
        ("code", "parent", "labels", "position", "values"),
    ),
    EntityType(
        "product_model",
        "akeneo_product_models",
        models.ProductModel,
        "code",
        ("code", "family", "family_variant", "parent", *_ASSOC),
        has_values=True,
        windowed=True,
        streams_creates=False,
    ),
    EntityType(
        "product",
        "akeneo_products",
        models.Product,
        "identifier",
        ("identifier", "enabled", "family", "parent", "groups", *_ASSOC),
        has_values=True,
        windowed=True,
    ),
)

BY_NAME: dict[str, EntityType] = {entity.name: entity for entity in ENTITY_TYPES}
NAMES: tuple[str, ...] = tuple(BY_NAME)

_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-4f0e-9a55-1ec0a7e1c0de")


def entity_uuid(entity_type: str, code: str) -> str:
    """Stable uuid for entities Akeneo identifies by code (products bring their own)."""
    return str(uuid.uuid5(_NAMESPACE, f"{entity_type}:{code}"))


def get(name: str) -> EntityType:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown entity type {name!r}; expected one of: {', '.join(NAMES)}") from None
