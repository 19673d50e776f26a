"""Change tracking: every real change in Akeneo becomes exactly one mutation."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

import pytest

from devtools.sample_catalog import generated_products, product_uuid, v
from iec_pipeline.launch import run_sync
from tests.support import store

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


def _seed(akeneo) -> None:
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(5))


def _changes_in_akeneo(akeneo) -> None:
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"name": [v("Jean slim brut", "fr_FR")]}})
        s.upsert("products-uuid", product_uuid("rain-jacket"), {"values": {"price": [v([
            {"amount": "89.00", "currency": "EUR"}, {"amount": "99.00", "currency": "USD"}])]}})  # fmt: skip
        s.upsert("products-uuid", product_uuid("gift-card"), {"categories": ["sale", "accessories"]})
        s.upsert("products-uuid", product_uuid("gen-0000000"), {"values": {"material": [v(["wool", "linen"])]}})
        s.upsert(
            "products-uuid",
            product_uuid("gen-0000001"),
            {"values": {"weight": [v({"amount": "0.101", "unit": "KILOGRAM"})]}},
        )
        # A re-save that only bumps `updated`, and one with meaningless differences: no mutation.
        s.upsert("products-uuid", product_uuid("gen-0000002"), {"updated": "2026-03-01T10:00:00+00:00"})
        same = next(p for p in generated_products(1, 3))
        s.upsert("products-uuid", product_uuid("gen-0000003"), {"values": {
            "material": [v(list(reversed(same["values"]["material"][0]["data"])))],
            "price": [v([{"amount": p["amount"] + "00", "currency": p["currency"]}
                         for p in reversed(same["values"]["price"][0]["data"])])],
        }})  # fmt: skip
        s.upsert("products-uuid", product_uuid("gen-0000004"), {"values": {"ean": [v(None)]}})  # emptied
        s.delete(f"products-uuid/{product_uuid('old-jacket')}")
        s.upsert("attributes/color/options", "red", {"labels": {"fr_FR": "Rouge vif"}})
        s.upsert("families", "accessories", {"attributes": [
            "sku", "name", "description", "price", "weight", "color", "material", "waterproof", "stock_qty", "ean",
            "release_date"]})  # fmt: skip
        s.upsert("categories", "pants", {"labels": {"fr_FR": "Pantalons et jeans"}})
        s.upsert("products-uuid", product_uuid("tshirt-classic-red-m"), {"parent": "tshirt_classic_blue"})
        s.upsert(
            "product-models",
            "tshirt_classic",
            {"values": {"description": [v("Softer cotton (web)", "en_US", "ecommerce")]}},
        )


EXPECTED = {
    ("product", "jeans-slim", "updated"): ["name"],
    ("product", "rain-jacket", "updated"): ["price"],
    ("product", "gift-card", "updated"): ["categories"],
    ("product", "gen-0000000", "updated"): ["material"],
    ("product", "gen-0000001", "updated"): ["weight"],
    ("product", "gen-0000004", "updated"): ["ean"],
    ("product", "old-jacket", "deleted"): [
        "categories",
        "color",
        "enabled",
        "family",
        "identifier",
        "name",
        "price",
        "sku",
    ],
    ("attribute_option", "color.red", "updated"): ["labels"],
    ("family", "accessories", "updated"): ["attributes"],
    ("category", "pants", "updated"): ["labels"],
    ("product_model", "tshirt_classic", "updated"): ["description"],
    # Sub-models and variants inherit the model's description: each gets its own mutation.
    ("product_model", "tshirt_classic_red", "updated"): ["description"],
    ("product_model", "tshirt_classic_blue", "updated"): ["description"],
    ("product", "tshirt-classic-red-s", "updated"): ["description"],
    ("product", "tshirt-classic-blue-s", "updated"): ["description"],
    ("product", "tshirt-classic-blue-m", "updated"): ["description"],
    # Moved to the blue model: a new parent, inherited color and categories, and the new description.
    ("product", "tshirt-classic-red-m", "updated"): ["categories", "color", "description", "parent"],
}


@BOTH_STORES
def test_every_change_becomes_exactly_one_mutation(akeneo, iec_env, instance):
    _seed(akeneo)
    first = run_sync(instance, mode="full")
    assert first.success, first.errors
    assert first.mutations == {"created": 56, "updated": 0, "deleted": 0}  # 2 of them channels
    assert first.checks == {
        "mutations_reference_entities": True, "one_mutation_per_entity": True,
        "values_reference_known_attributes": True, "product_families_exist": True,
    }  # fmt: skip
    before = store.last_mutation_id(iec_env.store_url)

    _changes_in_akeneo(akeneo)
    second = run_sync(instance, mode="full")
    assert second.success, second.errors
    found = store.mutations(iec_env.store_url, since=before)
    assert {(m["entity_type"], m["code"], m["operation"]): m["changed_fields"] for m in found} == EXPECTED
    assert len(found) == len(EXPECTED)  # no entity twice

    by_code = {m["code"]: m for m in found}
    resaved = store.row(iec_env.store_url, "product", "gen-0000002")["updated"]
    assert resaved == datetime(2026, 3, 1, 10, 0)  # no mutation, but the store knows Akeneo's `updated`
    emptied = by_code["gen-0000004"]
    assert not [x for x in emptied["payload"]["values"] if x["attribute_code"] == "ean"]
    assert [x["value"] for x in emptied["previous"]["values"] if x["attribute_code"] == "ean"] == ["4000000000004"]
    moved = by_code["tshirt-classic-red-m"]
    assert moved["payload"]["parent"] == "tshirt_classic_blue" and moved["previous"]["parent"] == "tshirt_classic_red"
    assert {x["value"] for x in moved["payload"]["values"] if x["attribute_code"] == "color"} == {"blue"}
    deleted = by_code["old-jacket"]
    assert deleted["payload"] == {"uuid": product_uuid("old-jacket"), "identifier": "old-jacket"}
    assert deleted["previous"]["identifier"] == "old-jacket" and deleted["previous"]["enabled"] is False
    variant = by_code["tshirt-classic-blue-s"]
    description = {
        (x["channel"], x["locale"]): x["value"]
        for x in variant["payload"]["values"]
        if x["attribute_code"] == "description"
    }
    assert description[("ecommerce", "en_US")] == "Softer cotton (web)"
    assert description[("mobile", "en_US")] == "A classic cotton T-shirt (mobile)"

    third = run_sync(instance, mode="full")
    assert third.success
    assert third.unchanged == third.fetched  # every item recognised as identical, none normalized again
    assert store.mutations(iec_env.store_url, since=store.last_mutation_id(iec_env.store_url) - 0) == []
    assert third.mutations == {"created": 0, "updated": 0, "deleted": 0}


def test_refresh_of_named_entities_finds_changes_and_deletions(akeneo, iec_env, instance):
    _seed(akeneo)
    assert run_sync(instance, mode="full").success
    before = store.last_mutation_id(iec_env.store_url)
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"enabled": False})
        s.delete(f"products-uuid/{product_uuid('gift-card')}")
        s.upsert("products-uuid", product_uuid("rain-jacket"), {"enabled": False})  # not named: not seen
    outcome = run_sync(
        instance, mode="refresh", keys={"product": [product_uuid("jeans-slim"), product_uuid("gift-card")]}
    )
    assert outcome.success, outcome.errors
    found = {(m["code"], m["operation"]): m["changed_fields"] for m in store.mutations(iec_env.store_url, since=before)}
    assert found[("jeans-slim", "updated")] == ["enabled"]
    assert ("gift-card", "deleted") in found
    assert len(found) == 2


def _cli_sync(iec_env, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**iec_env.env, "PATH": "/usr/bin:/bin"}
    if crash_at:
        env["IEC_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "iec_pipeline.cli", "sync", "--full", "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("crash_at", ["diff.start", "diff.before_commit"])
def test_a_crash_before_the_commit_loses_nothing_and_a_rerun_yields_the_mutations_once(
    akeneo, iec_env, instance, crash_at
):
    _seed(akeneo)
    assert run_sync(instance, mode="full").success
    before_store = store.as_json(store.dump(iec_env.store_url))
    before = store.last_mutation_id(iec_env.store_url)
    _changes_in_akeneo(akeneo)

    crashed = _cli_sync(iec_env, crash_at)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert store.last_mutation_id(iec_env.store_url) == before
    assert store.as_json(store.dump(iec_env.store_url)) == before_store

    assert _cli_sync(iec_env).returncode == 0
    found = store.mutations(iec_env.store_url, since=before)
    assert sorted((m["entity_type"], m["code"], m["operation"]) for m in found) == sorted(EXPECTED)
    assert _cli_sync(iec_env).returncode == 0
    assert store.last_mutation_id(iec_env.store_url) == found[-1]["id"]


def test_a_crash_after_the_commit_is_not_applied_twice(akeneo, iec_env, instance):
    _seed(akeneo)
    assert run_sync(instance, mode="full").success
    before = store.last_mutation_id(iec_env.store_url)
    _changes_in_akeneo(akeneo)
    crashed = _cli_sync(iec_env, "diff.after_commit")
    assert crashed.returncode == -9
    committed = store.mutations(iec_env.store_url, since=before)
    assert len(committed) == len(EXPECTED)
    assert _cli_sync(iec_env).returncode == 0
    assert store.last_mutation_id(iec_env.store_url) == committed[-1]["id"]


def test_cli_mutations_json_shape(akeneo, iec_env, instance):
    _seed(akeneo)
    assert run_sync(instance, mode="full").success
    env = {**iec_env.env, "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "iec_pipeline.cli", "mutations", "--since", "40", "--entity-type", "product", "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    import json

    rows = json.loads(out.stdout)
    assert rows and all(r["id"] > 40 and r["entity_type"] == "product" for r in rows)
    assert set(rows[0]) == {"id", "entity_type", "entity_uuid", "code", "operation", "changed_fields", "created_at"}
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    jeans = next(r for r in rows if r["code"] == "jeans-slim")
    assert jeans["operation"] == "created" and "name" in jeans["changed_fields"]


def test_created_payloads_equal_what_the_store_gives(akeneo, iec_env, instance):
    """Created payloads are built from staging (fast path); they must match the store's."""
    from iec_pipeline.diff import payloads
    from iec_pipeline.store.db import get_engine

    _seed(akeneo)
    assert run_sync(instance, mode="full").success
    found = store.mutations(iec_env.store_url)
    with get_engine(iec_env.store_url).connect() as conn:
        categories = payloads.CategoryIndex(conn)
        for entity_type in {m["entity_type"] for m in found}:
            created = {m["entity_uuid"]: m["payload"] for m in found if m["entity_type"] == entity_type}
            rebuilt = payloads.build(conn, entity_type, list(created), categories)
            assert store.as_json(rebuilt) == store.as_json(created), entity_type


def test_the_diff_checks_fail_on_a_broken_store(akeneo, iec_env, instance):
    from sqlalchemy import text

    from iec_pipeline.diff.checks import run_checks
    from iec_pipeline.store.db import get_engine

    _seed(akeneo)
    assert run_sync(instance, mode="full").success
    engine = get_engine(iec_env.store_url)
    with engine.begin() as conn:
        sync_id = conn.execute(text("SELECT sync_id FROM mutations LIMIT 1")).scalar()
        conn.execute(text("UPDATE products SET family = 'ghost' WHERE identifier = 'jeans-slim'"))
        conn.execute(text("UPDATE product_attribute_values SET attribute_code = 'ghost' WHERE attribute_code = 'ean'"))
        conn.execute(text("DELETE FROM categories WHERE code = 'sale'"))
        conn.execute(
            text(
                "INSERT INTO mutations (entity_type, entity_uuid, code, operation, payload, changed_fields, sync_id,"
                " created_at) SELECT entity_type, entity_uuid, code, operation, payload, changed_fields, sync_id,"
                " created_at FROM mutations WHERE code = 'gift-card'"
            )
        )
    results = {r.check_name: r.passed for r in run_checks(engine, [sync_id])}
    assert results == {
        "mutations_reference_entities": False,
        "one_mutation_per_entity": False,
        "values_reference_known_attributes": False,
        "product_families_exist": False,
    }
