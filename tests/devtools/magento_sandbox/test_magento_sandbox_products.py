"""Products: upserts, store scopes, URL keys, option ids, search."""

from __future__ import annotations

import httpx
import pytest

from devtools.magento_sandbox import errors


def product(sku: str, **extra) -> dict:
    return {"product": {"sku": sku, "name": f"Product {sku}", "price": 10, "attribute_set_id": 4, **extra}}


def custom(data: dict, code: str):
    return next((c["value"] for c in data["custom_attributes"] if c["attribute_code"] == code), None)


def add_option(client: httpx.Client, code: str, label: str) -> str:
    response = client.post(f"/V1/products/attributes/{code}/options", json={"option": {"label": label}})
    assert response.status_code == 200, response.text
    return response.json().removeprefix("id_")


def test_upsert_get_delete(client: httpx.Client) -> None:
    created = client.post("/all/V1/products", json=product("P1", weight=2.5))
    assert created.status_code == 200
    data = created.json()
    assert data["id"] == 1 and data["type_id"] == "simple" and data["status"] == 1 and data["visibility"] == 4
    assert data["extension_attributes"]["website_ids"] == [1]
    assert custom(data, "url_key") == "product-p1"
    updated = client.put("/all/V1/products/P1", json={"product": {"sku": "P1", "price": 12}})
    assert updated.status_code == 200 and updated.json()["id"] == 1 and updated.json()["price"] == 12
    again = client.post("/all/V1/products", json={"product": {"sku": "P1", "name": "Renamed"}})
    assert again.json()["id"] == 1 and again.json()["name"] == "Renamed"  # POST is an upsert too
    assert client.get("/V1/products/P1").json()["weight"] == 2.5
    assert client.delete("/V1/products/P1").json() is True
    missing = client.get("/V1/products/P1")
    assert missing.status_code == 404
    assert missing.json() == {"message": errors.PRODUCT_NOT_FOUND, "parameters": []}
    assert client.delete("/V1/products/P1").status_code == 404


def test_new_product_needs_name_and_price(client: httpx.Client) -> None:
    no_name = client.post("/V1/products", json={"product": {"sku": "N1", "price": 1}})
    assert no_name.status_code == 400 and no_name.json()["parameters"] == ["Product Name"]
    no_price = client.post("/V1/products", json={"product": {"sku": "N1", "name": "x"}})
    assert no_price.status_code == 400 and no_price.json()["parameters"] == ["Price"]
    conf = client.post("/V1/products", json={"product": {"sku": "N1", "name": "x", "type_id": "configurable"}})
    assert conf.status_code == 200
    long_sku = client.post("/V1/products", json=product("X" * 65))
    assert long_sku.status_code == 400 and long_sku.json()["parameters"] == [64]


def test_sku_lookup_is_case_insensitive_like_mysql(client: httpx.Client, sb) -> None:
    client.post("/all/V1/products", json=product("Case-1"))
    response = client.post("/all/V1/products", json=product("case-1", name="Other"))
    assert response.json()["id"] == 1 and response.json()["sku"] == "Case-1"
    assert "insensitive" in sb.requests()[-1]["warnings"][0]
    assert client.get("/V1/products/CASE-1").status_code == 200


def test_store_scoped_save_copies_sent_attributes(client: httpx.Client, sb) -> None:
    client.post(
        "/all/V1/products",
        json=product("S1", custom_attributes=[{"attribute_code": "description", "value": "EN"}]),
    )
    body = {
        "product": {
            "sku": "S1",
            "name": "Chemise",
            "price": 99,
            "status": 1,
            "custom_attributes": [{"attribute_code": "description", "value": "EN"}],
        }
    }
    assert client.put("/fr/V1/products/S1", json=body).status_code == 200
    values = sb.state()["products"]["S1"]["values"]
    assert values["fr"] == {"name": "Chemise", "description": "EN", "status": 1}  # copied even if unchanged
    assert values["admin"]["price"] == 99  # price is global
    assert values["default"] == {"status": 1} and values["de"] == {"status": 1}  # status is website-scoped
    assert "fr" in values and values["admin"]["name"] == "Product S1"
    assert client.get("/fr/V1/products/S1").json()["name"] == "Chemise"
    assert client.get("/de/V1/products/S1").json()["name"] == "Product S1"
    assert client.get("/all/V1/products/S1").json()["name"] == "Product S1"
    assert client.get("/V1/products/S1?storeId=2").json()["name"] == "Chemise"


def test_update_without_store_code_writes_the_default_store_view(client: httpx.Client, sb) -> None:
    client.post("/V1/products", json=product("D1"))  # create without store code: global
    assert sb.state()["products"]["D1"]["values"].keys() == {"admin"}
    client.put("/V1/products/D1", json={"product": {"sku": "D1", "name": "Override"}})
    values = sb.state()["products"]["D1"]["values"]
    assert values["default"] == {"name": "Override"} and values["admin"]["name"] == "Product D1"
    assert client.get("/V1/products/D1").json()["name"] == "Override"  # no code reads the default view
    assert client.get("/all/V1/products/D1").json()["name"] == "Product D1"
    assert client.get("/fr/V1/products/D1").json()["name"] == "Product D1"


def test_create_in_a_store_view_keeps_required_values_global(client: httpx.Client, sb) -> None:
    client.post(
        "/fr/V1/products",
        json=product("F1", custom_attributes=[{"attribute_code": "description", "value": "FR"}]),
    )
    values = sb.state()["products"]["F1"]["values"]
    assert values["fr"]["name"] == "Product F1" and values["fr"]["description"] == "FR"
    assert values["admin"]["name"] == "Product F1" and "description" not in values["admin"]


def test_empty_value_clears_in_scope(client: httpx.Client, sb) -> None:
    client.post(
        "/all/V1/products",
        json=product("E1", custom_attributes=[{"attribute_code": "description", "value": "x"}]),
    )
    client.put(
        "/fr/V1/products/E1",
        json={"product": {"sku": "E1", "custom_attributes": [{"attribute_code": "description", "value": ""}]}},
    )
    assert custom(client.get("/fr/V1/products/E1").json(), "description") == ""
    assert custom(client.get("/all/V1/products/E1").json(), "description") == "x"


def test_url_keys(client: httpx.Client) -> None:
    first = client.post("/all/V1/products", json=product("U1", name="Blue Shirt Été"))
    assert custom(first.json(), "url_key") == "blue-shirt-ete"
    clash = client.post("/all/V1/products", json=product("U2", name="Blue shirt ETE"))
    assert clash.status_code == 400
    assert clash.json() == {"message": errors.URL_KEY_EXISTS, "parameters": []}
    ok = client.post(
        "/all/V1/products",
        json=product("U2", name="Blue shirt ETE", custom_attributes=[{"attribute_code": "url_key", "value": "Blue 2"}]),
    )
    assert ok.status_code == 200 and custom(ok.json(), "url_key") == "blue-2"
    # a store-view key may repeat another product's key elsewhere, not in the same view
    fr = {"product": {"sku": "U2", "custom_attributes": [{"attribute_code": "url_key", "value": "chemise"}]}}
    assert client.put("/fr/V1/products/U2", json=fr).status_code == 200
    same_fr = {"product": {"sku": "U1", "custom_attributes": [{"attribute_code": "url_key", "value": "chemise"}]}}
    assert client.put("/fr/V1/products/U1", json=same_fr).status_code == 400
    assert client.put("/de/V1/products/U1", json=same_fr).status_code == 200
    # U2's global key "blue-2" is still effective in de; U1 cannot take it there
    taken = {"product": {"sku": "U1", "custom_attributes": [{"attribute_code": "url_key", "value": "blue-2"}]}}
    assert client.put("/de/V1/products/U1", json=taken).status_code == 400


def test_select_and_multiselect_need_option_ids(client: httpx.Client, sb) -> None:
    red = add_option(client, "color", "Red")
    attr = {
        "attribute": {
            "attribute_code": "materials",
            "frontend_input": "multiselect",
            "entity_type_id": "4",
            "is_required": False,
            "frontend_labels": [],
            "default_frontend_label": "Materials",
        }
    }
    assert client.post("/V1/products/attributes", json=attr).status_code == 200
    cotton, wool = add_option(client, "materials", "Cotton"), add_option(client, "materials", "Wool")
    good = product(
        "O1",
        custom_attributes=[
            {"attribute_code": "color", "value": red},
            {"attribute_code": "materials", "value": f"{cotton},{wool}"},
            {"attribute_code": "not_an_attribute", "value": "x"},
        ],
    )
    saved = client.post("/all/V1/products", json=good)
    assert saved.status_code == 200
    assert custom(saved.json(), "materials") == f"{cotton},{wool}"
    assert any("not_an_attribute" in w for w in sb.requests()[-1]["warnings"])
    label = client.put(
        "/V1/products/O1",
        json={"product": {"sku": "O1", "custom_attributes": [{"attribute_code": "color", "value": "Red"}]}},
    )
    assert label.status_code == 400 and label.json()["parameters"] == ["color", "Red"]
    multi = client.put(
        "/V1/products/O1",
        json={
            "product": {
                "sku": "O1",
                "custom_attributes": [{"attribute_code": "materials", "value": f"{cotton},999"}],
            }
        },
    )
    assert multi.status_code == 400 and multi.json()["parameters"] == ["materials", "999"]
    status = client.put("/V1/products/O1", json={"product": {"sku": "O1", "status": 3}})
    assert status.status_code == 400
    cleared = client.put(
        "/all/V1/products/O1",
        json={"product": {"sku": "O1", "custom_attributes": [{"attribute_code": "color", "value": None}]}},
    )
    assert cleared.status_code == 200 and custom(cleared.json(), "color") is None


def test_links_sets_and_websites_are_checked(client: httpx.Client, sb) -> None:
    bad_set = client.post("/V1/products", json=product("L1", attribute_set_id=999))
    assert bad_set.status_code == 400
    bad_site = client.post("/V1/products", json=product("L1", extension_attributes={"website_ids": [7]}))
    assert bad_site.status_code == 400 and bad_site.json()["parameters"] == [7]
    links = {"category_links": [{"position": 1, "category_id": "99"}]}
    assert client.post("/V1/products", json=product("L1", extension_attributes=links)).status_code == 400
    cat = client.post("/V1/categories", json={"category": {"name": "Shoes", "parent_id": 2}}).json()
    links = {"category_links": [{"position": 1, "category_id": str(cat["id"])}]}
    saved = client.post("/V1/products", json=product("L1", extension_attributes=links))
    assert saved.status_code == 200
    assert saved.json()["extension_attributes"]["category_links"] == [{"position": 1, "category_id": str(cat["id"])}]
    assert custom(saved.json(), "category_ids") == [str(cat["id"])]
    assert sb.state()["categories"][str(cat["id"])]["products"] == {"1": 1}
    client.delete("/V1/products/L1")
    assert sb.state()["categories"][str(cat["id"])]["products"] == {}


def test_search(client: httpx.Client) -> None:
    for i in range(5):
        client.post("/all/V1/products", json=product(f"Q{i}", type_id="virtual" if i % 2 else "simple"))
    everything = client.get("/V1/products").json()
    assert everything["total_count"] == 5 and len(everything["items"]) == 5
    page = client.get("/V1/products", params={"searchCriteria[pageSize]": 2, "searchCriteria[currentPage]": 2}).json()
    assert [p["sku"] for p in page["items"]] == ["Q2", "Q3"] and page["total_count"] == 5
    assert page["search_criteria"]["page_size"] == 2
    # Magento clamps past-the-end pages to the last page (clients must stop on total_count)
    beyond = client.get("/V1/products", params={"searchCriteria[pageSize]": 2, "searchCriteria[currentPage]": 9})
    assert [p["sku"] for p in beyond.json()["items"]] == ["Q4"]
    f = "searchCriteria[filterGroups][0][filters][0]"
    by_sku = client.get("/V1/products", params={f"{f}[field]": "sku", f"{f}[value]": "Q3"}).json()
    assert [p["sku"] for p in by_sku["items"]] == ["Q3"]
    by_in = client.get(
        "/V1/products", params={f"{f}[field]": "sku", f"{f}[value]": "Q1,Q4", f"{f}[conditionType]": "in"}
    ).json()
    assert sorted(p["sku"] for p in by_in["items"]) == ["Q1", "Q4"]
    virtual = client.get("/V1/products", params={f"{f}[field]": "type_id", f"{f}[value]": "virtual"}).json()
    assert virtual["total_count"] == 2


@pytest.mark.parametrize("path", ["/V1/products/ZZ", "/fr/V1/products/ZZ"])
def test_missing_product_everywhere(client: httpx.Client, path: str) -> None:
    assert client.get(path).status_code == 404
