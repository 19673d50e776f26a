"""`catalog_diff`: applies what the fetch assets staged to the store and records the mutations.

Downstream of every ingestion asset, it consumes their latest materializations whichever run made
them: each sync staged and not applied yet (its fetches finished, its run over or this one), oldest
first, each atomically. In the same transaction it fans the mutations out to the integrations (their
jobs) and marks the webhook drops a refresh answers as processed. With nothing to apply it fails and
says why, unless this run's own sync was applied already (a re-execution).
After each sync it keeps the family partitions equal to the store's families; after a sync that read
products and product models whole, it reports every family partition materialized (`ingest.partitions`).
"""

import time
from collections import Counter

import dagster as dg

from iec_pipeline.common.faults import crash_point
from iec_pipeline.common.heap import full_collections_paused
from iec_pipeline.common.runs import IN_PROGRESS, run_alive
from iec_pipeline.common.words import counted, described
from iec_pipeline.diff.apply import DiffResult, apply_sync
from iec_pipeline.diff.checks import CHECK_SPECS, run_checks
from iec_pipeline.ingest import staging
from iec_pipeline.ingest.assets import family_assets, fetch_assets, sync_id_of
from iec_pipeline.ingest.jobs import DIFF_ASSET
from iec_pipeline.ingest.partitions import PARTITIONED_TYPES, follow_families
from iec_pipeline.routing.fanout import fan_out
from iec_pipeline.routing.integrations import LoadedIntegration, sync_to_store
from iec_pipeline.routing.resource import IntegrationsResource
from iec_pipeline.store.models import Family
from iec_pipeline.store.resource import StoreResource
from iec_pipeline.webhooks.drops import mark_processed

DIFF_METADATA = {
    "syncs": "the syncs this materialization applied (each a fetch run's root run id), oldest first",
    "mutations": "mutations recorded: created + updated + deleted",
    "created": "entities new to the store",
    "updated": "entities whose content changed",
    "deleted": "entities Akeneo no longer has",
    "by_entity_type": "mutations per entity type and operation",
    "unchanged": "fetched entities identical to the store, per type",
    "stale_skipped": "fetched states older than what the store holds (a slower sync lost the race)",
    "top_changed_fields": "the fields that changed most often",
    "sample": "a few of the mutations",
    "jobs": "delivery jobs created for the enabled integrations",
    "integrations": "the enabled integrations the mutations went to",
    "first_mutation_id": "first mutation id recorded (0: none)",
    "last_mutation_id": "last mutation id recorded (0: none)",
    "entity_types": "entity types the applied syncs fetched",
    "seconds": "how long applying took",
}


@dg.asset(
    name=DIFF_ASSET,
    group_name="catalog",
    deps=[*fetch_assets, *family_assets],
    kinds={"sqlite", "postgres"},
    description=described(
        "The local catalog store and its mutation log: what the Akeneo assets staged, applied atomically.",
        DIFF_METADATA,
    ),
    check_specs=CHECK_SPECS,
)
def catalog_diff(
    context: dg.AssetExecutionContext, store: StoreResource, integrations: IntegrationsResource
) -> dg.MaterializeResult:
    crash_point("diff.start")  # the reliability tests' "between fetch and apply"
    started = time.monotonic()
    own = sync_id_of(context)
    declared = integrations.load()  # invalid: fail before any work
    with store.read_engine().connect() as conn:
        staged = staging.staged_syncs(conn)
    ready = [s for s in staged if not s.unfinished and (s.sync_id == own or _over(context.instance, s.sync_id))]
    mine = next((s for s in staged if s.sync_id == own), None)
    if mine is not None and mine.unfinished:  # this run's fetch did not finish: apply_sync refuses it
        ready.append(mine)
    if not ready:
        if _applied_before(context.instance, own):
            context.log.info(f"sync {own} was applied by an earlier run; nothing left to apply")
            return dg.MaterializeResult(metadata={"syncs": dg.MetadataValue.json([]), "mutations": 0})
        raise dg.Failure(description=_nothing_to_apply(staged), allow_retries=False)
    results, jobs = [], 0
    for sync in ready:
        result, created_jobs = _apply(context, store, declared, sync.sync_id, own)
        results.append(result)
        jobs += created_jobs
    _follow_families(context, store, whole=any(set(PARTITIONED_TYPES) <= set(s.whole) for s in ready))
    total = _merged(results)
    return dg.MaterializeResult(
        metadata={
            **_metadata(total, [s.sync_id for s in ready], jobs, declared),
            "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
        },
        check_results=run_checks(store.read_engine(), [s.sync_id for s in ready]),
    )


def _apply(
    context: dg.AssetExecutionContext,
    store: StoreResource,
    declared: list[LoadedIntegration],
    sync_id: str,
    own: str,
) -> tuple[DiffResult, int]:
    jobs = 0
    drops = context.run.tags.get("iec/drops") if sync_id == own else None  # webhook drops a refresh answers

    def in_the_same_transaction(conn, result: DiffResult) -> None:
        nonlocal jobs
        sync_to_store(conn, declared)
        if result.last_id is not None:
            jobs = fan_out(conn, sync_id, declared)
        if drops:
            mark_processed(conn, drops, context.run.run_id)

    with full_collections_paused():
        result = apply_sync(store.engine(), sync_id, log=context.log, before_commit=in_the_same_transaction)
    by_operation = result.by_operation()
    changes = ", ".join(f"{n:,} {op}" for op, n in sorted(by_operation.items())) or "no change"
    whose = "" if sync_id == own else " (fetched by another run)"
    context.log.info(f"sync {sync_id}{whose}: {counted(result.total, 'mutation')} ({changes}), {jobs:,} jobs")
    return result, jobs


def _over(instance: dg.DagsterInstance, sync_id: str) -> bool:
    """Whether this instance knows the sync's runs (its root run, re-executions) and none is going.
    A sync it does not know was staged elsewhere: its own diff applies it."""
    if run_alive(instance, sync_id) is not False:  # unknown here, or still going
        return False
    again = dg.RunsFilter(tags={"dagster/root_run_id": sync_id}, statuses=IN_PROGRESS)
    return not any(run_alive(instance, run.run_id) for run in instance.get_runs(filters=again, limit=10))


def _applied_before(instance: dg.DagsterInstance, sync_id: str) -> bool:
    records = instance.fetch_materializations(dg.AssetKey(DIFF_ASSET), limit=50).records
    for record in records:
        materialization = record.asset_materialization
        applied = materialization.metadata.get("syncs") if materialization else None
        if applied is not None and sync_id in (applied.value or []):
            return True
    return False


def _nothing_to_apply(staged: list[staging.StagedSync]) -> str:
    going = [s for s in staged if s.unfinished]
    reason = "nothing to apply: no fetch has staged anything since the last diff"
    if going:
        reason += " (still fetching: " + ", ".join(f"sync {s.sync_id} ({', '.join(s.unfinished)})" for s in going) + ")"
    return reason + ". Materialize the Akeneo assets first, or launch full_sync or incremental_sync."


def _follow_families(context: dg.AssetExecutionContext, store: StoreResource, whole: bool) -> None:
    with store.read_engine().connect() as conn:
        families = [code for (code,) in conn.execute(Family.__table__.select().with_only_columns(Family.code))]
    added, removed = follow_families(context.instance, families)
    if added or removed:
        context.log.info(f"family partitions: {len(added)} added, {len(removed)} removed")
    if not whole:
        return
    keys = context.instance.get_dynamic_partitions(family_assets[0].partitions_def.name)
    for asset in family_assets:
        for key in keys:
            context.log_event(
                dg.AssetMaterialization(asset.key, partition=key, metadata={"by": "a sync that read everything"})
            )
    context.log.info(f"{counted(len(keys), 'family partition')} current after a sync that read everything")


def _merged(results: list[DiffResult]) -> DiffResult:
    if len(results) == 1:
        return results[0]
    total = DiffResult(",".join(r.sync_id for r in results))
    for result in results:
        for entity_type, counts in result.counts.items():
            total.counts.setdefault(entity_type, Counter()).update(counts)
        for entity_type, n in result.unchanged.items():
            total.unchanged[entity_type] = total.unchanged.get(entity_type, 0) + n
        for entity_type, n in result.stale.items():
            total.stale[entity_type] = total.stale.get(entity_type, 0) + n
        total.field_counts.update(result.field_counts)
        total.sample += result.sample[: max(0, 10 - len(total.sample))]
        total.first_id = total.first_id or result.first_id
        total.last_id = result.last_id or total.last_id
        total.types += [t for t in result.types if t not in total.types]
    return total


def _metadata(result: DiffResult, syncs: list[str], jobs: int, declared: list[LoadedIntegration]) -> dict:
    by_operation = result.by_operation()
    return {
        "syncs": dg.MetadataValue.json(syncs),
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
    }
