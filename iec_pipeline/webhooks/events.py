"""Akeneo webhook bodies -> the drops to record. Pure parsing: no I/O, no signature checks.

Two schemes reach the receiver:
- Event Platform: one CloudEvents 1.0 JSON object per request, type `com.akeneo.pim.v1.<kind>.<action>`;
- legacy Events API: `{"events": [...]}` with 1 to 10 events, `action` like `product.updated`.

Decision on events IEC does not consume (an unknown type, `product.became-complete`, `asset.*`, ...): a
well-formed, authentically signed event is ACCEPTED and recorded with status "ignored" (entity_type, code
and action None). Refusing it would make Akeneo retry for 35 minutes an event that can never succeed and
drag the subscription's success rate towards the 90% under which Akeneo suspends it; recording it keeps an
audit trail and costs one row. The drops sensor only reads status "new".

What is refused (`InvalidEvent`, HTTP 400): not JSON, not the scheme's shape, a required field missing or of
the wrong type, an IEC entity event without a usable uuid/code, or a value too long for its column.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

EVENT_PLATFORM = "event_platform"
EVENTS_API = "events_api"
PLATFORM_PREFIX = "com.akeneo.pim.v1."
MAX_LEGACY_EVENTS = 10

# Column widths of `webhook_drops`: longer values are refused rather than failing in the database.
_MAX_EVENT_ID = 100
_MAX_TYPE = 200
_MAX_SUBJECT = 255
_MAX_CODE = 255

# Event Platform kind -> (IEC entity type, key in `data`, parent key for composite codes). Akeneo sends no
# event for channels or association types (NOT_ANNOUNCED): every sync fetches them whole, which finds their
# changes and deletions.
_PLATFORM_KINDS: dict[str, tuple[str, str, str | None]] = {
    "product": ("product", "product", None),
    "product-model": ("product_model", "product_model", None),
    "category": ("category", "category", None),
    "attribute": ("attribute", "attribute", None),
    "attribute-option": ("attribute_option", "attribute_option", "attribute"),
    "family": ("family", "family", None),
    "family-variant": ("family_variant", "family_variant", None),
}
NOT_ANNOUNCED = ("channel", "association_type")
_PLATFORM_ACTIONS = {"created": "created", "updated": "updated", "updated.delta": "updated", "deleted": "deleted"}

# Legacy Events API kind -> IEC entity type; "removed" is a deletion.
_LEGACY_KINDS = {"product": "product", "product_model": "product_model"}
_LEGACY_ACTIONS = {"created": "created", "updated": "updated", "removed": "deleted"}

Scheme = Literal["event_platform", "events_api"]
Status = Literal["new", "ignored"]


class InvalidEvent(ValueError):
    """The body is not an event of the scheme it claims (HTTP 400); the message never quotes the body."""


@dataclass(frozen=True)
class Drop:
    """One event to record in `webhook_drops`."""

    event_id: str
    scheme: Scheme
    type: str
    subject: str | None
    entity_type: str | None
    code_or_uuid: str | None
    action: str | None
    occurred_at: datetime | None
    raw_body: str
    status: Status


def parse(scheme: Scheme, body: bytes) -> list[Drop]:
    """The drops in a verified body (one for the Event Platform, 1..10 for the Events API)."""
    document = _load(body)
    if scheme == EVENT_PLATFORM:
        return [_platform_drop(document, body.decode("utf-8"))]
    return _legacy_drops(document)


def _load(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidEvent(f"body is not valid JSON ({error.msg})") from None


# --- Event Platform ---------------------------------------------------------------------------


def _platform_drop(event: Any, raw: str) -> Drop:
    if not isinstance(event, dict):
        raise InvalidEvent("a CloudEvent must be a JSON object")
    specversion = event.get("specversion")
    if not isinstance(specversion, str) or not specversion.startswith("1."):
        raise InvalidEvent("'specversion' must be a CloudEvents 1.x version string")
    event_id = _text(event.get("id"), "id", _MAX_EVENT_ID)
    event_type = _text(event.get("type"), "type", _MAX_TYPE)
    subject = event.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise InvalidEvent("'subject' must be a string")
    entity_type, code, action = _platform_entity(event_type, event.get("data"))
    return Drop(
        event_id=event_id,
        scheme=EVENT_PLATFORM,
        type=event_type,
        subject=_note(subject),
        entity_type=entity_type,
        code_or_uuid=code,
        action=action,
        occurred_at=_timestamp(event.get("time")),
        raw_body=raw,
        status="new" if entity_type else "ignored",
    )


def _platform_entity(event_type: str, data: Any) -> tuple[str | None, str | None, str | None]:
    if not event_type.startswith(PLATFORM_PREFIX):
        return None, None, None
    kind, _, action = event_type[len(PLATFORM_PREFIX) :].partition(".")
    if kind not in _PLATFORM_KINDS or action not in _PLATFORM_ACTIONS:
        return None, None, None
    entity_type, key, parent_key = _PLATFORM_KINDS[kind]
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        raise InvalidEvent(f"'data.{key}' must be an object for {event_type}")
    reference = data[key]
    if entity_type == "product":
        code = _uuid(reference.get("uuid"), f"data.{key}.uuid")
    else:
        code = _text(reference.get("code"), f"data.{key}.code", _MAX_CODE)
    if parent_key is not None:  # attribute options are "<attribute>.<option>" in IEC
        parent = reference.get(parent_key)
        if not isinstance(parent, dict):
            raise InvalidEvent(f"'data.{key}.{parent_key}' must be an object for {event_type}")
        code = _text(parent.get("code"), f"data.{key}.{parent_key}.code", _MAX_CODE) + "." + code
    return entity_type, code, _PLATFORM_ACTIONS[action]


# --- legacy Events API ------------------------------------------------------------------------


def _legacy_drops(document: Any) -> list[Drop]:
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise InvalidEvent("an Events API body must be an object with an 'events' list")
    events = document["events"]
    if not 1 <= len(events) <= MAX_LEGACY_EVENTS:
        raise InvalidEvent(f"'events' must hold 1 to {MAX_LEGACY_EVENTS} events, not {len(events)}")
    drops: dict[str, Drop] = {}
    for index, event in enumerate(events):
        drop = _legacy_drop(event, index)
        drops.setdefault(drop.event_id, drop)  # the same id twice in one batch is one event
    return list(drops.values())


def _legacy_drop(event: Any, index: int) -> Drop:
    where = f"events[{index}]"
    if not isinstance(event, dict):
        raise InvalidEvent(f"'{where}' must be an object")
    event_id = _text(event.get("event_id"), f"{where}.event_id", _MAX_EVENT_ID)
    action_name = _text(event.get("action"), f"{where}.action", _MAX_TYPE)
    kind, _, verb = action_name.partition(".")
    entity_type = _LEGACY_KINDS.get(kind) if verb in _LEGACY_ACTIONS else None
    code = None
    if entity_type is not None:
        data = event.get("data")
        resource = data.get("resource") if isinstance(data, dict) else None
        if not isinstance(resource, dict):
            raise InvalidEvent(f"'{where}.data.resource' must be an object for {action_name}")
        if entity_type == "product":
            code = _uuid(resource.get("uuid"), f"{where}.data.resource.uuid")
        else:
            code = _text(resource.get("code"), f"{where}.data.resource.code", _MAX_CODE)
    source = event.get("pim_source")
    return Drop(
        event_id=event_id,
        scheme=EVENTS_API,
        type=action_name,
        subject=_note(source) if isinstance(source, str) else None,
        entity_type=entity_type,
        code_or_uuid=code,
        action=_LEGACY_ACTIONS[verb] if entity_type else None,
        occurred_at=_timestamp(event.get("event_datetime")),
        raw_body=orjson.dumps(event).decode(),
        status="new" if entity_type else "ignored",
    )


# --- field checks -----------------------------------------------------------------------------


def _text(value: Any, name: str, max_length: int) -> str:
    """A required identifier: a non-empty string that fits its column, without control characters."""
    if not isinstance(value, str) or not value:
        raise InvalidEvent(f"'{name}' must be a non-empty string")
    if len(value) > max_length:
        raise InvalidEvent(f"'{name}' is longer than {max_length} characters")
    if not value.isprintable():
        raise InvalidEvent(f"'{name}' holds control characters")
    return value


def _note(value: str | None) -> str | None:
    """A free-text field kept for display: cut to its column, without NUL (PostgreSQL refuses it in text: the
    write failed, and the receiver answered 503 to a request that would fail the same way every time)."""
    value = (value or "").replace("\x00", "")[:_MAX_SUBJECT]
    return value or None


def _uuid(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) > 45:
        raise InvalidEvent(f"'{name}' must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidEvent(f"'{name}' must be a UUID string") from None


def _timestamp(value: Any) -> datetime | None:
    """An ISO 8601 / RFC 3339 time as naive UTC (the store's convention); None when absent or unreadable."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo is not None else parsed
    except (ValueError, OverflowError):
        return None
