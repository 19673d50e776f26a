"""Categories, attributes with their options, attribute sets and groups, stores."""

from __future__ import annotations

import httpx

from devtools.magento_sandbox import errors


def category(client: httpx.Client, name: str, parent: int = 2, path: str = "/all/V1/categories", **extra) -> dict:
    response = client.post(path, json={"category": {"name": name, "parent_id": parent, **extra}})
    assert response.status_code == 200, response.text
    return response.json()


def attribute(code: str, frontend_input: str = "select", **extra) -> dict:
    return {
        "attribute": {
            "attribute_code": code,
            "frontend_input": frontend_input,
            "entity_type_id": "4",
            "is_required": False,
            "frontend_labels": [{"store_id": 2, "label": f"{code} FR"}],
            "default_frontend_label": code.title(),
            **extra,
        }
    }


def test_stores(client: httpx.Client) -> None:
    websites = client.get("/V1/store/websites").json()
    assert [(w["id"], w["code"]) for w in websites] == [(0, "admin"), (1, "base")]
    views = client.get("/V1/store/storeViews").json()
    assert [(v["id"], v["code"], v["website_id"]) for v in views] == [
        (0, "admin", 0),
        (1, "default", 1),
        (2, "fr", 1),
        (3, "de", 1),
    ]
    configs = client.get("/V1/store/storeConfigs").json()
    assert {c["code"]: c["locale"] for c in configs} == {"default": "en_US", "fr": "fr_FR", "de": "de_DE"}


def test_category_tree_move_and_delete(client: httpx.Client, sb) -> None:
    root = client.get("/V1/categories/2").json()
    assert root["name"] == "Default Category" and root["parent_id"] == 1 and root["level"] == 1
    shoes = category(client, "Shoes")
    boots = category(client, "Boots", shoes["id"])
    bags = category(client, "Bags")
    assert boots["level"] == 3 and boots["path"] == f"1/2/{shoes['id']}/{boots['id']}"
    tree = client.get("/V1/categories").json()
    assert tree["id"] == 2 and [c["name"] for c in tree["children_data"]] == ["Shoes", "Bags"]
    assert tree["children_data"][0]["children_data"][0]["name"] == "Boots"
    assert client.get("/all/V1/categories").json()["id"] == 1
    # move Bags before Shoes (afterId 0 = first), then Boots under Bags
    move = client.put(f"/V1/categories/{bags['id']}/move", json={"parentId": 2, "afterId": 0})
    assert move.status_code == 200 and move.json() is True
    assert [c["name"] for c in client.get("/V1/categories").json()["children_data"]] == ["Bags", "Shoes"]
    client.put(f"/V1/categories/{boots['id']}/move", json={"parentId": bags["id"]})
    assert client.get(f"/V1/categories/{boots['id']}").json()["parent_id"] == bags["id"]
    loop = client.put(f"/V1/categories/{bags['id']}/move", json={"parentId": boots["id"]})
    assert loop.status_code == 400
    # delete the Bags subtree; products lose the links
    links = {"category_links": [{"position": 0, "category_id": str(boots["id"])}]}
    client.post(
        "/V1/products",
        json={"product": {"sku": "C1", "name": "C1", "price": 1, "extension_attributes": links}},
    )
    assert client.delete(f"/V1/categories/{bags['id']}").json() is True
    assert client.get(f"/V1/categories/{boots['id']}").status_code == 404
    assert client.get("/V1/products/C1").json()["extension_attributes"].get("category_links", []) == []
    root_delete = client.delete("/V1/categories/2")
    assert root_delete.status_code == 400


def test_category_validation_and_url_keys(client: httpx.Client) -> None:
    no_name = client.post("/V1/categories", json={"category": {"parent_id": 2}})
    assert no_name.status_code == 400 and no_name.json()["message"] == "Could not save category: %1"
    no_parent = client.post("/V1/categories", json={"category": {"name": "X", "parent_id": 999}})
    assert no_parent.status_code == 404
    assert no_parent.json() == {
        "message": errors.NO_SUCH_ENTITY,
        "parameters": {"fieldName": "id", "fieldValue": 999},
    }
    first = category(client, "Sale")
    clash = client.post("/all/V1/categories", json={"category": {"name": "SALE", "parent_id": 2}})
    assert clash.status_code == 400 and clash.json()["message"] == errors.URL_KEY_EXISTS
    nested = category(client, "Sale", first["id"])  # same key under another parent is fine
    assert nested["custom_attributes"]
    url_path = next(c["value"] for c in nested["custom_attributes"] if c["attribute_code"] == "url_path")
    assert url_path == "sale/sale"
    # a product url key and a top-level category url path share the rewrite table
    product = {"product": {"sku": "P", "name": "Sale", "price": 1}}
    assert client.post("/V1/products", json=product).status_code == 400


def test_category_store_scoped_update(client: httpx.Client, sb) -> None:
    shoes = category(client, "Shoes")
    fr = {
        "category": {
            "name": "Chaussures",
            "custom_attributes": [{"attribute_code": "url_key", "value": "chaussures"}],
        }
    }
    assert client.put(f"/fr/V1/categories/{shoes['id']}", json=fr).status_code == 200
    assert client.get(f"/fr/V1/categories/{shoes['id']}").json()["name"] == "Chaussures"
    assert client.get(f"/all/V1/categories/{shoes['id']}").json()["name"] == "Shoes"
    assert client.get(f"/V1/categories/{shoes['id']}?storeId=2").json()["name"] == "Chaussures"
    tree_fr = client.get("/fr/V1/categories").json()
    assert tree_fr["children_data"][0]["name"] == "Chaussures"
    state = sb.state()["categories"][str(shoes["id"])]
    assert state["values"]["fr"] == {"name": "Chaussures", "url_key": "chaussures"}
    assert state["url_paths"] == {"default": "shoes", "fr": "chaussures", "de": "shoes"}


def test_attribute_create_get_update_delete(client: httpx.Client) -> None:
    created = client.post("/V1/products/attributes", json=attribute("fabric", scope="store"))
    assert created.status_code == 200, created.text
    data = created.json()
    assert data["attribute_id"] > 144 and data["backend_type"] == "int" and data["is_user_defined"] is True
    assert data["scope"] == "store"
    duplicate = client.post("/V1/products/attributes", json=attribute("fabric"))
    assert duplicate.status_code == 400
    bad = client.post("/V1/products/attributes", json=attribute("9fabric"))
    assert bad.status_code == 400 and bad.json()["parameters"] == ["9fabric"]
    got = client.get("/fr/V1/products/attributes/fabric").json()
    assert got["frontend_labels"] == [{"store_id": 2, "label": "fabric FR"}]
    by_id = client.get(f"/V1/products/attributes/{data['attribute_id']}")
    assert by_id.json()["attribute_code"] == "fabric"  # Magento also accepts the id here
    update = attribute("fabric", frontend_input="text", default_frontend_label="Fabric!")
    update["attribute"]["attribute_id"] = data["attribute_id"]
    updated = client.put("/V1/products/attributes/fabric", json=update).json()
    assert updated["default_frontend_label"] == "Fabric!" and updated["frontend_input"] == "select"
    listing = client.get(
        "/V1/products/attributes",
        params={
            "searchCriteria[filterGroups][0][filters][0][field]": "attribute_code",
            "searchCriteria[filterGroups][0][filters][0][value]": "fab%",
            "searchCriteria[filterGroups][0][filters][0][conditionType]": "like",
        },
    ).json()
    assert [a["attribute_code"] for a in listing["items"]] == ["fabric"]
    assert client.delete("/V1/products/attributes/fabric").json() is True
    missing = client.get("/V1/products/attributes/fabric")
    assert missing.status_code == 404 and missing.json() == {
        "message": errors.ATTRIBUTE_NOT_FOUND,
        "parameters": ["fabric"],
    }
    assert client.delete("/V1/products/attributes/sku").status_code == 400


def test_attribute_options(client: httpx.Client) -> None:
    assert client.get("/V1/products/attributes/size/options").json() == [{"label": " ", "value": ""}]
    body = {
        "option": {
            "label": "Small",
            "sort_order": 2,
            "is_default": False,
            "store_labels": [{"store_id": 2, "label": "Petit"}],
        }
    }
    small = client.post("/V1/products/attributes/size/options", json=body)
    assert small.status_code == 200 and small.json().startswith("id_")
    small_id = small.json().removeprefix("id_")
    large = client.post("/V1/products/attributes/size/options", json={"option": {"label": "Large", "sort_order": 1}})
    large_id = large.json().removeprefix("id_")
    options = client.get("/V1/products/attributes/size/options").json()
    assert options == [
        {"label": " ", "value": ""},
        {"label": "Large", "value": large_id},
        {"label": "Small", "value": small_id},
    ]
    fr = client.get("/fr/V1/products/attributes/size/options").json()
    assert {"label": "Petit", "value": small_id} in fr
    duplicate = client.post("/V1/products/attributes/size/options", json={"option": {"label": "small"}})
    assert duplicate.status_code == 400
    assert duplicate.json() == {"message": errors.OPTION_LABEL_EXISTS, "parameters": ["small"]}
    empty = client.post("/V1/products/attributes/size/options", json={"option": {"label": " "}})
    assert empty.status_code == 400
    renamed = client.put(
        f"/V1/products/attributes/size/options/{large_id}", json={"option": {"label": "XL", "value": ""}}
    )
    assert renamed.json() is True
    clash = client.put(f"/V1/products/attributes/size/options/{large_id}", json={"option": {"label": "Small"}})
    assert clash.status_code == 400
    assert client.delete(f"/V1/products/attributes/size/options/{large_id}").json() is True
    gone = client.delete(f"/V1/products/attributes/size/options/{large_id}")
    assert gone.status_code == 404
    text = client.post("/V1/products/attributes/url_key/options", json={"option": {"label": "x"}})
    assert text.status_code == 400 and text.json()["parameters"] == ["url_key"]


def test_attribute_sets_groups_and_assignment(client: httpx.Client, sb) -> None:
    default = client.get("/V1/products/attribute-sets/4").json()
    assert default == {
        "attribute_set_id": 4,
        "attribute_set_name": "Default",
        "sort_order": 2,
        "entity_type_id": 4,
    }
    body = {"attributeSet": {"attribute_set_name": "Shirts", "sort_order": 10}, "skeletonId": 4}
    shirts = client.post("/V1/products/attribute-sets", json=body)
    assert shirts.status_code == 200
    set_id = shirts.json()["attribute_set_id"]
    dup = client.post("/V1/products/attribute-sets", json={**body, "attributeSet": {**body["attributeSet"]}})
    assert dup.status_code == 400 and dup.json()["parameters"] == ["Shirts"]
    listing = client.get("/V1/products/attribute-sets/sets/list").json()
    assert [s["attribute_set_name"] for s in listing["items"]] == ["Default", "Shirts"]
    no_filter = client.get("/V1/products/attribute-sets/groups/list")
    assert no_filter.status_code == 400 and no_filter.json()["parameters"] == {"fieldName": "attribute_set_id"}
    f = "searchCriteria[filterGroups][0][filters][0]"
    groups = client.get(
        "/V1/products/attribute-sets/groups/list",
        params={f"{f}[field]": "attribute_set_id", f"{f}[value]": set_id},
    ).json()
    assert [g["attribute_group_name"] for g in groups["items"]][0] == "General"
    group = client.post(
        "/V1/products/attribute-sets/groups",
        json={"group": {"attribute_group_name": "Fashion", "attribute_set_id": set_id}},
    ).json()
    client.post("/V1/products/attributes", json=attribute("fit"))
    assign = {
        "attributeSetId": set_id,
        "attributeGroupId": int(group["attribute_group_id"]),
        "attributeCode": "fit",
        "sortOrder": 5,
    }
    assigned = client.post("/V1/products/attribute-sets/attributes", json=assign)
    assert assigned.status_code == 200 and isinstance(assigned.json(), int)
    codes = [a["attribute_code"] for a in client.get(f"/V1/products/attribute-sets/{set_id}/attributes").json()]
    assert "fit" in codes and "name" in codes
    wrong_group = client.post("/V1/products/attribute-sets/attributes", json={**assign, "attributeGroupId": 7})
    assert wrong_group.status_code == 400
    assert client.delete(f"/V1/products/attribute-sets/{set_id}/attributes/fit").json() is True
    system = client.delete(f"/V1/products/attribute-sets/{set_id}/attributes/name")
    assert system.status_code == 400
    renamed = client.put(
        f"/V1/products/attribute-sets/{set_id}",
        json={"attributeSet": {"attribute_set_name": "Tees", "sort_order": 1}},
    )
    assert renamed.json()["attribute_set_name"] == "Tees"
    # deleting a set deletes its products, like Magento's FK cascade
    client.post("/V1/products", json={"product": {"sku": "T1", "name": "T", "price": 1, "attribute_set_id": set_id}})
    assert client.delete(f"/V1/products/attribute-sets/{set_id}").json() is True
    assert client.get("/V1/products/T1").status_code == 404
    assert client.delete("/V1/products/attribute-sets/4").status_code == 400
