"""Products -> simple products; root product models -> configurables; variants -> their children.

A delivery is planned first (`plan`: pure mapping + the last sent state from the mapping), then
sent: the global scope (`/rest/all`) first, then each store view with only its localized values,
then, for a variant, the link to its ROOT model's configurable (options on the axes, then one child
per call). Sub-models are not Magento products. Every write names its SKU, so the client never has
two requests in flight for one SKU; a redelivered mutation finds nothing changed and sends nothing.

The mapping keeps the SKU last sent and Magento's product id. A delete removes that SKU, and only if
Magento's product there still has that id (the identifier may belong to a re-created product now);
a product whose identifier changed has its former SKU removed the same way before the new one is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.context import MediaUnavailable
from drivers.magento2 import links as product_links
from drivers.magento2.client import MagentoError, sku_key, sku_path
from drivers.magento2.common import Env, failure
from drivers.magento2.mapping import (
    GLOBAL,
    ScopeChange,
    Unresolved,
    configurable_option_body,
    default_in_stock,
    digest,
    emptied_fields,
    plan_scope,
    product_body,
    product_scopes,
    source_qty,
    stock_item,
)
from drivers.magento2.media import MediaPlan, plan_media, send_media, wanted_images
from drivers.models import DeliveryResult, MappingData, MutationData

CONFIGURABLES = "/all/V1/configurable-products"
MISSING_PRODUCT = "attribute value is empty"  # Magento's answer to a partial save of a missing product


@dataclass(frozen=True)
class LinkPlan:
    """Where a variant hangs: its root configurable, the axes (attribute id, option id, label)."""

    root: str | None
    unlink_from: str | None
    axes: tuple[tuple[int, str, str], ...] = ()
    attach: bool = True  # False: already a child of `root`, only its axis values changed


@dataclass
class ProductPlan:
    mutation: MutationData
    kind: str  # simple | variant | configurable
    sku: str
    changes: list[ScopeChange]
    sent: dict[str, dict[str, str]]  # field hashes per scope once everything is sent
    known: dict[str, Any]  # the mapping's external_data before this delivery
    external_id: str | None
    link: LinkPlan | None = None
    axis_ids: dict[str, str] = field(default_factory=dict)  # a variant's option id per axis
    axes: list[str] = field(default_factory=list)  # a configurable's axis attribute codes
    done: set[str] = field(default_factory=set)  # scopes sent successfully
    linked: bool = False
    dirty: bool = False  # `known` changed (e.g. a pending bulk operation): worth saving even on failure
    result: DeliveryResult | None = None
    media: MediaPlan | None = None  # the gallery's changes (images, assets)
    links_due: bool = False  # the product links (associations) differ from those sent, or wait for a target
    source_item: dict[str, Any] | None = None  # the MSI source item to send

    @property
    def extras_due(self) -> bool:
        """Work after the saves: gallery, product links, source item."""
        return self.media is not None or self.links_due or self.source_item is not None

    @property
    def global_change(self) -> ScopeChange | None:
        return next((c for c in self.changes if c.scope == GLOBAL), None)

    @property
    def store_changes(self) -> list[ScopeChange]:
        return [c for c in self.changes if c.scope != GLOBAL]

    def path(self, scope: str) -> str:
        return f"/{scope}/V1/products/{sku_path(self.sku)}"


def sku_of(m: MutationData) -> str:
    p = m.payload
    if m.entity_type == "product":
        return str(p.get("identifier") or (m.previous or {}).get("identifier") or m.code)
    return str(p.get("code") or m.code)


def _kind(m: MutationData, env: Env) -> str:
    if m.entity_type == "product_model":
        return "configurable"
    if m.payload.get("root_parent") or m.payload.get("parent"):
        return "variant"
    return product_links.product_type(m, env) or "simple"


def plan(m: MutationData, env: Env, ignore_state: bool = False) -> ProductPlan | DeliveryResult:
    """What this delivery must send, or its result when nothing needs sending (or cannot be sent)."""
    p = m.payload
    if m.entity_type == "product_model" and p.get("parent"):
        return env.done(m, None, {"submodel": True, "root": p.get("root_parent") or p.get("parent")})
    kind, sku = _kind(m, env), sku_of(m)
    settings = env.settings
    try:
        scopes = product_scopes(p, kind, settings, env.refs)
        cleared = emptied_fields(p, m.previous, m.changed_fields, settings, env.refs)
    except Unresolved as error:
        return failure(error)
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    known = dict(current.external_data) if current is not None else {}
    state = {} if ignore_state else dict(known.get("sent") or {})
    became_grouped = kind == "grouped" and known.get("type") not in (None, "grouped")  # it has no qty of its own
    stock = stock_item(p, kind, settings, new=not state or became_grouped)
    if stock is not None:
        scopes[GLOBAL]["stock_item"] = stock
    changes, sent = [], {}
    for scope in [GLOBAL, *sorted((set(scopes) | set(state)) - {GLOBAL})]:
        if scope != GLOBAL and scope not in settings.store_locales:
            continue  # a store view no longer configured
        change = plan_scope(scope, scopes.get(scope, {}), state.get(scope) if state else None,
                            cleared.get(scope, ()), scopes[GLOBAL])  # fmt: skip
        if change.hashes:
            sent[scope] = change.hashes
        if change.send:
            changes.append(change)
    product = ProductPlan(m, kind, sku, changes, sent, known, current.external_id if current else None)
    if kind == "configurable":
        product.axes = list(p.get("variant_axes") or [])  # kept for its variants
    try:
        _plan_link(product, scopes[GLOBAL], env, has_state=bool(state))
    except Unresolved as error:
        return failure(error)
    except Invalid as error:
        return DeliveryResult.permanent(str(error))
    _plan_extras(product, scopes, env, ignore_state)
    if not changes and product.link is None and not product.extras_due:
        return finish(product, env)
    return product


def _plan_extras(product: ProductPlan, scopes: dict[str, dict[str, Any]], env: Env, ignore_state: bool) -> None:
    """Gallery, product links and MSI source item: what differs from what the mapping says was sent."""
    m, known = product.mutation, ({} if ignore_state else product.known)
    product.media = plan_media(wanted_images(m.payload, scopes, env.settings, env.refs), known)
    try:
        product.links_due = product_links.plan_links(m, known, env, sku=product.sku) is not None
    except Unresolved:
        product.links_due = True  # the product is saved now, its links once their targets are in Magento
    stock = env.settings.stock
    if stock is not None and stock.msi_source_code and product.kind not in ("configurable", "grouped"):
        qty = source_qty(m.payload, env.settings)
        if qty is None and (known.get("source_item") or known.get("sent")):
            return  # the configured stock is for new products only (one already in Magento keeps its stock)
        amount = float(qty) if qty is not None else float(stock.default_qty)
        in_stock = amount > 0 if qty is not None else default_in_stock(stock)
        item = {"sku": product.sku, "source_code": stock.msi_source_code, "quantity": amount,
                "status": 1 if in_stock else 0}  # fmt: skip
        if known.get("source_item") != digest(item):
            product.source_item = item


def extras(product: ProductPlan, env: Env) -> None:
    """After the saves: the source item, the gallery, the product links, each tried even when another
    fails (a link waiting for its target must not keep a new product out of stock). Each records what
    landed in `product.known`, so nothing is sent twice; the first failure is raised at the end
    (MagentoError, Unresolved, MediaUnavailable)."""
    sku, failures = product.sku, []
    if product.source_item is not None:
        try:
            env.client.post("/all/V1/inventory/source-items", json={"sourceItems": [product.source_item]}, skus=[sku])
            product.known["source_item"] = digest(product.source_item)
            product.dirty, product.source_item = True, None
        except MagentoError as error:
            failures.append(error)
    if product.media is not None:
        def landed() -> None:
            product.known["media"] = product.media.state if product.media else {}
            product.dirty = True

        try:
            product.known["media"] = send_media(product.media, sku, env, on_progress=landed)
            product.dirty, product.media = True, None
        except (MagentoError, MediaUnavailable) as error:
            failures.append(error)
    if product.links_due:
        try:
            links = product_links.plan_links(product.mutation, product.known, env, sku=sku)
            if links is not None:
                product.known["links"] = product_links.send_links(links, sku, env)
                product.dirty = True
            product.links_due = False
        except (MagentoError, Unresolved) as error:
            failures.append(error)
    if failures:
        raise failures[0]


def _plan_link(product: ProductPlan, fields: dict[str, Any], env: Env, has_state: bool) -> None:
    known, p = product.known, product.mutation.payload
    linked_to = known.get("linked_to")
    if product.kind != "variant":
        if linked_to:
            product.link = LinkPlan(None, linked_to)
        return
    root = str(p.get("root_parent") or p.get("parent"))
    axes = env.refs.axes(p.get("family_variant"), root)
    if axes is None:
        raise Unresolved([f"family variant {p.get('family_variant') or '?'} (axes of {root})"])
    planned, ids, missing = [], {}, []
    for code in axes:
        info = env.refs.attribute(code)
        if info is None or info.attribute_id is None:
            missing.append(f"attribute {code}")
            continue
        option_id = fields.get(info.magento_code)
        if not option_id:
            raise Invalid(f"variant {product.sku} has no value for its axis {code}: Magento cannot link it to {root}")
        planned.append((int(info.attribute_id), str(option_id), env.refs.attribute_label(code)))
        ids[info.magento_code] = str(option_id)
    if missing:
        raise Unresolved(missing)
    product.axis_ids = ids
    if has_state and linked_to == root and known.get("axes") == ids:
        return
    unlink_from = linked_to if linked_to and linked_to != root else None
    product.link = LinkPlan(root, unlink_from, tuple(planned), attach=not (has_state and linked_to == root))


class Invalid(Exception):
    """The payload can never be delivered as it is (a permanent result)."""


# --------------------------------------------------------------------------------- sending


def save_scope(product: ProductPlan, change: ScopeChange, env: Env) -> None:
    answer = env.client.put(product.path(change.scope), json=product_body(product.sku, change.send), skus=[product.sku])
    product.done.add(change.scope)
    if isinstance(answer, dict) and answer.get("id") is not None:
        product.external_id = str(answer["id"])


def send(product: ProductPlan, env: Env) -> DeliveryResult:
    """The synchronous path: global scope, store views, configurable link; one request at a time."""
    try:
        change = product.global_change
        if change is not None:
            try:
                save_scope(product, change, env)
            except MagentoError as error:
                if not _is_missing(error, product):
                    raise
                return _resend_in_full(product, env)
        for change in product.store_changes:
            save_scope(product, change, env)
        link(product, env)
        try:
            extras(product, env)
        except MagentoError as error:
            if product.global_change is None and _is_gone(error, product):
                return _resend_in_full(product, env)
            raise
    except (MagentoError, Unresolved) as error:
        return settle(product, env, failure(error))
    except MediaUnavailable as error:
        return settle(product, env, DeliveryResult.retryable(str(error)))
    return finish(product, env)


def _is_gone(error: MagentoError, product: ProductPlan) -> bool:
    """Only the gallery or links changed, and Magento no longer has the product (deleted by hand)."""
    return error.status == 404 and "doesn't exist" in error.message and bool(product.known.get("sent"))


def _is_missing(error: MagentoError, product: ProductPlan) -> bool:
    """A partial save of a product deleted in Magento meanwhile is refused for lack of a name."""
    return error.status == 400 and MISSING_PRODUCT in error.message and bool(product.known.get("sent"))


_SENT_TO_THE_LOST_PRODUCT = ("sent", "linked_to", "axes", "media", "links", "source_item")


def _resend_in_full(product: ProductPlan, env: Env) -> DeliveryResult:
    again = plan(product.mutation, env, ignore_state=True)
    if isinstance(again, DeliveryResult):
        return again
    again.known = {k: v for k, v in product.known.items() if k not in _SENT_TO_THE_LOST_PRODUCT}
    return send(again, env)


def link(product: ProductPlan, env: Env) -> None:
    """Unlink from a former configurable, then link to the root model's configurable."""
    plan_ = product.link
    if plan_ is None:
        return
    client = env.client
    if plan_.unlink_from:
        client.delete(
            f"{CONFIGURABLES}/{sku_path(plan_.unlink_from)}/children/{sku_path(product.sku)}",
            skus=[plan_.unlink_from, product.sku],
            accept_status=[400, 404],
        )
    if plan_.root is None:
        product.linked = True
        return
    root = sku_path(plan_.root)
    with client.holding(plan_.root):  # read-modify-write of the root's options: no other variant meanwhile
        try:
            options = client.get(f"{CONFIGURABLES}/{root}/options/all") or []
        except MagentoError as error:
            if error.status == 404:
                raise Unresolved([f"configurable {plan_.root} (product model)"]) from None
            raise
        by_attribute = {str(o.get("attribute_id")): o for o in options}
        for position, (attribute_id, option_id, label) in enumerate(plan_.axes):
            existing = by_attribute.get(str(attribute_id))
            if existing is None:
                body = configurable_option_body(attribute_id, label, position, [option_id])
                client.post(f"{CONFIGURABLES}/{root}/options", json=body, skus=[plan_.root])
                continue
            values = {str(v.get("value_index")) for v in existing.get("values") or []}
            if option_id not in values:
                body = configurable_option_body(attribute_id, existing.get("label") or label,
                                                existing.get("position") or position, [*values, option_id])  # fmt: skip
                client.put(f"{CONFIGURABLES}/{root}/options/{existing['id']}", json=body, skus=[plan_.root])
        if plan_.attach:
            try:
                client.post(
                    f"{CONFIGURABLES}/{root}/child", json={"childSku": product.sku}, skus=[plan_.root, product.sku]
                )
            except MagentoError as error:
                if not (error.status == 400 and "already attached" in error.message):
                    raise
    product.linked = True


def _external_data(product: ProductPlan, complete: bool) -> dict[str, Any]:
    data = {k: v for k, v in product.known.items() if k not in ("sent",)}
    sent = dict(product.known.get("sent") or {})
    for scope in product.sent:
        if complete or scope in product.done or not any(c.scope == scope for c in product.changes):
            sent[scope] = product.sent[scope]
    data.update({"sku": product.sku, "type": product.kind, "sent": sent})
    if complete or not data.get("pending"):
        data.pop("pending", None)
    if product.kind == "configurable":
        data["axes"] = product.axes
    elif product.kind == "variant":
        if complete or product.linked:
            data["linked_to"] = product.link.root if product.link else data.get("linked_to")
            data["axes"] = product.axis_ids
    elif complete or product.linked:
        data.pop("linked_to", None)
        data.pop("axes", None)
    return data


def finish(product: ProductPlan, env: Env) -> DeliveryResult:
    return env.done(product.mutation, product.external_id, _external_data(product, complete=True))


def settle(product: ProductPlan, env: Env, result: DeliveryResult) -> DeliveryResult:
    """A failed delivery keeps what did land (those scopes are not sent again) and reports why."""
    if product.done or product.linked or product.dirty:
        m = product.mutation
        env.refs.save(m.entity_type, m.entity_uuid, product.external_id, _external_data(product, complete=False))
    return result


# ------------------------------------------------------------------------ deletes, renames


def mapped_sku(m: MutationData, current: MappingData | None) -> str:
    """The SKU Magento knows this entity by: the mapping's (the last one sent), else the mutation's."""
    sku = current.external_data.get("sku") if current is not None else None
    return str(sku) if sku else sku_of(m)


def remove_sku(sku: str, external_id: str | None, env: Env, root: str | None = None) -> str:
    """DELETE the product `sku`, or disable it (status 2) and unlink it from `root` with `on_delete:
    disable`, but only while it is still the product this entity made: Magento's id must be
    `external_id`. Answers "removed", "gone" (not in Magento) or "foreign" (the SKU now belongs to
    another product, e.g. one re-created in Akeneo with the same identifier: left alone)."""
    client, path = env.client, f"/all/V1/products/{sku_path(sku)}"
    with client.holding(sku):  # nothing else of ours touches the SKU between the check and the write
        found = client.get(path, skus=[sku], accept_status=[404])
        if not isinstance(found, dict):
            return "gone"
        if external_id is None or str(found.get("id")) != str(external_id):
            env.context.log.warning(
                f"magento2: {sku} is now Magento product {found.get('id')}, not ours ({external_id}): left alone"
            )
            return "foreign"
        if env.on_delete == "delete":
            client.delete(path, skus=[sku], accept_status=[404])
            return "removed"
        try:
            client.put(path, json={"product": {"sku": sku, "status": 2}}, skus=[sku])
        except MagentoError as error:
            if error.status == 400 and MISSING_PRODUCT in error.message:
                return "gone"  # deleted meanwhile: nothing to disable
            raise
    if root:
        client.delete(
            f"{CONFIGURABLES}/{sku_path(root)}/children/{sku_path(sku)}", skus=[root, sku], accept_status=[400, 404]
        )
    return "removed"


def delete(m: MutationData, env: Env) -> DeliveryResult:
    """DELETE, or status 2 with `on_delete: disable` (a disabled variant leaves its configurable), of
    the SKU the mapping recorded, and only if Magento's product there is still this entity's."""
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    submodel = (m.previous or {}).get("parent") or (current is not None and current.external_data.get("submodel"))
    if current is None or (m.entity_type == "product_model" and submodel):
        return env.gone(m)  # never reached Magento through this integration, or not a Magento product
    root = current.external_data.get("linked_to") or (m.previous or {}).get("root_parent")
    remove_sku(mapped_sku(m, current), current.external_id, env, root)
    return env.gone(m)


def retire_renamed(m: MutationData, env: Env) -> DeliveryResult | None:
    """A product whose identifier changed in Akeneo: the SKU it had in Magento is removed the way a
    delete would (if it is still ours; gone already is fine), and the mapping, now naming the new SKU
    without any sent state, is saved at once, so the new SKU is sent in full and a redelivery does
    not remove anything again. None: go on with the delivery; a result: it failed."""
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    old = current.external_data.get("sku") if current is not None else None
    new = sku_of(m)
    if current is None or not old or sku_key(str(old)) == sku_key(new):
        return None  # (Magento's SKUs ignore case and trailing spaces: the same product)
    try:
        remove_sku(str(old), current.external_id, env, current.external_data.get("linked_to"))
    except MagentoError as error:
        return failure(error)
    fresh = {k: v for k, v in current.external_data.items() if k not in ("pending", *_SENT_TO_THE_LOST_PRODUCT)}
    env.refs.save(m.entity_type, m.entity_uuid, None, {**fresh, "sku": new})
    return None
