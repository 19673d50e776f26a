"""State changes of webhook drops that belong to the sync (the receiver only inserts them)."""

from __future__ import annotations

from sqlalchemy import Connection, update

from iec_pipeline.catalog.staging import utcnow
from iec_pipeline.store.models import WebhookDrop

D = WebhookDrop.__table__


def mark_processed(conn: Connection, drops: str, run_id: str) -> None:
    """Drops `first-last` were applied by `run_id`: called in the diff's transaction."""
    first, _, last = drops.partition("-")
    conn.execute(
        update(D)
        .where(D.c.id >= int(first), D.c.id <= int(last), D.c.status == "new")
        .values(status="processed", processed_at=utcnow(), run_id=run_id)
    )
