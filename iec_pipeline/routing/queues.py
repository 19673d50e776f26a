"""Priorities and queues (IEC's QueueResolver and config/queue-map.php).

A mutation's priority for an integration: an `updated` one weighs the most urgent `priority_map`
entry among its changed fields (`*` for the others); a `created` or `deleted` one weighs `@created`
or `@deleted` when the map names them, else `*` (every field of a new product is "changed": by its
fields, a first sync of a catalog with prices would fill the immediate queue). Lower is more urgent.
The queue is the first whose ceiling holds the priority (`queue_map`, from the integrations file).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

QUEUES = ("integrations-immediate", "integrations-normal", "integrations-low")
LOWEST_QUEUE = "integrations-low"
DEFAULT_QUEUE_MAP: dict[str, int] = {"integrations-immediate": 50, "integrations-normal": 200, "integrations-low": 250}
DEFAULT_PRIORITY = 150
WHOLE_ENTITY = ("created", "deleted")  # operations weighed as a whole (`@created`, `@deleted`), not by field
# `dagster/priority` of a queue's runs: higher runs first among queued runs.
_DAGSTER_PRIORITY = {"integrations-immediate": 100, "integrations-normal": 50, "integrations-low": 0}


def resolve_queue(priority: int, queue_map: Mapping[str, int] = DEFAULT_QUEUE_MAP) -> str:
    """The first queue (most urgent first) whose ceiling holds `priority`; past them all, the lowest."""
    for queue in QUEUES:
        if queue in queue_map and priority <= queue_map[queue]:
            return queue
    return LOWEST_QUEUE


def queue_map_problems(queue_map: object) -> list[str]:
    """What is wrong with a `queue_map` from the integrations file (empty: nothing)."""
    if not isinstance(queue_map, dict):
        return ["queue_map: expected a mapping of queue -> ceiling, e.g. {integrations-immediate: 50}"]
    problems = [
        f"queue_map: {queue!r} is not a queue; expected some of {', '.join(QUEUES)}"
        for queue in queue_map
        if queue not in QUEUES
    ]
    problems += [
        f"queue_map.{queue}: expected a whole number, got {ceiling!r}"
        for queue, ceiling in queue_map.items()
        if queue in QUEUES and (not isinstance(ceiling, int) or isinstance(ceiling, bool))
    ]
    ceilings = [queue_map[q] for q in QUEUES if isinstance(queue_map.get(q), int)]
    if not problems and ceilings != sorted(set(ceilings)):
        problems.append(f"queue_map: ceilings must grow from immediate to low, got {ceilings}")
    return problems


def dagster_priority(queue: str) -> int:
    return _DAGSTER_PRIORITY.get(queue, 0)


def priority_of(changed_fields: Iterable[str], priority_map: dict[str, int], operation: str = "updated") -> int:
    """Each changed field weighs its own entry, `*` if it has none; the most urgent wins. A created or
    deleted entity weighs `@created` / `@deleted`, else `*`."""
    default = priority_map.get("*", DEFAULT_PRIORITY)
    if operation in WHOLE_ENTITY:
        return priority_map.get(f"@{operation}", default)
    return min((priority_map.get(f, default) for f in changed_fields), default=default)
