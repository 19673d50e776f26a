"""Akeneo save -> Magento latency, with the receiver and the Dagster daemon running.

20 price changes saved in akeneo-mock-server, one after another; each is timed from the moment its
save returns until Magento (the sandbox, read through its REST API every 50 ms) shows the new price:
webhook -> drop -> drops sensor (debounced) -> refresh run -> diff -> delivery run -> Magento.
Target: p95 <= 15 s.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time

from bench.common import DATA
from devtools import playground
from devtools.sample_catalog import AkeneoSeeder, product_uuid, v

SAMPLES = 20


def main() -> dict:
    work = DATA / "webhook_latency"
    shutil.rmtree(work, ignore_errors=True)
    with playground.start(work, akeneo_database="akeneo_iec_bench_latency") as p:
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        assert p.iec("sync", "--full").returncode == 0
        assert p.iec("deliver", "--wait", "--timeout", "300").returncode == 0
        receiver = p.start_receiver()
        assert p.iec("webhooks", "subscribe", "--url", receiver).returncode == 0
        p.start_daemon()
        time.sleep(10)  # the daemon's first ticks
        latencies: list[float] = []
        samples: list[dict] = []
        with AkeneoSeeder(p.mock.url) as seeder:
            for n in range(SAMPLES):
                price = round(20 + n + 0.5, 2)
                prices = [{"amount": f"{price:.2f}", "currency": "EUR"}, {"amount": "64.00", "currency": "USD"}]
                seeder.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"price": [v(prices)]}})
                saved, saved_at = time.monotonic(), time.time()
                while time.monotonic() - saved < 120:
                    if p.magento("products/jeans-slim")["price"] == price:
                        latencies.append(time.monotonic() - saved)
                        samples.append({"saved": saved_at, "seen": time.time(), "price": price})
                        break
                    time.sleep(0.05)
                else:
                    raise RuntimeError(f"change {n} never reached Magento")
        (work / "samples.json").write_text(json.dumps(samples))
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[round(0.95 * (len(latencies) - 1))]
    print(
        f"webhook latency Akeneo save -> Magento over {len(latencies)} changes (receiver + daemon): "
        f"p50 {p50:.1f}s, p95 {p95:.1f}s, max {latencies[-1]:.1f}s (target p95 <= 15 s)"
    )
    return {"samples": len(latencies), "p50_s": p50, "p95_s": p95, "max_s": latencies[-1]}


if __name__ == "__main__":
    main()
