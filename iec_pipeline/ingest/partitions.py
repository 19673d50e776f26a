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
  config. Entities never become partitions: Dagster writes an event per partition and its UI
  struggles with tens of thousands of them, while a catalog has millions of entities.
A day is the granularity people reason about when something went wrong ("re-sync what changed on
the 12th"). The figures behind this choice are in docs/operations.md.
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from typing import Any

import dagster as dg

AKENEO_PARTITIONS = dg.DailyPartitionsDefinition(start_date="2020-01-01", end_offset=1, timezone="UTC")


def sync_asset(**kwargs: Any):
    """`dg.asset` with what every asset of the sync job shares: the partitions, backfilled in one run."""
    with warnings.catch_warnings():  # the single-run backfill policy is beta: Dagster says so on every asset
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.asset(partitions_def=AKENEO_PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run(), **kwargs)


def today_key(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%d")


