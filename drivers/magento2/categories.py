"""Categories -> the Magento category tree under `category_root_id`.

The Akeneo tree root maps onto `category_root_id` itself (nothing is written to it); its children
are created below it, parents first (a child whose parent is not in Magento yet is retried). The
global name is the `default_locale` label; each store view gets a store-scoped save carrying only
its name. A deleted category is deleted (Magento deletes its subtree and unlinks the products).
"""

from __future__ import annotations

from typing import Any

from drivers.magento2.client import MagentoError
from drivers.magento2.common import Env, search
from drivers.magento2.mapping import GLOBAL, Unresolved, category_create_body, category_names, digest, slug
from drivers.models import DeliveryResult, MutationData


def _find(env: Env, parent_id: int, code: str) -> int | None:
    """Look before creating: a redelivered (or timed-out) create may already have landed."""
    key = slug(code) or digest(code)
    found = env.client.get("/all/V1/categories/list", params=search("parent_id", parent_id, ("url_key", key)))
    items = (found or {}).get("items") or []
    return int(items[0]["id"]) if items else None


def _parent_id(env: Env, parent: str) -> int:
    parent_id = env.refs.category_id(parent)
    if parent_id is None:
        raise Unresolved([f"category {parent}"])
    return parent_id


def handle_category(m: MutationData, env: Env) -> DeliveryResult:
    if m.operation == "deleted":
        return _delete(m, env)
    p = m.payload
    if not p.get("parent"):
        return env.done(m, str(env.category_root_id), {"root": True})
    parent_id = _parent_id(env, p["parent"])
    names = category_names(p, env.settings)
    wanted = digest({"parent_id": parent_id, "names": names})
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    known: dict[str, Any] = dict(current.external_data) if current is not None else {}
    if current is not None and known.get("hash") == wanted:
        return env.done(m, current.external_id, known)
    category_id = int(current.external_id) if current is not None and current.external_id else None
    sent: dict[str, str] = dict(known.get("names") or {})
    if category_id is not None and known.get("parent_id") != parent_id:
        try:
            env.client.put(f"/all/V1/categories/{category_id}/move", json={"parentId": parent_id})
        except MagentoError as error:
            if error.status != 404:
                raise
            category_id, sent = None, {}
    if category_id is None:
        category_id = _find(env, parent_id, m.code)
        sent = {}
    if category_id is None:
        created = env.client.post("/all/V1/categories", json=category_create_body(parent_id, names[GLOBAL], m.code))
        category_id = int(created["id"])
        sent = {GLOBAL: names[GLOBAL]}
    effective = {GLOBAL: names[GLOBAL]}
    for scope in sorted(set(names) | set(sent) - {GLOBAL}):
        if scope != GLOBAL and scope not in env.settings.store_locales:
            continue
        # A label removed in Akeneo: the view gets the global name (REST cannot "use default").
        effective[scope] = names.get(scope) or names[GLOBAL]
    for scope, name in effective.items():
        if sent.get(scope) != name:
            env.client.put(f"/{scope}/V1/categories/{category_id}", json={"category": {"name": name}})
    data = {"parent_id": parent_id, "names": effective, "hash": wanted}
    return env.done(m, str(category_id), data)


def _delete(m: MutationData, env: Env) -> DeliveryResult:
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    if current is not None and current.external_data.get("root"):
        return env.gone(m)
    category_id = int(current.external_id) if current is not None and current.external_id else None
    if category_id is None:
        parent = (m.previous or {}).get("parent")
        parent_id = env.refs.category_id(parent) if parent else None
        category_id = _find(env, parent_id, m.code) if parent_id is not None else None
    if category_id is not None and category_id != env.category_root_id:
        env.client.delete(f"/all/V1/categories/{category_id}", accept_status=[404])
    return env.gone(m)
