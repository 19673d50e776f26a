"""How Akeneo ingestion is partitioned: products and product models by family.

PIM teams think in families ("re-sync and re-send family `shoes`"), so `akeneo_products_by_family`
and `akeneo_product_models_by_family` are partitioned by a dynamic partition per family of the store
(`akeneo_families`), plus `no-family` for products without one (Akeneo family codes have no hyphen,
so it cannot collide). A partition's status means "this family's data is current in the store":
- a backfill of families is ONE run that fetches exactly their products and models (a `family IN`
  listing per type), re-fetches one by one those the store holds in them that the listing no longer
  returned (moved to another family, or deleted), and applies it through `catalog_diff`;
- a full sync (`full_sync`, nightly schedule) reads everything: the diff then reports every partition
  materialized, so after it every family shows current;
- incremental and refresh syncs (schedule, webhooks) keep their watermark and keys; they go through
  the unpartitioned fetch assets and do not touch the partitions' status.
The diff keeps the partition keys equal to the store's families after every sync. Reference data
(attributes, options, families, variants, categories) is small and always fetched whole: unpartitioned.
Why not days of `updated`: a day's status said "a sync ran that day", not "this data is current"
(docs/operations.md, "Partitions").
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import dagster as dg

FAMILY_PARTITIONS = dg.DynamicPartitionsDefinition(name="akeneo_families")
NO_FAMILY = "no-family"  # products without a family
PARTITIONED_TYPES = ("product", "product_model")
FAMILY_ASSETS = ("akeneo_products_by_family", "akeneo_product_models_by_family")


def family_asset(**kwargs: Any):
    """`dg.asset` partitioned by family, backfilled in one run whatever the number of families."""
    with warnings.catch_warnings():  # the single-run backfill policy is beta: Dagster says so on every asset
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.asset(partitions_def=FAMILY_PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run(), **kwargs)


def follow_families(instance: dg.DagsterInstance, families: Sequence[str]) -> tuple[list[str], list[str]]:
    """Makes the partition keys the store's families (plus `no-family`); returns (added, removed)."""
    wanted = set(families) | {NO_FAMILY}
    have = set(instance.get_dynamic_partitions(FAMILY_PARTITIONS.name))
    added, removed = sorted(wanted - have), sorted(have - wanted)
    if added:
        instance.add_dynamic_partitions(FAMILY_PARTITIONS.name, added)
    for key in removed:
        instance.delete_dynamic_partition(FAMILY_PARTITIONS.name, key)
    return added, removed
