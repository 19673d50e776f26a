"""`catalog_diff` consumes the latest materializations of the fetch assets, whichever run made them,
and never ends green having applied nothing."""

from __future__ import annotations

import dagster as dg

from devtools.sample_catalog import product_uuid, v
from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.ingest.jobs import DIFF_ASSET, SYNC_JOB
from iec_pipeline.ingest.requests import sync_run_config
from iec_pipeline.launch import failure_message, launch
from tests.support import store


def _request(assets: list[str], mode: str = "full") -> dg.RunRequest:
    return dg.RunRequest(
        job_name=SYNC_JOB,
        asset_selection=[dg.AssetKey(name) for name in assets],
        run_config=sync_run_config(mode, entity_types=[e.name for e in ENTITY_TYPES if e.asset in assets]),
        tags={"iec/sync-mode": mode},
    )


def _failure(instance: dg.DagsterInstance, run_id: str) -> str:
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is not None and event.event_type_value == "STEP_FAILURE":
            return failure_message(event.event_specific_data.error)
    return ""


def test_the_diff_alone_with_nothing_staged_fails_saying_why(akeneo, iec_env, instance):
    result = launch(instance, _request([DIFF_ASSET]))
    assert not result.success
    assert "nothing to apply" in _failure(instance, result.run_id)


def test_the_diff_alone_applies_what_another_run_fetched(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    fetch_only = launch(instance, _request([e.asset for e in ENTITY_TYPES]))
    assert fetch_only.success
    assert store.row(iec_env.store_url, "product", "jeans-slim") is None  # fetched, not applied

    diff = launch(instance, _request([DIFF_ASSET]))
    assert diff.success
    assert store.row(iec_env.store_url, "product", "jeans-slim") is not None
    applied = instance.get_latest_materialization_event(dg.AssetKey(DIFF_ASSET)).asset_materialization
    assert applied.metadata["syncs"].value == [fetch_only.run_id]
    assert applied.metadata["created"].value == 51  # 2 of them channels

    # Applied once: the same diff again has nothing left.
    assert not launch(instance, _request([DIFF_ASSET])).success


def test_two_fetch_runs_are_applied_oldest_first_by_one_diff(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    first = launch(instance, _request([e.asset for e in ENTITY_TYPES]))
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"name": [v("Skinny jeans", "en_US")]}})
    second = launch(instance, _request(["akeneo_products"]))
    assert first.success and second.success
    assert launch(instance, _request([DIFF_ASSET])).success
    applied = instance.get_latest_materialization_event(dg.AssetKey(DIFF_ASSET)).asset_materialization
    assert applied.metadata["syncs"].value == [first.run_id, second.run_id]
    operations = [m["operation"] for m in store.mutations(iec_env.store_url) if m["code"] == "jeans-slim"]
    assert operations == ["created", "updated"]  # the first sync's state, then the second's
    row = store.values_of(iec_env.store_url, product_uuid("jeans-slim"))
    assert row[("name", "", "en_US")][0] == "Skinny jeans"
