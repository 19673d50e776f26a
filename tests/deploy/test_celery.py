"""Runs on Celery workers over Redis (deploy/dagster.celery.yaml, workers started with deploy/celery.yaml
as deploy/README.md says): two worker processes share the delivery of a catalog to the Magento sandbox;
then one is SIGKILLed mid-delivery and nothing is lost or applied twice: its jobs go back to pending
and the surviving worker delivers them.

The runs are handed to the run launcher as the daemon's run queue does (`instance.launch_run`); the
daemon itself is in `make cluster-demo`. PRODUCTS is the in-suite size; `make cluster-demo` runs 2,000.
"""

from __future__ import annotations

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
from sqlalchemy import text

from devtools import akeneo_mock, playground
from devtools.sample_catalog import AkeneoSeeder, generated_products
from iec_pipeline import launch
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.job import DELIVER_JOB
from iec_pipeline.delivery.requests import delivery_run_request
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

    def pids(self) -> set[int]:
        try:
            return {self.process.pid, *(c.pid for c in self.process.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the worker and its celery process, no goodbye
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
         str(DEPLOY / "celery.yaml"), "-q", "dagster", "-n", name, "--", "--pool=solo"],
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


def launch_delivery(instance: dg.DagsterInstance, batch_size: int) -> str:
    """A delivery run of the `iec` code location, handed to the Celery run launcher (what the
    daemon's run queue does with a queued run)."""
    request = delivery_run_request("shop", None, linger_seconds=1.0)
    op_config = request.run_config["ops"]["integration_shop"]["config"]
    op_config.update(batch_size=batch_size, lease_seconds=10.0, poll_seconds=0.2)
    job = launch._job(DELIVER_JOB)
    job_def = job.get_definition()
    run = instance.create_run_for_job(
        job_def, run_config=request.run_config, tags={**job_def.run_tags, **request.tags},
        asset_selection=frozenset(request.asset_selection), remote_job_origin=launch._remote_origin(DELIVER_JOB),
        job_code_origin=job.get_python_origin(),
    )  # fmt: skip
    instance.launch_run(run.run_id, workspace=None)  # type: ignore[arg-type]  # the Celery launcher needs none
    return run.run_id


def wait_runs(instance: dg.DagsterInstance, run_ids: list[str], timeout: float = 120) -> list[dg.DagsterRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [instance.get_run_by_id(r) for r in run_ids]
        if all(r.is_finished for r in runs):
            return runs
        time.sleep(0.3)
    raise AssertionError(f"runs not finished within {timeout:.0f}s: {[(r.run_id, r.status) for r in runs]}")


def step_pids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    return {
        r.dagster_event.pid
        for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START)
        if r.dagster_event and r.dagster_event.pid
    }


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


def test_delivery_runs_on_two_celery_workers_and_survives_one_killed(cluster):
    p, instance, workers = cluster
    assert type(instance.run_launcher).__name__ == "CeleryRunLauncher"
    started = time.monotonic()
    ok(p.iec("sync", "--full"))
    synced = time.monotonic() - started
    wait_for_workers(instance, [w.name for w in workers])
    engine = get_engine(p.env["IEC_DATABASE_URL"])

    # Both workers share the delivery: four runs claiming batches of 50 concurrently, two at a time.
    started = time.monotonic()
    runs = [launch_delivery(instance, batch_size=50) for _ in range(4)]
    finished = wait_runs(instance, runs, timeout=300)
    delivered_in = time.monotonic() - started
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in finished)
    by_worker = {w.name: sum(len(step_pids(instance, r) & w.pids()) for r in runs) for w in workers}
    assert all(by_worker.values()), by_worker  # both workers executed steps
    with engine.connect() as conn:
        assert ledger.open_jobs(conn, "shop") == 0
        delivered_by_run = dict(conn.execute(text(
            "SELECT run_id, count(*) FROM mutation_jobs WHERE integration = 'shop' AND status = 'success'"
            " GROUP BY run_id"
        )).all())  # fmt: skip
    saves, seq = product_saves(p)
    assert len({key[0] for key in saves}) == PRODUCTS
    assert max(saves.values()) == 1, saves.most_common(3)  # nothing sent twice
    print(f"\nsync {synced:.1f}s; delivery of {PRODUCTS} products on 2 workers {delivered_in:.1f}s; "
          f"steps per worker {by_worker}; jobs by run {sorted(delivered_by_run.values())}")  # fmt: skip

    # A new price for every product; worker1 is SIGKILLed while it delivers.
    with AkeneoSeeder(p.mock.url, stamp_updated=True) as seeder:
        seeder.patch_products(repriced(PRODUCTS))
    ok(p.iec("sync"))
    runs = [launch_delivery(instance, batch_size=20) for _ in range(2)]
    victim = workers[0]
    held_sql = text("SELECT count(*) FROM mutation_jobs WHERE status = 'running' AND run_id = :r")
    deadline = time.monotonic() + 120
    killed_run, held = None, 0
    while killed_run is None:  # worker1 mid-delivery: it holds claimed jobs, some already sent
        assert time.monotonic() < deadline, "worker1 never held jobs mid-delivery"
        mine = [r for r in runs if step_pids(instance, r) & victim.pids()]
        if mine and sum(product_saves(p, seq)[0].values()) >= PRODUCTS // 5:
            with engine.connect() as conn:
                held = conn.execute(held_sql, {"r": mine[0]}).scalar()
            if held:
                killed_run = mine[0]
                victim.kill()
        time.sleep(0.05)
    survivors = [r for r in runs if r != killed_run]
    wait_runs(instance, survivors, timeout=300)
    with engine.begin() as conn:
        still_held = conn.execute(held_sql, {"r": killed_run}).scalar()
        # The dead worker's jobs back to pending: its process is gone (same host: seen at once; on
        # another host, `requeue_orphans` cannot tell and its lease of 10 s runs out instead).
        requeued = ledger.requeue_orphans(conn, lambda run_id: None)
    assert still_held == requeued > 0
    assert instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.STARTED  # Dagster cannot tell
    retry = launch_delivery(instance, batch_size=20)
    (last,) = wait_runs(instance, [retry], timeout=300)
    assert last.status == dg.DagsterRunStatus.SUCCESS
    assert step_pids(instance, retry) <= workers[1].pids()  # delivered by the surviving worker
    with engine.connect() as conn:
        assert ledger.open_jobs(conn, "shop") == 0
        twice = conn.execute(text(
            "SELECT count(*) FROM (SELECT mutation_id FROM mutation_jobs WHERE integration = 'shop'"
            " AND status = 'success' GROUP BY mutation_id HAVING count(*) > 1) t"
        )).scalar()  # fmt: skip
    assert twice == 0
    after, _ = product_saves(p, seq)
    assert {key[0] for key in after} == {key[0] for key in saves}  # nothing lost
    resent = {key: n for key, n in after.items() if n > 1}
    # Sent twice only what the killed run had sent and not yet recorded: at most its batch in flight.
    assert len({key[0] for key in resent}) <= held, resent
    for sku in [f"gen-{n:07d}" for n in range(0, PRODUCTS, max(1, PRODUCTS // 10))]:
        assert p.magento(f"products/{sku}")["price"] == 7.77
    print(
        f"killed {victim.name} in run {killed_run[:8]} holding {held} jobs; {requeued} requeued; "
        f"SKUs sent twice {len({k[0] for k in resent})}; requests after the kill {sum(after.values())}"
    )
