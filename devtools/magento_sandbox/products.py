"""Products: upserts with Magento's scope rules, URL keys, option-id checks, links and search.

Values are kept per store (0 = admin/global, 1..n = store views) exactly like the EAV tables:
a store-view row shadows the global one, even when it holds an empty value.  Where a write
lands is decided per attribute scope (global / website / store) and by the URL's store code,
including magento2#9186: a store-scoped save copies every attribute it is sent into that scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors
from .categories import Categories
from .eav import Attribute, Eav, ensure_option_value
from .inventory import Inventory, stock_item_json, verified_stock
from .media import MediaEntry, MediaMixin
from .product_links import ProductLinksMixin
from .query import SearchCriteria, matches, paginate, sort_items
from .related import RelatedLinksMixin
from .stores import ADMIN_STORE_ID, Scope, Stores
from .urls import UrlIndex, format_url_key

SKU_MAX_LENGTH = 64
TYPES = ("simple", "virtual", "configurable", "downloadable", "bundle", "grouped")
PRICE_REQUIRED_TYPES = ("simple", "virtual", "downloadable")
TOP_LEVEL = ("name", "price", "status", "visibility", "weight")
_INT_FIELDS = ("status", "visibility")
_EXTRAS = ("options", "tier_prices")
_DEFAULTS = {"status": 1, "visibility": 4, "tax_class_id": "2"}  # attribute default_value, applied on create
_WEBSITE_MISSING = "The website with id %1 that was requested wasn't found. Verify the website and try again."
_EMPTY = 'The "%1" attribute value is empty. Set the attribute and try again.'


@dataclass(slots=True)
class Product:
    id: int
    sku: str
    type_id: str
    attribute_set_id: int
    created_at: str
    updated_at: str
    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    website_ids: list[int] = field(default_factory=list)
    category_links: list[dict[str, Any]] = field(default_factory=list)
    stock_item: dict[str, Any] | None = None
    extras: dict[str, list[Any]] = field(default_factory=dict)
    configurable_options: list[dict[str, Any]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    media: list[MediaEntry] = field(default_factory=list)
    roles: dict[str, int] = field(default_factory=dict)  # image/small_image/... -> media entry id
    links: list[dict[str, Any]] = field(default_factory=list)  # related/upsell/crosssell/associated

    def effective(self, store_id: int) -> dict[str, Any]:
        merged = dict(self.values.get(ADMIN_STORE_ID, {}))
        if store_id:
            merged.update(self.values.get(store_id, {}))
        return merged

    def value(self, store_id: int, code: str) -> Any:
        scoped = self.values.get(store_id, {})
        return scoped[code] if code in scoped else self.values.get(ADMIN_STORE_ID, {}).get(code)


def sku_key(sku: str) -> str:
    """MySQL's case-insensitive, trailing-space-insensitive collation on catalog_product_entity.sku."""
    return sku.rstrip(" ").lower()


class Products(ProductLinksMixin, MediaMixin, RelatedLinksMixin):
    def __init__(self, stores: Stores, eav: Eav, categories: Categories, urls: UrlIndex) -> None:
        self.stores, self.eav, self.categories, self.urls = stores, eav, categories, urls
        self.by_key: dict[str, Product] = {}
        self.by_id: dict[int, Product] = {}
        self.parents: dict[int, set[int]] = {}
        self._next_id = 0
        self._next_option_id = 0
        self.media_files: set[str] = set()
        self.media_bytes = 0  # decoded image bytes stored by media POST/PUT and product saves
        self._next_media_id = 0
        self.inventory = Inventory(self)

    # --------------------------------------------------------------------------- lookup

    def find(self, sku: str) -> Product | None:
        return self.by_key.get(sku_key(sku))

    def get(self, sku: str) -> Product:
        product = self.find(sku)
        if product is None:
            raise errors.product_not_found()
        return product

    # ---------------------------------------------------------------------------- save

    def save(self, data: dict[str, Any], scope: Scope, now: str, warnings: list[str]) -> Product:
        """ProductRepository::save — the upsert behind POST /V1/products and PUT /V1/products/{sku}."""
        sku = data.get("sku") or ""
        if not sku.strip():
            raise errors.required_field("sku")
        if len(sku) > SKU_MAX_LENGTH:
            raise errors.bad_request("SKU length should be %1 characters maximum.", [SKU_MAX_LENGTH])
        existing = self._target(data, sku, warnings)
        is_new = existing is None
        store = scope.create_store if is_new else scope.update_store
        type_id = data.get("type_id") or (existing.type_id if existing else "simple")
        if type_id not in TYPES:
            raise errors.invalid_field_value("type_id", type_id)
        set_id = data.get("attribute_set_id") or (existing.attribute_set_id if existing else 4)
        if set_id not in self.eav.sets:
            raise errors.no_such_entity("attribute_set_id", set_id, status=400)

        writes = self._collect_writes(data, set_id, warnings)
        self._apply_url_key(writes, existing, store, is_new)
        if is_new:
            for code, default in _DEFAULTS.items():
                writes.setdefault(code, default)
            self._check_required(writes, type_id)

        values = {k: dict(v) for k, v in existing.values.items()} if existing else {}
        for code, value in writes.items():
            attr = self.eav.attributes[code]
            for target in self._targets(attr, store):
                values.setdefault(target, {})[code] = value
            if is_new and store != ADMIN_STORE_ID and attr.is_required:
                values.setdefault(ADMIN_STORE_ID, {}).setdefault(code, value)  # _insertAttribute()

        ext = data.get("extension_attributes") or {}
        website_ids = self._website_ids(ext, existing, scope)
        category_links = self._category_links(ext, existing, sku)
        product_id = existing.id if existing else self._next_id + 1
        url_entries = self._url_entries(values, website_ids)
        self.urls.check(("product", product_id), url_entries)
        options, links = self._configurable(ext, existing, type_id, warnings)
        self.check_gallery(data.get("media_gallery_entries"))
        # Link\SaveHandler -> ProductLink\Repository::save: unknown linked SKU -> 404 (rolled back)
        product_links = (
            self._resolve_links(type_id, data["product_links"]) if data.get("product_links") is not None else None
        )

        # ---- commit (nothing above mutated the catalog)
        if existing is None:
            self._next_id += 1
            product = Product(product_id, sku, type_id, set_id, now, now)
            self.by_id[product.id] = product
        else:
            product = existing
            if sku_key(product.sku) != sku_key(sku):  # renamed through product.id
                del self.by_key[sku_key(product.sku)]
                product.sku = sku
        self.by_key[sku_key(product.sku)] = product
        product.type_id, product.attribute_set_id, product.updated_at = type_id, set_id, now
        product.values = values
        product.website_ids = website_ids
        self._relink_categories(product, category_links)
        if ext.get("stock_item") is not None:
            product.stock_item = verified_stock({**(product.stock_item or {}), **ext["stock_item"]}, product.type_id)
        if ext.get("stock_item") is not None or existing is None:
            self.inventory.legacy_saved(product)
        self.save_gallery(product, data.get("media_gallery_entries"), store, warnings)
        if product_links is not None:
            product.links = product_links
        for name in _EXTRAS:
            if data.get(name) is not None:
                product.extras[name] = data[name]
        if options is not None:
            product.configurable_options = options
        if links is not None:
            self._set_children(product, links)
        self.urls.replace(("product", product.id), url_entries)
        if links:  # ProductRepositorySave::afterSave validates *after* the save was committed
            self._validate_links(product, links, scope.read_store)
        return product

    def _target(self, data: dict[str, Any], sku: str, warnings: list[str]) -> Product | None:
        existing = None
        if data.get("id") is not None:
            existing = self.by_id.get(data["id"])
            if existing is None:
                warnings.append(f"product.id {data['id']} does not exist; the product is saved by sku")
        if existing is None:
            existing = self.find(sku)
            if existing is not None and existing.sku != sku:
                warnings.append(
                    f"sku {sku!r} matched existing product {existing.sku!r} (case/space-insensitive)"
                )
        elif sku_key(existing.sku) != sku_key(sku):
            other = self.find(sku)
            if other is not None and other is not existing:
                raise errors.bad_request('The Product with the "%1" SKU already exists.', [sku])
            warnings.append(f"product {existing.id} renamed from {existing.sku!r} to {sku!r}")
        return existing

    def _collect_writes(self, data: dict[str, Any], set_id: int, warnings: list[str]) -> dict[str, Any]:
        writes: dict[str, Any] = {}
        in_set = self.eav.sets[set_id].attributes
        for item in data.get("custom_attributes") or []:
            code = item.get("attribute_code")
            attr = self.eav.attributes.get(code)
            if code in ("sku", "category_ids"):
                warnings.append(f"custom attribute {code!r} ignored (use the product field / category_links)")
                continue
            if attr is None:
                warnings.append(f"unknown attribute code {code!r} in custom_attributes silently ignored")
                continue
            if code not in in_set:
                warnings.append(f"attribute {code!r} is not in attribute set {set_id}")
            writes[code] = self._normalize(attr, item.get("value"))
        for name in TOP_LEVEL:
            if name in data:
                writes[name] = self._normalize(self.eav.attributes[name], data[name])
        return writes

    def _normalize(self, attr: Attribute, value: Any) -> Any:
        if value is None or value == "":
            return value  # Magento's catalog resource stores empties (only `false` counts as empty)
        if attr.code in _INT_FIELDS:
            text = str(value)
            if not text.isdigit() or int(text) not in attr.options:
                raise errors.invalid_field_value(attr.code, value)
            return int(text)
        if attr.uses_options:
            text = str(value)
            if attr.fixed_options:
                if not text.lstrip("-").isdigit() or int(text) not in attr.options:
                    raise errors.invalid_field_value(attr.code, value)
            elif (error := ensure_option_value(attr, text)) is not None:
                raise error
            return text
        if attr.frontend_input in ("price", "weight") and not isinstance(value, (int, float)):
            try:
                float(value)
            except ValueError:
                raise errors.bad_request(
                    'Attribute "%1" has invalid value "%2": a number is expected.', [attr.code, value]
                ) from None
        if attr.frontend_input == "boolean" and str(value) not in ("0", "1"):
            raise errors.invalid_field_value(attr.code, value)
        return value

    def _apply_url_key(
        self, writes: dict[str, Any], existing: Product | None, store: int, is_new: bool
    ) -> None:
        """ProductUrlKeyAutogeneratorObserver: format the sent key, or derive it from the name."""
        if "url_key" in writes:
            formatted = format_url_key(writes["url_key"])
            if not formatted:
                name = writes.get("name") or (existing.value(store, "name") if existing else None)
                formatted = format_url_key(name)
            writes["url_key"] = formatted
        elif is_new and writes.get("name"):
            writes["url_key"] = format_url_key(writes["name"])

    def _check_required(self, writes: dict[str, Any], type_id: str) -> None:
        if not str(writes.get("name") or "").strip():
            raise errors.bad_request(_EMPTY, [self.eav.attributes["name"].label()])
        if type_id in PRICE_REQUIRED_TYPES and writes.get("price") in (None, ""):
            raise errors.bad_request(_EMPTY, [self.eav.attributes["price"].label()])

    def _targets(self, attr: Attribute, store: int) -> tuple[int, ...]:
        if store == ADMIN_STORE_ID or attr.scope == "global":
            return (ADMIN_STORE_ID,)
        if attr.scope == "website":
            return self.stores.views_in_website(self.stores.by_id[store].website_id)
        return (store,)

    def _website_ids(self, ext: dict[str, Any], existing: Product | None, scope: Scope) -> list[int]:
        if ext.get("website_ids") is None:
            if existing:
                return list(existing.website_ids)
            # ProductRepository::assignProductToWebsites (new products): the admin store (/rest/all)
            # assigns every website, a store view its own website
            if scope.code == "all":
                return list(self.stores.website_ids)
            return [self.stores.by_id[scope.read_store].website_id]
        for website_id in ext["website_ids"]:
            if website_id not in self.stores.website_ids:
                raise errors.bad_request(_WEBSITE_MISSING, [website_id])
        return sorted(set(ext["website_ids"]))

    def _category_links(
        self, ext: dict[str, Any], existing: Product | None, sku: str
    ) -> list[dict[str, Any]]:
        if ext.get("category_links") is None:
            return list(existing.category_links) if existing else []
        links: dict[int, dict[str, Any]] = {}
        for link in ext["category_links"]:
            raw = str(link.get("category_id", ""))
            position = link.get("position") or 0
            if not raw.isdigit() or not self.categories.exists(int(raw)):
                raise errors.bad_request(
                    'Could not save product "%1" with position %2 to category %3', [sku, position, raw]
                )
            links[int(raw)] = {"position": position, "category_id": str(int(raw))}
        return list(links.values())

    def _url_entries(self, values: dict[int, dict[str, Any]], website_ids: list[int]) -> dict[int, str]:
        """Effective url_key per store view; rewrites only exist in the product's websites."""
        entries = {}
        default = values.get(ADMIN_STORE_ID, {}).get("url_key")
        for store_id in self.stores.views_for_websites(website_ids):
            scoped = values.get(store_id, {})
            key = scoped.get("url_key", default)
            if key:
                entries[store_id] = key
        return entries

    def _relink_categories(self, product: Product, links: list[dict[str, Any]]) -> None:
        for link in product.category_links:
            category = self.categories.items.get(int(link["category_id"]))
            if category is not None:
                category.products.pop(product.id, None)
        product.category_links = links
        for link in links:
            self.categories.items[int(link["category_id"])].products[product.id] = link["position"]

    def unlink_categories(self, removed: list[Any]) -> None:
        """Drop links to deleted categories (``removed`` are Category objects already out of the tree)."""
        gone = {str(c.id) for c in removed}
        for category in removed:
            for product_id in category.products:
                product = self.by_id.get(product_id)
                if product is not None:
                    product.category_links = [
                        lk for lk in product.category_links if lk["category_id"] not in gone
                    ]

    # ----------------------------------------------------------------------- websites

    def assign_website(self, sku: str, website_id: int) -> bool:
        """ProductWebsiteLinkRepository::save; an unknown website fails the FK -> CouldNotSaveException."""
        if not website_id:
            raise errors.bad_request("There are not websites for assign to product")
        product = self.get(sku)
        if website_id not in self.stores.website_ids:
            raise errors.bad_request('Could not assign product "%1" to websites "%2"', [product.id, website_id])
        self._set_websites(product, sorted({*product.website_ids, website_id}))
        return True

    def unassign_website(self, sku: str, website_id: int) -> bool:
        """ProductWebsiteLinkRepository::deleteById."""
        product = self.get(sku)
        self._set_websites(product, [w for w in product.website_ids if w != website_id])
        return True

    def _set_websites(self, product: Product, website_ids: list[int]) -> None:
        entries = self._url_entries(product.values, website_ids)
        self.urls.check(("product", product.id), entries)
        product.website_ids = website_ids
        self.urls.replace(("product", product.id), entries)

    # ------------------------------------------------------------------------- delete

    def delete(self, sku: str) -> bool:
        product = self.get(sku)
        self.remove(product)
        return True

    def remove(self, product: Product) -> None:
        del self.by_key[sku_key(product.sku)]
        del self.by_id[product.id]
        self.urls.remove(("product", product.id))
        self.drop_links_to(product.id)
        self.inventory.forget(product.sku)
        self._relink_categories(product, [])
        for parent_id in self.parents.pop(product.id, set()):
            parent = self.by_id.get(parent_id)
            if parent is not None and product.id in parent.children:
                parent.children.remove(product.id)
        for child_id in product.children:
            self.parents.get(child_id, set()).discard(product.id)

    def purge_attribute(self, code: str) -> None:
        for product in self.by_id.values():
            for scoped in product.values.values():
                scoped.pop(code, None)

    # --------------------------------------------------------------------------- reads

    def to_json(self, product: Product, store_id: int) -> dict[str, Any]:
        eff = product.effective(store_id)
        out: dict[str, Any] = {"id": product.id, "sku": product.sku}
        for name in (
            "name",
            "attribute_set_id",
            "price",
            "status",
            "visibility",
            "type_id",
            "created_at",
            "updated_at",
            "weight",
        ):
            value = (
                getattr(product, name, None)
                if name in ("attribute_set_id", "type_id", "created_at", "updated_at")
                else eff.get(name)
            )
            if value is not None and value != "":
                out[name] = value
        ext: dict[str, Any] = {"website_ids": list(product.website_ids)}
        if product.category_links:
            ext["category_links"] = [dict(link) for link in product.category_links]
        ext["stock_item"] = stock_item_json(product)
        if product.type_id == "configurable":
            ext["configurable_product_options"] = [dict(o) for o in product.configurable_options]
            ext["configurable_product_links"] = list(product.children)
        out["extension_attributes"] = ext
        out["product_links"] = self.links_json(product)
        for name in _EXTRAS:
            out[name] = list(product.extras.get(name, []))
        out["media_gallery_entries"] = [self.media_json(product, e, store_id) for e in product.media]
        custom = [
            {"attribute_code": code, "value": value if isinstance(value, str) else str(value)}
            for code, value in eff.items()
            if code not in TOP_LEVEL and value is not None
        ]
        files = {e.id: e.file for e in product.media}
        custom += [  # the media_image attributes hold the file of the entry having the role
            {"attribute_code": role, "value": files[entry_id]}
            for role, entry_id in sorted(product.roles.items())
            if entry_id in files
        ]
        if product.category_links:
            custom.append(
                {
                    "attribute_code": "category_ids",
                    "value": [lk["category_id"] for lk in product.category_links],
                }
            )
        out["custom_attributes"] = custom
        return out

    def field_value(self, product: Product, name: str, store_id: int) -> Any:
        if name in ("sku", "type_id", "attribute_set_id", "created_at", "updated_at"):
            return getattr(product, name)
        if name in ("id", "entity_id"):
            return product.id
        if name == "website_id":
            return [str(w) for w in product.website_ids]
        if name in ("category_id", "category_ids"):
            return [lk["category_id"] for lk in product.category_links]
        return product.value(store_id, name)

    def search(self, criteria: SearchCriteria, store_id: int) -> tuple[list[Product], int]:
        groups = criteria.filter_groups
        fast = [
            g[0] for g in groups if len(g) == 1 and g[0]["field"] == "sku" and g[0]["condition_type"] == "eq"
        ]
        if fast:
            found = self.find(fast[0]["value"])
            candidates = [found] if found is not None else []
        else:
            candidates = list(self.by_id.values())
        items = [p for p in candidates if matches(groups, lambda f, p=p: self.field_value(p, f, store_id))]
        if criteria.sort_orders:
            items = sort_items(items, criteria.sort_orders, lambda p, f: self.field_value(p, f, store_id))
        return paginate(items, criteria), len(items)

    # ---------------------------------------------------------------------------- dump

    def dump(self) -> dict[str, Any]:
        codes = {0: "admin", **{v.id: v.code for v in self.stores.views if v.id}}
        out = {}
        for p in self.by_id.values():
            out[p.sku] = {
                "id": p.id,
                "type_id": p.type_id,
                "attribute_set_id": p.attribute_set_id,
                "created_at": p.created_at,
                "updated_at": p.updated_at,
                "website_ids": list(p.website_ids),
                "category_links": [dict(lk) for lk in p.category_links],
                "values": {codes.get(s, str(s)): dict(v) for s, v in sorted(p.values.items())},
                "configurable_options": [dict(o) for o in p.configurable_options],
                "children": [self.by_id[c].sku for c in p.children if c in self.by_id],
                "parents": sorted(self.by_id[i].sku for i in self.parents.get(p.id, ()) if i in self.by_id),
                "stock_item": stock_item_json(p),
                "media": [
                    {**self.media_json(p, e, 0), "labels": {codes.get(s, str(s)): v for s, v in e.labels.items()}}
                    for e in p.media
                ],
                "media_sizes": self.media_sizes(p),
                "product_links": self.links_json(p),
            }
        return out
