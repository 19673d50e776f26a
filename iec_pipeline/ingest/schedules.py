"""Scheduled syncs, stopped by default: an operator turns them on in the UI (or `dagster schedule start`)."""

import dagster as dg

from iec_pipeline.ingest.jobs import akeneo_sync_job
from iec_pipeline.ingest.requests import sync_run_request


@dg.schedule(
    job=akeneo_sync_job,
    cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Incremental sync every 15 minutes: what changed in Akeneo since the last watermark.",
)
def akeneo_incremental_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time
    return sync_run_request("incremental", run_key=f"incremental:{when.isoformat()}")


@dg.schedule(
    job=akeneo_sync_job,
    cron_schedule="30 2 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly full sync: the reconciliation that finds deletions Akeneo never announced.",
)
def akeneo_nightly_full_sync(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time
    return sync_run_request("full", run_key=f"full:{when.isoformat()}")


schedules = [akeneo_incremental_sync, akeneo_nightly_full_sync]
