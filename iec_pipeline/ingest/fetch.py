"""Fetching one entity type from Akeneo into staging, as its `FetchPlan` says (see `ingest.plan`):
a whole listing, a window of `updated` times, or named entities (one Akeneo no longer has is deleted).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, select

from iec_pipeline.common import workers
from iec_pipeline.common.batches import chunks
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import entity_uuid, get
from iec_pipeline.common.words import counted
from iec_pipeline.ingest.akeneo import AkeneoClient
from iec_pipeline.ingest.pages import Page
from iec_pipeline.ingest.partitions import NO_FAMILY
from iec_pipeline.ingest.plan import FetchPlan
from iec_pipeline.ingest.stage_worker import OffloadingStager
from iec_pipeline.ingest.staging import PageStager, Stager
from iec_pipeline.store.db import database_url, shareable
from iec_pipeline.store.models import (
    FamilyVariant,
    ProductAttribute,
    StagingEntity,
    entity_table,
)

SELECT_TYPES = ("pim_catalog_simpleselect", "pim_catalog_multiselect")
AKENEO_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass
class FetchStats:
    entity_type: str
    scope: str
    fetched: int = 0
    unchanged: int = 0  # identical to what the store holds: not normalized again
    pages: int = 0
    values: int = 0
    requests: int = 0
    retries: int = 0
    seconds: float = 0.0
    offloaded_pages: int = 0  # staged by a worker process (see stage_worker)
    missing: list[str] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)


def _updated_search(since: datetime | None, until: datetime | None) -> dict[str, str]:
    rules = []
    if since is not None:  # `>` is strict and Akeneo has second precision: include `since` itself
        rules.append({"operator": ">", "value": (since - timedelta(seconds=1)).strftime(AKENEO_TIME)})
    if until is not None:
        rules.append({"operator": "<", "value": until.strftime(AKENEO_TIME)})
    if not rules:
        return {}
    return {"search": json.dumps({"updated": rules})}


def _family_searches(families: Sequence[str], per_listing: int = 50) -> list[dict[str, str]]:
    """Listing filters for these families: `family IN` (50 codes a listing), `family EMPTY` for NO_FAMILY."""
    named = [f for f in families if f != NO_FAMILY]
    rules = [[{"operator": "IN", "value": chunk}] for chunk in chunks(named, per_listing)]
    if NO_FAMILY in families:
        rules.append([{"operator": "EMPTY"}])
    return [{"search": json.dumps({"family": rule})} for rule in rules]


def _stored_in_families(engine: Engine, entity_type: str, families: Sequence[str]) -> list[tuple[str, str]]:
    """(uuid, request key) of what the store holds in these families: a uuid for a product, a code
    for a product model (how a refresh names them)."""
    table = entity_table(get(entity_type))
    named = [f for f in families if f != NO_FAMILY]
    where = [table.c.family.in_(chunk) for chunk in chunks(named, 500)]
    if NO_FAMILY in families:
        where.append(table.c.family.is_(None))
    key = table.c.uuid if entity_type == "product" else table.c.code
    with engine.execution_options(iec_read_only=True).connect() as conn:
        return [(uuid, k) for clause in where for uuid, k in conn.execute(select(table.c.uuid, key).where(clause))]


def attribute_types(engine: Engine, sync_id: str) -> dict[str, str]:
    """Attribute code -> type: the store, overridden by attributes staged in full in this sync."""
    with engine.execution_options(iec_read_only=True).connect() as conn:
        types = dict(conn.execute(select(ProductAttribute.code, ProductAttribute.type)).all())
        staged = conn.execute(
            select(StagingEntity.code, StagingEntity.fields).where(
                StagingEntity.sync_id == sync_id,
                StagingEntity.entity_type == "attribute",
                StagingEntity.fields.is_not(None),
            )
        )
        for code, fields in staged:
            types[code] = fields["type"]
    return types


def _current_codes(engine: Engine, sync_id: str, entity_type: str) -> list[str]:
    """Codes of `entity_type` as this sync fetched them, or as the store has them if it fetched none."""
    entity = get(entity_type)
    with engine.execution_options(iec_read_only=True).connect() as conn:
        staged = (
            conn.execute(
                select(StagingEntity.code).where(
                    StagingEntity.sync_id == sync_id, StagingEntity.entity_type == entity_type
                )
            )
            .scalars()
            .all()
        )
        if staged:
            return sorted(set(staged))
        return sorted(conn.execute(select(entity_table(entity).c[entity.code_column])).scalars().all())


def _list_sources(engine: Engine, sync_id: str, plan: FetchPlan) -> list[tuple[str, dict, bool]]:
    """(path, params, search_after) of every listing this plan reads."""
    entity = get(plan.entity_type)
    if plan.scope == "families":
        return [(entity.akeneo_listing, params, True) for params in _family_searches(plan.families)]
    if entity.windowed:  # products and product models: a search_after listing, filtered on `updated`
        params = _updated_search(plan.since, plan.until) if plan.scope == "window" else {}
        return [(entity.akeneo_listing, params, True)]
    if entity.name == "category":
        return [(entity.akeneo_listing, {"with_position": "true"}, False)]
    if "{parent}" not in entity.akeneo_listing:
        return [(entity.akeneo_listing, {}, False)]
    if entity.name == "attribute_option":  # listed per select attribute
        types = attribute_types(engine, sync_id)
        parents = [c for c in _current_codes(engine, sync_id, "attribute") if types.get(c) in SELECT_TYPES]
    else:  # family variants, listed per family
        parents = _current_codes(engine, sync_id, "family")
    return [(entity.akeneo_listing.format(parent=quote(code, safe="")), {}, False) for code in parents]


def _staged_keys(engine: Engine, sync_id: str, entity_type: str) -> set[str]:
    with engine.execution_options(iec_read_only=True).connect() as conn:
        mine = (StagingEntity.sync_id == sync_id) & (StagingEntity.entity_type == entity_type)
        return set(conn.execute(select(StagingEntity.key).where(mine)).scalars())


def _item_path(engine: Engine, entity_type: str, key: str) -> str:
    """The REST path of one entity named in a refresh request (options as attribute.option, variants
    as family.variant or the variant's code alone)."""
    entity = get(entity_type)
    parent, code = None, key
    if entity_type == "attribute_option":
        parent, _, code = key.partition(".")
    elif entity_type == "family_variant":
        parent, _, code = key.rpartition(".")
        if not parent:
            with engine.connect() as conn:
                parent = conn.execute(select(FamilyVariant.family).where(FamilyVariant.code == key)).scalar()
            if not parent:
                raise LookupError(f"family variant {key!r}: unknown family (name it as family.variant)")
    path = entity.akeneo_item.format(code=quote(code, safe=""), parent=quote(parent or "", safe=""))
    return path + ("?with_position=true" if entity_type == "category" else "")


def requested_entity_key(entity_type: str, key: str) -> str:
    """The store key (uuid) of an entity named in a refresh request."""
    if entity_type == "product":
        return key
    if entity_type == "family_variant":
        key = key.rpartition(".")[2]
    return entity_uuid(entity_type, key)


def fetch(
    client: AkeneoClient,
    engine: Engine,
    sync_id: str,
    plan: FetchPlan,
    progress: Callable[[str], None] = lambda message: None,
    progress_every: float = 5.0,
) -> FetchStats:
    """Fetches what `plan` names into staging; returns what it did."""
    started = time.monotonic()
    requests_before, retries_before = client.requests_sent, client.retries
    entity = get(plan.entity_type)
    stager = Stager(engine, sync_id, plan.entity_type)
    requested = [requested_entity_key(plan.entity_type, k) for k in plan.keys] if plan.scope == "keys" else None
    stored: list[tuple[str, str]] = []
    if plan.scope == "families":  # the diff sees a family fetch as named keys: what the store holds there
        stored = _stored_in_families(engine, plan.entity_type, plan.families)
        requested = [uuid for uuid, _ in stored]
    deleted = {requested_entity_key(plan.entity_type, k): when for k, when in plan.deleted.items()}
    scope = "keys" if plan.scope == "families" else plan.scope
    stager.begin(plan.mode, scope, requested, (plan.since, plan.until), deleted=deleted or None)
    types = attribute_types(engine, sync_id) if entity.has_values else {}
    stats = FetchStats(plan.entity_type, plan.scope)
    page_stager = PageStager(stager, types)
    report = _ProgressReport(plan.entity_type, progress, progress_every)
    if plan.scope == "keys":
        stats.missing = _fetch_named(client, engine, plan, page_stager, report)
    else:
        stats.offloaded_pages = _fetch_listings(client, engine, sync_id, plan, page_stager, types, report)
    if stored:  # held in these families and not listed there any more: moved to another family, or deleted
        stager.flush()
        listed = _staged_keys(engine, sync_id, plan.entity_type)
        unseen = tuple(key for uuid, key in stored if uuid not in listed)
        if unseen:
            progress(f"{plan.entity_type}: {len(unseen):,} no longer listed in these families: fetching each")
            stats.missing = _fetch_named(client, engine, replace(plan, keys=unseen), page_stager, report)
    stager.finish()
    stats.unchanged = stager.unchanged
    stats.fetched, stats.pages, stats.values, stats.sample = (
        stager.fetched, stager.pages, stager.values, stager.sample,
    )  # fmt: skip
    stats.requests = client.requests_sent - requests_before
    stats.retries = client.retries - retries_before
    stats.seconds = time.monotonic() - started
    return stats


class _ProgressReport:
    """Counts pages wherever they are staged (here or in a staging worker); a line every few seconds."""

    def __init__(self, entity_type: str, progress: Callable[[str], None], every: float) -> None:
        self.entity_type, self.progress, self.every = entity_type, progress, every
        self.started = self.last = time.monotonic()
        self.items = self.pages = 0

    def __call__(self, items: int) -> None:
        self.items += items
        self.pages += 1
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            rate = self.items / max(now - self.started, 1e-6)
            pages = counted(self.pages, "page")
            self.progress(f"{self.entity_type}: {self.items:,} fetched in {pages} ({rate:,.0f}/s)")


def _fetch_named(
    client: AkeneoClient, engine: Engine, plan: FetchPlan, page_stager: PageStager, report: _ProgressReport
) -> list[str]:
    """Fetches the named entities, 100 at a time, `max_in_flight` in parallel; returns those Akeneo lacks."""
    paths = {key: _item_path(engine, plan.entity_type, key) for key in plan.keys}
    missing: list[str] = []

    def one(key: str) -> tuple[str, str, dict[str, Any] | None, datetime]:
        requested_at = utcnow()
        return key, paths[key], client.get_optional(paths[key]), requested_at

    with ThreadPoolExecutor(max_workers=client.max_in_flight) as pool:
        for chunk in chunks(list(plan.keys), 100):
            results = list(pool.map(one, chunk))
            missing.extend(key for key, _path, item, _at in results if item is None)
            for _key, path, item, requested_at in results:
                if item is not None:
                    page_stager.stage([item], path, requested_at, client.server_time)
            report(len(results))
    return missing


def _fetch_listings(
    client: AkeneoClient,
    engine: Engine,
    sync_id: str,
    plan: FetchPlan,
    page_stager: PageStager,
    types: dict[str, str],
    report: _ProgressReport,
) -> int:
    """Reads every listing of the plan, page by page; returns how many pages a staging worker staged."""
    sources = _list_sources(engine, sync_id, plan)
    path, params, search_after = sources[0] if sources else ("", {}, False)
    if len(sources) == 1 and search_after and shareable(engine) and workers.AVAILABLE:  # see stage_worker
        offloading = OffloadingStager(page_stager, database_url(engine), types)
        try:
            for page in prefetched(client.iter_pages(path, params, search_after=True)):
                # A page the worker stages is not parsed here: counted as full (only the last is not).
                report(client.page_size if offloading.stage(page, path) else len(page.items))
            offloading.finish()
        finally:
            offloading.stop()
        return offloading.offloaded

    def read(source: tuple[str, dict, bool]) -> None:
        path, params, search_after = source
        for page in prefetched(client.iter_pages(path, params, search_after=search_after)):
            page_stager.stage(page.items, path, page.requested_at, page.server_time)
            report(len(page.items))

    if len(sources) == 1:
        read(sources[0])
    else:
        with ThreadPoolExecutor(max_workers=client.max_in_flight) as pool:
            list(pool.map(read, sources))
    return 0


def prefetched(pages: Iterator[Page], depth: int = 2) -> Iterator[Page]:
    """Reads the next pages in a background thread while the caller stores the current one.

    Pagination stays strictly sequential (a page's `next` link is followed only after it arrived);
    only the network wait overlaps with normalizing and writing. Errors surface in the caller.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        buffer.put(page, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(done)
        except BaseException as error:  # handed to the consumer
            buffer.put(error)

    thread = threading.Thread(target=produce, name="akeneo-prefetch", daemon=True)
    thread.start()
    try:
        while (item := buffer.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
