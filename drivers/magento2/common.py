"""What every entity handler works with: the client, the settings, Magento's store views, the refs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.context import IntegrationContext
from drivers.magento2.client import MagentoClient, MagentoError
from drivers.magento2.mapping import MappingSettings, Unresolved
from drivers.magento2.refs import MappingRefs
from drivers.models import DeliveryResult, MutationData


@dataclass
class Env:
    client: MagentoClient
    settings: MappingSettings
    store_ids: dict[str, int]  # Magento store view code -> store id
    refs: MappingRefs
    context: IntegrationContext
    on_delete: str = "delete"
    category_root_id: int = 2

    @property
    def locale_store_ids(self) -> list[tuple[str, int]]:
        """(Akeneo locale, Magento store id) of every configured store view (labels go to all of them)."""
        return sorted(
            (locale, self.store_ids[store]) for store, locale in self.settings.view_locales.items()
            if store in self.store_ids
        )  # fmt: skip

    def done(self, m: MutationData, external_id: str | None, data: dict[str, Any]) -> DeliveryResult:
        """Success; the new mapping is visible to the rest of the batch at once."""
        self.refs.remember(m.entity_type, m.entity_uuid, external_id, data)
        return DeliveryResult.success(external_id=external_id, external_data=data)

    def gone(self, m: MutationData) -> DeliveryResult:
        self.refs.forget(m.entity_type, m.entity_uuid)
        return DeliveryResult.success(forget_mapping=True)


def failure(error: Exception) -> DeliveryResult:
    """A MagentoError or Unresolved as IEC's result: retry later, or never."""
    if isinstance(error, Unresolved):
        return DeliveryResult.retryable(str(error))
    if isinstance(error, MagentoError):
        if error.retryable:
            return DeliveryResult.retryable(str(error), retry_after=error.retry_after)
        return DeliveryResult.permanent(str(error))
    raise error


def search(field: str, value: Any, *more: tuple[str, Any], page_size: int | None = None) -> dict[str, Any]:
    """searchCriteria query parameters: each (field, value) is its own filter group (AND-ed), eq."""
    params: dict[str, Any] = {}
    for index, (name, wanted) in enumerate(((field, value), *more)):
        prefix = f"searchCriteria[filterGroups][{index}][filters][0]"
        params[f"{prefix}[field]"] = name
        params[f"{prefix}[value]"] = str(wanted)
        params[f"{prefix}[conditionType]"] = "eq"
    if page_size is not None:
        params["searchCriteria[pageSize]"] = page_size
    return params
