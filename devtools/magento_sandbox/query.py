"""``searchCriteria`` query parameters: parsing, filtering and Magento's paging quirk.

Magento's collections clamp ``currentPage`` to the last page, so paging past the end returns the
last page again instead of an empty list.  Drivers that "page until empty" loop forever on a real
store; the sandbox reproduces the clamp so such loops are caught here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import errors

_KEY = re.compile(r"[^\[\]]+")
Filter = dict[str, str]


@dataclass(slots=True)
class SearchCriteria:
    filter_groups: list[list[Filter]] = field(default_factory=list)
    sort_orders: list[dict[str, str]] = field(default_factory=list)
    page_size: int | None = None
    current_page: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filter_groups": [{"filters": g} for g in self.filter_groups]}
        if self.sort_orders:
            out["sort_orders"] = self.sort_orders
        if self.page_size is not None:
            out["page_size"] = self.page_size
        if self.current_page is not None:
            out["current_page"] = self.current_page
        return out

    def first_value(self, field_name: str) -> str | None:
        for group in self.filter_groups:
            for f in group:
                if f.get("field") == field_name:
                    return f.get("value")
        return None


def _int(value: Any, name: str) -> int:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise errors.MagentoError(400, errors.TYPE_MISMATCH, [value if isinstance(value, str) else "array", "int"])


def parse_search_criteria(items: Sequence[tuple[str, str]]) -> SearchCriteria:
    """Parse ``searchCriteria[filterGroups][0][filters][0][field]=sku`` style keys."""
    tree: dict[str, Any] = {}
    for key, value in items:
        parts = _KEY.findall(key)
        if not parts or parts[0] != "searchCriteria":
            continue
        node = tree
        for part in parts[1:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            if len(parts) > 1:
                node[parts[-1]] = value
    criteria = SearchCriteria()
    groups = tree.get("filterGroups") or tree.get("filter_groups") or {}
    for _, group in (
        sorted(groups.items(), key=lambda kv: _sort_key(kv[0])) if isinstance(groups, dict) else []
    ):
        filters = group.get("filters", {}) if isinstance(group, dict) else {}
        parsed = []
        for _, f in (
            sorted(filters.items(), key=lambda kv: _sort_key(kv[0])) if isinstance(filters, dict) else []
        ):
            if isinstance(f, dict) and f.get("field"):
                cond = f.get("conditionType") or f.get("condition_type") or "eq"
                parsed.append({"field": f["field"], "value": f.get("value", ""), "condition_type": cond})
        if parsed:
            criteria.filter_groups.append(parsed)
    orders = tree.get("sortOrders") or tree.get("sort_orders") or {}
    for _, order in (
        sorted(orders.items(), key=lambda kv: _sort_key(kv[0])) if isinstance(orders, dict) else []
    ):
        if isinstance(order, dict) and order.get("field"):
            criteria.sort_orders.append({"field": order["field"], "direction": order.get("direction", "ASC")})
    if "pageSize" in tree or "page_size" in tree:
        criteria.page_size = _int(tree.get("pageSize", tree.get("page_size")), "pageSize")
    if "currentPage" in tree or "current_page" in tree:
        criteria.current_page = _int(tree.get("currentPage", tree.get("current_page")), "currentPage")
    return criteria


def _sort_key(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _like(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL)


def compare(actual: Any, condition: str, value: str) -> bool:
    """One Magento filter condition against one value (MySQL-ish, case-insensitive equality)."""
    cond = condition.lower()
    if cond in ("null", "notnull"):
        empty = actual is None or actual == "" or actual == []
        return empty if cond == "null" else not empty
    if isinstance(actual, list):
        return (
            any(compare(a, condition, value) for a in actual)
            if cond not in ("neq", "nin", "nlike")
            else all(compare(a, condition, value) for a in actual)
        )
    text = "" if actual is None else str(actual)
    if cond in ("eq", "neq"):
        a, b = _num(text), _num(value)
        equal = a == b if a is not None and b is not None else text.lower() == value.lower()
        return equal if cond == "eq" else not equal
    if cond in ("in", "nin"):
        wanted = {v.strip().lower() for v in value.split(",")}
        found = text.lower() in wanted
        return found if cond == "in" else not found
    if cond in ("like", "nlike"):
        hit = bool(_like(value).match(text))
        return hit if cond == "like" else not hit
    if cond == "finset":
        return value in [v.strip() for v in text.split(",")]
    if cond in ("gt", "lt", "gteq", "lteq", "from", "to", "moreq"):
        a, b = _num(text), _num(value)
        left, right = (a, b) if a is not None and b is not None else (text, value)
        if left is None or right is None:
            return False
        return {
            "gt": left > right,
            "lt": left < right,
            "gteq": left >= right,
            "moreq": left >= right,
            "from": left >= right,
            "lteq": left <= right,
            "to": left <= right,
        }[cond]
    raise errors.bad_request('Invalid condition type "%1".', [condition])


def matches(groups: list[list[Filter]], getter: Callable[[str], Any]) -> bool:
    """Filter groups are AND-ed, filters inside one group are OR-ed (Magento semantics)."""
    return all(any(compare(getter(f["field"]), f["condition_type"], f["value"]) for f in g) for g in groups)


def sort_items(
    items: list[Any], orders: list[dict[str, str]], getter: Callable[[Any, str], Any]
) -> list[Any]:
    for order in reversed(orders):
        reverse = order.get("direction", "ASC").upper() == "DESC"

        def key(item: Any, name: str = order["field"]) -> tuple[int, float, str]:
            value = getter(item, name)
            number = _num(value)
            return (
                (0, number, "")
                if number is not None
                else (1, 0.0, "" if value is None else str(value).lower())
            )

        items = sorted(items, key=key, reverse=reverse)
    return items


def paginate(items: list[Any], criteria: SearchCriteria) -> list[Any]:
    """Slice one page; a page past the end is clamped to the last page, as Magento collections do."""
    size = criteria.page_size
    if not size or size <= 0:
        return items
    last = max(1, -(-len(items) // size))
    page = min(max(criteria.current_page or 1, 1), last)
    return items[(page - 1) * size : page * size]
