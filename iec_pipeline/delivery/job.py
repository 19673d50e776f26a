"""The delivery job (IEC's ProcessMutationJob) and the async hooks job, as Dagster jobs.

Runs are tagged `iec/integration`, `iec/queue` and `dagster/priority`; dagster.yaml limits them per
queue and per integration, so low work never takes the capacity immediate work needs.
"""

import dagster as dg
from pydantic import Field
from sqlalchemy import select

from drivers.context import IntegrationContext
from iec_pipeline import integrations
from iec_pipeline.delivery import hooks
from iec_pipeline.delivery import mutation_jobs as ledger
from iec_pipeline.delivery.mappings import StoreMappings
from iec_pipeline.delivery.run import DeliveryConfig, deliver
from iec_pipeline.resources.store import StoreResource
from iec_pipeline.store.models import MutationJob

DELIVER_JOB = "mutation_delivery"
HOOKS_JOB = "async_hooks"


class DeliverConfig(dg.Config):
    integration: str = Field(description="The integration whose due jobs this run delivers")
    queue: str | None = Field(default=None, description="Only this queue (integrations-immediate|normal|low)")
    batch_size: int = Field(default=200, ge=1, le=5000, description="Jobs claimed per batch")
    linger_seconds: float = Field(default=15.0, ge=0, description="Keep polling for new work this long when idle")
    max_seconds: float = Field(default=900.0, gt=0, description="Stop after this long; the sensor starts a fresh run")
    lease_seconds: float = Field(default=60.0, gt=5, description="Lease of claimed jobs, renewed while alive")


@dg.op(
    description="Claims due jobs of one integration (and queue), delivers them through its driver, records.",
    out=dg.Out(dg.Nothing, description="Nothing is handed on: the results are in mutation_jobs"),
)
def deliver_mutations(context: dg.OpExecutionContext, config: DeliverConfig, store: StoreResource):
    stats = deliver(
        store.engine(),
        context.run_id,
        DeliveryConfig(
            integration=config.integration,
            queue=config.queue,
            batch_size=config.batch_size,
            linger_seconds=config.linger_seconds,
            max_seconds=config.max_seconds,
            lease_seconds=config.lease_seconds,
        ),
        log=context.log,
    )
    context.log.info(
        f"{config.integration}/{config.queue or 'all'}: {stats.delivered} delivered, {stats.retried} to retry, "
        f"{stats.dead} dead, {stats.superseded} superseded in {stats.seconds:.1f}s"
    )
    for error in stats.errors[:5]:
        context.log.warning(error)
    yield dg.Output(None, metadata=stats.as_metadata())


@dg.job(name=DELIVER_JOB, executor_def=dg.in_process_executor, tags={"iec/job": "deliver"})
def deliver_mutations_job():
    deliver_mutations()


class HooksConfig(dg.Config):
    integration: str = Field(description="The integration whose parked jobs' async hooks run")


@dg.op(
    description="Calls the async hooks of parked jobs, then lets their delivery continue.",
    out=dg.Out(dg.Nothing),
)
def run_async_hooks(context: dg.OpExecutionContext, config: HooksConfig, store: StoreResource):
    engine = store.engine()
    with engine.connect() as conn:
        integration = integrations.from_store(conn, config.integration)
    driver = integration.build_driver()
    ctx = IntegrationContext(integration.name, StoreMappings(engine, integration.name), log=context.log)

    def load(conn, job_ids):
        rows = conn.execute(
            select(MutationJob.id, MutationJob.mutation_id, MutationJob.entity_type, MutationJob.entity_uuid,
                   MutationJob.code, MutationJob.attempts).where(MutationJob.id.in_(job_ids)).order_by(MutationJob.id)
        ).all()  # fmt: skip
        claims = [ledger.Claim(r.id, r.mutation_id, r.entity_type, r.entity_uuid, r.code, r.attempts) for r in rows]
        return ledger.load_mutations(conn, claims)

    done = hooks.run_async_hooks(engine.begin, driver, integration.name, load, ctx)
    context.log.info(f"{integration.name}: async hooks done: {done}")
    yield dg.Output(None, metadata=done)


@dg.job(name=HOOKS_JOB, executor_def=dg.in_process_executor, tags={"iec/job": "hooks"})
def async_hooks_job():
    run_async_hooks()
