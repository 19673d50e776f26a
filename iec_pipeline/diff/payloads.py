"""Integration payloads (IEC's `toIntegrationPayload`) built from the store, a chunk at a time.

A payload is the entity's full current state, self-sufficient for a driver (drivers never read
the store). Variants and sub-models carry their effective values and categories: their own,
plus what they inherit from their parent models (own values win), whether the upstream server
already merged them (a real Akeneo does) or not (akeneo-mock-server returns own values only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from orjson import Fragment
from sqlalchemy import Connection, String, literal, select, type_coerce, union_all

from iec_pipeline.common.batches import chunks
from iec_pipeline.common.clock import iso_utc
from iec_pipeline.common.entity_types import get
from iec_pipeline.store.models import (
    Category,
    FamilyVariant,
    Product,
    ProductAttributeValue,
    ProductModel,
    entity_table,
    load_json,
)

if TYPE_CHECKING:  # pandas is slow to import: loaded only by the work that uses it
    import pandas as pd

CHUNK = 2500  # entities per statement and per diff chunk (figures in docs/operations.md)
VALUE_KEY = ["key", "attribute_code", "channel", "locale"]

VALUED = ("product", "product_model")
PAV = ProductAttributeValue.__table__
PRODUCTS = Product.__table__
MODELS = ProductModel.__table__


def _iso(value: datetime | None) -> str | None:
    return iso_utc(value, "+00:00")


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
    import pandas as pd

    owner = PRODUCTS if entity_type == "product" else MODELS
    levels = 3 if entity_type == "product" else 2
    columns = [*VALUE_KEY, "value", "unit", "depth"]
    rows: list[tuple] = []
    for chunk in chunks(list(keys), CHUNK):
        rows += map(tuple, conn.execute(_value_select(owner, 0, 0).where(owner.c.uuid.in_(chunk))))
        # Only entities with a parent can inherit: most products have none, skip their joins.
        children = [
            k for (k,) in conn.execute(select(owner.c.uuid).where(owner.c.uuid.in_(chunk), owner.c.parent.is_not(None)))
        ]
        if children:
            queries = [
                _value_select(owner, depth, depth).where(owner.c.uuid.in_(children)) for depth in range(1, levels)
            ]
            rows += map(tuple, conn.execute(union_all(*queries)))
    values = pd.DataFrame.from_records(rows, columns=columns)
    if values.empty:
        return values.drop(columns="depth")
    values = values.sort_values("depth", kind="stable").drop_duplicates(VALUE_KEY, keep="first")
    return values.sort_values(VALUE_KEY, kind="stable").drop(columns="depth")


def _values_by_key(values: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    columns = [values[c].tolist() for c in (*VALUE_KEY, "value", "unit")]
    for key, attribute, channel, locale, value, unit in zip(*columns, strict=True):
        grouped[key].append(
            {
                "attribute_code": attribute,
                "channel": channel or None,
                "locale": locale or None,
                "value": load_json(value),
                "unit": unit if isinstance(unit, str) else None,  # pandas turns a missing unit into NaN
            }
        )
    return grouped


class CategoryIndex:
    """code -> {code, labels, parent}, loaded once per diff (category trees are small)."""

    def __init__(self, conn: Connection) -> None:
        self._described: dict[frozenset, list[dict[str, Any]]] = {}
        self.categories = {
            code: {"code": code, "labels": labels or {}, "parent": parent}
            for code, labels, parent in conn.execute(select(Category.code, Category.labels, Category.parent)).all()
        }

    def describe(self, codes: Iterable[str]) -> list[dict[str, Any]]:
        key = frozenset(codes)
        described = self._described.get(key)
        if described is None:  # products share a handful of category combinations: describe each once
            described = [self.categories.get(c, {"code": c, "labels": {}, "parent": None}) for c in sorted(key)]
            self._described[key] = described
        return described


def _models(conn: Connection, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Product models by code, with their ancestors (two levels at most in Akeneo)."""
    found: dict[str, dict[str, Any]] = {}
    wanted = {c for c in codes if c}
    for _ in range(2):
        wanted -= set(found)
        if not wanted:
            break
        for chunk in chunks(sorted(wanted), CHUNK):
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


def _categories_with_ancestors(row: dict[str, Any], chain: list[dict[str, Any]]) -> set[str]:
    codes = set(row["categories"] or [])
    for model in chain:
        codes |= set(model["categories"] or [])
    return codes


def _product(row: dict[str, Any], chain: list[dict[str, Any]], values: list[dict], categories: CategoryIndex) -> dict:
    return {
        "uuid": row["uuid"],
        "identifier": row["identifier"],
        "enabled": row["enabled"],
        "family": row["family"],
        "parent": row["parent"],
        "root_parent": chain[-1]["code"] if chain else None,
        "family_variant": chain[0]["family_variant"] if chain else None,
        "groups": row["groups"] or [],
        "completeness": None,
        "values": values,
        "categories": categories.describe(_categories_with_ancestors(row, chain)),
        "associations": row["associations"] or {},
        "quantified_associations": row["quantified_associations"] or {},
        "updated_at": _iso(row["updated"]),
    }


def _product_model(
    row: dict[str, Any], chain: list[dict[str, Any]], values: list[dict], categories: CategoryIndex, sets: list[dict]
) -> dict:
    level = len(chain) + 1
    return {
        "uuid": row["uuid"],
        "code": row["code"],
        "family": row["family"],
        "family_variant": row["family_variant"],
        "parent": row["parent"],
        "root_parent": chain[-1]["code"] if chain else None,
        "level": level,
        # Every axis below this model: what a configurable product varies on.
        "variant_axes": [axis for s in sets if (s.get("level") or 0) >= level for axis in s.get("axes", [])],
        "values": values,
        "categories": categories.describe(_categories_with_ancestors(row, chain)),
        "associations": row["associations"] or {},
        "quantified_associations": row["quantified_associations"] or {},
        "updated_at": _iso(row["updated"]),
    }


def _reference(entity_type: str, row: dict[str, Any]) -> dict:
    payload = {"uuid": row["uuid"], **{name: row[name] for name in get(entity_type).fields}}
    if "updated" in row:
        payload["updated_at"] = _iso(row["updated"])
    return payload


def _lookups(
    conn: Connection, entity_type: str, rows: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """What product and model payloads refer to: parent models (with ancestors), variant axes."""
    if entity_type not in VALUED:
        return {}, {}
    models = _models(conn, (r["parent"] for r in rows))
    axes = _axes(conn, (r["family_variant"] for r in rows)) if entity_type == "product_model" else {}
    return models, axes


def _assemble(
    entity_type: str,
    rows: list[dict[str, Any]],
    values: dict[str, list[dict]],
    categories: CategoryIndex,
    models: dict[str, dict[str, Any]],
    axes: dict[str, list[dict[str, Any]]],
) -> dict[str, dict]:
    if entity_type not in VALUED:
        return {row["uuid"]: _reference(entity_type, row) for row in rows}
    if entity_type == "product":
        return {
            r["uuid"]: _product(r, _chain(models, r["parent"]), values.get(r["uuid"], []), categories) for r in rows
        }
    return {
        r["uuid"]: _product_model(
            r, _chain(models, r["parent"]), values.get(r["uuid"], []), categories, axes.get(r["family_variant"], [])
        )
        for r in rows
    }


def _store_payloads(conn: Connection, entity_type: str, keys: Sequence[str], categories: CategoryIndex) -> dict:
    table = entity_table(get(entity_type))
    rows = [dict(r) for r in conn.execute(select(table).where(table.c.uuid.in_(keys))).mappings()]
    values = _values_by_key(effective_values(conn, entity_type, keys)) if entity_type in VALUED else {}
    return _assemble(entity_type, rows, values, categories, *_lookups(conn, entity_type, rows))


class StagedPayloads:
    """Payloads of just-written entities from their staged form: (key, fields, values JSON, updated).

    The same payloads the store would give, without reading back what was just written. Made in
    two steps so the diff can run SQL meanwhile: what the entities refer to is read on creation, so
    `own()` needs no connection; entities with a parent model inherit values, so `inheriting()`
    reads theirs from the store once the values are written.
    """

    def __init__(
        self,
        conn: Connection,
        entity_type: str,
        staged: Sequence[tuple[str, dict[str, Any], str | None, Any]],
        categories: CategoryIndex,
    ) -> None:
        self.entity_type, self.categories = entity_type, categories
        self.rows: list[dict[str, Any]] = []
        self.values_json: dict[str, str] = {}
        self.inheriting_keys: list[str] = []
        has_updated = "updated" in entity_table(get(entity_type)).c
        for key, fields, values_json, updated in staged:
            if entity_type in VALUED and fields.get("parent"):
                self.inheriting_keys.append(key)
                continue
            self.rows.append({"uuid": key, **fields, "updated": updated} if has_updated else {"uuid": key, **fields})
            if values_json:
                self.values_json[key] = values_json
        self.lookups = _lookups(conn, entity_type, self.rows)

    def own(self) -> dict[str, dict]:
        """Payloads of the entities without a parent model (no connection used). Each value's data is
        kept as the canonical JSON text it was staged as (`orjson.Fragment`): it is only written out."""
        values = {
            key: [
                {"attribute_code": a, "channel": c or None, "locale": loc or None, "value": Fragment(v), "unit": u}
                for a, c, loc, v, u in load_json(values_json)
            ]
            for key, values_json in self.values_json.items()
        }
        return _assemble(self.entity_type, self.rows, values, self.categories, *self.lookups)

    def inheriting(self, conn: Connection) -> dict[str, dict]:
        """Payloads of the entities with a parent model, read from the store."""
        return build(conn, self.entity_type, self.inheriting_keys, self.categories) if self.inheriting_keys else {}


def build(conn: Connection, entity_type: str, keys: Sequence[str], categories: CategoryIndex) -> dict[str, dict]:
    """Payloads of `keys` as the store holds them now (inside the caller's transaction)."""
    out: dict[str, dict] = {}
    for chunk in chunks(list(keys), CHUNK):
        out.update(_store_payloads(conn, entity_type, chunk, categories))
    return out


def identity(entity_type: str, key: str, code: str) -> dict[str, Any]:
    """The payload of a deleted entity: who it was (its last state is in `previous`)."""
    if entity_type == "product":
        return {"uuid": key, "identifier": code}
    return {"uuid": key, "code": code}
