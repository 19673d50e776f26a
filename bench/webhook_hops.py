"""Where the time of a webhook goes: per change, the hops between an Akeneo save and its Magento request.

Reads what `bench.webhook_latency` leaves in its work folder (the store, the Dagster instance, the
bench's `samples.json`) and prints the median and p95 of each hop:

- webhook: the save returned -> the receiver stored the drop;
- to refresh run: drop stored -> refresh run created (the drops sensor's tick, its debounce included);
- refresh queued: created -> started by the run queue (RUN_DEQUEUED / RUN_STARTING);
- refresh launch: starting -> the run's process runs it (RUN_START);
- refresh work: RUN_START -> the mutation committed (fetch + diff);
- to delivery: mutation committed -> the Magento request done (the job's finished_at), whoever delivered it;
- seen: request done -> the bench's poll saw the price.
It also counts how the delivery run of each change came to be: launched by the delivery sensor, by the
refresh run (`iec/launched-by` tag), or an already running (lingering) delivery run.

Run: `python -m bench.webhook_hops [WORK]` (default bench/.data/webhook_latency).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.common import DATA

HOPS = ("webhook", "to refresh run", "refresh queued", "refresh launch", "refresh work", "to delivery", "seen")


def _epoch(value: str | datetime) -> float:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC).timestamp()


def _run_events(instance, run_id: str) -> dict[str, float]:
    events: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        if entry.dagster_event is not None:
            events.setdefault(entry.dagster_event.event_type_value, entry.timestamp)
    return events


def breakdown(work: Path) -> dict:
    import dagster as dg

    samples = json.loads((work / "samples.json").read_text())
    engine = create_engine(f"sqlite:///{work / 'iec.db'}")
    with engine.connect() as conn:
        drops = conn.execute(text("SELECT id, received_at, run_id FROM webhook_drops ORDER BY id")).all()
        jobs = conn.execute(
            text(
                "SELECT m.created_at, m.sync_id, j.finished_at, j.run_id FROM mutation_jobs j "
                "JOIN mutations m ON m.id = j.mutation_id WHERE m.code = 'jeans-slim' AND j.status = 'success' "
                "ORDER BY j.id"
            )
        ).all()
    os.environ["DAGSTER_HOME"] = str(work / "dagster_home")
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    launched_by: Counter = Counter()
    with dg.DagsterInstance.get() as instance:
        for sample in samples:
            saved, seen = sample["saved"], sample["seen"]
            drop = next((d for d in drops if _epoch(d.received_at) >= saved - 0.05), None)
            job = next((j for j in jobs if j.finished_at and saved <= _epoch(j.finished_at) <= seen + 0.05), None)
            if drop is None or job is None or drop.run_id is None:
                continue
            refresh = instance.get_run_record_by_id(drop.run_id)
            events = _run_events(instance, drop.run_id)
            received, committed, done = _epoch(drop.received_at), _epoch(job.created_at), _epoch(job.finished_at)
            created = refresh.create_timestamp.timestamp()
            starting = events.get("PIPELINE_STARTING", events.get("PIPELINE_DEQUEUED", created))
            started = events.get("PIPELINE_START", starting)
            for hop, value in zip(
                HOPS,
                (received - saved, created - received, starting - created, started - starting,
                 committed - started, done - committed, seen - done),
                strict=True,
            ):  # fmt: skip
                hops[hop].append(value)
            delivery = instance.get_run_by_id(job.run_id) if job.run_id else None
            if delivery is None:
                launched_by["unknown"] += 1
            elif instance.get_run_record_by_id(job.run_id).create_timestamp.timestamp() < committed:
                launched_by["a delivery run already going"] += 1
            else:
                launched_by[delivery.tags.get("iec/launched-by", "the delivery sensor")] += 1
    summary = {}
    for hop, values in hops.items():
        values.sort()
        if values:
            summary[hop] = (statistics.median(values), values[round(0.95 * (len(values) - 1))])
    total = sorted(s["seen"] - s["saved"] for s in samples)
    print(f"{len(hops['webhook'])} of {len(samples)} changes traced; hop: p50 / p95 seconds")
    for hop, (p50, p95) in summary.items():
        print(f"  {hop:16} {p50:5.2f} / {p95:5.2f}")
    print(f"  {'save -> seen':16} {statistics.median(total):5.2f} / {total[round(0.95 * (len(total) - 1))]:5.2f}")
    print("  delivered by: " + ", ".join(f"{who} {n}" for who, n in launched_by.most_common()))
    return {"hops": summary, "delivered_by": dict(launched_by)}


if __name__ == "__main__":
    breakdown(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "webhook_latency")
