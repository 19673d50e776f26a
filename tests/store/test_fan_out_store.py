"""The fan-out's reads and writes on both stores: a repeated fan-out makes no job twice, a new job takes
the most urgent priority of its entity's pending jobs, and on PostgreSQL without planner statistics
(autovacuum off, or jobs the same transaction wrote) the pending jobs are found by entity."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import insert, select, text

from drivers.memory import MemoryDriver
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import entity_uuid
from iec_pipeline.routing import fanout
from iec_pipeline.routing.integrations import IntegrationSpec, LoadedIntegration, sync_to_store
from iec_pipeline.store import db
from iec_pipeline.store.models import Mutation, MutationJob

_syncs = itertools.count(1)


def _record(conn, *changes: tuple[str, list[str]]) -> str:
    """One sync's `updated` product mutations (code, changed fields); returns its id."""
    sync_id = f"sync-{next(_syncs)}"
    rows = [
        {"entity_type": "product", "entity_uuid": entity_uuid("product", code), "code": code, "operation": "updated",
         "payload": {"code": code}, "previous": None, "changed_fields": fields, "sync_id": sync_id,
         "created_at": utcnow()}
        for code, fields in changes
    ]  # fmt: skip
    conn.execute(insert(Mutation), rows)
    return sync_id


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
def test_a_repeated_fan_out_is_a_no_op_and_new_jobs_take_pending_urgency(store_url):
    engine = db.ready_engine(store_url)
    spec = IntegrationSpec(name="mem", driver="memory", configuration={"target": "t"},
                           priority_map={"*": 150, "price": 10})  # fmt: skip
    loaded = LoadedIntegration(spec, MemoryDriver)
    with engine.begin() as conn:
        sync_to_store(conn, [loaded])
        first = _record(conn, ("tee", ["price"]), ("cap", ["name"]))
        assert fanout.fan_out(conn, first, [loaded]) == 2
        assert fanout.fan_out(conn, first, [loaded]) == 0  # the same mutations again: no second job
        second = _record(conn, ("tee", ["name"]), ("cap", ["name"]), ("bag", ["name"]))
        assert fanout.fan_out(conn, second, [loaded]) == 3
        jobs = conn.execute(
            select(MutationJob.code, MutationJob.priority)
            .join(Mutation, Mutation.id == MutationJob.mutation_id)
            .where(Mutation.sync_id == second)
        ).all()
    # tee's pending price change (10) makes its name change as urgent; the others keep `*`.
    assert dict(jobs) == {"tee": 10, "cap": 150, "bag": 150}


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_pending_jobs_are_sought_by_entity_without_statistics(store_url):
    engine = db.ready_engine(store_url)
    spec = IntegrationSpec(name="mem", driver="memory", configuration={"target": "t"})
    loaded = LoadedIntegration(spec, MemoryDriver)
    codes = [f"sku-{n}" for n in range(3000)]
    with engine.begin() as conn:
        sync_to_store(conn, [loaded])
        fanout.fan_out(conn, _record(conn, *((code, ["name"]) for code in codes)), [loaded])
        assert conn.exec_driver_sql("SELECT count(*) FROM pg_stats WHERE tablename = 'mutation_jobs'").scalar() == 0
        plan = "\n".join(
            conn.execute(
                text(f"EXPLAIN {fanout.PENDING_BY_ENTITY.text}"),
                {"integration": "mem", "uuids": [entity_uuid("product", c) for c in codes[:1000]]},
            ).scalars()
        )
        # Not ix_mutation_jobs_pending (every pending job of the integration, filtered, for each chunk).
        assert "ix_mutation_jobs_entity" in plan and "ix_mutation_jobs_pending" not in plan, plan
        assert fanout._pending_priorities(conn, "mem", [entity_uuid("product", "sku-7"), "nope"]) == {
            entity_uuid("product", "sku-7"): 150
        }
