"""Delivery jobs (IEC's ProcessMutationJob): a run claims and delivers one integration's due jobs.

`mutation_delivery` is what the delivery sensor and `iec deliver` launch: one integration asset per
run, tagged `iec/integration`, `iec/queue` and `dagster/priority`; dagster.yaml limits them per queue
and per integration, so low work never takes the capacity immediate work needs. The per-integration
presets are what an operator launches from the UI, with no config to type.
"""

import dagster as dg
from pydantic import Field

from iec_pipeline.common.words import counted
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.assets import GROUP, asset_name, dagster_name
from iec_pipeline.diff.replay import parse_since, replay
from iec_pipeline.routing.integrations import sync_to_store
from iec_pipeline.routing.resource import IntegrationsResource
from iec_pipeline.store.resource import StoreResource

DELIVER_JOB = "mutation_delivery"

deliver_mutations_job = dg.define_asset_job(
    DELIVER_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    tags={"iec/job": "deliver"},
    description="Delivers one integration's due mutation jobs through its driver (launched by the delivery sensor).",
)


def deliver_now_job(integration: str):
    return dg.define_asset_job(
        f"deliver_{dagster_name(integration)}",
        selection=[asset_name(integration)],
        executor_def=dg.in_process_executor,
        tags={"iec/job": "deliver", "iec/integration": integration, "iec/queue": "all"},
        description=f"Deliver now: every due job of `{integration}`, all queues, without waiting for the sensor.",
    )


def requeue_dead_job(integration: str) -> dg.JobDefinition:
    @dg.op(
        name=f"requeue_dead_{dagster_name(integration)}_jobs",
        description=f"Gives every dead job of `{integration}` a fresh set of attempts (superseded if a newer exists).",
        out=dg.Out(dg.Nothing),
    )
    def requeue(context: dg.OpExecutionContext, store: StoreResource):
        with store.engine().begin() as conn:
            count = ledger.retry_dead(conn, integration)
        context.log.info(f"{integration}: {counted(count, 'dead job')} pending again; the delivery sensor sends them")
        yield dg.Output(None, metadata={"requeued": count})

    @dg.job(
        name=f"requeue_dead_{dagster_name(integration)}",
        executor_def=dg.in_process_executor,
        tags={"iec/job": "requeue", "iec/integration": integration},
        description=f"Requeue dead jobs of `{integration}` (what `iec jobs retry --dead --integration` does).",
    )
    def requeue_job():
        requeue()

    return requeue_job


class ReplayConfig(dg.Config):
    entity_types: list[str] = Field(default_factory=list, description="Only these entity types (empty: all it takes)")
    since: str | None = Field(default=None, description="Only entities with a mutation since then (ISO 8601)")
    priority: int | None = Field(default=None, description="The jobs' priority (empty: the integration's `*`)")


def replay_job(integration: str) -> dg.JobDefinition:
    @dg.op(
        name=f"replay_{dagster_name(integration)}_catalog",
        description=f"Queues the current catalog for `{integration}`: one job per entity, structure first.",
        out=dg.Out(dg.Nothing),
    )
    def replay_catalog(
        context: dg.OpExecutionContext, config: ReplayConfig, store: StoreResource, integrations: IntegrationsResource
    ):
        declared = integrations.load()
        loaded = next((i for i in declared if i.name == integration), None)
        if loaded is None or not loaded.spec.enabled:
            raise dg.Failure(
                description=f"integration {integration!r} is not declared enabled in the integrations file"
            )
        since = parse_since(config.since) if config.since else None
        engine = store.engine()
        with engine.begin() as conn:
            sync_to_store(conn, declared)
        result = replay(engine, loaded, config.entity_types or None, since, config.priority, progress=context.log.info)
        context.log.info(
            f"{integration}: {counted(result.jobs, 'job')} queued, {counted(result.already_open, 'entity')} "
            "skipped (a job of theirs is open); the delivery sensor sends them"
        )
        by_type = dg.MetadataValue.json(dict(result.by_entity_type))
        yield dg.Output(None, metadata={"jobs": result.jobs, "already_open": result.already_open, "by_type": by_type})

    @dg.job(
        name=f"replay_{dagster_name(integration)}",
        executor_def=dg.in_process_executor,
        tags={"iec/job": "replay", "iec/integration": integration},
        description=f"Replay: send the current catalog again to `{integration}` (what `iec integrations replay` "
        "does); entities with an open job get none.",
    )
    def replay_catalog_job():
        replay_catalog()

    return replay_catalog_job


def verify_job(integration: str):
    """Runs the integration asset's `no_drift` check (the target read back, compared with the store)."""
    key = dg.AssetCheckKey(dg.AssetKey(asset_name(integration)), "no_drift")
    return dg.define_asset_job(
        f"verify_{dagster_name(integration)}",
        selection=dg.AssetSelection.checks(key),
        executor_def=dg.in_process_executor,
        tags={"iec/job": "verify", "iec/integration": integration},
        description=f"Drift check of `{integration}`: read its target back (GETs only) and record what differs "
        "from the store as the `no_drift` check (`iec integrations verify --repair` restores it).",
    )


def verify_schedule(integration: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"verify_{dagster_name(integration)}_nightly",
        job=verify_job(integration),
        cron_schedule="15 4 * * *",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Nightly drift check of `{integration}` (stopped by default).",
    )
