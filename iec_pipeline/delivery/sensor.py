"""The delivery sensor: turns due mutation jobs into delivery runs, per (integration, queue).

Each tick: jobs of runs that are gone go back to pending; then every (integration, queue) with due
jobs and no delivery run already waiting or working gets ONE run request. The cursor counts the
requests made per group and the run_key carries that count: a re-evaluated tick (same cursor) can
never launch a run twice, and a group whose last run ended with work left always gets a new key.
"""

import json

import dagster as dg

from iec_pipeline.common.runs import run_alive, runs_in_progress
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.async_hooks import HOOKS_JOB, async_hooks_job
from iec_pipeline.delivery.job import DELIVER_JOB, deliver_mutations_job
from iec_pipeline.delivery.requests import delivery_run_request, hooks_run_request
from iec_pipeline.store.resource import StoreResource


def active_groups(instance: dg.DagsterInstance, job_name: str) -> set[tuple[str, str]]:
    runs = runs_in_progress(instance, job_name)
    return {(r.tags.get("iec/integration", ""), r.tags.get("iec/queue", "")) for r in runs}


def delivery_requests(
    instance: dg.DagsterInstance, store: StoreResource, cursor: dict | None = None
) -> tuple[list[dg.RunRequest], dict]:
    """Run requests for due groups without a run, and the new cursor (a request counter per group)."""
    counters = dict((cursor or {}).get("requests", {}))
    with store.engine().begin() as conn:
        requeued = ledger.requeue_orphans(conn, lambda run_id: run_alive(instance, run_id))
    with store.read_engine().connect() as conn:
        groups = ledger.due_groups(conn)
        parked = ledger.parked_integrations(conn)
    busy = active_groups(instance, DELIVER_JOB)
    requests = []
    for group in groups:
        if (group.integration, group.queue) in busy:
            continue  # that run keeps claiming until nothing is due
        key = f"{group.integration}:{group.queue}"
        counters[key] = counters.get(key, 0) + 1
        requests.append(delivery_run_request(group.integration, group.queue, run_key=f"deliver:{key}:{counters[key]}"))
    hooks_busy = {integration for integration, _ in active_groups(instance, HOOKS_JOB)}
    requests += [hooks_run_request(name) for name in parked if name not in hooks_busy]
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
