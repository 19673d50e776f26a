"""Real mutations for the driver tests, produced the way IEC produces them, once for the package.

The sample catalog is seeded into the (session) akeneo-mock-server, a full sync runs as a real
Dagster run, and the `mutations` table is read back; then a set of changes is made in Akeneo, a
second sync runs, and its mutations are read back too. Every driver test module shares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import psycopg
import pytest

from devtools.sample_catalog import AkeneoSeeder, product_uuid, v
from drivers.models import MutationData
from iec_pipeline.launch import run_sync
from iec_pipeline.store import db
from tests.conftest import iec_environment
from tests.support import store

EXTRA_CATEGORY = {"code": "outlet", "parent": "master", "labels": {"en_US": "Outlet", "fr_FR": "Déstockage"}}
EXTRA_OPTION = {"code": "xxl", "attribute": "size", "sort_order": 9, "labels": {"en_US": "XXL"}}
WHITE = {"code": "white", "attribute": "color", "sort_order": 9, "labels": {"en_US": "White", "fr_FR": "Blanc"}}


@dataclass(frozen=True)
class SyncedCatalog:
    """`initial`: the mutations of the first full sync; `changes`: those of the second one."""

    initial: list[MutationData]
    changes: list[MutationData]

    def by_code(self, mutations: list[MutationData]) -> dict[tuple[str, str], MutationData]:
        return {(m.entity_type, m.code): m for m in mutations}


def as_mutation(row: dict[str, Any]) -> MutationData:
    return MutationData(
        mutation_id=row["id"],
        entity_type=row["entity_type"],
        entity_uuid=row["entity_uuid"],
        code=row["code"],
        operation=row["operation"],
        payload=row["payload"],
        changed_fields=row["changed_fields"] or [],
        previous=row["previous"],
    )


def _change_the_catalog(seeder, mock) -> None:
    """A price, a localized name, categories, a disabled product, a deleted variant, a moved variant,
    a new option used at once, emptied values (a global one and one locale), a category label,
    a deleted category and a deleted option."""
    seeder.upsert("attributes/color/options", "white", WHITE)
    seeder.upsert("products-uuid", product_uuid("rain-jacket"), {"values": {
        "price": [v([{"amount": "79.00", "currency": "EUR"}, {"amount": "85.00", "currency": "USD"}])],
        "color": [v("white")],
    }})  # fmt: skip
    seeder.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {
        "name": [v("Jean slim brut", "fr_FR")], "ean": [v(None)], "description": [v(None, "fr_FR", "ecommerce")],
    }})  # fmt: skip
    seeder.upsert("products-uuid", product_uuid("gift-card"), {"categories": ["accessories"], "enabled": False})
    seeder.delete(f"products-uuid/{product_uuid('tshirt-classic-blue-m')}")
    seeder.upsert("products-uuid", product_uuid("tshirt-classic-red-m"), {"parent": "tshirt_classic_blue"})
    seeder.upsert("categories", "pants", {"labels": {"fr_FR": "Pantalons et jeans"}})
    seeder.delete("categories/outlet")
    # Akeneo's API cannot delete an option (its UI can): remove it where the mock keeps it.
    with psycopg.connect(f"{mock.server}/{mock.database}", autocommit=True) as conn:
        conn.execute("DELETE FROM attribute_options WHERE data->>'code' = 'xxl' AND parent_id = 'size'")


@pytest.fixture(scope="package")
def synced_catalog(mock_akeneo, akeneo_proxy, tmp_path_factory) -> Iterator[SyncedCatalog]:
    mock_akeneo.clear()
    akeneo_proxy.reset()
    work = tmp_path_factory.mktemp("magento2_sync")
    store_url = f"sqlite:///{work / 'iec.db'}"
    home, env = iec_environment(work, akeneo_proxy.url, store_url)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        with mock_akeneo_seeder(mock_akeneo) as seeder:
            seeder.seed()
            seeder.upsert("categories", EXTRA_CATEGORY["code"], EXTRA_CATEGORY)
            seeder.upsert("attributes/size/options", EXTRA_OPTION["code"], EXTRA_OPTION)
        with dg.DagsterInstance.get() as instance:
            first = run_sync(instance, mode="full")
            assert first.success, first.errors
            initial = [as_mutation(r) for r in store.mutations(store_url)]
            before = store.last_mutation_id(store_url)
            with mock_akeneo_seeder(mock_akeneo) as seeder:
                _change_the_catalog(seeder, mock_akeneo)
            second = run_sync(instance, mode="full")
            assert second.success, second.errors
            changes = [as_mutation(r) for r in store.mutations(store_url, since=before)]
        db.dispose_all()
    yield SyncedCatalog(initial, changes)


def mock_akeneo_seeder(mock) -> AkeneoSeeder:
    return AkeneoSeeder(mock.url)  # fixtures write straight to the mock: they are not the code under test
