"""Dagster resources per deployment (as Dagster's example projects choose them), picked by `IEC_DEPLOYMENT`.

- `local` (the default, embedded or production alike): everything from the environment, secrets as `EnvVar`s;
- `test`: the same, with Akeneo retries paced for a test suite (short backoff; `Retry-After` still honoured).
The resources themselves live with their stage: `ingest.akeneo`, `store.resource`, `routing.resource`.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from iec_pipeline.common.settings import VARIABLES
from iec_pipeline.ingest.akeneo import AkeneoResource
from iec_pipeline.routing.resource import IntegrationsResource
from iec_pipeline.store.resource import StoreResource


def _akeneo(**pacing: Any) -> AkeneoResource:
    return AkeneoResource(
        url=dg.EnvVar("AKENEO_URL"),
        client_id=dg.EnvVar("AKENEO_CLIENT_ID"),
        client_secret=dg.EnvVar("AKENEO_CLIENT_SECRET"),
        username=dg.EnvVar("AKENEO_USERNAME"),
        password=dg.EnvVar("AKENEO_PASSWORD"),
        **pacing,
    )


def _shared() -> dict[str, Any]:
    return {
        "store": StoreResource(database_url=dg.EnvVar(VARIABLES["database_url"])),
        "integrations": IntegrationsResource(path=dg.EnvVar(VARIABLES["integrations_file"])),
    }


def resources_for(deployment: str) -> dict[str, Any]:
    """The resources of one deployment (`local` or `test`)."""
    if deployment == "test":
        return {"akeneo": _akeneo(backoff_seconds=0.05, backoff_max_seconds=1.0), **_shared()}
    return {"akeneo": _akeneo(), **_shared()}
