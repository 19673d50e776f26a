"""Akeneo's standard format -> IEC's normalized form, one spelling per meaning.

Meaningless differences must not become mutations, so they are removed here, once:
- decimals are canonical strings ("19.9900" -> "19.99", 12 -> "12");
- sets are sorted: categories, groups, association targets, family attributes, a channel's locales and
  currencies, and the options of a multiselect. Akeneo stores a multiselect as a set of option codes
  (its UI orders them by the options' own sort order, not by the order they were picked), so picking
  the same options in another order is no change. Asset and reference-entity collections keep their
  order: the first asset is the main image, so their order is data;
- empty values (null, "", [], a price without amount) are dropped: Akeneo's API omits them, so an
  emptied value and a removed value are the same thing;
- presentation-only data (`linked_data`, `group_labels`, `_links`, `metadata`, quality scores) and
  timestamps are not content. A re-save that only bumps `updated` hashes the same.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import orjson

from iec_pipeline.common.entity_types import entity_uuid
from iec_pipeline.store.models import canonical_json

ORDERED_COLLECTIONS = frozenset(
    {
        "pim_catalog_asset_collection",
        "pim_assets_collection",
        "akeneo_reference_entity_collection",
        "pim_catalog_image",
        "pim_catalog_file",
    }
)
SET_COLLECTIONS = frozenset({"pim_catalog_multiselect", "pim_reference_data_multiselect"})
NUMBER_TYPES = frozenset({"pim_catalog_number"})
# Decimal text already in canonical form but for trailing fraction zeros ("19.90", "-3", "0.5"):
# what `Decimal(...).normalize()` would give is then a string operation away.
_PLAIN_DECIMAL = re.compile(r"(-?(?:0|[1-9][0-9]*))(?:\.([0-9]+))?")

_ATTRIBUTE_FIELDS = (
    "type", "group", "labels", "localizable", "scopable", "unique", "sort_order", "metric_family",
    "default_metric_unit", "decimals_allowed", "negative_allowed", "available_locales",
)  # fmt: skip
_NOT_CONTENT = {"code", "_links", "group_labels", "created", "updated", "metadata", "quality_scores"}


class ValueRow(NamedTuple):
    attribute_code: str
    channel: str
    locale: str
    value: Any
    unit: str | None


@dataclass(slots=True)
class Normalized:
    key: str  # the entity's uuid
    code: str
    fields: dict[str, Any]
    values: tuple[ValueRow, ...]
    updated: datetime | None
    raw_hash: str | None = None

    def encoded(self) -> tuple[str, str, str]:
        """(fields JSON, values JSON, content hash): the staged form, each value's data as JSON text."""
        fields = canonical_json(self.fields)
        values = canonical_json([[r[0], r[1], r[2], canonical_json(r[3]), r[4]] for r in self.values])
        return fields, values, hashlib.sha1(f"{fields}\n{values}".encode()).hexdigest()

    @property
    def content_hash(self) -> str:
        return self.encoded()[2]


def decimal_string(value: Any) -> str | None:
    """Canonical decimal text, or None when the value is not a number."""
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str and (plain := _PLAIN_DECIMAL.fullmatch(value)):  # most data: no Decimal needed
        whole, fraction = plain.group(1), (plain.group(2) or "").rstrip("0")
        text = f"{whole}.{fraction}" if fraction else whole
        return "0" if text == "-0" else text
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite():
        return None
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def parse_akeneo_datetime(value: Any) -> datetime | None:
    """Akeneo timestamps ("2024-01-02T10:00:00+00:00") as naive UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _is_empty(data: Any) -> bool:
    return data is None or data == "" or data == [] or data == {}


def normalize_value(data: Any, attribute_type: str | None) -> tuple[Any, str | None] | None:
    """One value's data -> (value, unit), or None when it is empty."""
    kind = type(data)
    if kind is str:  # the common case first: texts, selects, dates, identifiers
        if not data:
            return None
        if attribute_type in NUMBER_TYPES:
            number = decimal_string(data)
            return (number if number is not None else data), None
        return data, None
    if kind is bool:
        return data, None
    if data is None or data == [] or data == {}:
        return None
    if kind is dict and "unit" in data and "amount" in data:
        amount = decimal_string(data.get("amount"))
        if amount is None:
            return None
        return amount, str(data["unit"])
    if kind is list:
        if all(type(p) is dict and "currency" in p for p in data):
            prices = [
                {"amount": amount, "currency": str(p["currency"])}
                for p in data
                if (amount := decimal_string(p.get("amount"))) is not None
            ]
            if not prices:
                return None
            return sorted(prices, key=lambda p: p["currency"]), None
        if attribute_type in SET_COLLECTIONS:
            return sorted(dict.fromkeys(data), key=str), None
        return list(data), None
    if attribute_type in NUMBER_TYPES:
        number = decimal_string(data)
        return (number if number is not None else data), None
    return data, None


def normalize_values(values: Any, attribute_types: Mapping[str, str]) -> tuple[ValueRow, ...]:
    """Every non-empty value, sorted by (attribute, channel, locale); a key given twice: the last wins."""
    if type(values) is not dict:
        return ()
    unique: dict[tuple[str, str, str], tuple[Any, str | None]] = {}
    type_of = attribute_types.get
    for attribute_code, entries in values.items():
        if type(entries) is not list:
            continue
        attribute_type = type_of(attribute_code)
        for entry in entries:
            if type(entry) is not dict:
                continue
            data = entry.get("data")
            if type(data) is str and attribute_type not in NUMBER_TYPES:  # normalize_value's commonest case
                if not data:
                    continue
                normalized = (data, None)
            elif (normalized := normalize_value(data, attribute_type)) is None:
                continue
            scope = entry.get("scope")
            if scope is None:
                scope = entry.get("channel")
            unique[(attribute_code, scope or "", entry.get("locale") or "")] = normalized
    new = tuple.__new__  # a NamedTuple's own constructor is Python code: slower, per value
    return tuple([new(ValueRow, key + unique[key]) for key in sorted(unique)])


def _labels(labels: Any) -> dict[str, str] | None:
    if not isinstance(labels, Mapping):
        return None
    cleaned = {str(k): v for k, v in labels.items() if isinstance(v, str) and v != ""}
    return cleaned or None


def _sorted_set(items: Any) -> list | None:
    if not isinstance(items, list) or not items:
        return None
    return sorted(dict.fromkeys(str(i) for i in items))


def _associations(associations: Any) -> dict | None:
    if not isinstance(associations, Mapping):
        return None
    cleaned: dict[str, dict[str, Any]] = {}
    for kind, targets in associations.items():
        if not isinstance(targets, Mapping):
            continue
        kept = {}
        for target, items in targets.items():
            if isinstance(items, list) and items and all(isinstance(i, str) for i in items):
                kept[target] = sorted(set(items))
            elif isinstance(items, list) and items:
                kept[target] = sorted(items, key=canonical_json)
        if kept:
            cleaned[str(kind)] = kept
    return cleaned or None


def _empty_to_none(value: Any) -> Any:
    return None if _is_empty(value) else value


def _product(item: Mapping[str, Any], types: Mapping[str, str]) -> Normalized:
    values = normalize_values(item.get("values"), types)
    identifier = item.get("identifier")
    if not identifier:
        identifier = next(
            (r.value for r in values if types.get(r.attribute_code) == "pim_catalog_identifier"),
            item.get("uuid"),
        )
    fields = {
        "identifier": identifier,
        "enabled": item.get("enabled"),
        "family": item.get("family") or None,
        "parent": item.get("parent") or None,
        "groups": _sorted_set(item.get("groups")),
        "categories": _sorted_set(item.get("categories")),
        "associations": _associations(item.get("associations")),
        "quantified_associations": _associations(item.get("quantified_associations")),
    }
    return Normalized(str(item["uuid"]), str(identifier), fields, values, parse_akeneo_datetime(item.get("updated")))


def _product_model(item: Mapping[str, Any], types: Mapping[str, str]) -> Normalized:
    code = str(item["code"])
    fields = {
        "code": code,
        "family": item.get("family") or None,
        "family_variant": item.get("family_variant") or None,
        "parent": item.get("parent") or None,
        "categories": _sorted_set(item.get("categories")),
        "associations": _associations(item.get("associations")),
        "quantified_associations": _associations(item.get("quantified_associations")),
    }
    values = normalize_values(item.get("values"), types)
    updated = parse_akeneo_datetime(item.get("updated"))
    return Normalized(entity_uuid("product_model", code), code, fields, values, updated)


def _category(item: Mapping[str, Any]) -> Normalized:
    code = str(item["code"])
    position = item.get("position")
    fields = {
        "code": code,
        "parent": item.get("parent") or None,
        "labels": _labels(item.get("labels")),
        "position": position if isinstance(position, int) and not isinstance(position, bool) else None,
        "values": _empty_to_none(item.get("values")),
    }
    updated = parse_akeneo_datetime(item.get("updated"))
    return Normalized(entity_uuid("category", code), code, fields, (), updated)


def _attribute(item: Mapping[str, Any]) -> Normalized:
    code = str(item["code"])
    fields: dict[str, Any] = {"code": code}
    for name in _ATTRIBUTE_FIELDS:
        fields[name] = _empty_to_none(item.get(name))
    fields["labels"] = _labels(item.get("labels"))
    fields["available_locales"] = _sorted_set(item.get("available_locales"))
    for name in ("number_min", "number_max"):
        if name in item and decimal_string(item[name]) is not None:
            item = {**item, name: decimal_string(item[name])}
    extra = {k: v for k, v in item.items() if k not in _NOT_CONTENT and k not in fields and not _is_empty(v)}
    fields["properties"] = extra or None
    return Normalized(entity_uuid("attribute", code), code, fields, (), None)


def _attribute_option(item: Mapping[str, Any]) -> Normalized:
    attribute = str(item.get("attribute") or item.get("parent_id"))
    option = str(item["code"])
    code = f"{attribute}.{option}"
    fields = {
        "code": code,
        "attribute": attribute,
        "option_code": option,
        "sort_order": item.get("sort_order"),
        "labels": _labels(item.get("labels")),
    }
    return Normalized(entity_uuid("attribute_option", code), code, fields, (), None)


def _family(item: Mapping[str, Any]) -> Normalized:
    code = str(item["code"])
    requirements = item.get("attribute_requirements")
    if isinstance(requirements, Mapping):
        requirements = {ch: _sorted_set(attrs) for ch, attrs in requirements.items() if _sorted_set(attrs)}
    fields = {
        "code": code,
        "attribute_as_label": item.get("attribute_as_label") or None,
        "attribute_as_image": item.get("attribute_as_image") or None,
        "attributes": _sorted_set(item.get("attributes")),
        "attribute_requirements": requirements or None,
        "labels": _labels(item.get("labels")),
    }
    return Normalized(entity_uuid("family", code), code, fields, (), None)


def _family_variant(item: Mapping[str, Any]) -> Normalized:
    code = str(item["code"])
    sets = []
    for level_set in item.get("variant_attribute_sets") or []:
        if isinstance(level_set, Mapping):
            sets.append(
                {
                    "level": level_set.get("level"),
                    "axes": list(level_set.get("axes") or []),  # axis order is the variant's label order
                    "attributes": _sorted_set(level_set.get("attributes")) or [],
                }
            )
    fields = {
        "code": code,
        "family": str(item.get("family") or item.get("parent_id") or ""),
        "labels": _labels(item.get("labels")),
        "variant_attribute_sets": sorted(sets, key=lambda s: s["level"] or 0) or None,
    }
    return Normalized(entity_uuid("family_variant", code), code, fields, (), None)


def _channel(item: Mapping[str, Any]) -> Normalized:
    code = str(item["code"])
    units = item.get("conversion_units")
    if isinstance(units, Mapping):  # attribute -> the unit its metric values are converted to for this channel
        units = {str(attribute): str(unit) for attribute, unit in units.items() if unit}
    fields = {
        "code": code,
        "labels": _labels(item.get("labels")),
        "locales": _sorted_set(item.get("locales")),  # sets: Akeneo's order carries no meaning
        "currencies": _sorted_set(item.get("currencies")),
        "category_tree": item.get("category_tree") or None,
        "conversion_units": (units or None) if isinstance(units, dict) else None,
    }
    return Normalized(entity_uuid("channel", code), code, fields, (), None)


def _association_type(item: Mapping[str, Any]) -> Normalized:
    code = str(item["code"])
    fields = {
        "code": code,
        "labels": _labels(item.get("labels")),
        "is_quantified": bool(item.get("is_quantified")),  # Akeneo's default: false
        "is_two_way": bool(item.get("is_two_way")),
    }
    return Normalized(entity_uuid("association_type", code), code, fields, (), None)


_VOLATILE = frozenset({"updated", "created", "_links", "metadata", "quality_scores", "completenesses"})


def raw_hash(item: Mapping[str, Any], context: str = "") -> str:
    """Hash of an item as Akeneo sent it, minus timestamps and presentation. Equal raw hashes (and
    the same `context`: the attribute types normalization depends on) mean equal normalized content."""
    content = {k: v for k, v in item.items() if k not in _VOLATILE}
    return hashlib.sha1(orjson.dumps(content, option=orjson.OPT_SORT_KEYS) + context.encode()).hexdigest()


def item_key(entity_type: str, item: Mapping[str, Any]) -> tuple[str, str]:
    """(uuid, code) of an item, without normalizing it."""
    if entity_type == "product":
        return str(item["uuid"]), str(item.get("identifier") or item["uuid"])
    code = str(item["code"])
    if entity_type == "attribute_option":
        code = f"{item.get('attribute') or item.get('parent_id')}.{code}"
    return entity_uuid(entity_type, code), code


def normalize(entity_type: str, item: Mapping[str, Any], attribute_types: Mapping[str, str]) -> Normalized:
    """Normalizes one Akeneo item of `entity_type` (standard format, as the REST API returns it)."""
    match entity_type:
        case "product":
            return _product(item, attribute_types)
        case "product_model":
            return _product_model(item, attribute_types)
        case "category":
            return _category(item)
        case "attribute":
            return _attribute(item)
        case "attribute_option":
            return _attribute_option(item)
        case "family":
            return _family(item)
        case "family_variant":
            return _family_variant(item)
        case "channel":
            return _channel(item)
        case "association_type":
            return _association_type(item)
    raise ValueError(f"unknown entity type {entity_type!r}")
