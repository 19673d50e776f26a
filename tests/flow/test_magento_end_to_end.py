"""Akeneo -> sync -> diff -> fan-out -> Dagster delivery runs -> the Magento 2 sandbox, via the CLI.

The driver's own tests (tests/drivers) check every field; these check the whole path as an operator
runs it: `iec sync`, `iec deliver --wait`, and what Magento then holds, read back through its REST API.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest

from devtools import akeneo_mock, playground
from devtools.sample_catalog import AkeneoSeeder, product_uuid, v
from tests.drivers.magento_support import normalized


@pytest.fixture
def stack(tmp_path, request):
    database = f"akeneo_iec_e2e_{os.getpid()}_{abs(hash(request.node.name)) % 10_000}"
    integration = getattr(request, "param", None)
    with playground.start(tmp_path, akeneo_database=database) as p:
        if integration:
            (tmp_path / "integrations.yaml").write_text(
                json.dumps({"integrations": [playground.magento_integration(p.magento_url, **integration)]})
            )
        yield p
    akeneo_mock.drop_database(database)


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


def change_the_catalog(url: str) -> None:
    with AkeneoSeeder(url) as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {
            "price": [v([{"amount": "49.90", "currency": "EUR"}, {"amount": "54.00", "currency": "USD"}])],
            "name": [v("Jean slim brut", "fr_FR")],
        }, "categories": ["pants"]})  # fmt: skip
        s.upsert("products-uuid", product_uuid("gift-card"), {"enabled": False})
        s.delete(f"products-uuid/{product_uuid('tshirt-classic-blue-m')}")
        s.upsert("attributes/color/options", "white", {"code": "white", "attribute": "color", "sort_order": 9,
                                                        "labels": {"en_US": "White", "fr_FR": "Blanc"}})  # fmt: skip
        s.upsert("products-uuid", product_uuid("rain-jacket"), {"values": {"color": [v("white")]}})


def test_the_sample_catalog_and_its_changes_reach_magento(stack):
    with AkeneoSeeder(stack.mock.url) as seeder:
        seeder.seed()
    ok(stack.iec("sync", "--full"))
    ok(stack.iec("deliver", "--wait", "--timeout", "300"))
    jobs = json.loads(ok(stack.iec("jobs", "--json")))
    assert len(jobs) == 49 and {j["status"] for j in jobs} == {"success"}

    jeans = {s: stack.magento("products/jeans-slim", store=s) for s in ("all", "fr", "de")}
    custom = {s: {a["attribute_code"]: a["value"] for a in p["custom_attributes"]} for s, p in jeans.items()}
    assert (jeans["all"]["name"], jeans["fr"]["name"], jeans["de"]["name"]) == (
        "Slim jeans",
        "Jean slim",
        "Schmale Jeans",
    )
    assert jeans["all"]["price"] == 59.9 and jeans["all"]["status"] == 1 and jeans["all"]["weight"] == 0.65
    assert (
        custom["fr"]["description"] == "Slim fit jeans (FR web)"
        and custom["all"]["description"] == "Slim fit jeans (web)"
    )
    assert len({custom[s]["url_key"] for s in custom}) == 3
    assert jeans["all"]["extension_attributes"]["website_ids"] == [1]
    assert len(jeans["all"]["extension_attributes"]["category_links"]) == 2
    children = {c["sku"] for c in stack.magento("configurable-products/tshirt_classic/children")}
    assert children == {
        "tshirt-classic-red-s",
        "tshirt-classic-red-m",
        "tshirt-classic-blue-s",
        "tshirt-classic-blue-m",
    }
    variant = stack.magento("products/tshirt-classic-red-s")
    assert variant["name"] == "Classic T-shirt" and variant["price"] == 19.99 and variant["visibility"] == 1
    stats = stack.sandbox("stats")
    assert stats["schema_errors"] == 0 and stats["max_in_flight_per_sku"] <= 1

    change_the_catalog(stack.mock.url)
    out = ok(stack.iec("sync", "--full"))
    assert "mutations: 1 created, 3 updated, 1 deleted" in out  # the new option, 3 products, the variant
    ok(stack.iec("deliver", "--wait", "--timeout", "300"))
    after = stack.magento("products/jeans-slim")
    assert after["price"] == 49.9 and stack.magento("products/jeans-slim", store="fr")["name"] == "Jean slim brut"
    assert stack.magento("products/jeans-slim", store="de")["name"] == "Schmale Jeans"  # other views untouched
    assert len(after["extension_attributes"]["category_links"]) == 1
    assert stack.magento("products/gift-card")["status"] == 2
    with pytest.raises(httpx.HTTPStatusError):
        stack.magento("products/tshirt-classic-blue-m")
    assert "tshirt-classic-blue-m" not in {
        c["sku"] for c in stack.magento("configurable-products/tshirt_classic/children")
    }
    white = {o["label"]: o["value"] for o in stack.magento("products/attributes/color/options")}["white"]
    rain = {a["attribute_code"]: a["value"] for a in stack.magento("products/rain-jacket")["custom_attributes"]}
    assert rain["color"] == white
    assert stack.sandbox("stats")["schema_errors"] == 0


@pytest.mark.parametrize("stack", [{"bulk": True, "timeout_seconds": 2.0}], indirect=True)
def test_faults_and_the_bulk_api_end_in_the_same_state_as_a_clean_run(stack, tmp_path):
    with AkeneoSeeder(stack.mock.url) as seeder:
        seeder.seed()
    ok(stack.iec("sync", "--full"))
    httpx.post(f"{stack.magento_url}/__sandbox/faults", json=[
        {"method": "POST", "path": r"^/all/async/bulk/V1/products$", "status": 503, "times": 2},
        {"method": "PUT", "path": r"^/all/V1/products/", "status": 503, "times": 3},
        {"method": "POST", "path": r"/options$", "status": None, "hang_ms": 2500, "times": 1},
        {"method": "GET", "path": r"/detailed-status$", "status": 502, "times": 2},
    ])  # fmt: skip
    ok(stack.iec("deliver", "--wait", "--timeout", "300"))
    jobs = json.loads(ok(stack.iec("jobs", "--json")))
    assert {j["status"] for j in jobs} == {"success"}
    assert any(j["attempts"] > 1 for j in jobs)  # the faults were met, and overcome
    faulty = normalized(stack.sandbox("state"))

    # The same catalog through a clean, non-bulk run, into a fresh sandbox: the same Magento state.
    with playground.start(tmp_path / "clean", akeneo_database=stack.mock.database, fresh=False) as clean:
        ok(clean.iec("sync", "--full"))
        ok(clean.iec("deliver", "--wait", "--timeout", "300"))
        assert normalized(clean.sandbox("state")) == faulty


def test_a_permanent_error_ends_dead_with_magentos_message(stack):
    with AkeneoSeeder(stack.mock.url) as seeder:
        seeder.seed()
    ok(stack.iec("sync", "--full"))
    httpx.post(f"{stack.magento_url}/__sandbox/faults", json=[
        {"method": "PUT", "path": r"^/all/V1/products/jeans-slim", "status": 400, "times": 100,
         "message": "The value of attribute \"ean\" must be unique."},
    ])  # fmt: skip
    ok(stack.iec("deliver", "--wait", "--timeout", "300"))
    dead = json.loads(ok(stack.iec("jobs", "--status", "dead", "--json")))
    assert [j["code"] for j in dead] == ["jeans-slim"]
    assert 'The value of attribute "ean" must be unique.' in dead[0]["last_error"] and dead[0]["attempts"] == 1
    assert stack.magento_token not in dead[0]["last_error"]
