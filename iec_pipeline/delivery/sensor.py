"""The delivery sensor: turns due mutation jobs into delivery runs, per (integration, queue).

What it requests is `delivery.requests.due_requests`, the same as `iec deliver`. The cursor counts the
requests made per group (see there); when it requests nothing, its skip reason says why.

An invalid integrations file fails every tick with the validation's problems (in the UI's sensor page and
the daemon's log) and launches nothing: what `iec daemon` refuses to start on, a daemon started directly
(`dagster-daemon run`) refuses to deliver on, until the file is fixed. The code location itself still
loads (its graph reads only the integrations' names): the webserver, whose environment need not hold the
integrations' secrets, shows the runs and this error, and workers finish the runs they hold.
"""

import json

import dagster as dg

from iec_pipeline.common.settings import Settings
from iec_pipeline.common.words import counted
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.async_hooks import async_hooks_job
from iec_pipeline.delivery.job import deliver_mutations_job
from iec_pipeline.delivery.requests import due_requests
from iec_pipeline.routing import integrations
from iec_pipeline.store.resource import StoreResource


@dg.sensor(
    jobs=[deliver_mutations_job, async_hooks_job],
    minimum_interval_seconds=1,  # every loop of the daemon's sensors (5 s at best), never every other one
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches delivery runs for due mutation jobs, per integration and queue.",
)
def delivery_sensor(context: dg.SensorEvaluationContext, store: StoreResource) -> dg.SensorResult:
    integrations.load(Settings.from_env().integrations_file)  # IntegrationConfigError: every problem, no tick
    cursor = json.loads(context.cursor) if context.cursor else {}
    due = due_requests(context.instance, store.engine(), counters=cursor.get("requests", {}))
    if due.requeued:
        context.log.info(f"{counted(due.requeued, 'job')} of runs that are gone pending again")
    skip_reason = None
    if not due.requests:
        with store.read_engine().connect() as conn:
            next_due = ledger.next_due_at(conn)
        skip_reason = due.why_none(next_due.isoformat(sep=" ", timespec="seconds") + " UTC" if next_due else None)
    return dg.SensorResult(
        run_requests=due.requests,
        skip_reason=skip_reason,
        cursor=json.dumps({"requests": due.counters}, sort_keys=True),
    )
