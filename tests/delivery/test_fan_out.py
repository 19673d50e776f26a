"""A large backlog of one (integration, queue) gets more than one delivery run, so it spreads over the run
workers: one run per batch's worth of due jobs, at most the run queue's `iec/delivery` limit, minus the
group's runs already waiting or working; no limit set: one run per group, as before."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest
from sqlalchemy import insert

from iec_pipeline.common.clock import utcnow
from iec_pipeline.delivery.job import DELIVER_JOB
from iec_pipeline.delivery.requests import DELIVERY_TAG, RUN_BATCH, due_requests, group_run_limit
from iec_pipeline.store.db import get_engine, upgrade
from iec_pipeline.store.models import Integration, MutationJob

pytestmark = pytest.mark.fast
NORMAL = "integrations-normal"


def per_group_limit(limit: int) -> dict:
    return {
        "concurrency": {
            "runs": {
                "tag_concurrency_limits": [
                    {"key": DELIVERY_TAG, "value": {"applyLimitPerUniqueValue": True}, "limit": limit},
                    {"key": "iec/integration", "value": {"applyLimitPerUniqueValue": True}, "limit": 7},
                ]
            }
        }
    }


@pytest.fixture
def engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    engine = get_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(insert(Integration.__table__).values(
            name="shop", driver="memory", enabled=True, entity_types=["product"], scope="all", priority_map={},
            retry_attempts=3, retry_delay_seconds=1.0, configuration={}, updated_at=now,
        ))  # fmt: skip
    return engine


def queue_jobs(engine, count: int, queue: str = NORMAL) -> None:
    now = utcnow()
    rows = []
    for n in range(count):
        entity = str(uuid.uuid4())
        rows.append({
            "mutation_id": n + 1, "integration": "shop", "entity_type": "product", "entity_uuid": entity,
            "lock_key": entity, "order_key": f"sku-{n}", "type_rank": 4, "code": f"sku-{n}", "operation": "updated",
            "status": "pending", "priority": 150, "queue": queue, "attempts": 0, "next_attempt_at": now,
            "created_at": now, "updated_at": now,
        })  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(MutationJob.__table__), rows)


def going(instance: dg.DagsterInstance, queue: str = NORMAL) -> None:
    """A delivery run of shop/queue, started (in a worker somewhere)."""
    instance.add_run(
        dg.DagsterRun(
            job_name=DELIVER_JOB,
            run_id=str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags={"iec/integration": "shop", "iec/queue": queue},
        )
    )


def test_no_limit_set_one_run_per_group(engine):
    queue_jobs(engine, 5 * RUN_BATCH)
    with dg.instance_for_test() as instance:
        assert group_run_limit(instance) == 1
        due = due_requests(instance, engine, counters={})
        assert len(due.requests) == 1
        going(instance)
        assert due_requests(instance, engine).requests == []


def test_a_large_backlog_gets_runs_up_to_the_groups_limit(engine):
    queue_jobs(engine, 5 * RUN_BATCH)
    with dg.instance_for_test(overrides=per_group_limit(3)) as instance:
        assert group_run_limit(instance) == 3
        due = due_requests(instance, engine, counters={"shop:integrations-normal": 4})
        assert len(due.requests) == 3
        assert {r.tags[DELIVERY_TAG] for r in due.requests} == {"shop/integrations-normal"}
        # each runs the asset's health checks, not the whole-target read-back of `no_drift` (verify_shop's)
        assert {c.name for r in due.requests for c in r.asset_check_keys or []} == {"no_dead_jobs", "backlog_fresh"}
        assert [r.run_key for r in due.requests] == [f"deliver:shop:integrations-normal:{n}" for n in (5, 6, 7)]
        going(instance)  # one of them started: two more at most
        assert len(due_requests(instance, engine).requests) == 2
        going(instance)
        going(instance)
        due = due_requests(instance, engine)
        assert due.requests == [] and due.busy == [f"shop:integrations-normal, {5 * RUN_BATCH:,} jobs"]


def test_runs_for_what_is_due_only(engine):
    queue_jobs(engine, RUN_BATCH + 1)  # a batch and one job: two runs are worth it, not three
    with dg.instance_for_test(overrides=per_group_limit(3)) as instance:
        assert len(due_requests(instance, engine).requests) == 2


def test_a_run_of_every_queue_keeps_the_group(engine):
    queue_jobs(engine, 5 * RUN_BATCH)
    with dg.instance_for_test(overrides=per_group_limit(3)) as instance:
        going(instance, "all")  # `deliver_shop` from the UI: it claims from every queue
        assert due_requests(instance, engine).requests == []
