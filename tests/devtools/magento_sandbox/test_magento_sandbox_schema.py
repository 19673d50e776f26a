"""Strict validation against the 2.4.8 spec, routing, and Magento's error shape."""

from __future__ import annotations

import httpx

from devtools.magento_sandbox import errors

PRODUCT = {"sku": "S-1", "name": "Shirt", "price": 10.5, "attribute_set_id": 4, "type_id": "simple"}


def test_valid_body_is_accepted(client: httpx.Client) -> None:
    body = {
        "product": {
            **PRODUCT,
            "status": 1,
            "visibility": 4,
            "weight": 1,
            "extension_attributes": {
                "website_ids": [1],
                "stock_item": {"qty": 5, "is_in_stock": True},
            },
            "custom_attributes": [{"attribute_code": "description", "value": "Nice"}],
        },
        "saveOptions": True,
    }
    response = client.post("/V1/products", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["sku"] == "S-1"


def test_undeclared_property_is_refused_with_magento_text(client: httpx.Client, sb) -> None:
    response = client.post("/V1/products", json={"product": {**PRODUCT, "foo_bar": 1}})
    assert response.status_code == 400
    assert response.json() == {
        "message": errors.UNKNOWN_PROPERTY,
        "parameters": ["FooBar", "getFooBar", "Magento\\Catalog\\Api\\Data\\ProductInterface"],
    }
    entry = sb.requests()[-1]
    assert entry["schema_errors"][0]["path"] == "product.foo_bar"
    assert sb.stats()["schema_errors"] == 1


def test_nested_and_extension_interfaces_are_strict(client: httpx.Client) -> None:
    body = {"product": {**PRODUCT, "extension_attributes": {"website_id": [1]}}}
    response = client.post("/V1/products", json=body)
    assert response.status_code == 400
    assert response.json()["parameters"] == [
        "WebsiteId",
        "getWebsiteId",
        "Magento\\Catalog\\Api\\Data\\ProductExtensionInterface",
    ]
    top = client.post("/V1/products", json={"product": PRODUCT, "save_options": True})
    assert top.status_code == 400 and top.json()["parameters"][0] == "SaveOptions"


def test_missing_required_field(client: httpx.Client) -> None:
    response = client.post("/V1/products", json={"saveOptions": True})
    assert response.status_code == 400
    assert response.json() == {"message": errors.REQUIRED_FIELD, "parameters": {"fieldName": "product"}}
    nested = client.post("/V1/products", json={"product": {"name": "no sku"}})
    assert nested.status_code == 400 and nested.json()["parameters"] == {"fieldName": "sku"}
    custom = client.post(
        "/V1/products",
        json={"product": {**PRODUCT, "custom_attributes": [{"attribute_code": "description"}]}},
    )
    assert custom.status_code == 400 and custom.json()["parameters"] == {"fieldName": "value"}


def test_wrong_types(client: httpx.Client, sb) -> None:
    cases = [
        ({"price": "10"}, ["10", "float"]),
        ({"attribute_set_id": "4"}, ["4", "int"]),
        ({"status": True}, ["true", "int"]),
        ({"attribute_set_id": 4.0}, ["4.0", "int"]),
        ({"name": 12}, ["12", "string"]),
        ({"custom_attributes": [{"attribute_code": "color", "value": 12}]}, ["12", "string"]),
        ({"extension_attributes": {"website_ids": "1"}}, ["1", "int[]"]),
    ]
    for patch, parameters in cases:
        response = client.post("/V1/products", json={"product": {**PRODUCT, **patch}})
        assert response.status_code == 400, patch
        assert response.json() == {"message": errors.TYPE_MISMATCH, "parameters": parameters}, patch
    saved = client.post("/V1/products", json={"product": {**PRODUCT, "price": 10}})  # int is a valid number
    assert saved.status_code == 200
    assert all(e["schema_errors"] for e in sb.requests()[:-1])


def test_null_values_are_accepted_but_not_for_top_level_parameters(client: httpx.Client) -> None:
    body = {
        "product": {
            **PRODUCT,
            "weight": None,
            "custom_attributes": [{"attribute_code": "color", "value": None}],
        }
    }
    assert client.post("/V1/products", json=body).status_code == 200
    response = client.post("/V1/products", json={"product": None})
    assert response.status_code == 400 and response.json()["parameters"] == {"fieldName": "product"}


def test_decoding_error(client: httpx.Client) -> None:
    response = client.post("/V1/products", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"message": errors.DECODING_ERROR, "parameters": []}


def test_routes(client: httpx.Client) -> None:
    unknown = client.get("/V1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Request does not match any route.", "parameters": []}
    assert client.patch("/V1/products/x").status_code == 404  # method not in the spec
    assert client.get("/nope/V1/products/x").status_code == 404  # unknown store code
    assert client.get("/fr/V1/store/storeViews").status_code == 200
    assert client.get("/all/V1/store/storeViews").status_code == 200
    not_implemented = client.get("/V1/products/x/options")
    assert not_implemented.status_code == 501
    assert "GetV1ProductsSkuOptions" in not_implemented.json()["parameters"]


def test_path_parameter_types_are_checked(client: httpx.Client) -> None:
    response = client.get("/V1/categories/abc")
    assert response.status_code == 400
    assert response.json() == {"message": errors.TYPE_MISMATCH, "parameters": ["abc", "int"]}
    option = client.put("/V1/products/attributes/color/options/id_12", json={"option": {"label": "x", "value": ""}})
    assert option.status_code == 400


def test_literal_segments_win_and_encoded_skus_are_decoded(client: httpx.Client) -> None:
    assert client.get("/V1/products/attributes/color").json()["attribute_code"] == "color"
    odd = "AB/12 +é"
    body = {"product": {**PRODUCT, "sku": odd, "name": "Odd"}}
    assert client.post("/V1/products", json=body).status_code == 200
    encoded = "AB%2F12%20%2B%C3%A9"
    got = client.get(f"/V1/products/{encoded}")
    assert got.status_code == 200 and got.json()["sku"] == odd
