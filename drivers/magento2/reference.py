"""Akeneo channels and association types: reference data products need, with nothing to write in Magento.

Their handlers only remember, in the entity's mapping, what product deliveries read through
`MappingRefs.channel(code)` and `MappingRefs.association_type(code)`: a channel's locales,
currencies, category tree and labels; an association type's `is_quantified` and labels. A delete
forgets the mapping. Neither makes a request, so a redelivery costs nothing.
"""

from __future__ import annotations

from typing import Any

from drivers.magento2.common import Env
from drivers.models import DeliveryResult, MutationData


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items() if v} if isinstance(value, dict) else {}


def _codes(value: Any) -> list[str]:
    return sorted({str(v) for v in value if v}) if isinstance(value, (list, tuple)) else []


def handle_channel(m: MutationData, env: Env) -> DeliveryResult:
    if m.operation == "deleted":
        return env.gone(m)
    p = m.payload
    data = {
        "locales": _codes(p.get("locales")),
        "currencies": _codes(p.get("currencies")),
        "category_tree": p.get("category_tree") or None,
        "labels": _labels(p.get("labels")),
    }
    return env.done(m, None, data)


def handle_association_type(m: MutationData, env: Env) -> DeliveryResult:
    if m.operation == "deleted":
        return env.gone(m)
    p = m.payload
    return env.done(m, None, {"is_quantified": bool(p.get("is_quantified")), "labels": _labels(p.get("labels"))})
