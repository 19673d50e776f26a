"""`make bench`: every benchmark, each printing its figures next to the baseline it measured itself.

`python -m bench [ingest|deliver|magento|webhook|scale|faults|fuzz ...]` runs a subset; options after one
benchmark's name are its own (`python -m bench faults --trials 30 --backend sqlite`).
"""

from __future__ import annotations

import sys
import time

BENCHMARKS = {
    "ingest": "bench.ingest",  # full sync vs raw listing, re-sync, peak RSS
    "deliver": "bench.deliver",  # webhook delivery vs plain httpx loop, immediate latency
    "magento": "bench.magento",  # sequential vs max_concurrency 8 vs bulk
    "webhook": "bench.webhook",  # receiver under load, then Akeneo save -> Magento latency
    "scale": "bench.scale",  # 500,000 products vs 50,000 on PostgreSQL: per-product time, RSS, claim
    "faults": "bench.faults",  # SIGKILL sync, diff, delivery and receiver 30 times each, SQLite and PostgreSQL
    "fuzz": "bench.fuzz_receiver",  # 10,000 random and mutated requests at the webhook receiver, per backend
}


def main(argv: list[str]) -> int:
    import importlib

    first_option = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    chosen, options = argv[:first_option] or list(BENCHMARKS), argv[first_option:]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if options and len(chosen) != 1:
        print("options (--...) go with exactly one benchmark: python -m bench NAME --option ...", file=sys.stderr)
        return 2
    results = {}
    for name in chosen:
        print(f"\n== {name} ==", flush=True)
        started = time.monotonic()
        module = importlib.import_module(BENCHMARKS[name])
        results[name] = module.main(options) if options else module.main()
        print(f"({name}: {time.monotonic() - started:.0f}s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
