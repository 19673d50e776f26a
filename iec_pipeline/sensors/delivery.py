"""The delivery sensor: turns due mutation jobs into delivery runs, per (integration, queue).

Each tick: jobs of runs that are gone go back to pending; then every (integration, queue) with due
jobs and no delivery run already waiting or working gets ONE run request. The cursor counts the
requests made per group and the run_key carries that count: a re-evaluated tick (same cursor) can
never launch a run twice, and a group whose last run ended with work left always gets a new key.
"""

import json

import dagster as dg
from sqlalchemy import select

from iec_pipeline.delivery import mutation_jobs as ledger
from iec_pipeline.delivery.job import DELIVER_JOB, HOOKS_JOB, async_hooks_job, deliver_mutations_job
from iec_pipeline.fanout import dagster_priority
from iec_pipeline.resources.store import StoreResource
from iec_pipeline.store.models import MutationJob

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


def active_groups(instance: dg.DagsterInstance, job_name: str) -> set[tuple[str, str]]:
    runs = instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=IN_PROGRESS), limit=500)
    return {(r.tags.get("iec/integration", ""), r.tags.get("iec/queue", "")) for r in runs}


def delivery_requests(
    instance: dg.DagsterInstance, store: StoreResource, cursor: dict | None = None
) -> tuple[list[dg.RunRequest], dict]:
    """Run requests for due groups without a run, and the new cursor (a request counter per group)."""
    counters = dict((cursor or {}).get("requests", {}))
    engine = store.engine()
    with engine.begin() as conn:
        requeued = ledger.requeue_orphans(conn, lambda run_id: run_alive(instance, run_id))
    with store.read_engine().connect() as conn:
        groups = ledger.due_groups(conn)
        parked = sorted(
            {
                name
                for (name,) in conn.execute(
                    select(MutationJob.integration).where(MutationJob.hook_state.is_not(None)).distinct()
                )
            }
        )
    busy = active_groups(instance, DELIVER_JOB)
    requests = []
    for group in groups:
        key = f"{group.integration}:{group.queue}"
        if (group.integration, group.queue) in busy:
            continue  # that run keeps claiming until nothing is due
        counters[key] = counters.get(key, 0) + 1
        requests.append(
            dg.RunRequest(
                run_key=f"deliver:{key}:{counters[key]}",
                job_name=DELIVER_JOB,
                run_config={
                    "ops": {"deliver_mutations": {"config": {"integration": group.integration, "queue": group.queue}}}
                },
                tags={
                    "iec/integration": group.integration,
                    "iec/queue": group.queue,
                    "dagster/priority": str(dagster_priority(group.queue)),
                },
            )
        )
    hooks_busy = {i for i, _ in active_groups(instance, HOOKS_JOB)}
    for name in parked:
        if name not in hooks_busy:
            requests.append(
                dg.RunRequest(
                    job_name=HOOKS_JOB,
                    run_config={"ops": {"run_async_hooks": {"config": {"integration": name}}}},
                    tags={"iec/integration": name, "iec/queue": "hooks"},
                )
            )
    return requests, {"requeued": requeued, "requests": counters}


@dg.sensor(
    jobs=[deliver_mutations_job, async_hooks_job],
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches delivery runs for due mutation jobs, per integration and queue.",
)
def delivery_sensor(context: dg.SensorEvaluationContext, store: StoreResource) -> dg.SensorResult:
    cursor = json.loads(context.cursor) if context.cursor else {}
    requests, state = delivery_requests(context.instance, store, cursor)
    if state["requeued"]:
        context.log.info(f"{state['requeued']} job(s) of runs that are gone are pending again")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps({"requests": state["requests"]}, sort_keys=True))
