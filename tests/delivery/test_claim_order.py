"""The claim takes exactly the jobs, in exactly the order, of its reference definition: one query over
the whole backlog (the claim before it was made fast on large backlogs), kept here as the specification.

A varied backlog (priorities and queues, retries not yet due, jobs running in this run and others, async
hooks not done, several jobs of one entity, two uuids of one SKU, variants locking their configurable,
structure pending, partly delivered, or delivered) is claimed batch after batch, with some results
recorded between batches; before each claim the reference query says what it must return.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import and_, exists, func, insert, or_, select, update

from iec_pipeline.common.entity_types import ENTITY_TYPES, STRUCTURE_RANK
from iec_pipeline.delivery import ledger
from iec_pipeline.store.db import get_engine, upgrade
from iec_pipeline.store.models import MutationJob

JOBS = MutationJob.__table__
TOP_RANK = max(e.rank for e in ENTITY_TYPES)
NOW = datetime(2026, 12, 1, 12, 0, 0)
QUEUES = {10: "integrations-immediate", 100: "integrations-normal", 150: "integrations-normal", 240: "integrations-low"}


def reference(conn, integration: str, queue: str | None, run_id: str, limit: int, now: datetime) -> list[int]:
    """The ids the claim must take, in order: the first `limit` deliverable jobs by (priority, id)."""
    other = JOBS.alias("other")

    def due_or_running(table):
        return or_(table.c.status == "running", and_(table.c.status == "pending", table.c.next_attempt_at <= now))

    same_entity = and_(other.c.integration == JOBS.c.integration, other.c.entity_uuid == JOBS.c.entity_uuid)
    same_record = and_(other.c.integration == JOBS.c.integration, other.c.lock_key == JOBS.c.lock_key)
    busy = or_(
        exists(select(1).where(same_record, other.c.status == "running", other.c.run_id != run_id)),
        exists(select(1).where(same_entity, other.c.status == "running")),
        exists(select(1).where(same_entity, other.c.hook_state == "after")),
    )
    newer = exists(select(1).where(same_entity, other.c.status == "pending", other.c.id > JOBS.c.id))
    same_sku_first = exists(
        select(1).where(
            other.c.integration == JOBS.c.integration,
            other.c.order_key == JOBS.c.order_key,
            other.c.entity_uuid != JOBS.c.entity_uuid,
            other.c.id < JOBS.c.id,
            other.c.status.in_(("pending", "running")),
        )
    )
    oldest = dict(
        conn.execute(
            select(JOBS.c.type_rank, func.min(JOBS.c.id))
            .where(JOBS.c.integration == integration, JOBS.c.type_rank <= STRUCTURE_RANK, due_or_running(JOBS))
            .group_by(JOBS.c.type_rank)
        ).all()
    )
    behind_structure = [
        and_(JOBS.c.type_rank == rank, JOBS.c.id > bound)
        for rank in range(1, TOP_RANK + 1)
        if (bound := min((oldest[r] for r in range(min(rank, STRUCTURE_RANK + 1)) if r in oldest), default=None))
    ]
    structure_first = or_(
        *behind_structure,
        exists(
            select(1).where(
                same_record, other.c.type_rank < JOBS.c.type_rank, other.c.id < JOBS.c.id, due_or_running(other)
            )
        ),
    )
    query = select(JOBS.c.id).where(
        JOBS.c.integration == integration,
        JOBS.c.status == "pending",
        JOBS.c.hook_state.is_(None),
        JOBS.c.next_attempt_at <= now,
        ~busy,
        ~newer,
        ~structure_first,
        ~same_sku_first,
    )
    if queue is not None:
        query = query.where(JOBS.c.queue == queue)
    return list(conn.execute(query.order_by(JOBS.c.priority, JOBS.c.id).limit(limit)).scalars())


STRUCTURE_TYPES = [(e.name, e.rank) for e in ENTITY_TYPES if e.rank <= STRUCTURE_RANK]


def backlog(rng: random.Random, structure: str) -> list[dict]:
    """Job rows for two integrations, ids in insertion order. `structure`: pending | partial | delivered."""
    entities = []  # (entity_type, uuid, lock_key, order_key, rank, code)
    for n in range(rng.randint(15, 30)):
        name, rank = rng.choice(STRUCTURE_TYPES)
        entities.append((name, f"s-{n}", f"s-{n}", f"s-{n}", rank, f"{name}-{n}"))
    models = []
    for n in range(rng.randint(60, 120)):
        if rng.random() < 0.15:
            models.append(f"m-{n}")
            entities.append(("product_model", f"m-{n}", f"m-{n}", f"m-{n}", 3, f"model-{n}"))
            continue
        lock = rng.choice(models) if models and rng.random() < 0.4 else f"p-{n}"
        sku = f"sku-{rng.randint(0, 8)}" if rng.random() < 0.1 else f"sku-p-{n}"  # a few SKUs of two uuids
        entities.append(("product", f"p-{n}", lock, sku, 4, f"product-{n}"))
    rows, mutation = [], 0
    for integration in ("shop", "search"):
        # Structure mostly first, some later (a new attribute mid-backlog); entities updated several times.
        order = sorted(entities, key=lambda e: (e[4] > STRUCTURE_RANK or rng.random() < 0.2, rng.random()))
        order += [rng.choice(entities) for _ in range(len(entities) // 3)]
        for entity_type, uuid, lock, sku, rank, code in order:
            mutation += 1
            priority = rng.choice((10, 100, 150, 150, 150, 240))
            queue = QUEUES[priority] if rng.random() < 0.95 else rng.choice(sorted(set(QUEUES.values())))
            status, run_id, hook_state = "pending", None, None
            due = NOW - timedelta(minutes=rng.randint(1, 60))
            roll = rng.random()
            if rank <= STRUCTURE_RANK and (structure == "delivered" or (structure == "partial" and roll < 0.6)):
                status = "success"
            elif roll < 0.08:
                status, run_id = "running", rng.choice(("other-run", "this-run"))
            elif roll < 0.14:
                due = NOW + timedelta(minutes=rng.randint(1, 60))  # a retry not yet due
            elif roll < 0.17:
                status = rng.choice(("success", "dead", "superseded"))
            elif roll < 0.19:
                status, hook_state = "success", "after"  # its async hooks not done yet
            elif roll < 0.21:
                hook_state = "waiting"
            rows.append({
                "mutation_id": mutation, "integration": integration, "entity_type": entity_type, "entity_uuid": uuid,
                "lock_key": lock, "order_key": sku, "type_rank": rank, "code": code, "operation": "updated",
                "status": status, "priority": priority, "queue": queue, "attempts": 0, "next_attempt_at": due,
                "run_id": run_id, "hook_state": hook_state, "created_at": NOW, "updated_at": NOW,
            })  # fmt: skip
    return rows


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("structure", ["pending", "partial", "delivered"])
def test_claims_take_what_the_reference_query_takes_in_its_order(store_url, structure, monkeypatch):
    monkeypatch.setattr(ledger, "utcnow", lambda: NOW)
    if structure != "partial":  # candidates read a few at a time: the windows' seams are crossed often
        monkeypatch.setattr(ledger, "CANDIDATE_WINDOW", 1)
    upgrade(store_url)
    engine = get_engine(store_url)
    for seed in range(3):
        rng = random.Random(f"{structure}-{seed}")
        with engine.begin() as conn:
            conn.execute(JOBS.delete())
            conn.execute(insert(JOBS), backlog(rng, structure))
        claimed = 0
        for step in range(60):
            integration = rng.choice(("shop", "search"))
            queue = rng.choice((None, None, "integrations-immediate", "integrations-normal", "integrations-low"))
            run_id, limit = rng.choice(("this-run", "another-run")), rng.choice((1, 3, 7, 25))
            with engine.begin() as conn:
                expected = reference(conn, integration, queue, run_id, limit, NOW)
                claims = ledger.claim(conn, integration, queue, run_id, limit, 60)
                assert [c.job_id for c in claims] == expected, (seed, step, integration, queue, run_id, limit)
                claimed += len(claims)
                for c in claims:  # some delivered, some retried (due now or later), some left running
                    roll = rng.random()
                    if roll < 0.5:
                        conn.execute(update(JOBS).where(JOBS.c.id == c.job_id).values(status="success"))
                    elif roll < 0.7:
                        later = NOW + timedelta(minutes=rng.choice((-5, 5)))
                        values = {"status": "pending", "run_id": None, "next_attempt_at": later}
                        conn.execute(update(JOBS).where(JOBS.c.id == c.job_id).values(**values))
        assert claimed > 5  # the scenario did claim (and so changed the backlog between claims)
