"""A dry run of delivery (`iec deliver --dry-run`): the requests due jobs would make, from each
driver's `plan`, with nothing changed: no job is claimed, no mapping written, no request leaves.

It plans what a claim would take now: per entity, its newest due pending job with the older ones
folded in (the ordering rules that make a claim wait, structure first or one in flight per record,
are not applied: everything due is shown at once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from drivers.base import NotSupported
from drivers.context import IntegrationContext
from drivers.models import PlannedCall
from iec_pipeline.common.clock import utcnow
from iec_pipeline.common.settings import Settings
from iec_pipeline.delivery import ledger
from iec_pipeline.delivery.mappings import DryRunMappings
from iec_pipeline.ingest.media import StoredMedia
from iec_pipeline.routing.integrations import LoadedIntegration
from iec_pipeline.store.models import MutationJob

JOBS = MutationJob.__table__


@dataclass
class DryRun:
    integration: str
    jobs: int = 0
    calls: list[PlannedCall] = field(default_factory=list)
    not_supported: str | None = None

    def as_json(self) -> dict:
        return {
            "jobs": self.jobs,
            "supported": self.not_supported is None,
            **({"reason": self.not_supported} if self.not_supported else {}),
            "calls": [call.model_dump() for call in self.calls],
        }


def due_claims(engine: Engine, integration: str, limit: int = 1000) -> list[ledger.Claim]:
    """What claiming would take now, read only: the newest due job of each entity, older ones folded."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.id, JOBS.c.mutation_id, JOBS.c.entity_type, JOBS.c.entity_uuid, JOBS.c.code,
                   JOBS.c.attempts, JOBS.c.next_attempt_at)
            .where(JOBS.c.integration == integration, JOBS.c.status == "pending", JOBS.c.hook_state.is_(None))
            .order_by(JOBS.c.id)
        ).all()  # fmt: skip
    by_entity: dict[str, list] = {}
    for row in rows:
        by_entity.setdefault(row.entity_uuid, []).append(row)
    now = utcnow()
    claims = []
    for jobs in by_entity.values():
        newest = jobs[-1]
        if newest.next_attempt_at > now:
            continue
        claim = ledger.Claim(newest.id, newest.mutation_id, newest.entity_type, newest.entity_uuid, newest.code,
                             newest.attempts, [j.mutation_id for j in jobs[:-1]])  # fmt: skip
        claims.append(claim)
    return sorted(claims, key=lambda c: c.job_id)[:limit]


def dry_run(engine: Engine, integration: LoadedIntegration, log: logging.Logger | None = None) -> DryRun:
    """The calls `integration`'s due jobs would make now."""
    result = DryRun(integration.name)
    claims = due_claims(engine, integration.name)
    result.jobs = len(claims)
    if not claims:
        return result
    with engine.connect() as conn:
        mutations = ledger.load_mutations(conn, claims)
    driver = integration.build_driver()
    context = IntegrationContext(
        integration.name, DryRunMappings(engine, integration.name), log=log or logging.getLogger("iec.dry_run"),
        media=StoredMedia(engine, Settings.from_env().media_dir),  # files already downloaded; no request
    )  # fmt: skip
    try:
        result.calls = driver.plan(mutations, context)
    except NotSupported as error:
        result.not_supported = str(error)
    return result
