"""Delivery jobs (IEC's ProcessMutationJob): a run claims and delivers one integration's due jobs.

`mutation_delivery` is what the delivery sensor and `iec deliver` launch: one integration asset per
run, tagged `iec/integration`, `iec/queue` and `dagster/priority`; dagster.yaml limits them per queue
and per integration, so low work never takes the capacity immediate work needs. The per-integration
presets are what an operator launches from the UI, with no config to type.
"""

import dagster as dg

from iec_pipeline.common.words import counted
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.assets import GROUP, asset_name, dagster_name
from iec_pipeline.store.resource import StoreResource

DELIVER_JOB = "mutation_delivery"

deliver_mutations_job = dg.define_asset_job(
    DELIVER_JOB,
    selection=dg.AssetSelection.groups(GROUP),
    executor_def=dg.in_process_executor,
    tags={"iec/job": "deliver"},
    description="Delivers one integration's due mutation jobs through its driver (launched by the delivery sensor).",
)


def deliver_now_job(integration: str):
    return dg.define_asset_job(
        f"deliver_{dagster_name(integration)}",
        selection=[asset_name(integration)],
        executor_def=dg.in_process_executor,
        tags={"iec/job": "deliver", "iec/integration": integration, "iec/queue": "all"},
        description=f"Deliver now: every due job of `{integration}`, all queues, without waiting for the sensor.",
    )


def requeue_dead_job(integration: str) -> dg.JobDefinition:
    @dg.op(
        name=f"requeue_dead_{dagster_name(integration)}_jobs",
        description=f"Gives every dead job of `{integration}` a fresh set of attempts (superseded if a newer exists).",
        out=dg.Out(dg.Nothing),
    )
    def requeue(context: dg.OpExecutionContext, store: StoreResource):
        with store.engine().begin() as conn:
            count = ledger.retry_dead(conn, integration)
        context.log.info(f"{integration}: {counted(count, 'dead job')} pending again; the delivery sensor sends them")
        yield dg.Output(None, metadata={"requeued": count})

    @dg.job(
        name=f"requeue_dead_{dagster_name(integration)}",
        executor_def=dg.in_process_executor,
        tags={"iec/job": "requeue", "iec/integration": integration},
        description=f"Requeue dead jobs of `{integration}` (what `iec jobs retry --dead --integration` does).",
    )
    def requeue_job():
        requeue()

    return requeue_job
