"""`make cluster-demo`: deploy/'s topology on one machine. PostgreSQL (Dagster's storage and the store),
Redis (Celery's broker), `iec daemon`, the webserver and two Celery workers (deploy/dagster.celery.yaml,
deploy/celery.yaml); a catalog of generated products synced and delivered to the Magento sandbox through
it, which worker ran what printed; then everything it started is stopped."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from devtools import akeneo_mock, playground
from devtools.ports import free_port
from devtools.sample_catalog import AkeneoSeeder, generated_products
from iec_pipeline.common.settings import PROJECT_ROOT
from iec_pipeline.launch import daemon_running

DEPLOY = PROJECT_ROOT / "deploy"
BIN = Path(sys.executable).parent


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
            str(DEPLOY / "celery.yaml"), "-q", "dagster", "-n", name, "--", "--pool=solo"]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / ".iec" / "cluster")
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
            for step in (["sync", "--full"], ["deliver", "--wait", "--timeout", "900"]):
                result = p.iec(*step, timeout=1200)
                print(f"iec {' '.join(step)}: exit {result.returncode}", flush=True)
                if result.returncode:
                    print(result.stdout[-2000:], result.stderr[-2000:])
                    break
            with dg.DagsterInstance.get() as instance:
                runs = instance.get_runs()
                per_worker: dict[str, int] = {}
                for run in runs:
                    debug = instance.run_launcher.get_run_worker_debug_info(run) if run.tags.get(
                        "dagster-celery/task_id") else None  # fmt: skip
                    worker = debug.split("'worker': ")[1].rstrip("}").strip("'") if debug else "(not on Celery)"
                    per_worker[worker] = per_worker.get(worker, 0) + 1
                print(f"{len(runs)} runs: {per_worker}")
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
