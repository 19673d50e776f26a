"""Priorities and queues, as IEC's QueueResolver: pure functions, and the fan-out's vectorised twin."""

from __future__ import annotations

import pandas as pd
import pytest

from iec_pipeline.routing.fanout import _priorities
from iec_pipeline.routing.queues import QUEUES, dagster_priority, priority_of, resolve_queue

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


def test_the_fan_outs_vectorised_priorities_agree_with_priority_of():
    fields = [["price"], ["name", "price"], ["name"], ["description"], [], ["description", "stock_qty"]]
    mutations = pd.DataFrame({"id": range(1, len(fields) + 1), "changed_fields": fields})
    assert _priorities(mutations, PRIORITY_MAP).tolist() == [priority_of(f, PRIORITY_MAP) for f in fields]
