"""Families -> attribute sets (built on the default set 4); family variants need no Magento entity.

A set is named after the family code (unique and stable; labels change and may collide) and its
attributes go into an "Akeneo" group. Attributes the family drops are unassigned again, but only
those this driver assigned. A family is deleted only once no product uses its set any more:
Magento deletes a set's products with it.
"""

from __future__ import annotations

from drivers.magento2.client import MagentoError
from drivers.magento2.common import Env, search
from drivers.magento2.mapping import DEFAULT_ATTRIBUTE_SET_ID, AttributeInfo, Unresolved, digest
from drivers.models import DeliveryResult, MutationData

GROUP_NAME = "Akeneo"
SETS = "/all/V1/products/attribute-sets"


def _wanted_attributes(codes: list[str], env: Env) -> list[str]:
    wanted = []
    for code in codes:
        info = env.refs.attribute(code) or AttributeInfo.builtin(code, env.settings)
        if info is not None and (info.skipped or info.magento_code == "sku"):
            continue
        wanted.append(info.magento_code if info is not None else env.settings.magento_code(code))
    return sorted(set(wanted))


def _find_set(env: Env, name: str) -> int | None:
    found = env.client.get(f"{SETS}/sets/list", params=search("attribute_set_name", name))
    for item in (found or {}).get("items", []):
        if str(item.get("attribute_set_name", "")).lower() == name.lower():
            return int(item["attribute_set_id"])
    return None


def _group(env: Env, set_id: int) -> int:
    found = env.client.get(f"{SETS}/groups/list", params=search("attribute_set_id", set_id))
    for group in (found or {}).get("items", []):
        if group.get("attribute_group_name") == GROUP_NAME:
            return int(group["attribute_group_id"])
    created = env.client.post(
        f"{SETS}/groups", json={"group": {"attribute_group_name": GROUP_NAME, "attribute_set_id": set_id}}
    )
    return int(created["attribute_group_id"])


def handle_family(m: MutationData, env: Env) -> DeliveryResult:
    if m.operation == "deleted":
        return _delete_family(m, env)
    wanted = _wanted_attributes(list(m.payload.get("attributes") or []), env)
    state = {"name": m.code, "attributes": wanted}
    wanted_hash = digest(state)
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    known = dict(current.external_data) if current is not None else {}
    if current is not None and known.get("hash") == wanted_hash:
        return env.done(m, current.external_id, {**known, "attribute_as_image": m.payload.get("attribute_as_image")})
    set_id = int(current.external_id) if current is not None and current.external_id else None
    if set_id is not None and env.client.get(f"{SETS}/{set_id}", accept_status=[404]) is None:
        set_id, known = None, {}  # deleted in Magento: build it again
    with env.client.locks.hold([f"family:{m.code}"]):
        if set_id is None:
            set_id = _find_set(env, m.code)
        if set_id is None:
            body = {
                "attributeSet": {"attribute_set_name": m.code, "sort_order": 0},
                "skeletonId": DEFAULT_ATTRIBUTE_SET_ID,
            }
            set_id = int(env.client.post(SETS, json=body)["attribute_set_id"])
        group_id = known.get("group_id") if known.get("set_id") == set_id else None
        group_id = group_id or _group(env, set_id)
        present = {a["attribute_code"] for a in env.client.get(f"{SETS}/{set_id}/attributes") or []}
        missing = []
        for order, code in enumerate(wanted, start=1):
            if code in present:
                continue
            assign = {"attributeSetId": set_id, "attributeGroupId": group_id, "attributeCode": code, "sortOrder": order}
            try:
                env.client.post(f"{SETS}/attributes", json=assign)
            except MagentoError as error:
                if error.status != 404:
                    raise
                missing.append(f"attribute {code}")
        if missing:
            raise Unresolved(missing)
        for code in sorted(set(known.get("assigned") or []) - set(wanted)):
            if code in present:
                env.client.delete(f"{SETS}/{set_id}/attributes/{code}", accept_status=[400, 404])
    data = {"set_id": set_id, "group_id": group_id, "assigned": wanted, "hash": wanted_hash,
            "attribute_as_image": m.payload.get("attribute_as_image")}  # fmt: skip
    return env.done(m, str(set_id), data)


def _delete_family(m: MutationData, env: Env) -> DeliveryResult:
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    set_id = int(current.external_id) if current is not None and current.external_id else _find_set(env, m.code)
    if set_id is None or set_id == DEFAULT_ATTRIBUTE_SET_ID:
        return env.gone(m)
    used = env.client.get("/all/V1/products", params=search("attribute_set_id", set_id, page_size=1))
    count = int((used or {}).get("total_count") or 0)
    if count:
        return DeliveryResult.retryable(
            f"attribute set {set_id} ({m.code}) still holds {count} product(s); Magento would delete them with it, "
            "so it is deleted once they have moved to another family"
        )
    env.client.delete(f"{SETS}/{set_id}", accept_status=[404])
    return env.gone(m)


def handle_family_variant(m: MutationData, env: Env) -> DeliveryResult:
    """No Magento entity: the mapping keeps the axes (what a variant's configurable varies on)."""
    if m.operation == "deleted":
        return env.gone(m)
    levels = sorted(m.payload.get("variant_attribute_sets") or [], key=lambda s: s.get("level") or 0)
    axes = [axis for level in levels for axis in level.get("axes") or []]
    return env.done(m, None, {"family": m.payload.get("family"), "axes": axes})
