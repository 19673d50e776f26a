"""Replay: the current catalog sent again to one integration, once, structure first."""

from __future__ import annotations

import json

import dagster as dg

from devtools.sample_catalog import product_uuid, v
from iec_pipeline.definitions import current
from iec_pipeline.launch import run_sync
from tests.support.delivery import WEBHOOK_SECRET, declare, deliver, iec, jobs, webhook
from tests.support.webhook_target import WebhookTarget


def test_a_replay_after_adding_an_integration_delivers_the_catalog_once(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("first", webhook_target.url))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    late = WebhookTarget(WEBHOOK_SECRET)
    try:
        declare(iec_env, webhook("first", webhook_target.url), webhook("late", late.url))
        replayed = iec(iec_env, "integrations", "replay", "late", "--json")
        assert replayed.returncode == 0, replayed.stderr
        summary = json.loads(replayed.stdout)
        assert summary["jobs"] == 49 and summary["by_entity_type"] == {
            "attribute": 12, "attribute_option": 12, "family": 2, "family_variant": 2, "category": 7,
            "product_model": 4, "product": 10,
        }  # fmt: skip
        again = json.loads(iec(iec_env, "integrations", "replay", "late", "--json").stdout)
        assert again == {"jobs": 0, "by_entity_type": {}, "already_open": 49}  # still pending: nothing added
        queued = jobs(iec_env, integration="late")
        assert {j["queue"] for j in queued} == {"integrations-normal"}  # the `*` priority, not the price's
        assert [j["id"] for j in queued] == sorted(j["id"] for j in queued)
        deliver(iec_env, instance)
        assert sum(late.state.requests_per_key.values()) == 49 and set(late.state.requests_per_key.values()) == {1}
        assert sum(late.applied_codes().values()) == 49  # ("clothing" is a family and a category)
        assert sum(webhook_target.state.requests_per_key.values()) == 49  # the first integration got nothing new
        # Only what changed since a moment, only products: one job.
        with akeneo.seeder() as s:
            s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"name": [v("Skinny", "en_US")]}})
        assert run_sync(instance, mode="full").success
        deliver(iec_env, instance)
        narrow = json.loads(
            iec(iec_env, "integrations", "replay", "late", "--entity-type", "product", "--since",
                _last_sync_time(iec_env), "--json").stdout  # fmt: skip
        )
        assert narrow["by_entity_type"] == {"product": 1}
    finally:
        late.stop()


def test_replay_is_a_preset_job_in_the_ui(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["category"]))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    job = current().resolve_job_def("replay_shop")
    assert job.description and "replay" in job.description.lower()
    result = job.execute_in_process(instance=instance)
    assert result.success
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert outputs[0].event_specific_data.metadata["jobs"].value == 7
    assert isinstance(outputs[0].event_specific_data.metadata["by_type"], dg.JsonMetadataValue)


def _last_sync_time(iec_env) -> str:
    from sqlalchemy import func, select

    from iec_pipeline.store.db import get_engine
    from iec_pipeline.store.models import Mutation

    with get_engine(iec_env.store_url).connect() as conn:
        newest = select(func.max(Mutation.created_at)).where(Mutation.sync_id.not_like("replay:%"))
        return conn.execute(newest).scalar().isoformat()


def test_an_integration_enabled_again_says_what_it_missed_until_a_replay(akeneo, iec_env, instance, webhook_target):
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    deliver(iec_env, instance)
    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"], enabled=False))
    assert run_sync(instance, mode="full").success  # syncs the integration: disabled from now on
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"name": [v("Skinny", "en_US")]}})
    assert run_sync(instance, mode="full").success
    assert jobs(iec_env, status="pending") == []  # nothing made for a disabled integration

    declare(iec_env, webhook("shop", webhook_target.url, entity_types=["product"]))
    validated = iec(iec_env, "integrations", "validate")
    assert validated.returncode == 0
    assert "note shop: missed 1 change(s) while disabled since" in validated.stdout
    command = validated.stdout.split("missed", 1)[1].split(": ", 1)[1].strip()
    assert command.startswith("iec integrations replay shop --since ")
    assert run_sync(instance, mode="full").success  # enabled again in the store: status says it too
    status = json.loads(iec(iec_env, "status", "--json").stdout)
    assert list(status["missed_by_integrations"]) == ["shop"]

    replayed = iec(iec_env, *command.split()[1:], "--json")
    assert json.loads(replayed.stdout)["by_entity_type"] == {"product": 1}
    assert json.loads(iec(iec_env, "status", "--json").stdout)["missed_by_integrations"] == {}
    deliver(iec_env, instance)
    assert "jeans-slim" in webhook_target.applied_codes()
