"""Product EAV metadata: attributes, their options, attribute sets and groups.

Seeded like a fresh Magento 2.4 install (same attribute ids and scopes for the system
attributes) so drivers see realistic ids, and so scope rules (global / website / store) are
applied per attribute exactly as Magento's EAV resource does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .attribute_sets import _GROUPS, DEFAULT_SET_ID, AttributeSet, AttributeSetsMixin, Group
from .errors import MagentoError
from .query import matches

PRODUCT_ENTITY_TYPE_ID = 4
OPTION_INPUTS = {"select", "multiselect", "swatch_visual", "swatch_text"}
_BACKEND_BY_INPUT = {
    "text": "varchar",
    "textarea": "text",
    "texteditor": "text",
    "pagebuilder": "text",
    "date": "datetime",
    "datetime": "datetime",
    "boolean": "int",
    "multiselect": "varchar",
    "select": "int",
    "price": "decimal",
    "weight": "decimal",
    "media_image": "varchar",
    "gallery": "varchar",
    "weee": "static",
    "swatch_visual": "int",
    "swatch_text": "int",
}
_CODE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")
_CODE_INVALID = (
    'Attribute code "%1" is invalid. Please use only letters (a-z or A-Z), numbers (0-9) or underscore (_) '
    "in this field, and the first character should be a letter."
)
_FLAG_DEFAULTS: dict[str, Any] = {
    "is_wysiwyg_enabled": False,
    "is_html_allowed_on_front": False,
    "used_for_sort_by": False,
    "is_filterable": False,
    "is_filterable_in_search": False,
    "is_used_in_grid": False,
    "is_visible_in_grid": False,
    "is_filterable_in_grid": False,
    "position": 0,
    "apply_to": [],
    "is_searchable": "0",
    "is_visible_in_advanced_search": "0",
    "is_comparable": "0",
    "is_used_for_promo_rules": "0",
    "is_visible_on_front": "0",
    "used_in_product_listing": "0",
    "is_visible": True,
    "is_unique": "0",
    "note": None,
    "frontend_class": None,
    "validation_rules": [],
}
_MANAGED = {
    "attribute_id",
    "attribute_code",
    "frontend_input",
    "entity_type_id",
    "is_required",
    "options",
    "is_user_defined",
    "default_frontend_label",
    "frontend_labels",
    "backend_type",
    "backend_model",
    "source_model",
    "default_value",
    "scope",
    "extension_attributes",
    "custom_attributes",
}


@dataclass(slots=True)
class Option:
    id: int
    labels: dict[int, str]
    sort_order: int = 0

    def label(self, store_id: int) -> str:
        return self.labels.get(store_id) or self.labels.get(0, "")


@dataclass(slots=True)
class Attribute:
    id: int
    code: str
    frontend_input: str
    scope: str = "global"
    is_user_defined: bool = True
    is_required: bool = False
    labels: dict[int, str] = field(default_factory=dict)
    default_value: str | None = None
    props: dict[str, Any] = field(default_factory=dict)
    options: dict[int, Option] = field(default_factory=dict)
    fixed_options: bool = False  # options come from a source model, not the options API
    backend_type: str = "varchar"

    @property
    def uses_options(self) -> bool:
        return self.frontend_input in OPTION_INPUTS

    def label(self, store_id: int = 0) -> str:
        return self.labels.get(store_id) or self.labels.get(0, self.code)

    def sorted_options(self) -> list[Option]:
        return sorted(self.options.values(), key=lambda o: (o.sort_order, o.id))

    def find_option(self, label: str, store_id: int) -> int | None:
        """Magento's Table source getOptionId: case-insensitive label, or the id itself."""
        wanted = label.strip().lower()
        for option in self.options.values():
            if option.label(store_id).strip().lower() == wanted or str(option.id) == label.strip():
                return option.id
        return None

    def options_json(self, store_id: int) -> list[dict[str, Any]]:
        head = [] if self.fixed_options else [{"label": " ", "value": ""}]
        return head + [{"label": o.label(store_id), "value": str(o.id)} for o in self.sorted_options()]

    def to_json(self, store_id: int = 0) -> dict[str, Any]:
        out: dict[str, Any] = {**_FLAG_DEFAULTS, **self.props}
        out.update(
            {
                "scope": self.scope,
                "attribute_id": self.id,
                "attribute_code": self.code,
                "frontend_input": self.frontend_input,
                "entity_type_id": str(PRODUCT_ENTITY_TYPE_ID),
                "is_required": self.is_required,
                "options": self.options_json(store_id) if self.uses_options else [],
                "is_user_defined": self.is_user_defined,
                "default_frontend_label": self.label(0),
                "frontend_labels": [
                    {"store_id": s, "label": lbl} for s, lbl in sorted(self.labels.items()) if s
                ],
                "backend_type": self.backend_type,
                "default_value": self.default_value or "",
            }
        )
        if self.uses_options:
            out["source_model"] = "Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table"
        return {k: v for k, v in out.items() if v is not None}

    def dump(self) -> dict[str, Any]:
        data = self.to_json(0)
        data["options"] = [
            {"id": o.id, "labels": {str(k): v for k, v in o.labels.items()}, "sort_order": o.sort_order}
            for o in self.sorted_options()
        ]
        return data


# code, id, input, scope, required, label, group, fixed options, user defined
_SYSTEM: list[tuple[str, int, str, str, bool, str, int, dict[int, str] | None, bool]] = [
    ("name", 73, "text", "store", True, "Product Name", 7, None, False),
    ("sku", 74, "text", "global", True, "SKU", 7, None, False),
    ("description", 75, "textarea", "store", False, "Description", 8, None, False),
    ("short_description", 76, "textarea", "store", False, "Short Description", 8, None, False),
    ("price", 77, "price", "global", True, "Price", 7, None, False),
    ("special_price", 78, "price", "global", False, "Special Price", 10, None, False),
    ("special_from_date", 79, "date", "website", False, "Special Price From Date", 10, None, False),
    ("special_to_date", 80, "date", "website", False, "Special Price To Date", 10, None, False),
    ("cost", 81, "price", "global", False, "Cost", 10, None, False),
    ("weight", 82, "weight", "global", False, "Weight", 7, None, False),
    ("manufacturer", 83, "select", "global", False, "Manufacturer", 7, None, True),
    ("meta_title", 84, "text", "store", False, "Meta Title", 9, None, False),
    ("meta_keyword", 85, "textarea", "store", False, "Meta Keywords", 9, None, False),
    ("meta_description", 86, "textarea", "store", False, "Meta Description", 9, None, False),
    ("color", 93, "select", "global", False, "Color", 7, None, True),
    ("news_from_date", 94, "date", "website", False, "Set Product as New from Date", 7, None, False),
    ("news_to_date", 95, "date", "website", False, "Set Product as New to Date", 7, None, False),
    ("status", 97, "select", "website", False, "Enable Product", 7, {1: "Enabled", 2: "Disabled"}, False),
    (
        "visibility",
        99,
        "select",
        "store",
        False,
        "Visibility",
        7,
        {1: "Not Visible Individually", 2: "Catalog", 3: "Search", 4: "Catalog, Search"},
        False,
    ),
    (
        "quantity_and_stock_status",
        112,
        "select",
        "global",
        False,
        "Quantity",
        7,
        {1: "In Stock", 0: "Out of Stock"},
        False,
    ),
    ("url_key", 121, "text", "store", False, "URL Key", 9, None, False),
    ("tax_class_id", 132, "select", "website", False, "Tax Class", 7, {0: "None", 2: "Taxable Goods"}, False),
    ("size", 144, "select", "global", False, "Size", 7, None, True),
]
# A fresh 2.4 install creates color and manufacturer (Catalog's InstallDefaultCategories / EAV setup)
# as user-defined selects without options and outside every attribute set.
_NOT_IN_DEFAULT_SET = ("color", "manufacturer")
PRICE_APPLY_TO = ("simple", "virtual", "bundle", "downloadable", "configurable")


class Eav(AttributeSetsMixin):
    """Attributes, options, sets and groups of the product entity type."""

    def __init__(self) -> None:
        self.attributes: dict[str, Attribute] = {}
        self.sets: dict[int, AttributeSet] = {}
        self.groups: dict[int, Group] = {}
        self._next_attribute_id = 180
        self._next_option_id = 10
        self._next_set_id = 20
        self._next_group_id = 30
        self._next_entity_attribute_id = 1000
        default = AttributeSet(DEFAULT_SET_ID, "Default", 2)
        self.sets[default.id] = default
        for gid, name, code, sort in _GROUPS:
            self.groups[gid] = Group(gid, name, DEFAULT_SET_ID, code, sort)
        for code, aid, inp, scope, req, label, gid, fixed, user in _SYSTEM:
            attr = Attribute(
                aid, code, inp, scope, user, req, {0: label}, backend_type=_BACKEND_BY_INPUT[inp]
            )
            if code == "price":
                attr.props["apply_to"] = list(PRICE_APPLY_TO)
            if fixed:
                attr.fixed_options = True
                attr.options = {k: Option(k, {0: v}, i) for i, (k, v) in enumerate(fixed.items())}
            self.attributes[code] = attr
            if code in _NOT_IN_DEFAULT_SET:
                continue
            default.attributes[code] = (gid, len(default.attributes) + 1, self._entity_attribute_id())

    def set_price_scope(self, scope: str) -> None:
        r"""``catalog/price/scope`` (0 global, 1 website): Magento\Catalog\Observer\
        SwitchPriceAttributeScopeOnConfigChange sets the scope of every ``frontend_input=price``
        attribute.  Values already stored stay where they are (no migration), as in Magento."""
        if scope not in ("global", "website"):
            raise ValueError(f"price scope must be global or website, not {scope!r}")
        self.price_scope = scope
        for attr in self.attributes.values():
            if attr.frontend_input == "price":
                attr.scope = scope

    def _entity_attribute_id(self) -> int:
        self._next_entity_attribute_id += 1
        return self._next_entity_attribute_id

    # ------------------------------------------------------------------------ attributes

    def get(self, code: str) -> Attribute:
        attr = self.attributes.get(code)
        if attr is None:
            # Magento also resolves the numeric attribute id here (magento/magento2#6094).
            attr = next((a for a in self.attributes.values() if str(a.id) == code), None)
        if attr is None:
            raise errors.attribute_not_found(code)
        return attr

    def by_id(self, attribute_id: int) -> Attribute | None:
        return next((a for a in self.attributes.values() if a.id == attribute_id), None)

    def create_attribute(self, data: dict[str, Any]) -> Attribute:
        labels = _labels(data)
        if not labels.get(0):
            raise errors.required_field("frontend_label")
        code = data.get("attribute_code") or _code_from_label(labels[0])
        if not _CODE_RE.match(code):
            raise errors.bad_request(_CODE_INVALID, [code])
        if not 1 <= len(code) <= 60:
            raise errors.bad_request(
                "An attribute code must not be less than %1 and more than %2 characters.", [1, 60]
            )
        frontend_input = data.get("frontend_input") or "text"
        if frontend_input not in _BACKEND_BY_INPUT:
            raise errors.invalid_field_value("frontend_input", frontend_input)
        if code in self.attributes:
            raise errors.bad_request("%1 already exists.", ["Attribute with the same code"])
        scope = data.get("scope") or "global"  # catalog_eav_attribute.is_global defaults to 1
        if scope not in ("global", "website", "store"):
            raise errors.invalid_field_value("scope", scope)
        self._next_attribute_id += 1
        attr = Attribute(
            self._next_attribute_id,
            code,
            frontend_input,
            scope,
            True,
            bool(data.get("is_required")),
            labels,
            backend_type=_BACKEND_BY_INPUT[frontend_input],
        )
        attr.default_value = data.get("default_value")
        attr.props = {k: v for k, v in data.items() if k not in _MANAGED}
        for option in data.get("options") or []:
            if attr.uses_options and (option.get("label") or "").strip():
                self._add_option(attr, option, 0)
        self.attributes[code] = attr
        return attr

    def update_attribute(self, path_code: str, data: dict[str, Any]) -> Attribute:
        r"""PUT /V1/products/attributes/{code} -> Product\Attribute\Repository::save.

        Without ``attribute.attribute_id`` the repository takes the request for a create, so an existing
        code answers 400 "%1 already exists." (magento/magento2#40458 on 2.4.8, #22391 on 2.3).  With an
        id it loads the attribute by code (the URL's code: ParamsOverrider copies it into
        ``attribute.attribute_code``) and keeps code, input and backend type; the rest is editable.
        """
        if not data.get("attribute_id"):
            return self.create_attribute({**data, "attribute_code": path_code})
        attr = self.get(path_code)
        labels = _labels(data)
        if labels:
            attr.labels.update(labels)
        if data.get("scope") in ("global", "website", "store"):
            attr.scope = data["scope"]
        if "is_required" in data and data["is_required"] is not None:
            attr.is_required = bool(data["is_required"])
        if "default_value" in data:
            attr.default_value = data["default_value"]
        attr.props.update({k: v for k, v in data.items() if k not in _MANAGED})
        for option in data.get("options") or []:
            value = (option.get("value") or "").strip()
            if value.isdigit() and int(value) in attr.options:
                if (option.get("label") or "").strip():
                    self.update_option(attr.code, int(value), option, 0)
            elif (
                attr.uses_options
                and (option.get("label") or "").strip()
                and attr.find_option(option["label"], 0) is None
            ):
                self._add_option(attr, option, 0)
        return attr

    def delete_attribute(self, code: str) -> Attribute:
        attr = self.get(code)
        if not attr.is_user_defined:
            raise errors.bad_request("The system attribute can't be deleted.")
        del self.attributes[attr.code]
        for attribute_set in self.sets.values():
            attribute_set.attributes.pop(attr.code, None)
        return attr

    def search(self, criteria: list[list[dict[str, str]]]) -> list[Attribute]:
        items = list(self.attributes.values())
        return [a for a in items if matches(criteria, lambda f, a=a: _attr_field(a, f))]

    # --------------------------------------------------------------------------- options

    def _editable(self, code: str) -> Attribute:
        attr = self.get(code)
        if not attr.uses_options or attr.fixed_options:
            raise errors.bad_request('The "%1" attribute doesn\'t work with options.', [code])
        return attr

    def add_option(self, code: str, data: dict[str, Any], store_id: int) -> str:
        """Returns ``"id_<new id>"`` like 2.4's OptionManagement::add."""
        attr = self._editable(code)
        label = (data.get("label") or "").strip()
        if not label:
            raise errors.bad_request("The attribute option label is empty. Enter the value and try again.")
        if attr.find_option(label, store_id) is not None:
            raise errors.bad_request(errors.OPTION_LABEL_EXISTS, [data.get("label")])
        return f"id_{self._add_option(attr, data, store_id).id}"

    def _add_option(self, attr: Attribute, data: dict[str, Any], store_id: int) -> Option:
        self._next_option_id += 1
        labels = {0: (data.get("label") or "").strip()}
        for item in data.get("store_labels") or []:
            if item and item.get("label") is not None and item.get("store_id") is not None:
                labels[int(item["store_id"])] = item["label"]
        option = Option(self._next_option_id, labels, int(data.get("sort_order") or 0))
        attr.options[option.id] = option
        if data.get("is_default"):
            attr.default_value = str(option.id)
        return option

    def update_option(self, code: str, option_id: int, data: dict[str, Any], store_id: int) -> bool:
        r"""Eav\Model\Entity\Attribute\OptionManagement::update (2.4.8): every failure is an
        InputException (400), including an unknown option id; the option is then saved like a new one:
        admin label + the store labels sent (labels of other stores are dropped) and the sort order
        sent (0 when omitted)."""
        attr = self._editable(code)
        if not option_id:
            raise errors.bad_request("The option id is empty. Enter the value and try again.")
        label = (data.get("label") or "").strip()
        if not label:
            raise errors.bad_request("The attribute option label is empty. Enter the value and try again.")
        option = attr.options.get(option_id)
        if option is None:
            raise errors.bad_request("The '%1' attribute doesn't include an option id '%2'.", [attr.code, option_id])
        other = attr.find_option(label, 0)  # $attribute->getSource()->getOptionId($label), store 0
        if other is not None and other != option_id:
            raise errors.bad_request("Admin store attribute option label '%1' is already exists.", [data.get("label")])
        labels = {0: label}
        for item in data.get("store_labels") or []:
            if item and item.get("store_id") is not None and item.get("label") is not None:
                labels[int(item["store_id"])] = item["label"]
        option.labels = labels
        option.sort_order = int(data.get("sort_order") or 0)
        if data.get("is_default"):
            attr.default_value = str(option.id)
        return True

    def delete_option(self, code: str, option_id: str) -> bool:
        attr = self.get(code)
        if not attr.uses_options:
            raise errors.bad_request('The "%1" attribute has no option.', [code])
        if not option_id.isdigit() or int(option_id) not in attr.options or attr.fixed_options:
            raise errors.not_found(
                'The "%1" attribute doesn\'t include an option with "%2" ID.', [code, option_id]
            )
        del attr.options[int(option_id)]
        return True


def _labels(data: dict[str, Any]) -> dict[int, str]:
    labels: dict[int, str] = {}
    for item in data.get("frontend_labels") or []:
        if item and item.get("label") and item.get("store_id") is not None:
            labels[int(item["store_id"])] = item["label"]
    if data.get("default_frontend_label"):
        labels[0] = data["default_frontend_label"]
    return labels


def _code_from_label(label: str) -> str:
    code = re.sub(r"[^a-z0-9_]+", "_", label.lower()).strip("_")
    if not code or not code[0].isalpha():
        code = f"attr_{code}"
    return code[:60]


def _attr_field(attr: Attribute, name: str) -> Any:
    if name in ("attribute_code", "code"):
        return attr.code
    if name in ("attribute_id", "main_table.attribute_id"):
        return attr.id
    if name == "frontend_input":
        return attr.frontend_input
    if name == "is_user_defined":
        return int(attr.is_user_defined)
    if name in ("frontend_label", "default_frontend_label"):
        return attr.label(0)
    return attr.props.get(name)


def ensure_option_value(attr: Attribute, value: str) -> MagentoError | None:
    """The sandbox's own check (Magento stores any int): select values must be existing option ids."""
    ids = [v.strip() for v in value.split(",")] if attr.frontend_input == "multiselect" else [value.strip()]
    bad = [v for v in ids if not (v.lstrip("-").isdigit() and int(v) in attr.options)]
    if bad:
        return errors.bad_request(
            'Attribute "%1" has invalid value "%2": not an option id of this attribute.', [attr.code, bad[0]]
        )
    return None
