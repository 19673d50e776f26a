"""`catalog_diff`: applies a sync's staged snapshot to the store and records the mutations.

Downstream of every ingestion asset. In the same transaction it fans the mutations out to the
integrations (their jobs) and marks the webhook drops a refresh answers as processed.
"""

import time

import dagster as dg

from iec_pipeline.common.faults import crash_point
from iec_pipeline.common.heap import full_collections_paused
from iec_pipeline.diff.apply import DiffResult, apply_sync
from iec_pipeline.diff.checks import CHECK_SPECS, run_checks
from iec_pipeline.ingest.assets import fetch_assets, sync_id_of
from iec_pipeline.ingest.partitions import sync_asset
from iec_pipeline.routing.fanout import fan_out
from iec_pipeline.routing.integrations import LoadedIntegration, sync_to_store
from iec_pipeline.routing.resource import IntegrationsResource
from iec_pipeline.store.resource import StoreResource
from iec_pipeline.webhooks.drops import mark_processed


@sync_asset(
    group_name="catalog",
    deps=fetch_assets,
    kinds={"sqlite", "postgres"},
    description="The local catalog store and its mutation log: staged Akeneo state applied atomically.",
    check_specs=CHECK_SPECS,
)
def catalog_diff(
    context: dg.AssetExecutionContext, store: StoreResource, integrations: IntegrationsResource
) -> dg.MaterializeResult:
    crash_point("diff.start")  # the reliability tests' "between fetch and apply"
    started = time.monotonic()
    sync_id = sync_id_of(context)
    declared = integrations.load()  # invalid: fail before any work
    jobs = 0
    drops = context.run.tags.get("iec/drops")  # webhook drops this refresh answers, "first-last"

    def in_the_same_transaction(conn, result: DiffResult) -> None:
        nonlocal jobs
        sync_to_store(conn, declared)
        if result.last_id is not None:
            jobs = fan_out(conn, sync_id, declared)
        if drops:
            mark_processed(conn, drops, context.run.run_id)

    with full_collections_paused():
        result = apply_sync(store.engine(), sync_id, log=context.log, before_commit=in_the_same_transaction)
    seconds = time.monotonic() - started
    by_operation = result.by_operation()
    context.log.info(
        f"sync {sync_id}: {result.total:,} mutations "
        f"({', '.join(f'{n:,} {op}' for op, n in sorted(by_operation.items())) or 'no change'}) in {seconds:.1f}s"
    )
    metadata = _metadata(result, jobs, declared, seconds)
    return dg.MaterializeResult(metadata=metadata, check_results=run_checks(store.read_engine(), sync_id))


def _metadata(result: DiffResult, jobs: int, declared: list[LoadedIntegration], seconds: float) -> dict:
    by_operation = result.by_operation()
    return {
        "mutations": result.total,
        "created": by_operation.get("created", 0),
        "updated": by_operation.get("updated", 0),
        "deleted": by_operation.get("deleted", 0),
        "by_entity_type": dg.MetadataValue.json({t: dict(c) for t, c in result.counts.items() if c}),
        "unchanged": dg.MetadataValue.json(result.unchanged),
        "stale_skipped": sum(result.stale.values()),
        "top_changed_fields": dg.MetadataValue.json(dict(result.field_counts.most_common(10))),
        "sample": dg.MetadataValue.json(result.sample),
        "jobs": jobs,
        "integrations": dg.MetadataValue.json([i.name for i in declared if i.spec.enabled]),
        "first_mutation_id": result.first_id or 0,
        "last_mutation_id": result.last_id or 0,
        "entity_types": dg.MetadataValue.json(result.types),
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
    }
