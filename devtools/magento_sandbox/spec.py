"""The Adobe Commerce 2.4.8 OpenAPI spec: loading, route matching and strict body validation.

Why a home-grown validator: Magento's REST deserializer refuses properties its interfaces do not
declare and refuses mistyped values, while generic JSON-schema validators accept extra keys by
default.  Anything this module lets through must also get through a real Magento, so it is strict:
no coercion of scalars, no undeclared properties, ``required`` enforced at every level.

Everything is compiled once per process (the spec is 2 MB) and shared by every app instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from .errors import TYPE_MISMATCH, UNKNOWN_PROPERTY, MagentoError, Params, render_message, required_field

SPEC_FILE = "swagger-2.4.8.json"
METHODS = ("get", "post", "put", "delete", "patch")

_PHP_TYPES = {"integer": "int", "number": "float", "string": "string", "boolean": "bool"}

# The spec's nested ``required`` lists come from non-nullable getters, not from what Magento's
# deserializer demands.  They are enforced, except where Magento's own documented payloads omit
# them (enforcing these would only force drivers to send noise):
RELAXED_REQUIRED: dict[str, frozenset[str] | None] = {
    # Adobe's docs send `"stock_item": {"qty": 10, "is_in_stock": true}`; the spec lists 23 fields.
    "catalog-inventory-data-stock-item-interface": None,  # None = nothing required
    # The option id is assigned by Magento when an option is created.
    "eav-data-attribute-option-interface": frozenset({"value"}),
}


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """Read the bundled spec (package data, so a user's clone works without ../shared)."""
    data = resources.files(__package__).joinpath(SPEC_FILE).read_bytes()
    return json.loads(data)


# --------------------------------------------------------------------------- validation nodes


@dataclass(slots=True)
class SchemaError:
    """One violation; ``path`` is a JSON path like ``product.custom_attributes[2].value``."""

    path: str
    message: str
    parameters: Params

    def to_error(self) -> MagentoError:
        return MagentoError(400, self.message, self.parameters)

    def to_log(self) -> dict[str, str]:
        return {"path": self.path, "message": render_message(self.message, self.parameters)}


def _describe(value: Any) -> str:
    """How Magento prints an offending value in a type error."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "array"
    return str(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Node:
    """A compiled schema; ``expected`` is the PHP-ish type name Magento prints."""

    expected = "mixed"

    def validate(self, value: Any, path: str, errors: list[SchemaError]) -> None:
        raise NotImplementedError


class AnyNode(Node):
    def validate(self, value: Any, path: str, errors: list[SchemaError]) -> None:
        return None


class ScalarNode(Node):
    __slots__ = ("kind", "expected")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.expected = _PHP_TYPES[kind]

    def validate(self, value: Any, path: str, errors: list[SchemaError]) -> None:
        kind, t = self.kind, type(value)
        ok = (
            (kind == "string" and t is str)
            or (kind == "integer" and t is int)
            or (kind == "number" and t in (int, float))
            or (kind == "boolean" and t is bool)
        )
        if not ok:
            errors.append(SchemaError(path, TYPE_MISMATCH, [_describe(value), self.expected]))


class ArrayNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: Node) -> None:
        self.items = items

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"{self.items.expected}[]"

    def validate(self, value: Any, path: str, errors: list[SchemaError]) -> None:
        if type(value) is not list:
            errors.append(SchemaError(path, TYPE_MISMATCH, [_describe(value), self.expected]))
            return
        items = self.items
        for index, item in enumerate(value):
            if item is None:  # a null element cannot become an item object/scalar in Magento either
                errors.append(SchemaError(f"{path}[{index}]", TYPE_MISMATCH, ["", items.expected]))
                continue
            items.validate(item, f"{path}[{index}]", errors)


class ObjectNode(Node):
    """An interface: declared properties only, ``required`` enforced, ``null`` accepted as a value."""

    __slots__ = ("class_name", "properties", "required", "root", "expected")

    def __init__(self, class_name: str, root: bool = False) -> None:
        self.class_name = class_name
        self.properties: dict[str, Node] = {}
        self.required: tuple[str, ...] = ()
        self.root = root
        self.expected = class_name

    def validate(self, value: Any, path: str, errors: list[SchemaError]) -> None:
        if type(value) is not dict:
            errors.append(SchemaError(path, TYPE_MISMATCH, [_describe(value), self.expected]))
            return
        if self.root:
            # Magento checks the service method's parameters first; null counts as missing (isset()).
            for name in self.required:
                if value.get(name) is None:
                    errors.append(SchemaError(_join(path, name), *_required(name)))
        props = self.properties
        for key, item in value.items():
            node = props.get(key)
            if node is None:
                camel = "".join(part[:1].upper() + part[1:] for part in str(key).split("_"))
                errors.append(
                    SchemaError(_join(path, key), UNKNOWN_PROPERTY, [camel, f"get{camel}", self.class_name])
                )
            elif item is not None:
                node.validate(item, _join(path, key), errors)
        if not self.root:
            for name in self.required:
                if name not in value:
                    errors.append(SchemaError(_join(path, name), *_required(name)))


def _required(name: str) -> tuple[str, Params]:
    err = required_field(name)
    return err.message, err.parameters


def class_name_for(schema_name: str) -> str:
    """``catalog-data-product-interface`` -> ``Magento\\Catalog\\Api\\Data\\ProductInterface``."""

    def camel(words: str) -> str:
        return "".join(w[:1].upper() + w[1:] for w in words.split("-") if w)

    if "-data-" in schema_name:
        module, cls = schema_name.split("-data-", 1)
        return f"Magento\\{camel(module)}\\Api\\Data\\{camel(cls)}"
    module, _, cls = schema_name.partition("-")
    return f"Magento\\{camel(module)}\\Api\\{camel(cls or module)}"


class SchemaCompiler:
    """Compiles schemas to nodes; named schemas are memoised so recursive ones (trees) terminate."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.request_bodies: dict[str, Any] = spec["components"].get("requestBodies", {})
        self.named: dict[str, Node] = {}

    def named_schema(self, name: str) -> Node:
        node = self.named.get(name)
        if node is None:
            schema = self.schemas[name]
            if schema.get("type", "object") == "object" and "items" not in schema:
                obj = ObjectNode(class_name_for(name))
                self.named[name] = obj  # register before filling: recursion
                self._fill(obj, schema, name)
                node = obj
            else:
                node = self.compile(schema, name)
                self.named[name] = node
        return node

    def compile(self, schema: dict[str, Any], name: str = "") -> Node:
        ref = schema.get("$ref")
        if ref:
            return self.named_schema(ref.rsplit("/", 1)[-1])
        kind = schema.get("type")
        if kind in _PHP_TYPES:
            return ScalarNode(kind)
        if kind == "array":
            return ArrayNode(self.compile(schema.get("items", {}), name))
        if kind == "object" or "properties" in schema:
            obj = ObjectNode(name or "object")
            self._fill(obj, schema)
            return obj
        return AnyNode()

    def _fill(self, obj: ObjectNode, schema: dict[str, Any], name: str = "") -> None:
        obj.properties = {k: self.compile(v) for k, v in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        if name in RELAXED_REQUIRED:
            relaxed = RELAXED_REQUIRED[name]
            required = () if relaxed is None else tuple(r for r in required if r not in relaxed)
        obj.required = required

    def body(self, operation: dict[str, Any], operation_id: str) -> Node | None:
        body = operation.get("requestBody")
        if not body:
            return None
        if "$ref" in body:
            body = self.request_bodies[body["$ref"].rsplit("/", 1)[-1]]
        schema = body.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return None
        if "$ref" in schema or schema.get("type") != "object":
            return self.compile(schema)
        root = ObjectNode(f"request body of {operation_id}", root=True)
        self._fill(root, schema)
        return root


# --------------------------------------------------------------------------------- routing


@dataclass(slots=True)
class Operation:
    method: str
    template: str
    operation_id: str
    path_params: dict[str, str]
    body: Node | None

    def validate_body(self, body: Any) -> list[SchemaError]:
        errors: list[SchemaError] = []
        if self.body is not None:
            self.body.validate(body, "", errors)
        return errors

    def check_path_params(self, params: dict[str, str]) -> None:
        """Magento type-checks path parameters too (``"id_5"`` for an int id is a 400)."""
        for name, kind in self.path_params.items():
            value = params.get(name, "")
            if kind == "integer" and not (value.lstrip("-").isdigit()):
                raise MagentoError(400, TYPE_MISMATCH, [value, "int"])


@dataclass(slots=True)
class _Trie:
    literal: dict[str, _Trie] = field(default_factory=dict)
    params: dict[str, _Trie] = field(default_factory=dict)
    ops: dict[str, Operation] = field(default_factory=dict)


class SpecIndex:
    """All operations of the spec, indexed for O(path depth) matching."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.compiler = SchemaCompiler(spec)
        self.root = _Trie()
        self.by_id: dict[str, Operation] = {}
        for template, item in spec["paths"].items():
            params_common = item.get("parameters", [])
            for method, operation in item.items():
                if method not in METHODS:
                    continue
                op_id = operation.get("operationId", f"{method}{template}")
                params = {
                    p["name"]: p.get("schema", {}).get("type", "string")
                    for p in [*params_common, *operation.get("parameters", [])]
                    if p.get("in") == "path"
                }
                op = Operation(method.upper(), template, op_id, params, self.compiler.body(operation, op_id))
                self.by_id[op_id] = op
                self._insert(template, op)

    def _insert(self, template: str, op: Operation) -> None:
        node = self.root
        for segment in template.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                node = node.params.setdefault(segment[1:-1], _Trie())
            else:
                node = node.literal.setdefault(segment, _Trie())
        node.ops[op.method] = op

    def match(self, method: str, segments: list[str]) -> tuple[Operation, dict[str, str]] | None:
        """Literal segments win over parameters (``/V1/products/attributes`` is not a SKU)."""
        bound: dict[str, str] = {}

        def walk(node: _Trie, i: int) -> Operation | None:
            if i == len(segments):
                return node.ops.get(method)
            segment = segments[i]
            child = node.literal.get(segment)
            if child is not None:
                found = walk(child, i + 1)
                if found is not None:
                    return found
            if segment:
                for name, child in node.params.items():
                    bound[name] = segment
                    found = walk(child, i + 1)
                    if found is not None:
                        return found
                    bound.pop(name, None)
            return None

        op = walk(self.root, 0)
        if op is None:
            return None
        return op, {k: v for k, v in bound.items() if k in op.path_params}


def split_path(raw_path: str) -> list[str]:
    """Split before decoding so ``%2F`` inside a SKU stays inside its segment."""
    return [unquote(s) for s in raw_path.strip("/").split("/")] if raw_path.strip("/") else []


@lru_cache(maxsize=1)
def spec_index() -> SpecIndex:
    return SpecIndex(load_spec())
