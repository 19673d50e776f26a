"""Integration payloads (IEC's `toIntegrationPayload`) built from the store, a chunk at a time.

A payload is the entity's full current state, self-sufficient for a driver (drivers never read
the store). Variants and sub-models carry their effective values and categories: their own,
plus what they inherit from their parent models (own values win), whether the upstream server
already merged them (a real Akeneo does) or not (akeneo-mock-server returns own values only).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection, String, literal, select, type_coerce, union_all

from iec_pipeline.catalog.entities import get
from iec_pipeline.store.models import (
    Category,
    FamilyVariant,
    Product,
    ProductAttributeValue,
    ProductModel,
)

CHUNK = 500
VALUE_KEY = ["key", "attribute_code", "channel", "locale"]

PAV = ProductAttributeValue.__table__
PRODUCTS = Product.__table__
MODELS = ProductModel.__table__


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "+00:00" if value is not None else None


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _value_select(owner, depth: int, via_models: int):
    """Values of `owner`'s ancestor `via_models` levels up, labelled with the owner's key."""
    key = owner.c.uuid
    source = owner
    join_from = owner
    for level in range(via_models):
        ancestor = MODELS.alias(f"ancestor_{depth}_{level}")
        join_from = join_from.join(ancestor, ancestor.c.code == source.c.parent)
        source = ancestor
    join_from = join_from.join(
        PAV,
        (PAV.c.entity_uuid == source.c.uuid)
        & (PAV.c.entity_type == ("product" if source is PRODUCTS else "product_model")),
    )
    return select(
        key.label("key"),
        PAV.c.attribute_code,
        PAV.c.channel,
        PAV.c.locale,
        type_coerce(PAV.c.value, String).label("value"),
        PAV.c.unit,
        literal(depth).label("depth"),
    ).select_from(join_from)


def effective_values(conn: Connection, entity_type: str, keys: Sequence[str]) -> pd.DataFrame:
    """Own + inherited values of products or product models (value as canonical JSON text)."""
    owner = PRODUCTS if entity_type == "product" else MODELS
    levels = 3 if entity_type == "product" else 2
    frames = []
    for chunk in chunks(list(keys)):
        queries = [_value_select(owner, depth, depth).where(owner.c.uuid.in_(chunk)) for depth in range(levels)]
        frames.append(
            pd.DataFrame(conn.execute(union_all(*queries)).all(), columns=[*VALUE_KEY, "value", "unit", "depth"])
        )
    values = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*VALUE_KEY, "value", "unit", "depth"])
    )
    values = values.sort_values("depth", kind="stable").drop_duplicates(VALUE_KEY, keep="first")
    return values.sort_values(VALUE_KEY, kind="stable").drop(columns="depth")


def _values_by_key(values: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for key, attribute, channel, locale, value, unit in values.itertuples(index=False, name=None):
        grouped[key].append(
            {
                "attribute_code": attribute,
                "channel": channel or None,
                "locale": locale or None,
                "value": json.loads(value),
                "unit": unit if isinstance(unit, str) else None,  # pandas turns a missing unit into NaN
            }
        )
    return grouped


class CategoryIndex:
    """code -> {code, labels, parent}, loaded once per diff (category trees are small)."""

    def __init__(self, conn: Connection) -> None:
        self.categories = {
            code: {"code": code, "labels": labels or {}, "parent": parent}
            for code, labels, parent in conn.execute(select(Category.code, Category.labels, Category.parent)).all()
        }

    def describe(self, codes: Iterable[str]) -> list[dict[str, Any]]:
        return [self.categories.get(code, {"code": code, "labels": {}, "parent": None}) for code in sorted(set(codes))]


def _models(conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Product models by code, with their ancestors (two levels at most in Akeneo)."""
    found: dict[str, dict[str, Any]] = {}
    wanted = {c for c in codes if c}
    for _ in range(2):
        wanted -= set(found)
        if not wanted:
            break
        for chunk in chunks(sorted(wanted)):
            for row in conn.execute(select(MODELS).where(MODELS.c.code.in_(chunk))).mappings():
                found[row["code"]] = dict(row)
        wanted = {m["parent"] for m in found.values() if m["parent"]}
    return found


def _axes(conn: Connection, family_variants: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    codes = sorted({f for f in family_variants if f})
    if not codes:
        return {}
    rows = conn.execute(
        select(FamilyVariant.code, FamilyVariant.variant_attribute_sets).where(FamilyVariant.code.in_(codes))
    ).all()
    return {code: sets or [] for code, sets in rows}


def _chain(models: dict[str, dict[str, Any]], parent: str | None) -> list[dict[str, Any]]:
    chain = []
    while parent and parent in models and len(chain) < 3:
        chain.append(models[parent])
        parent = models[parent]["parent"]
    return chain


def product_payloads(conn: Connection, keys: Sequence[str], categories: CategoryIndex) -> dict[str, dict]:
    rows = [dict(r) for r in conn.execute(select(PRODUCTS).where(PRODUCTS.c.uuid.in_(keys))).mappings()]
    models = _models(conn, (r["parent"] for r in rows))
    values = _values_by_key(effective_values(conn, "product", keys))
    payloads = {}
    for row in rows:
        chain = _chain(models, row["parent"])
        own_categories = set(row["categories"] or [])
        for model in chain:
            own_categories |= set(model["categories"] or [])
        payloads[row["uuid"]] = {
            "uuid": row["uuid"],
            "identifier": row["identifier"],
            "enabled": row["enabled"],
            "family": row["family"],
            "parent": row["parent"],
            "root_parent": chain[-1]["code"] if chain else None,
            "family_variant": chain[0]["family_variant"] if chain else None,
            "groups": row["groups"] or [],
            "completeness": None,
            "values": values.get(row["uuid"], []),
            "categories": categories.describe(own_categories),
            "associations": row["associations"] or {},
            "quantified_associations": row["quantified_associations"] or {},
            "updated_at": _iso(row["updated"]),
        }
    return payloads


def product_model_payloads(conn: Connection, keys: Sequence[str], categories: CategoryIndex) -> dict[str, dict]:
    rows = [dict(r) for r in conn.execute(select(MODELS).where(MODELS.c.uuid.in_(keys))).mappings()]
    models = _models(conn, (r["parent"] for r in rows))
    axes = _axes(conn, (r["family_variant"] for r in rows))
    values = _values_by_key(effective_values(conn, "product_model", keys))
    payloads = {}
    for row in rows:
        chain = _chain(models, row["parent"])
        own_categories = set(row["categories"] or [])
        for model in chain:
            own_categories |= set(model["categories"] or [])
        sets = axes.get(row["family_variant"], [])
        level = len(chain) + 1
        payloads[row["uuid"]] = {
            "uuid": row["uuid"],
            "code": row["code"],
            "family": row["family"],
            "family_variant": row["family_variant"],
            "parent": row["parent"],
            "root_parent": chain[-1]["code"] if chain else None,
            "level": level,
            # Every axis below this model: what a configurable product varies on.
            "variant_axes": [axis for s in sets if (s.get("level") or 0) >= level for axis in s.get("axes", [])],
            "values": values.get(row["uuid"], []),
            "categories": categories.describe(own_categories),
            "associations": row["associations"] or {},
            "quantified_associations": row["quantified_associations"] or {},
            "updated_at": _iso(row["updated"]),
        }
    return payloads


def reference_payloads(conn: Connection, entity_type: str, keys: Sequence[str]) -> dict[str, dict]:
    """Attributes, options, families, family variants, categories: their tracked fields."""
    entity = get(entity_type)
    table = entity.table
    payloads = {}
    for row in conn.execute(select(table).where(table.c.uuid.in_(keys))).mappings():
        payload = {"uuid": row["uuid"], **{name: row[name] for name in entity.fields}}
        if "updated" in row:
            payload["updated_at"] = _iso(row["updated"])
        payloads[row["uuid"]] = payload
    return payloads


def build(conn: Connection, entity_type: str, keys: Sequence[str], categories: CategoryIndex) -> dict[str, dict]:
    """Payloads of `keys` as the store holds them now (inside the caller's transaction)."""
    out: dict[str, dict] = {}
    for chunk in chunks(list(keys)):
        if entity_type == "product":
            out.update(product_payloads(conn, chunk, categories))
        elif entity_type == "product_model":
            out.update(product_model_payloads(conn, chunk, categories))
        else:
            out.update(reference_payloads(conn, entity_type, chunk))
    return out


def identity(entity_type: str, key: str, code: str) -> dict[str, Any]:
    """The payload of a deleted entity: who it was (its last state is in `previous`)."""
    if entity_type == "product":
        return {"uuid": key, "identifier": code}
    return {"uuid": key, "code": code}
