"""Reading the store back in tests."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import String, select, text, type_coerce

from iec_pipeline.common.entity_types import ENTITY_TYPES, get
from iec_pipeline.common.settings import Settings
from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import CanonicalJSON, Mutation, ProductAttributeValue, entity_table
from iec_pipeline.store.resource import StoreResource

VOLATILE = {"fetched_at"}


def resource() -> StoreResource:
    """The store resource of the store this test's environment names (`IEC_DATABASE_URL`)."""
    return StoreResource(database_url=Settings.from_env().database_url)


def dump(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every store table as sorted rows, without timestamps that differ between runs."""
    out = {}
    with get_engine(url).connect() as conn:
        for entity in ENTITY_TYPES:
            rows = [
                {k: v for k, v in row.items() if k not in VOLATILE}
                for row in conn.execute(select(entity_table(entity))).mappings()
            ]
            out[entity.name] = sorted(rows, key=lambda r: r["uuid"])
        values = conn.execute(
            select(ProductAttributeValue.__table__).order_by(
                ProductAttributeValue.entity_uuid,
                ProductAttributeValue.attribute_code,
                ProductAttributeValue.channel,
                ProductAttributeValue.locale,
            )  # fmt: skip
        ).mappings()
        out["values"] = [{k: v for k, v in row.items() if k != "id"} for row in values]
    return out


def values_of(url: str, entity_uuid: str) -> dict[tuple[str, str, str], tuple[Any, str | None]]:
    pav = ProductAttributeValue
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            select(pav.attribute_code, pav.channel, pav.locale, pav.value, pav.unit).where(
                pav.entity_uuid == entity_uuid
            )
        ).all()
    return {(a, c, loc): (v, u) for a, c, loc, v, u in rows}


def row(url: str, entity_type: str, code: str) -> dict[str, Any] | None:
    entity = next(e for e in ENTITY_TYPES if e.name == entity_type)
    with get_engine(url).connect() as conn:
        table = entity_table(entity)
        found = conn.execute(select(table).where(table.c[entity.code_column] == code)).mappings().first()
    return dict(found) if found else None


def mutations(url: str, since: int = 0) -> list[dict[str, Any]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(select(Mutation.__table__).where(Mutation.id > since).order_by(Mutation.id)).mappings()
        return [dict(r) for r in rows]


def last_mutation_id(url: str) -> int:
    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM mutations")).scalar_one()


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def column_texts(url: str, entity_type: str) -> dict[str, list[str | None]]:
    """The stored text of every JSON column of an entity type's table, as the database holds it."""
    table = entity_table(get(entity_type))
    columns = [c for c in table.c if isinstance(c.type, CanonicalJSON)]
    with get_engine(url).connect() as conn:
        rows = conn.execute(select(*[type_coerce(c, String) for c in columns])).all()
    return {c.name: [row[i] for row in rows] for i, c in enumerate(columns)}
