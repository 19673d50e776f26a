"""The diff (IEC's EntityObserver + TracksEavChanges): staged snapshot vs store -> mutations.

Everything happens in ONE database transaction: the store is updated and the mutations are
written together, so a crash before the commit leaves both untouched (a re-run yields the same
mutations once) and a re-run after the commit finds nothing staged (no mutation twice).

Set-based, in four phases:
1. classify in SQL: staged entities are `create` (not in the store), `update` (content hash
   differs) or unchanged; deletions are store rows a complete fetch did not see, or named keys
   Akeneo no longer has. A snapshot older than what the store holds is ignored (stale guard),
   so an old sync finishing late never overwrites a newer refresh. Descendants of a changed
   product model are candidates too: they inherit its values.
2. record `previous` payloads of every candidate, before anything is written (a variant's
   previous state includes what it inherited from the old parent);
3. write the store in SQL: delete replaced rows, then INSERT..SELECT the staged rows and their values;
4. build current payloads and `changed_fields` (pandas merge of the two exploded payloads); a
   candidate whose payload did not change (e.g. a re-save) makes no mutation.

An item the fetch found byte-for-byte identical to the stored one (same raw hash) is staged lean,
without fields or values: it counts as seen (no deletion) and is never applied. In the rare case
another sync changed that entity in the store between this fetch and this diff, it is kept as the
other sync left it and logged; the next refresh, incremental or full sync of it settles it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    Integer,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from iec_pipeline.common.batches import chunks
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import ENTITY_TYPES, EntityType, get
from iec_pipeline.common.faults import crash_point
from iec_pipeline.diff import changes, payloads
from iec_pipeline.ingest import staging
from iec_pipeline.ingest.normalize import parse_akeneo_datetime
from iec_pipeline.store.db import bulk_insert
from iec_pipeline.store.models import (
    CanonicalJSON,
    Mutation,
    ProductAttributeValue,
    StagingChange,
    StagingEntity,
    StagingScope,
    SyncState,
    Tombstone,
    canonical_json,
    entity_table,
)
from iec_pipeline.store.upsert import upsert

STAGED = StagingEntity.__table__
TOMBSTONES = Tombstone.__table__
TOMBSTONE_DAYS = timedelta(days=7)  # longer than any sync runs
VALUE_COLUMNS = ("entity_type", "entity_uuid", "attribute_code", "channel", "locale", "value", "unit")
MUTATION_COLUMNS = (
    "entity_type", "entity_uuid", "code", "operation", "payload", "previous", "changed_fields", "sync_id", "created_at",
)  # fmt: skip
CHANGES = StagingChange.__table__
VALUES = ProductAttributeValue.__table__
ANALYZE_AFTER = 5000  # staged rows; below, a plan that reads them all per entity still costs little
ADVISORY_LOCK = 724_137_001  # one diff at a time on PostgreSQL (SQLite: BEGIN IMMEDIATE)

BeforeCommit = Callable[[Connection, "DiffResult"], Any]  # runs in the diff's transaction: fan-out, drops


class DiffError(RuntimeError):
    pass


@dataclass
class DiffResult:
    sync_id: str
    counts: dict[str, Counter] = field(default_factory=dict)  # entity type -> operation -> n
    unchanged: dict[str, int] = field(default_factory=dict)
    stale: dict[str, int] = field(default_factory=dict)
    field_counts: Counter = field(default_factory=Counter)
    sample: list[dict[str, Any]] = field(default_factory=list)
    first_id: int | None = None
    last_id: int | None = None
    types: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    def by_operation(self) -> Counter:
        total: Counter = Counter()
        for counter in self.counts.values():
            total.update(counter)
        return total


def _chunked(items):
    return chunks(items, payloads.CHUNK)


def _staged(sync_id: str, entity: EntityType):
    return and_(STAGED.c.sync_id == sync_id, STAGED.c.entity_type == entity.name)


def _dedupe(conn: Connection, sync_id: str, entity: EntityType) -> None:
    """Keeps the newest copy of an entity fetched twice in one sync (pages shift under edits)."""
    newest = select(func.max(STAGED.c.id)).where(_staged(sync_id, entity)).group_by(STAGED.c.key)
    conn.execute(delete(STAGED).where(_staged(sync_id, entity), STAGED.c.id.not_in(newest)))


def _classify(conn: Connection, sync_id: str, entity: EntityType) -> None:
    table = entity_table(entity)
    in_store = select(1).where(table.c.uuid == STAGED.c.key)
    differs = select(1).where(
        table.c.uuid == STAGED.c.key,
        table.c.content_hash != STAGED.c.content_hash,
        table.c.fetched_at <= STAGED.c.fetched_at,
    )
    full = and_(_staged(sync_id, entity), STAGED.c.fields.is_not(None))  # lean rows: unchanged when fetched
    # Deleted by a sync whose view is newer than this snapshot: a late, slower sync must not bring it back.
    buried = select(1).where(
        TOMBSTONES.c.entity_type == entity.name,
        TOMBSTONES.c.uuid == STAGED.c.key,
        TOMBSTONES.c.deleted_at > STAGED.c.fetched_at,
    )
    # Staged as presumed `create` (the store held none of the type when fetched): checked, not rewritten.
    presumed = and_(_staged(sync_id, entity), STAGED.c.action == "create")
    conn.execute(update(STAGED).where(presumed, or_(exists(in_store), exists(buried))).values(action=None))
    unmarked = and_(full, STAGED.c.action.is_(None))
    conn.execute(update(STAGED).where(unmarked, ~exists(in_store), ~exists(buried)).values(action="create"))
    conn.execute(update(STAGED).where(unmarked, exists(differs)).values(action="update"))


def _deletions(conn: Connection, sync_id: str, entity: EntityType, scope: StagingScope) -> list[tuple[str, str]]:
    """(key, code) of stored entities that Akeneo no longer has, as far as this fetch can tell."""
    table = entity_table(entity)
    code = table.c[entity.code_column]
    older = table.c.fetched_at < scope.started_at
    found: list[tuple[str, str]] = []
    if scope.scope == "full":
        seen = select(1).where(_staged(sync_id, entity), STAGED.c.key == table.c.uuid)
        found = conn.execute(select(table.c.uuid, code).where(~exists(seen), older)).all()
    elif scope.scope == "keys":
        staged = {k for (k,) in conn.execute(select(STAGED.c.key).where(_staged(sync_id, entity)))}
        missing = [k for k in scope.requested_keys or () if k not in staged]
        for chunk in _chunked(missing):
            found += conn.execute(select(table.c.uuid, code).where(table.c.uuid.in_(chunk), older)).all()
        # Announced by an event: deleted unless the store holds a newer state (events are unordered).
        # Compared on Akeneo's own clock (`updated`) when the entity has one; else on ours, a second
        # late (event times have whole seconds; an entity fetched and deleted within one is deleted).
        for key, when in (scope.deleted_keys or {}).items():
            deleted_at = parse_akeneo_datetime(when)
            if key in staged or deleted_at is None:
                continue
            ours = table.c.fetched_at < deleted_at + timedelta(seconds=1)
            if "updated" in table.c:
                ours = or_(
                    and_(table.c.updated.is_not(None), table.c.updated <= deleted_at),
                    and_(table.c.updated.is_(None), ours),
                )
            found += conn.execute(select(table.c.uuid, code).where(table.c.uuid == key, ours)).all()
    if scope.scope != "full":
        return sorted({(k, c) for k, c in found})
    # A complete fetch: a stored product whose identifier a new or renamed one now carries, and that the
    # fetch did not see under any identifier, is gone.
    again = STAGED.alias("again")
    taken = (
        select(table.c.uuid, code)
        .select_from(STAGED.join(table, code == STAGED.c.code))
        .where(
            _staged(sync_id, entity),
            STAGED.c.action.in_(("create", "update")),
            table.c.uuid != STAGED.c.key,
            ~exists(
                select(1).where(
                    again.c.sync_id == sync_id, again.c.entity_type == entity.name, again.c.key == table.c.uuid
                )
            ),
        )
    )
    found += conn.execute(taken).all()
    return sorted({(k, c) for k, c in found})


def _descendants(conn: Connection, model_codes: set[str]) -> dict[str, list[tuple[str, str]]]:
    """Products and sub-models below the given product models, as stored now: they inherit."""
    models = entity_table(get("product_model"))
    products = entity_table(get("product"))
    found: dict[str, list[tuple[str, str]]] = {"product_model": [], "product": []}
    if not model_codes:
        return found
    sub_codes: set[str] = set()
    for chunk in _chunked(sorted(model_codes)):
        rows = conn.execute(select(models.c.uuid, models.c.code).where(models.c.parent.in_(chunk))).all()
        found["product_model"] += rows
        sub_codes |= {c for _, c in rows}
    parents = sorted(model_codes | sub_codes)
    for chunk in _chunked(parents):
        found["product"] += conn.execute(
            select(products.c.uuid, products.c.identifier).where(products.c.parent.in_(chunk))
        ).all()
    return found


def _record_previous(
    conn: Connection, sync_id: str, entity: EntityType, rows: dict[str, tuple[str, str]], categories
) -> None:
    """Stores the pre-sync payload of every candidate (key -> (code, operation))."""
    keys = sorted(rows)
    for chunk in _chunked(keys):
        previous = payloads.build(conn, entity.name, chunk, categories)
        batch = [
            {
                "sync_id": sync_id,
                "entity_type": entity.name,
                "key": key,
                "code": rows[key][0],
                "operation": rows[key][1],
                "previous": previous[key],
            }
            for key in chunk
            if key in previous
        ]
        if batch:
            conn.execute(insert(StagingChange), batch)


def _entity_columns(entity: EntityType) -> tuple[str, ...]:
    """The store columns `_insert_staged` fills."""
    has_updated = "updated" in entity_table(entity).c
    return ("uuid", "content_hash", "raw_hash", "fetched_at", *(("updated",) if has_updated else ()), *entity.fields)


def _field(dialect: str, column, name: str) -> str:
    """SQL reading one staged field (from the entity's canonical `fields` JSON) as its store column holds it."""
    if dialect == "postgresql":
        if isinstance(column.type, CanonicalJSON):  # the json type keeps the staged (canonical) text
            return f"NULLIF((f.doc -> '{name}')::text, 'null')"
        cast = {Boolean: "::boolean", Integer: "::numeric::integer"}.get(type(column.type), "")
        return f"(f.doc ->> '{name}'){cast}"
    path = f"'$.\"{name}\"'"
    if not isinstance(column.type, CanonicalJSON):
        return f'json_extract(se."fields", {path})'  # strings as text, booleans as 1/0, numbers as numbers
    # JSON text of the value as staged (canonical); SQLite's json_extract unquotes scalars, so they are re-quoted.
    value = f'json_extract(se."fields", {path})'
    return (
        f"CASE json_type(se.\"fields\", {path}) WHEN 'object' THEN {value} WHEN 'array' THEN {value} "
        f"WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        f"WHEN 'text' THEN json_quote({value}) WHEN 'integer' THEN json_quote({value}) "
        f"WHEN 'real' THEN json_quote({value}) END"
    )


def _insert_staged(conn: Connection, sync_id: str, entity: EntityType, action: str, first: int, last: int) -> None:
    """Writes staged entities (ids `first`..`last` of one action) to their store table in one INSERT..SELECT:
    no Python per row, so the diff can run it on a helper thread while it builds payloads."""
    dialect = conn.dialect.name
    columns = _entity_columns(entity)
    staged = ["se.key" if c == "uuid" else f"se.{c}" for c in columns[: -len(entity.fields)]]  # same names there
    fields = [_field(dialect, entity_table(entity).c[name], name) for name in entity.fields]
    source = "staging_entities AS se"
    if dialect == "postgresql":  # the fields document parsed once per row
        source += ' CROSS JOIN LATERAL (SELECT se."fields"::json AS doc) AS f'
    conn.execute(
        text(
            f"INSERT INTO {entity_table(entity).name} ({', '.join(f'"{c}"' for c in columns)}) "
            f"SELECT {', '.join([*staged, *fields])} FROM {source} "
            "WHERE se.sync_id = :sync_id AND se.entity_type = :entity_type AND se.action = :action "
            "AND se.id BETWEEN :first AND :last"
        ),
        {"sync_id": sync_id, "entity_type": entity.name, "action": action, "first": first, "last": last},
    )


def _staged_rows(sync_id: str, entity: EntityType, action: str, *extra):
    """Staged rows of one action, with the store columns (values are copied in SQL) and `extra` ones."""
    return select(
        STAGED.c.id,
        STAGED.c.key,
        STAGED.c.content_hash,
        STAGED.c.raw_hash,
        STAGED.c.fetched_at,
        STAGED.c.updated,
        STAGED.c.fields,
        *extra,
    ).where(_staged(sync_id, entity), STAGED.c.action == action)


def _chunks_of(conn: Connection, query, size: int):
    """Keyset pagination over staged rows (ordered by id): bounded memory, no server-side cursor."""
    last_id = 0
    while part := conn.execute(query.where(STAGED.c.id > last_id).order_by(STAGED.c.id).limit(size)).all():
        last_id = part[-1].id
        yield part


def _insert_entities(conn: Connection, sync_id: str, entity: EntityType, action: str, first: int, last: int) -> None:
    """Writes staged entities (ids `first`..`last` of one action) and their values to the store, in SQL."""
    _insert_staged(conn, sync_id, entity, action, first, last)
    if entity.has_values:
        _copy_values(conn, sync_id, entity, action, first, last)


def _copy_values(conn: Connection, sync_id: str, entity: EntityType, action: str, first: int, last: int) -> None:
    """Explodes staged values into `product_attribute_values` in SQL (one row per value: no Python loop)."""
    if conn.dialect.name == "postgresql":
        elements = 'CROSS JOIN LATERAL json_array_elements(se."values"::json) AS v'
        columns = "v->>0, v->>1, v->>2, v->>3, v->>4"
    else:
        elements = ', json_each(se."values") AS v'
        columns = ", ".join(f"json_extract(v.value, '$[{i}]')" for i in range(5))
    conn.execute(
        text(
            f"INSERT INTO product_attribute_values ({', '.join(VALUE_COLUMNS)}) "
            f"SELECT se.entity_type, se.key, {columns} FROM staging_entities AS se {elements} "
            "WHERE se.sync_id = :sync_id AND se.entity_type = :entity_type AND se.action = :action "
            'AND se.id BETWEEN :first AND :last AND se."values" IS NOT NULL'
        ),
        {"sync_id": sync_id, "entity_type": entity.name, "action": action, "first": first, "last": last},
    )


def _write_store(conn: Connection, sync_id: str, entity: EntityType, with_creates: bool, deleted_at: datetime) -> None:
    """Deletes (leaving tombstones), replaces updated entities, refreshes `updated` of re-saved ones;
    creates unless streamed."""
    table = entity_table(entity)
    replaced = select(STAGED.c.key).where(_staged(sync_id, entity), STAGED.c.action.in_(("create", "update")))
    removed = select(CHANGES.c.key).where(
        CHANGES.c.sync_id == sync_id, CHANGES.c.entity_type == entity.name, CHANGES.c.operation == "deleted"
    )
    # One IN over both sets: with an OR of two, SQLite scanned every value row of the type, on every
    # sync, however few entities changed.
    gone = union_all(replaced, removed)
    conn.execute(delete(table).where(table.c.uuid.in_(gone)))
    if entity.has_values:
        conn.execute(delete(VALUES).where(VALUES.c.entity_type == entity.name, VALUES.c.entity_uuid.in_(gone)))
    removed_keys = [k for (k,) in conn.execute(removed)]
    for chunk in _chunked(removed_keys):
        upsert(conn, TOMBSTONES, [{"entity_type": entity.name, "uuid": k, "deleted_at": deleted_at} for k in chunk],
               keys=("entity_type", "uuid"))  # fmt: skip
    created = select(STAGED.c.key).where(_staged(sync_id, entity), STAGED.c.action == "create")
    conn.execute(delete(TOMBSTONES).where(TOMBSTONES.c.entity_type == entity.name, TOMBSTONES.c.uuid.in_(created)))
    for action in ("update", "create") if with_creates else ("update",):
        for part in _chunks_of(conn, _staged_rows(sync_id, entity, action), 2000):
            _insert_entities(conn, sync_id, entity, action, part[0].id, part[-1].id)
    # An unchanged entity fetched in full (its raw form changed, e.g. an option label in linked_data):
    # remember the new raw hash, so next time it is recognised without normalizing.
    _refresh_unchanged(
        conn, sync_id, entity, "raw_hash",
        STAGED.c.fields.is_not(None), STAGED.c.content_hash == table.c.content_hash,
        or_(table.c.raw_hash.is_(None), table.c.raw_hash != STAGED.c.raw_hash),
    )  # fmt: skip
    if "updated" in table.c:  # a re-save changes nothing but Akeneo's `updated`: keep the store's copy current
        _refresh_unchanged(
            conn, sync_id, entity, "updated",
            STAGED.c.updated.is_not(None), STAGED.c.fetched_at >= table.c.fetched_at,
            or_(table.c.updated.is_(None), STAGED.c.updated != table.c.updated),
        )  # fmt: skip


def _refresh_unchanged(conn: Connection, sync_id: str, entity: EntityType, column: str, *conditions) -> None:
    """Copies a staged column into the store for the entities this diff leaves unchanged."""
    table = entity_table(entity)
    matching = (
        select(STAGED.c.key)
        .select_from(STAGED.join(table, table.c.uuid == STAGED.c.key))
        .where(_staged(sync_id, entity), STAGED.c.action.is_(None), *conditions)
    )
    staged = (
        select(STAGED.c[column])
        .where(_staged(sync_id, entity), STAGED.c.key == table.c.uuid, STAGED.c.action.is_(None))
        .scalar_subquery()
    )
    conn.execute(update(table).where(table.c.uuid.in_(matching)).values({column: staged}))


class _MutationWriter:
    """Writes one entity type's mutation rows, counting them into the diff's result."""

    def __init__(self, conn: Connection, sync_id: str, entity: EntityType, result: DiffResult, now: datetime) -> None:
        self.conn, self.sync_id, self.entity, self.result, self.now = conn, sync_id, entity, result, now
        self.counts = result.counts.setdefault(entity.name, Counter())

    def row(self, key: str, code: str, operation: str, payload: Any, previous: Any, fields: list[str]) -> tuple:
        """A mutation row (`MUTATION_COLUMNS`), counted, its JSON as canonical text."""
        self.counts[operation] += 1
        self.result.field_counts.update(fields)
        if len(self.result.sample) < 10:
            self.result.sample.append(
                {"entity_type": self.entity.name, "code": code, "operation": operation, "changed_fields": fields}
            )
        return (
            self.entity.name, key, code, operation, canonical_json(payload),
            None if previous is None else canonical_json(previous), canonical_json(fields), self.sync_id, self.now,
        )  # fmt: skip

    def insert(self, rows: list[tuple]) -> None:
        bulk_insert(self.conn, "mutations", MUTATION_COLUMNS, rows)


def _emit(
    conn: Connection,
    sync_id: str,
    entity: EntityType,
    categories,
    result: DiffResult,
    now: datetime,
    stream_creates: bool,
) -> None:
    """Writes this entity type's mutations: deleted, then updated, then created.

    With `stream_creates`, created entities are written to the store here, chunk by chunk, each
    chunk read, written and turned into mutations in one pass (the bulk of a first sync).
    """
    writer = _MutationWriter(conn, sync_id, entity, result, now)
    recorded = select(CHANGES.c.key, CHANGES.c.code, CHANGES.c.previous).where(
        CHANGES.c.sync_id == sync_id, CHANGES.c.entity_type == entity.name
    )
    for operation in ("deleted", "updated"):
        rows = conn.execute(recorded.where(CHANGES.c.operation == operation).order_by(CHANGES.c.key)).all()
        for part in _chunked(rows):
            previous = {key: prev for key, _code, prev in part}
            codes = {key: code for key, code, _prev in part}
            if operation == "deleted":
                writer.insert(_deleted_rows(writer, previous, codes))
            else:
                writer.insert(_updated_rows(writer, conn, categories, previous, codes))
    _emit_created(conn, sync_id, entity, categories, writer, stream_creates)


def _deleted_rows(writer: _MutationWriter, previous: dict[str, Any], codes: dict[str, str]) -> list[tuple]:
    """A deletion carries the entity's identity and lists every field it had."""
    entity = writer.entity
    fields = changes.present_fields(entity, previous)
    return [
        writer.row(
            key, codes[key], "deleted", payloads.identity(entity.name, key, codes[key]), previous[key], fields[key]
        )  # fmt: skip
        for key in previous
    ]


def _updated_rows(
    writer: _MutationWriter, conn: Connection, categories, previous: dict[str, Any], codes: dict[str, str]
) -> list[tuple]:
    """An update carries the full current payload; a candidate whose payload did not change makes none."""
    entity = writer.entity
    current = payloads.build(conn, entity.name, list(previous), categories)
    fields = changes.changed_fields(entity, previous, current)
    return [
        writer.row(
            key, current[key].get(entity.code_column, codes[key]), "updated", current[key], previous[key], fields[key]
        )  # fmt: skip
        for key in previous
        if key in current and fields[key]
    ]


def _emit_created(
    conn: Connection, sync_id: str, entity: EntityType, categories, writer: _MutationWriter, stream_creates: bool
) -> None:
    """`created` mutations, chunk by chunk, their payloads built from the staged rows."""
    query = _staged_rows(sync_id, entity, "create", STAGED.c["values"], STAGED.c.code)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="iec-diff-sql") as background:
        for part in _chunks_of(conn, query, payloads.CHUNK):
            codes = {key: code for _id, key, *_rest, code in part}
            staged_part = [
                (key, fields_, values, updated) for _id, key, _h, _r, _f, updated, fields_, values, _c in part
            ]
            staged = payloads.StagedPayloads(conn, entity.name, staged_part, categories)  # reads what they refer to
            # The chunk is written to the store by plain SQL statements on a helper thread (the database
            # runs them without the GIL) while this thread makes its payloads in Python; `conn` is left
            # alone until they are done.
            writing = None
            if stream_creates:
                writing = background.submit(_insert_entities, conn, sync_id, entity, "create", part[0].id, part[-1].id)
            created = dict.fromkeys(codes)  # the mutation rows, in staged order
            for key, (payload, fields) in _with_fields(entity, staged.own()).items():
                created[key] = writer.row(key, codes[key], "created", payload, None, fields)
            if writing is not None:
                writing.result()
            for key, (payload, fields) in _with_fields(entity, staged.inheriting(conn)).items():
                created[key] = writer.row(key, codes[key], "created", payload, None, fields)
            writer.insert([row for row in created.values() if row is not None])


def _with_fields(entity: EntityType, current: dict[str, dict]) -> dict[str, tuple[dict, list[str]]]:
    """key -> (payload, every field it carries): what a `created` mutation records."""
    fields = changes.present_fields(entity, current)
    return {key: (payload, fields[key]) for key, payload in current.items()}


def _advance_watermarks(conn: Connection, scopes: dict[str, StagingScope], now: datetime) -> None:
    for name, scope in scopes.items():
        state = conn.execute(
            select(SyncState.entity_type, SyncState.watermark).where(SyncState.entity_type == name)
        ).first()
        values: dict[str, Any] = {"last_sync_at": now, "last_sync_id": scope.sync_id, "last_mode": scope.mode}
        if scope.mode in ("incremental", "full") and scope.max_updated is not None:
            # Never past the fetch's start on Akeneo's clock: the listing is ordered by uuid, not by
            # `updated`, so an item changed during a long fetch may have been passed already.
            reached = min(filter(None, [scope.max_updated, scope.server_started_at]))
            current = state.watermark if state is not None else None
            values["watermark"] = max(filter(None, [current, reached]))
        if scope.mode == "full":
            values["last_full_sync_at"] = now
        if state is None:
            conn.execute(insert(SyncState).values(entity_type=name, **values))
        else:
            conn.execute(update(SyncState).where(SyncState.entity_type == name).values(**values))


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})")


def _analyze_staging(engine: Engine, sync_id: str) -> None:
    """Refreshes PostgreSQL's statistics of staging after a large fetch, before the diff plans its joins on it.

    A fetch has just written every row (autovacuum, if on, analyzes a minute later at best): planned as if this
    sync had staged one row, a full sync's deletion check read every staged row again for each stored entity."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        staged = select(func.sum(StagingScope.fetched)).where(StagingScope.sync_id == sync_id)
        if (conn.execute(staged).scalar() or 0) >= ANALYZE_AFTER:
            conn.exec_driver_sql("ANALYZE staging_entities")


def apply_sync(
    engine: Engine,
    sync_id: str,
    log: Any = None,
    before_commit: BeforeCommit | None = None,
) -> DiffResult:
    """Applies what `sync_id` staged: store upsert + mutations, atomically."""
    log = log or logging.getLogger("iec.diff")
    result = DiffResult(sync_id)
    now = utcnow()
    _analyze_staging(engine, sync_id)
    with engine.begin() as conn:
        _lock(conn)
        with Session(bind=conn) as session:
            scopes = {
                s.entity_type: s for s in session.scalars(select(StagingScope).where(StagingScope.sync_id == sync_id))
            }
        if not scopes:
            log.info(f"sync {sync_id}: nothing staged (already applied, or nothing fetched)")
            if before_commit is not None:
                before_commit(conn, result)
            return result
        unfinished = sorted(name for name, s in scopes.items() if s.finished_at is None)
        if unfinished:
            raise DiffError(f"sync {sync_id}: fetch of {', '.join(unfinished)} did not finish; not applying")
        categories = payloads.CategoryIndex(conn)
        # 1. classify, 2. record previous state (before any write)
        candidates = {
            entity.name: _classify_entity(conn, sync_id, entity, scopes[entity.name], result, log)
            for entity in ENTITY_TYPES
            if entity.name in scopes
        }
        _add_descendants(conn, sync_id, candidates)
        order = [e for e in ENTITY_TYPES if e.name in scopes or e.name in candidates]
        result.types = [e.name for e in order if e.name in scopes]
        for entity in order:
            _record_previous(conn, sync_id, entity, candidates.get(entity.name, {}), categories)
        # 3. write the store and 4. record the mutations
        _write_and_emit(conn, sync_id, scopes, order, categories, result, now)
        if before_commit is not None:
            before_commit(conn, result)
        crash_point("diff.before_commit")
        _advance_watermarks(conn, scopes, now)
        conn.execute(delete(TOMBSTONES).where(TOMBSTONES.c.deleted_at < now - TOMBSTONE_DAYS))
        staging.clear(conn, sync_id)
    crash_point("diff.after_commit")
    return result


def _classify_entity(
    conn: Connection, sync_id: str, entity: EntityType, scope: StagingScope, result: DiffResult, log: Any
) -> dict[str, tuple[str, str]]:
    """Classifies one type's staged rows; returns its candidates: key -> (code, "updated" | "deleted")."""
    _dedupe(conn, sync_id, entity)
    _classify(conn, sync_id, entity)
    staged = _staged(sync_id, entity)
    rows = {
        key: (code, "updated")
        for key, code in conn.execute(select(STAGED.c.key, STAGED.c.code).where(staged, STAGED.c.action == "update"))
    }
    rows.update({key: (code, "deleted") for key, code in _deletions(conn, sync_id, entity, scope)})
    staged_total, staged_changed = conn.execute(select(func.count(), func.count(STAGED.c.action)).where(staged)).one()
    result.unchanged[entity.name] = staged_total - staged_changed
    table = entity_table(entity)
    unapplied = conn.execute(
        select(func.count()).where(
            staged,
            STAGED.c.fields.is_(None),
            exists(
                select(1).where(
                    table.c.uuid == STAGED.c.key,
                    table.c.content_hash != STAGED.c.content_hash,
                    table.c.fetched_at <= STAGED.c.fetched_at,
                )
            ),
        )
    ).scalar_one()
    if unapplied:  # another sync changed them between this fetch and this diff: see the module docstring
        log.warning(f"{entity.name}: {unapplied} unchanged item(s) changed in the store meanwhile; kept")
    result.stale[entity.name] = conn.execute(
        select(func.count()).where(
            staged,
            STAGED.c.action.is_(None),
            exists(select(1).where(table.c.uuid == STAGED.c.key, table.c.fetched_at > STAGED.c.fetched_at)),
        )
    ).scalar_one()
    return rows


def _add_descendants(conn: Connection, sync_id: str, candidates: dict[str, dict[str, tuple[str, str]]]) -> None:
    """Deleting a product model in Akeneo deletes what hangs below it; a changed one changes what inherits."""
    changed_models = {code for code, _op in candidates.get("product_model", {}).values()}
    changed_models |= {
        code
        for (code,) in conn.execute(
            select(STAGED.c.code).where(_staged(sync_id, get("product_model")), STAGED.c.action == "create")
        )
    }
    removed_models = {code for code, op in candidates.get("product_model", {}).values() if op == "deleted"}
    for operation, codes in (("deleted", removed_models), ("updated", changed_models - removed_models)):
        for name, rows in _descendants(conn, codes).items():
            if not rows:
                continue
            handled = select(STAGED.c.key).where(_staged(sync_id, get(name)), STAGED.c.action.is_not(None))
            staged = {k for (k,) in conn.execute(handled)}
            below = {k: (c, operation) for k, c in rows if k not in staged}
            if below:
                target = candidates.setdefault(name, {})
                for key, value in below.items():
                    target.setdefault(key, value)


def _write_and_emit(
    conn: Connection,
    sync_id: str,
    scopes: dict[str, StagingScope],
    order: list[EntityType],
    categories: payloads.CategoryIndex,
    result: DiffResult,
    now: datetime,
) -> None:
    """Writes the store and records the mutations, type by type in dependency order: a type's payloads
    only read types written before it (a product its models, categories, family variants)."""
    first_before = conn.execute(select(func.max(Mutation.id))).scalar()
    for entity in order:
        stream = entity.name in scopes and entity.streams_creates
        started = (
            scopes[entity.name].started_at if entity.name in scopes else min(s.started_at for s in scopes.values())
        )
        _write_store(conn, sync_id, entity, with_creates=not stream, deleted_at=started)
        _emit(conn, sync_id, entity, categories, result, now, stream_creates=stream)
        if entity.name == "category":  # what products and models describe from now on
            categories = payloads.CategoryIndex(conn)
    last = conn.execute(select(func.max(Mutation.id))).scalar()
    first = (first_before or 0) + 1
    if last is not None and last >= first:
        result.first_id, result.last_id = first, last
