"""Channels and association types: reference data fetched whole on every sync, so a sync finds their
creations, field-level changes and deletions; and a product's associations changing is a product update.
The real akeneo-mock-server behind the strict proxy, real Dagster runs, SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from devtools.sample_catalog import product_uuid
from iec_pipeline.launch import run_sync
from tests.support import store

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


def _changes(url: str, since: int, entity_type: str) -> dict[str, tuple[str, list[str]]]:
    return {
        m["code"]: (m["operation"], m["changed_fields"])
        for m in store.mutations(url, since=since)
        if m["entity_type"] == entity_type
    }


@BOTH_STORES
def test_channels_and_association_types_are_created_updated_and_deleted(akeneo, iec_env, instance):
    url = iec_env.store_url
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.upsert("association-types", "X_SELL", {"code": "X_SELL", "labels": {"en_US": "Cross sell", "fr_FR": ""}})
        seeder.upsert("association-types", "PACK", {"code": "PACK", "labels": {"en_US": "Pack"}, "is_quantified": True})
        seeder.upsert("channels", "print", {"code": "print", "locales": ["fr_FR", "en_US"], "currencies": ["EUR"],
                                            "category_tree": "master", "labels": {"en_US": "Print"},
                                            "conversion_units": {"weight": "KILOGRAM"}})  # fmt: skip
    outcome = run_sync(instance, mode="full")
    assert outcome.success, outcome.errors
    assert (outcome.fetched["channel"], outcome.fetched["association_type"]) == (3, 2)
    created = _changes(url, 0, "association_type") | _changes(url, 0, "channel")
    assert {code: operation for code, (operation, _) in created.items()} == {
        "X_SELL": "created", "PACK": "created", "print": "created", "ecommerce": "created", "mobile": "created",
    }  # fmt: skip
    x_sell = store.row(url, "association_type", "X_SELL")
    assert (x_sell["labels"], x_sell["is_quantified"], x_sell["is_two_way"]) == ({"en_US": "Cross sell"}, False, False)
    assert store.row(url, "association_type", "PACK")["is_quantified"] is True
    printed = store.row(url, "channel", "print")
    assert printed["locales"] == ["en_US", "fr_FR"]  # a set: sorted
    assert printed["conversion_units"] == {"weight": "KILOGRAM"}

    # Reordered locales are no change; a label and a flag are, field by field.
    before = store.last_mutation_id(url)
    with akeneo.seeder() as seeder:
        seeder.upsert(
            "channels", "print", {"locales": ["en_US", "fr_FR"], "labels": {"en_US": "Print", "fr_FR": "Papier"}}
        )
        seeder.upsert("association-types", "X_SELL", {"is_two_way": True})
        seeder.upsert("channels", "mobile", {"currencies": ["EUR", "USD"], "category_tree": "master"})
    outcome = run_sync(instance, mode="incremental")  # reference data is fetched whole by every sync
    assert outcome.success, outcome.errors
    assert _changes(url, before, "channel") == {
        "print": ("updated", ["labels"]), "mobile": ("updated", ["currencies"]),
    }  # fmt: skip
    assert _changes(url, before, "association_type") == {"X_SELL": ("updated", ["is_two_way"])}

    # Deleted in Akeneo, never announced: the next sync finds it (a sync reads reference data whole).
    before = store.last_mutation_id(url)
    with akeneo.seeder() as seeder:
        seeder.delete("association-types/PACK")
        seeder.delete("channels/print")
    outcome = run_sync(instance, mode="full")
    assert outcome.success, outcome.errors
    gone = _changes(url, before, "association_type") | _changes(url, before, "channel")
    assert {code: operation for code, (operation, _) in gone.items()} == {"PACK": "deleted", "print": "deleted"}
    assert store.row(url, "association_type", "PACK") is None and store.row(url, "channel", "print") is None
    assert store.row(url, "association_type", "X_SELL") is not None


def test_a_product_association_added_or_removed_is_a_product_update(akeneo, iec_env, instance):
    url = iec_env.store_url
    jeans = product_uuid("jeans-slim")
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.upsert("association-types", "X_SELL", {"code": "X_SELL", "labels": {"en_US": "Cross sell"}})
        seeder.upsert("products-uuid", jeans, {"associations": {"X_SELL": {"products": ["rain-jacket"]}}})
    assert run_sync(instance, mode="full").success
    assert store.row(url, "product", "jeans-slim")["associations"] == {"X_SELL": {"products": ["rain-jacket"]}}

    before = store.last_mutation_id(url)
    with akeneo.seeder() as seeder:  # a target added
        seeder.upsert("products-uuid", jeans, {"associations": {"X_SELL": {"products": ["rain-jacket", "gift-card"]}}})
    assert run_sync(instance, mode="incremental").success
    assert _changes(url, before, "product") == {"jeans-slim": ("updated", ["associations"])}
    (mutation,) = [m for m in store.mutations(url, since=before) if m["entity_type"] == "product"]
    assert mutation["payload"]["associations"] == {"X_SELL": {"products": ["gift-card", "rain-jacket"]}}
    assert mutation["previous"]["associations"] == {"X_SELL": {"products": ["rain-jacket"]}}

    before = store.last_mutation_id(url)
    with akeneo.seeder() as seeder:  # a target removed
        seeder.upsert("products-uuid", jeans, {"associations": {"X_SELL": {"products": ["gift-card"]}}})
    assert run_sync(instance, mode="incremental").success
    assert _changes(url, before, "product") == {"jeans-slim": ("updated", ["associations"])}
    assert store.row(url, "product", "jeans-slim")["associations"] == {"X_SELL": {"products": ["gift-card"]}}
    assert store.row(url, "product", "rain-jacket") is not None  # only the association went
