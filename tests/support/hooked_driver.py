"""A test driver with hooks on every point: what a plugin package would ship."""

from __future__ import annotations

import threading
from typing import ClassVar

from drivers.base import Hook, HookVeto
from drivers.models import MutationData
from drivers.webhook import WebhookDriver

CALLS: list[tuple[str, str]] = []  # (hook, code), across threads
_LOCK = threading.Lock()


class HookedDriver(WebhookDriver):
    name: ClassVar[str] = "hooked"
    description: ClassVar[str] = "webhook driver with hooks, for tests"
    hooks: ClassVar[tuple[Hook, ...]] = (
        Hook("iec_delivery_send_before", "stamp_and_filter", "sync"),
        Hook("iec_delivery_send_after", "audit", "async"),
    )

    def stamp_and_filter(self, mutation: MutationData, context) -> MutationData:
        if mutation.code == "gift-card":
            raise HookVeto("gift cards are sold elsewhere")
        with _LOCK:
            CALLS.append(("before", mutation.code))
        return mutation.model_copy(update={"payload": {**mutation.payload, "stamped_by": "hook"}})

    def audit(self, mutation: MutationData, result, context) -> None:
        with _LOCK:
            CALLS.append(("after", mutation.code))
