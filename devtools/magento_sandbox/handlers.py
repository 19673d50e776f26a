"""Magento REST operations implemented by the sandbox, keyed by the spec's operationId.

Each handler is synchronous (runs under the catalog lock, atomically) and receives a ``Ctx``
holding the already-validated body, the path parameters and the request's store scope.
Operations of the spec that are missing here answer 501 so gaps are noticed, never faked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .query import SearchCriteria, matches, paginate, parse_search_criteria, sort_items
from .related import LINK_TYPES
from .state import Catalog, now_text
from .stores import Scope


@dataclass(slots=True)
class Ctx:
    catalog: Catalog
    scope: Scope
    params: dict[str, str]
    body: Any
    query: list[tuple[str, str]]
    warnings: list[str] = field(default_factory=list)
    bulks: Any = None  # BulkStore, for the bulk status endpoints

    def int_param(self, name: str) -> int:
        return int(self.params[name])

    def read_store(self) -> int:
        """``?storeId=`` (where the spec declares it) overrides the URL's store."""
        for key, value in self.query:
            if key == "storeId" and value.isdigit() and int(value) in self.catalog.stores.by_id:
                return int(value)
        return self.scope.read_store

    def criteria(self) -> SearchCriteria:
        return parse_search_criteria(self.query)


Fn = Callable[[Ctx], Any]
SkuFn = Callable[[Ctx], list[str]]


@dataclass(frozen=True, slots=True)
class Handler:
    fn: Fn
    skus: SkuFn | None = None  # the SKUs a write touches, for the per-SKU in-flight tracking


HANDLERS: dict[str, Handler] = {}


def op(operation_id: str, skus: SkuFn | None = None) -> Callable[[Fn], Fn]:
    def register(fn: Fn) -> Fn:
        HANDLERS[operation_id] = Handler(fn, skus)
        return fn

    return register


def _results(items: list[Any], ctx: Ctx) -> dict[str, Any]:
    criteria = ctx.criteria()
    return {
        "items": paginate(items, criteria),
        "search_criteria": criteria.to_json(),
        "total_count": len(items),
    }


# ------------------------------------------------------------------------------ stores


@op("GetV1StoreWebsites")
def store_websites(ctx: Ctx) -> Any:
    return ctx.catalog.stores.websites_json()


@op("GetV1StoreStoreViews")
def store_views(ctx: Ctx) -> Any:
    return ctx.catalog.stores.store_views_json()


@op("GetV1StoreStoreGroups")
def store_groups(ctx: Ctx) -> Any:
    return ctx.catalog.stores.store_groups_json()


@op("GetV1StoreStoreConfigs")
def store_configs(ctx: Ctx) -> Any:
    codes = [v for k, v in ctx.query if k.startswith("storeCodes")]
    return ctx.catalog.stores.store_configs_json(codes or None)


# -------------------------------------------------------------------------- attributes


@op("GetV1ProductsAttributesTypes")
def attribute_types(ctx: Ctx) -> Any:
    labels = {
        "text": "Text Field",
        "textarea": "Text Area",
        "texteditor": "Text Editor",
        "date": "Date",
        "datetime": "Date and Time",
        "boolean": "Yes/No",
        "multiselect": "Multiple Select",
        "select": "Dropdown",
        "price": "Price",
        "media_image": "Media Image",
    }
    return [{"value": k, "label": v} for k, v in labels.items()]


@op("GetV1ProductsAttributes")
def attributes_list(ctx: Ctx) -> Any:
    criteria = ctx.criteria()
    items = ctx.catalog.eav.search(criteria.filter_groups)
    store = ctx.read_store()
    return {
        "items": [a.to_json(store) for a in paginate(items, criteria)],
        "search_criteria": criteria.to_json(),
        "total_count": len(items),
    }


@op("PostV1ProductsAttributes")
def attribute_create(ctx: Ctx) -> Any:
    return ctx.catalog.eav.create_attribute(ctx.body["attribute"]).to_json(0)


@op("GetV1ProductsAttributesAttributeCode")
def attribute_get(ctx: Ctx) -> Any:
    return ctx.catalog.eav.get(ctx.params["attributeCode"]).to_json(ctx.read_store())


@op("PutV1ProductsAttributesAttributeCode")
def attribute_update(ctx: Ctx) -> Any:
    return ctx.catalog.eav.update_attribute(ctx.params["attributeCode"], ctx.body["attribute"]).to_json(0)


@op("DeleteV1ProductsAttributesAttributeCode")
def attribute_delete(ctx: Ctx) -> Any:
    return ctx.catalog.delete_attribute(ctx.params["attributeCode"])


@op("GetV1ProductsAttributesAttributeCodeOptions")
def options_list(ctx: Ctx) -> Any:
    attr = ctx.catalog.eav.get(ctx.params["attributeCode"])
    return attr.options_json(ctx.read_store()) if attr.uses_options else []


@op("PostV1ProductsAttributesAttributeCodeOptions")
def option_add(ctx: Ctx) -> Any:
    return ctx.catalog.eav.add_option(ctx.params["attributeCode"], ctx.body["option"], ctx.scope.read_store)


@op("PutV1ProductsAttributesAttributeCodeOptionsOptionId")
def option_update(ctx: Ctx) -> Any:
    return ctx.catalog.eav.update_option(
        ctx.params["attributeCode"], ctx.int_param("optionId"), ctx.body["option"], ctx.scope.read_store
    )


@op("DeleteV1ProductsAttributesAttributeCodeOptionsOptionId")
def option_delete(ctx: Ctx) -> Any:
    return ctx.catalog.eav.delete_option(ctx.params["attributeCode"], ctx.params["optionId"])


# ----------------------------------------------------------------------- attribute sets


@op("PostV1ProductsAttributesets")
def set_create(ctx: Ctx) -> Any:
    return ctx.catalog.eav.create_set(ctx.body["attributeSet"], ctx.body["skeletonId"]).to_json()


@op("GetV1ProductsAttributesetsAttributeSetId")
def set_get(ctx: Ctx) -> Any:
    return ctx.catalog.eav.get_set(ctx.int_param("attributeSetId")).to_json()


@op("PutV1ProductsAttributesetsAttributeSetId")
def set_update(ctx: Ctx) -> Any:
    raw = ctx.params["attributeSetId"]
    if not raw.isdigit():
        raise errors.no_such_entity("id", raw)
    return ctx.catalog.eav.update_set(int(raw), ctx.body["attributeSet"]).to_json()


@op("DeleteV1ProductsAttributesetsAttributeSetId")
def set_delete(ctx: Ctx) -> Any:
    return ctx.catalog.delete_attribute_set(ctx.int_param("attributeSetId"))


@op("GetV1ProductsAttributesetsSetsList")
def sets_list(ctx: Ctx) -> Any:
    criteria = ctx.criteria()
    items = [
        s.to_json()
        for s in ctx.catalog.eav.sets.values()
        if matches(criteria.filter_groups, lambda f, s=s: s.to_json().get(f))
    ]
    return _results(items, ctx)


@op("PostV1ProductsAttributesetsGroups")
def group_save(ctx: Ctx) -> Any:
    return ctx.catalog.eav.save_group(ctx.body["group"]).to_json()


@op("GetV1ProductsAttributesetsGroupsList")
def groups_list(ctx: Ctx) -> Any:
    set_id = ctx.criteria().first_value("attribute_set_id")
    if not set_id:
        raise errors.required_field("attribute_set_id")
    groups = ctx.catalog.eav.groups_of(int(set_id)) if set_id.isdigit() else []
    return _results([g.to_json() for g in groups], ctx)


@op("DeleteV1ProductsAttributesetsGroupsGroupId")
def group_delete(ctx: Ctx) -> Any:
    eav = ctx.catalog.eav
    group = eav.groups.get(ctx.int_param("groupId"))
    if group is None:
        raise errors.no_such_entity("attributeGroupId", ctx.params["groupId"])
    if any(gid == group.id for s in eav.sets.values() for gid, _, _ in s.attributes.values()):
        raise errors.bad_request("The attribute group can't be deleted because it contains system attributes.")
    del eav.groups[group.id]
    return True


@op("PostV1ProductsAttributesetsAttributes")
def set_assign(ctx: Ctx) -> Any:
    b = ctx.body
    return ctx.catalog.eav.assign(
        b["attributeSetId"], b["attributeGroupId"], b["attributeCode"], b["sortOrder"]
    )


@op("GetV1ProductsAttributesetsAttributeSetIdAttributes")
def set_attributes(ctx: Ctx) -> Any:
    raw = ctx.params["attributeSetId"]
    if not raw.isdigit():
        raise errors.no_such_entity("id", raw)
    return [a.to_json(ctx.read_store()) for a in ctx.catalog.eav.set_attributes(int(raw))]


@op("DeleteV1ProductsAttributesetsAttributeSetIdAttributesAttributeCode")
def set_unassign(ctx: Ctx) -> Any:
    raw = ctx.params["attributeSetId"]
    return ctx.catalog.eav.unassign(int(raw) if raw.isdigit() else -1, ctx.params["attributeCode"])


# --------------------------------------------------------------------------- categories


@op("PostV1Categories")
def category_create(ctx: Ctx) -> Any:
    cats = ctx.catalog.categories
    category = cats.save(ctx.body["category"], ctx.scope, None, now_text())
    return cats.to_json(category, ctx.scope.read_store)


@op("PutV1CategoriesId")
def category_update(ctx: Ctx) -> Any:
    raw = ctx.params["id"]
    if not raw.isdigit():
        raise errors.no_such_entity("id", raw)
    data = ctx.body["category"]
    if data.get("id") is not None and data["id"] != int(raw):
        ctx.warnings.append(f"category.id {data['id']} differs from the URL id {raw}; the URL wins")
    cats = ctx.catalog.categories
    current = cats.get(int(raw))
    if data.get("parent_id") is not None and data["parent_id"] != current.parent_id:
        ctx.warnings.append("parent_id ignored on update; use PUT /V1/categories/{id}/move")
    category = cats.save(data, ctx.scope, int(raw), now_text())
    return cats.to_json(category, ctx.scope.read_store)


@op("GetV1CategoriesCategoryId")
def category_get(ctx: Ctx) -> Any:
    cats = ctx.catalog.categories
    return cats.to_json(cats.get(ctx.int_param("categoryId")), ctx.read_store())


@op("GetV1Categories")
def category_tree(ctx: Ctx) -> Any:
    query = dict(ctx.query)
    root = query.get("rootCategoryId")
    depth = query.get("depth")
    root_id = int(root) if root and root.isdigit() else (1 if ctx.scope.read_store == 0 else 2)
    return ctx.catalog.categories.tree_json(
        root_id, int(depth) if depth and depth.isdigit() else None, ctx.scope.read_store
    )


@op("GetV1CategoriesList")
def category_list(ctx: Ctx) -> Any:
    cats = ctx.catalog.categories
    store = ctx.scope.read_store
    criteria = ctx.criteria()
    rows = [cats.to_json(c, store) for c in cats.items.values()]
    rows = [r for r in rows if matches(criteria.filter_groups, lambda f, r=r: _category_field(r, f))]
    rows = sort_items(rows, criteria.sort_orders, _category_field) if criteria.sort_orders else rows
    return _results(rows, ctx)


def _category_field(row: dict[str, Any], name: str) -> Any:
    if name in ("entity_id",):
        return row["id"]
    if name in row:
        return row[name]
    return next((c["value"] for c in row["custom_attributes"] if c["attribute_code"] == name), None)


@op("DeleteV1CategoriesCategoryId")
def category_delete(ctx: Ctx) -> Any:
    return ctx.catalog.delete_category(ctx.int_param("categoryId"))


@op("PutV1CategoriesCategoryIdMove")
def category_move(ctx: Ctx) -> Any:
    b = ctx.body
    return ctx.catalog.categories.move(
        ctx.int_param("categoryId"), b["parentId"], b.get("afterId"), now_text()
    )


def _link_skus(ctx: Ctx) -> list[str]:
    return [(ctx.body or {}).get("productLink", {}).get("sku") or ""]


@op("GetV1CategoriesCategoryIdProducts")
def category_products(ctx: Ctx) -> Any:
    return ctx.catalog.products.category_product_links(ctx.int_param("categoryId"))


def _assign(ctx: Ctx) -> Any:
    raw = ctx.params["categoryId"]
    link = ctx.body["productLink"]
    return ctx.catalog.products.assign_category(
        link["sku"], int(raw) if raw.isdigit() else -1, link.get("position") or 0
    )


op("PostV1CategoriesCategoryIdProducts", _link_skus)(_assign)
op("PutV1CategoriesCategoryIdProducts", _link_skus)(_assign)


@op("DeleteV1CategoriesCategoryIdProductsSku", lambda ctx: [ctx.params["sku"]])
def category_unassign(ctx: Ctx) -> Any:
    return ctx.catalog.products.unassign_category(ctx.params["sku"], ctx.int_param("categoryId"))


# ----------------------------------------------------------------------------- products


def _body_sku(ctx: Ctx) -> list[str]:
    product = (ctx.body or {}).get("product") or {}
    return [product.get("sku") or ""]


def _put_skus(ctx: Ctx) -> list[str]:
    return list(dict.fromkeys([ctx.params["sku"], *_body_sku(ctx)]))


def save_product(ctx: Ctx, data: dict[str, Any]) -> Any:
    products = ctx.catalog.products
    product = products.save(data, ctx.scope, now_text(), ctx.warnings)
    return products.to_json(product, ctx.scope.read_store)


@op("PostV1Products", _body_sku)
def product_post(ctx: Ctx) -> Any:
    return save_product(ctx, ctx.body["product"])


@op("PutV1ProductsSku", _put_skus)
def product_put(ctx: Ctx) -> Any:
    # the server's ParamsOverrider step already put the URL sku into product.sku (when the body has
    # only the "product" key); otherwise the body's sku is saved
    return save_product(ctx, ctx.body["product"])


@op("GetV1ProductsSku")
def product_get(ctx: Ctx) -> Any:
    products = ctx.catalog.products
    return products.to_json(products.get(ctx.params["sku"]), ctx.read_store())


@op("DeleteV1ProductsSku", lambda ctx: [ctx.params["sku"]])
def product_delete(ctx: Ctx) -> Any:
    return ctx.catalog.products.delete(ctx.params["sku"])


@op("GetV1Products")
def product_search(ctx: Ctx) -> Any:
    products = ctx.catalog.products
    criteria = ctx.criteria()
    store = ctx.scope.read_store
    page, total = products.search(criteria, store)
    return {
        "items": [products.to_json(p, store) for p in page],
        "search_criteria": criteria.to_json(),
        "total_count": total,
    }


# ------------------------------------------------------------------------- configurables


def _parent_sku(ctx: Ctx) -> list[str]:
    return [ctx.params["sku"]]


def _parent_and_child(ctx: Ctx) -> list[str]:
    child = ctx.params.get("childSku") or (ctx.body or {}).get("childSku") or ""
    return [ctx.params["sku"], child]


@op("PostV1ConfigurableproductsSkuOptions", _parent_sku)
def configurable_option_add(ctx: Ctx) -> Any:
    return ctx.catalog.products.save_option(ctx.params["sku"], ctx.body["option"], None, ctx.warnings)


@op("PutV1ConfigurableproductsSkuOptionsId", _parent_sku)
def configurable_option_update(ctx: Ctx) -> Any:
    raw = ctx.params["id"]
    option_id = int(raw) if raw.isdigit() else -1
    return ctx.catalog.products.save_option(ctx.params["sku"], ctx.body["option"], option_id, ctx.warnings)


@op("GetV1ConfigurableproductsSkuOptionsAll")
def configurable_options(ctx: Ctx) -> Any:
    return ctx.catalog.products.options_of(ctx.params["sku"])


@op("GetV1ConfigurableproductsSkuOptionsId")
def configurable_option_get(ctx: Ctx) -> Any:
    return ctx.catalog.products.get_option(ctx.params["sku"], ctx.int_param("id"))


@op("DeleteV1ConfigurableproductsSkuOptionsId", _parent_sku)
def configurable_option_delete(ctx: Ctx) -> Any:
    return ctx.catalog.products.delete_option(ctx.params["sku"], ctx.int_param("id"))


@op("PostV1ConfigurableproductsSkuChild", _parent_and_child)
def configurable_child_add(ctx: Ctx) -> Any:
    return ctx.catalog.products.add_child(ctx.params["sku"], ctx.body["childSku"], ctx.scope.read_store)


@op("GetV1ConfigurableproductsSkuChildren")
def configurable_children(ctx: Ctx) -> Any:
    return ctx.catalog.products.children_of(ctx.params["sku"], ctx.scope.read_store)


@op("DeleteV1ConfigurableproductsSkuChildrenChildSku", _parent_and_child)
def configurable_child_remove(ctx: Ctx) -> Any:
    return ctx.catalog.products.remove_child(ctx.params["sku"], ctx.params["childSku"])


# --------------------------------------------------------------------------------- bulk


@op("GetV1BulkBulkUuidDetailedstatus")
def bulk_detailed(ctx: Ctx) -> Any:
    return ctx.bulks.get(ctx.params["bulkUuid"]).detailed_json()


@op("GetV1BulkBulkUuidStatus")
def bulk_status(ctx: Ctx) -> Any:
    return ctx.bulks.get(ctx.params["bulkUuid"]).status_json()


@op("GetV1BulkBulkUuidOperationstatusStatus")
def bulk_count(ctx: Ctx) -> Any:
    return ctx.bulks.get(ctx.params["bulkUuid"]).count(ctx.int_param("status"))


# ------------------------------------------------------------------------ media gallery


def _sku(ctx: Ctx) -> list[str]:
    return [ctx.params["sku"]]


def _entry_id(ctx: Ctx) -> int:
    raw = ctx.params["entryId"]
    return int(raw) if raw.isdigit() else -1


@op("PostV1ProductsSkuMedia", _sku)
def media_create(ctx: Ctx) -> Any:
    return ctx.catalog.products.media_create(ctx.params["sku"], ctx.body["entry"], ctx.scope.update_store)


@op("GetV1ProductsSkuMedia")
def media_list(ctx: Ctx) -> Any:
    return ctx.catalog.products.media_list(ctx.params["sku"], ctx.read_store())


@op("GetV1ProductsSkuMediaEntryId")
def media_get(ctx: Ctx) -> Any:
    return ctx.catalog.products.media_get(ctx.params["sku"], _entry_id(ctx), ctx.read_store())


@op("PutV1ProductsSkuMediaEntryId", _sku)
def media_update(ctx: Ctx) -> Any:
    entry = ctx.body["entry"]
    if entry.get("id") is not None and str(entry["id"]) != ctx.params["entryId"]:
        ctx.warnings.append(f"URL entryId {ctx.params['entryId']} ignored: Magento updates entry.id {entry['id']}")
    return ctx.catalog.products.media_update(ctx.params["sku"], entry, ctx.scope.update_store)


@op("DeleteV1ProductsSkuMediaEntryId", _sku)
def media_delete(ctx: Ctx) -> Any:
    return ctx.catalog.products.media_delete(ctx.params["sku"], _entry_id(ctx))


# ------------------------------------------------------------------------- product links


@op("GetV1ProductsLinksTypes")
def link_types(ctx: Ctx) -> Any:
    return [{"code": code, "name": name} for name, code in LINK_TYPES.items()]


@op("PostV1ProductsSkuLinks", _sku)
def links_set(ctx: Ctx) -> Any:
    return ctx.catalog.products.links_set(ctx.params["sku"], ctx.body["items"])


@op("PutV1ProductsSkuLinks", _sku)
def link_save(ctx: Ctx) -> Any:
    return ctx.catalog.products.link_save(ctx.params["sku"], ctx.body["entity"])


@op("GetV1ProductsSkuLinksType")
def links_of_type(ctx: Ctx) -> Any:
    return ctx.catalog.products.links_of_type(ctx.params["sku"], ctx.params["type"])


@op("DeleteV1ProductsSkuLinksTypeLinkedProductSku", _sku)
def link_delete(ctx: Ctx) -> Any:
    p = ctx.params
    return ctx.catalog.products.link_delete(p["sku"], p["type"], p["linkedProductSku"])


# --------------------------------------------------------------------------------- stock


@op("GetV1StockItemsProductSku")
def stock_item(ctx: Ctx) -> Any:
    return ctx.catalog.inventory.stock_item(ctx.params["productSku"])


def _source_skus(ctx: Ctx) -> list[str]:
    return [str((i or {}).get("sku") or "") for i in (ctx.body or {}).get("sourceItems") or []]


@op("PostV1InventorySourceitems", _source_skus)
def source_items_save(ctx: Ctx) -> Any:
    return ctx.catalog.inventory.save_source_items(ctx.body["sourceItems"])


@op("GetV1InventorySourceitems")
def source_items_list(ctx: Ctx) -> Any:
    criteria = ctx.criteria()
    items, total = ctx.catalog.inventory.search(criteria)
    return {"items": items, "search_criteria": criteria.to_json(), "total_count": total}


# ------------------------------------------------------------------------------ websites


@op("PostV1ProductsSkuWebsites", lambda ctx: [(ctx.body or {}).get("productWebsiteLink", {}).get("sku") or ""])
def product_website_assign(ctx: Ctx) -> Any:
    """ProductWebsiteLinkRepository::save (the link's sku is the URL sku after ParamsOverrider on PUT)."""
    link = ctx.body["productWebsiteLink"]
    return ctx.catalog.products.assign_website(link["sku"], link["website_id"])


op("PutV1ProductsSkuWebsites", lambda ctx: [ctx.params["sku"]])(product_website_assign)


@op("DeleteV1ProductsSkuWebsitesWebsiteId", _sku)
def product_website_unassign(ctx: Ctx) -> Any:
    raw = ctx.params["websiteId"]
    return ctx.catalog.products.unassign_website(ctx.params["sku"], int(raw) if raw.isdigit() else -1)
