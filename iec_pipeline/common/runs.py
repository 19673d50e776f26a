"""What the Dagster instance says about runs: whether one is alive, which groups have one going."""

from __future__ import annotations

import dagster as dg

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def run_alive(instance: dg.DagsterInstance, run_id: str) -> bool | None:
    """False when Dagster knows the run ended; None when it cannot tell (e.g. another instance)."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    return run.status not in FINISHED


def runs_in_progress(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str] | None = None, limit: int = 500):
    return instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS, tags=tags), limit=limit)
