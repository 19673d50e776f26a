"""Jobs and schedules: the sync job (ingestion + diff) and its incremental schedule."""

import dagster as dg

from iec_pipeline.assets.diff import catalog_diff
from iec_pipeline.assets.partitions import sync_run_config, today_key

SYNC_JOB = "akeneo_sync"

akeneo_sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.groups("akeneo") | dg.AssetSelection.assets(catalog_diff),
    executor_def=dg.in_process_executor,
    description="Fetch Akeneo into staging, then apply it to the store as mutations, in one run.",
    tags={"iec/job": "sync"},
)


@dg.schedule(
    job=akeneo_sync_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Incremental sync every 15 minutes: what changed in Akeneo since the last watermark.",
)
def akeneo_incremental_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time
    return dg.RunRequest(
        run_key=f"incremental:{when.isoformat()}",
        partition_key=today_key(when),
        run_config=sync_run_config("incremental"),
        tags={"iec/sync-mode": "incremental"},
    )


@dg.schedule(
    job=akeneo_sync_job,
    cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly full sync: the reconciliation that finds deletions Akeneo never announced.",
)
def akeneo_nightly_full_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time
    return dg.RunRequest(
        run_key=f"full:{when.isoformat()}",
        partition_key=today_key(when),
        run_config=sync_run_config("full"),
        tags={"iec/sync-mode": "full"},
    )
