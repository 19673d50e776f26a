"""The category tree with per-store values, moves, subtree deletes and URL path uniqueness."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import errors
from .stores import ADMIN_STORE_ID, Scope, Stores
from .urls import UrlIndex, format_url_key

ROOT_ID = 1
DEFAULT_ROOT_ID = 2
_STORE_FIELDS = ("name", "is_active", "include_in_menu")
_KNOWN_CUSTOM = {
    "url_key",
    "description",
    "meta_title",
    "meta_keywords",
    "meta_description",
    "display_mode",
    "is_anchor",
    "landing_page",
    "custom_design",
    "page_layout",
    "image",
    "default_sort_by",
    "filter_price_range",
    "custom_use_parent_settings",
    "custom_apply_to_products",
    "custom_layout_update_file",
}
_REQUIRED = ("name", "is_active", "include_in_menu")  # copied to store 0 when created in a store view
_NAME_EMPTY = 'The "Name" attribute value is empty. Set the attribute and try again.'


@dataclass(slots=True)
class Category:
    id: int
    parent_id: int
    created_at: str
    updated_at: str
    children: list[int] = field(default_factory=list)
    position: int = 1
    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    available_sort_by: list[str] = field(default_factory=list)
    products: dict[int, int] = field(default_factory=dict)  # product id -> position

    def value(self, store_id: int, name: str, default: Any = None) -> Any:
        scoped = self.values.get(store_id, {})
        if name in scoped:
            return scoped[name]
        return self.values.get(ADMIN_STORE_ID, {}).get(name, default)


class Categories:
    def __init__(self, stores: Stores, urls: UrlIndex, now: str) -> None:
        self.stores = stores
        self.urls = urls
        self.items: dict[int, Category] = {}
        self._next_id = 2
        root = Category(
            ROOT_ID,
            0,
            now,
            now,
            values={0: {"name": "Root Catalog", "is_active": True, "include_in_menu": True}},
        )
        default = Category(
            DEFAULT_ROOT_ID,
            ROOT_ID,
            now,
            now,
            values={
                0: {
                    "name": "Default Category",
                    "is_active": True,
                    "include_in_menu": True,
                    "url_key": "default-category",
                }
            },
        )
        root.children.append(DEFAULT_ROOT_ID)
        self.items = {ROOT_ID: root, DEFAULT_ROOT_ID: default}

    # ------------------------------------------------------------------------ structure

    def get(self, category_id: int) -> Category:
        category = self.items.get(category_id)
        if category is None:
            raise errors.no_such_entity("id", category_id)
        return category

    def exists(self, category_id: int) -> bool:
        return category_id in self.items

    def chain(self, category: Category) -> list[int]:
        ids = [category.id]
        while category.parent_id and category.parent_id in self.items:
            category = self.items[category.parent_id]
            ids.append(category.id)
        return ids[::-1]

    def level(self, category: Category) -> int:
        return len(self.chain(category)) - 1

    def subtree(self, category_id: int) -> list[int]:
        out, stack = [], [category_id]
        while stack:
            current = stack.pop()
            out.append(current)
            stack.extend(self.items[current].children)
        return out

    # ------------------------------------------------------------------------------ URLs

    def _url_paths(self, category_id: int, overrides: dict[int, Category] | None = None) -> dict[int, str]:
        """url_path per store view: parent chain of url keys below the root category (level >= 2)."""
        overrides = overrides or {}
        category = overrides.get(category_id) or self.items[category_id]
        chain = []
        current: Category | None = category
        while current is not None and current.parent_id and current.parent_id != ROOT_ID:
            chain.append(current)
            parent_id = current.parent_id
            current = overrides.get(parent_id) or self.items.get(parent_id)
        if not chain:
            return {}
        paths = {}
        for store_id in self.stores.view_ids:
            keys = [format_url_key(c.value(store_id, "url_key") or "") for c in reversed(chain)]
            if all(keys):
                paths[store_id] = "/".join(keys)
        return paths

    def _reindex(self, root_id: int, overrides: dict[int, Category] | None = None) -> list[tuple[int, dict]]:
        """Compute new url paths of a subtree and check them; returns entries to commit."""
        ids = self.subtree(root_id) if root_id in self.items else [root_id]
        owners = {("category", i) for i in ids}
        entries = [(i, self._url_paths(i, overrides)) for i in ids]
        for i, paths in entries:
            self.urls.check(("category", i), paths, allowed=owners)
        return entries

    def _commit_urls(self, entries: list[tuple[int, dict]]) -> None:
        for i, _ in entries:
            self.urls.remove(("category", i))
        for i, paths in entries:
            self.urls.replace(("category", i), paths)

    # -------------------------------------------------------------------------- writes

    def save(self, data: dict[str, Any], scope: Scope, category_id: int | None, now: str) -> Category:
        """POST (create, or update when ``id`` names an existing category) and PUT /V1/categories/{id}."""
        if category_id is None and data.get("id") is not None and data["id"] in self.items:
            category_id = data["id"]
        if category_id is not None:
            return self._update(self.get(category_id), data, scope, now)
        return self._create(data, scope, now)

    def _sent_values(self, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        values: dict[str, Any] = {}
        ignored = []
        for item in data.get("custom_attributes") or []:
            code = item.get("attribute_code")
            if code in _KNOWN_CUSTOM:
                values[code] = item.get("value")
            elif code not in ("url_path", "children_count", "path", "level", "position"):
                ignored.append(code)
        for name in _STORE_FIELDS:
            if name in data:
                values[name] = data[name]
        if "url_key" in values:
            values["url_key"] = format_url_key(values["url_key"]) or format_url_key(values.get("name"))
        return values, ignored

    def _create(self, data: dict[str, Any], scope: Scope, now: str) -> Category:
        parent_id = data.get("parent_id") or DEFAULT_ROOT_ID
        parent = self.get(parent_id)
        values, _ = self._sent_values(data)
        if not (values.get("name") or "").strip():
            raise errors.bad_request("Could not save category: %1", [_NAME_EMPTY])
        values.setdefault("is_active", True)
        values.setdefault("include_in_menu", True)
        if not values.get("url_key"):
            values["url_key"] = format_url_key(values["name"])
        store = scope.create_store
        category = Category(self._next_id + 1, parent.id, now, now, position=len(parent.children) + 1)
        category.available_sort_by = list(data.get("available_sort_by") or [])
        category.values = {store: values}
        if store != ADMIN_STORE_ID:  # Magento keeps required attributes in the admin scope too
            category.values[ADMIN_STORE_ID] = {k: values[k] for k in _REQUIRED if k in values}
        entries = self._reindex(category.id, {category.id: category})
        self._next_id += 1
        self.items[category.id] = category
        parent.children.append(category.id)
        self._commit_urls(entries)
        return category

    def _update(self, category: Category, data: dict[str, Any], scope: Scope, now: str) -> Category:
        values, _ = self._sent_values(data)
        store = scope.update_store
        if "url_key" in values and not values["url_key"]:
            values["url_key"] = format_url_key(values.get("name") or category.value(store, "name"))
        trial = Category(
            category.id,
            category.parent_id,
            category.created_at,
            now,
            list(category.children),
            category.position,
            {k: dict(v) for k, v in category.values.items()},
            category.available_sort_by,
            category.products,
        )
        trial.values.setdefault(store, {}).update(values)
        if "available_sort_by" in data and data["available_sort_by"] is not None:
            trial.available_sort_by = list(data["available_sort_by"])
        entries = self._reindex(category.id, {category.id: trial})
        category.values = trial.values
        category.available_sort_by = trial.available_sort_by
        category.updated_at = now
        self._commit_urls(entries)
        return category

    def delete(self, category_id: int) -> list[Category]:
        """Deletes the whole subtree (Magento cascades); returns the removed categories."""
        category = self.get(category_id)
        if category.id in (ROOT_ID, DEFAULT_ROOT_ID) or self.level(category) < 2:
            raise errors.bad_request("Cannot delete category with id %1", [category_id])
        removed = [self.items[i] for i in self.subtree(category_id)]
        self.items[category.parent_id].children.remove(category_id)
        for item in removed:
            self.urls.remove(("category", item.id))
            del self.items[item.id]
        return removed

    def move(self, category_id: int, parent_id: int, after_id: int | None, now: str) -> bool:
        category = self.get(category_id)
        parent = self.get(parent_id)
        if category.id == ROOT_ID or parent.id in self.subtree(category.id):
            raise errors.bad_request(
                "Operation do not allow to move a parent category to any of children category"
            )
        siblings = [c for c in parent.children if c != category.id]
        if after_id is None or (siblings and after_id not in siblings and after_id != 0):
            index = len(siblings)
        else:
            index = 0 if after_id == 0 or after_id not in siblings else siblings.index(after_id) + 1
        trial = Category(
            category.id,
            parent.id,
            category.created_at,
            now,
            category.children,
            category.position,
            category.values,
            category.available_sort_by,
            category.products,
        )
        try:
            entries = self._reindex(category.id, {category.id: trial})
        except errors.MagentoError as exc:
            raise errors.bad_request("Could not move category") from exc
        self.items[category.parent_id].children.remove(category.id)
        siblings.insert(index, category.id)
        parent.children = siblings
        for position, child_id in enumerate(siblings, start=1):
            self.items[child_id].position = position
        category.parent_id = parent.id
        category.updated_at = now
        self._commit_urls(entries)
        return True

    # --------------------------------------------------------------------------- reads

    def to_json(self, category: Category, store_id: int) -> dict[str, Any]:
        chain = self.chain(category)
        custom: list[dict[str, Any]] = []
        merged = {**category.values.get(ADMIN_STORE_ID, {}), **category.values.get(store_id, {})}
        for code, value in merged.items():
            if code in _STORE_FIELDS or value is None:
                continue
            custom.append({"attribute_code": code, "value": _text(value)})
        url_paths = self._url_paths(category.id)
        url_path = url_paths.get(store_id) or next(iter(url_paths.values()), None)
        if url_path:
            custom.append({"attribute_code": "url_path", "value": url_path})
        custom += [
            {"attribute_code": "display_mode", "value": merged.get("display_mode") or "PRODUCTS"},
            {"attribute_code": "is_anchor", "value": _text(merged.get("is_anchor", "1"))},
            {"attribute_code": "path", "value": "/".join(map(str, chain))},
            {"attribute_code": "children_count", "value": str(len(self.subtree(category.id)) - 1)},
        ]
        seen: set[str] = set()
        custom = [c for c in custom if not (c["attribute_code"] in seen or seen.add(c["attribute_code"]))]
        return {
            "id": category.id,
            "parent_id": category.parent_id,
            "name": category.value(store_id, "name"),
            "is_active": bool(category.value(store_id, "is_active", True)),
            "position": category.position,
            "level": len(chain) - 1,
            "children": ",".join(map(str, category.children)),
            "created_at": category.created_at,
            "updated_at": category.updated_at,
            "path": "/".join(map(str, chain)),
            "available_sort_by": category.available_sort_by,
            "include_in_menu": bool(category.value(store_id, "include_in_menu", True)),
            "custom_attributes": custom,
        }

    def tree_json(self, root_id: int, depth: int | None, store_id: int) -> dict[str, Any]:
        def node(category: Category, remaining: int | None) -> dict[str, Any]:
            children = (
                []
                if remaining == 0
                else [
                    node(self.items[c], None if remaining is None else remaining - 1)
                    for c in category.children
                ]
            )
            return {
                "id": category.id,
                "parent_id": category.parent_id,
                "name": category.value(store_id, "name"),
                "is_active": bool(category.value(store_id, "is_active", True)),
                "position": category.position,
                "level": self.level(category),
                "product_count": len(category.products),
                "children_data": children,
            }

        return node(self.get(root_id), depth)

    def dump(self) -> dict[str, Any]:
        codes = {0: "admin", **{v.id: v.code for v in self.stores.views if v.id}}
        return {
            str(c.id): {
                "parent_id": c.parent_id,
                "children": c.children,
                "position": c.position,
                "path": "/".join(map(str, self.chain(c))),
                "products": {str(k): v for k, v in c.products.items()},
                "values": {codes.get(s, str(s)): dict(v) for s, v in c.values.items()},
                "url_paths": {codes.get(s, str(s)): p for s, p in self._url_paths(c.id).items()},
            }
            for c in self.items.values()
        }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)
