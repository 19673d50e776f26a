"""Mutations as drivers receive them (`MutationData`), read from the mutation log."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from drivers.models import MutationData
from iec_pipeline.store.models import Mutation

_COLUMNS = (
    Mutation.id, Mutation.entity_type, Mutation.entity_uuid, Mutation.code, Mutation.operation, Mutation.payload,
    Mutation.previous, Mutation.changed_fields, Mutation.created_at,
)  # fmt: skip


def read_mutations(conn: Connection, mutation_ids: Iterable[int]) -> dict[int, MutationData]:
    """Mutation id -> what a driver is handed for it."""
    rows = conn.execute(select(*_COLUMNS).where(Mutation.id.in_(sorted(set(mutation_ids))))).all()
    return {
        row.id: MutationData(
            mutation_id=row.id, entity_type=row.entity_type, entity_uuid=row.entity_uuid, code=row.code,
            operation=row.operation, payload=row.payload, changed_fields=sorted(set(row.changed_fields or [])),
            previous=row.previous, created_at=row.created_at,
        )  # fmt: skip
        for row in rows
    }
