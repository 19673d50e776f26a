"""What the Dagster instance says about runs: whether one is alive, which groups have one going.

A run executed in a CLI process (no daemon) is tagged `iec/worker` = host:pid: when that process
died, the run is gone even though the instance still says STARTED. A run on a Celery worker that died is
ended by Dagster's run monitoring (deploy/dagster.celery.yaml: the launcher's health check pings the
worker, iec_pipeline/common/celery_launcher.py): FAILURE, so finished here too.
"""

from __future__ import annotations

import os
import socket

import dagster as dg

IN_PROGRESS = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
WORKER_TAG = "iec/worker"


def worker_id() -> str:
    """host:pid of this process: lets recovery tell a crashed worker from a slow one at once."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(worker: str | None) -> bool | None:
    """True/False for a worker on this host; None when it cannot tell (another host)."""
    if not worker or ":" not in worker:
        return None
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_alive(instance: dg.DagsterInstance, run_id: str) -> bool | None:
    """False when Dagster knows the run ended (or its CLI process died); None when it cannot tell."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    return run.status not in FINISHED and worker_alive(run.tags.get(WORKER_TAG)) is not False


def runs_in_progress(instance: dg.DagsterInstance, job_name: str, tags: dict[str, str] | None = None, limit: int = 500):
    """Runs of `job_name` queued or going, without those whose CLI process died."""
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS, tags=tags), limit=limit)
    return [run for run in runs if worker_alive(run.tags.get(WORKER_TAG)) is not False]
