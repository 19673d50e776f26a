"""`iec deliver --dry-run`: each driver's plan of the due jobs, and nothing changes."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import func, select

from iec_pipeline.launch import run_sync
from iec_pipeline.store.db import get_engine
from iec_pipeline.store.models import EntityMapping
from tests.support.delivery import WEBHOOK_SECRET, declare, deliver, jobs, webhook

KEPT = ("id", "status", "attempts", "last_error", "priority", "queue")


def _state(iec_env) -> tuple[list[tuple], int]:
    with get_engine(iec_env.store_url).connect() as conn:
        mappings = conn.execute(select(func.count()).select_from(EntityMapping)).scalar_one()
    return [tuple(j[k] for k in KEPT) for j in jobs(iec_env)], mappings


def test_a_dry_run_plans_every_due_job_and_sends_and_changes_nothing(akeneo, iec_env, instance, webhook_target):
    declare(
        iec_env,
        webhook("shop", webhook_target.url, entity_types=["category", "product"]),
        {"name": "mem", "driver": "memory", "entity_types": ["category"]},
    )
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    before = _state(iec_env)
    env = {**iec_env.env, "PATH": "/usr/bin:/bin", "HOOK_SECRET": WEBHOOK_SECRET}
    done = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "deliver", "--dry-run", "--json"], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)["integrations"]
    shop = planned["shop"]
    assert shop["jobs"] == 17 and shop["supported"] and len(shop["calls"]) == 17
    assert {c["method"] for c in shop["calls"]} == {"POST"} and {c["target"] for c in shop["calls"]} == {
        webhook_target.url
    }
    assert any(c["why"] == "created product jeans-slim" for c in shop["calls"])
    assert all(len(c["body_sha256"]) == 64 for c in shop["calls"])
    assert planned["mem"] == {"jobs": 7, "supported": False, "reason": planned["mem"]["reason"], "calls": []}
    assert "does not plan deliveries" in planned["mem"]["reason"]
    assert webhook_target.state.requests == []  # no request left
    assert _state(iec_env) == before  # no job, no mapping changed
    assert WEBHOOK_SECRET not in done.stdout

    text = subprocess.run([sys.executable, "-m", "iec_pipeline.cli", "deliver", "--dry-run", "--integration", "shop"],
                          env=env, capture_output=True, text=True, timeout=300).stdout  # fmt: skip
    assert "shop: 17 due job(s), 17 call(s)" in text and "nothing was sent" in text
    deliver(iec_env, instance)  # the real delivery still sends everything once
    assert sum(webhook_target.state.requests_per_key.values()) == 17
