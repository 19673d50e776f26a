"""`make demo`: the whole path on this machine, with real parts.

Sample catalog in an Akeneo-compatible server (akeneo-mock-server, on PostgreSQL) -> `iec sync`
(a Dagster run) -> mutations -> fan-out -> `iec deliver` (Dagster runs) -> the Magento 2 sandbox;
then a few changes in Akeneo, delivered the same way. Prints what reached Magento, per store view.
Everything it starts, it stops. Its store is .iec/demo/iec.db; its runs are in .iec/dagster_home,
so `make ui` shows them afterwards.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from devtools import playground
from devtools.sample_catalog import AkeneoSeeder, product_uuid, v
from iec_pipeline.common.settings import Settings

WORKDIR = Path(".iec/demo")


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(p: playground.Playground, *args: str) -> str:
    print(f"$ iec {' '.join(args)}", flush=True)
    result = p.iec(*args)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    print("\n".join(f"  {line}" for line in lines[-8:]), flush=True)
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"iec {' '.join(args)} failed (exit {result.returncode})")
    return result.stdout


def show_magento(p: playground.Playground) -> None:
    state = p.sandbox("state")
    products = p.magento("products?searchCriteria[pageSize]=200")["items"]
    configurables = [x for x in products if x["type_id"] == "configurable"]
    children = {
        c["sku"]: [k["sku"] for k in p.magento(f"configurable-products/{c['sku']}/children")] for c in configurables
    }
    linked = sum(map(len, children.values()))
    print(f"  products: {len(products)} ({len(configurables)} configurable, {linked} linked children)")
    for sku, kids in children.items():
        print(f"    {sku}: {', '.join(kids)}")
    print(f"  categories: {_count_tree(p.magento('categories'))} (tree under 'Default Category')")
    print(f"  attribute sets: {len(state['attribute_sets'])}, attributes: {len(state['attributes'])}")
    stats = p.sandbox("stats")
    print(f"  requests: {stats['requests']}, schema errors: {stats['schema_errors']}, "
          f"most requests in flight for one SKU: {stats['max_in_flight_per_sku']}")  # fmt: skip


def _count_tree(node: dict) -> int:
    return 1 + sum(_count_tree(child) for child in node.get("children_data") or [])


def show_product(p: playground.Playground, sku: str) -> None:
    for store in ("all", "fr", "de"):
        item = p.magento(f"products/{sku}", store=store)
        custom = {a["attribute_code"]: a["value"] for a in item.get("custom_attributes", [])}
        print(f"  {sku} @ {store:<3}: name={item.get('name')!r} price={item.get('price')} status={item.get('status')} "
              f"url_key={custom.get('url_key')!r} description={str(custom.get('description'))[:40]!r}")  # fmt: skip


def main() -> int:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    home = Settings.from_env().dagster_home
    step("Starting akeneo-mock-server (PostgreSQL) and the Magento 2 sandbox")
    with playground.start(WORKDIR.absolute(), akeneo_database="akeneo_iec_demo", dagster_home=home) as p:
        print(f"  Akeneo (mock): {p.mock.url}   Magento sandbox: {p.magento_url}/rest")
        print(f"  store: {p.env['IEC_DATABASE_URL']}")
        step("Seeding a sample catalog in Akeneo (3 locales, 2 channels, 2 currencies, models with variants)")
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.seed()
        print("  12 attributes, 12 options, 2 families, 2 family variants, 7 categories, 4 product models, 10 products")

        step("Full sync: Akeneo -> store -> mutations -> jobs (a Dagster run)")
        run(p, "sync", "--full")
        step("Delivery to Magento (Dagster runs per integration and queue)")
        run(p, "deliver", "--wait", "--timeout", "300")
        step("What Magento holds now")
        show_magento(p)
        show_product(p, "jeans-slim")
        show_product(p, "tshirt-classic-red-s")

        step("Changes in Akeneo: a price, a French name, a product disabled, a product deleted")
        with AkeneoSeeder(p.mock.url) as seeder:
            seeder.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {
                "price": [v([{"amount": "49.90", "currency": "EUR"}, {"amount": "54.00", "currency": "USD"}])],
                "name": [v("Jean slim brut", "fr_FR")]}})  # fmt: skip
            seeder.upsert("products-uuid", product_uuid("gift-card"), {"enabled": False})
            seeder.delete(f"products-uuid/{product_uuid('rain-jacket')}")
        run(p, "sync", "--full")
        run(p, "mutations", "--since", "49")
        run(p, "deliver", "--wait", "--timeout", "300")
        step("Magento after the changes")
        show_product(p, "jeans-slim")
        print(f"  gift-card status: {p.magento('products/gift-card')['status']} (2 = disabled)")
        remaining = {x["sku"] for x in p.magento("products?searchCriteria[pageSize]=200")["items"]}
        print(f"  rain-jacket still in Magento: {'rain-jacket' in remaining}")
        stats = p.sandbox("stats")
        print(f"  schema errors over the whole demo: {stats['schema_errors']}")

    step("Done")
    print(f"  Dagster runs: {home} -- open the UI with `make ui` (http://127.0.0.1:3000)")
    print(f"  The demo's store: IEC_DATABASE_URL=sqlite:///{(WORKDIR / 'iec.db').absolute()} .venv/bin/iec status")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
