"""Ingestion: one asset per Akeneo entity type, each fetching page by page into staging, in the
sync's mode; and products and product models per family partition (see `partitions`).

The assets fetch; they do not touch the store. `catalog_diff` (downstream of all of them)
applies what they staged, so a failed fetch never leaves a half-applied catalog.
"""

from typing import Any

import dagster as dg
from sqlalchemy import Engine, select

from iec_pipeline.common.entity_types import ENTITY_TYPES, EntityType, get
from iec_pipeline.common.heap import full_collections_paused
from iec_pipeline.common.words import counted, described
from iec_pipeline.ingest import staging
from iec_pipeline.ingest.akeneo import AkeneoError, AkeneoResource, AkeneoUnavailable
from iec_pipeline.ingest.fetch import fetch
from iec_pipeline.ingest.partitions import FAMILY_ASSETS, PARTITIONED_TYPES, family_asset
from iec_pipeline.ingest.plan import FetchPlan, SyncConfig, family_plan, plan_for
from iec_pipeline.store.models import SyncState
from iec_pipeline.store.resource import StoreResource


def sync_id_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """One id per sync, kept across re-execution of a failed run (its root run id)."""
    run = context.run
    return run.root_run_id or run.run_id


FETCH_METADATA = {
    "mode": "the sync's mode: full, incremental, refresh, or families (a backfill of family partitions)",
    "scope": "what was asked of Akeneo: everything, an `updated` window, named keys, or families",
    "fetched": "entities read from Akeneo",
    "unchanged": "of those, identical to what the store holds (not normalized again)",
    "values": "attribute values staged",
    "pages": "listing pages read",
    "pages_staged_by_worker": "pages a staging worker process wrote (large listings on PostgreSQL)",
    "requests": "HTTP requests sent to Akeneo",
    "retries": "requests retried after a 429 or 5xx",
    "seconds": "how long the fetch took",
    "per_second": "entities fetched per second",
    "missing": "named (or no longer listed) entities Akeneo no longer has: the diff deletes them",
    "sample": "a few of the fetched codes",
}


def _fetch(
    context: dg.AssetExecutionContext,
    entity: EntityType,
    plan: FetchPlan,
    akeneo: AkeneoResource,
    engine: Engine,
) -> dg.MaterializeResult:
    """Runs one fetch plan into this sync's staging; the asset's metadata says what it did."""
    staging.purge_stale(engine)
    context.log.info(f"{entity.name}: fetching {plan.describe()} ({plan.mode} sync)")
    with full_collections_paused(), akeneo.client(log=context.log) as client:
        try:
            stats = fetch(client, engine, sync_id_of(context), plan, progress=context.log.info)
        except AkeneoUnavailable:
            raise  # transient: the step's RetryPolicy tries again later
        except AkeneoError as error:
            # Akeneo refused the request itself: retrying the step cannot help.
            raise dg.Failure(description=str(error), allow_retries=False) from error
    rate = stats.fetched / stats.seconds if stats.seconds else 0.0
    context.log.info(
        f"{entity.name}: {stats.fetched:,} fetched in {counted(stats.pages, 'page')}, {stats.seconds:.1f}s"
        + (f", {len(stats.missing)} no longer in Akeneo" if stats.missing else "")
    )
    metadata: dict[str, Any] = {
        "mode": plan.mode,
        "scope": plan.describe(),
        "fetched": stats.fetched,
        "unchanged": stats.unchanged,
        "values": stats.values,
        "pages": stats.pages,
        "pages_staged_by_worker": stats.offloaded_pages,
        "requests": stats.requests,
        "retries": stats.retries,
        "seconds": dg.MetadataValue.float(round(stats.seconds, 3)),
        "per_second": dg.MetadataValue.float(round(rate, 1)),
        "sample": dg.MetadataValue.json(stats.sample),
    }
    if plan.scope in ("keys", "families"):
        metadata["missing"] = dg.MetadataValue.json(stats.missing[:20])
    return dg.MaterializeResult(metadata=metadata)


RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def _fetch_asset(entity: EntityType) -> dg.AssetsDefinition:
    @dg.asset(
        name=entity.asset,
        group_name="akeneo",
        deps=[get(name).asset for name in entity.upstream],
        kinds={"akeneo"},
        description=described(f"Akeneo {entity.plural} fetched into staging, page by page.", FETCH_METADATA),
        retry_policy=RETRY,
    )
    def fetch_entities(
        context: dg.AssetExecutionContext, config: SyncConfig, akeneo: AkeneoResource, store: StoreResource
    ) -> dg.MaterializeResult:
        engine = store.engine()
        with engine.connect() as conn:
            watermark = conn.execute(select(SyncState.watermark).where(SyncState.entity_type == entity.name)).scalar()
        plan = plan_for(entity, config, watermark)
        if plan is None:
            context.log.info(f"{entity.name}: nothing to fetch in {config.mode} mode")
            return dg.MaterializeResult(metadata={"mode": config.mode, "fetched": 0, "skipped": True})
        return _fetch(context, entity, plan, akeneo, engine)

    return fetch_entities


def _family_asset(entity: EntityType, name: str) -> dg.AssetsDefinition:
    @family_asset(
        name=name,
        group_name="akeneo",
        deps=[get(name).asset for name in entity.upstream],
        kinds={"akeneo"},
        description=described(
            f"Akeneo {entity.plural} per family: backfill families to re-fetch (and re-send) exactly them. "
            "A partition is materialized when its family's data is current in the store.",
            FETCH_METADATA,
        ),
        retry_policy=RETRY,
    )
    def fetch_families(
        context: dg.AssetExecutionContext, akeneo: AkeneoResource, store: StoreResource
    ) -> dg.MaterializeResult:
        selected = {key.to_user_string() for key in context.run.asset_selection or ()}
        if entity.asset in selected:  # Staging holds one fetch per type and sync: the whole type wins
            context.log.info(f"{entity.name}: {entity.asset} fetches this type in this run; nothing more to do")
            return dg.MaterializeResult(metadata={"mode": "families", "fetched": 0, "skipped": True})
        return _fetch(context, entity, family_plan(entity, context.partition_keys), akeneo, store.engine())

    return fetch_families


fetch_assets: list[dg.AssetsDefinition] = [_fetch_asset(entity) for entity in ENTITY_TYPES]
family_assets: list[dg.AssetsDefinition] = [
    _family_asset(get(entity_type), name) for entity_type, name in zip(PARTITIONED_TYPES, FAMILY_ASSETS, strict=True)
]
