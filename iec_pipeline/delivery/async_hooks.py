"""Async hooks: a job parked by its driver's async hooks (`hook_state`) is released by a run of its own.

A job whose driver has async creation or send-before hooks starts parked ("before"); a job delivered
by a driver with async send-after hooks is parked ("after") until they ran, and the entity's next
job waits for it. The delivery sensor launches one `async_hooks` run per integration with parked jobs.
"""

from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine, select, update

from drivers import hooks
from drivers.base import Driver
from drivers.context import IntegrationContext
from iec_pipeline.common.clock import utcnow
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.mappings import StoreMappings
from iec_pipeline.routing import integrations
from iec_pipeline.store.models import MutationJob
from iec_pipeline.store.resource import StoreResource

HOOKS_JOB = "async_hooks"
JOBS = MutationJob.__table__


def run_parked_hooks(
    engine: Engine, driver: Driver, integration: str, context: IntegrationContext, limit: int = 500
) -> dict[str, int]:
    """Calls the async hooks of up to `limit` parked jobs of `integration` and releases each."""
    done = {"before": 0, "after": 0, "vetoed": 0}
    with engine.begin() as conn:
        rows = conn.execute(
            select(JOBS.c.id, JOBS.c.mutation_id, JOBS.c.entity_type, JOBS.c.entity_uuid, JOBS.c.code,
                   JOBS.c.attempts, JOBS.c.hook_state)
            .where(JOBS.c.integration == integration, JOBS.c.hook_state.is_not(None))
            .order_by(JOBS.c.id)
            .limit(limit)
        ).all()  # fmt: skip
        claims = [ledger.Claim(r.id, r.mutation_id, r.entity_type, r.entity_uuid, r.code, r.attempts) for r in rows]
        mutations = ledger.load_mutations(conn, claims)
    for row, mutation in zip(rows, mutations, strict=True):
        vetoed = None
        if row.hook_state == "before":
            vetoed = hooks.async_before(driver, mutation, context)
        else:
            hooks.async_after(driver, mutation, context)
        values: dict[str, Any] = {"hook_state": None, "updated_at": utcnow()}
        if vetoed is not None:
            values.update(status="superseded", last_error=f"vetoed by hook: {vetoed}", finished_at=utcnow())
            done["vetoed"] += 1
        else:
            done[row.hook_state] += 1
        with engine.begin() as conn:
            conn.execute(
                update(JOBS).where(JOBS.c.id == row.id, JOBS.c.hook_state == row.hook_state).values(**values)
            )
    return done


class HooksConfig(dg.Config):
    integration: str = Field(description="The integration whose parked jobs' async hooks run")


@dg.op(description="Calls the async hooks of parked jobs, then lets their delivery continue.", out=dg.Out(dg.Nothing))
def run_async_hooks(context: dg.OpExecutionContext, config: HooksConfig, store: StoreResource):
    engine = store.engine()
    with engine.connect() as conn:
        integration = integrations.from_store(conn, config.integration)
    hook_context = IntegrationContext(integration.name, StoreMappings(engine, integration.name), log=context.log)
    done = run_parked_hooks(engine, integration.build_driver(), integration.name, hook_context)
    context.log.info(f"{integration.name}: async hooks done: {done}")
    yield dg.Output(None, metadata=done)


@dg.job(
    name=HOOKS_JOB,
    executor_def=dg.in_process_executor,
    tags={"iec/job": "hooks"},
    description="Runs the async hooks of one integration's parked jobs, then releases them.",
)
def async_hooks_job():
    run_async_hooks()
