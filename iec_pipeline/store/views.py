"""Read-only views of the store for the CLI and tests (`iec status`, `iec mutations`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, func, or_, select

from iec_pipeline.common.clock import iso_utc
from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.store.db import read_engine
from iec_pipeline.store.models import Integration, Mutation, MutationJob, SyncState, entity_table


def store_status(url: str) -> dict[str, Any]:
    with read_engine(url).connect() as conn:
        count = select(func.count())
        store = {e.name: conn.execute(count.select_from(entity_table(e))).scalar_one() for e in ENTITY_TYPES}
        by_operation = dict(conn.execute(select(Mutation.operation, func.count()).group_by(Mutation.operation)).all())
        last_id = conn.execute(select(func.max(Mutation.id))).scalar()
        state = {
            row.entity_type: {
                "watermark": iso_utc(row.watermark),
                "last_sync_at": iso_utc(row.last_sync_at),
                "last_full_sync_at": iso_utc(row.last_full_sync_at),
                "last_mode": row.last_mode,
            }
            for row in conn.execute(select(SyncState))
        }
        missed = missed_changes(conn)
    return {
        "store": store,
        "mutations": {"total": sum(by_operation.values()), "last_id": last_id, **by_operation},
        "sync_state": state,
        "missed_by_integrations": missed,
    }


def missed_changes(conn, enabled_again: Iterable[str] = ()) -> dict[str, str]:
    """Integrations that missed changes while disabled, and how to catch up: those the store knows
    enabled again (`missed_since`), and `enabled_again` ones (enabled in the file, still disabled here)."""
    table = Integration.__table__
    rows = conn.execute(
        select(table.c.name, table.c.entity_types, table.c.missed_since, table.c.disabled_at).where(
            or_(
                and_(table.c.enabled.is_(True), table.c.missed_since.is_not(None)),
                and_(table.c.name.in_(list(enabled_again)), table.c.disabled_at.is_not(None)),
            )
        )
    ).all()
    report = {}
    for name, entity_types, missed_since, disabled_at in rows:
        since = min(filter(None, (missed_since, disabled_at)))
        changes = conn.execute(
            select(func.count()).where(Mutation.created_at >= since, Mutation.entity_type.in_(entity_types or []))
        ).scalar_one()
        if changes:
            when = iso_utc(since)
            report[name] = (
                f"missed {changes:,} change(s) while disabled since {when}: "
                f"iec integrations replay {name} --since {when}"
            )
    return report


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
    with read_engine(url).connect() as conn:
        return [
            {
                "id": row.id,
                "entity_type": row.entity_type,
                "entity_uuid": row.entity_uuid,
                "code": row.code,
                "operation": row.operation,
                "changed_fields": row.changed_fields,
                "created_at": iso_utc(row.created_at),
            }
            for row in conn.execute(query)
        ]


def list_jobs(
    url: str, status: str | None = None, integration: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    jobs = MutationJob
    query = select(
        jobs.id, jobs.mutation_id, jobs.integration, jobs.entity_type, jobs.code, jobs.operation, jobs.status,
        jobs.priority, jobs.queue, jobs.attempts, jobs.last_error,
    ).order_by(jobs.id)  # fmt: skip
    if status is not None:
        query = query.where(jobs.status == status)
    if integration is not None:
        query = query.where(jobs.integration == integration)
    if limit is not None:
        query = query.limit(limit)
    with read_engine(url).connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def job_counts(url: str) -> dict[str, dict[str, int]]:
    with read_engine(url).connect() as conn:
        rows = conn.execute(
            select(MutationJob.integration, MutationJob.status, func.count()).group_by(
                MutationJob.integration, MutationJob.status
            )
        ).all()
    counts: dict[str, dict[str, int]] = {}
    for integration, status, n in rows:
        counts.setdefault(integration, {})[status] = n
    return counts
