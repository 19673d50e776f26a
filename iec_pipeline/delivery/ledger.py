"""The `mutation_jobs` ledger: what is due, claiming with a lease, recording results, recovery.

Guarantees the delivery relies on:
- per (integration, entity) never two jobs `running` at once, and delivery in mutation order: a
  claim takes the NEWEST pending job of an entity (its payload is the full current state) and marks
  the older pending ones `superseded` (their changed fields travel with it);
- a job is claimed by exactly one run (claims are serialized per integration);
- a result is recorded only by the run that still owns the job: a stalled run whose lease expired
  and whose jobs were re-claimed changes nothing when it finally completes;
- jobs of a run that is no longer alive go back to `pending` (their next delivery carries the same
  idempotency key, so the target applies it once).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, func, or_, select, union_all, update

from drivers.models import DeliveryResult, MutationData
from iec_pipeline.common.batches import chunks
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.entity_types import ENTITY_TYPES, STRUCTURE_RANK
from iec_pipeline.common.runs import worker_alive, worker_id
from iec_pipeline.delivery.mappings import delete_mapping, save_mapping
from iec_pipeline.routing.mutations import read_mutations
from iec_pipeline.store.models import Integration, MutationJob

JOBS = MutationJob.__table__
FINAL = ("success", "dead", "superseded")
BACKOFF_CAP_SECONDS = 3600.0
TOP_RANK = max(e.rank for e in ENTITY_TYPES)
CANDIDATE_WINDOW = 50  # the fewest candidates a claim reads at a time (twice its limit when more)


@dataclass
class Claim:
    job_id: int
    mutation_id: int
    entity_type: str
    entity_uuid: str
    code: str
    attempts: int
    superseded: list[int] = field(default_factory=list)  # mutation ids folded into this delivery


def _lock_integration(conn: Connection, integration: str) -> None:
    """Claims of one integration are serialized (SQLite: BEGIN IMMEDIATE already is)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({zlib.crc32(integration.encode()) & 0x7FFFFFFF})")


def claim(
    conn: Connection, integration: str, queue: str | None, run_id: str, limit: int, lease_seconds: float
) -> list[Claim]:
    """Takes up to `limit` due jobs (most urgent first), one per entity, leased to `run_id`.

    The jobs taken are the first `limit`, by (priority, id), of the due pending jobs that are deliverable
    now (`_deliverable_now`). Found in two steps, so a backlog of a million jobs costs what a small one
    does: candidates come in (priority, id) order from index ranges, one per (queue, rank, priority) of
    the pending jobs, each already cut at its structure bound (a million products behind a pending
    attribute are never read); the per-job checks then run on a window of candidates at a time."""
    _lock_integration(conn, integration)
    now = utcnow()
    groups = _pending_groups(conn, integration)
    bounds = _structure_bounds(conn, integration, groups, now)
    if queue is not None:
        groups = [group for group in groups if group[0] == queue]
    due = [JOBS.c.integration == integration, JOBS.c.status == "pending", JOBS.c.hook_state.is_(None),
           JOBS.c.next_attempt_at <= now]  # fmt: skip
    checks = _deliverable_now(run_id, now)
    rows: list = []
    after: tuple[int, int] | None = None
    window = max(2 * limit, CANDIDATE_WINDOW)
    while len(rows) < limit:
        candidates = _candidates(conn, groups, due, bounds, after, window)
        if not candidates:
            break
        rows += conn.execute(
            select(JOBS.c.id, JOBS.c.mutation_id, JOBS.c.entity_type, JOBS.c.entity_uuid, JOBS.c.code, JOBS.c.attempts)
            .where(JOBS.c.id.in_([c.id for c in candidates]), *checks)  # (by primary key: candidates are due)
            .order_by(JOBS.c.priority, JOBS.c.id)
            .limit(limit - len(rows))
        ).all()
        if len(candidates) < window:
            break
        after, window = (candidates[-1].priority, candidates[-1].id), min(2 * window, 5000)
    if not rows:
        return []
    claims = [Claim(r.id, r.mutation_id, r.entity_type, r.entity_uuid, r.code, r.attempts) for r in rows]
    _supersede_older(conn, integration, claims, now)
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id.in_([c.job_id for c in claims]))
        .values(
            status="running",
            run_id=run_id,
            worker=worker_id(),
            lease_until=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )  # fmt: skip
    )
    return claims


def _pending_groups(conn: Connection, integration: str) -> list[tuple[str, int, int]]:
    """The (queue, type_rank, priority) of the integration's pending jobs: a few index seeks each
    (ix_mutation_jobs_pending), however many jobs share them. The next group is the first of: a higher
    priority in this rank, a higher rank in this queue, a later queue (a row-value comparison instead
    made SQLite read the rest of the queue)."""
    key = (JOBS.c.queue, JOBS.c.type_rank, JOBS.c.priority)
    pending = select(*key).where(JOBS.c.integration == integration, JOBS.c.status == "pending")
    groups: list[tuple[str, int, int]] = []
    query = pending.order_by(*key).limit(1)
    while (row := conn.execute(query).first()) is not None:
        groups.append(tuple(row))
        queue_, rank, priority = row
        nexts = [
            pending.where(JOBS.c.queue == queue_, JOBS.c.type_rank == rank, JOBS.c.priority > priority),
            pending.where(JOBS.c.queue == queue_, JOBS.c.type_rank > rank),
            pending.where(JOBS.c.queue > queue_),
        ]
        merged = union_all(*(select(*n.order_by(*key).limit(1).subquery().c) for n in nexts)).subquery()
        query = select(*merged.c).order_by(*merged.c).limit(1)
    return groups


def _candidates(
    conn: Connection,
    groups: list[tuple[str, int, int]],
    due: list,
    bounds: dict[int, int],
    after: tuple[int, int] | None,
    window: int,
) -> list:
    """The next `window` due pending jobs by (priority, id) after `after`, not behind pending structure:
    per group an index range in id order (its rank's structure bound is the range's end), merged."""
    parts = []
    for queue, rank, priority in groups:
        where = [*due, JOBS.c.queue == queue, JOBS.c.type_rank == rank, JOBS.c.priority == priority]
        if after is not None:
            if priority < after[0]:
                continue
            if priority == after[0]:
                where.append(JOBS.c.id > after[1])
        if rank in bounds:
            where.append(JOBS.c.id <= bounds[rank])
        part = select(JOBS.c.id, JOBS.c.priority).where(*where).order_by(JOBS.c.id).limit(window).subquery()
        parts.append(select(part.c.id, part.c.priority))
    if not parts:
        return []
    merged = union_all(*parts).subquery()
    return conn.execute(
        select(merged.c.id, merged.c.priority).order_by(merged.c.priority, merged.c.id).limit(window)
    ).all()


_OTHER = JOBS.alias("other")


def _in_flight_or_due(table, now: datetime):
    return or_(table.c.status == "running", and_(table.c.status == "pending", table.c.next_attempt_at <= now))


def _deliverable_now(run_id: str, now: datetime) -> list:
    """Conditions a pending job must meet to be claimed now, in the order the target needs (besides
    `_structure_bounds`, applied to the candidates)."""
    other = _OTHER
    same_entity = and_(other.c.integration == JOBS.c.integration, other.c.entity_uuid == JOBS.c.entity_uuid)
    same_record = and_(other.c.integration == JOBS.c.integration, other.c.lock_key == JOBS.c.lock_key)
    busy = or_(
        exists(select(1).where(same_record, other.c.status == "running", other.c.run_id != run_id)),
        exists(select(1).where(same_entity, other.c.status == "running")),
        exists(select(1).where(same_entity, other.c.hook_state == "after")),
    )  # in flight (this entity, or its record in another run), or its previous async hooks not done
    newer = exists(select(1).where(same_entity, other.c.status == "pending", other.c.id > JOBS.c.id))
    same_sku_first = exists(
        select(1).where(
            other.c.integration == JOBS.c.integration,
            other.c.order_key == JOBS.c.order_key,
            other.c.entity_uuid != JOBS.c.entity_uuid,
            other.c.id < JOBS.c.id,
            other.c.status.in_(("pending", "running")),
        )
    )  # another entity's older job on the same target record (its SKU): it goes first, retries included
    return [~busy, ~newer, ~_configurable_first(now), ~same_sku_first]


def _structure_bounds(
    conn: Connection, integration: str, groups: list[tuple[str, int, int]], now: datetime
) -> dict[int, int]:
    """An older attribute, option, category, due or in flight, lands first; one waiting for a retry blocks
    nothing. Looked up once: the oldest open job of each structural rank bounds the ids of every higher
    rank (rank -> the highest id a job of that rank may have to be claimed now). The oldest due pending
    job of a rank is the first of its groups' index ranges (hooks parked or not, any queue)."""
    firsts = [
        select(JOBS.c.type_rank, func.min(JOBS.c.id)).where(
            JOBS.c.integration == integration, JOBS.c.status == "running", JOBS.c.type_rank <= STRUCTURE_RANK
        ).group_by(JOBS.c.type_rank)
    ]  # fmt: skip
    for queue, rank, priority in groups:
        if rank <= STRUCTURE_RANK:
            first = (
                select(JOBS.c.type_rank, JOBS.c.id)
                .where(
                    JOBS.c.integration == integration,
                    JOBS.c.status == "pending",
                    JOBS.c.queue == queue,
                    JOBS.c.type_rank == rank,
                    JOBS.c.priority == priority,
                    JOBS.c.next_attempt_at <= now,
                )  # fmt: skip
                .order_by(JOBS.c.id)
                .limit(1)
                .subquery()
            )
            firsts.append(select(first.c.type_rank, first.c.id))
    oldest: dict[int, int] = {}
    for rank, job_id in conn.execute(union_all(*firsts)):
        oldest[rank] = min(oldest.get(rank, job_id), job_id)
    return {
        rank: bound
        for rank in range(1, TOP_RANK + 1)
        if (bound := min((oldest[r] for r in range(min(rank, STRUCTURE_RANK + 1)) if r in oldest), default=None))
    }


def _configurable_first(now: datetime):
    """An older job of a lower rank on the same record (this variant's configurable), due or in flight,
    lands first."""
    other = _OTHER
    return exists(
        select(1).where(
            other.c.integration == JOBS.c.integration,
            other.c.lock_key == JOBS.c.lock_key,
            other.c.type_rank < JOBS.c.type_rank,
            other.c.id < JOBS.c.id,
            _in_flight_or_due(other, now),
        )
    )


def _supersede_older(conn: Connection, integration: str, claims: list[Claim], now: datetime) -> None:
    """Older pending jobs of a claimed entity travel with its claim (folded into its delivery)."""
    by_entity = {c.entity_uuid: c for c in claims}
    # By entity (ix_mutation_jobs_entity), status checked here: a status in the query made PostgreSQL,
    # without statistics, read every pending job of the integration.
    older = conn.execute(
        select(JOBS.c.id, JOBS.c.entity_uuid, JOBS.c.mutation_id, JOBS.c.status).where(
            JOBS.c.integration == integration,
            JOBS.c.entity_uuid.in_(list(by_entity)),
            JOBS.c.id.not_in([c.job_id for c in claims]),
        )
    ).all()
    for job_id, entity_uuid, mutation_id, status in older:
        owner = by_entity[entity_uuid]
        if status == "pending" and job_id < owner.job_id:
            owner.superseded.append(mutation_id)
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job_id, JOBS.c.status == "pending")
                .values(status="superseded", superseded_by=owner.job_id, finished_at=now, updated_at=now)
            )


def still_owned(conn: Connection, run_id: str, job_ids: Sequence[int]) -> set[int]:
    """The jobs this run still holds, lease unexpired: checked right before sending, so a run that
    stalled past its lease (its jobs since given to another run) never sends a stale payload."""
    if not job_ids:
        return set()
    rows = conn.execute(
        select(JOBS.c.id).where(
            JOBS.c.id.in_(list(job_ids)),
            JOBS.c.run_id == run_id,
            JOBS.c.status == "running",
            JOBS.c.lease_until > utcnow(),
        )
    )
    return {job_id for (job_id,) in rows}


def renew_lease(conn: Connection, run_id: str, lease_seconds: float) -> int:
    """Heartbeat: a live run keeps its jobs; a dead one stops renewing and loses them."""
    return conn.execute(
        update(JOBS)
        .where(JOBS.c.status == "running", JOBS.c.run_id == run_id)
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
    ).rowcount


def load_mutations(conn: Connection, claims: Sequence[Claim]) -> list[MutationData]:
    """The MutationData to send for each claim (superseded mutations folded in), in claim order."""
    read = read_mutations(conn, [c.mutation_id for c in claims] + [m for c in claims for m in c.superseded])
    out = []
    for c in claims:
        mutation = read[c.mutation_id]
        if c.superseded:
            folded = [read[m] for m in sorted(c.superseded)]
            changed = set(mutation.changed_fields).union(*(m.changed_fields for m in folded))
            # The target never saw the folded mutations: it may not have the entity yet.
            created = mutation.operation == "updated" and folded[0].operation == "created"
            mutation = mutation.model_copy(
                update={
                    "changed_fields": sorted(changed),
                    "operation": "created" if created else mutation.operation,
                    "previous": folded[0].previous,
                }
            )
        out.append(mutation)
    return out


def next_attempt(attempts: int, delay_seconds: float, retry_after: float | None, now: datetime) -> datetime:
    """Exponential backoff with ±20% jitter, kept within [delay_seconds, BACKOFF_CAP_SECONDS] (jitter never takes
    the first retry sooner than the configured delay, nor a capped one past the cap); never sooner than the
    target's Retry-After."""
    ceiling = min(BACKOFF_CAP_SECONDS, delay_seconds * (2 ** max(attempts - 1, 0)))
    low, high = max(delay_seconds, ceiling * 0.8), min(BACKOFF_CAP_SECONDS, ceiling * 1.2)
    delay = random.uniform(low, high) if low <= high else ceiling
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


@dataclass
class Recorded:
    success: int = 0
    retried: int = 0
    dead: int = 0
    ignored: int = 0  # late results of jobs this run no longer owns


def record(
    conn: Connection,
    integration: str,
    run_id: str,
    claims: Sequence[Claim],
    results: Sequence[DeliveryResult],
    retry_attempts: int,
    retry_delay_seconds: float,
    after_hooks: bool = False,
) -> Recorded:
    """Writes each result, only for jobs this run still owns (each UPDATE checks it); a result's mapping
    change is written only when its job's update was, in the same transaction. Successes, the bulk, are
    written with one UPDATE (RETURNING tells which jobs were still this run's)."""
    now = utcnow()
    outcome = Recorded()
    mine = and_(JOBS.c.status == "running", JOBS.c.run_id == run_id)
    succeeded = [c for c, result in zip(claims, results, strict=True) if result.status == "success"]
    owned: set[int] = set()
    for chunk in chunks([c.job_id for c in succeeded], 500):
        owned.update(
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(chunk), mine)
                .values(
                    status="success",
                    attempts=JOBS.c.attempts + 1,
                    updated_at=now,
                    lease_until=None,
                    last_error=None,
                    finished_at=now,
                    hook_state="after" if after_hooks else None,
                )  # fmt: skip
                .returning(JOBS.c.id)
            ).scalars()
        )
    for c, result in zip(claims, results, strict=True):
        if result.status == "success":
            if c.job_id not in owned:
                outcome.ignored += 1  # a late result of a job this run no longer owns
                continue
            outcome.success += 1
            if result.forget_mapping:
                delete_mapping(conn, integration, c.entity_type, c.entity_uuid)
            elif result.external_id is not None or result.external_data is not None:
                save_mapping(conn, integration, c.entity_type, c.entity_uuid, result.external_id, result.external_data)
            continue
        attempts = c.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "updated_at": now, "lease_until": None}
        if result.status == "permanent" or attempts > retry_attempts:
            values.update(status="dead", last_error=(result.message or "")[:4000], finished_at=now)
        else:
            values.update(
                status="pending", run_id=None, worker=None, last_error=(result.message or "")[:4000],
                next_attempt_at=next_attempt(attempts, retry_delay_seconds, result.retry_after, now),
            )  # fmt: skip
        if conn.execute(update(JOBS).where(JOBS.c.id == c.job_id, mine).values(**values)).rowcount != 1:
            outcome.ignored += 1
        elif values["status"] == "dead":
            outcome.dead += 1
        else:
            outcome.retried += 1
    return outcome


def veto(conn: Connection, run_id: str, claim_: Claim, reason: str) -> None:
    """A sync hook stopped this delivery: the job ends `superseded`, the reason kept."""
    now = utcnow()
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id == claim_.job_id, JOBS.c.run_id == run_id, JOBS.c.status == "running")
        .values(status="superseded", last_error=f"vetoed by hook: {reason}"[:4000], finished_at=now, updated_at=now)
    )


def release(conn: Connection, run_id: str, job_ids: Sequence[int]) -> None:
    """Gives claimed jobs back (the run is stopping before it could send them)."""
    conn.execute(
        update(JOBS)
        .where(JOBS.c.id.in_(list(job_ids)), JOBS.c.run_id == run_id, JOBS.c.status == "running")
        .values(status="pending", run_id=None, worker=None, lease_until=None, updated_at=utcnow())
    )


def requeue_orphans(conn: Connection, run_alive: Callable[[str], bool | None]) -> int:
    """Running jobs whose run is gone go back to pending: the run ended (Dagster says so), its
    process is dead (same host), or its lease ran out (no heartbeat)."""
    now = utcnow()
    owners = conn.execute(select(JOBS.c.run_id, JOBS.c.worker).where(JOBS.c.status == "running").distinct()).all()
    gone = [
        (run_id, worker)
        for run_id, worker in owners
        if run_id is None or run_alive(run_id) is False or worker_alive(worker) is False
    ]
    requeued = 0
    for run_id, worker in gone:
        requeued += conn.execute(
            update(JOBS)
            .where(
                JOBS.c.status == "running",
                JOBS.c.run_id.is_not_distinct_from(run_id),
                JOBS.c.worker.is_not_distinct_from(worker),
            )
            .values(status="pending", run_id=None, worker=None, lease_until=None, updated_at=now)
        ).rowcount
    requeued += conn.execute(
        update(JOBS)
        .where(JOBS.c.status == "running", JOBS.c.lease_until < now)
        .values(status="pending", run_id=None, worker=None, lease_until=None, updated_at=now)
    ).rowcount
    return requeued


@dataclass(frozen=True)
class DueGroup:
    integration: str
    queue: str
    jobs: int
    priority: int


def _enabled():
    """Jobs of a disabled (or no longer declared) integration wait: kept, not delivered, not counted."""
    return exists(select(1).where(Integration.name == JOBS.c.integration, Integration.enabled.is_(True)))


def due_groups(conn: Connection, integration: str | None = None) -> list[DueGroup]:
    query = (
        select(JOBS.c.integration, JOBS.c.queue, func.count(), func.min(JOBS.c.priority))
        .where(JOBS.c.status == "pending", JOBS.c.hook_state.is_(None), JOBS.c.next_attempt_at <= utcnow(), _enabled())
        .group_by(JOBS.c.integration, JOBS.c.queue)
    )
    if integration is not None:
        query = query.where(JOBS.c.integration == integration)
    return [DueGroup(name, queue, count, priority) for name, queue, count, priority in conn.execute(query)]


def parked_integrations(conn: Connection, integration: str | None = None) -> list[str]:
    """Integrations with jobs parked by async hooks (each needs an `async_hooks` run)."""
    query = select(JOBS.c.integration).where(JOBS.c.hook_state.is_not(None)).distinct()
    if integration is not None:
        query = query.where(JOBS.c.integration == integration)
    return sorted(name for (name,) in conn.execute(query))


def next_due_at(conn: Connection, integration: str | None = None) -> datetime | None:
    query = select(func.min(JOBS.c.next_attempt_at)).where(JOBS.c.status == "pending", _enabled())
    if integration is not None:
        query = query.where(JOBS.c.integration == integration)
    return conn.execute(query).scalar()


def open_jobs(conn: Connection, integration: str | None = None) -> int:
    query = select(func.count()).where(
        or_(JOBS.c.status.in_(("pending", "running")), JOBS.c.hook_state.is_not(None)), _enabled()
    )
    if integration is not None:
        query = query.where(JOBS.c.integration == integration)
    return conn.execute(query).scalar_one()


def retry_dead(conn: Connection, integration: str | None = None) -> int:
    """`iec jobs retry --dead`: dead jobs get a fresh set of attempts, unless a newer job of the same
    entity exists (whatever its status): its payload is newer, so the dead one is superseded instead."""
    now = utcnow()
    newer = JOBS.alias("newer")
    has_newer = exists(
        select(1).where(
            newer.c.integration == JOBS.c.integration, newer.c.entity_uuid == JOBS.c.entity_uuid, newer.c.id > JOBS.c.id
        )
    )
    scope = [JOBS.c.status == "dead"] + ([JOBS.c.integration == integration] if integration is not None else [])
    conn.execute(update(JOBS).where(*scope, has_newer).values(status="superseded", finished_at=now, updated_at=now))
    return conn.execute(
        update(JOBS)
        .where(*scope)
        .values(status="pending", attempts=0, next_attempt_at=now, finished_at=None, updated_at=now)
    ).rowcount


@dataclass(frozen=True)
class Backlog:
    """Where one integration's jobs stand: what the integration asset reports and checks."""

    by_queue: dict[str, int]  # open jobs (pending, running or parked) per queue
    dead: int
    oldest_open_at: datetime | None  # creation time of the oldest open job

    @property
    def total(self) -> int:
        return sum(self.by_queue.values())

    def oldest_age_seconds(self, now: datetime) -> float:
        return max(0.0, (now - self.oldest_open_at).total_seconds()) if self.oldest_open_at else 0.0


def backlog(conn: Connection, integration: str) -> Backlog:
    open_ = or_(JOBS.c.status.in_(("pending", "running")), JOBS.c.hook_state.is_not(None))
    rows = conn.execute(
        select(JOBS.c.queue, func.count(), func.min(JOBS.c.created_at))
        .where(JOBS.c.integration == integration, open_)
        .group_by(JOBS.c.queue)
    ).all()
    dead = conn.execute(
        select(func.count()).where(JOBS.c.integration == integration, JOBS.c.status == "dead")
    ).scalar_one()
    oldest = min((created for _, _, created in rows if created is not None), default=None)
    return Backlog({queue: count for queue, count, _ in rows}, dead, oldest)
