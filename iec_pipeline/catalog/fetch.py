"""Fetching one entity type from Akeneo into staging, for the four kinds of sync.

- `full`: everything (the only way to learn about deletions: Akeneo has no deletion feed);
- `window`: products and product models updated in [since, until) (incremental sync, backfill);
  the other types are small reference data that Akeneo cannot filter on `updated`, so they are
  always fetched whole, which also finds their deletions on every sync;
- `keys`: exactly the named entities (webhook refresh); one that Akeneo no longer has is deleted.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, select

from iec_pipeline import workers
from iec_pipeline.catalog.entities import entity_uuid, get
from iec_pipeline.catalog.stage_worker import OffloadingStager
from iec_pipeline.catalog.staging import PageStager, Stager, utcnow
from iec_pipeline.resources.akeneo import AkeneoClient
from iec_pipeline.resources.pages import Page
from iec_pipeline.store.db import database_url, shareable
from iec_pipeline.store.models import (
    FamilyVariant,
    ProductAttribute,
    StagingEntity,
)

SELECT_TYPES = ("pim_catalog_simpleselect", "pim_catalog_multiselect")
AKENEO_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class FetchPlan:
    entity_type: str
    mode: str  # the sync mode: full | incremental | window | refresh
    scope: str  # what is fetched: full | window | keys
    since: datetime | None = None
    until: datetime | None = None
    keys: tuple[str, ...] = ()
    deleted: dict[str, str] = field(default_factory=dict)  # announced deleted: key -> when (ISO)

    def describe(self) -> str:
        if self.scope == "keys":
            return f"{len(self.keys)} named" + (f", {len(self.deleted)} deleted" if self.deleted else "")
        if self.scope == "window":
            since = self.since.isoformat(sep=" ") if self.since else "the beginning"
            until = self.until.isoformat(sep=" ") if self.until else "now"
            return f"updated from {since} to {until}"
        return "everything"


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
        return sorted(conn.execute(select(entity.table.c[entity.code_column])).scalars().all())


def _list_sources(client: AkeneoClient, engine: Engine, sync_id: str, plan: FetchPlan) -> list[tuple[str, dict, bool]]:
    """(path, params, search_after) of every listing this plan reads."""
    match plan.entity_type:
        case "product":
            params = _updated_search(plan.since, plan.until) if plan.scope == "window" else {}
            return [("products-uuid", params, True)]
        case "product_model":
            params = _updated_search(plan.since, plan.until) if plan.scope == "window" else {}
            return [("product-models", params, True)]
        case "category":
            return [("categories", {"with_position": "true"}, False)]
        case "attribute":
            return [("attributes", {}, False)]
        case "family":
            return [("families", {}, False)]
        case "attribute_option":
            types = attribute_types(engine, sync_id)
            selects = [c for c in _current_codes(engine, sync_id, "attribute") if types.get(c) in SELECT_TYPES]
            return [(f"attributes/{quote(code, safe='')}/options", {}, False) for code in selects]
        case "family_variant":
            families = _current_codes(engine, sync_id, "family")
            return [(f"families/{quote(code, safe='')}/variants", {}, False) for code in families]
    raise ValueError(plan.entity_type)


def _item_path(engine: Engine, entity_type: str, key: str) -> str:
    """The REST path of one entity named in a refresh request."""
    q = lambda s: quote(s, safe="")  # noqa: E731
    match entity_type:
        case "product":
            return f"products-uuid/{q(key)}"
        case "product_model":
            return f"product-models/{q(key)}"
        case "category":
            return f"categories/{q(key)}?with_position=true"
        case "attribute":
            return f"attributes/{q(key)}"
        case "family":
            return f"families/{q(key)}"
        case "attribute_option":
            attribute, _, option = key.partition(".")
            return f"attributes/{q(attribute)}/options/{q(option)}"
        case "family_variant":
            family, _, variant = key.rpartition(".")
            if not family:
                with engine.connect() as conn:
                    family = conn.execute(select(FamilyVariant.family).where(FamilyVariant.code == key)).scalar()
                if not family:
                    raise LookupError(f"family variant {key!r}: unknown family (name it as family.variant)")
            return f"families/{q(family)}/variants/{q(variant)}"
    raise ValueError(entity_type)


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
    deleted = {requested_entity_key(plan.entity_type, k): when for k, when in plan.deleted.items()}
    stager.begin(plan.mode, plan.scope, requested, (plan.since, plan.until), deleted=deleted or None)
    types = attribute_types(engine, sync_id) if entity.has_values else {}
    stats = FetchStats(plan.entity_type, plan.scope)
    last_report = started

    page_stager = PageStager(stager, types)
    received = {"items": 0, "pages": 0}  # wherever they are staged (here or in a staging worker)

    def report(items: int) -> None:
        nonlocal last_report
        received["items"] += items
        received["pages"] += 1
        now = time.monotonic()
        if now - last_report >= progress_every:
            last_report = now
            items, pages = received["items"], received["pages"]
            rate = items / max(now - started, 1e-6)
            progress(f"{plan.entity_type}: {items:,} fetched in {pages:,} pages ({rate:,.0f}/s)")

    if plan.scope == "keys":
        paths = {key: _item_path(engine, plan.entity_type, key) for key in plan.keys}

        def one(key: str) -> tuple[str, str, dict[str, Any] | None, datetime]:
            requested_at = utcnow()
            return key, paths[key], client.get_optional(paths[key]), requested_at

        with ThreadPoolExecutor(max_workers=client.max_in_flight) as pool:
            for chunk in _chunks(list(plan.keys), 100):
                results = list(pool.map(one, chunk))
                stats.missing.extend(key for key, _path, item, _at in results if item is None)
                for _key, path, item, requested_at in results:
                    if item is not None:
                        page_stager.stage([item], path, requested_at, client.server_time)
                report(len(results))
    else:
        sources = _list_sources(client, engine, sync_id, plan)

        def read(source: tuple[str, dict, bool]) -> None:
            path, params, search_after = source
            for page in prefetched(client.iter_pages(path, params, search_after=search_after)):
                page_stager.stage(page.items, path, page.requested_at, page.server_time)
                report(len(page.items))

        if len(sources) == 1 and sources[0][2] and shareable(engine) and workers.AVAILABLE:  # see stage_worker
            path, params, _ = sources[0]
            offloading = OffloadingStager(page_stager, database_url(engine), types)
            try:
                for page in prefetched(client.iter_pages(path, params, search_after=True)):
                    # A page the worker stages is not parsed here: counted as full (only the last is not).
                    report(client.page_size if offloading.stage(page, path) else len(page.items))
                offloading.finish()
            finally:
                offloading.stop()
            stats.offloaded_pages = offloading.offloaded
        elif len(sources) == 1:
            read(sources[0])
        else:
            with ThreadPoolExecutor(max_workers=client.max_in_flight) as pool:
                list(pool.map(read, sources))
    stager.finish()
    stats.unchanged = stager.unchanged
    stats.fetched, stats.pages, stats.values, stats.sample = (
        stager.fetched, stager.pages, stager.values, stager.sample,
    )  # fmt: skip
    stats.requests = client.requests_sent - requests_before
    stats.retries = client.retries - retries_before
    stats.seconds = time.monotonic() - started
    return stats


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


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
