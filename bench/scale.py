"""Scale benchmark: a catalog of 500,000 products against one of 50,000, on a PostgreSQL store.

Seeds the mock Akeneo's PostgreSQL directly (COPY, about a minute for 500,000: its multi-patch API
seeds ~240 products/s, 35 minutes), once per database. Then, per size, on a fresh PostgreSQL store with
two webhook integrations (their targets never called: the sync fans out, nothing is delivered):
- the first full sync (`iec sync --full`, a real process: wall time and peak RSS), whose diff fans the
  created mutations out to both integrations inside its transaction (checked: 2 jobs a product);
- an unchanged full re-sync;
- a full re-sync with 1% of the products changed (a new price, `updated` moved on);
- after each first sync, claiming a batch of 100 from its backlog (median and p95 of 10).
And, on its own store (no sync: `bench.claim_backlog` writes the rows directly), claiming a batch of 100
from a backlog of 1,000,000 pending jobs, with the structure jobs still pending and once delivered
(`--claim-only` runs just that).

Targets: time per product at 500,000 within 1.2x of the time per product at 50,000 (linear), peak RSS
at 500,000 within 1.5x of the peak at 50,000, a claim from 1,000,000 pending jobs <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import psycopg
import yaml
from sqlalchemy import create_engine

from bench import claim_backlog
from bench.common import CREDENTIALS, DATA, iec, run_timed
from devtools import akeneo_mock
from devtools.sample_catalog import AkeneoSeeder, akeneo_time, generated_products

PG = akeneo_mock.DEFAULT_PG
COLUMNS = ("uuid", "id", "enabled", "family", "categories", "groups", "parent", "values", "associations",
           "quantified_associations", "created", "updated")  # fmt: skip


def _row(product: dict[str, Any], stamp: str) -> tuple:
    return (
        product["uuid"], product["identifier"], product.get("enabled", True), product.get("family"),
        json.dumps(product.get("categories") or []), json.dumps([]), None, json.dumps(product["values"]),
        json.dumps({}), json.dumps({}), stamp, product.get("updated") or stamp,
    )  # fmt: skip


def seeded(products: int) -> akeneo_mock.MockAkeneo:
    """The mock on `akeneo_iec_scale_<n>`, holding the sample structure and `products` generated products."""
    name = f"akeneo_iec_scale_{products}"
    mock = akeneo_mock.start(name, log_path=str(DATA / f"{name}.log"))
    with psycopg.connect(f"{PG}/{name}") as conn:
        have = conn.execute("SELECT count(*) FROM products WHERE id LIKE 'gen-%'").fetchone()[0]
    if have >= products:
        return mock
    print(f"seeding {products - have:,} products into {name} with COPY (once per database)...", flush=True)
    started = time.monotonic()
    with AkeneoSeeder(mock.url) as seeder:
        seeder.seed_structure()
    stamp = akeneo_time()
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    with psycopg.connect(f"{PG}/{name}") as conn, conn.cursor() as cursor, \
            cursor.copy(f"COPY products ({columns}) FROM STDIN") as copy:  # fmt: skip
        for product in generated_products(products - have, start=have):
            copy.write_row(_row(product, stamp))
    print(f"  seeded in {time.monotonic() - started:.0f}s", flush=True)
    return mock


def change_one_percent(database: str, products: int) -> int:
    """A new price and a later `updated` for every 100th product, as an Akeneo save would leave them. The
    price is new on every run (the mock's database keeps the last run's): the same one would change nothing."""
    later = akeneo_time()
    amount = f"{time.time_ns() // 10_000_000 % 1_000_000 / 100:.2f}"  # hundredths of a second, a new one each run
    price = [{"data": [{"amount": amount, "currency": "EUR"}, {"amount": amount, "currency": "USD"}],
              "scope": None, "locale": None}]  # fmt: skip
    with psycopg.connect(f"{PG}/{database}") as conn:
        changed = conn.execute(
            """UPDATE products SET updated = %s, "values" = jsonb_set("values", '{price}', %s::jsonb)
               WHERE id LIKE 'gen-%%' AND substr(id, 5)::int %% 100 = 7""",
            (later, json.dumps(price)),
        ).rowcount
    return changed


def fresh_store(name: str) -> str:
    akeneo_mock.drop_database(name)
    akeneo_mock.ensure_database(name)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def measure(products: int) -> dict[str, Any]:
    mock = seeded(products)
    work = DATA / f"scale_{products}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "dagster_home").mkdir(exist_ok=True)
    integrations = [
        {
            "name": f"hook-{n}",
            "driver": "webhook",
            "configuration": {"url": "http://127.0.0.1:9/never-called", "secret": {"env": "SCALE_HOOK_SECRET"}},
        }
        for n in (1, 2)
    ]
    (work / "integrations.yaml").write_text(yaml.safe_dump({"integrations": integrations}))
    store = fresh_store(f"iec_scale_{products}")
    env = {
        **CREDENTIALS,
        "AKENEO_URL": mock.url,
        "IEC_DATABASE_URL": store,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "IEC_INTEGRATIONS": str(work / "integrations.yaml"),
        "SCALE_HOOK_SECRET": "scale-bench-secret",
    }
    try:
        assert run_timed(iec("db", "upgrade"), env).returncode == 0
        out: dict[str, Any] = {"products": products}
        for label, prepare in (("first", None), ("unchanged", None), ("one_percent", change_one_percent)):
            if prepare is not None:
                out["changed"] = prepare(mock.database, products)
            timed = run_timed(iec("sync", "--full"), env)
            if timed.returncode != 0:
                raise RuntimeError(f"sync failed: {timed.stderr[-2000:]}")
            out[f"{label}_seconds"] = round(timed.seconds, 1)
            out[f"{label}_rss_mb"] = round(timed.max_rss_mb)
            print(f"scale {products:>9,} {label:<12} {timed.seconds:7.1f}s  "
                  f"{timed.seconds / products * 1e6:6.1f} us/product  peak RSS {timed.max_rss_mb:5.0f} MB",
                  flush=True)  # fmt: skip
            if label == "first":
                engine = create_engine(store)
                with engine.connect() as conn:
                    jobs = conn.exec_driver_sql("SELECT count(*) FROM mutation_jobs").scalar_one()
                out["jobs_after_first"] = jobs
                print(f"  fan-out in the diff's transaction: {jobs:,} jobs for 2 integrations", flush=True)
                claim = claim_backlog.time_claims(engine)
                out["claim_ms"], out["claim_p95_ms"] = claim["median_ms"], claim["p95_ms"]
                print(f"  claim of 100 from {jobs:,} pending: median {claim['median_ms']:.1f} ms, "
                      f"p95 {claim['p95_ms']:.1f} ms over 10")  # fmt: skip
                engine.dispose()
        return out
    finally:
        mock.stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=50_000)
    parser.add_argument("--large", type=int, default=500_000)
    parser.add_argument("--claim-only", action="store_true", help="only the claim from 1,000,000 pending jobs")
    args, _ = parser.parse_known_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    claim = claim_backlog.measure(claim_backlog.fresh_pg_store(), products=500_000, trials=10)
    if args.claim_only:
        return {"claim_backlog": claim}
    small, large = measure(args.small), measure(args.large)
    result = {"small": small, "large": large, "claim_backlog": claim}
    for label in ("first", "unchanged", "one_percent"):
        ratio = (large[f"{label}_seconds"] / args.large) / (small[f"{label}_seconds"] / args.small)
        result[f"{label}_per_product_ratio"] = round(ratio, 2)
        print(f"scale {label:<12} time per product {args.large:,} vs {args.small:,}: {ratio:4.2f}x (target <= 1.2x)")
    rss = large["first_rss_mb"] / small["first_rss_mb"]
    result["rss_ratio"] = round(rss, 2)
    print(f"scale peak RSS {args.large:,} vs {args.small:,}: {rss:4.2f}x (target <= 1.5x); "
          f"claim from {large['jobs_after_first']:,} pending after the sync: {large['claim_ms']:.1f} ms")  # fmt: skip
    for case in ("structure_pending", "structure_delivered"):
        figures = claim[case]
        print(f"scale claim of 100 from {claim['pending_jobs']:,} pending ({case.replace('_', ' ')}): "
              f"median {figures['median_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms (target <= 50)")  # fmt: skip
    return result


if __name__ == "__main__":
    main()
