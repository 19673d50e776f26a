"""Product links: related / upsell / crosssell, and ``associated`` (grouped products).

``/V1/products/{sku}/links`` (Magento\\Catalog\\Model\\ProductLink\\Management / Repository) and the
``product_links`` field of product saves (Magento\\Catalog\\Model\\Product\\Link\\SaveHandler).  Mixed
into ``Products`` (same state).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors

if TYPE_CHECKING:
    from .products import Product

# Magento\\Catalog\\Model\\Product\\LinkTypeProvider (catalog di.xml: related, crosssell, upsell; the
# GroupedProduct module adds associated) -> catalog_product_link_type ids
LINK_TYPES = {"related": 1, "crosssell": 5, "upsell": 4, "associated": 3}
# Grouped products accept simple and virtual children (GroupedProduct etc/product_types.xml
# allowedSelectionTypes); the sandbox refuses other types instead of letting them through.
GROUPED_CHILD_TYPES = ("simple", "virtual")
LINKS_INVALID = "The linked products data is invalid. Verify the data and try again."


class RelatedLinksMixin:
    by_id: dict[int, Product]

    def get(self, sku: str) -> Product:  # provided by Products
        raise NotImplementedError

    def find(self, sku: str) -> Product | None:  # provided by Products
        raise NotImplementedError

    # --------------------------------------------------------------------------- helpers

    def _resolve_links(self, product_type: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Turn REST link items into stored links; unknown linked SKU -> NoSuchEntityException (404) from
        ProductLink\\Repository::save's ``productRepository->get($entity->getLinkedProductSku())``."""
        out: dict[tuple[str, int], dict[str, Any]] = {}
        per_type: dict[str, int] = {}
        for item in items:
            link_type = item.get("link_type")
            if link_type not in LINK_TYPES:
                raise errors.bad_request(LINKS_INVALID)  # $linkTypesToId[...] fails inside Repository::save's try
            linked = self.find(str(item.get("linked_product_sku") or ""))
            if linked is None:
                raise errors.product_not_found()
            if link_type == "associated":
                if product_type != "grouped":
                    raise errors.bad_request(LINKS_INVALID)
                if linked.type_id not in GROUPED_CHILD_TYPES:
                    raise errors.bad_request(LINKS_INVALID)
            per_type[link_type] = per_type.get(link_type, 0) + 1
            position = item.get("position")
            link = {"link_type": link_type, "linked_id": linked.id, "position": position}
            qty = (item.get("extension_attributes") or {}).get("qty")
            if link_type == "associated":
                link["qty"] = float(qty) if qty is not None else 0.0
            out[(link_type, linked.id)] = link
        links = list(out.values())
        # Link\\SaveHandler: "Set array position as a fallback position if necessary"
        for link_type in per_type:
            group = [lk for lk in links if lk["link_type"] == link_type]
            if not any(lk["position"] for lk in group):
                for index, link in enumerate(group, start=1):
                    link["position"] = index
        for link in links:
            link["position"] = int(link["position"] or 0)
        return links

    def link_json(self, product: Product, link: dict[str, Any]) -> dict[str, Any] | None:
        linked = self.by_id.get(link["linked_id"])
        if linked is None:
            return None
        out: dict[str, Any] = {
            "sku": product.sku,
            "link_type": link["link_type"],
            "linked_product_sku": linked.sku,
            "linked_product_type": linked.type_id,
            "position": link["position"],
        }
        if link["link_type"] == "associated":
            out["extension_attributes"] = {"qty": link.get("qty", 0.0)}
        return out

    def links_json(self, product: Product) -> list[dict[str, Any]]:
        order = list(LINK_TYPES)
        links = sorted(product.links, key=lambda lk: (order.index(lk["link_type"]), lk["position"]))
        return [j for lk in links if (j := self.link_json(product, lk)) is not None]

    def drop_links_to(self, product_id: int) -> None:
        """catalog_product_link rows go with a deleted product (FK cascade)."""
        for product in self.by_id.values():
            product.links = [lk for lk in product.links if lk["linked_id"] != product_id]

    # ----------------------------------------------------------------------- REST operations

    def links_set(self, sku: str, items: list[dict[str, Any]]) -> bool:
        """ProductLink\\Management::setProductLinks (POST /V1/products/{sku}/links), 2.4: an empty `items` is
        refused (InputException "items"); the items are ADDED to the product's links
        (`array_merge($existingLinks, $items)`), and the product save keeps one link per (type, linked
        product), the later one winning (ResourceModel\\Product\\Link::saveProductLinks updates a row that
        exists). Before 2.4 it replaced the links of the last item's type."""
        if not items:
            raise errors.bad_request('Invalid value of "%1" provided for the %2 field.', ["empty array", "items"])
        for item in items:
            link_type = item.get("link_type")
            if not link_type:
                raise errors.required_field("linkType")
            if link_type not in LINK_TYPES:
                raise errors.not_found('The "%1" link type wasn\'t found. Verify the type and try again.', [link_type])
        product = self.get(sku)
        try:
            new = self._resolve_links(product.type_id, items)
        except errors.MagentoError:  # the product save fails; Management turns any failure into this
            raise errors.bad_request(LINKS_INVALID) from None
        replaced = {(lk["link_type"], lk["linked_id"]) for lk in new}
        product.links = [lk for lk in product.links if (lk["link_type"], lk["linked_id"]) not in replaced] + new
        return True

    def link_save(self, sku: str, item: dict[str, Any]) -> bool:
        """ProductLink\\Repository::save (PUT /V1/products/{sku}/links): linked product, then product (404s),
        then the link type inside the try: unknown -> "The linked products data is invalid..."."""
        linked = self.find(str(item.get("linked_product_sku") or ""))
        if linked is None:
            raise errors.product_not_found()
        product = self.get(item.get("sku") or sku)
        if item.get("link_type") not in LINK_TYPES:
            raise errors.bad_request(LINKS_INVALID)
        new = self._resolve_links(product.type_id, [item])
        product.links = [
            lk for lk in product.links if not (lk["link_type"] == item["link_type"] and lk["linked_id"] == linked.id)
        ] + new
        return True

    def links_of_type(self, sku: str, link_type: str) -> list[dict[str, Any]]:
        """Management::getLinkedItemsByType: the type is checked before the product."""
        if link_type not in LINK_TYPES:
            raise errors.not_found('The "%1" link type is unknown. Verify the type and try again.', [link_type])
        product = self.get(sku)
        return [j for j in self.links_json(product) if j["link_type"] == link_type]

    def link_delete(self, sku: str, link_type: str, linked_sku: str) -> bool:
        """Repository::deleteById."""
        items = self.links_of_type(sku, link_type)
        for item in items:
            if item["linked_product_sku"] == linked_sku:
                product = self.get(sku)
                linked = self.get(linked_sku)
                product.links = [
                    lk for lk in product.links if not (lk["link_type"] == link_type and lk["linked_id"] == linked.id)
                ]
                return True
        raise errors.not_found("Product %1 doesn't have linked %2 as %3", [sku, linked_sku, link_type])
