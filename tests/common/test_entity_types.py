"""The entity-type registry every stage and driver reads: one order, one uuid, one table per type."""

from __future__ import annotations

import pytest

from drivers import models as driver_models
from iec_pipeline.common.entity_types import BY_NAME, ENTITY_TYPES, NAMES, STRUCTURE_RANK, entity_uuid, get
from iec_pipeline.store.models import entity_table

pytestmark = pytest.mark.fast


def test_dependency_order_every_type_comes_after_what_it_reads():
    position = {name: i for i, name in enumerate(NAMES)}
    for entity in ENTITY_TYPES:
        assert all(position[up] < position[entity.name] for up in entity.upstream), entity.name
        assert all(BY_NAME[up].rank <= entity.rank for up in entity.upstream), entity.name


def test_reference_data_ranks_below_what_carries_values():
    for entity in ENTITY_TYPES:
        assert (entity.rank <= STRUCTURE_RANK) == (not entity.has_values), entity.name


def test_every_type_has_its_store_table_with_the_fields_the_diff_tracks():
    for entity in ENTITY_TYPES:
        table = entity_table(entity)
        assert table.name == entity.table_name
        missing = [f for f in (entity.code_column, *entity.fields) if f not in table.c]
        assert missing == [], entity.name


def test_uuids_are_stable_and_drivers_compute_the_same():
    # A changed namespace would silently break every stored entity mapping: this value is the contract.
    assert entity_uuid("category", "shoes") == "50c835b9-56a1-597e-a3a7-dd52492ddc3b"
    assert driver_models.entity_uuid is entity_uuid
    assert driver_models.ENTITY_TYPES == NAMES


def test_labels_read_as_english():
    assert [get(n).plural for n in ("category", "family", "product_model")] == [
        "categories",
        "families",
        "product models",
    ]


def test_an_unknown_type_is_named():
    with pytest.raises(ValueError, match="unknown entity type 'variant'"):
        get("variant")
