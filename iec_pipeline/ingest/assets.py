"""Ingestion: one asset per Akeneo entity type, each fetching page by page into staging.

The assets fetch; they do not touch the store. `catalog_diff` (downstream of all of them)
applies what they staged, so a failed fetch never leaves a half-applied catalog.
"""

from typing import Any

import dagster as dg
from sqlalchemy import select

from iec_pipeline.common.entity_types import ENTITY_TYPES, EntityType, get
from iec_pipeline.common.heap import full_collections_paused
from iec_pipeline.ingest import staging
from iec_pipeline.ingest.akeneo import AkeneoError, AkeneoResource, AkeneoUnavailable
from iec_pipeline.ingest.fetch import fetch
from iec_pipeline.ingest.partitions import sync_asset
from iec_pipeline.ingest.plan import SyncConfig, plan_for
from iec_pipeline.store.models import SyncState
from iec_pipeline.store.resource import StoreResource


def sync_id_of(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> str:
    """One id per sync, kept across re-execution of a failed run (its root run id)."""
    run = context.run
    return run.root_run_id or run.run_id


def _window(context: dg.AssetExecutionContext):
    if not context.has_partition_key and not context.has_partition_key_range:
        return None
    window = context.partition_time_window
    return window.start, window.end


def _fetch_asset(entity: EntityType) -> dg.AssetsDefinition:
    @sync_asset(
        name=entity.asset,
        group_name="akeneo",
        deps=[get(name).asset for name in entity.upstream],
        kinds={"akeneo"},
        description=f"Akeneo {entity.plural} fetched into staging, page by page.",
        retry_policy=dg.RetryPolicy(
            max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
        ),
    )
    def fetch_entities(
        context: dg.AssetExecutionContext, config: SyncConfig, akeneo: AkeneoResource, store: StoreResource
    ) -> dg.MaterializeResult:
        engine = store.engine()
        with engine.connect() as conn:
            watermark = conn.execute(select(SyncState.watermark).where(SyncState.entity_type == entity.name)).scalar()
        plan = plan_for(entity, config, _window(context), watermark)
        if plan is None:
            context.log.info(f"{entity.name}: nothing to fetch in {config.mode} mode")
            return dg.MaterializeResult(metadata={"mode": config.mode, "fetched": 0, "skipped": True})
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
            f"{entity.name}: {stats.fetched:,} fetched in {stats.pages:,} pages, {stats.seconds:.1f}s"
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
        if plan.scope == "keys":
            metadata["missing"] = dg.MetadataValue.json(stats.missing[:20])
        return dg.MaterializeResult(metadata=metadata)

    return fetch_entities


fetch_assets: list[dg.AssetsDefinition] = [_fetch_asset(entity) for entity in ENTITY_TYPES]
