"""A dry run of the `magento2` driver: the requests a delivery would make, from the mappings alone.

No request leaves (the store views' ids come from the last delivery, kept in a `magento_site`
mapping). The plan follows the handlers: what they compare with the last sent state (attribute,
option, family and category hashes, products' per-scope field hashes) decides whether a write is
planned; the lookups a handler makes in Magento (does this attribute, set or category exist there?)
are not made: with no mapping, a create is planned, with one, an update. What a planned create would
record is remembered for the rest of the plan, with 0 for ids Magento has not given yet, so that what
depends on it (a category's children, an attribute's options, products' values) is planned too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any

from drivers.magento2 import products
from drivers.magento2.common import Env
from drivers.magento2.families import SETS, _wanted_attributes
from drivers.magento2.mapping import (
    FRONTEND_INPUT,
    GLOBAL,
    Unresolved,
    attribute_body,
    category_create_body,
    category_names,
    digest,
    option_body,
    product_body,
)
from drivers.magento2.media import unchanged as media_unchanged
from drivers.models import ENTITY_TYPES, MutationData, PlannedCall

NEW = 0  # an id Magento would give a planned create
SITE = ("magento_site", "site")  # the mapping that keeps Magento's store view ids between runs
ATTRIBUTES = "/all/V1/products/attributes"


def _sha(body: Any) -> str | None:
    if body is None:
        return None
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def plan_mutations(mutations: Sequence[MutationData], env: Env) -> list[PlannedCall]:
    """Every call, in the driver's order (entity types in dependency order)."""
    env.refs.prefetch(mutations)
    calls: list[PlannedCall] = []
    for entity_type in ENTITY_TYPES:
        for m in _ordered([m for m in mutations if m.entity_type == entity_type]):
            why = f"{m.operation} {m.entity_type} {m.code}"
            try:
                for method, path, body, reason in PLANNERS.get(entity_type, _nothing)(m, env):
                    calls.append(PlannedCall(mutation_id=m.mutation_id, method=method, target=path,
                                             why=f"{why}: {reason}", body_sha256=_sha(body)))  # fmt: skip
            except Unresolved as error:
                calls.append(PlannedCall(mutation_id=m.mutation_id, method="-", target="-",
                                         why=f"{why}: would wait ({error})"))  # fmt: skip
    return calls


def _ordered(mutations: list[MutationData]) -> list[MutationData]:
    """Categories parents first (as the driver's waves); other types as given."""
    codes = {m.code: m for m in mutations}
    depth: dict[str, int] = {}

    def level(m: MutationData) -> int:
        if m.code not in depth:
            parent = codes.get(m.payload.get("parent") or "")
            depth[m.code] = 0 if parent is None or parent is m else level(parent) + 1
        return depth[m.code]

    return sorted(mutations, key=level)


Planned = Iterator[tuple[str, str, Any, str]]  # method, path, body, why


def _attribute(m: MutationData, env: Env) -> Planned:
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    magento_code = env.settings.magento_code(m.code)
    if m.operation == "deleted":
        if current is not None and current.external_data.get("created") and not current.external_data.get("skipped"):
            yield "DELETE", f"{ATTRIBUTES}/{magento_code}", None, "an attribute this integration created"
        return
    if (m.payload.get("type") or "") not in FRONTEND_INPUT or magento_code == "sku":
        return  # not sent to Magento (media, tables...)
    body = attribute_body(m.payload, magento_code, env.settings, env.locale_store_ids)
    if current is not None and current.external_data.get("hash") == digest(body):
        return
    if current is not None and current.external_data.get("attribute_id"):
        yield "PUT", f"{ATTRIBUTES}/{magento_code}", body, "update"
        return
    yield "POST", ATTRIBUTES, body, "create (unless Magento has it: then an update)"
    p = m.payload
    env.refs.remember(m.entity_type, m.entity_uuid, magento_code, {
        "type": p.get("type"), "magento_code": magento_code, "attribute_id": NEW,
        "label": (p.get("labels") or {}).get(env.settings.default_locale) or m.code,
        "localizable": bool(p.get("localizable")), "scopable": bool(p.get("scopable")),
        "default_metric_unit": p.get("default_metric_unit"),
    })  # fmt: skip


def _option(m: MutationData, env: Env) -> Planned:
    attribute, _, _ = m.code.partition(".")
    info = env.refs.attribute(attribute)
    magento_code = info.magento_code if info is not None else env.settings.magento_code(attribute)
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    if m.operation == "deleted":
        if current is not None and current.external_id:
            yield "DELETE", f"{ATTRIBUTES}/{magento_code}/options/{current.external_id}", None, "delete"
        return
    if info is None:
        raise Unresolved([f"attribute {attribute}"])
    if info.skipped:
        return
    body = option_body(m.payload, env.locale_store_ids)
    if current is not None and current.external_id and current.external_data.get("hash") == digest(body):
        return
    if current is not None and current.external_id:
        yield "PUT", f"{ATTRIBUTES}/{magento_code}/options/{current.external_id}", body, "update"
    else:
        yield "POST", f"{ATTRIBUTES}/{magento_code}/options", body, "create"
        env.refs.remember(m.entity_type, m.entity_uuid, str(NEW), {"attribute": magento_code})


def _family(m: MutationData, env: Env) -> Planned:
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    set_id = current.external_id if current is not None else None
    if m.operation == "deleted":
        if set_id:
            yield "DELETE", f"{SETS}/{set_id}", None, "once no product uses the set"
        return
    wanted = _wanted_attributes(list(m.payload.get("attributes") or []), env)
    known = dict(current.external_data) if current is not None else {}
    if known.get("hash") == digest({"name": m.code, "attributes": wanted}):
        return
    if not set_id:
        yield "POST", SETS, {"attributeSet": {"attribute_set_name": m.code}}, "create the attribute set"
        env.refs.remember(m.entity_type, m.entity_uuid, str(NEW), {"assigned": wanted})
    assigned = set(known.get("assigned") or [])
    for code in wanted:
        if code not in assigned:
            yield "POST", f"{SETS}/attributes", {"attributeCode": code}, f"assign attribute {code}"
    for code in sorted(assigned - set(wanted)):
        yield "DELETE", f"{SETS}/{set_id}/attributes/{code}", None, f"unassign attribute {code}"


def _family_variant(m: MutationData, env: Env) -> Planned:
    """No Magento entity: the handler keeps its axes in the mapping (what its variants link on)."""
    if m.operation != "deleted":
        levels = sorted(m.payload.get("variant_attribute_sets") or [], key=lambda s: s.get("level") or 0)
        axes = [axis for level in levels for axis in level.get("axes") or []]
        env.refs.remember(m.entity_type, m.entity_uuid, None, {"family": m.payload.get("family"), "axes": axes})
    return iter(())


def _category(m: MutationData, env: Env) -> Planned:
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    category_id = current.external_id if current is not None else None
    if m.operation == "deleted":
        if category_id and not current.external_data.get("root"):
            yield "DELETE", f"/all/V1/categories/{category_id}", None, "delete"
        return
    parent = m.payload.get("parent")
    if not parent:  # the root: Magento's own
        env.refs.remember(m.entity_type, m.entity_uuid, str(env.category_root_id), {"root": True})
        return
    parent_id = env.refs.category_id(parent)
    if parent_id is None:
        raise Unresolved([f"category {parent}"])
    names = category_names(m.payload, env.settings)
    known = dict(current.external_data) if current is not None else {}
    if known.get("hash") == digest({"parent_id": parent_id, "names": names}):
        return
    sent = dict(known.get("names") or {})
    if not category_id:
        body = category_create_body(parent_id, names[GLOBAL], m.code)
        yield "POST", "/all/V1/categories", body, "create"
        env.refs.remember(m.entity_type, m.entity_uuid, str(NEW), {"parent_id": parent_id})
        category_id, sent = NEW, {GLOBAL: names[GLOBAL]}
    elif known.get("parent_id") != parent_id:
        yield "PUT", f"/all/V1/categories/{category_id}/move", {"parentId": parent_id}, f"move under {parent}"
    for scope in sorted(set(names) - {GLOBAL}) if sent else []:
        if scope in env.settings.store_locales and sent.get(scope) != names[scope]:
            body = {"category": {"name": names[scope]}}
            yield "PUT", f"/{scope}/V1/categories/{category_id}", body, f"name in store view {scope}"


def _product(m: MutationData, env: Env) -> Planned:
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    if m.operation == "deleted":
        if current is not None and not current.external_data.get("submodel"):
            sku = products.mapped_sku(m, current)
            method = "DELETE" if env.on_delete == "delete" else "PUT"
            yield method, f"/all/V1/products/{sku}", None, f"{env.on_delete} (if Magento's product is still ours)"
        return
    old_sku = products.mapped_sku(m, current) if current is not None else None
    if old_sku and old_sku != products.sku_of(m):
        yield "DELETE", f"/all/V1/products/{old_sku}", None, f"its former SKU {old_sku}"
    planned = products.plan(m, env)
    if not isinstance(planned, products.ProductPlan):
        if planned.status != "success":
            raise Unresolved([planned.message or planned.status])
        return
    for change in planned.changes:
        yield "PUT", planned.path(change.scope), product_body(planned.sku, change.send), f"save in {change.scope}"
    link = planned.link
    if link is not None and link.unlink_from:
        yield "DELETE", f"{products.CONFIGURABLES}/{link.unlink_from}/children/{planned.sku}", None, "unlink"
    if link is not None and link.root and link.attach:
        body = {"childSku": planned.sku}
        yield "POST", f"{products.CONFIGURABLES}/{link.root}/child", body, f"link to configurable {link.root}"
    yield from _extras(planned)


def _extras(planned: products.ProductPlan) -> Planned:
    """Gallery, links and source item; an image whose file changed is planned as an upload (the dry run
    does not download it to see whether its bytes are those already sent)."""
    path = f"/all/V1/products/{planned.sku}"
    if planned.media is not None:
        for wanted in planned.media.wanted:
            sent = planned.media.state.get(wanted.key)
            if sent is None or sent.get("source") != wanted.source:
                yield "POST", f"{path}/media", None, f"upload image {wanted.key} ({wanted.source})"
                if sent is not None:
                    yield "DELETE", f"{path}/media/{sent['entry_id']}", None, f"the image {wanted.key} replaced"
            elif not media_unchanged(wanted, sent):
                yield "PUT", f"{path}/media/{sent['entry_id']}", None, f"image {wanted.key} roles, position, label"
        for key in planned.media.remove:
            if planned.media.state[key].get("entry_id") is not None:
                yield "DELETE", f"{path}/media/{planned.media.state[key]['entry_id']}", None, f"image {key} removed"
    if planned.links_due:
        yield "POST", f"{path}/links", None, "product links (associations), removed ones deleted"
    if planned.source_item is not None:
        body = {"sourceItems": [planned.source_item]}
        yield "POST", "/all/V1/inventory/source-items", body, f"stock at source {planned.source_item['source_code']}"


def _nothing(m: MutationData, env: Env) -> Planned:
    """Channels and association types are read by products; nothing of theirs is written to Magento."""
    return iter(())


PLANNERS = {
    "attribute": _attribute,
    "attribute_option": _option,
    "family": _family,
    "family_variant": _family_variant,
    "category": _category,
    "product_model": _product,
    "product": _product,
    "channel": _nothing,
    "association_type": _nothing,
}
