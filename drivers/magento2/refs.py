"""Where referenced entities live in Magento, from the integration's entity mappings.

One `MappingRefs` serves one batch: the mappings the batch needs are read up front with a few
`find_many` calls (one per entity type), and what an earlier phase of the batch creates (an
option, a category...) is remembered at once, so a product later in the same batch finds it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from drivers.context import EntityMappingService
from drivers.magento2.mapping import SELECT_TYPES, AttributeInfo, MappingSettings, association_targets
from drivers.models import MappingData, MutationData, entity_uuid

_CHUNK = 500


class MappingRefs:
    """The `mapping.Refs` protocol over an `EntityMappingService`, cached for one batch."""

    def __init__(self, mappings: EntityMappingService, settings: MappingSettings) -> None:
        self.mappings = mappings
        self.settings = settings
        self._cache: dict[tuple[str, str], MappingData | None] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------ raw mappings

    def mapping(self, entity_type: str, uuid: str) -> MappingData | None:
        key = (entity_type, uuid)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        found = self.mappings.find(entity_type, uuid)
        with self._lock:
            self._cache.setdefault(key, found)
            return self._cache[key]

    def remember(self, entity_type: str, uuid: str, external_id: str | None, external_data: dict[str, Any]) -> None:
        with self._lock:
            self._cache[(entity_type, uuid)] = MappingData(
                entity_type=entity_type,
                entity_uuid=uuid,
                integration=getattr(self.mappings, "integration", ""),
                external_id=external_id,
                external_data=external_data,
            )

    def forget(self, entity_type: str, uuid: str) -> None:
        with self._lock:
            self._cache[(entity_type, uuid)] = None

    def save(self, entity_type: str, uuid: str, external_id: str | None, external_data: dict[str, Any]) -> None:
        """Record progress now (e.g. a product saved before its configurable link failed)."""
        self.mappings.save(entity_type, uuid, external_id, external_data)
        self.remember(entity_type, uuid, external_id, external_data)

    def load(self, entity_type: str, uuids: Iterable[str]) -> None:
        with self._lock:
            wanted = sorted({u for u in uuids if (entity_type, u) not in self._cache})
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found = self.mappings.find_many(entity_type, chunk)
            with self._lock:
                for uuid in chunk:
                    self._cache.setdefault((entity_type, uuid), found.get(uuid))

    # --------------------------------------------------------------------- mapping.Refs

    def attribute(self, code: str) -> AttributeInfo | None:
        found = self.mapping("attribute", entity_uuid("attribute", code))
        return AttributeInfo.from_external(code, found.external_data) if found is not None else None

    def attribute_label(self, code: str) -> str:
        found = self.mapping("attribute", entity_uuid("attribute", code))
        return str((found.external_data.get("label") if found is not None else None) or code)

    def option_id(self, attribute: str, option: str) -> str | None:
        found = self.mapping("attribute_option", entity_uuid("attribute_option", f"{attribute}.{option}"))
        return found.external_id if found is not None and found.external_id else None

    def category_id(self, code: str) -> int | None:
        found = self.mapping("category", entity_uuid("category", code))
        return int(found.external_id) if found is not None and found.external_id else None

    def attribute_set_id(self, family: str) -> int | None:
        found = self.mapping("family", entity_uuid("family", family))
        return int(found.external_id) if found is not None and found.external_id else None

    def family_image(self, family: str | None) -> str | None:
        """The family's `attribute_as_image` (its main picture), when the family's mapping says it."""
        found = self.mapping("family", entity_uuid("family", family)) if family else None
        return found.external_data.get("attribute_as_image") if found is not None else None

    def axes(self, family_variant: str | None, root_model: str | None) -> list[str] | None:
        """Axis attribute codes of a variant: from its family variant, else from its root model."""
        if family_variant:
            found = self.mapping("family_variant", entity_uuid("family_variant", family_variant))
            if found is not None and found.external_data.get("axes"):
                return list(found.external_data["axes"])
        if root_model:
            found = self.mapping("product_model", entity_uuid("product_model", root_model))
            if found is not None and found.external_data.get("axes"):
                return list(found.external_data["axes"])
        return None

    def channel(self, code: str) -> dict[str, Any] | None:
        """What `reference.handle_channel` kept of an Akeneo channel (locales, currencies, category_tree,
        labels), None when it was never delivered (or was deleted)."""
        found = self.mapping("channel", entity_uuid("channel", code))
        return dict(found.external_data) if found is not None else None

    def association_type(self, code: str) -> dict[str, Any] | None:
        """What `reference.handle_association_type` kept of an Akeneo association type (is_quantified,
        labels), None when it was never delivered (or was deleted)."""
        found = self.mapping("association_type", entity_uuid("association_type", code))
        return dict(found.external_data) if found is not None else None

    # ---------------------------------------------------------------------------- prefetch

    def prefetch(self, mutations: Sequence[MutationData]) -> None:
        """Read every mapping the batch will need with one query per entity type."""
        own: dict[str, set[str]] = {}
        attributes: set[str] = set()
        categories: set[str] = set()
        families: set[str] = set()
        variants: set[str] = set()
        models: set[str] = set()
        linked: set[str] = set()  # association targets: product uuids
        kinds: set[str] = set()  # association types
        for m in mutations:
            own.setdefault(m.entity_type, set()).add(m.entity_uuid)
            p = m.payload if m.operation != "deleted" else (m.previous or m.payload)
            if m.entity_type in ("product", "product_model"):
                if m.operation != "deleted":
                    targets = association_targets(p)
                    linked.update(targets.products)
                    models.update(targets.models)
                    kinds.update(targets.types)
                attributes.update(v["attribute_code"] for v in p.get("values") or ())
                attributes.update(m.changed_fields)
                categories.update(c["code"] if isinstance(c, dict) else str(c) for c in p.get("categories") or ())
                if p.get("family"):
                    families.add(p["family"])
                if p.get("family_variant"):
                    variants.add(p["family_variant"])
                if p.get("root_parent"):
                    models.add(p["root_parent"])
            elif m.entity_type == "family":
                attributes.update(p.get("attributes") or ())
            elif m.entity_type == "family_variant":
                for level in p.get("variant_attribute_sets") or ():
                    attributes.update(level.get("axes") or ())
            elif m.entity_type == "attribute_option" and p.get("attribute"):
                attributes.add(p["attribute"])
            elif m.entity_type == "category" and p.get("parent"):
                categories.add(p["parent"])
        for entity_type, uuids in own.items():
            self.load(entity_type, uuids)
        self.load("attribute", (entity_uuid("attribute", c) for c in attributes))
        self.load("category", (entity_uuid("category", c) for c in categories))
        self.load("family", (entity_uuid("family", c) for c in families))
        self.load("family_variant", (entity_uuid("family_variant", c) for c in variants))
        self.load("product_model", (entity_uuid("product_model", c) for c in models))
        self.load("product", linked)
        self.load("association_type", (entity_uuid("association_type", c) for c in kinds))
        channels = {self.settings.channel, *(getattr(self.settings, "channel_websites", None) or {})}
        self.load("channel", (entity_uuid("channel", c) for c in channels))
        roots = set()  # an associated sub-model is sent as its root model's configurable
        for code in models:
            found = self.mapping("product_model", entity_uuid("product_model", code))
            if found is not None and found.external_data.get("submodel") and found.external_data.get("root"):
                roots.add(str(found.external_data["root"]))
        self.load("product_model", (entity_uuid("product_model", c) for c in roots))
        options: set[str] = set()
        for m in mutations:
            if m.entity_type not in ("product", "product_model") or m.operation == "deleted":
                continue
            for value in m.payload.get("values") or ():
                info = self.attribute(value["attribute_code"])
                if info is None or info.type not in SELECT_TYPES:
                    continue
                codes = value["value"] if isinstance(value["value"], list) else [value["value"]]
                options.update(f"{value['attribute_code']}.{c}" for c in codes)
        self.load("attribute_option", (entity_uuid("attribute_option", c) for c in options))
