"""Launching a sync as a real Dagster run (CLI, tests, demo) and reading back what it did."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from iec_pipeline.assets.partitions import Mode, sync_run_config, today_key
from iec_pipeline.catalog.entities import ENTITY_TYPES, NAMES

DIFF_ASSET = "catalog_diff"


@dataclass
class SyncOutcome:
    run_id: str
    success: bool
    mode: str
    seconds: float
    fetched: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)  # fetched, identical to the store
    mutations: dict[str, int] = field(default_factory=dict)
    by_entity_type: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)  # asset check -> passed

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "success": self.success,
            "mode": self.mode,
            "seconds": round(self.seconds, 3),
            "fetched": self.fetched,
            "mutations": self.mutations,
            "by_entity_type": self.by_entity_type,
            "errors": self.errors,
            "checks": self.checks,
        }


def run_sync(
    instance: dg.DagsterInstance,
    mode: Mode = "incremental",
    entity_types: list[str] | None = None,
    keys: dict[str, list[str]] | None = None,
    deleted: dict[str, dict[str, str]] | None = None,
    partition_key: str | None = None,
    partition_range: tuple[str, str] | None = None,
    log_level: str = "INFO",
    tags: dict[str, str] | None = None,
) -> SyncOutcome:
    """Runs the sync job in this process, recorded in `instance` like any run (it shows in the UI)."""
    from iec_pipeline.definitions import sync_job

    if entity_types is not None:
        unknown = sorted(set(entity_types) - set(NAMES))
        if unknown:
            raise ValueError(f"unknown entity type(s) {', '.join(unknown)}; expected: {', '.join(NAMES)}")
    if mode == "refresh":
        entity_types = [name for name in NAMES if (keys or {}).get(name) or (deleted or {}).get(name)]
    selected = entity_types or list(NAMES)
    run_config = sync_run_config(mode, keys, selected, deleted)
    run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    assets = {dg.AssetKey(e.asset) for e in ENTITY_TYPES if e.name in selected} | {dg.AssetKey(DIFF_ASSET)}
    if partition_range is not None:  # one run over a range of days (what a UI backfill launches)
        run_tags = {
            "dagster/asset_partition_range_start": partition_range[0],
            "dagster/asset_partition_range_end": partition_range[1],
        }
    else:
        run_tags = {"dagster/partition": partition_key or today_key()}
    started = time.monotonic()
    result = dg.execute_job(
        dg.reconstructable(sync_job),
        instance,
        run_config=run_config,
        tags={**run_tags, "iec/sync-mode": mode, **(tags or {})},
        asset_selection=sorted(assets, key=lambda k: k.to_user_string()),
        raise_on_error=False,
    )
    with result:
        outcome = SyncOutcome(result.run_id, result.success, mode, time.monotonic() - started)
        for event in result.all_events:
            if event.event_type_value == "ASSET_MATERIALIZATION":
                materialization = event.event_specific_data.materialization
                name = materialization.asset_key.to_user_string()
                metadata = {k: v.value for k, v in materialization.metadata.items()}
                if name == DIFF_ASSET:
                    outcome.mutations = {op: int(metadata.get(op, 0)) for op in ("created", "updated", "deleted")}
                    outcome.by_entity_type = metadata.get("by_entity_type") or {}
                else:
                    entity = next(e for e in ENTITY_TYPES if e.asset == name)
                    outcome.fetched[entity.name] = int(metadata.get("fetched", 0))
                    outcome.unchanged[entity.name] = int(metadata.get("unchanged", 0))
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                outcome.checks[evaluation.check_name] = evaluation.passed
            elif event.event_type_value == "STEP_FAILURE":
                error = event.event_specific_data.error
                outcome.errors.append(f"{event.step_key}: {failure_message(error) if error else event.message}")
    return outcome


def failure_message(error: Any) -> str:
    """What went wrong in a failed step (a `SerializableErrorInfo`), in the words of the error at
    fault: once a step's retries are spent, Dagster reports its own retry request, the cause inside."""
    if error.cls_name == "RetryRequestedFromPolicy" and error.cause is not None:
        return f"{failure_message(error.cause)} ({error.message.strip()})"
    message = error.message.strip()
    qualified = f"{error.cls_name}: "
    if error.cls_name and qualified in message:  # "package.module.AkeneoError: ..." -> "AkeneoError: ..."
        message = qualified + message.split(qualified, 1)[1]
    return message


def execute_request(instance: dg.DagsterInstance, request: dg.RunRequest) -> SyncOutcome:
    """Runs a sensor's RunRequest for the sync job in this process (what the daemon would launch)."""
    from iec_pipeline.definitions import sync_job

    tags = {**request.tags}
    if request.partition_key:
        tags["dagster/partition"] = request.partition_key
    started = time.monotonic()
    result = dg.execute_job(
        dg.reconstructable(sync_job),
        instance,
        run_config=request.run_config,
        tags=tags,
        asset_selection=list(request.asset_selection or []) or None,
        raise_on_error=False,
    )
    with result:
        outcome = SyncOutcome(result.run_id, result.success, tags.get("iec/sync-mode", ""), time.monotonic() - started)
    return outcome
