"""`iec integrations verify` on Magento: a price edited in Magento's admin (here, straight into the
sandbox) is reported as drift and restored by `--repair`; the check reads with GETs only."""

from __future__ import annotations

import json

import httpx
import pytest


def ok(result) -> str:
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    return result.stdout


@pytest.fixture
def live(seeded_playground):
    ok(seeded_playground.iec("sync", "--full"))
    ok(seeded_playground.iec("deliver", "--wait", "--timeout", "300"))
    return seeded_playground


def test_a_price_edited_in_magento_is_reported_and_repaired(live):
    p = live
    clean = json.loads(ok(p.iec("integrations", "verify", "shop", "--json")))
    assert clean["counts"] == {"missing": 0, "extra": 0, "different": 0}, clean["drift"][:5]
    assert clean["checked"] == 14  # 10 products, 4 product models (sub-models are skipped: not Magento products)

    httpx.put(
        f"{p.magento_url}/rest/all/V1/products/jeans-slim", json={"product": {"sku": "jeans-slim", "price": 1.0}},
        headers={"Authorization": f"Bearer {p.magento_token}"}, timeout=30,
    ).raise_for_status()  # fmt: skip
    seq = p.sandbox("requests")["last_seq"]
    drifted = json.loads(ok(p.iec("integrations", "verify", "shop", "--json")))
    assert drifted["counts"]["different"] == 1
    (drift,) = drifted["drift"]
    assert (drift["code"], drift["scope"], drift["field"], drift["theirs"]) == ("jeans-slim", "all", "price", 1.0)
    assert float(drift["ours"]) == 59.9
    assert {r["method"] for r in p.sandbox("requests")["requests"] if r["seq"] > seq} == {"GET"}  # reads only

    repaired = json.loads(ok(p.iec("integrations", "verify", "shop", "--repair", "--json")))
    assert repaired["repaired"] == 1
    ok(p.iec("deliver", "--wait", "--timeout", "300"))
    assert p.magento("products/jeans-slim")["price"] == 59.9
    after = json.loads(ok(p.iec("integrations", "verify", "shop", "--json")))
    assert after["counts"] == {"missing": 0, "extra": 0, "different": 0}


def test_the_verify_job_records_drift_as_the_integration_assets_check(live, monkeypatch):
    import dagster as dg

    p = live
    for name, value in p.env.items():
        monkeypatch.setenv(name, value)
    from iec_pipeline.definitions import current

    job = current().resolve_job_def("verify_shop")
    with dg.DagsterInstance.get() as instance:
        clean = job.execute_in_process(instance=instance)
        httpx.put(
            f"{p.magento_url}/rest/all/V1/products/rain-jacket", json={"product": {"sku": "rain-jacket", "status": 2}},
            headers={"Authorization": f"Bearer {p.magento_token}"}, timeout=30,
        ).raise_for_status()  # fmt: skip
        drifted = job.execute_in_process(instance=instance)
    evaluations = [
        e.event_specific_data
        for result in (clean, drifted)
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert [(ev.check_name, ev.passed) for ev in evaluations] == [("no_drift", True), ("no_drift", False)]
    assert evaluations[1].metadata["different"].value == 1 and evaluations[1].metadata["checked"].value == 14
