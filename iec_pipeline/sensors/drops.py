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

import json
import os
from datetime import timedelta

import dagster as dg
from sqlalchemy import and_, select

from iec_pipeline.assets.partitions import sync_run_config, today_key
from iec_pipeline.catalog.entities import get
from iec_pipeline.catalog.staging import utcnow
from iec_pipeline.jobs import SYNC_JOB, akeneo_sync_job
from iec_pipeline.resources.store import StoreResource
from iec_pipeline.sensors.delivery import IN_PROGRESS
from iec_pipeline.store.models import WebhookDrop

D = WebhookDrop.__table__
BATCH = 5000


def _seconds(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


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
    types = sorted(set(keys) | set(deleted))
    first, last = min(r.id for r in rows), max(r.id for r in rows)
    return dg.RunRequest(
        run_key=f"drops:{first}-{last}" + (f":again-{attempt}" if attempt else ""),
        partition_key=today_key(),
        run_config=sync_run_config("refresh", keys, types, deleted),
        tags={"iec/sync-mode": "refresh", "iec/drops": f"{first}-{last}", "dagster/priority": "100"},
        asset_selection=[dg.AssetKey(get(t).asset) for t in types] + [dg.AssetKey("catalog_diff")],
    )


ORPHANED_AFTER = timedelta(seconds=30)


def _cursor(raw: str | None) -> dict:
    if not raw:
        return {"last": 0, "retries": 0}
    if raw.isdigit():
        return {"last": int(raw), "retries": 0}
    return json.loads(raw)


def _refresh_running(instance: dg.DagsterInstance) -> bool:
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=SYNC_JOB, statuses=IN_PROGRESS, tags={"iec/sync-mode": "refresh"}), limit=1
    )
    return bool(runs)


@dg.sensor(
    job=akeneo_sync_job,
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes exactly the entities Akeneo's webhooks announced, debounced, in one run.",
)
def drops_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
    state = _cursor(context.cursor)
    columns = (D.c.id, D.c.entity_type, D.c.code_or_uuid, D.c.action, D.c.occurred_at, D.c.received_at)
    waiting = and_(D.c.status == "new", D.c.entity_type.is_not(None))
    now = utcnow()
    with store.read_engine().connect() as conn:
        rows = conn.execute(select(*columns).where(D.c.id > state["last"], waiting).order_by(D.c.id).limit(BATCH)).all()
        # Drops whose refresh run failed stay `new` behind the cursor: ask again once no refresh is running.
        orphans = []
        if not _refresh_running(context.instance):
            orphans = conn.execute(
                select(*columns)
                .where(D.c.id <= state["last"], waiting, D.c.received_at < now - ORPHANED_AFTER)
                .order_by(D.c.id)
                .limit(BATCH)
            ).all()
    if not rows and not orphans:
        return dg.SkipReason("no new webhook drops")
    if rows and not orphans:
        quiet = timedelta(seconds=_seconds("IEC_DROPS_QUIET_SECONDS", 1.0))
        max_delay = timedelta(seconds=_seconds("IEC_DROPS_MAX_DELAY_SECONDS", 5.0))
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
