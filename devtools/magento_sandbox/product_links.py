"""Links between products: configurable options/children, and product-category assignments.

Split out of ``products`` to keep modules small; mixed into ``Products`` (same state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors

_CHILD_MISSING_VALUE = (
    'The child product doesn\'t have the "%1" attribute value. Verify the value and try again.'
)

if TYPE_CHECKING:
    from .categories import Categories
    from .eav import Eav
    from .products import Product


class ProductLinksMixin:
    """Configurable super-attributes and children (Magento_ConfigurableProduct) + category links."""

    by_id: dict[int, Product]
    parents: dict[int, set[int]]
    eav: Eav
    categories: Categories
    _next_option_id: int

    def get(self, sku: str) -> Product:  # provided by Products
        raise NotImplementedError

    def find(self, sku: str) -> Product | None:  # provided by Products
        raise NotImplementedError

    def to_json(self, product: Product, store_id: int) -> dict[str, Any]:  # provided by Products
        raise NotImplementedError

    def _relink_categories(self, product: Product, links: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------------- configurables

    def _configurable(
        self, ext: dict[str, Any], existing: Product | None, type_id: str, warnings: list[str]
    ) -> tuple[list[dict[str, Any]] | None, list[int] | None]:
        sent_options, sent_links = (
            ext.get("configurable_product_options"),
            ext.get("configurable_product_links"),
        )
        if sent_options is None and sent_links is None:
            return None, None
        if type_id != "configurable":
            warnings.append("configurable_product_options/links ignored on a non-configurable product")
            return None, None
        options = None
        if sent_options is not None:
            current = {
                o["attribute_id"]: o["id"] for o in (existing.configurable_options if existing else [])
            }
            options = [
                self._option(o, current.get(str(o.get("attribute_id"))), warnings) for o in sent_options
            ]
        links = None
        if sent_links is not None:
            for child_id in sent_links:
                if child_id not in self.by_id:
                    raise errors.product_not_found()
            links = list(dict.fromkeys(sent_links))
        return options, links

    def _option(self, data: dict[str, Any], option_id: int | None, warnings: list[str]) -> dict[str, Any]:
        problems = []
        if not data.get("attribute_id"):
            problems.append(errors.bad_request("Option attribute ID is not specified."))
        if not data.get("label"):
            problems.append(errors.bad_request("Option label is not specified."))
        if not data.get("values"):
            problems.append(errors.bad_request("Option values are not specified."))
        else:
            for value in data["values"]:
                if not value.get("value_index"):
                    problems.append(errors.bad_request("Value index is not specified for an option."))
        if problems:
            raise errors.input_errors(problems)
        attr = self.eav.get(str(data["attribute_id"]))
        if not attr.uses_options:
            raise errors.bad_request(
                'Attribute "%1" can\'t be a configurable option: frontend_input "%2" is not select.',
                [attr.code, attr.frontend_input],
            )
        if attr.scope != "global":
            warnings.append(
                f"configurable attribute {attr.code!r} is not global scope (Magento expects global)"
            )
        for value in data["values"]:
            if value["value_index"] not in attr.options:
                raise errors.bad_request(
                    'Attribute "%1" has invalid value "%2": not an option id of this attribute.',
                    [attr.code, value["value_index"]],
                )
        if option_id is None:
            self._next_option_id += 1
            option_id = self._next_option_id
        return {
            "id": option_id,
            "attribute_id": str(attr.id),
            "label": data["label"],
            "position": data.get("position") or 0,
            "is_use_default": bool(data.get("is_use_default")),
            "values": [{"value_index": v["value_index"]} for v in data["values"]],
        }

    def _set_children(self, product: Product, child_ids: list[int]) -> None:
        for child_id in product.children:
            self.parents.get(child_id, set()).discard(product.id)
        product.children = list(child_ids)
        for child_id in child_ids:
            self.parents.setdefault(child_id, set()).add(product.id)

    def _option_codes(self, product: Product) -> list[str]:
        codes = []
        for option in product.configurable_options:
            attr = self.eav.by_id(int(option["attribute_id"]))
            if attr is not None:
                codes.append(attr.code)
        return codes

    def _validate_links(self, product: Product, child_ids: list[int], store_id: int) -> None:
        seen: dict[tuple, int] = {}
        codes = self._option_codes(product)
        for child_id in child_ids:
            child = self.by_id[child_id]
            key = []
            for code in codes:
                value = child.value(store_id, code)
                if not value or value == "0":
                    raise errors.bad_request(
                        'Product with id "%1" does not contain required attribute "%2".', [child_id, code]
                    )
                key.append(value)
            if codes and tuple(key) in seen:
                raise errors.bad_request(
                    'Products "%1" and "%2" have the same set of attribute values.',
                    [child_id, seen[tuple(key)]],
                )
            seen[tuple(key)] = child_id

    def save_option(self, sku: str, data: dict[str, Any], option_id: int | None, warnings: list[str]) -> int:
        product = self.get(sku)
        if product.type_id != "configurable":
            raise errors.bad_request('This is implemented for the "%1" configurable product only.', [sku])
        current = {o["attribute_id"]: o for o in product.configurable_options}
        if option_id is not None:
            target = next((o for o in product.configurable_options if o["id"] == option_id), None)
            if target is None:
                raise errors.not_found(
                    'The "%1" entity that was requested doesn\'t exist. Verify the entity and try again.',
                    [option_id],
                )
            data = {**target, **{k: v for k, v in data.items() if v is not None}}
        same = current.get(str(data.get("attribute_id")))
        option = self._option(data, option_id or (same["id"] if same else None), warnings)
        option["product_id"] = product.id
        product.configurable_options = [o for o in product.configurable_options if o["id"] != option["id"]]
        product.configurable_options.append(option)
        return option["id"]

    def get_option(self, sku: str, option_id: int) -> dict[str, Any]:
        product = self.get(sku)
        for option in product.configurable_options:
            if option["id"] == option_id:
                return {**option, "product_id": product.id}
        raise errors.not_found(
            'The "%1" entity that was requested doesn\'t exist. Verify the entity and try again.', [option_id]
        )

    def options_of(self, sku: str) -> list[dict[str, Any]]:
        product = self.get(sku)
        return [{**o, "product_id": product.id} for o in product.configurable_options]

    def delete_option(self, sku: str, option_id: int) -> bool:
        self.get_option(sku, option_id)
        product = self.get(sku)
        product.configurable_options = [o for o in product.configurable_options if o["id"] != option_id]
        return True

    def add_child(self, sku: str, child_sku: str, store_id: int) -> bool:
        parent = self.get(sku)
        child = self.get(child_sku)
        if child.id in parent.children:
            raise errors.bad_request("The product is already attached.")
        if not parent.configurable_options:
            raise errors.bad_request("The parent product doesn't have configurable product options.")
        for code in self._option_codes(parent):
            value = child.value(store_id, code)
            if not value or value == "0":
                raise errors.bad_request(_CHILD_MISSING_VALUE, [code])
        self._set_children(parent, [*parent.children, child.id])
        return True

    def remove_child(self, sku: str, child_sku: str) -> bool:
        parent = self.get(sku)
        if parent.type_id != "configurable":
            raise errors.bad_request('The product with the "%1" SKU isn\'t a configurable product.', [sku])
        child = self.find(child_sku)
        if child is None or child.id not in parent.children:
            raise errors.not_found("The option that was requested doesn't exist. Verify the entity and try again.")
        self._set_children(parent, [c for c in parent.children if c != child.id])
        return True

    def children_of(self, sku: str, store_id: int) -> list[dict[str, Any]]:
        parent = self.get(sku)
        return [self.to_json(self.by_id[c], store_id) for c in parent.children if c in self.by_id]

    # ------------------------------------------------------------- category product links

    def assign_category(self, sku: str, category_id: int, position: int) -> bool:
        """CategoryLinkRepository::save (POST/PUT /V1/categories/{id}/products)."""
        product = self.get(sku)
        if not self.categories.exists(category_id):
            raise errors.bad_request(
                'Could not save product "%1" with position %2 to category %3',
                [product.id, position, category_id],
            )
        links = [lk for lk in product.category_links if lk["category_id"] != str(category_id)]
        links.append({"position": position, "category_id": str(category_id)})
        self._relink_categories(product, links)
        return True

    def unassign_category(self, sku: str, category_id: int) -> bool:
        product = self.get(sku)
        self.categories.get(category_id)
        links = [lk for lk in product.category_links if lk["category_id"] != str(category_id)]
        if len(links) == len(product.category_links):
            raise errors.bad_request("The category doesn't contain the specified product.")
        self._relink_categories(product, links)
        return True

    def category_product_links(self, category_id: int) -> list[dict[str, Any]]:
        category = self.categories.get(category_id)
        return [
            {"sku": self.by_id[pid].sku, "position": pos, "category_id": str(category_id)}
            for pid, pos in category.products.items()
            if pid in self.by_id
        ]
