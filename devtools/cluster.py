"""`make cluster-demo`: deploy/'s topology on one machine. PostgreSQL (Dagster's storage and the store),
Redis (Celery's broker), `iec daemon`, the webserver and two Celery workers (deploy/dagster.celery.yaml,
deploy/celery.yaml); a catalog of generated products synced (`iec sync --full`, a run on a worker) and
delivered to the Magento sandbox by the daemon's delivery sensor, its runs spread over both workers; how
many jobs each worker delivered printed. `--kill-worker`: worker1 is SIGKILLed mid-delivery, and the
daemon's run monitoring fails its run, the sensor puts its jobs back to pending and worker2 delivers them.
Then everything it started is stopped."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
from sqlalchemy import text

from devtools import akeneo_mock, playground
from devtools.ports import free_port
from devtools.sample_catalog import AkeneoSeeder, generated_products
from iec_pipeline.common.celery_launcher import task_worker
from iec_pipeline.common.runs import runs_in_progress
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.job import DELIVER_JOB
from iec_pipeline.launch import daemon_running
from iec_pipeline.store.db import get_engine

DEPLOY = PROJECT_ROOT / "deploy"
BIN = Path(sys.executable).parent
# One run at a time per worker, in a child process (the worker answers the health check's pings while it
# runs one); a run taken from Redis only when the worker is free (deploy/dagster.celery.yaml).
WORKER_POOL = ["--pool=prefork", "--concurrency=1", "--disable-prefetch"]


def start_redis(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen, int]:
    """redis-server (Debian's package, scripts/ensure-redis) on a free loopback port, no persistence."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run scripts/ensure-redis (make test does)")
    port = port or free_port()
    log = open(workdir / "redis.log", "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=log, stderr=log,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while True:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return process, port
        except redis.RedisError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"redis-server did not start (see {workdir / 'redis.log'})")
        time.sleep(0.1)


def worker_command(name: str) -> list[str]:
    """How deploy/README.md starts a worker."""
    return [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y",
            str(DEPLOY / "celery.yaml"), "-q", "dagster", "-n", name, "--", *WORKER_POOL]  # fmt: skip


def delivered_by_run(engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(dict(conn.execute(text(
            "SELECT run_id, count(*) FROM mutation_jobs WHERE status = 'success' GROUP BY run_id"
        )).all()))  # fmt: skip


def worker_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    worker, _ = task_worker(instance.run_launcher, run)
    return worker.split("@")[0] if worker else "(not on Celery)"


def watch_delivery(instance: dg.DagsterInstance, engine, victim: subprocess.Popen | None, timeout: float) -> None:
    """Until nothing is open and no delivery run goes: progress every 10 s; with `victim`, worker1's
    process group SIGKILLed once it holds jobs and a quarter of the catalog is delivered."""
    started = last = time.monotonic()
    killed_at = killed_run = None
    while True:
        with engine.connect() as conn:
            open_ = ledger.open_jobs(conn)
            total = conn.execute(text("SELECT count(*) FROM mutation_jobs")).scalar_one()
        going = runs_in_progress(instance, DELIVER_JOB)
        if not open_ and not going:
            print(f"delivered in {time.monotonic() - started:.0f}s", flush=True)
            return
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"delivery not done within {timeout:.0f}s: {open_} jobs open")
        if victim is not None and killed_at is None and open_ < total * 3 // 4:
            held = [r for r in going if r.status == dg.DagsterRunStatus.STARTED and worker_of(instance, r) == "worker1"]
            with engine.connect() as conn:
                holding = held and conn.execute(text(
                    "SELECT count(*) FROM mutation_jobs WHERE status = 'running' AND run_id = :r"
                ), {"r": held[0].run_id}).scalar_one()  # fmt: skip
            if holding:
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                killed_at, killed_run = time.monotonic(), held[0].run_id
                print(f"SIGKILLed worker1 (run {killed_run[:8]}, holding {holding} jobs, {open_} open)", flush=True)
        if killed_run and (run := instance.get_run_by_id(killed_run)) and run.is_finished and killed_at:
            print(f"run {killed_run[:8]} {run.status.value} by run monitoring {time.monotonic() - killed_at:.0f}s "
                  "after the kill; its jobs go back to pending", flush=True)  # fmt: skip
            killed_at = 0.0
        if time.monotonic() - last >= 10:
            last = time.monotonic()
            print(f"  {open_} jobs open, {len(going)} delivery runs going", flush=True)
        time.sleep(1)


def print_by_worker(instance: dg.DagsterInstance, engine) -> None:
    jobs = delivered_by_run(engine)
    runs: Counter[str] = Counter()
    delivered: Counter[str] = Counter()
    for run in instance.get_runs():
        worker = worker_of(instance, run)
        runs[f"{worker} {run.job_name} {run.status.value}"] += 1
        delivered[worker] += jobs.get(run.run_id, 0)
    print("runs per worker:", dict(sorted(runs.items())))
    print("jobs delivered per worker:", dict(sorted(delivered.items())), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / ".iec" / "cluster")
    parser.add_argument("--kill-worker", action="store_true", help="SIGKILL worker1 mid-delivery")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the delivery may take")
    args = parser.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    names = {"dagster": "iec_cluster_dagster", "store": "iec_cluster_store", "akeneo": "akeneo_iec_cluster"}
    for name in (names["dagster"], names["store"]):
        akeneo_mock.drop_database(name)
        akeneo_mock.ensure_database(name)
    home = work / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.celery.yaml", home / "dagster.yaml")
    redis_process, redis_port = start_redis(work)
    groups: list[subprocess.Popen] = []
    started = time.monotonic()
    with playground.start(
        work, akeneo_database=names["akeneo"], dagster_home=home,
        store_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{names['store']}",
    ) as p:  # fmt: skip
        try:
            p.env |= {
                "DAGSTER_PG_URL": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{names['dagster']}",
                "DAGSTER_CELERY_BROKER": f"redis://127.0.0.1:{redis_port}/0",
                "DAGSTER_CELERY_BACKEND": f"redis://127.0.0.1:{redis_port}/1",
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            }
            env = {**os.environ, **p.env, "PYTHONPATH": str(PROJECT_ROOT)}
            print(f"seeding {args.products} products in the Akeneo mock ...", flush=True)
            with AkeneoSeeder(p.mock.url) as seeder:
                seeder.seed_structure()
                seeder.patch_products(generated_products(args.products), created=True)
            ui_port = free_port()
            for name, command in [
                ("worker1", worker_command("worker1")), ("worker2", worker_command("worker2")),
                ("webserver", [str(BIN / "dagster-webserver"), "-w", str(PROJECT_ROOT / "workspace.yaml"),
                               "-h", "127.0.0.1", "-p", str(ui_port)]),
                ("daemon", [sys.executable, "-m", "iec_pipeline.cli", "daemon"]),
            ]:  # fmt: skip
                log = open(work / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
                groups.append(subprocess.Popen(command, env=env, cwd=work, stdout=log, stderr=log,
                                               start_new_session=True))  # fmt: skip
            print(f"UI: http://127.0.0.1:{ui_port}  logs: {work}/*.log", flush=True)
            os.environ.update(p.env)
            with dg.DagsterInstance.get() as instance:  # runs go through the queue once the daemon beats
                deadline = time.monotonic() + 120
                while not daemon_running(instance):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the daemon did not start (see {work / 'daemon.log'})")
                    time.sleep(0.5)
                synced = time.monotonic()
                result = p.iec("sync", "--full", timeout=1200)
                print(f"iec sync --full: exit {result.returncode} ({time.monotonic() - synced:.0f}s)", flush=True)
                if result.returncode:
                    print(result.stdout[-2000:], result.stderr[-2000:])
                    return
                engine = get_engine(p.env["IEC_DATABASE_URL"])
                victim = groups[0] if args.kill_worker else None
                print("delivery: the daemon's delivery sensor launches the runs ...", flush=True)
                watch_delivery(instance, engine, victim, timeout=args.timeout)
                print_by_worker(instance, engine)
            print(f"Magento sandbox: {p.sandbox('stats').get('by_status')}  ({time.monotonic() - started:.0f}s)")
            print(f"Dagster's runs are in PostgreSQL: psql -h 127.0.0.1 -U postgres {names['dagster']} "
                  "-c 'select pipeline_name, status from runs'")  # fmt: skip
        finally:
            for process in groups:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in groups:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            redis_process.terminate()
            redis_process.wait(timeout=30)
            print("stopped: workers, webserver, daemon, Redis, the mock and the sandbox")


if __name__ == "__main__":
    main()
