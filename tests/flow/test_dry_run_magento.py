"""`iec deliver --dry-run` on a Magento integration: the plan, from the store alone, and not one
request at the sandbox, no job changed; the real delivery then sends what was planned."""

from __future__ import annotations

import json

from devtools.sample_catalog import AkeneoSeeder, product_uuid, v


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


def _jobs(p) -> list[tuple]:
    return [(j["id"], j["status"], j["attempts"]) for j in json.loads(ok(p.iec("jobs", "--json")))]


def test_a_magento_dry_run_plans_from_the_store_and_sends_nothing(seeded_playground):
    p = seeded_playground
    ok(p.iec("sync", "--full"))
    seq = p.sandbox("requests")["last_seq"]
    jobs = _jobs(p)
    first = json.loads(ok(p.iec("deliver", "--dry-run", "--json")))["integrations"]["shop"]
    assert first["supported"] and first["jobs"] == 49
    creates = {c["why"] for c in first["calls"] if c["method"] == "POST"}
    assert "created category pants: create" in creates, [c for c in first["calls"] if "category" in c["why"]]
    assert "created attribute color: create (unless Magento has it: then an update)" in creates
    assert p.sandbox("requests")["last_seq"] == seq and _jobs(p) == jobs  # not one request, no job changed

    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    price = [v([{"amount": "39.90", "currency": "EUR"}, {"amount": "44.00", "currency": "USD"}])]
    with AkeneoSeeder(p.mock.url) as s:
        s.upsert("products-uuid", product_uuid("jeans-slim"), {"values": {"price": price}})
    ok(p.iec("sync", "--full"))
    seq = p.sandbox("requests")["last_seq"]
    planned = json.loads(ok(p.iec("deliver", "--dry-run", "--json")))["integrations"]["shop"]
    assert [(c["method"], c["target"]) for c in planned["calls"]] == [("PUT", "/all/V1/products/jeans-slim")]
    assert p.sandbox("requests")["last_seq"] == seq
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    sent = [r for r in p.sandbox("requests")["requests"] if r["seq"] > seq and r["method"] != "GET"]
    assert [(r["method"], r["path"].split("/V1/")[-1]) for r in sent] == [("PUT", "products/jeans-slim")]
    assert p.magento("products/jeans-slim")["price"] == 39.9
