"""Attributes -> Magento product attributes; attribute options -> their options.

An attribute Magento already has is looked up first (redeliveries and pre-existing attributes such
as `color` are updated, never created twice); Magento's own system attributes are only written
through `attribute_map` (sku, name, description, price, weight by default). The mapping keeps what
products need: Magento code, attribute id, Akeneo type. An option's Magento id is its external_id.
"""

from __future__ import annotations

from typing import Any

from drivers.magento2.client import MagentoError
from drivers.magento2.common import Env
from drivers.magento2.mapping import FILE_TYPES, FRONTEND_INPUT, Unresolved, attribute_body, digest, option_body
from drivers.models import DeliveryResult, MutationData

_COMPATIBLE = (
    {"select", "swatch_visual", "swatch_text"},
    {"multiselect"},
    {"text", "textarea", "texteditor", "pagebuilder"},
    {"boolean"},
    {"date", "datetime"},
    {"price"},
    {"weight"},
)


def _path(code: str) -> str:
    return f"/all/V1/products/attributes/{code}"


def _compatible(ours: str, theirs: str) -> bool:
    return ours == theirs or any(ours in group and theirs in group for group in _COMPATIBLE)


def handle_attribute(m: MutationData, env: Env) -> DeliveryResult:
    if m.operation == "deleted":
        return _delete_attribute(m, env)
    p = m.payload
    kind = p.get("type") or ""
    magento_code = env.settings.magento_code(m.code)
    labels = p.get("labels") or {}
    data: dict[str, Any] = {
        "type": kind,
        "magento_code": magento_code,
        "label": labels.get(env.settings.default_locale) or m.code,
        "localizable": bool(p.get("localizable")),
        "scopable": bool(p.get("scopable")),
        "default_metric_unit": p.get("default_metric_unit"),
        "reference_data_name": (p.get("properties") or {}).get("reference_data_name"),  # an asset family
    }
    if kind in FILE_TYPES and env.settings.file_attributes == "skip":
        env.context.log.info(f"magento2: file attribute {m.code} is not sent (file_attributes: skip)")
        return env.done(m, magento_code, {**data, "skipped": True, "reason": "file_attributes: skip"})
    if kind not in FRONTEND_INPUT and kind not in FILE_TYPES or magento_code == "sku":
        return env.done(m, magento_code, {**data, "skipped": True})  # media, tables...: not sent to Magento
    body = attribute_body(p, magento_code, env.settings, env.locale_store_ids)
    wanted = digest(body)
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    if current is not None and current.external_data.get("hash") == wanted:
        return env.done(m, current.external_id, dict(current.external_data))
    existing = env.client.get(_path(magento_code), accept_status=[404])
    if existing is None:
        created = env.client.post("/all/V1/products/attributes", json=body)
        return env.done(
            m, magento_code, {**data, "attribute_id": created["attribute_id"], "created": True, "hash": wanted}
        )
    data["attribute_id"] = existing["attribute_id"]
    data["created"] = bool(current is not None and current.external_data.get("created"))
    mapped = m.code in env.settings.attribute_map
    if not existing.get("is_user_defined"):
        if not mapped:  # never write Akeneo values into a Magento system attribute nobody mapped
            env.context.log.warning(f"magento2: attribute {m.code} is a Magento system attribute; not sent")
            return env.done(m, magento_code, {**data, "skipped": True, "reason": "Magento system attribute"})
        return env.done(m, magento_code, {**data, "hash": wanted})
    ours = body["attribute"]["frontend_input"]
    if not mapped and not _compatible(ours, existing.get("frontend_input", ours)):
        env.context.log.warning(
            f"magento2: attribute {m.code} exists in Magento as {existing.get('frontend_input')}, "
            f"Akeneo type {kind} needs {ours}; its values are not sent"
        )
        return env.done(m, magento_code, {**data, "skipped": True, "reason": "incompatible Magento input"})
    body["attribute"]["frontend_input"] = existing.get("frontend_input", ours)  # Magento keeps the input
    # The id Magento gave it: without it 2.4.8's AttributeRepository takes the PUT for a create and answers
    # 400 "Attribute with the same code already exists." (magento/magento2#40458, #22391). This is every
    # update: a pre-existing attribute (color, manufacturer) and a redelivered create alike.
    body["attribute"]["attribute_id"] = existing["attribute_id"]
    env.client.put(_path(magento_code), json=body)
    return env.done(m, magento_code, {**data, "hash": wanted})


def _delete_attribute(m: MutationData, env: Env) -> DeliveryResult:
    """Only attributes this driver created are deleted (Magento cascades their values away)."""
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    if current is not None and current.external_data.get("created") and not current.external_data.get("skipped"):
        env.client.delete(_path(current.external_data.get("magento_code") or m.code), accept_status=[404])
    return env.gone(m)


def _option_parts(m: MutationData) -> tuple[str, str]:
    p = m.payload if m.operation != "deleted" else {**m.payload, **(m.previous or {})}
    attribute, _, option = m.code.partition(".")
    return p.get("attribute") or attribute, p.get("option_code") or option


def _find_option(env: Env, magento_code: str, label: str) -> str | None:
    """Look before creating: a redelivered (or timed-out) create may already have landed."""
    for option in env.client.get(f"{_path(magento_code)}/options") or []:
        if str(option.get("label", "")).strip().lower() == label.strip().lower() and option.get("value"):
            return str(option["value"])
    return None


def _option_id(answer: Any) -> str:
    text = str(answer).strip().strip('"')
    return text.removeprefix("id_")


def handle_option(m: MutationData, env: Env) -> DeliveryResult:
    attribute, option_code = _option_parts(m)
    info = env.refs.attribute(attribute)
    magento_code = info.magento_code if info is not None else env.settings.magento_code(attribute)
    current = env.refs.mapping(m.entity_type, m.entity_uuid)
    if m.operation == "deleted":
        with env.client.locks.hold([f"attribute:{magento_code}"]):
            option_id = current.external_id if current is not None else _find_option(env, magento_code, option_code)
            if option_id:
                env.client.delete(f"{_path(magento_code)}/options/{option_id}", accept_status=[404])
        return env.gone(m)
    if info is None:
        raise Unresolved([f"attribute {attribute}"])
    if info.skipped:
        return env.done(m, None, {"attribute": magento_code, "skipped": True})
    body = option_body(m.payload, env.locale_store_ids)
    wanted = digest(body)
    if current is not None and current.external_id and current.external_data.get("hash") == wanted:
        return env.done(m, current.external_id, dict(current.external_data))
    # Magento saves options through the whole attribute: one option write per attribute at a time.
    with env.client.locks.hold([f"attribute:{magento_code}"]):
        option_id = current.external_id if current is not None else None
        option_id = option_id or _find_option(env, magento_code, body["option"]["label"])
        if option_id and not _update_option(env, magento_code, option_id, body):
            option_id = None  # deleted in Magento meanwhile: create it again
        if not option_id:
            option_id = _option_id(env.client.post(f"{_path(magento_code)}/options", json=body))
    return env.done(m, option_id, {"attribute": magento_code, "hash": wanted})


def _update_option(env: Env, magento_code: str, option_id: str, body: dict[str, Any]) -> bool:
    """PUT the option; False when Magento no longer has it (the caller creates it again).

    Magento 2.4.8 refuses an update of an option it no longer has with 400 ("The '%1' attribute doesn't
    include an option id '%2'."; 404 in earlier versions), and a 400 may as well be a real refusal (a
    label another option has): the attribute's options decide. A 400/404 while the id is still there
    is re-raised."""
    try:
        env.client.put(f"{_path(magento_code)}/options/{option_id}", json=body)
        return True
    except MagentoError as error:
        if error.status not in (400, 404):
            raise
        options = env.client.get(f"{_path(magento_code)}/options") or []
        if any(str(o.get("value")) == str(option_id) for o in options):
            raise
        return False
