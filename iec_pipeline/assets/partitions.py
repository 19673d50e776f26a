"""How Akeneo ingestion is partitioned, and the run config that picks the kind of sync.

Partitions: one per UTC day of Akeneo's `updated` time (`DailyPartitionsDefinition`), shared by
every ingestion asset and the diff, with a single-run backfill policy. Why:
- backfill a range from the UI: select days, and ONE run fetches exactly the products and product
  models updated in that range (one `updated` filter per type, not one run or event per day);
- incremental sync: the schedule materializes today's partition in `incremental` mode, which reads
  from the last successful watermark (minus a safety overlap) whatever the day, so a stopped daemon
  leaves no gap;
- full sync: today's partition in `full` mode sweeps everything, the only way to find deletions;
- refresh of named entities (webhooks): today's partition in `refresh` mode with the keys in run
  config. Entities never become partitions: Dagster writes an event per partition (10-17 ms each on
  SQLite) and its UI struggles past ~40k partitions, while a catalog has millions of entities.
A day is about 2,500 partitions since 2020: cheap to list, and a day is the granularity people
reason about when something went wrong ("re-sync what changed on the 12th").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import dagster as dg
from pydantic import Field

from iec_pipeline.catalog.entities import ENTITY_TYPES, EntityType
from iec_pipeline.catalog.fetch import FetchPlan

AKENEO_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2020-01-01", end_offset=1, timezone="UTC")

Mode = Literal["window", "incremental", "full", "refresh"]


class SyncConfig(dg.Config):
    """What one ingestion asset fetches in this run."""

    mode: Mode = Field(
        default="window",
        description=(
            "window: the partition (range)'s days of `updated`; incremental: since the last watermark; "
            "full: everything, finding deletions; refresh: only `keys`"
        ),
    )
    keys: list[str] = Field(
        default_factory=list,
        description="refresh mode: product uuids, or codes (options as attribute.option, variants as family.variant)",
    )
    deleted: dict[str, str] = Field(
        default_factory=dict,
        description="refresh mode: keys Akeneo announced as deleted -> when (ISO 8601); applied without a fetch",
    )
    overlap_minutes: int = Field(default=5, description="incremental mode: re-read this much before the watermark")


def today_key(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


def plan_for(
    entity: EntityType,
    config: SyncConfig,
    window: tuple[datetime, datetime] | None,
    watermark: datetime | None,
) -> FetchPlan | None:
    """The fetch one asset does for `config`; None when this run has nothing for its type."""
    name = entity.name
    if config.mode == "refresh":
        if not config.keys and not config.deleted:
            return None
        return FetchPlan(name, "refresh", "keys", keys=tuple(dict.fromkeys(config.keys)), deleted=dict(config.deleted))
    if not entity.windowed or config.mode == "full":
        return FetchPlan(name, config.mode, "full")
    if config.mode == "incremental":
        if watermark is None:
            return FetchPlan(name, "incremental", "full")
        return FetchPlan(name, "incremental", "window", since=watermark - timedelta(minutes=config.overlap_minutes))
    if window is None:
        raise ValueError("window mode needs a partition (or a partition range)")
    start, end = (w.astimezone(UTC).replace(tzinfo=None) for w in window)
    return FetchPlan(name, "window", "window", since=start, until=end)


def sync_run_config(
    mode: Mode,
    keys: dict[str, list[str]] | None = None,
    entity_types: list[str] | None = None,
    deleted: dict[str, dict[str, str]] | None = None,
) -> dict:
    """Run config for the sync job: the same mode for every selected ingestion asset."""
    ops = {}
    for entity in ENTITY_TYPES:
        if entity_types is not None and entity.name not in entity_types:
            continue
        config: dict = {"mode": mode, "keys": list((keys or {}).get(entity.name, []))}
        if (deleted or {}).get(entity.name):
            config["deleted"] = dict(deleted[entity.name])
        ops[entity.asset] = {"config": config}
    return {"ops": ops}
