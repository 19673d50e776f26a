"""Delivery benchmark: 20,000 mutations through the `webhook` driver to a local receiver.

Prints the delivery wall time next to a plain httpx loop sending the same 20,000 requests to the
same receiver (the limit), and their ratio (target <= 1.5x), twice: one request at a time (driver
`max_concurrency: 1`, as the plain loop) and 8 at a time (the driver's default; the plain loop on 8
threads sharing one client, as the driver does), since this single-process receiver itself slows
down under concurrent connections. Then, with the Dagster daemon and the delivery sensor running,
the latency from an immediate-priority mutation's commit to its arrival, p50 and p95 over 20
samples (target p95 <= 10 s).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import orjson
import yaml
from sqlalchemy import text

from bench.common import CREDENTIALS, DATA, iec, run_timed, seeded_mock
from devtools.ports import free_port
from devtools.sample_catalog import AkeneoSeeder, product_uuid, v
from drivers.webhook import idempotency_key, signature
from iec_pipeline.store.db import get_engine

SECRET = "bench-webhook-secret"
JOINED = (
    "SELECT m.id, m.entity_type, m.entity_uuid, m.code, m.operation, m.payload, m.changed_fields"
    " FROM mutations m JOIN mutation_jobs j ON j.mutation_id = m.id WHERE j.integration = 'hook'"
)
LAST_MUTATION = "SELECT id, created_at FROM mutations WHERE code = :c ORDER BY id DESC LIMIT 1"
JOB_STATUS = "SELECT status FROM mutation_jobs WHERE mutation_id = :m AND integration = 'hook'"
PRODUCTS = 20_000


def start_receiver(port: int, out: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "bench.receiver_server", str(port), SECRET, out])
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/")
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("receiver did not start")


def stop_receiver(process: subprocess.Popen, out: str) -> dict:
    process.terminate()
    process.wait(timeout=30)
    with open(out) as f:
        return json.load(f)


def plain_loop(url: str, bodies: list[bytes], threads: int = 1) -> float:
    """The limit: one plain httpx client sending the same signed requests, on `threads` threads."""
    started = time.monotonic()
    with httpx.Client(timeout=10) as http:

        def send(numbered: tuple[int, bytes]) -> None:
            i, body = numbered
            http.post(url, content=body, headers={"Content-Type": "application/json",
                      "X-IEC-Signature": signature(SECRET, body), "Idempotency-Key": f"plain-{i}"})  # fmt: skip

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(send, enumerate(bodies)))
    return time.monotonic() - started


def main() -> dict:
    DATA.mkdir(parents=True, exist_ok=True)
    work = DATA / "deliver"
    shutil.rmtree(work, ignore_errors=True)
    (work / "dagster_home").mkdir(parents=True)
    mock = seeded_mock(PRODUCTS)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    hook = {
        "driver": "webhook", "entity_types": ["product"], "priority_map": {"*": 150, "price": 10},
        "retry_attempts": 5, "retry_delay_seconds": 1,
    }  # fmt: skip
    (work / "integrations.yaml").write_text(yaml.safe_dump({"integrations": [
        {"name": "hook", **hook, "configuration": {"url": url, "secret": {"env": "BENCH_HOOK_SECRET"}}},
        {"name": "hook-one", **hook,
         "configuration": {"url": url, "secret": {"env": "BENCH_HOOK_SECRET"}, "max_concurrency": 1}},
    ]}))  # fmt: skip
    env = {
        **CREDENTIALS, "AKENEO_URL": mock.url, "IEC_DATABASE_URL": f"sqlite:///{work / 'iec.db'}",
        "DAGSTER_HOME": str(work / "dagster_home"), "IEC_INTEGRATIONS": str(work / "integrations.yaml"),
        "BENCH_HOOK_SECRET": SECRET,
    }  # fmt: skip
    daemon = None
    try:
        synced = run_timed(iec("sync", "--full"), env)
        assert synced.returncode == 0, synced.stderr[-2000:]
        engine = get_engine(env["IEC_DATABASE_URL"])
        with engine.connect() as conn:
            rows = conn.execute(text(JOINED)).all()
        bodies = [
            orjson.dumps(
                {
                    "mutation_id": r[0],
                    "entity_type": r[1],
                    "entity_uuid": r[2],
                    "code": r[3],
                    "operation": r[4],
                    "payload": orjson.loads(r[5]),
                    "changed_fields": orjson.loads(r[6]),
                }
            )  # fmt: skip
            for r in rows
        ]
        count, figures = len(bodies), {}
        for concurrency, integration in ((1, "hook-one"), (8, "hook")):
            out = str(work / f"plain-{concurrency}.json")
            receiver = start_receiver(port, out)
            baseline = plain_loop(url, bodies, threads=concurrency)
            stop_receiver(receiver, out)
            out = str(work / f"driver-{concurrency}.json")
            receiver = start_receiver(port, out)
            delivered = run_timed(iec("deliver", "--wait", "--integration", integration, "--timeout", "900"), env)
            arrivals = stop_receiver(receiver, out)
            assert delivered.returncode == 0, delivered.stderr[-2000:]
            assert len(arrivals["arrivals"]) == count, (len(arrivals["arrivals"]), count)
            ratio = delivered.seconds / baseline
            figures[concurrency] = {"baseline_s": baseline, "deliver_s": delivered.seconds, "ratio": ratio}
            print(
                f"deliver {count:,} mutations, {concurrency} at a time: plain httpx {baseline:.1f}s "
                f"({count / baseline:,.0f}/s) | iec deliver ({integration}) {delivered.seconds:.1f}s "
                f"({count / delivered.seconds:,.0f}/s) = {ratio:.2f}x (target <= 1.5x)",
                flush=True,
            )

        # Latency with the daemon and the delivery sensor running.
        out = str(work / "latency.json")
        receiver = start_receiver(port, out)
        daemon_log = open(work / "daemon.log", "w")  # noqa: SIM115 - lives as long as the daemon
        daemon = subprocess.Popen(iec("daemon"), env={**os.environ, **env}, stdout=daemon_log, stderr=daemon_log)
        time.sleep(8)
        samples = []
        with AkeneoSeeder(mock.url) as seeder:
            for n in range(20):
                code = f"gen-{n:07d}"
                price = [{"amount": f"{5 + n}.{int(time.time()) % 100:02d}", "currency": "EUR"}]
                seeder.upsert("products-uuid", product_uuid(code), {"values": {"price": [v(price)]}})
                refreshed = run_timed(iec("sync", "--refresh", f"product={product_uuid(code)}"), env)
                assert refreshed.returncode == 0, refreshed.stderr[-2000:]
                with engine.connect() as conn:
                    mutation_id, committed = conn.execute(text(LAST_MUTATION), {"c": code}).one()
                samples.append((idempotency_key("hook", mutation_id), _epoch(committed)))
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:  # one sample at a time: the next change waits for this one
                    with engine.connect() as conn:
                        if conn.execute(text(JOB_STATUS), {"m": mutation_id}).scalar() == "success":
                            break
                    time.sleep(0.1)
        arrivals = stop_receiver(receiver, out)["arrivals"]
        latencies = sorted(arrivals[k] - c for k, c in samples if k in arrivals)
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))]
        print(f"deliver latency commit -> arrival over {len(latencies)} immediate mutations (daemon + sensor): "
              f"p50 {p50:.2f}s, p95 {p95:.2f}s (target p95 <= 10 s)")  # fmt: skip
        return {"mutations": count, "by_concurrency": figures, "latency_p50_s": p50, "latency_p95_s": p95,
                "samples": len(latencies)}  # fmt: skip
    finally:
        if daemon is not None:
            daemon.terminate()
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
        mock.stop()


def _epoch(value) -> float:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).timestamp()


if __name__ == "__main__":
    main()
