"""The delivery job (IEC's ProcessMutationJob): one run claims and delivers one integration's due jobs.

Runs are tagged `iec/integration`, `iec/queue` and `dagster/priority`; dagster.yaml limits them per
queue and per integration, so low work never takes the capacity immediate work needs.
"""

import dagster as dg

from iec_pipeline.delivery.run import DeliveryConfig, deliver
from iec_pipeline.store.resource import StoreResource

DELIVER_JOB = "mutation_delivery"


@dg.op(
    description="Claims due jobs of one integration (and queue), delivers them through its driver, records.",
    out=dg.Out(dg.Nothing, description="Nothing is handed on: the results are in mutation_jobs"),
)
def deliver_mutations(context: dg.OpExecutionContext, config: DeliveryConfig, store: StoreResource):
    stats = deliver(store.engine(), context.run_id, config, log=context.log)
    context.log.info(
        f"{config.integration}/{config.queue or 'all'}: {stats.delivered} delivered, {stats.retried} to retry, "
        f"{stats.dead} dead, {stats.superseded} superseded in {stats.seconds:.1f}s"
    )
    for error in stats.errors[:5]:
        context.log.warning(error)
    yield dg.Output(None, metadata=stats.as_metadata())


@dg.job(
    name=DELIVER_JOB,
    executor_def=dg.in_process_executor,
    tags={"iec/job": "deliver"},
    description="Delivers one integration's due mutation jobs through its driver (launched by the delivery sensor).",
)
def deliver_mutations_job():
    deliver_mutations()
