"""Akeneo associations -> Magento product links: related, upsell, crosssell, and a grouped product's
`associated` products with their quantity.

Planning (`plan_links`) is pure: the links a product should have, resolved through the integration's
mappings, compared with the state the mapping kept after the last successful send. Sending
(`send_links`) makes the requests and returns the new state. How products.py uses them:

    # in products.plan(), for a product or a ROOT product model that is not deleted:
    type_id = links.product_type(m, env)          # "grouped" or None (None: simple / configurable as today)
    try:
        product.links = links.plan_links(m, known, env)   # known: the mapping's external_data (its "links")
    except Unresolved as error:
        ...  # a linked product is not in Magento yet: save the product anyway, then end retryable with
             # `error` (keep "links" as it was: the next delivery plans them again)
    # after every save of the product (global scope, store views, configurable link) succeeded:
    if product.links is not None:
        state = links.send_links(product.links, product.sku, env)   # may raise MagentoError / Unresolved
        external_data["links"] = state   # {} when the product has no link: keep it anyway
    # a failure of send_links: keep the former "links" (or none), report failure(error): every request is
    # idempotent, the retry plans and sends the difference again.

`plan_links` answers None when nothing changed (so an unchanged product costs no request), and
raises `Unresolved` when a target has no mapping yet: a product (by uuid) never delivered, a product
model without its configurable. A target given by identifier (Akeneo's products API, not products-uuid)
is its own SKU; if Magento then refuses the links, `send_links` reads which SKUs are missing and
raises `Unresolved` for them.

The state (`external_data["links"]`, JSON): {link type: [[linked SKU, qty or null], ...]} in position
order, only types with links. It describes the links of the SKU in `external_data["sku"]`: wherever the
product is sent again from nothing (`retire_renamed`'s fresh mapping for a new SKU, `_resend_in_full`
after a product deleted by hand in Magento), drop "links" with "sent", so the links are sent again too.

What Magento 2.4.8 does (Magento\\Catalog\\Model\\ProductLink\\Management::setProductLinks, behind
POST /V1/products/{sku}/links): it ADDS the items to the product's existing links
(`array_merge($existingLinks, $items)`) and saves the product; Product\\Link\\SaveHandler then deletes
the product's links and saves each one again through ProductLink\\Repository::save, and
ResourceModel\\Product\\Link::saveProductLinks updates a link that exists (same linked product and
type) instead of adding a second one: a POST is an upsert per (type, linked SKU). (Before 2.4,
setProductLinks replaced the existing links of the type of the request's last item, "Replace only
links of the specified type".) The POST therefore carries EVERY wanted link of each link type that
changed, positions 1..n: the same end state under both behaviours. Links that must go are removed one
by one with DELETE
/V1/products/{sku}/links/{type}/{linkedSku} (Repository::deleteById; 404 "Product %1 doesn't have
linked %2 as %3" when the link is already gone: accepted). An empty `items` is refused (400,
InputException "items"), so only a non-empty POST is sent. A linked SKU Magento does not have makes
Repository::save's productRepository->get throw inside the product save, which setProductLinks'
catch-all turns into 400 "The linked products data is invalid. Verify the data and try again."; an
unknown parent SKU is 404 (its productRepository->get is outside that try). On a 400 or 404,
`send_links` GETs the linked SKUs: missing ones make it `Unresolved` (retryable), else the error
stands. Links are global: they are sent to /rest/all (a save in a store view would copy the product's
values into it, magento2#9186).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivers.magento2.client import MagentoError, sku_key, sku_path
from drivers.magento2.mapping import (
    DEFAULT_ASSOCIATION_MAP,
    Unresolved,
    is_uuid,
    link_quantity,
    model_ref,
    product_ref,
)
from drivers.models import MutationData, entity_uuid

if TYPE_CHECKING:
    from drivers.magento2.common import Env

MAPPABLE = frozenset({"related", "upsell", "crosssell"})  # what `association_map` may name
ASSOCIATED = "associated"  # a grouped product's links (Magento_GroupedProduct), with extension_attributes.qty
GROUPED = "grouped"
INVALID_LINKS = "linked products data is invalid"  # Magento's 400 when a linked SKU does not exist

Link = tuple[str, float | None]  # (linked SKU, quantity: only a grouped product's links have one)


@dataclass(frozen=True)
class LinksPlan:
    """The links a product should have and the requests that get Magento there from the kept state."""

    wanted: dict[str, tuple[Link, ...]]  # link type -> ordered (linked SKU, qty); the state once sent
    send: tuple[tuple[str, int, str, str, float | None], ...]  # (type, position, SKU, linked type, qty)
    remove: tuple[tuple[str, str], ...]  # (link type, linked SKU) to delete
    unverified: frozenset[str] = field(default_factory=frozenset)  # SKUs taken from identifiers

    @property
    def state(self) -> dict[str, list[list[Any]]]:
        """What to keep under `links` in the product's mapping once sent (JSON: [[sku, qty], ...])."""
        return state_of(self.wanted)


def state_of(wanted: Mapping[str, Iterable[Link]]) -> dict[str, list[list[Any]]]:
    return {kind: [[sku, qty] for sku, qty in items] for kind, items in sorted(wanted.items()) if items}


def _kept(state: Any) -> dict[str, tuple[Link, ...]]:
    """The `links` state of a mapping, tolerant of whatever an older version wrote."""
    out: dict[str, tuple[Link, ...]] = {}
    if not isinstance(state, Mapping):
        return out
    for kind, items in state.items():
        links = []
        for item in items or ():
            if isinstance(item, (list, tuple)) and item:
                qty = item[1] if len(item) > 1 else None
                links.append((str(item[0]), float(qty) if qty is not None else None))
        if links:
            out[str(kind)] = tuple(links)
    return out


# ------------------------------------------------------------------------------- payloads


def association_map(env: Env) -> dict[str, str]:
    """Akeneo association type -> Magento link type (only related, upsell, crosssell are honoured);
    `DEFAULT_ASSOCIATION_MAP` (mapping.py, re-exported here) when the settings have none."""
    mapped = getattr(env.settings, "association_map", None)
    mapped = DEFAULT_ASSOCIATION_MAP if mapped is None else mapped
    return {str(k): str(v) for k, v in mapped.items() if v in MAPPABLE}


def grouped_from(env: Env) -> str | None:
    return getattr(env.settings, "grouped_from", None) or None


def product_type(m: MutationData, env: Env) -> str | None:
    """`grouped` when this product is a Magento grouped product: a product (not a variant, not a model)
    whose payload has products in the `grouped_from` quantified association; None otherwise."""
    source = grouped_from(env)
    if not source or m.entity_type != "product" or m.operation == "deleted":
        return None
    p = m.payload
    if p.get("parent") or p.get("root_parent"):
        return None  # a configurable's child must stay simple
    targets = (p.get("quantified_associations") or {}).get(source) or {}
    return GROUPED if any(product_ref(i) for i in targets.get("products") or ()) else None


class _Resolver:
    def __init__(self, env: Env, own: set[str]) -> None:
        self.env = env
        self.own = own  # the product's own SKU keys: never linked to itself
        self.missing: list[str] = []
        self.unverified: set[str] = set()
        self.types: dict[str, str] = {}  # linked SKU -> Magento type (for linked_product_type)

    def product(self, ref: str) -> str | None:
        if sku_key(ref) in self.own:
            return None
        if not is_uuid(ref):
            self.unverified.add(ref)
            self.types.setdefault(ref, "simple")
            return ref
        found = self.env.refs.mapping("product", ref)
        sku = found.external_data.get("sku") if found is not None else None
        if not sku:
            self.missing.append(f"associated product {ref}")
            return None
        kind = found.external_data.get("type_id") or found.external_data.get("type")  # simple | variant | grouped
        self.types.setdefault(str(sku), "grouped" if kind == "grouped" else "simple")
        return str(sku)

    def model(self, code: str) -> str | None:
        """A model's configurable SKU; a sub-model (no Magento product) stands for its root model's."""
        found = self.env.refs.mapping("product_model", entity_uuid("product_model", code))
        if found is not None and found.external_data.get("submodel"):
            code = str(found.external_data.get("root") or code)
            found = self.env.refs.mapping("product_model", entity_uuid("product_model", code))
        if found is None or found.external_data.get("submodel"):
            self.missing.append(f"associated product model {code}")
            return None
        sku = str(found.external_data.get("sku") or code)
        self.types.setdefault(sku, "configurable")
        return sku


def _add(links: dict[str, list[Link]], kind: str, sku: str | None, qty: float | None, own: set[str]) -> None:
    if sku is None or sku_key(sku) in own:
        return
    items = links.setdefault(kind, [])
    if all(sku_key(s) != sku_key(sku) for s, _ in items):
        items.append((sku, qty))


def _add_targets(
    links: dict[str, list[Link]], kind: str, targets: Mapping[str, Any], resolve: _Resolver, own: set[str]
) -> None:
    """An association's products and product models as links of `kind` (quantities are not links')."""
    for item in targets.get("products") or ():
        ref = product_ref(item)
        _add(links, kind, resolve.product(ref) if ref else None, None, own)
    for item in targets.get("product_models") or ():
        ref = model_ref(item)
        _add(links, kind, resolve.model(ref) if ref else None, None, own)


def wanted_links(m: MutationData, env: Env, sku: str) -> tuple[dict[str, tuple[Link, ...]], _Resolver]:
    """Link type -> ordered (linked SKU, qty) from the payload; the resolver lists what is missing."""
    p = m.payload
    own = {sku_key(sku)}
    resolve = _Resolver(env, own)
    links: dict[str, list[Link]] = {}
    mapped = association_map(env)
    for code in sorted(p.get("associations") or {}):
        kind, targets = mapped.get(code), (p.get("associations") or {}).get(code) or {}
        if kind is None or not isinstance(targets, Mapping):
            continue
        _add_targets(links, kind, targets, resolve, own)
    grouped = product_type(m, env) == GROUPED
    source = grouped_from(env)
    for code in sorted(p.get("quantified_associations") or {}):
        targets = (p.get("quantified_associations") or {}).get(code) or {}
        if not isinstance(targets, Mapping):
            continue
        if code == source:
            if not grouped:
                continue
            for item in targets.get("products") or ():
                ref = product_ref(item)
                _add(links, ASSOCIATED, resolve.product(ref) if ref else None, link_quantity(item) or 1.0, own)
            if targets.get("product_models"):
                env.context.log.warning(
                    f"magento2: {sku}: a grouped product holds only simple products; the product models of "
                    f"{code} are not sent"
                )
            continue
        kind = mapped.get(code)
        if kind is not None:
            _add_targets(links, kind, targets, resolve, own)
    return {kind: tuple(items) for kind, items in links.items() if items}, resolve


def plan_links(m: MutationData, known: Mapping[str, Any], env: Env, sku: str | None = None) -> LinksPlan | None:
    """The links this product (or root model's configurable) should have, and what to send to get there
    from `known["links"]` (the state kept after the last successful send). None: nothing to send.

    `sku` defaults to the mapping's / payload's (identifier, or model code). Raises `Unresolved` when a
    linked product or model is not in Magento yet (no mapping): retryable, the links wait for it."""
    if m.operation == "deleted" or (m.entity_type == "product_model" and m.payload.get("parent")):
        return None  # a deleted product's links go with it; a sub-model is no Magento product
    if sku is None:
        p = m.payload
        sku = str(known.get("sku") or p.get("identifier") or p.get("code") or m.code)
    wanted, resolve = wanted_links(m, env, sku)
    if resolve.missing:
        raise Unresolved(resolve.missing)
    kept = _kept(known.get("links"))
    if wanted == kept:
        return None
    send, remove = [], []
    for kind in sorted(set(wanted) | set(kept)):
        now, before = wanted.get(kind, ()), kept.get(kind, ())
        landed = {(position, sku_key(linked), qty) for position, (linked, qty) in enumerate(before, start=1)}
        if any((position, sku_key(linked), qty) not in landed for position, (linked, qty) in enumerate(now, start=1)):
            # every link of a type with a new or moved link: right whether Magento merges or replaces
            send.extend(
                (kind, position, linked, resolve.types.get(linked, "simple"), qty)
                for position, (linked, qty) in enumerate(now, start=1)
            )
        staying = {sku_key(linked) for linked, _ in now}
        remove.extend((kind, linked) for linked, _ in before if sku_key(linked) not in staying)
    return LinksPlan(wanted, tuple(send), tuple(remove), frozenset(resolve.unverified))


# -------------------------------------------------------------------------------- sending


def links_body(plan: LinksPlan, sku: str) -> dict[str, Any]:
    """`{"items": [...]}` for POST /V1/products/{sku}/links (catalog-data-product-link-interface)."""
    items = []
    for kind, position, linked, linked_type, qty in plan.send:
        item: dict[str, Any] = {
            "sku": sku,
            "link_type": kind,
            "linked_product_sku": linked,
            "linked_product_type": linked_type,
            "position": position,
        }
        if qty is not None:
            item["extension_attributes"] = {"qty": qty}
        items.append(item)
    return {"items": items}


def send_links(plan: LinksPlan, sku: str, env: Env) -> dict[str, list[list[Any]]]:
    """POST the links of every changed type in one request, then DELETE the removed ones (404: already gone).
    Returns the state to keep under `links` in the product's mapping. Raises MagentoError, or
    `Unresolved` when Magento refused the links because a linked SKU does not exist (yet)."""
    client, path = env.client, f"/all/V1/products/{sku_path(sku)}/links"
    if plan.send:
        try:
            client.post(path, json=links_body(plan, sku), skus=[sku])
        except MagentoError as error:
            if error.status not in (400, 404):
                raise
            missing = [
                linked
                for linked in sorted({item[2] for item in plan.send})
                if client.get(f"/all/V1/products/{sku_path(linked)}", skus=[linked], accept_status=[404]) is None
            ]
            if missing:
                raise Unresolved(f"linked product {s}" for s in missing) from None
            raise
    for kind, linked in plan.remove:
        client.delete(f"{path}/{kind}/{sku_path(linked)}", skus=[sku], accept_status=[404])
    return plan.state
