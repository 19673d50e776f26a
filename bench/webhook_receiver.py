"""Webhook receiver benchmark (reliability row 12): sustained signed Event Platform load.

Starts `python -m iec_pipeline.webhooks.receiver` on loopback with a SQLite store in a temporary directory,
sends EVENTS signed CloudEvents as fast as they are accepted over CONNECTIONS concurrent keep-alive
connections, then counts the rows in `webhook_drops`. Targets: >= 500 events/s, p99 <= 200 ms, recorded ==
sent. Run: `.venv/bin/python -m bench.webhook_receiver`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import wait_healthy
from devtools.ports import free_port

EVENTS = 2_000
CONNECTIONS = 8
SECRET = "bench-webhook-secret"
PATH = "/webhooks/akeneo"
TARGET_EVENTS_PER_SECOND = 500
TARGET_P99_MS = 200


def _signed_events(count: int) -> list[tuple[bytes, dict[str, str]]]:
    requests = []
    for _ in range(count):
        body = orjson.dumps(
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "pim",
                "type": "com.akeneo.pim.v1.product.updated",
                "subject": "bench",
                "datacontenttype": "application/json",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "data": {"product": {"uuid": str(uuid.uuid4())}, "author": {"identifier": "bench", "type": "api"}},
            }
        )
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-AKENEO-SIGNATURE-PRIMARY": signature,
            "X-AKENEO-SIGNATURE-ALGORITHM": "HmacSHA256",
        }
        requests.append((body, headers))
    return requests


def _start_receiver(database: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "IEC_DATABASE_URL": f"sqlite:///{database}", "AKENEO_WEBHOOK_SECRET": SECRET}
    env.pop("AKENEO_WEBHOOK_SECRET_SECONDARY", None)
    out = open(log, "wb")  # noqa: SIM115 (the child keeps it)
    process = subprocess.Popen(
        [sys.executable, "-m", "iec_pipeline.webhooks.receiver", "--port", str(port)], env=env, stdout=out, stderr=out
    )
    return wait_healthy(process, f"http://127.0.0.1:{port}/healthz", log, timeout=30)


def _send_all(base_url: str, requests: list[tuple[bytes, dict[str, str]]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    shares = [requests[i::CONNECTIONS] for i in range(CONNECTIONS)]
    start = threading.Barrier(CONNECTIONS + 1)

    def worker(share: list[tuple[bytes, dict[str, str]]]) -> None:
        nonlocal failures
        local: list[float] = []
        bad = 0
        with httpx.Client(base_url=base_url, timeout=10) as http:
            http.get("/healthz")  # connect before the clock starts
            start.wait()
            for body, headers in share:
                began = time.perf_counter()
                status = http.post(PATH, content=body, headers=headers).status_code
                local.append(time.perf_counter() - began)
                bad += status != 200
        with lock:
            latencies.extend(local)
            failures += bad

    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies, failures


def main(events: int = EVENTS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="iec-webhook-bench-") as directory:
        database = Path(directory) / "iec.db"
        port = free_port()
        requests = _signed_events(events)
        process = _start_receiver(database, port, Path(directory) / "receiver.log")
        try:
            seconds, latencies, failures = _send_all(f"http://127.0.0.1:{port}", requests)
        finally:
            process.terminate()
            process.wait(10)
        with sqlite3.connect(database) as conn:
            recorded = conn.execute("SELECT count(*) FROM webhook_drops").fetchone()[0]
    cuts = statistics.quantiles(latencies, n=100)
    figures = {
        "events": events,
        "connections": CONNECTIONS,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "non_2xx": failures,
        "recorded": recorded,
    }
    figures["ok"] = (
        figures["events_per_second"] >= TARGET_EVENTS_PER_SECOND
        and figures["p99_ms"] <= TARGET_P99_MS
        and recorded == events
        and failures == 0
    )
    print(
        f"webhook receiver: {events} signed events over {CONNECTIONS} connections in {figures['seconds']} s = "
        f"{figures['events_per_second']} events/s (target >= {TARGET_EVENTS_PER_SECOND}); "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms (target <= {TARGET_P99_MS}), "
        f"max {figures['max_ms']} ms; recorded {recorded}/{events}; non-2xx {failures}; "
        f"{'OK' if figures['ok'] else 'TARGET MISSED'}",
        flush=True,
    )
    return figures


if __name__ == "__main__":
    main()
