"""Websites and store views: the scopes every catalog value lives in.

Layout mirrors a fresh Magento: website 0 "admin" holding store 0, website 1 "base" holding store
group 1 (root category 2) and its store views.  Extra websites (``websites`` setting, e.g.
``{"base": ["default", "fr"], "b2b": ["b2b"]}``) get ids 2.., one store group each (same root
category 2), and their views continue the store id sequence.  Each website has its own base
currency (``base_currencies`` setting, default EUR), shown by ``/V1/store/storeConfigs``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ADMIN_STORE_ID = 0
BASE_WEBSITE_ID = 1
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_RESERVED = {"admin", "all", "async", "v1", "rest"}
_LOCALES = {
    "default": "en_US",
    "en": "en_US",
    "us": "en_US",
    "fr": "fr_FR",
    "de": "de_DE",
    "es": "es_ES",
    "it": "it_IT",
    "nl": "nl_NL",
    "pt": "pt_PT",
    "pl": "pl_PL",
    "uk": "en_GB",
    "gb": "en_GB",
}


@dataclass(frozen=True, slots=True)
class StoreView:
    id: int
    code: str
    name: str
    website_id: int
    group_id: int
    locale: str


@dataclass(frozen=True, slots=True)
class Website:
    id: int
    code: str
    name: str
    group_id: int
    default_store_id: int
    currency: str


class Stores:
    """Immutable store layout built from the configured websites and store-view codes."""

    def __init__(
        self,
        codes: list[str] | dict[str, list[str]],
        currencies: dict[str, str] | None = None,
    ) -> None:
        layout = dict(codes) if isinstance(codes, dict) else {"base": list(codes)}
        if not layout or not all(layout.values()):
            raise ValueError("at least one store view per website is required")
        currencies = currencies or {}
        seen: set[str] = set()
        views = [StoreView(0, "admin", "Admin", 0, 0, "en_US")]
        websites: list[Website] = []
        for website_id, (website_code, view_codes) in enumerate(layout.items(), start=1):
            if not _CODE.match(website_code) or website_code == "admin":
                raise ValueError(f"invalid website code: {website_code!r}")
            first = len(views)
            for code in view_codes:
                if not _CODE.match(code) or code.lower() in _RESERVED or code in seen:
                    raise ValueError(f"invalid or duplicate store view code: {code!r}")
                seen.add(code)
                name = "Default Store View" if code == "default" else f"{code.upper()} Store View"
                locale = _LOCALES.get(code, _LOCALES.get(code.split("_")[0], "en_US"))
                views.append(StoreView(len(views), code, name, website_id, website_id, locale))
            name = "Main Website" if website_id == BASE_WEBSITE_ID else f"{website_code.upper()} Website"
            default_view = next((v.id for v in views[first:] if v.code == "default"), views[first].id)
            currency = currencies.get(website_code, "EUR")
            websites.append(Website(website_id, website_code, name, website_id, default_view, currency))
        self.views: tuple[StoreView, ...] = tuple(views)
        self.websites: tuple[Website, ...] = tuple(websites)
        self.by_code = {v.code: v for v in views}
        self.by_id = {v.id: v for v in views}
        self.view_ids: tuple[int, ...] = tuple(v.id for v in views if v.id)
        # the default store view is the default view of the default website (website 1)
        self.default_store_id = websites[0].default_store_id
        self.website_ids: tuple[int, ...] = tuple(w.id for w in websites)
        self.global_currency = websites[0].currency

    def website(self, website_id: int) -> Website:
        return next(w for w in self.websites if w.id == website_id)

    def currency_of_view(self, store_id: int) -> str:
        view = self.by_id[store_id]
        return self.website(view.website_id).currency if view.website_id else self.global_currency

    def code_of(self, store_id: int) -> str:
        return self.by_id[store_id].code

    def views_in_website(self, website_id: int) -> tuple[int, ...]:
        return tuple(v.id for v in self.views if v.id and v.website_id == website_id)

    def views_for_websites(self, website_ids: list[int]) -> tuple[int, ...]:
        wanted = set(website_ids)
        return tuple(v.id for v in self.views if v.id and v.website_id in wanted)

    # ---------------------------------------------------------------- REST representations

    def websites_json(self) -> list[dict]:
        return [{"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0}] + [
            {"id": w.id, "code": w.code, "name": w.name, "default_group_id": w.group_id} for w in self.websites
        ]

    def store_groups_json(self) -> list[dict]:
        return [
            {
                "id": 0,
                "website_id": 0,
                "root_category_id": 0,
                "default_store_id": 0,
                "name": "Default",
                "code": "default",
            },
        ] + [
            {
                "id": w.group_id,
                "website_id": w.id,
                "root_category_id": 2,
                "default_store_id": w.default_store_id,
                "name": "Main Website Store" if w.id == BASE_WEBSITE_ID else f"{w.name} Store",
                "code": "main_website_store" if w.id == BASE_WEBSITE_ID else f"{w.code}_store",
            }
            for w in self.websites
        ]

    def store_views_json(self) -> list[dict]:
        return [
            {
                "id": v.id,
                "code": v.code,
                "name": v.name,
                "website_id": v.website_id,
                "store_group_id": v.group_id,
                "is_active": 1,
            }
            for v in self.views
        ]

    def store_configs_json(self, codes: list[str] | None = None) -> list[dict]:
        out = []
        for v in self.views:
            if not v.id or (codes and v.code not in codes):
                continue
            base = "http://magento.sandbox/"
            out.append(
                {
                    "id": v.id,
                    "code": v.code,
                    "website_id": v.website_id,
                    "locale": v.locale,
                    "base_currency_code": self.currency_of_view(v.id),
                    "default_display_currency_code": self.currency_of_view(v.id),
                    "timezone": "Europe/Paris",
                    "weight_unit": "kgs",
                    "base_url": base,
                    "base_link_url": base,
                    "base_static_url": f"{base}static/",
                    "base_media_url": f"{base}media/",
                    "secure_base_url": base,
                    "secure_base_link_url": base,
                    "secure_base_static_url": f"{base}static/",
                    "secure_base_media_url": f"{base}media/",
                }
            )
        return out


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a request reads and writes, decided by the store code in its URL.

    ``/rest/V1`` (no code) runs in the default store view: reads show that view, updates write a
    store-view override there (the classic silent-override trap) while creates go to global.
    ``/rest/all`` is the admin store 0.  ``/rest/<code>`` reads and writes that view.
    """

    code: str | None
    read_store: int
    update_store: int
    create_store: int

    @property
    def label(self) -> str:
        return self.code or "-"


def scope_for(stores: Stores, code: str | None) -> Scope:
    if code is None:
        return Scope(None, stores.default_store_id, stores.default_store_id, ADMIN_STORE_ID)
    if code == "all":
        return Scope("all", ADMIN_STORE_ID, ADMIN_STORE_ID, ADMIN_STORE_ID)
    store_id = stores.by_code[code].id
    return Scope(code, store_id, store_id, store_id)
