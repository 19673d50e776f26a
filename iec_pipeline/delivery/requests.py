"""The one builder of delivery run requests: the delivery sensor and `iec deliver` both use it."""

from __future__ import annotations

import dagster as dg

from iec_pipeline.delivery.async_hooks import HOOKS_JOB
from iec_pipeline.delivery.job import DELIVER_JOB
from iec_pipeline.routing.queues import dagster_priority


def delivery_run_request(
    integration: str, queue: str | None, run_key: str | None = None, linger_seconds: float | None = None
) -> dg.RunRequest:
    """A run of the delivery job for one integration's queue (None: every queue), tagged for the run
    queue's limits (`iec/integration`, `iec/queue`) and its order (`dagster/priority`)."""
    config: dict = {"integration": integration, "queue": queue}
    if linger_seconds is not None:
        config["linger_seconds"] = linger_seconds
    return dg.RunRequest(
        run_key=run_key,
        job_name=DELIVER_JOB,
        run_config={"ops": {"deliver_mutations": {"config": config}}},
        tags={
            "iec/integration": integration,
            "iec/queue": queue or "all",
            "dagster/priority": str(dagster_priority(queue or "")),
        },
    )


def hooks_run_request(integration: str) -> dg.RunRequest:
    """A run of the async hooks job for one integration's parked jobs."""
    return dg.RunRequest(
        job_name=HOOKS_JOB,
        run_config={"ops": {"run_async_hooks": {"config": {"integration": integration}}}},
        tags={"iec/integration": integration, "iec/queue": "hooks"},
    )
