"""Sync jobs: Akeneo fetch assets and the diff that applies what they staged, in one run.

`akeneo_sync` is what `iec sync`, the schedules and the webhook sensor launch, its mode in run config.
The presets are what an operator launches from the UI: the same assets with the mode filled in as
the default config, so "Materialize all" needs no YAML.
"""

import dagster as dg

from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.ingest.partitions import FAMILY_ASSETS

SYNC_JOB = "akeneo_sync"
FAMILY_JOB = "family_resync"
DIFF_ASSET = "catalog_diff"  # downstream of every fetch asset (defined by the diff stage)
SYNC_SELECTION = dg.AssetSelection.assets(*(e.asset for e in ENTITY_TYPES)) | dg.AssetSelection.assets(DIFF_ASSET)


def _sync_job(name: str, description: str, mode: str | None = None, **config: object):
    run_config = None
    if mode is not None:
        run_config = {"ops": {e.asset: {"config": {"mode": mode, **config}} for e in ENTITY_TYPES}}
    return dg.define_asset_job(
        name,
        selection=SYNC_SELECTION,
        executor_def=dg.in_process_executor,
        description=description,
        config=run_config,
        tags={"iec/job": "sync", **({"iec/sync-mode": mode} if mode else {})},
    )


akeneo_sync_job = _sync_job(
    SYNC_JOB, "Fetch Akeneo into staging, then apply it to the store as mutations, in one run (mode in run config)."
)
sync_jobs = [
    akeneo_sync_job,
    _sync_job(
        "full_sync",
        "Full sync: read everything from Akeneo and apply it; the only sync that finds deletions Akeneo never "
        "announced. Every family partition shows materialized afterwards.",
        "full",
    ),
    _sync_job(
        "incremental_sync",
        "Incremental sync: products and product models updated since the last watermark (minus an overlap), "
        "reference data whole.",
        "incremental",
    ),
    _sync_job(
        "refresh_sync",
        "Refresh named entities: put product uuids or codes under `keys` of the types to refresh "
        "(options as attribute.option, variants as family.variant); the other types fetch nothing.",
        "refresh",
        keys=[],
    ),
    dg.define_asset_job(
        FAMILY_JOB,
        selection=dg.AssetSelection.assets(*FAMILY_ASSETS, DIFF_ASSET),
        executor_def=dg.in_process_executor,
        description="Re-sync families: pick family partitions; one run re-fetches their products and product "
        "models (finding the ones moved out or deleted) and applies them, so their changes are sent again.",
        tags={"iec/job": "sync", "iec/sync-mode": "families"},
    ),
]
