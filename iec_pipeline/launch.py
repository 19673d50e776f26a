"""The one run path: the CLI, tests and the demo launch the same run requests the schedules and
sensors build, as runs of the `iec` code location (they show under their job in the UI, and can be
re-executed from it).

When a daemon is running for this instance, a run is submitted to the run queue (so it obeys the
queue's limits and priorities) and followed here until it ends; without one, it runs in this process.
Either way what it did is read back from the instance's event log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.execution.api import execute_run
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from sqlalchemy import Engine

from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.common.runs import WORKER_TAG, worker_id
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.requests import due_requests
from iec_pipeline.ingest.jobs import DIFF_ASSET
from iec_pipeline.ingest.partitions import FAMILY_ASSETS, PARTITIONED_TYPES
from iec_pipeline.ingest.plan import Mode
from iec_pipeline.ingest.requests import sync_run_request

LOCATION = "iec"  # workspace.yaml's code location
DAEMON_FRESH_SECONDS = 45.0  # a daemon heartbeat older than this: no daemon


class RunQueuedTooLong(RuntimeError):
    """A submitted run stayed queued: the daemon stopped, or the queue's limits keep it waiting."""


@dataclass
class RunResult:
    run_id: str
    success: bool
    all_events: list[dg.DagsterEvent]
    queued: bool  # went through the daemon's run queue


def _job(job_name: str) -> ReconstructableJob:
    from iec_pipeline import definitions

    return dg.reconstructable(definitions.JOBS[job_name])


def _remote_origin(job_name: str) -> RemoteJobOrigin:
    """Where the UI's workspace finds the job: the `iec` location as workspace.yaml declares it."""
    workspace = PROJECT_ROOT / "workspace.yaml"
    target = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name="iec_pipeline.definitions",
        working_directory=str(PROJECT_ROOT if workspace.exists() else Path.cwd()),
    )
    location = ManagedGrpcPythonEnvCodeLocationOrigin(target, LOCATION)
    return RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), job_name)


def daemon_running(instance: dg.DagsterInstance) -> bool:
    """Whether a daemon dequeues runs for this instance (its run queue's heartbeat is fresh)."""
    if not instance.run_coordinator or type(instance.run_coordinator).__name__ != "QueuedRunCoordinator":
        return False
    heartbeat = instance.get_daemon_heartbeats().get("QUEUED_RUN_COORDINATOR")
    return heartbeat is not None and time.time() - heartbeat.timestamp < DAEMON_FRESH_SECONDS


def launch(
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    log_level: str = "INFO",
    on_log: Callable[[str], None] | None = None,
    queue_timeout: float = 600.0,
) -> RunResult:
    """Creates the run of `request` for the `iec` location and runs it: through the run queue when
    a daemon runs (`on_log` gets its log lines), in this process otherwise (logs on the console)."""
    job = _job(request.job_name)
    job_def = job.get_definition()
    tags = {**job_def.run_tags, **request.tags}
    if request.partition_key:
        tags["dagster/partition"] = request.partition_key
    queued = daemon_running(instance)
    if not queued:
        tags[WORKER_TAG] = worker_id()  # a run whose process died is known to be gone
    run_config = {**request.run_config, "loggers": {"console": {"config": {"log_level": log_level}}}}
    run = instance.create_run_for_job(
        job_def,
        run_config=run_config,
        tags=tags,
        asset_selection=frozenset(request.asset_selection) if request.asset_selection else None,
        remote_job_origin=_remote_origin(request.job_name),
        job_code_origin=job.get_python_origin(),
    )
    if queued:
        instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]  # the queued coordinator needs none
        success = _follow(instance, run.run_id, on_log, queue_timeout)
    else:
        success = execute_run(job, run, instance).success
    events = [r.dagster_event for r in instance.all_logs(run.run_id) if r.dagster_event is not None]
    return RunResult(run.run_id, success, events, queued)


def _follow(
    instance: dg.DagsterInstance, run_id: str, on_log: Callable[[str], None] | None, queue_timeout: float
) -> bool:
    """Waits for a submitted run to end, handing its log lines to `on_log`."""
    cursor = None
    queued_since = time.monotonic()
    while True:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        records = instance.get_records_for_run(run_id, cursor=cursor)
        cursor = records.cursor
        for record in records.records:
            entry = record.event_log_entry
            if on_log and entry.dagster_event is None and entry.user_message:
                on_log(entry.user_message)
        if run.is_finished:
            return run.status == dg.DagsterRunStatus.SUCCESS
        if run.status == dg.DagsterRunStatus.QUEUED and time.monotonic() - queued_since > queue_timeout:
            raise RunQueuedTooLong(f"run {run_id} is still queued after {queue_timeout:.0f}s (is the daemon running?)")
        if run.status != dg.DagsterRunStatus.QUEUED:
            queued_since = time.monotonic()
        time.sleep(0.25)


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
    log_level: str = "INFO",
    tags: dict[str, str] | None = None,
    on_log: Callable[[str], None] | None = None,
) -> SyncOutcome:
    """Runs a sync of the `akeneo_sync` job (see `launch`) and reads back what it did."""
    request = sync_run_request(mode, entity_types, keys, deleted, tags=tags)
    return sync_outcome(instance, request, log_level, on_log)


def sync_outcome(
    instance: dg.DagsterInstance,
    request: dg.RunRequest,
    log_level: str = "INFO",
    on_log: Callable[[str], None] | None = None,
) -> SyncOutcome:
    """Launches a sync job request and reads back what it fetched, changed and checked."""
    started = time.monotonic()
    result = launch(instance, request, log_level, on_log)
    outcome = SyncOutcome(result.run_id, result.success, request.tags["iec/sync-mode"], time.monotonic() - started)
    for event in result.all_events:
        _read_sync_event(outcome, event)
    return outcome


_FETCHED_BY = {e.asset: e.name for e in ENTITY_TYPES} | dict(zip(FAMILY_ASSETS, PARTITIONED_TYPES, strict=True))


def _read_sync_event(outcome: SyncOutcome, event: dg.DagsterEvent) -> None:
    if event.event_type_value == "ASSET_MATERIALIZATION":
        materialization = event.event_specific_data.materialization
        name = materialization.asset_key.to_user_string()
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        if name == DIFF_ASSET:
            outcome.mutations = {op: int(metadata.get(op, 0)) for op in ("created", "updated", "deleted")}
            outcome.by_entity_type = metadata.get("by_entity_type") or {}
        elif name in _FETCHED_BY and "fetched" in metadata and not outcome.fetched.get(_FETCHED_BY[name]):
            # (a family partition reported current by the diff carries no counts)
            outcome.fetched[_FETCHED_BY[name]] = int(metadata.get("fetched", 0))
            outcome.unchanged[_FETCHED_BY[name]] = int(metadata.get("unchanged", 0))
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
    """Launches what the delivery sensor would (`due_requests`), one run after the other; with
    `wait`, keeps going through scheduled retries until nothing is open."""
    outcome = DeliverOutcome()
    deadline = time.monotonic() + timeout
    while True:
        due = due_requests(instance, engine, integration, linger_seconds=0.0)
        for request in due.requests:
            _deliver_run(instance, request, outcome, on_progress)
        with engine.connect() as conn:
            outcome.open_jobs = ledger.open_jobs(conn, integration)
            next_due = ledger.next_due_at(conn, integration)
        if not wait or outcome.open_jobs == 0 or outcome.failed_runs:
            return outcome
        if time.monotonic() >= deadline:
            outcome.timed_out = True
            return outcome
        if not due.requests:
            wait_for = 0.5
            if next_due is not None:
                wait_for = max(0.2, min(5.0, (next_due - utcnow()).total_seconds()))
            time.sleep(min(wait_for, max(0.0, deadline - time.monotonic())))


def _deliver_run(
    instance: dg.DagsterInstance, request: dg.RunRequest, outcome: DeliverOutcome, on_progress: Callable[[str], None]
) -> None:
    result = launch(instance, request, on_log=on_progress)
    outcome.runs.append(result.run_id)
    if not result.success:
        outcome.failed_runs.append(result.run_id)
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            metadata = event.event_specific_data.materialization.metadata
            if "delivered" in metadata:
                outcome.delivered += int(metadata["delivered"].value)
    label = f"{request.tags.get('iec/integration')}/{request.tags.get('iec/queue')}: {request.job_name} run"
    on_progress(f"{label} {result.run_id} {'ok' if result.success else 'FAILED'}")
