"""Categories -> the Magento category tree under `category_root_id`.

The Akeneo tree root maps onto `category_root_id` itself (nothing is written to it); its children
are created below it, parents first (a child whose parent is not in Magento yet is retried). The
global name is the `default_locale` label; each store view gets a store-scoped save carrying only
its name and its URL key. A deleted category is deleted (Magento deletes its subtree and unlinks the
products).

URL keys: the global one (`/rest/all`) is the code's slug, set at creation and never changed (shops'
URLs and the look-before-create search by it). A store view with its own label gets `slug(label)`;
when Magento refuses it because a sibling (or any page of that store) has the URL already, it is sent
once more as `slug(label)-slug(code)`. A store view whose label was removed gets the global key back.
The key sent per store view is kept in the mapping (`url_keys`): an unchanged category sends nothing,
a changed label sends its new key.
"""

from __future__ import annotations

from typing import Any

from drivers.magento2.client import MagentoError
from drivers.magento2.common import Env, search
from drivers.magento2.mapping import GLOBAL, Unresolved, category_create_body, category_names, digest, slug
from drivers.models import DeliveryResult, MutationData

# Magento\UrlRewrite\Model\Storage\DbStorage::doReplace throws UrlAlreadyExistsException ("URL key for
# specified store already exists.") on a duplicate request path; CategoryRepository::save wraps it as
# 400 "Could not save category: URL key for specified store already exists." (CouldNotSaveException).
URL_KEY_TAKEN = "url key for specified store already exists"


def global_url_key(code: str) -> str:
    """The global scope's URL key: the code's (what `category_create_body` sends and `_find` looks for)."""
    return slug(code) or digest(code)


def store_url_keys(label: str | None, code: str) -> tuple[str, str | None]:
    """(URL key, fallback when Magento says it is taken) of a store view with this label: `slug(label)`,
    then `slug(label)-slug(code)`; without a usable label, the global key and no fallback."""
    base = slug(label)
    if not base:
        return global_url_key(code), None
    return base, f"{base}-{global_url_key(code)}"


def _taken(error: MagentoError) -> bool:
    return error.status == 400 and URL_KEY_TAKEN in error.message.lower()


def _save_view(env: Env, scope: str, category_id: int, name: str, keys: tuple[str, str | None]) -> str:
    """A store-scoped save of the name and URL key; answers the key Magento accepted."""

    def put(key: str) -> str:
        custom = [{"attribute_code": "url_key", "value": key}]
        env.client.put(
            f"/{scope}/V1/categories/{category_id}", json={"category": {"name": name, "custom_attributes": custom}}
        )
        return key

    key, fallback = keys
    try:
        return put(key)
    except MagentoError as error:
        if fallback is None or not _taken(error):
            raise
    return put(fallback)


def _find(env: Env, parent_id: int, code: str) -> int | None:
    """Look before creating: a redelivered (or timed-out) create may already have landed."""
    key = global_url_key(code)
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
    keys = {scope: store_url_keys(name, m.code) for scope, name in names.items() if scope != GLOBAL}
    wanted = digest({"parent_id": parent_id, "names": names, "url_keys": {s: k[0] for s, k in keys.items()}})
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    known: dict[str, Any] = dict(current.external_data) if current is not None else {}
    if current is not None and known.get("hash") == wanted:
        return env.done(m, current.external_id, known)
    category_id = int(current.external_id) if current is not None and current.external_id else None
    sent: dict[str, str] = dict(known.get("names") or {})
    sent_keys: dict[str, str] = dict(known.get("url_keys") or {})
    if category_id is not None and known.get("parent_id") != parent_id:
        try:
            env.client.put(f"/all/V1/categories/{category_id}/move", json={"parentId": parent_id})
        except MagentoError as error:
            if error.status != 404:
                raise
            category_id, sent, sent_keys = None, {}, {}
    if category_id is None:
        category_id = _find(env, parent_id, m.code)
        sent, sent_keys = {}, {}
    if category_id is None:
        created = env.client.post("/all/V1/categories", json=category_create_body(parent_id, names[GLOBAL], m.code))
        category_id = int(created["id"])
        sent = {GLOBAL: names[GLOBAL]}
    if sent.get(GLOBAL) != names[GLOBAL]:
        env.client.put(f"/all/V1/categories/{category_id}", json={"category": {"name": names[GLOBAL]}})
    effective, url_keys = {GLOBAL: names[GLOBAL]}, {}
    for scope in sorted((set(names) | set(sent) | set(sent_keys)) - {GLOBAL}):
        if scope not in env.settings.store_locales:
            continue  # a store view no longer configured
        # A label removed in Akeneo: the view gets the global name and key (REST cannot "use default").
        name = names.get(scope) or names[GLOBAL]
        key = keys.get(scope) or (global_url_key(m.code), None)
        if sent.get(scope) == name and sent_keys.get(scope) is not None and sent_keys[scope] in key:
            effective[scope], url_keys[scope] = name, sent_keys[scope]
            continue
        url_keys[scope] = _save_view(env, scope, category_id, name, key)
        effective[scope] = name
    data = {"parent_id": parent_id, "names": effective, "url_keys": url_keys, "hash": wanted}
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
