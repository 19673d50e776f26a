"""The one `Definitions` of the `iec` code location: assets, checks, jobs, schedules, sensors, resources.

Integrations are part of the graph (an asset and two preset jobs each), so the definitions follow the
integrations file: `current()` rebuilds them when it changed (the UI's "Reload" does the same).
"""

from __future__ import annotations

import dagster as dg

from iec_pipeline.assets import assets
from iec_pipeline.common.settings import Settings, export_defaults
from iec_pipeline.delivery.assets import asset_name, dagster_name, integration_asset
from iec_pipeline.delivery.async_hooks import HOOKS_JOB, async_hooks_job
from iec_pipeline.delivery.job import (
    DELIVER_JOB,
    deliver_mutations_job,
    deliver_now_job,
    replay_job,
    requeue_dead_job,
    verify_schedule,
)
from iec_pipeline.delivery.verify import drift_check
from iec_pipeline.ingest.jobs import FAMILY_JOB, SYNC_JOB, sync_jobs
from iec_pipeline.ingest.schedules import schedules
from iec_pipeline.resources import resources_for
from iec_pipeline.routing.integrations import enabled_names
from iec_pipeline.sensors import sensors


def build_definitions(deployment: str, integrations: list[str]) -> dg.Definitions:
    """The code location with the resources of one deployment (`local` or `test`) and an asset and
    preset jobs per enabled integration."""
    return dg.Definitions(
        assets=[*assets, *(integration_asset(name) for name in integrations)],
        asset_checks=[drift_check(name, dg.AssetKey(asset_name(name))) for name in integrations],
        jobs=[
            *sync_jobs,
            deliver_mutations_job,
            async_hooks_job,
            *(deliver_now_job(name) for name in integrations),
            *(requeue_dead_job(name) for name in integrations),
            *(replay_job(name) for name in integrations),
        ],
        schedules=[*schedules, *(verify_schedule(name) for name in integrations)],
        sensors=sensors,
        resources=resources_for(deployment),
    )


_built: dict[tuple, dg.Definitions] = {}


def current() -> dg.Definitions:
    """The definitions for this process's settings and integrations file, rebuilt when it changed."""
    settings = export_defaults(Settings.from_env())  # the store and integrations defaults, for the EnvVars
    path = settings.integrations_file
    stat = path.stat() if path.exists() else None
    key = (settings.deployment, str(path), stat and (stat.st_mtime_ns, stat.st_size))
    if key not in _built:
        _built.clear()
        names = {dagster_name(name): name for name in reversed(enabled_names(path))}  # one per Dagster name
        _built[key] = build_definitions(settings.deployment, sorted(names.values()))
    return _built[key]


defs = current()


# Module-level job accessors, so a run can be rebuilt in any process (`dg.reconstructable`).
def sync_job() -> dg.JobDefinition:
    return current().resolve_job_def(SYNC_JOB)


def family_job() -> dg.JobDefinition:
    return current().resolve_job_def(FAMILY_JOB)


def deliver_job() -> dg.JobDefinition:
    return current().resolve_job_def(DELIVER_JOB)


def hooks_job() -> dg.JobDefinition:
    return current().resolve_job_def(HOOKS_JOB)


JOBS = {SYNC_JOB: sync_job, FAMILY_JOB: family_job, DELIVER_JOB: deliver_job, HOOKS_JOB: hooks_job}
