"""Fetch planning: what one asset fetches of its type for each kind of sync."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from iec_pipeline.common.entity_types import get
from iec_pipeline.ingest.partitions import NO_FAMILY
from iec_pipeline.ingest.plan import FetchPlan, SyncConfig, family_plan, plan_for

pytestmark = pytest.mark.fast

WATERMARK = datetime(2026, 11, 30, 12, 0, 0)


def test_a_full_sync_fetches_every_type_whole():
    for name in ("product", "category", "attribute_option"):
        assert plan_for(get(name), SyncConfig(mode="full"), WATERMARK) == FetchPlan(name, "full", "full")


def test_an_incremental_sync_reads_products_since_the_watermark_minus_the_overlap():
    plan = plan_for(get("product"), SyncConfig(mode="incremental", overlap_minutes=5), WATERMARK)
    assert plan == FetchPlan("product", "incremental", "window", since=WATERMARK - timedelta(minutes=5))


def test_a_first_incremental_sync_has_no_watermark_and_fetches_everything():
    assert plan_for(get("product_model"), SyncConfig(mode="incremental"), None).scope == "full"


def test_types_akeneo_cannot_filter_on_updated_are_fetched_whole_in_any_mode():
    for mode in ("incremental", "full"):
        plan = plan_for(get("family"), SyncConfig(mode=mode), WATERMARK)
        assert (plan.mode, plan.scope) == (mode, "full")


def test_the_default_mode_is_incremental_so_a_launch_from_the_ui_needs_no_config():
    assert SyncConfig().mode == "incremental"


def test_a_family_backfill_fetches_its_families_once_each_and_says_which():
    plan = family_plan(get("product"), ["shoes", "bags", "shoes", NO_FAMILY])
    assert (plan.mode, plan.scope, plan.families) == ("families", "families", ("bags", NO_FAMILY, "shoes"))
    assert plan.describe() == "3 families: bags, no-family, shoes"
    assert family_plan(get("product"), [f"f{n}" for n in range(7)]).describe().endswith("f4 and 2 more")


def test_a_refresh_fetches_its_keys_once_each_and_applies_announced_deletions():
    config = SyncConfig(mode="refresh", keys=["a", "b", "a"], deleted={"c": "2026-11-30T10:00:00+00:00"})
    plan = plan_for(get("category"), config, WATERMARK)
    assert plan.scope == "keys" and plan.keys == ("a", "b") and plan.deleted == {"c": "2026-11-30T10:00:00+00:00"}
    assert plan.describe() == "2 named, 1 deleted"


def test_a_refresh_without_keys_of_this_type_fetches_nothing():
    assert plan_for(get("family"), SyncConfig(mode="refresh"), WATERMARK) is None
