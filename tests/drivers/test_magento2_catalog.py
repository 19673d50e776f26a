"""The sample catalog's real mutations delivered to the Magento sandbox, then read back field by field.

One clean run (initial sync, a redelivery, then the changes) is made once for the module and each
test checks one promise against it; the runs with faults and in bulk mode must end in the same
Magento state as the clean run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from devtools.magento_sandbox.testing import SandboxHandle, running_sandbox
from drivers.magento2.client import MagentoClient
from drivers.magento2.mapping import slug
from drivers.models import DeliveryResult, MutationData, entity_uuid
from tests.drivers.conftest import SyncedCatalog
from tests.drivers.magento_support import (
    STORE_VIEWS,
    deliver,
    deliver_until_done,
    make_driver,
    new_context,
    normalized,
    payload_value,
)

LOCALE_OF = {store: locale for locale, store in STORE_VIEWS.items() if locale != "en_US"}
CATEGORY_LABELS = {
    "clothing": "Clothing", "tshirts": "T-shirts", "pants": "Pants", "accessories": "Accessories", "bags": "Bags",
    "sale": "Sale", "outlet": "Outlet",
}  # fmt: skip


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@dataclass
class Run:
    initial: dict[int, DeliveryResult]
    state_initial: dict[str, Any]
    stats_initial: dict[str, Any]
    redelivery: list[DeliveryResult]
    redelivery_requests: list[dict[str, Any]]
    changes: dict[int, DeliveryResult]
    state: dict[str, Any]
    stats: dict[str, Any]
    change_requests: list[dict[str, Any]]
    bodies: list[tuple[str, str, Any]] = field(default_factory=list)


def run(sb: SandboxHandle, synced: SyncedCatalog, faults: list[dict] | None = None, **settings: Any) -> Run:
    """Initial mutations, the same again, then the changes; retryable results are re-delivered."""
    sb.reset()
    context = new_context()
    driver = make_driver(sb, **settings)
    driver.open(context)
    try:
        if faults:
            sb.set_faults(faults)
        initial = deliver_until_done(driver, synced.initial, context)
        sb.clear_faults()
        state_initial, stats_initial = sb.state(), sb.stats()
        seq = len(sb.requests())
        redelivery = deliver(driver, synced.initial, context)
        redelivery_requests = sb.requests(seq)
        seq = len(sb.requests())
        if faults:
            sb.set_faults(faults)
        changes = deliver_until_done(driver, synced.changes, context)
        sb.clear_faults()
        return Run(initial, state_initial, stats_initial, redelivery, redelivery_requests, changes, sb.state(),
                   sb.stats(), sb.requests(seq))  # fmt: skip
    finally:
        driver.close()


@pytest.fixture(scope="module")
def clean(sb: SandboxHandle, synced_catalog: SyncedCatalog) -> Run:
    bodies: list[tuple[str, str, Any]] = []
    original = MagentoClient._send

    def spy(self, method, path, token, body, params):  # noqa: ANN001 - records what the driver sends
        bodies.append((method, path, body))
        return original(self, method, path, token, body, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MagentoClient, "_send", spy)
        result = run(sb, synced_catalog)
    result.bodies = bodies
    return result


@pytest.fixture(scope="module")
def rest(sb: SandboxHandle, clean: Run) -> Iterator[httpx.Client]:
    """Reads of the sandbox while it holds the clean run's final state (tests must not reset it)."""
    with sb.client() as client:
        yield client


def failed(results: dict[int, DeliveryResult]) -> list[tuple[int, str, str | None]]:
    return [(mid, r.status, r.message) for mid, r in results.items() if r.status != "success"]


def products_of(mutations: list[MutationData]) -> list[MutationData]:
    return [m for m in mutations if m.entity_type == "product" and m.operation != "deleted"]


def option_codes(state: dict[str, Any], attribute: str) -> dict[str, str]:
    return {str(o["id"]): o["labels"]["0"] for o in state["attributes"][attribute]["options"]}


def custom(product: dict[str, Any], code: str) -> Any:
    return next((c["value"] for c in product["custom_attributes"] if c["attribute_code"] == code), None)


# ------------------------------------------------------------------------------ the initial sync


def test_every_mutation_is_delivered_once_with_clean_requests(clean: Run) -> None:
    assert failed(clean.initial) == [] and failed(clean.changes) == []
    for stats in (clean.stats_initial, clean.stats):
        assert stats["schema_errors"] == 0
        assert stats["max_in_flight_per_sku"] <= 1 and stats["sku_overlaps"] == 0
    assert clean.stats["by_status"].get("500") is None


def test_a_redelivered_batch_sends_nothing(clean: Run) -> None:
    assert {r.status for r in clean.redelivery} == {"success"}
    assert [r for r in clean.redelivery_requests if r["method"] != "GET"] == []


def test_attributes_and_options(clean: Run) -> None:
    attributes = clean.state_initial["attributes"]
    expected = {"ean": ("text", "global"), "material": ("multiselect", "global"), "waterproof": ("boolean", "global"),
                "release_date": ("date", "global"), "stock_qty": ("text", "global"), "color": ("select", "global"),
                "size": ("select", "global")}  # fmt: skip
    for code, (frontend_input, scope) in expected.items():
        assert (attributes[code]["frontend_input"], attributes[code]["scope"]) == (frontend_input, scope), code
    material = attributes["material"]
    assert material["default_frontend_label"] == "Material"
    assert {"store_id": 2, "label": "Matière"} in material["frontend_labels"]
    # Magento's own attributes are used, never duplicated: no "price" or "sku" attribute was created.
    assert attributes["price"]["is_user_defined"] is False and attributes["name"]["frontend_input"] == "text"
    red = next(o for o in attributes["color"]["options"] if o["labels"]["0"] == "red")
    assert red["labels"] == {"0": "red", "1": "Red", "2": "Rouge", "3": "Rot"}
    assert sorted(o["labels"]["0"] for o in attributes["size"]["options"]) == ["l", "m", "s", "xl", "xxl"]


def test_families_become_attribute_sets(clean: Run) -> None:
    sets = {s["attribute_set_name"]: s for s in clean.state_initial["attribute_sets"].values()}
    clothing, accessories = sets["clothing"]["attributes"], sets["accessories"]["attributes"]
    for code in ("material", "ean", "release_date", "stock_qty", "color", "size", "name", "price", "weight"):
        assert code in clothing, code
    assert "waterproof" in accessories and "waterproof" not in clothing
    akeneo_group = next(g for g in sets["clothing"]["groups"] if g["attribute_group_name"] == "Akeneo")
    assert clothing["material"]["group_id"] == int(akeneo_group["attribute_group_id"])


def test_category_tree_and_localized_names(clean: Run, synced_catalog: SyncedCatalog) -> None:
    categories = clean.state_initial["categories"]
    by_name = {c["values"]["admin"]["name"]: (cid, c) for cid, c in categories.items()}
    root = categories["2"]
    assert root["values"]["admin"]["name"] == "Default Category"  # the Akeneo root maps onto it
    for code, label in CATEGORY_LABELS.items():
        category_id, category = by_name[label]
        akeneo = next(m for m in synced_catalog.initial if m.entity_type == "category" and m.code == code).payload
        parent = "2" if akeneo["parent"] == "master" else by_name[CATEGORY_LABELS[akeneo["parent"]]][0]
        assert str(category["parent_id"]) == parent, code
        assert category["values"].get("fr", {}).get("name") == akeneo["labels"]["fr_FR"]
        # the store view got only its name and the URL key of that name (the global one is the code's)
        assert set(category["values"].get("fr", {})) == {"name", "url_key"}
        assert category["values"]["fr"]["url_key"] == slug(akeneo["labels"]["fr_FR"])
        assert category["values"]["admin"]["url_key"] == slug(code)
    assert by_name["T-shirts"][1]["url_paths"]["default"] == "clothing/tshirts"


def test_products_global_scope_field_by_field(clean: Run, synced_catalog: SyncedCatalog) -> None:
    state = clean.state_initial
    colors, sizes, materials = (option_codes(state, a) for a in ("color", "size", "material"))
    sets = {str(k): s["attribute_set_name"] for k, s in state["attribute_sets"].items()}
    names = {cid: c["values"]["admin"]["name"] for cid, c in state["categories"].items()}
    for m in products_of(synced_catalog.initial):
        p, sku = m.payload, m.payload["identifier"]
        product = state["products"][sku]
        admin = product["values"]["admin"]
        assert admin["name"] == payload_value(p, "name", "en_US")["value"], sku
        prices = {x["currency"]: x["amount"] for x in (payload_value(p, "price") or {"value": []})["value"]}
        assert Decimal(str(admin["price"])) == Decimal(prices.get("EUR", "0")), sku
        assert admin["status"] == (1 if p["enabled"] else 2)
        assert admin["visibility"] == (1 if p["parent"] else 4)
        assert product["type_id"] == "simple" and product["website_ids"] == [1]
        assert sets[str(product["attribute_set_id"])] == (p["family"] or "Default")
        weight = payload_value(p, "weight")
        if weight:
            grams = Decimal(weight["value"]) * (1000 if weight["unit"] == "KILOGRAM" else 1)
            assert Decimal(str(admin["weight"])) * 1000 == grams, sku
        for code, codes in (("color", colors), ("size", sizes)):
            value = payload_value(p, code)
            assert (codes.get(admin.get(code)) if value else admin.get(code)) == (value or {}).get("value"), sku
        material = payload_value(p, "material")
        got = sorted(materials[i] for i in admin["material"].split(",")) if material else None
        assert got == (material["value"] if material else None)
        for code, expected in (("ean", "ean"), ("stock_qty", "stock_qty")):
            assert admin.get(code) == (payload_value(p, expected) or {}).get("value"), (sku, code)
        waterproof = payload_value(p, "waterproof")
        assert admin.get("waterproof") == (None if waterproof is None else ("1" if waterproof["value"] else "0"))
        description = payload_value(p, "description", "en_US", "ecommerce")
        assert admin.get("description") == (description or {}).get("value")
        assert admin["url_key"].endswith(sku.replace("_", "-"))
        linked = sorted(names[link["category_id"]] for link in product["category_links"])
        assert linked == sorted(CATEGORY_LABELS[c["code"]] for c in p["categories"]), sku


def test_store_views_hold_only_their_localized_values(clean: Run, synced_catalog: SyncedCatalog, rest) -> None:
    state = clean.state_initial
    keys: dict[str, set[str]] = {}
    for m in products_of(synced_catalog.initial):
        p, sku = m.payload, m.payload["identifier"]
        values = state["products"][sku]["values"]
        assert "default" not in values  # the default locale's store view inherits the global scope
        for store, locale in LOCALE_OF.items():
            scoped = values[store]
            expected = {"name": payload_value(p, "name", locale)["value"]}
            description = payload_value(p, "description", locale, "ecommerce")
            if description:
                expected["description"] = description["value"]
            assert {k: v for k, v in scoped.items() if k != "url_key"} == expected, (sku, store)
            assert scoped["url_key"] not in keys.setdefault(store, set())
            keys[store].add(scoped["url_key"])
    assert rest.get("/fr/V1/products/jeans-slim").json()["name"] == "Jean slim brut"  # (after the changes)
    assert rest.get("/de/V1/products/jeans-slim").json()["name"] == "Schmale Jeans"
    assert rest.get("/all/V1/products/jeans-slim").json()["name"] == "Slim jeans"


def test_configurables_get_their_variants(clean: Run) -> None:
    products = clean.state_initial["products"]
    colors, sizes = option_codes(clean.state_initial, "color"), option_codes(clean.state_initial, "size")
    assert "tshirt_classic_red" not in products and "tshirt_classic_blue" not in products  # sub-models
    tshirt, bag = products["tshirt_classic"], products["bag_tote"]
    assert tshirt["type_id"] == bag["type_id"] == "configurable"
    assert sorted(tshirt["children"]) == sorted(f"tshirt-classic-{c}-{s}" for c in ("red", "blue") for s in "sm")
    assert sorted(bag["children"]) == ["bag-tote-black", "bag-tote-green"]
    attribute_ids = {a["attribute_id"]: code for code, a in clean.state_initial["attributes"].items()}
    options = {attribute_ids[int(o["attribute_id"])]: o for o in tshirt["configurable_options"]}
    assert sorted(colors[str(v["value_index"])] for v in options["color"]["values"]) == ["blue", "red"]
    assert sorted(sizes[str(v["value_index"])] for v in options["size"]["values"]) == ["m", "s"]
    assert tshirt["values"]["fr"]["name"] == "T-shirt classique" and "price" not in tshirt["values"]["admin"]
    assert tshirt["category_links"] and tshirt["values"]["admin"]["visibility"] == 4


# ------------------------------------------------------------------------------- the changes


def test_changes_land(clean: Run, rest: httpx.Client) -> None:
    state = clean.state
    products = state["products"]
    colors = option_codes(state, "color")
    rain = products["rain-jacket"]["values"]["admin"]
    assert rain["price"] == 79.0 and colors[rain["color"]] == "white"  # a new option, used in the same batch
    white = next(o for o in state["attributes"]["color"]["options"] if o["labels"]["0"] == "white")
    assert white["labels"] == {"0": "white", "1": "White", "2": "Blanc"}
    jeans = products["jeans-slim"]["values"]
    assert jeans["admin"]["ean"] is None  # emptied in Akeneo: cleared in Magento
    assert jeans["fr"]["name"] == "Jean slim brut" and jeans["fr"]["url_key"] == "jean-slim-brut-jeans-slim"
    assert jeans["fr"]["description"] == jeans["admin"]["description"]  # the fr value is gone: the global one shows
    assert custom(rest.get("/all/V1/products/jeans-slim").json(), "ean") is None
    gift = products["gift-card"]
    names = {cid: c["values"]["admin"]["name"] for cid, c in state["categories"].items()}
    assert gift["values"]["admin"]["status"] == 2
    assert [names[link["category_id"]] for link in gift["category_links"]] == ["Accessories"]
    assert "tshirt-classic-blue-m" not in products
    tshirt = products["tshirt_classic"]
    assert sorted(tshirt["children"]) == ["tshirt-classic-blue-s", "tshirt-classic-red-m", "tshirt-classic-red-s"]
    assert colors[products["tshirt-classic-red-m"]["values"]["admin"]["color"]] == "blue"
    pants = next(c for c in state["categories"].values() if c["values"]["admin"]["name"] == "Pants")
    assert pants["values"]["fr"]["name"] == "Pantalons et jeans"
    assert "Outlet" not in names.values()
    assert "xxl" not in {o["labels"]["0"] for o in state["attributes"]["size"]["options"]}


def test_updates_send_only_what_changed(clean: Run) -> None:
    writes = [(method, path) for method, path, _ in clean.bodies if method != "GET"]
    sent = {(method, path): body for method, path, body in clean.bodies}
    rain = sent[("PUT", "/all/V1/products/rain-jacket")]["product"]
    white = rain["custom_attributes"][0]["value"]
    assert rain == {
        "sku": "rain-jacket",
        "price": 79.0,
        "custom_attributes": [{"attribute_code": "color", "value": white}],
    }
    jeans = sent[("PUT", "/all/V1/products/jeans-slim")]["product"]
    assert jeans == {"sku": "jeans-slim", "custom_attributes": [{"attribute_code": "ean", "value": None}]}
    jeans_fr = sent[("PUT", "/fr/V1/products/jeans-slim")]["product"]
    assert {c["attribute_code"] for c in jeans_fr["custom_attributes"]} == {"description", "url_key"}
    assert jeans_fr["name"] == "Jean slim brut" and set(jeans_fr) == {"sku", "name", "custom_attributes"}
    change_writes = [(r["method"], r["path"]) for r in clean.change_requests if r["method"] != "GET"]
    assert ("PUT", "/de/V1/products/jeans-slim") not in change_writes
    assert ("PUT", "/fr/V1/products/rain-jacket") not in change_writes
    assert ("PUT", "/all/V1/products/tshirt-classic-red-s") not in change_writes
    assert ("DELETE", "/all/V1/products/tshirt-classic-blue-m") in change_writes
    assert len(writes) > len(change_writes)


# ------------------------------------------------------------------- faults, bulk, bad input


FAULTS = [
    {"method": "PUT", "path": r"^/all/V1/products/", "status": 503, "times": 4},
    {"method": "PUT", "path": r"^/fr/V1/products/", "status": 503, "times": 2},
    {"method": "POST", "path": r"/options$", "status": 429, "retry_after": 1, "times": 2},
    {"method": "POST", "path": r"^/all/V1/categories$", "status": 502, "times": 1},
    {"method": "POST", "path": r"/child$", "status": 500, "times": 1},
    # A write that times out on our side and is then applied anyway (indeterminate, like a real server).
    {"method": "PUT", "path": r"^/all/V1/products/bag-tote", "status": None, "hang_ms": 700, "times": 1},
    {"method": "POST", "path": r"/options$", "status": None, "hang_ms": 700, "times": 1},
]


def test_faults_end_in_the_state_of_a_clean_run(sb: SandboxHandle, synced_catalog: SyncedCatalog, clean: Run) -> None:
    reference = normalized(clean.state)
    faulty = run(sb, synced_catalog, faults=FAULTS, timeout_seconds=0.4)
    assert failed(faulty.initial) == [] and failed(faulty.changes) == []
    assert faulty.stats_initial["faults_injected"] >= 10
    assert faulty.stats["schema_errors"] == 0 and faulty.stats["max_in_flight_per_sku"] <= 1
    assert normalized(faulty.state) == reference
    assert normalized(faulty.state_initial) == normalized(clean.state_initial)


@pytest.mark.parametrize("faults", [None, "faults"])
def test_bulk_mode_ends_in_the_state_of_a_clean_run(
    sb: SandboxHandle, synced_catalog: SyncedCatalog, clean: Run, faults: str | None
) -> None:
    rules = None
    if faults:
        rules = [
            {"method": "POST", "path": r"^/all/async/bulk/V1/products$", "status": 503, "times": 1},
            {"method": "POST", "path": r"^/fr/async/bulk/V1/products$", "status": 503, "times": 1},
            {"method": "GET", "path": r"/detailed-status$", "status": 503, "times": 2},
        ]
    bulk = run(sb, synced_catalog, faults=rules, bulk=True, batch_size=4)
    assert failed(bulk.initial) == [] and failed(bulk.changes) == []
    assert any(r["path"] == "/all/async/bulk/V1/products" for r in bulk.change_requests)
    assert bulk.stats["schema_errors"] == 0 and bulk.stats["max_in_flight_per_sku"] <= 1
    assert normalized(bulk.state) == normalized(clean.state)


def test_bulk_operation_statuses_decide_results(sb: SandboxHandle, synced_catalog: SyncedCatalog) -> None:
    sb.reset()
    structure = [m for m in synced_catalog.initial if m.entity_type not in ("product", "product_model")]
    context = new_context()
    deliver(make_driver(sb), structure, context)
    gift, rain = (next(m for m in synced_catalog.initial if m.code == c) for c in ("gift-card", "rain-jacket"))
    with sb.client() as client:  # a product already holding gift-card's url key: its operation fails (3)
        squatter = {"sku": "squatter", "name": "x", "price": 1,
                    "custom_attributes": [{"attribute_code": "url_key", "value": "gift-card-gift-card"}]}  # fmt: skip
        assert client.post("/all/V1/products", json={"product": squatter}).status_code == 200
    refused = deliver(make_driver(sb, bulk=True), [gift], context)[0]
    assert refused.status == "permanent"
    assert refused.message.endswith("failed: URL key for specified store already exists.")
    sb.configure(bulk_operation_delay_ms=1500)  # still open (4) when the polling time is up
    late = deliver(make_driver(sb, bulk=True, timeout_seconds=0.5), [rain], context)[0]
    assert late.status == "retryable" and "still open" in late.message
    sb.configure(bulk_operation_delay_ms=0)  # (the open operation is already in the consumer's hands)
    seq = len(sb.requests())
    again = deliver(make_driver(sb, bulk=True, timeout_seconds=5), [rain], context)[0]
    assert again.status == "success" and sb.state()["products"]["rain-jacket"]["values"]["admin"]["price"] == 89.0
    # The redelivery waited for the open global save instead of submitting it again, then sent the views.
    posts = [r["path"] for r in sb.requests(seq) if r["method"] == "POST"]
    assert sorted(posts) == ["/de/async/bulk/V1/products", "/fr/async/bulk/V1/products"]


def test_a_refused_product_ends_permanent_with_magentos_message(sb: SandboxHandle, synced_catalog) -> None:
    sb.reset()
    with sb.client() as client:
        squatter = {"sku": "squatter", "name": "x", "price": 1,
                    "custom_attributes": [{"attribute_code": "url_key", "value": "slim-jeans-jeans-slim"}]}  # fmt: skip
        client.post("/all/V1/products", json={"product": squatter}).raise_for_status()
    context = new_context()
    results = deliver_until_done(make_driver(sb), synced_catalog.initial, context)
    jeans = next(m for m in synced_catalog.initial if m.code == "jeans-slim")
    assert results[jeans.mutation_id].status == "permanent"
    assert results[jeans.mutation_id].message == (
        "Magento answered 400 to PUT /all/V1/products/jeans-slim: URL key for specified store already exists."
    )
    assert [mid for mid, r in results.items() if r.status != "success"] == [jeans.mutation_id]


def test_products_before_their_dependencies_are_retryable_never_permanent(sb, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    models = [m for m in synced_catalog.initial if m.entity_type == "product_model"]
    items = [m for m in synced_catalog.initial if m.entity_type == "product"]
    early = {m.code: r for m, r in zip(items, deliver(driver, items, context), strict=True)}
    assert {r.status for r in early.values()} == {"retryable"}
    assert "not yet in Magento: attribute color, attribute ean" in early["jeans-slim"].message
    structure = [m for m in synced_catalog.initial if m.entity_type not in ("product", "product_model")]
    assert failed(deliver_until_done(driver, structure, context)) == []
    # Their configurables not there yet: simple products land, variants are saved and wait for the link.
    without_models = {m.code: r for m, r in zip(items, deliver(driver, items, context), strict=True)}
    waiting = {code for code, r in without_models.items() if r.status == "retryable"}
    assert waiting == {m.code for m in items if m.payload["parent"]}
    assert "configurable tshirt_classic (product model)" in without_models["tshirt-classic-red-s"].message
    assert "tshirt-classic-red-s" in sb.state()["products"]
    seq = len(sb.requests())
    assert failed(deliver_until_done(driver, models + [m for m in items if m.code in waiting], context)) == []
    assert len(sb.state()["products"]["tshirt_classic"]["children"]) == 4
    resent = [r["path"] for r in sb.requests(seq) if r["method"] == "PUT" and "/tshirt-classic-red-s" in r["path"]]
    assert resent == []  # what had landed is remembered: the retry only links


def test_on_delete_disable_keeps_the_product_disabled_and_unlinked(sb, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb, on_delete="disable")
    deliver_until_done(driver, synced_catalog.initial, context)
    deleted = [m for m in synced_catalog.changes if m.operation == "deleted" and m.entity_type == "product"]
    assert {r.status for r in deliver(driver, deleted, context)} == {"success"}
    products = sb.state()["products"]
    assert products["tshirt-classic-blue-m"]["values"]["admin"]["status"] == 2
    assert "tshirt-classic-blue-m" not in products["tshirt_classic"]["children"]
    assert context.mappings.find("product", deleted[0].entity_uuid) is None
    option = next(m for m in synced_catalog.initial if m.code == "color.red")
    assert context.mappings.find("attribute_option", entity_uuid("attribute_option", "color.red")).external_id
    assert option.entity_uuid == entity_uuid("attribute_option", "color.red")


def _copy(m: MutationData, mutation_id: int, **payload: Any) -> MutationData:
    return m.model_copy(update={"mutation_id": mutation_id, "payload": {**m.payload, **payload}})


def test_a_variant_moved_to_another_root_changes_configurable(sb: SandboxHandle, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    assert failed(deliver_until_done(driver, synced_catalog.initial, context)) == []
    by_code = {m.code: m for m in synced_catalog.initial}
    other = _copy(by_code["bag_tote"], 900, code="bag_tote_xl", uuid=entity_uuid("product_model", "bag_tote_xl"))
    other = other.model_copy(update={"code": "bag_tote_xl", "entity_uuid": entity_uuid("product_model", "bag_tote_xl")})
    moved = _copy(by_code["bag-tote-black"], 901, parent="bag_tote_xl", root_parent="bag_tote_xl")
    moved = moved.model_copy(update={"operation": "updated", "changed_fields": ["parent"]})
    assert failed(deliver_until_done(driver, [other, moved], context)) == []
    products = sb.state()["products"]
    assert products["bag_tote"]["children"] == ["bag-tote-green"]
    assert products["bag_tote_xl"]["children"] == ["bag-tote-black"]
    assert context.mappings.find("product", moved.entity_uuid).external_data["linked_to"] == "bag_tote_xl"


def test_two_mutations_of_one_new_sku_in_a_batch_make_one_product(sb: SandboxHandle, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb, max_concurrency=8)
    structure = [m for m in synced_catalog.initial if m.entity_type not in ("product", "product_model")]
    deliver(driver, structure, context)
    gift = next(m for m in synced_catalog.initial if m.code == "gift-card")
    twins = [_copy(gift, 800 + n).model_copy(update={"entity_uuid": f"twin-{n}"}) for n in range(6)]
    sb.configure(write_delay_ms=20)  # writes last long enough to overlap if two were ever sent at once
    assert {r.status for r in deliver(driver, twins, context)} == {"success"}
    assert [sku for sku in sb.state()["products"]] == ["gift-card"]
    assert sb.stats()["max_in_flight_per_sku"] == 1 and sb.stats()["sku_overlaps"] == 0


def test_a_product_deleted_by_hand_in_magento_is_sent_again_in_full(sb: SandboxHandle, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    assert failed(deliver_until_done(driver, synced_catalog.initial, context)) == []
    with sb.client() as client:
        assert client.delete("/all/V1/products/jeans-slim").json() is True
    change = next(m for m in synced_catalog.changes if m.code == "jeans-slim")
    assert deliver(driver, [change], context)[0].status == "success"
    jeans = sb.state()["products"]["jeans-slim"]["values"]
    assert jeans["admin"]["name"] == "Slim jeans" and jeans["admin"]["price"] == 59.9
    assert jeans["fr"]["name"] == "Jean slim brut" and jeans["de"]["name"] == "Schmale Jeans"


# ----------------------------------------------------------------- renamed and re-created SKUs


def _renamed(m: MutationData, mutation_id: int, sku: str) -> MutationData:
    """The `updated` mutation IEC delivers when a product's identifier changes in Akeneo (same uuid)."""
    values = [{**v, "value": sku} if v["attribute_code"] == "sku" else v for v in m.payload["values"]]
    return m.model_copy(update={
        "mutation_id": mutation_id, "code": sku, "operation": "updated", "changed_fields": ["identifier", "sku"],
        "previous": m.payload, "payload": {**m.payload, "identifier": sku, "values": values},
    })  # fmt: skip


def _deleted(m: MutationData, mutation_id: int) -> MutationData:
    """IEC's `deleted` mutation: the payload names the last identifier IEC saw, `previous` is the last state."""
    payload = {"identifier": m.payload["identifier"], "uuid": m.payload["uuid"]}
    return m.model_copy(update={"mutation_id": mutation_id, "operation": "deleted", "changed_fields": [],
                                "payload": payload, "previous": m.payload})  # fmt: skip


def _writes(sb: SandboxHandle, since: int) -> list[tuple[str, str]]:
    return [(r["method"], r["path"]) for r in sb.requests(since) if r["method"] != "GET"]


@pytest.mark.parametrize(("on_delete", "bulk"), [("delete", False), ("disable", False), ("delete", True)])
def test_a_renamed_sku_replaces_the_old_product(sb: SandboxHandle, synced_catalog, on_delete: str, bulk: bool) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb, on_delete=on_delete, bulk=bulk, batch_size=4)
    assert failed(deliver_until_done(driver, synced_catalog.initial, context)) == []
    red_s = next(m for m in synced_catalog.initial if m.code == "tshirt-classic-red-s")
    old_id = context.mappings.find("product", red_s.entity_uuid).external_id
    renamed = _renamed(red_s, 960, "tshirt-classic-red-small")
    assert failed(deliver_until_done(driver, [renamed], context)) == []
    products = sb.state()["products"]
    new = products["tshirt-classic-red-small"]
    assert str(new["id"]) != old_id and new["parents"] == ["tshirt_classic"]
    assert new["values"]["fr"]["url_key"].endswith("-tshirt-classic-red-small")
    assert "tshirt-classic-red-small" in products["tshirt_classic"]["children"]
    assert "tshirt-classic-red-s" not in products["tshirt_classic"]["children"]
    if on_delete == "delete":
        assert "tshirt-classic-red-s" not in products
    else:  # disabled, unlinked, and still the same Magento product
        old = products["tshirt-classic-red-s"]
        assert old["values"]["admin"]["status"] == 2 and old["parents"] == [] and str(old["id"]) == old_id
    mapping = context.mappings.find("product", red_s.entity_uuid)
    assert mapping.external_data["sku"] == "tshirt-classic-red-small" and mapping.external_id == str(new["id"])
    assert mapping.external_data["linked_to"] == "tshirt_classic"
    # Redelivered: nothing to remove, nothing to send.
    seq = len(sb.requests())
    assert deliver(driver, [renamed], context)[0].status == "success"
    assert _writes(sb, seq) == []
    # Deleted later under the identifier IEC saw before the rename: the SKU Magento knows goes.
    seq = len(sb.requests())
    gone = deliver(driver, [_deleted(red_s, 961)], context)[0]
    assert gone.status == "success" and gone.forget_mapping
    products = sb.state()["products"]
    if on_delete == "delete":
        assert "tshirt-classic-red-small" not in products
        assert _writes(sb, seq) == [("DELETE", "/all/V1/products/tshirt-classic-red-small")]
    else:
        assert products["tshirt-classic-red-small"]["values"]["admin"]["status"] == 2
        assert products["tshirt-classic-red-s"]["values"]["admin"]["status"] == 2
    assert "tshirt-classic-red-small" not in products["tshirt_classic"]["children"]


def _wait_until_gone(sb: SandboxHandle, sku: str) -> None:
    for _ in range(100):  # a hung request is applied after its hang
        if sku not in sb.state()["products"]:
            return
        time.sleep(0.02)
    raise AssertionError(f"{sku} is still in Magento")


def test_a_rename_redelivered_after_its_old_sku_went_lands(sb: SandboxHandle, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    assert failed(deliver_until_done(driver, synced_catalog.initial, context)) == []
    gift = next(m for m in synced_catalog.initial if m.code == "gift-card")
    renamed = _renamed(gift, 962, "gift-card-2")
    # The old SKU's DELETE is applied by Magento, but its answer is lost: the rename is retried.
    sb.set_faults([{"method": "DELETE", "path": r"^/all/V1/products/gift-card$", "status": None, "hang_ms": 600}])
    assert deliver(make_driver(sb, timeout_seconds=0.3), [renamed], context)[0].status == "retryable"
    sb.clear_faults()
    _wait_until_gone(sb, "gift-card")
    seq = len(sb.requests())
    assert deliver(driver, [renamed], context)[0].status == "success"
    assert ("DELETE", "/all/V1/products/gift-card") not in _writes(sb, seq)  # the GET said 404: nothing to do
    products = sb.state()["products"]
    assert "gift-card" not in products and products["gift-card-2"]["values"]["admin"]["name"] == "Gift card"
    assert context.mappings.find("product", gift.entity_uuid).external_id == str(products["gift-card-2"]["id"])


def test_a_delete_never_removes_a_product_re_created_with_the_same_sku(sb: SandboxHandle, synced_catalog) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    assert failed(deliver_until_done(driver, synced_catalog.initial, context)) == []
    by_code = {m.code: m for m in synced_catalog.initial}

    def recreated(m: MutationData, mutation_id: int) -> MutationData:  # deleted in Akeneo, then made again
        uuid = f"{m.entity_uuid[:-4]}beef"
        return _copy(m, mutation_id, uuid=uuid).model_copy(update={"entity_uuid": uuid, "operation": "created"})

    # In one batch, even listed create first: the delete goes first, the new product stays.
    jeans, new_jeans = _deleted(by_code["jeans-slim"], 970), recreated(by_code["jeans-slim"], 971)
    old_id = context.mappings.find("product", jeans.entity_uuid).external_id
    assert {r.status for r in deliver(make_driver(sb, max_concurrency=8), [new_jeans, jeans], context)} == {"success"}
    product = sb.state()["products"]["jeans-slim"]
    assert str(product["id"]) != old_id
    assert context.mappings.find("product", new_jeans.entity_uuid).external_id == str(product["id"])
    assert context.mappings.find("product", jeans.entity_uuid) is None

    # A delete applied by Magento but whose answer was lost is delivered again after the re-creation.
    gift, new_gift = _deleted(by_code["gift-card"], 972), recreated(by_code["gift-card"], 973)
    sb.set_faults([{"method": "DELETE", "path": r"^/all/V1/products/gift-card$", "status": None, "hang_ms": 600}])
    assert deliver(make_driver(sb, timeout_seconds=0.3), [gift], context)[0].status == "retryable"
    sb.clear_faults()
    _wait_until_gone(sb, "gift-card")
    assert deliver(driver, [new_gift], context)[0].status == "success"
    new_id = sb.state()["products"]["gift-card"]["id"]
    seq = len(sb.requests())
    again = deliver(driver, [gift], context)[0]
    assert again.status == "success" and again.forget_mapping
    assert _writes(sb, seq) == [] and sb.state()["products"]["gift-card"]["id"] == new_id
    assert context.mappings.find("product", gift.entity_uuid) is None

    # A delete of an entity this integration never delivered touches nothing, even if its SKU exists.
    seq = len(sb.requests())
    stranger = _deleted(recreated(by_code["rain-jacket"], 974), 975)
    result = deliver(driver, [stranger], context)[0]
    assert result.status == "success" and result.forget_mapping
    assert sb.requests(seq) == [] and "rain-jacket" in sb.state()["products"]
