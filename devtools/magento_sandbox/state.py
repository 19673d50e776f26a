"""The whole in-memory catalog and the rules that cross entity boundaries.

All mutations are synchronous and run on the server's event loop, so each request's change is
atomic with respect to other requests (like one DB transaction); the lock only matters if a
caller pokes the state from another thread.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from .categories import Categories
from .eav import Eav
from .products import Products
from .stores import Stores
from .urls import UrlIndex


def now_text() -> str:
    """Magento's timestamp format (UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Catalog:
    def __init__(
        self,
        store_views: list[str] | dict[str, list[str]],
        currencies: dict[str, str] | None = None,
        price_scope: str = "global",
    ) -> None:
        self.lock = threading.RLock()
        self.stores = Stores(store_views, currencies)
        self.urls = UrlIndex(self.stores.view_ids)
        self.eav = Eav()
        self.eav.set_price_scope(price_scope)
        self.categories = Categories(self.stores, self.urls, now_text())
        self.products = Products(self.stores, self.eav, self.categories, self.urls)

    def delete_attribute(self, code: str) -> bool:
        """Magento's FKs cascade: values, set assignments and configurable options go with it."""
        attr = self.eav.delete_attribute(code)
        self.products.purge_attribute(attr.code)
        for product in self.products.by_id.values():
            product.configurable_options = [
                o for o in product.configurable_options if o["attribute_id"] != str(attr.id)
            ]
        return True

    def delete_attribute_set(self, set_id: int) -> bool:
        """Deleting a set deletes its products (catalog_product_entity FK cascade), as in Magento."""
        self.eav.delete_set(set_id)
        for product in [p for p in self.products.by_id.values() if p.attribute_set_id == set_id]:
            self.products.remove(product)
        return True

    @property
    def inventory(self):  # noqa: ANN201 - Inventory, owned by Products
        return self.products.inventory

    def delete_category(self, category_id: int) -> bool:
        removed = self.categories.delete(category_id)
        self.products.unlink_categories(removed)
        return True

    def dump(self) -> dict[str, Any]:
        return {
            "stores": {
                "websites": self.stores.websites_json(),
                "store_views": self.stores.store_views_json(),
                "base_currencies": {w.code: w.currency for w in self.stores.websites},
                "price_scope": self.eav.price_scope,
            },
            "inventory": self.products.inventory.dump(),
            "media_bytes": self.products.media_bytes,
            **self.eav.dump(),
            "categories": self.categories.dump(),
            "products": self.products.dump(),
        }
