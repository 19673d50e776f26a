"""The one `Definitions` of the IEC code location: assets, checks, jobs, schedules, sensors, resources."""

from __future__ import annotations

import dagster as dg

from iec_pipeline.assets.akeneo import fetch_assets
from iec_pipeline.assets.diff import catalog_diff
from iec_pipeline.delivery.job import async_hooks_job, deliver_mutations_job
from iec_pipeline.jobs import SYNC_JOB, akeneo_incremental_sync, akeneo_nightly_full_sync, akeneo_sync_job
from iec_pipeline.resources.akeneo import AkeneoResource
from iec_pipeline.resources.store import StoreResource
from iec_pipeline.sensors.delivery import delivery_sensor
from iec_pipeline.sensors.drops import drops_sensor


def resources() -> dict:
    return {
        "akeneo": AkeneoResource(
            url=dg.EnvVar("AKENEO_URL"),
            client_id=dg.EnvVar("AKENEO_CLIENT_ID"),
            client_secret=dg.EnvVar("AKENEO_CLIENT_SECRET"),
            username=dg.EnvVar("AKENEO_USERNAME"),
            password=dg.EnvVar("AKENEO_PASSWORD"),
        ),
        "store": StoreResource(),
    }


defs = dg.Definitions(
    assets=[*fetch_assets, catalog_diff],
    jobs=[akeneo_sync_job, deliver_mutations_job, async_hooks_job],
    schedules=[akeneo_incremental_sync, akeneo_nightly_full_sync],
    sensors=[delivery_sensor, drops_sensor],
    resources=resources(),
)


def sync_job() -> dg.JobDefinition:
    """Module-level accessor so `dg.reconstructable` can rebuild the job in any process."""
    return defs.resolve_job_def(SYNC_JOB)


def deliver_job() -> dg.JobDefinition:
    return defs.resolve_job_def(deliver_mutations_job.name)


def hooks_job() -> dg.JobDefinition:
    return defs.resolve_job_def(async_hooks_job.name)
