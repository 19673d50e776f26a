"""dagster-celery's run launcher, with a worker health check that notices a dead worker.

dagster-celery's own check reads the Celery task's state, and a worker killed outright (SIGKILL, power
loss, OOM of the whole worker) never writes one: its run's task stays STARTED in the result backend,
the run stays STARTED in Dagster forever, and what waits on it (the delivery sensor, the run queue's
limits) waits forever too. Here a STARTED task is also asked about its worker: the worker named in the
task's STARTED record (Celery's `track_started`: hostname and pid) must answer a broadcast ping. A worker
that misses MISSES_TO_FAIL pings in a row is gone: the check says FAILED, and Dagster's run monitoring
(`run_monitoring` in deploy/dagster.celery.yaml) marks the run failed. The delivery then recovers on its
own: the delivery sensor sees the run ended, puts its jobs back to pending and requests a new run.

A worker must be able to answer while it runs a Dagster run: the prefork pool (`--pool=prefork
--concurrency=1`, the run in a child process, the worker's main process free to answer), not `--pool=solo`
(the run in the main process: a busy solo worker answers no ping and would look dead).
"""

from __future__ import annotations

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster_celery import launcher
from dagster_celery.tags import DAGSTER_CELERY_TASK_ID_TAG

MISSES_TO_FAIL = 2  # consecutive checks (run monitoring's poll interval apart) without a pong
PING_TIMEOUT_SECONDS = 3.0


class CeleryRunLauncher(launcher.CeleryRunLauncher):
    """`dagster_celery.launcher.CeleryRunLauncher` whose health check tells a dead worker from a busy one."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._misses: dict[str, int] = {}  # run id -> pings missed in a row (the daemon keeps this launcher)

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        health = super().check_run_worker_health(run)
        if health.status != WorkerStatus.RUNNING:
            self._misses.pop(run.run_id, None)
            return health
        worker, pid = task_worker(self, run)
        if worker is None:
            return health
        if self.celery.control.ping(destination=[worker], timeout=PING_TIMEOUT_SECONDS):
            self._misses.pop(run.run_id, None)
            return health
        again = super().check_run_worker_health(run)  # it may have ended while we waited for the pong
        if again.status != WorkerStatus.RUNNING:
            return again
        self._misses[run.run_id] = missed = self._misses.get(run.run_id, 0) + 1
        if missed < MISSES_TO_FAIL:
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"Celery worker {worker} missed a ping ({missed})")
        self._misses.pop(run.run_id, None)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"Celery worker {worker} (run process pid {pid}) answered none of {missed} pings: it is gone",
        )


def task_worker(launcher_: launcher.CeleryRunLauncher, run: dg.DagsterRun) -> tuple[str | None, int | None]:
    """The Celery worker (hostname, e.g. `worker1@host`) that took the run's task, and the pid of the run's
    process; None when the task has not started. From the result backend: the STARTED record while the task
    runs, the worker of its result after (`result_extended`)."""
    task_id = run.tags.get(DAGSTER_CELERY_TASK_ID_TAG)
    if not task_id:
        return None, None
    result = launcher_.celery.AsyncResult(task_id)
    meta = result._get_task_meta()  # one read of the backend  # noqa: SLF001
    started = meta.get("result") if meta.get("status") == "STARTED" else None
    if isinstance(started, dict) and started.get("hostname"):
        return started["hostname"], started.get("pid")
    return meta.get("worker"), None
