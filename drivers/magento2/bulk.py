"""Magento's asynchronous bulk API for product saves: many bodies per request, results by polling.

`POST /rest/<scope>/async/bulk/V1/products` (a list of `{"product": ...}`) answers with a receipt;
the saves happen later in Magento's `async.operations.all` consumer, and only
`GET /V1/bulk/<uuid>/detailed-status` tells how each went: 1 complete -> success, 2 retriably failed
-> retryable, 3 failed / 5 rejected -> permanent (Magento's result_message), 4 still open when the
polling time is up -> retryable. An open operation's ticket (bulk uuid, operation id) is kept by the
driver, so the redelivery waits for that operation instead of submitting the same save again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from drivers.magento2.client import MagentoClient, MagentoError
from drivers.magento2.common import Env
from drivers.magento2.mapping import GLOBAL, digest, product_body
from drivers.magento2.products import MISSING_PRODUCT, ProductPlan
from drivers.models import DeliveryResult

COMPLETE, RETRIABLY_FAILED, FAILED, OPEN, REJECTED = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Ticket:
    """One accepted operation: where to ask how it went."""

    bulk_uuid: str
    operation: int


@dataclass(frozen=True)
class Outcome:
    """How one operation of a bulk ended (`data`: the saved product, when Magento returned it).
    `ticket` is set while the operation is still open in Magento."""

    status: Literal["success", "retryable", "permanent"]
    message: str | None = None
    data: Any = None
    retry_after: float | None = None
    ticket: Ticket | None = None


def _from_error(error: MagentoError) -> Outcome:
    return Outcome("retryable" if error.retryable else "permanent", str(error), retry_after=error.retry_after)


def _from_operation(bulk_uuid: str, operation: dict[str, Any], index: int) -> Outcome:
    status = operation.get("status")
    message = operation.get("result_message")
    if status == COMPLETE:
        data = None
        if operation.get("result_serialized_data"):
            try:
                data = json.loads(operation["result_serialized_data"])
            except (TypeError, ValueError):
                data = None
        return Outcome("success", data=data)
    where = f"Magento bulk {bulk_uuid} operation {operation.get('id')}"
    if status == RETRIABLY_FAILED:
        return Outcome("retryable", f"{where} failed, retriably: {message}")
    if status == OPEN:
        message = f"{where} still open (is the async.operations.all consumer running?)"
        return Outcome("retryable", message, ticket=Ticket(bulk_uuid, index))
    return Outcome("permanent", f"{where} failed: {message}")


def save_in_bulk(
    client: MagentoClient,
    scope: str,
    bodies: Sequence[dict[str, Any]],
    *,
    batch_size: int,
    timeout: float,
    workers: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    """One outcome per body (`{"product": ...}`), in order. Chunks of `batch_size` are submitted
    concurrently, then their bulks are polled until no operation is open or `timeout` is up."""
    outcomes: list[Outcome | None] = [None] * len(bodies)
    tickets: list[Ticket | None] = [None] * len(bodies)
    path = f"/{scope}/async/bulk/V1/products"

    def submit(start: int) -> None:
        chunk = bodies[start : start + batch_size]
        try:
            answer = client.post(path, json=list(chunk))
        except MagentoError as error:
            outcomes[start : start + len(chunk)] = [_from_error(error)] * len(chunk)
            return
        tickets[start : start + len(chunk)] = [Ticket(answer["bulk_uuid"], i) for i in range(len(chunk))]
        for item in answer.get("request_items") or []:
            if item.get("status") not in (None, "accepted") and isinstance(item.get("id"), int):
                reason = item.get("error_message") or item.get("status")
                outcomes[start + item["id"]] = Outcome("permanent", f"Magento refused bulk item: {reason}")

    starts = list(range(0, len(bodies), batch_size))
    if len(starts) > 1 and workers > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(starts))) as pool:
            list(pool.map(submit, starts))
    else:
        for start in starts:
            submit(start)
    waiting = [t if outcomes[i] is None else None for i, t in enumerate(tickets)]
    polled = await_operations(client, waiting, timeout=timeout, sleep=sleep)
    return [o or p for o, p in zip(outcomes, polled, strict=True)]


def await_operations(
    client: MagentoClient,
    tickets: Sequence[Ticket | None],
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Outcome]:
    """How each ticket's operation ended, polling its bulk's detailed status until none is open or
    `timeout` is up (None tickets get a retryable outcome)."""
    outcomes: list[Outcome | None] = [None] * len(tickets)
    by_bulk: dict[str, list[int]] = {}
    for index, ticket in enumerate(tickets):
        if ticket is not None:
            by_bulk.setdefault(ticket.bulk_uuid, []).append(index)
    deadline = time.monotonic() + timeout
    delay = 0.02
    while by_bulk:
        sleep(delay)
        for bulk_uuid, indices in list(by_bulk.items()):
            try:
                status = client.get(f"/V1/bulk/{bulk_uuid}/detailed-status")
            except MagentoError as error:
                if error.retryable and time.monotonic() < deadline:
                    continue  # ask again next round
                for index in indices:  # a bulk Magento no longer knows: submit again next time
                    ticket = tickets[index] if error.retryable else None
                    outcomes[index] = Outcome(
                        "retryable", f"status of bulk {bulk_uuid} unavailable: {error}", ticket=ticket
                    )
                del by_bulk[bulk_uuid]
                continue
            operations = {op.get("id", position): op for position, op in enumerate(status.get("operations_list") or [])}
            wanted = [operations.get(tickets[i].operation) for i in indices]  # type: ignore[union-attr]
            still_open = any(op is None or op.get("status") == OPEN for op in wanted)
            if still_open and time.monotonic() < deadline:
                continue
            for index, op in zip(indices, wanted, strict=True):
                ticket = tickets[index]
                assert ticket is not None
                outcomes[index] = (
                    _from_operation(bulk_uuid, op, ticket.operation)
                    if op is not None
                    else Outcome("retryable", f"Magento bulk {bulk_uuid}: no operation {ticket.operation}")
                )
            del by_bulk[bulk_uuid]
        delay = min(delay * 1.5, 1.0)
    return [o or Outcome("retryable", "no bulk status received") for o in outcomes]


# ------------------------------------------------------------------------ planned products


def send_planned(plans: Sequence[ProductPlan], env: Env, *, batch_size: int, timeout: float, workers: int) -> None:
    """The saves of planned products, global scope first, then each store view, in bulks; each plan
    gets its `done` scopes, or its `result` when a save failed. A save whose operation is still open
    from an earlier delivery (same body) is awaited, not submitted again."""
    scopes = [GLOBAL, *sorted({c.scope for p in plans for c in p.store_changes})]
    for scope in scopes:
        wave = [
            (p, c, product_body(p.sku, c.send))
            for p in plans
            if p.result is None
            for c in p.changes
            if c.scope == scope
        ]
        if not wave:
            continue
        fresh, pending = [], []
        for item in wave:
            ticket = _pending(item[0], scope)
            if ticket is not None and ticket[1] == digest(item[2]):
                pending.append((item, ticket[0]))
            else:
                fresh.append(item)
        outcomes = save_in_bulk(
            env.client, scope, [body for _, _, body in fresh], batch_size=batch_size, timeout=timeout, workers=workers
        )
        awaited = await_operations(env.client, [t for _, t in pending], timeout=timeout) if pending else []
        for (p, change, body), outcome in zip([*fresh, *(i for i, _ in pending)], [*outcomes, *awaited], strict=True):
            _settle_scope(p, change.scope, digest(body), outcome)


def _pending(product: ProductPlan, scope: str) -> tuple[Ticket, str] | None:
    entry = (product.known.get("pending") or {}).get(scope)
    if not isinstance(entry, dict) or "bulk" not in entry:
        return None
    return Ticket(str(entry["bulk"]), int(entry["operation"])), str(entry.get("hash"))


def _settle_scope(product: ProductPlan, scope: str, body_hash: str, outcome: Outcome) -> None:
    pending = dict(product.known.get("pending") or {})
    had = pending.pop(scope, None)
    if outcome.ticket is not None:
        pending[scope] = {"bulk": outcome.ticket.bulk_uuid, "operation": outcome.ticket.operation, "hash": body_hash}
    if pending or had is not None or outcome.ticket is not None:
        product.known["pending"] = pending
        product.dirty = True
    if outcome.status == "success":
        product.done.add(scope)
        if isinstance(outcome.data, dict) and outcome.data.get("id") is not None:
            product.external_id = str(outcome.data["id"])
    elif scope == GLOBAL and MISSING_PRODUCT in (outcome.message or "") and product.known.get("sent"):
        product.known = {k: v for k, v in product.known.items() if k not in ("sent", "linked_to", "axes")}
        product.dirty = True
        product.result = DeliveryResult.retryable(
            f"{product.sku} is no longer in Magento; it will be sent in full next time: {outcome.message}"
        )
    elif outcome.status == "retryable":
        product.result = DeliveryResult.retryable(outcome.message or "retry", retry_after=outcome.retry_after)
    else:
        product.result = DeliveryResult.permanent(outcome.message or "refused by Magento")
