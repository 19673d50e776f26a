"""2.4.8 fidelity rules, websites / price scope, category URL keys per store view."""

from __future__ import annotations

import httpx

from devtools.magento_sandbox.testing import running_sandbox


def test_color_and_manufacturer_are_user_defined_outside_every_set(client: httpx.Client) -> None:
    for code in ("color", "manufacturer"):
        attr = client.get(f"/V1/products/attributes/{code}").json()
        assert attr["is_user_defined"] is True and attr["frontend_input"] == "select"
        assert client.get(f"/V1/products/attributes/{code}/options").json() == [{"label": " ", "value": ""}]
    in_default = {a["attribute_code"] for a in client.get("/V1/products/attribute-sets/4/attributes").json()}
    assert not {"color", "manufacturer"} & in_default and "name" in in_default


def test_attribute_put_without_attribute_id_is_a_create(client: httpx.Client) -> None:
    body = {
        "attribute": {
            "attribute_code": "color",
            "frontend_input": "select",
            "entity_type_id": "4",
            "is_required": False,
            "default_frontend_label": "Colour",
            "frontend_labels": [],
        }
    }
    refused = client.put("/V1/products/attributes/color", json=body)
    assert refused.status_code == 400
    assert refused.json() == {"message": "%1 already exists.", "parameters": ["Attribute with the same code"]}
    body["attribute"]["attribute_id"] = 93
    updated = client.put("/V1/products/attributes/color", json=body)
    assert updated.status_code == 200 and updated.json()["default_frontend_label"] == "Colour"
    # the URL code wins over the body's attribute_code (ParamsOverrider)
    body["attribute"]["attribute_code"] = "manufacturer"
    assert client.put("/V1/products/attributes/color", json=body).json()["attribute_code"] == "color"


def test_option_update_errors_are_400(client: httpx.Client) -> None:
    option = client.post("/V1/products/attributes/color/options", json={"option": {"label": "Red"}}).json()
    red = int(option.removeprefix("id_"))
    client.post("/V1/products/attributes/color/options", json={"option": {"label": "Blue"}})
    missing = client.put("/V1/products/attributes/color/options/9999", json={"option": {"label": "X"}})
    assert missing.status_code == 400
    assert missing.json() == {
        "message": "The '%1' attribute doesn't include an option id '%2'.",
        "parameters": ["color", 9999],
    }
    empty = client.put(f"/V1/products/attributes/color/options/{red}", json={"option": {"label": " "}})
    assert empty.status_code == 400
    clash = client.put(f"/V1/products/attributes/color/options/{red}", json={"option": {"label": "blue"}})
    assert clash.status_code == 400 and clash.json()["parameters"] == ["blue"]
    # saved like a new option: store labels not re-sent are dropped
    body = {"option": {"label": "Red", "store_labels": [{"store_id": 2, "label": "Rouge"}]}}
    assert client.put(f"/V1/products/attributes/color/options/{red}", json=body).json() is True
    assert client.get("/fr/V1/products/attributes/color/options").json()[1]["label"] == "Rouge"
    client.put(f"/V1/products/attributes/color/options/{red}", json={"option": {"label": "Red"}})
    assert client.get("/fr/V1/products/attributes/color/options").json()[1]["label"] == "Red"


def test_no_store_code_runs_in_the_default_view(client: httpx.Client, sb) -> None:
    client.post("/all/V1/products", json={"product": {"sku": "D1", "name": "Admin", "price": 1}})
    client.put("/V1/products/D1", json={"product": {"sku": "D1", "name": "Default view"}})
    assert client.get("/V1/products/D1").json()["name"] == "Default view"
    assert client.get("/all/V1/products/D1").json()["name"] == "Admin"
    assert sb.state()["products"]["D1"]["values"]["default"]["name"] == "Default view"
    assert sb.requests()[-3]["store_code"] is None


def test_put_product_url_sku_wins(client: httpx.Client, sb) -> None:
    client.post("/all/V1/products", json={"product": {"sku": "URL", "name": "U", "price": 1}})
    renamed = client.put("/all/V1/products/URL", json={"product": {"sku": "BODY", "price": 2}})
    assert renamed.status_code == 200 and renamed.json()["sku"] == "URL" and renamed.json()["price"] == 2
    assert client.get("/V1/products/BODY").status_code == 404
    # with a second top-level key (saveOptions) the body is left alone: the body's sku is saved
    body = {"product": {"sku": "BODY", "name": "B", "price": 3}, "saveOptions": True}
    both = client.put("/all/V1/products/URL", json=body)
    assert both.status_code == 200 and both.json()["sku"] == "BODY"
    assert set(sb.state()["products"]) == {"URL", "BODY"}


def test_two_websites_and_price_scope() -> None:
    layout = {"base": ["default", "fr"], "b2b": ["b2b"]}
    settings = {"websites": layout, "base_currencies": {"b2b": "USD"}, "price_scope": "website"}
    with running_sandbox(**settings) as sb, sb.client() as c:
        assert [(w["id"], w["code"]) for w in c.get("/V1/store/websites").json()] == [
            (0, "admin"),
            (1, "base"),
            (2, "b2b"),
        ]
        views = [(v["id"], v["code"], v["website_id"]) for v in c.get("/V1/store/storeViews").json()]
        assert views == [(0, "admin", 0), (1, "default", 1), (2, "fr", 1), (3, "b2b", 2)]
        groups = c.get("/V1/store/storeGroups").json()
        ids = [(g["id"], g["website_id"], g["default_store_id"]) for g in groups]
        assert ids == [(0, 0, 0), (1, 1, 1), (2, 2, 3)]
        currencies = {s["code"]: s["base_currency_code"] for s in c.get("/V1/store/storeConfigs").json()}
        assert currencies == {"default": "EUR", "fr": "EUR", "b2b": "USD"}
        assert c.get("/V1/products/attributes/price").json()["scope"] == "website"
        created = c.post("/all/V1/products", json={"product": {"sku": "W", "name": "W", "price": 10}}).json()
        assert created["extension_attributes"]["website_ids"] == [1, 2]  # admin store: every website
        c.put("/b2b/V1/products/W", json={"product": {"sku": "W", "price": 8}})
        assert c.get("/b2b/V1/products/W").json()["price"] == 8
        assert c.get("/fr/V1/products/W").json()["price"] == 10
        c.put("/fr/V1/products/W", json={"product": {"sku": "W", "price": 9}})
        assert c.get("/V1/products/W").json()["price"] == 9  # default + fr: the same website
        assert c.get("/all/V1/products/W").json()["price"] == 10
        values = sb.state()["products"]["W"]["values"]
        assert values["b2b"]["price"] == 8 and values["default"]["price"] == 9 and values["fr"]["price"] == 9
        in_fr = c.post("/fr/V1/products", json={"product": {"sku": "F", "name": "F", "price": 1}}).json()
        assert in_fr["extension_attributes"]["website_ids"] == [1]  # a store view: its website
        # website assignment
        assert c.delete("/V1/products/W/websites/2").json() is True
        assert c.get("/V1/products/W").json()["extension_attributes"]["website_ids"] == [1]
        link = {"productWebsiteLink": {"sku": "W", "website_id": 2}}
        assert c.post("/V1/products/W/websites", json=link).json() is True
        bad = c.post("/V1/products/W/websites", json={"productWebsiteLink": {"sku": "W", "website_id": 7}})
        assert bad.status_code == 400
        # global price scope: a price sent to a store view lands in store 0
        sb.configure(price_scope="global")
        c.post("/all/V1/products", json={"product": {"sku": "G", "name": "G", "price": 1}})
        c.put("/b2b/V1/products/G", json={"product": {"sku": "G", "price": 4}})
        assert sb.state()["products"]["G"]["values"]["admin"]["price"] == 4
        assert "price" not in sb.state()["products"]["G"]["values"].get("b2b", {})
        assert c.get("/fr/V1/products/G").json()["price"] == 4


def test_websites_via_config_control(sb) -> None:
    sb.configure(websites={"base": ["default"], "b2b": ["b2b"]})
    with sb.client() as c:
        assert [v["code"] for v in c.get("/V1/store/storeViews").json()] == ["admin", "default", "b2b"]
    sb.reset()
    with sb.client() as c:
        assert [v["code"] for v in c.get("/V1/store/storeViews").json()] == ["admin", "default", "fr", "de"]


def test_category_url_key_per_store_and_sibling_clash(client: httpx.Client) -> None:
    def create(name: str) -> int:
        return client.post("/all/V1/categories", json={"category": {"name": name, "parent_id": 2}}).json()["id"]

    shoes, boots = create("Shoes"), create("Boots")

    def url_key_body(key: str) -> dict:
        return {"category": {"custom_attributes": [{"attribute_code": "url_key", "value": key}]}}

    assert client.put(f"/fr/V1/categories/{shoes}", json=url_key_body("chaussures")).status_code == 200
    fr = client.get(f"/fr/V1/categories/{shoes}").json()
    assert {c["attribute_code"]: c["value"] for c in fr["custom_attributes"]}["url_key"] == "chaussures"
    de = client.get(f"/de/V1/categories/{shoes}").json()
    assert {c["attribute_code"]: c["value"] for c in de["custom_attributes"]}["url_key"] == "shoes"
    clash = client.put(f"/fr/V1/categories/{boots}", json=url_key_body("chaussures"))
    assert clash.status_code == 400 and clash.json()["message"] == "URL key for specified store already exists."
    assert client.put(f"/de/V1/categories/{boots}", json=url_key_body("chaussures")).status_code == 200
