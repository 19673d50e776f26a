"""One asset per enabled integration (`integration_<name>`, group `integrations`), downstream of
`catalog_diff`: the lineage goes Akeneo -> store -> each target.

A materialization is one delivery run of that integration: what it delivered, and where its backlog
stands. Two ERROR checks say whether the integration is healthy: `no_dead_jobs` (a job out of
attempts waits for an operator: `requeue_dead_<name>` or `iec jobs retry --dead`) and `backlog_fresh`
(no job has waited longer than the integration's `max_backlog_age_seconds`). A run that leaves dead
jobs still succeeds (it did its work: other jobs were delivered), and its failed check turns the
asset red in the UI.
"""

import re

import dagster as dg
from sqlalchemy import Engine

from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.settings import Settings
from iec_pipeline.common.words import counted, described
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.run import DeliveryConfig, DeliveryStats, deliver
from iec_pipeline.ingest.akeneo import AkeneoResource
from iec_pipeline.ingest.jobs import DIFF_ASSET
from iec_pipeline.ingest.media import AkeneoMedia, MediaStats
from iec_pipeline.routing import integrations
from iec_pipeline.routing.queues import QUEUES
from iec_pipeline.store.resource import StoreResource

GROUP = "integrations"
METADATA = {
    "delivered": "jobs this run delivered",
    "retried": "jobs that failed and will be tried again later",
    "dead": "jobs this run gave up on (out of attempts)",
    "superseded": "older jobs made redundant by a newer job of the same entity",
    "backlog": "open jobs of the integration after the run (pending, running or parked)",
    "backlog_<queue>": "open jobs per queue (integrations-immediate, -normal, -low)",
    "dead_jobs": "dead jobs of the integration waiting for an operator, from any run",
    "oldest_pending_age_seconds": "how long the oldest open job has waited",
    "seconds": "how long the delivery took",
    "media_downloaded": "Akeneo media files downloaded for this run's drivers (each file is downloaded once, ever)",
    "media_bytes_downloaded": "their bytes",
    "media_reused": "media files drivers asked for that were already on disk",
}


def dagster_name(integration: str) -> str:
    """An integration's name as Dagster allows names ([A-Za-z0-9_]): `search-index` -> `search_index`."""
    return re.sub(r"[^A-Za-z0-9_]", "_", integration)


def asset_name(integration: str) -> str:
    return f"integration_{dagster_name(integration)}"


def integration_asset(name: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(asset_name(name))

    @dg.asset(
        name=key.path[0],
        group_name=GROUP,
        deps=[DIFF_ASSET],
        kinds={"iec"},
        description=described(
            f"What integration `{name}` has received: each materialization is one of its delivery runs.", METADATA
        ),
        check_specs=[
            dg.AssetCheckSpec("no_dead_jobs", asset=key, description="No job of this integration is dead."),
            dg.AssetCheckSpec(
                "backlog_fresh", asset=key, description="No open job has waited longer than max_backlog_age_seconds."
            ),
        ],
    )
    def deliver_integration(
        context: dg.AssetExecutionContext, config: DeliveryConfig, store: StoreResource, akeneo: AkeneoResource
    ) -> dg.MaterializeResult:
        engine = store.engine()
        # Akeneo's files for drivers that send binaries: downloaded when one asks (no request otherwise).
        with AkeneoMedia(lambda: akeneo.client(log=context.log), engine, Settings.from_env().media_dir,
                         log=context.log) as media:  # fmt: skip
            stats = deliver(engine, context.run.run_id, name, config, log=context.log, media=media)
        context.log.info(
            f"{name}/{config.queue or 'all'}: {counted(stats.delivered, 'job')} delivered, {stats.retried} to retry, "
            f"{stats.dead} dead, {stats.superseded} superseded in {stats.seconds:.1f}s"
            + (f"; {counted(media.stats.downloaded, 'media file')} downloaded" if media.stats.downloaded else "")
        )
        for error in stats.errors[:5]:
            context.log.warning(error)
        return integration_report(store.read_engine(), name, stats, media.stats)

    return deliver_integration


def integration_report(
    engine: Engine, name: str, stats: DeliveryStats, media: MediaStats | None = None
) -> dg.MaterializeResult:
    """The asset's metadata and checks after a delivery run: this run's counts, the backlog after it."""
    with engine.connect() as conn:
        backlog = ledger.backlog(conn, name)
        limit = integrations.from_store(conn, name).spec.max_backlog_age_seconds
    age = round(backlog.oldest_age_seconds(utcnow()), 1)
    metadata: dict = {
        "delivered": stats.delivered,
        "retried": stats.retried,
        "dead": stats.dead,
        "superseded": stats.superseded,
        "backlog": backlog.total,
        **{f"backlog_{queue}": backlog.by_queue.get(queue, 0) for queue in QUEUES},
        "dead_jobs": backlog.dead,
        "oldest_pending_age_seconds": dg.MetadataValue.float(age),
        "seconds": dg.MetadataValue.float(round(stats.seconds, 3)),
        **(media or MediaStats()).as_metadata(),
    }
    checks = [
        dg.AssetCheckResult(
            check_name="no_dead_jobs",
            passed=backlog.dead == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{counted(backlog.dead, 'dead job')}: launch requeue_dead_{dagster_name(name)}"
            if backlog.dead
            else None,
            metadata={"dead_jobs": backlog.dead},
        ),
        dg.AssetCheckResult(
            check_name="backlog_fresh",
            passed=age <= limit,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "oldest_pending_age_seconds": dg.MetadataValue.float(age),
                "max_backlog_age_seconds": dg.MetadataValue.float(float(limit)),
                "backlog": backlog.total,
            },
        ),
    ]
    return dg.MaterializeResult(metadata=metadata, check_results=checks)
