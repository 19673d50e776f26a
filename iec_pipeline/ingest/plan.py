"""What one sync fetches of one entity type: the sync's mode (run config) -> a fetch plan.

- `full`: everything (the only way to learn about deletions: Akeneo has no deletion feed);
- `incremental`: products and product models updated since the watermark (minus an overlap);
- `refresh`: exactly the named entities (webhooks), and the ones Akeneo announced as deleted;
- a family partition (backfill): products or product models of the named families (`family_plan`).
Types Akeneo cannot filter on `updated` are small reference data, always fetched whole, which also
finds their deletions on every sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import dagster as dg
from pydantic import Field

from iec_pipeline.common.entity_types import EntityType
from iec_pipeline.common.words import counted

Mode = Literal["incremental", "full", "refresh"]


class SyncConfig(dg.Config):
    """What one ingestion asset fetches in this run."""

    mode: Mode = Field(
        default="incremental",
        description=(
            "incremental: products and product models updated since the last watermark; "
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


@dataclass(frozen=True)
class FetchPlan:
    entity_type: str
    mode: str  # the sync mode: full | incremental | refresh | families
    scope: str  # what is fetched: full | window | keys | families
    since: datetime | None = None
    until: datetime | None = None
    keys: tuple[str, ...] = ()
    families: tuple[str, ...] = ()  # scope `families`: family codes (NO_FAMILY: products without one)
    deleted: dict[str, str] = field(default_factory=dict)  # announced deleted: key -> when (ISO)

    def describe(self) -> str:
        if self.scope == "keys":
            return f"{len(self.keys)} named" + (f", {len(self.deleted)} deleted" if self.deleted else "")
        if self.scope == "families":
            more = len(self.families) - 5
            shown = ", ".join(self.families[:5]) + (f" and {more} more" if more > 0 else "")
            return f"{counted(len(self.families), 'family')}: {shown}"
        if self.scope == "window":
            since = self.since.isoformat(sep=" ") if self.since else "the beginning"
            until = self.until.isoformat(sep=" ") if self.until else "now"
            return f"updated from {since} to {until}"
        return "everything"


def plan_for(entity: EntityType, config: SyncConfig, watermark: datetime | None) -> FetchPlan | None:
    """The fetch one asset does for `config`; None when this run has nothing for its type."""
    name = entity.name
    if config.mode == "refresh":
        if not config.keys and not config.deleted:
            return None
        return FetchPlan(name, "refresh", "keys", keys=tuple(dict.fromkeys(config.keys)), deleted=dict(config.deleted))
    if not entity.windowed or config.mode == "full":
        return FetchPlan(name, config.mode, "full")
    if watermark is None:  # incremental without a watermark: nothing was ever synced
        return FetchPlan(name, "incremental", "full")
    return FetchPlan(name, "incremental", "window", since=watermark - timedelta(minutes=config.overlap_minutes))


def family_plan(entity: EntityType, families: Sequence[str]) -> FetchPlan:
    """The fetch of a backfill of family partitions: every product (model) of these families."""
    return FetchPlan(entity.name, "families", "families", families=tuple(sorted(set(families))))
