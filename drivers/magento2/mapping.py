"""Akeneo payloads -> Magento 2 REST bodies: pure functions, no I/O (unit-tested on their own).

Scopes: a product is described as one field dict per Magento scope, ``"all"`` (the global scope,
``/rest/all/V1``) plus one per store view code. The global scope gets non-localizable values and the
values of `default_locale`; a store view gets ONLY the values localized in its locale (name,
description, url_key...), because a store-scoped save copies everything it is sent into the view
(magento2#9186). Field names are Magento attribute codes, plus `type_id`, `attribute_set_id`,
`status`, `visibility`, `website_ids` and `category_links`.

What an update sends: each scope's fields are hashed and the hashes kept in the mapping; the next
delivery sends only the fields whose hash changed, clears the fields that disappeared (null in the
global scope; in a store view, the global value, which is how REST can emulate "use default value"),
and sends nothing at all when nothing changed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import orjson

GLOBAL = "all"
DEFAULT_ATTRIBUTE_SET_ID = 4
PRODUCT_ENTITY_TYPE_ID = "4"
DEFAULT_ATTRIBUTE_MAP: dict[str, str] = {
    "sku": "sku",
    "name": "name",
    "description": "description",
    "price": "price",
    "weight": "weight",
}
DEFAULT_ASSOCIATION_MAP: dict[str, str] = {"RELATED": "related", "UPSELL": "upsell", "X_SELL": "crosssell"}
IMAGE_ROLES = ("image", "small_image", "thumbnail", "swatch_image")
IMAGE_TYPES = frozenset({"pim_catalog_image"})
ASSET_TYPES = frozenset({"pim_catalog_asset_collection"})
FILE_TYPES = frozenset({"pim_catalog_file"})
# Magento product fields that are not custom_attributes / extension_attributes.
PRODUCT_FIELDS = frozenset({"name", "price", "weight", "status", "visibility", "type_id", "attribute_set_id"})
EXTENSION_FIELDS = frozenset({"website_ids", "category_links", "stock_item"})
# Always present in the global scope (Magento requires them or they are ours): never cleared. A stock
# given once to a new product is Magento's to keep.
# Global-scope Magento attributes: sent to a store view they would overwrite the global value.
GLOBAL_ONLY = frozenset({"price", "weight"})
NEVER_CLEARED = frozenset(
    {"name", "price", "status", "visibility", "type_id", "attribute_set_id", "website_ids", "url_key", "stock_item"}
)
FRONTEND_INPUT: dict[str, str] = {
    "pim_catalog_identifier": "text",
    "pim_catalog_text": "text",
    "pim_catalog_textarea": "textarea",
    "pim_catalog_number": "text",
    "pim_catalog_metric": "text",
    "pim_catalog_boolean": "boolean",
    "pim_catalog_date": "date",
    "pim_catalog_simpleselect": "select",
    "pim_catalog_multiselect": "multiselect",
    "pim_catalog_price_collection": "price",
}
SELECT_TYPES = frozenset({"pim_catalog_simpleselect", "pim_catalog_multiselect"})
# Akeneo's Weight measurement family, in kilograms.
WEIGHT_IN_KG: dict[str, Decimal] = {
    "MICROGRAM": Decimal("0.000000001"),
    "MILLIGRAM": Decimal("0.000001"),
    "GRAM": Decimal("0.001"),
    "KILOGRAM": Decimal("1"),
    "TON": Decimal("1000"),
    "GRAIN": Decimal("0.00006479891"),
    "OUNCE": Decimal("0.028349523125"),
    "POUND": Decimal("0.45359237"),
    "MARC": Decimal("0.2447529"),
    "LIVRE": Decimal("0.4895058"),
}
MAGENTO_WEIGHT_UNITS: dict[str, Decimal] = {"kgs": Decimal("1"), "lbs": Decimal("0.45359237")}
_BUILTIN_TYPES = {
    "sku": "pim_catalog_identifier",
    "name": "pim_catalog_text",
    "description": "pim_catalog_textarea",
    "price": "pim_catalog_price_collection",
    "weight": "pim_catalog_metric",
}
_TRANSLIT = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe", "ł": "l"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
URL_KEY_NAME_MAX = 120


@dataclass(frozen=True)
class MappingSettings:
    """The part of the driver configuration the mapping needs, plus what Magento told us."""

    channel: str
    currency: str
    default_locale: str
    store_views: Mapping[str, str] = field(default_factory=dict)  # Akeneo locale -> store view code
    more_store_views: Mapping[str, str] = field(default_factory=dict)  # store view code -> Akeneo locale
    website_ids: tuple[int, ...] = (1,)  # every website a product is assigned to
    attribute_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ATTRIBUTE_MAP))
    weight_unit: str = "kgs"  # Magento's general/locale/weight_unit
    channel_websites: Mapping[str, Sequence[int]] = field(default_factory=dict)
    price_scope: str = "global"  # or "website"
    store_websites: Mapping[str, int] = field(default_factory=dict)  # store view code -> website id (Magento's)
    website_currencies: Mapping[int, str] = field(default_factory=dict)  # website id -> base currency (Magento's)
    image_roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    asset_images: Sequence[str] = ()
    file_attributes: str = "skip"  # or "url"
    file_base_url: str | None = None
    association_map: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ASSOCIATION_MAP))
    grouped_from: str | None = None
    stock: Any = None  # config.StockConfig, or None: no stock sent

    def magento_code(self, code: str) -> str:
        return self.attribute_map.get(code, code)

    @property
    def view_locales(self) -> dict[str, str]:
        """Every configured store view code -> its Akeneo locale."""
        return {**{store: locale for locale, store in self.store_views.items()}, **self.more_store_views}

    def channel_of(self, store: str) -> str:
        """The Akeneo channel feeding a store view: its website's in `channel_websites`, else `channel`."""
        website = self.store_websites.get(store)
        for channel, websites in self.channel_websites.items():
            if website in websites:
                return channel
        return self.channel

    @property
    def price_stores(self) -> dict[str, int]:
        """With website price scope: the store view each website's price is sent through (its first one)."""
        if self.price_scope != "website":
            return {}
        chosen: dict[int, str] = {}
        for store in sorted(self.view_locales):
            website = self.store_websites.get(store)
            if website in self.website_ids and website not in chosen:
                chosen[website] = store
        return {store: website for website, store in chosen.items()}

    @property
    def store_locales(self) -> dict[str, str]:
        """Store view code -> locale, for the store views that get their own save: a locale or a channel
        other than the global scope's, or the one carrying its website's price."""
        prices = self.price_stores
        return {
            store: locale
            for store, locale in self.view_locales.items()
            if locale != self.default_locale or self.channel_of(store) != self.channel or store in prices
        }


@dataclass(frozen=True)
class AttributeInfo:
    """What the driver knows of an Akeneo attribute in Magento (kept in its mapping's external_data)."""

    code: str
    magento_code: str
    type: str
    attribute_id: int | None = None
    skipped: bool = False
    default_metric_unit: str | None = None
    reference_data_name: str | None = None  # an asset collection's asset family

    @classmethod
    def from_external(cls, code: str, data: Mapping[str, Any]) -> AttributeInfo:
        return cls(
            code=code,
            magento_code=data.get("magento_code") or code,
            type=data.get("type") or "pim_catalog_text",
            attribute_id=data.get("attribute_id"),
            skipped=bool(data.get("skipped")),
            default_metric_unit=data.get("default_metric_unit"),
            reference_data_name=data.get("reference_data_name"),
        )

    @classmethod
    def builtin(cls, code: str, settings: MappingSettings) -> AttributeInfo | None:
        """Attributes mapped onto Magento's own (sku, name, description, price, weight) need no mapping."""
        magento_code = settings.magento_code(code)
        if magento_code in _BUILTIN_TYPES and code in settings.attribute_map:
            return cls(code, magento_code, _BUILTIN_TYPES[magento_code], default_metric_unit="KILOGRAM")
        return None


class Refs(Protocol):
    """Magento ids of the entities a payload refers to (from the integration's mappings)."""

    def attribute(self, code: str) -> AttributeInfo | None: ...

    def option_id(self, attribute: str, option: str) -> str | None: ...

    def category_id(self, code: str) -> int | None: ...

    def attribute_set_id(self, family: str) -> int | None: ...

    def family_image(self, family: str | None) -> str | None: ...


class Unresolved(Exception):
    """The payload refers to entities not (yet) in Magento: deliver them first, then retry this one."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing = sorted(set(missing))
        super().__init__(f"not yet in Magento: {', '.join(self.missing)}; retry after they are delivered")


# ----------------------------------------------------------------------------- small helpers


def slug(text: str | None) -> str:
    """Magento's URL key format: transliterated, lowercase, non-alphanumerics collapsed to '-'."""
    if not text:
        return ""
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("-", ascii_text.lower()).strip("-")


def url_key(name: str | None, sku: str) -> str:
    """Unique and stable per product and store view: variants and models often share a name."""
    name_part = slug(name)[:URL_KEY_NAME_MAX].strip("-")
    sku_part = slug(sku) or hashlib.sha1(sku.encode()).hexdigest()[:10]
    return f"{name_part}-{sku_part}" if name_part else sku_part


def digest(value: Any) -> str:
    """A short, stable hash of a field value (what the mapping remembers instead of the value)."""
    return hashlib.sha1(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def weight_for_magento(amount: Any, unit: str | None, weight_unit: str = "kgs") -> float | None:
    """An Akeneo weight in the unit Magento is configured with (kg unless `lbs`), 6 decimals."""
    number = _decimal(amount)
    if number is None:
        return None
    in_kg = number * WEIGHT_IN_KG.get((unit or "KILOGRAM").upper(), Decimal(1))
    converted = in_kg / MAGENTO_WEIGHT_UNITS.get(weight_unit, Decimal(1))
    return float(round(converted, 6))


def convert_metric(amount: Any, unit: str | None, target: str | None) -> str:
    """A metric amount in the attribute's default unit when both are weights, else as given."""
    number = _decimal(amount)
    if number is None:
        return str(amount)
    source, wanted = (unit or "").upper(), (target or "").upper()
    if source in WEIGHT_IN_KG and wanted in WEIGHT_IN_KG and source != wanted:
        number = number * WEIGHT_IN_KG[source] / WEIGHT_IN_KG[wanted]
        number = round(number, 6)
    return _plain(number)


def price_in(prices: Any, currency: str) -> Decimal | None:
    if not isinstance(prices, list):
        return _decimal(prices)
    for price in prices:
        if isinstance(price, Mapping) and price.get("currency") == currency:
            return _decimal(price.get("amount"))
    return None


def format_value(
    info: AttributeInfo, item: Mapping[str, Any], settings: MappingSettings, refs: Refs, missing: list[str]
):
    """One Akeneo value as Magento wants it (None = no value in Magento).

    select -> option id, multiselect -> comma-joined ids, boolean -> "1"/"0", date -> YYYY-MM-DD,
    number -> decimal text, metric -> amount (kg/lbs for Magento's weight), price -> amount in `currency`.
    """
    value, kind, target = item.get("value"), info.type, info.magento_code
    if value is None:
        return None
    if kind == "pim_catalog_simpleselect":
        option_id = refs.option_id(info.code, str(value))
        if option_id is None:
            missing.append(f"option {info.code}.{value}")
        return option_id
    if kind == "pim_catalog_multiselect":
        codes = value if isinstance(value, list) else [value]
        ids = []
        for code in codes:
            option_id = refs.option_id(info.code, str(code))
            if option_id is None:
                missing.append(f"option {info.code}.{code}")
            else:
                ids.append(option_id)
        return ",".join(sorted(ids, key=lambda i: (len(i), i))) or None
    if kind in FILE_TYPES:
        return f"{(settings.file_base_url or '').rstrip('/')}/{value}" if settings.file_attributes == "url" else None
    if kind == "pim_catalog_boolean":
        return "1" if value is True or str(value).lower() in ("1", "true") else "0"
    if kind == "pim_catalog_date":
        return str(value)[:10]
    if kind == "pim_catalog_price_collection":
        amount = price_in(value, settings.currency)
        if amount is None:
            return None
        return float(amount) if target == "price" else _plain(amount)
    if target == "weight":
        return weight_for_magento(value, item.get("unit"), settings.weight_unit)
    if target == "price":
        amount = _decimal(value)
        return float(amount) if amount is not None else None
    if kind == "pim_catalog_metric":
        return convert_metric(value, item.get("unit"), info.default_metric_unit)
    return value if isinstance(value, str) else str(value)


# ------------------------------------------------------------------------------- products


def _global_wants(item: Mapping[str, Any], settings: MappingSettings) -> bool:
    return item.get("locale") in (None, settings.default_locale) and item.get("channel") in (None, settings.channel)


def _stores_wanting(item: Mapping[str, Any], views: Mapping[str, tuple[str, str]], is_global: bool) -> list[str]:
    """The store views a value goes to: those of its locale and channel, unless the global scope carries
    it already (a store-scoped save copies what it is sent into the view: magento2#9186)."""
    if is_global:
        return []
    locale, channel = item.get("locale"), item.get("channel")
    return [s for s, (lo, ch) in views.items() if locale in (None, lo) and channel in (None, ch)]


def _resolve(code: str, settings: MappingSettings, refs: Refs, missing: list[str]) -> AttributeInfo | None:
    info = refs.attribute(code) or AttributeInfo.builtin(code, settings)
    if info is None:
        missing.append(f"attribute {code}")
    return info


def product_scopes(
    payload: Mapping[str, Any], kind: str, settings: MappingSettings, refs: Refs
) -> dict[str, dict[str, Any]]:
    """The fields a product has in each Magento scope. `kind`: "simple", "variant", "configurable" or
    "grouped".

    Raises `Unresolved` when an attribute, option, category or attribute set is not in Magento yet.
    """
    sku = str(payload.get("identifier") or payload.get("code"))
    missing: list[str] = []
    scopes: dict[str, dict[str, Any]] = {GLOBAL: {}}
    views = {store: (locale, settings.channel_of(store)) for store, locale in settings.store_locales.items()}
    for store in views:
        scopes[store] = {}
    prices: dict[str, Any] = {}  # website price scope: the price attribute's values
    for item in payload.get("values") or ():
        is_global = _global_wants(item, settings)
        stores = _stores_wanting(item, views, is_global)
        if not is_global and not stores:
            continue
        info = _resolve(item["attribute_code"], settings, refs, missing)
        if info is None or info.skipped or info.magento_code == "sku":
            continue
        if kind in ("configurable", "grouped") and info.magento_code in ("price", "weight"):
            continue  # a configurable's (a grouped product's) price and weight come from its children
        if info.magento_code == "price" and settings.price_stores and item.get("locale") is None:
            prices.setdefault(item.get("channel") or "", item)
        value = format_value(info, item, settings, refs, missing)
        if value is None:
            continue
        if is_global:
            scopes[GLOBAL][info.magento_code] = value
        if info.magento_code in GLOBAL_ONLY:
            continue  # a store-view save of a global attribute writes store 0 (price: see price_stores)
        for store in stores:
            scopes[store][info.magento_code] = value
    for store, website in settings.price_stores.items():
        channel = settings.channel_of(store)
        item = prices.get(channel) or prices.get("")
        currency = settings.website_currencies.get(website) or settings.currency
        amount = price_in(item.get("value"), currency) if item is not None else None
        if amount is not None:
            scopes[store]["price"] = float(amount)

    main = scopes[GLOBAL]
    if not main.get("name"):
        localized = [scopes[s].get("name") for s in sorted(views)]
        main["name"] = next((n for n in localized if n), sku)
    main["url_key"] = url_key(main["name"], sku)
    for store in views:
        if scopes[store].get("name"):
            scopes[store]["url_key"] = url_key(scopes[store]["name"], sku)
    main["type_id"] = {"configurable": "configurable", "grouped": "grouped"}.get(kind, "simple")
    family = payload.get("family")
    set_id = refs.attribute_set_id(family) if family else DEFAULT_ATTRIBUTE_SET_ID
    if set_id is None:
        missing.append(f"family {family}")
    main["attribute_set_id"] = set_id
    main["status"] = 2 if payload.get("enabled") is False else 1
    main["visibility"] = 1 if kind == "variant" else 4
    if kind not in ("configurable", "grouped"):
        main.setdefault("price", 0.0)  # Magento requires a price; none in `currency` means 0
    main["website_ids"] = sorted(settings.website_ids)
    links = []
    for category in payload.get("categories") or ():
        code = category["code"] if isinstance(category, Mapping) else str(category)
        category_id = refs.category_id(code)
        if category_id is None:
            missing.append(f"category {code}")
        else:
            links.append({"position": 0, "category_id": str(category_id)})
    main["category_links"] = sorted({link["category_id"]: link for link in links}.values(), key=_link_key)
    if missing:
        raise Unresolved(missing)
    return {scope: fields for scope, fields in scopes.items() if fields}


def stock_item(payload: Mapping[str, Any], kind: str, settings: MappingSettings, new: bool) -> dict[str, Any] | None:
    """`extension_attributes.stock_item` to send: the quantity attribute's value on every change, else
    the configured stock once, for a new product (a configurable or grouped product: in stock, no qty)."""
    stock = settings.stock
    if stock is None or stock.msi_source_code:
        return None
    if kind in ("configurable", "grouped"):
        return {"is_in_stock": True} if new else None
    qty = source_qty(payload, settings)
    if qty is not None:
        return {"qty": float(qty), "is_in_stock": qty > 0}
    return {"qty": float(stock.default_qty), "is_in_stock": default_in_stock(stock)} if new else None


def default_in_stock(stock: Any) -> bool:
    """The stock status of the configured stock: as given, else in stock when there is some."""
    return bool(stock.is_in_stock) if stock.is_in_stock is not None else stock.default_qty > 0


def source_qty(payload: Mapping[str, Any], settings: MappingSettings) -> Decimal | None:
    """The quantity from `stock.qty_attribute` (the global scope's value), None without one."""
    stock = settings.stock
    if stock is None or not stock.qty_attribute:
        return None
    for item in payload.get("values") or ():
        if item.get("attribute_code") == stock.qty_attribute and _global_wants(item, settings):
            return _decimal(item.get("value"))
    return None


def _link_key(link: Mapping[str, Any]) -> tuple[int, str]:
    return (len(link["category_id"]), link["category_id"])


def emptied_fields(
    payload: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    changed_fields: Iterable[str],
    settings: MappingSettings,
    refs: Refs,
) -> dict[str, set[str]]:
    """Fields to clear per scope: attributes in `changed_fields` that had a value in `previous`
    (or, without `previous`, in the global scope) and have none now. Akeneo omits empty values."""

    views = {store: (locale, settings.channel_of(store)) for store, locale in settings.store_locales.items()}

    def keys(values: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
        out = set()
        for item in values or ():
            is_global = _global_wants(item, settings)
            if is_global:
                out.add((item["attribute_code"], GLOBAL))
            out.update((item["attribute_code"], store) for store in _stores_wanting(item, views, is_global))
        return out

    now = keys(payload.get("values") or ())
    before = keys(previous.get("values") or ()) if previous else None
    out: dict[str, set[str]] = {}
    for code in changed_fields:
        info = refs.attribute(code) or AttributeInfo.builtin(code, settings)
        if info is not None and (info.skipped or info.magento_code == "sku"):
            continue
        if info is None and before is None:
            continue  # a top-level field (enabled, categories...), not an attribute
        magento_code = info.magento_code if info is not None else settings.magento_code(code)
        scopes = {s for c, s in before if c == code} if before is not None else {GLOBAL}
        for scope in scopes:
            if (code, scope) not in now:
                out.setdefault(scope, set()).add(magento_code)
                if magento_code == "name" and scope != GLOBAL:
                    out[scope].add("url_key")
    return out


@dataclass(frozen=True)
class ScopeChange:
    """What to send to one scope, and the field hashes to remember once it is sent."""

    scope: str
    send: dict[str, Any]
    hashes: dict[str, str]


def plan_scope(
    scope: str,
    desired: Mapping[str, Any],
    sent: Mapping[str, str] | None,
    cleared: Iterable[str] = (),
    global_fields: Mapping[str, Any] | None = None,
) -> ScopeChange:
    """Only what changed since the last delivery (everything when `sent` is None).

    Fields that disappeared are cleared: null in the global scope; in a store view, the global
    value is sent instead (REST cannot say "use default value", a copy is the closest).
    """
    effective = dict(desired)
    gone = (set(sent or ()) | set(cleared)) - set(desired)
    for name in gone:
        if scope == GLOBAL:
            if name not in NEVER_CLEARED:
                effective[name] = None
        elif name not in GLOBAL_ONLY:  # a website's price is never the global one (another currency)
            effective[name] = (global_fields or {}).get(name)
    hashes = {name: digest(value) for name, value in effective.items()}
    send = {name: value for name, value in effective.items() if sent is None or sent.get(name) != hashes[name]}
    if scope == GLOBAL:
        hashes = {name: h for name, h in hashes.items() if effective[name] is not None}
    return ScopeChange(scope, send, hashes)


def product_body(sku: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """`{"product": ...}` with fields split into product fields, extension and custom attributes."""
    product: dict[str, Any] = {"sku": sku}
    extension: dict[str, Any] = {}
    custom = []
    for name in sorted(fields):
        value = fields[name]
        if name in PRODUCT_FIELDS:
            product[name] = value
        elif name in EXTENSION_FIELDS:
            extension[name] = value if value is not None else []
        else:
            custom.append({"attribute_code": name, "value": value})
    if extension:
        product["extension_attributes"] = extension
    if custom:
        product["custom_attributes"] = custom
    return {"product": product}


# ------------------------------------------------------------------------ other entities


StoreIds = Mapping[str, int] | Iterable[tuple[str, int]]  # Akeneo locale -> store id, or (locale, store id) pairs


def labels_for_stores(labels: Mapping[str, str] | None, store_ids: StoreIds) -> list[dict[str, Any]]:
    """Akeneo labels {locale: label} as Magento store labels, for the mapped store views."""
    labels = labels or {}
    pairs = store_ids.items() if isinstance(store_ids, Mapping) else store_ids
    return [
        {"store_id": store_id, "label": labels[locale]}
        for locale, store_id in sorted(pairs, key=lambda kv: kv[1])
        if labels.get(locale)
    ]


def attribute_body(
    payload: Mapping[str, Any], magento_code: str, settings: MappingSettings, store_ids: StoreIds
) -> dict[str, Any]:
    """`{"attribute": ...}` for POST/PUT /V1/products/attributes: input from the Akeneo type,
    `store` scope when localizable or scopable (global otherwise), labels per store view."""
    kind = payload.get("type") or "pim_catalog_text"
    labels = payload.get("labels") or {}
    attribute: dict[str, Any] = {
        "attribute_code": magento_code,
        "frontend_input": FRONTEND_INPUT.get(kind, "text"),
        "entity_type_id": PRODUCT_ENTITY_TYPE_ID,
        "is_required": False,
        "default_frontend_label": labels.get(settings.default_locale) or payload.get("code") or magento_code,
        "frontend_labels": labels_for_stores(labels, store_ids),
        "scope": "store" if payload.get("localizable") or payload.get("scopable") else "global",
        "is_user_defined": True,
    }
    if kind in ("pim_catalog_number", "pim_catalog_metric"):
        attribute["frontend_class"] = "validate-number"
    return {"attribute": attribute}


def option_body(payload: Mapping[str, Any], store_ids: StoreIds) -> dict[str, Any]:
    """The admin label is the Akeneo option code (unique per attribute, stable); labels per view."""
    sort_order = payload.get("sort_order")
    return {
        "option": {
            "label": str(payload.get("option_code") or str(payload.get("code", "")).split(".", 1)[-1]),
            "sort_order": sort_order if isinstance(sort_order, int) and not isinstance(sort_order, bool) else 0,
            "is_default": False,
            "store_labels": labels_for_stores(payload.get("labels"), store_ids),
        }
    }


def category_names(payload: Mapping[str, Any], settings: MappingSettings) -> dict[str, str]:
    """Category name per scope: the global one, then each store view's localized label."""
    labels = payload.get("labels") or {}
    names = {GLOBAL: labels.get(settings.default_locale) or str(payload.get("code"))}
    for store, locale in settings.store_locales.items():
        if labels.get(locale):
            names[store] = labels[locale]
    return names


def category_create_body(parent_id: int, name: str, code: str) -> dict[str, Any]:
    """The url_key comes from the Akeneo code: unique among siblings and stable across renames."""
    return {
        "category": {
            "parent_id": parent_id,
            "name": name,
            "is_active": True,
            "include_in_menu": True,
            "custom_attributes": [{"attribute_code": "url_key", "value": slug(code) or digest(code)}],
        }
    }


def configurable_option_body(attribute_id: int, label: str, position: int, value_ids: Iterable[str]) -> dict:
    values = sorted({int(v) for v in value_ids})
    return {
        "option": {
            "attribute_id": str(attribute_id),
            "label": label,
            "position": position,
            "values": [{"value_index": v} for v in values],
        }
    }


# ---------------------------------------------------------------------------- associations

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass(frozen=True)
class Targets:
    """What a product's associations point at (for the prefetch): product uuids, products given by
    identifier, product model codes, and the association types used."""

    products: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset()
    models: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()


def product_ref(item: Any) -> str | None:
    if isinstance(item, Mapping):
        ref = item.get("uuid") or item.get("identifier")
        return str(ref) if ref else None
    return str(item) if item else None


def model_ref(item: Any) -> str | None:
    if isinstance(item, Mapping):
        ref = item.get("code") or item.get("identifier")
        return str(ref) if ref else None
    return str(item) if item else None


def link_quantity(item: Any) -> float | None:
    if isinstance(item, Mapping) and item.get("quantity") is not None:
        try:
            return float(item["quantity"])
        except (TypeError, ValueError):
            return None
    return None


def is_uuid(ref: str) -> bool:
    return bool(_UUID.match(ref))


def association_targets(payload: Mapping[str, Any]) -> Targets:
    """Every product (uuid or identifier) and product model a payload's associations name.

    Shapes (products-uuid API, as IEC normalizes them): `associations: {TYPE: {"products": [uuid...],
    "product_models": [code...], "groups": [...]}}`; `quantified_associations: {TYPE: {"products":
    [{"uuid"|"identifier": ..., "quantity": n}], "product_models": [{"code"|"identifier": ..., "quantity": n}]}}`.
    """
    products, identifiers, models, types = set(), set(), set(), set()
    for field_name in ("associations", "quantified_associations"):
        for kind, targets in (payload.get(field_name) or {}).items():
            if not isinstance(targets, Mapping):
                continue
            types.add(str(kind))
            for item in targets.get("products") or ():
                ref = product_ref(item)
                if ref:
                    (products if is_uuid(ref) else identifiers).add(ref)
            for item in targets.get("product_models") or ():
                ref = model_ref(item)
                if ref:
                    models.add(ref)
    return Targets(frozenset(products), frozenset(identifiers), frozenset(models), frozenset(types))


# ------------------------------------------------------------------------------- planning
