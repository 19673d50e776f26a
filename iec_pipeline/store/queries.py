"""Read-only views of the store for the CLI and tests (`iec status`, `iec mutations`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from iec_pipeline.catalog.entities import ENTITY_TYPES
from iec_pipeline.store.db import read_engine as get_engine
from iec_pipeline.store.models import Mutation, MutationJob, SyncState


def _iso(value) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def store_status(url: str) -> dict[str, Any]:
    with get_engine(url).connect() as conn:
        store = {e.name: conn.execute(select(func.count()).select_from(e.table)).scalar_one() for e in ENTITY_TYPES}
        by_operation = dict(conn.execute(select(Mutation.operation, func.count()).group_by(Mutation.operation)).all())
        last_id = conn.execute(select(func.max(Mutation.id))).scalar()
        state = {
            row.entity_type: {
                "watermark": _iso(row.watermark),
                "last_sync_at": _iso(row.last_sync_at),
                "last_full_sync_at": _iso(row.last_full_sync_at),
                "last_mode": row.last_mode,
            }
            for row in conn.execute(select(SyncState))
        }
    return {
        "store": store,
        "mutations": {"total": sum(by_operation.values()), "last_id": last_id, **by_operation},
        "sync_state": state,
    }


def list_mutations(
    url: str, since: int | None = None, entity_type: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    query = select(
        Mutation.id,
        Mutation.entity_type,
        Mutation.entity_uuid,
        Mutation.code,
        Mutation.operation,
        Mutation.changed_fields,
        Mutation.created_at,
    ).order_by(Mutation.id)
    if since is not None:
        query = query.where(Mutation.id > since)
    if entity_type is not None:
        query = query.where(Mutation.entity_type == entity_type)
    if limit is not None:
        query = query.limit(limit)
    with get_engine(url).connect() as conn:
        return [
            {
                "id": row.id,
                "entity_type": row.entity_type,
                "entity_uuid": row.entity_uuid,
                "code": row.code,
                "operation": row.operation,
                "changed_fields": row.changed_fields,
                "created_at": _iso(row.created_at),
            }
            for row in conn.execute(query)
        ]


def list_jobs(
    url: str, status: str | None = None, integration: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    j = MutationJob
    query = select(
        j.id, j.mutation_id, j.integration, j.entity_type, j.code, j.operation, j.status, j.priority, j.queue,
        j.attempts, j.last_error,
    ).order_by(j.id)  # fmt: skip
    if status is not None:
        query = query.where(j.status == status)
    if integration is not None:
        query = query.where(j.integration == integration)
    if limit is not None:
        query = query.limit(limit)
    with get_engine(url).connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def job_counts(url: str) -> dict[str, dict[str, int]]:
    with get_engine(url).connect() as conn:
        rows = conn.execute(
            select(MutationJob.integration, MutationJob.status, func.count()).group_by(
                MutationJob.integration, MutationJob.status
            )
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for integration, status, n in rows:
        counts.setdefault(integration, {})[status] = n
    return counts
