"""Priorities and queues, as IEC's QueueResolver: pure functions, and the fan-out's vectorised twin."""

from __future__ import annotations

import pandas as pd
import pytest

from iec_pipeline.routing.fanout import _priorities
from iec_pipeline.routing.queues import QUEUES, dagster_priority, priority_of, queue_map_problems, resolve_queue

pytestmark = pytest.mark.fast

PRIORITY_MAP = {"*": 150, "price": 10, "stock_qty": 10, "description": 240}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (["price"], 10),
        (["name", "price"], 10),  # the most urgent field wins
        (["name"], 150),  # a field without an entry weighs `*`
        (["description"], 240),
        (["description", "name"], 150),
        ([], 150),  # nothing changed: `*`
    ],
)
def test_the_most_urgent_changed_field_sets_the_priority(fields, expected):
    assert priority_of(fields, PRIORITY_MAP) == expected


def test_without_a_star_entry_the_default_is_150():
    assert priority_of(["name"], {"price": 10}) == 150


@pytest.mark.parametrize(
    ("priority", "queue"),
    [
        (0, "integrations-immediate"),
        (50, "integrations-immediate"),
        (51, "integrations-normal"),
        (200, "integrations-normal"),
        (201, "integrations-low"),
        (250, "integrations-low"),
        (10_000, "integrations-low"),  # past every ceiling: the lowest queue
    ],
)
def test_a_priority_falls_in_the_first_queue_whose_ceiling_holds_it(priority, queue):
    assert resolve_queue(priority) == queue


def test_runs_of_more_urgent_queues_run_first_among_queued_runs():
    ranks = [dagster_priority(queue) for queue in QUEUES]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(QUEUES)
    assert dagster_priority("hooks") == 0


def test_a_new_or_deleted_entity_weighs_its_operation_not_its_fields():
    assert priority_of(["name", "price"], PRIORITY_MAP, "created") == 150  # `*`: not the price's 10
    assert priority_of(["price"], PRIORITY_MAP, "deleted") == 150
    named = {**PRIORITY_MAP, "@created": 220, "@deleted": 40}
    assert priority_of(["price"], named, "created") == 220
    assert priority_of(["price"], named, "deleted") == 40
    assert priority_of(["price"], named, "updated") == 10


def test_the_fan_outs_vectorised_priorities_agree_with_priority_of():
    fields = [["price"], ["name", "price"], ["name"], ["description"], [], ["description", "stock_qty"], ["price"]]
    operations = ["updated"] * 5 + ["created", "deleted"]
    mutations = pd.DataFrame({"id": range(1, len(fields) + 1), "changed_fields": fields, "operation": operations})
    for priority_map in (PRIORITY_MAP, {**PRIORITY_MAP, "@created": 220, "@deleted": 40}):
        expected = [priority_of(f, priority_map, op) for f, op in zip(fields, operations, strict=True)]
        assert _priorities(mutations, priority_map).tolist() == expected


def test_a_queue_map_moves_the_ceilings():
    queue_map = {"integrations-immediate": 10, "integrations-normal": 100, "integrations-low": 300}
    assert resolve_queue(50, queue_map) == "integrations-normal"
    assert resolve_queue(250, queue_map) == "integrations-low"
    assert resolve_queue(5, {"integrations-normal": 100}) == "integrations-normal"  # no immediate queue at all


def test_a_wrong_queue_map_names_every_problem():
    problems = queue_map_problems({"integrations-urgent": 5, "integrations-normal": "high"})
    assert len(problems) == 2 and "integrations-urgent" in problems[0] and "integrations-normal" in problems[1]
    assert queue_map_problems({"integrations-immediate": 300, "integrations-normal": 200}) == [
        "queue_map: ceilings must grow from immediate to low, got [300, 200]"
    ]
    assert queue_map_problems([50, 200]) and queue_map_problems({"integrations-low": 250}) == []
