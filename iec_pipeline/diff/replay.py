"""Replay: the current catalog, sent again to one integration (a new integration, one enabled again
after a pause, or a target rebuilt).

One `updated` mutation per current entity of the integration's types (and scope), carrying its full
state as the store holds it now and every field it carries, each with one job for that integration
only, in dependency order (attributes ... products: the claim's structure-first rule keeps it), at the
`*` priority unless told otherwise. An entity that already has an open job for the integration gets
none: that job delivers its newest state anyway. So a second replay while the first one's jobs are
pending adds nothing, and a replay that died halfway is finished by running it again. Each chunk of
entities is its own transaction (a long replay never holds the store's write lock for long).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, exists, select, update

from iec_pipeline.common.batches import chunks
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import ENTITY_TYPES, EntityType, get
from iec_pipeline.diff import changes, payloads
from iec_pipeline.diff.apply import MUTATION_COLUMNS
from iec_pipeline.diff.dependencies import dependencies
from iec_pipeline.routing import fanout
from iec_pipeline.routing.integrations import LoadedIntegration
from iec_pipeline.store.db import bulk_insert
from iec_pipeline.store.models import (
    Integration,
    IntegrationConnection,
    Mutation,
    MutationJob,
    canonical_json,
    entity_table,
)

OPEN = ("pending", "running")


@dataclass
class ReplayResult:
    sync_id: str
    by_entity_type: Counter = field(default_factory=Counter)
    already_open: int = 0  # entities skipped: a job of theirs is open already

    @property
    def jobs(self) -> int:
        return sum(self.by_entity_type.values())

    def as_json(self) -> dict:
        by_type = {name: n for name, n in self.by_entity_type.items() if n}
        return {"jobs": self.jobs, "by_entity_type": by_type, "already_open": self.already_open}


def replay(
    engine: Engine,
    integration: LoadedIntegration,
    entity_types: Sequence[str] | None = None,
    since: datetime | None = None,
    priority: int | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> ReplayResult:
    """Queues the current state of every entity `integration` takes (of `entity_types`; with `since`,
    only those with a mutation since then) for delivery to it alone."""
    spec = integration.spec
    wanted = [e for e in ENTITY_TYPES if e.name in spec.entity_types and (not entity_types or e.name in entity_types)]
    result = ReplayResult(f"replay:{spec.name}:{uuid.uuid4().hex[:12]}")
    for entity in wanted:
        with engine.connect() as conn:
            keys = _keys(conn, entity, spec.name, spec.scope == "connected", since)
        _queue(engine, integration, entity, keys, result, priority)
        if keys:
            progress(f"{entity.name}: {result.by_entity_type[entity.name]:,} queued of {len(keys):,}")
    if not entity_types or set(entity_types) >= set(spec.entity_types):
        with engine.begin() as conn:  # what it missed while disabled is on its way: no longer reported
            table = Integration.__table__
            caught_up = table.c.missed_since >= since if since is not None else table.c.missed_since.is_not(None)
            conn.execute(update(table).where(table.c.name == spec.name, caught_up).values(missed_since=None))
    return result


def send_connected(
    engine: Engine,
    integration: LoadedIntegration,
    entity_type: str,
    uuids: Sequence[str],
    progress: Callable[[str], None] = lambda line: None,
) -> ReplayResult:
    """A new connection: the connected entities' current state, and what they depend on (family,
    parent models, categories, attributes, options) that `integration` has not received yet."""
    spec = integration.spec
    result = ReplayResult(f"connect:{spec.name}:{uuid.uuid4().hex[:12]}")
    with engine.connect() as conn:
        needed = dependencies(conn, entity_type, uuids)
        received = _received(conn, spec.name, [k for keys in needed.values() for k in keys])
    for entity in ENTITY_TYPES:
        if entity.name not in needed or entity.name not in spec.entity_types:
            continue
        keys = sorted(needed[entity.name] - (received - set(uuids)))  # the connected ones are always sent
        _queue(engine, integration, entity, keys, result)
    progress(f"{spec.name}: {result.jobs:,} job(s) queued for the connection ({dict(result.by_entity_type)})")
    return result


def send_deletes(engine: Engine, integration: LoadedIntegration, entity_type: str, uuids: Sequence[str]) -> int:
    """A disconnection with `on_disconnect: delete`: a `deleted` job for `integration` alone per entity
    (its current state as `previous`); the entity stays in the store and in the other integrations."""
    entity = get(entity_type)
    sync_id = f"disconnect:{integration.name}:{uuid.uuid4().hex[:12]}"
    with engine.begin() as conn:
        current = payloads.build(conn, entity_type, list(uuids), payloads.CategoryIndex(conn))
        fields = changes.present_fields(entity, current)
        now = utcnow()
        rows = [
            (entity_type, key, str(state[entity.code_column]), "deleted",
             canonical_json(payloads.identity(entity_type, key, str(state[entity.code_column]))),
             canonical_json(state), canonical_json(fields[key]), sync_id, now)
            for key, state in current.items()
        ]  # fmt: skip
        bulk_insert(conn, "mutations", MUTATION_COLUMNS, rows)
        priority = integration.spec.priority_map.get("@deleted", integration.spec.default_priority())
        return fanout.queue_for(conn, integration, sync_id, list(current), priority=priority, now=now)


def _received(conn, integration: str, keys: list[str]) -> set[str]:
    """Entities the integration has had delivered (a successful job)."""
    jobs = MutationJob.__table__
    found: set[str] = set()
    for chunk in chunks(keys, 1000):
        query = select(jobs.c.entity_uuid).where(
            jobs.c.integration == integration, jobs.c.status == "success", jobs.c.entity_uuid.in_(chunk)
        )
        found.update(conn.execute(query).scalars())
    return found


def requeue(engine: Engine, integration: LoadedIntegration, entity_type: str, uuids: Sequence[str], why: str) -> int:
    """Jobs sending these entities' current state again to `integration` (e.g. to repair drift);
    returns how many (an entity with an open job gets none)."""
    result = ReplayResult(f"{why}:{integration.name}:{uuid.uuid4().hex[:12]}")
    _queue(engine, integration, get(entity_type), sorted(uuids), result)
    return result.jobs


def _queue(
    engine: Engine,
    integration: LoadedIntegration,
    entity: EntityType,
    keys: Sequence[str],
    result: ReplayResult,
    priority: int | None = None,
) -> None:
    """Queues `keys` (of one type) a chunk per transaction, counting into `result`."""
    for chunk in chunks(list(keys), payloads.CHUNK):
        with engine.begin() as conn:
            queued, skipped = _replay_chunk(conn, entity, integration, list(chunk), result.sync_id, priority)
        result.by_entity_type[entity.name] += queued
        result.already_open += skipped


def parse_since(text: str) -> datetime:
    """An ISO 8601 time (a date alone is its midnight), as the store's naive UTC."""
    when = datetime.fromisoformat(text)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).replace(tzinfo=None)


def _keys(conn, entity: EntityType, integration: str, connected_only: bool, since: datetime | None) -> list[str]:
    table = entity_table(entity)
    query = select(table.c.uuid).order_by(table.c.uuid)
    if connected_only:
        connections = IntegrationConnection.__table__
        query = query.where(
            exists(
                select(1).where(
                    connections.c.integration == integration,
                    connections.c.entity_type == entity.name,
                    connections.c.entity_uuid == table.c.uuid,
                )
            )
        )
    if since is not None:
        changed = select(1).where(
            Mutation.entity_type == entity.name, Mutation.entity_uuid == table.c.uuid, Mutation.created_at >= since
        )
        query = query.where(exists(changed))
    return list(conn.execute(query).scalars())


def _replay_chunk(
    conn, entity: EntityType, integration: LoadedIntegration, keys: list[str], sync_id: str, priority: int | None
) -> tuple[int, int]:
    jobs = MutationJob.__table__
    open_ = set(
        conn.execute(
            select(jobs.c.entity_uuid).where(
                jobs.c.integration == integration.name, jobs.c.status.in_(OPEN), jobs.c.entity_uuid.in_(keys)
            )
        ).scalars()
    )
    keys = [k for k in keys if k not in open_]
    if not keys:
        return 0, len(open_)
    current = payloads.build(conn, entity.name, keys, payloads.CategoryIndex(conn))
    fields = changes.present_fields(entity, current)
    now = utcnow()
    rows = [
        (entity.name, key, str(payload[entity.code_column]), "updated", canonical_json(payload), None,
         canonical_json(fields[key]), sync_id, now)
        for key, payload in current.items()
    ]  # fmt: skip
    bulk_insert(conn, "mutations", MUTATION_COLUMNS, rows)
    queued = fanout.queue_for(conn, integration, sync_id, keys, priority=priority, now=now)
    return queued, len(open_)
