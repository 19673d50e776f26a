"""The drops sensor: webhook drops -> ONE debounced refresh run of exactly the affected entities.

Debounce: it waits until no new drop arrived for `IEC_DROPS_QUIET_SECONDS` (default 1) or the
oldest waiting drop is `IEC_DROPS_MAX_DELAY_SECONDS` old (default 5), then requests a single
refresh run for everything new. A quiet moment due within 3 s is waited for inside the tick (the
daemon evaluates sensors every 5 s at best: a lone event would otherwise wait a whole loop more).
The cursor is the last drop id included, so no drop is read twice and none is skipped, across
daemon restarts too; the run_key (the drop id range) is a safety net.

Events are at-least-once and unordered: per entity only its latest event counts (by event time);
an update or creation refreshes the entity from Akeneo (whatever order the events came in, the
fetch reads the current state), a deletion becomes a `deleted` mutation without a fetch unless
the store holds something fetched after the deletion happened.
The refresh run marks its drops `processed` in the same transaction as its mutations; drops whose
refresh run failed (still `new` behind the cursor) are asked for again once no refresh is running.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta

import dagster as dg

from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.runs import runs_in_progress
from iec_pipeline.common.settings import Settings
from iec_pipeline.ingest.jobs import SYNC_JOB, akeneo_sync_job
from iec_pipeline.ingest.requests import sync_run_request
from iec_pipeline.store.resource import StoreResource
from iec_pipeline.webhooks.drops import new_drops, unprocessed_drops

BATCH = 5000
ORPHANED_AFTER = timedelta(seconds=30)
WAIT_IN_TICK_SECONDS = 3.0  # the longest a tick waits for a quiet moment (the daemon's loop is 5 s)
POLL_SECONDS = 0.1


def refresh_request(rows: list, attempt: int = 0) -> dg.RunRequest:
    """The refresh run for these drops: latest event per entity wins."""
    latest: dict[tuple[str, str], tuple] = {}
    for row in rows:
        key = (row.entity_type, row.code_or_uuid)
        when = row.occurred_at or row.received_at
        if key not in latest or (when, row.id) >= (latest[key][0], latest[key][1]):
            latest[key] = (when, row.id, row.action)
    keys: dict[str, list[str]] = {}
    deleted: dict[str, dict[str, str]] = {}
    for (entity_type, code), (when, _id, action) in sorted(latest.items()):
        if action == "deleted":
            deleted.setdefault(entity_type, {})[code] = when.isoformat() + "+00:00"
        else:
            keys.setdefault(entity_type, []).append(code)
    first, last = min(r.id for r in rows), max(r.id for r in rows)
    return sync_run_request(
        "refresh",
        keys=keys,
        deleted=deleted,
        run_key=f"drops:{first}-{last}" + (f":again-{attempt}" if attempt else ""),
        tags={"iec/drops": f"{first}-{last}", "dagster/priority": "100"},
    )


def _cursor(raw: str | None) -> dict:
    if not raw:
        return {"last": 0, "retries": 0}
    if raw.isdigit():
        return {"last": int(raw), "retries": 0}
    return json.loads(raw)


def _quiet_at(rows: list, settings: Settings) -> datetime:
    """When these drops are ready: no new drop for the quiet period, or the oldest waited the maximum."""
    newest = max(r.received_at for r in rows) + timedelta(seconds=settings.drops_quiet_seconds)
    oldest = min(r.received_at for r in rows) + timedelta(seconds=settings.drops_max_delay_seconds)
    return rows[0].received_at if len(rows) >= BATCH else min(newest, oldest)


def _wait_for_quiet(store: StoreResource, after_id: int, rows: list, settings: Settings) -> list | None:
    """The drops once quiet, waited for inside this tick when that is soon (the daemon evaluates sensors
    at most every 5 s: skipping would add a whole loop to every lone event); None: not quiet soon."""
    deadline = time.monotonic() + WAIT_IN_TICK_SECONDS
    while True:
        ready_in = (_quiet_at(rows, settings) - utcnow()).total_seconds()
        if ready_in <= 0:
            return rows
        if time.monotonic() + ready_in > deadline:
            return None
        time.sleep(min(ready_in, POLL_SECONDS))
        with store.read_engine().connect() as conn:
            rows = new_drops(conn, after_id, BATCH)  # a drop arriving meanwhile extends the quiet period


def _refresh_running(instance: dg.DagsterInstance) -> bool:
    return bool(runs_in_progress(instance, SYNC_JOB, tags={"iec/sync-mode": "refresh"}, limit=1))


@dg.sensor(
    job=akeneo_sync_job,
    minimum_interval_seconds=1,  # the daemon's sensor loop runs every 5 s at best anyway
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes exactly the entities Akeneo's webhooks announced, debounced, in one run.",
)
def drops_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
    state = _cursor(context.cursor)
    settings = Settings.from_env()
    now = utcnow()
    with store.read_engine().connect() as conn:
        rows = new_drops(conn, state["last"], BATCH)
        # Drops whose refresh run failed stay `new` behind the cursor: ask again once no refresh is running.
        orphans = []
        if not _refresh_running(context.instance):
            orphans = unprocessed_drops(conn, state["last"], now - ORPHANED_AFTER, BATCH)
    if not rows and not orphans:
        return dg.SkipReason("no new webhook drops")
    if rows and not orphans:
        waiting = len(rows)
        rows = _wait_for_quiet(store, state["last"], rows, settings)
        if rows is None:
            return dg.SkipReason(f"{waiting} drop(s) waiting for a quiet moment")
    if orphans:
        state["retries"] += 1
        context.log.warning(f"{len(orphans)} drop(s) whose refresh did not complete: asking again")
    request = refresh_request(list(orphans) + list(rows), attempt=state["retries"] if orphans else 0)
    context.log.info(f"refresh of {len(orphans) + len(rows)} drop(s) {request.tags['iec/drops']}")
    state["last"] = max(state["last"], rows[-1].id if rows else 0)
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(state))
