"""Priorities and queues (IEC's QueueResolver and config/queue-map.php).

A mutation's priority for an integration is the most urgent `priority_map` entry among its changed
fields, `*` for the others; lower is more urgent. The queue is the first whose ceiling holds it.
"""

from __future__ import annotations

from collections.abc import Iterable

QUEUE_MAP: tuple[tuple[int, str], ...] = (
    (50, "integrations-immediate"),
    (200, "integrations-normal"),
    (250, "integrations-low"),
)
LOWEST_QUEUE = "integrations-low"
QUEUES = tuple(dict.fromkeys(q for _, q in QUEUE_MAP))
DEFAULT_PRIORITY = 150
# `dagster/priority` of a queue's runs: higher runs first among queued runs.
_DAGSTER_PRIORITY = {"integrations-immediate": 100, "integrations-normal": 50, "integrations-low": 0}


def resolve_queue(priority: int) -> str:
    for ceiling, queue in QUEUE_MAP:
        if priority <= ceiling:
            return queue
    return LOWEST_QUEUE


def dagster_priority(queue: str) -> int:
    return _DAGSTER_PRIORITY.get(queue, 0)


def priority_of(changed_fields: Iterable[str], priority_map: dict[str, int]) -> int:
    """Each changed field weighs its own entry, `*` if it has none; the most urgent wins."""
    default = priority_map.get("*", DEFAULT_PRIORITY)
    return min((priority_map.get(f, default) for f in changed_fields), default=default)
