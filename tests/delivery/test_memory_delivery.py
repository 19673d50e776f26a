"""Delivery through the in-memory driver: fan-out, claims, folding, retries and dead letters on a
real SQLite store, without HTTP, akeneo-mock-server or a Dagster run."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import insert, select, update

from drivers.memory import MemoryDriver, target
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import entity_uuid, get
from iec_pipeline.delivery.run import DeliveryConfig, deliver
from iec_pipeline.routing.fanout import fan_out
from iec_pipeline.routing.integrations import IntegrationSpec, LoadedIntegration, sync_to_store
from iec_pipeline.store import db
from iec_pipeline.store.models import Mutation, MutationJob

pytestmark = pytest.mark.fast
_syncs = itertools.count(1)


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'iec.db'}"
    yield db.ready_engine(url)
    db.dispose_all()


def integration(engine, **settings) -> LoadedIntegration:
    """A `memory` integration, declared in the store as the diff would; its target is new and empty."""
    name = f"target-{uuid.uuid4().hex[:8]}"
    configuration = {"target": name, **settings.pop("configuration", {})}
    spec = IntegrationSpec(name="mem", driver="memory", configuration=configuration, **settings)
    loaded = LoadedIntegration(spec, MemoryDriver)
    with engine.begin() as conn:
        sync_to_store(conn, [loaded])
    return loaded


def sync(engine, loaded: LoadedIntegration, *changes: tuple[str, str, str, dict, list[str]]) -> None:
    """Records one sync's mutations (entity type, code, operation, payload, changed fields) and fans them out."""
    sync_id = f"sync-{next(_syncs)}"
    rows = [
        {"entity_type": kind, "entity_uuid": entity_uuid(kind, code), "code": code, "operation": operation,
         "payload": {"code": code, **payload}, "previous": None, "changed_fields": fields, "sync_id": sync_id,
         "created_at": utcnow()}
        for kind, code, operation, payload, fields in changes
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Mutation), rows)
        fan_out(conn, sync_id, [loaded])


def run(engine, queue: str | None = None, run_id: str = "run-1"):
    return deliver(engine, run_id, "mem", DeliveryConfig(queue=queue, linger_seconds=0, poll_seconds=0.05))


def statuses(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(MutationJob.code, MutationJob.status).order_by(MutationJob.id)).all())


def test_everything_is_delivered_once_structure_before_products_however_urgent(engine):
    # The product's price makes it the most urgent job, yet the family, attribute and category it needs go first.
    loaded = integration(engine, priority_map={"*": 150, "price": 10}, configuration={"max_concurrency": 1})
    sync(
        engine, loaded,
        ("attribute", "color", "created", {}, ["code"]),
        ("family", "shirts", "created", {}, ["code"]),
        ("category", "tops", "created", {}, ["code"]),
        ("product", "tee", "updated", {"family": "shirts", "price": 9}, ["price"]),
    )  # fmt: skip
    stats = run(engine)
    held = target(loaded.spec.configuration["target"])
    assert stats.delivered == 4 and stats.dead == 0
    assert set(held.applied("mem").values()) == {1}
    ranks = [get(kind).rank for _name, _id, kind, _code, _op in held.deliveries]
    assert ranks == sorted(ranks) and stats.batches == len(set(ranks))  # one batch per rank: 0, 1, then the product
    assert set(statuses(engine).values()) == {"success"}


def test_pending_changes_of_one_entity_go_out_as_one_delivery_of_its_newest_state(engine):
    loaded = integration(engine)
    sync(engine, loaded, ("category", "tops", "created", {"labels": {"en_US": "Top"}}, ["labels"]))
    sync(engine, loaded, ("category", "tops", "updated", {"labels": {"en_US": "Tops"}, "parent": "x"}, ["parent"]))
    stats = run(engine)
    held = target(loaded.spec.configuration["target"])
    assert stats.delivered == 1 and stats.superseded == 1
    assert held.deliveries == [("mem", 2, "category", "tops", "created")]  # the target never saw the first
    assert held.entities[("category", "tops")] == {"code": "tops", "labels": {"en_US": "Tops"}, "parent": "x"}


def test_a_refused_entity_ends_dead_and_the_others_are_delivered(engine):
    loaded = integration(engine, retry_attempts=3, configuration={"fail_codes": ["bad"]})
    sync(engine, loaded, *[("category", code, "created", {}, ["code"]) for code in ("a", "bad", "c")])
    stats = run(engine)
    assert (stats.delivered, stats.dead, stats.retried) == (2, 1, 0)
    assert statuses(engine) == {"a": "success", "bad": "dead", "c": "success"}


def test_a_retryable_failure_is_retried_later_then_ends_dead_after_its_attempts(engine):
    loaded = integration(engine, retry_attempts=1, retry_delay_seconds=60, configuration={"retry_codes": ["flaky"]})
    sync(engine, loaded, ("category", "flaky", "created", {}, ["code"]))
    first = run(engine)
    assert (first.retried, first.dead, statuses(engine)["flaky"]) == (1, 0, "pending")
    with engine.begin() as conn:  # its backoff has passed
        conn.execute(update(MutationJob).values(next_attempt_at=utcnow()))
    second = run(engine, run_id="run-2")
    assert (second.retried, second.dead, statuses(engine)["flaky"]) == (0, 1, "dead")
    assert target(loaded.spec.configuration["target"]).attempts[("category", "flaky")] == 2


def test_a_run_of_the_immediate_queue_delivers_only_urgent_work(engine):
    loaded = integration(engine, priority_map={"*": 150, "price": 10})
    sync(
        engine, loaded,
        ("product", "cheap", "updated", {"price": 1}, ["price"]),
        ("product", "renamed", "updated", {"name": "x"}, ["name"]),
    )  # fmt: skip
    stats = run(engine, queue="integrations-immediate")
    assert stats.delivered == 1
    assert statuses(engine) == {"cheap": "success", "renamed": "pending"}
