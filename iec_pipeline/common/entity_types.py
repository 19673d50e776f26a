"""The Akeneo entity types IEC tracks: the one registry every stage and every driver reads.

Order is dependency order (an option needs its attribute, a product its family, categories and
parent model): fetching, applying and delivering all follow it. `rank` is how far down that order
a type sits in a target (what must exist there before what); `upstream` is what a type's fetch
reads first (Dagster lineage and run order). The registry is plain data: the store binds each type
to its table (`iec_pipeline.store.models.entity_table`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from iec_pipeline.common.words import plural


@dataclass(frozen=True)
class EntityType:
    name: str  # IEC's entity_type: product, product_model, ...
    asset: str  # the Dagster asset that fetches it
    table_name: str  # its store table
    code_column: str  # the human code: identifier for products, code otherwise
    fields: tuple[str, ...]  # top-level fields the diff tracks (store columns of the same names)
    rank: int  # what must exist in a target before what: lower first
    upstream: tuple[str, ...]  # types its fetch reads first
    akeneo_listing: str  # REST path of its listing; `{parent}` is an attribute or family code
    akeneo_item: str  # REST path of one item; `{code}`, and `{parent}` as above
    has_values: bool = False  # EAV values in product_attribute_values
    windowed: bool = False  # Akeneo can filter it on `updated` (incremental sync, backfill)
    flatten: tuple[str, ...] = ()  # dict fields whose keys are reported as changed fields
    # A new entity's payload reads only other types: the diff can write and record it in one pass.
    # (A product model's payload reads its parent model, which may be new in the same sync.)
    streams_creates: bool = True

    @property
    def label(self) -> str:
        """How a person says it: "product model", "family variant"."""
        return self.name.replace("_", " ")

    @property
    def plural(self) -> str:
        """"categories", "families", "product models"."""
        return plural(self.label)


_ASSOCIATIONS = ("categories", "associations", "quantified_associations")

ENTITY_TYPES: tuple[EntityType, ...] = (
    EntityType(
        "attribute", "akeneo_attributes", "product_attributes", "code",
        ("code", "type", "group", "labels", "localizable", "scopable", "unique", "sort_order", "metric_family",
         "default_metric_unit", "decimals_allowed", "negative_allowed", "available_locales", "properties"),
        rank=0, upstream=(), akeneo_listing="attributes", akeneo_item="attributes/{code}", flatten=("properties",),
    ),
    EntityType(
        "attribute_option", "akeneo_attribute_options", "attribute_options", "code",
        ("code", "attribute", "option_code", "sort_order", "labels"),
        rank=1, upstream=("attribute",), akeneo_listing="attributes/{parent}/options",
        akeneo_item="attributes/{parent}/options/{code}",
    ),
    EntityType(
        "family", "akeneo_families", "families", "code",
        ("code", "attribute_as_label", "attribute_as_image", "attributes", "attribute_requirements", "labels"),
        rank=1, upstream=("attribute",), akeneo_listing="families", akeneo_item="families/{code}",
    ),
    EntityType(
        "family_variant", "akeneo_family_variants", "family_variants", "code",
        ("code", "family", "labels", "variant_attribute_sets"),
        rank=2, upstream=("family",), akeneo_listing="families/{parent}/variants",
        akeneo_item="families/{parent}/variants/{code}",
    ),
    EntityType(
        "category", "akeneo_categories", "categories", "code",
        ("code", "parent", "labels", "position", "values"),
        rank=0, upstream=(), akeneo_listing="categories", akeneo_item="categories/{code}",
    ),
    EntityType(
        "channel", "akeneo_channels", "channels", "code",
        ("code", "labels", "locales", "currencies", "category_tree", "conversion_units"),
        rank=0, upstream=(), akeneo_listing="channels", akeneo_item="channels/{code}",
    ),
    EntityType(
        "association_type", "akeneo_association_types", "association_types", "code",
        ("code", "labels", "is_quantified", "is_two_way"),
        rank=0, upstream=(), akeneo_listing="association-types", akeneo_item="association-types/{code}",
    ),
    EntityType(
        "product_model", "akeneo_product_models", "product_models", "code",
        ("code", "family", "family_variant", "parent", *_ASSOCIATIONS),
        rank=3, upstream=("attribute", "family_variant", "category"), akeneo_listing="product-models",
        akeneo_item="product-models/{code}", has_values=True, windowed=True, streams_creates=False,
    ),
    EntityType(
        "product", "akeneo_products", "products", "identifier",
        ("identifier", "enabled", "family", "parent", "groups", *_ASSOCIATIONS),
        rank=4, upstream=("attribute", "product_model", "category"), akeneo_listing="products-uuid",
        akeneo_item="products-uuid/{code}", has_values=True, windowed=True,
    ),
)  # fmt: skip

BY_NAME: dict[str, EntityType] = {entity.name: entity for entity in ENTITY_TYPES}
NAMES: tuple[str, ...] = tuple(BY_NAME)
# The highest rank of reference data (attributes, options, families, variants, categories, channels,
# association types): a target needs all of it before products and models.
STRUCTURE_RANK = max(e.rank for e in ENTITY_TYPES if not e.has_values)

_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-4f0e-9a55-1ec0a7e1c0de")


def entity_uuid(entity_type: str, code: str) -> str:
    """IEC's stable uuid of an entity Akeneo identifies by code (products bring their own).

    The store keys entities by it and drivers find the mapping of a referenced entity (a product's
    category, an option) with it: both must compute it here.
    """
    return str(uuid.uuid5(_NAMESPACE, f"{entity_type}:{code}"))


def get(name: str) -> EntityType:
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown entity type {name!r}; expected one of: {', '.join(NAMES)}") from None
