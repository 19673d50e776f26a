"""The one builder of delivery run requests: the delivery sensor and `iec deliver` both use it.

Each call: jobs of runs that are gone go back to pending; then every (integration, queue) with due
jobs gets run requests up to what it can use: one run per batch's worth of due jobs, at most the run
queue's limit on `iec/delivery` (one run per group when the instance sets none), minus its delivery runs
already waiting or working. Runs of a group claim their batches from the same ledger, each batch atomically
(`ledger.claim`), so a large backlog is spread over as many run workers (Celery workers) as that limit
allows. Every integration with parked jobs and no hooks run gets one.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import dagster as dg
from sqlalchemy import Engine

from iec_pipeline.common.runs import run_alive, runs_in_progress
from iec_pipeline.common.words import counted
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.assets import asset_name
from iec_pipeline.delivery.async_hooks import HOOKS_JOB
from iec_pipeline.delivery.job import DELIVER_JOB
from iec_pipeline.delivery.run import DeliveryConfig
from iec_pipeline.routing.queues import dagster_priority

DELIVERY_TAG = "iec/delivery"  # integration/queue: the run queue's limit on it is a group's fan-out
RUN_BATCH = DeliveryConfig.model_fields["batch_size"].default  # due jobs worth one more run
# The integration asset's own health checks run with each delivery; its `no_drift` check (a read-back of the
# whole target) is the verify_<name> job's, not every delivery run's.
DELIVERY_CHECKS = ("no_dead_jobs", "backlog_fresh")


def delivery_group(integration: str, queue: str | None) -> str:
    return f"{integration}/{queue or 'all'}"


def delivery_run_request(
    integration: str, queue: str | None, run_key: str | None = None, linger_seconds: float | None = None
) -> dg.RunRequest:
    """A run of the delivery job materializing one integration's asset for one of its queues (None:
    every queue), tagged for the run queue's limits (`iec/integration`, `iec/queue`) and its order
    (`dagster/priority`); `iec/delivery` names the group, whose limit is its fan-out."""
    config: dict = {"queue": queue}
    if linger_seconds is not None:
        config["linger_seconds"] = linger_seconds
    name = asset_name(integration)
    return dg.RunRequest(
        run_key=run_key,
        job_name=DELIVER_JOB,
        asset_selection=[dg.AssetKey(name)],
        asset_check_keys=[dg.AssetCheckKey(dg.AssetKey(name), check) for check in DELIVERY_CHECKS],
        run_config={"ops": {name: {"config": config}}},
        tags={
            "iec/integration": integration,
            "iec/queue": queue or "all",
            DELIVERY_TAG: delivery_group(integration, queue),
            "dagster/priority": str(dagster_priority(queue or "")),
        },
    )


def hooks_run_request(integration: str) -> dg.RunRequest:
    """A run of the async hooks job for one integration's parked jobs."""
    return dg.RunRequest(
        job_name=HOOKS_JOB,
        run_config={"ops": {"run_async_hooks": {"config": {"integration": integration}}}},
        tags={"iec/integration": integration, "iec/queue": "hooks"},
    )


@dataclass
class DueRequests:
    """What is due now, as run requests, and why nothing is when nothing is."""

    requests: list[dg.RunRequest] = field(default_factory=list)
    requeued: int = 0  # jobs of runs that are gone, pending again
    busy: list[str] = field(default_factory=list)  # groups with due jobs whose run is already going
    counters: dict[str, int] = field(default_factory=dict)  # requests made per group (the sensor's cursor)

    def why_none(self, next_due: str | None = None) -> str:
        if self.busy:
            return f"due jobs are already being delivered by a run in progress ({', '.join(sorted(self.busy))})"
        if next_due:
            return f"no job is due; the next retry is due at {next_due}"
        return "no job is due: every delivered mutation is recorded"


def _active_groups(instance: dg.DagsterInstance, job_name: str) -> Counter[tuple[str, str]]:
    """Runs of `job_name` waiting or working, per (integration, queue)."""
    runs = runs_in_progress(instance, job_name)
    return Counter((r.tags.get("iec/integration", ""), r.tags.get("iec/queue", "")) for r in runs)


def group_run_limit(instance: dg.DagsterInstance) -> int:
    """How many delivery runs one (integration, queue) may have at once: the run queue's per-value limit
    on `iec/delivery` (deploy/dagster.celery.yaml), 1 when the instance sets none."""
    try:
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits  # type: ignore[union-attr]
    except AttributeError:  # no run queue (runs launched at once): one run per group
        return 1
    found = [
        int(limit["limit"])
        for limit in limits or []
        if limit.get("key") == DELIVERY_TAG and isinstance(limit.get("value"), dict)
        and limit["value"].get("applyLimitPerUniqueValue")
    ]  # fmt: skip
    return max(1, min(found)) if found else 1


def due_requests(
    instance: dg.DagsterInstance,
    engine: Engine,
    integration: str | None = None,
    counters: dict[str, int] | None = None,
    linger_seconds: float | None = None,
) -> DueRequests:
    """Run requests for due groups, up to what each can use (see the module). With `counters` (the
    sensor's cursor), each request gets a run_key carrying its group's count: a re-evaluated tick can
    never launch a run twice, and a group whose last run ended with work left always gets a new key."""
    due = DueRequests(counters=dict(counters or {}))
    with engine.begin() as conn:
        due.requeued = ledger.requeue_orphans(conn, lambda run_id: run_alive(instance, run_id))
    with engine.connect() as conn:
        groups = ledger.due_groups(conn, integration)
        parked = ledger.parked_integrations(conn, integration)
    going = _active_groups(instance, DELIVER_JOB)
    limit = group_run_limit(instance)
    for group in sorted(groups, key=lambda g: g.priority):
        key = f"{group.integration}:{group.queue}"
        if going[(group.integration, "all")]:
            due.busy.append(f"{key}, {counted(group.jobs, 'job')}")
            continue  # a run of every queue keeps claiming until nothing is due
        wanted = min(limit, math.ceil(group.jobs / RUN_BATCH)) - going[(group.integration, group.queue)]
        if wanted <= 0:
            due.busy.append(f"{key}, {counted(group.jobs, 'job')}")
            continue  # its runs keep claiming until nothing is due
        for _ in range(wanted):
            run_key = None
            if counters is not None:
                due.counters[key] = due.counters.get(key, 0) + 1
                run_key = f"deliver:{key}:{due.counters[key]}"
            due.requests.append(delivery_run_request(group.integration, group.queue, run_key, linger_seconds))
    hooks_busy = {name for name, _ in _active_groups(instance, HOOKS_JOB)}
    due.requests += [hooks_run_request(name) for name in parked if name not in hooks_busy]
    return due
