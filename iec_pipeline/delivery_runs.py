"""Launching delivery runs from the CLI (`iec deliver`): the same Dagster job the sensor launches."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg
from sqlalchemy import Engine, select

from iec_pipeline.delivery import mutation_jobs as ledger
from iec_pipeline.fanout import dagster_priority
from iec_pipeline.sensors.delivery import run_alive
from iec_pipeline.store.models import MutationJob


@dataclass
class DeliverOutcome:
    runs: list[str] = field(default_factory=list)
    failed_runs: list[str] = field(default_factory=list)
    delivered: int = 0
    open_jobs: int = 0
    timed_out: bool = False


QUIET = {"console": {"config": {"log_level": "INFO"}}}  # the run's own messages, not Dagster's debug events


def run_delivery(
    instance: dg.DagsterInstance, integration: str, queue: str | None, linger: float = 0.0
) -> dg.ExecuteJobResult:
    from iec_pipeline.definitions import deliver_job

    config = {"integration": integration, "queue": queue, "linger_seconds": linger}
    return dg.execute_job(
        dg.reconstructable(deliver_job),
        instance,
        run_config={"ops": {"deliver_mutations": {"config": config}}, "loggers": QUIET},
        tags={
            "iec/integration": integration,
            "iec/queue": queue or "all",
            "dagster/priority": str(dagster_priority(queue or "")),
        },
        raise_on_error=False,
    )


def run_hooks(instance: dg.DagsterInstance, integration: str) -> dg.ExecuteJobResult:
    from iec_pipeline.definitions import hooks_job

    return dg.execute_job(
        dg.reconstructable(hooks_job),
        instance,
        run_config={"ops": {"run_async_hooks": {"config": {"integration": integration}}}, "loggers": QUIET},
        tags={"iec/integration": integration, "iec/queue": "hooks"},
        raise_on_error=False,
    )


def _parked(engine: Engine, integration: str | None) -> list[str]:
    query = select(MutationJob.integration).where(MutationJob.hook_state.is_not(None)).distinct()
    if integration is not None:
        query = query.where(MutationJob.integration == integration)
    with engine.connect() as conn:
        return sorted(name for (name,) in conn.execute(query))


def deliver_due(
    instance: dg.DagsterInstance,
    engine: Engine,
    integration: str | None = None,
    wait: bool = False,
    timeout: float = 600.0,
    on_progress=lambda message: None,
) -> DeliverOutcome:
    """Delivers what is due; with `wait`, keeps going through scheduled retries until nothing is open."""
    outcome = DeliverOutcome()
    deadline = time.monotonic() + timeout
    while True:
        with engine.begin() as conn:
            ledger.requeue_orphans(conn, lambda run_id: run_alive(instance, run_id))
        with engine.connect() as conn:
            groups = ledger.due_groups(conn, integration)
        for group in sorted(groups, key=lambda g: g.priority):
            result = run_delivery(instance, group.integration, group.queue)
            with result:
                outcome.runs.append(result.run_id)
                if not result.success:
                    outcome.failed_runs.append(result.run_id)
                for event in result.all_events:
                    if event.event_type_value == "STEP_OUTPUT":
                        metadata = event.event_specific_data.metadata or {}
                        if "delivered" in metadata:
                            outcome.delivered += int(metadata["delivered"].value)
            on_progress(
                f"{group.integration}/{group.queue}: run {result.run_id} {'ok' if result.success else 'FAILED'}"
            )
        for name in _parked(engine, integration):
            result = run_hooks(instance, name)
            with result:
                outcome.runs.append(result.run_id)
                if not result.success:
                    outcome.failed_runs.append(result.run_id)
            on_progress(f"{name}: async hooks run {result.run_id} {'ok' if result.success else 'FAILED'}")
        with engine.connect() as conn:
            outcome.open_jobs = ledger.open_jobs(conn, integration)
            next_due = ledger.next_due_at(conn, integration)
        if not wait or outcome.open_jobs == 0 or outcome.failed_runs:
            return outcome
        if time.monotonic() >= deadline:
            outcome.timed_out = True
            return outcome
        if not groups and not _parked(engine, integration):
            wait_for = 0.5
            if next_due is not None:
                wait_for = max(0.2, min(5.0, (next_due - ledger.utcnow()).total_seconds()))
            time.sleep(min(wait_for, max(0.0, deadline - time.monotonic())))
