"""Refresh planning: the drops of one sensor tick -> one refresh run of exactly the affected entities."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import dagster as dg
import pytest

from iec_pipeline.webhooks.sensor import refresh_request

pytestmark = pytest.mark.fast


def drop(drop_id, entity_type, code, action, occurred=None, received=datetime(2026, 12, 1, 10, 0, 0)):
    return SimpleNamespace(
        id=drop_id, entity_type=entity_type, code_or_uuid=code, action=action, occurred_at=occurred,
        received_at=received,
    )  # fmt: skip


def config_of(request: dg.RunRequest, asset: str) -> dict:
    return request.run_config["ops"][asset]["config"]


def test_the_latest_event_of_an_entity_wins_whatever_order_they_came_in():
    early, late = datetime(2026, 12, 1, 9, 0, 0), datetime(2026, 12, 1, 9, 5, 0)
    request = refresh_request(
        [
            drop(7, "product", "u-1", "deleted", occurred=late),
            drop(8, "product", "u-1", "updated", occurred=early),  # arrived later, happened earlier
            drop(9, "product", "u-2", "updated", occurred=early),
            drop(10, "product", "u-2", "deleted", occurred=late),
        ]
    )
    assert config_of(request, "akeneo_products") == {
        "mode": "refresh",
        "keys": [],
        "deleted": {"u-1": "2026-12-01T09:05:00+00:00", "u-2": "2026-12-01T09:05:00+00:00"},
    }


def test_an_update_and_a_creation_refresh_the_entity_from_akeneo():
    request = refresh_request([drop(1, "category", "shoes", "created"), drop(2, "attribute", "color", "updated")])
    assert config_of(request, "akeneo_categories")["keys"] == ["shoes"]
    assert config_of(request, "akeneo_attributes")["keys"] == ["color"]


def test_only_the_affected_types_and_the_diff_run_and_the_run_is_urgent():
    request = refresh_request([drop(3, "category", "shoes", "updated"), drop(5, "category", "bags", "updated")])
    assert request.asset_selection == [dg.AssetKey("akeneo_categories"), dg.AssetKey("catalog_diff")]
    assert set(request.run_config["ops"]) == {"akeneo_categories"}
    assert request.run_key == "drops:3-5"
    assert request.tags["iec/drops"] == "3-5" and request.tags["iec/sync-mode"] == "refresh"
    assert request.tags["dagster/priority"] == "100"


def test_drops_asked_for_again_get_a_new_run_key():
    assert refresh_request([drop(3, "family", "shirts", "updated")], attempt=2).run_key == "drops:3-3:again-2"


def test_without_an_event_time_the_reception_time_orders_events():
    received_early, received_late = datetime(2026, 12, 1, 8, 0, 0), datetime(2026, 12, 1, 8, 1, 0)
    request = refresh_request(
        [drop(1, "family", "shirts", "deleted", received=received_late),
         drop(2, "family", "shirts", "updated", received=received_early)]
    )  # fmt: skip
    assert config_of(request, "akeneo_families")["deleted"] == {"shirts": "2026-12-01T08:01:00+00:00"}
