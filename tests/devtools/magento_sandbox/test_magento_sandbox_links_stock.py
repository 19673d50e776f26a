"""Product links (related/upsell/crosssell, grouped associated), stock items and MSI source items."""

from __future__ import annotations

import httpx

from devtools.magento_sandbox import errors

INVALID = "The linked products data is invalid. Verify the data and try again."


def make(client: httpx.Client, sku: str, type_id: str = "simple", **extra) -> dict:
    body = {"product": {"sku": sku, "name": sku, "price": 5, "type_id": type_id, **extra}}
    response = client.post("/all/V1/products", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def link(sku: str, linked: str, link_type: str = "related", position: int = 0, **extra) -> dict:
    return {
        "sku": sku,
        "link_type": link_type,
        "linked_product_sku": linked,
        "linked_product_type": "simple",
        "position": position,
        **extra,
    }


def test_link_types(client: httpx.Client) -> None:
    types = client.get("/V1/products/links/types").json()
    assert types == [
        {"code": 1, "name": "related"},
        {"code": 5, "name": "crosssell"},
        {"code": 4, "name": "upsell"},
        {"code": 3, "name": "associated"},
    ]


def test_related_links_rest(client: httpx.Client, sb) -> None:
    for sku in ("A", "B", "C"):
        make(client, sku)
    ok = client.post("/V1/products/A/links", json={"items": [link("A", "B"), link("A", "C", "upsell", 2)]})
    assert ok.status_code == 200 and ok.json() is True
    product = client.get("/V1/products/A").json()
    assert [(lk["link_type"], lk["linked_product_sku"], lk["position"]) for lk in product["product_links"]] == [
        ("related", "B", 1),  # no position anywhere in the type -> array position (Link\SaveHandler)
        ("upsell", "C", 2),
    ]
    assert [lk["linked_product_sku"] for lk in client.get("/V1/products/A/links/related").json()] == ["B"]
    # 2.4: POST adds to the product's links (Management::setProductLinks array_merge), one per (type, SKU)
    client.post("/V1/products/A/links", json={"items": [link("A", "C", "related", 3), link("A", "B", "related", 5)]})
    related = client.get("/V1/products/A/links/related").json()
    assert sorted((lk["linked_product_sku"], lk["position"]) for lk in related) == [("B", 5), ("C", 3)]
    assert len(client.get("/V1/products/A/links/upsell").json()) == 1
    empty = client.post("/V1/products/A/links", json={"items": []})
    assert empty.status_code == 400
    # unknown linked product / link type
    missing = client.post("/V1/products/A/links", json={"items": [link("A", "NOPE")]})
    assert missing.status_code == 400 and missing.json()["message"] == INVALID
    bad_type = client.post("/V1/products/A/links", json={"items": [link("A", "B", "cousin")]})
    assert bad_type.status_code == 404
    assert bad_type.json() == {
        "message": 'The "%1" link type wasn\'t found. Verify the type and try again.',
        "parameters": ["cousin"],
    }
    assert client.get("/V1/products/A/links/cousin").status_code == 404
    # PUT (Repository::save): one entry; the URL sku wins over entity.sku (ParamsOverrider)
    put = client.put("/V1/products/A/links", json={"entity": link("B", "B", "crosssell", 1)})
    assert put.status_code == 200 and put.json() is True
    assert [lk["sku"] for lk in client.get("/V1/products/A/links/crosssell").json()] == ["A"]
    put_missing = client.put("/V1/products/A/links", json={"entity": link("A", "NOPE")})
    assert put_missing.status_code == 404 and put_missing.json()["message"] == errors.PRODUCT_NOT_FOUND
    put_type = client.put("/V1/products/A/links", json={"entity": link("A", "B", "cousin")})
    assert put_type.status_code == 400 and put_type.json()["message"] == INVALID
    # delete
    assert client.delete("/V1/products/A/links/related/C").json() is True
    gone = client.delete("/V1/products/A/links/related/C")
    assert gone.status_code == 404 and gone.json()["parameters"] == ["A", "C", "related"]
    # a deleted product's links go with it
    client.delete("/V1/products/C")
    assert client.get("/V1/products/A/links/upsell").json() == []
    assert sb.state()["products"]["A"]["product_links"][0]["linked_product_sku"] == "B"


def test_product_save_links_and_grouped(client: httpx.Client) -> None:
    make(client, "S1")
    make(client, "V1", "virtual")
    make(client, "CONF", "configurable")
    group = make(client, "G", "grouped")
    assert group["type_id"] == "grouped"
    assoc = [
        link("G", "S1", "associated", 1, extension_attributes={"qty": 2}),
        link("G", "V1", "associated", 2),
    ]
    saved = client.put("/all/V1/products/G", json={"product": {"sku": "G", "product_links": assoc}})
    assert saved.status_code == 200, saved.text
    links = saved.json()["product_links"]
    assert [(lk["linked_product_sku"], lk["extension_attributes"]["qty"]) for lk in links] == [("S1", 2), ("V1", 0)]
    # omitted: untouched; unknown linked SKU: 404 and nothing changes; [] clears
    client.put("/all/V1/products/G", json={"product": {"sku": "G", "price": 3}})
    assert len(client.get("/V1/products/G").json()["product_links"]) == 2
    unknown = client.put("/all/V1/products/G", json={"product": {"sku": "G", "product_links": [link("G", "X")]}})
    assert unknown.status_code == 404 and len(client.get("/V1/products/G").json()["product_links"]) == 2
    # only simple/virtual children, only on grouped products
    conf = client.post("/V1/products/G/links", json={"items": [link("G", "CONF", "associated")]})
    assert conf.status_code == 400 and conf.json()["message"] == INVALID
    not_grouped = client.post("/V1/products/S1/links", json={"items": [link("S1", "V1", "associated")]})
    assert not_grouped.status_code == 400
    client.put("/all/V1/products/G", json={"product": {"sku": "G", "product_links": []}})
    assert client.get("/V1/products/G").json()["product_links"] == []


def test_stock_items_and_defaults(client: httpx.Client) -> None:
    bare = make(client, "BARE")
    assert bare["extension_attributes"]["stock_item"]["qty"] == 0
    assert bare["extension_attributes"]["stock_item"]["is_in_stock"] is False
    stocked = make(client, "STOCKED", extension_attributes={"stock_item": {"qty": 7, "is_in_stock": True}})
    assert stocked["extension_attributes"]["stock_item"]["qty"] == 7
    item = client.get("/V1/stockItems/STOCKED").json()
    assert item["qty"] == 7 and item["is_in_stock"] is True and item["product_id"] == stocked["id"]
    missing = client.get("/V1/stockItems/NOPE")
    assert missing.status_code == 404 and missing.json()["parameters"] == ["NOPE"]
    # a later save without stock_item keeps the stock
    client.put("/all/V1/products/STOCKED", json={"product": {"sku": "STOCKED", "price": 9}})
    assert client.get("/V1/stockItems/STOCKED").json()["qty"] == 7


def test_source_items(client: httpx.Client, sb) -> None:
    make(client, "SRC")
    saved = client.post(
        "/V1/inventory/source-items",
        json={"sourceItems": [{"sku": "SRC", "source_code": "default", "quantity": 12, "status": 1}]},
    )
    assert saved.status_code == 200, saved.text
    listing = client.get(
        "/V1/inventory/source-items",
        params={
            "searchCriteria[filterGroups][0][filters][0][field]": "sku",
            "searchCriteria[filterGroups][0][filters][0][value]": "SRC",
        },
    ).json()
    assert listing["total_count"] == 1
    assert listing["items"][0] == {"sku": "SRC", "source_code": "default", "quantity": 12.0, "status": 1}
    # the default source mirrors the legacy stock item
    stock = client.get("/V1/stockItems/SRC").json()
    assert stock["qty"] == 12.0 and stock["is_in_stock"] is True
    unknown = client.post(
        "/V1/inventory/source-items",
        json={"sourceItems": [{"sku": "SRC", "source_code": "warehouse", "quantity": 1, "status": 1}]},
    )
    assert unknown.status_code == 400 and unknown.json()["message"] == "Could not save Source Item"
    empty = client.post("/V1/inventory/source-items", json={"sourceItems": []})
    assert empty.status_code == 400 and empty.json()["message"] == "Input data is empty"
    invalid = client.post(
        "/V1/inventory/source-items", json={"sourceItems": [{"sku": "", "source_code": "default", "status": 1}]}
    )
    assert invalid.status_code == 400 and invalid.json()["message"] == "Validation Failed"
    assert invalid.json()["errors"][0]["parameters"] == {"field": "sku"}
    assert sb.state()["inventory"]["sources"] == ["default"]


def test_a_simple_product_with_nothing_in_stock_is_out_of_stock_whatever_it_was_sent(client) -> None:
    """StockItemRepository::save -> StockStateProvider::verifyStock: qty <= min_qty without backorders."""
    body = {"product": {"sku": "Z", "name": "Z", "price": 1, "attribute_set_id": 4, "type_id": "simple",
                        "extension_attributes": {"stock_item": {"qty": 0, "is_in_stock": True}}}}  # fmt: skip
    assert client.post("/all/V1/products", json=body).status_code == 200
    assert client.get("/V1/stockItems/Z").json()["is_in_stock"] is False
