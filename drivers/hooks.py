"""How IEC calls a driver's hooks (hook points `service_flow_step_hook`, from the Izara notes).

- `iec_diff_mutation_created`: a job was created for the integration (sync: may veto it);
- `iec_delivery_send_before`: about to send (sync: may return a transformed MutationData, or veto);
- `iec_delivery_send_after`: the target answered (sync: inline; async: its own run).

A sync hook runs inline. An async hook parks the job until a separate run has called it (see
`iec_pipeline.delivery.async_hooks`).
"""

from __future__ import annotations

from collections.abc import Sequence

from drivers.base import Driver, HookVeto
from drivers.context import IntegrationContext
from drivers.models import DeliveryResult, MutationData

CREATED = "iec_diff_mutation_created"
SEND_BEFORE = "iec_delivery_send_before"
SEND_AFTER = "iec_delivery_send_after"


def hooks_for(driver_class: type[Driver], point: str, mode: str) -> list[str]:
    return [h.method for h in driver_class.hooks if h.point == point and h.mode == mode]


def has_async(driver_class: type[Driver], point: str) -> bool:
    return bool(hooks_for(driver_class, point, "async"))


def creation_state(driver_class: type[Driver]) -> str | None:
    """The `hook_state` a new job starts with: parked ("before") until its async pre-send hooks report done."""
    if has_async(driver_class, CREATED) or has_async(driver_class, SEND_BEFORE):
        return "before"
    return None


def veto_on_creation(driver: Driver, mutation: MutationData, context: IntegrationContext) -> str | None:
    """Sync creation hooks, run at fan-out: the reason of a veto (the job is not needed), else None."""
    for method in hooks_for(type(driver), CREATED, "sync"):
        try:
            getattr(driver, method)(mutation, context)
        except HookVeto as veto:
            return str(veto) or method
    return None


def before_send(
    driver: Driver, mutation: MutationData, context: IntegrationContext
) -> tuple[MutationData | None, str | None]:
    """Sync send-before hooks: (the mutation to send, None) or (None, veto reason)."""
    for method in hooks_for(type(driver), SEND_BEFORE, "sync"):
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
    """Sync send-after hooks; a failing one is logged and never changes what was delivered."""
    for method in hooks_for(type(driver), SEND_AFTER, "sync"):
        for mutation, result in zip(mutations, results, strict=True):
            try:
                getattr(driver, method)(mutation, result, context)
            except Exception:
                context.log.exception(f"hook {method} failed for mutation {mutation.mutation_id}")


def async_before(driver: Driver, mutation: MutationData, context: IntegrationContext) -> str | None:
    """A parked job's async creation and send-before hooks: the reason of a veto, else None."""
    vetoed = None
    for point in (CREATED, SEND_BEFORE):
        for method in hooks_for(type(driver), point, "async"):
            try:
                getattr(driver, method)(mutation, context)
            except HookVeto as veto:
                vetoed = str(veto) or method
    return vetoed


def async_after(driver: Driver, mutation: MutationData, context: IntegrationContext) -> None:
    for method in hooks_for(type(driver), SEND_AFTER, "async"):
        try:
            getattr(driver, method)(mutation, None, context)
        except Exception:
            context.log.exception(f"async hook {method} failed for mutation {mutation.mutation_id}")
