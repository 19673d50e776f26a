"""The sync job: the Akeneo fetch assets and the diff that applies what they staged, in one run."""

import dagster as dg

SYNC_JOB = "akeneo_sync"
DIFF_ASSET = "catalog_diff"  # downstream of every fetch asset (defined by the diff stage)

akeneo_sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.groups("akeneo") | dg.AssetSelection.assets(DIFF_ASSET),
    executor_def=dg.in_process_executor,
    description="Fetch Akeneo into staging, then apply it to the store as mutations, in one run.",
    tags={"iec/job": "sync"},
)
