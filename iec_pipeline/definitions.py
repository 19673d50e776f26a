"""The one `Definitions` of the `iec` code location: assets, checks, jobs, schedules, sensors, resources."""

from __future__ import annotations

import dagster as dg

from iec_pipeline.assets import assets
from iec_pipeline.common.settings import Settings, export_defaults
from iec_pipeline.delivery.async_hooks import HOOKS_JOB, async_hooks_job
from iec_pipeline.delivery.job import DELIVER_JOB, deliver_mutations_job
from iec_pipeline.ingest.jobs import SYNC_JOB, akeneo_sync_job
from iec_pipeline.ingest.schedules import schedules
from iec_pipeline.resources import resources_for
from iec_pipeline.sensors import sensors


def build_definitions(deployment: str) -> dg.Definitions:
    """The code location with the resources of one deployment (`local` or `test`)."""
    return dg.Definitions(
        assets=assets,
        jobs=[akeneo_sync_job, deliver_mutations_job, async_hooks_job],
        schedules=schedules,
        sensors=sensors,
        resources=resources_for(deployment),
    )


settings = export_defaults(Settings.from_env())  # the store and integrations defaults, for the EnvVars
defs = build_definitions(settings.deployment)


# Module-level job accessors, so `dg.reconstructable` can rebuild a job in any process.
def sync_job() -> dg.JobDefinition:
    return defs.resolve_job_def(SYNC_JOB)


def deliver_job() -> dg.JobDefinition:
    return defs.resolve_job_def(DELIVER_JOB)


def hooks_job() -> dg.JobDefinition:
    return defs.resolve_job_def(HOOKS_JOB)


JOBS = {SYNC_JOB: sync_job, DELIVER_JOB: deliver_job, HOOKS_JOB: hooks_job}
