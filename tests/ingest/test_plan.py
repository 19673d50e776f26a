"""Fetch planning: what one asset fetches of its type for each kind of sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from iec_pipeline.common.entity_types import get
from iec_pipeline.ingest.plan import FetchPlan, SyncConfig, plan_for

pytestmark = pytest.mark.fast

WATERMARK = datetime(2026, 11, 30, 12, 0, 0)
DAY = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))


def test_a_full_sync_fetches_every_type_whole():
    for name in ("product", "category", "attribute_option"):
        assert plan_for(get(name), SyncConfig(mode="full"), None, WATERMARK) == FetchPlan(name, "full", "full")


def test_an_incremental_sync_reads_products_since_the_watermark_minus_the_overlap():
    plan = plan_for(get("product"), SyncConfig(mode="incremental", overlap_minutes=5), None, WATERMARK)
    assert plan == FetchPlan("product", "incremental", "window", since=WATERMARK - timedelta(minutes=5))


def test_a_first_incremental_sync_has_no_watermark_and_fetches_everything():
    assert plan_for(get("product_model"), SyncConfig(mode="incremental"), None, None).scope == "full"


def test_types_akeneo_cannot_filter_on_updated_are_fetched_whole_in_any_mode():
    for mode in ("incremental", "window"):
        plan = plan_for(get("family"), SyncConfig(mode=mode), DAY, WATERMARK)
        assert (plan.mode, plan.scope) == (mode, "full")


def test_a_partition_window_is_its_days_in_utc():
    plan = plan_for(get("product"), SyncConfig(mode="window"), DAY, WATERMARK)
    assert plan == FetchPlan("product", "window", "window", since=datetime(2026, 11, 1), until=datetime(2026, 11, 2))


def test_window_mode_without_a_partition_is_refused():
    with pytest.raises(ValueError, match="needs a partition"):
        plan_for(get("product"), SyncConfig(mode="window"), None, WATERMARK)


def test_a_refresh_fetches_its_keys_once_each_and_applies_announced_deletions():
    config = SyncConfig(mode="refresh", keys=["a", "b", "a"], deleted={"c": "2026-11-30T10:00:00+00:00"})
    plan = plan_for(get("category"), config, None, WATERMARK)
    assert plan.scope == "keys" and plan.keys == ("a", "b") and plan.deleted == {"c": "2026-11-30T10:00:00+00:00"}
    assert plan.describe() == "2 named, 1 deleted"


def test_a_refresh_without_keys_of_this_type_fetches_nothing():
    assert plan_for(get("family"), SyncConfig(mode="refresh"), None, WATERMARK) is None
