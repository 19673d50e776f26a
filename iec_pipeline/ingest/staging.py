"""Staging: what a sync fetched, page by page, before the diff applies it to the store.

Whole pages are written per transaction (a few at a time), so a failure mid-pagination leaves whole
pages only, and the diff never runs on an incomplete fetch (its fetch asset failed). A fetch asset
that runs again for the same sync (Dagster re-execution keeps the root run id) starts its entity
type from scratch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, delete, func, insert, select, update

from iec_pipeline.common.entity_types import get
from iec_pipeline.ingest.normalize import Normalized, item_key, normalize, parse_akeneo_datetime, raw_hash
from iec_pipeline.store.db import bulk_insert, relaxed
from iec_pipeline.store.models import (
    StagingChange,
    StagingEntity,
    StagingScope,
    entity_table,
)

STALE_AFTER = timedelta(days=2)
# Staged rows per transaction. One transaction per page was most of what a re-sync spends writing;
# a crash loses at most these pages, which the retried fetch redoes.
FLUSH_ROWS = 1000
ENTITY_COLUMNS = (
    "sync_id", "entity_type", "key", "code", "content_hash", "raw_hash", "updated", "fetched_at", "fields", "values",
    "action",
)  # fmt: skip


@dataclass(frozen=True)
class Unchanged:
    """An item identical to what the store holds: staged lean (no fields, no values), so that a full
    sync still sees it (no deletion) at a fraction of the cost."""

    key: str
    code: str
    content_hash: str
    raw_hash: str
    updated: datetime | None


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# What a stager has counted so far: handed to a staging worker and back (see `stage_worker`).
COUNTERS = ("fetched", "pages", "values", "unchanged", "server_started_at", "max_updated", "sample")


class Stager:
    """Writes one entity type's fetched pages for one sync. Thread-safe (one writer at a time)."""

    def __init__(self, engine: Engine, sync_id: str, entity_type: str) -> None:
        self.engine, self.sync_id, self.entity_type = relaxed(engine), sync_id, entity_type
        self.fetched = 0
        self.pages = 0
        self.values = 0
        self.unchanged = 0
        self.server_started_at: datetime | None = None  # Akeneo's clock when the first page came back
        self.max_updated: datetime | None = None
        self.sample: list[str] = []
        self._lock = threading.Lock()
        self._pending: list[tuple] = []  # whole pages not yet written (see FLUSH_ROWS)
        self._store_empty: bool | None = None  # a first sync has nothing to compare with: no lookups

    def begin(
        self,
        mode: str,
        scope: str,
        requested_keys: Sequence[str] | None = None,
        window: tuple[datetime | None, datetime | None] = (None, None),
        deleted: dict[str, str] | None = None,
    ) -> None:
        """Declares what this fetch covers, replacing anything an earlier attempt staged."""
        key = (StagingScope.sync_id == self.sync_id) & (StagingScope.entity_type == self.entity_type)
        with self.engine.begin() as conn:
            conn.execute(
                delete(StagingEntity).where(
                    (StagingEntity.sync_id == self.sync_id) & (StagingEntity.entity_type == self.entity_type)
                )
            )
            conn.execute(delete(StagingScope).where(key))
            conn.execute(
                insert(StagingScope).values(
                    sync_id=self.sync_id,
                    entity_type=self.entity_type,
                    scope=scope,
                    mode=mode,
                    requested_keys=list(requested_keys) if requested_keys is not None else None,
                    deleted_keys=deleted,
                    window_start=window[0],
                    window_end=window[1],
                    started_at=utcnow(),
                    fetched=0,
                    pages=0,
                )
            )

    def write_page(
        self, items: Sequence[Normalized], unchanged: Sequence[Unchanged] = (), fetched_at: datetime | None = None
    ) -> None:
        """One page: normalized items in full, unchanged ones lean, written with the next pages (whole
        pages per transaction). `fetched_at` is when the page was requested: what the stale guard compares."""
        if not items and not unchanged:
            return
        fetched_at = fetched_at or utcnow()
        sync, kind = self.sync_id, self.entity_type
        rows = []
        values = 0
        # While the store holds none of this type (a first sync), every item is presumably new: staged as a
        # `create`, which the diff checks again instead of marking 50,000 wide rows itself.
        presumed = "create" if self._store_empty else None
        for item in items:
            fields, encoded_values, content_hash = item.encoded()
            rows.append((sync, kind, item.key, item.code, content_hash, item.raw_hash, item.updated, fetched_at,
                         fields, encoded_values, presumed))  # fmt: skip
            values += len(item.values)
        rows += [
            (sync, kind, u.key, u.code, u.content_hash, u.raw_hash, u.updated, fetched_at, None, None, None)
            for u in unchanged
        ]
        with self._lock:
            self._pending.extend(rows)
            self.fetched += len(rows)
            self.unchanged += len(unchanged)
            self.pages += 1
            self.values += values
            for updated in [i.updated for i in items] + [u.updated for u in unchanged]:
                if updated is not None and (self.max_updated is None or updated > self.max_updated):
                    self.max_updated = updated
            if len(self.sample) < 5:
                self.sample.extend(code for code in [i.code for i in items] + [u.code for u in unchanged])
                del self.sample[5:]
            if len(self._pending) >= FLUSH_ROWS:
                self._flush()

    def counters(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COUNTERS}

    def adopt(self, counters: dict[str, Any]) -> None:
        """Takes over what another stager of the same fetch counted (its pages are written)."""
        for name in COUNTERS:
            setattr(self, name, counters[name])

    def flush(self) -> None:
        """Writes the pages held so far."""
        with self._lock:
            self._flush()

    def _flush(self) -> None:
        """Writes the pages held so far in one transaction (the caller holds the lock)."""
        if not self._pending:
            return
        with self.engine.begin() as conn:
            bulk_insert(conn, "staging_entities", ENTITY_COLUMNS, self._pending)
            conn.execute(
                update(StagingScope)
                .where((StagingScope.sync_id == self.sync_id) & (StagingScope.entity_type == self.entity_type))
                .values(fetched=self.fetched, pages=self.pages)
            )
        self._pending = []

    def stored_hashes(self, keys: Sequence[str]) -> dict[str, tuple[str | None, str, str]]:
        """key -> (raw hash, content hash, code) of the entities the store already holds."""
        if not keys:
            return {}
        table = entity_table(get(self.entity_type))
        code = table.c[get(self.entity_type).code_column]
        with self.engine.execution_options(iec_read_only=True).connect() as conn:
            if self._store_empty is None:
                self._store_empty = conn.execute(select(table.c.uuid).limit(1)).first() is None
            if self._store_empty:  # an item stored meanwhile by another sync is only normalized in full
                return {}
            # Once per page: plain SQL, without compiling a statement for each page's 100 keys.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            rows = conn.exec_driver_sql(
                f'SELECT uuid, raw_hash, content_hash, "{code.name}" FROM "{table.name}" '
                f"WHERE uuid IN ({', '.join([mark] * len(keys))})",
                tuple(keys),
            ).all()
        return {key: (raw, content, code_) for key, raw, content, code_ in rows}

    def finish(self) -> None:
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(
                update(StagingScope)
                .where((StagingScope.sync_id == self.sync_id) & (StagingScope.entity_type == self.entity_type))
                .values(finished_at=utcnow(), max_updated=self.max_updated, server_started_at=self.server_started_at)
            )


def types_fingerprint(types: dict[str, str]) -> str:
    """Normalization depends on attribute types: a changed type invalidates every raw hash."""
    return hashlib.sha1(json.dumps(sorted(types.items())).encode()).hexdigest() if types else ""


def _with_parent(entity_type: str, path: str, item: dict[str, Any]) -> dict[str, Any]:
    """Options and family variants do not always name their parent: take it from the path."""
    if entity_type == "attribute_option" and not item.get("attribute"):
        item = {**item, "attribute": unquote(path.split("/")[1])}
    if entity_type == "family_variant" and not item.get("family"):
        item = {**item, "family": unquote(path.split("/")[1])}
    return item


class PageStager:
    """Stages fetched pages: an item byte-for-byte what the store holds (same raw hash) is staged lean
    (`Unchanged`), any other is normalized. Where a page is staged (here or in a staging worker) does
    not change what is staged."""

    def __init__(self, stager: Stager, types: dict[str, str]) -> None:
        self.stager, self.types = stager, types
        self.context = types_fingerprint(types)

    def stage(
        self, items: Iterable[dict[str, Any]], path: str, requested_at: datetime, server_time: datetime | None
    ) -> None:
        stager, entity_type = self.stager, self.stager.entity_type
        if stager.server_started_at is None:
            stager.server_started_at = server_time
        keyed = []
        for item in items:
            item = _with_parent(entity_type, path, item)
            keyed.append((item_key(entity_type, item), raw_hash(item, self.context), item))
        known = stager.stored_hashes([key for (key, _code), _hash, _item in keyed])
        normalized: list[Normalized] = []
        unchanged: list[Unchanged] = []
        for (key, _code), hashed, item in keyed:
            stored = known.get(key)
            if stored is not None and stored[0] == hashed:  # byte-for-byte what the store holds
                unchanged.append(
                    Unchanged(key, stored[2], stored[1], hashed, parse_akeneo_datetime(item.get("updated")))
                )
            else:
                fresh = normalize(entity_type, item, self.types)
                fresh.raw_hash = hashed
                normalized.append(fresh)
        stager.write_page(normalized, unchanged, fetched_at=requested_at)


def purge_stale(engine: Engine) -> int:
    """Drops staging left by syncs that died before their diff (older than STALE_AFTER)."""
    cutoff = utcnow() - STALE_AFTER
    with engine.begin() as conn:
        stale = [
            row.sync_id
            for row in conn.execute(
                select(StagingScope.sync_id)
                .group_by(StagingScope.sync_id)
                .having(func.max(StagingScope.started_at) < cutoff)
            )
        ]
        for table in (StagingEntity, StagingScope, StagingChange):
            if stale:
                conn.execute(delete(table).where(table.sync_id.in_(stale)))
    return len(stale)


def clear(conn, sync_id: str) -> None:
    """Removes everything one sync staged (called inside the diff's transaction, which holds the write lock).

    On SQLite, a table holding this sync's rows only is emptied whole (its pages freed at once, no index
    maintenance per row), faster than deleting its rows one by one."""
    for table in (StagingEntity, StagingScope, StagingChange):
        statement = delete(table)  # without WHERE: SQLite's truncate optimization
        if conn.dialect.name != "sqlite" or conn.execute(
            select(func.min(table.sync_id), func.max(table.sync_id))
        ).one() != (sync_id, sync_id):
            statement = statement.where(table.sync_id == sync_id)
        conn.execute(statement)


@dataclass(frozen=True)
class StagedSync:
    """A sync whose fetches staged something the diff has not applied yet."""

    sync_id: str
    started_at: datetime
    types: tuple[str, ...]
    unfinished: tuple[str, ...]  # types whose fetch has not finished (still going, or died)
    whole: tuple[str, ...]  # types fetched whole (scope `full`)


def staged_syncs(conn) -> list[StagedSync]:
    """Every sync with staging, oldest first: what a diff may apply."""
    by_sync: dict[str, list[Any]] = {}
    columns = (
        StagingScope.sync_id, StagingScope.entity_type, StagingScope.scope, StagingScope.started_at,
        StagingScope.finished_at,
    )  # fmt: skip
    for scope in conn.execute(select(*columns).order_by(StagingScope.started_at)):
        by_sync.setdefault(scope.sync_id, []).append(scope)
    return [
        StagedSync(
            sync_id,
            min(s.started_at for s in scopes),
            tuple(s.entity_type for s in scopes),
            tuple(s.entity_type for s in scopes if s.finished_at is None),
            tuple(s.entity_type for s in scopes if s.scope == "full"),
        )
        for sync_id, scopes in by_sync.items()
    ]
