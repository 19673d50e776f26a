"""The `magento2` driver's drift check: products read back from Magento (GETs only) and compared,
per store view, with what the store says they should hold.

Compared: the fields the driver writes (name, price, status, visibility, weight and the custom
attributes it maps), in the global scope, and in each configured store view the values it writes
there (localized ones): a global value is reported once, at the global scope. Not compared: category
links and websites (extension attributes), attributes, options, sets and categories themselves.
`extra`: products Magento has whose SKU no entity of the store carries (listed, never touched).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from drivers.magento2 import products
from drivers.magento2.client import sku_path
from drivers.magento2.common import Env
from drivers.magento2.mapping import EXTENSION_FIELDS, GLOBAL, PRODUCT_FIELDS, Unresolved, product_scopes
from drivers.models import Drift, MutationData

PAGE_SIZE = 100


def _same(ours: Any, theirs: Any) -> bool:
    if ours == theirs or (ours in (None, "", []) and theirs in (None, "", [])):
        return True
    try:
        return float(ours) == float(theirs)  # Magento answers 59.9 for "59.90", "1" for 1
    except (TypeError, ValueError):
        return str(ours) == str(theirs)


def _fields(product: dict[str, Any]) -> dict[str, Any]:
    fields = {name: product.get(name) for name in PRODUCT_FIELDS if name in product}
    for item in product.get("custom_attributes") or ():
        fields[item["attribute_code"]] = item.get("value")
    return fields


def verify_products(entities: Sequence[MutationData], env: Env, list_extra: bool = True) -> list[Drift]:
    drifts: list[Drift] = []
    ours: set[str] = set()
    env.refs.prefetch(entities)
    for m in entities:
        submodel = m.entity_type == "product_model" and m.payload.get("parent")
        if m.entity_type not in ("product", "product_model") or submodel:
            continue  # a sub-model is not a Magento product
        sku = products.sku_of(m)
        ours.add(sku)
        try:
            scopes = product_scopes(m.payload, products._kind(m, env), env.settings, env.refs)
        except Unresolved:
            continue  # not deliverable yet: nothing to compare
        for scope in [GLOBAL, *env.settings.store_locales]:
            expected = scopes.get(scope, {})  # a store view: the values it has of its own (global ones: above)
            found = env.client.get(f"/{scope}/V1/products/{sku_path(sku)}", skus=[sku], accept_status=[404])
            if not isinstance(found, dict):
                drifts.append(Drift(entity_type=m.entity_type, code=m.code, kind="missing", scope=scope))
                break
            actual = _fields(found)
            for name, value in sorted(expected.items()):
                if name in EXTENSION_FIELDS or _same(value, actual.get(name)):
                    continue
                drifts.append(Drift(entity_type=m.entity_type, code=m.code, kind="different", scope=scope,
                                    field=name, ours=value, theirs=actual.get(name)))  # fmt: skip
    if list_extra:
        drifts += [Drift(entity_type="product", code=sku, kind="extra") for sku in sorted(_skus(env) - ours)]
    return drifts


def _skus(env: Env) -> set[str]:
    """Every SKU Magento has, page by page."""
    found: set[str] = set()
    page, total = 1, None
    while total is None or (page - 1) * PAGE_SIZE < total:
        params = {"searchCriteria[pageSize]": PAGE_SIZE, "searchCriteria[currentPage]": page}
        answer = env.client.get("/all/V1/products", params=params) or {}
        items = answer.get("items") or []
        found.update(str(item["sku"]) for item in items)
        total = int(answer.get("total_count") or 0)
        if not items:
            break
        page += 1
    return found
