"""Plugin hook points (the Izara integration notes): `service_flow_step_hook`.

- `iec_diff_mutation_created`: a job was created for the integration (sync: may veto it);
- `iec_delivery_send_before`: about to send (sync: may return a transformed MutationData, or veto);
- `iec_delivery_send_after`: the target answered (sync: inline; async: its own run).

A sync hook runs inline. An async hook parks the job (`hook_state`): a separate Dagster run
(`async_hooks` job, launched by the delivery sensor) calls it, and delivery of that job, or of the
entity's next job for an after-hook, continues once it reported done.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update

from drivers.base import Driver, HookVeto
from drivers.context import IntegrationContext
from drivers.models import DeliveryResult, MutationData
from iec_pipeline.catalog.staging import utcnow
from iec_pipeline.store.models import MutationJob

J = MutationJob.__table__


def hooks_for(driver_class: type[Driver], point: str, mode: str) -> list[str]:
    return [h.method for h in driver_class.hooks if h.point == point and h.mode == mode]


def before_send(
    driver: Driver, mutation: MutationData, context: IntegrationContext
) -> tuple[MutationData | None, str | None]:
    """Runs the sync send_before hooks: (the mutation to send, None) or (None, veto reason)."""
    for method in hooks_for(type(driver), "iec_delivery_send_before", "sync"):
        try:
            changed = getattr(driver, method)(mutation, context)
        except HookVeto as veto:
            return None, str(veto) or method
        if isinstance(changed, MutationData):
            mutation = changed
    return mutation, None


def after_send(
    driver: Driver, mutations: Sequence[MutationData], results: Sequence[DeliveryResult], context: IntegrationContext
) -> None:
    for method in hooks_for(type(driver), "iec_delivery_send_after", "sync"):
        for mutation, result in zip(mutations, results, strict=True):
            try:
                getattr(driver, method)(mutation, result, context)
            except Exception:  # an after-hook never changes what was delivered
                context.log.exception(f"hook {method} failed for mutation {mutation.mutation_id}")


def has_async(driver_class: type[Driver], point: str) -> bool:
    return bool(hooks_for(driver_class, point, "async"))


def creation_state(driver_class: type[Driver]) -> str | None:
    """hook_state a new job starts with: parked until its async pre-send hooks report done."""
    if has_async(driver_class, "iec_diff_mutation_created") or has_async(driver_class, "iec_delivery_send_before"):
        return "before"
    return None


def run_async_hooks(
    conn_factory: Any, driver: Driver, integration: str, load: Any, context: IntegrationContext, limit: int = 500
) -> dict[str, int]:
    """Calls the async hooks of every parked job of `integration` and releases them.

    `conn_factory()` opens a transaction; `load(conn, job_ids)` returns the jobs' MutationData.
    """
    done = {"before": 0, "after": 0, "vetoed": 0}
    with conn_factory() as conn:
        rows = conn.execute(
            select(J.c.id, J.c.hook_state, J.c.status)
            .where(J.c.integration == integration, J.c.hook_state.is_not(None))
            .order_by(J.c.id)
            .limit(limit)
        ).all()
        mutations = load(conn, [r.id for r in rows])
    for row, mutation in zip(rows, mutations, strict=True):
        vetoed = None
        if row.hook_state == "before":
            for point in ("iec_diff_mutation_created", "iec_delivery_send_before"):
                for method in hooks_for(type(driver), point, "async"):
                    try:
                        getattr(driver, method)(mutation, context)
                    except HookVeto as veto:
                        vetoed = str(veto) or method
        else:
            for method in hooks_for(type(driver), "iec_delivery_send_after", "async"):
                try:
                    getattr(driver, method)(mutation, None, context)
                except Exception:
                    context.log.exception(f"async hook {method} failed for mutation {mutation.mutation_id}")
        with conn_factory() as conn:
            values: dict[str, Any] = {"hook_state": None, "updated_at": utcnow()}
            if vetoed is not None:
                values.update(status="superseded", last_error=f"vetoed by hook: {vetoed}", finished_at=utcnow())
                done["vetoed"] += 1
            else:
                done[row.hook_state] += 1
            conn.execute(update(J).where(J.c.id == row.id, J.c.hook_state == row.hook_state).values(**values))
    return done


def veto_reason_on_creation(driver: Driver, mutation: MutationData, context: IntegrationContext) -> str | None:
    """Sync `iec_diff_mutation_created` hooks, run at fan-out: a veto means the job is not needed."""
    for method in hooks_for(type(driver), "iec_diff_mutation_created", "sync"):
        try:
            getattr(driver, method)(mutation, context)
        except HookVeto as veto:
            return str(veto) or method
    return None
