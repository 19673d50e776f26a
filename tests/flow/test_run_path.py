"""One run path: `iec sync` and `iec deliver` make runs of the `iec` code location, in the process
without a daemon, through the run queue with one; the UI lists them under their job either way."""

from __future__ import annotations

import os
import time

import dagster as dg
import pytest

from devtools import akeneo_mock, playground
from devtools.sample_catalog import AkeneoSeeder
from iec_pipeline.launch import DAEMON_FRESH_SECONDS

ENQUEUED = dg.DagsterEventType.RUN_ENQUEUED.value


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture
def live(tmp_path, monkeypatch):
    database = f"akeneo_iec_run_path_{os.getpid()}"
    with playground.start(tmp_path, akeneo_database=database) as p:
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        monkeypatch.setenv("DAGSTER_HOME", p.env["DAGSTER_HOME"])
        yield p
    akeneo_mock.drop_database(database)


def _runs(instance: dg.DagsterInstance, job: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=job)))


def _event_types(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    return {r.dagster_event.event_type_value for r in instance.all_logs(run_id) if r.dagster_event}


def test_cli_runs_belong_to_the_code_location_with_and_without_a_daemon(live):
    p = live
    ok(p.iec("sync", "--full"))
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    with dg.DagsterInstance.get() as instance:
        (sync,) = _runs(instance, "akeneo_sync")
        deliveries = _runs(instance, "mutation_delivery")
        assert deliveries
        for run in [sync, *deliveries]:  # what the UI's job page filters on, and re-execution needs
            assert run.remote_job_origin.location_name == "iec"
            assert run.tags["dagster/code_location"] == "iec"
            assert run.job_code_origin is not None
            assert ENQUEUED not in _event_types(instance, run.run_id)  # no daemon: ran in the CLI
        shop = instance.get_latest_materialization_event(dg.AssetKey("integration_shop"))
        assert shop.asset_materialization.metadata["backlog"].value == 0

    p.daemon = p.start_daemon()
    with dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            beat = instance.get_daemon_heartbeats().get("QUEUED_RUN_COORDINATOR")
            if beat and time.time() - beat.timestamp < DAEMON_FRESH_SECONDS:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the daemon did not start")
    out = ok(p.iec("sync"))
    assert "fetching" in out  # the run's log, followed while the daemon's run worker does the work
    with dg.DagsterInstance.get() as instance:
        newest = _runs(instance, "akeneo_sync")[0]
        assert newest.status == dg.DagsterRunStatus.SUCCESS
        assert ENQUEUED in _event_types(instance, newest.run_id)  # through the run queue
        assert newest.tags["dagster/code_location"] == "iec"
