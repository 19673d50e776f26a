"""Connections (the Izara notes' plugin-to-instance links): entities explicitly connected to an
integration whose scope is `connected`. Only those entities get jobs for it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from drivers.models import entity_uuid
from iec_pipeline.common.clock import utcnow
from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import IntegrationConnection, Product
from iec_pipeline.store.upsert import upsert


def _uuid(conn, entity_type: str, code: str) -> str:
    if entity_type != "product":
        return entity_uuid(entity_type, code)
    found = conn.execute(select(Product.uuid).where(Product.identifier == code)).scalar()
    if found is None and len(code) == 36 and code.count("-") == 4:
        return code  # a uuid given directly
    if found is None:
        raise LookupError(f"product {code!r} is not in the store (sync first, or give its uuid)")
    return found


def add(url: str, integration: str, entity_type: str, codes: list[str]) -> int:
    with get_engine(url).begin() as conn:
        rows = [
            {
                "integration": integration,
                "entity_type": entity_type,
                "entity_uuid": _uuid(conn, entity_type, code),
                "code": code,
                "created_at": utcnow(),
            }  # fmt: skip
            for code in codes
        ]
        upsert(conn, IntegrationConnection.__table__, rows, keys=("integration", "entity_type", "entity_uuid"))
    return len(rows)


def remove(url: str, integration: str, entity_type: str, codes: list[str]) -> int:
    table = IntegrationConnection.__table__
    with get_engine(url).begin() as conn:
        uuids = [_uuid(conn, entity_type, code) for code in codes]
        return conn.execute(
            delete(table).where(
                table.c.integration == integration, table.c.entity_type == entity_type, table.c.entity_uuid.in_(uuids)
            )
        ).rowcount


def list_connections(url: str, integration: str | None = None) -> list[dict[str, Any]]:
    table = IntegrationConnection.__table__
    query = select(table.c.integration, table.c.entity_type, table.c.code, table.c.entity_uuid).order_by(table.c.id)
    if integration is not None:
        query = query.where(table.c.integration == integration)
    with get_engine(url).connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
