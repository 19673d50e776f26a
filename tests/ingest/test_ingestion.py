"""Ingestion: a real akeneo-mock-server behind a strict proxy, real Dagster runs."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg
import pytest
from dagster._utils.error import SerializableErrorInfo

from devtools.sample_catalog import generated_products, product_uuid, v
from iec_pipeline.common.entity_types import ENTITY_TYPES
from iec_pipeline.ingest.partitions import FAMILY_ASSETS, FAMILY_PARTITIONS, NO_FAMILY
from iec_pipeline.ingest.requests import family_run_request
from iec_pipeline.launch import failure_message, run_sync, sync_outcome
from iec_pipeline.store.models import canonical_json
from tests.conftest import CANARIES
from tests.support import store
from tests.support.akeneo_proxy import Fault

BOTH_STORES = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


@BOTH_STORES
def test_full_sync_stores_every_entity_exactly(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    outcome = run_sync(instance, mode="full")
    assert outcome.success, outcome.errors
    assert outcome.fetched == {
        "attribute": 12, "attribute_option": 12, "family": 2, "family_variant": 2, "category": 7, "channel": 2,
        "association_type": 0, "product_model": 4, "product": 10,
    }  # fmt: skip
    url = iec_env.store_url

    jeans = product_uuid("jeans-slim")
    values = store.values_of(url, jeans)
    assert values[("name", "", "fr_FR")] == ("Jean slim", None)
    assert values[("description", "ecommerce", "de_DE")] == ("Slim fit jeans (DE web)", None)
    assert values[("description", "mobile", "en_US")] == ("Slim fit jeans (mobile)", None)
    assert values[("price", "", "")] == (
        [{"amount": "59.9", "currency": "EUR"}, {"amount": "64", "currency": "USD"}],
        None,
    )
    assert values[("weight", "", "")] == ("650", "GRAM")
    assert values[("color", "", "")] == ("blue", None)
    assert values[("material", "", "")] == (["cotton", "polyester"], None)
    assert values[("stock_qty", "", "")] == ("25", None)
    product = store.row(url, "product", "jeans-slim")
    assert product["family"] == "clothing" and product["categories"] == ["pants", "sale"] and product["enabled"]

    assert store.row(url, "product", "gift-card")["family"] is None
    assert store.row(url, "product", "old-jacket")["enabled"] is False

    # Variants keep their own values; the parent chain is in the store.
    variant = store.row(url, "product", "tshirt-classic-red-s")
    assert variant["parent"] == "tshirt_classic_red"
    assert store.row(url, "product_model", "tshirt_classic_red")["parent"] == "tshirt_classic"
    assert set(a for a, _, _ in store.values_of(url, variant["uuid"])) == {"size", "sku", "ean", "weight", "stock_qty"}
    assert store.row(url, "product_model", "tshirt_classic_red")["family_variant"] == "clothing_color_size"

    assert store.row(url, "category", "tshirts")["parent"] == "clothing"
    assert store.row(url, "category", "clothing")["parent"] == "master"
    assert store.row(url, "category", "master")["parent"] is None
    mobile = store.row(url, "channel", "mobile")
    assert (mobile["locales"], mobile["currencies"], mobile["category_tree"]) == (["en_US", "fr_FR"], ["EUR"], "master")
    assert store.row(url, "attribute_option", "color.red")["labels"]["fr_FR"] == "Rouge"
    assert store.row(url, "attribute", "weight")["metric_family"] == "Weight"
    variant_def = store.row(url, "family_variant", "clothing_color_size")["variant_attribute_sets"]
    assert [s["axes"] for s in variant_def] == [["color"], ["size"]]
    assert store.row(url, "family", "clothing")["attribute_requirements"]["mobile"] == ["name", "sku"]

    # The diff copies staged fields in SQL: JSON columns hold canonical text (what SQL compares with `=`),
    # booleans their own type, on both databases.
    for entity in ENTITY_TYPES:
        for name, text in store.column_texts(url, entity.name).items():
            assert all(t is None or t == canonical_json(json.loads(t)) for t in text), (entity.name, name)
    assert store.row(url, "attribute", "stock_qty")["decimals_allowed"] is False
    assert store.row(url, "attribute", "name")["localizable"] is True


@BOTH_STORES
def test_incremental_sync_fetches_only_what_changed(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(150, updated="2026-01-10T08:00:00+00:00"))
        seeder.patch_products(generated_products(1, 150, updated="2026-01-10T12:00:00+00:00"))
    assert run_sync(instance, mode="full").success
    with akeneo.seeder() as seeder:
        seeder.upsert("products-uuid", product_uuid("gen-0000007"), {
            "values": {"stock_qty": [{"locale": None, "scope": None, "data": 99}]},
            "updated": "2026-01-11T09:30:00+00:00",
        })  # fmt: skip
    akeneo.proxy.reset()
    outcome = run_sync(instance, mode="incremental")
    assert outcome.success, outcome.errors
    assert outcome.fetched["product"] == 2  # the change, and the one product inside the 5-minute overlap
    assert outcome.mutations == {"created": 0, "updated": 1, "deleted": 0}
    listing = akeneo.proxy.requests(r"GET /api/rest/v1/products-uuid\?")
    search = json.loads(akeneo.proxy.query(listing[0])["search"][0])
    assert search["updated"] == [{"operator": ">", "value": "2026-01-10 11:54:59"}]  # watermark - overlap
    assert store.values_of(iec_env.store_url, product_uuid("gen-0000007"))[("stock_qty", "", "")] == ("99", None)


def test_full_sync_finds_deleted_entities(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    with akeneo.seeder() as seeder:
        seeder.delete(f"products-uuid/{product_uuid('rain-jacket')}")
        seeder.delete("categories/pants")
    outcome = run_sync(instance, mode="full")
    assert outcome.success
    assert store.row(iec_env.store_url, "product", "rain-jacket") is None
    assert store.row(iec_env.store_url, "category", "pants") is None
    assert store.values_of(iec_env.store_url, product_uuid("rain-jacket")) == {}


def test_after_a_full_sync_every_family_partition_is_materialized(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    families = {"accessories", "clothing", NO_FAMILY}
    assert set(instance.get_dynamic_partitions(FAMILY_PARTITIONS.name)) == families
    for name in FAMILY_ASSETS:
        assert instance.get_materialized_partitions(dg.AssetKey(name)) == families
    # An incremental sync keeps its watermark and leaves the partitions alone.
    assert run_sync(instance, mode="incremental").success
    assert set(instance.get_dynamic_partitions(FAMILY_PARTITIONS.name)) == families


def test_a_family_backfill_resyncs_exactly_that_family_moves_and_deletions_included(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    assert run_sync(instance, mode="full").success
    before = store.last_mutation_id(iec_env.store_url)
    with akeneo.seeder() as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"family": None})  # moved out of clothing
        s.delete(f"products-uuid/{product_uuid('old-jacket')}")  # deleted from clothing, never announced
        s.patch_products(generated_products(1))  # new in clothing
        s.upsert("products-uuid", product_uuid("rain-jacket"), {"values": {"name": [v("Storm jacket", "en_US")]}})
    outcome = sync_outcome(instance, family_run_request("clothing"))
    assert outcome.success, outcome.errors
    assert outcome.fetched == {"product": 6, "product_model": 3}  # 5 listed in clothing + jeans-slim fetched alone
    changes = {(m["code"], m["operation"]) for m in store.mutations(iec_env.store_url, since=before)}
    assert changes == {("jeans-slim", "updated"), ("old-jacket", "deleted"), ("gen-0000000", "created")}
    assert store.row(iec_env.store_url, "product", "jeans-slim")["family"] is None
    run = instance.get_run_by_id(outcome.run_id)
    assert run.job_name == "family_resync" and run.tags["dagster/partition"] == "clothing"
    assert "clothing" in instance.get_materialized_partitions(dg.AssetKey("akeneo_products_by_family"))


def test_token_is_refreshed_before_expiry_and_once_on_401(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    akeneo.proxy.state.token_ttl = 30  # under the client's 60 s margin: refresh before every use
    akeneo.proxy.inject(
        Fault(r"GET /api/rest/v1/products-uuid", status=401, message="The access token provided has expired.")
    )
    outcome = run_sync(instance, mode="full")
    assert outcome.success, outcome.errors
    grants = akeneo.proxy.state.grants
    assert grants[0] == "password" and "refresh_token" in grants
    assert store.row(iec_env.store_url, "product", "jeans-slim") is not None


def test_a_sync_asks_akeneo_for_one_token_not_one_per_step(akeneo, iec_env, instance):
    with akeneo.seeder() as seeder:
        seeder.seed()
    akeneo.proxy.state.grants.clear()  # the seeder's own
    outcome = run_sync(instance, mode="full")
    assert outcome.success, outcome.errors
    assert len(outcome.fetched) == len(ENTITY_TYPES)  # a fetch step per type...
    assert akeneo.proxy.state.grants == ["password"]  # ...one password grant


def test_429_500_and_dropped_connection_mid_pagination_end_like_a_clean_run(
    akeneo, iec_env, instance, tmp_path, monkeypatch
):
    with akeneo.seeder() as seeder:
        seeder.seed()
        seeder.patch_products(generated_products(250))
    akeneo.proxy.inject(
        Fault(r"GET /api/rest/v1/products-uuid\?", status=429, retry_after=1.2, skip=1, message="Too many requests"),
        Fault(r"GET /api/rest/v1/product-models", status=500, times=2),
        Fault(r"GET /api/rest/v1/products-uuid\?", drop=True, skip=2),  # the third page
        Fault(r"GET /api/rest/v1/attributes/\w+/options", status=503, times=2),
    )
    faulty = run_sync(instance, mode="full")
    assert faulty.success, faulty.errors
    pages = akeneo.proxy.requests(r"GET /api/rest/v1/products-uuid\?")
    throttled = next(i for i, r in enumerate(pages) if r.status == 429)
    assert pages[throttled + 1].at - pages[throttled].at >= 1.2  # waited at least Retry-After
    assert akeneo.proxy.state.max_in_flight <= 4
    assert [(f.path, f.hits) for f in akeneo.proxy.state.faults if f.hits != f.times] == []
    faulty_store = store.dump(iec_env.store_url)

    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    monkeypatch.setenv("IEC_DATABASE_URL", clean_url)
    akeneo.proxy.reset()
    assert run_sync(instance, mode="full").success
    assert store.as_json(store.dump(clean_url)) == store.as_json(faulty_store)
    assert len(faulty_store["product"]) == 260


@pytest.mark.parametrize(
    ("pattern", "status", "message", "endpoint"),
    [
        (r"GET /api/rest/v1/products-uuid\?", 422, 'The "foo" filter is not supported.', "/api/rest/v1/products-uuid"),
        (r"GET /api/rest/v1/categories\?", 404, "Resource not found", "/api/rest/v1/categories"),
    ],
)
def test_a_refused_request_names_the_endpoint_status_and_message(
    akeneo, iec_env, instance, pattern, status, message, endpoint
):
    with akeneo.seeder() as seeder:
        seeder.seed()
    akeneo.proxy.inject(Fault(pattern, status=status, message=message, times=10))
    outcome = run_sync(instance, mode="full")
    assert not outcome.success
    error = " ".join(outcome.errors)
    assert endpoint in error and f"HTTP {status}" in error and message in error


def test_a_step_that_spent_its_retries_reports_the_error_at_fault():
    """Dagster fails such a step with its own retry request; the Akeneo error is its cause."""
    cause = SerializableErrorInfo(
        "iec_pipeline.ingest.akeneo.AkeneoUnavailable: Akeneo POST /api/oauth/v1/token failed with no answer: "
        "ConnectError (gave up after 6 attempts)\n",
        [],
        "AkeneoUnavailable",
    )
    spent = SerializableErrorInfo("Exceeded max_retries of 2\n", [], "RetryRequestedFromPolicy", cause)
    assert failure_message(spent) == (
        "AkeneoUnavailable: Akeneo POST /api/oauth/v1/token failed with no answer: ConnectError "
        "(gave up after 6 attempts) (Exceeded max_retries of 2)"
    )


def test_cli_sync_and_status_json_without_leaking_secrets(akeneo, iec_env):
    with akeneo.seeder() as seeder:
        seeder.seed()
    env = {**iec_env.env, "PATH": "/usr/bin:/bin"}
    sync = subprocess.run(
        [sys.executable, "-m", "iec_pipeline.cli", "sync", "--full"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sync.returncode == 0, sync.stderr[-3000:]
    assert "fetched:" in sync.stdout and "10 product" in sync.stdout
    status = subprocess.run(
        [sys.executable, "-m", "iec_pipeline.cli", "status", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(status.stdout)
    assert report["store"] == {
        "attribute": 12, "attribute_option": 12, "family": 2, "family_variant": 2, "category": 7, "channel": 2,
        "association_type": 0, "product_model": 4, "product": 10,
    }  # fmt: skip
    leaked = [c for c in CANARIES if c in sync.stdout + sync.stderr + status.stdout + status.stderr]
    assert leaked == []
    for path in iec_env.dagster_home.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(c.encode() in content for c in CANARIES), f"secret found in {path}"
