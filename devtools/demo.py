"""`make demo`: the whole path on this machine, with real parts.

Sample catalog in an Akeneo-compatible server (akeneo-mock-server, on PostgreSQL) -> `iec sync`
(a Dagster run) -> mutations -> fan-out -> `iec deliver` (Dagster runs) -> the Magento 2 sandbox;
then a few changes in Akeneo, delivered the same way. Prints what reached Magento, per store view.
Then what makes products sellable (sample_catalog's `seed_shop`): images with roles, a care sheet as a URL,
product links, a grouped product with quantities, stock, the two channels on two Magento websites and
per-store category URL keys; then a new image and a removed association, and what that delivery uploaded.
Everything it starts, it stops. Its store is .iec/demo/iec.db; its runs are in .iec/dagster_home.
Its settings (store, integrations file, Akeneo connection, the Magento sandbox's port and token) are
kept in .iec/demo/demo.env and written to `.env` as well (unless that `.env` is someone's own), so
`make ui` opens the demo's store and `make demo-ui` starts its peers again with the UI.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from devtools import playground
from devtools.sample_catalog import BUNDLE, SHOP_ASSOCIATIONS, AkeneoSeeder, picture, product_uuid, v
from iec_pipeline.common.settings import Settings

WORKDIR = Path(".iec/demo")
DEMO_ENV = WORKDIR / "demo.env"  # the demo's settings: what `make demo-ui` starts again from
AKENEO_DATABASE = "akeneo_iec_demo"
ENV_MARKER = "# written by make demo"
# The demo's own variables, beside the ones IEC reads: where its peers were.
MAGENTO_URL_ENV = "IEC_DEMO_MAGENTO_URL"
AKENEO_DATABASE_ENV = "IEC_DEMO_AKENEO_DATABASE"
DEMO_VARIABLES = (
    "IEC_DATABASE_URL", "IEC_INTEGRATIONS", "DAGSTER_HOME",
    "AKENEO_URL", "AKENEO_CLIENT_ID", "AKENEO_CLIENT_SECRET", "AKENEO_USERNAME", "AKENEO_PASSWORD",
    playground.MAGENTO_TOKEN_ENV, MAGENTO_URL_ENV, AKENEO_DATABASE_ENV,
)  # fmt: skip
SECRET_VARIABLES = frozenset({"AKENEO_CLIENT_SECRET", "AKENEO_PASSWORD", playground.MAGENTO_TOKEN_ENV})


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


# --- the sellable shop ---------------------------------------------------------------------------


def _custom(item: dict) -> dict:
    return {a["attribute_code"]: a["value"] for a in item.get("custom_attributes") or []}


def _filename(entry: dict) -> str:
    """A gallery entry's file name as Magento stored it (`/j/e/jeans-slim-front.png` -> jeans-slim-front.png)."""
    return entry["file"].rsplit("/", 1)[-1]


def gallery(p: playground.Playground, sku: str) -> str:
    entries = sorted(p.magento(f"products/{sku}/media"), key=lambda e: e["position"])
    return "; ".join(f"#{e['id']} {_filename(e)} [{', '.join(e['types']) or 'gallery only'}]" for e in entries)


def links(item: dict) -> str:
    found = [f"{link['link_type']} {link['linked_product_sku']}" for link in item.get("product_links") or []
             if link["link_type"] != "associated"]  # fmt: skip
    return ", ".join(found) or "none"


def show_sellable(p: playground.Playground, skus: tuple[str, ...]) -> None:
    names = {w["id"]: w["code"] for w in p.magento("store/websites") if w["id"]}
    views = {}
    for view in p.magento("store/storeViews"):
        if view["id"]:
            views.setdefault(view["website_id"], []).append(view["code"])
    channels = {1: "ecommerce", 2: "mobile"}
    print("  websites: " + "; ".join(f"{i} {names[i]} ({', '.join(views.get(i, []))}) <- channel {channels.get(i)}"
                                     for i in sorted(names)))  # fmt: skip
    for sku in skus:
        item = p.magento(f"products/{sku}")
        stock = p.magento(f"stockItems/{sku}")
        qty = "" if item["type_id"] in ("configurable", "grouped") else f"qty {stock['qty']:g}, "
        print(f"  {sku} ({item['type_id']}): websites {item['extension_attributes']['website_ids']}, "
              f"stock {qty}{'in stock' if stock['is_in_stock'] else 'out of stock'}")  # fmt: skip
        print(f"    images: {gallery(p, sku) or 'none'}")
        print(f"    links: {links(item)}")
        care = _custom(item).get("care_sheet")
        if care:
            print(f"    care_sheet: {care}")
        web, mobile = _custom(item).get("description"), _custom(p.magento(f"products/{sku}", store="mobile"))
        print(f"    description @default: {web!r}  @mobile: {mobile.get('description')!r}")
    bundle = p.magento(f"products/{BUNDLE}")
    packed = [f"{link['linked_product_sku']} x{link['extension_attributes']['qty']:g}"
              for link in bundle.get("product_links") or [] if link["link_type"] == "associated"]  # fmt: skip
    print(f"  {BUNDLE} ({bundle['type_id']}): {', '.join(packed)}")


def _category_ids(node: dict, found: dict[str, int]) -> dict[str, int]:
    found[node["name"]] = node["id"]
    for child in node.get("children_data") or []:
        _category_ids(child, found)
    return found


def show_category_keys(p: playground.Playground, names: tuple[str, ...]) -> None:
    ids = _category_ids(p.magento("categories"), {})
    for name in names:
        keys = {store: _custom(p.magento(f"categories/{ids[name]}", store=store)).get("url_key")
                for store in ("all", "fr", "de", "mobile")}  # fmt: skip
        shown = "  ".join(f"@{store}: {key}" for store, key in keys.items())
        print(f"  category {name!r} url_key  {shown}")


def sellable(p: playground.Playground) -> None:
    """The shop extras seeded, delivered and shown; then a new image and a removed association."""
    step("Shop extras in Akeneo: images, a care sheet, associations, a PACK bundle (media through Akeneo's API)")
    with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
        shop = seeder.seed_shop()
    print(f"  {shop.summary()}")
    run(p, "sync", "--full")
    run(p, "deliver", "--wait", "--timeout", "300")
    step("What a shop can sell: images with roles, links, stock, websites per channel, the grouped product")
    show_sellable(p, ("jeans-slim", "tshirt_classic"))
    show_category_keys(p, ("Bags", "Backpacks"))

    step("Changes in Akeneo: a new main image for jeans-slim, its X_SELL association removed")
    new_picture = picture((10, 20, 90), tag="second shoot")
    associations = {**SHOP_ASSOCIATIONS["jeans-slim"], "X_SELL": {"products": [], "product_models": [], "groups": []}}
    with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
        seeder.upload_media("product", "jeans-slim", "main_image", "jeans-slim-front-2.png", new_picture)
        seeder.upsert("products-uuid", product_uuid("jeans-slim"), {"associations": associations})
    before = p.sandbox("stats")["media_bytes"]
    downloads = sum(p.media.stats()["downloads"].values()) if p.media else 0
    run(p, "sync", "--full")
    run(p, "deliver", "--wait", "--timeout", "300")
    step("Magento after the changes")
    item = p.magento("products/jeans-slim")
    print(f"  jeans-slim images: {gallery(p, 'jeans-slim')}")
    print(f"  jeans-slim links: {links(item)}")
    uploaded = p.sandbox("stats")["media_bytes"] - before
    fetched = (sum(p.media.stats()["downloads"].values()) - downloads) if p.media else 0
    print(f"  image bytes uploaded to Magento by this delivery: {uploaded} (the new picture is {len(new_picture)} "
          f"bytes); files downloaded from Akeneo: {fetched}")  # fmt: skip


# --- the demo's settings, in .env form ----------------------------------------------------------


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def env_text(values: Mapping[str, str]) -> str:
    """A `.env` file: the marker line, then one `NAME="value"` a line (python-dotenv's quoting)."""
    lines = [
        f"{ENV_MARKER}; `make demo` rewrites it, delete this line to keep the file as yours.",
        "# The demo's store, integrations file and Akeneo (akeneo-mock-server) connection; secrets included.",
        *(f"{name}={_quoted(str(value))}" for name, value in values.items()),
    ]
    return "\n".join(lines) + "\n"


def is_ours(path: Path) -> bool:
    """True when `path` is a file `make demo` wrote (its first line is the marker)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().startswith(ENV_MARKER)
    except FileNotFoundError:
        return False


def write_env_file(path: Path, values: Mapping[str, str]) -> bool:
    """Writes `values` to `path` (mode 600, replaced atomically) unless a file without the marker is there:
    someone's own `.env` is never overwritten. True when written."""
    if path.is_symlink() or (path.exists() and not is_ours(path)):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(env_text(values))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def demo_settings(p: playground.Playground, database: str = AKENEO_DATABASE) -> dict[str, str]:
    """What a later process needs to reach the demo's store and peers, from the running playground."""
    env = {name: p.env[name] for name in DEMO_VARIABLES if name in p.env}
    return {**env, MAGENTO_URL_ENV: p.magento_url, AKENEO_DATABASE_ENV: database}


def save_settings(values: Mapping[str, str], dotenv: Path | None = None) -> None:
    """Keeps the demo's settings in DEMO_ENV and writes them to the project's `.env` too (when it may)."""
    dotenv = (dotenv or Path(".env")).absolute()  # where `iec` and `dagster dev` read it: the current directory
    write_env_file(DEMO_ENV, values)
    shown = ", ".join(name for name in values if name not in SECRET_VARIABLES)
    secret = ", ".join(name for name in values if name in SECRET_VARIABLES)
    if write_env_file(dotenv, values):
        print(f"  wrote {dotenv} (mode 600): {shown}; and {secret} (values not shown)")
        print(f"  store: {values['IEC_DATABASE_URL']}   Akeneo (mock): {values['AKENEO_URL']}")
    else:
        print(f"  {dotenv} is yours (no {ENV_MARKER!r} first line): left as it is. The demo's settings are in "
              f"{DEMO_ENV.absolute()}; `make demo-ui` uses them, `make ui` uses your .env.")  # fmt: skip


def main() -> int:
    shutil.rmtree(WORKDIR, ignore_errors=True)
    home = Settings.from_env().dagster_home
    step("Starting akeneo-mock-server (PostgreSQL) and the Magento 2 sandbox")
    with playground.start(WORKDIR.absolute(), akeneo_database=AKENEO_DATABASE, dagster_home=home, sellable=True) as p:
        print(f"  Akeneo (mock, media files served by devtools.akeneo_media): {p.akeneo_url}   "
              f"Magento sandbox: {p.magento_url}/rest")  # fmt: skip
        print(f"  store: {p.env['IEC_DATABASE_URL']}")
        settings = demo_settings(p)
        step("Seeding a sample catalog in Akeneo (3 locales, 2 channels, 2 currencies, models with variants)")
        with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
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
        with AkeneoSeeder(p.akeneo_url, stamp_updated=True) as seeder:
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
        sellable(p)
        stats = p.sandbox("stats")
        print(f"  schema errors over the whole demo: {stats['schema_errors']}")

    step("Done")
    save_settings(settings)
    print(f"  Dagster runs: {home}")
    print("  `make demo-ui` (PORT=3000) starts the demo's Akeneo and Magento again and the UI on them: its runs,")
    print("  Materialize, backfills. `make ui` opens the UI alone (Akeneo stopped: materializations would fail).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
