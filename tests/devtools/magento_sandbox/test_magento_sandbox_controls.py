"""Test controls: faults, write delay overlap, per-SKU overlap stats, log, state, reset."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from devtools.magento_sandbox.testing import SandboxHandle


def body(sku: str, name: str | None = None) -> dict:
    return {"product": {"sku": sku, "name": name or sku, "price": 1}}


def test_fault_status_times_and_retry_after(client: httpx.Client, sb) -> None:
    sb.set_faults([{"method": "PUT", "path": r"^/V1/products/F1$", "status": 503, "times": 2, "retry_after": 3}])
    first = client.put("/V1/products/F1", json=body("F1"))
    assert first.status_code == 503 and first.headers["Retry-After"] == "3"
    assert first.json() == {"message": "Service Unavailable", "parameters": []}
    assert client.get("/V1/products/F1").status_code == 404  # GET is not matched by a PUT rule
    assert client.put("/V1/products/F1", json=body("F1")).status_code == 503
    assert client.put("/V1/products/F1", json=body("F1")).status_code == 200
    assert sb.stats()["faults_injected"] == 2
    assert [e["fault"] for e in sb.requests()] == [True, False, True, False]


def test_fault_until_cleared_with_custom_message(client: httpx.Client, sb) -> None:
    sb.set_faults([{"path": "/V1/categories", "status": 500, "times": None, "message": "boom"}])
    for _ in range(3):
        response = client.get("/V1/categories/2")
        assert response.status_code == 500 and response.json()["message"] == "boom"
    sb.clear_faults()
    assert client.get("/V1/categories/2").status_code == 200


def test_hang_trips_client_timeouts_but_the_write_still_happens(sb: SandboxHandle) -> None:
    sb.set_faults([{"method": "POST", "path": "/V1/products$", "status": None, "hang_ms": 400}])
    with sb.client(timeout=0.1) as impatient, pytest.raises(httpx.ReadTimeout):
        impatient.post("/all/V1/products", json=body("H1"))
    time.sleep(0.5)
    with sb.client() as c:
        assert c.get("/V1/products/H1").status_code == 200


async def _concurrent_writes(sb: SandboxHandle, skus: list[str]) -> float:
    async with sb.async_client() as c:
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(c.put(f"/all/V1/products/{s}", json=body(s, f"n-{i}")) for i, s in enumerate(skus))
        )
        elapsed = time.perf_counter() - started
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    return elapsed


def test_write_delay_overlaps_concurrent_requests(sb: SandboxHandle) -> None:
    sb.configure(write_delay_ms=200)
    elapsed = asyncio.run(_concurrent_writes(sb, [f"C{i}" for i in range(8)]))
    assert elapsed < 0.8, elapsed  # 8 x 200 ms serially would be 1.6 s
    stats = sb.stats()
    assert stats["max_in_flight"] == 8 and stats["max_in_flight_per_sku"] == 1 and stats["sku_overlaps"] == 0
    assert stats["writes"] == 8


def test_same_sku_overlaps_are_recorded(sb: SandboxHandle) -> None:
    sb.configure(write_delay_ms=100)
    asyncio.run(_concurrent_writes(sb, ["DUP", "DUP", "DUP", "OTHER"]))
    stats = sb.stats()
    assert stats["max_in_flight_per_sku"] == 3 and stats["sku_overlaps"] == 2
    assert stats["overlapping_skus"] == {"dup": 2}


def test_request_log_since_and_state_and_reset(client: httpx.Client, sb) -> None:
    client.post("/fr/V1/products", json=body("R1"))
    client.get("/fr/V1/products/R1")
    log = sb.requests()
    assert [(e["method"], e["store_code"], e["status"], e["sku"]) for e in log] == [
        ("POST", "fr", 200, "R1"),
        ("GET", "fr", 200, "R1"),
    ]
    assert sb.requests(since=log[0]["seq"])[0]["method"] == "GET"
    state = sb.state()
    assert set(state) >= {"stores", "attributes", "attribute_sets", "categories", "products", "bulks"}
    assert state["products"]["R1"]["values"]["fr"]["name"] == "R1"
    sb.reset()
    assert sb.state()["products"] == {} and sb.requests() == [] and sb.stats()["requests"] == 0


def test_config_is_validated(sb: SandboxHandle) -> None:
    assert sb.configure(write_delay_ms=5)["write_delay_ms"] == 5
    response = httpx.post(f"{sb.base_url}/__sandbox/config", json={"nope": 1})
    assert response.status_code == 400
    faults = httpx.post(f"{sb.base_url}/__sandbox/faults", json=[{"path": "x", "bogus": 1}])
    assert faults.status_code == 400
