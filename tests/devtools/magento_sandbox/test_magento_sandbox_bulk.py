"""Async bulk: acceptance, background application, detailed status."""

from __future__ import annotations

import httpx


def item(sku: str, name: str | None = None, **extra) -> dict:
    return {"product": {"sku": sku, "name": name or f"Bulk {sku}", "price": 3, **extra}, "saveOptions": True}


def test_bulk_is_accepted_applied_and_reported(client: httpx.Client, sb) -> None:
    body = [item("B1"), item("B2"), item("B3", name="Bulk B1")]  # B3 clashes with B1's url key
    accepted = client.post("/all/async/bulk/V1/products", json=body)
    assert accepted.status_code == 202
    data = accepted.json()
    assert data["errors"] is False and len(data["request_items"]) == 3
    assert data["request_items"][0]["status"] == "accepted" and len(data["request_items"][0]["data_hash"]) == 64
    assert sb.drain_bulks() == 0
    detailed = client.get(f"/V1/bulk/{data['bulk_uuid']}/detailed-status").json()
    assert detailed["bulk_id"] == data["bulk_uuid"] and detailed["operation_count"] == 3
    statuses = [(op["id"], op["status"]) for op in detailed["operations_list"]]
    assert statuses == [(0, 1), (1, 1), (2, 3)]
    failed = detailed["operations_list"][2]
    assert failed["result_message"] == "URL key for specified store already exists." and failed["error_code"] == 0
    assert failed["topic_name"] == "async.magento.catalog.api.productrepositoryinterface.save.post"
    summary = client.get(f"/V1/bulk/{data['bulk_uuid']}/status").json()
    assert [op["status"] for op in summary["operations_list"]] == [1, 1, 3]
    assert client.get(f"/V1/bulk/{data['bulk_uuid']}/operation-status/1").json() == 2
    assert client.get("/V1/products/B2").status_code == 200
    assert client.get("/V1/products/B3").status_code == 404
    assert sb.stats()["bulk_operations"] == {"1": 2, "3": 1}


def test_bulk_uses_the_store_scope_of_its_url(client: httpx.Client, sb) -> None:
    client.post("/all/V1/products", json=item("S1"))
    accepted = client.post("/fr/async/bulk/V1/products", json=[{"product": {"sku": "S1", "name": "Nom FR"}}])
    assert accepted.status_code == 202
    sb.drain_bulks()
    assert sb.state()["products"]["S1"]["values"]["fr"] == {"name": "Nom FR"}
    no_code = client.post("/async/bulk/V1/products", json=[{"product": {"sku": "S1", "name": "Default view"}}])
    assert no_code.status_code == 202
    sb.drain_bulks()
    assert sb.state()["products"]["S1"]["values"]["default"] == {"name": "Default view"}


def test_invalid_element_rejects_the_whole_bulk(client: httpx.Client, sb) -> None:
    body = [item("V1"), {"product": {"sku": "V2", "name": "x", "price": "3"}}]
    response = client.post("/async/bulk/V1/products", json=body)
    assert response.status_code == 400 and response.json()["parameters"] == ["3", "float"]
    assert sb.requests()[-1]["schema_errors"][0]["path"] == "[1].product.price"
    assert sb.state()["bulks"] == {}
    not_a_list = client.post("/async/bulk/V1/products", json=item("V1"))
    assert not_a_list.status_code == 400


def test_bulk_put_and_delete_by_sku_and_unknown_routes(client: httpx.Client, sb) -> None:
    put = client.put("/all/async/bulk/V1/products/bySku", json=[item("K1"), item("K2")])
    assert put.status_code == 202
    sb.drain_bulks()
    delete = client.request("DELETE", "/async/bulk/V1/products/bySku", json=[{"sku": "K1"}, {"sku": "NOPE"}])
    assert delete.status_code == 202
    sb.drain_bulks()
    ops = client.get(f"/V1/bulk/{delete.json()['bulk_uuid']}/detailed-status").json()["operations_list"]
    assert [op["status"] for op in ops] == [1, 3]
    assert client.get("/V1/products/K1").status_code == 404
    assert client.post("/async/bulk/V1/categories", json=[]).status_code == 501
    assert client.post("/async/bulk/V1/nothing", json=[]).status_code == 404
    missing = client.get("/V1/bulk/00000000-0000-0000-0000-000000000000/detailed-status")
    assert missing.status_code == 404 and missing.json()["message"] == "Bulk uuid %bulkUuid not exist"


def test_bulk_operations_wait_for_the_consumer(client: httpx.Client, sb) -> None:
    sb.configure(bulk_operation_delay_ms=100)
    accepted = client.post("/all/async/bulk/V1/products", json=[item("W1"), item("W2")]).json()
    first = client.get(f"/V1/bulk/{accepted['bulk_uuid']}/status").json()
    assert [op["status"] for op in first["operations_list"]] == [4, 4]  # open: a receipt, not a result
    assert sb.drain_bulks() == 0
    done = client.get(f"/V1/bulk/{accepted['bulk_uuid']}/status").json()
    assert [op["status"] for op in done["operations_list"]] == [1, 1]
