"""The drops sensor: webhook drops -> ONE debounced refresh run of exactly the affected entities.

Debounce: it waits until no new drop arrived for `IEC_DROPS_QUIET_SECONDS` (default 1) or the
oldest waiting drop is `IEC_DROPS_MAX_DELAY_SECONDS` old (default 5), then requests a single
refresh run for everything new. The cursor is the last drop id included, so no drop is read twice
and none is skipped, across daemon restarts too; the run_key (the drop id range) is a safety net.

Events are at-least-once and unordered: per entity only its latest event counts (by event time);
an update or creation refreshes the entity from Akeneo (whatever order the events came in, the
fetch reads the current state), a deletion becomes a `deleted` mutation without a fetch unless
the store holds something fetched after the deletion happened.
The refresh run marks its drops `processed` in the same transaction as its mutations; drops whose
refresh run failed (still `new` behind the cursor) are asked for again once no refresh is running.
"""

from __future__ import annotations

import json
from datetime import timedelta

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


def _refresh_running(instance: dg.DagsterInstance) -> bool:
    return bool(runs_in_progress(instance, SYNC_JOB, tags={"iec/sync-mode": "refresh"}, limit=1))


@dg.sensor(
    job=akeneo_sync_job,
    minimum_interval_seconds=2,
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
        quiet = timedelta(seconds=settings.drops_quiet_seconds)
        max_delay = timedelta(seconds=settings.drops_max_delay_seconds)
        newest = max(r.received_at for r in rows)
        oldest = min(r.received_at for r in rows)
        if len(rows) < BATCH and now - newest < quiet and now - oldest < max_delay:
            return dg.SkipReason(f"{len(rows)} drop(s) waiting for a quiet moment")
    if orphans:
        state["retries"] += 1
        context.log.warning(f"{len(orphans)} drop(s) whose refresh did not complete: asking again")
    request = refresh_request(list(orphans) + list(rows), attempt=state["retries"] if orphans else 0)
    context.log.info(f"refresh of {len(orphans) + len(rows)} drop(s) {request.tags['iec/drops']}")
    state["last"] = max(state["last"], rows[-1].id if rows else 0)
    return dg.SensorResult(run_requests=[request], cursor=json.dumps(state))
