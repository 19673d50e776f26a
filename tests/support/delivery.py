"""Helpers of the delivery tests: declaring integrations, delivering, reading jobs."""

from __future__ import annotations

import subprocess
import sys

import yaml

from iec_pipeline.launch import deliver_due
from iec_pipeline.store.db import get_engine

WEBHOOK_SECRET = "canary-webhook-secret-93ad1f"
ALL_TYPES = ["attribute", "attribute_option", "family", "family_variant", "category", "product_model", "product"]


def declare(iec_env, *integrations: dict) -> None:
    path = iec_env.env["IEC_INTEGRATIONS"]
    with open(path, "w") as f:
        yaml.safe_dump({"integrations": list(integrations)}, f)


def webhook(name: str, url: str, **extra) -> dict:
    return {
        "name": name,
        "driver": "webhook",
        "entity_types": extra.pop("entity_types", ALL_TYPES),
        "priority_map": extra.pop("priority_map", {"*": 150, "price": 10, "stock_qty": 10, "description": 240}),
        "retry_attempts": extra.pop("retry_attempts", 3),
        "retry_delay_seconds": extra.pop("retry_delay_seconds", 0.2),
        "configuration": {
            "url": url,
            "secret": {"env": "HOOK_SECRET"},
            "timeout_seconds": 5,
            **extra.pop("configuration", {}),
        },
        **extra,
    }


def jobs(iec_env, **filters) -> list[dict]:
    from iec_pipeline.store.views import list_jobs

    return list_jobs(iec_env.store_url, **filters)


def deliver(iec_env, instance, **kwargs):
    outcome = deliver_due(
        instance, get_engine(iec_env.store_url), wait=True, timeout=kwargs.pop("timeout", 120), **kwargs
    )
    assert not outcome.failed_runs and not outcome.timed_out, outcome
    return outcome


def iec(iec_env, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The `iec` CLI in its own process, with the test's environment (and `env`) and a bare PATH."""
    environ = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET, **env}
    return subprocess.run([sys.executable, "-m", "iec_pipeline.cli", *args], env=environ, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
