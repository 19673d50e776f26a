"""The magento2 driver's pure and near-pure parts, without a sandbox: association links (planning and
the requests sent), category URL keys per store view, the attribute and option fixes, the channel and
association type handlers. Magento is a scripted fake client recording every request."""

from __future__ import annotations

import re
from typing import Any

import pytest

from drivers.context import InMemoryMappings, IntegrationContext
from drivers.magento2 import attributes, categories, links, reference
from drivers.magento2.client import MagentoError, _Locks
from drivers.magento2.common import Env
from drivers.magento2.mapping import MappingSettings, Unresolved, association_targets
from drivers.magento2.refs import MappingRefs
from drivers.models import MutationData, entity_uuid

pytestmark = pytest.mark.fast

BAG = "0d8a0f6e-6a8e-4f0e-9b53-9f0c3c1a0001"
BELT = "0d8a0f6e-6a8e-4f0e-9b53-9f0c3c1a0002"
CAP = "0d8a0f6e-6a8e-4f0e-9b53-9f0c3c1a0003"
NEW = "0d8a0f6e-6a8e-4f0e-9b53-9f0c3c1a00ff"  # never delivered


class Turns(list):
    """Answers given in turn (the last one stays)."""


class FakeClient:
    """Answers by (method, path regex), first match wins; a rule's answer may be an exception (raised)
    or `Turns` of answers. Unmatched requests answer None."""

    def __init__(self, rules: list[tuple[str, str, Any]] | None = None) -> None:
        self.rules = list(rules or [])
        self.calls: list[tuple[str, str, Any]] = []
        self.locks = _Locks()

    def holding(self, *skus: str):  # noqa: ANN201
        return self.locks.hold(skus)

    def request(self, method: str, path: str, json: Any = None, accept_status=(), **_: Any) -> Any:  # noqa: ANN001
        self.calls.append((method, path, json))
        for rule_method, pattern, answer in self.rules:
            if rule_method == method and re.search(pattern, path):
                if isinstance(answer, Turns):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if isinstance(answer, MagentoError):
                    if answer.status in set(accept_status):
                        return None
                    raise answer
                return answer
        return None

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def writes(self) -> list[tuple[str, str, Any]]:
        return [c for c in self.calls if c[0] != "GET"]


def error(status: int, message: str, method: str = "PUT", path: str = "/x") -> MagentoError:
    return MagentoError(message, method=method, path=path, status=status, retryable=status >= 500)


class Settings:
    """MappingSettings with `association_map` / `grouped_from` (read with getattr) set whatever its fields."""

    def __init__(self, base: MappingSettings, **overrides: Any) -> None:
        self._base = base
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


def make_env(client: FakeClient | None = None, **overrides: Any) -> Env:
    mappings = InMemoryMappings("shop")
    context = IntegrationContext(integration="shop", mappings=mappings)
    base = MappingSettings(channel="ecommerce", currency="EUR", default_locale="en_US",
                           store_views={"en_US": "default", "fr_FR": "fr", "de_DE": "de"})  # fmt: skip
    settings = Settings(base, **overrides)
    return Env(client=client or FakeClient(), settings=settings, store_ids={"default": 1, "fr": 2, "de": 3},
               refs=MappingRefs(mappings, settings), context=context)  # type: ignore[arg-type]  # fmt: skip


def delivered(env: Env, entity_type: str, uuid: str, data: dict[str, Any]) -> None:
    env.refs.save(entity_type, uuid, "1", data)


def catalog(env: Env) -> None:
    """bag, belt, cap (simple products), a configurable tote with a sub-model tote_red."""
    delivered(env, "product", BAG, {"sku": "bag", "type": "simple"})
    delivered(env, "product", BELT, {"sku": "belt", "type": "simple"})
    delivered(env, "product", CAP, {"sku": "cap", "type": "variant"})
    delivered(env, "product_model", entity_uuid("product_model", "tote"), {"sku": "tote", "type": "configurable"})
    delivered(env, "product_model", entity_uuid("product_model", "tote_red"), {"submodel": True, "root": "tote"})


def product(associations: dict | None = None, quantified: dict | None = None, **extra: Any) -> MutationData:
    payload = {"uuid": "0d8a0f6e-6a8e-4f0e-9b53-9f0c3c1a0100", "identifier": "shirt", "parent": None,
               "associations": associations or {}, "quantified_associations": quantified or {}, "values": [],
               **extra}  # fmt: skip
    return MutationData(mutation_id=1, entity_type="product", entity_uuid=payload["uuid"], code="shirt",
                        operation="updated", payload=payload)  # fmt: skip


# --------------------------------------------------------------------------- links: planning


def test_associations_become_links_of_the_mapped_types() -> None:
    env = make_env()
    catalog(env)
    m = product({"X_SELL": {"products": [BELT], "product_models": ["tote"], "groups": ["summer"]},
                 "UPSELL": {"products": [BAG, CAP], "product_models": [], "groups": []},
                 "PACK": {"products": [BELT]}})  # fmt: skip  # PACK: not in the map, not sent
    plan = links.plan_links(m, {}, env)
    assert plan.wanted == {"crosssell": (("belt", None), ("tote", None)), "upsell": (("bag", None), ("cap", None))}
    assert plan.state == {"crosssell": [["belt", None], ["tote", None]], "upsell": [["bag", None], ["cap", None]]}
    assert plan.remove == ()
    assert links.links_body(plan, "shirt") == {"items": [
        {"sku": "shirt", "link_type": "crosssell", "linked_product_sku": "belt", "linked_product_type": "simple",
         "position": 1},
        {"sku": "shirt", "link_type": "crosssell", "linked_product_sku": "tote",
         "linked_product_type": "configurable", "position": 2},
        {"sku": "shirt", "link_type": "upsell", "linked_product_sku": "bag", "linked_product_type": "simple",
         "position": 1},
        {"sku": "shirt", "link_type": "upsell", "linked_product_sku": "cap", "linked_product_type": "simple",
         "position": 2},
    ]}  # fmt: skip


def test_unchanged_links_plan_nothing() -> None:
    env = make_env()
    catalog(env)
    m = product({"UPSELL": {"products": [BAG, CAP]}})
    state = links.plan_links(m, {}, env).state
    assert links.plan_links(m, {"sku": "shirt", "links": state}, env) is None
    assert links.plan_links(product(), {"sku": "shirt", "links": {}}, env) is None
    assert links.plan_links(product(), {"sku": "shirt"}, env) is None


def test_a_removed_association_is_deleted_and_the_rest_is_not_sent_again() -> None:
    env = make_env()
    catalog(env)
    kept = {"upsell": [["bag", None], ["cap", None]], "related": [["belt", None]]}
    plan = links.plan_links(product({"UPSELL": {"products": [BAG]}}), {"links": kept}, env)
    assert plan.send == ()  # bag keeps its place: nothing to POST
    assert sorted(plan.remove) == [("related", "belt"), ("upsell", "cap")]
    assert plan.state == {"upsell": [["bag", None]]}


def test_an_added_link_resends_its_whole_type() -> None:
    """Magento 2.4 merges a POST into the existing links (<2.4: replaced the type's): the whole type is
    sent, so both behaviours end the same."""
    env = make_env()
    catalog(env)
    plan = links.plan_links(product({"UPSELL": {"products": [BAG, BELT]}}), {"links": {"upsell": [["bag", None]]}},
                            env)  # fmt: skip
    assert [(kind, position, sku) for kind, position, sku, _, _ in plan.send] == [("upsell", 1, "bag"),
                                                                                   ("upsell", 2, "belt")]  # fmt: skip
    assert plan.remove == ()


def test_a_target_not_in_magento_yet_is_unresolved() -> None:
    env = make_env()
    catalog(env)
    m = product({"RELATED": {"products": [BAG, NEW], "product_models": ["bag_model"]}})
    with pytest.raises(Unresolved) as raised:
        links.plan_links(m, {}, env)
    assert raised.value.missing == [f"associated product {NEW}", "associated product model bag_model"]


def test_a_sub_model_links_to_its_root_configurable() -> None:
    env = make_env()
    catalog(env)
    plan = links.plan_links(product({"RELATED": {"product_models": ["tote_red", "tote"]}}), {}, env)
    assert plan.wanted == {"related": (("tote", None),)}  # once
    delivered(env, "product_model", entity_uuid("product_model", "orphan"), {"submodel": True, "root": "gone"})
    with pytest.raises(Unresolved, match="associated product model gone"):
        links.plan_links(product({"RELATED": {"product_models": ["orphan"]}}), {}, env)


def test_products_by_identifier_are_their_own_sku_and_checked_when_magento_refuses() -> None:
    env = make_env()
    catalog(env)
    plan = links.plan_links(product({"RELATED": {"products": ["legacy-1", "shirt"]}}), {}, env)
    assert plan.wanted == {"related": (("legacy-1", None),)}  # never linked to itself
    assert plan.unverified == {"legacy-1"}


def test_quantified_associations_of_grouped_from_make_a_grouped_product() -> None:
    env = make_env(grouped_from="PACK")
    catalog(env)
    m = product(quantified={"PACK": {"products": [{"uuid": BAG, "quantity": 2}, {"identifier": "legacy-1",
                                                                                 "quantity": 1}],
                                     "product_models": [{"identifier": "tote", "quantity": 1}]},
                            "OTHER": {"products": [{"uuid": BELT, "quantity": 5}]}})  # fmt: skip
    assert links.product_type(m, env) == "grouped"
    plan = links.plan_links(m, {}, env)
    assert plan.wanted == {"associated": (("bag", 2.0), ("legacy-1", 1.0))}  # models cannot be grouped
    body = links.links_body(plan, "shirt")["items"]
    assert body[0] == {"sku": "shirt", "link_type": "associated", "linked_product_sku": "bag",
                       "linked_product_type": "simple", "position": 1,
                       "extension_attributes": {"qty": 2.0}}  # fmt: skip
    # a quantity changed: the type is sent again
    changed = product(quantified={"PACK": {"products": [{"uuid": BAG, "quantity": 3},
                                                         {"identifier": "legacy-1", "quantity": 1}]}})  # fmt: skip
    again = links.plan_links(changed, {"links": plan.state}, env)
    assert [(sku, qty) for _, _, sku, _, qty in again.send] == [("bag", 3.0), ("legacy-1", 1.0)]
    # quantified associations of a type in `association_map` are plain links (no quantity)
    mapped = make_env(grouped_from="PACK", association_map={"OTHER": "related"})
    catalog(mapped)
    assert links.plan_links(m, {}, mapped).wanted["related"] == (("belt", None),)


def test_only_a_product_without_parent_becomes_grouped() -> None:
    env = make_env(grouped_from="PACK")
    pack = {"PACK": {"products": [{"uuid": BAG, "quantity": 2}]}}
    assert links.product_type(product(quantified=pack, parent="tote_red"), env) is None
    assert links.product_type(product(quantified={"PACK": {"products": []}}), env) is None
    assert links.product_type(product(quantified=pack), make_env()) is None  # no grouped_from
    model = product(quantified=pack).model_copy(update={"entity_type": "product_model"})
    assert links.product_type(model, env) is None


def test_association_targets_feed_the_prefetch() -> None:
    targets = association_targets(product(
        {"UPSELL": {"products": [BAG, "legacy-1"], "product_models": ["tote"]}},
        {"PACK": {"products": [{"uuid": BELT, "quantity": 1}], "product_models": [{"identifier": "bag_model"}]}},
    ).payload)  # fmt: skip
    assert targets.products == {BAG, BELT} and targets.identifiers == {"legacy-1"}
    assert targets.models == {"tote", "bag_model"} and targets.types == {"UPSELL", "PACK"}
    env = make_env()
    catalog(env)
    env.refs._cache.clear()
    env.refs.prefetch([product({"UPSELL": {"products": [BAG], "product_models": ["tote_red"]}})])
    cached = {key for key, value in env.refs._cache.items() if value is not None}
    assert ("product", BAG) in cached and ("product_model", entity_uuid("product_model", "tote")) in cached


# ---------------------------------------------------------------------------- links: sending


def test_send_posts_once_and_deletes_the_removed_links() -> None:
    client = FakeClient([("DELETE", r"/links/upsell/cap$", error(404, "Product shirt doesn't have linked cap"))])
    env = make_env(client)
    catalog(env)
    kept = {"upsell": [["cap", None]]}
    plan = links.plan_links(product({"UPSELL": {"products": [BAG]}, "RELATED": {"products": [BELT]}}),
                            {"links": kept}, env)  # fmt: skip
    state = links.send_links(plan, "shirt", env)
    assert state == {"related": [["belt", None]], "upsell": [["bag", None]]}
    writes = client.writes()
    assert [(m, p) for m, p, _ in writes] == [("POST", "/all/V1/products/shirt/links"),
                                              ("DELETE", "/all/V1/products/shirt/links/upsell/cap")]  # fmt: skip
    assert [i["linked_product_sku"] for i in writes[0][2]["items"]] == ["belt", "bag"]


@pytest.mark.parametrize("status", [400, 404])
def test_a_refused_post_with_a_missing_linked_sku_is_unresolved(status: int) -> None:
    refused = error(status, "The linked products data is invalid. Verify the data and try again.", "POST")
    client = FakeClient([("POST", r"/links$", refused), ("GET", r"/products/legacy-1$", error(404, "gone", "GET")),
                         ("GET", r"/products/bag$", {"sku": "bag"})])  # fmt: skip
    env = make_env(client)
    catalog(env)
    plan = links.plan_links(product({"RELATED": {"products": [BAG, "legacy-1"]}}), {}, env)
    with pytest.raises(Unresolved, match="linked product legacy-1"):
        links.send_links(plan, "shirt", env)
    client.rules[1] = ("GET", r"/products/legacy-1$", {"sku": "legacy-1"})
    with pytest.raises(MagentoError):  # every linked SKU exists: Magento's refusal stands
        links.send_links(plan, "shirt", env)


def test_a_deleted_product_or_sub_model_plans_no_links() -> None:
    env = make_env()
    gone = product({"UPSELL": {"products": [NEW]}}).model_copy(update={"operation": "deleted"})
    assert links.plan_links(gone, {}, env) is None
    sub = product({"UPSELL": {"products": [NEW]}}, parent="tote").model_copy(update={"entity_type": "product_model"})
    assert links.plan_links(sub, {}, env) is None


# ----------------------------------------------------------------------------- category keys


def category(labels: dict[str, str], code: str = "summer_sale") -> MutationData:
    return MutationData(mutation_id=2, entity_type="category", entity_uuid=entity_uuid("category", code), code=code,
                        operation="updated", payload={"code": code, "parent": "master", "labels": labels})  # fmt: skip


TAKEN = "Could not save category: URL key for specified store already exists."


def test_store_url_keys_come_from_the_label_with_the_code_as_fallback() -> None:
    assert categories.store_url_keys("Soldes d'été", "summer_sale") == ("soldes-d-ete", "soldes-d-ete-summer-sale")
    assert categories.store_url_keys("夏", "summer_sale") == ("summer-sale", None)  # no usable label: the code's
    assert categories.store_url_keys(None, "summer_sale") == ("summer-sale", None)


def test_category_views_get_their_url_key_and_a_taken_key_falls_back_once() -> None:
    client = FakeClient([("POST", r"^/all/V1/categories$", {"id": 40}),
                         ("PUT", r"^/de/V1/categories/40$", Turns([error(400, TAKEN), None]))])  # fmt: skip
    env = make_env(client)
    delivered(env, "category", entity_uuid("category", "master"), {"root": True})
    env.refs.save("category", entity_uuid("category", "master"), "2", {"root": True})
    m = category({"en_US": "Summer sale", "fr_FR": "Soldes d'été", "de_DE": "Sommerschlussverkauf"})
    result = categories.handle_category(m, env)
    assert result.status == "success"
    assert result.external_data["url_keys"] == {"de": "sommerschlussverkauf-summer-sale", "fr": "soldes-d-ete"}
    puts = [(p, b["category"]) for method, p, b in client.writes() if method == "PUT"]
    assert puts == [
        ("/de/V1/categories/40", {"name": "Sommerschlussverkauf", "custom_attributes": [
            {"attribute_code": "url_key", "value": "sommerschlussverkauf"}]}),
        ("/de/V1/categories/40", {"name": "Sommerschlussverkauf", "custom_attributes": [
            {"attribute_code": "url_key", "value": "sommerschlussverkauf-summer-sale"}]}),
        ("/fr/V1/categories/40", {"name": "Soldes d'été", "custom_attributes": [
            {"attribute_code": "url_key", "value": "soldes-d-ete"}]}),
    ]  # fmt: skip
    create = next(b for method, p, b in client.writes() if method == "POST")["category"]
    assert create["custom_attributes"] == [{"attribute_code": "url_key", "value": "summer-sale"}]  # global: the code
    env.refs.save("category", m.entity_uuid, result.external_id, result.external_data)

    # The same again: nothing sent. A changed label: that view only, with its new key.
    client.calls.clear()
    assert categories.handle_category(m, env).status == "success" and client.writes() == []
    renamed = category({"en_US": "Summer sale", "fr_FR": "Grandes soldes", "de_DE": "Sommerschlussverkauf"})
    result = categories.handle_category(renamed, env)
    assert [(p, b["category"]["custom_attributes"][0]["value"]) for _, p, b in client.writes()] == [
        ("/fr/V1/categories/40", "grandes-soldes")]  # fmt: skip
    env.refs.save("category", m.entity_uuid, result.external_id, result.external_data)

    # A label removed: the view gets the global name and key back.
    client.calls.clear()
    result = categories.handle_category(category({"en_US": "Summer sale", "fr_FR": "Grandes soldes"}), env)
    back = {"name": "Summer sale", "custom_attributes": [{"attribute_code": "url_key", "value": "summer-sale"}]}
    assert [(p, b["category"]) for _, p, b in client.writes()] == [("/de/V1/categories/40", back)]
    assert result.external_data["url_keys"] == {"de": "summer-sale", "fr": "grandes-soldes"}


def test_a_category_view_refused_for_another_reason_fails() -> None:
    broken = error(400, "Could not save category: broken")
    client = FakeClient([("POST", r"^/all/V1/categories$", {"id": 41}), ("PUT", r"^/fr/V1/categories/41$", broken)])
    env = make_env(client)
    env.refs.save("category", entity_uuid("category", "master"), "2", {"root": True})
    with pytest.raises(MagentoError, match="broken"):
        categories.handle_category(category({"en_US": "Summer sale", "fr_FR": "Soldes"}), env)
    assert len([c for c in client.writes() if c[1].startswith("/fr/")]) == 1  # no fallback for that


# ------------------------------------------------------------------------- attributes, options


def attribute_mutation(code: str = "color") -> MutationData:
    payload = {"code": code, "type": "pim_catalog_simpleselect", "labels": {"en_US": "Color", "fr_FR": "Couleur"}}
    return MutationData(mutation_id=3, entity_type="attribute", entity_uuid=entity_uuid("attribute", code), code=code,
                        operation="updated", payload=payload)  # fmt: skip


def test_an_attribute_update_carries_magentos_attribute_id() -> None:
    existing = {"attribute_id": 93, "attribute_code": "color", "frontend_input": "select", "is_user_defined": True}
    client = FakeClient([("GET", r"/attributes/color$", existing)])
    result = attributes.handle_attribute(attribute_mutation(), make_env(client))
    assert result.status == "success" and result.external_data["attribute_id"] == 93
    ((method, path, body),) = client.writes()
    assert (method, path) == ("PUT", "/all/V1/products/attributes/color")
    assert body["attribute"]["attribute_id"] == 93 and body["attribute"]["attribute_code"] == "color"


def option_mutation() -> MutationData:
    payload = {"code": "color.red", "attribute": "color", "option_code": "red", "sort_order": 1,
               "labels": {"en_US": "Red"}}  # fmt: skip
    return MutationData(mutation_id=4, entity_type="attribute_option",
                        entity_uuid=entity_uuid("attribute_option", "color.red"), code="color.red",
                        operation="updated", payload=payload)  # fmt: skip


def option_env(client: FakeClient) -> Env:
    env = make_env(client)
    env.refs.save("attribute", entity_uuid("attribute", "color"), "color",
                  {"type": "pim_catalog_simpleselect", "magento_code": "color", "attribute_id": 93})  # fmt: skip
    env.refs.save("attribute_option", entity_uuid("attribute_option", "color.red"), "57", {"hash": "old"})
    return env


@pytest.mark.parametrize("status", [400, 404])
def test_an_option_gone_from_magento_is_created_again(status: int) -> None:
    missing = error(status, "The 'color' attribute doesn't include an option id '57'.")
    client = FakeClient([("PUT", r"/options/57$", missing), ("GET", r"/attributes/color/options$", [{"value": "12"}]),
                         ("POST", r"/attributes/color/options$", "id_88")])  # fmt: skip
    result = attributes.handle_option(option_mutation(), option_env(client))
    assert result.status == "success" and result.external_id == "88"
    options = "/all/V1/products/attributes/color/options"
    assert [(m, p) for m, p, _ in client.writes()] == [("PUT", f"{options}/57"), ("POST", options)]


def test_an_option_refused_while_magento_still_has_it_is_not_duplicated() -> None:
    refused = error(400, 'Admin store attribute option label "red" is already exists.')
    client = FakeClient([("PUT", r"/options/57$", refused), ("GET", r"/attributes/color/options$", [{"value": "57"}])])
    with pytest.raises(MagentoError, match="already exists"):
        attributes.handle_option(option_mutation(), option_env(client))
    assert [m for m, _, _ in client.writes()] == ["PUT"]


# ------------------------------------------------------------------ channels, association types


def test_channels_and_association_types_are_remembered_not_sent() -> None:
    client = FakeClient()
    env = make_env(client)
    channel = MutationData(mutation_id=5, entity_type="channel", entity_uuid=entity_uuid("channel", "ecommerce"),
                           code="ecommerce", operation="created",
                           payload={"code": "ecommerce", "locales": ["fr_FR", "en_US"], "currencies": ["EUR"],
                                    "category_tree": "master", "labels": {"en_US": "E-commerce"},
                                    "conversion_units": None})  # fmt: skip
    result = reference.handle_channel(channel, env)
    assert result.external_data == {"locales": ["en_US", "fr_FR"], "currencies": ["EUR"], "category_tree": "master",
                                    "labels": {"en_US": "E-commerce"}}  # fmt: skip
    assert env.refs.channel("ecommerce") == result.external_data
    pack = MutationData(mutation_id=6, entity_type="association_type",
                        entity_uuid=entity_uuid("association_type", "PACK"), code="PACK", operation="created",
                        payload={"code": "PACK", "is_quantified": True, "is_two_way": False,
                                 "labels": {"en_US": "Pack"}})  # fmt: skip
    assert reference.handle_association_type(pack, env).external_data == {"is_quantified": True,
                                                                          "labels": {"en_US": "Pack"}}  # fmt: skip
    assert env.refs.association_type("PACK") == {"is_quantified": True, "labels": {"en_US": "Pack"}}
    gone = reference.handle_association_type(pack.model_copy(update={"operation": "deleted"}), env)
    assert gone.forget_mapping and env.refs.association_type("PACK") is None
    assert env.refs.channel("mobile") is None and client.calls == []
