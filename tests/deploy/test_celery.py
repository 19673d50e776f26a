"""Runs on Celery workers over Redis (deploy/dagster.celery.yaml, workers started with deploy/celery.yaml
as deploy/README.md says): two worker processes share the delivery of a catalog to the Magento sandbox
(the delivery sensor's `due_requests` asks for a run per batch's worth of due jobs, up to the run queue's
`iec/delivery` limit, 2); then one is SIGKILLed mid-delivery: Dagster's run monitoring, with the launcher's
health check, marks its run failed; its jobs go back to pending and the surviving worker delivers them;
nothing is lost, and at the target nothing the ledger recorded as delivered is sent again.

The runs `due_requests` asks for are handed to the run launcher as the daemon's run queue does
(`instance.launch_run`), and the run monitoring step is the daemon's own function; the daemon itself
is in `make cluster-demo`. PRODUCTS is the in-suite size; `make cluster-demo` runs 2,000.
"""

from __future__ import annotations

import copy
import logging
import os
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psutil
import pytest
from dagster._core.execution.api import create_execution_plan
from dagster._core.snap import snapshot_from_execution_plan
from dagster._daemon.monitoring.run_monitoring import monitor_started_run
from sqlalchemy import text

from devtools import akeneo_mock, playground
from devtools.cluster import WORKER_POOL
from devtools.sample_catalog import AkeneoSeeder, generated_products
from iec_pipeline import launch as launch_module
from iec_pipeline.common.celery_launcher import task_worker
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.requests import due_requests
from iec_pipeline.store.db import get_engine
from tests.deploy.conftest import DEPLOY, deploy_home, fresh_store, pg_store_url

pytestmark = pytest.mark.slow
PRODUCTS = int(os.environ.get("IEC_CLUSTER_PRODUCTS", "400"))


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@dataclass
class Worker:
    name: str
    process: psutil.Popen

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the worker and its run process, no goodbye
        self.process.wait(timeout=30)


def start_worker(p: playground.Playground, name: str) -> Worker:
    """`dagster-celery worker start` as an operator runs it (deploy/README.md), in its own session."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ, **p.env, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }  # fmt: skip
    log = open(p.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
    process = psutil.Popen(
        [str(bin_dir / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y",
         str(DEPLOY / "celery.yaml"), "-q", "dagster", "-n", name, "--", *WORKER_POOL],
        env=env, cwd=p.workdir, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    return Worker(name, process)


def wait_for_workers(instance: dg.DagsterInstance, names: list[str], timeout: float = 60) -> None:
    app = instance.run_launcher.celery
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = {next(iter(reply)).split("@")[0] for reply in app.control.ping(timeout=1.0)}
        if set(names) <= answered:
            return
    raise AssertionError(f"workers {names} did not answer within {timeout:.0f}s")


def launch(instance: dg.DagsterInstance, request: dg.RunRequest, **config) -> str:
    """A run of the `iec` code location for `request`, handed to the Celery run launcher (what the
    daemon's run queue does with a queued run); `config` overrides the delivery op's config."""
    run_config = copy.deepcopy(request.run_config)
    for op in run_config.get("ops", {}).values():
        op["config"].update(config)
    job = launch_module._job(request.job_name)
    assets = frozenset(request.asset_selection or [])
    checks = frozenset(request.asset_check_keys or [])
    job_def = job.get_definition().get_subset(asset_selection=assets, asset_check_selection=checks)
    plan = create_execution_plan(job_def, run_config=run_config, instance_ref=instance.get_ref())
    tags = {**job_def.run_tags, **request.tags}
    run = instance.create_run(  # as the sensor daemon creates a run from a RunRequest (checks selected too)
        job_name=job_def.name, run_id=None, run_config=run_config, op_selection=None, asset_selection=assets,
        asset_check_selection=checks, resolved_op_selection=None, step_keys_to_execute=plan.step_keys_to_execute,
        status=None, tags=tags, root_run_id=None, parent_run_id=None, job_snapshot=job_def.get_job_snapshot(),
        execution_plan_snapshot=snapshot_from_execution_plan(plan, job_def.get_job_snapshot_id()),
        parent_job_snapshot=job_def.get_parent_job_snapshot(), remote_job_origin=launch_module._remote_origin(
            request.job_name), job_code_origin=job.get_python_origin(), asset_graph=job_def.asset_layer.asset_graph,
    )  # fmt: skip
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]  # the Celery launcher needs none
    return run.run_id


def sensor_loop(instance: dg.DagsterInstance, engine, timeout: float = 300, **config) -> tuple[list[str], int]:
    """What the delivery sensor does, every second until nothing is open and no run is going: launches
    what `due_requests` asks for. Returns the runs launched and the jobs it put back to pending."""
    launched: list[str] = []
    requeued = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        due = due_requests(instance, engine, "shop", linger_seconds=1.0)
        requeued += due.requeued
        launched += [launch(instance, request, **config) for request in due.requests]
        with engine.connect() as conn:
            open_ = ledger.open_jobs(conn, "shop")
        if not open_ and all(instance.get_run_by_id(r).is_finished for r in launched):
            return launched, requeued
        time.sleep(1.0)
    raise AssertionError(f"delivery not done within {timeout:.0f}s: {open_} jobs open")


def worker_of(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The Celery worker that took the run (`worker1`), from the result backend."""
    worker, _ = task_worker(instance.run_launcher, instance.get_run_by_id(run_id))
    return worker.split("@")[0] if worker else None


def jobs_by_worker(instance: dg.DagsterInstance, engine, runs: list[str], mutation_ids=None) -> Counter[str]:
    """Jobs recorded delivered per Celery worker, from the ledger (each success names its run)."""
    query = "SELECT run_id, mutation_id FROM mutation_jobs WHERE integration = 'shop' AND status = 'success'"
    with engine.connect() as conn:
        rows = conn.execute(text(query)).all()
    workers = {run: worker_of(instance, run) for run in runs}
    return Counter(
        workers.get(run, "(other run)") for run, mutation in rows if mutation_ids is None or mutation in mutation_ids
    )


def product_saves(p: playground.Playground, since: int = 0) -> tuple[Counter[tuple], int]:
    """Writes per (SKU, method, path, store view) of generated products at the sandbox (its request
    log), and the log's last sequence number."""
    log = p.sandbox(f"requests?since={since}")
    return Counter(
        (e["sku"], e["method"], e["path"].split("?")[0], e["store_code"])
        for e in log["requests"]
        if e["method"] in ("PUT", "POST", "DELETE") and (e["sku"] or "").startswith("gen-")
    ), log["last_seq"]


def repriced(count: int) -> list[dict]:
    products = []
    for product in generated_products(count):
        product["values"]["price"] = [
            {
                "locale": None,
                "scope": None,
                "data": [{"amount": "7.77", "currency": "EUR"}, {"amount": "8.88", "currency": "USD"}],
            }
        ]
        products.append(product)
    return products


@pytest.fixture
def cluster(tmp_path, dagster_database, redis_server):
    dagster_database.clear()
    redis_server.flush()
    store = fresh_store("iec_store_celery")
    akeneo = f"akeneo_iec_celery_{os.getpid()}"
    home = deploy_home(tmp_path / "dagster_home", "dagster.celery.yaml")
    with playground.start(
        tmp_path, akeneo_database=akeneo, dagster_home=home, write_delay_ms=2,
        store_url=pg_store_url(store),
    ) as p:  # fmt: skip
        p.env |= {
            "DAGSTER_PG_URL": dagster_database.url,
            "DAGSTER_CELERY_BROKER": f"{redis_server.url}/0",
            "DAGSTER_CELERY_BACKEND": f"{redis_server.url}/1",
        }
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed_structure()
            seeder.patch_products(generated_products(PRODUCTS), created=True)
        workers = [start_worker(p, "worker1"), start_worker(p, "worker2")]
        os.environ.update(p.env)
        try:
            with dg.DagsterInstance.get() as instance:
                yield p, instance, workers
        finally:
            for worker in workers:
                if worker.process.poll() is None:
                    worker.kill()
    akeneo_mock.drop_database(akeneo)
    akeneo_mock.drop_database(store)


def resent_unexpectedly(requests: Counter[tuple], unknown: set[int]) -> dict[tuple, int]:
    """Writes sent more than once, per (idempotency key, method, path, store view), of mutations whose
    outcome was known: a job the ledger had recorded (or never claimed) when the worker died. Only the
    dead worker's jobs in flight (`unknown`) may legitimately be sent again, with the same key."""
    return {key: n for key, n in requests.items() if n > 1 and key[0] not in unknown}


def test_resent_unexpectedly_counts_repeats():
    """The target-side check can fail: a repeated write of a recorded mutation is reported, one of a
    mutation in flight at the kill is not."""
    sent = Counter({(1, "PUT", "/p/a", "all"): 2, (2, "PUT", "/p/b", "all"): 2, (3, "PUT", "/p/c", "all"): 1})
    assert resent_unexpectedly(sent, unknown={2}) == {(1, "PUT", "/p/a", "all"): 2}


def phase_mutations(engine, after: int) -> dict[str, int]:
    """SKU -> its product mutation queued for `shop` after mutation id `after` (one per SKU: checked)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT code, mutation_id FROM mutation_jobs WHERE integration = 'shop' AND entity_type = 'product'"
            " AND mutation_id > :after"
        ), {"after": after}).all()  # fmt: skip
    by_sku = dict(rows)
    assert len(by_sku) == len(rows), "a SKU with two mutations in this phase: writes cannot be keyed by SKU"
    return by_sku


def keyed_saves(p: playground.Playground, since: int, mutation_of: dict[str, int]) -> Counter[tuple]:
    """The sandbox's product writes since `since` (its request log counts every request), per
    (mutation, method, path, store view). The Magento API carries no idempotency key: each write is keyed
    by the one mutation of its SKU this phase delivers (`phase_mutations`)."""
    saves, _ = product_saves(p, since)
    keyed: Counter[tuple] = Counter()
    for (sku, method, path, store), n in saves.items():
        keyed[(mutation_of[sku], method, path, store)] += n
    return keyed


def max_mutation(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT coalesce(max(mutation_id), 0) FROM mutation_jobs")).scalar_one()


def test_delivery_runs_on_two_celery_workers_and_survives_one_killed(cluster):
    p, instance, workers = cluster
    assert type(instance.run_launcher).__module__ == "iec_pipeline.common.celery_launcher"
    started = time.monotonic()
    ok(p.iec("sync", "--full"))
    synced = time.monotonic() - started
    wait_for_workers(instance, [w.name for w in workers])
    engine = get_engine(p.env["IEC_DATABASE_URL"])

    # Both workers share the delivery: the sensor's requests (a run per 200 due jobs, two at a time),
    # claiming batches of 50 so the run started second still finds work on a loaded machine.
    started = time.monotonic()
    runs, _ = sensor_loop(instance, engine, batch_size=50)
    delivered_in = time.monotonic() - started
    assert all(instance.get_run_by_id(r).status == dg.DagsterRunStatus.SUCCESS for r in runs)
    by_worker = jobs_by_worker(instance, engine, runs)
    assert set(by_worker) == {"worker1", "worker2"}, by_worker  # each delivered some
    checked = {
        e.dagster_event.event_specific_data.check_name  # type: ignore[union-attr]
        for r in runs
        for e in instance.all_logs(r, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    assert checked == {"no_dead_jobs", "backlog_fresh"}  # not no_drift: no run reads the whole target back
    saves, seq = product_saves(p)
    assert len({key[0] for key in saves}) == PRODUCTS
    assert max(saves.values()) == 1, saves.most_common(3)  # each write counted: nothing sent twice
    print(f"\nsync {synced:.1f}s; delivery of {PRODUCTS} products on 2 workers {delivered_in:.1f}s in "
          f"{len(runs)} runs; jobs delivered per worker {dict(by_worker)}")  # fmt: skip

    # A new price for every product; worker1 is SIGKILLed while it delivers.
    before = max_mutation(engine)
    with AkeneoSeeder(p.mock.url, stamp_updated=True) as seeder:
        seeder.patch_products(repriced(PRODUCTS))
    ok(p.iec("sync"))
    mutation_of = phase_mutations(engine, before)
    assert len(mutation_of) == PRODUCTS
    victim, survivor = workers
    runs = [
        launch(instance, r, batch_size=20) for r in due_requests(instance, engine, "shop", linger_seconds=1.0).requests
    ]
    assert len(runs) == 2, runs
    held_sql = text("SELECT mutation_id FROM mutation_jobs WHERE status = 'running' AND run_id = :r")
    deadline = time.monotonic() + 120
    killed_run = None
    while killed_run is None:  # worker1 mid-delivery: it holds claimed jobs, some already sent
        assert time.monotonic() < deadline, "worker1 never held jobs mid-delivery"
        mine = [r for r in runs if worker_of(instance, r) == victim.name]
        if mine and sum(product_saves(p, seq)[0].values()) >= PRODUCTS // 5:
            with engine.connect() as conn:
                if conn.execute(held_sql, {"r": mine[0]}).first():
                    killed_run = mine[0]
                    victim.kill()
        time.sleep(0.05)
    with engine.connect() as conn:  # the dead worker's last word: in flight (outcome unknown) and recorded
        unknown = set(conn.execute(held_sql, {"r": killed_run}).scalars())
        recorded = set(conn.execute(text(
            "SELECT mutation_id FROM mutation_jobs WHERE status = 'success' AND mutation_id > :b"
        ), {"b": before}).scalars())  # fmt: skip
    assert unknown
    # The survivor's run, busy, is healthy; the dead worker's is found gone by Dagster's run monitoring
    # (what the daemon runs every poll_interval_seconds), with no human.
    (alive,) = [r for r in runs if r != killed_run]
    assert instance.run_launcher.check_run_worker_health(instance.get_run_by_id(alive)).status.value == "RUNNING"
    killed_at = time.monotonic()
    checks = 0
    while instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.STARTED:
        assert checks < 5, "run monitoring did not notice the dead worker"
        monitor_started_run(instance, None, instance.get_run_record_by_id(killed_run), logging.getLogger("test"))  # type: ignore[arg-type]
        checks += 1
    detected_in = time.monotonic() - killed_at
    assert instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.FAILURE
    failure = instance.all_logs(killed_run, of_type=dg.DagsterEventType.RUN_FAILURE)[-1].message
    assert "answered none of" in failure, failure
    more, requeued = sensor_loop(instance, engine, batch_size=20)
    assert all(worker_of(instance, r) == survivor.name for r in more if step_started(instance, r))
    with engine.connect() as conn:
        assert ledger.open_jobs(conn, "shop") == 0
        delivered = dict(conn.execute(text(
            "SELECT mutation_id, count(*) FROM mutation_jobs WHERE integration = 'shop' AND status = 'success'"
            " AND mutation_id > :b GROUP BY mutation_id"
        ), {"b": before}).all())  # fmt: skip
    assert set(delivered) == set(mutation_of.values()) and set(delivered.values()) == {1}  # each once
    by_worker = jobs_by_worker(instance, engine, [*runs, *more], unknown)
    assert set(by_worker) == {survivor.name}, by_worker  # the dead worker's jobs: delivered by the other
    after = keyed_saves(p, seq, mutation_of)
    assert {key[0] for key in after} == set(mutation_of.values())  # nothing lost: every mutation written
    assert not resent_unexpectedly(after, unknown)  # nothing recorded (or not yet claimed) sent twice
    assert not {key for key, n in after.items() if n > 1 and key[0] in recorded}
    assert requeued == len(unknown), (requeued, len(unknown))  # the dead run's jobs, back to pending
    resent = {key[0] for key, n in after.items() if n > 1}
    for sku in [f"gen-{n:07d}" for n in range(0, PRODUCTS, max(1, PRODUCTS // 10))]:
        assert p.magento(f"products/{sku}")["price"] == 7.77
    print(
        f"killed {victim.name} in run {killed_run[:8]} holding {len(unknown)} jobs ({len(recorded)} recorded "
        f"by then); run failed by monitoring in {detected_in:.1f}s ({checks} checks); {requeued} requeued, "
        f"delivered by {dict(by_worker)}; mutations sent again (in flight at the kill) {len(resent)}; "
        f"writes after the kill {sum(after.values())}"
    )


def step_started(instance: dg.DagsterInstance, run_id: str) -> bool:
    return bool(instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START))
