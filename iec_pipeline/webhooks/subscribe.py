"""Subscribes the receiver to the Akeneo Event Platform events IEC consumes (`iec webhooks subscribe`).

Idempotent: an existing subscriber or subscription (409) is updated in place, so running it again after a
secret rotation or a URL change converges to the given configuration. Plain `updated` events suffice (IEC
refetches the entity), so `.updated.delta` is not subscribed; nor are events IEC ignores.
"""

from __future__ import annotations

from typing import Any

from iec_pipeline.webhooks.events import PLATFORM_PREFIX

IEC_EVENT_KINDS = ("product", "product-model", "category", "attribute", "attribute-option", "family", "family-variant")
IEC_EVENT_TYPES = tuple(
    f"{PLATFORM_PREFIX}{kind}.{action}" for kind in IEC_EVENT_KINDS for action in ("created", "updated", "deleted")
)
SUBSCRIBERS = "/api/v1/subscribers"


def subscribe(
    akeneo_url: str,
    client_id: str,
    client_secret: str,
    username: str,
    password: str,
    target_url: str,
    secret: str,
    secondary_secret: str | None = None,
    subscriber_id: str = "iec",
    subscription_id: str = "iec-catalog",
    technical_email: str | None = None,
) -> dict[str, Any]:
    """Creates or updates the subscriber and its subscription; returns what was configured (no secrets).

    Raises `AkeneoError` (naming the endpoint and Akeneo's message) when Akeneo refuses.
    """
    from iec_pipeline.ingest.akeneo import AkeneoClient

    if not target_url:
        raise ValueError("target_url is required: the public URL of POST /webhooks/akeneo")
    if not secret:
        raise ValueError("secret is required: the receiver refuses unsigned events")
    subscriber: dict[str, Any] = {"id": subscriber_id, "name": subscriber_id}
    if technical_email:
        subscriber["technical_email"] = technical_email
    signing: dict[str, str] = {"primary": secret}
    if secondary_secret:
        signing["secondary"] = secondary_secret
    subscription = {
        "id": subscription_id,
        "source": "pim",
        "subject": akeneo_url.rstrip("/"),
        "type": "https",
        "events": list(IEC_EVENT_TYPES),
        "config": {"url": target_url, "secret": signing},
    }
    with AkeneoClient(akeneo_url, client_id, client_secret, username, password) as client:
        subscriber_state = _upsert(client, SUBSCRIBERS, subscriber_id, subscriber)
        path = f"{SUBSCRIBERS}/{subscriber_id}/subscriptions"
        subscription_state = _upsert(client, path, subscription_id, subscription)
    return {
        "subscriber_id": subscriber_id,
        "subscriber": subscriber_state,
        "subscription_id": subscription_id,
        "subscription": subscription_state,
        "url": target_url,
        "events": list(IEC_EVENT_TYPES),
        "secondary_secret": bool(secondary_secret),
    }


def _upsert(client: Any, collection: str, item_id: str, body: dict[str, Any]) -> str:
    """POST to the collection; on 409 PATCH the item. Returns "created" or "updated"."""
    from iec_pipeline.ingest.akeneo import AkeneoError

    state, method, path, payload = "created", "POST", collection, body
    try:
        response = client.request(method, path, json=payload)
    except AkeneoError as error:
        if error.status != 409:
            raise
        state, method, path = "updated", "PATCH", f"{collection}/{item_id}"
        payload = {key: value for key, value in body.items() if key != "id"}
        response = client.request(method, path, json=payload)
    if response.status_code == 404:
        raise AkeneoError(method, path, 404, "not found: is the Event Platform API available on this PIM?")
    return state
