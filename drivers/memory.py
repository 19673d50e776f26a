"""The built-in `memory` driver: delivers into a target kept in this process's memory.

For tests of everything around a driver (fan-out, claims, leases, retries, hooks) without HTTP, and
for trying a configuration: each named target holds the entities it was sent (their last payload;
a delete removes one) and every delivery in order. Its targets live as long as the process: a
delivery run started by a daemon in another process delivers into that process's memory.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from drivers.base import Driver
from drivers.context import IntegrationContext
from drivers.models import ENTITY_TYPES, DeliveryResult, MutationData


@dataclass
class MemoryTarget:
    """What one in-memory target holds."""

    entities: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (type, code) -> payload
    deliveries: list[tuple[str, int, str, str, str]] = field(default_factory=list)  # integration, mutation, ...
    attempts: Counter = field(default_factory=Counter)  # (type, code) -> deliveries tried, failures included
    lock: threading.Lock = field(default_factory=threading.Lock)

    def applied(self, integration: str) -> Counter:
        """How often each mutation of `integration` was applied (each should be once)."""
        return Counter(m for name, m, *_ in self.deliveries if name == integration)


TARGETS: dict[str, MemoryTarget] = {}
_TARGETS_LOCK = threading.Lock()


def target(name: str) -> MemoryTarget:
    with _TARGETS_LOCK:
        return TARGETS.setdefault(name, MemoryTarget())


class MemoryDriver(Driver):
    """Keeps what it is sent in memory; codes can be told to fail, for tests."""

    name: ClassVar[str] = "memory"
    type: ClassVar[str] = "memory"
    version: ClassVar[str] = "1.0"
    description: ClassVar[str] = "Delivers into a target in this process's memory (tests, trying a configuration)"
    supported_entity_types: ClassVar[tuple[str, ...]] = ENTITY_TYPES

    target: str = Field(default="default", description="Name of the in-memory target; integrations may share one")
    fail_codes: list[str] = Field(default_factory=list, description="Entity codes whose delivery fails for good")
    retry_codes: list[str] = Field(
        default_factory=list, description="Entity codes whose delivery fails with a retryable error"
    )

    def handle(self, mutation: MutationData, context: IntegrationContext) -> DeliveryResult:
        held = target(self.target)
        key = (mutation.entity_type, mutation.code)
        with held.lock:
            held.attempts[key] += 1
            if mutation.code in self.fail_codes:
                return DeliveryResult.permanent(f"{mutation.entity_type} {mutation.code}: refused by the memory target")
            if mutation.code in self.retry_codes:
                return DeliveryResult.retryable(f"{mutation.entity_type} {mutation.code}: memory target unavailable")
            if mutation.operation == "deleted":
                held.entities.pop(key, None)
            else:
                held.entities[key] = mutation.payload
            held.deliveries.append(
                (context.integration, mutation.mutation_id, mutation.entity_type, mutation.code, mutation.operation)
            )
        return DeliveryResult.success(external_id=mutation.code, forget_mapping=mutation.operation == "deleted")
