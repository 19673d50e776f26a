"""Read-only view of the recorded webhook drops (`iec drops [--since ID] --json`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import WebhookDrop


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def list_drops(database_url: str, since: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Drops in id order (ids only increase), after `since`; each `{id, event_id, type, entity_type,
    code_or_uuid, received_at, status}`, `received_at` in ISO 8601 UTC."""
    query = select(
        WebhookDrop.id,
        WebhookDrop.event_id,
        WebhookDrop.type,
        WebhookDrop.entity_type,
        WebhookDrop.code_or_uuid,
        WebhookDrop.received_at,
        WebhookDrop.status,
    ).order_by(WebhookDrop.id)
    if since is not None:
        query = query.where(WebhookDrop.id > since)
    if limit is not None:
        query = query.limit(limit)
    with get_engine(database_url).connect() as conn:
        return [
            {
                "id": row.id,
                "event_id": row.event_id,
                "type": row.type,
                "entity_type": row.entity_type,
                "code_or_uuid": row.code_or_uuid,
                "received_at": _iso(row.received_at),
                "status": row.status,
            }
            for row in conn.execute(query)
        ]
