"""The one builder of sync run requests: the CLI, the schedules and the webhook sensor all use it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg

from iec_pipeline.common.entity_types import ENTITY_TYPES, NAMES
from iec_pipeline.ingest.jobs import DIFF_ASSET, FAMILY_JOB, SYNC_JOB
from iec_pipeline.ingest.plan import Mode


def sync_run_request(
    mode: Mode,
    entity_types: Sequence[str] | None = None,
    keys: Mapping[str, Sequence[str]] | None = None,
    deleted: Mapping[str, Mapping[str, str]] | None = None,
    run_key: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dg.RunRequest:
    """A run of the sync job: the selected types' fetch assets and the diff, all in `mode`.

    A refresh selects the types it names keys (or deletions) of.
    """
    if entity_types is not None:
        unknown = sorted(set(entity_types) - set(NAMES))
        if unknown:
            raise ValueError(f"unknown entity type(s) {', '.join(unknown)}; expected: {', '.join(NAMES)}")
    if mode == "refresh":
        entity_types = [name for name in NAMES if (keys or {}).get(name) or (deleted or {}).get(name)]
    selected = [e for e in ENTITY_TYPES if entity_types is None or e.name in entity_types]
    run_tags = {"iec/sync-mode": mode, **(tags or {})}
    return dg.RunRequest(
        run_key=run_key,
        job_name=SYNC_JOB,
        run_config=sync_run_config(mode, keys, [e.name for e in selected], deleted),
        tags=run_tags,
        asset_selection=[dg.AssetKey(e.asset) for e in selected] + [dg.AssetKey(DIFF_ASSET)],
    )


def sync_run_config(
    mode: Mode,
    keys: Mapping[str, Sequence[str]] | None = None,
    entity_types: Sequence[str] | None = None,
    deleted: Mapping[str, Mapping[str, str]] | None = None,
) -> dict:
    """Run config for the sync job: the same mode for every selected ingestion asset."""
    ops = {}
    for entity in ENTITY_TYPES:
        if entity_types is not None and entity.name not in entity_types:
            continue
        config: dict = {"mode": mode, "keys": list((keys or {}).get(entity.name, []))}
        if (deleted or {}).get(entity.name):
            config["deleted"] = dict(deleted[entity.name])
        ops[entity.asset] = {"config": config}
    return {"ops": ops}


def family_run_request(family: str, tags: Mapping[str, str] | None = None) -> dg.RunRequest:
    """A run re-fetching the products and product models of one family partition, then applying
    them (a backfill of several families from the UI is one such run over their range)."""
    return dg.RunRequest(
        job_name=FAMILY_JOB,
        partition_key=family,
        tags={"iec/sync-mode": "families", **(tags or {})},
    )
