"""Running the project's jobs from the CLI, tests and the demo: the same run requests the schedules
and sensors build, executed in this process and recorded in the instance; what they did, read back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from sqlalchemy import Engine

from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.common.runs import run_alive
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.requests import delivery_run_request, hooks_run_request
from iec_pipeline.ingest.jobs import DIFF_ASSET
from iec_pipeline.ingest.plan import Mode
from iec_pipeline.ingest.requests import sync_run_request


def execute_request(
    instance: dg.DagsterInstance, request: dg.RunRequest, log_level: str = "INFO"
) -> dg.ExecuteJobResult:
    """Runs a RunRequest of one of the project's jobs in this process (what the daemon would launch)."""
    from iec_pipeline import definitions

    tags = dict(request.tags)
    if request.partition_key:
        tags["dagster/partition"] = request.partition_key
    run_config = {**request.run_config, "loggers": {"console": {"config": {"log_level": log_level}}}}
    return dg.execute_job(
        dg.reconstructable(definitions.JOBS[request.job_name]),
        instance,
        run_config=run_config,
        tags=tags,
        asset_selection=list(request.asset_selection or []) or None,
        raise_on_error=False,
    )


@dataclass
class SyncOutcome:
    run_id: str
    success: bool
    mode: str
    seconds: float
    fetched: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)  # fetched, identical to the store
    mutations: dict[str, int] = field(default_factory=dict)
    by_entity_type: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)  # asset check -> passed

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "fetched": self.fetched,
            "mutations": self.mutations,
            "by_entity_type": self.by_entity_type,
            "errors": self.errors,
            "checks": self.checks,
        }


def run_sync(
    instance: dg.DagsterInstance,
    mode: Mode = "incremental",
    entity_types: list[str] | None = None,
    keys: dict[str, list[str]] | None = None,
    deleted: dict[str, dict[str, str]] | None = None,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    log_level: str = "INFO",
    tags: dict[str, str] | None = None,
) -> SyncOutcome:
    """Runs a sync in this process, recorded in `instance` like any run (it shows in the UI)."""
    request = sync_run_request(
        mode, entity_types, keys, deleted, partition_key=partition_key, partition_range=partition_range, tags=tags
    )
    return sync_outcome(instance, request, log_level)


def sync_outcome(instance: dg.DagsterInstance, request: dg.RunRequest, log_level: str = "INFO") -> SyncOutcome:
    """Runs a sync job request in this process and reads back what it fetched, changed and checked."""
    started = time.monotonic()
    with execute_request(instance, request, log_level) as result:
        outcome = SyncOutcome(result.run_id, result.success, request.tags["iec/sync-mode"], time.monotonic() - started)
        for event in result.all_events:
            _read_sync_event(outcome, event)
    return outcome


def _read_sync_event(outcome: SyncOutcome, event: dg.DagsterEvent) -> None:
    if event.event_type_value == "ASSET_MATERIALIZATION":
        materialization = event.event_specific_data.materialization
        name = materialization.asset_key.to_user_string()
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        if name == DIFF_ASSET:
            outcome.mutations = {op: int(metadata.get(op, 0)) for op in ("created", "updated", "deleted")}
            outcome.by_entity_type = metadata.get("by_entity_type") or {}
        else:
            entity = next(e for e in ENTITY_TYPES if e.asset == name)
            outcome.fetched[entity.name] = int(metadata.get("fetched", 0))
            outcome.unchanged[entity.name] = int(metadata.get("unchanged", 0))
    elif event.event_type_value == "ASSET_CHECK_EVALUATION":
        evaluation = event.event_specific_data
        outcome.checks[evaluation.check_name] = evaluation.passed
    elif event.event_type_value == "STEP_FAILURE":
        error = event.event_specific_data.error
        outcome.errors.append(f"{event.step_key}: {failure_message(error) if error else event.message}")


def failure_message(error: Any) -> str:
    """What went wrong in a failed step (a `SerializableErrorInfo`), in the words of the error at
    fault: once a step's retries are spent, Dagster reports its own retry request, the cause inside."""
    if error.cls_name == "RetryRequestedFromPolicy" and error.cause is not None:
        return f"{failure_message(error.cause)} ({error.message.strip()})"
    message = error.message.strip()
    qualified = f"{error.cls_name}: "
    if error.cls_name and qualified in message:  # "package.module.AkeneoError: ..." -> "AkeneoError: ..."
        message = qualified + message.split(qualified, 1)[1]
    return message


@dataclass
class DeliverOutcome:
    runs: list[str] = field(default_factory=list)
    failed_runs: list[str] = field(default_factory=list)
    delivered: int = 0
    open_jobs: int = 0
    timed_out: bool = False


def deliver_due(
    instance: dg.DagsterInstance,
    engine: Engine,
    integration: str | None = None,
    wait: bool = False,
    timeout: float = 600.0,
    on_progress: Callable[[str], None] = lambda message: None,
) -> DeliverOutcome:
    """Delivers what is due; with `wait`, keeps going through scheduled retries until nothing is open."""
    outcome = DeliverOutcome()
    deadline = time.monotonic() + timeout
    while True:
        with engine.begin() as conn:
            ledger.requeue_orphans(conn, lambda run_id: run_alive(instance, run_id))
        with engine.connect() as conn:
            groups = ledger.due_groups(conn, integration)
            parked = ledger.parked_integrations(conn, integration)
        for group in sorted(groups, key=lambda g: g.priority):
            request = delivery_run_request(group.integration, group.queue, linger_seconds=0.0)
            _deliver_run(instance, request, outcome, on_progress, f"{group.integration}/{group.queue}: run")
        for name in parked:
            _deliver_run(instance, hooks_run_request(name), outcome, on_progress, f"{name}: async hooks run")
        with engine.connect() as conn:
            outcome.open_jobs = ledger.open_jobs(conn, integration)
            next_due = ledger.next_due_at(conn, integration)
        if not wait or outcome.open_jobs == 0 or outcome.failed_runs:
            return outcome
        if time.monotonic() >= deadline:
            outcome.timed_out = True
            return outcome
        if not groups and not parked:
            wait_for = 0.5
            if next_due is not None:
                wait_for = max(0.2, min(5.0, (next_due - utcnow()).total_seconds()))
            time.sleep(min(wait_for, max(0.0, deadline - time.monotonic())))


def _deliver_run(
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    outcome: DeliverOutcome,
    on_progress: Callable[[str], None],
    label: str,
) -> None:
    with execute_request(instance, request) as result:
        outcome.runs.append(result.run_id)
        if not result.success:
            outcome.failed_runs.append(result.run_id)
        for event in result.all_events:
            if event.event_type_value == "STEP_OUTPUT":
                metadata = event.event_specific_data.metadata or {}
                if "delivered" in metadata:
                    outcome.delivered += int(metadata["delivered"].value)
    on_progress(f"{label} {result.run_id} {'ok' if result.success else 'FAILED'}")
