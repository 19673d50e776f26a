"""What the driver learns of the Magento installation once per open(): store views, websites, currencies.

Kept in the integration's `magento_site` mapping too, so a dry run builds the same bodies without
asking Magento.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from drivers.magento2.mapping import MappingSettings


@dataclass(frozen=True)
class Site:
    store_ids: Mapping[str, int] = field(default_factory=dict)  # store view code -> store id
    store_websites: Mapping[str, int] = field(default_factory=dict)  # store view code -> website id
    website_currencies: Mapping[int, str] = field(default_factory=dict)  # website id -> base currency
    weight_unit: str = "kgs"

    @classmethod
    def read(cls, views: Iterable[Mapping[str, Any]], configs: Iterable[Mapping[str, Any]], websites: Iterable[int]):
        """From GET /V1/store/storeViews and /V1/store/storeConfigs."""
        views, configs, wanted = list(views), list(configs), set(websites)
        currencies: dict[int, str] = {}
        for config in configs:
            website = config.get("website_id")
            if website is not None and config.get("base_currency_code"):
                currencies.setdefault(int(website), str(config["base_currency_code"]))
        units = [c.get("weight_unit") for c in configs if c.get("website_id") in wanted]
        return cls(
            store_ids={str(v["code"]): int(v["id"]) for v in views},
            store_websites={str(v["code"]): int(v.get("website_id") or 0) for v in views},
            website_currencies=currencies,
            weight_unit=next((u for u in units if u), "kgs"),
        )

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Site:
        return cls(
            store_ids=dict(data.get("store_ids") or {}),
            store_websites=dict(data.get("store_websites") or {}),
            website_currencies={int(k): v for k, v in (data.get("website_currencies") or {}).items()},
            weight_unit=data.get("weight_unit") or "kgs",
        )

    def data(self) -> dict[str, Any]:
        return {
            "store_ids": dict(self.store_ids),
            "store_websites": dict(self.store_websites),
            "website_currencies": {str(k): v for k, v in self.website_currencies.items()},
            "weight_unit": self.weight_unit,
        }

    def problems(self, settings: MappingSettings) -> list[str]:
        """What the configuration names that this Magento does not have, every problem at once."""
        problems = []
        unknown = sorted(code for code in settings.view_locales if code not in self.store_ids)
        if unknown:
            problems.append(f"store_views names store view(s) {', '.join(unknown)} that Magento does not have")
        known_websites = set(self.store_websites.values())
        missing = sorted(set(settings.website_ids) - known_websites)
        if missing and self.store_websites:
            problems.append(f"website(s) {', '.join(map(str, missing))} have no store view in Magento")
        if settings.price_scope == "website":
            priced = set(settings.price_stores.values())
            bare = sorted(w for w in settings.website_ids if w not in priced)
            if bare:
                problems.append(
                    f"price_scope website: website(s) {', '.join(map(str, bare))} have no store view in store_views "
                    "to send their price through"
                )
        return problems
