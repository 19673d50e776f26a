"""Stock: the legacy stock item (``extension_attributes.stock_item``, ``/V1/stockItems/{sku}``) and
MSI source items (``/V1/inventory/source-items``) with the pre-existing ``default`` source.

The two are kept in sync for the ``default`` source like Magento_InventoryCatalog does
(SetDataToLegacyCatalogInventory after source-item saves; the legacy stock item save plugin the
other way round).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import errors
from .query import SearchCriteria, matches, paginate, sort_items

if TYPE_CHECKING:
    from .products import Product, Products

DEFAULT_SOURCE = "default"
# CatalogInventory's stock item defaults: a product saved without stock data has qty 0 and is out of
# stock (Adobe's grouped-product REST tutorial shows exactly this answer for a product created bare).
DEFAULT_STOCK = {"qty": 0, "is_in_stock": False}
_STOCK_FIELDS = {
    "stock_id": 1,
    "is_qty_decimal": False,
    "show_default_notification_message": False,
    "use_config_min_qty": True,
    "min_qty": 0,
    "use_config_min_sale_qty": 1,
    "min_sale_qty": 1,
    "use_config_max_sale_qty": True,
    "max_sale_qty": 10000,
    "use_config_backorders": True,
    "backorders": 0,
    "use_config_notify_stock_qty": True,
    "notify_stock_qty": 1,
    "use_config_qty_increments": True,
    "qty_increments": 0,
    "use_config_enable_qty_inc": True,
    "enable_qty_increments": False,
    "use_config_manage_stock": True,
    "manage_stock": True,
    "low_stock_date": None,
    "is_decimal_divided": False,
    "stock_status_changed_auto": 0,
}


def verified_stock(stock: dict[str, Any], type_id: str) -> dict[str, Any]:
    """CatalogInventory's StockItemRepository::save: `verifyStock` says a simple product whose qty is at or
    below min_qty (0) without backorders is out of stock, whatever `is_in_stock` was sent
    (StockStateProvider::verifyStock; composite types have no qty of their own)."""
    if type_id in ("configurable", "grouped", "bundle") or stock.get("qty") is None:
        return stock
    if float(stock["qty"]) <= _STOCK_FIELDS["min_qty"] and not _STOCK_FIELDS["backorders"]:
        return {**stock, "is_in_stock": False}
    return stock


def stock_item_json(product: Product) -> dict[str, Any]:
    stock = {**DEFAULT_STOCK, **(product.stock_item or {})}
    return {"item_id": product.id, "product_id": product.id, **_STOCK_FIELDS, **stock}


class Inventory:
    def __init__(self, products: Products) -> None:
        self.products = products
        self.sources = {DEFAULT_SOURCE}
        self.items: dict[tuple[str, str], dict[str, Any]] = {}  # (sku, source_code) -> source item

    def stock_item(self, sku: str) -> dict[str, Any]:
        """StockRegistry::getStockItemBySku -> resolveProductId."""
        product = self.products.find(sku)
        if product is None:
            raise errors.not_found('The Product with the "%1" SKU doesn\'t exist.', [sku])
        return stock_item_json(product)

    def legacy_saved(self, product: Product) -> None:
        """A product save with stock_item updates the default source item (single-source mode)."""
        stock = {**DEFAULT_STOCK, **(product.stock_item or {})}
        self.items[(product.sku, DEFAULT_SOURCE)] = {
            "sku": product.sku,
            "source_code": DEFAULT_SOURCE,
            "quantity": float(stock.get("qty") or 0),
            "status": 1 if stock.get("is_in_stock") else 0,
        }

    def save_source_items(self, items: list[dict[str, Any]]) -> list[Any]:
        """Magento\\Inventory\\Model\\SourceItem\\Command\\SourceItemsSave::execute."""
        if not items:
            raise errors.bad_request("Input data is empty")
        problems = []
        for item in items:  # SourceItemsSaveValidator chain: sku, source_code, quantity, status
            for name in ("sku", "source_code"):
                if not str(item.get(name) or "").strip():
                    problems.append(errors.bad_request('"%field" can not be empty.', {"field": name}))
            if item.get("status") not in (0, 1):
                problems.append(
                    errors.bad_request('"%field" should be numeric.' if item.get("status") is None else
                                       '"%field" should be one of the statuses.', {"field": "status"})
                )
        if problems:
            raise errors.MagentoError(400, "Validation Failed", [], errors=problems)
        if any(item["source_code"] not in self.sources for item in items):
            # inventory_source_item.source_code FK fails; the command wraps it (Web API ValidationTest:
            # "nonExistedSourceCodeError" => "Could not save Source Item")
            raise errors.bad_request("Could not save Source Item")
        for item in items:
            row = {
                "sku": item["sku"],
                "source_code": item["source_code"],
                "quantity": float(item.get("quantity") or 0),
                "status": item["status"],
            }
            self.items[(item["sku"], item["source_code"])] = row
            product = self.products.find(item["sku"])
            if product is not None and item["source_code"] == DEFAULT_SOURCE:
                product.stock_item = {
                    **(product.stock_item or {}),
                    "qty": row["quantity"],
                    "is_in_stock": bool(row["status"]),
                }
        return []

    def search(self, criteria: SearchCriteria) -> tuple[list[dict[str, Any]], int]:
        rows = [dict(r) for r in self.items.values()]
        rows = [r for r in rows if matches(criteria.filter_groups, lambda f, r=r: r.get(f))]
        if criteria.sort_orders:
            rows = sort_items(rows, criteria.sort_orders, lambda r, f: r.get(f))
        return paginate(rows, criteria), len(rows)

    def forget(self, sku: str) -> None:
        """A deleted product's source items go with it (Magento_InventoryCatalog plugin)."""
        for key in [k for k in self.items if k[0] == sku]:
            del self.items[key]

    def dump(self) -> dict[str, Any]:
        return {"sources": sorted(self.sources), "source_items": [dict(r) for r in self.items.values()]}
