"""Configurable products: super-attribute options and child links."""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture
def colors(client: httpx.Client) -> dict[str, int]:
    ids = {}
    for label in ("Red", "Blue"):
        value = client.post("/V1/products/attributes/color/options", json={"option": {"label": label}}).json()
        ids[label] = int(value.removeprefix("id_"))
    return ids


def simple(client: httpx.Client, sku: str, color: int | None) -> None:
    custom = [{"attribute_code": "color", "value": str(color)}] if color else []
    body = {"product": {"sku": sku, "name": sku, "price": 5, "visibility": 1, "custom_attributes": custom}}
    assert client.post("/all/V1/products", json=body).status_code == 200


def option_body(value_index: int, attribute_id: str = "93") -> dict:
    return {
        "option": {
            "attribute_id": attribute_id,
            "label": "Color",
            "position": 0,
            "values": [{"value_index": value_index}],
        }
    }


def test_options_and_children(client: httpx.Client, colors: dict[str, int], sb) -> None:
    client.post("/all/V1/products", json={"product": {"sku": "PARENT", "name": "Tee", "type_id": "configurable"}})
    simple(client, "TEE-RED", colors["Red"])
    simple(client, "TEE-BLUE", colors["Blue"])
    simple(client, "TEE-NONE", None)

    not_configurable = client.post("/V1/configurable-products/TEE-RED/options", json=option_body(colors["Red"]))
    assert not_configurable.status_code == 400
    no_options = client.post("/V1/configurable-products/PARENT/child", json={"childSku": "TEE-RED"})
    assert no_options.status_code == 400
    text_attr = client.post("/V1/configurable-products/PARENT/options", json=option_body(1, "121"))
    assert text_attr.status_code == 400  # url_key is not a select

    created = client.post("/V1/configurable-products/PARENT/options", json=option_body(colors["Red"]))
    assert created.status_code == 200 and isinstance(created.json(), int)
    option_id = created.json()
    options = client.get("/V1/configurable-products/PARENT/options/all").json()
    assert options[0]["attribute_id"] == "93" and options[0]["values"] == [{"value_index": colors["Red"]}]
    assert client.get(f"/V1/configurable-products/PARENT/options/{option_id}").json()["id"] == option_id

    assert client.post("/V1/configurable-products/PARENT/child", json={"childSku": "TEE-RED"}).json() is True
    assert client.post("/V1/configurable-products/PARENT/child", json={"childSku": "TEE-BLUE"}).json() is True
    again = client.post("/V1/configurable-products/PARENT/child", json={"childSku": "TEE-RED"})
    assert again.status_code == 400 and again.json()["message"] == "The product is already attached."
    missing_value = client.post("/V1/configurable-products/PARENT/child", json={"childSku": "TEE-NONE"})
    assert missing_value.status_code == 400 and missing_value.json()["parameters"] == ["color"]
    unknown = client.post("/V1/configurable-products/PARENT/child", json={"childSku": "NOPE"})
    assert unknown.status_code == 404

    children = client.get("/V1/configurable-products/PARENT/children").json()
    assert [c["sku"] for c in children] == ["TEE-RED", "TEE-BLUE"]
    parent = client.get("/V1/products/PARENT").json()
    assert len(parent["extension_attributes"]["configurable_product_links"]) == 2

    assert client.delete("/V1/configurable-products/PARENT/children/TEE-BLUE").json() is True
    not_linked = client.delete("/V1/configurable-products/PARENT/children/TEE-BLUE")
    assert not_linked.status_code == 404
    client.delete("/V1/products/TEE-RED")  # deleting a child unlinks it
    assert client.get("/V1/configurable-products/PARENT/children").json() == []
    assert client.delete(f"/V1/configurable-products/PARENT/options/{option_id}").json() is True
    assert client.get("/V1/configurable-products/PARENT/options/all").json() == []


def test_links_in_product_save(client: httpx.Client, colors: dict[str, int], sb) -> None:
    simple(client, "A", colors["Red"])
    simple(client, "B", colors["Red"])
    ids = {p["sku"]: p["id"] for p in client.get("/V1/products").json()["items"]}
    ext = {
        "configurable_product_options": [option_body(colors["Red"])["option"]],
        "configurable_product_links": [ids["A"]],
    }
    body = {"product": {"sku": "P", "name": "P", "type_id": "configurable", "extension_attributes": ext}}
    saved = client.post("/all/V1/products", json=body)
    assert saved.status_code == 200
    assert saved.json()["extension_attributes"]["configurable_product_links"] == [ids["A"]]
    same = {**ext, "configurable_product_links": [ids["A"], ids["B"]]}
    clash = client.put("/all/V1/products/P", json={"product": {"sku": "P", "extension_attributes": same}})
    assert clash.status_code == 400
    assert clash.json()["message"] == 'Products "%1" and "%2" have the same set of attribute values.'
    # like Magento's afterSave plugin, the links were saved before the check failed
    assert sb.state()["products"]["P"]["children"] == ["A", "B"]
