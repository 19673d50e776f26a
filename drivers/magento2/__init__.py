"""The `magento2` driver: Akeneo catalog mutations -> Magento 2.4 REST.

Modules: `config` (the configuration fields), `client` (HTTP, auth, error classification, one
request in flight per SKU), `mapping` (pure payload -> body functions), `refs` (mappings of
referenced entities), `attributes`, `families`, `categories`, `products` (the entity handlers) and
`bulk` (the async bulk API).

A batch is delivered in IEC's entity-type order (attributes, options, families, family variants,
categories parents first, product models, products), each type on up to `max_concurrency` threads;
among products, deletes and the removal of renamed products' former SKUs come before any save.
Every result is that mutation's own, in the order given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from pydantic import PrivateAttr

from drivers.context import IntegrationContext, MediaUnavailable
from drivers.magento2 import attributes, categories, families, products, reference
from drivers.magento2.bulk import send_planned
from drivers.magento2.client import MagentoClient, MagentoError
from drivers.magento2.common import Env, failure
from drivers.magento2.config import Magento2Config
from drivers.magento2.mapping import DEFAULT_ATTRIBUTE_MAP, MappingSettings, Unresolved
from drivers.magento2.plan import SITE, plan_mutations
from drivers.magento2.refs import MappingRefs
from drivers.magento2.site import Site
from drivers.magento2.verify import verify_products
from drivers.models import ENTITY_TYPES, DeliveryResult, Drift, MutationData, PlannedCall

__all__ = ["MagentoClient", "MagentoError", "Magento2Driver"]

Handler = Callable[[MutationData, Env], DeliveryResult | None]
HANDLERS: dict[str, Handler] = {
    "attribute": attributes.handle_attribute,
    "attribute_option": attributes.handle_option,
    "family": families.handle_family,
    "family_variant": families.handle_family_variant,
    "category": categories.handle_category,
    "channel": reference.handle_channel,
    "association_type": reference.handle_association_type,
}


class Magento2Driver(Magento2Config):
    """Attributes, options, attribute sets, categories, products (simple, configurable, grouped) with their
    images, links and stock, per store view and website."""

    name: ClassVar[str] = "magento2"
    type: ClassVar[str] = "magento2"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = (
        "Magento 2.4 REST: attributes, options, attribute sets, categories, simple, configurable and grouped "
        "products per store view and website, images, product links, stock, with optional async bulk"
    )
    supported_entity_types: ClassVar[tuple[str, ...]] = ENTITY_TYPES

    _client: MagentoClient | None = PrivateAttr(default=None)
    _site: Site | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _site_kept: bool = PrivateAttr(default=False)

    # --------------------------------------------------------------------------- lifecycle

    def open(self, context: IntegrationContext) -> None:
        with self._lock:
            if self._client is None:
                self._client = MagentoClient(
                    self.base_url,
                    token=self.token,
                    username=self.username,
                    password=self.password,
                    timeout=self.timeout_seconds,
                    max_connections=self.max_concurrency,
                )
            self._site = None  # store views are read again at the first batch
            self._site_kept = False

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
            self._client = None

    def handle(self, mutation: MutationData, context: IntegrationContext) -> DeliveryResult:
        return self.handle_batch([mutation], context)[0]

    # ------------------------------------------------------------------------------ batches

    def handle_batch(self, mutations: Sequence[MutationData], context: IntegrationContext) -> list[DeliveryResult]:
        if not mutations:
            return []
        if self._client is None:
            self.open(context)
        try:
            env = self._env(context)
        except MagentoError as error:
            return [failure(error)] * len(mutations)
        env.refs.prefetch(mutations)
        results: list[DeliveryResult | None] = [None] * len(mutations)
        by_type: dict[str, list[int]] = {}
        for index, m in enumerate(mutations):
            by_type.setdefault(m.entity_type, []).append(index)
        for entity_type in ENTITY_TYPES:
            indices = by_type.get(entity_type, [])
            if not indices:
                continue
            if entity_type == "category":
                for wave in _parents_first(indices, mutations):
                    self._parallel(wave, HANDLERS[entity_type], mutations, results, env)
            elif entity_type in ("product_model", "product"):
                if self.bulk:
                    self._bulk_products(indices, mutations, results, env)
                else:  # deletes and renamed SKUs' removals first: a SKU freed here may be re-used below
                    self._parallel(indices, _retire, mutations, results, env)
                    rest = [i for i in indices if results[i] is None]
                    self._parallel(rest, _deliver_product, mutations, results, env)
            else:
                self._parallel(indices, HANDLERS[entity_type], mutations, results, env)
        return [
            r or DeliveryResult.permanent(f"magento2 does not handle entity type {mutations[i].entity_type!r}")
            for i, r in enumerate(results)
        ]

    def plan(self, mutations: Sequence[MutationData], context: IntegrationContext) -> list[PlannedCall]:
        """The requests delivering `mutations` would make, from the mappings alone (`plan` module)."""
        kept = context.mappings.find(*SITE)
        site = Site.from_data(kept.external_data if kept is not None else {})
        settings = self.mapping_settings(site)
        env = Env(
            client=None,  # type: ignore[arg-type]  # a plan makes no request
            settings=settings,
            store_ids=dict(site.store_ids),
            refs=MappingRefs(context.mappings, settings),
            context=context,
            on_delete=self.on_delete,
            category_root_id=self.category_root_id,
        )
        return plan_mutations(mutations, env)

    def verify(self, entities: Sequence[MutationData], context: IntegrationContext) -> list[Drift]:
        """Products read back from Magento (GETs only) and compared per store view (`verify` module)."""
        if self._client is None:
            self.open(context)
        return verify_products(entities, self._env(context, keep_site=False))

    def _env(self, context: IntegrationContext, keep_site: bool = True) -> Env:
        assert self._client is not None
        site = self._site_info(self._client)
        if keep_site and not self._site_kept:  # what a dry run needs to build the same bodies without asking Magento
            kept = context.mappings.find(*SITE)
            if kept is None or kept.external_data != site.data():
                context.mappings.save(*SITE, None, site.data())
            self._site_kept = True
        settings = self.mapping_settings(site)
        return Env(
            client=self._client,
            settings=settings,
            store_ids=dict(site.store_ids),
            refs=MappingRefs(context.mappings, settings),
            context=context,
            on_delete=self.on_delete,
            category_root_id=self.category_root_id,
        )

    def mapping_settings(self, site: Site | None = None) -> MappingSettings:
        """The configuration as the pure mapping functions take it (`mapping.product_scopes` & co)."""
        site = site or Site()
        return MappingSettings(
            channel=self.channel,
            currency=self.currency,
            default_locale=self.default_locale,
            store_views=dict(self.store_views),
            more_store_views=dict(self.store_view_locales),
            website_ids=tuple(self.websites),
            attribute_map={**DEFAULT_ATTRIBUTE_MAP, **self.attribute_map},
            weight_unit=site.weight_unit,
            channel_websites={c: tuple(w) for c, w in self.channel_websites.items()},
            price_scope=self.price_scope,
            store_websites=dict(site.store_websites),
            website_currencies=dict(site.website_currencies),
            image_roles={a: tuple(r) for a, r in self.image_roles.items()},
            asset_images=tuple(self.asset_images),
            file_attributes=self.file_attributes,
            file_base_url=self.file_base_url,
            association_map=dict(self.association_map),
            grouped_from=self.grouped_from,
            stock=self.stock,
        )

    def _site_info(self, client: MagentoClient) -> Site:
        """Store views (ids, websites), base currencies and the weight unit, read once per open()."""
        with self._lock:
            if self._site is None:
                views = client.get("/V1/store/storeViews") or []
                configs = client.get("/V1/store/storeConfigs") or []
                site = Site.read(views, configs, self.websites)
                problems = site.problems(self.mapping_settings(site))
                if problems:
                    raise MagentoError("; ".join(problems), method="GET", path="/V1/store/storeViews", status=200)
                self._site = site
            return self._site

    def _parallel(
        self,
        indices: list[int],
        handler: Handler,
        mutations: Sequence[MutationData],
        results: list[DeliveryResult | None],
        env: Env,
    ) -> None:
        def one(index: int) -> DeliveryResult | None:
            m = mutations[index]
            try:
                return handler(m, env)
            except (MagentoError, Unresolved) as error:
                return failure(error)
            except Exception as error:  # a driver bug must not lose the other results
                env.context.log.exception(f"magento2: unexpected error on mutation {m.mutation_id}")
                return DeliveryResult.retryable(f"{type(error).__name__}: {error}")

        workers = min(self.max_concurrency, len(indices))
        if workers <= 1:
            for index in indices:
                results[index] = one(index)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="magento2") as pool:
            for index, result in zip(indices, pool.map(one, indices), strict=True):
                results[index] = result

    # --------------------------------------------------------------------------- bulk mode

    def _bulk_products(
        self, indices: list[int], mutations: Sequence[MutationData], results: list[DeliveryResult | None], env: Env
    ) -> None:
        """Saves through the async bulk API (global scope, then each store view); links and deletes
        stay synchronous (Magento has no bulk route for them)."""
        planned: dict[int, products.ProductPlan] = {}
        position = {id(m): i for i, m in enumerate(mutations)}

        def prepare(m: MutationData, env: Env) -> DeliveryResult:
            if m.operation == "deleted":
                return products.delete(m, env)
            outcome = products.retire_renamed(m, env) or products.plan(m, env)
            if isinstance(outcome, DeliveryResult):
                return outcome
            planned[position[id(m)]] = outcome
            return DeliveryResult.success()

        self._parallel(indices, prepare, mutations, results, env)
        send_planned(
            list(planned.values()),
            env,
            batch_size=self.batch_size,
            timeout=self.timeout_seconds,
            workers=self.max_concurrency,
        )

        def finish(m: MutationData, env: Env) -> DeliveryResult:
            p = planned[position[id(m)]]
            if p.result is not None:
                return products.settle(p, env, p.result)
            try:
                products.link(p, env)
                products.extras(p, env)
            except (MagentoError, Unresolved) as error:
                return products.settle(p, env, failure(error))
            except MediaUnavailable as error:
                return products.settle(p, env, DeliveryResult.retryable(str(error)))
            return products.finish(p, env)

        self._parallel(sorted(planned), finish, mutations, results, env)


def _retire(m: MutationData, env: Env) -> DeliveryResult | None:
    """A delete, or the removal of a renamed product's former SKU (None: the delivery goes on)."""
    if m.operation == "deleted":
        return products.delete(m, env)
    return products.retire_renamed(m, env)


def _deliver_product(m: MutationData, env: Env) -> DeliveryResult:
    if m.operation == "deleted":
        return products.delete(m, env)
    planned = products.plan(m, env)
    if isinstance(planned, DeliveryResult):
        return planned
    return products.send(planned, env)


def _parents_first(indices: list[int], mutations: Sequence[MutationData]) -> list[list[int]]:
    """Categories in waves: one whose parent is also in the batch waits for the parent's wave."""
    waves, pending = [], list(indices)
    while pending:
        waiting = {mutations[i].code for i in pending if mutations[i].operation != "deleted"}
        wave = [
            i
            for i in pending
            if mutations[i].operation == "deleted" or (mutations[i].payload.get("parent") or None) not in waiting
        ]
        wave = wave or pending  # a cycle cannot happen in Akeneo; never loop forever anyway
        waves.append(wave)
        pending = [i for i in pending if i not in wave]
    return waves
