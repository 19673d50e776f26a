"""Fan-out: one MutationJob per (new mutation, enabled integration that wants it), with its queue.

Runs inside the diff's transaction, so jobs exist exactly when their mutation does; the
(mutation_id, integration) unique key makes a repeated fan-out a no-op. Priority, as in IEC: the
smallest `priority_map` value among the mutation's changed fields, `*` otherwise; lower is more
urgent. `resolve_queue` is IEC's QueueResolver (config/queue-map.php).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from drivers.context import InMemoryMappings, IntegrationContext
from drivers.models import entity_uuid
from iec_pipeline.catalog.staging import utcnow
from iec_pipeline.delivery import hooks
from iec_pipeline.integrations import LoadedIntegration
from iec_pipeline.store.db import bulk_insert
from iec_pipeline.store.models import IntegrationConnection, Mutation, MutationJob, Product, ProductModel

if TYPE_CHECKING:  # pandas takes ~1 s to import: loaded only by the work that uses it
    import pandas as pd

QUEUE_MAP: tuple[tuple[int, str], ...] = (
    (50, "integrations-immediate"),
    (200, "integrations-normal"),
    (250, "integrations-low"),
)
LOWEST_QUEUE = "integrations-low"
QUEUES = tuple(dict.fromkeys(q for _, q in QUEUE_MAP))
# What must exist in a target before what: an option needs its attribute, a product its options,
# family (attribute set), categories and configurable.
TYPE_RANK = {
    "attribute": 0, "category": 0, "attribute_option": 1, "family": 1, "family_variant": 2, "product_model": 3,
    "product": 4,
}  # fmt: skip
JOB_COLUMNS = (
    "mutation_id", "integration", "entity_type", "entity_uuid", "lock_key", "order_key", "type_rank", "code",
    "operation", "status", "priority", "queue", "attempts", "next_attempt_at", "created_at", "updated_at",
    "hook_state", "last_error", "finished_at",
)  # fmt: skip


def resolve_queue(priority: int) -> str:
    for ceiling, queue in QUEUE_MAP:
        if priority <= ceiling:
            return queue
    return LOWEST_QUEUE


def dagster_priority(queue: str) -> int:
    """`dagster/priority` tag: higher runs first among queued runs."""
    return {"integrations-immediate": 100, "integrations-normal": 50, "integrations-low": 0}.get(queue, 0)


def priority_of(changed_fields: Iterable[str], priority_map: dict[str, int]) -> int:
    """Each changed field weighs its own entry, `*` if it has none; the most urgent wins."""
    default = priority_map.get("*", 150)
    return min((priority_map.get(f, default) for f in changed_fields), default=default)


def _priorities(mutations: pd.DataFrame, priority_map: dict[str, int]) -> pd.Series:
    """`priority_of` for every mutation at once: explode changed fields, map, take the minimum."""
    default = priority_map.get("*", 150)
    fields = mutations[["id", "changed_fields"]].explode("changed_fields")
    fields["priority"] = fields["changed_fields"].map(priority_map).fillna(default)
    best = fields.groupby("id")["priority"].min()
    return best.reindex(mutations["id"]).fillna(default).astype(int)


def order_key(entity_type: str, entity_uuid_: str, code: str) -> str:
    """Products are ordered by SKU across uuids (a SKU deleted and re-created is one target record)."""
    return entity_uuid("product_sku", code) if entity_type == "product" else entity_uuid_


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
        for chunk in range(0, len(uuids), 1000):
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
                .where(owner.c.uuid.in_(uuids.iloc[chunk : chunk + 1000].tolist()))
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
    """Sync `iec_diff_mutation_created` hooks: mutation id -> veto reason, for the vetoed ones."""
    if not hooks.hooks_for(integration.driver_class, "iec_diff_mutation_created", "sync"):
        return {}
    from iec_pipeline.delivery import mutation_jobs as ledger

    driver = integration.build_driver()
    context = IntegrationContext(integration.name, InMemoryMappings(integration.name))
    claims = [ledger.Claim(0, m, "", "", "", 0) for m in mutation_ids]
    vetoes = {}
    for mutation in ledger.load_mutations(conn, claims):
        reason = hooks.veto_reason_on_creation(driver, mutation, context)
        if reason is not None:
            vetoes[mutation.mutation_id] = f"vetoed by hook: {reason}"
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
    while rows := conn.execute(query.where(Mutation.id > last_id).order_by(Mutation.id).limit(5000)).all():
        last_id = rows[-1].id
        mutations = pd.DataFrame([tuple(r) for r in rows], columns=list(rows[0]._fields))
        for integration in enabled:
            spec = integration.spec
            wanted = mutations[mutations["entity_type"].isin(spec.entity_types)]
            if spec.scope == "connected" and not wanted.empty:
                connected = {
                    (t, u)
                    for t, u in conn.execute(
                        select(IntegrationConnection.entity_type, IntegrationConnection.entity_uuid).where(
                            IntegrationConnection.integration == spec.name
                        )
                    )
                }
                keys = list(zip(wanted["entity_type"], wanted["entity_uuid"], strict=True))
                wanted = wanted[[k in connected for k in keys]]
            if wanted.empty:
                continue
            priorities = _priorities(wanted, spec.priority_map)
            parked = hooks.creation_state(integration.driver_class)
            vetoes = _creation_vetoes(conn, integration, wanted["id"].tolist())
            jobs = []
            locks = _lock_keys(conn, wanted)
            for (m_id, entity_type, uuid, code, operation), priority in zip(
                wanted[["id", "entity_type", "entity_uuid", "code", "operation"]].itertuples(index=False),
                priorities.tolist(),
                strict=True,
            ):
                veto = vetoes.get(int(m_id))
                status = "superseded" if veto else "pending"
                queue = resolve_queue(int(priority))
                jobs.append(
                    (
                        int(m_id),
                        spec.name,
                        entity_type,
                        uuid,
                        locks[int(m_id)],
                        order_key(entity_type, uuid, code),
                        TYPE_RANK[entity_type],
                        code,
                        operation,
                        status,
                        int(priority),
                        queue,
                        0,
                        now,
                        now,
                        now,
                        parked,
                        veto,
                        now if veto else None,
                    )  # fmt: skip
                )
            existing = {
                m for (m,) in conn.execute(
                    select(MutationJob.mutation_id).where(
                        MutationJob.integration == spec.name, MutationJob.mutation_id.in_([j[0] for j in jobs])
                    )
                )
            }  # fmt: skip
            jobs = [j for j in jobs if j[0] not in existing]
            bulk_insert(conn, "mutation_jobs", JOB_COLUMNS, jobs)
            created += len(jobs)
    return created
