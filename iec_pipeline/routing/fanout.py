"""Fan-out: one MutationJob per (new mutation, enabled integration that wants it), with its queue.

Runs inside the diff's transaction, so jobs exist exactly when their mutation does; the
(mutation_id, integration) unique key makes a repeated fan-out a no-op. Priority and queue: see
`routing.queues`; a new job of an entity with pending jobs takes the most urgent of their
priorities (the claim folds them into its delivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select, text

from drivers import hooks
from drivers.context import InMemoryMappings, IntegrationContext
from iec_pipeline.common.batches import chunks
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import BY_NAME, entity_uuid
from iec_pipeline.routing.integrations import LoadedIntegration
from iec_pipeline.routing.mutations import read_mutations
from iec_pipeline.routing.queues import DEFAULT_PRIORITY, WHOLE_ENTITY, resolve_queue
from iec_pipeline.store.db import bulk_insert
from iec_pipeline.store.models import IntegrationConnection, Mutation, MutationJob, Product, ProductModel

if TYPE_CHECKING:  # pandas is heavy to import: loaded only by the work that uses it
    import pandas as pd

JOB_COLUMNS = (
    "mutation_id", "integration", "entity_type", "entity_uuid", "lock_key", "order_key", "type_rank", "code",
    "operation", "status", "priority", "queue", "attempts", "next_attempt_at", "created_at", "updated_at",
    "hook_state", "last_error", "finished_at",
)  # fmt: skip
MUTATIONS_PER_READ = 5000
# One index seek per entity (ix_mutation_jobs_entity). Without planner statistics (autovacuum off, or jobs this
# transaction just wrote) PostgreSQL costs that index and ix_mutation_jobs_pending alike when both match the status,
# and read every pending job of the integration for each chunk: the status is checked after the seek instead.
PENDING_BY_ENTITY = text(
    "SELECT k.uuid, (SELECT min(j.priority) FILTER (WHERE j.status = 'pending') FROM mutation_jobs AS j"
    " WHERE j.integration = :integration AND j.entity_uuid = k.uuid)"
    " FROM unnest(CAST(:uuids AS varchar[])) AS k(uuid)"
)


def _priorities(mutations: pd.DataFrame, priority_map: dict[str, int]) -> pd.Series:
    """`priority_of` for every mutation at once: explode changed fields, map, take the minimum; a
    created or deleted entity weighs `@created` / `@deleted` (else `*`) whatever its fields."""
    default = priority_map.get("*", DEFAULT_PRIORITY)
    fields = mutations[["id", "changed_fields"]].explode("changed_fields")
    fields["priority"] = fields["changed_fields"].map(priority_map).fillna(default)
    best = fields.groupby("id")["priority"].min().reindex(mutations["id"]).fillna(default)
    operations = mutations.set_index("id")["operation"] if "operation" in mutations else None
    if operations is not None:
        for operation in WHOLE_ENTITY:
            best[operations == operation] = priority_map.get(f"@{operation}", default)
    return best.astype(int)


def _pending_priorities(conn: Connection, integration: str, uuids: list[str]) -> dict[str, int]:
    """The most urgent priority among each entity's pending jobs: a new job of the entity folds them
    into its delivery (the claim takes the newest), so it inherits their urgency and queue."""
    jobs = MutationJob.__table__
    found: dict[str, int] = {}
    for chunk in chunks(uuids, 1000):
        if conn.dialect.name == "postgresql":
            rows = conn.execute(PENDING_BY_ENTITY, {"integration": integration, "uuids": chunk}).all()
            found.update((uuid, priority) for uuid, priority in rows if priority is not None)
            continue
        found.update(
            conn.execute(
                select(jobs.c.entity_uuid, func.min(jobs.c.priority))
                .where(jobs.c.integration == integration, jobs.c.status == "pending", jobs.c.entity_uuid.in_(chunk))
                .group_by(jobs.c.entity_uuid)
            ).all()
        )
    return found


def order_key(entity_type: str, uuid: str, code: str) -> str:
    """Products are ordered by SKU across uuids (a SKU deleted and re-created is one target record)."""
    return entity_uuid("product_sku", code) if entity_type == "product" else uuid


def _lock_keys(conn: Connection, mutations: pd.DataFrame) -> dict[int, str]:
    """Mutation id -> the record its delivery writes: a variant or sub-model locks its root model (its
    configurable), so no two runs write one configurable at once; everything else locks itself."""
    keys = dict(zip(mutations["id"].tolist(), mutations["entity_uuid"].tolist(), strict=True))
    valued = mutations[mutations["entity_type"].isin(["product", "product_model"])]
    if valued.empty:
        return keys
    products, models = Product.__table__, ProductModel.__table__
    parent, grandparent = models.alias("parent"), models.alias("grandparent")
    roots: dict[str, str] = {}
    for owner in (products, models):
        uuids = valued.loc[
            valued["entity_type"] == ("product" if owner is products else "product_model"), "entity_uuid"
        ]
        for chunk in chunks(uuids.tolist(), 1000):
            root = func.coalesce(grandparent.c.code, parent.c.code)
            if owner is models:
                root = func.coalesce(root, owner.c.code)
            rows = conn.execute(
                select(owner.c.uuid, root)
                .select_from(
                    owner.outerjoin(parent, parent.c.code == owner.c.parent).outerjoin(
                        grandparent, grandparent.c.code == parent.c.parent
                    )
                )
                .where(owner.c.uuid.in_(chunk))
            )
            roots.update({u: code for u, code in rows if code})
    deleted = valued[valued["operation"] == "deleted"]
    if not deleted.empty:  # gone from the store: their last state says where they hung
        for m_id, entity_type, previous in conn.execute(
            select(Mutation.id, Mutation.entity_type, Mutation.previous).where(Mutation.id.in_(deleted["id"].tolist()))
        ):
            root = (previous or {}).get("root_parent") or (
                (previous or {}).get("code") if entity_type == "product_model" else None
            )
            if root:
                keys[m_id] = entity_uuid("product_model", root)
    for m_id, uuid in zip(valued["id"].tolist(), valued["entity_uuid"].tolist(), strict=True):
        if uuid in roots:
            keys[m_id] = entity_uuid("product_model", roots[uuid])
    return keys


def _creation_vetoes(conn: Connection, integration: LoadedIntegration, mutation_ids: list[int]) -> dict[int, str]:
    """Sync creation hooks: mutation id -> veto reason, for the vetoed ones."""
    if not hooks.hooks_for(integration.driver_class, hooks.CREATED, "sync"):
        return {}
    driver = integration.build_driver()
    context = IntegrationContext(integration.name, InMemoryMappings(integration.name))
    vetoes = {}
    for mutation_id, mutation in read_mutations(conn, mutation_ids).items():
        reason = hooks.veto_on_creation(driver, mutation, context)
        if reason is not None:
            vetoes[mutation_id] = f"vetoed by hook: {reason}"
    return vetoes


def fan_out(
    conn: Connection, sync_id: str, integrations: Sequence[LoadedIntegration], now: datetime | None = None
) -> int:
    """Creates the jobs of every mutation of `sync_id`; returns how many."""
    enabled = [i for i in integrations if i.spec.enabled]
    if not enabled:
        return 0
    import pandas as pd

    now = now or utcnow()
    created = 0
    last_id = 0
    query = select(Mutation.id, Mutation.entity_type, Mutation.entity_uuid, Mutation.code, Mutation.operation,
                   Mutation.changed_fields).where(Mutation.sync_id == sync_id)  # fmt: skip
    query = query.order_by(Mutation.id).limit(MUTATIONS_PER_READ)
    while rows := conn.execute(query.where(Mutation.id > last_id)).all():
        last_id = rows[-1].id
        mutations = pd.DataFrame([tuple(r) for r in rows], columns=list(rows[0]._fields))
        for integration in enabled:
            wanted = _wanted(conn, integration, mutations)
            if not wanted.empty:
                created += _insert_new(conn, integration.name, _job_rows(conn, integration, wanted, now))
    return created


def queue_for(
    conn: Connection,
    integration: LoadedIntegration,
    sync_id: str,
    entity_uuids: Sequence[str],
    priority: int | None = None,
    now: datetime | None = None,
) -> int:
    """Jobs for ONE integration of the mutations `sync_id` recorded for these entities (a replay, a
    new connection), at `priority` when given, else at `*`; returns how many."""
    import pandas as pd

    query = select(Mutation.id, Mutation.entity_type, Mutation.entity_uuid, Mutation.code, Mutation.operation,
                   Mutation.changed_fields).where(Mutation.sync_id == sync_id)  # fmt: skip
    created = 0
    for chunk in chunks(list(entity_uuids), 1000):
        rows = conn.execute(query.where(Mutation.entity_uuid.in_(chunk)).order_by(Mutation.id)).all()
        if rows:
            mutations = pd.DataFrame([tuple(r) for r in rows], columns=list(rows[0]._fields))
            whole = priority if priority is not None else integration.spec.default_priority()
            jobs = _job_rows(conn, integration, mutations, now or utcnow(), whole)
            created += _insert_new(conn, integration.name, jobs)
    return created


def _wanted(conn: Connection, integration: LoadedIntegration, mutations: pd.DataFrame) -> pd.DataFrame:
    """The mutations this integration takes: its entity types, and for `scope: connected` its connections."""
    spec = integration.spec
    wanted = mutations[mutations["entity_type"].isin(spec.entity_types)]
    if spec.scope != "connected" or wanted.empty:
        return wanted
    connections = IntegrationConnection.__table__
    connected = {
        (entity_type, uuid)
        for entity_type, uuid in conn.execute(
            select(connections.c.entity_type, connections.c.entity_uuid).where(connections.c.integration == spec.name)
        )
    }
    keys = zip(wanted["entity_type"], wanted["entity_uuid"], strict=True)
    return wanted[[key in connected for key in keys]]


def _job_rows(
    conn: Connection, integration: LoadedIntegration, wanted: pd.DataFrame, now: datetime, priority: int | None = None
) -> list[tuple]:
    """One `JOB_COLUMNS` row per wanted mutation: its priority (`priority` for all, when given), queue,
    lock and order keys, hook state."""
    spec = integration.spec
    by_fields = priority is None
    priorities = _priorities(wanted, spec.priority_map).tolist() if by_fields else [priority] * len(wanted)
    pending = _pending_priorities(conn, spec.name, wanted["entity_uuid"].tolist())
    parked = hooks.creation_state(integration.driver_class)
    vetoes = _creation_vetoes(conn, integration, wanted["id"].tolist())
    locks = _lock_keys(conn, wanted)
    columns = wanted[["id", "entity_type", "entity_uuid", "code", "operation"]].itertuples(index=False)
    rows = []
    for (mutation_id, entity_type, uuid, code, operation), priority in zip(columns, priorities, strict=True):
        mutation_id, priority = int(mutation_id), min(int(priority), pending.get(uuid, int(priority)))
        veto = vetoes.get(mutation_id)
        rows.append((
            mutation_id, spec.name, entity_type, uuid, locks[mutation_id], order_key(entity_type, uuid, code),
            BY_NAME[entity_type].rank, code, operation, "superseded" if veto else "pending", priority,
            resolve_queue(priority, integration.queue_map), 0, now, now, now, parked, veto, now if veto else None,
        ))  # fmt: skip
    return rows


def _insert_new(conn: Connection, integration: str, rows: list[tuple]) -> int:
    """Inserts the rows whose (mutation, integration) has no job yet; returns how many."""
    return bulk_insert(conn, "mutation_jobs", JOB_COLUMNS, rows, skip_existing=True)
