"""The magento2 driver against the Magento sandbox, with hand-made mutations (no Akeneo sync needed):
attribute updates carrying Magento's attribute_id, options re-created after Magento lost them, and
Akeneo associations sent as product links (`links.plan_links` / `links.send_links`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.magento_sandbox import handlers as sandbox_handlers
from devtools.magento_sandbox.testing import SandboxHandle, running_sandbox
from drivers.magento2.client import MagentoClient
from drivers.models import MutationData, entity_uuid
from tests.drivers.magento_support import deliver, make_driver, new_context

HAS_LINKS = "PostV1ProductsSkuLinks" in sandbox_handlers.HANDLERS
needs_links = pytest.mark.skipif(not HAS_LINKS, reason="the sandbox has no /V1/products/{sku}/links routes yet")


@pytest.fixture(scope="module")
def sb() -> Iterator[SandboxHandle]:
    with running_sandbox() as handle:
        yield handle


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    sent: list[tuple[str, str, Any]] = []
    original = MagentoClient._send

    def record(self, method, path, token, body, params):  # noqa: ANN001 - what the driver sends
        sent.append((method, path, body))
        return original(self, method, path, token, body, params)

    monkeypatch.setattr(MagentoClient, "_send", record)
    return sent


def mutation(entity_type: str, code: str, payload: dict[str, Any], mutation_id: int = 1, **extra: Any) -> MutationData:
    uuid = payload.get("uuid") or entity_uuid(entity_type, code)
    return MutationData(mutation_id=mutation_id, entity_type=entity_type, entity_uuid=uuid, code=code,
                        operation=extra.pop("operation", "created"), payload=payload, **extra)  # fmt: skip


# ----------------------------------------------------------------------------- attributes


def color(labels: dict[str, str]) -> MutationData:
    payload = {"code": "color", "type": "pim_catalog_simpleselect", "labels": labels, "localizable": False,
               "scopable": False}  # fmt: skip
    return mutation("attribute", "color", payload)


def test_an_existing_attribute_is_updated_with_its_attribute_id(sb: SandboxHandle, spy) -> None:
    """`color` exists in every Magento (user-defined, in no attribute set): 2.4.8 refuses a PUT without
    attribute_id as a duplicate create; the driver's PUT carries the id the GET returned."""
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    result = deliver(driver, [color({"en_US": "Colour", "fr_FR": "Couleur"})], context)[0]
    assert result.status == "success", result.message
    attribute_id = sb.state()["attributes"]["color"]["attribute_id"]
    puts = [body for method, path, body in spy if method == "PUT" and path == "/all/V1/products/attributes/color"]
    assert len(puts) == 1 and puts[0]["attribute"]["attribute_id"] == attribute_id
    assert sb.state()["attributes"]["color"]["default_frontend_label"] == "Colour"
    # Redelivered after a crash that lost the mapping (the attribute is there, the driver does not know it)
    again = deliver(make_driver(sb), [color({"en_US": "Color", "fr_FR": "Couleur"})], new_context())[0]
    assert again.status == "success", again.message
    driver.close()


def test_the_sandbox_refuses_an_attribute_put_without_attribute_id(sb: SandboxHandle) -> None:
    """Magento 2.4.8's behaviour the fix is for (magento2#40458): waits for the sandbox rule."""
    sb.reset()
    with sb.client() as client:
        body = {"attribute": {"attribute_code": "color", "frontend_input": "select", "entity_type_id": "4",
                              "default_frontend_label": "C", "frontend_labels": [], "scope": "global",
                              "is_required": False, "is_user_defined": True}}  # fmt: skip
        answer = client.put("/all/V1/products/attributes/color", json=body)
    if answer.status_code == 200:
        pytest.skip("the sandbox accepts an attribute PUT without attribute_id (2.4.8 answers 400)")
    assert answer.status_code == 400 and "already exists" in str(answer.json())


# -------------------------------------------------------------------------------- options


def red(sort_order: int = 1) -> MutationData:
    payload = {"code": "color.red", "attribute": "color", "option_code": "red", "sort_order": sort_order,
               "labels": {"en_US": "Red", "fr_FR": "Rouge"}}  # fmt: skip
    return mutation("attribute_option", "color.red", payload, mutation_id=2)


@pytest.mark.parametrize("answer", ["sandbox", 400])
def test_an_option_deleted_in_magento_is_created_again(sb: SandboxHandle, answer: Any) -> None:
    """2.4.8 answers the update of a missing option with 400 (404 before): either way it is re-created.
    `sandbox`: whatever the sandbox answers; 400: Magento 2.4.8's answer, injected."""
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    assert [r.status for r in deliver(driver, [color({"en_US": "Color"}), red()], context)] == ["success"] * 2
    first = context.mappings.find("attribute_option", red().entity_uuid).external_id
    with sb.client() as client:
        assert client.delete(f"/all/V1/products/attributes/color/options/{first}").status_code == 200
    if answer == 400:
        sb.set_faults([{"method": "PUT", "path": rf"/attributes/color/options/{first}$", "status": 400, "times": 1,
                        "message": "The 'color' attribute doesn't include an option id '%1'."}])  # fmt: skip
    result = deliver(driver, [red(sort_order=2)], context)[0]
    sb.clear_faults()
    assert result.status == "success", result.message
    assert result.external_id != first
    options = {o["labels"]["0"]: o for o in sb.state()["attributes"]["color"]["options"]}
    assert str(options["red"]["id"]) == result.external_id and options["red"]["labels"]["2"] == "Rouge"
    driver.close()


def test_an_option_refused_while_it_exists_is_not_duplicated(sb: SandboxHandle) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    deliver(driver, [color({"en_US": "Color"}), red()], context)
    option_id = context.mappings.find("attribute_option", red().entity_uuid).external_id
    sb.set_faults([{"method": "PUT", "path": rf"/options/{option_id}$", "status": 400, "times": 1,
                    "message": "Admin store attribute option label \"red\" is already exists."}])  # fmt: skip
    result = deliver(driver, [red(sort_order=3)], context)[0]
    sb.clear_faults()
    assert result.status == "permanent" and "already exists" in result.message
    assert [o["labels"]["0"] for o in sb.state()["attributes"]["color"]["options"]].count("red") == 1
    driver.close()


# ---------------------------------------------------------------------------------- links

UUIDS = {sku: f"5b0c4f1e-0000-4000-8000-{n:012d}" for n, sku in enumerate(("shirt", "belt", "cap", "bag"), 1)}


def simple(sku: str, associations: dict | None = None, mutation_id: int = 10) -> MutationData:
    payload = {"uuid": UUIDS[sku], "identifier": sku, "enabled": True, "family": None, "parent": None,
               "categories": [], "associations": associations or {}, "quantified_associations": {},
               "values": [{"attribute_code": "name", "locale": "en_US", "channel": None, "value": sku.title()},
                          {"attribute_code": "price", "locale": None, "channel": None,
                           "value": [{"amount": "10.00", "currency": "EUR"}]}]}  # fmt: skip
    return mutation("product", sku, payload, mutation_id=mutation_id)


def magento_links(sb: SandboxHandle, sku: str) -> list[tuple[str, str, int, Any]]:
    with sb.client() as client:
        items = client.get(f"/all/V1/products/{sku}").json().get("product_links") or []
    return sorted((i["link_type"], i["linked_product_sku"], i["position"],
                   (i.get("extension_attributes") or {}).get("qty")) for i in items)  # fmt: skip


def kept_links(context, m: MutationData) -> Any:  # noqa: ANN001
    return context.mappings.find("product", m.entity_uuid).external_data.get("links")


@needs_links
def test_associations_added_and_removed_become_product_links(sb: SandboxHandle, spy) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    assert {r.status for r in deliver(driver, [simple(s) for s in ("belt", "cap", "bag")], context)} == {"success"}
    shirt = simple("shirt", {"UPSELL": {"products": [UUIDS["belt"], UUIDS["cap"]]},
                             "X_SELL": {"products": [UUIDS["bag"]]}, "PACK": {"products": [UUIDS["cap"]]}})  # fmt: skip
    assert deliver(driver, [shirt], context)[0].status == "success"
    assert kept_links(context, shirt) == {"crosssell": [["bag", None]], "upsell": [["belt", None], ["cap", None]]}
    assert magento_links(sb, "shirt") == [("crosssell", "bag", 1, None), ("upsell", "belt", 1, None),
                                          ("upsell", "cap", 2, None)]  # fmt: skip
    posts = [body for method, path, body in spy if (method, path) == ("POST", "/all/V1/products/shirt/links")]
    assert len(posts) == 1 and len(posts[0]["items"]) == 3  # one request for all of them
    # Redelivered unchanged: nothing sent.
    spy.clear()
    assert deliver(driver, [shirt], context)[0].status == "success"
    assert [c for c in spy if c[0] != "GET"] == []
    # cap and bag removed: two DELETEs, no POST (belt keeps its place).
    fewer = simple("shirt", {"UPSELL": {"products": [UUIDS["belt"]]}}, mutation_id=11)
    fewer = fewer.model_copy(update={"operation": "updated", "changed_fields": ["associations"]})
    assert deliver(driver, [fewer], context)[0].status == "success"
    assert kept_links(context, shirt) == {"upsell": [["belt", None]]}
    assert sorted((m, p) for m, p, _ in spy if m != "GET") == [
        ("DELETE", "/all/V1/products/shirt/links/crosssell/bag"),
        ("DELETE", "/all/V1/products/shirt/links/upsell/cap"),
    ]
    assert magento_links(sb, "shirt") == [("upsell", "belt", 1, None)]
    driver.close()


@needs_links
def test_a_link_to_a_product_created_later_waits_then_lands(sb: SandboxHandle) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    shirt = simple("shirt", {"RELATED": {"products": [UUIDS["cap"]]}})
    first = deliver(driver, [shirt], context)[0]
    assert first.status == "retryable" and f"associated product {UUIDS['cap']}" in first.message
    assert "shirt" in sb.state()["products"]  # the product itself is saved; its links wait
    assert not kept_links(context, shirt)
    assert deliver(driver, [simple("cap")], context)[0].status == "success"
    assert deliver(driver, [shirt], context)[0].status == "success"
    assert kept_links(context, shirt) == {"related": [["cap", None]]}
    assert magento_links(sb, "shirt") == [("related", "cap", 1, None)]
    driver.close()


@needs_links
def test_a_linked_sku_magento_does_not_have_is_retryable(sb: SandboxHandle) -> None:
    """A product given by identifier (Akeneo's products API) is its own SKU: when Magento refuses the
    links, the missing SKU is found and the links wait for it."""
    sb.reset()
    context = new_context()
    driver = make_driver(sb)
    shirt = simple("shirt", {"RELATED": {"products": ["not-yet"]}})
    first = deliver(driver, [shirt], context)[0]
    assert first.status == "retryable" and "linked product not-yet" in first.message
    with sb.client() as client:
        made = {"sku": "not-yet", "name": "Not yet", "price": 1, "attribute_set_id": 4}
        assert client.post("/all/V1/products", json={"product": made}).status_code == 200
    assert deliver(driver, [shirt], context)[0].status == "success"
    assert magento_links(sb, "shirt") == [("related", "not-yet", 1, None)]
    driver.close()


@needs_links
def test_a_quantified_association_makes_a_grouped_product(sb: SandboxHandle) -> None:
    sb.reset()
    context = new_context()
    driver = make_driver(sb, grouped_from="PACK")
    assert {r.status for r in deliver(driver, [simple("belt"), simple("cap")], context)} == {"success"}
    pack = simple("shirt")
    items = [{"uuid": UUIDS["belt"], "quantity": 2}, {"uuid": UUIDS["cap"], "quantity": 1}]
    pack.payload["quantified_associations"] = {"PACK": {"products": items}}
    result = deliver(driver, [pack], context)[0]
    assert result.status == "success", result.message
    assert sb.state()["products"]["shirt"]["type_id"] == "grouped"
    assert magento_links(sb, "shirt") == [("associated", "belt", 1, 2.0), ("associated", "cap", 2, 1.0)]
    driver.close()
