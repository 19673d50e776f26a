"""A connection's own credentials: read from the environment at delivery, used by the driver (the
webhook driver signs that entity's deliveries with the connection's secret), and found nowhere else."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from devtools.sample_catalog import product_uuid, v
from iec_pipeline.launch import deliver_due, run_sync
from iec_pipeline.store.db import get_engine
from tests.support.delivery import declare, deliver, iec, jobs, webhook

CONNECTION_SECRET = "canary-connection-secret-4e1d9b"


def cli(iec_env, *args: str) -> subprocess.CompletedProcess:
    return iec(iec_env, *args, B2B_ACME_SECRET=CONNECTION_SECRET)


def _files_containing(root: Path, needle: bytes) -> list[str]:
    return [str(path) for path in root.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_a_connection_secret_signs_its_entity_and_appears_nowhere(
    akeneo, iec_env, instance, webhook_target, monkeypatch, tmp_path, capfd
):
    monkeypatch.setenv("B2B_ACME_SECRET", CONNECTION_SECRET)  # the delivery runs in this process
    webhook_target.state.connection_secrets["acme"] = CONNECTION_SECRET
    declare(iec_env, webhook("b2b", webhook_target.url, entity_types=["product"], scope="connected"))
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success

    refused = cli(iec_env, "connections", "add", "b2b", "product", "gift-card", "--credentials-env", "B2B_NOBODY")
    assert refused.returncode == 2 and "no environment variable B2B_NOBODY_<NAME> is set" in refused.stderr
    outputs = [
        cli(iec_env, "connections", "add", "b2b", "product", "jeans-slim", "--credentials-env", "B2B_ACME"),
        cli(iec_env, "connections", "add", "b2b", "product", "rain-jacket"),
        cli(iec_env, "connections", "list", "--json"),
    ]
    assert all(o.returncode == 0 for o in outputs), [o.stderr for o in outputs]
    listed = {row["code"]: row["credentials_env"] for row in json.loads(outputs[-1].stdout)}
    assert listed == {"jeans-slim": "B2B_ACME", "rain-jacket": None}  # the prefix, never the value
    deliver(iec_env, instance)
    assert {j["code"] for j in jobs(iec_env, status="success")} == {"jeans-slim", "rain-jacket"}
    signers = {r.body["code"]: r.signer for r in webhook_target.state.requests}
    assert signers == {"jeans-slim": "acme", "rain-jacket": "integration"}
    assert webhook_target.state.bad_signatures == 0

    needle = CONNECTION_SECRET.encode()
    assert not any(CONNECTION_SECRET in o.stdout + o.stderr for o in outputs)
    captured = capfd.readouterr()
    assert CONNECTION_SECRET not in captured.out + captured.err
    assert _files_containing(iec_env.dagster_home, needle) == []  # runs, event logs, compute logs
    assert _files_containing(tmp_path, needle) == []  # the store, the integrations file, everything else

    # Without its variables, the connection's entity is not signed with another secret: it fails, retryable.
    monkeypatch.delenv("B2B_ACME_SECRET")
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"name": [v("Skinny", "en_US")]}})
    assert run_sync(instance, mode="full").success
    deliver_due(instance, get_engine(iec_env.store_url))
    (waiting,) = jobs(iec_env, status="pending")
    assert waiting["code"] == "jeans-slim" and "credentials B2B_ACME_*" in waiting["last_error"]
