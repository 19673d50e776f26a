"""Webhook benchmark, in two parts, each in its own module:

1. `bench.webhook_receiver`: the receiver under load, 2,000 signed events as fast as accepted
   (events/s, p99 answer time, recorded == sent; targets >= 500/s, p99 <= 200 ms);
2. `bench.webhook_latency`: Akeneo save -> Magento request latency over 20 changes with the daemon
   running (p50, p95; target p95 <= 15 s).

Run: `.venv/bin/python -m bench webhook` (or `python -m bench.webhook`).
"""

from __future__ import annotations

from bench import webhook_latency, webhook_receiver


def main() -> dict:
    return {"receiver": webhook_receiver.main(), "latency": webhook_latency.main()}


if __name__ == "__main__":
    main()
