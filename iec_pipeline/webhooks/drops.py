"""Webhook drops after the receiver wrote them: what waits for a refresh, marking them processed,
and the read view `iec drops` prints. (The receiver's writer only inserts them.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update

from iec_pipeline.common.clock import iso_utc, utcnow
from iec_pipeline.store.db import read_engine
from iec_pipeline.store.models import WebhookDrop

DROPS = WebhookDrop.__table__
# What a refresh needs of a drop.
REFRESH_COLUMNS = (
    DROPS.c.id, DROPS.c.entity_type, DROPS.c.code_or_uuid, DROPS.c.action, DROPS.c.occurred_at, DROPS.c.received_at,
)  # fmt: skip
_WAITING = and_(DROPS.c.status == "new", DROPS.c.entity_type.is_not(None))


def new_drops(conn: Connection, after_id: int, limit: int) -> list[Any]:
    """Drops no refresh has been asked for yet (ids after the sensor's cursor), oldest first."""
    query = select(*REFRESH_COLUMNS).where(DROPS.c.id > after_id, _WAITING).order_by(DROPS.c.id).limit(limit)
    return list(conn.execute(query).all())


def unprocessed_drops(conn: Connection, up_to_id: int, received_before: datetime, limit: int) -> list[Any]:
    """Drops a refresh was asked for but that are still `new`: that refresh failed."""
    query = (
        select(*REFRESH_COLUMNS)
        .where(DROPS.c.id <= up_to_id, _WAITING, DROPS.c.received_at < received_before)
        .order_by(DROPS.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).all())


def mark_processed(conn: Connection, drops: str, run_id: str) -> None:
    """Drops `first-last` were applied by `run_id`: called in the diff's transaction."""
    first, _, last = drops.partition("-")
    conn.execute(
        update(DROPS)
        .where(DROPS.c.id >= int(first), DROPS.c.id <= int(last), DROPS.c.status == "new")
        .values(status="processed", processed_at=utcnow(), run_id=run_id)
    )


def list_drops(database_url: str, since: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Drops in id order (ids only increase), after `since`; each `{id, event_id, type, entity_type,
    code_or_uuid, received_at, status}`, `received_at` in ISO 8601 UTC."""
    columns = (DROPS.c.id, DROPS.c.event_id, DROPS.c.type, DROPS.c.entity_type, DROPS.c.code_or_uuid,
               DROPS.c.received_at, DROPS.c.status)  # fmt: skip
    query = select(*columns).order_by(DROPS.c.id)
    if since is not None:
        query = query.where(DROPS.c.id > since)
    if limit is not None:
        query = query.limit(limit)
    with read_engine(database_url).connect() as conn:
        return [{**row._mapping, "received_at": iso_utc(row.received_at)} for row in conn.execute(query)]
